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

fn stored_from(fetched: &FetchedEvent, deleted_in_calendly: bool) -> StoredMeetingState {
    StoredMeetingState {
        uri: fetched.uri.clone(),
        updated_at: fetched.updated_at,
        status: fetched.status.clone(),
        deleted_in_calendly,
        fingerprint: event_fingerprint(fetched),
        stored_invitee_count: fetched.invitees_total,
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
