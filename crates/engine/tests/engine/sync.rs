//! Sync behaviour: every change kind, reschedules, group events, odd payloads, idempotency,
//! interruption, fault storms, and join semantics.

use chrono::Utc;
use std::collections::HashMap;

use advicly_core::domain::{AccountId, ChangeSource, EventUri, FetchedEvent, Location, Status};
use advicly_core::store::Store;
use advicly_core::sync::{MeetingOperation, PagePlan};
use advicly_engine::{EngineError, EngineEvent, Status as MeetingStatus, SyncKind, SyncRequest};
use fake_calendly::{
    AddInviteeRequest, CancelRequest, Canceler, DeliveryOrder, FaultKind, FaultRequest,
    InviteeSpec, LocationSpec, RescheduleRequest, UpdateEventRequest,
};

use crate::harness::{at, connected_world, invitee, unconnected_world, wait_for_event};

#[tokio::test]
async fn first_sync_creates_every_meeting_with_its_invitees() {
    let world = connected_world().await;
    let soon = world.book("Intro call", at(2, 0), "ann@example.com").await;
    let past = world.book("Review", at(-20, 0), "bob@example.com").await;

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync succeeds");

    // Nothing was ever synced, so the engine must choose a full sync.
    assert_eq!(report.kind, SyncKind::Full);
    // Both booked meetings are new to the store.
    assert_eq!(report.counts.created, 2, "report: {report:?}");
    // New meetings need their invitees: one invitee list per meeting.
    assert_eq!(report.calls_to("invitees"), 2, "report: {report:?}");
    let soon_meeting = world.meeting(&soon);
    // The invitee's e-mail becomes the meeting's client.
    assert_eq!(
        soon_meeting.client_emails,
        vec!["ann@example.com".to_owned()]
    );
    assert_eq!(soon_meeting.invitees.len(), 1, "one invitee was booked");
    assert_eq!(world.meeting(&past).name.as_deref(), Some("Review"));
}

#[tokio::test]
async fn a_second_identical_sync_changes_nothing_and_fetches_no_invitees() {
    let world = connected_world().await;
    for day in 1..=5 {
        world
            .book("Planning", at(day, 0), &format!("client{day}@example.com"))
            .await;
    }
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("first sync");

    let second = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("second sync");

    // A full sync just succeeded, so the next one is incremental.
    assert_eq!(second.kind, SyncKind::Incremental);
    // Nothing changed at Calendly, so nothing may change locally.
    assert_eq!(second.counts.changed(), 0, "report: {second:?}");
    assert_eq!(second.counts.unchanged, 5, "every meeting was seen again");
    // Unchanged, complete meetings must not cost invitee calls (rate-limit budget).
    assert_eq!(second.calls_to("invitees"), 0, "report: {second:?}");

    let forced = world
        .engine
        .sync(SyncRequest { force_full: true })
        .await
        .expect("forced full sync");
    // force_full overrides the 24-hour rule, and is just as idempotent.
    assert_eq!(forced.kind, SyncKind::Full);
    assert_eq!(forced.counts.changed(), 0, "report: {forced:?}");
    assert_eq!(forced.calls_to("invitees"), 0, "report: {forced:?}");
}

