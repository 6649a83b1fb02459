//! The engine's one error type, with the stable codes the desktop shell and the CLI branch on.

/// Everything the engine can fail with. Messages are written for the advisor: they say what
/// went wrong and what to do. The enum is `Clone` because a joined sync hands the same result
/// to every caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("No Calendly account is connected; connect one first.")]
    NotConnected,
    #[error("{}", reconnect_sentence(reason))]
    NeedsReconnect { reason: String },
    #[error("{message}")]
    Offline { message: String },
    #[error("{message}")]
    KeychainUnavailable { message: String },
    #[error("{message}")]
    OauthDenied { message: String },
    #[error("{message}")]
    OauthFailed { message: String },
    #[error("{message}")]
    InvalidToken { message: String },
    #[error("{message}")]
    InvalidInput { message: String },
    #[error("{what} was not found.")]
    NotFound { what: String },
    #[error("The sync was stopped before it finished; the next sync picks up where it left off.")]
    SyncCancelled,
    #[error("The local database failed: {message}")]
    Store { message: String },
    #[error("{message}")]
    Internal { message: String },
}

impl EngineError {
    /// The error code of `docs/ipc.md`, also used by the CLI to choose its exit code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::NeedsReconnect { .. } => "needs_reconnect",
            Self::Offline { .. } => "offline",
            Self::KeychainUnavailable { .. } => "keychain_unavailable",
            Self::OauthDenied { .. } => "oauth_denied",
            Self::OauthFailed { .. } => "oauth_failed",
            Self::InvalidToken { .. } => "invalid_token",
            Self::InvalidInput { .. } => "invalid_input",
            Self::NotFound { .. } => "not_found",
            Self::SyncCancelled | Self::Store { .. } | Self::Internal { .. } => "internal",
        }
    }

    pub(crate) fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal {
            message: sentence(&message.to_string()),
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: sentence(&message.into()),
        }
    }
}

/// The reason, plus what to do about it unless the reason already says so.
fn reconnect_sentence(reason: &str) -> String {
    let reason = sentence(reason);
    if reason.to_lowercase().contains("reconnect") {
        reason
    } else {
        format!("{reason} Reconnect Calendly to continue.")
    }
}

/// Makes a lower crate's message read as a sentence: capital first letter, final full stop.
pub(crate) fn sentence(message: &str) -> String {
    let trimmed = message.trim();
    let mut characters = trimmed.chars();
    let mut text = match characters.next() {
        Some(first) => first.to_uppercase().collect::<String>() + characters.as_str(),
        None => return String::new(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_reconnect_says_what_to_do_once() {
        // The CLI prints this alone, so it must tell the advisor to reconnect, but not twice.
        let bare = EngineError::NeedsReconnect {
            reason: "The personal access token was rejected".into(),
        };
        assert_eq!(
            bare.to_string(),
            "The personal access token was rejected. Reconnect Calendly to continue."
        );
        let explained = EngineError::NeedsReconnect {
            reason: "Calendly rejected the token; reconnect the Calendly account".into(),
        };
        assert_eq!(
            explained.to_string(),
            "Calendly rejected the token; reconnect the Calendly account."
        );
    }

    #[test]
    fn every_variant_maps_to_a_documented_ipc_code() {
        // The UI branches on these exact strings (docs/ipc.md); a typo would silently break it.
        let documented = [
            "not_connected",
            "needs_reconnect",
            "offline",
            "keychain_unavailable",
            "oauth_denied",
            "oauth_failed",
            "invalid_token",
            "invalid_input",
            "not_found",
            "internal",
        ];
        let all = [
            EngineError::NotConnected,
            EngineError::NeedsReconnect { reason: "r".into() },
            EngineError::Offline {
                message: "d".into(),
            },
            EngineError::KeychainUnavailable {
                message: "d".into(),
            },
            EngineError::OauthDenied {
                message: "m".into(),
            },
            EngineError::OauthFailed {
                message: "d".into(),
            },
            EngineError::InvalidToken {
                message: "d".into(),
            },
            EngineError::invalid_input("d"),
            EngineError::NotFound { what: "w".into() },
            EngineError::SyncCancelled,
            EngineError::Store {
                message: "d".into(),
            },
            EngineError::internal("d"),
        ];
        for error in all {
            assert!(
                documented.contains(&error.code()),
                "{error:?} has undocumented code {}",
                error.code()
            );
        }
    }
}
