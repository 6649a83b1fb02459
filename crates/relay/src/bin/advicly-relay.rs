//! The `advicly-relay` binary: opens the store, binds the listen address, prints the base URL as
//! the first line of stdout, and serves until SIGTERM or Ctrl-C. Logs go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use advicly_relay::{
    ChannelCaps, CreationRateLimit, Database, RelayConfig, RelayOptions, SigningKey,
};
use anyhow::Context;
use clap::Parser;
use url::Url;

/// Advicly's relay: durable webhook channels for laptops without an inbound port, and the HTTPS
/// OAuth callback bounce page.
#[derive(Debug, Parser)]
#[command(name = "advicly-relay", version)]
struct Arguments {
    /// Address to listen on, e.g. 127.0.0.1:8080 (TLS is terminated in front of the relay).
    #[arg(long, env = "ADVICLY_RELAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder of the SQLite store (used when --database is not given).
    #[arg(long, env = "ADVICLY_RELAY_DATA_DIR")]
    data_dir: PathBuf,
    /// The public base URL that ingress URLs and the bounce page are built on, e.g.
    /// https://relay.example.com/ (default: http://LISTEN/).
    #[arg(long, env = "ADVICLY_RELAY_PUBLIC_URL")]
    public_url: Option<Url>,
    /// postgres://… to share one store between several relay instances (default: SQLite).
    #[arg(long, env = "ADVICLY_RELAY_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// A file holding the app's Calendly webhook signing key: deliveries then carry
    /// `relay_verified`.
    #[arg(long, env = "ADVICLY_RELAY_CALENDLY_SIGNING_KEY_FILE")]
    calendly_signing_key_file: Option<PathBuf>,
    /// Where the bounce page sends the browser.
    #[arg(long, default_value = advicly_relay::DEFAULT_DEEP_LINK)]
    deep_link: Url,
    /// Unacknowledged deliveries are kept this many days.
    #[arg(long, default_value_t = 7)]
    retention_days: u32,
    /// At most this many unacknowledged deliveries per channel (the oldest are dropped).
    #[arg(long, default_value_t = ChannelCaps::default().max_pending_deliveries)]
    max_pending_deliveries: u64,
    /// At most this many unacknowledged body bytes per channel (the oldest are dropped).
    #[arg(long, default_value_t = ChannelCaps::default().max_pending_bytes)]
    max_pending_bytes: u64,
    /// At most this many event streams at once.
    #[arg(long, default_value_t = RelayConfig::default().max_subscribers)]
    max_subscribers: usize,
    /// Channel creations a client address may burst.
    #[arg(long, default_value_t = CreationRateLimit::default().burst)]
    channel_creation_burst: u32,
    /// Seconds after which a client address may create one more channel.
    #[arg(long, default_value_t = CreationRateLimit::default().replenish_every.as_secs())]
    channel_creation_every_seconds: u64,
    /// Rate-limit by X-Forwarded-For / Forwarded (only behind a proxy that sets them).
    #[arg(long)]
    trust_forwarded_headers: bool,
    /// Seconds a write to an event stream may stall (a subscriber that stopped reading) before
    /// the relay disconnects it; it resumes from its Last-Event-ID.
    #[arg(long, default_value_t = RelayConfig::default().stream_write_timeout.as_secs())]
    stream_write_timeout_seconds: u64,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(run(arguments))
}

/// Logs to stderr. Whatever `RUST_LOG` says, the database drivers stay at `info`: at debug they
/// print statement parameters, which would include bodies.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("tokio_postgres=info".parse().expect("a valid directive"))
        .add_directive("postgres_protocol=info".parse().expect("a valid directive"))
        .add_directive("rusqlite=info".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(arguments: Arguments) -> anyhow::Result<()> {
    let database = Database::from_arguments(arguments.data_dir, arguments.database.as_deref())
        .map_err(anyhow::Error::msg)?;
    let signing_key = match &arguments.calendly_signing_key_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("could not read the signing key file {}", path.display())
            })?;
            Some(
                SigningKey::from_file_text(&text)
                    .with_context(|| format!("the signing key file {} is empty", path.display()))?,
            )
        }
        None => None,
    };
    if arguments.retention_days == 0 {
        anyhow::bail!("--retention-days must be at least 1");
    }
    let config = RelayConfig {
        deep_link: arguments.deep_link,
        public_url: arguments.public_url,
        caps: ChannelCaps {
            max_pending_deliveries: arguments.max_pending_deliveries.max(1),
            max_pending_bytes: arguments.max_pending_bytes,
        },
        retention: Duration::from_secs(u64::from(arguments.retention_days) * 24 * 60 * 60),
        max_subscribers: arguments.max_subscribers,
        creation_rate_limit: CreationRateLimit {
            replenish_every: Duration::from_secs(arguments.channel_creation_every_seconds.max(1)),
            burst: arguments.channel_creation_burst.max(1),
        },
        trust_forwarded_headers: arguments.trust_forwarded_headers,
        stream_write_timeout: Duration::from_secs(arguments.stream_write_timeout_seconds.max(1)),
        signing_key,
        ..RelayConfig::default()
    };
    advicly_relay::metrics::install();
    let relay = advicly_relay::start(
        RelayOptions {
            listen: arguments.listen,
            database,
            config,
        },
        shutdown_signal(),
    )
    .await?;
    // The first line of stdout is the base URL: tests and tools read it to find the relay.
    println!("{}", relay.base_url().as_str().trim_end_matches('/'));
    relay.wait().await?;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        // If Ctrl-C cannot be installed the relay still stops on SIGTERM.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
