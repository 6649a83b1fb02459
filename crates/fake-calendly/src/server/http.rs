//! HTTP plumbing shared by the API and control handlers: Calendly error bodies, a JSON body
//! extractor that never answers outside Calendly's error shape, query parsing and pagination.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// An API error rendered as `{title, message, details?}` (or the insufficient-scope body).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, title: &str, message: &str) -> Self {
        ApiError {
            status,
            body: json!({"title": title, "message": message}),
        }
    }

    /// 400 `Invalid Argument` with one detail naming the bad parameter.
    pub(crate) fn invalid_argument(parameter: &str, message: &str) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({
                "title": "Invalid Argument",
                "message": "The supplied parameters are invalid.",
                "details": [{"parameter": parameter, "message": message}],
            }),
        }
    }

    pub(crate) fn unauthenticated(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthenticated", message)
    }

    pub(crate) fn permission_denied(message: &str) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Permission Denied", message)
    }

    pub(crate) fn not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Resource Not Found",
            "The server could not find the requested resource.",
        )
    }

    pub(crate) fn insufficient_scope(required: &[&str]) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            body: json!({
                "title": "Insufficient scope",
                "message": "This operation requires the scopes listed in the 'required_scopes' array.",
                "required_scopes": required,
            }),
        }
    }

    pub(crate) fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            429 => ApiError::new(
                status,
                "Too Many Requests",
                "You have exceeded the rate limit. Please try again later.",
            ),
            503 => ApiError::new(
                status,
                "Service Unavailable",
                "The server is currently unable to handle the request.",
            ),
            405 => ApiError::new(status, "Method Not Allowed", "This method is not allowed on this resource."),
            413 => ApiError::new(status, "Payload Too Large", "The request body is too large."),
            415 => ApiError::new(status, "Unsupported Media Type", "The request body must be JSON."),
            400 | 422 => ApiError {
                status,
                body: json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid."}),
            },
            401 => ApiError::unauthenticated("The access token is invalid"),
            403 => ApiError::permission_denied("You do not have permission"),
            404 => ApiError::not_found(),
            _ => ApiError::new(
                status,
                "Internal Server Error",
                "The server encountered an unexpected condition that prevented it from fulfilling the request.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Reads a JSON body, mapping every failure (size, syntax, missing fields) to Calendly's error shape.
pub(crate) struct CalendlyJson<T>(pub T);

impl<S, T> FromRequest<S> for CalendlyJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Payload Too Large",
                        "The request body is too large.",
                    )
                } else {
                    ApiError::invalid_argument("body", &rejection.body_text())
                }
            })?;
        parse_json_body(&bytes).map(CalendlyJson)
    }
}

/// Parses a JSON body; an empty body parses as `{}` so optional bodies work.
pub(crate) fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = if bytes.iter().all(|byte| byte.is_ascii_whitespace()) {
        &b"{}"[..]
    } else {
        bytes
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let value: Value = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|error| ApiError::invalid_argument("body", &format!("Malformed JSON: {error}")))?;
    serde_json::from_value(value).map_err(|error| {
        let text = error.to_string();
        let parameter = text
            .split('`')
            .nth(1)
            .map(str::to_string)
            .unwrap_or_else(|| "body".to_string());
        ApiError::invalid_argument(&parameter, &text)
    })
}

/// Query parameters in order, as sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pub pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .map(|(key, value)| (key.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        QueryParams { pairs }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `count`, 1–100, default 20.
    pub(crate) fn count(&self) -> Result<usize, ApiError> {
        match self.get("count") {
            None => Ok(20),
            Some(raw) => match raw.parse::<usize>() {
                Ok(count) if (1..=100).contains(&count) => Ok(count),
                _ => Err(ApiError::invalid_argument(
                    "count",
                    "count must be an integer between 1 and 100",
                )),
            },
        }
    }

    pub(crate) fn time(
        &self,
        name: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
                .map(|time| Some(time.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    ApiError::invalid_argument(name, "must be a valid ISO 8601 UTC date-time")
                }),
        }
    }

    /// A field sort like `start_time:asc`; returns true for descending.
    pub(crate) fn sort_descending(
        &self,
        field: &str,
        default_descending: bool,
    ) -> Result<bool, ApiError> {
        match self.get("sort") {
            None => Ok(default_descending),
            Some(raw) if raw == format!("{field}:asc") => Ok(false),
            Some(raw) if raw == format!("{field}:desc") => Ok(true),
            Some(_) => Err(ApiError::invalid_argument(
                "sort",
                &format!("sort must be {field}:asc or {field}:desc"),
            )),
        }
    }
}

/// A sortable position: (microseconds of the sort field, id).
pub(crate) type SortKey = (i64, String);

#[derive(serde::Serialize, serde::Deserialize)]
struct PageCursor {
    /// "n" = rows after the key, "p" = rows before it.
    d: String,
    k: i64,
    u: String,
}

