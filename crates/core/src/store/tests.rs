//! Store tests against real SQLite files in temporary directories.

use super::*;
use crate::domain::{
    ChangeSource, ConnectionState, FetchedEvent, FetchedInvitee, SyncKind, SyncWindow,
};
use crate::fixtures::{base_time, canceled, days, event, invitee, minutes, user, window};
use crate::sync::{plan_page, SyncCounts};
use crate::test_support::{store_with_account, temp_store};
use rstest::rstest;
use std::collections::{BTreeMap, HashMap};

/// Stores events and their invitees through the real plan/apply path.
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

fn uris(meetings: &[MeetingRow]) -> Vec<&str> {
    meetings.iter().map(|meeting| meeting.uri.id()).collect()
}

// ---- opening and migrations ----

#[test]
fn open_sets_wal_foreign_keys_busy_timeout_and_the_newest_schema() {
    let temp = temp_store();
    let connection = temp.store.connection();
    let journal: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    let foreign_keys: i64 = connection
        .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
        .unwrap();
    let busy: i64 = connection
        .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
        .unwrap();
    // WAL lets the UI read while a sync writes.
    assert_eq!(journal, "wal", "journal mode");
    // Cascades and links rely on enforced foreign keys.
    assert_eq!(foreign_keys, 1, "foreign keys enforced");
    // A second connection waits up to 5 s for a lock instead of failing at once.
    assert_eq!(busy, 5000, "busy timeout in milliseconds");
    assert_eq!(
        temp.store.schema_version().unwrap(),
        Store::supported_schema_version(),
        "a new file is migrated to the newest schema"
    );
}

#[test]
fn reopening_keeps_data_and_runs_no_migration_twice() {
    let (temp, account) = store_with_account();
    let temp = temp.reopen();
    // Migrations are guarded by user_version, so reopening neither fails nor loses rows.
    assert_eq!(
        temp.store.schema_version().unwrap(),
        Store::supported_schema_version(),
        "same version"
    );
    assert!(
        temp.store.account(account).unwrap().is_some(),
        "the account survives a reopen"
    );
}

#[test]
fn an_older_build_refuses_a_newer_database() {
    let temp = temp_store();
    let newer = Store::supported_schema_version() + 1;
    temp.store
        .connection()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let path = temp.path();
    drop(temp.store);
    let error = Store::open(&path).expect_err("a newer schema must be refused");
    // Opening a newer file could corrupt it, so the user is told to update instead.
    assert!(
        matches!(error, StoreError::DatabaseTooNew { found, supported } if found == newer && supported == newer - 1),
        "got {error:?}"
    );
    assert!(
        error.to_string().contains("update Advicly"),
        "the message says what to do: {error}"
    );
}

#[test]
fn a_failing_migration_leaves_nothing_behind() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("broken.sqlite3");
    let error = Store::open_with_migrations(
        &path,
        &["CREATE TABLE first (x);", "CREATE TABLE broken (;"],
    )
    .expect_err("the second migration is invalid SQL");
    assert!(
        matches!(error, StoreError::Migration { version: 2, .. }),
        "got {error:?}"
    );
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    let tables: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'first'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    // All migrations run in one transaction: a failure rolls back the ones before it too.
    assert_eq!(
        (version, tables),
        (0, 0),
        "no version bump and no half-created schema"
    );
}

