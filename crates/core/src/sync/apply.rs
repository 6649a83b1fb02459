//! Writing plans into the store: one transaction per fetched page, and the single webhook-style
//! change that reuses the same code.
//!
//! Every write operation is classified again against the row inside the transaction (with the
//! planner's own [`classify_event`]), so a plan made from a stale snapshot, applied twice, or
//! racing a webhook never regresses a newer row and never double-counts.

use super::fingerprint::{event_fingerprint, invitee_fingerprint};
use super::plan::{
    classify_event, plan_page_at, trusted, MeetingOperation, PagePlan, StoredMeetingState,
    StoredSnapshot,
};
use super::SyncCounts;
use crate::domain::{
    normalize_email, AccountId, ChangeSource, EventUri, FetchedEvent, FetchedInvitee, InviteeUri,
    Status, SyncWindow,
};
use crate::error::StoreError;
use crate::store::{refresh_search_row, MeetingId, SqlTime, Store};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::{BTreeSet, HashMap};

/// What applying a page (or a webhook change) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub counts: SyncCounts,
    /// Invitees inserted or changed (an unchanged invitee is not written).
    pub invitees_written: u64,
    /// Meetings stored with a read error because their invitees could not be read.
    pub unreadable: u64,
}

/// What a poll read for one page's invitees: complete lists, and the events whose invitees could
/// not be read (with the reason, as the advisor should see it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InviteeReads {
    pub lists: HashMap<EventUri, Vec<FetchedInvitee>>,
    pub failures: HashMap<EventUri, String>,
}

impl ApplyOutcome {
    /// True when anything a user can see changed (the engine then emits `MeetingsChanged`).
    pub fn changed_anything(&self) -> bool {
        self.counts.changed() > 0 || self.invitees_written > 0 || self.unreadable > 0
    }
}

const STORED_STATE_SELECT: &str =
    "SELECT m.event_uri, m.calendly_updated_at, m.status, m.deleted_in_calendly,
            m.content_fingerprint,
            (SELECT count(*) FROM invitees i WHERE i.meeting_id = m.meeting_id),
            (SELECT count(*) FROM invitees i WHERE i.meeting_id = m.meeting_id
                                               AND i.status = 'active'),
            m.invitees_read_for, m.invitees_read_at, m.read_error IS NOT NULL
       FROM meetings m";

fn count_from_sql(count: i64) -> u32 {
    count.clamp(0, i64::from(u32::MAX)) as u32
}

fn stored_state_from_row(row: &Row<'_>) -> rusqlite::Result<StoredMeetingState> {
    Ok(StoredMeetingState {
        uri: EventUri::new(row.get::<_, String>(0)?),
        updated_at: row.get::<_, SqlTime>(1)?.0,
        status: Status::parse(&row.get::<_, String>(2)?),
        deleted_in_calendly: row.get(3)?,
        fingerprint: row.get(4)?,
        stored_invitee_count: count_from_sql(row.get(5)?),
        stored_active_invitee_count: count_from_sql(row.get(6)?),
        invitees_read_for: row.get(7)?,
        invitees_read_at: row.get::<_, Option<SqlTime>>(8)?.map(|time| time.0),
        read_error: row.get(9)?,
    })
}

fn stored_state(
    connection: &Connection,
    account: AccountId,
    uri: &EventUri,
) -> rusqlite::Result<Option<StoredMeetingState>> {
    connection
        .prepare_cached(&format!(
            "{STORED_STATE_SELECT} WHERE m.account_id = ?1 AND m.event_uri = ?2"
        ))?
        .query_row(params![account.0, uri.as_str()], stored_state_from_row)
        .optional()
}

/// The event URI an invitee belongs to: from the stored invitee if known, else from the URI
/// itself (`…/scheduled_events/<event>/invitees/<id>` nests the event).
fn event_of_invitee(
    connection: &Connection,
    account: AccountId,
    invitee: &InviteeUri,
) -> rusqlite::Result<Option<EventUri>> {
    let stored: Option<String> = connection
        .prepare_cached(
            "SELECT event_uri FROM invitees WHERE account_id = ?1 AND invitee_uri = ?2",
        )?
        .query_row(params![account.0, invitee.as_str()], |row| row.get(0))
        .optional()?;
    Ok(stored
        .map(EventUri::new)
        .or_else(|| event_uri_nested_in(invitee)))
}

