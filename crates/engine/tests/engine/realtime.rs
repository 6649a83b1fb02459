//! Real time end to end over loopback: the fake Calendly delivers signed webhooks to a real
//! relay (SQLite store in a temporary folder), whose stream the engine's listener holds; every
//! delivery is verified, applied and recorded in the app's real SQLite file.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use tempfile::TempDir;

use advicly_engine::{
    spawn_listener, spawn_scheduler, AddressPolicy, DeliveryOutcome, DeliveryReport, Engine,
    EngineConfig, EngineEvent, ListenerHandle, ListenerSettings, LiveSettings, MeetingChangeKind,
    RealtimeState, SchedulerSettings, SettingKey, SettingsOverrides, Status,
};
use advicly_relay::{ChannelCaps, Database, RelayConfig, RelayOptions, RunningRelay, SigningKey};
use fake_calendly::{
    AddInviteeRequest, CancelRequest, Canceler, ControlClient, DeliveryOrder, FakeCalendly,
    FakeConfig, FakeHandle, FaultKind, FaultRequest, MintTokenRequest, RescheduleRequest,
};

use crate::harness::{at, config_for, invitee};

/// How a test's relay is set up.
#[derive(Clone, Copy, Default)]
struct RelaySetup {
    /// Give the relay the fake's app signing key (deliveries then carry `relay_verified`).
    with_app_key: bool,
    /// Per-channel cap on unacknowledged deliveries (beyond it the relay drops the oldest).
    max_pending: Option<u64>,
}

/// The fake Calendly, a relay on a fixed loopback port (so it can be restarted), and an engine
/// that finds that relay in its settings file, as the app does.
struct RealtimeWorld {
    /// Kept running for the test's duration.
    _fake: FakeHandle,
    control: ControlClient,
    relay: Option<RunningRelay>,
    relay_address: SocketAddr,
    relay_dir: TempDir,
    setup: RelaySetup,
    engine: Engine,
    config: EngineConfig,
    _data_dir: TempDir,
    /// Holds the settings file (`relay_base`, and what a test changes).
    _config_dir: TempDir,
}

fn quick_listener() -> ListenerSettings {
    ListenerSettings {
        keepalive_timeout: Duration::from_secs(45),
        connect_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        resync_after_downtime: Duration::from_secs(180),
        ..ListenerSettings::default()
    }
}

async fn start_relay(
    address: SocketAddr,
    directory: &std::path::Path,
    setup: RelaySetup,
) -> RunningRelay {
    let mut config = RelayConfig::default();
    if setup.with_app_key {
        config.signing_key =
            SigningKey::from_file_text(&FakeConfig::default().app_webhook_signing_key);
    }
    if let Some(max_pending) = setup.max_pending {
        config.caps = ChannelCaps {
            max_pending_deliveries: max_pending,
            ..ChannelCaps::default()
        };
    }
    advicly_relay::start(
        RelayOptions {
            listen: address,
            database: Database::Sqlite {
                data_dir: directory.to_path_buf(),
            },
            config,
        },
        std::future::pending(),
    )
    .await
    .expect("the relay starts on loopback")
}

impl RealtimeWorld {
    async fn start(setup: RelaySetup) -> Self {
        // Calendly keeps retrying for a day; here for a minute of the fake's clock (tests that
        // need a subscription disabled shift that clock).
        let fake = FakeCalendly::start(FakeConfig {
            retry_window: Duration::from_secs(60),
            ..FakeConfig::for_tests()
        })
        .await
        .expect("the fake Calendly starts on loopback");
        let relay_dir = tempfile::tempdir().expect("a folder for the relay");
        let relay = start_relay(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            relay_dir.path(),
            setup,
        )
        .await;
        let relay_address = relay.local_addr();
        let data_dir = tempfile::tempdir().expect("a temporary data folder");
        let config = config_for(&fake, &data_dir);
        let config_dir = tempfile::tempdir().expect("a config folder");
        let settings = LiveSettings::new(
            Some(config_dir.path().join("settings.toml")),
            SettingsOverrides::default(),
            AddressPolicy::AllowLoopbackHttp,
        );
        // What an advisor saves once: the client id and the relay (the sign-in's bounce and the
        // real-time channel in one).
        settings
            .set(SettingKey::ClientId, &FakeConfig::default().client_id)
            .expect("the client id is saved in the settings file");
        settings
            .set(SettingKey::RelayBase, relay.base_url().as_str())
            .expect("the relay is saved in the settings file");
        let engine = Engine::open_with_settings(config.clone(), settings)
            .expect("the engine opens a fresh store");
        assert_eq!(
            engine.relay_base().as_ref(),
            Some(relay.base_url()),
            "the settings file's relay carries real time"
        );
        Self {
            control: fake.control(),
            _fake: fake,
            relay: Some(relay),
            relay_address,
            relay_dir,
            setup,
            engine,
            config,
            _data_dir: data_dir,
            _config_dir: config_dir,
        }
    }

    /// Connected with a personal access token: the subscription is signed with our own key.
    async fn connected(setup: RelaySetup) -> Self {
        let world = Self::start(setup).await;
        let token = world
            .control
            .mint_personal_access_token(&MintTokenRequest::default())
            .await
            .expect("the fake mints a token")
            .token;
        world
            .engine
            .connect_token(advicly_engine::Secret::new(token))
            .await
            .expect("the engine connects");
        world
    }

