//! The real-time listener: the second background task beside the scheduler, built the same way
//! (one task owning its connection, a command channel, typed events out, backoff with jitter).
//!
//! It holds the relay stream of the active account, resuming after the last delivery recorded
//! in the database (`Last-Event-ID`), verifies and applies each delivery in one transaction,
//! and acknowledges it to the relay only after that commit. A stream whose keep-alives stop is
//! declared dead and reopened with exponential backoff and jitter; the listener pauses while
//! offline or while the account needs reconnecting. A `gap`, a rejected delivery, or a stream
//! that was down for minutes asks the scheduler for an incremental sync soon, so whatever real
//! time missed is repaired by polling. No other code opens the stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use rand::Rng;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use advicly_connect::{RealtimeCredentials, StreamRefusal, WebhookStatus};
use advicly_core::domain::{AccountId, ConnectionState, UserUri};
use advicly_core::store::Store;

use super::deliveries::{process_delivery, signature_accepted, DeliveryFrame, SigningKeys};
use super::notify::notification_for;
use super::{RealtimeState, LISTENER_LOCK_FILE_NAME};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::EngineEvent;
use advicly_relay_protocol::{Delivery, Gap, EVENT_DELIVERY, EVENT_GAP};

/// How the listener paces itself. `Default` is what the desktop app uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    /// No byte (event or keep-alive comment) for this long: the stream is dead. The relay
    /// sends a comment at least every 15 s.
    pub keepalive_timeout: Duration,
    /// Opening the stream gives up after this long.
    pub connect_timeout: Duration,
    /// The first reconnect delay; it doubles per consecutive failure, with jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A stream down longer than this asks for a sync when it is back.
    pub resync_after_downtime: Duration,
    /// How old a signature may have been when the relay received the delivery.
    pub signature_tolerance: Duration,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        Self {
            keepalive_timeout: Duration::from_secs(45),
            connect_timeout: Duration::from_secs(15),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            resync_after_downtime: Duration::from_secs(180),
            signature_tolerance: advicly_calendly::webhook::DEFAULT_TOLERANCE,
        }
    }
}

/// What the listener is doing, readable at any time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerState {
    pub state: RealtimeState,
    /// A sentence for the advisor when the state is not `live`.
    pub reason: Option<String>,
    /// The account whose stream this is.
    pub account: Option<AccountId>,
    /// The newest delivery id processed by this listener (0: none yet).
    pub last_delivery_id: i64,
    /// Deliveries processed since the listener started.
    pub deliveries: u64,
    /// How many times the stream was (re)opened.
    pub connections: u64,
}

enum Command {
    NetworkChanged { online: bool },
    Reconnect,
    Shutdown,
}

/// The handle the shell (or `advicly listen`) keeps: send commands, read the state, shut down.
pub struct ListenerHandle {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ListenerState>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl ListenerHandle {
    /// Tells the listener the network went away (it pauses) or came back (it reconnects now).
    pub fn network_changed(&self, online: bool) -> Result<(), EngineError> {
        self.send(Command::NetworkChanged { online })
    }

    /// Drops the stream and opens it again at once (e.g. after the relay setting changed).
    pub fn reconnect(&self) -> Result<(), EngineError> {
        self.send(Command::Reconnect)
    }

    pub fn state(&self) -> ListenerState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change (for waiting on a condition in tests).
    pub fn watch_state(&self) -> watch::Receiver<ListenerState> {
        self.state.clone()
    }

    /// Stops the listener: the delivery being applied is finished (its commit is never cut
    /// short), its ack is sent, then the stream is closed. Calling it twice is harmless.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }

