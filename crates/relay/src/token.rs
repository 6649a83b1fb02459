//! Subscriber tokens: generated once, shown once, stored only as a SHA-256 hash, compared in
//! constant time.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::TokenHash;

/// A subscriber token in the clear. Exists only between creation and the 201 answer, and while
/// a request's `Authorization` header is checked; `Debug` never prints it.
pub struct SubscriberToken(String);

impl SubscriberToken {
    /// 256 random bits, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_presented(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// Whether this token is the one whose hash is stored (constant time).
    pub fn matches(&self, stored: &TokenHash) -> bool {
        self.hash().0.ct_eq(&stored.0).into()
    }

    /// The token itself, for the one answer that shows it.
    pub fn reveal(self) -> String {
        self.0
    }
}

impl fmt::Debug for SubscriberToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SubscriberToken(<redacted>)")
    }
}

/// The token of an `Authorization: Bearer <token>` header value, if it has that shape.
pub fn bearer(header: Option<&axum::http::HeaderValue>) -> Option<SubscriberToken> {
    let value = header?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SubscriberToken::from_presented(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_own_hash_only() {
        let token = SubscriberToken::generate();
        let stored = token.hash();
        assert!(token.matches(&stored));
        assert!(!SubscriberToken::generate().matches(&stored));
        assert!(!format!("{token:?}").contains(&token.reveal()));
    }

    #[test]
    fn only_bearer_headers_carry_a_token() {
        let header = |text: &str| axum::http::HeaderValue::from_str(text).unwrap();
        assert!(bearer(Some(&header("Bearer abc"))).is_some());
        assert!(bearer(Some(&header("bearer abc"))).is_some());
        assert!(bearer(Some(&header("Basic abc"))).is_none());
        assert!(bearer(Some(&header("Bearer "))).is_none());
        assert!(bearer(None).is_none());
    }
}
