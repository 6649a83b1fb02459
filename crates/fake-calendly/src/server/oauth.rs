//! The OAuth server (the `auth.calendly.com` stand-in): authorize with PKCE and a consent page,
//! token (authorization code, rotating refresh tokens), revoke and introspect.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::http::QueryParams;
use super::model::{
    count_in_window, AccessToken, AuthorizationCode, Model, PendingConsent, RefreshToken,
    TokenKind, KNOWN_SCOPES,
};
use super::AppState;
use crate::control_model::ConsentMode;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/authorize/decision", post(decision))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
}

/// An OAuth error answer: `{"error", "error_description"}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A plain HTML page for errors that must not redirect (unknown client, unregistered redirect URI).
fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><title>Calendly (fake) - error</title></head><body><h1>Authorization error</h1><p>{}</p></body></html>",
        html_escape(message)
    );
    (status, Html(body)).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A registered redirect URI matches exactly; a loopback http one also matches on any port (RFC 8252 §7.3).
pub(crate) fn redirect_uri_registered(registered: &[String], candidate: &str) -> bool {
    if registered.iter().any(|uri| uri == candidate) {
        return true;
    }
    let Ok(candidate_url) = url::Url::parse(candidate) else {
        return false;
    };
    let is_loopback = |url: &url::Url| {
        url.scheme() == "http"
            && matches!(
                url.host_str(),
                Some("127.0.0.1") | Some("localhost") | Some("[::1]")
            )
    };
    if !is_loopback(&candidate_url) {
        return false;
    }
    registered.iter().any(|uri| {
        url::Url::parse(uri).is_ok_and(|mut registered_url| {
            if !is_loopback(&registered_url) {
                return false;
            }
            let _ = registered_url.set_port(candidate_url.port());
            registered_url.as_str() == candidate_url.as_str()
        })
    })
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not a valid URL.",
            )
        }
    };
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    // Calendly answers authorize with 302 Found.
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn parse_scopes(raw: Option<&str>) -> Result<Option<Vec<String>>, String> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let scopes: Vec<String> = raw.split_whitespace().map(str::to_string).collect();
    if scopes.len() == 1 && scopes[0] == "default" {
        return Ok(None);
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|scope| !KNOWN_SCOPES.contains(&scope.as_str()))
    {
        return Err(format!("The scope {unknown} is not a known scope."));
    }
    Ok(Some(scopes))
}

pub(crate) fn scope_string(scopes: &Option<Vec<String>>) -> String {
    scopes
        .as_ref()
        .map(|scopes| scopes.join(" "))
        .unwrap_or_else(|| "default".to_string())
}