    fn send(&self, command: Command) -> Result<(), EngineError> {
        self.commands
            .send(command)
            .map_err(|_| EngineError::internal("The real-time listener has been shut down."))
    }
}

/// Starts the listener on the current Tokio runtime.
pub fn spawn_listener(engine: Engine, settings: ListenerSettings) -> ListenerHandle {
    let (commands, receiver) = mpsc::unbounded_channel();
    let initial = ListenerState {
        state: RealtimeState::Connecting,
        reason: None,
        account: None,
        last_delivery_id: 0,
        deliveries: 0,
        connections: 0,
    };
    let (state_sender, state) = watch::channel(initial);
    let events = engine.subscribe();
    let listener = Listener {
        engine,
        settings,
        commands: receiver,
        events,
        state: state_sender,
        store: None,
        online: true,
        failures: 0,
        down_since: None,
        checked: Vec::new(),
        relay: None,
        keys: None,
    };
    let task = tokio::spawn(listener.run());
    ListenerHandle {
        commands,
        state,
        task: tokio::sync::Mutex::new(Some(task)),
    }
}

struct Listener {
    engine: Engine,
    settings: ListenerSettings,
    commands: mpsc::UnboundedReceiver<Command>,
    events: broadcast::Receiver<EngineEvent>,
    state: watch::Sender<ListenerState>,
    /// The listener's own connection, with durable commits.
    store: Option<Arc<Mutex<Store>>>,
    online: bool,
    /// Consecutive failures to open or keep the stream.
    failures: u32,
    /// Since when no stream has been live (after one was).
    down_since: Option<Instant>,
    /// Accounts whose set-up was checked since start (or since the relay last changed).
    checked: Vec<AccountId>,
    /// The relay those checks were made against.
    relay: Option<url::Url>,
    /// The keys deliveries of the current stream are checked with (re-read from the keychain
    /// when a subscription was recreated with a new key).
    keys: Option<SigningKeys>,
}

/// What to listen to, or why nothing.
enum Target {
    Ready(Box<Ready>),
    Idle {
        state: RealtimeState,
        reason: String,
        /// Try again after this long even if nothing wakes the listener.
        retry_in: Option<Duration>,
    },
}

struct Ready {
    account: AccountId,
    user: UserUri,
    credentials: RealtimeCredentials,
}

/// Why a stream (or the wait for one) ended.
enum Interrupt {
    Shutdown,
    /// Re-evaluate now (connection changed, reconnect asked, network back).
    Reevaluate,
    /// The stream failed; reconnect after a backoff.
    Broken(String),
}

impl Listener {
    async fn run(mut self) {
        // Other processes learn from this shared lock that someone holds the stream.
        let _presence = self.hold_presence_lock();
        if let Err(error) = self.own_store() {
            tracing::warn!(%error, "the listener could not open its database connection");
        }
        loop {
            let interrupt = match self.prepare().await {
                Target::Idle {
                    state,
                    reason,
                    retry_in,
                } => {
                    self.publish(state, Some(reason), None);
                    self.wait(retry_in).await
                }
                Target::Ready(ready) => self.listen(*ready).await,
            };
            match interrupt {
                Interrupt::Shutdown => break,
                Interrupt::Reevaluate => {}
                Interrupt::Broken(reason) => {
                    self.failures += 1;
                    self.down_since.get_or_insert_with(Instant::now);
                    let delay = self.backoff_delay();
                    self.publish(
                        RealtimeState::Degraded,
                        Some(format!(
                            "{reason}; reconnecting in {} s. Meetings still sync on the schedule",
                            delay.as_secs().max(1)
                        )),
                        None,
                    );
                    if let Interrupt::Shutdown = self.wait(Some(delay)).await {
                        break;
                    }
                }
            }
        }
        self.publish(
            RealtimeState::Off,
            Some("Advicly stopped listening for real-time updates".to_owned()),
            None,
        );
    }

