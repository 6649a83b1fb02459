//! Webhook deliveries as a fault source, through the real relay and the real listener.
//!
//! A loopback [`Tap`] sits between the app and a real relay (SQLite store in a temporary
//! folder). It passes every relay request through, except that the channel it hands the app has
//! the tap's own ingress URL, so Calendly's webhook subscription points at the tap: the fake's
//! deliveries are captured there, the history decides each one's fate (lost, duplicated,
//! delayed, reordered, racing a sync), and [`RelayPath`] POSTs the survivors to the relay's real
//! ingress. The engine's listener holds the relay's stream, verifies, applies, records and
//! acknowledges each delivery; [`RelayPath`] waits until the listener has processed it.
//!
//! A relay outage or the app being offline is played as Calendly holding its deliveries (it
//! retries for a day) until both are back; the relay process itself being killed and restarted
//! is proven by the relay's durability tests and the engine's real-time tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use advicly_core::Secret;
use advicly_engine::ListenerState;
use tokio::sync::watch;

/// How long one delivery may take from the POST to the listener having processed it.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// One delivery as the fake sent it.
#[derive(Clone, Debug)]
pub struct Capture {
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Captured {
    captures: Vec<Capture>,
    /// The real channel the app was given (its id), once it created one.
    channel_id: Option<String>,
}

struct TapState {
    relay_base: url::Url,
    client: reqwest::Client,
    own_address: SocketAddr,
    captured: Mutex<Captured>,
}

/// The app's relay, as far as the app can tell: a pass-through to the real relay that keeps the
/// webhook deliveries for the history to decide on.
pub struct Tap {
    pub address: SocketAddr,
    state: Arc<TapState>,
    task: tokio::task::JoinHandle<()>,
}

impl Tap {
    pub async fn start(relay_base: url::Url) -> Tap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the tap binds a loopback port");
        let address = listener.local_addr().expect("a local address");
        let state = Arc::new(TapState {
            relay_base,
            client: reqwest::Client::new(),
            own_address: address,
            captured: Mutex::default(),
        });
        let router = Router::new()
            .route("/hooks/{channel_id}", axum::routing::post(capture))
            .route("/v1/channels", axum::routing::post(create_channel))
            .fallback(pass_through)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Tap {
            address,
            state,
            task,
        }
    }

    /// Where the engine's relay setting points.
    pub fn relay_base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.address)).expect("a valid URL")
    }

    /// Everything captured after the first `already_taken`.
    pub fn captured_since(&self, already_taken: usize) -> Vec<Capture> {
        self.state.captured.lock().expect("captures").captures[already_taken..].to_vec()
    }

    /// The relay's real ingress of the app's channel.
    pub fn real_ingress(&self) -> Option<url::Url> {
        let channel_id = self
            .state
            .captured
            .lock()
            .expect("captures")
            .channel_id
            .clone()?;
        self.state
            .relay_base
            .join(&format!("hooks/{channel_id}"))
            .ok()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn capture(State(tap): State<Arc<TapState>>, body: Bytes) -> StatusCode {
    tap.captured
        .lock()
        .expect("captures")
        .captures
        .push(Capture {
            body: body.to_vec(),
        });
    StatusCode::OK
}

/// Creates the channel at the relay and hands it to the app with the tap's ingress URL.
async fn create_channel(
    State(tap): State<Arc<TapState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = tap.relay_base.join("v1/channels").expect("a valid URL");
    let mut request = tap.client.post(url).body(body);
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let Ok(response) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = response.status();
    let Ok(mut channel) = response.json::<serde_json::Value>().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if let Some(channel_id) = channel["channel_id"].as_str().map(str::to_owned) {
        channel["ingress_url"] =
            serde_json::Value::String(format!("http://{}/hooks/{channel_id}", tap.own_address));
        tap.captured.lock().expect("captures").channel_id = Some(channel_id);
    }
    (status, axum::Json(channel)).into_response()
}

/// Any other relay request (the event stream, acks, deletes), passed through and streamed back.
async fn pass_through(State(tap): State<Arc<TapState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .trim_start_matches('/');
    let url = tap.relay_base.join(target).expect("a valid URL");
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut outgoing = tap.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(response) = outgoing.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut answer = Response::builder().status(response.status());
    for (name, value) in response.headers() {
        if name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
            && name != header::CONTENT_LENGTH
        {
            answer = answer.header(name, value);
        }
    }
    answer
        .body(Body::from_stream(response.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// Brings deliveries that survived their fate into the app: Calendly's POST to the relay's real
/// ingress, then a bounded wait for the listener to have processed it.
#[derive(Clone)]
pub struct RelayPath {
    pub ingress: url::Url,
    pub client: reqwest::Client,
    /// The app-wide signing key the fake signs OAuth subscriptions' deliveries with (the relay
    /// checks it and says `relay_verified`).
    pub signing_key: Secret,
}

impl RelayPath {
    /// POSTs `capture` as Calendly would deliver it now, and returns the relay's delivery id.
    /// The signature is made at the moment of the POST: Calendly signs every attempt afresh,
    /// and a capture held back by the history stands for a later attempt.
    pub async fn post(&self, capture: &Capture) -> Result<i64, String> {
        let signature = advicly_calendly::webhook::signature_header(
            &self.signing_key,
            chrono::Utc::now().timestamp(),
            &capture.body,
        );
        let response = self
            .client
            .post(self.ingress.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .header("calendly-webhook-signature", signature)
            .body(capture.body.clone())
            .send()
            .await
            .map_err(|error| format!("the relay's ingress did not answer: {error}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "the relay's ingress answered {}",
                response.status()
            ));
        }
        let answer: serde_json::Value = response
            .json()
            .await
            .map_err(|error| format!("the relay's ingress answer did not parse: {error}"))?;
        answer["id"]
            .as_i64()
            .ok_or_else(|| format!("the relay's ingress answer has no id: {answer}"))
    }

    /// POSTs every capture in order; the last delivery id.
    pub async fn post_all(&self, captures: &[Capture]) -> Result<i64, String> {
        let mut last = 0;
        for capture in captures {
            last = self.post(capture).await?;
        }
        Ok(last)
    }
}

/// Waits (bounded) until the listener whose state `state` watches has processed delivery `id`.
pub async fn processed(state: &mut watch::Receiver<ListenerState>, id: i64) -> Result<(), String> {
    let waited = tokio::time::timeout(
        DELIVERY_TIMEOUT,
        state.wait_for(|state| state.last_delivery_id >= id),
    )
    .await
    .map(|result| result.is_ok());
    match waited {
        Ok(true) => Ok(()),
        Ok(false) => Err("the listener stopped".to_owned()),
        Err(_) => Err(format!(
            "the listener did not process delivery {id} within {DELIVERY_TIMEOUT:?} (it is {:?})",
            *state.borrow()
        )),
    }
}

/// The change a delivery stands for (the model only needs its event, to know where it lands).
pub fn event_of(capture: &Capture) -> Result<advicly_core::domain::FetchedEvent, String> {
    advicly_calendly::webhook::parse_delivery(&capture.body)
        .map(|delivery| delivery.scheduled_event)
        .map_err(|error| format!("a captured delivery did not parse: {error}"))
}
