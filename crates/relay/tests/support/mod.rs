//! What the relay's integration tests share: starting a relay on a chosen backend, a small HTTP
//! client for the protocol, and an SSE reader with deadlines.

#![allow(dead_code)]

use std::time::Duration;

use advicly_relay::{Database, RelayConfig, RelayOptions, RunningRelay};
use advicly_relay_protocol::{ChannelCreated, Delivery, Gap, EVENT_DELIVERY, EVENT_GAP};
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use url::Url;

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The store a test relay runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A relay for one test, with its data folder.
pub struct TestRelay {
    pub relay: Option<RunningRelay>,
    pub base: Url,
    pub data_dir: tempfile::TempDir,
    pub backend: Backend,
    pub database: Database,
    _postgres: Option<std::sync::Arc<postgres_harness::PostgresServer>>,
}

pub mod postgres_harness {
    //! Placeholder until the PostgreSQL harness lands.
    #[derive(Debug)]
    pub struct PostgresServer;
}

impl TestRelay {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, RelayConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: RelayConfig) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary data folder");
        let database = match backend {
            Backend::Sqlite => Database::Sqlite {
                data_dir: data_dir.path().to_owned(),
            },
            Backend::Postgres => panic!("PostgreSQL tests need the harness"),
        };
        let relay = advicly_relay::start(
            RelayOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                database: database.clone(),
                config,
            },
            std::future::pending(),
        )
        .await
        .expect("the relay starts");
        let base = relay.base_url().clone();
        Self {
            relay: Some(relay),
            base,
            data_dir,
            backend,
            database,
            _postgres: None,
        }
    }

    /// Stops the relay and starts a new one on the same store (and, with SQLite, the same file).
    pub async fn restart(&mut self, config: RelayConfig) {
        self.relay
            .take()
            .expect("running")
            .shutdown()
            .await
            .expect("clean shutdown");
        let relay = advicly_relay::start(
            RelayOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                database: self.database.clone(),
                config,
            },
            std::future::pending(),
        )
        .await
        .expect("the relay starts again");
        self.base = relay.base_url().clone();
        self.relay = Some(relay);
    }

    pub fn client(&self) -> RelayClient {
        RelayClient::new(self.base.clone())
    }

    pub async fn stop(mut self) {
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await.expect("clean shutdown");
        }
    }
}

/// The protocol as a client speaks it.
#[derive(Clone)]
pub struct RelayClient {
    pub base: Url,
    pub http: reqwest::Client,
}

impl RelayClient {
    pub fn new(base: Url) -> Self {
        Self {
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path.trim_start_matches('/')).unwrap()
    }

    pub async fn create_channel(&self) -> ChannelCreated {
        let response = self
            .http
            .post(self.url(advicly_relay_protocol::CHANNELS_PATH))
            .send()
            .await
            .expect("POST /v1/channels");
        assert_eq!(response.status(), 201, "a channel is created");
        response.json().await.expect("ChannelCreated JSON")
    }

    /// Posts a delivery to the channel's ingress URL; returns the status and the id when stored.
    pub async fn post(
        &self,
        channel: &ChannelCreated,
        body: impl Into<reqwest::Body>,
        signature: Option<&str>,
    ) -> (u16, Option<u64>) {
        let mut request = self.http.post(&channel.ingress_url).body(body);
        if let Some(signature) = signature {
            request = request.header(advicly_relay_protocol::SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.expect("POST to ingress");
        let status = response.status().as_u16();
        let id = if status == 200 {
            let json: serde_json::Value = response.json().await.unwrap();
            json["id"].as_u64()
        } else {
            None
        };
        (status, id)
    }

    pub async fn ack(&self, channel: &ChannelCreated, up_to: u64) -> u16 {
        self.http
            .post(self.url(&advicly_relay_protocol::ack_path(&channel.channel_id)))
            .bearer_auth(&channel.subscriber_token)
            .json(&advicly_relay_protocol::AckRequest { up_to })
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn delete(&self, channel: &ChannelCreated) -> u16 {
        self.http
            .delete(self.url(&advicly_relay_protocol::channel_path(&channel.channel_id)))
            .bearer_auth(&channel.subscriber_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Opens the event stream with `Last-Event-ID: after` (when given).
    pub async fn subscribe(&self, channel: &ChannelCreated, after: Option<u64>) -> EventReader {
        let mut request = self
            .http
            .get(self.url(&advicly_relay_protocol::events_path(&channel.channel_id)))
            .bearer_auth(&channel.subscriber_token);
        if let Some(after) = after {
            request = request.header(
                advicly_relay_protocol::LAST_EVENT_ID_HEADER,
                after.to_string(),
            );
        }
        let response = request.send().await.expect("GET events");
        assert_eq!(response.status(), 200, "the stream opens");
        EventReader::new(response)
    }
}

/// One SSE event as the tests see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    Delivery(Delivery),
    Gap(Gap),
}

/// Reads SSE events with a deadline on every wait.
pub struct EventReader {
    events: std::pin::Pin<Box<dyn Stream<Item = Result<eventsource_stream::Event, String>> + Send>>,
}

impl EventReader {
    pub fn new(response: reqwest::Response) -> Self {
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|event| event.map_err(|error| error.to_string()));
        Self {
            events: Box::pin(events),
        }
    }

    /// The next delivery or gap; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        let event = tokio::time::timeout(DEADLINE, self.events.next())
            .await
            .expect("an event within the deadline")?
            .expect("a well-formed SSE stream");
        match event.event.as_str() {
            EVENT_DELIVERY => {
                let delivery: Delivery =
                    serde_json::from_str(&event.data).expect("delivery data is JSON");
                assert_eq!(
                    event.id,
                    delivery.id.to_string(),
                    "the SSE id is the delivery id"
                );
                Some(StreamEvent::Delivery(delivery))
            }
            EVENT_GAP => Some(StreamEvent::Gap(
                serde_json::from_str(&event.data).expect("gap data is JSON"),
            )),
            other => panic!("unexpected event type {other:?}"),
        }
    }

    pub async fn next_delivery(&mut self) -> Delivery {
        match self.next().await {
            Some(StreamEvent::Delivery(delivery)) => delivery,
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    /// `n` deliveries in stream order.
    pub async fn deliveries(&mut self, n: usize) -> Vec<Delivery> {
        let mut deliveries = Vec::with_capacity(n);
        for _ in 0..n {
            deliveries.push(self.next_delivery().await);
        }
        deliveries
    }
}

/// The text bodies of deliveries.
pub fn bodies(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|delivery| String::from_utf8(delivery.body.to_bytes().unwrap()).unwrap())
        .collect()
}
