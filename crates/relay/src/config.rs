//! How a relay is configured: [`RelayConfig`] (behaviour and limits) and [`Database`] (where it
//! keeps channels and deliveries).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::signature::SigningKey;
use crate::store::ChannelCaps;
use crate::DEFAULT_DEEP_LINK;

/// Where the relay keeps its channels and deliveries.
#[derive(Clone, Debug)]
pub enum Database {
    /// The embedded default: `relay.sqlite3` in this folder. One relay process.
    Sqlite { data_dir: PathBuf },
    /// A `postgres://` URL: several relay instances may share it.
    Postgres { url: String },
    /// Nothing survives the process: the benchmark's floor and bounce-only tests.
    Memory,
}

impl Database {
    /// `--database` absent → SQLite in `data_dir`; `postgres://…` → PostgreSQL.
    pub fn from_arguments(data_dir: PathBuf, database: Option<&str>) -> Result<Self, String> {
        match database {
            None => Ok(Self::Sqlite { data_dir }),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres {
                    url: url.to_owned(),
                })
            }
            Some(_) => Err(
                "--database must be a postgres:// URL (leave it out to use SQLite in --data-dir)"
                    .to_owned(),
            ),
        }
    }
}

/// How channel creation is rate-limited per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreationRateLimit {
    /// One more creation is allowed every this long…
    pub replenish_every: Duration,
    /// …up to this many in a burst. Beyond it: 429.
    pub burst: u32,
}

impl Default for CreationRateLimit {
    fn default() -> Self {
        Self {
            replenish_every: Duration::from_secs(6),
            burst: 10,
        }
    }
}

/// How the relay behaves. Build with [`RelayConfig::default`] and override what a deployment
/// or a test needs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Where the bounce page sends the browser (`advicly://oauth/callback`).
    pub deep_link: Url,
    /// What `ingress_url` is built on (the relay often runs behind a TLS-terminating proxy).
    /// `None`: the address the relay listens on, `http://ADDR/`.
    pub public_url: Option<Url>,
    /// A request whose answer takes longer than this gets 408 (streams are not affected: their
    /// answer starts at once).
    pub request_timeout: Duration,
    /// A client that has not sent its request headers within this long is disconnected (for a
    /// connection's first request: this long for the first bytes, then this long for the rest of
    /// the head).
    pub header_read_timeout: Duration,
    /// Larger request bodies get 413.
    pub body_limit_bytes: usize,
    /// At most this many requests are processed at once; the rest wait their turn.
    pub concurrency_limit: usize,
    /// At most this many event streams at once in this process; beyond it: 503.
    pub max_subscribers: usize,
    /// Every stream gets an SSE comment this often (whatever else it was sent), so proxies keep
    /// it open and clients can tell a dead stream from a quiet one.
    pub keep_alive_interval: Duration,
    /// Per-channel caps on unacknowledged deliveries.
    pub caps: ChannelCaps,
    /// Unacknowledged deliveries older than this are dropped (and reported as a `gap`).
    pub retention: Duration,
    /// How often retention is enforced.
    pub retention_sweep_interval: Duration,
    /// Channel creation per client address.
    pub creation_rate_limit: CreationRateLimit,
    /// Take the client address for rate limiting from `X-Forwarded-For`/`Forwarded` (only
    /// behind a proxy that sets them).
    pub trust_forwarded_headers: bool,
    /// The app's Calendly webhook signing key: with it, each delivery carries `relay_verified`.
    pub signing_key: Option<SigningKey>,
    /// How long shutdown waits for requests in flight before it closes the store anyway.
    pub shutdown_grace: Duration,
    /// A subscriber whose connection accepts no bytes for this long (it stopped reading) is
    /// disconnected; it reconnects with its `Last-Event-ID` and loses nothing.
    pub stream_write_timeout: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            deep_link: Url::parse(DEFAULT_DEEP_LINK).expect("the default deep link is a valid URL"),
            public_url: None,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_limit_bytes: advicly_relay_protocol::MAX_BODY_BYTES,
            concurrency_limit: 512,
            max_subscribers: 20_000,
            keep_alive_interval: Duration::from_secs(
                advicly_relay_protocol::KEEP_ALIVE_INTERVAL_SECONDS,
            ),
            caps: ChannelCaps::default(),
            retention: Duration::from_secs(7 * 24 * 60 * 60),
            retention_sweep_interval: Duration::from_secs(60),
            creation_rate_limit: CreationRateLimit::default(),
            trust_forwarded_headers: false,
            signing_key: None,
            shutdown_grace: Duration::from_secs(10),
            stream_write_timeout: Duration::from_secs(30),
        }
    }
}