    /// Decides what to listen to: nothing (with the state and a reason) or the active
    /// account's channel. The account's set-up is checked once per start (and again after
    /// every sync by the engine).
    async fn prepare(&mut self) -> Target {
        let relay = self.engine.relay_base();
        if relay != self.relay {
            // A relay changed in the settings: every account's set-up is checked against it.
            self.checked.clear();
            self.relay = relay;
        }
        if self.relay.is_none() {
            return idle(RealtimeState::Off, super::NO_RELAY, None);
        }
        if !self.online {
            return idle(
                RealtimeState::Degraded,
                "Offline: real-time updates resume when the network is back",
                None,
            );
        }
        let account = match self.engine.active_account_row() {
            Ok(Some(account)) => account,
            Ok(None) => return idle(RealtimeState::Off, super::NOT_CONNECTED, None),
            Err(error) => {
                return idle(
                    RealtimeState::Degraded,
                    &error.to_string(),
                    Some(self.backoff_delay()),
                )
            }
        };
        match account.connection_state {
            ConnectionState::Connected => {}
            ConnectionState::Disconnected => {
                return idle(RealtimeState::Off, super::NOT_CONNECTED, None)
            }
            ConnectionState::NeedsReconnect => {
                return idle(RealtimeState::Off, super::NEEDS_RECONNECT, None)
            }
        }
        if !self.checked.contains(&account.account_id) {
            self.publish(RealtimeState::Connecting, None, Some(account.account_id));
            match self.engine.ensure_realtime(account.account_id).await {
                Ok(WebhookStatus::Off { reason }) => {
                    self.checked.push(account.account_id);
                    return idle(RealtimeState::Off, &reason, None);
                }
                Ok(WebhookStatus::Failed { message }) => {
                    self.failures += 1;
                    return idle(
                        RealtimeState::Degraded,
                        &message,
                        Some(self.backoff_delay()),
                    );
                }
                Ok(_) => self.checked.push(account.account_id),
                Err(error) => {
                    self.failures += 1;
                    return idle(
                        RealtimeState::Degraded,
                        &error.to_string(),
                        Some(self.backoff_delay()),
                    );
                }
            }
        }
        match self.engine.realtime_credentials(account.account_id).await {
            Ok(Some(credentials)) => Target::Ready(Box::new(Ready {
                account: account.account_id,
                user: account.user.uri.clone(),
                credentials,
            })),
            Ok(None) => match self.engine.realtime_off_reason(account.account_id) {
                Some(reason) => idle(RealtimeState::Off, &reason, None),
                None => {
                    // Set up, but not usable (a keychain entry went missing): check again.
                    self.checked
                        .retain(|checked| *checked != account.account_id);
                    self.failures += 1;
                    idle(
                        RealtimeState::Degraded,
                        "Real-time updates are not set up yet; Advicly retries shortly",
                        Some(self.backoff_delay()),
                    )
                }
            },
            Err(error) => {
                self.failures += 1;
                idle(
                    RealtimeState::Degraded,
                    &error.to_string(),
                    Some(self.backoff_delay()),
                )
            }
        }
    }