    async fn listening(setup: RelaySetup) -> (Self, ListenerHandle) {
        let world = Self::connected(setup).await;
        let listener = world.listen().await;
        (world, listener)
    }

    async fn listen(&self) -> ListenerHandle {
        let listener = spawn_listener(self.engine.clone(), quick_listener());
        wait_for_live(&listener).await;
        listener
    }

    async fn stop_relay(&mut self) {
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await.expect("the relay stops cleanly");
        }
    }

    async fn restart_relay(&mut self) {
        self.stop_relay().await;
        self.relay = Some(start_relay(self.relay_address, self.relay_dir.path(), self.setup).await);
    }

    /// Our subscriptions at the fake (callback under the relay's ingress path).
    async fn our_subscriptions(&self) -> Vec<fake_calendly::SubscriptionInfo> {
        let prefix = format!("http://{}/hooks/", self.relay_address);
        self.control
            .subscriptions()
            .await
            .expect("the fake lists subscriptions")
            .into_iter()
            .filter(|subscription| subscription.callback_url.starts_with(&prefix))
            .collect()
    }

    async fn book_one(&self, email: &str) -> (String, String) {
        let booked = self
            .control
            .book(&fake_calendly::BookingRequest {
                host_user_uri: None,
                event_type_uri: None,
                event_name: Some("Financial review".to_owned()),
                start_time: at(3, 0),
                duration_minutes: Some(30),
                invitees: vec![invitee(email)],
                location: None,
                invitee_limit: None,
            })
            .await
            .expect("the fake books the meeting");
        (booked.event_uri, booked.invitee_uris[0].clone())
    }

    fn meeting(&self, uri: &str) -> Option<advicly_engine::MeetingDetailView> {
        self.engine
            .meeting(&advicly_engine::EventUri::new(uri))
            .ok()
    }

    fn delivery_rows(&self) -> Vec<(i64, String, Option<String>)> {
        let store =
            advicly_core::Store::open(&self.config.database_path()).expect("open the store");
        let account = store.active_account().unwrap().unwrap().account_id;
        store
            .deliveries(account, 1000)
            .unwrap()
            .into_iter()
            .rev()
            .map(|row| (row.delivery_id, row.outcome.as_str().to_owned(), row.reason))
            .collect()
    }
}

async fn wait_for_live(listener: &ListenerHandle) {
    let mut states = listener.watch_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if states.borrow_and_update().state == RealtimeState::Live {
                return;
            }
            states.changed().await.expect("the listener runs");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the listener did not go live: {:?}", listener.state()));
}

/// Waits (bounded) for `count` processed deliveries and returns their reports.
async fn deliveries(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    count: usize,
) -> Vec<DeliveryReport> {
    let mut reports = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while reports.len() < count {
            if let Ok(EngineEvent::DeliveryProcessed(report)) = events.recv().await {
                reports.push(report);
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} of {count} deliveries arrived: {reports:?}",
            reports.len()
        )
    });
    reports
}

// ---- every event kind ------------------------------------------------------------------------

#[tokio::test]
async fn a_booking_at_calendly_is_applied_through_the_relay_with_a_notification() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    let started = std::time::Instant::now();
    let (event_uri, _) = world.book_one("ann@example.com").await;
    let report = deliveries(&mut events, 1).await.remove(0);
    // Within a second, with no sync: the relay path alone brought it.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.outcome, DeliveryOutcome::Applied, "{report:?}");
    assert_eq!(report.event.as_deref(), Some("invitee.created"));
    assert_eq!(report.meeting_uri.as_deref(), Some(event_uri.as_str()));
    let detail = world
        .meeting(&event_uri)
        .expect("the meeting is in the store");
    assert_eq!(detail.meeting.invitees[0].email, "ann@example.com");
    assert_eq!(
        world.engine.clients(Utc::now()).unwrap()[0].email,
        "ann@example.com",
        "the client is extracted in the same transaction"
    );
    let change = report.change.expect("a booking is announced");
    assert_eq!(change.kind, MeetingChangeKind::Booked);
    // The status shows live real time and when the last delivery came.
    let status = world.engine.status(Utc::now()).unwrap();
    assert_eq!(
        status.realtime.state,
        RealtimeState::Live,
        "{:?}",
        status.realtime
    );
    assert!(status.realtime.last_delivery_at.is_some());
    let subscription = status
        .realtime
        .subscription
        .expect("the subscription is shown");
    assert_eq!(subscription.state, "active");
    // No list call was needed: real time is not a disguised poll.
    let stats = world.control.stats().await.unwrap();
    assert_eq!(
        stats
            .api_calls
            .get("GET /scheduled_events")
            .copied()
            .unwrap_or(0),
        0,
        "{stats:?}"
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn the_notification_and_the_list_refresh_are_announced_as_engine_events() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    world.book_one("bo@example.com").await;
    let mut saw_meetings_changed = false;
    let mut notification = None;
    tokio::time::timeout(Duration::from_secs(20), async {
        while notification.is_none() || !saw_meetings_changed {
            match events.recv().await {
                Ok(EngineEvent::MeetingsChanged) => saw_meetings_changed = true,
                Ok(EngineEvent::Notification(shown)) => notification = Some(shown),
                _ => {}
            }
        }
    })
    .await
    .expect("both events arrive");
    let notification = notification.unwrap();
    assert_eq!(notification.title, "New meeting booked");
    assert!(
        notification.body.contains("Financial review"),
        "{notification:?}"
    );

    // Turned off, the same kind of change makes no notification.
    // Off through the settings file, as the app's switch and `advicly config set` do.
    assert!(!world.engine.set_notifications_enabled(false).unwrap());
    world.book_one("cy@example.com").await;
    let mut notified = false;
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Notification(_)) => notified = true,
                Ok(EngineEvent::DeliveryProcessed(_)) => return,
                _ => {}
            }
        }
    })
    .await
    .expect("the second delivery arrives");
    assert!(!notified, "notifications are off");
    listener.shutdown().await;
}

