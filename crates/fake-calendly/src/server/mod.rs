//! The servers behind a fake: shared state, router assembly, middleware (faults, latency,
//! authentication, rate limits, counters) and a connection loop that can drop connections on purpose.

mod api;
mod clock;
mod control;
mod delivery;
mod http;
mod model;
mod oauth;
mod operations;
mod render;
mod seed;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;
use url::Url;

use crate::config::FakeConfig;
use crate::control_model::{ConsentMode, FaultKind, Stats, UserInfo};
use crate::error::FakeError;
use crate::tokio_util_free::ShutdownSignal;
use crate::FakeHandle;

use self::clock::Clock;
use self::http::ApiError;
use self::model::{count_in_window, take_fault, AccessToken, Model};

/// State shared by every handler and the delivery task.
pub(crate) struct Shared {
    pub config: FakeConfig,
    pub api_base: String,
    pub auth_base: String,
    pub clock: Clock,
    model: Mutex<Model>,
    pub delivery_wakeup: Notify,
    pub delivery_client: reqwest::Client,
    /// Key for the HS256 signature on access tokens (they look like Calendly's JWTs).
    pub token_signing_key: [u8; 32],
}

impl Shared {
    /// Locks the model; a panicked holder cannot leave it half-written in a way we care about.
    pub(crate) fn model(&self) -> MutexGuard<'_, Model> {
        self.model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) type AppState = Arc<Shared>;

/// Lets a handler close the client's connection without answering.
#[derive(Clone)]
struct ConnectionKiller(Arc<Notify>);

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user_uuid: String,
    pub organization_uuid: String,
    pub is_owner: bool,
    pub token: AccessToken,
}

impl Caller {
    /// 403 with `required_scopes` unless the token grants every scope (a `:write` implies `:read`).
    pub(crate) fn require(&self, required: &[&str]) -> Result<(), ApiError> {
        let Some(granted) = &self.token.scopes else {
            return Ok(());
        };
        let grants = |scope: &str| {
            granted.iter().any(|have| {
                have == scope
                    || scope
                        .strip_suffix(":read")
                        .is_some_and(|area| have.strip_suffix(":write") == Some(area))
            })
        };
        if required.iter().all(|scope| grants(scope)) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope(required))
        }
    }
}

pub(crate) async fn start(config: FakeConfig) -> Result<FakeHandle, FakeError> {
    if config.client_id.trim().is_empty() {
        return Err(FakeError::InvalidConfig(
            "client_id must not be empty".to_string(),
        ));
    }
    if config.rate_limit_per_minute == 0 || config.token_requests_per_minute == 0 {
        return Err(FakeError::InvalidConfig(
            "rate limits must be at least 1 per minute".to_string(),
        ));
    }
    let bind = |which: &'static str, address| async move {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| FakeError::Bind {
                which,
                address,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| FakeError::Bind {
            which,
            address,
            source,
        })?;
        Ok::<_, FakeError>((listener, local))
    };
    let (api_listener, api_address) = bind("API", config.listen_api).await?;
    let (auth_listener, auth_address) = bind("OAuth", config.listen_auth).await?;
    let api_base = format!("http://{api_address}");
    let auth_base = format!("http://{auth_address}");

    let clock = Clock::default();
    let now = clock.now();
    let mut model = seed::initial_model(&config, &api_base, now);
    if config.seed_events > 0 {
        let range = config
            .seed_range
            .unwrap_or_else(|| seed::default_range(now));
        let default_user = model.default_user_uuid.clone();
        seed::seed_events(
            &mut model,
            &default_user,
            config.seed_events,
            config.seed,
            range.start,
            range.end,
            now,
        )
        .map_err(|error| FakeError::InvalidConfig(error.body.to_string()))?;
    }
    let default_user = user_info(&model, &model.default_user_uuid.clone());

    let delivery_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.delivery_timeout)
        .connect_timeout(
            config
                .delivery_timeout
                .min(std::time::Duration::from_secs(10)),
        )
        .build()
        .map_err(|error| {
            FakeError::InvalidConfig(format!("cannot build the delivery HTTP client: {error}"))
        })?;
    let mut token_signing_key = [0u8; 32];
    rand::rngs::StdRng::from_entropy().fill(&mut token_signing_key);
    let shared = Arc::new(Shared {
        config,
        api_base: api_base.clone(),
        auth_base: auth_base.clone(),
        clock,
        model: Mutex::new(model),
        delivery_wakeup: Notify::new(),
        delivery_client,
        token_signing_key,
    });

    let shutdown = ShutdownSignal::new();
    let api_router = api_router(shared.clone());
    let auth_router = auth_router(shared.clone());
    let tasks = vec![
        tokio::spawn(serve(api_listener, api_router, shutdown.clone())),
        tokio::spawn(serve(auth_listener, auth_router, shutdown.clone())),
        tokio::spawn(delivery::run(shared.clone(), shutdown.clone())),
    ];
    Ok(FakeHandle {
        api_base_url: Url::parse(&api_base).expect("a socket address forms a valid URL"),
        auth_base_url: Url::parse(&auth_base).expect("a socket address forms a valid URL"),
        api_address,
        auth_address,
        default_user,
        shutdown,
        tasks,
    })
}