fn issue_code(
    model: &mut Model,
    consent: &PendingConsent,
    client_id: &str,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> String {
    let code = random_hex(32);
    model.codes.insert(
        code.clone(),
        AuthorizationCode {
            client_id: client_id.to_string(),
            redirect_uri: consent.redirect_uri.clone(),
            code_challenge: consent.code_challenge.clone(),
            scopes: consent.scopes.clone(),
            user_uuid: consent.user_uuid.clone(),
            expires_at: now + lifetime,
            used: false,
        },
    );
    code
}

async fn authorize(State(shared): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = QueryParams::parse(raw.as_deref());
    let now = shared.clock.now();
    let code_lifetime = Duration::from_std(shared.config.authorization_code_lifetime)
        .unwrap_or(Duration::minutes(10));
    let mut model = shared.model();
    // Without a known client and a registered redirect URI we must not redirect anywhere.
    match query.get("client_id") {
        Some(client_id) if client_id == model.client_id => {}
        Some(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The client_id is not a registered application (invalid_client).",
            )
        }
        None => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The client_id parameter is missing (invalid_request).",
            )
        }
    }
    let Some(redirect_uri) = query.get("redirect_uri").map(str::to_string) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri parameter is missing (invalid_request).",
        );
    };
    if !redirect_uri_registered(&model.redirect_uris, &redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is not registered for this application (invalid_request).",
        );
    }
    let state = query.get("state").map(str::to_string);
    let fail = |error: &str, description: &str| {
        redirect_with(
            &redirect_uri,
            &[("error", error), ("error_description", description)],
            state.as_deref(),
        )
    };
    if query.get("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code.");
    }
    let Some(code_challenge) = query
        .get("code_challenge")
        .filter(|value| !value.is_empty())
    else {
        return fail("invalid_request", "code_challenge is required (PKCE).");
    };
    if query.get("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256.");
    }
    let decoded_length = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(code_challenge)
        .map(|bytes| bytes.len())
        .unwrap_or(0);
    if decoded_length != 32 {
        return fail(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier.",
        );
    }
    let scopes = match parse_scopes(query.get("scope")) {
        Ok(scopes) => scopes,
        Err(message) => return fail("invalid_scope", &message),
    };
    let consent = PendingConsent {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        code_challenge: code_challenge.to_string(),
        scopes,
        user_uuid: model.authorizing_user_uuid.clone(),
    };
    match model.consent_mode {
        ConsentMode::AutoApprove => {
            let client_id = model.client_id.clone();
            let code = issue_code(&mut model, &consent, &client_id, now, code_lifetime);
            redirect_with(&redirect_uri, &[("code", &code)], state.as_deref())
        }
        ConsentMode::AutoDeny => fail("access_denied", "The user denied access."),
        ConsentMode::Ask => {
            let consent_id = random_hex(16);
            let user_name = model
                .user(&consent.user_uuid)
                .map(|user| format!("{} ({})", user.name, user.email))
                .unwrap_or_default();
            let scope_text = scope_string(&consent.scopes);
            model.pending_consents.insert(consent_id.clone(), consent);
            let page = format!(
                r#"<!doctype html><html><head><meta charset="utf-8"><title>Calendly (fake) - authorize</title></head>
<body><h1>Allow access to your Calendly account?</h1>
<p>Signed in as <strong>{user}</strong>. The app <code>{client}</code> asks for: <code>{scopes}</code>.</p>
<form method="post" action="/oauth/authorize/decision">
<input type="hidden" name="consent_id" value="{consent_id}">
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>"#,
                user = html_escape(&user_name),
                client = html_escape(&model.client_id),
                scopes = html_escape(&scope_text),
            );
            Html(page).into_response()
        }
    }
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn form_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn decision(State(shared): State<AppState>, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let now = shared.clock.now();
    let code_lifetime = Duration::from_std(shared.config.authorization_code_lifetime)
        .unwrap_or(Duration::minutes(10));
    let mut model = shared.model();
    let Some(consent) =
        form_get(&pairs, "consent_id").and_then(|id| model.pending_consents.remove(id))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This authorization request is unknown or was already answered.",
        );
    };
    if form_get(&pairs, "decision") == Some("approve") {
        let client_id = model.client_id.clone();
        let code = issue_code(&mut model, &consent, &client_id, now, code_lifetime);
        redirect_with(
            &consent.redirect_uri,
            &[("code", &code)],
            consent.state.as_deref(),
        )
    } else {
        redirect_with(
            &consent.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied access."),
            ],
            consent.state.as_deref(),
        )
    }
}

/// The client id from the form body or HTTP Basic auth; `Err` is the response to send.
#[allow(clippy::result_large_err)]
fn client_id_of(
    headers: &HeaderMap,
    pairs: &[(String, String)],
    registered: &str,
) -> Result<String, Response> {
    let from_basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| {
            text.split_once(':')
                .map(|(id, _)| id.to_string())
                .unwrap_or(text)
        });
    let client_id = form_get(pairs, "client_id")
        .map(str::to_string)
        .or(from_basic);
    match client_id {
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required.",
        )),
        Some(id) if id == registered => Ok(id),
        Some(_) => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        )),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An access token shaped like Calendly's (an HS256 JWT); clients must treat it as opaque.
