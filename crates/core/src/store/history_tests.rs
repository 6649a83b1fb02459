//! Store tests of the event-type cache, client notes (and their place in search) and a client's
//! answers, against real SQLite files.

use super::*;
use crate::domain::{ChangeSource, FetchedEvent, FetchedInvitee, QuestionAnswer};
use crate::fixtures::{base_time, days, event, event_type, event_type_uri, invitee, minutes};
use crate::sync::plan_page;
use crate::test_support::store_with_account;
use chrono::Duration;
use std::collections::HashMap;

fn seed(store: &mut Store, account: AccountId, events: &[(FetchedEvent, Vec<FetchedInvitee>)]) {
    let page: Vec<FetchedEvent> = events.iter().map(|(event, _)| event.clone()).collect();
    let uris: Vec<_> = page.iter().map(|event| event.uri.clone()).collect();
    let plan = plan_page(&store.stored_states(account, &uris).unwrap(), &page);
    let invitees: HashMap<_, _> = events
        .iter()
        .map(|(event, invitees)| (event.uri.clone(), invitees.clone()))
        .collect();
    store
        .apply_page(account, &plan, &invitees, ChangeSource::Poll, base_time())
        .expect("seed the store");
}

fn with_type(mut meeting: FetchedEvent, event_type_id: &str) -> FetchedEvent {
    meeting.event_type = Some(event_type_uri(event_type_id).to_string());
    meeting
}

fn search(store: &Store, account: AccountId, text: &str) -> Vec<String> {
    let filter = MeetingFilter {
        search: Some(text.to_owned()),
        ..MeetingFilter::default()
    };
    let mut found: Vec<String> = store
        .meetings(account, &filter, base_time())
        .unwrap()
        .into_iter()
        .map(|meeting| meeting.uri.id().to_owned())
        .collect();
    found.sort();
    found
}

// ---- event types ----

#[test]
fn a_complete_listing_names_and_colours_meetings_and_sets_the_freshness() {
    let (mut temp, account) = store_with_account();
    let review = with_type(event("REVIEW", days(1)), "REVIEW");
    seed(&mut temp.store, account, &[(review.clone(), vec![])]);
    assert_eq!(
        temp.store.event_types_refreshed_at(account).unwrap(),
        None,
        "never listed"
    );
    assert_eq!(
        temp.store.unknown_event_type_uris(account).unwrap(),
        vec![event_type_uri("REVIEW")],
        "a meeting names a type the cache does not know"
    );

    temp.store
        .save_event_types(
            account,
            &[event_type("REVIEW", "Financial review", "#0069FF")],
            true,
            minutes(5),
        )
        .unwrap();

    assert_eq!(
        temp.store.event_types_refreshed_at(account).unwrap(),
        Some(minutes(5)),
        "a complete listing is the cache's freshness"
    );
    assert!(temp
        .store
        .unknown_event_type_uris(account)
        .unwrap()
        .is_empty());
    let listed = temp
        .store
        .meetings(account, &MeetingFilter::default(), base_time())
        .unwrap();
    assert_eq!(
        listed[0].event_type_name.as_deref(),
        Some("Financial review")
    );
    assert_eq!(
        listed[0].event_type_color.as_deref(),
        Some("#0069ff"),
        "colours are stored lower-case"
    );
    let detail = temp
        .store
        .meeting_detail(account, &review.uri)
        .unwrap()
        .unwrap();
    assert_eq!(
        detail.meeting.event_type_name.as_deref(),
        Some("Financial review"),
        "the detail names the type too"
    );
}

#[test]
fn a_type_missing_from_a_complete_listing_is_kept_but_inactive() {
    let (mut temp, account) = store_with_account();
    let store = &mut temp.store;
    store
        .save_event_types(
            account,
            &[
                event_type("OLD", "Old consultation", "#8247f5"),
                event_type("NEW", "Annual review", "#ff4f00"),
            ],
            true,
            minutes(0),
        )
        .unwrap();
    store
        .save_event_types(
            account,
            &[event_type("NEW", "Annual review (renamed)", "#ff4f00")],
            true,
            minutes(10),
        )
        .unwrap();
    let rows = store.event_types(account).unwrap();
    let by_id: HashMap<&str, &EventTypeRow> = rows.iter().map(|row| (row.uri.id(), row)).collect();
    assert!(by_id["NEW"].active, "the listed type stays active");
    assert_eq!(
        by_id["NEW"].name.as_deref(),
        Some("Annual review (renamed)")
    );
    assert!(
        !by_id["OLD"].active,
        "a type Calendly stopped returning is inactive"
    );
    assert_eq!(
        by_id["OLD"].name.as_deref(),
        Some("Old consultation"),
        "but old meetings can still be named by it"
    );
    assert_eq!(rows[0].uri.id(), "NEW", "active types come first");
}