#[tokio::test]
async fn updates_and_cancellations_are_applied_as_such() {
    let world = connected_world().await;
    let renamed = world.book("Old name", at(3, 0), "ann@example.com").await;
    let canceled = world.book("Doomed", at(4, 0), "bob@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("first sync");

    world
        .control
        .update_event(&UpdateEventRequest {
            event_uri: renamed.clone(),
            name: Some("New name".to_owned()),
            ..UpdateEventRequest::default()
        })
        .await
        .expect("the fake updates the event");
    world
        .control
        .cancel(&CancelRequest {
            event_uri: Some(canceled.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Host,
            reason: Some("Client moved abroad".to_owned()),
        })
        .await
        .expect("the fake cancels the event");

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("second sync");

    // One rename, one cancellation, nothing else.
    assert_eq!(report.counts.updated, 1, "report: {report:?}");
    assert_eq!(report.counts.canceled, 1, "report: {report:?}");
    assert_eq!(report.counts.created, 0, "report: {report:?}");
    assert_eq!(world.meeting(&renamed).name.as_deref(), Some("New name"));
    let canceled_meeting = world.meeting(&canceled);
    // Canceled meetings are kept, with the reason the advisor needs to see.
    assert_eq!(canceled_meeting.status, MeetingStatus::Canceled);
    assert_eq!(
        canceled_meeting.canceled_reason.as_deref(),
        Some("Client moved abroad")
    );
    assert!(!canceled_meeting.deleted, "canceled is not deleted");
}

/// Writes a meeting into the store that Calendly never had, inside the sync window.
fn plant_meeting_calendly_does_not_have(world: &crate::harness::World, uri: &str) {
    let mut store = Store::open(&world.config.database_path()).expect("the store opens");
    let account = store
        .active_account()
        .expect("accounts can be read")
        .expect("an account is active")
        .account_id;
    let start = at(5, 0);
    let event = FetchedEvent {
        uri: EventUri::new(uri),
        name: Some("Phantom".to_owned()),
        status: Status::Active,
        start_time: start,
        end_time: start + chrono::Duration::minutes(30),
        event_type: None,
        location: Location::default(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        cancellation: None,
        invitees_total: 0,
        invitees_active: 0,
    };
    apply(&mut store, account, vec![MeetingOperation::Create(event)]);
}

fn apply(store: &mut Store, account: AccountId, operations: Vec<MeetingOperation>) {
    let plan = PagePlan {
        operations,
        ..PagePlan::default()
    };
    store
        .apply_page(
            account,
            &plan,
            &HashMap::new(),
            ChangeSource::Poll,
            Utc::now(),
        )
        .expect("the planted change applies");
}

#[tokio::test]
async fn a_meeting_calendly_stops_returning_is_flagged_deleted_and_restored_when_it_returns() {
    let world = connected_world().await;
    let real = world.book("Real", at(1, 0), "ann@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("first sync");
    let phantom = format!(
        "{}/scheduled_events/PHANTOM0000000001",
        world.fake.api_base_url().as_str().trim_end_matches('/')
    );
    plant_meeting_calendly_does_not_have(&world, &phantom);

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("second sync");

    // The planted meeting is in the window but Calendly did not list it: flagged, never removed.
    assert_eq!(report.counts.deleted, 1, "report: {report:?}");
    assert!(
        world.meeting(&phantom).deleted,
        "the phantom is flagged deleted"
    );
    // The real meeting is untouched.
    assert!(
        !world.meeting(&real).deleted,
        "a listed meeting is not deleted"
    );

    // Flag the real meeting deleted behind the engine's back; Calendly still returns it.
    {
        let mut store = Store::open(&world.config.database_path()).expect("the store opens");
        let account = store.active_account().unwrap().unwrap().account_id;
        apply(
            &mut store,
            account,
            vec![MeetingOperation::MarkDeleted(EventUri::new(&real))],
        );
    }
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("third sync");
    // Calendly returned it again, so the deleted flag must clear: a restore.
    assert_eq!(report.counts.restored, 1, "report: {report:?}");
    assert!(
        !world.meeting(&real).deleted,
        "the returning meeting is restored"
    );
    // The phantom stays flagged and is not counted again.
    assert_eq!(report.counts.deleted, 0, "report: {report:?}");
}

#[rstest::rstest]
#[case::new_meeting_earlier(-1, DeliveryOrder::CanceledFirst)]
#[case::new_meeting_later(5, DeliveryOrder::CreatedFirst)]
#[tokio::test]
async fn reschedules_link_both_meetings_in_either_order(
    #[case] days_moved: i64,
    #[case] order: DeliveryOrder,
) {
    let world = connected_world().await;
    let original_start = at(3, 0);
    let booked = world
        .control
        .book(&fake_calendly::BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Annual review".to_owned()),
            start_time: original_start,
            duration_minutes: Some(30),
            invitees: vec![invitee("carol@example.com")],
            location: None,
            invitee_limit: None,
        })
        .await
        .expect("booked");
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("first sync");

    let moved = world
        .control
        .reschedule(&RescheduleRequest {
            invitee_uri: booked.invitee_uris[0].clone(),
            new_start_time: original_start + chrono::Duration::days(days_moved),
            duration_minutes: None,
            order,
        })
        .await
        .expect("the fake reschedules");

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("second sync");

    // A reschedule is a new meeting plus a canceled old one, whichever is listed first.
    assert_eq!(report.counts.created, 1, "report: {report:?}");
    assert_eq!(report.counts.canceled, 1, "report: {report:?}");
    let old = world.meeting(&moved.old_event_uri);
    let new = world.meeting(&moved.new_event_uri);
    // The two halves point at each other so the UI can show "moved to …".
    assert_eq!(
        old.rescheduled_to.as_ref().map(|uri| uri.as_str()),
        Some(moved.new_event_uri.as_str())
    );
    assert_eq!(
        new.rescheduled_from.as_ref().map(|uri| uri.as_str()),
        Some(moved.old_event_uri.as_str())
    );
    assert_eq!(
        old.status,
        MeetingStatus::Canceled,
        "the old half is canceled"
    );
    assert_eq!(new.status, MeetingStatus::Active, "the new half is active");
}

#[tokio::test]
async fn group_events_keep_every_invitee_as_a_client() {
    let world = connected_world().await;
    let group = world
        .book_with(
            "Pension workshop",
            at(6, 0),
            vec![invitee("dan@example.com"), invitee("eve@example.com")],
            None,
            Some(10),
        )
        .await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("first sync");
    world
        .control
        .add_invitee(&AddInviteeRequest {
            event_uri: group.clone(),
            invitee: invitee("fay@example.com"),
        })
        .await
        .expect("the fake adds a third invitee");

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("second sync");

    // A new invitee changes the event (its counter), so its invitees are fetched again.
    assert!(report.calls_to("invitees") >= 1, "report: {report:?}");
    let meeting = world.meeting(&group);
    let mut emails = meeting.client_emails.clone();
    emails.sort();
    // Every invitee of a group event is a client of that meeting.
    assert_eq!(
        emails,
        vec!["dan@example.com", "eve@example.com", "fay@example.com"]
    );
}

#[tokio::test]
async fn invitees_without_optional_fields_and_unknown_locations_sync() {
    let world = connected_world().await;
    let sparse_invitee = InviteeSpec {
        name: "Gus".to_owned(),
        email: "GUS@Example.com".to_owned(),
        first_name: None,
        last_name: None,
        timezone: None,
        questions_and_answers: Vec::new(),
        text_reminder_number: None,
    };
    let hologram = world
        .book_with(
            "Hologram meeting",
            at(2, 3),
            vec![sparse_invitee],
            Some(LocationSpec::Raw {
                value: serde_json::json!({"type": "hologram_room", "room": "7"}),
            }),
            None,
        )
        .await;
    let nowhere = world
        .book_with(
            "No location",
            at(2, 5),
            vec![invitee("hal@example.com")],
            Some(LocationSpec::NoLocation),
            None,
        )
        .await;

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync succeeds");

    // Odd but valid payloads must never fail a sync.
    assert_eq!(report.counts.created, 2, "report: {report:?}");
    // An unknown location type is kept verbatim, not rejected.
    assert_eq!(
        world.meeting(&hologram).location_kind.as_deref(),
        Some("hologram_room")
    );
    // The client key is the normalised e-mail.
    assert_eq!(
        world.meeting(&hologram).client_emails,
        vec!["gus@example.com"]
    );
    // A meeting without a location has nothing to join.
    assert_eq!(
        world.meeting(&nowhere).join_url,
        None,
        "no location, no join link"
    );
}

#[tokio::test]
async fn a_sync_stopped_between_pages_leaves_whole_pages_and_the_next_sync_completes() {
    let world = connected_world().await;
    // 250 past events: at least three pages of 100 in the past pass.
    world.seed(250, at(-200, 0), at(-1, 0)).await;
    let mut events = world.engine.subscribe();

    let engine = world.engine.clone();
    let running = tokio::spawn(async move { engine.sync(SyncRequest::default()).await });
    wait_for_event(
        &mut events,
        "the first applied page",
        |event| matches!(event, EngineEvent::SyncProgress(progress) if progress.pages >= 1),
    )
    .await;
    world.engine.cancel_sync();
    let result = running.await.expect("the sync task ends");

    // The sync stops at a page boundary and says so.
    assert_eq!(result, Err(EngineError::SyncCancelled));
    let stored = world.all_meetings();
    // Only whole pages were applied: fewer than all, and every stored meeting has its invitee.
    assert!(stored.len() < 250, "stopped early, stored {}", stored.len());
    for meeting in &stored {
        assert_eq!(
            meeting.invitees.len(),
            1,
            "meeting {} is complete",
            meeting.uri
        );
    }
    // A stopped sync never flags anything deleted (it did not see the whole window).
    assert!(
        stored.iter().all(|meeting| !meeting.deleted),
        "nothing flagged"
    );

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("the next sync completes");
    // The stopped run was not a successful full sync, so this one is full and finishes the job.
    assert_eq!(report.kind, SyncKind::Full);
    assert_eq!(
        world.all_meetings().len(),
        250,
        "every seeded meeting is stored"
    );
    assert_eq!(report.counts.deleted, 0, "nothing vanished");
}

#[tokio::test]
async fn server_error_storms_are_retried_then_reported_as_offline() {
    let world = connected_world().await;
    world.book("Meeting", at(1, 0), "ann@example.com").await;
    // Two 500s: within the client's four attempts, so the sync succeeds.
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".to_owned(),
            method: Some("GET".to_owned()),
            fault: FaultKind::Status { status: 500 },
            count: 2,
        })
        .await
        .expect("fault injected");
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("retries absorb two 500s");
    assert_eq!(report.counts.created, 1, "report: {report:?}");
    // The run records the trouble it absorbed.
    assert_eq!(report.calls_to("server_errors"), 2, "report: {report:?}");

    // A long storm of 503s outlasts the retries: the sync fails as offline.
    world.book("Second", at(2, 0), "bob@example.com").await;
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".to_owned(),
            method: Some("GET".to_owned()),
            fault: FaultKind::Status { status: 503 },
            count: 50,
        })
        .await
        .expect("fault injected");
    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();
    // Calendly being down reads as "offline" to the advisor, not as a crash.
    assert_eq!(error.code(), "offline", "error: {error}");
    let status = world.engine.status(Utc::now()).expect("status");
    let last = status.last_sync.expect("the failed run is recorded");
    // The failed run is recorded with its error.
    assert!(last.error.is_some(), "the failed run carries its error");

    world.control.clear_faults().await.expect("faults cleared");
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("recovers");
    // After the storm the missed meeting arrives.
    assert_eq!(report.counts.created, 1, "report: {report:?}");
}