    /// Opens the stream and processes it until it ends or something interrupts it.
    async fn listen(&mut self, ready: Ready) -> Interrupt {
        let store = match self.own_store() {
            Ok(store) => store,
            Err(error) => return Interrupt::Broken(error.to_string()),
        };
        let channel_id = ready.credentials.channel_id.clone();
        let cursor = {
            let account = ready.account;
            let locked = store
                .lock()
                .expect("the listener store mutex is never poisoned");
            match locked.realtime_channel(account) {
                Ok(Some(row)) if row.channel_id == channel_id => row.last_delivery_id,
                Ok(_) => 0,
                Err(error) => {
                    return Interrupt::Broken(format!("The local database failed: {error}"))
                }
            }
        };
        self.publish(RealtimeState::Connecting, None, Some(ready.account));
        let opened = ready
            .credentials
            .relay
            .open_events(
                &channel_id,
                &ready.credentials.subscriber_token,
                u64::try_from(cursor).unwrap_or(0),
                self.settings.connect_timeout,
            )
            .await;
        let response = match opened {
            Ok(response) => response,
            Err(StreamRefusal::ChannelUnknown) => {
                // The relay lost the channel (its data was reset): make a new one.
                tracing::info!("the relay does not know our channel; replacing it");
                return match self.engine.replace_realtime_channel(ready.account).await {
                    Ok(WebhookStatus::Active(_)) => Interrupt::Reevaluate,
                    Ok(WebhookStatus::Off { .. }) | Ok(WebhookStatus::NotConfigured) => {
                        Interrupt::Reevaluate
                    }
                    Ok(WebhookStatus::Failed { message }) => Interrupt::Broken(message),
                    Err(error) => Interrupt::Broken(error.to_string()),
                };
            }
            Err(StreamRefusal::Unavailable(message)) => {
                return Interrupt::Broken(format!("The relay cannot be reached ({message})"))
            }
        };
        let was_down = self.down_since.take();
        self.failures = 0;
        self.state.send_modify(|state| state.connections += 1);
        self.publish(RealtimeState::Live, None, Some(ready.account));
        if was_down.is_some_and(|since| since.elapsed() >= self.settings.resync_after_downtime) {
            self.engine
                .request_resync("the real-time stream was down for several minutes");
        }

        self.keys = Some(SigningKeys {
            signed_by: ready.credentials.signed_by,
            subscription_key: ready.credentials.signing_key.clone(),
        });
        let (ack_sender, ack_receiver) = watch::channel(cursor);
        let acker = tokio::spawn(acknowledge(
            ready.credentials.clone(),
            channel_id.clone(),
            ack_receiver,
        ));
        let interrupt = self
            .read_stream(&ready, &store, response, &ack_sender)
            .await;
        // Let the last acknowledgement go out before the stream is dropped.
        drop(ack_sender);
        let _ = tokio::time::timeout(Duration::from_secs(5), acker).await;
        if matches!(interrupt, Interrupt::Broken(_)) {
            self.down_since = Some(Instant::now());
        }
        interrupt
    }

    async fn read_stream(
        &mut self,
        ready: &Ready,
        store: &Arc<Mutex<Store>>,
        response: reqwest::Response,
        acks: &watch::Sender<i64>,
    ) -> Interrupt {
        let started = std::time::Instant::now();
        let last_activity = Arc::new(AtomicU64::new(0));
        let activity = last_activity.clone();
        let mut events = response
            .bytes_stream()
            .inspect(move |_| {
                activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            })
            .eventsource();
        loop {
            let idle_for = started
                .elapsed()
                .saturating_sub(Duration::from_millis(last_activity.load(Ordering::Relaxed)));
            let until_dead = self.settings.keepalive_timeout.saturating_sub(idle_for);
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return Interrupt::Shutdown,
                    Some(Command::Reconnect) => return Interrupt::Reevaluate,
                    Some(Command::NetworkChanged { online }) => {
                        let changed = online != self.online;
                        self.online = online;
                        if changed {
                            return Interrupt::Reevaluate;
                        }
                    }
                },
                event = self.events.recv() => match event {
                    Ok(EngineEvent::ConnectionChanged | EngineEvent::RealtimeSetupChanged)
                        if self.target_changed(ready).await =>
                    {
                        return Interrupt::Reevaluate;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Interrupt::Shutdown,
                    _ => {}
                },
                next = events.next() => match next {
                    None => return Interrupt::Broken("The relay closed the real-time stream".to_owned()),
                    Some(Err(error)) => {
                        return Interrupt::Broken(format!("The real-time stream broke ({error})"))
                    }
                    Some(Ok(event)) => match event.event.as_str() {
                        EVENT_DELIVERY => {
                            if let Err(error) = self
                                .handle_delivery(ready, store, &event.id, &event.data, acks)
                                .await
                            {
                                return Interrupt::Broken(error);
                            }
                        }
                        EVENT_GAP => {
                            let described = serde_json::from_str::<Gap>(&event.data)
                                .map(|gap| format!("the relay dropped deliveries {}–{} (over its limits)", gap.after + 1, gap.before.saturating_sub(1).max(gap.after + 1)))
                                .unwrap_or_else(|_| "the relay dropped deliveries".to_owned());
                            tracing::info!(%described, "gap in the real-time stream");
                            self.engine.request_resync(&described);
                        }
                        _ => {}
                    },
                },
                () = tokio::time::sleep(until_dead) => {
                    let idle_for = started.elapsed().saturating_sub(Duration::from_millis(last_activity.load(Ordering::Relaxed)));
                    if idle_for >= self.settings.keepalive_timeout {
                        return Interrupt::Broken(format!(
                            "The relay sent nothing for {} s",
                            self.settings.keepalive_timeout.as_secs()
                        ));
                    }
                }
            }
        }
    }