#[test]
fn an_incomplete_listing_updates_rows_but_not_the_freshness() {
    let (mut temp, account) = store_with_account();
    let store = &mut temp.store;
    store
        .save_event_types(
            account,
            &[
                event_type("A", "A", "#000000"),
                event_type("B", "B", "#000000"),
            ],
            true,
            minutes(0),
        )
        .unwrap();
    store
        .save_event_types(
            account,
            &[event_type("A", "A again", "#111111")],
            false,
            minutes(30),
        )
        .unwrap();
    assert_eq!(
        store.event_types_refreshed_at(account).unwrap(),
        Some(minutes(0))
    );
    let rows = store.event_types(account).unwrap();
    assert!(
        rows.iter().all(|row| row.active),
        "a partial listing deactivates nothing"
    );
    assert!(rows
        .iter()
        .any(|row| row.name.as_deref() == Some("A again")));
}

#[test]
fn hostile_colours_and_blank_names_are_not_stored() {
    let (mut temp, account) = store_with_account();
    let mut hostile = event_type("X", "   ", "red;background:url(http://evil)");
    hostile.duration_minutes = None;
    temp.store
        .save_event_types(account, &[hostile], true, minutes(0))
        .unwrap();
    let row = &temp.store.event_types(account).unwrap()[0];
    assert_eq!(row.color, None, "only #rrggbb is kept");
    assert_eq!(row.name, None, "a blank name is no name");
}

#[test]
fn event_types_of_one_account_never_name_another_accounts_meetings() {
    let (mut temp, first) = store_with_account();
    let second = temp
        .store
        .upsert_account(&crate::fixtures::user(2), base_time())
        .unwrap();
    seed(
        &mut temp.store,
        second,
        &[(with_type(event("THEIRS", days(1)), "SHARED"), vec![])],
    );
    temp.store
        .save_event_types(
            first,
            &[event_type("SHARED", "Mine", "#123456")],
            true,
            minutes(0),
        )
        .unwrap();
    let theirs = temp
        .store
        .meetings(second, &MeetingFilter::default(), base_time())
        .unwrap();
    assert_eq!(theirs[0].event_type_name, None, "caches are per account");
    assert_eq!(
        temp.store.unknown_event_type_uris(second).unwrap().len(),
        1,
        "still unknown to the second account"
    );
}

// ---- notes ----

#[test]
fn a_note_is_saved_replaced_found_by_search_and_removed_when_blank() {
    let (mut temp, account) = store_with_account();
    let first = event("FIRST", days(-3));
    let second = event("SECOND", days(4));
    let other = event("OTHER", days(2));
    seed(
        &mut temp.store,
        account,
        &[
            (
                first.clone(),
                vec![invitee(&first, "I1", "Ann@Example.com", "Ann Smith")],
            ),
            (
                second.clone(),
                vec![invitee(&second, "I2", "ann@example.com", "Ann Smith")],
            ),
            (
                other.clone(),
                vec![invitee(&other, "I3", "bob@example.com", "Bob Jones")],
            ),
        ],
    );
    assert_eq!(
        temp.store.client_note(account, "ann@example.com").unwrap(),
        None
    );

    let saved = temp
        .store
        .set_client_note(
            account,
            " ANN@example.com ",
            "Prefers mornings; widow's pension",
            minutes(1),
        )
        .unwrap()
        .expect("the client exists");
    assert_eq!(saved.map(|note| note.updated_at), Some(minutes(1)));
    assert_eq!(
        search(&temp.store, account, "widow"),
        vec!["FIRST", "SECOND"],
        "a word of the note finds every meeting of that client"
    );
    let clients = temp.store.clients(account, base_time()).unwrap();
    assert_eq!(
        clients[0].note.as_deref(),
        Some("Prefers mornings; widow's pension"),
        "the client list carries the note"
    );
    assert_eq!(clients[1].note, None, "Bob has none");

    temp.store
        .set_client_note(account, "ann@example.com", "Moved to evenings", minutes(2))
        .unwrap();
    assert!(
        search(&temp.store, account, "widow").is_empty(),
        "the old text is no longer indexed"
    );
    assert_eq!(
        search(&temp.store, account, "evenings"),
        vec!["FIRST", "SECOND"]
    );

    temp.store
        .set_client_note(account, "ann@example.com", "  \n ", minutes(3))
        .unwrap();
    assert_eq!(
        temp.store.client_note(account, "ann@example.com").unwrap(),
        None
    );
    assert!(search(&temp.store, account, "evenings").is_empty());
}

