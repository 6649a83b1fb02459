//! Plays one history against a real fake Calendly, a real relay, a real engine (with its
//! real-time listener) on a real SQLite file and the real keychain, then lets everything settle,
//! runs one sync and hands the result to the oracle.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use tempfile::TempDir;

use advicly_core::domain::AccountId;
use advicly_engine::{
    spawn_listener, CalendlyTuning, Clock, Engine, EngineConfig, ListenerHandle, ListenerSettings,
    PacingPolicy, RedirectMode, RetryPolicy, SyncRequest, SyncWindows,
};
use advicly_relay::{Database, RelayConfig, RelayOptions, RunningRelay, SigningKey};
use fake_calendly::{
    AddInviteeRequest, BookingRequest, CancelRequest, Canceler, ControlClient, EventTruth,
    FakeCalendly, FakeConfig, FakeHandle, FaultKind, FaultRequest, InviteeSpec, InviteeTruth,
    LocationSpec, QuestionAnswer, RescheduleRequest, UpdateEventRequest,
};

use crate::history::{Fate, Place, Step, SyncFault, PEOPLE};
use crate::oracle;
use crate::webhooks::{event_of, processed, Capture, RelayPath, Tap};

/// The engine's clock in the model: real time shifted by as much as the fake's clock was.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_seconds: AtomicI64,
}

impl ShiftedClock {
    fn shift(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

static KEYCHAIN_COUNTER: AtomicU32 = AtomicU32::new(0);

fn tuning() -> CalendlyTuning {
    CalendlyTuning {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_rate_limit_retries: 2,
            max_rate_limit_wait: Duration::ZERO,
        },
        pacing: PacingPolicy {
            enabled: false,
            ..PacingPolicy::default()
        },
    }
}

/// The listener as the app runs it, with reconnects quick enough for a test.
fn listener_settings() -> ListenerSettings {
    ListenerSettings {
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..ListenerSettings::default()
    }
}

/// A delivery waiting for its moment.
struct Held {
    capture: Capture,
    /// Syncs still to run before it arrives; `None`: when the relay is back (or the app online).
    syncs_left: Option<u8>,
}

/// What one history did, for the counts the test prints.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub steps_run: usize,
    pub steps_skipped: usize,
    pub syncs: usize,
    pub failed_syncs: usize,
    pub deliveries: usize,
    pub lost: usize,
}

pub struct Runner {
    fake: FakeHandle,
    control: ControlClient,
    engine: Engine,
    config: EngineConfig,
    clock: Arc<ShiftedClock>,
    _data_dir: TempDir,
    relay: Option<RunningRelay>,
    _relay_dir: TempDir,
    tap: Tap,
    captures_taken: usize,
    account: AccountId,
    path: RelayPath,
    listener: ListenerHandle,
    /// Event URIs by the position of the step that created them.
    events: HashMap<usize, String>,
    /// Events that vanished at Calendly, with their start.
    vanished: BTreeMap<String, DateTime<Utc>>,
    held: Vec<Held>,
    during_next_sync: Vec<Capture>,
    relay_down_for: u32,
    offline_for: u32,
    /// A change touched a meeting outside the incremental window since the last full sync, so
    /// only a full sync is sure to see it (a documented limit; the final sync is full then).
    needs_full: bool,
    /// How far the clock moved since the last successful sync.
    minutes_since_sync: i64,
    pub tally: Tally,
    pub log: Vec<String>,
}

