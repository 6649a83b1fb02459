//! Apply tests against real SQLite files: idempotency, transitions, reschedules, group events,
//! webhook changes, crash safety and a convergence property.

use super::*;
use crate::domain::{InviteeUri, Location};
use crate::fixtures::{base_time, canceled, days, event, event_uri, invitee, minutes, window};
use crate::store::{MeetingFilter, MeetingStatusFilter};
use crate::sync::plan_page;
use crate::test_support::{dump, run_sync, store_with_account, FakeCalendly, SyncResult};
use proptest::prelude::*;
use rstest::rstest;

fn calendly_with(
    events: Vec<(FetchedEvent, Vec<FetchedInvitee>)>,
    page_size: usize,
) -> FakeCalendly {
    let mut calendly = FakeCalendly::default();
    for chunk in events.chunks(page_size.max(1)) {
        calendly
            .pages
            .push(chunk.iter().map(|(event, _)| event.clone()).collect());
        for (event, invitees) in chunk {
            calendly
                .invitees
                .insert(event.uri.clone(), invitees.clone());
        }
    }
    calendly
}

fn group_event() -> (FetchedEvent, Vec<FetchedInvitee>) {
    let group = FetchedEvent {
        name: Some("Retirement workshop".to_owned()),
        invitees_total: 3,
        invitees_active: 3,
        ..event("GROUP", days(4))
    };
    let invitees = vec![
        invitee(&group, "G1", "ann@example.com", "Ann Smith"),
        invitee(&group, "G2", "bob@example.com", "Bob Jones"),
        invitee(&group, "G3", "carol@example.com", "Carol Diaz"),
    ];
    (group, invitees)
}

fn sample_calendly() -> FakeCalendly {
    let one = event("ONE", days(1));
    let two = canceled(&event("TWO", days(2)), "Travel", minutes(-30));
    let three = event("THREE", days(-3));
    calendly_with(
        vec![
            (
                one.clone(),
                vec![invitee(&one, "I1", "ann@example.com", "Ann Smith")],
            ),
            (
                two.clone(),
                vec![invitee(&two, "I2", "bob@example.com", "Bob Jones")],
            ),
            (
                three.clone(),
                vec![invitee(&three, "I3", "ann@example.com", "Ann Smith")],
            ),
            group_event(),
        ],
        2,
    )
}

fn stored_meeting(
    store: &Store,
    account: AccountId,
    event_id: &str,
) -> crate::store::MeetingDetail {
    store
        .meeting_detail(account, &event_uri(event_id))
        .unwrap()
        .unwrap_or_else(|| panic!("meeting {event_id} is stored"))
}

#[test]
fn a_sync_applied_twice_changes_nothing_the_second_time() {
    let (mut temp, account) = store_with_account();
    let calendly = sample_calendly();
    let first = run_sync(
        &mut temp.store,
        account,
        &calendly,
        window(30, 30),
        base_time(),
    );
    // Everything is new the first time, and every event's invitees are fetched once.
    assert_eq!(
        (
            first.counts.created,
            first.counts.changed(),
            first.invitee_fetches.len()
        ),
        (4, 4, 4),
        "first sync: {first:?}"
    );
    assert_eq!(first.invitees_written, 6, "six invitees written");
    let after_first = dump(&temp.store);

    let second = run_sync(
        &mut temp.store,
        account,
        &calendly,
        window(30, 30),
        minutes(15),
    );
    // Nothing changed in Calendly, so nothing is written and no invitee is fetched.
    assert_eq!(
        second,
        SyncResult {
            counts: SyncCounts {
                unchanged: 4,
                ..SyncCounts::default()
            },
            invitee_fetches: Vec::new(),
            invitees_written: 0,
        },
        "second sync"
    );
    assert_eq!(
        dump(&temp.store),
        after_first,
        "stored data identical after the second sync"
    );
}

