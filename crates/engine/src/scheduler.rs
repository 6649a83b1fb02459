//! The one background poller: a single task that owns the sync timer and a command channel.
//!
//! The loop waits for whichever comes first: the next deadline, a command (`SyncNow`,
//! `SetInterval`, `NetworkChanged`, `Shutdown`), an engine event (a connection change un-pauses
//! it), or the end of the sync it started. Deadlines are recomputed from "now" after every run,
//! which gives `MissedTickBehavior::Skip` semantics: after a suspend one sync runs and the cadence
//! restarts from there instead of firing a burst of missed ticks.

use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, Shared};
use rand::Rng;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use advicly_core::domain::ConnectionState;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::{EngineEvent, SyncReport, SyncRequest};

/// The sync interval bounds the UI and the CLI accept, in minutes.
pub const MIN_INTERVAL_MINUTES: u32 = 5;
pub const MAX_INTERVAL_MINUTES: u32 = 60;
pub const DEFAULT_INTERVAL_MINUTES: u32 = 15;

/// How the poller paces itself. `Default` is what the desktop app uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerSettings {
    pub interval_minutes: u32,
    /// Delay before the first sync after start-up (and after a reconnect or the network coming back).
    pub startup_delay: Duration,
    /// Delay before the sync the real-time listener asks for when it may have missed something
    /// (a gap, a rejected delivery, a long outage).
    pub resync_delay: Duration,
    /// Up to this much random delay is added to each regular deadline so many machines don't align.
    pub jitter: Duration,
    /// The first retry delay after a failed sync; it doubles per consecutive failure.
    pub backoff_base: Duration,
    /// Retries never wait longer than this (nor longer than the interval).
    pub backoff_max: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            interval_minutes: DEFAULT_INTERVAL_MINUTES,
            startup_delay: Duration::from_secs(3),
            resync_delay: Duration::from_secs(2),
            jitter: Duration::from_secs(20),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

/// Checks an interval against the accepted bounds.
pub fn validate_interval(minutes: u32) -> Result<u32, EngineError> {
    if (MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(EngineError::invalid_input(format!(
            "The sync interval must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES} minutes (got {minutes})."
        )))
    }
}

type SharedSync = Shared<BoxFuture<'static, Result<SyncReport, EngineError>>>;

enum Command {
    SyncNow {
        reply: Option<oneshot::Sender<SharedSync>>,
    },
    SetInterval {
        minutes: u32,
    },
    NetworkChanged {
        online: bool,
    },
    Shutdown,
}

/// What the poller is doing, readable at any time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulerState {
    /// When the next sync will start; `None` while paused (nothing connected, needs reconnect, offline).
    pub next_sync_at: Option<DateTime<Utc>>,
    pub interval_minutes: u32,
    pub paused: bool,
    pub running: bool,
    pub consecutive_failures: u32,
}

