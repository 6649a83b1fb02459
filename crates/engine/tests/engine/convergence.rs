//! The divergences of issue 11, one named deterministic test each: histories after which a sync
//! used to leave the screen different from Calendly.

use chrono::{Duration, Utc};

use advicly_core::domain::{ChangeSource, EventUri, FetchedEvent};
use advicly_core::store::Store;
use advicly_core::sync::{MeetingOperation, PagePlan};
use advicly_engine::{Status as MeetingStatus, SyncRequest};
use fake_calendly::{
    AddInviteeRequest, CancelRequest, Canceler, DeliveryOrder, FaultKind, FaultRequest,
    RescheduleRequest, UpdateEventRequest,
};

use crate::harness::{at, connected_world, invitee, World};

async fn sync(world: &World) -> advicly_engine::SyncReport {
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("the sync succeeds")
}

/// Books a meeting at the fake and returns its event and invitee URIs.
async fn book(
    world: &World,
    name: &str,
    start: chrono::DateTime<Utc>,
    minutes: u32,
    invitees: Vec<fake_calendly::InviteeSpec>,
    invitee_limit: Option<u32>,
) -> fake_calendly::BookingResult {
    world
        .control
        .book(&fake_calendly::BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some(name.to_owned()),
            start_time: start,
            duration_minutes: Some(minutes),
            invitees,
            location: None,
            invitee_limit,
        })
        .await
        .expect("booked")
}

/// Moves one invitee to `start` at the fake (Calendly's reschedule), delivering in `order`.
async fn move_invitee(
    world: &World,
    invitee_uri: &str,
    start: chrono::DateTime<Utc>,
    order: DeliveryOrder,
    what: &str,
) -> fake_calendly::RescheduleResult {
    world
        .control
        .reschedule(&RescheduleRequest {
            invitee_uri: invitee_uri.to_owned(),
            new_start_time: start,
            duration_minutes: None,
            order,
        })
        .await
        .expect(what)
}

fn invitee_fault(event_uri: &str, status: u16) -> FaultRequest {
    let id = event_uri.rsplit('/').next().expect("an event id");
    FaultRequest {
        path_prefix: format!("/scheduled_events/{id}/invitees"),
        method: Some("GET".to_owned()),
        fault: FaultKind::Status { status },
        count: 1_000,
    }
}

// ---- 1. no-shows arrive by polling -------------------------------------------------------------

#[tokio::test]
async fn a_no_show_marked_after_the_meeting_arrives_by_polling_and_so_does_its_unmark() {
    let world = connected_world().await;
    // Ended an hour and a half ago: the advisor marks no-shows after the meeting.
    let booked = book(
        &world,
        "Review",
        at(0, -2),
        30,
        vec![invitee("ann@example.com")],
        None,
    )
    .await;
    sync(&world).await;

    world
        .control
        .mark_no_show(&booked.invitee_uris[0])
        .await
        .expect("the fake marks the no-show");
    sync(&world).await;
    // The no-show changes the invitee, not the event; the poll must still see it.
    assert!(
        world.meeting_detail(&booked.event_uri).invitees[0].no_show,
        "the no-show arrived by polling"
    );

    world
        .control
        .unmark_no_show(&booked.invitee_uris[0])
        .await
        .expect("the fake unmarks the no-show");
    sync(&world).await;
    assert!(
        !world.meeting_detail(&booked.event_uri).invitees[0].no_show,
        "the unmark arrived by polling"
    );
}

// ---- 2. one unreadable event does not stop the sync --------------------------------------------