#[tokio::test]
async fn rate_limit_storms_fail_the_sync_cleanly_and_the_next_sync_completes() {
    let world = connected_world().await;
    world.book("One", at(1, 0), "ann@example.com").await;
    world.book("Two", at(2, 0), "bob@example.com").await;
    // Every invitee call answers 429 (and these tests do not wait out resets).
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events/".to_owned(),
            method: Some("GET".to_owned()),
            fault: FaultKind::Status { status: 429 },
            count: 20,
        })
        .await
        .expect("fault injected");

    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();

    // The advisor learns it is the rate limit, in words.
    assert!(error.to_string().contains("rate limit"), "error: {error}");
    // The page whose invitees could not be fetched was not applied: no meeting without invitees.
    assert!(world.all_meetings().is_empty(), "no half-applied page");

    world.control.clear_faults().await.expect("faults cleared");
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("the next sync completes");
    assert_eq!(report.counts.created, 2, "report: {report:?}");
}

#[tokio::test]
async fn two_concurrent_syncs_are_one_run() {
    let world = connected_world().await;
    world.seed(30, at(-30, 0), at(30, 0)).await;

    let (first, second) = tokio::join!(
        world.engine.sync(SyncRequest::default()),
        world.engine.sync(SyncRequest::default())
    );

    let first = first.expect("first caller gets a report");
    let second = second.expect("second caller gets a report");
    // The second request joined the first: the very same run, not a second one.
    assert_eq!(first, second);
    assert_eq!(first.counts.created, 30, "report: {first:?}");
}

