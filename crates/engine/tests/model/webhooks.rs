//! Webhook deliveries as a pluggable fault source: a loopback receiver captures what the fake
//! Calendly really sends, the history decides each delivery's fate, and a [`WebhookPath`] brings
//! the surviving ones into the app.
//!
//! Today's path is [`DirectToStore`]: what the real-time listener will do with a verified
//! delivery (`Store::apply_webhook_change`). Once the relay and the listener have landed, a
//! second implementation POSTs each captured body, with its `Calendly-Webhook-Signature`, to the
//! relay's webhook endpoint and waits for the listener to apply it; the fates (loss, duplicates,
//! delays, reordering) and the rest of the model stay as they are.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;

use advicly_core::domain::AccountId;
use advicly_core::store::Store;
use advicly_engine::Clock;

/// One delivery as the fake sent it.
#[derive(Clone, Debug)]
pub struct Capture {
    pub body: Vec<u8>,
    /// The `Calendly-Webhook-Signature` header, for a path that verifies (the relay's).
    #[allow(dead_code)]
    pub signature: Option<String>,
}

/// A loopback HTTP server that answers 200 to every POST and keeps what it got, in order. It
/// also plays the relay's channel creation (`POST /v1/channels`), so connecting subscribes
/// Calendly's webhooks to it.
pub struct Receiver {
    pub address: SocketAddr,
    captures: Arc<Mutex<Vec<Capture>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let captures: Arc<Mutex<Vec<Capture>>> = Arc::default();
        let kept = captures.clone();
        let address_slot: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let announced = address_slot.clone();
        let router = Router::new()
            .route(
                "/v1/channels",
                axum::routing::post(move || {
                    let address = announced.lock().expect("address").expect("bound");
                    async move {
                        (
                            StatusCode::CREATED,
                            axum::Json(serde_json::json!({
                                "channel_id": "model",
                                "ingress_url": format!("http://{address}/hooks/model"),
                                "subscriber_token": "model-subscriber-token",
                            })),
                        )
                    }
                }),
            )
            .fallback(move |headers: HeaderMap, body: Bytes| {
                let kept = kept.clone();
                async move {
                    kept.lock().expect("captures").push(Capture {
                        body: body.to_vec(),
                        signature: headers
                            .get("calendly-webhook-signature")
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned),
                    });
                    StatusCode::OK
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the receiver binds a loopback port");
        let address = listener.local_addr().expect("a local address");
        *address_slot.lock().expect("address") = Some(address);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            address,
            captures,
            task,
        }
    }

    /// Where the engine's relay setting points: channels are "created" here.
    pub fn relay_base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.address)).expect("a valid URL")
    }

    /// Everything captured after the first `already_taken`.
    pub fn captured_since(&self, already_taken: usize) -> Vec<Capture> {
        self.captures.lock().expect("captures")[already_taken..].to_vec()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Brings one delivery that survived its fate into the app.
pub trait WebhookPath: Send {
    fn deliver<'a>(&'a mut self, capture: &'a Capture) -> DeliverFuture<'a>;
}

/// Applies a delivery the way the listener will: parse it, then `Store::apply_webhook_change`
/// on a connection of its own (the listener's, next to the engine's).
pub struct DirectToStore {
    pub database: PathBuf,
    pub account: AccountId,
    pub clock: Arc<dyn Clock>,
}

/// The change a delivery stands for. `invitee_no_show.deleted` is rendered before the no-show is
/// removed (its payload still shows it), so the change it stands for is the invitee without it;
/// the listener has to do the same.
pub fn change_of(
    capture: &Capture,
) -> Result<
    (
        advicly_core::domain::FetchedEvent,
        advicly_core::domain::FetchedInvitee,
    ),
    String,
> {
    let delivery = advicly_calendly::webhook::parse_delivery(&capture.body)
        .map_err(|error| format!("a captured delivery did not parse: {error}"))?;
    let mut invitee = delivery.invitee;
    if delivery.event_name == "invitee_no_show.deleted" {
        invitee.no_show = false;
    }
    Ok((delivery.scheduled_event, invitee))
}

/// Applies `captures` in order on one fresh connection (used from a blocking task while a sync
/// runs, to race it).
pub fn apply_all(
    database: &std::path::Path,
    account: AccountId,
    now: chrono::DateTime<chrono::Utc>,
    captures: &[Capture],
) -> Result<(), String> {
    let mut store = Store::open(database).map_err(|error| error.to_string())?;
    for capture in captures {
        let (event, invitee) = change_of(capture)?;
        store
            .apply_webhook_change(account, &event, &invitee, now)
            .map_err(|error| format!("a webhook change failed to apply: {error}"))?;
    }
    Ok(())
}

impl WebhookPath for DirectToStore {
    fn deliver<'a>(&'a mut self, capture: &'a Capture) -> DeliverFuture<'a> {
        Box::pin(async move {
            apply_all(
                &self.database,
                self.account,
                self.clock.now(),
                std::slice::from_ref(capture),
            )
        })
    }
}