/// `https://…/scheduled_events/E/invitees/I` → `https://…/scheduled_events/E`.
fn event_uri_nested_in(invitee: &InviteeUri) -> Option<EventUri> {
    let (event, invitee_id) = invitee
        .as_str()
        .trim_end_matches('/')
        .rsplit_once("/invitees/")?;
    let looks_like_event = event.contains("/scheduled_events/") && !invitee_id.contains('/');
    looks_like_event.then(|| EventUri::new(event))
}

fn upsert_meeting(
    connection: &Connection,
    account: AccountId,
    event: &FetchedEvent,
    source: ChangeSource,
    now: DateTime<Utc>,
) -> rusqlite::Result<MeetingId> {
    let cancellation = event.cancellation.as_ref();
    let meeting_id: i64 = connection.prepare_cached(
        "INSERT INTO meetings (account_id, event_uri, name, status, start_time, end_time, event_type,
                               location_kind, join_url, location_detail, calendly_created_at,
                               calendly_updated_at, has_cancellation, canceled_at, canceled_reason,
                               canceled_by, canceler_type, deleted_in_calendly, first_seen_at,
                               last_seen_at, last_change_source, invitees_total, invitees_active,
                               content_fingerprint)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0, ?18,
                 ?18, ?19, ?20, ?21, ?22)
         ON CONFLICT (account_id, event_uri) DO UPDATE SET
             name = excluded.name, status = excluded.status, start_time = excluded.start_time,
             end_time = excluded.end_time, event_type = excluded.event_type,
             location_kind = excluded.location_kind, join_url = excluded.join_url,
             location_detail = excluded.location_detail,
             calendly_created_at = excluded.calendly_created_at,
             calendly_updated_at = excluded.calendly_updated_at,
             has_cancellation = excluded.has_cancellation, canceled_at = excluded.canceled_at,
             canceled_reason = excluded.canceled_reason, canceled_by = excluded.canceled_by,
             canceler_type = excluded.canceler_type, deleted_in_calendly = 0,
             last_seen_at = max(meetings.last_seen_at, excluded.last_seen_at),
             last_change_source = excluded.last_change_source,
             invitees_total = excluded.invitees_total, invitees_active = excluded.invitees_active,
             content_fingerprint = excluded.content_fingerprint
         RETURNING meeting_id",
    )?
    .query_row(
        params![
            account.0,
            event.uri.as_str(),
            event.name,
            event.status.as_str(),
            SqlTime(event.start_time),
            SqlTime(event.end_time),
            event.event_type,
            event.location.kind,
            event.location.join_url,
            event.location.detail,
            SqlTime(event.created_at),
            SqlTime(event.updated_at),
            cancellation.is_some(),
            cancellation.and_then(|c| c.created_at).map(SqlTime),
            cancellation.and_then(|c| c.reason.as_deref()),
            cancellation.and_then(|c| c.canceled_by.as_deref()),
            cancellation.and_then(|c| c.canceler_type.as_deref()),
            SqlTime(now),
            source.as_str(),
            i64::from(event.invitees_total),
            i64::from(event.invitees_active),
            event_fingerprint(event),
        ],
        |row| row.get(0),
    )?;
    Ok(MeetingId(meeting_id))
}

fn touch_last_seen(
    connection: &Connection,
    account: AccountId,
    uri: &EventUri,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "UPDATE meetings SET last_seen_at = ?3
             WHERE account_id = ?1 AND event_uri = ?2 AND last_seen_at < ?3",
        )?
        .execute(params![account.0, uri.as_str(), SqlTime(now)])?;
    Ok(())
}

