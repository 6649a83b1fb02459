//! Where the client gets its access token from: the `TokenProvider` trait and the PAT provider.

use advicly_core::secret::Secret;
use async_trait::async_trait;

use crate::error::TokenError;

/// Supplies access tokens to the client. The keychain-backed OAuth provider lives in
/// `advicly-connect`; [`StaticToken`] serves a personal access token.
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// The token to send now. May refresh proactively when the token is about to expire.
    async fn access_token(&self) -> Result<Secret, TokenError>;

    /// Called once when Calendly answered 401 to `rejected`. Returns a fresh token to retry
    /// with, or [`TokenError::Rejected`] when no refresh is possible.
    async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret, TokenError>;
}

/// A personal access token: always the same token, and nothing to refresh it with.
pub struct StaticToken(Secret);

impl StaticToken {
    pub fn new(token: Secret) -> Self {
        Self(token)
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn access_token(&self) -> Result<Secret, TokenError> {
        Ok(self.0.clone())
    }

    async fn refresh_after_unauthorized(&self, _rejected: &Secret) -> Result<Secret, TokenError> {
        Err(TokenError::Rejected)
    }
}
