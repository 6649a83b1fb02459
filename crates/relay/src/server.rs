//! Serving: the accept loop (header read timeout, client addresses, graceful shutdown), the
//! in-process [`start`] API, and the `/healthz` and `/metrics` endpoints.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;
use url::Url;

use crate::config::Database;
use crate::store::{memory::MemoryStore, sqlite::SqliteStore, Store};
use crate::{router, stream_transport, RelayConfig, RelayError, RelayState, OAUTH_CALLBACK_PATH};

/// Serves `router` on a listener the caller bound until `shutdown` completes, then finishes the
/// requests in flight (for at most 10 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let timeouts = Timeouts::of(&RelayConfig::default());
    serve_connections(listener, router, shutdown, timeouts, || {}).await
}

/// The accept loop. Each connection gets the client's address (for rate limiting) and a header
/// read timeout; a fresh connection that opens an event stream goes to the lean stream transport,
/// every other one to hyper. On shutdown the listener closes first, `on_stop` runs (it ends event
/// streams), then in-flight requests and streams finish.
async fn serve_connections(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
    on_stop: impl FnOnce(),
) -> Result<(), RelayError> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    let http = Arc::new(http);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Running out of file descriptors must not end the relay; pause accepting briefly.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Shutdown waits for every watcher, whichever transport ends up serving the connection.
        let watcher = graceful.watcher();
        let router = router.clone();
        let http = http.clone();
        tokio::spawn(async move {
            // A client has `header_read` for its first bytes, then hyper gives it `header_read`
            // again for the whole head: a slow client is cut off after twice the timeout at most.
            let first_request =
                tokio::time::timeout(timeouts.header_read, stream_transport::classify(&stream))
                    .await;
            match first_request {
                Ok(Ok(Some(request))) => {
                    stream_transport::serve(stream, request, router, peer, timeouts.stream_write)
                        .await;
                    drop(watcher);
                }
                Ok(Ok(None)) => {
                    let service = router.map_request(
                        move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                            request.extensions_mut().insert(ConnectInfo(peer));
                            request
                        },
                    );
                    let connection = http
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    // Boxed, so that a lean stream's task is not sized for hyper's connection.
                    // A client that vanishes mid-request is routine, not an error worth a log line.
                    let _ = Box::pin(watcher.watch(connection)).await;
                }
                // Nothing arrived in time, or the socket failed before a request: just close.
                Ok(Err(_)) | Err(_) => drop(watcher),
            }
        });
    }
    drop(listener);
    on_stop();
    if tokio::time::timeout(timeouts.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: some connections were still busy after the grace period");
    }
    Ok(())
}

/// The accept loop's time limits.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    header_read: Duration,
    stream_write: Duration,
    grace: Duration,
}

impl Timeouts {
    fn of(config: &RelayConfig) -> Self {
        Self {
            header_read: config.header_read_timeout,
            stream_write: config.stream_write_timeout,
            grace: config.shutdown_grace,
        }
    }
}

/// Everything [`start`] needs: where to listen, where to store, how to behave.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// `127.0.0.1:0` picks a free port; [`RunningRelay::base_url`] tells which.
    pub listen: SocketAddr,
    pub database: Database,
    pub config: RelayConfig,
}

impl RelayOptions {
    /// A relay on `127.0.0.1:0` with its SQLite store in `data_dir` and default limits.
    pub fn embedded(data_dir: impl AsRef<Path>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: Database::Sqlite {
                data_dir: data_dir.as_ref().to_owned(),
            },
            config: RelayConfig::default(),
        }
    }
}

/// A relay serving in this process. Dropping it stops the relay in the background; call
/// [`RunningRelay::shutdown`] to wait until every accepted write is committed and the store is
/// closed.
#[derive(Debug)]
pub struct RunningRelay {
    base_url: Url,
    local_addr: SocketAddr,
    state: RelayState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RelayError>>>,
}

impl RunningRelay {
    /// `http://127.0.0.1:PORT/`: what the app's relay client and tests talk to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The relay's state (its store and counters), for tests and tools.
    pub fn state(&self) -> &RelayState {
        &self.state
    }