#[test]
fn no_column_can_hold_a_token() {
    let temp = temp_store();
    let columns: Vec<String> = {
        let connection = temp.store.connection();
        let mut statement = connection
            .prepare(
                "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
                  WHERE m.type = 'table'",
            )
            .unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert!(
        columns.len() > 50,
        "the schema was read ({} columns)",
        columns.len()
    );
    for column in &columns {
        let lower = column.to_lowercase();
        // Tokens, verifiers and keys live in the keychain only; the schema has no place for them.
        assert!(
            !["token", "secret", "verifier", "password", "signing"]
                .iter()
                .any(|word| lower.contains(word)),
            "column {column} looks like it could hold a secret"
        );
    }
}

#[test]
fn a_reader_is_not_blocked_by_an_open_write_transaction() {
    let (temp, account) = store_with_account();
    let reader = Store::open(&temp.path()).expect("a second connection on the same file");
    // A sync holds a write transaction for a page; the UI's reads must not wait for it.
    temp.store
        .connection()
        .execute_batch("BEGIN IMMEDIATE")
        .unwrap();
    temp.store
        .connection()
        .execute(
            "UPDATE accounts SET name = 'Renamed' WHERE account_id = ?1",
            [account.0],
        )
        .unwrap();
    let during = reader
        .account(account)
        .expect("read during the write")
        .unwrap();
    assert_eq!(
        during.user.name, "Advisor 1",
        "the reader sees the last committed state"
    );
    temp.store.connection().execute_batch("COMMIT").unwrap();
    let after = reader.account(account).unwrap().unwrap();
    assert_eq!(
        after.user.name, "Renamed",
        "and the new state once committed"
    );
}

#[test]
fn a_read_only_reader_sees_commits_and_refuses_writes() {
    let (mut temp, account) = store_with_account();
    let reader = Store::open_reader(&temp.path()).expect("a reader on the migrated file");
    assert_eq!(
        reader.schema_version().unwrap(),
        Store::supported_schema_version(),
        "the reader sees the writer's schema"
    );
    temp.store
        .set_setting(SettingScope::Account(account), "demo", "true")
        .unwrap();
    assert_eq!(
        reader
            .setting(SettingScope::Account(account), "demo")
            .unwrap()
            .as_deref(),
        Some("true"),
        "a commit of the writer is visible to the next read"
    );
    // A sync holds a write transaction for a page; the reader answers from the last commit.
    temp.store
        .connection()
        .execute_batch("BEGIN IMMEDIATE; UPDATE accounts SET name = 'Pending';")
        .unwrap();
    let during = reader.account(account).unwrap().unwrap();
    assert_eq!(during.user.name, "Advisor 1", "the reader does not wait");
    temp.store.connection().execute_batch("COMMIT").unwrap();
    let refused = reader.connection().execute(
        "UPDATE accounts SET name = 'Changed' WHERE account_id = ?1",
        [account.0],
    );
    assert!(refused.is_err(), "a view connection cannot write");
}

#[test]
fn a_reader_refuses_a_database_written_by_a_newer_build() {
    let temp = temp_store();
    let newer = Store::supported_schema_version() + 1;
    temp.store
        .connection()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let error = Store::open_reader(&temp.path()).expect_err("a newer schema is refused");
    assert!(
        matches!(error, StoreError::DatabaseTooNew { found, .. } if found == newer),
        "got {error:?}"
    );
}

// ---- accounts ----

#[test]
fn accounts_upsert_activate_and_change_state() {
    let mut temp = temp_store();
    let store = &mut temp.store;
    let first = store.upsert_account(&user(1), minutes(0)).unwrap();
    let second = store.upsert_account(&user(2), minutes(1)).unwrap();
    // The first connected account becomes active; later ones wait until chosen.
    assert_eq!(
        store.active_account().unwrap().unwrap().account_id,
        first,
        "first account is active"
    );

    store
        .set_connection_state(
            first,
            ConnectionState::NeedsReconnect,
            Some("refresh token revoked"),
            minutes(2),
        )
        .unwrap();
    let stored = store.account(first).unwrap().unwrap();
    assert_eq!(
        (stored.connection_state, stored.connection_reason.as_deref()),
        (
            ConnectionState::NeedsReconnect,
            Some("refresh token revoked")
        ),
        "state and reason are stored"
    );

    let mut renamed = user(1);
    renamed.name = "Advisor One".to_owned();
    let again = store.upsert_account(&renamed, minutes(3)).unwrap();
    let stored = store.account(first).unwrap().unwrap();
    // Reconnecting the same Calendly user updates the same row and marks it connected again.
    assert_eq!(again, first, "same user URI, same account");
    assert_eq!(stored.user.name, "Advisor One", "profile refreshed");
    assert_eq!(
        stored.connection_state,
        ConnectionState::Connected,
        "reconnect clears the state"
    );
    assert_eq!(stored.connection_reason, None, "and the reason");
    assert_eq!(stored.created_at, minutes(0), "creation time is kept");

    store.set_active_account(second, minutes(4)).unwrap();
    let active: Vec<AccountId> = store
        .list_accounts()
        .unwrap()
        .into_iter()
        .filter(|account| account.is_active)
        .map(|account| account.account_id)
        .collect();
    // Exactly one account is active at a time.
    assert_eq!(active, vec![second], "switching the active account");
    assert_eq!(
        store
            .account_by_user_uri(&user(2).uri)
            .unwrap()
            .map(|row| row.account_id),
        Some(second),
        "lookup by Calendly user URI"
    );
    assert!(
        matches!(
            store.set_active_account(AccountId(999), minutes(5)),
            Err(StoreError::AccountNotFound(999))
        ),
        "activating a missing account is an error"
    );
    assert_eq!(
        store.active_account().unwrap().unwrap().account_id,
        second,
        "a failed switch changes nothing"
    );
}

// ---- settings ----

#[test]
fn settings_are_scoped_and_replaceable() {
    let (mut temp, account) = store_with_account();
    let store = &mut temp.store;
    store
        .set_setting(SettingScope::Global, "sync_interval_minutes", "15")
        .unwrap();
    store
        .set_setting(
            SettingScope::Account(account),
            "sync_interval_minutes",
            "30",
        )
        .unwrap();
    store
        .set_setting(SettingScope::Global, "sync_interval_minutes", "20")
        .unwrap();
    // A global and an account setting with the same key are different settings.
    assert_eq!(
        store
            .setting(SettingScope::Global, "sync_interval_minutes")
            .unwrap()
            .as_deref(),
        Some("20")
    );
    assert_eq!(
        store
            .setting(SettingScope::Account(account), "sync_interval_minutes")
            .unwrap()
            .as_deref(),
        Some("30"),
        "the account value is separate"
    );
    store
        .remove_setting(SettingScope::Global, "sync_interval_minutes")
        .unwrap();
    store
        .remove_setting(SettingScope::Global, "never_set")
        .unwrap();
    assert_eq!(
        store
            .setting(SettingScope::Global, "sync_interval_minutes")
            .unwrap(),
        None,
        "removed"
    );
    store.delete_account(account).unwrap();
    // Deleting an account takes its settings along.
    let count: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM settings", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 0, "account settings cascade");
}

// ---- sync runs ----

#[test]
fn sync_runs_record_interruptions_counts_and_api_calls() {
    let (mut temp, account) = store_with_account();
    let store = &mut temp.store;
    let full_window = window(730, 365);
    let full = store
        .begin_sync_run(account, SyncKind::Full, full_window, minutes(0))
        .unwrap();
    let counts = SyncCounts {
        created: 3,
        updated: 1,
        canceled: 1,
        restored: 0,
        deleted: 2,
        unchanged: 7,
    };
    let api_calls = BTreeMap::from([
        ("GET /scheduled_events".to_owned(), 2),
        ("GET /invitees".to_owned(), 4),
    ]);
    store
        .finish_sync_run(full, &counts, &api_calls, None, minutes(1))
        .unwrap();

    let failed = store
        .begin_sync_run(account, SyncKind::Full, full_window, minutes(10))
        .unwrap();
    store
        .finish_sync_run(
            failed,
            &SyncCounts::default(),
            &BTreeMap::new(),
            Some("offline"),
            minutes(11),
        )
        .unwrap();
    let interrupted = store
        .begin_sync_run(account, SyncKind::Incremental, window(90, 180), minutes(20))
        .unwrap();

    let last = store.last_sync_run(account).unwrap().unwrap();
    // A run without finished_at is how an interrupted run shows up after a crash.
    assert_eq!(
        last.sync_run_id, interrupted,
        "the newest run is the interrupted one"
    );
    assert_eq!(last.finished_at, None, "it never finished");
    assert!(!last.succeeded(), "an unfinished run is not a success");

    let success = store.last_successful_full_sync(account).unwrap().unwrap();
    // The failed full sync must not count as the last good one.
    assert_eq!(
        success.sync_run_id, full,
        "last successful full sync skips failures"
    );
    assert_eq!(success.counts, counts, "counts round-trip");
    assert_eq!(
        success.api_calls, api_calls,
        "API calls by endpoint round-trip"
    );
    assert_eq!(success.window, full_window, "window round-trips");
    assert_eq!(success.finished_at, Some(minutes(1)), "finish time");
}

// ---- meeting queries ----

/// Past, in-progress, future, canceled and deleted meetings around `base_time()`.
fn seeded_mix() -> (crate::test_support::TempStore, AccountId) {
    let (mut temp, account) = store_with_account();
    let past_old = event("PAST_OLD", days(-20));
    let past_recent = event("PAST_RECENT", days(-2));
    let in_progress = event("IN_PROGRESS", minutes(-10));
    let soon = event("SOON", days(1));
    let later = event("LATER", days(5));
    let canceled_future = canceled(&event("CANCELED", days(3)), "Illness", minutes(-60));
    let events = vec![
        (
            past_old.clone(),
            vec![invitee(&past_old, "I1", "Ann@Example.com ", "Ann Old")],
        ),
        (
            past_recent.clone(),
            vec![invitee(&past_recent, "I2", "ann@example.com", "Ann Smith")],
        ),
        (
            in_progress.clone(),
            vec![invitee(&in_progress, "I3", "bob@example.com", "Bob Jones")],
        ),
        (
            soon.clone(),
            vec![invitee(&soon, "I4", "ann@example.com", "")],
        ),
        (
            later.clone(),
            vec![invitee(&later, "I5", "carol@example.com", "Carol Diaz")],
        ),
        (
            canceled_future.clone(),
            vec![invitee(
                &canceled_future,
                "I6",
                "bob@example.com",
                "Bob Jones",
            )],
        ),
    ];
    seed(&mut temp.store, account, &events);
    let gone = event("GONE", days(2));
    seed(
        &mut temp.store,
        account,
        &[(
            gone.clone(),
            vec![invitee(&gone, "I7", "dan@example.com", "Dan")],
        )],
    );
    temp.store
        .connection()
        .execute(
            "UPDATE meetings SET deleted_in_calendly = 1 WHERE event_uri = ?1",
            [gone.uri.as_str()],
        )
        .unwrap();
    (temp, account)
}

#[rstest]
#[case::all_upcoming_first(MeetingStatusFilter::All, MeetingOrder::UpcomingFirst,
    vec!["IN_PROGRESS", "SOON", "CANCELED", "LATER", "PAST_RECENT", "PAST_OLD"])]
