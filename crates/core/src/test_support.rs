//! Helpers for this crate's tests: a store in a temporary directory, the engine's sync loop in
//! miniature, and a canonical dump of the stored state for comparisons.

use crate::domain::{AccountId, ChangeSource, EventUri, FetchedEvent, FetchedInvitee, SyncWindow};
use crate::fixtures::{base_time, user};
use crate::store::Store;
use crate::sync::{plan_page_at, plan_vanished, PagePlan, SyncCounts};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use tempfile::TempDir;

/// A store in its own temporary directory (removed on drop).
pub(crate) struct TempStore {
    pub(crate) directory: TempDir,
    pub(crate) store: Store,
}

impl TempStore {
    pub(crate) fn path(&self) -> PathBuf {
        self.directory.path().join("advicly.sqlite3")
    }

    /// Closes the connection and opens the same file again (as after a restart).
    pub(crate) fn reopen(self) -> TempStore {
        let TempStore { directory, store } = self;
        drop(store);
        let store =
            Store::open(&directory.path().join("advicly.sqlite3")).expect("reopen the store");
        TempStore { directory, store }
    }
}

pub(crate) fn temp_store() -> TempStore {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let store = Store::open(&directory.path().join("advicly.sqlite3")).expect("open a new store");
    TempStore { directory, store }
}

/// A temporary store with one connected account (user 1).
pub(crate) fn store_with_account() -> (TempStore, AccountId) {
    let mut temp = temp_store();
    let account = temp
        .store
        .upsert_account(&user(1), base_time())
        .expect("insert the account");
    (temp, account)
}

/// What Calendly "holds" for a sync in tests: pages of events and every event's invitees.
#[derive(Clone, Debug, Default)]
pub(crate) struct FakeCalendly {
    pub(crate) pages: Vec<Vec<FetchedEvent>>,
    pub(crate) invitees: HashMap<EventUri, Vec<FetchedInvitee>>,
}

/// What a miniature sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SyncResult {
    pub(crate) counts: SyncCounts,
    /// Events whose invitees were "fetched", in order.
    pub(crate) invitee_fetches: Vec<EventUri>,
    pub(crate) invitees_written: u64,
}

/// Plans and applies one page the way the engine does, "fetching" only the needed invitees.
pub(crate) fn sync_page(
    store: &mut Store,
    account: AccountId,
    page: &[FetchedEvent],
    calendly: &FakeCalendly,
    now: DateTime<Utc>,
    result: &mut SyncResult,
) -> PagePlan {
    let uris: Vec<EventUri> = page.iter().map(|event| event.uri.clone()).collect();
    let stored = store
        .stored_states(account, &uris)
        .expect("read stored states");
    let plan = plan_page_at(&stored, page, now);
    let invitees: HashMap<EventUri, Vec<FetchedInvitee>> = plan
        .invitees_needed
        .iter()
        .map(|uri| {
            (
                uri.clone(),
                calendly.invitees.get(uri).cloned().unwrap_or_default(),
            )
        })
        .collect();
    result
        .invitee_fetches
        .extend(plan.invitees_needed.iter().cloned());
    let outcome = store
        .apply_page(account, &plan, &invitees, ChangeSource::Poll, now)
        .expect("apply a page");
    result.counts.add(&outcome.counts);
    result.invitees_written += outcome.invitees_written;
    plan
}

/// The engine's whole sync loop in miniature: snapshot, pages, vanished.
pub(crate) fn run_sync(
    store: &mut Store,
    account: AccountId,
    calendly: &FakeCalendly,
    window: SyncWindow,
    now: DateTime<Utc>,
) -> SyncResult {
    let snapshot = store
        .stored_window_snapshot(account, window)
        .expect("snapshot the window");
    let mut result = SyncResult::default();
    let mut seen: HashSet<EventUri> = HashSet::new();
    for page in &calendly.pages {
        seen.extend(page.iter().map(|event| event.uri.clone()));
        sync_page(store, account, page, calendly, now, &mut result);
    }
    let vanished = PagePlan {
        operations: plan_vanished(&snapshot, &seen),
        ..PagePlan::default()
    };
    let outcome = store
        .apply_page(account, &vanished, &HashMap::new(), ChangeSource::Poll, now)
        .expect("apply vanished meetings");
    result.counts.add(&outcome.counts);
    result
}

fn dump_query(store: &Store, sql: &str) -> Vec<String> {
    let connection = store.connection();
    let mut statement = connection.prepare(sql).expect("prepare a dump query");
    let column_count = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            let mut fields = Vec::with_capacity(column_count);
            for index in 0..column_count {
                fields.push(format!("{:?}", row.get_ref(index)?));
            }
            Ok(fields.join(" | "))
        })
        .expect("run a dump query");
    rows.collect::<Result<_, _>>().expect("read a dump row")
}

/// Every stored fact that sync is responsible for, without local ids and seen-times, in a
/// stable order: two stores with equal dumps hold the same data.
pub(crate) fn dump(store: &Store) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, sql) in [
        (
            "meeting",
            "SELECT a.user_uri, m.event_uri, m.name, m.status, m.start_time, m.end_time, m.event_type,
                    m.location_kind, m.join_url, m.location_detail, m.calendly_created_at,
                    m.calendly_updated_at, m.has_cancellation, m.canceled_at, m.canceled_reason,
                    m.canceled_by, m.canceler_type, m.rescheduled_from, m.rescheduled_to,
                    m.deleted_in_calendly, m.last_change_source, m.invitees_total, m.invitees_active,
                    m.content_fingerprint, m.moved_invitee_count, m.read_error
               FROM meetings m JOIN accounts a USING (account_id) ORDER BY a.user_uri, m.event_uri",
        ),
        (
            "invitee",
            "SELECT a.user_uri, i.invitee_uri, m.event_uri, i.event_uri, i.email, i.email_normalized,
                    i.name, i.status, i.timezone, i.cancel_url, i.reschedule_url, i.old_invitee_uri,
                    i.new_invitee_uri, i.rescheduled, i.no_show, i.has_cancellation, i.canceled_reason,
                    i.canceled_by, i.canceler_type, i.canceled_at, i.calendly_created_at,
                    i.calendly_updated_at, i.content_fingerprint
               FROM invitees i JOIN accounts a USING (account_id) JOIN meetings m USING (meeting_id)
              ORDER BY a.user_uri, i.invitee_uri",
        ),
        (
            "answer",
            "SELECT i.invitee_uri, q.position, q.question, q.answer
               FROM invitee_answers q JOIN invitees i USING (invitee_id)
              ORDER BY i.invitee_uri, q.position, q.question",
        ),
        (
            "client",
            "SELECT a.user_uri, c.email_normalized, c.display_name, c.display_name_from
               FROM clients c JOIN accounts a USING (account_id) ORDER BY a.user_uri, c.email_normalized",
        ),
        (
            "link",
            "SELECT m.event_uri, c.email_normalized, mc.client_attends
               FROM meeting_clients mc JOIN meetings m USING (meeting_id) JOIN clients c USING (client_id)
              ORDER BY m.event_uri, c.email_normalized",
        ),
        (
            "search",
            "SELECT m.event_uri, s.body FROM meeting_search s JOIN meetings m ON m.meeting_id = s.rowid
              ORDER BY m.event_uri",
        ),
        ("search_rows", "SELECT count(*) FROM meeting_search"),
    ] {
        lines.extend(
            dump_query(store, sql)
                .into_iter()
                .map(|row| format!("{label}: {row}")),
        );
    }
    lines
}
