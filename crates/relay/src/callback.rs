//! The `/oauth/callback` bounce page: validates what Calendly sent and forwards it to the app.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use crate::RelayState;

/// Longest `code` the relay forwards (Calendly's are 64 hex characters).
pub const MAX_CODE_LENGTH: usize = 512;
/// Longest `state` the relay forwards (ours are 43 base64url characters).
pub const MAX_STATE_LENGTH: usize = 256;
/// Longest `error` code the relay forwards.
pub const MAX_ERROR_LENGTH: usize = 64;
/// Longest `error_description` the relay forwards.
pub const MAX_ERROR_DESCRIPTION_LENGTH: usize = 1024;
/// A query longer than this is not a callback.
const MAX_QUERY_LENGTH: usize = 4096;

/// Why a callback request cannot be forwarded. The messages are shown on the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRejection {
    #[error("This sign-in link is too long to be a Calendly callback.")]
    TooLong,
    #[error("This sign-in link repeats the parameter `{0}`.")]
    Repeated(&'static str),
    #[error("This sign-in link has an invalid `{0}`.")]
    Invalid(&'static str),
    #[error("This sign-in link has neither an authorization code nor an error.")]
    Incomplete,
}

/// The parameters the relay hands on to the app, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardedCallback {
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

impl ForwardedCallback {
    /// Parses the raw query string. Unknown parameters are dropped (never forwarded); known
    /// parameters may appear at most once and must be printable and within their length limit.
    pub fn parse(query: Option<&str>) -> Result<Self, CallbackRejection> {
        let query = query.unwrap_or("");
        if query.len() > MAX_QUERY_LENGTH {
            return Err(CallbackRejection::TooLong);
        }
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut error_description = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let (slot, name, limit): (&mut Option<String>, &'static str, usize) = match &*name {
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
                return Err(CallbackRejection::Repeated(name));
            }
            let printable = value.chars().all(|character| !character.is_control());
            let token_like = name == "error_description"
                || value
                    .chars()
                    .all(|character| character.is_ascii_graphic() && character != '"');
            if value.is_empty() || value.len() > limit || !printable || !token_like {
                return Err(CallbackRejection::Invalid(name));
            }
            *slot = Some(value.into_owned());
        }
        match (code, state, error) {
            (_, state, Some(error)) => Ok(Self::Failed {
                error,
                error_description,
                state,
            }),
            (Some(code), Some(state), None) => Ok(Self::Approved { code, state }),
            _ => Err(CallbackRejection::Incomplete),
        }
    }

    /// The deep link carrying these parameters, properly encoded.
    pub fn deep_link(&self, base: &Url) -> Url {
        let mut link = base.clone();
        link.set_query(None);
        link.set_fragment(None);
        {
            let mut pairs = link.query_pairs_mut();
            match self {
                Self::Approved { code, state } => {
                    pairs.append_pair("code", code).append_pair("state", state);
                }
                Self::Failed {
                    error,
                    error_description,
                    state,
                } => {
                    pairs.append_pair("error", error);
                    if let Some(description) = error_description {
                        pairs.append_pair("error_description", description);
                    }
                    if let Some(state) = state {
                        pairs.append_pair("state", state);
                    }
                }
            }
        }
        link
    }
}

/// `GET /oauth/callback`: answers with a page that redirects to the app and shows a link to it.
pub(crate) async fn bounce(State(state): State<RelayState>, uri: Uri) -> Response {
    match ForwardedCallback::parse(uri.query()) {
        Ok(forwarded) => {
            let link = forwarded.deep_link(&state.config().deep_link);
            Html(bounce_page(link.as_str())).into_response()
        }
        Err(rejection) => {
            // The reason is safe to log: it names a parameter, never its value.
            tracing::info!(reason = %rejection, "rejected an OAuth callback");
            (
                StatusCode::BAD_REQUEST,
                Html(rejection_page(&rejection.to_string())),
            )
                .into_response()
        }
    }
}

fn bounce_page(link: &str) -> String {
    let link = escape_html(link);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta http-equiv=\"refresh\" content=\"0;url={link}\">\n\
         <title>Back to Advicly</title>\n</head>\n<body>\n\
         <h1>Almost done</h1>\n\
         <p>Your browser should now ask to open Advicly. If nothing happens, use the link below.</p>\n\
         <p><a id=\"open-advicly\" href=\"{link}\">Open Advicly</a></p>\n\
         <p>You can close this tab afterwards.</p>\n</body>\n</html>\n"
    )
}

fn rejection_page(message: &str) -> String {
    let message = escape_html(message);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Sign-in link not usable</title>\n</head>\n<body>\n\
         <h1>This sign-in link cannot be used</h1>\n<p>{message}</p>\n\
         <p>Start connecting again from Advicly.</p>\n</body>\n</html>\n"
    )
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_every_attribute_breaking_character() {
        // The deep link lands inside a double-quoted attribute; none of these may survive.
        assert_eq!(
            escape_html("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&#39;f"
        );
    }
}