/// The event an invitee moved to (`to`) or came from: named by its own `new_invitee` /
/// `old_invitee`, or by a stored invitee that names it as theirs (whichever half arrived first).
fn reschedule_partner(
    connection: &Connection,
    account: AccountId,
    invitee_uri: &str,
    named: Option<String>,
    reverse_column: &str,
) -> rusqlite::Result<Option<EventUri>> {
    if let Some(partner) = named {
        return event_of_invitee(connection, account, &InviteeUri::new(partner));
    }
    Ok(connection
        .prepare_cached(&format!(
            "SELECT event_uri FROM invitees WHERE account_id = ?1 AND {reverse_column} = ?2
              ORDER BY invitee_uri LIMIT 1"
        ))?
        .query_row(params![account.0, invitee_uri], |row| {
            row.get::<_, String>(0)
        })
        .optional()?
        .map(EventUri::new))
}

/// The one event all of `events` name, when they are `expected` many and all name the same.
fn the_one_event(events: &[EventUri], expected: usize) -> Option<&EventUri> {
    let first = events.first()?;
    (events.len() == expected && events.iter().all(|event| event == first)).then_some(first)
}

/// Recomputes a meeting's reschedule links from its invitees'. A reschedule moves one invitee, so
/// the meeting reads "Rescheduled to …" only when every invitee (Calendly's total, canceled ones
/// included) moved to the same meeting, and "rescheduled from" only when every invitee came from
/// the same one; otherwise it counts the invitees that moved ("1 of 3 moved").
fn refresh_reschedule_links(
    connection: &Connection,
    account: AccountId,
    meeting: MeetingId,
) -> rusqlite::Result<()> {
    let Some((own_event, invitees_total)): Option<(String, i64)> = connection
        .prepare_cached("SELECT event_uri, invitees_total FROM meetings WHERE meeting_id = ?1")?
        .query_row([meeting.0], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
    else {
        return Ok(());
    };
    let invitees: Vec<(String, Option<String>, Option<String>)> = connection
        .prepare_cached(
            "SELECT invitee_uri, new_invitee_uri, old_invitee_uri FROM invitees WHERE meeting_id = ?1",
        )?
        .query_map([meeting.0], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut moved_to = Vec::new();
    let mut came_from = Vec::new();
    for (invitee_uri, new_invitee, old_invitee) in invitees.iter().cloned() {
        if let Some(target) = reschedule_partner(
            connection,
            account,
            &invitee_uri,
            new_invitee,
            "old_invitee_uri",
        )? {
            moved_to.push(target);
        }
        if let Some(source) = reschedule_partner(
            connection,
            account,
            &invitee_uri,
            old_invitee,
            "new_invitee_uri",
        )? {
            came_from.push(source);
        }
    }
    let expected = invitees.len().max(invitees_total.max(0) as usize);
    let not_itself = |event: &&EventUri| event.as_str() != own_event;
    let rescheduled_to = the_one_event(&moved_to, expected).filter(not_itself);
    let rescheduled_from = the_one_event(&came_from, expected).filter(not_itself);
    connection
        .prepare_cached(
            "UPDATE meetings SET rescheduled_to = ?2, rescheduled_from = ?3, moved_invitee_count = ?4
             WHERE meeting_id = ?1
               AND (rescheduled_to IS NOT ?2 OR rescheduled_from IS NOT ?3
                    OR moved_invitee_count IS NOT ?4)",
        )?
        .execute(params![
            meeting.0,
            rescheduled_to.map(EventUri::as_str),
            rescheduled_from.map(EventUri::as_str),
            moved_to.len() as i64
        ])?;
    Ok(())
}

/// The stored meetings whose reschedule links may change when `invitee` is written: those of
/// the invitees it names and of the invitees that name it.
fn meetings_linked_to(
    connection: &Connection,
    account: AccountId,
    invitee: &FetchedInvitee,
) -> rusqlite::Result<Vec<MeetingId>> {
    let mut events: Vec<EventUri> = Vec::new();
    for partner in [&invitee.new_invitee, &invitee.old_invitee]
        .into_iter()
        .flatten()
    {
        events.extend(event_of_invitee(connection, account, partner)?);
    }
    for column in ["new_invitee_uri", "old_invitee_uri"] {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT event_uri FROM invitees WHERE account_id = ?1 AND {column} = ?2"
        ))?;
        let rows = statement.query_map(params![account.0, invitee.uri.as_str()], |row| {
            Ok(EventUri::new(row.get::<_, String>(0)?))
        })?;
        for row in rows {
            events.push(row?);
        }
    }
    let mut meetings = Vec::new();
    for event in events {
        let meeting: Option<i64> = connection
            .prepare_cached(
                "SELECT meeting_id FROM meetings WHERE account_id = ?1 AND event_uri = ?2",
            )?
            .query_row(params![account.0, event.as_str()], |row| row.get(0))
            .optional()?;
        meetings.extend(meeting.map(MeetingId));
    }
    Ok(meetings)
}