/// The handle the shell keeps: send commands, read the next sync time, shut down.
pub struct SchedulerHandle {
    engine: Engine,
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<SchedulerState>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl SchedulerHandle {
    /// Asks for a sync now and waits for its report. A sync already running is joined, not repeated.
    pub async fn sync_now(&self) -> Result<SyncReport, EngineError> {
        let (reply, receiver) = oneshot::channel();
        self.send(Command::SyncNow { reply: Some(reply) })?;
        let shared = receiver.await.map_err(|_| stopped())?;
        shared.await
    }

    /// Asks for a sync now without waiting (progress and the result arrive as engine events).
    pub fn request_sync(&self) -> Result<(), EngineError> {
        self.send(Command::SyncNow { reply: None })
    }

    /// Changes the interval (5–60 minutes) and remembers it in the store for the next start;
    /// the next deadline moves accordingly.
    pub fn set_interval(&self, minutes: u32) -> Result<(), EngineError> {
        let minutes = validate_interval(minutes)?;
        self.engine.save_sync_interval(minutes)?;
        self.send(Command::SetInterval { minutes })
    }

    /// Tells the poller the network went away or came back; coming back triggers a sync soon.
    pub fn network_changed(&self, online: bool) -> Result<(), EngineError> {
        self.send(Command::NetworkChanged { online })
    }

    /// When the next sync starts; `None` while paused.
    pub fn next_sync_at(&self) -> Option<DateTime<Utc>> {
        self.state.borrow().next_sync_at
    }

    pub fn state(&self) -> SchedulerState {
        *self.state.borrow()
    }

    /// A receiver that sees every state change (for waiting on a condition in tests and the shell).
    pub fn watch_state(&self) -> watch::Receiver<SchedulerState> {
        self.state.clone()
    }

    /// Stops the poller: a running sync is cancelled at its next page boundary (the store never
    /// holds half a page) and awaited, then the task ends. Calling it twice is harmless.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }

    fn send(&self, command: Command) -> Result<(), EngineError> {
        self.commands.send(command).map_err(|_| stopped())
    }
}

fn stopped() -> EngineError {
    EngineError::internal("The background sync has been shut down.")
}

/// Starts the poller on the current Tokio runtime. An interval the advisor chose earlier
/// (saved by [`SchedulerHandle::set_interval`]) wins over `settings.interval_minutes`.
pub fn spawn_scheduler(engine: Engine, settings: SchedulerSettings) -> SchedulerHandle {
    let interval_minutes = engine
        .saved_sync_interval()
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            validate_interval(settings.interval_minutes).unwrap_or(DEFAULT_INTERVAL_MINUTES)
        });
    let (commands, receiver) = mpsc::unbounded_channel();
    let initial = SchedulerState {
        next_sync_at: None,
        interval_minutes,
        paused: true,
        running: false,
        consecutive_failures: 0,
    };
    let (state_sender, state) = watch::channel(initial);
    let events = engine.subscribe();
    let handle_engine = engine.clone();
    let poller = Poller {
        engine,
        settings: SchedulerSettings {
            interval_minutes,
            ..settings
        },
        commands: receiver,
        events,
        state: state_sender,
        deadline: None,
        running: None,
        online: true,
        consecutive_failures: 0,
    };
    let task = tokio::spawn(poller.run());
    SchedulerHandle {
        engine: handle_engine,
        commands,
        state,
        task: tokio::sync::Mutex::new(Some(task)),
    }
}

struct Poller {
    engine: Engine,
    settings: SchedulerSettings,
    commands: mpsc::UnboundedReceiver<Command>,
    events: broadcast::Receiver<EngineEvent>,
    state: watch::Sender<SchedulerState>,
    /// When the next sync starts; `None` while paused.
    deadline: Option<Instant>,
    /// The sync this poller started (or joined), until it finishes.
    running: Option<SharedSync>,
    online: bool,
    consecutive_failures: u32,
}

enum Wake {
    Deadline,
    Command(Option<Command>),
    Event(Result<EngineEvent, broadcast::error::RecvError>),
    SyncDone(Result<SyncReport, EngineError>),
}