fn encode_cursor(direction: &str, key: &SortKey) -> String {
    let cursor = PageCursor {
        d: direction.to_string(),
        k: key.0,
        u: key.1.clone(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(token: &str) -> Option<PageCursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let cursor: PageCursor = serde_json::from_slice(&bytes).ok()?;
    (cursor.d == "n" || cursor.d == "p").then_some(cursor)
}

/// One page of a sorted collection plus its `pagination` object.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub pagination: Value,
}

/// Keyset pagination over rows already sorted by `key` in the requested direction.
/// `base_path` is the request path; `query` supplies the other parameters for the page links.
pub(crate) fn paginate<T>(
    rows: Vec<(SortKey, T)>,
    descending: bool,
    query: &QueryParams,
    api_base: &str,
    base_path: &str,
) -> Result<Page<T>, ApiError> {
    let count = query.count()?;
    let after = |key: &SortKey, anchor: &SortKey| {
        if descending {
            key < anchor
        } else {
            key > anchor
        }
    };
    let (start, end) = match query.get("page_token") {
        None => (0, count.min(rows.len())),
        Some(token) => {
            let cursor = decode_cursor(token)
                .ok_or_else(|| ApiError::invalid_argument("page_token", "page_token is invalid"))?;
            let anchor = (cursor.k, cursor.u);
            // Index of the first row after the anchor in the listing order.
            let first_after = rows
                .iter()
                .position(|(key, _)| after(key, &anchor))
                .unwrap_or(rows.len());
            if cursor.d == "n" {
                (first_after, (first_after + count).min(rows.len()))
            } else {
                let first_not_before = rows
                    .iter()
                    .position(|(key, _)| !after(&anchor, key))
                    .unwrap_or(rows.len());
                (first_not_before.saturating_sub(count), first_not_before)
            }
        }
    };
    let has_previous = start > 0;
    let has_next = end < rows.len();
    let first_key = rows.get(start).map(|(key, _)| key.clone());
    let last_key = if end > start {
        rows.get(end - 1).map(|(key, _)| key.clone())
    } else {
        None
    };
    let next_token = match (has_next, &last_key) {
        (true, Some(key)) => Some(encode_cursor("n", key)),
        _ => None,
    };
    let previous_token = match (has_previous, &first_key) {
        (true, Some(key)) => Some(encode_cursor("p", key)),
        _ => None,
    };
    let page_link = |token: &Option<String>| -> Option<String> {
        token.as_ref().and_then(|token| {
            let mut url = url::Url::parse(&format!("{api_base}{base_path}")).ok()?;
            {
                let mut pairs = url.query_pairs_mut();
                for (key, value) in &query.pairs {
                    if key != "page_token" {
                        pairs.append_pair(key, value);
                    }
                }
                pairs.append_pair("page_token", token);
            }
            Some(url.to_string())
        })
    };
    let items: Vec<T> = rows
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(_, item)| item)
        .collect();
    let pagination = json!({
        "count": items.len(),
        "next_page": page_link(&next_token),
        "previous_page": page_link(&previous_token),
        "next_page_token": next_token,
        "previous_page_token": previous_token,
    });
    Ok(Page { items, pagination })
}

#[cfg(test)]
mod tests {
    use super::{paginate, QueryParams, SortKey};

    fn rows(count: usize) -> Vec<(SortKey, usize)> {
        // Pairs of equal sort values force the id to break ties.
        (0..count)
            .map(|index| (((index / 2) as i64, format!("id-{index:03}")), index))
            .collect()
    }

    #[test]
    fn walking_pages_by_token_visits_every_row_once() {
        for count in [0usize, 1, 2, 7, 20] {
            for page_size in [1usize, 3, 20] {
                let mut seen = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let mut query = QueryParams::parse(Some(&format!("count={page_size}")));
                    if let Some(token) = &token {
                        query.pairs.push(("page_token".into(), token.clone()));
                    }
                    let page = paginate(rows(count), false, &query, "http://127.0.0.1:1", "/x")
                        .expect("valid query");
                    seen.extend(page.items);
                    match page.pagination["next_page_token"].as_str() {
                        Some(next) => token = Some(next.to_string()),
                        None => break,
                    }
                }
                assert_eq!(
                    seen,
                    (0..count).collect::<Vec<_>>(),
                    "count={count} page_size={page_size}: every row once, in order"
                );
            }
        }
    }

    #[test]
    fn bad_tokens_and_counts_are_invalid_arguments() {
        for raw in [
            "count=0",
            "count=101",
            "count=x",
            "page_token=not-base64!",
            "page_token=e30",
        ] {
            let error = paginate(
                rows(3),
                false,
                &QueryParams::parse(Some(raw)),
                "http://127.0.0.1:1",
                "/x",
            )
            .err()
            .unwrap_or_else(|| panic!("{raw} must be rejected"));
            assert_eq!(
                error.status,
                axum::http::StatusCode::BAD_REQUEST,
                "{raw} is a 400"
            );
        }
    }
}
