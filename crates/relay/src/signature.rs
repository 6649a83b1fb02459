//! Verifying `Calendly-Webhook-Signature` at ingress with the app's signing key, when the operator
//! gave the relay one (`--calendly-signing-key-file`).
//!
//! The header is `t=<unix seconds>,v1=<hex HMAC-SHA256>` over `t + "." + raw body`. The relay
//! only records the verdict (`relay_verified`); it stores every delivery either way, because
//! refusing would make Calendly retry and eventually disable the subscription.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signature may be; Calendly's own examples use three minutes.
pub const TOLERANCE_SECONDS: i64 = 180;
/// How far in the future a signature's timestamp may be (clock skew).
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 30;

/// The app's webhook signing key. `Debug` never prints it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// The key as Calendly shows it: the file's text without surrounding whitespace.
    pub fn from_file_text(text: &str) -> Option<Self> {
        let key = text.trim();
        (!key.is_empty()).then(|| Self(key.as_bytes().to_vec()))
    }

    /// Whether `header` is a valid, fresh signature of `body` at `now`.
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> bool {
        let Some(header) = header else { return false };
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = Some(value),
                Some(("v1", value)) => signatures.push(value),
                _ => {}
            }
        }
        let Some(timestamp) = timestamp else {
            return false;
        };
        let Ok(seconds) = timestamp.parse::<i64>() else {
            return false;
        };
        let age = now.timestamp() - seconds;
        if age > TOLERANCE_SECONDS || -age > MAX_FUTURE_SKEW_SECONDS {
            return false;
        }
        signatures.into_iter().any(|signature| {
            let Ok(expected) = hex::decode(signature) else {
                return false;
            };
            let mut mac =
                Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
    }

    /// The header Calendly would send for `body` at `timestamp` (for tests and tools).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!(
            "t={timestamp},v1={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SigningKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_signatures_of_the_same_body_verify_and_nothing_else_does() {
        let key = SigningKey::from_file_text("  app-key\n").unwrap();
        let now = Utc::now();
        let header = key.sign(now.timestamp(), b"{\"a\":1}");
        assert!(key.verify(Some(&header), b"{\"a\":1}", now));
        assert!(
            !key.verify(Some(&header), b"{\"a\":2}", now),
            "another body"
        );
        let other = SigningKey::from_file_text("other").unwrap();
        assert!(
            !other.verify(Some(&header), b"{\"a\":1}", now),
            "another key"
        );
        let stale = key.sign(now.timestamp() - 600, b"x");
        assert!(!key.verify(Some(&stale), b"x", now), "too old");
        assert!(!key.verify(Some("t=abc,v1=zz"), b"x", now), "garbage");
        assert!(!key.verify(None, b"x", now), "no header");
    }
}
