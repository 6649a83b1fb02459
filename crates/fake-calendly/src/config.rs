//! Configuration of a fake Calendly instance: app registration, limits, seeding and timing knobs.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The time range seeded events are spread across.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Everything a fake Calendly instance is started with. Build it with `FakeConfig::default()` and
/// override fields; every knob has a value matching real Calendly unless a test compresses it.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The OAuth client id of the one registered (native, public) app.
    pub client_id: String,
    /// Redirect URIs registered on that app. A loopback `http://127.0.0.1/...` or
    /// `http://localhost/...` entry also matches the same URI with any port (RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    /// When true, `GET /oauth/authorize` approves at once instead of showing the consent page.
    pub auto_approve: bool,
    /// API requests allowed per user per minute (Calendly: 500 on paid plans).
    pub rate_limit_per_minute: u32,
    /// Token-endpoint requests allowed per user per minute (Calendly: 8).
    pub token_requests_per_minute: u32,
    /// Latency added to every API and OAuth response.
    pub latency: Duration,
    /// Seed of the deterministic generator used for seeded events.
    pub seed: u64,
    /// How many events to seed for the default user at start.
    pub seed_events: usize,
    /// Range for the seeded events; `None` means 180 days before to 90 days after start, rounded to days.
    pub seed_range: Option<SeedRange>,
    /// How long a failing webhook subscription is retried before it becomes `disabled` (Calendly: 24 h).
    pub retry_window: Duration,
    /// First retry delay; each further retry doubles it (capped at one hour of fake time).
    pub retry_backoff: Duration,
    /// Timeout of one webhook delivery attempt (Calendly: connect 10 s, read 15 s).
    pub delivery_timeout: Duration,
    /// Lifetime of access tokens (Calendly: 7200 s).
    pub access_token_lifetime: Duration,
    /// Lifetime of authorization codes (Calendly: 10 minutes).
    pub authorization_code_lifetime: Duration,
    /// The app-wide webhook signing key used for subscriptions created with OAuth tokens.
    pub app_webhook_signing_key: String,
    /// Largest request body accepted; bigger bodies get 413.
    pub max_body_bytes: usize,
    /// Address of the API listener (also serves `/_control`).
    pub listen_api: SocketAddr,
    /// Address of the OAuth listener (the `auth.calendly.com` stand-in).
    pub listen_auth: SocketAddr,
}

impl Default for FakeConfig {
    fn default() -> Self {
        let loopback_any_port: SocketAddr = ([127, 0, 0, 1], 0).into();
        FakeConfig {
            client_id: "fake-calendly-client-id".to_string(),
            redirect_uris: vec![
                "advicly://oauth/callback".to_string(),
                "http://127.0.0.1/oauth/callback".to_string(),
            ],
            auto_approve: false,
            rate_limit_per_minute: 500,
            token_requests_per_minute: 8,
            latency: Duration::ZERO,
            seed: 1,
            seed_events: 0,
            seed_range: None,
            retry_window: Duration::from_secs(24 * 60 * 60),
            retry_backoff: Duration::from_secs(60),
            delivery_timeout: Duration::from_secs(15),
            access_token_lifetime: Duration::from_secs(7200),
            authorization_code_lifetime: Duration::from_secs(600),
            app_webhook_signing_key: "fake-calendly-app-webhook-signing-key".to_string(),
            max_body_bytes: 1024 * 1024,
            listen_api: loopback_any_port,
            listen_auth: loopback_any_port,
        }
    }
}

impl FakeConfig {
    /// A configuration for tests: auto-approve on, webhook retries compressed to milliseconds.
    pub fn for_tests() -> Self {
        FakeConfig {
            auto_approve: true,
            retry_window: Duration::from_millis(1500),
            retry_backoff: Duration::from_millis(50),
            delivery_timeout: Duration::from_secs(2),
            ..FakeConfig::default()
        }
    }
}
