//! The relay server: an HTTPS OAuth callback bounce page (and, later, webhook fan-out).
//!
//! Calendly redirects the advisor's browser to `https://<relay>/oauth/callback?code=…&state=…`.
//! The relay hands `code` and `state` (or `error` and `error_description`) on to the desktop app
//! at `advicly://oauth/callback` with a meta-refresh redirect and a visible "Open Advicly" link.
//! It stores nothing, logs no query strings, sets no cookies, and forbids caching, referrers and
//! every kind of active content. PKCE makes an intercepted code useless without the verifier,
//! which never leaves the advisor's machine.
//!
//! [`router`] builds the application from a [`RelayState`]; [`serve`] runs it on a listener the
//! caller bound (tests bind `127.0.0.1:0`), until the shutdown future completes.

mod callback;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use url::Url;

pub use callback::{CallbackRejection, ForwardedCallback, MAX_CODE_LENGTH, MAX_STATE_LENGTH};

/// The deep link the desktop app registers; the bounce page forwards to it.
pub const DEFAULT_DEEP_LINK: &str = "advicly://oauth/callback";

/// The Content-Security-Policy every response carries: no scripts, styles, images, frames,
/// forms or base changes. The page is plain HTML with one link and a meta refresh.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Errors the relay library reports to its caller.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the relay deep link must be an absolute non-HTTP URL such as advicly://oauth/callback, got {0}")]
    InvalidDeepLink(String),
    #[error("the relay could not serve on its listener: {0}")]
    Serve(#[from] std::io::Error),
}

/// How the relay behaves. Build with [`RelayConfig::default`] and override what a deployment
/// or a test needs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Where the bounce page sends the browser (`advicly://oauth/callback`).
    pub deep_link: Url,
    /// A request that takes longer than this is answered with 408.
    pub request_timeout: Duration,
    /// Larger request bodies are answered with 413 (the relay takes no bodies today).
    pub body_limit_bytes: usize,
    /// At most this many requests are processed at once; the rest wait their turn.
    pub concurrency_limit: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            deep_link: Url::parse(DEFAULT_DEEP_LINK).expect("the default deep link is a valid URL"),
            request_timeout: Duration::from_secs(10),
            body_limit_bytes: 16 * 1024,
            concurrency_limit: 64,
        }
    }
}

/// Shared, immutable state of the relay application.
#[derive(Clone, Debug)]
pub struct RelayState {
    config: Arc<RelayConfig>,
}

impl RelayState {
    /// Checks the configuration once, so handlers never meet a bad deep link.
    pub fn new(config: RelayConfig) -> Result<Self, RelayError> {
        let scheme = config.deep_link.scheme();
        if scheme == "http" || scheme == "https" || config.deep_link.cannot_be_a_base() {
            return Err(RelayError::InvalidDeepLink(config.deep_link.to_string()));
        }
        Ok(Self {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }
}

/// Builds the relay application: routes, security headers, and the timeout, body-limit and
/// concurrency-limit layers. Tracing records method, path, status and latency — never the query.
pub fn router(state: RelayState) -> Router {
    let config = state.config.clone();
    let routes = Router::new()
        .route("/oauth/callback", get(callback::bounce))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    with_layers(routes, &config)
}

/// Wraps routes in the relay's layers (split out so the layers can be tested on a slow route).
fn with_layers(routes: Router, config: &RelayConfig) -> Router {
    routes
        .layer(
            TraceLayer::new_for_http()
                // The default span would record the full URI, query string included.
                .make_span_with(|request: &Request| {
                    tracing::info_span!(
                        "relay_request",
                        method = %request.method(),
                        path = %request.uri().path(),
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
        .layer(GlobalConcurrencyLimitLayer::new(config.concurrency_limit))
        // Outermost, so that answers from the timeout and body-limit layers carry the headers too.
        .layer(middleware::from_fn(security_headers))
}

/// Serves `router` on a listener the caller bound until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
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