#[tokio::test]
async fn one_unreadable_event_is_stored_with_its_error_and_the_rest_of_the_sync_goes_on() {
    let world = connected_world().await;
    let readable = world.book("Readable", at(1, 0), "ann@example.com").await;
    let unreadable = world.book("Unreadable", at(2, 0), "bob@example.com").await;
    let far = world
        .book("Far ahead", at(40, 0), "carol@example.com")
        .await;
    // A 403 for this event's invitees on every attempt (an organisation the advisor left).
    world
        .control
        .inject_fault(&invitee_fault(&unreadable, 403))
        .await
        .expect("fault injected");

    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("one unreadable event must not fail the sync");

    // Every listed meeting is stored, the bookings beyond two weeks included.
    assert_eq!(report.counts.created, 3, "report: {report:?}");
    assert_eq!(world.meeting(&readable).invitees.len(), 1);
    assert_eq!(world.meeting(&far).invitees.len(), 1);
    // The unreadable one is stored with what is known: the event, without invitees.
    assert_eq!(
        world.meeting(&unreadable).name.as_deref(),
        Some("Unreadable")
    );
    assert!(world.meeting(&unreadable).invitees.is_empty());
    assert_eq!(report.unreadable, 1, "report: {report:?}");
    // The meeting carries its own error, and the status line says what happened, in words.
    let error = world
        .meeting(&unreadable)
        .read_error
        .expect("a per-meeting error");
    assert!(error.contains("permission"), "error: {error}");
    assert_eq!(world.meeting(&readable).read_error, None);
    let status = world.engine.status(Utc::now()).expect("status");
    let last = status.last_sync.expect("the run is recorded");
    assert_eq!(last.error, None, "the run itself succeeded");
    assert_eq!(
        last.warning.as_deref(),
        Some(format!("1 meeting could not be read from Calendly: {error}").as_str())
    );

    world.control.clear_faults().await.expect("faults cleared");
    let retry = sync(&world).await;
    // The run succeeded, so the next one is incremental; it retries the unreadable event.
    assert_eq!(retry.kind, advicly_engine::SyncKind::Incremental);
    assert_eq!(retry.calls_to("invitees"), 1, "report: {retry:?}");
    assert_eq!(world.meeting(&unreadable).invitees.len(), 1);
    assert_eq!(
        world.meeting(&unreadable).read_error,
        None,
        "the error clears"
    );
    let status = world.engine.status(Utc::now()).expect("status");
    assert_eq!(status.last_sync.and_then(|last| last.warning), None);
}

#[tokio::test]
async fn a_five_hundred_that_keeps_coming_back_for_one_event_is_isolated_too() {
    let world = connected_world().await;
    let flaky = world.book("Flaky", at(1, 0), "ann@example.com").await;
    world.book("Fine", at(3, 0), "bob@example.com").await;
    world
        .control
        .inject_fault(&invitee_fault(&flaky, 500))
        .await
        .expect("fault injected");

    let report = sync(&world).await;

    assert_eq!(
        (report.counts.created, report.unreadable),
        (2, 1),
        "report: {report:?}"
    );
    assert!(world.meeting(&flaky).read_error.is_some());
}

// ---- 3. reschedules are per invitee ------------------------------------------------------------

#[tokio::test]
async fn one_member_moving_leaves_the_group_meeting_active_and_not_rescheduled() {
    let world = connected_world().await;
    let booked = book(
        &world,
        "Pension workshop",
        at(5, 0),
        60,
        vec![
            invitee("dan@example.com"),
            invitee("eve@example.com"),
            invitee("fay@example.com"),
        ],
        Some(10),
    )
    .await;
    sync(&world).await;

    let moved = move_invitee(
        &world,
        &booked.invitee_uris[0],
        at(6, 0),
        DeliveryOrder::CanceledFirst,
        "rescheduled",
    )
    .await;
    sync(&world).await;

    let workshop = world.meeting(&booked.event_uri);
    // Two of three still attend: the workshop is active and must not read "Rescheduled to …".
    assert_eq!(workshop.status, MeetingStatus::Active);
    assert_eq!(workshop.rescheduled_to, None, "workshop: {workshop:?}");
    // It says how many moved instead.
    assert_eq!(workshop.reschedule_note.as_deref(), Some("1 of 3 moved"));
    assert_eq!((workshop.moved_invitees, workshop.invitee_count), (1, 3));
    let new = world.meeting(&moved.new_event_uri);
    // The new booking came wholly from the workshop.
    assert_eq!(
        new.rescheduled_from.as_ref().map(EventUri::as_str),
        Some(booked.event_uri.as_str())
    );
    // The link belongs to the invitee: Dan's row on the workshop points at his new booking.
    let detail = world.meeting_detail(&booked.event_uri);
    let dan = detail
        .invitees
        .iter()
        .find(|member| member.email == "dan@example.com")
        .expect("Dan is stored");
    assert_eq!(
        dan.rescheduled_to.as_ref().map(EventUri::as_str),
        Some(moved.new_event_uri.as_str())
    );
    assert_eq!(dan.rescheduled_to_start, Some(at(6, 0)));
    let eve = detail
        .invitees
        .iter()
        .find(|member| member.email == "eve@example.com")
        .expect("Eve is stored");
    assert_eq!(eve.rescheduled_to, None, "Eve did not move");
}