    /// True when the relay, the account or the channel to listen to is no longer the one being
    /// read.
    async fn target_changed(&self, ready: &Ready) -> bool {
        if self.engine.relay_base() != self.relay {
            return true;
        }
        match self.engine.active_account_row() {
            Ok(Some(account))
                if account.account_id == ready.account
                    && account.connection_state == ConnectionState::Connected => {}
            _ => return true,
        }
        match self.engine.realtime_credentials(ready.account).await {
            Ok(Some(credentials)) => credentials.channel_id != ready.credentials.channel_id,
            _ => true,
        }
    }

    /// Verifies, applies and records one delivery, then lets the acknowledger send its id.
    /// An error means the store failed; the stream is reopened and the delivery comes again.
    async fn handle_delivery(
        &mut self,
        ready: &Ready,
        store: &Arc<Mutex<Store>>,
        sse_id: &str,
        data: &str,
        acks: &watch::Sender<i64>,
    ) -> Result<(), String> {
        let frame = match frame_from(data) {
            Ok(frame) => frame,
            Err(problem) => {
                // The relay's own framing is broken; without an id the delivery cannot even
                // be recorded. Record it under the event id when there is one.
                let Ok(id) = sse_id.parse::<i64>() else {
                    tracing::warn!(%problem, "skipping an unreadable event from the relay");
                    return Ok(());
                };
                DeliveryFrame {
                    id,
                    received_at: Utc::now(),
                    signature: None,
                    body: Vec::new(),
                    relay_verified: None,
                }
            }
        };
        let id = frame.id;
        let account = ready.account;
        let user = ready.user.clone();
        let channel_id = ready.credentials.channel_id.clone();
        let tolerance = self.settings.signature_tolerance;
        let store = store.clone();
        // The engine's clock, as for every other write: what the delivery changes is stamped
        // on the same timeline as what syncs write.
        let now = self.engine.now();
        let mut keys = self.keys.clone().unwrap_or_else(|| SigningKeys {
            signed_by: ready.credentials.signed_by,
            subscription_key: ready.credentials.signing_key.clone(),
        });
        if !signature_accepted(&keys, &frame, tolerance) {
            // Perhaps the subscription was just recreated with a new key: read it again.
            if let Ok(Some(fresh)) = self.engine.realtime_credentials(account).await {
                if fresh.signing_key != keys.subscription_key || fresh.signed_by != keys.signed_by {
                    keys = SigningKeys {
                        signed_by: fresh.signed_by,
                        subscription_key: fresh.signing_key,
                    };
                    self.keys = Some(keys.clone());
                }
            }
        }
        let report = tokio::task::spawn_blocking(move || {
            let mut store = store
                .lock()
                .expect("the listener store mutex is never poisoned");
            process_delivery(
                &mut store,
                account,
                &user,
                &channel_id,
                &keys,
                &frame,
                tolerance,
                now,
            )
        })
        .await
        .map_err(|error| format!("Applying a delivery stopped unexpectedly ({error})"))?
        .map_err(|error| format!("The local database failed while applying a delivery: {error}"))?;
        // Committed: now it may be acknowledged.
        acks.send_if_modified(|acked| {
            let newer = id > *acked;
            if newer {
                *acked = id;
            }
            newer
        });
        self.state.send_modify(|state| {
            state.last_delivery_id = state.last_delivery_id.max(id);
            state.deliveries += 1;
        });
        if report.outcome == advicly_core::store::DeliveryOutcome::Rejected {
            self.engine
                .request_resync("a real-time delivery was rejected");
        }
        if report.changed {
            self.engine.emit(EngineEvent::MeetingsChanged);
        }
        if let Some(change) = &report.change {
            if self.engine.notifications_enabled() {
                self.engine
                    .emit(EngineEvent::Notification(notification_for(change)));
            }
        }
        self.engine.emit(EngineEvent::DeliveryProcessed(report));
        Ok(())
    }