impl Poller {
    async fn run(mut self) {
        self.resume_if_connected(self.settings.startup_delay);
        loop {
            let wake = tokio::select! {
                _ = sleep_until_or_forever(self.deadline), if self.running.is_none() => Wake::Deadline,
                command = self.commands.recv() => Wake::Command(command),
                event = self.events.recv() => Wake::Event(event),
                result = wait_or_forever(self.running.clone()) => Wake::SyncDone(result),
            };
            match wake {
                Wake::Deadline => self.start_sync(),
                Wake::Command(Some(Command::SyncNow { reply })) => {
                    self.start_sync();
                    if let (Some(reply), Some(running)) = (reply, self.running.clone()) {
                        let _ = reply.send(running);
                    }
                }
                Wake::Command(Some(Command::SetInterval { minutes })) => {
                    self.settings.interval_minutes = minutes;
                    if self.deadline.is_some() && self.running.is_none() {
                        self.schedule_in(self.regular_delay());
                    }
                }
                Wake::Command(Some(Command::NetworkChanged { online })) => {
                    let came_back = online && !self.online;
                    self.online = online;
                    if came_back {
                        self.consecutive_failures = 0;
                        self.resume_if_connected(self.settings.startup_delay);
                    } else if !online {
                        self.pause();
                    }
                }
                Wake::Command(Some(Command::Shutdown)) | Wake::Command(None) => break,
                Wake::Event(Ok(EngineEvent::ConnectionChanged)) => {
                    if self.running.is_none() {
                        self.consecutive_failures = 0;
                        self.resume_if_connected(self.settings.startup_delay);
                    }
                }
                Wake::Event(Ok(EngineEvent::ResyncRequested { .. })) => {
                    // Real time may have missed something: sync soon, unless one runs or is
                    // due sooner anyway.
                    if self.running.is_none() {
                        let soon = Instant::now() + self.settings.resync_delay;
                        if self.deadline.is_some_and(|deadline| deadline > soon) {
                            self.deadline = Some(soon);
                        }
                    }
                }
                Wake::Event(Ok(_)) | Wake::Event(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Wake::Event(Err(broadcast::error::RecvError::Closed)) => break,
                Wake::SyncDone(result) => {
                    self.running = None;
                    self.after_sync(result);
                }
            }
            self.publish();
        }
        if let Some(running) = self.running.take() {
            self.engine.cancel_sync();
            let _ = running.await;
        }
        self.deadline = None;
        self.publish();
    }

    /// Starts a sync, or joins the one already running; the loop awaits it via `self.running`.
    fn start_sync(&mut self) {
        self.running = Some(self.engine.sync_shared(SyncRequest::default()));
        self.deadline = None;
        self.publish();
    }

    fn after_sync(&mut self, result: Result<SyncReport, EngineError>) {
        match result {
            Ok(_) => {
                self.consecutive_failures = 0;
                self.online = true;
                // The interval may have been changed in the shared settings file meanwhile
                // (by `advicly config set` in a terminal); the next deadline follows it.
                if let Ok(Some(minutes)) = self.engine.saved_sync_interval() {
                    self.settings.interval_minutes = minutes;
                }
                self.schedule_in(self.regular_delay());
            }
            Err(EngineError::NotConnected) | Err(EngineError::NeedsReconnect { .. }) => {
                // Nothing to do until the advisor reconnects; a ConnectionChanged resumes us.
                self.pause();
            }
            Err(EngineError::Offline { .. }) => {
                self.consecutive_failures += 1;
                if self.online {
                    // Retry with backoff; a network-back signal short-cuts the wait.
                    self.schedule_in(self.backoff_delay());
                } else {
                    // The shell says the network is down: wait for it to come back.
                    self.pause();
                }
            }
            // Stopped by a disconnect or a cancel: carry on only if still connected.
            Err(EngineError::SyncCancelled) => self.resume_if_connected(self.regular_delay()),
            Err(_) => {
                self.consecutive_failures += 1;
                self.schedule_in(self.backoff_delay());
            }
        }
    }

    fn resume_if_connected(&mut self, delay: Duration) {
        let connected = matches!(
            self.engine.connection_state(),
            Ok(ConnectionState::Connected)
        );
        if connected && self.online {
            self.schedule_in(delay);
        } else {
            self.pause();
        }
    }

    fn pause(&mut self) {
        self.deadline = None;
    }

    fn schedule_in(&mut self, delay: Duration) {
        self.deadline = Some(Instant::now() + delay);
    }

    fn regular_delay(&self) -> Duration {
        let interval = Duration::from_secs(u64::from(self.settings.interval_minutes) * 60);
        interval + random_up_to(self.settings.jitter)
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, capped.
    fn backoff_delay(&self) -> Duration {
        let exponent = self.consecutive_failures.saturating_sub(1).min(16);
        let interval = Duration::from_secs(u64::from(self.settings.interval_minutes) * 60);
        let cap = self.settings.backoff_max.min(interval);
        let full = self
            .settings
            .backoff_base
            .saturating_mul(1 << exponent)
            .min(cap);
        full / 2 + random_up_to(full / 2)
    }

    fn publish(&self) {
        let next_sync_at = self.deadline.map(|deadline| {
            let remaining = deadline.saturating_duration_since(Instant::now());
            Utc::now() + chrono::Duration::from_std(remaining).unwrap_or_default()
        });
        let state = SchedulerState {
            next_sync_at,
            interval_minutes: self.settings.interval_minutes,
            paused: self.deadline.is_none() && self.running.is_none(),
            running: self.running.is_some(),
            consecutive_failures: self.consecutive_failures,
        };
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
        self.engine.set_scheduled_next_sync(state.next_sync_at);
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

async fn wait_or_forever(running: Option<SharedSync>) -> Result<SyncReport, EngineError> {
    match running {
        Some(shared) => shared.await,
        None => futures::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(4, false)]
    #[case(5, true)]
    #[case(15, true)]
    #[case(60, true)]
    #[case(61, false)]
    fn interval_bounds_are_five_to_sixty_minutes(#[case] minutes: u32, #[case] accepted: bool) {
        // docs/ipc.md promises invalid_input outside 5–60.
        assert_eq!(
            validate_interval(minutes).is_ok(),
            accepted,
            "{minutes} minutes"
        );
    }

    #[test]
    fn out_of_range_interval_is_invalid_input() {
        // The UI shows invalid_input next to the control, so the code must be exactly that.
        assert_eq!(validate_interval(90).unwrap_err().code(), "invalid_input");
    }
}
