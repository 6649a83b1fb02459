//! Configuration passed in by the caller: endpoints, client id, redirect mode, keychain service,
//! data folder and the refresh policy. The same binary talks to Calendly or to the fake.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::error::ConnectError;

/// The deep link the desktop app registers for OAuth callbacks.
pub const DEEP_LINK_CALLBACK: &str = "advicly://oauth/callback";

/// The database file inside the data folder (shared with the engine).
pub const DATABASE_FILE_NAME: &str = "advicly.sqlite3";

/// The scopes Advicly asks for: the advisor's profile, their scheduled events, the names and
/// colours of their event types, and webhooks.
pub const DEFAULT_SCOPES: [&str; 5] = [
    "users:read",
    "scheduled_events:read",
    "event_types:read",
    "webhooks:read",
    "webhooks:write",
];

/// The webhook events Advicly subscribes to.
pub const WEBHOOK_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

/// Where Calendly sends the browser after consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedirectMode {
    /// Straight to `advicly://oauth/callback`.
    Direct,
    /// To `<relay_base>/oauth/callback`, which bounces to `advicly://oauth/callback`.
    RelayBounce { relay_base: Url },
}

impl RedirectMode {
    /// The `redirect_uri` sent to Calendly (authorize and token requests must use the same).
    pub fn redirect_uri(&self) -> Result<Url, ConnectError> {
        match self {
            Self::Direct => Ok(Url::parse(DEEP_LINK_CALLBACK).expect("the deep link is a URL")),
            Self::RelayBounce { relay_base } => with_trailing_slash(relay_base)
                .join("oauth/callback")
                .map_err(|error| {
                    ConnectError::Configuration(format!(
                        "the relay URL {relay_base} cannot take a path: {error}"
                    ))
                }),
        }
    }
}

/// When to refresh, how to back off, and how the token-endpoint circuit cools down.
#[derive(Clone, Debug)]
pub struct RefreshPolicy {
    /// Refresh proactively when less than this is left of the access token's life.
    pub refresh_margin: chrono::Duration,
    /// Refresh requests one refresh may make (the first included) on transient failures while
    /// the circuit is closed. A half-open circuit makes one trial request.
    pub max_attempts: u32,
    /// First backoff delay between those requests; doubled per attempt, jittered by up to half.
    pub base_delay: Duration,
    /// How long the circuit stays open after the first refresh whose attempts all failed;
    /// doubled after every failed trial, jittered by up to half.
    pub cooldown_base: Duration,
    /// The longest cool-down (before jitter).
    pub cooldown_max: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_margin: chrono::Duration::minutes(10),
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            cooldown_base: Duration::from_secs(30),
            cooldown_max: Duration::from_secs(10 * 60),
        }
    }
}

/// The clock, passed in so tests can move time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything the connector needs.
#[derive(Clone)]
pub struct ConnectConfig {
    /// Holds the database, the pending sign-ins file and the lock files.
    pub data_dir: PathBuf,
    /// The SQLite database (by default `<data_dir>/advicly.sqlite3`).
    pub database_path: PathBuf,
    /// `https://api.calendly.com` or the fake's.
    pub api_base: Url,
    /// `https://auth.calendly.com` or the fake's.
    pub auth_base: Url,
    /// `None`: OAuth is unavailable (personal access tokens still work).
    pub oauth_client_id: Option<String>,
    pub redirect: RedirectMode,
    /// Keychain service name (`com.advicly.desktop`, `com.advicly.desktop.dev`, unique per test).
    pub keychain_service: String,
    /// The relay that carries real time (the same base as the HTTPS bounce): connecting creates
    /// a channel on it and keeps one Calendly webhook subscription pointing at the channel's
    /// `ingress_url`. `None`: no channel or subscription is managed; meetings arrive by polling.
    pub relay_base: Option<Url>,
    /// Timeout of one relay request (channel create/delete, ack).
    pub relay_timeout: Duration,
    pub scopes: Vec<String>,
    pub refresh: RefreshPolicy,
    /// A keychain call that takes longer fails with `KeychainUnavailable`.
    pub keychain_timeout: Duration,
    /// Timeout of one OAuth token/revoke request.
    pub oauth_request_timeout: Duration,
    /// How long a started sign-in stays valid.
    pub pending_lifetime: chrono::Duration,
    /// The Calendly client settings for `/users/me` and webhook calls (base URL is `api_base`).
    pub calendly: advicly_calendly::ClientConfig,
    pub clock: Clock,
}

impl std::fmt::Debug for ConnectConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConnectConfig")
            .field("data_dir", &self.data_dir)
            .field("api_base", &self.api_base.as_str())
            .field("auth_base", &self.auth_base.as_str())
            .field("oauth_client_id", &self.oauth_client_id)
            .field("redirect", &self.redirect)
            .field("keychain_service", &self.keychain_service)
            .field("relay_base", &self.relay_base.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl ConnectConfig {
    /// A configuration with the defaults: database in `data_dir`, default scopes and refresh
    /// policy, 10-second keychain timeout, 10-minute pending sign-ins, the system clock.
    pub fn new(
        data_dir: PathBuf,
        api_base: Url,
        auth_base: Url,
        oauth_client_id: Option<String>,
        redirect: RedirectMode,
        keychain_service: impl Into<String>,
    ) -> Self {
        Self {
            database_path: data_dir.join(DATABASE_FILE_NAME),
            data_dir,
            calendly: advicly_calendly::ClientConfig::new(api_base.clone()),
            api_base,
            auth_base,
            oauth_client_id,
            redirect,
            keychain_service: keychain_service.into(),
            relay_base: None,
            relay_timeout: Duration::from_secs(10),
            scopes: DEFAULT_SCOPES
                .iter()
                .map(|scope| scope.to_string())
                .collect(),
            refresh: RefreshPolicy::default(),
            keychain_timeout: Duration::from_secs(10),
            oauth_request_timeout: Duration::from_secs(30),
            pending_lifetime: chrono::Duration::minutes(10),
            clock: Arc::new(Utc::now),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// `url` with a trailing slash, so `join` appends instead of replacing the last segment.
pub(crate) fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}