#[case::upcoming(MeetingStatusFilter::Upcoming, MeetingOrder::UpcomingFirst, vec!["IN_PROGRESS", "SOON", "LATER"])]
#[case::active_ascending(MeetingStatusFilter::Active, MeetingOrder::StartAscending,
    vec!["PAST_OLD", "PAST_RECENT", "IN_PROGRESS", "SOON", "LATER"])]
#[case::canceled(MeetingStatusFilter::Canceled, MeetingOrder::UpcomingFirst, vec!["CANCELED"])]
#[case::deleted(MeetingStatusFilter::Deleted, MeetingOrder::UpcomingFirst, vec!["GONE"])]
#[case::all_descending(MeetingStatusFilter::All, MeetingOrder::StartDescending,
    vec!["LATER", "CANCELED", "SOON", "IN_PROGRESS", "PAST_RECENT", "PAST_OLD"])]
fn meeting_lists_filter_by_status_and_order(
    #[case] status: MeetingStatusFilter,
    #[case] order: MeetingOrder,
    #[case] expected: Vec<&str>,
) {
    let (temp, account) = seeded_mix();
    let filter = MeetingFilter {
        status,
        order,
        ..MeetingFilter::default()
    };
    let meetings = temp.store.meetings(account, &filter, base_time()).unwrap();
    // Upcoming (not yet ended) soonest first, then past most recent first; deleted only on request.
    assert_eq!(uris(&meetings), expected, "{status:?} / {order:?}");
}