#[tokio::test]
async fn a_cancellation_keeps_the_reason_and_who_canceled() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    let (event_uri, _) = world.book_one("dee@example.com").await;
    deliveries(&mut events, 1).await;
    world
        .control
        .cancel(&CancelRequest {
            event_uri: Some(event_uri.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Invitee,
            reason: Some("Moving abroad".to_owned()),
        })
        .await
        .unwrap();
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.event.as_deref(), Some("invitee.canceled"));
    assert_eq!(
        report.change.map(|change| change.kind),
        Some(MeetingChangeKind::Canceled)
    );
    let meeting = world.meeting(&event_uri).unwrap().meeting;
    assert_eq!(meeting.status, Status::Canceled);
    assert_eq!(meeting.canceled_reason.as_deref(), Some("Moving abroad"));
    assert!(
        meeting.canceled_by.is_some(),
        "who canceled is kept: {meeting:?}"
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn a_group_event_stays_active_when_one_of_its_invitees_cancels() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    let booked = world
        .control
        .book(&fake_calendly::BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Pension workshop".to_owned()),
            start_time: at(5, 0),
            duration_minutes: Some(60),
            invitees: vec![invitee("eve@example.com")],
            location: None,
            invitee_limit: Some(5),
        })
        .await
        .unwrap();
    let second = world
        .control
        .add_invitee(&AddInviteeRequest {
            event_uri: booked.event_uri.clone(),
            invitee: invitee("fay@example.com"),
        })
        .await
        .unwrap();
    deliveries(&mut events, 2).await;
    assert_eq!(
        world
            .meeting(&booked.event_uri)
            .unwrap()
            .meeting
            .invitees
            .len(),
        2
    );
    world
        .control
        .cancel(&CancelRequest {
            event_uri: None,
            invitee_uri: Some(second),
            canceled_by: Canceler::Invitee,
            reason: None,
        })
        .await
        .unwrap();
    deliveries(&mut events, 1).await;
    let meeting = world.meeting(&booked.event_uri).unwrap().meeting;
    // One attendee leaving does not cancel the workshop for the others.
    assert_eq!(meeting.status, Status::Active);
    let statuses: Vec<_> = meeting
        .invitees
        .iter()
        .map(|invitee| invitee.status.clone())
        .collect();
    assert!(
        statuses.contains(&Status::Canceled) && statuses.contains(&Status::Active),
        "{statuses:?}"
    );
    listener.shutdown().await;
}

#[rstest::rstest]
#[case::canceled_first(DeliveryOrder::CanceledFirst)]
#[case::created_first(DeliveryOrder::CreatedFirst)]
#[tokio::test]
async fn a_reschedule_is_stitched_whichever_half_arrives_first(#[case] order: DeliveryOrder) {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    let (_, invitee_uri) = world.book_one("gus@example.com").await;
    deliveries(&mut events, 1).await;
    let moved = world
        .control
        .reschedule(&RescheduleRequest {
            invitee_uri,
            new_start_time: at(6, 2),
            duration_minutes: None,
            order,
        })
        .await
        .unwrap();
    let reports = deliveries(&mut events, 2).await;
    let announced: Vec<_> = reports
        .iter()
        .filter_map(|report| report.change.as_ref())
        .collect();
    // One notification for the move, from the new half, whatever the order.
    assert_eq!(announced.len(), 1, "{reports:?}");
    assert_eq!(announced[0].kind, MeetingChangeKind::Rescheduled);
    assert_eq!(announced[0].meeting_uri, moved.new_event_uri);
    let old = world.meeting(&moved.old_event_uri).unwrap().meeting;
    let new = world.meeting(&moved.new_event_uri).unwrap().meeting;
    assert_eq!(old.status, Status::Canceled);
    assert_eq!(
        old.rescheduled_to.as_ref().map(|uri| uri.as_str()),
        Some(moved.new_event_uri.as_str())
    );
    assert_eq!(
        new.rescheduled_from.as_ref().map(|uri| uri.as_str()),
        Some(moved.old_event_uri.as_str())
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn a_no_show_is_set_and_cleared() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    let (event_uri, invitee_uri) = world.book_one("hal@example.com").await;
    deliveries(&mut events, 1).await;
    world.control.mark_no_show(&invitee_uri).await.unwrap();
    let marked = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(marked.event.as_deref(), Some("invitee_no_show.created"));
    assert!(
        world.meeting(&event_uri).unwrap().invitees[0].no_show,
        "the flag is set"
    );
    world.control.unmark_no_show(&invitee_uri).await.unwrap();
    let cleared = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(cleared.event.as_deref(), Some("invitee_no_show.deleted"));
    assert_eq!(cleared.outcome, DeliveryOutcome::Applied);
    assert!(
        !world.meeting(&event_uri).unwrap().invitees[0].no_show,
        "the flag is cleared"
    );
    listener.shutdown().await;
}

// ---- duplicates and rejections ---------------------------------------------------------------

/// Posts a delivery to our channel's ingress URL as Calendly (or an impostor) would.
async fn post_to_ingress(world: &RealtimeWorld, body: Vec<u8>, signature: Option<String>) {
    let ingress = world.our_subscriptions().await.remove(0).callback_url;
    let mut request = reqwest::Client::new()
        .post(ingress)
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("Calendly-Webhook-Signature", signature);
    }
    let response = request.send().await.expect("the relay answers");
    assert!(
        response.status().is_success(),
        "the relay stores it: {}",
        response.status()
    );
}