impl Runner {
    pub async fn start() -> Runner {
        let fake = FakeCalendly::start(FakeConfig {
            rate_limit_per_minute: 1_000_000,
            token_requests_per_minute: 100_000,
            ..FakeConfig::for_tests()
        })
        .await
        .expect("the fake starts");
        let control = fake.control();
        // A real relay that checks the app-wide key the fake signs OAuth subscriptions with, as
        // a production relay does for Calendly's; the app reaches it through the tap.
        let relay_dir = tempfile::tempdir().expect("a folder for the relay");
        let relay = advicly_relay::start(
            RelayOptions {
                listen: ([127, 0, 0, 1], 0).into(),
                database: Database::Sqlite {
                    data_dir: relay_dir.path().to_path_buf(),
                },
                config: RelayConfig {
                    signing_key: SigningKey::from_file_text(
                        &FakeConfig::default().app_webhook_signing_key,
                    ),
                    ..RelayConfig::default()
                },
            },
            std::future::pending(),
        )
        .await
        .expect("the relay starts on loopback");
        let tap = Tap::start(relay.base_url().clone()).await;
        let data_dir = tempfile::tempdir().expect("a temporary data folder");
        let config = EngineConfig {
            data_dir: data_dir.path().to_path_buf(),
            api_base: fake.api_base_url(),
            auth_base: fake.auth_base_url(),
            oauth_client_id: Some(FakeConfig::default().client_id),
            redirect: RedirectMode::Direct,
            keychain_service: format!(
                "com.advicly.test.model.{}.{}",
                std::process::id(),
                KEYCHAIN_COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
            relay_base: Some(tap.relay_base_url()),
            windows: SyncWindows::default(),
            calendly: tuning(),
        };
        let clock = Arc::new(ShiftedClock::default());
        let engine = Engine::open_with_clock(config.clone(), clock.clone()).expect("engine opens");
        connect_through_browser(&engine).await;
        let account = advicly_core::store::Store::open(&config.database_path())
            .expect("store")
            .active_account()
            .expect("accounts")
            .expect("connected")
            .account_id;
        let path = RelayPath {
            ingress: tap
                .real_ingress()
                .expect("connecting created a channel at the relay"),
            client: reqwest::Client::new(),
            signing_key: advicly_core::Secret::new(FakeConfig::default().app_webhook_signing_key),
        };
        let listener = spawn_listener(engine.clone(), listener_settings());
        Runner {
            fake,
            control,
            engine,
            config,
            clock,
            _data_dir: data_dir,
            relay: Some(relay),
            _relay_dir: relay_dir,
            tap,
            captures_taken: 0,
            account,
            path,
            listener,
            events: HashMap::new(),
            vanished: BTreeMap::new(),
            held: Vec::new(),
            during_next_sync: Vec::new(),
            relay_down_for: 0,
            offline_for: 0,
            needs_full: false,
            minutes_since_sync: 0,
            tally: Tally::default(),
            log: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Now, to the minute, plus `minutes`: booking times like real ones.
    fn at(&self, minutes: i64) -> DateTime<Utc> {
        self.now()
            .duration_trunc(chrono::Duration::minutes(1))
            .expect("minutes truncate")
            + chrono::Duration::minutes(minutes)
    }

    fn outside_incremental_window(&self, start: DateTime<Utc>) -> bool {
        let now = self.now();
        start < now - chrono::Duration::days(85) || start >= now + chrono::Duration::days(175)
    }

    fn touched(&mut self, start: DateTime<Utc>) {
        if self.outside_incremental_window(start) {
            self.needs_full = true;
        }
    }

    async fn truth_of(&self, event: usize) -> Option<EventTruth> {
        let uri = self.events.get(&event)?;
        self.control
            .events()
            .await
            .expect("the truth")
            .into_iter()
            .find(|truth| &truth.uri == uri)
    }

    /// Plays every step, settles, runs the final sync and compares. `Err` describes the
    /// divergence.
    pub async fn run(mut self, history: &[(usize, Step)]) -> Result<(Tally, Vec<String>), String> {
        for (position, step) in history {
            let ran = self.step(*position, step).await?;
            if ran {
                self.tally.steps_run += 1;
            } else {
                self.tally.steps_skipped += 1;
                self.log.push(format!("step {position} skipped"));
            }
            self.collect_deliveries(step).await?;
            self.after_step().await?;
        }
        self.settle().await?;
        let store = advicly_core::store::Store::open(&self.config.database_path())
            .map_err(|error| format!("the store does not open: {error}"))?;
        let result = oracle::compare(
            &self.engine,
            &store,
            self.account,
            &self.control.events().await.expect("the truth"),
            &self.vanished,
            self.now(),
        );
        let log = std::mem::take(&mut self.log);
        let tally = self.tally;
        // Disconnecting removes the history's tokens from the keychain, as an advisor's disconnect
        // does. Hundreds of histories left behind made gnome-keyring's collection grow for the whole
        // run, and its daemon once crashed under that load in CI.
        if let Err(error) = self.engine.disconnect(false).await {
            eprintln!("the history's disconnect failed (its keychain items may stay): {error}");
        }
        self.listener.shutdown().await;
        if let Some(relay) = self.relay.take() {
            let _ = relay.shutdown().await;
        }
        self.fake.shutdown().await;
        result
            .map(|()| (tally, log.clone()))
            .map_err(|error| format!("{error}\nwhat the run did:\n  {}", log.join("\n  ")))
    }

    /// Runs one step; `false` when it could not apply (its event is gone, nobody to cancel, …).
    async fn step(&mut self, position: usize, step: &Step) -> Result<bool, String> {
        match step {
            Step::Book {
                start_minutes,
                duration_minutes,
                people,
                group,
                place,
                ..
            } => {
                let start = self.at(*start_minutes);
                let invitees = people
                    .iter()
                    .enumerate()
                    .map(|(index, person)| spec(*person, position + index))
                    .collect();
                let booked = self
                    .control
                    .book(&BookingRequest {
                        host_user_uri: None,
                        event_type_uri: None,
                        event_name: Some("Consultation".to_owned()),
                        start_time: start,
                        duration_minutes: Some(*duration_minutes),
                        invitees,
                        location: Some(location(*place)),
                        invitee_limit: group.then_some(6),
                    })
                    .await
                    .map_err(|error| format!("booking failed: {error}"))?;
                self.touched(start);
                self.events.insert(position, booked.event_uri);
                Ok(true)
            }
            Step::AddInvitee { event, person, .. } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let added = self
                    .control
                    .add_invitee(&AddInviteeRequest {
                        event_uri: truth.uri.clone(),
                        invitee: spec(*person, position),
                    })
                    .await;
                self.touched(truth.start_time);
                Ok(added.is_ok())
            }
            Step::CancelEvent {
                event,
                by_host,
                reason,
                ..
            } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let canceled = self
                    .control
                    .cancel(&CancelRequest {
                        event_uri: Some(truth.uri.clone()),
                        invitee_uri: None,
                        canceled_by: if *by_host {
                            Canceler::Host
                        } else {
                            Canceler::Invitee
                        },
                        reason: reason.map(str::to_owned),
                    })
                    .await;
                self.touched(truth.start_time);
                Ok(canceled.is_ok())
            }
            Step::CancelInvitee {
                event,
                pick,
                reason,
                ..
            } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let Some(invitee) = pick_active(&truth, *pick) else {
                    return Ok(false);
                };
                let canceled = self
                    .control
                    .cancel(&CancelRequest {
                        event_uri: None,
                        invitee_uri: Some(invitee.uri.clone()),
                        canceled_by: Canceler::Invitee,
                        reason: reason.map(str::to_owned),
                    })
                    .await;
                self.touched(truth.start_time);
                Ok(canceled.is_ok())
            }
            Step::Reschedule {
                event,
                pick,
                start_minutes,
                created_first,
                ..
            } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let Some(invitee) = pick_active(&truth, *pick) else {
                    return Ok(false);
                };
                let new_start = self.at(*start_minutes);
                let moved = self
                    .control
                    .reschedule(&RescheduleRequest {
                        invitee_uri: invitee.uri.clone(),
                        new_start_time: new_start,
                        duration_minutes: None,
                        order: if *created_first {
                            fake_calendly::DeliveryOrder::CreatedFirst
                        } else {
                            fake_calendly::DeliveryOrder::CanceledFirst
                        },
                    })
                    .await;
                let Ok(moved) = moved else {
                    return Ok(false);
                };
                self.touched(truth.start_time);
                self.touched(new_start);
                self.events.insert(position, moved.new_event_uri);
                Ok(true)
            }
            Step::ToggleNoShow { event, pick, .. } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let now = self.now();
                // No-shows are marked once a meeting started, within the days after it (the
                // freshness rule's window, with a margin); later marks only arrive by webhook.
                let markable = truth.start_time <= now
                    && truth.end_time >= now - chrono::Duration::hours(60)
                    && !truth.canceled;
                let Some(invitee) = pick_active(&truth, *pick).filter(|_| markable) else {
                    return Ok(false);
                };
                let toggled = if invitee.no_show {
                    self.control.unmark_no_show(&invitee.uri).await
                } else {
                    self.control.mark_no_show(&invitee.uri).await.map(|_| ())
                };
                Ok(toggled.is_ok())
            }
            Step::Update {
                event,
                rename,
                place,
            } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                let updated = self
                    .control
                    .update_event(&UpdateEventRequest {
                        event_uri: truth.uri.clone(),
                        name: rename.map(str::to_owned),
                        location: place.map(location),
                        meeting_notes_plain: None,
                    })
                    .await;
                self.touched(truth.start_time);
                Ok(updated.is_ok())
            }
            Step::Vanish { event } => {
                let Some(truth) = self.truth_of(*event).await else {
                    return Ok(false);
                };
                self.control
                    .vanish_event(&truth.uri)
                    .await
                    .map_err(|error| format!("vanish failed: {error}"))?;
                self.touched(truth.start_time);
                self.vanished.insert(truth.uri, truth.start_time);
                Ok(true)
            }
            Step::MoveClock { minutes } => {
                self.control
                    .shift_clock(minutes * 60)
                    .await
                    .map_err(|error| format!("clock shift failed: {error}"))?;
                self.clock.shift(minutes * 60);
                self.minutes_since_sync += minutes;
                Ok(true)
            }
            Step::Sync { fault, force_full } => {
                self.sync(*fault, *force_full).await?;
                Ok(true)
            }
            Step::Restart => {
                self.restart().await;
                Ok(true)
            }
            Step::RelayOutage { steps } => {
                self.relay_down_for = self.relay_down_for.max(*steps + 1);
                Ok(true)
            }
            Step::Offline { steps } => {
                self.offline_for = self.offline_for.max(*steps + 1);
                Ok(true)
            }
        }
    }

    /// The app is closed and opened again on the same data folder and keychain entry; its new
    /// listener resumes the stream after the last delivery the old one applied.
    async fn restart(&mut self) {
        self.listener.shutdown().await;
        self.engine = Engine::open_with_clock(self.config.clone(), self.clock.clone())
            .expect("the engine opens again");
        self.listener = spawn_listener(self.engine.clone(), listener_settings());
    }

    /// Waits (bounded) until the fake has delivered everything it queued, then gives each new
    /// delivery its fate from `step`.
    async fn collect_deliveries(&mut self, step: &Step) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let subscriptions = self
                .control
                .subscriptions()
                .await
                .map_err(|error| format!("subscriptions: {error}"))?;
            if subscriptions
                .iter()
                .all(|subscription| subscription.pending_messages == 0)
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err("the fake did not finish delivering webhooks".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let captures = self.tap.captured_since(self.captures_taken);
        self.captures_taken += captures.len();
        let fates = step_fates(step);
        for (index, capture) in captures.into_iter().enumerate() {
            self.tally.deliveries += 1;
            let fate = fates
                .get(index)
                .or(fates.last())
                .copied()
                .unwrap_or(Fate::Deliver);
            if self.relay_down_for > 0 || self.offline_for > 0 {
                // Calendly retries until the relay answers and the app picks the message up.
                if fate == Fate::Lose {
                    self.tally.lost += 1;
                } else {
                    self.held.push(Held {
                        capture,
                        syncs_left: None,
                    });
                }
                continue;
            }
            match fate {
                Fate::Deliver => self.deliver(&capture).await?,
                Fate::Lose => self.tally.lost += 1,
                Fate::Duplicate => {
                    self.deliver(&capture).await?;
                    self.held.push(Held {
                        capture,
                        syncs_left: Some(1),
                    });
                }
                Fate::Delay(syncs) => self.held.push(Held {
                    capture,
                    syncs_left: Some(syncs),
                }),
                Fate::DuringSync => self.during_next_sync.push(capture),
            }
        }
        Ok(())
    }

    async fn deliver(&mut self, capture: &Capture) -> Result<(), String> {
        // What a webhook brings outside the incremental window is only re-checked by a full sync.
        if let Ok(event) = event_of(capture) {
            self.touched(event.start_time);
        }
        let id = self.path.post(capture).await?;
        processed(&mut self.listener.watch_state(), id).await
    }

    /// Counts down outages; deliveries held for the relay arrive when it is back.
    async fn after_step(&mut self) -> Result<(), String> {
        self.relay_down_for = self.relay_down_for.saturating_sub(1);
        self.offline_for = self.offline_for.saturating_sub(1);
        if self.relay_down_for == 0 && self.offline_for == 0 {
            let (due, waiting): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|held| held.syncs_left.is_none());
            self.held = waiting;
            for held in due {
                self.deliver(&held.capture).await?;
            }
        }
        Ok(())
    }

    async fn sync(&mut self, fault: SyncFault, force_full: bool) -> Result<(), String> {
        self.tally.syncs += 1;
        // Deliveries whose delay ran out arrive before this sync; the rest wait one more.
        if self.relay_down_for == 0 && self.offline_for == 0 {
            let mut due = Vec::new();
            for held in &mut self.held {
                if let Some(left) = &mut held.syncs_left {
                    if *left <= 1 {
                        *left = 0;
                        due.push(held.capture.clone());
                    } else {
                        *left -= 1;
                    }
                }
            }
            self.held.retain(|held| held.syncs_left != Some(0));
            for capture in due {
                self.deliver(&capture).await?;
            }
        }
        // A token only expires mid-sync when it was fresh at the start: after a long clock move
        // the first request refreshes it, and expiring the new one at once is not a thing
        // Calendly does (the client rightly gives up on a freshly refreshed token it rejects).
        let fault = match fault {
            SyncFault::TokenExpires { .. } if self.minutes_since_sync > 100 => SyncFault::None,
            other => other,
        };
        let offline = self.offline_for > 0;
        let killed = if offline {
            self.inject(FaultKind::DropConnection, "/", 100_000, 0)
                .await;
            false
        } else {
            self.inject_sync_fault(fault).await
        };
        // Deliveries that race this sync, on their own connection.
        let racing = std::mem::take(&mut self.during_next_sync);
        // A racing delivery may land after the listing passed its meeting, so even a full sync
        // does not cover what it brings outside the incremental window.
        let racing_outside = racing.iter().any(|capture| {
            event_of(capture).is_ok_and(|event| self.outside_incremental_window(event.start_time))
        });
        let racer = (!racing.is_empty()).then(|| {
            let path = self.path.clone();
            tokio::spawn(async move { path.post_all(&racing).await })
        });
        let result = self.engine.sync(SyncRequest { force_full }).await;
        let racing_last = match racer {
            Some(racer) => Some(
                racer
                    .await
                    .map_err(|error| format!("a racing delivery panicked: {error}"))??,
            ),
            None => None,
        };
        self.control
            .clear_faults()
            .await
            .map_err(|error| format!("clear faults: {error}"))?;
        // Waited for once Calendly answers again: the listener checks the subscription there
        // before it opens the stream.
        if let Some(last) = racing_last {
            processed(&mut self.listener.watch_state(), last).await?;
        }
        match &result {
            Ok(report) => {
                self.minutes_since_sync = 0;
                self.log.push(format!(
                    "sync {:?} {:?}: {:?}",
                    report.kind, fault, report.counts
                ));
                if report.kind == advicly_engine::SyncKind::Full {
                    self.needs_full = false;
                }
            }
            Err(error) => {
                self.tally.failed_syncs += 1;
                self.log.push(format!(
                    "sync failed ({fault:?}, offline {offline}): {error}"
                ));
                if error.code() == "needs_reconnect" {
                    return Err(format!("a sync fault cost the connection: {error}"));
                }
            }
        }
        if racing_outside {
            self.needs_full = true;
        }
        if killed {
            self.restart().await;
        }
        Ok(())
    }

    async fn inject(&self, fault: FaultKind, path: &str, count: u32, skip: u32) {
        self.control
            .inject_fault_after(
                &FaultRequest {
                    path_prefix: path.to_owned(),
                    method: Some("GET".to_owned()),
                    fault,
                    count,
                },
                skip,
            )
            .await
            .expect("the fake takes the fault");
    }

    /// Sets up the fault of one sync; `true` when the app dies during it.
    async fn inject_sync_fault(&self, fault: SyncFault) -> bool {
        match fault {
            SyncFault::None => false,
            SyncFault::KilledAfterPages { after_pages } => {
                self.inject(
                    FaultKind::DropConnection,
                    "/scheduled_events$",
                    1_000,
                    after_pages,
                )
                .await;
                true
            }
            SyncFault::TokenExpires { after_pages } => {
                self.inject(
                    FaultKind::ExpireAccessToken,
                    "/scheduled_events$",
                    1,
                    after_pages,
                )
                .await;
                false
            }
            SyncFault::InviteeStorm { status, count } => {
                self.inject(FaultKind::Status { status }, "/scheduled_events/", count, 0)
                    .await;
                false
            }
            SyncFault::ListingStorm { status, count } => {
                self.inject(FaultKind::Status { status }, "/scheduled_events$", count, 0)
                    .await;
                false
            }
            SyncFault::OmitListed { after_pages } => {
                self.inject(
                    FaultKind::OmitFirstListed,
                    "/scheduled_events",
                    1,
                    after_pages,
                )
                .await;
                false
            }
            SyncFault::RepeatToken { after_pages } => {
                self.inject(
                    FaultKind::RepeatPageToken,
                    "/scheduled_events",
                    1,
                    after_pages,
                )
                .await;
                false
            }
        }
    }

    /// The relay and the app come back, every delivery still on its way arrives, and one sync
    /// runs: after it the screen must match Calendly.
    async fn settle(&mut self) -> Result<(), String> {
        self.relay_down_for = 0;
        self.offline_for = 0;
        self.control
            .clear_faults()
            .await
            .map_err(|error| format!("clear faults: {error}"))?;
        let held = std::mem::take(&mut self.held);
        for held in held {
            self.deliver(&held.capture).await?;
        }
        let racing = std::mem::take(&mut self.during_next_sync);
        for capture in racing {
            self.deliver(&capture).await?;
        }
        let report = self
            .engine
            .sync(SyncRequest {
                force_full: self.needs_full,
            })
            .await
            .map_err(|error| format!("the final sync failed: {error}"))?;
        self.log.push(format!(
            "final sync {:?} (forced full: {}): {:?}",
            report.kind, self.needs_full, report.counts
        ));
        Ok(())
    }
}