#[rstest]
#[case::from_to(Some(days(-3)), Some(days(2)), None, vec!["IN_PROGRESS", "SOON", "PAST_RECENT"])]
#[case::client_email_any_case(None, None, Some(" ANN@example.COM"), vec!["SOON", "PAST_RECENT", "PAST_OLD"])]
#[case::client_and_range(Some(days(-5)), None, Some("ann@example.com"), vec!["SOON", "PAST_RECENT"])]
#[case::unknown_client(None, None, Some("nobody@example.com"), vec![])]
fn meeting_lists_filter_by_time_and_client(
    #[case] from: Option<chrono::DateTime<chrono::Utc>>,
    #[case] to: Option<chrono::DateTime<chrono::Utc>>,
    #[case] client_email: Option<&str>,
    #[case] expected: Vec<&str>,
) {
    let (temp, account) = seeded_mix();
    let filter = MeetingFilter {
        from,
        to,
        client_email: client_email.map(str::to_owned),
        ..MeetingFilter::default()
    };
    let meetings = temp.store.meetings(account, &filter, base_time()).unwrap();
    // The time range applies to start times; client e-mails compare normalized.
    assert_eq!(
        uris(&meetings),
        expected,
        "from {from:?} to {to:?} client {client_email:?}"
    );
}

#[rstest]
#[case::meeting_name("review late", vec!["LATER"])]
#[case::invitee_name_prefix("carol di", vec!["LATER"])]
#[case::invitee_email("bob@exam", vec!["IN_PROGRESS", "CANCELED"])]
#[case::answer_text("pension planning carol", vec!["LATER"])]
#[case::accent_insensitive("cárol", vec!["LATER"])]
#[case::no_match("zebra", vec![])]
#[case::quotes("\"carol", vec!["LATER"])]
#[case::star_only("*", vec!["IN_PROGRESS", "SOON", "CANCELED", "LATER", "PAST_RECENT", "PAST_OLD"])]
#[case::operator_words("carol AND", vec![])]
#[case::markup("<img src=x>", vec![])]
#[case::unbalanced("(carol OR \"", vec![])]
#[case::near_syntax("NEAR(carol diaz)", vec![])]
fn search_is_safe_and_matches_word_prefixes(#[case] text: &str, #[case] expected: Vec<&str>) {
    let (temp, account) = seeded_mix();
    let filter = MeetingFilter {
        search: Some(text.to_owned()),
        ..MeetingFilter::default()
    };
    // Any text is a valid search: operators and quotes are words, never syntax errors.
    let meetings = temp
        .store
        .meetings(account, &filter, base_time())
        .expect("search never fails");
    assert_eq!(uris(&meetings), expected, "search {text:?}");
}

#[test]
fn limit_cuts_across_upcoming_and_past() {
    let (temp, account) = seeded_mix();
    let filter = MeetingFilter {
        limit: Some(5),
        ..MeetingFilter::default()
    };
    let meetings = temp.store.meetings(account, &filter, base_time()).unwrap();
    // The limit keeps the order: all four upcoming, then the most recent past meeting.
    assert_eq!(
        uris(&meetings),
        vec!["IN_PROGRESS", "SOON", "CANCELED", "LATER", "PAST_RECENT"],
        "limited list"
    );
}

#[test]
fn list_rows_carry_invitees_clients_and_cancellation() {
    let (temp, account) = seeded_mix();
    let filter = MeetingFilter {
        status: MeetingStatusFilter::Canceled,
        ..MeetingFilter::default()
    };
    let meeting = temp
        .store
        .meetings(account, &filter, base_time())
        .unwrap()
        .remove(0);
    let cancellation = meeting
        .cancellation
        .as_ref()
        .expect("a canceled meeting keeps its cancellation");
    // The list shows who canceled and why without opening the meeting.
    assert_eq!(cancellation.reason.as_deref(), Some("Illness"), "reason");
    assert_eq!(
        cancellation.canceler_type.as_deref(),
        Some("invitee"),
        "canceler type"
    );
    assert_eq!(meeting.invitees.len(), 1, "invitee summary attached");
    assert_eq!(meeting.invitees[0].name, "Bob Jones", "invitee name");
    assert_eq!(
        meeting.client_emails,
        vec!["bob@example.com".to_owned()],
        "linked client"
    );
    assert_eq!(
        meeting.last_change_source,
        ChangeSource::Poll,
        "written by a poll"
    );
}