/// The subscription's signing key and one real delivery body the fake sent to it.
async fn key_and_real_body(world: &RealtimeWorld) -> (advicly_engine::Secret, String) {
    let subscription = world.our_subscriptions().await.remove(0);
    let key = world
        .control
        .signing_key(&subscription.uri)
        .await
        .unwrap()
        .expect("our subscription has a signing key");
    let body = world
        .control
        .deliveries()
        .await
        .unwrap()
        .into_iter()
        .find(|delivery| delivery.event == "invitee.created")
        .expect("a booking was delivered")
        .body;
    (advicly_engine::Secret::new(key), body)
}

fn sign(key: &advicly_engine::Secret, at: i64, body: &[u8]) -> String {
    advicly_calendly::webhook::signature_header(key, at, body)
}

/// Everything the advisor can see, to compare before and after.
fn visible_state(world: &RealtimeWorld) -> String {
    format!(
        "{:?}\n{:?}",
        world
            .engine
            .meetings(&advicly_engine::MeetingQuery::default(), Utc::now())
            .unwrap(),
        world.engine.clients(Utc::now()).unwrap()
    )
}

#[tokio::test]
async fn calendly_sending_the_same_message_again_is_a_duplicate_that_changes_nothing() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    world.book_one("ida@example.com").await;
    deliveries(&mut events, 1).await;
    let before = visible_state(&world);
    let (key, body) = key_and_real_body(&world).await;
    // A retry of the same message: same body, freshly signed, a new relay id.
    post_to_ingress(
        &world,
        body.clone().into_bytes(),
        Some(sign(&key, Utc::now().timestamp(), body.as_bytes())),
    )
    .await;
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.outcome, DeliveryOutcome::Duplicate, "{report:?}");
    assert!(
        !report.changed && report.change.is_none(),
        "no change, no notification"
    );
    assert_eq!(visible_state(&world), before, "a replay changes nothing");
    listener.shutdown().await;
}

#[tokio::test]
async fn forged_stale_broken_and_unknown_deliveries_are_rejected_and_recorded_with_their_reason() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    world.book_one("jo@example.com").await;
    deliveries(&mut events, 1).await;
    let (key, real) = key_and_real_body(&world).await;
    let now = Utc::now().timestamp();
    let other_key = advicly_engine::Secret::new("someone-elses-key");
    let not_an_envelope = br#"{"hello":"world"}"#.to_vec();
    let unknown_event = real.replace(
        "\"event\":\"invitee.created\"",
        "\"event\":\"invitee.rescheduled\"",
    );
    let garbage: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x13, 0x37, 0x80];
    let truncated = real.as_bytes()[..real.len() / 2].to_vec();
    let cases: Vec<(&str, Vec<u8>, Option<String>, &str)> = vec![
        (
            "bad signature",
            real.clone().into_bytes(),
            Some(format!("t={now},v1={}", "0".repeat(64))),
            "does not match",
        ),
        (
            "another key",
            real.clone().into_bytes(),
            Some(sign(&other_key, now, real.as_bytes())),
            "does not match",
        ),
        (
            "missing header",
            real.clone().into_bytes(),
            None,
            "no Calendly-Webhook-Signature",
        ),
        (
            "stale t",
            real.clone().into_bytes(),
            Some(sign(&key, now - 600, real.as_bytes())),
            "older than",
        ),
        (
            "truncated body",
            truncated,
            Some(sign(&key, now, real.as_bytes())),
            "does not match",
        ),
        (
            "garbage",
            garbage.clone(),
            Some(sign(&key, now, &garbage)),
            "not a Calendly delivery",
        ),
        (
            "not an envelope",
            not_an_envelope.clone(),
            Some(sign(&key, now, &not_an_envelope)),
            "not a Calendly delivery",
        ),
        (
            "unknown event",
            unknown_event.clone().into_bytes(),
            Some(sign(&key, now, unknown_event.as_bytes())),
            "unknown event type",
        ),
    ];
    let before = visible_state(&world);
    for (what, body, signature, expected_reason) in &cases {
        post_to_ingress(&world, body.clone(), signature.clone()).await;
        let report = deliveries(&mut events, 1).await.remove(0);
        assert_eq!(
            report.outcome,
            DeliveryOutcome::Rejected,
            "{what}: {report:?}"
        );
        let reason = report.reason.clone().unwrap_or_default();
        assert!(
            reason.contains(expected_reason),
            "{what}: reason {reason:?}"
        );
    }
    assert_eq!(
        visible_state(&world),
        before,
        "no rejected delivery changed a meeting or client"
    );
    let rows = world.delivery_rows();
    let rejected: Vec<_> = rows
        .iter()
        .filter(|(_, outcome, _)| outcome == "rejected")
        .collect();
    // Each is a row with its reason (and the table has no place for a signature).
    assert_eq!(rejected.len(), cases.len(), "{rows:?}");
    assert!(rejected.iter().all(|(_, _, reason)| reason.is_some()));
    listener.shutdown().await;
}

