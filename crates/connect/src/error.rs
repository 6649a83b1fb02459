//! The one error enum of this crate. Messages are plain sentences a person can act on; none of
//! them ever contains a token, a verifier, a code or a state value.

use std::path::PathBuf;

/// Everything connecting, refreshing and disconnecting can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No Secret Service is running, or the keyring is locked. Nothing was written elsewhere.
    #[error("{message}")]
    KeychainUnavailable { message: String },

    /// No OAuth client id is configured, so the browser sign-in cannot be used.
    #[error(
        "Signing in through the browser needs the OAuth client id of your Calendly app, and none is set. Set it once in Settings (or with `advicly config set client_id YOUR_CLIENT_ID`), or connect with a personal access token instead"
    )]
    OAuthUnavailable,

    /// The advisor pressed Deny on Calendly's consent page.
    #[error("{message}")]
    OAuthDenied { message: String },

    /// The callback could not be used (bad, unknown, expired or reused state, a malformed link,
    /// or Calendly refused the code).
    #[error("{message}")]
    OAuthFailed { message: String },

    /// A personal access token was rejected by Calendly.
    #[error("{message}")]
    InvalidToken { message: String },

    /// Refreshing failed for good (the circuit is open): the advisor must reconnect.
    #[error("{reason}")]
    NeedsReconnect { reason: String },

    /// No Calendly account is connected.
    #[error("No Calendly account is connected; connect one first")]
    NotConnected,

    /// Calendly or the network cannot be reached.
    #[error("Could not reach Calendly: {message}. Check the internet connection and try again")]
    Offline { message: String },

    /// The relay could not be reached, or failed on its side.
    #[error("Could not reach the relay at {relay}: {message}")]
    RelayUnreachable { relay: String, message: String },

    /// The relay refused a request or answered something unusable.
    #[error("The relay at {relay} refused the request: {message}")]
    RelayRefused { relay: String, message: String },

    /// A Calendly API call failed.
    #[error(transparent)]
    Calendly(advicly_calendly::Error),

    /// The local database failed.
    #[error(transparent)]
    Store(#[from] advicly_core::StoreError),

    /// A file in the data folder could not be read or written.
    #[error("Could not use {path}: {source}")]
    DataFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The configuration cannot work (for example a relay URL that cannot be a base).
    #[error("Advicly is misconfigured: {0}")]
    Configuration(String),

    /// A background task died; this is a bug.
    #[error("An internal task failed: {0}")]
    Internal(String),
}

impl ConnectError {
    /// The IPC error code of `docs/ipc.md` this error maps to.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeychainUnavailable { .. } => "keychain_unavailable",
            Self::OAuthUnavailable | Self::OAuthFailed { .. } => "oauth_failed",
            Self::OAuthDenied { .. } => "oauth_denied",
            Self::InvalidToken { .. } => "invalid_token",
            Self::NeedsReconnect { .. } => "needs_reconnect",
            Self::NotConnected => "not_connected",
            Self::Offline { .. } | Self::RelayUnreachable { .. } => "offline",
            Self::Calendly(error) if error.is_offline() => "offline",
            Self::Calendly(advicly_calendly::Error::Token(token)) => match token {
                advicly_calendly::TokenError::Missing => "not_connected",
                advicly_calendly::TokenError::Rejected => "needs_reconnect",
                advicly_calendly::TokenError::StoreUnavailable { .. } => "keychain_unavailable",
                advicly_calendly::TokenError::RefreshFailed { .. } => "offline",
            },
            Self::Calendly(advicly_calendly::Error::Unauthorized { .. }) => "needs_reconnect",
            Self::Calendly(_)
            | Self::RelayRefused { .. }
            | Self::Store(_)
            | Self::DataFolder { .. }
            | Self::Configuration(_)
            | Self::Internal(_) => "internal",
        }
    }
}

impl From<advicly_calendly::Error> for ConnectError {
    fn from(error: advicly_calendly::Error) -> Self {
        match error {
            advicly_calendly::Error::Network { message, .. } => Self::Offline { message },
            other => Self::Calendly(other),
        }
    }
}

impl From<tokio::task::JoinError> for ConnectError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(error.to_string())
    }
}
