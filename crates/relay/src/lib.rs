//! The relay server: durable webhook channels for laptops without an inbound port, and the HTTPS
//! OAuth callback bounce page.
//!
//! Calendly posts each webhook delivery to `POST /hooks/{channel_id}`; the relay answers 2xx only
//! once the raw delivery is committed, keeps it until the app acknowledges it, and serves it as
//! Server-Sent Events at `GET /v1/channels/{channel_id}/events`, resumable by `Last-Event-ID`.
//! The protocol is in `docs/relay-protocol.md`; its wire types are in `advicly-relay-protocol`.
//! The relay never parses or trusts a body and never logs a body, a token, a signature or a
//! query string.
//!
//! The bounce page: Calendly redirects the advisor's browser to
//! `https://<relay>/oauth/callback?code=…&state=…`, and the relay hands `code` and `state` (or
//! `error` and `error_description`) on to `advicly://oauth/callback` with a meta-refresh redirect
//! and a visible "Open Advicly" link. It sets no cookies and forbids caching, referrers and active
//! content.
//!
//! To run a relay inside another program (the app's demo mode, tests), use [`start_embedded`]
//! or [`start`]; they bind the listener, serve, and return a [`RunningRelay`] with the base URL
//! and a shutdown handle. [`router`] and [`serve`] are the pieces underneath.

mod api;
mod callback;
mod config;
mod events;
pub mod metrics;
mod rate_limit;
mod server;
pub mod signature;
pub mod store;
mod stream_transport;
mod token;
pub mod wake;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::sync::watch;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use url::Url;

pub use api::ApiError;
pub use callback::{CallbackRejection, ForwardedCallback, MAX_CODE_LENGTH, MAX_STATE_LENGTH};
pub use config::{CreationRateLimit, Database, RelayConfig};
pub use server::{serve, start, start_embedded, RelayOptions, RunningRelay};
pub use signature::SigningKey;
pub use store::{ChannelCaps, Store};

/// The deep link the desktop app registers; the bounce page forwards to it.
pub const DEFAULT_DEEP_LINK: &str = "advicly://oauth/callback";

/// The bounce page's path; on the public URL it is the OAuth redirect URI registered at Calendly.
pub const OAUTH_CALLBACK_PATH: &str = "/oauth/callback";

/// The Content-Security-Policy every response carries: no scripts, styles, images, frames,
/// forms or base changes. The page is plain HTML with one link and a meta refresh.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Errors the relay library reports to its caller.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the relay deep link must be an absolute non-HTTP URL such as advicly://oauth/callback, got {0}")]
    InvalidDeepLink(String),
    #[error("the relay's public URL must be an http(s) URL, got {0}")]
    InvalidPublicUrl(String),
    #[error("the relay's public URL must not carry a user name or password")]
    PublicUrlWithCredentials,
    #[error("the per-channel byte cap ({cap} bytes) must hold at least one maximal body ({body_limit} bytes)")]
    CapBelowBodyLimit { cap: u64, body_limit: usize },
    #[error("the relay could not listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the relay could not serve on its listener: {0}")]
    Serve(#[from] std::io::Error),
    #[error("the relay's store could not be opened: {0}")]
    Store(#[from] store::StoreError),
    #[error("this build of the relay has no PostgreSQL support (its `postgres` feature is off)")]
    PostgresNotBuilt,
}

/// Shared state of the relay application: configuration, store, wake-ups and the shutdown flag.
#[derive(Clone, Debug)]
pub struct RelayState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: RelayConfig,
    store: Arc<dyn Store>,
    wakeups: Arc<wake::Wakeups>,
    subscribers: AtomicUsize,
    shutdown: watch::Sender<bool>,
    creation_limiter: rate_limit::CreationLimiter,
}

impl RelayState {
    /// A relay whose channels live in memory only (nothing survives the process). For the bounce
    /// page on its own and for tests; a real relay uses [`start`] with a durable [`Database`].
    pub fn new(config: RelayConfig) -> Result<Self, RelayError> {
        let store = Arc::new(store::memory::MemoryStore::new(config.caps));
        Self::with_store(config, store)
    }