// ---- away, gaps, outages -------------------------------------------------------------------

#[tokio::test]
async fn bookings_made_while_the_app_was_away_are_applied_in_order_on_start_before_any_poll() {
    let world = RealtimeWorld::connected(RelaySetup::default()).await;
    // The app is away: no listener runs while three clients book (the relay keeps them).
    let mut booked = Vec::new();
    for email in ["kim@example.com", "lee@example.com", "max@example.com"] {
        booked.push(world.book_one(email).await.0);
    }
    world
        .control
        .wait_for_deliveries(
            "three accepted deliveries",
            Duration::from_secs(20),
            |all| all.iter().filter(|delivery| delivery.succeeded).count() >= 3,
        )
        .await
        .unwrap();
    let mut events = world.engine.subscribe();
    let listener = world.listen().await;
    let reports = deliveries(&mut events, 3).await;
    let ids: Vec<i64> = reports.iter().map(|report| report.id).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "in order: {ids:?}"
    );
    let uris: Vec<_> = reports
        .iter()
        .map(|report| report.meeting_uri.clone().unwrap())
        .collect();
    assert_eq!(uris, booked, "in the order they happened");
    assert!(reports
        .iter()
        .all(|report| report.outcome == DeliveryOutcome::Applied));
    let stats = world.control.stats().await.unwrap();
    assert_eq!(
        stats
            .api_calls
            .get("GET /scheduled_events")
            .copied()
            .unwrap_or(0),
        0,
        "no poll was needed: {stats:?}"
    );
    listener.shutdown().await;

    // Started again, nothing is applied twice: the stream resumes after the last delivery.
    let mut events = world.engine.subscribe();
    let listener = world.listen().await;
    world.book_one("ned@example.com").await;
    let next = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(
        next.id,
        ids[2] + 1,
        "resumed exactly after the last applied delivery"
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn a_gap_at_the_relay_triggers_a_sync_that_restores_calendlys_state() {
    let world = RealtimeWorld::connected(RelaySetup {
        max_pending: Some(2),
        ..RelaySetup::default()
    })
    .await;
    // While the app is away, five bookings arrive but the relay keeps only two.
    let mut booked = Vec::new();
    for index in 0..5 {
        booked.push(world.book_one(&format!("p{index}@example.com")).await.0);
    }
    world
        .control
        .wait_for_deliveries("five accepted deliveries", Duration::from_secs(20), |all| {
            all.iter().filter(|delivery| delivery.succeeded).count() >= 5
        })
        .await
        .unwrap();
    let mut events = world.engine.subscribe();
    // No timed sync is due for an hour; only the listener's request can start one soon.
    let scheduler = spawn_scheduler(
        world.engine.clone(),
        SchedulerSettings {
            startup_delay: Duration::from_secs(3600),
            resync_delay: Duration::from_millis(50),
            ..SchedulerSettings::default()
        },
    );
    let listener = world.listen().await;
    crate::harness::wait_for_event(&mut events, "a resync request", |event| {
        matches!(event, EngineEvent::ResyncRequested { .. })
    })
    .await;
    crate::harness::wait_for_event(&mut events, "the repairing sync", |event| {
        matches!(event, EngineEvent::SyncFinished(_))
    })
    .await;
    for uri in &booked {
        assert!(world.meeting(uri).is_some(), "{uri} is back after the sync");
    }
    listener.shutdown().await;
    scheduler.shutdown().await;
}

#[tokio::test]
async fn the_listener_reconnects_by_itself_after_the_relay_restarts_and_loses_nothing() {
    let (mut world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let mut events = world.engine.subscribe();
    world.book_one("ola@example.com").await;
    let first = deliveries(&mut events, 1).await.remove(0);
    world.stop_relay().await;
    // A booking while the relay is down: Calendly (the fake) retries until it is back.
    let (during_outage, _) = world.book_one("pia@example.com").await;
    let mut states = listener.watch_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        while states.borrow_and_update().state == RealtimeState::Live {
            states.changed().await.unwrap();
        }
    })
    .await
    .expect("the listener notices the relay is gone");
    world.restart_relay().await;
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.meeting_uri.as_deref(), Some(during_outage.as_str()));
    assert_eq!(
        report.id,
        first.id + 1,
        "nothing lost, nothing applied twice"
    );
    assert_eq!(listener.state().state, RealtimeState::Live);
    listener.shutdown().await;
}

// ---- the subscription: exactly one, repaired -------------------------------------------------

/// Deletes a subscription at the fake behind the app's back, with a token of its own.
async fn delete_at_calendly(world: &RealtimeWorld, subscription_uri: &str) {
    let token = world
        .control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .unwrap()
        .token;
    let response = reqwest::Client::new()
        .delete(subscription_uri)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204, "deleted at the fake");
}