fn jwt_access_token(
    signing_key: &[u8],
    auth_base: &str,
    user_uuid: &str,
    client_id: &str,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> String {
    let header = base64url(br#"{"alg":"HS256"}"#);
    let claims = json!({
        "iss": auth_base,
        "iat": issued.timestamp(),
        "jti": uuid::Uuid::new_v4().to_string(),
        "user_uuid": user_uuid,
        "app_uid": client_id,
        "exp": expires.timestamp(),
    });
    let payload = base64url(claims.to_string().as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("HMAC accepts any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        base64url(&mac.finalize().into_bytes())
    )
}

fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'))
}

async fn token(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let grant_type = form_get(&pairs, "grant_type").unwrap_or("").to_string();
    let now = shared.clock.now();
    let mut model = shared.model();
    model.stats.token_requests += 1;
    let grant_key = if grant_type.is_empty() {
        "(missing)".to_string()
    } else {
        grant_type.clone()
    };
    *model
        .stats
        .token_requests_by_grant
        .entry(grant_key)
        .or_insert(0) += 1;
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    let client_id = match client_id_of(&headers, &pairs, &model.client_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    // Work out which user the request is for, so the per-user limit can be applied first.
    let (user_uuid, scopes, grant_id) = match grant_type.as_str() {
        "authorization_code" => {
            let Some(code_value) = form_get(&pairs, "code") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required.",
                );
            };
            let Some(code) = model.codes.get(code_value).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code is invalid.",
                );
            };
            if let Some(response) = token_rate_limit(&mut model, &code.user_uuid, now) {
                return response;
            }
            if code.used {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code was already used.",
                );
            }
            // A presented code is spent whatever happens next, so a failed exchange cannot be retried.
            if let Some(stored) = model.codes.get_mut(code_value) {
                stored.used = true;
            }
            if code.expires_at <= now {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code has expired.",
                );
            }
            if code.client_id != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code was issued to another client.",
                );
            }
            if form_get(&pairs, "redirect_uri") != Some(code.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The redirect_uri does not match the one used to authorize.",
                );
            }
            let Some(verifier) = form_get(&pairs, "code_verifier") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code_verifier is required.",
                );
            };
            if !verifier_is_well_formed(verifier) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The code_verifier is malformed.",
                );
            }
            if base64url(&Sha256::digest(verifier.as_bytes())) != code.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The code_verifier does not match the code_challenge.",
                );
            }
            model.next_grant_id += 1;
            (code.user_uuid, code.scopes, model.next_grant_id)
        }
        "refresh_token" => {
            let Some(refresh_value) = form_get(&pairs, "refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required.",
                );
            };
            let Some(refresh) = model.refresh_tokens.get(refresh_value).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid.",
                );
            };
            if let Some(response) = token_rate_limit(&mut model, &refresh.user_uuid, now) {
                return response;
            }
            if refresh.used || refresh.revoked {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid or was already used.",
                );
            }
            if let Some(stored) = model.refresh_tokens.get_mut(refresh_value) {
                stored.used = true;
            }
            (refresh.user_uuid, refresh.scopes, refresh.grant_id)
        }
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required.",
            )
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            )
        }
    };
    let Some(user) = model.user(&user_uuid).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The user no longer exists.",
        );
    };
    let lifetime =
        Duration::from_std(shared.config.access_token_lifetime).unwrap_or(Duration::hours(2));
    let expires_at = now + lifetime;
    let access_token = jwt_access_token(
        &shared.token_signing_key,
        &shared.auth_base,
        &user.uuid,
        &client_id,
        now,
        expires_at,
    );
    let refresh_token = random_hex(32);
    model.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            user_uuid: user.uuid.clone(),
            scopes: scopes.clone(),
            issued_at: now,
            expires_at: Some(expires_at),
            revoked: false,
            kind: TokenKind::OAuth { grant_id },
        },
    );
    model.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken {
            user_uuid: user.uuid.clone(),
            scopes: scopes.clone(),
            grant_id,
            issued_at: now,
            used: false,
            revoked: false,
        },
    );
    Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.num_seconds(),
        "created_at": now.timestamp(),
        "refresh_token": refresh_token,
        "access_token": access_token,
        "scope": scope_string(&scopes),
        "owner": model.user_uri(&user.uuid),
        "organization": model.organization_uri(&user.organization_uuid),
    }))
    .into_response()
}

