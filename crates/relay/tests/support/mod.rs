//! What the relay's integration tests share: starting a relay on a chosen backend, a small HTTP
//! client for the protocol, and an SSE reader with deadlines.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
}

/// The database name at the end of a PostgreSQL URL.
pub fn database_name(url: &str) -> &str {
    url.rsplit('/')
        .next()
        .expect("a database URL ends with its name")
}

/// A fresh database on this test binary's private PostgreSQL server.
pub fn postgres_database() -> Database {
    let url = advicly_relay_testkit::PostgresServer::shared()
        .create_database()
        .expect("a fresh PostgreSQL database");
    Database::Postgres { url }
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
            Backend::Postgres => postgres_database(),
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

/// The `advicly-relay` binary running as a child process.
pub struct RelayProcess {
    pub child: std::process::Child,
    pub base: Url,
    pub stderr_path: std::path::PathBuf,
}

impl RelayProcess {
    /// Starts the binary with `arguments` (plus `--listen 127.0.0.1:0`) and waits for the first
    /// line of stdout, the base URL. Its stderr goes to `stderr_path`.
    pub async fn spawn(
        arguments: &[String],
        rust_log: &str,
        stderr_path: std::path::PathBuf,
    ) -> Self {
        use std::io::BufRead;
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_advicly-relay"))
            .args(["--listen", "127.0.0.1:0"])
            .args(arguments)
            .env("RUST_LOG", rust_log)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the relay binary starts");
        let stdout = child.stdout.take().unwrap();
        let first_line = tokio::task::spawn_blocking(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            // Keep draining so the relay never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            first
        });
        let line = match tokio::time::timeout(DEADLINE, first_line).await {
            Ok(Ok(Some(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("the relay printed no base URL ({other:?}); stderr:\n{log}");
            }
        };
        let base = Url::parse(&format!("{line}/")).expect("the first line is the base URL");
        Self {
            child,
            base,
            stderr_path,
        }
    }

    pub fn client(&self) -> RelayClient {
        RelayClient::new(self.base.clone())
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("kill -9 the relay");
        self.child.wait().expect("reap the relay");
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    pub async fn terminate(self) -> std::process::ExitStatus {
        self.signal_and_wait("TERM").await
    }

    /// Ctrl-C in a terminal: SIGINT, then waits (bounded) for a clean exit.
    pub async fn interrupt(self) -> std::process::ExitStatus {
        self.signal_and_wait("INT").await
    }

    async fn signal_and_wait(mut self, signal: &str) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the relay did not stop on SIG{signal}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary's arguments for a backend: `--data-dir` always, `--database` for PostgreSQL.
pub fn process_arguments(data_dir: &std::path::Path, database: &Database) -> Vec<String> {
    let mut arguments = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
    if let Database::Postgres { url } = database {
        arguments.push("--database".into());
        arguments.push(url.clone());
    }
    arguments
}

/// Waits (bounded) until the relay serves `expected` streams: it notices a departure on its
/// own schedule.
pub async fn until_subscribers(relay: &TestRelay, expected: usize) {
    let state = relay.relay.as_ref().unwrap().state().clone();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while state.connected_subscribers() != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay serves {} streams, expected {expected}",
            state.connected_subscribers()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Clients posting numbered deliveries to one channel as fast as the relay answers, until each
/// has posted its share or the relay is gone; they remember the id of every 2xx.
pub struct Flood {
    acknowledged: Arc<AtomicUsize>,
    committed: Arc<Mutex<HashMap<String, u64>>>,
    posters: Vec<tokio::task::JoinHandle<()>>,
}

impl Flood {
    pub fn start(
        client: &RelayClient,
        channel: &ChannelCreated,
        posters: usize,
        posts_each: usize,
    ) -> Self {
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let committed = Arc::new(Mutex::new(HashMap::new()));
        let posters = (0..posters)
            .map(|poster| {
                tokio::spawn(post_until_gone(
                    client.clone(),
                    channel.clone(),
                    poster,
                    posts_each,
                    acknowledged.clone(),
                    committed.clone(),
                ))
            })
            .collect();
        Self {
            acknowledged,
            committed,
            posters,
        }
    }

    /// Waits (bounded) until this many posts got a 2xx.
    pub async fn until_acknowledged(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + DEADLINE * 3;
        while self.acknowledged.load(Ordering::SeqCst) < count {
            assert!(
                !self.posters.iter().all(|poster| poster.is_finished()),
                "every poster ended after {} acknowledged posts, short of {count}",
                self.acknowledged.load(Ordering::SeqCst)
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "the posters are too slow"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for every poster to end; body → id of every 2xx.
    pub async fn finish(self) -> HashMap<String, u64> {
        for poster in self.posters {
            poster.await.unwrap();
        }
        let committed = self.committed.lock().unwrap().clone();
        committed
    }
}

async fn post_until_gone(
    client: RelayClient,
    channel: ChannelCreated,
    poster: usize,
    posts: usize,
    acknowledged: Arc<AtomicUsize>,
    committed: Arc<Mutex<HashMap<String, u64>>>,
) {
    for n in 0..posts {
        let body = format!(r#"{{"event":"invitee.created","poster":{poster},"n":{n}}}"#);
        let Ok(response) = client
            .http
            .post(&channel.ingress_url)
            .body(body.clone())
            .send()
            .await
        else {
            return;
        };
        if !response.status().is_success() {
            // 503 while shutting down: not acknowledged, so not owed.
            continue;
        }
        let Ok(json) = response.json::<serde_json::Value>().await else {
            return;
        };
        let id = json["id"].as_u64().expect("a 2xx names the id");
        committed.lock().unwrap().insert(body, id);
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
}
