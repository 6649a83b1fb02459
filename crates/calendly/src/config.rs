//! Client configuration: base URL, timeouts, retry and pacing policy. Tests shrink the delays.

use std::time::Duration;

use url::Url;

/// How the client is set up. Build it with [`ClientConfig::new`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://api.calendly.com` in production, the fake's base URL in tests. The token is
    /// only ever sent to this origin: resource URIs and `next_page` links are never followed.
    pub api_base: Url,
    pub user_agent: String,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, body included.
    pub request_timeout: Duration,
    /// The largest answer body read; a bigger one is refused unread (a page of 100 events with
    /// everything Calendly sends is well under 1 MiB).
    pub max_response_bytes: usize,
    pub retry: RetryPolicy,
    pub pacing: PacingPolicy,
}

impl ClientConfig {
    pub fn new(api_base: Url) -> Self {
        Self {
            api_base,
            user_agent: concat!("advicly-desktop/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
            pacing: PacingPolicy::default(),
        }
    }
}

/// When and how long to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per call for 5xx answers and network failures, the first one included.
    pub max_attempts: u32,
    /// First backoff delay; doubled on every further attempt, then jittered.
    pub base_delay: Duration,
    /// Upper bound of one backoff delay.
    pub max_delay: Duration,
    /// How many 429 answers one call waits out before giving up with `Error::RateLimited`.
    pub max_rate_limit_retries: u32,
    /// The longest wait after one 429 that the client honours: it waits
    /// `min(X-RateLimit-Reset, this)` before retrying. Calendly's reset is at most 60 s, so the
    /// default never cuts a real wait short; tests shrink it.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_rate_limit_retries: 3,
            max_rate_limit_wait: Duration::from_secs(75),
        }
    }
}

/// How the client spends the per-user rate-limit budget it learns from `X-RateLimit-*`.
#[derive(Clone, Debug)]
pub struct PacingPolicy {
    pub enabled: bool,
    /// Share of the limit left untouched for the advisor's other integrations.
    pub reserve_fraction: f64,
    /// The reserve is never smaller than this many requests.
    pub min_reserve: u32,
    /// How far (as a share of the limit) the client may run ahead of an even spread over the
    /// window before it starts spacing requests out; short syncs run at full speed.
    pub burst_fraction: f64,
    /// Extra wait after the reported reset, because `X-RateLimit-Reset` is whole seconds.
    pub reset_margin: Duration,
}

impl Default for PacingPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            reserve_fraction: 0.05,
            min_reserve: 2,
            burst_fraction: 0.5,
            reset_margin: Duration::from_millis(1000),
        }
    }
}