#[test]
fn replaying_an_applied_plan_counts_everything_as_unchanged() {
    let (mut temp, account) = store_with_account();
    let calendly = sample_calendly();
    let page = &calendly.pages[0];
    let plan = plan_page(&StoredSnapshot::default(), page);
    let invitees: HashMap<_, _> = page
        .iter()
        .map(|event| (event.uri.clone(), calendly.invitees[&event.uri].clone()))
        .collect();
    let first = temp
        .store
        .apply_page(account, &plan, &invitees, ChangeSource::Poll, base_time())
        .unwrap();
    let before = dump(&temp.store);
    let replay = temp
        .store
        .apply_page(account, &plan, &invitees, ChangeSource::Poll, base_time())
        .unwrap();
    assert_eq!(first.counts.created, 2, "the plan creates two meetings");
    // Apply re-checks each operation inside its transaction, so a replayed plan is harmless.
    assert_eq!(
        replay,
        ApplyOutcome {
            counts: SyncCounts {
                unchanged: 2,
                ..SyncCounts::default()
            },
            invitees_written: 0,
            unreadable: 0,
        },
        "replay"
    );
    assert_eq!(dump(&temp.store), before, "replay wrote nothing");
}

#[test]
fn a_meeting_goes_through_cancel_restore_delete_and_return() {
    let (mut temp, account) = store_with_account();
    let original = event("LIFE", days(3));
    let people = |event: &FetchedEvent| vec![invitee(event, "L1", "ann@example.com", "Ann Smith")];
    let sync = |store: &mut Store, events: Vec<FetchedEvent>, at| {
        let pairs = events.into_iter().map(|event| {
            let invitees = people(&event);
            (event, invitees)
        });
        run_sync(
            store,
            account,
            &calendly_with(pairs.collect(), 10),
            window(30, 30),
            at,
        )
    };

    let created = sync(&mut temp.store, vec![original.clone()], minutes(0));
    assert_eq!(created.counts.created, 1, "created");

    let was_canceled = canceled(&original, "Sick", minutes(5));
    let canceled_run = sync(&mut temp.store, vec![was_canceled.clone()], minutes(10));
    let stored = stored_meeting(&temp.store, account, "LIFE");
    // The cancellation with its reason and canceler is kept on the meeting.
    assert_eq!(canceled_run.counts.canceled, 1, "canceled");
    assert_eq!(stored.meeting.status, Status::Canceled, "status");
    assert_eq!(
        stored
            .meeting
            .cancellation
            .as_ref()
            .and_then(|c| c.reason.as_deref()),
        Some("Sick"),
        "reason"
    );

    let back = FetchedEvent {
        updated_at: minutes(15),
        ..original.clone()
    };
    let restored = sync(&mut temp.store, vec![back.clone()], minutes(20));
    let stored = stored_meeting(&temp.store, account, "LIFE");
    assert_eq!(restored.counts.restored, 1, "restored");
    assert_eq!(
        (
            stored.meeting.status.clone(),
            stored.meeting.cancellation.clone()
        ),
        (Status::Active, None),
        "active again"
    );

    let vanished = sync(&mut temp.store, vec![], minutes(30));
    let stored = stored_meeting(&temp.store, account, "LIFE");
    // Sync never deletes a meeting; it flags it and the Deleted filter still finds it.
    assert_eq!(vanished.counts.deleted, 1, "flagged");
    assert!(stored.meeting.deleted_in_calendly, "flag set");
    let deleted_filter = MeetingFilter {
        status: MeetingStatusFilter::Deleted,
        ..MeetingFilter::default()
    };
    assert_eq!(
        temp.store
            .meetings(account, &deleted_filter, minutes(30))
            .unwrap()
            .len(),
        1,
        "still listed as deleted"
    );
    let again = sync(&mut temp.store, vec![], minutes(35));
    assert_eq!(
        again.counts,
        SyncCounts::default(),
        "a flagged meeting is not flagged twice"
    );

    let returned = sync(&mut temp.store, vec![back], minutes(40));
    let stored = stored_meeting(&temp.store, account, "LIFE");
    assert_eq!(
        returned.counts.restored, 1,
        "a meeting Calendly returns again is restored"
    );
    assert!(!stored.meeting.deleted_in_calendly, "flag cleared");
    assert_eq!(
        stored.meeting.first_seen_at,
        minutes(0),
        "first seen is kept through all of it"
    );
    assert_eq!(
        stored.meeting.last_seen_at,
        minutes(40),
        "last seen follows the latest sync"
    );
}