/// Creates or refreshes the client of `email` and links it to the meeting.
fn link_client(
    connection: &Connection,
    account: AccountId,
    meeting: MeetingId,
    invitee: &FetchedInvitee,
) -> rusqlite::Result<()> {
    let email = normalize_email(&invitee.email);
    if email.is_empty() {
        return Ok(());
    }
    let name = invitee.name.trim();
    // The display name is the most recent non-empty invitee name (by booking time; on a tie the
    // greater name), so the result does not depend on the order in which invitees arrive.
    let name_from = (!name.is_empty()).then_some(SqlTime(invitee.created_at));
    let client_id: i64 = connection
        .prepare_cached(
            "INSERT INTO clients (account_id, email_normalized, display_name, display_name_from)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, email_normalized) DO UPDATE SET
                 display_name = CASE
                     WHEN excluded.display_name_from IS NOT NULL
                      AND (clients.display_name_from IS NULL
                           OR excluded.display_name_from > clients.display_name_from
                           OR (excluded.display_name_from = clients.display_name_from
                               AND excluded.display_name > clients.display_name))
                     THEN excluded.display_name ELSE clients.display_name END,
                 display_name_from = CASE
                     WHEN excluded.display_name_from IS NOT NULL
                      AND (clients.display_name_from IS NULL OR excluded.display_name_from > clients.display_name_from)
                     THEN excluded.display_name_from ELSE clients.display_name_from END
             RETURNING client_id",
        )?
        .query_row(params![account.0, email, name, name_from], |row| row.get(0))?;
    connection
        .prepare_cached(
            "INSERT INTO meeting_clients (meeting_id, client_id, client_attends)
             VALUES (?1, ?2, EXISTS (SELECT 1 FROM invitees
                                      WHERE meeting_id = ?1 AND email_normalized = ?3
                                        AND status <> 'canceled'))
             ON CONFLICT (meeting_id, client_id) DO UPDATE SET client_attends = excluded.client_attends
             WHERE client_attends IS NOT excluded.client_attends",
        )?
        .execute(params![meeting.0, client_id, email])?;
    Ok(())
}