#[tokio::test]
async fn a_disabled_subscription_is_recreated_after_the_next_sync_and_deliveries_flow_again() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let original = world.our_subscriptions().await.remove(0);
    // Every delivery fails for longer than Calendly's retry window: it disables ours.
    world.control.fail_deliveries(1000).await.unwrap();
    world.book_one("quin@example.com").await;
    world.control.shift_clock(120).await.unwrap();
    world
        .control
        .wait_for_subscriptions("ours to be disabled", Duration::from_secs(20), |all| {
            all.iter().any(|subscription| {
                subscription.uri == original.uri && subscription.state == "disabled"
            })
        })
        .await
        .expect("Calendly disables a subscription that keeps failing");
    world.control.clear_faults().await.unwrap();
    // Back to real time, so the fake's signatures are not from the future.
    world.control.shift_clock(-120).await.unwrap();
    world
        .engine
        .sync(advicly_engine::SyncRequest::default())
        .await
        .expect("the sync works");
    let ours = world.our_subscriptions().await;
    assert_eq!(ours.len(), 1, "exactly one of ours: {ours:?}");
    assert_ne!(
        ours[0].uri, original.uri,
        "there is no re-enable: it is a new one"
    );
    assert_eq!(ours[0].state, "active");
    assert_eq!(
        ours[0].callback_url, original.callback_url,
        "still our channel"
    );
    let mut events = world.engine.subscribe();
    let (event_uri, _) = world.book_one("rae@example.com").await;
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.meeting_uri.as_deref(), Some(event_uri.as_str()));
    assert_eq!(
        report.outcome,
        DeliveryOutcome::Applied,
        "signed with the new key: {report:?}"
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn a_subscription_deleted_behind_our_back_is_recreated_by_the_next_check() {
    let world = RealtimeWorld::connected(RelaySetup::default()).await;
    let original = world.our_subscriptions().await.remove(0);
    delete_at_calendly(&world, &original.uri).await;
    assert!(world.our_subscriptions().await.is_empty());
    let status = world.engine.check_realtime().await.unwrap();
    assert!(
        matches!(status, advicly_connect::WebhookStatus::Active(_)),
        "{status:?}"
    );
    let ours = world.our_subscriptions().await;
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].callback_url, original.callback_url);
}

#[tokio::test]
async fn a_conflict_when_creating_is_resolved_by_listing_and_creating_once_more() {
    let world = RealtimeWorld::connected(RelaySetup::default()).await;
    let original = world.our_subscriptions().await.remove(0);
    delete_at_calendly(&world, &original.uri).await;
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/webhook_subscriptions".to_owned(),
            method: Some("POST".to_owned()),
            fault: FaultKind::Status { status: 409 },
            count: 1,
        })
        .await
        .unwrap();
    let status = world.engine.check_realtime().await.unwrap();
    assert!(
        matches!(status, advicly_connect::WebhookStatus::Active(_)),
        "{status:?}"
    );
    assert_eq!(
        world.our_subscriptions().await.len(),
        1,
        "exactly one after the 409"
    );
}

#[tokio::test]
async fn reconnecting_keeps_the_channel_and_the_subscription() {
    let world = RealtimeWorld::connected(RelaySetup::default()).await;
    let before = world.our_subscriptions().await;
    let token = world
        .control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .unwrap()
        .token;
    world
        .engine
        .connect_token(advicly_engine::Secret::new(token))
        .await
        .unwrap();
    let after = world.our_subscriptions().await;
    assert_eq!(after.len(), 1, "still exactly one");
    assert_eq!(after[0].uri, before[0].uri, "the same subscription");
    assert_eq!(
        after[0].callback_url, before[0].callback_url,
        "on the same channel"
    );
}

#[tokio::test]
async fn switching_accounts_moves_real_time_to_the_new_account() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let first_user = world.control.default_user().await.unwrap();
    let old_channel_url = world.our_subscriptions().await.remove(0).callback_url;
    let second = world
        .control
        .add_user(&fake_calendly::NewUser {
            name: "Second Advisor".into(),
            email: "second@example.com".into(),
            ..fake_calendly::NewUser::default()
        })
        .await
        .unwrap();
    let token = world
        .control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: Some(second.user_uri.clone()),
            scopes: None,
        })
        .await
        .unwrap()
        .token;
    world
        .engine
        .connect_token(advicly_engine::Secret::new(token))
        .await
        .unwrap();
    let ours = world.our_subscriptions().await;
    assert_eq!(ours.len(), 1, "exactly one: {ours:?}");
    assert_eq!(
        ours[0].user.as_deref(),
        Some(second.user_uri.as_str()),
        "it is the new account's"
    );
    assert_ne!(
        ours[0].callback_url, old_channel_url,
        "on a channel of its own"
    );
    assert!(
        !ours
            .iter()
            .any(|subscription| subscription.user.as_deref() == Some(first_user.user_uri.as_str())),
        "the previous account's subscription is gone"
    );
    // The listener follows the active account to its new channel.
    wait_for_live(&listener).await;
    let mut events = world.engine.subscribe();
    let booked = world
        .control
        .book(&fake_calendly::BookingRequest {
            host_user_uri: Some(second.user_uri.clone()),
            event_type_uri: None,
            event_name: Some("Intro call".to_owned()),
            start_time: at(2, 0),
            duration_minutes: Some(30),
            invitees: vec![invitee("sam@example.com")],
            location: None,
            invitee_limit: None,
        })
        .await
        .unwrap();
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(
        report.meeting_uri.as_deref(),
        Some(booked.event_uri.as_str())
    );
    assert_eq!(report.outcome, DeliveryOutcome::Applied);
    listener.shutdown().await;
}