    /// A relay on the given store. Checks the configuration once, so handlers never meet a bad
    /// deep link or public URL.
    pub fn with_store(config: RelayConfig, store: Arc<dyn Store>) -> Result<Self, RelayError> {
        let scheme = config.deep_link.scheme();
        if scheme == "http" || scheme == "https" || config.deep_link.cannot_be_a_base() {
            return Err(RelayError::InvalidDeepLink(config.deep_link.to_string()));
        }
        if let Some(public_url) = &config.public_url {
            if !matches!(public_url.scheme(), "http" | "https") || public_url.cannot_be_a_base() {
                return Err(RelayError::InvalidPublicUrl(public_url.to_string()));
            }
            // It is given to Calendly in every ingress URL and logged at start-up.
            if !public_url.username().is_empty() || public_url.password().is_some() {
                return Err(RelayError::PublicUrlWithCredentials);
            }
        }
        if config.caps.max_pending_bytes < config.body_limit_bytes as u64 {
            return Err(RelayError::CapBelowBodyLimit {
                cap: config.caps.max_pending_bytes,
                body_limit: config.body_limit_bytes,
            });
        }
        let mut config = config;
        if let Some(public_url) = config.public_url.as_mut() {
            normalize_base(public_url);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                wakeups: wake::Wakeups::new(),
                subscribers: AtomicUsize::new(0),
                shutdown: watch::channel(false).0,
                creation_limiter: rate_limit::creation_limiter(
                    config.creation_rate_limit,
                    config.trust_forwarded_headers,
                ),
                config,
            }),
        })
    }

    pub fn config(&self) -> &RelayConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn wakeups(&self) -> &Arc<wake::Wakeups> {
        &self.inner.wakeups
    }

    /// How many event streams this process serves right now.
    pub fn connected_subscribers(&self) -> usize {
        self.inner
            .subscribers
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Ends every event stream and refuses new ones and new channels.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        // Streams wait on their channel's wake-up; this ends their wait.
        self.inner.wakeups.wake_all();
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// Forgets rate-limit state of addresses that have been quiet long enough.
    pub(crate) fn forget_quiet_clients(&self) {
        self.inner.creation_limiter.limiter().retain_recent();
    }

    fn subscribers(&self) -> &AtomicUsize {
        &self.inner.subscribers
    }

    /// `public_url` + `hooks/{id}`; without a public URL, the request's own host over http.
    fn ingress_url(&self, channel_id: &store::ChannelId, headers: &HeaderMap) -> String {
        let path = advicly_relay_protocol::ingress_path(channel_id.as_str());
        match &self.inner.config.public_url {
            Some(base) => base
                .join(path.trim_start_matches('/'))
                .map(String::from)
                .unwrap_or_else(|_| format!("{}{}", base.as_str().trim_end_matches('/'), path)),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}{path}")
            }
        }
    }
}

/// Makes `url` usable as a base for relative joins (`https://x/relay` → `https://x/relay/`).
fn normalize_base(url: &mut Url) {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
}

/// Builds the relay application: routes, security headers, and the timeout, body-limit and
/// concurrency-limit layers. Tracing records method, route and status — never the query.
pub fn router(state: RelayState) -> Router {
    let config = state.config().clone();
    let creation_limit = rate_limit::layer(&state.inner.creation_limiter);
    let routes = Router::new()
        .route(OAUTH_CALLBACK_PATH, get(callback::bounce))
        .route("/healthz", get(server::healthz))
        .route("/metrics", get(server::metrics))
        .route(
            advicly_relay_protocol::CHANNELS_PATH,
            post(api::create_channel).layer(creation_limit),
        )
        .route("/v1/channels/{channel_id}", delete(api::delete_channel))
        .route("/v1/channels/{channel_id}/events", get(events::stream))
        .route("/v1/channels/{channel_id}/ack", post(api::acknowledge))
        .route("/hooks/{channel_id}", post(api::ingest))
        .with_state(state);
    with_layers(routes, &config)
}