#[test]
fn meeting_detail_has_invitees_and_answers() {
    let (temp, account) = seeded_mix();
    let detail = temp
        .store
        .meeting_detail(account, &crate::fixtures::event_uri("LATER"))
        .unwrap()
        .expect("stored meeting");
    assert_eq!(detail.invitees.len(), 1, "one invitee");
    let answers = &detail.invitees[0].questions_and_answers;
    // Booking-form answers are what an advisor prepares with.
    assert_eq!(answers.len(), 1, "answers stored");
    assert_eq!(
        answers[0].answer, "Pension planning for Carol Diaz",
        "answer text"
    );
    assert_eq!(
        detail.meeting.location.kind.as_deref(),
        Some("zoom"),
        "location kind"
    );
    assert!(
        temp.store
            .meeting_detail(account, &crate::fixtures::event_uri("MISSING"))
            .unwrap()
            .is_none(),
        "an unknown URI is None, not an error"
    );
}

#[test]
fn clients_have_counts_next_and_last_meetings() {
    let (temp, account) = seeded_mix();
    let clients = temp.store.clients(account, base_time()).unwrap();
    let emails: Vec<&str> = clients.iter().map(|client| client.email.as_str()).collect();
    // Alphabetical by display name; one client per normalized e-mail.
    assert_eq!(
        emails,
        vec![
            "ann@example.com",
            "bob@example.com",
            "carol@example.com",
            "dan@example.com"
        ],
        "clients"
    );
    let ann = &clients[0];
    // The newest non-empty name wins; the empty name of the newest booking is ignored.
    assert_eq!(ann.name, "Ann Smith", "best display name");
    assert_eq!(ann.meeting_count, 3, "three active meetings");
    assert_eq!(ann.next_meeting, Some(days(1)), "next is SOON");
    assert_eq!(ann.last_meeting, Some(days(-2)), "last is PAST_RECENT");
    let bob = &clients[1];
    assert_eq!(
        (bob.meeting_count, bob.canceled_meeting_count),
        (1, 1),
        "canceled counted apart"
    );
    assert_eq!(
        bob.next_meeting,
        Some(minutes(-10)),
        "a meeting in progress is the next one"
    );
    let dan = &clients[3];
    assert_eq!(
        (dan.meeting_count, dan.next_meeting),
        (0, None),
        "deleted meetings do not count"
    );
    let one = temp
        .store
        .client(account, "CAROL@example.com", base_time())
        .unwrap()
        .unwrap();
    assert_eq!(
        one.name, "Carol Diaz",
        "single client lookup normalizes the e-mail"
    );
    let client_meetings = temp
        .store
        .client_meetings(account, "ann@example.com", base_time())
        .unwrap();
    assert_eq!(
        uris(&client_meetings),
        vec!["SOON", "PAST_RECENT", "PAST_OLD"],
        "a client's meetings"
    );
    assert_eq!(
        temp.store.meeting_count(account).unwrap(),
        6,
        "meeting count excludes deleted"
    );
}

#[test]
fn a_second_account_never_sees_the_first_accounts_data() {
    let (mut temp, first) = seeded_mix();
    let second = temp.store.upsert_account(&user(2), base_time()).unwrap();
    // The same event URI may exist under both accounts; each copy stays in its own partition.
    let shared = event("LATER", days(5));
    let other = FetchedEvent {
        name: Some("Second account meeting".to_owned()),
        ..shared.clone()
    };
    seed(
        &mut temp.store,
        second,
        &[(
            other.clone(),
            vec![invitee(&other, "I5", "zed@example.com", "Zed")],
        )],
    );

    let store = &temp.store;
    let second_meetings = store
        .meetings(second, &MeetingFilter::default(), base_time())
        .unwrap();
    assert_eq!(
        uris(&second_meetings),
        vec!["LATER"],
        "second account sees only its meeting"
    );
    assert_eq!(
        second_meetings[0].name.as_deref(),
        Some("Second account meeting"),
        "its own copy"
    );
    let search = |account, text: &str| {
        let filter = MeetingFilter {
            search: Some(text.to_owned()),
            ..MeetingFilter::default()
        };
        store.meetings(account, &filter, base_time()).unwrap().len()
    };
    assert_eq!(search(second, "carol"), 0, "search does not cross accounts");
    assert_eq!(search(first, "zed"), 0, "nor the other way");
    let second_clients: Vec<String> = store
        .clients(second, base_time())
        .unwrap()
        .into_iter()
        .map(|client| client.email)
        .collect();
    assert_eq!(
        second_clients,
        vec!["zed@example.com".to_owned()],
        "clients are per account"
    );
    assert_eq!(
        store
            .meeting_detail(first, &shared.uri)
            .unwrap()
            .unwrap()
            .meeting
            .name
            .as_deref(),
        Some("Review LATER"),
        "the first account's copy is untouched"
    );
    assert!(
        store
            .client_meetings(second, "carol@example.com", base_time())
            .unwrap()
            .is_empty(),
        "a client of account one has no meetings in account two"
    );
}