/// Writes one invitee unless the stored copy is newer (by a trusted timestamp) or identical.
/// Returns the meeting whose search row must be refreshed, or `None` when nothing was written.
fn write_invitee(
    connection: &Connection,
    account: AccountId,
    invitee: &FetchedInvitee,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<MeetingId>> {
    let meeting_id: Option<i64> = connection
        .prepare_cached("SELECT meeting_id FROM meetings WHERE account_id = ?1 AND event_uri = ?2")?
        .query_row(params![account.0, invitee.event.as_str()], |row| row.get(0))
        .optional()?;
    let Some(meeting_id) = meeting_id else {
        tracing::warn!(event = %invitee.event, "skipping an invitee whose meeting is not stored");
        return Ok(None);
    };
    let fingerprint = invitee_fingerprint(invitee);
    let existing: Option<(SqlTime, String, i64)> = connection
        .prepare_cached(
            "SELECT calendly_updated_at, content_fingerprint, meeting_id
               FROM invitees WHERE account_id = ?1 AND invitee_uri = ?2",
        )?
        .query_row(params![account.0, invitee.uri.as_str()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    if let Some((stored_updated_at, stored_fingerprint, stored_meeting_id)) = existing {
        let older = trusted(stored_updated_at.0, now) && invitee.updated_at < stored_updated_at.0;
        let identical = invitee.updated_at == stored_updated_at.0
            && fingerprint == stored_fingerprint
            && meeting_id == stored_meeting_id;
        if older || identical {
            return Ok(None);
        }
    }
    let cancellation = invitee.cancellation.as_ref();
    let invitee_id: i64 = connection
        .prepare_cached(
            "INSERT INTO invitees (account_id, meeting_id, invitee_uri, event_uri, email, email_normalized,
                                   name, status, timezone, cancel_url, reschedule_url, old_invitee_uri,
                                   new_invitee_uri, rescheduled, no_show, has_cancellation,
                                   canceled_reason, canceled_by, canceler_type, canceled_at,
                                   calendly_created_at, calendly_updated_at, content_fingerprint)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                     ?19, ?20, ?21, ?22, ?23)
             ON CONFLICT (account_id, invitee_uri) DO UPDATE SET
                 meeting_id = excluded.meeting_id, event_uri = excluded.event_uri,
                 email = excluded.email, email_normalized = excluded.email_normalized,
                 name = excluded.name, status = excluded.status, timezone = excluded.timezone,
                 cancel_url = excluded.cancel_url, reschedule_url = excluded.reschedule_url,
                 old_invitee_uri = excluded.old_invitee_uri, new_invitee_uri = excluded.new_invitee_uri,
                 rescheduled = excluded.rescheduled, no_show = excluded.no_show,
                 has_cancellation = excluded.has_cancellation,
                 canceled_reason = excluded.canceled_reason, canceled_by = excluded.canceled_by,
                 canceler_type = excluded.canceler_type, canceled_at = excluded.canceled_at,
                 calendly_created_at = excluded.calendly_created_at,
                 calendly_updated_at = excluded.calendly_updated_at,
                 content_fingerprint = excluded.content_fingerprint
             RETURNING invitee_id",
        )?
        .query_row(
            params![
                account.0,
                meeting_id,
                invitee.uri.as_str(),
                invitee.event.as_str(),
                invitee.email,
                normalize_email(&invitee.email),
                invitee.name,
                invitee.status.as_str(),
                invitee.timezone,
                invitee.cancel_url,
                invitee.reschedule_url,
                invitee.old_invitee.as_ref().map(|uri| uri.as_str()),
                invitee.new_invitee.as_ref().map(|uri| uri.as_str()),
                invitee.rescheduled,
                invitee.no_show,
                cancellation.is_some(),
                cancellation.and_then(|c| c.reason.as_deref()),
                cancellation.and_then(|c| c.canceled_by.as_deref()),
                cancellation.and_then(|c| c.canceler_type.as_deref()),
                cancellation.and_then(|c| c.created_at).map(SqlTime),
                SqlTime(invitee.created_at),
                SqlTime(invitee.updated_at),
                fingerprint,
            ],
            |row| row.get(0),
        )?;
    connection
        .prepare_cached("DELETE FROM invitee_answers WHERE invitee_id = ?1")?
        .execute([invitee_id])?;
    for question_answer in &invitee.questions_and_answers {
        connection
            .prepare_cached(
                "INSERT INTO invitee_answers (invitee_id, position, question, answer) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                invitee_id,
                question_answer.position,
                question_answer.question,
                question_answer.answer
            ])?;
    }
    let meeting = MeetingId(meeting_id);
    link_client(connection, account, meeting, invitee)?;
    Ok(Some(meeting))
}

/// Records the outcome of a poll's invitee read: a complete list read for the version `read_key`
/// (only when the stored row is still that version; a newer one gets read again), or a failure.
fn record_invitee_read(
    connection: &Connection,
    account: AccountId,
    event: &EventUri,
    read_key: Option<&str>,
    failure: Option<&str>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    match failure {
        Some(reason) => connection
            .prepare_cached(
                "UPDATE meetings SET read_error = ?3, read_error_at = ?4
                 WHERE account_id = ?1 AND event_uri = ?2",
            )?
            .execute(params![account.0, event.as_str(), reason, SqlTime(now)])?,
        None => connection
            .prepare_cached(
                "UPDATE meetings SET read_error = NULL, read_error_at = NULL, invitees_read_at = ?3,
                     invitees_read_for = CASE
                         WHEN calendly_updated_at || '|' || content_fingerprint = ?4 THEN ?4
                         ELSE invitees_read_for END
                 WHERE account_id = ?1 AND event_uri = ?2",
            )?
            .execute(params![account.0, event.as_str(), SqlTime(now), read_key])?,
    };
    Ok(())
}