/// 429 once a user made more token requests this minute than allowed.
fn token_rate_limit(model: &mut Model, user_uuid: &str, now: DateTime<Utc>) -> Option<Response> {
    let limit = model.token_requests_per_minute;
    let decision = count_in_window(&mut model.token_windows, user_uuid, limit, now);
    if decision.allowed {
        return None;
    }
    let mut response = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many token requests for this user; try again in a minute.",
    );
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", decision.limit.into());
    headers.insert("x-ratelimit-remaining", 0.into());
    headers.insert("x-ratelimit-reset", decision.reset_seconds.into());
    Some(response)
}

async fn revoke(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let mut model = shared.model();
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    if let Err(response) = client_id_of(&headers, &pairs, &model.client_id) {
        return response;
    }
    let Some(token) = form_get(&pairs, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required.",
        );
    };
    if let Some(access) = model.access_tokens.get_mut(token) {
        access.revoked = true;
    } else if let Some(refresh) = model.refresh_tokens.get_mut(token) {
        refresh.revoked = true;
        let grant_id = refresh.grant_id;
        // Revoking a refresh token also ends the access tokens of the same grant (RFC 7009 §2.1).
        for access in model.access_tokens.values_mut() {
            if matches!(access.kind, TokenKind::OAuth { grant_id: id } if id == grant_id) {
                access.revoked = true;
            }
        }
    }
    // Unknown tokens also answer 200 (RFC 7009 §2.2).
    Json(json!({})).into_response()
}

async fn introspect(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let now = shared.clock.now();
    let model = shared.model();
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    let client_id = match client_id_of(&headers, &pairs, &model.client_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Some(token) = form_get(&pairs, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required.",
        );
    };
    let describe = |user_uuid: &str,
                    scopes: &Option<Vec<String>>,
                    issued: DateTime<Utc>,
                    expires: Option<DateTime<Utc>>|
     -> Value {
        let organization = model
            .user(user_uuid)
            .map(|user| model.organization_uri(&user.organization_uuid));
        let mut value = json!({
            "active": true,
            "scope": scope_string(scopes),
            "client_id": client_id,
            "token_type": "Bearer",
            "iat": issued.timestamp(),
            "owner": model.user_uri(user_uuid),
            "organization": organization,
        });
        if let Some(expires) = expires {
            value["exp"] = json!(expires.timestamp());
        }
        value
    };
    let answer = if let Some(access) = model.access_tokens.get(token) {
        let active = !access.revoked && access.expires_at.is_none_or(|expires| expires > now);
        if active {
            describe(
                &access.user_uuid,
                &access.scopes,
                access.issued_at,
                access.expires_at,
            )
        } else {
            json!({"active": false})
        }
    } else if let Some(refresh) = model.refresh_tokens.get(token) {
        if !refresh.used && !refresh.revoked {
            describe(&refresh.user_uuid, &refresh.scopes, refresh.issued_at, None)
        } else {
            json!({"active": false})
        }
    } else {
        json!({"active": false})
    };
    Json(answer).into_response()
}

#[cfg(test)]
mod tests {
    use super::redirect_uri_registered;
    use rstest::rstest;

    #[rstest]
    #[case::exact_custom_scheme("advicly://oauth/callback", true)]
    #[case::loopback_any_port("http://127.0.0.1:61234/oauth/callback", true)]
    #[case::loopback_default_port("http://127.0.0.1/oauth/callback", true)]
    #[case::loopback_other_path("http://127.0.0.1:61234/other", false)]
    #[case::loopback_extra_query("http://127.0.0.1:61234/oauth/callback?x=1", false)]
    #[case::https_other_host("https://127.0.0.1.example/oauth/callback", false)]
    #[case::custom_scheme_other_path("advicly://oauth/other", false)]
    #[case::not_a_url("not a url", false)]
    fn redirect_uris_match_exactly_or_on_any_loopback_port(
        #[case] candidate: &str,
        #[case] expected: bool,
    ) {
        let registered = vec![
            "advicly://oauth/callback".to_string(),
            "http://127.0.0.1/oauth/callback".to_string(),
        ];
        assert_eq!(
            redirect_uri_registered(&registered, candidate),
            expected,
            "{candidate} matching must be {expected}"
        );
    }
}