    /// Waits for a command, a relevant engine event, or `retry_in`.
    async fn wait(&mut self, retry_in: Option<Duration>) -> Interrupt {
        let deadline = retry_in.map(|delay| Instant::now() + delay);
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return Interrupt::Shutdown,
                    Some(Command::Reconnect) => {
                        self.failures = 0;
                        return Interrupt::Reevaluate;
                    }
                    Some(Command::NetworkChanged { online }) => {
                        let came_back = online && !self.online;
                        self.online = online;
                        if came_back {
                            self.failures = 0;
                        }
                        return Interrupt::Reevaluate;
                    }
                },
                event = self.events.recv() => match event {
                    Ok(EngineEvent::ConnectionChanged) => {
                        self.checked.clear();
                        self.failures = 0;
                        return Interrupt::Reevaluate;
                    }
                    Ok(EngineEvent::RealtimeSetupChanged) => return Interrupt::Reevaluate,
                    Err(broadcast::error::RecvError::Closed) => return Interrupt::Shutdown,
                    _ => {}
                },
                () = sleep_until_or_forever(deadline) => return Interrupt::Reevaluate,
            }
        }
    }

    fn own_store(&mut self) -> Result<Arc<Mutex<Store>>, EngineError> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let store = Store::open(&self.engine.config().database_path())
            .map_err(crate::mapping::store_error)?;
        store
            .use_durable_commits()
            .map_err(crate::mapping::store_error)?;
        let store = Arc::new(Mutex::new(store));
        self.store = Some(store.clone());
        Ok(store)
    }

    fn hold_presence_lock(&self) -> Option<std::fs::File> {
        let path = self.engine.config().data_dir.join(LISTENER_LOCK_FILE_NAME);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ok()?;
        file.lock_shared().ok()?;
        Some(file)
    }

    /// Publishes a state change to watchers, the engine's status, the UI and other processes.
    fn publish(&self, state: RealtimeState, reason: Option<String>, account: Option<AccountId>) {
        let changed = self.state.send_if_modified(|current| {
            let account = account.or(current.account);
            let changed =
                current.state != state || current.reason != reason || current.account != account;
            current.state = state;
            current.reason = reason.clone();
            current.account = account;
            changed
        });
        if !changed {
            return;
        }
        let snapshot = self.state.borrow().clone();
        self.engine.set_listener_state(Some(snapshot.clone()));
        if let (Some(account), Some(store)) = (snapshot.account, &self.store) {
            let mut store = store
                .lock()
                .expect("the listener store mutex is never poisoned");
            if let Err(error) = store_state(&mut store, account, &snapshot, Utc::now()) {
                tracing::debug!(%error, "could not record the listener state");
            }
        }
        self.engine.emit(EngineEvent::RealtimeChanged);
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, capped.
    fn backoff_delay(&self) -> Duration {
        let exponent = self.failures.saturating_sub(1).min(16);
        let full = self
            .settings
            .backoff_base
            .saturating_mul(1 << exponent)
            .min(self.settings.backoff_max);
        full / 2 + random_up_to(full / 2)
    }
}