impl Store {
    /// The stored state of the given events (those not stored are simply absent): what
    /// [`plan_page`] needs for one page. Read it just before planning each page.
    pub fn stored_states(
        &self,
        account: AccountId,
        uris: &[EventUri],
    ) -> Result<StoredSnapshot, StoreError> {
        let mut states = Vec::with_capacity(uris.len());
        for uri in uris {
            if let Some(state) = stored_state(&self.connection, account, uri)? {
                states.push(state);
            }
        }
        Ok(StoredSnapshot::from_states(states))
    }

    /// Every stored meeting of the account whose start lies in `window` (deleted-flagged ones
    /// included): take it before the first page and hand it to `plan_vanished` after the last.
    pub fn stored_window_snapshot(
        &self,
        account: AccountId,
        window: SyncWindow,
    ) -> Result<StoredSnapshot, StoreError> {
        let mut statement = self.connection.prepare(&format!(
            "{STORED_STATE_SELECT} WHERE m.account_id = ?1 AND m.start_time >= ?2 AND m.start_time < ?3"
        ))?;
        let rows = statement.query_map(
            params![account.0, SqlTime(window.start), SqlTime(window.end)],
            stored_state_from_row,
        )?;
        Ok(StoredSnapshot::from_states(
            rows.collect::<Result<Vec<_>, _>>()?,
        ))
    }

    /// Applies one page in ONE transaction: meetings, the invitees fetched for it (keyed by
    /// event; events not in the map keep their stored invitees), clients and links, reschedule
    /// links and the search index. A crash before commit leaves the previous state intact.
    ///
    /// With `ChangeSource::Poll` each list in `invitees` is taken as the event's complete
    /// invitee list (recorded as read for the planned version); a webhook's is partial.
    pub fn apply_page(
        &mut self,
        account: AccountId,
        plan: &PagePlan,
        invitees: &HashMap<EventUri, Vec<FetchedInvitee>>,
        source: ChangeSource,
        now: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.apply(account, plan, invitees, &HashMap::new(), source, now)
    }

    /// Applies one polled page in ONE transaction, like [`Store::apply_page`], and stores the
    /// events whose invitees could not be read with that error (their invitees are read again on
    /// the next sync). The page goes on either way.
    pub fn apply_polled_page(
        &mut self,
        account: AccountId,
        plan: &PagePlan,
        reads: &InviteeReads,
        now: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.apply(
            account,
            plan,
            &reads.lists,
            &reads.failures,
            ChangeSource::Poll,
            now,
        )
    }

    fn apply(
        &mut self,
        account: AccountId,
        plan: &PagePlan,
        invitees: &HashMap<EventUri, Vec<FetchedInvitee>>,
        failures: &HashMap<EventUri, String>,
        source: ChangeSource,
        now: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.require_account(account)?;
        // Immediate: the write lock is taken (waiting out another writer) before the first read,
        // so a webhook applied while a poll writes waits its turn instead of failing "locked".
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let outcome = apply_in(&transaction, account, plan, invitees, failures, source, now)?;
        transaction.commit()?;
        Ok(outcome)
    }

    /// Applies one webhook-style change (the event and one of its invitees) through the same
    /// plan and apply code as a poll, marked `ChangeSource::Webhook`. Idempotent, and an older
    /// payload never overwrites a newer stored event or invitee.
    pub fn apply_webhook_change(
        &mut self,
        account: AccountId,
        event: &FetchedEvent,
        invitee: &FetchedInvitee,
        now: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.require_account(account)?;
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let outcome = apply_webhook_change_in(&transaction, account, event, invitee, now)?;
        transaction.commit()?;
        Ok(outcome)
    }
}