#[tokio::test]
async fn sync_without_an_account_is_not_connected() {
    let world = unconnected_world().await;
    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();
    // The UI shows the connect screen on this code.
    assert_eq!(error, EngineError::NotConnected);
}

#[tokio::test]
async fn a_revoked_token_makes_the_account_need_reconnecting() {
    let world = connected_world().await;
    world
        .control
        .revoke_tokens(&fake_calendly::TokenActionRequest::default())
        .await
        .expect("the fake revokes every token");

    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();

    // A personal access token cannot be refreshed: the advisor must reconnect.
    assert_eq!(error.code(), "needs_reconnect", "error: {error}");
    let status = world.engine.status(Utc::now()).expect("status");
    assert_eq!(status.state.as_str(), "needs_reconnect");
    assert_eq!(
        status.circuit.as_str(),
        "open",
        "nothing calls Calendly until reconnect"
    );
    // And the next sync is refused without calling Calendly.
    let again = world.engine.sync(SyncRequest::default()).await.unwrap_err();
    assert_eq!(again.code(), "needs_reconnect");
}

#[tokio::test]
async fn the_coming_two_weeks_are_applied_before_the_long_history() {
    let world = connected_world().await;
    // A long history (three pages) and one meeting next week.
    world.seed(250, at(-300, 0), at(-1, 0)).await;
    let next_week = world.book("Next week", at(7, 0), "ann@example.com").await;
    let mut events = world.engine.subscribe();

    let engine = world.engine.clone();
    let running = tokio::spawn(async move { engine.sync(SyncRequest::default()).await });
    wait_for_event(
        &mut events,
        "the first applied page",
        |event| matches!(event, EngineEvent::SyncProgress(progress) if progress.pages >= 1),
    )
    .await;
    let upcoming = world
        .engine
        .meetings(
            &advicly_engine::MeetingQuery {
                status: advicly_engine::MeetingStatusFilter::Upcoming,
                ..advicly_engine::MeetingQuery::default()
            },
            Utc::now(),
        )
        .expect("upcoming meetings can be listed mid-sync");
    // The first page applied is the next two weeks, so next week's meeting is already usable.
    assert_eq!(
        upcoming
            .iter()
            .map(|meeting| meeting.uri.to_string())
            .collect::<Vec<_>>(),
        vec![next_week],
        "upcoming meetings after the first page"
    );
    let report = running.await.expect("task").expect("the sync completes");
    assert_eq!(report.counts.created, 251, "report: {report:?}");
}