/// The two halves of a reschedule of Ann's meeting from OLD (day 2) to NEW (day 6).
fn reschedule(
    nested_invitee_uris: bool,
    new_half_names_old: bool,
) -> [(FetchedEvent, FetchedInvitee); 2] {
    let old_event = canceled(&event("OLD", days(2)), "", minutes(-20));
    let new_event = FetchedEvent {
        created_at: minutes(-20),
        updated_at: minutes(-20),
        ..event("NEW", days(6))
    };
    let (old_uri, new_uri) = if nested_invitee_uris {
        (
            crate::fixtures::invitee_uri("OLD", "OLDINV"),
            crate::fixtures::invitee_uri("NEW", "NEWINV"),
        )
    } else {
        // Legacy-looking URIs that do not reveal their event: only stored rows can link them.
        (
            InviteeUri::new("https://api.calendly.com/invitees/OLDINV"),
            InviteeUri::new("https://api.calendly.com/invitees/NEWINV"),
        )
    };
    let old_invitee = FetchedInvitee {
        uri: old_uri.clone(),
        status: Status::Canceled,
        rescheduled: true,
        new_invitee: Some(new_uri.clone()),
        cancellation: old_event.cancellation.clone(),
        updated_at: minutes(-20),
        ..invitee(&old_event, "OLDINV", "ann@example.com", "Ann Smith")
    };
    let new_invitee = FetchedInvitee {
        uri: new_uri,
        old_invitee: new_half_names_old.then_some(old_uri),
        created_at: minutes(-20),
        updated_at: minutes(-20),
        ..invitee(&new_event, "NEWINV", "ann@example.com", "Ann Smith")
    };
    [(old_event, old_invitee), (new_event, new_invitee)]
}

#[rstest]
fn reschedules_are_stitched_whichever_half_arrives_first(
    #[values(true, false)] old_half_first: bool,
    #[values(true, false)] nested_invitee_uris: bool,
    #[values(true, false)] new_half_names_old: bool,
    #[values(true, false)] via_webhook: bool,
) {
    let (mut temp, account) = store_with_account();
    let mut halves = reschedule(nested_invitee_uris, new_half_names_old).to_vec();
    if !old_half_first {
        halves.reverse();
    }
    for (step, (event, invitee)) in halves.iter().enumerate() {
        if via_webhook {
            temp.store
                .apply_webhook_change(account, event, invitee, minutes(step as i64))
                .unwrap();
        } else {
            let plan = plan_page(
                &temp
                    .store
                    .stored_states(account, std::slice::from_ref(&event.uri))
                    .unwrap(),
                std::slice::from_ref(event),
            );
            let invitees = HashMap::from([(event.uri.clone(), vec![invitee.clone()])]);
            temp.store
                .apply_page(
                    account,
                    &plan,
                    &invitees,
                    ChangeSource::Poll,
                    minutes(step as i64),
                )
                .unwrap();
        }
    }
    let old = stored_meeting(&temp.store, account, "OLD").meeting;
    let new = stored_meeting(&temp.store, account, "NEW").meeting;
    let case = format!("old first {old_half_first}, nested {nested_invitee_uris}, new names old {new_half_names_old}");
    // Both meetings point at each other, so the UI can show "rescheduled to/from".
    assert_eq!(
        old.rescheduled_to,
        Some(event_uri("NEW")),
        "old → new ({case})"
    );
    assert_eq!(
        new.rescheduled_from,
        Some(event_uri("OLD")),
        "new ← old ({case})"
    );
    assert_eq!(
        old.rescheduled_to_start,
        Some(days(6)),
        "start of the new meeting for the badge ({case})"
    );
    // The client's history keeps both: the canceled original and the new meeting.
    let history = temp
        .store
        .client_meetings(account, "ann@example.com", base_time())
        .unwrap();
    let ids: Vec<&str> = history.iter().map(|meeting| meeting.uri.id()).collect();
    assert_eq!(
        ids,
        vec!["OLD", "NEW"],
        "client linked to both meetings ({case})"
    );
    let client = temp
        .store
        .client(account, "ann@example.com", base_time())
        .unwrap()
        .unwrap();
    assert_eq!(
        (client.meeting_count, client.canceled_meeting_count),
        (1, 1),
        "one held, one rescheduled away ({case})"
    );
}

