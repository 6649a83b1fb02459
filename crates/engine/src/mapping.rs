//! Maps the errors of the crates below (store, Calendly client, connect) onto [`EngineError`].

use advicly_calendly::{Error as CalendlyError, TokenError};
use advicly_core::error::StoreError;

use crate::error::EngineError;

pub(crate) fn store_error(error: StoreError) -> EngineError {
    EngineError::Store {
        detail: error.to_string(),
    }
}

pub(crate) fn token_error(error: TokenError) -> EngineError {
    match error {
        TokenError::Missing => EngineError::NotConnected,
        TokenError::Rejected => EngineError::NeedsReconnect {
            reason: error.to_string(),
        },
        TokenError::StoreUnavailable { message } => {
            EngineError::KeychainUnavailable { detail: message }
        }
        // A refresh that may succeed later (network, Calendly's token endpoint) reads as offline.
        TokenError::RefreshFailed { message } => EngineError::Offline { detail: message },
    }
}

pub(crate) fn calendly_error(error: CalendlyError) -> EngineError {
    match error {
        CalendlyError::Token(token) => token_error(token),
        CalendlyError::Unauthorized { .. } => EngineError::NeedsReconnect {
            reason: error.to_string(),
        },
        CalendlyError::Forbidden {
            ref required_scopes,
            ..
        } if !required_scopes.is_empty() => EngineError::NeedsReconnect {
            reason: error.to_string(),
        },
        CalendlyError::Network { .. } | CalendlyError::Server { .. } => EngineError::Offline {
            detail: error.to_string(),
        },
        other => EngineError::internal(other),
    }
}