/// [`Store::apply_webhook_change`] inside a transaction the caller owns (the real-time path
/// records the delivery and the stream cursor in the same transaction).
pub(crate) fn apply_webhook_change_in(
    connection: &Connection,
    account: AccountId,
    event: &FetchedEvent,
    invitee: &FetchedInvitee,
    now: DateTime<Utc>,
) -> Result<ApplyOutcome, StoreError> {
    let stored = StoredSnapshot::from_states(stored_state(connection, account, &event.uri)?);
    let plan = plan_page_at(&stored, std::slice::from_ref(event), now);
    let invitees = HashMap::from([(invitee.event.clone(), vec![invitee.clone()])]);
    apply_in(
        connection,
        account,
        &plan,
        &invitees,
        &HashMap::new(),
        ChangeSource::Webhook,
        now,
    )
}

/// The body of every apply, inside a transaction the caller owns and commits.
fn apply_in(
    transaction: &Connection,
    account: AccountId,
    plan: &PagePlan,
    invitees: &HashMap<EventUri, Vec<FetchedInvitee>>,
    failures: &HashMap<EventUri, String>,
    source: ChangeSource,
    now: DateTime<Utc>,
) -> Result<ApplyOutcome, StoreError> {
    let mut outcome = ApplyOutcome::default();
    let mut search_rows_to_refresh: BTreeSet<MeetingId> = BTreeSet::new();
    let mut links_to_refresh: BTreeSet<MeetingId> = BTreeSet::new();
    for operation in &plan.operations {
        match operation {
            MeetingOperation::Unchanged(uri) => {
                touch_last_seen(transaction, account, uri, now)?;
                outcome.counts.unchanged += 1;
            }
            MeetingOperation::MarkDeleted(uri) => {
                let flagged = transaction
                    .prepare_cached(
                        "UPDATE meetings SET deleted_in_calendly = 1, last_change_source = ?3
                         WHERE account_id = ?1 AND event_uri = ?2 AND deleted_in_calendly = 0",
                    )?
                    .execute(params![account.0, uri.as_str(), source.as_str()])?;
                if flagged > 0 {
                    outcome.counts.deleted += 1;
                } else {
                    outcome.counts.unchanged += 1;
                }
            }
            MeetingOperation::Create(event)
            | MeetingOperation::Update(event)
            | MeetingOperation::Cancel(event)
            | MeetingOperation::Restore(event) => {
                let current = stored_state(transaction, account, &event.uri)?;
                let effective = classify_event(current.as_ref(), event, now);
                match effective.event() {
                    Some(event) => {
                        let meeting = upsert_meeting(transaction, account, event, source, now)?;
                        search_rows_to_refresh.insert(meeting);
                        links_to_refresh.insert(meeting);
                    }
                    None => touch_last_seen(transaction, account, &event.uri, now)?,
                }
                outcome.counts.count(&effective);
            }
        }
    }
    // Sorted so that the order of writes (and thus tie-breaks) does not depend on hashing.
    let mut invitee_events: Vec<&EventUri> = invitees.keys().collect();
    invitee_events.sort();
    for event_uri in invitee_events {
        for invitee in &invitees[event_uri] {
            if let Some(meeting) = write_invitee(transaction, account, invitee, now)? {
                outcome.invitees_written += 1;
                search_rows_to_refresh.insert(meeting);
                links_to_refresh.insert(meeting);
                links_to_refresh.extend(meetings_linked_to(transaction, account, invitee)?);
            }
        }
        if source == ChangeSource::Poll {
            let read_key = plan.read_keys.get(event_uri).map(String::as_str);
            record_invitee_read(transaction, account, event_uri, read_key, None, now)?;
        }
    }
    let mut failed_events: Vec<(&EventUri, &String)> = failures.iter().collect();
    failed_events.sort();
    for (event_uri, reason) in failed_events {
        record_invitee_read(transaction, account, event_uri, None, Some(reason), now)?;
        outcome.unreadable += 1;
    }
    for meeting in links_to_refresh {
        refresh_reschedule_links(transaction, account, meeting)?;
    }
    for meeting in search_rows_to_refresh {
        refresh_search_row(transaction, meeting)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests;