#[tokio::test]
async fn a_one_on_one_that_moved_still_reads_rescheduled_to_its_new_time() {
    let world = connected_world().await;
    let booked = book(
        &world,
        "Intro",
        at(2, 0),
        30,
        vec![invitee("kim@example.com")],
        None,
    )
    .await;
    sync(&world).await;
    let moved = move_invitee(
        &world,
        &booked.invitee_uris[0],
        at(9, 0),
        DeliveryOrder::CreatedFirst,
        "rescheduled",
    )
    .await;
    sync(&world).await;

    let old = world.meeting(&booked.event_uri);
    assert_eq!(
        old.rescheduled_to.as_ref().map(EventUri::as_str),
        Some(moved.new_event_uri.as_str())
    );
    assert_eq!(old.rescheduled_to_start, Some(at(9, 0)));
    assert_eq!(
        old.reschedule_note, None,
        "no 'of' count for a meeting that moved as a whole"
    );
}

#[tokio::test]
async fn a_reschedule_chain_can_be_followed_from_the_first_booking_to_the_last() {
    let world = connected_world().await;
    let booked = book(
        &world,
        "Annual review",
        at(3, 0),
        30,
        vec![invitee("gus@example.com")],
        None,
    )
    .await;
    sync(&world).await;
    let first_move = move_invitee(
        &world,
        &booked.invitee_uris[0],
        at(4, 0),
        DeliveryOrder::CreatedFirst,
        "first move",
    )
    .await;
    let second_move = move_invitee(
        &world,
        &first_move.new_invitee_uri,
        at(20, 0),
        DeliveryOrder::CanceledFirst,
        "second move",
    )
    .await;
    sync(&world).await;

    let (a, b, c) = (
        world.meeting(&booked.event_uri),
        world.meeting(&first_move.new_event_uri),
        world.meeting(&second_move.new_event_uri),
    );
    // A → B → C, each link in both directions, across the two-week pass boundary.
    assert_eq!(
        a.rescheduled_to.as_ref().map(EventUri::as_str),
        Some(b.uri.as_str())
    );
    assert_eq!(
        b.rescheduled_from.as_ref().map(EventUri::as_str),
        Some(a.uri.as_str())
    );
    assert_eq!(
        b.rescheduled_to.as_ref().map(EventUri::as_str),
        Some(c.uri.as_str())
    );
    assert_eq!(
        c.rescheduled_from.as_ref().map(EventUri::as_str),
        Some(b.uri.as_str())
    );
    assert_eq!(c.rescheduled_to, None, "the chain ends at C");
    assert_eq!(c.status, MeetingStatus::Active);
    // The invitee in the middle of the chain names both neighbours.
    let middle = &world.meeting_detail(b.uri.as_str()).invitees[0];
    assert_eq!(middle.rescheduled_from.as_ref(), Some(&a.uri));
    assert_eq!(middle.rescheduled_to.as_ref(), Some(&c.uri));
}

// ---- 4. group repair ---------------------------------------------------------------------------

#[tokio::test]
async fn a_lost_cancel_in_a_group_is_repaired_by_the_next_poll() {
    let world = connected_world().await;
    let booked = book(
        &world,
        "Budget class",
        at(4, 0),
        60,
        vec![invitee("hal@example.com"), invitee("ivy@example.com")],
        Some(10),
    )
    .await;
    sync(&world).await;
    // Hal cancels; that webhook is lost.
    world
        .control
        .cancel(&CancelRequest {
            event_uri: None,
            invitee_uri: Some(booked.invitee_uris[0].clone()),
            canceled_by: Canceler::Invitee,
            reason: Some("Ill".to_owned()),
        })
        .await
        .expect("one member cancels");
    // Jon joins; that webhook arrives and moves the event row forward.
    let joined = world
        .control
        .add_invitee(&AddInviteeRequest {
            event_uri: booked.event_uri.clone(),
            invitee: invitee("jon@example.com"),
        })
        .await
        .expect("a member joins");
    world.deliver_webhook_about(&joined).await;

    sync(&world).await;

    let class = world.meeting(&booked.event_uri);
    let hal = class
        .invitees
        .iter()
        .find(|member| member.email == "hal@example.com")
        .expect("Hal is stored");
    // The poll notices Hal's stale status although no invitee is missing.
    assert_eq!(hal.status, MeetingStatus::Canceled, "class: {class:?}");
    assert_eq!(class.invitees.len(), 3);
}

// ---- 5. deleted only when confirmed ------------------------------------------------------------

#[tokio::test]
async fn a_meeting_one_listing_skipped_is_confirmed_live_and_not_flagged_deleted() {
    let world = connected_world().await;
    let first = world.book("First", at(1, 0), "ann@example.com").await;
    world.book("Second", at(2, 0), "bob@example.com").await;
    sync(&world).await;
    // The next listing leaves the first meeting out, as if the order shifted between pages.
    world
        .control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".to_owned(),
            method: Some("GET".to_owned()),
            fault: FaultKind::OmitFirstListed,
            count: 1,
        })
        .await
        .expect("fault injected");
    world.control.reset_stats().await.expect("stats reset");

    let report = sync(&world).await;

    assert_eq!(report.counts.deleted, 0, "report: {report:?}");
    assert!(
        !world.meeting(&first).deleted,
        "a live meeting is never flagged"
    );
    let stats = world.control.stats().await.expect("stats");
    // Calendly was asked about the missing meeting directly.
    assert_eq!(
        stats.api_calls.get("GET /scheduled_events/{uuid}").copied(),
        Some(1),
        "stats: {stats:?}"
    );
}