#[test]
fn wipe_and_delete_remove_only_that_accounts_data() {
    let (mut temp, first) = seeded_mix();
    let second = temp.store.upsert_account(&user(2), base_time()).unwrap();
    let other = event("OTHER", days(1));
    seed(
        &mut temp.store,
        second,
        &[(
            other.clone(),
            vec![invitee(&other, "J1", "zed@example.com", "Zed")],
        )],
    );
    let run = temp
        .store
        .begin_sync_run(first, SyncKind::Full, window(1, 1), base_time())
        .unwrap();
    temp.store
        .finish_sync_run(
            run,
            &SyncCounts::default(),
            &BTreeMap::new(),
            None,
            base_time(),
        )
        .unwrap();

    temp.store.wipe_account_data(first).unwrap();
    fn count(store: &Store, sql: &str) -> i64 {
        store
            .connection()
            .query_row(sql, [], |row| row.get(0))
            .unwrap()
    }
    // A wipe leaves the account (and the other account) but no meeting data, search rows or runs.
    assert!(
        temp.store.account(first).unwrap().is_some(),
        "account row kept"
    );
    assert_eq!(
        temp.store.meeting_count(first).unwrap(),
        0,
        "meetings wiped"
    );
    assert!(
        temp.store.clients(first, base_time()).unwrap().is_empty(),
        "clients wiped"
    );
    assert!(
        temp.store.last_sync_run(first).unwrap().is_none(),
        "sync runs wiped, so the next sync is full"
    );
    assert_eq!(
        count(&temp.store, "SELECT count(*) FROM meeting_search"),
        1,
        "only the other account's search row is left"
    );
    assert_eq!(
        temp.store.meeting_count(second).unwrap(),
        1,
        "other account untouched"
    );

    temp.store.delete_account(second).unwrap();
    for table in [
        "meetings",
        "invitees",
        "invitee_answers",
        "clients",
        "meeting_clients",
        "meeting_search",
    ] {
        assert_eq!(
            count(&temp.store, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table} emptied by deleting the account"
        );
    }
    assert!(
        matches!(
            temp.store.delete_account(second),
            Err(StoreError::AccountNotFound(_))
        ),
        "deleting twice reports the missing account"
    );
}

#[test]
fn writes_for_an_unknown_account_are_refused() {
    let mut temp = temp_store();
    let missing = AccountId(42);
    let error = temp
        .store
        .begin_sync_run(
            missing,
            SyncKind::Full,
            SyncWindow {
                start: days(-1),
                end: days(1),
            },
            base_time(),
        )
        .expect_err("no such account");
    assert!(
        matches!(error, StoreError::AccountNotFound(42)),
        "got {error:?}"
    );
}

// ---- search properties ----

mod search_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_a_safe_search(text in any::<String>(), markup in "[\"*()<>:^+-]{0,6}(AND|OR|NOT|NEAR)?[\"*()<>]{0,6}") {
            let (mut temp, account) = store_with_account();
            let stored = event("EV", days(1));
            seed(&mut temp.store, account, &[(stored.clone(), vec![invitee(&stored, "I1", "ann@example.com", "Ann")])]);
            for search in [text.clone(), markup.clone(), format!("{text} {markup}")] {
                let filter = MeetingFilter { search: Some(search.clone()), ..MeetingFilter::default() };
                // Whatever is typed, the search runs; it never becomes an FTS5 syntax error.
                prop_assert!(temp.store.meetings(account, &filter, base_time()).is_ok(), "search {search:?} failed");
            }
        }

        #[test]
        fn every_prefix_of_a_stored_word_finds_the_meeting(
            word in "[a-zA-Z0-9àéïõüßæøåçñ]{1,12}",
            prefix_length in 1usize..12,
        ) {
            let (mut temp, account) = store_with_account();
            let named = FetchedEvent { name: Some(format!("Meeting about {word}")), ..event("EV", days(1)) };
            seed(&mut temp.store, account, &[(named.clone(), vec![invitee(&named, "I1", "ann@example.com", "Ann")])]);
            let prefix: String = word.chars().take(prefix_length).collect();
            let filter = MeetingFilter { search: Some(prefix.clone()), ..MeetingFilter::default() };
            let found = temp.store.meetings(account, &filter, base_time()).unwrap();
            // Searching is a prefix match on words: any start of a stored word finds its meeting.
            prop_assert_eq!(found.len(), 1, "prefix {:?} of {:?}", prefix, word);
        }
    }
}

