//! Case tables for every transition the planner knows.

use super::*;
use crate::fixtures::{canceled, event, event_uri, minutes};
use rstest::rstest;

fn kind(operation: &MeetingOperation) -> &'static str {
    match operation {
        MeetingOperation::Create(_) => "create",
        MeetingOperation::Update(_) => "update",
        MeetingOperation::Cancel(_) => "cancel",
        MeetingOperation::Restore(_) => "restore",
        MeetingOperation::Unchanged(_) => "unchanged",
        MeetingOperation::MarkDeleted(_) => "mark_deleted",
    }
}

/// The event every case starts from: active, updated at minute -100.
fn original() -> FetchedEvent {
    FetchedEvent {
        updated_at: minutes(-100),
        created_at: minutes(-100),
        ..event("EV1", minutes(60))
    }
}

/// The state a poll leaves behind: `fetched` stored with every invitee read for its version.
fn stored_from(fetched: &FetchedEvent, deleted_in_calendly: bool) -> StoredMeetingState {
    StoredMeetingState {
        uri: fetched.uri.clone(),
        updated_at: fetched.updated_at,
        status: fetched.status.clone(),
        deleted_in_calendly,
        fingerprint: event_fingerprint(fetched),
        stored_invitee_count: fetched.invitees_total,
        stored_active_invitee_count: fetched.invitees_active,
        invitees_read_for: Some(invitee_read_key(fetched)),
        invitees_read_at: Some(minutes(-99)),
        read_error: false,
    }
}

fn renamed(fetched: &FetchedEvent, name: &str, at: DateTime<Utc>) -> FetchedEvent {
    FetchedEvent {
        name: Some(name.to_owned()),
        updated_at: at,
        ..fetched.clone()
    }
}

fn reactivated(fetched: &FetchedEvent, at: DateTime<Utc>) -> FetchedEvent {
    FetchedEvent {
        status: Status::Active,
        cancellation: None,
        invitees_active: 1,
        updated_at: at,
        ..fetched.clone()
    }
}

fn was_canceled() -> FetchedEvent {
    canceled(&original(), "Moving house", minutes(-50))
}

#[rstest]
#[case::new_active_event(None, original(), "create", true)]
#[case::new_canceled_event(None, was_canceled(), "create", true)]
#[case::same_updated_at_same_content(Some(stored_from(&original(), false)), original(), "unchanged", false)]
#[case::updated_at_moved(Some(stored_from(&original(), false)), renamed(&original(), "Annual review", minutes(-10)), "update", true)]
#[case::content_differs_with_same_updated_at(
    Some(stored_from(&original(), false)),
    renamed(&original(), "Annual review", minutes(-100)),
    "update",
    true
)]
#[case::active_becomes_canceled(Some(stored_from(&original(), false)), was_canceled(), "cancel", true)]
#[case::canceled_seen_again_unchanged(Some(stored_from(&was_canceled(), false)), was_canceled(), "unchanged", false)]
#[case::cancellation_details_changed(
    Some(stored_from(&was_canceled(), false)),
    canceled(&original(), "Changed my mind", minutes(-20)),
    "update",
    true
)]
#[case::canceled_becomes_active(Some(stored_from(&was_canceled(), false)), reactivated(&was_canceled(), minutes(-5)), "restore", true)]
#[case::deleted_returns_unchanged(Some(stored_from(&original(), true)), original(), "restore", false)]
#[case::deleted_returns_canceled(Some(stored_from(&original(), true)), was_canceled(), "cancel", true)]
#[case::deleted_canceled_returns_canceled(Some(stored_from(&was_canceled(), true)), was_canceled(), "update", false)]
#[case::older_copy_never_regresses(
    Some(stored_from(&renamed(&original(), "Annual review", minutes(-10)), false)),
    original(),
    "unchanged",
    false
)]
#[case::older_active_copy_never_uncancels(Some(stored_from(&was_canceled(), false)), original(), "unchanged", false)]
#[case::unknown_status_is_an_update(
    Some(stored_from(&original(), false)),
    FetchedEvent { status: Status::Other("tentative".to_owned()), updated_at: minutes(-10), ..original() },
    "update",
    true
)]
fn one_event_transitions(
    #[case] stored: Option<StoredMeetingState>,
    #[case] fetched: FetchedEvent,
    #[case] expected_operation: &str,
    #[case] expected_invitee_fetch: bool,
) {
    let snapshot = StoredSnapshot::from_states(stored);
    let plan = plan_page(&snapshot, std::slice::from_ref(&fetched));
    // One fetched event yields exactly one operation of the kind the transition table says.
    assert_eq!(plan.operations.len(), 1, "one operation per event");
    assert_eq!(
        kind(&plan.operations[0]),
        expected_operation,
        "operation for {fetched:?}"
    );
    // Invitees are fetched only for new or changed events, never for unchanged ones.
    assert_eq!(
        plan.invitees_needed.contains(&fetched.uri),
        expected_invitee_fetch,
        "invitee fetch decision"
    );
}

