//! Helpers shared by the integration tests: starting a fake, the OAuth dance, API calls,
//! an independent HMAC-SHA256 and a webhook receiver server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use fake_calendly::{FakeCalendly, FakeConfig, FakeHandle, MintTokenRequest};
use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub const REDIRECT_URI: &str = "advicly://oauth/callback";

pub async fn start(config: FakeConfig) -> FakeHandle {
    FakeCalendly::start(config)
        .await
        .expect("the fake starts on loopback port 0")
}

pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client builds")
}

pub fn base(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// A PKCE pair: (verifier, S256 challenge), computed here independently of the fake.
pub fn pkce_pair() -> (String, String) {
    const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut rng = rand::thread_rng();
    let verifier: String = (0..64)
        .map(|_| UNRESERVED[rng.gen_range(0..UNRESERVED.len())] as char)
        .collect();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorize URL with the usual parameters; `overrides` replace or remove (`None`) entries.
pub fn authorize_url(
    fake: &FakeHandle,
    challenge: &str,
    overrides: &[(&str, Option<&str>)],
) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("client_id".into(), "fake-calendly-client-id".into()),
        ("response_type".into(), "code".into()),
        ("redirect_uri".into(), REDIRECT_URI.into()),
        ("code_challenge".into(), challenge.into()),
        ("code_challenge_method".into(), "S256".into()),
        (
            "scope".into(),
            "users:read scheduled_events:read webhooks:read webhooks:write".into(),
        ),
        ("state".into(), "state-123".into()),
    ];
    for (key, value) in overrides {
        params.retain(|(existing, _)| existing != key);
        if let Some(value) = value {
            params.push((key.to_string(), value.to_string()));
        }
    }
    let mut url = fake
        .auth_base_url()
        .join("/oauth/authorize")
        .expect("valid path");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Query pairs of a redirect `Location`.
pub fn location_query(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response
        .headers()
        .get("location")
        .expect("a redirect carries a Location header")
        .to_str()
        .expect("Location is ASCII");
    url::Url::parse(location)
        .expect("Location is an absolute URL")
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

pub fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Runs authorize (auto-approve must be on) and returns `(code, verifier)`.
pub async fn authorize_code(fake: &FakeHandle) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let response = no_redirect_client()
        .get(authorize_url(fake, &challenge, &[]))
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "auto-approve redirects straight back with a code"
    );
    let query = location_query(&response);
    let code = pair(&query, "code")
        .expect("the redirect carries a code")
        .to_string();
    (code, verifier)
}

pub async fn token_request(fake: &FakeHandle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(
            fake.auth_base_url()
                .join("/oauth/token")
                .expect("valid path"),
        )
        .form(form)
        .send()
        .await
        .expect("token endpoint answers");
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn exchange_code(fake: &FakeHandle, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
            ("client_id", "fake-calendly-client-id"),
        ],
    )
    .await
}

pub async fn refresh(fake: &FakeHandle, refresh_token: &str) -> (StatusCode, Value) {
    token_request(
        fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "fake-calendly-client-id"),
        ],
    )
    .await
}

/// A full OAuth login; returns the token response.
pub async fn oauth_tokens(fake: &FakeHandle) -> Value {
    let (code, verifier) = authorize_code(fake).await;
    let (status, body) = exchange_code(fake, &code, &verifier).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a fresh code with the right verifier is exchanged: {body}"
    );
    body
}

/// A legacy full-access personal access token for the default user.
pub async fn full_access_token(fake: &FakeHandle) -> String {
    fake.control()
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .expect("minting a PAT succeeds")
        .token
}

pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// GET a path (relative to the API base) or a full URL with a Bearer token.
pub async fn api_get(fake: &FakeHandle, token: &str, path_or_url: &str) -> ApiResponse {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_string()
    } else {
        format!("{}{path_or_url}", base(&fake.api_base_url()))
    };
    send(reqwest::Client::new().get(url).bearer_auth(token)).await
}

pub async fn api_send_json(
    fake: &FakeHandle,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> ApiResponse {
    let url = format!("{}{path}", base(&fake.api_base_url()));
    send(
        reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token)
            .json(body),
    )
    .await
}

pub async fn send(request: reqwest::RequestBuilder) -> ApiResponse {
    let response = request.send().await.expect("the fake answers");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("the body is readable");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    ApiResponse {
        status,
        headers,
        body,
    }
}

/// HMAC-SHA256 written out from RFC 2104 over `sha2`, independent of the `hmac` crate the fake uses.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = block_key.iter().map(|byte| byte ^ 0x36).collect();
    let outer_pad: Vec<u8> = block_key.iter().map(|byte| byte ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize();
    outer.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One request received by the webhook receiver.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answered: StatusCode,
}

impl ReceivedWebhook {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("deliveries are JSON")
    }
}

/// A webhook receiver on loopback: answers 500 to the first `failures` requests, then 200
/// (`u32::MAX` = always fail). Every request is also sent down a channel.
pub struct Receiver {
    pub url: String,
    pub received: mpsc::UnboundedReceiver<ReceivedWebhook>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(failures: u32) -> Receiver {
        Receiver::start_with(failures, 0).await
    }

    /// Like `start`, but the first `hangs` requests never get an answer (for timeout tests).
    pub async fn start_with(failures: u32, hangs: u32) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let address = listener.local_addr().expect("receiver address");
        let (sender, received) = mpsc::unbounded_channel();
        let seen = Arc::new(AtomicU32::new(0));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let sender = sender.clone();
                let seen = seen.clone();
                async move {
                    let index = seen.fetch_add(1, Ordering::SeqCst);
                    if index < hangs {
                        let _ = sender.send(ReceivedWebhook {
                            headers,
                            body,
                            answered: StatusCode::REQUEST_TIMEOUT,
                        });
                        return std::future::pending::<StatusCode>().await;
                    }
                    let answered = if index < failures {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    let _ = sender.send(ReceivedWebhook {
                        headers,
                        body,
                        answered,
                    });
                    answered
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{address}/hook"),
            received,
            _server: server,
        }
    }

    /// The next request, waiting at most five seconds.
    pub async fn next(&mut self) -> ReceivedWebhook {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a delivery arrives within five seconds")
            .expect("the receiver is still running")
    }
}

/// Creates a webhook subscription through the public API; returns its URI.
pub async fn subscribe(fake: &FakeHandle, token: &str, url: &str, events: &[&str]) -> String {
    let user = fake.default_user().clone();
    let response = api_send_json(
        fake,
        token,
        reqwest::Method::POST,
        "/webhook_subscriptions",
        &serde_json::json!({
            "url": url,
            "events": events,
            "organization": user.organization_uri,
            "user": user.user_uri,
            "scope": "user",
            "signing_key": "test-signing-key",
        }),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "creating a subscription succeeds: {}",
        response.body
    );
    response.body["resource"]["uri"]
        .as_str()
        .expect("the subscription has a uri")
        .to_string()
}

pub fn booking(start_in_hours: i64, name: &str, email: &str) -> fake_calendly::BookingRequest {
    fake_calendly::BookingRequest {
        host_user_uri: None,
        event_type_uri: None,
        event_name: None,
        start_time: chrono::Utc::now() + chrono::Duration::hours(start_in_hours),
        duration_minutes: None,
        invitees: vec![fake_calendly::InviteeSpec {
            name: name.to_string(),
            email: email.to_string(),
            questions_and_answers: vec![fake_calendly::QuestionAnswer {
                question: "What would you like to discuss?".to_string(),
                answer: "My pension".to_string(),
            }],
            ..Default::default()
        }],
        location: None,
        invitee_limit: None,
    }
}