#[test]
fn a_wipe_leaves_no_readable_copy_in_the_database_or_the_wal() {
    let (mut temp, account) = store_with_account();
    let mut events = Vec::new();
    for number in 0..40 {
        let meeting = event(&format!("ZQ{number}"), days(number));
        let mut guest = invitee(
            &meeting,
            "Q1",
            &format!("zebulonquark{number}@example.com"),
            "Zebulonquark Person",
        );
        guest.questions_and_answers = vec![crate::domain::QuestionAnswer {
            question: "Topic".into(),
            answer: "zebulonquark pension plans".into(),
            position: 0,
        }];
        events.push((meeting, vec![guest]));
    }
    seed(&mut temp.store, account, &events);
    let files = |temp: &crate::test_support::TempStore| {
        let mut bytes = std::fs::read(temp.path()).unwrap();
        let wal = temp.directory.path().join("advicly.sqlite3-wal");
        bytes.extend(std::fs::read(wal).unwrap_or_default());
        bytes
    };
    let marker = b"ebulonquark";
    let holds_marker = |bytes: &[u8]| bytes.windows(marker.len()).any(|window| window == marker);
    assert!(
        holds_marker(&files(&temp)),
        "the seeded names, e-mails and answers are on disk (else this test proves nothing)"
    );

    temp.store.wipe_account_data(account).unwrap();

    // Zeroed pages and a truncated WAL: neither file holds the wiped personal data any more.
    assert!(
        !holds_marker(&files(&temp)),
        "wiped data is still readable in the database file or its WAL"
    );
    assert_eq!(
        std::fs::metadata(temp.directory.path().join("advicly.sqlite3-wal"))
            .map(|metadata| metadata.len())
            .unwrap_or(0),
        0,
        "the WAL was checkpointed and truncated"
    );
}

#[cfg(unix)]
#[test]
fn the_database_and_its_companions_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("advicly.sqlite3");
    // A file left world-readable by an older build is tightened on the next open.
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut store = Store::open(&path).unwrap();
    store.upsert_account(&user(1), base_time()).unwrap();
    for name in [
        "advicly.sqlite3",
        "advicly.sqlite3-wal",
        "advicly.sqlite3-shm",
    ] {
        let mode = std::fs::metadata(directory.path().join(name))
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .permissions()
            .mode();
        // Meetings and client e-mails are personal data: no group or other access.
        assert_eq!(mode & 0o777, 0o600, "{name} has mode {:o}", mode & 0o777);
    }
}

