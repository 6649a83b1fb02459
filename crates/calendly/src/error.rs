//! The one error enum of this crate, plus the token provider's error and Calendly's error body.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Everything a Calendly call can fail with. Messages are written for a person: they say what
/// failed and, where there is one, what to do about it. None of them ever contains a token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Calendly rejected the access token, and refreshing it once did not help.
    #[error("Calendly rejected the access token ({message}); reconnect the Calendly account")]
    Unauthorized { message: String },

    /// The token is valid but lacks a scope or the account lacks a permission or plan feature.
    #[error(
        "Calendly refused the request: {message}{}",
        scopes_suffix(required_scopes)
    )]
    Forbidden {
        message: String,
        /// Scopes Calendly says are missing (`Insufficient scope` bodies); empty otherwise.
        required_scopes: Vec<String>,
    },

    /// The resource does not exist (or is not visible to this account).
    #[error("Calendly could not find the requested resource: {message}")]
    NotFound { message: String },

    /// A webhook subscription for this callback URL already exists (HTTP 409).
    #[error("Calendly says this already exists: {message}")]
    AlreadyExists { message: String },

    /// Calendly kept answering 429 after every retry this client was willing to make.
    #[error(
        "Calendly's rate limit is exhausted; try again in {} s",
        retry_after.as_secs().max(1)
    )]
    RateLimited { retry_after: Duration },

    /// Calendly answered 5xx on every attempt.
    #[error("Calendly is having trouble (HTTP {status}): {message}; try again later")]
    Server { status: u16, message: String },

    /// Calendly rejected the request itself (400 and other 4xx not listed above).
    #[error("Calendly rejected the request (HTTP {status}): {message}")]
    InvalidRequest { status: u16, message: String },

    /// Calendly could not be reached or the connection broke: the app should say "offline".
    #[error("could not reach Calendly ({kind}): {message}; check the internet connection")]
    Network {
        kind: NetworkFailure,
        message: String,
    },

    /// Calendly answered, but with a body this client cannot understand.
    #[error("Calendly sent a response that could not be read ({context}): {message}")]
    Decode { context: String, message: String },

    /// A URI handed to the client does not have the shape Calendly uses.
    #[error("not a Calendly {expected} URI: {uri}")]
    InvalidUri { expected: &'static str, uri: String },

    /// The token provider could not produce a token.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl Error {
    /// True when the failure means "Calendly or the network is unreachable", so the app can show
    /// its offline notice instead of an error.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Network { .. })
    }
}

/// How a request failed to reach Calendly or to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFailure {
    /// No connection could be made (DNS, refused, unreachable).
    Connect,
    /// The request or the connection timed out.
    Timeout,
    /// The connection was dropped or reset mid-request, or the body could not be read.
    Interrupted,
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Connect => "connection failed",
            Self::Timeout => "timed out",
            Self::Interrupted => "connection interrupted",
        })
    }
}

/// Why a [`crate::TokenProvider`] could not hand out a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token is stored: no account is connected.
    #[error("no Calendly account is connected; connect one first")]
    Missing,
    /// The token was rejected and cannot be refreshed (a personal access token, a revoked
    /// refresh token, or a refresh circuit that is open): the account must be reconnected.
    #[error(
        "the Calendly token was rejected and cannot be refreshed; reconnect the Calendly account"
    )]
    Rejected,
    /// The token store (keychain) could not be read or written.
    #[error("the token store is unavailable: {message}")]
    StoreUnavailable { message: String },
    /// Refreshing failed for a reason that may go away (network, Calendly's token endpoint).
    #[error("refreshing the Calendly token failed: {message}")]
    RefreshFailed { message: String },
}

fn scopes_suffix(required_scopes: &[String]) -> String {
    if required_scopes.is_empty() {
        String::new()
    } else {
        format!(
            " (missing scopes: {}; reconnect and grant them)",
            required_scopes.join(", ")
        )
    }
}

/// Calendly's error body: `{title, message, details?}` plus `required_scopes` on scope errors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApiErrorBody {
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Vec<ApiErrorDetail>,
    pub required_scopes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApiErrorDetail {
    pub parameter: Option<String>,
    pub message: Option<String>,
}

impl ApiErrorBody {
    /// Parses an error body leniently; anything unreadable becomes an empty body.
    pub fn parse(raw: &[u8]) -> Self {
        serde_json::from_slice(raw).unwrap_or_default()
    }

    /// One readable line: `Title: message (parameter: detail; …)`, or `fallback` when the body
    /// said nothing.
    pub fn readable(&self, fallback: &str) -> String {
        let mut text = match (self.title.as_deref(), self.message.as_deref()) {
            (Some(title), Some(message)) if !title.is_empty() => format!("{title}: {message}"),
            (_, Some(message)) => message.to_owned(),
            (Some(title), None) => title.to_owned(),
            (None, None) => fallback.to_owned(),
        };
        let details: Vec<String> = self
            .details
            .iter()
            .filter_map(|detail| {
                let message = detail.message.as_deref()?;
                Some(match detail.parameter.as_deref() {
                    Some(parameter) => format!("{parameter}: {message}"),
                    None => message.to_owned(),
                })
            })
            .collect();
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join("; ")));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_with_details_reads_as_one_line() {
        let body = br#"{"title":"Invalid Argument","message":"The supplied parameters are invalid.","details":[{"parameter":"event.start_time","message":"That start time has been filled","code":"already_filled"}]}"#;
        // The parameter-level detail is what tells a person what to fix, so it must be shown.
        assert_eq!(
            ApiErrorBody::parse(body).readable("HTTP 400"),
            "Invalid Argument: The supplied parameters are invalid. (event.start_time: That start time has been filled)"
        );
    }

    #[test]
    fn unreadable_error_body_falls_back() {
        // An HTML error page from a proxy must still produce a sensible message.
        assert_eq!(
            ApiErrorBody::parse(b"<html>bad gateway</html>").readable("HTTP 502 Bad Gateway"),
            "HTTP 502 Bad Gateway"
        );
    }

    #[test]
    fn forbidden_message_names_the_missing_scopes() {
        let error = Error::Forbidden {
            message: "Insufficient scope".into(),
            required_scopes: vec!["scheduled_events:read".into()],
        };
        // The advisor must learn which permission to grant when reconnecting.
        assert!(
            error.to_string().contains("scheduled_events:read"),
            "message was: {error}"
        );
    }
}