pub(crate) fn user_info(model: &Model, user_uuid: &str) -> UserInfo {
    let user = model
        .user(user_uuid)
        .cloned()
        .expect("user_info is called with a known user");
    UserInfo {
        user_uri: model.user_uri(&user.uuid),
        user_uuid: user.uuid.clone(),
        organization_uri: model.organization_uri(&user.organization_uuid),
        name: user.name,
        email: user.email,
        timezone: user.timezone,
    }
}

fn api_router(shared: AppState) -> Router {
    let limit = shared.config.max_body_bytes;
    let calendly = api::routes()
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            authenticate_and_limit,
        ))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                "This method is not allowed on this resource.",
            )
        });
    Router::new()
        .merge(calendly)
        .nest("/_control", control::routes())
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            faults_and_latency,
        ))
        .layer(middleware::from_fn(normalize_error_bodies))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(shared)
}

fn auth_router(shared: AppState) -> Router {
    let limit = shared.config.max_body_bytes;
    oauth::routes()
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "not_found", "error_description": "No such endpoint."}))) })
        .layer(middleware::from_fn(normalize_error_bodies))
        .layer(middleware::from_fn_with_state(shared.clone(), faults_and_latency))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(shared)
}

/// Rewrites error answers that axum produced as plain text (extractor rejections such as a bad
/// path segment or an oversized body) into the error shape of the listener: Calendly's
/// `{title, message}` on the API, `{error, error_description}` on the OAuth server.
async fn normalize_error_bodies(request: Request, next: Next) -> Response {
    let oauth = request.uri().path().starts_with("/oauth");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let mut rewritten = if oauth {
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            "rate_limited"
        } else if status.is_server_error() {
            "server_error"
        } else {
            "invalid_request"
        };
        let description = if text.is_empty() {
            status.canonical_reason().unwrap_or("Error").to_string()
        } else {
            text
        };
        (
            status,
            axum::Json(serde_json::json!({"error": error, "error_description": description})),
        )
            .into_response()
    } else {
        let mut error = ApiError::from_status(status);
        if !text.is_empty() {
            error.body["message"] = serde_json::Value::String(text);
        }
        error.into_response()
    };
    for (name, value) in parts.headers.iter() {
        if name.as_str().starts_with("x-ratelimit") {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// Applies injected faults and configured latency to every non-control request.
async fn faults_and_latency(
    State(shared): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_control") {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_string();
    let fault = {
        let now = shared.clock.now();
        let mut model = shared.model();
        let token_valid = bearer_token(request.headers())
            .and_then(|token| model.access_tokens.get(&token))
            .is_some_and(|token| !token.revoked && token.expires_at.is_none_or(|at| at > now));
        take_fault(&mut model.faults, &path, &method, false, token_valid)
    };
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Latency { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = if path.starts_with("/oauth") {
                (status, axum::Json(serde_json::json!({"error": "server_error", "error_description": "Injected fault."}))).into_response()
            } else {
                ApiError::from_status(status).into_response()
            };
            if status == StatusCode::TOO_MANY_REQUESTS {
                let headers = response.headers_mut();
                let limit = shared.model().rate_limit_per_minute;
                headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
                headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
                headers.insert("x-ratelimit-reset", HeaderValue::from(60));
            }
            response
        }
        Some(FaultKind::Forbidden { message }) => {
            ApiError::permission_denied(&message).into_response()
        }
        Some(FaultKind::ExpireAccessToken) => {
            if let Some(token) = bearer_token(request.headers()) {
                let expired_at = shared.clock.now() - chrono::Duration::seconds(1);
                if let Some(stored) = shared.model().access_tokens.get_mut(&token) {
                    stored.expires_at = Some(expired_at);
                }
            }
            next.run(request).await
        }
        // Listing faults are taken by the list handler, never here.
        Some(FaultKind::OmitFirstListed | FaultKind::RepeatPageToken) => next.run(request).await,
        Some(FaultKind::DropConnection) => {
            if let Some(killer) = request.extensions().get::<ConnectionKiller>() {
                killer.0.notify_one();
            }
            // The connection task drops this connection; this response is never written.
            std::future::pending::<Response>().await
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn rate_headers(response: &mut Response, limit: u32, remaining: u32, reset_seconds: i64) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset_seconds));
}

/// Checks the Bearer token, counts the request against the user's window, and counts calls per route.
async fn authenticate_and_limit(
    State(shared): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let key = format!("{} {}", request.method(), route);
    let now = shared.clock.now();
    let token = bearer_token(request.headers());
    let (outcome, limit) = {
        let mut model = shared.model();
        *model.stats.api_calls.entry(key).or_insert(0) += 1;
        let limit = model.rate_limit_per_minute;
        let outcome = match token
            .as_deref()
            .map(|token| (token, model.access_tokens.get(token).cloned()))
        {
            None => Err(ApiError::unauthenticated("The access token is invalid")),
            Some((_, None)) => Err(ApiError::unauthenticated("The access token is invalid")),
            Some((_, Some(token))) if token.revoked => {
                Err(ApiError::unauthenticated("The access token is invalid"))
            }
            Some((_, Some(token))) if token.expires_at.is_some_and(|expires| expires <= now) => {
                Err(ApiError::unauthenticated("The access token is expired"))
            }
            Some((_, Some(token))) => match model.user(&token.user_uuid).cloned() {
                None => Err(ApiError::unauthenticated("The access token is invalid")),
                Some(user) => {
                    let decision = count_in_window(&mut model.api_windows, &user.uuid, limit, now);
                    Ok((
                        Caller {
                            user_uuid: user.uuid.clone(),
                            organization_uuid: user.organization_uuid.clone(),
                            is_owner: user.is_owner,
                            token,
                        },
                        decision,
                    ))
                }
            },
        };
        (outcome, limit)
    };
    match outcome {
        Err(error) => {
            // Unauthenticated requests are not counted against any user; the headers still appear.
            let mut response = error.into_response();
            rate_headers(&mut response, limit, limit, 60);
            response
        }
        Ok((_, decision)) if !decision.allowed => {
            let mut response = ApiError::from_status(StatusCode::TOO_MANY_REQUESTS).into_response();
            rate_headers(&mut response, decision.limit, 0, decision.reset_seconds);
            response
        }
        Ok((caller, decision)) => {
            request.extensions_mut().insert(caller);
            let mut response = next.run(request).await;
            rate_headers(
                &mut response,
                decision.limit,
                decision.remaining,
                decision.reset_seconds,
            );
            response
        }
    }
}

/// Accepts connections until shutdown; each connection can be dropped by a `DropConnection` fault.
async fn serve(listener: TcpListener, router: Router, shutdown: ShutdownSignal) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.triggered() => break,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let killer = Arc::new(Notify::new());
            let killer_for_requests = killer.clone();
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectionKiller(killer_for_requests.clone()));
                    router.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = killer.notified() => {}
                () = shutdown.triggered() => {}
            }
        });
    }
}

/// Builds a fresh model-level stats value (used by reset).
pub(crate) fn empty_stats() -> Stats {
    Stats {
        token_requests: 0,
        token_requests_by_grant: BTreeMap::new(),
        api_calls: BTreeMap::new(),
    }
}

/// Default consent mode for a config.
pub(crate) fn consent_mode_for(config: &FakeConfig) -> ConsentMode {
    if config.auto_approve {
        ConsentMode::AutoApprove
    } else {
        ConsentMode::Ask
    }
}
