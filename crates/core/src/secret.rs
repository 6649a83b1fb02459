//! A wrapper for tokens, verifiers and signing keys that can never be printed or serialized.

use std::fmt;

/// A secret string (access token, refresh token, PKCE verifier, signing key).
///
/// `Debug` and `Display` print `<redacted>`; the type deliberately implements neither
/// `Serialize` nor `Clone`-to-string conversions, so a secret only leaves through
/// [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value. Call it only where the secret is handed to its one legitimate consumer
    /// (an HTTP header, the keychain, an HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("super-secret-token");
        // A secret formatted into a log line or error message must not leak its value.
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(secret.expose(), "super-secret-token");
    }
}