fn idle(state: RealtimeState, reason: &str, retry_in: Option<Duration>) -> Target {
    Target::Idle {
        state,
        reason: reason.to_owned(),
        retry_in,
    }
}

fn store_state(
    store: &mut Store,
    account: AccountId,
    state: &ListenerState,
    now: DateTime<Utc>,
) -> Result<(), advicly_core::StoreError> {
    store.set_realtime_stream_state(account, state.state.as_str(), state.reason.as_deref(), now)
}

/// Reads a `delivery` event's data: `{"id", "received_at", "signature", "body" | "body_base64",
/// "relay_verified"?}`.
fn frame_from(data: &str) -> Result<DeliveryFrame, String> {
    let delivery: Delivery = serde_json::from_str(data)
        .map_err(|error| format!("unreadable delivery event: {error}"))?;
    let body = delivery
        .body
        .to_bytes()
        .map_err(|error| format!("a delivery body is not valid base64: {error}"))?;
    Ok(DeliveryFrame {
        id: i64::try_from(delivery.id).map_err(|_| "a delivery id out of range".to_owned())?,
        received_at: delivery.received_at,
        signature: delivery.signature,
        body,
        relay_verified: delivery.relay_verified,
    })
}

/// Sends `ack up_to` for the newest committed delivery whenever it moves; a failed ack is
/// retried (a lost ack only means the relay keeps, and may resend, what was applied).
async fn acknowledge(
    credentials: RealtimeCredentials,
    channel_id: String,
    mut committed: watch::Receiver<i64>,
) {
    let mut acked = *committed.borrow();
    loop {
        let up_to = *committed.borrow_and_update();
        if up_to > acked {
            match credentials
                .relay
                .ack(
                    &channel_id,
                    &credentials.subscriber_token,
                    u64::try_from(up_to).unwrap_or(0),
                    Duration::from_secs(10),
                )
                .await
            {
                Ok(()) => acked = up_to,
                Err(error) => {
                    tracing::debug!(%error, "acknowledging deliveries failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        }
        if committed.changed().await.is_err() {
            // The stream ended: send what is still unacknowledged once more, then stop.
            let up_to = *committed.borrow();
            if up_to > acked {
                let _ = credentials
                    .relay
                    .ack(
                        &channel_id,
                        &credentials.subscriber_token,
                        u64::try_from(up_to).unwrap_or(0),
                        Duration::from_secs(5),
                    )
                    .await;
            }
            return;
        }
    }
}

fn random_up_to(limit: Duration) -> Duration {
    if limit.is_zero() {
        return Duration::ZERO;
    }
    let millis = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
}

async fn sleep_until_or_forever(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => futures::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_body_and_a_base64_body_give_the_same_bytes() {
        let text = frame_from(
            r#"{"id":3,"received_at":"2026-11-21T10:00:00Z","signature":"t=1,v1=ab","body":"{\"a\":1}"}"#,
        )
        .unwrap();
        let binary = frame_from(
            r#"{"id":3,"received_at":"2026-11-21T10:00:00Z","signature":"t=1,v1=ab","body_base64":"eyJhIjoxfQ=="}"#,
        )
        .unwrap();
        // The signature covers the raw bytes, so both encodings must yield exactly the same.
        assert_eq!(text.body, br#"{"a":1}"#.to_vec());
        assert_eq!(binary.body, text.body);
        assert_eq!(
            text.relay_verified, None,
            "absent means the relay did not check"
        );
    }

    #[test]
    fn unreadable_event_data_is_an_error_not_a_panic() {
        // Input from the network never panics the listener.
        assert!(frame_from("not json").is_err());
        assert!(frame_from(r#"{"id":1,"received_at":"x"}"#).is_err());
        assert!(
            frame_from(r#"{"id":1,"received_at":"2026-11-21T10:00:00Z","body_base64":"%%"}"#)
                .is_err()
        );
    }
}