#[test]
fn migration_two_trusts_complete_poll_rows_and_unmarks_a_group_one_member_left() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("old.sqlite3");
    // A database as the previous build left it: one group meeting, marked rescheduled because one
    // of its three invitees moved, written by a poll with every invitee.
    drop(Store::open_with_migrations(&path, &migrations::MIGRATIONS[..1]).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(
            "INSERT INTO accounts (account_id, user_uri, organization_uri, email, name, created_at, updated_at)
             VALUES (1, 'u', 'o', 'a@example.com', 'A', 't', 't');
             INSERT INTO meetings (meeting_id, account_id, event_uri, status, start_time, end_time,
                                   calendly_created_at, calendly_updated_at, rescheduled_to,
                                   first_seen_at, last_seen_at, last_change_source, invitees_total,
                                   invitees_active, content_fingerprint)
             VALUES (1, 1, 'https://x/scheduled_events/G', 'active', 's', 'e', 'c',
                     '2026-03-01T09:00:00.000000000Z', 'https://x/scheduled_events/N', 'f',
                     '2026-03-01T10:00:00.000000000Z', 'poll', 3, 2, 'fp');
             INSERT INTO invitees (account_id, meeting_id, invitee_uri, event_uri, email,
                                   email_normalized, name, status, new_invitee_uri,
                                   calendly_created_at, calendly_updated_at, content_fingerprint)
             VALUES (1, 1, 'https://x/scheduled_events/G/invitees/1', 'https://x/scheduled_events/G',
                     'a@x.com', 'a@x.com', 'A', 'canceled', 'https://x/scheduled_events/N/invitees/9', 'c', 'u', 'f'),
                    (1, 1, 'https://x/scheduled_events/G/invitees/2', 'https://x/scheduled_events/G',
                     'b@x.com', 'b@x.com', 'B', 'active', NULL, 'c', 'u', 'f'),
                    (1, 1, 'https://x/scheduled_events/G/invitees/3', 'https://x/scheduled_events/G',
                     'c@x.com', 'c@x.com', 'C', 'active', NULL, 'c', 'u', 'f');",
        )
        .unwrap();
    drop(connection);

    let store = Store::open(&path).unwrap();

    let (rescheduled_to, moved, read_for, read_at): (
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
    ) = store
        .connection()
        .query_row(
            "SELECT rescheduled_to, moved_invitee_count, invitees_read_for, invitees_read_at
               FROM meetings WHERE meeting_id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    // Two of three still attend: the group no longer reads "Rescheduled to …" but "1 of 3 moved".
    assert_eq!((rescheduled_to, moved), (None, 1));
    // A complete poll row counts as read for its version, so the upgrade re-reads nothing.
    assert_eq!(
        read_for.as_deref(),
        Some("2026-03-01T09:00:00.000000000Z|fp")
    );
    assert_eq!(read_at.as_deref(), Some("2026-03-01T10:00:00.000000000Z"));
}

#[test]
fn a_database_of_the_real_time_schema_migrates_to_event_types_and_notes_keeping_everything() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("realtime.sqlite3");
    // A database as the real-time build (schema 3) left it: a meeting one of three invitees left,
    // whose invitees could not be re-read, its client, a relay channel and one delivery.
    drop(Store::open_with_migrations(&path, &migrations::MIGRATIONS[..3]).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    let t = "2026-03-01T09:00:00.000000000Z";
    connection
        .execute_batch(&format!(
            "INSERT INTO accounts (account_id, user_uri, organization_uri, email, name, created_at, updated_at)
             VALUES (1, 'u', 'o', 'a@example.com', 'A', '{t}', '{t}');
             INSERT INTO meetings (meeting_id, account_id, event_uri, name, status, start_time, end_time,
                                   event_type, calendly_created_at, calendly_updated_at,
                                   first_seen_at, last_seen_at, last_change_source, invitees_total,
                                   invitees_active, content_fingerprint, moved_invitee_count,
                                   read_error, read_error_at)
             VALUES (1, 1, 'https://x/scheduled_events/G', 'Workshop', 'active', '{t}', '{t}',
                     'https://x/event_types/W', '{t}', '{t}', '{t}', '{t}', 'webhook', 3, 2, 'fp', 1,
                     'Calendly refused the request.', '{t}');
             INSERT INTO invitees (invitee_id, account_id, meeting_id, invitee_uri, event_uri, email,
                                   email_normalized, name, status, calendly_created_at,
                                   calendly_updated_at, content_fingerprint)
             VALUES (1, 1, 1, 'https://x/scheduled_events/G/invitees/2', 'https://x/scheduled_events/G',
                     'b@x.com', 'b@x.com', 'B', 'active', '{t}', '{t}', 'f');
             INSERT INTO clients (client_id, account_id, email_normalized, display_name)
             VALUES (1, 1, 'b@x.com', 'B');
             INSERT INTO meeting_clients (meeting_id, client_id) VALUES (1, 1);
             INSERT INTO meeting_search (rowid, body) VALUES (1, 'Workshop B b@x.com');
             INSERT INTO realtime_channels (account_id, relay_base, channel_id, ingress_url,
                                            last_delivery_id, created_at, updated_at)
             VALUES (1, 'https://relay.example', 'ch1', 'https://relay.example/in/ch1', 7, '{t}', '{t}');
             INSERT INTO webhook_deliveries (account_id, channel_id, delivery_id, event, received_at,
                                             processed_at, outcome, changed)
             VALUES (1, 'ch1', 7, 'invitee.created', '{t}', '{t}', 'applied', 1);"
        ))
        .unwrap();
    drop(connection);

    let mut store = Store::open(&path).unwrap();

    assert_eq!(
        store.schema_version().unwrap(),
        Store::supported_schema_version(),
        "every later migration ran"
    );
    let account = AccountId(1);
    let uri = crate::domain::EventUri::new("https://x/scheduled_events/G");
    let detail = store.meeting_detail(account, &uri).unwrap().unwrap();
    // The sync's fields survive, and the type (not listed yet) has no name or colour.
    assert_eq!(detail.meeting.moved_invitees, 1);
    assert_eq!(
        detail.meeting.read_error.as_deref(),
        Some("Calendly refused the request.")
    );
    assert_eq!(
        (
            detail.meeting.event_type_name,
            detail.meeting.event_type_color
        ),
        (None, None)
    );
    let channel = store.realtime_channel(account).unwrap().unwrap();
    assert_eq!(
        (channel.channel_id.as_str(), channel.last_delivery_id),
        ("ch1", 7)
    );
    assert_eq!(store.deliveries(account, 10).unwrap().len(), 1);
    // The new tables work on the old data: a note on the old client, and the event-type cache.
    let saved = store
        .set_client_note(account, "b@x.com", "Prefers mornings", base_time())
        .unwrap();
    assert!(saved.is_some(), "the client from schema 3 takes a note");
    assert_eq!(
        store.client_note(account, "B@x.com").unwrap().unwrap().body,
        "Prefers mornings"
    );
    assert!(store.event_types(account).unwrap().is_empty());
    assert_eq!(
        store
            .unknown_event_type_uris(account)
            .unwrap()
            .iter()
            .map(|uri| uri.as_str())
            .collect::<Vec<_>>(),
        vec!["https://x/event_types/W"],
        "the old meeting's type is known to be missing, so the next sync lists them"
    );
}

#[test]
fn reading_a_store_maps_none_of_its_file_into_memory() {
    let (temp, account) = store_with_account();
    let reader = Store::open_reader(&temp.path()).expect("a reader on the migrated file");
    assert!(temp.store.account(account).unwrap().is_some());
    assert!(reader.account(account).unwrap().is_some());
    // The kernel maps 64 KiB around every fault of a mapped file, so a few lookups would keep
    // most of a large store resident in the app: reads go through SQLite's own page cache.
    let path = temp.path().canonicalize().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mapped: Vec<&str> = maps
        .lines()
        .filter(|line| line.ends_with(path.to_str().unwrap()))
        .collect();
    assert!(mapped.is_empty(), "the database file is mapped: {mapped:?}");
}