#[test]
fn a_group_event_links_every_invitee_as_a_client() {
    let (mut temp, account) = store_with_account();
    let (group, invitees) = group_event();
    run_sync(
        &mut temp.store,
        account,
        &calendly_with(vec![(group, invitees)], 1),
        window(30, 30),
        base_time(),
    );
    let meeting = stored_meeting(&temp.store, account, "GROUP").meeting;
    // One meeting, three people: each becomes a client linked to the same meeting.
    assert_eq!(
        meeting.client_emails,
        vec![
            "ann@example.com".to_owned(),
            "bob@example.com".to_owned(),
            "carol@example.com".to_owned()
        ],
        "three linked clients"
    );
    for name in ["ann", "bob", "carol"] {
        let filter = MeetingFilter {
            search: Some(name.to_owned()),
            ..MeetingFilter::default()
        };
        let found = temp.store.meetings(account, &filter, base_time()).unwrap();
        assert_eq!(
            found.len(),
            1,
            "the group meeting is found by invitee {name}"
        );
    }
}

#[test]
fn a_group_member_who_cancels_keeps_the_history_but_not_the_next_meeting() {
    let (mut temp, account) = store_with_account();
    let (group, invitees) = group_event();
    run_sync(
        &mut temp.store,
        account,
        &calendly_with(vec![(group.clone(), invitees.clone())], 1),
        window(30, 30),
        base_time(),
    );
    // Bob cancels his place; the workshop itself stays active for Ann and Carol.
    let group_after = FetchedEvent {
        invitees_active: 2,
        updated_at: minutes(-5),
        ..group.clone()
    };
    let bob_canceled = FetchedInvitee {
        status: Status::Canceled,
        cancellation: Some(crate::domain::Cancellation {
            canceled_by: Some("Bob Jones".to_owned()),
            reason: Some("Clash".to_owned()),
            canceler_type: Some("invitee".to_owned()),
            created_at: Some(minutes(-5)),
        }),
        updated_at: minutes(-5),
        ..invitees[1].clone()
    };
    temp.store
        .apply_webhook_change(account, &group_after, &bob_canceled, base_time())
        .unwrap();
    let bob = temp
        .store
        .client(account, "bob@example.com", base_time())
        .unwrap()
        .unwrap();
    let ann = temp
        .store
        .client(account, "ann@example.com", base_time())
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            bob.meeting_count,
            bob.canceled_meeting_count,
            bob.next_meeting
        ),
        (0, 1, None),
        "Bob no longer attends"
    );
    assert_eq!(
        (ann.meeting_count, ann.next_meeting),
        (1, Some(days(4))),
        "Ann still does"
    );
    let history = temp
        .store
        .client_meetings(account, "bob@example.com", base_time())
        .unwrap();
    assert_eq!(history.len(), 1, "the workshop stays in Bob's history");
}

