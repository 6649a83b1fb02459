//! Maps the errors of the crates below (store, Calendly client, connect) onto [`EngineError`].

use advicly_calendly::{Error as CalendlyError, TokenError};
use advicly_connect::ConnectError;
use advicly_core::error::StoreError;

use crate::error::{sentence, EngineError};

pub(crate) fn store_error(error: StoreError) -> EngineError {
    EngineError::Store {
        message: sentence(&error.to_string()),
    }
}

pub(crate) fn token_error(error: TokenError) -> EngineError {
    let message = sentence(&error.to_string());
    match error {
        TokenError::Missing => EngineError::NotConnected,
        TokenError::Rejected => EngineError::NeedsReconnect { reason: message },
        TokenError::StoreUnavailable { .. } => EngineError::KeychainUnavailable { message },
        // A refresh that may succeed later (network, Calendly's token endpoint) reads as offline.
        TokenError::RefreshFailed { .. } => EngineError::Offline { message },
    }
}

pub(crate) fn calendly_error(error: CalendlyError) -> EngineError {
    let message = sentence(&error.to_string());
    match error {
        CalendlyError::Token(token) => token_error(token),
        CalendlyError::Unauthorized { .. } => EngineError::NeedsReconnect { reason: message },
        CalendlyError::Forbidden {
            ref required_scopes,
            ..
        } if !required_scopes.is_empty() => EngineError::NeedsReconnect { reason: message },
        // Calendly down (5xx after retries) or unreachable: the UI's offline notice fits both.
        CalendlyError::Network { .. } | CalendlyError::Server { .. } => {
            EngineError::Offline { message }
        }
        _ => EngineError::Internal { message },
    }
}

/// Follows the connector's own code assignment, keeping its (already plain) sentences.
pub(crate) fn connect_error(error: ConnectError) -> EngineError {
    let message = sentence(&error.to_string());
    match error.code() {
        "keychain_unavailable" => EngineError::KeychainUnavailable { message },
        "oauth_denied" => EngineError::OauthDenied { message },
        "oauth_failed" => EngineError::OauthFailed { message },
        "invalid_token" => EngineError::InvalidToken { message },
        "needs_reconnect" => EngineError::NeedsReconnect { reason: message },
        "not_connected" => EngineError::NotConnected,
        "offline" => EngineError::Offline { message },
        _ => EngineError::Internal { message },
    }
}