#[test]
fn unchanged_event_with_missing_invitees_needs_an_invitee_fetch() {
    // A webhook stored one invitee of a three-person event; the poll must fill in the rest.
    let group = FetchedEvent {
        invitees_total: 3,
        invitees_active: 3,
        ..original()
    };
    let mut stored = stored_from(&group, false);
    stored.stored_invitee_count = 1;
    stored.stored_active_invitee_count = 1;
    // A webhook's partial write never counts as a complete read.
    stored.invitees_read_for = None;
    stored.invitees_read_at = None;
    let plan = plan_page(
        &StoredSnapshot::from_states([stored]),
        std::slice::from_ref(&group),
    );
    assert_eq!(
        kind(&plan.operations[0]),
        "unchanged",
        "the event itself did not change"
    );
    assert_eq!(
        plan.invitees_needed,
        vec![group.uri.clone()],
        "but its invitees are incomplete"
    );
}

#[test]
fn a_page_with_the_same_event_twice_keeps_the_newest_copy() {
    // Pagination can shift while we read; one event must get one operation, from its newest copy.
    let newer = renamed(&original(), "Annual review", minutes(-10));
    let plan = plan_page(&StoredSnapshot::default(), &[newer.clone(), original()]);
    assert_eq!(
        plan.operations,
        vec![MeetingOperation::Create(newer)],
        "newest copy wins"
    );
    assert_eq!(
        plan.invitees_needed.len(),
        1,
        "and its invitees are fetched once"
    );
}

#[test]
fn a_page_keeps_page_order_and_lists_only_needed_invitee_fetches() {
    let unchanged = original();
    let brand_new = event("EV2", minutes(120));
    let changed = renamed(&event("EV3", minutes(180)), "Moved", minutes(-1));
    let snapshot = StoredSnapshot::from_states([
        stored_from(&unchanged, false),
        stored_from(&event("EV3", minutes(180)), false),
    ]);
    let plan = plan_page(
        &snapshot,
        &[unchanged.clone(), brand_new.clone(), changed.clone()],
    );
    let kinds: Vec<&str> = plan.operations.iter().map(kind).collect();
    // Operations follow page order so progress reports line up with what was fetched.
    assert_eq!(
        kinds,
        vec!["unchanged", "create", "update"],
        "operations in page order"
    );
    // The unchanged event costs no invitee call.
    assert_eq!(
        plan.invitees_needed,
        vec![brand_new.uri, changed.uri],
        "only new and changed events"
    );
}

#[rstest]
#[case::not_seen_is_flagged(false, false, true)]
#[case::seen_is_kept(true, false, false)]
#[case::already_flagged_is_not_flagged_again(false, true, false)]
fn vanished_meetings(#[case] seen: bool, #[case] already_deleted: bool, #[case] expect_flag: bool) {
    let stored = stored_from(&original(), already_deleted);
    let seen_uris: HashSet<EventUri> = if seen {
        [original().uri].into()
    } else {
        HashSet::new()
    };
    let operations = plan_vanished(&StoredSnapshot::from_states([stored]), &seen_uris);
    let expected = if expect_flag {
        vec![MeetingOperation::MarkDeleted(event_uri("EV1"))]
    } else {
        Vec::new()
    };
    // Only a meeting that is stored, not yet flagged and missing from Calendly gets flagged.
    assert_eq!(
        operations, expected,
        "seen={seen} already_deleted={already_deleted}"
    );
}

fn freshness_at(now: DateTime<Utc>) -> InviteeFreshness {
    InviteeFreshness::standard(now)
}

/// An unchanged, completely read event: only the freshness rule can ask for its invitees.
fn refresh_decision(
    fetched: FetchedEvent,
    read_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let mut stored = stored_from(&fetched, false);
    stored.invitees_read_at = read_at;
    let plan = plan_poll_page(
        &StoredSnapshot::from_states([stored]),
        std::slice::from_ref(&fetched),
        &freshness_at(now),
    );
    assert_eq!(
        kind(&plan.operations[0]),
        "unchanged",
        "the event is unchanged"
    );
    assert!(
        plan.invitees_needed.is_empty(),
        "nothing is needed for the event itself"
    );
    plan.invitee_refreshes.contains(&fetched.uri)
}

fn meeting_at(start: DateTime<Utc>, invitees: u32) -> FetchedEvent {
    FetchedEvent {
        invitees_total: invitees,
        invitees_active: invitees,
        created_at: minutes(-10_000),
        updated_at: minutes(-10_000),
        ..event("EV1", start)
    }
}