#[tokio::test]
async fn a_plan_without_webhooks_turns_real_time_off_with_a_sentence_while_polling_goes_on() {
    let world = RealtimeWorld::start(RelaySetup::default()).await;
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/webhook_subscriptions".to_owned(),
            method: Some("POST".to_owned()),
            fault: FaultKind::Forbidden {
                message: "Please upgrade to a paid Calendly account.".to_owned(),
            },
            count: 1000,
        })
        .await
        .unwrap();
    let token = world
        .control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .unwrap()
        .token;
    world
        .engine
        .connect_token(advicly_engine::Secret::new(token))
        .await
        .expect("connecting still works");
    let status = world.engine.status(Utc::now()).unwrap();
    assert_eq!(
        status.realtime.state,
        RealtimeState::Off,
        "{:?}",
        status.realtime
    );
    assert_eq!(
        status.realtime.reason.as_deref(),
        Some(advicly_connect::PLAN_HAS_NO_WEBHOOKS)
    );
    // The listener agrees and stays off.
    let listener = spawn_listener(world.engine.clone(), quick_listener());
    let mut states = listener.watch_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        while states.borrow_and_update().state != RealtimeState::Off {
            states.changed().await.unwrap();
        }
    })
    .await
    .expect("the listener turns off");
    // Polling goes on.
    let (event_uri, _) = world.book_one("tia@example.com").await;
    world
        .engine
        .sync(advicly_engine::SyncRequest::default())
        .await
        .expect("the sync works without webhooks");
    assert!(world.meeting(&event_uri).is_some());
    listener.shutdown().await;
}

#[tokio::test]
async fn disconnecting_deletes_the_subscription_and_the_relay_channel() {
    let world = RealtimeWorld::connected(RelaySetup::default()).await;
    let ingress = world.our_subscriptions().await.remove(0).callback_url;
    let report = world.engine.disconnect(false).await.unwrap();
    assert_eq!(report.subscriptions_deleted, 1, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .all(|warning| !warning.contains("relay")),
        "{report:?}"
    );
    assert!(world.our_subscriptions().await.is_empty());
    // The relay forgot the channel: its ingress URL is unknown now.
    let response = reqwest::Client::new()
        .post(&ingress)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404, "the channel is gone");
}

#[tokio::test]
async fn disconnecting_with_the_relay_unreachable_says_so_plainly() {
    let mut world = RealtimeWorld::connected(RelaySetup::default()).await;
    world.stop_relay().await;
    let report = world.engine.disconnect(false).await.unwrap();
    assert_eq!(
        report.subscriptions_deleted, 1,
        "Calendly was reachable: {report:?}"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|warning| warning.contains("relay channel could not be deleted")),
        "{report:?}"
    );
}

// ---- the relay setting -----------------------------------------------------------------------

impl RealtimeWorld {
    /// The relay the account's channel lives on, as the app's database records it.
    fn channel_relay(&self) -> Option<String> {
        let store =
            advicly_core::Store::open(&self.config.database_path()).expect("open the store");
        let account = store.active_account().unwrap()?.account_id;
        store
            .realtime_channel(account)
            .unwrap()
            .map(|row| row.relay_base)
    }
}

/// Waits (bounded) until the listener reports `state` and `condition` holds.
async fn wait_for_state(
    listener: &ListenerHandle,
    state: RealtimeState,
    what: &str,
    condition: impl Fn() -> bool,
) {
    let mut states = listener.watch_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if states.borrow_and_update().state == state && condition() {
                return;
            }
            states.changed().await.expect("the listener runs");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: {:?}", listener.state()));
}

#[tokio::test]
async fn a_relay_changed_in_the_settings_moves_the_running_listener_to_a_channel_there() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    let first_relay = world.engine.relay_base().unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    let second = start_relay(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        second_dir.path(),
        RelaySetup::default(),
    )
    .await;

    // The advisor saves another relay in Settings while the app runs (no restart).
    world
        .engine
        .set_setting(SettingKey::RelayBase, second.base_url().as_str())
        .unwrap();
    assert_eq!(world.engine.relay_base().as_ref(), Some(second.base_url()));
    wait_for_state(
        &listener,
        RealtimeState::Live,
        "the listener holds a channel at the new relay",
        || world.channel_relay().as_deref() == Some(second.base_url().as_str()),
    )
    .await;

    // Exactly one subscription of ours, and it points at the new relay; a booking arrives there.
    let subscriptions: Vec<_> = world
        .control
        .subscriptions()
        .await
        .unwrap()
        .into_iter()
        .filter(|subscription| subscription.state == "active")
        .collect();
    assert_eq!(subscriptions.len(), 1, "{subscriptions:#?}");
    assert!(
        subscriptions[0]
            .callback_url
            .starts_with(second.base_url().join("hooks/").unwrap().as_str()),
        "{subscriptions:#?}"
    );
    assert!(
        world.our_subscriptions().await.is_empty(),
        "nothing points at the first relay {first_relay} any more"
    );
    let mut events = world.engine.subscribe();
    let (event_uri, _) = world.book_one("ria@example.com").await;
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.outcome, DeliveryOutcome::Applied, "{report:?}");
    assert_eq!(report.meeting_uri.as_deref(), Some(event_uri.as_str()));
    listener.shutdown().await;
    second.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_relay_removed_from_the_settings_turns_real_time_off_and_the_next_sync_cleans_up() {
    let (world, listener) = RealtimeWorld::listening(RelaySetup::default()).await;
    assert_eq!(world.our_subscriptions().await.len(), 1);

    world.engine.unset_setting(SettingKey::RelayBase).unwrap();
    assert_eq!(world.engine.relay_base(), None);
    wait_for_state(&listener, RealtimeState::Off, "real time is off", || true).await;
    let status = world.engine.status(Utc::now()).unwrap();
    assert_eq!(status.realtime.state, RealtimeState::Off);
    assert!(
        status
            .realtime
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("no relay is configured")),
        "{:?}",
        status.realtime
    );

    // Polling goes on, and the sync's check leaves nothing behind at Calendly or in the store.
    world
        .engine
        .sync(advicly_engine::SyncRequest { force_full: false })
        .await
        .expect("polling works without a relay");
    assert!(world.our_subscriptions().await.is_empty());
    assert_eq!(world.channel_relay(), None, "the channel is forgotten");
    listener.shutdown().await;
}

