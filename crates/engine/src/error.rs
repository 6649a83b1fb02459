//! The engine's one error type, with the stable codes the desktop shell and the CLI branch on.

/// Everything the engine can fail with. Messages are written for the advisor: they say what
/// went wrong and what to do. The enum is `Clone` because a joined sync hands the same result
/// to every caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("No Calendly account is connected. Connect one first.")]
    NotConnected,
    #[error("Calendly needs to be reconnected: {reason}")]
    NeedsReconnect { reason: String },
    #[error(
        "Calendly could not be reached ({detail}). Check the network connection and try again."
    )]
    Offline { detail: String },
    #[error("The system keychain is not available: {detail}")]
    KeychainUnavailable { detail: String },
    #[error("Connecting Calendly was declined in the browser.")]
    OauthDenied,
    #[error("Connecting Calendly failed: {detail}")]
    OauthFailed { detail: String },
    #[error("Calendly rejected the personal access token: {detail}")]
    InvalidToken { detail: String },
    #[error("{detail}")]
    InvalidInput { detail: String },
    #[error("{what} was not found.")]
    NotFound { what: String },
    #[error(
        "The sync was stopped before it finished; the next sync will pick up where it left off."
    )]
    SyncCancelled,
    #[error("The local database failed: {detail}")]
    Store { detail: String },
    #[error("{detail}")]
    Internal { detail: String },
}

impl EngineError {
    /// The error code of `docs/ipc.md`, also used by the CLI to choose its exit code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::NeedsReconnect { .. } => "needs_reconnect",
            Self::Offline { .. } => "offline",
            Self::KeychainUnavailable { .. } => "keychain_unavailable",
            Self::OauthDenied => "oauth_denied",
            Self::OauthFailed { .. } => "oauth_failed",
            Self::InvalidToken { .. } => "invalid_token",
            Self::InvalidInput { .. } => "invalid_input",
            Self::NotFound { .. } => "not_found",
            Self::SyncCancelled | Self::Store { .. } | Self::Internal { .. } => "internal",
        }
    }

    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal {
            detail: detail.to_string(),
        }
    }

    pub(crate) fn invalid_input(detail: impl Into<String>) -> Self {
        Self::InvalidInput {
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            EngineError::Offline { detail: "d".into() },
            EngineError::KeychainUnavailable { detail: "d".into() },
            EngineError::OauthDenied,
            EngineError::OauthFailed { detail: "d".into() },
            EngineError::InvalidToken { detail: "d".into() },
            EngineError::invalid_input("d"),
            EngineError::NotFound { what: "w".into() },
            EngineError::SyncCancelled,
            EngineError::Store { detail: "d".into() },
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