#[rstest]
// A meeting that started or ended recently: every sync, while no-shows can still change.
#[case::in_progress(meeting_at(minutes(-10), 1), Some(minutes(-5)), true)]
#[case::ended_an_hour_ago(meeting_at(minutes(-90), 1), Some(minutes(-5)), true)]
#[case::ended_two_days_ago(meeting_at(minutes(-2 * 1440), 1), Some(minutes(-5)), true)]
// After the window: one more read if the last one was before it closed, then never again.
#[case::window_closed_after_last_read(meeting_at(minutes(-5 * 1440), 1), Some(minutes(-4 * 1440)), true)]
#[case::window_closed_before_last_read(meeting_at(minutes(-5 * 1440), 1), Some(minutes(-60)), false)]
#[case::long_past(meeting_at(minutes(-400 * 1440), 1), Some(minutes(-300 * 1440)), false)]
// Upcoming: groups within two weeks every sync; one-on-ones and far groups never.
#[case::upcoming_one_on_one(meeting_at(minutes(60), 1), Some(minutes(-5)), false)]
#[case::upcoming_group(meeting_at(minutes(3 * 1440), 3), Some(minutes(-5)), true)]
#[case::group_beyond_two_weeks(meeting_at(minutes(20 * 1440), 3), Some(minutes(-5)), false)]
// A read time from the future proves nothing, and a never-read list is read.
#[case::read_in_the_future(meeting_at(minutes(-400 * 1440), 1), Some(minutes(60 * 24 * 30)), true)]
#[case::never_read(meeting_at(minutes(-400 * 1440), 1), None, true)]
fn the_invitee_freshness_rule(
    #[case] fetched: FetchedEvent,
    #[case] read_at: Option<DateTime<Utc>>,
    #[case] expected: bool,
) {
    assert_eq!(refresh_decision(fetched, read_at, minutes(0)), expected);
}

#[test]
fn canceled_meetings_need_no_fresh_invitees() {
    // No-shows are not marked on a canceled meeting, so re-reading it would waste budget.
    let ended = canceled(&meeting_at(minutes(-90), 1), "Ill", minutes(-10_000));
    assert!(!refresh_decision(ended, Some(minutes(-5)), minutes(0)));
}

#[test]
fn counters_that_moved_without_updated_at_need_a_read() {
    // Calendly may change a group member without touching the event's updated_at: the counters
    // (part of the version key) still differ from the version whose invitees were read.
    let read = meeting_at(minutes(3 * 1440), 3);
    let one_canceled = FetchedEvent {
        invitees_active: 2,
        ..read.clone()
    };
    let mut stored = stored_from(&read, false);
    // A webhook moved the row to the new counters without reading every invitee.
    stored.fingerprint = event_fingerprint(&one_canceled);
    let plan = plan_page(
        &StoredSnapshot::from_states([stored]),
        std::slice::from_ref(&one_canceled),
    );
    assert_eq!(kind(&plan.operations[0]), "unchanged");
    assert_eq!(plan.invitees_needed, vec![one_canceled.uri.clone()]);
}

#[test]
fn a_failed_read_is_retried_on_the_next_sync() {
    let fetched = original();
    let mut stored = stored_from(&fetched, false);
    stored.read_error = true;
    let plan = plan_page(
        &StoredSnapshot::from_states([stored]),
        std::slice::from_ref(&fetched),
    );
    assert_eq!(plan.invitees_needed, vec![fetched.uri]);
}

#[rstest]
// A stored updated_at a year ahead is not trusted: content decides, so the real copy wins.
#[case::stored_from_the_future(minutes(60 * 24 * 365), "update")]
// Within the tolerance the guard holds: an older copy stays out.
#[case::stored_slightly_ahead(minutes(30), "unchanged")]
fn a_stored_timestamp_from_the_future_never_freezes_a_row(
    #[case] stored_updated_at: DateTime<Utc>,
    #[case] expected: &str,
) {
    let fetched = renamed(&original(), "Current name", minutes(-1));
    let mut stored = stored_from(&original(), false);
    stored.updated_at = stored_updated_at;
    assert_eq!(
        kind(&classify_event(Some(&stored), &fetched, minutes(0))),
        expected
    );
}

#[test]
fn an_older_copy_of_a_deleted_meeting_does_not_restore_it() {
    let newer = renamed(&original(), "Newer", minutes(-10));
    let stored = stored_from(&newer, true);
    // The delete was seen after the newer version; an older copy proves nothing about now.
    assert_eq!(
        kind(&classify_event(Some(&stored), &original(), minutes(0))),
        "unchanged"
    );
}