#[tokio::test]
async fn progress_counts_pages_events_and_invitee_fetches_down_to_zero_pending() {
    let world = connected_world().await;
    world.seed(150, at(-100, 0), at(20, 0)).await;
    let mut events = world.engine.subscribe();

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");

    let mut progress_updates = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let EngineEvent::SyncProgress(progress) = event {
            progress_updates.push(progress);
        }
    }
    let last = *progress_updates.last().expect("progress was reported");
    // The last update matches the report: every page applied, every invitee list fetched.
    assert_eq!(last, report.progress, "updates: {progress_updates:?}");
    assert_eq!(last.invitees_pending, 0, "nothing left pending at the end");
    assert_eq!(
        u64::from(last.invitees),
        report.calls_to("invitees"),
        "one fetch per call"
    );
    assert_eq!(last.events, 150, "every listed event is counted");
    // Invitee progress only ever grows: listeners can draw a bar from it.
    assert!(
        progress_updates
            .windows(2)
            .all(|pair| pair[0].invitees <= pair[1].invitees),
        "monotonic: {progress_updates:?}"
    );
}

#[tokio::test]
async fn dropped_connections_beyond_the_retries_are_offline() {
    let world = connected_world().await;
    world.book("Meeting", at(1, 0), "ann@example.com").await;
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".to_owned(),
            method: Some("GET".to_owned()),
            fault: FaultKind::DropConnection,
            count: 50,
        })
        .await
        .expect("fault injected");

    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();

    // A connection that keeps breaking is the network, so the advisor sees "offline".
    assert_eq!(error.code(), "offline", "error: {error}");
    world.control.clear_faults().await.expect("faults cleared");
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("recovers");
    assert_eq!(report.counts.created, 1, "report: {report:?}");
}