#[tokio::test]
async fn a_vanished_meeting_is_flagged_deleted_once_calendly_answers_404_for_it() {
    let world = connected_world().await;
    let gone = world.book("Gone", at(1, 0), "ann@example.com").await;
    sync(&world).await;
    world.control.vanish_event(&gone).await.expect("vanished");

    let report = sync(&world).await;

    assert_eq!(report.counts.deleted, 1, "report: {report:?}");
    assert!(world.meeting(&gone).deleted);
}

#[tokio::test]
async fn a_repeated_page_token_fails_the_sync_instead_of_ending_the_listing() {
    let world = connected_world().await;
    // Three pages in the past pass.
    world.seed(250, at(-200, 0), at(-1, 0)).await;
    sync(&world).await;
    // The past pass's second page names its own token as the next one. The listings before it
    // (the coming two weeks, the past pass's first page) are let through.
    world
        .control
        .inject_fault_after(
            &FaultRequest {
                path_prefix: "/scheduled_events".to_owned(),
                method: Some("GET".to_owned()),
                fault: FaultKind::RepeatPageToken,
                count: 1,
            },
            2,
        )
        .await
        .expect("fault injected");

    // A full sync, so the past pass has all three pages.
    let result = world.engine.sync(SyncRequest { force_full: true }).await;

    assert!(result.is_err(), "a repeated token is an error: {result:?}");
    // The unread third page is not mistaken for meetings that vanished.
    assert!(
        world.all_meetings().iter().all(|meeting| !meeting.deleted),
        "nothing is flagged deleted"
    );
}

// ---- 6. clocks ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_stored_update_time_from_the_future_does_not_freeze_the_meeting() {
    let world = connected_world().await;
    let uri = world.book("Old name", at(2, 0), "ann@example.com").await;
    sync(&world).await;
    // Something (a bad clock, a bad payload) stored an updated_at a year ahead.
    let client = world.calendly_client().await;
    let current = client
        .get_scheduled_event(&EventUri::new(&uri))
        .await
        .expect("the fake returns the event");
    let from_the_future = FetchedEvent {
        updated_at: Utc::now() + Duration::days(365),
        name: Some("Stale".to_owned()),
        ..current
    };
    apply_as_poll(&world, MeetingOperation::Update(from_the_future));

    world
        .control
        .update_event(&UpdateEventRequest {
            event_uri: uri.clone(),
            name: Some("New name".to_owned()),
            ..UpdateEventRequest::default()
        })
        .await
        .expect("renamed at the fake");
    sync(&world).await;

    assert_eq!(world.meeting(&uri).name.as_deref(), Some("New name"));
}

fn apply_as_poll(world: &World, operation: MeetingOperation) {
    let mut store: Store = world.store();
    store
        .apply_page(
            world.account(),
            &PagePlan {
                operations: vec![operation],
                ..PagePlan::default()
            },
            &std::collections::HashMap::new(),
            ChangeSource::Poll,
            Utc::now(),
        )
        .expect("the planted change applies");
}

#[tokio::test]
async fn the_freshness_rule_costs_one_invitee_call_per_recent_meeting_and_none_for_the_rest() {
    let world = connected_world().await;
    // One meeting that just ended, one long past, one upcoming one-on-one, one upcoming group.
    world.book("Just ended", at(0, -2), "ann@example.com").await;
    world.book("Long past", at(-40, 0), "bob@example.com").await;
    world.book("Next week", at(7, 0), "carol@example.com").await;
    world
        .book_with(
            "Workshop",
            at(3, 0),
            vec![invitee("dan@example.com"), invitee("eve@example.com")],
            None,
            Some(10),
        )
        .await;
    sync(&world).await;

    let unchanged = sync(&world).await;

    // Nothing changed, so the only invitee calls are the rule's: the ended meeting and the group.
    assert_eq!(unchanged.counts.changed(), 0, "report: {unchanged:?}");
    assert_eq!(unchanged.invitee_refreshes, 2, "report: {unchanged:?}");
    assert_eq!(unchanged.calls_to("invitees"), 2, "report: {unchanged:?}");
}