#[test]
fn webhook_changes_are_idempotent_and_never_regress() {
    let (mut temp, account) = store_with_account();
    let booked = event("HOOK", days(2));
    let booked_invitee = invitee(&booked, "H1", "ann@example.com", "Ann Smith");
    let first = temp
        .store
        .apply_webhook_change(account, &booked, &booked_invitee, minutes(0))
        .unwrap();
    assert_eq!(
        (first.counts.created, first.invitees_written),
        (1, 1),
        "webhook creates meeting and invitee"
    );
    let repeat = temp
        .store
        .apply_webhook_change(account, &booked, &booked_invitee, minutes(1))
        .unwrap();
    // Calendly retries deliveries; the same delivery twice must change nothing.
    assert!(
        !repeat.changed_anything(),
        "redelivery is a no-op: {repeat:?}"
    );

    let canceled_event = canceled(&booked, "No longer needed", minutes(10));
    let canceled_invitee = FetchedInvitee {
        status: Status::Canceled,
        cancellation: canceled_event.cancellation.clone(),
        updated_at: minutes(10),
        ..booked_invitee.clone()
    };
    let cancel = temp
        .store
        .apply_webhook_change(account, &canceled_event, &canceled_invitee, minutes(11))
        .unwrap();
    assert_eq!(cancel.counts.canceled, 1, "cancel delivery cancels");

    // The older "created" delivery arrives late: it must not un-cancel anything.
    let late = temp
        .store
        .apply_webhook_change(account, &booked, &booked_invitee, minutes(12))
        .unwrap();
    assert!(
        !late.changed_anything(),
        "an older payload is ignored: {late:?}"
    );
    let stored = stored_meeting(&temp.store, account, "HOOK");
    assert_eq!(
        stored.meeting.status,
        Status::Canceled,
        "meeting stays canceled"
    );
    assert_eq!(
        stored.invitees[0].status,
        Status::Canceled,
        "invitee stays canceled"
    );
    assert_eq!(
        stored.meeting.last_change_source,
        ChangeSource::Webhook,
        "source recorded"
    );

    // A poll returning an older copy of the event does not regress the webhook's newer row either.
    let poll = run_sync(
        &mut temp.store,
        account,
        &calendly_with(vec![(booked.clone(), vec![booked_invitee.clone()])], 1),
        window(30, 30),
        minutes(20),
    );
    assert_eq!(
        poll.counts,
        SyncCounts {
            unchanged: 1,
            ..SyncCounts::default()
        },
        "stale poll copy ignored"
    );
    assert!(
        poll.invitee_fetches.is_empty(),
        "and costs no invitee fetch"
    );
    assert_eq!(
        stored_meeting(&temp.store, account, "HOOK").meeting.status,
        Status::Canceled,
        "still canceled"
    );
}

#[test]
fn a_poll_completes_a_group_event_that_a_webhook_stored_partially() {
    let (mut temp, account) = store_with_account();
    let (group, invitees) = group_event();
    temp.store
        .apply_webhook_change(account, &group, &invitees[0], minutes(0))
        .unwrap();
    let poll = run_sync(
        &mut temp.store,
        account,
        &calendly_with(vec![(group, invitees)], 1),
        window(30, 30),
        minutes(5),
    );
    // The event itself is unchanged, but one stored invitee of three means the rest must be fetched.
    assert_eq!(poll.counts.unchanged, 1, "event unchanged");
    assert_eq!(
        poll.invitee_fetches,
        vec![event_uri("GROUP")],
        "invitees fetched"
    );
    assert_eq!(
        stored_meeting(&temp.store, account, "GROUP").invitees.len(),
        3,
        "all three stored"
    );
}

#[test]
fn a_sync_killed_between_pages_is_completed_by_the_next_sync() {
    let calendly = sample_calendly();
    let sync_window = window(30, 30);

    // Reference: one clean full sync.
    let (mut clean, clean_account) = store_with_account();
    run_sync(
        &mut clean.store,
        clean_account,
        &calendly,
        sync_window,
        base_time(),
    );

    // Interrupted: only the first page is applied, then the process "dies".
    let (mut crashed, account) = store_with_account();
    let run = crashed
        .store
        .begin_sync_run(
            account,
            crate::domain::SyncKind::Full,
            sync_window,
            base_time(),
        )
        .unwrap();
    let mut partial = SyncResult::default();
    crate::test_support::sync_page(
        &mut crashed.store,
        account,
        &calendly.pages[0],
        &calendly,
        base_time(),
        &mut partial,
    );
    assert_eq!(partial.counts.created, 2, "the first page was committed");
    let mut reopened = crashed.reopen();
    let interrupted = reopened.store.last_sync_run(account).unwrap().unwrap();
    // After a restart the unfinished run is visible as interrupted.
    assert_eq!(
        (interrupted.sync_run_id, interrupted.finished_at),
        (run, None),
        "interrupted run"
    );

    let resumed = run_sync(
        &mut reopened.store,
        account,
        &calendly,
        sync_window,
        minutes(5),
    );
    // The committed page counts as unchanged, the rest is created, and nothing is lost or doubled.
    assert_eq!(
        (resumed.counts.unchanged, resumed.counts.created),
        (2, 2),
        "resumed sync: {resumed:?}"
    );
    assert_eq!(
        dump(&reopened.store),
        dump(&clean.store),
        "same final state as a clean full sync"
    );
}