#[tokio::test]
async fn two_processes_on_one_store_take_turns() {
    let world = connected_world().await;
    world.seed(250, at(-250, 0), at(-1, 0)).await;
    // A second engine on the same folder and keychain service, as the CLI next to the app.
    let other = advicly_engine::Engine::open(world.config.clone()).expect("a second engine opens");
    let mut events = world.engine.subscribe();

    let engine = world.engine.clone();
    let first = tokio::spawn(async move { engine.sync(SyncRequest::default()).await });
    wait_for_event(
        &mut events,
        "the first engine's first page",
        |event| matches!(event, EngineEvent::SyncProgress(progress) if progress.pages >= 1),
    )
    .await;
    let second = other
        .sync(SyncRequest::default())
        .await
        .expect("the second sync runs");
    let first = first
        .await
        .expect("task")
        .expect("the first sync completes");

    // The second waited for the first to finish instead of interleaving pages with it.
    assert!(
        second.started_at >= first.finished_at,
        "first {first:?}, second {second:?}"
    );
    assert_eq!(first.counts.created, 250, "report: {first:?}");
    // It then found nothing to do: the first full sync is recent, and nothing changed.
    assert_eq!(second.kind, SyncKind::Incremental);
    assert_eq!(second.counts.changed(), 0, "report: {second:?}");
}

#[tokio::test]
async fn a_wiping_disconnect_waits_for_a_sync_in_another_process_so_nothing_comes_back() {
    let world = connected_world().await;
    world.seed(320, at(-300, 0), at(30, 0)).await;
    // A second engine on the same folder and keychain: the CLI syncing next to the app.
    let cli = advicly_engine::Engine::open(world.config.clone()).unwrap();
    // Slow pages keep the other process's sync running while the disconnect is asked for.
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".into(),
            method: None,
            fault: FaultKind::Latency { millis: 300 },
            count: 1_000,
        })
        .await
        .unwrap();
    let mut cli_events = cli.subscribe();
    let cli_sync = tokio::spawn({
        let cli = cli.clone();
        async move { cli.sync(SyncRequest::default()).await }
    });
    // SyncStarted is sent once the sync holds the data folder's sync lock.
    wait_for_event(
        &mut cli_events,
        "the other process's sync to start",
        |event| matches!(event, EngineEvent::SyncStarted { .. }),
    )
    .await;

    let report = world
        .engine
        .disconnect(true)
        .await
        .expect("the disconnect completes");

    assert!(report.wiped);
    assert!(
        cli_sync.is_finished(),
        "the disconnect waited for the other process's sync to finish"
    );
    let _ = cli_sync.await;
    world.control.clear_faults().await.unwrap();
    let store = Store::open(&world.config.database_path()).unwrap();
    let account = store
        .active_account()
        .unwrap()
        .expect("the account row stays");
    assert_eq!(
        store.meeting_count(account.account_id).unwrap(),
        0,
        "no meeting was written back after the wipe"
    );
}