/// Wraps routes in the relay's layers (split out so the layers can be tested on a slow route).
fn with_layers(routes: Router, config: &RelayConfig) -> Router {
    routes
        .layer(
            TraceLayer::new_for_http()
                // The default span would record the full URI, query string included; the route
                // template keeps channel ids (capability URLs) out of every request line too.
                .make_span_with(|request: &Request| {
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|matched| matched.as_str().to_owned())
                        .unwrap_or_else(|| "unmatched".to_owned());
                    tracing::info_span!(
                        "relay_request",
                        method = %request.method(),
                        path = %route,
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        // Axum's own extractor limit (2 MiB by default) must not be the smaller one.
        .layer(axum::extract::DefaultBodyLimit::max(
            config.body_limit_bytes,
        ))
        .layer(GlobalConcurrencyLimitLayer::new(config.concurrency_limit))
        // Outside the limits, so that their refusals speak the API's JSON too.
        .layer(middleware::from_fn(json_errors))
        // Outermost, so that answers from the timeout and body-limit layers carry the headers too.
        .layer(middleware::from_fn(security_headers))
}

/// Gives the API's refusals that come from the HTTP layers rather than from a handler (a body
/// over the limit, a method the route lacks, a timeout, an unreadable body) the same
/// `{"error", "message"}` body as every other API error. The bounce page keeps its own pages.
async fn json_errors(request: Request, next: Next) -> Response {
    let api = {
        let path = request.uri().path();
        path.starts_with("/v1/") || path.starts_with("/hooks/")
    };
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    let (mut parts, body) = response.into_parts();
    // The layers' own texts are short sentences ("length limit exceeded"); keep them if so.
    let text = axum::body::to_bytes(body, 512)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let message =
        text.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let body = serde_json::to_vec(&advicly_relay_protocol::ErrorBody {
        error: code.to_owned(),
        message,
    })
    .expect("an error body serializes");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Adds the headers every relay response must carry and strips any cookie a layer might set.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.remove(header::SET_COOKIE);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn start(routes: Router, config: &RelayConfig) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = with_layers(routes, config);
        tokio::spawn(async move {
            let _ = serve(listener, app, std::future::pending()).await;
        });
        address
    }

    #[tokio::test]
    async fn a_request_that_takes_too_long_gets_408() {
        let config = RelayConfig {
            request_timeout: Duration::from_millis(50),
            ..RelayConfig::default()
        };
        let routes = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        );
        let address = start(routes, &config).await;
        let response = reqwest::get(format!("http://{address}/slow"))
            .await
            .unwrap();
        // A stuck request must not hold a connection (and a concurrency slot) for long.
        assert_eq!(response.status(), 408, "the timeout layer answers");
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "still with the headers"
        );
    }

    #[tokio::test]
    async fn requests_beyond_the_concurrency_limit_wait_their_turn() {
        let config = RelayConfig {
            concurrency_limit: 1,
            ..RelayConfig::default()
        };
        let (release, released) = tokio::sync::watch::channel(false);
        let (entered, mut entered_receiver) = tokio::sync::mpsc::unbounded_channel::<()>();
        let routes = Router::new().route(
            "/hold",
            get(move || {
                let mut released = released.clone();
                let entered = entered.clone();
                async move {
                    let _ = entered.send(());
                    let _ = released.wait_for(|open| *open).await;
                    "done"
                }
            }),
        );
        let address = start(routes, &config).await;
        let first = tokio::spawn(reqwest::get(format!("http://{address}/hold")));
        entered_receiver
            .recv()
            .await
            .expect("the first request is inside");
        let second = tokio::spawn(reqwest::get(format!("http://{address}/hold")));
        // While the first request holds the only slot, the second must not enter the handler.
        let early = tokio::time::timeout(Duration::from_millis(200), entered_receiver.recv()).await;
        assert!(
            early.is_err(),
            "the second request entered although the limit is 1"
        );
        release.send_replace(true);
        assert_eq!(
            first.await.unwrap().unwrap().status(),
            200,
            "the first completes"
        );
        assert_eq!(
            second.await.unwrap().unwrap().status(),
            200,
            "the second completes after it"
        );
    }
}