// ---- convergence property ----

#[derive(Clone, Debug)]
struct EventSpec {
    id: u8,
    start_day: i64,
    canceled: bool,
    name_variant: u8,
    emails: Vec<u8>,
    updated_minutes: i64,
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        0u8..12,
        -20i64..20,
        any::<bool>(),
        0u8..3,
        prop::collection::vec(0u8..4, 1..4),
        0i64..500,
    )
        .prop_map(
            |(id, start_day, canceled, name_variant, emails, updated_minutes)| EventSpec {
                id,
                start_day,
                canceled,
                name_variant,
                emails,
                updated_minutes,
            },
        )
}

fn build(spec: &EventSpec) -> (FetchedEvent, Vec<FetchedInvitee>) {
    let id = format!("P{}", spec.id);
    let mut fetched = FetchedEvent {
        name: Some(format!("Meeting variant {}", spec.name_variant)),
        location: Location {
            kind: Some("physical".to_owned()),
            join_url: None,
            detail: Some("Office".to_owned()),
        },
        updated_at: minutes(-1000 + spec.updated_minutes),
        invitees_total: spec.emails.len() as u32,
        invitees_active: spec.emails.len() as u32,
        ..event(&id, days(spec.start_day))
    };
    if spec.canceled {
        fetched = canceled(&fetched, "Generated", fetched.updated_at);
    }
    let invitees = spec
        .emails
        .iter()
        .enumerate()
        .map(|(index, email)| FetchedInvitee {
            // Booked long ago, touched whenever the event was: Calendly's clocks only move forward.
            created_at: minutes(-3000),
            updated_at: fetched.updated_at,
            ..invitee(
                &fetched,
                &format!("{id}I{index}"),
                &format!("Client{email}@Example.com"),
                &format!("Client {email}"),
            )
        })
        .collect();
    (fetched, invitees)
}

/// Keeps the last spec per id, as Calendly holds one version of each event.
fn unique(specs: Vec<EventSpec>) -> Vec<EventSpec> {
    let mut by_id: std::collections::BTreeMap<u8, EventSpec> = std::collections::BTreeMap::new();
    for spec in specs {
        by_id.insert(spec.id, spec);
    }
    by_id.into_values().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn syncing_any_calendly_state_converges(
        first_state in prop::collection::vec(event_spec(), 0..10),
        second_state in prop::collection::vec(event_spec(), 0..10),
        page_size in 1usize..4,
    ) {
        let (mut temp, account) = store_with_account();
        let sync_window = window(30, 30);
        let first_specs = unique(first_state);
        let first: Vec<_> = first_specs.iter().map(build).collect();
        run_sync(&mut temp.store, account, &calendly_with(first.clone(), page_size), sync_window, minutes(0));

        // Calendly moves on: events change (never to an older updated_at), appear and vanish;
        // an event keeps its invitees and may gain more (Calendly cancels invitees, never drops them).
        let second: Vec<_> = unique(second_state)
            .into_iter()
            .map(|mut spec| {
                if let Some(previous) = first_specs.iter().find(|previous| previous.id == spec.id) {
                    spec.updated_minutes = spec.updated_minutes.max(previous.updated_minutes);
                    spec.emails = previous.emails.iter().chain(&spec.emails).copied().collect();
                }
                build(&spec)
            })
            .collect();
        let calendly = calendly_with(second.clone(), page_size);
        run_sync(&mut temp.store, account, &calendly, sync_window, minutes(10));

        // Converged: planning Calendly's state again yields only Unchanged and no invitee fetch.
        for page in &calendly.pages {
            let uris: Vec<_> = page.iter().map(|event| event.uri.clone()).collect();
            let plan = plan_page(&temp.store.stored_states(account, &uris).unwrap(), page);
            prop_assert!(
                plan.operations.iter().all(|operation| matches!(operation, MeetingOperation::Unchanged(_))),
                "re-plan after sync: {:?}", plan.operations
            );
            prop_assert!(plan.invitees_needed.is_empty(), "no invitee fetch after sync: {:?}", plan.invitees_needed);
        }
        // The store holds exactly what Calendly returned, and flags (never drops) the rest.
        for (fetched, invitees) in &second {
            let stored = temp.store.meeting_detail(account, &fetched.uri).unwrap().expect("every fetched event is stored");
            prop_assert_eq!(&stored.meeting.name, &fetched.name, "name");
            prop_assert_eq!(&stored.meeting.status, &fetched.status, "status");
            prop_assert_eq!(stored.meeting.start_time, fetched.start_time, "start");
            prop_assert_eq!(&stored.meeting.cancellation, &fetched.cancellation, "cancellation");
            prop_assert!(!stored.meeting.deleted_in_calendly, "a returned event is not flagged");
            let mut stored_emails: Vec<&str> = stored.invitees.iter().map(|row| row.uri.as_str()).collect();
            let mut fetched_emails: Vec<&str> = invitees.iter().map(|row| row.uri.as_str()).collect();
            stored_emails.sort_unstable();
            fetched_emails.sort_unstable();
            prop_assert_eq!(stored_emails, fetched_emails, "invitees");
        }
        for (gone, _) in first.iter().filter(|(event, _)| !second.iter().any(|(kept, _)| kept.uri == event.uri)) {
            let stored = temp.store.meeting_detail(account, &gone.uri).unwrap().expect("vanished events are kept");
            prop_assert!(stored.meeting.deleted_in_calendly, "vanished event flagged deleted");
        }
    }
}

