//! Strict parsing of the OAuth callback URL (`advicly://oauth/callback?code=…&state=…`).

use url::Url;

use crate::config::DEEP_LINK_CALLBACK;
use crate::error::ConnectError;

/// Longest callback URL accepted at all.
pub const MAX_CALLBACK_URL_LENGTH: usize = 4096;
/// Longest `code` accepted (Calendly's are 64 hex characters).
pub const MAX_CODE_LENGTH: usize = 512;
/// Longest `state` accepted (ours are 43 characters).
pub const MAX_STATE_LENGTH: usize = 256;
const MAX_ERROR_LENGTH: usize = 64;
const MAX_ERROR_DESCRIPTION_LENGTH: usize = 1024;

/// What a well-formed callback says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackParameters {
    Approved {
        code: String,
        state: String,
    },
    Failed {
        error: String,
        error_description: Option<String>,
        state: Option<String>,
    },
}

fn malformed(detail: &str) -> ConnectError {
    ConnectError::OAuthFailed {
        message: format!(
            "The sign-in link Advicly received is not a valid Calendly callback ({detail}). Start connecting again from Advicly"
        ),
    }
}

/// Parses a callback URL. It must be the deep link (or `also_accepted`, the relay's redirect
/// URI) exactly, without a fragment, with exactly one `code` and one `state` (or an `error`),
/// each non-empty, printable and within its length limit. Other parameters are ignored.
pub fn parse_callback_url(
    raw: &str,
    also_accepted: Option<&Url>,
) -> Result<CallbackParameters, ConnectError> {
    let raw = raw.trim();
    if raw.len() > MAX_CALLBACK_URL_LENGTH {
        return Err(malformed("it is too long"));
    }
    let url = Url::parse(raw).map_err(|_| malformed("it is not a URL"))?;
    let expected = Url::parse(DEEP_LINK_CALLBACK).expect("the deep link is a URL");
    let same_endpoint = |candidate: &Url| {
        url.scheme() == candidate.scheme()
            && url.host_str() == candidate.host_str()
            && url.port_or_known_default() == candidate.port_or_known_default()
            && url.path() == candidate.path()
            && url.username().is_empty()
            && url.password().is_none()
    };
    if !same_endpoint(&expected) && !also_accepted.is_some_and(same_endpoint) {
        return Err(malformed("it does not point at advicly://oauth/callback"));
    }
    if url.fragment().is_some() {
        return Err(malformed("it carries a fragment"));
    }

    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut error_description = None;
    for (name, value) in url.query_pairs() {
        let (slot, label, limit) = match &*name {
            "code" => (&mut code, "code", MAX_CODE_LENGTH),
            "state" => (&mut state, "state", MAX_STATE_LENGTH),
            "error" => (&mut error, "error", MAX_ERROR_LENGTH),
            "error_description" => (
                &mut error_description,
                "error_description",
                MAX_ERROR_DESCRIPTION_LENGTH,
            ),
            _ => continue,
        };
        if slot.is_some() {
            return Err(malformed(&format!("`{label}` appears more than once")));
        }
        let well_formed = if label == "error_description" {
            value.chars().all(|character| !character.is_control())
        } else {
            value
                .chars()
                .all(|character| character.is_ascii_graphic() && character != '"')
        };
        if value.is_empty() || value.len() > limit || !well_formed {
            return Err(malformed(&format!(
                "`{label}` is empty, too long or has odd characters"
            )));
        }
        *slot = Some(value.into_owned());
    }
    match (code, state, error) {
        (None, state, Some(error)) => Ok(CallbackParameters::Failed {
            error,
            error_description,
            state,
        }),
        (Some(_), _, Some(_)) => Err(malformed("it carries both a code and an error")),
        (Some(code), Some(state), None) => Ok(CallbackParameters::Approved { code, state }),
        (Some(_), None, None) => Err(malformed("the `state` is missing")),
        (None, _, None) => Err(malformed("the `code` is missing")),
    }
}

/// A plain sentence for an OAuth error sent back by Calendly.
pub fn describe_oauth_error(error: &str, description: Option<&str>) -> ConnectError {
    let detail = description
        .map(|text| format!(" Calendly said: \u{201c}{text}\u{201d}."))
        .unwrap_or_default();
    match error {
        "access_denied" => ConnectError::OAuthDenied {
            message: format!(
                "You declined to give Advicly access to Calendly, so nothing was connected.{detail} Press Connect again whenever you are ready"
            ),
        },
        "invalid_scope" => ConnectError::OAuthFailed {
            message: format!(
                "Calendly did not grant the permissions Advicly needs (reading your profile, your scheduled events and managing webhooks).{detail} Try connecting again and approve all of them"
            ),
        },
        "server_error" | "temporarily_unavailable" => ConnectError::OAuthFailed {
            message: format!(
                "Calendly could not complete the sign-in right now.{detail} Try connecting again in a few minutes"
            ),
        },
        _ => ConnectError::OAuthFailed {
            message: format!(
                "Calendly could not complete the sign-in (error \u{201c}{error}\u{201d}).{detail} Start connecting again from Advicly"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_redirect_uri_is_accepted_when_configured() {
        let relay = Url::parse("https://relay.example/oauth/callback").unwrap();
        let parsed = parse_callback_url(
            "https://relay.example/oauth/callback?code=abc&state=xyz",
            Some(&relay),
        )
        .expect("the relay's own callback URL carries the same parameters");
        // The parameters are read from the relay URL exactly as from the deep link.
        assert_eq!(
            parsed,
            CallbackParameters::Approved {
                code: "abc".into(),
                state: "xyz".into()
            }
        );
    }

    #[test]
    fn denial_reads_as_a_plain_sentence() {
        let error = describe_oauth_error("access_denied", Some("The user denied access."));
        // The advisor must understand that pressing Deny simply connected nothing.
        assert_eq!(error.code(), "oauth_denied");
        assert!(error.to_string().starts_with("You declined"), "{error}");
    }
}