// ---- subscriptions signed with the app's key (OAuth) ------------------------------------------

/// Plays the browser: the fake approves at once and redirects to the relay's bounce page (the
/// relay setting makes sign-ins bounce through it), whose "Open Advicly" link is the deep link.
async fn connect_through_browser(world: &RealtimeWorld) {
    let authorize_url = world.engine.begin_oauth().await.unwrap();
    let relay_base = world.engine.relay_base().expect("a relay is configured");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(authorize_url).send().await.unwrap();
    let bounce = response.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        bounce.starts_with(relay_base.join("oauth/callback").unwrap().as_str()),
        "Calendly sends the browser to the relay from the settings: {bounce}"
    );
    let page = browser
        .get(&bounce)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "id=\"open-advicly\" href=\"";
    let start = page.find(marker).expect("the bounce page links to the app") + marker.len();
    let end = start + page[start..].find('"').unwrap();
    let callback = page[start..end].replace("&amp;", "&");
    world.engine.handle_callback_url(&callback).await.unwrap();
}

#[tokio::test]
async fn an_oauth_subscription_is_trusted_only_through_the_relays_verdict() {
    let world = RealtimeWorld::start(RelaySetup {
        with_app_key: true,
        ..RelaySetup::default()
    })
    .await;
    connect_through_browser(&world).await;
    let listener = world.listen().await;
    let mut events = world.engine.subscribe();
    world.book_one("uma@example.com").await;
    let report = deliveries(&mut events, 1).await.remove(0);
    // Calendly signed it with the app's key, which only the relay holds.
    assert_eq!(report.outcome, DeliveryOutcome::Applied, "{report:?}");
    listener.shutdown().await;
}

#[tokio::test]
async fn an_oauth_subscription_without_a_verifying_relay_is_rejected() {
    let world = RealtimeWorld::start(RelaySetup::default()).await;
    connect_through_browser(&world).await;
    let listener = world.listen().await;
    let mut events = world.engine.subscribe();
    world.book_one("vic@example.com").await;
    let report = deliveries(&mut events, 1).await.remove(0);
    assert_eq!(report.outcome, DeliveryOutcome::Rejected, "{report:?}");
    assert!(report.reason.unwrap().contains("only the relay can check"));
    listener.shutdown().await;
}

// ---- the demo ------------------------------------------------------------------------------

#[tokio::test]
async fn the_demo_runs_its_own_relay_and_a_simulated_booking_arrives_verified_like_a_real_one() {
    let base = crate::harness::unconnected_world().await;
    let demo = advicly_engine::demo::start_demo(&base.engine)
        .await
        .expect("the demo starts");
    assert!(
        demo.engine.config().relay_base.is_some(),
        "the demo has a relay"
    );
    let listener = spawn_listener(demo.engine.clone(), quick_listener());
    wait_for_live(&listener).await;
    let mut events = demo.engine.subscribe();
    let event_uri = demo.simulate_booking().await.expect("the demo books");
    let report = deliveries(&mut events, 1).await.remove(0);
    // Signed with the fake's app key, vouched for by the in-process relay, applied.
    assert_eq!(report.outcome, DeliveryOutcome::Applied, "{report:?}");
    assert_eq!(report.meeting_uri.as_deref(), Some(event_uri.as_str()));
    assert_eq!(
        report.change.map(|change| change.kind),
        Some(MeetingChangeKind::Booked)
    );
    listener.shutdown().await;
    demo.stop().await;
}

#[tokio::test]
async fn a_stream_that_was_down_longer_than_allowed_asks_for_a_sync_when_it_is_back() {
    let mut world = RealtimeWorld::connected(RelaySetup::default()).await;
    // Any outage counts as long here, so the test need not wait minutes.
    let listener = spawn_listener(
        world.engine.clone(),
        ListenerSettings {
            resync_after_downtime: Duration::ZERO,
            ..quick_listener()
        },
    );
    wait_for_live(&listener).await;
    let mut events = world.engine.subscribe();
    world.restart_relay().await;
    let request = crate::harness::wait_for_event(&mut events, "a resync request", |event| {
        matches!(event, EngineEvent::ResyncRequested { .. })
    })
    .await;
    let EngineEvent::ResyncRequested { reason } = request else {
        unreachable!("the predicate matched a resync request");
    };
    assert!(reason.contains("down"), "{reason}");
    wait_for_live(&listener).await;
    listener.shutdown().await;
}