#[test]
fn an_older_payload_never_restores_a_meeting_flagged_deleted() {
    let (mut temp, account) = store_with_account();
    let older = FetchedEvent {
        name: Some("First name".to_owned()),
        updated_at: minutes(-100),
        ..event("GONE", days(3))
    };
    let newer = FetchedEvent {
        name: Some("Second name".to_owned()),
        updated_at: minutes(-10),
        ..older.clone()
    };
    let newer_invitee = FetchedInvitee {
        updated_at: minutes(-10),
        ..invitee(&newer, "G1", "ann@example.com", "Ann Smith")
    };
    temp.store
        .apply_webhook_change(account, &newer, &newer_invitee, minutes(-9))
        .unwrap();
    let flag = PagePlan {
        operations: vec![MeetingOperation::MarkDeleted(newer.uri.clone())],
        ..PagePlan::default()
    };
    temp.store
        .apply_page(
            account,
            &flag,
            &HashMap::new(),
            ChangeSource::Poll,
            minutes(-5),
        )
        .unwrap();

    // A delivery delayed from before the newer version arrives after the meeting was flagged.
    let late = temp
        .store
        .apply_webhook_change(
            account,
            &older,
            &invitee(&older, "G1", "ann@example.com", "Ann Smith"),
            minutes(0),
        )
        .unwrap();

    let stored = stored_meeting(&temp.store, account, "GONE");
    // The deleted branch obeys the same guard: the older copy neither restores nor rewrites it.
    assert!(!late.changed_anything(), "outcome: {late:?}");
    assert!(stored.meeting.deleted_in_calendly, "still flagged deleted");
    assert_eq!(stored.meeting.name.as_deref(), Some("Second name"));
}

#[test]
fn a_webhook_applied_while_a_poll_writes_waits_for_it_instead_of_failing() {
    let (mut temp, account) = store_with_account();
    let booked = event("RACE", days(2));
    let booked_invitee = invitee(&booked, "R1", "ann@example.com", "Ann Smith");
    temp.store
        .apply_webhook_change(account, &booked, &booked_invitee, minutes(0))
        .unwrap();
    let path = temp.path();
    // Many writers at once on their own connections, as the listener and a poll would be.
    let writers: Vec<_> = (0..6)
        .map(|writer| {
            let path = path.clone();
            let booked = booked.clone();
            let booked_invitee = booked_invitee.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).expect("open");
                for round in 0..100 {
                    let changed = FetchedEvent {
                        name: Some(format!("Writer {writer} round {round}")),
                        updated_at: minutes(1 + round),
                        ..booked.clone()
                    };
                    store
                        .apply_webhook_change(account, &changed, &booked_invitee, minutes(30))
                        .expect("a concurrent write waits its turn, it is never refused");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("no writer failed");
    }
}