#[test]
fn a_note_survives_a_reopen_and_a_resync_but_not_a_wipe() {
    let (mut temp, account) = store_with_account();
    let meeting = event("M", days(1));
    let booking = vec![invitee(&meeting, "I1", "ann@example.com", "Ann Smith")];
    seed(
        &mut temp.store,
        account,
        &[(meeting.clone(), booking.clone())],
    );
    temp.store
        .set_client_note(
            account,
            "ann@example.com",
            "Keep this <b>private</b>",
            minutes(1),
        )
        .unwrap();

    let mut temp = temp.reopen();
    let mut changed = meeting.clone();
    changed.name = Some("Renamed review".to_owned());
    changed.updated_at = meeting.updated_at + Duration::minutes(5);
    seed(&mut temp.store, account, &[(changed, booking)]);
    assert_eq!(
        temp.store
            .client_note(account, "ann@example.com")
            .unwrap()
            .map(|note| note.body),
        Some("Keep this <b>private</b>".to_owned()),
        "a restart and a sync keep the note verbatim"
    );
    assert_eq!(
        search(&temp.store, account, "private"),
        vec!["M"],
        "re-indexing the meeting after a sync keeps the note searchable"
    );

    temp.store.wipe_account_data(account).unwrap();
    assert_eq!(
        temp.store.client_note(account, "ann@example.com").unwrap(),
        None
    );
    assert!(temp.store.event_types(account).unwrap().is_empty());
}

#[test]
fn a_note_for_an_unknown_client_is_refused() {
    let (mut temp, account) = store_with_account();
    assert_eq!(
        temp.store
            .set_client_note(account, "nobody@example.com", "text", minutes(0))
            .unwrap(),
        None
    );
}

// ---- answers ----

#[test]
fn a_clients_answers_come_newest_booking_first_in_form_order() {
    let (mut temp, account) = store_with_account();
    let older = event("OLDER", days(-30));
    let newer = event("NEWER", days(3));
    let mut newer_booking = invitee(&newer, "I2", "ann@example.com", "Ann Smith");
    newer_booking.questions_and_answers = vec![
        QuestionAnswer {
            question: "Topic".to_owned(),
            answer: "<script>alert(1)</script>".to_owned(),
            position: 0,
        },
        QuestionAnswer {
            question: "Phone".to_owned(),
            answer: "+44 1234".to_owned(),
            position: 1,
        },
    ];
    let someone_else = invitee(&newer, "I3", "bob@example.com", "Bob Jones");
    seed(
        &mut temp.store,
        account,
        &[
            (
                older.clone(),
                vec![invitee(&older, "I1", "ann@example.com", "Ann Smith")],
            ),
            (newer.clone(), vec![newer_booking, someone_else]),
        ],
    );
    let answers = temp
        .store
        .client_answers(account, "ANN@example.com")
        .unwrap();
    let flat: Vec<(&str, &str, &str)> = answers
        .iter()
        .map(|row| {
            (
                row.meeting_uri.id(),
                row.question.as_str(),
                row.answer.as_str(),
            )
        })
        .collect();
    assert_eq!(
        flat,
        vec![
            ("NEWER", "Topic", "<script>alert(1)</script>"),
            ("NEWER", "Phone", "+44 1234"),
            (
                "OLDER",
                "What would you like to discuss?",
                "Pension planning for Ann Smith"
            ),
        ],
        "newest booking first, form order inside it, only this client's answers"
    );
    assert_eq!(answers[0].answered_at, newer.created_at);
}

// ---- the status count ----

#[test]
fn counting_meetings_reads_the_small_index_not_the_table() {
    let (temp, account) = store_with_account();
    let plan = query_plan(
        &temp.store,
        "SELECT count(*) FROM meetings WHERE account_id = ?1 AND deleted_in_calendly = 0",
        [account.0],
    );
    // Every status refresh counts; reading the table would touch every meeting's page.
    assert!(
        plan.iter()
            .any(|step| step.contains("COVERING INDEX meetings_live_by_account")),
        "plan: {plan:?}"
    );
}

/// The steps of `EXPLAIN QUERY PLAN` for `sql` with the given account.
fn query_plan(store: &Store, sql: &str, parameters: impl rusqlite::Params) -> Vec<String> {
    store
        .connection()
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(parameters, |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn unreadable_meetings_are_counted_and_listed_from_their_own_index_not_every_row() {
    let (temp, account) = store_with_account();
    for (sql, plan) in [
        (
            "unreadable_meetings",
            query_plan(
                &temp.store,
                super::queries::UNREADABLE_MEETINGS_SQL,
                [account.0],
            ),
        ),
        (
            "meetings_with_read_errors",
            query_plan(
                &temp.store,
                super::queries::MEETINGS_WITH_READ_ERRORS_SQL,
                rusqlite::params![account.0, 10],
            ),
        ),
    ] {
        // Every step that reads meetings goes through the partial index of the failed rows.
        let meeting_steps: Vec<&String> = plan
            .iter()
            .filter(|step| step.contains("meetings"))
            .collect();
        assert!(!meeting_steps.is_empty(), "{sql}: {plan:?}");
        assert!(
            meeting_steps
                .iter()
                .all(|step| step.contains("INDEX meetings_unreadable_by_account")),
            "{sql}: {plan:?}"
        );
    }
}