    /// Stops accepting, ends the event streams, finishes requests in flight and closes the
    /// store.
    pub async fn shutdown(mut self) -> Result<(), RelayError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// Waits until the relay stops by itself (the shutdown future given to [`start`] completed).
    pub async fn wait(mut self) -> Result<(), RelayError> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a relay on `127.0.0.1:0` with an SQLite store in `data_dir`: what the app's demo mode
/// and the app's tests embed.
///
/// ```no_run
/// # async fn demo() -> Result<(), advicly_relay::RelayError> {
/// let relay = advicly_relay::start_embedded("/tmp/relay-data").await?;
/// println!("relay at {}", relay.base_url());
/// relay.shutdown().await?;
/// # Ok(()) }
/// ```
pub async fn start_embedded(data_dir: impl AsRef<Path>) -> Result<RunningRelay, RelayError> {
    start(RelayOptions::embedded(data_dir), std::future::pending()).await
}

/// `{public_url}oauth/callback` (the public URL is normalized to end with `/`).
fn oauth_redirect_uri(public_url: &Url) -> Url {
    public_url
        .join(OAUTH_CALLBACK_PATH.trim_start_matches('/'))
        .unwrap_or_else(|_| public_url.clone())
}

/// Opens the store, binds the listener and serves until [`RunningRelay::shutdown`] is called or
/// `shutdown` completes (the binary passes SIGTERM/Ctrl-C). Returns once the relay accepts
/// connections.
pub async fn start(
    options: RelayOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningRelay, RelayError> {
    crate::metrics::install();
    let store = open_store(&options.database, &options.config).await?;
    let listener =
        TcpListener::bind(options.listen)
            .await
            .map_err(|source| RelayError::Listen {
                address: options.listen,
                source,
            })?;
    let local_addr = listener.local_addr()?;
    let base_url =
        Url::parse(&format!("http://{local_addr}/")).expect("a socket address is a URL host");
    let mut config = options.config;
    if config.public_url.is_none() {
        config.public_url = Some(base_url.clone());
    }
    let state = RelayState::with_store(config, store.clone())?;
    store.start_wake_ups(state.wakeups().clone()).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let sweeper = tokio::spawn(sweep_retention(state.clone()));
    let task = {
        let state = state.clone();
        let app = router(state.clone());
        let timeouts = Timeouts::of(state.config());
        tokio::spawn(async move {
            let either = async move {
                tokio::select! {
                    _ = stopped => {}
                    () = shutdown => {}
                }
            };
            let stop_state = state.clone();
            let served = serve_connections(listener, app, either, timeouts, move || {
                stop_state.begin_shutdown();
            })
            .await;
            sweeper.abort();
            // Every write already queued is committed before the store closes.
            state.store().close().await;
            tracing::info!("relay stopped");
            served
        })
    };
    let public_url = state
        .config()
        .public_url
        .clone()
        .unwrap_or(base_url.clone());
    tracing::info!(
        address = %local_addr,
        public_url = %public_url,
        oauth_redirect_uri = %oauth_redirect_uri(&public_url),
        "relay listening"
    );
    Ok(RunningRelay {
        base_url,
        local_addr,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

async fn open_store(
    database: &Database,
    config: &RelayConfig,
) -> Result<Arc<dyn Store>, RelayError> {
    Ok(match database {
        Database::Sqlite { data_dir } => {
            let data_dir = data_dir.clone();
            let caps = config.caps;
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir, caps))
                .await
                .map_err(|_| crate::store::StoreError::Closed)??;
            Arc::new(store)
        }
        #[cfg(feature = "postgres")]
        Database::Postgres { url } => {
            Arc::new(crate::store::postgres::PostgresStore::connect(url, config.caps).await?)
        }
        #[cfg(not(feature = "postgres"))]
        Database::Postgres { .. } => return Err(RelayError::PostgresNotBuilt),
        Database::Memory => Arc::new(MemoryStore::new(config.caps)),
    })
}

/// Drops unacknowledged deliveries past the retention period, on a fixed interval.
async fn sweep_retention(state: RelayState) {
    let mut interval = tokio::time::interval(state.config().retention_sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        state.forget_quiet_clients();
        let retention =
            chrono::Duration::from_std(state.config().retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = chrono::Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        match state.store().expire(cutoff).await {
            Ok(0) => {}
            Ok(dropped) => {
                metrics::counter!(crate::metrics::DELIVERIES_DROPPED).increment(dropped);
                tracing::warn!(dropped, "retention dropped unacknowledged deliveries");
                // Connected subscribers learn about the gap now rather than at their next read.
                state.wakeups().wake_all();
            }
            Err(error) => tracing::error!(%error, "retention could not run"),
        }
    }
}

/// `GET /healthz`: 200 when the store answers, 503 otherwise.
pub(crate) async fn healthz(State(state): State<RelayState>) -> Response {
    match state.store().check().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text.
pub(crate) async fn metrics(State(state): State<RelayState>) -> Response {
    crate::metrics::render(&state).await
}