fn step_fates(step: &Step) -> Vec<Fate> {
    match step {
        Step::Book { fates, .. }
        | Step::AddInvitee { fates, .. }
        | Step::CancelEvent { fates, .. }
        | Step::CancelInvitee { fates, .. }
        | Step::Reschedule { fates, .. }
        | Step::ToggleNoShow { fates, .. } => fates.clone(),
        _ => vec![Fate::Deliver],
    }
}

fn pick_active(truth: &EventTruth, pick: usize) -> Option<&InviteeTruth> {
    let active: Vec<&InviteeTruth> = truth
        .invitees
        .iter()
        .filter(|invitee| !invitee.canceled)
        .collect();
    (!active.is_empty()).then(|| active[pick % active.len()])
}

/// A person booking; `variant` picks one of their e-mail spellings and names.
fn spec(person: usize, variant: usize) -> InviteeSpec {
    let (emails, names) = PEOPLE[person % PEOPLE.len()];
    InviteeSpec {
        name: names[variant % names.len()].to_owned(),
        email: emails[variant % emails.len()].to_owned(),
        first_name: None,
        last_name: None,
        timezone: (!variant.is_multiple_of(3)).then(|| "Europe/London".to_owned()),
        questions_and_answers: vec![QuestionAnswer {
            question: "What would you like to discuss?".to_owned(),
            answer: format!("Topic {variant}"),
        }],
        text_reminder_number: None,
    }
}

pub fn location(place: Place) -> LocationSpec {
    match place {
        Place::Zoom => LocationSpec::Zoom,
        Place::Office => LocationSpec::Physical {
            location: "1 Main Street, Leeds".to_owned(),
        },
        Place::Phone => LocationSpec::OutboundCall {
            phone: Some("+44 20 7946 0000".to_owned()),
        },
        Place::Nowhere => LocationSpec::NoLocation,
    }
}

/// Plays the browser through the fake's auto-approving consent page.
async fn connect_through_browser(engine: &Engine) {
    let authorize_url = engine.begin_oauth().await.expect("begin_oauth works");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let response = http
        .get(authorize_url)
        .send()
        .await
        .expect("the authorize page answers");
    let callback = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("the auto-approving fake redirects")
        .to_str()
        .expect("text")
        .to_owned();
    engine
        .handle_callback_url(&callback)
        .await
        .expect("the callback connects");
}
