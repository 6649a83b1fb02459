//! Read queries for the UI and the CLI: meeting lists with filters, meeting detail, clients.
//!
//! "Upcoming" means "not yet ended" (`end_time > now`), so a meeting in progress still shows
//! at the top; `now` is always passed in.

use super::search::fts_match_expression;
use super::{ClientId, MeetingId, SqlTime, Store};
use crate::domain::{
    normalize_email, AccountId, Cancellation, ChangeSource, EventUri, InviteeUri, Location,
    QuestionAnswer, Status,
};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};
use std::collections::HashMap;

/// Which meetings a list shows. Every choice except `Deleted` hides meetings flagged as
/// deleted in Calendly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeetingStatusFilter {
    /// Active meetings that have not ended yet.
    Upcoming,
    /// Every status (active, canceled, unknown), not deleted.
    #[default]
    All,
    Active,
    Canceled,
    /// Only meetings Calendly no longer returns.
    Deleted,
}

/// Order of a meeting list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeetingOrder {
    /// Not-yet-ended meetings soonest first, then past meetings most recent first.
    #[default]
    UpcomingFirst,
    StartAscending,
    StartDescending,
}

/// Filters of a meeting list. `Default` is "everything not deleted, upcoming first, no limit".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeetingFilter {
    /// Only meetings starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only meetings starting before this instant.
    pub to: Option<DateTime<Utc>>,
    pub status: MeetingStatusFilter,
    /// Only meetings linked to this client (compared after `normalize_email`).
    pub client_email: Option<String>,
    /// Free text; every word must prefix-match a word of the meeting name, an invitee's name or
    /// e-mail, or an answer. Any string is safe here.
    pub search: Option<String>,
    pub order: MeetingOrder,
    /// At most this many rows (recommended for the UI: lists stay fast however large the store).
    pub limit: Option<u32>,
}

/// An invitee as shown in a meeting list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteeSummaryRow {
    pub name: String,
    pub email: String,
    pub status: Status,
}

/// A meeting as shown in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingRow {
    pub meeting_id: MeetingId,
    pub uri: EventUri,
    pub name: Option<String>,
    pub status: Status,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub event_type: Option<String>,
    /// Name and `#rrggbb` colour of `event_type`, when the event-type cache knows it.
    pub event_type_name: Option<String>,
    pub event_type_color: Option<String>,
    pub location: Location,
    /// Calendly's own `created_at` / `updated_at` of the event.
    pub calendly_created_at: DateTime<Utc>,
    pub calendly_updated_at: DateTime<Utc>,
    pub cancellation: Option<Cancellation>,
    /// The meeting this one replaced (reschedule), by event URI.
    pub rescheduled_from: Option<EventUri>,
    /// The meeting that replaced this one (reschedule), by event URI.
    pub rescheduled_to: Option<EventUri>,
    /// Start of `rescheduled_to` when that meeting is stored.
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    /// Invitees that moved to another meeting (a group reads "1 of 3 moved"; when every invitee
    /// moved to the same meeting, `rescheduled_to` names it).
    pub moved_invitees: u32,
    /// Why this meeting's invitees could not be read from Calendly on the last try, if they could
    /// not (the meeting shows what is known; the next sync tries again).
    pub read_error: Option<String>,
    pub deleted_in_calendly: bool,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub last_change_source: ChangeSource,
    pub invitees_total: u32,
    pub invitees_active: u32,
    /// Stored invitees, oldest booking first.
    pub invitees: Vec<InviteeSummaryRow>,
    /// Normalized e-mails of the linked clients, sorted.
    pub client_emails: Vec<String>,
}

/// An invitee with everything stored about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteeRow {
    pub uri: InviteeUri,
    pub event: EventUri,
    pub email: String,
    pub name: String,
    pub status: Status,
    pub timezone: Option<String>,
    /// Sorted by position.
    pub questions_and_answers: Vec<QuestionAnswer>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub old_invitee: Option<InviteeUri>,
    pub new_invitee: Option<InviteeUri>,
    /// The meeting this invitee moved to (a reschedule), whichever half of it arrived first.
    pub moved_to: Option<EventUri>,
    /// Start of `moved_to` when that meeting is stored.
    pub moved_to_start: Option<DateTime<Utc>>,
    /// The meeting this invitee came from (the other half of a reschedule).
    pub moved_from: Option<EventUri>,
    pub rescheduled: bool,
    pub no_show: bool,
    pub cancellation: Option<Cancellation>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A meeting with its invitees and their answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingDetail {
    /// The list row (its `invitees` field holds the summaries of `invitees` below).
    pub meeting: MeetingRow,
    /// Oldest booking first.
    pub invitees: Vec<InviteeRow>,
}

/// A client (one per normalized e-mail) with its meeting statistics relative to `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: ClientId,
    /// Normalized e-mail: the client's identity.
    pub email: String,
    /// Most recent non-empty invitee name (may be empty when none was ever given).
    pub name: String,
    /// Active meetings (not flagged deleted) the client attends: past and upcoming.
    pub meeting_count: u64,
    /// Meetings (not flagged deleted) that were canceled, or that the client canceled their own
    /// place in (a group member); reschedules leave one of these behind.
    pub canceled_meeting_count: u64,
    /// Start of the soonest attended active meeting that has not ended.
    pub next_meeting: Option<DateTime<Utc>>,
    /// Start of the most recent attended active meeting that has ended.
    pub last_meeting: Option<DateTime<Utc>>,
    /// The advisor's private note on the client, if any.
    pub note: Option<String>,
}

const MEETING_COLUMNS: &str =
    "m.meeting_id, m.event_uri, m.name, m.status, m.start_time, m.end_time,
    m.event_type, m.location_kind, m.join_url, m.location_detail, m.calendly_created_at,
    m.calendly_updated_at, m.has_cancellation, m.canceled_at, m.canceled_reason, m.canceled_by,
    m.canceler_type, m.rescheduled_from, m.rescheduled_to,
    (SELECT r.start_time FROM meetings r
      WHERE r.account_id = m.account_id AND r.event_uri = m.rescheduled_to),
    m.deleted_in_calendly, m.first_seen_at, m.last_seen_at, m.last_change_source,
    m.invitees_total, m.invitees_active, m.moved_invitee_count, m.read_error,
    et.name, et.color";

/// The event-type cache joined to `m` (one row at most: the pair is unique).
const EVENT_TYPE_JOIN: &str = "LEFT JOIN event_types et
    ON et.account_id = m.account_id AND et.event_type_uri = m.event_type";

fn conversion_error(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
}

fn cancellation_from_columns(
    row: &Row<'_>,
    has_cancellation: usize,
    canceled_at: usize,
    reason: usize,
    canceled_by: usize,
    canceler_type: usize,
) -> rusqlite::Result<Option<Cancellation>> {
    if !row.get::<_, bool>(has_cancellation)? {
        return Ok(None);
    }
    Ok(Some(Cancellation {
        canceled_by: row.get(canceled_by)?,
        reason: row.get(reason)?,
        canceler_type: row.get(canceler_type)?,
        created_at: row
            .get::<_, Option<SqlTime>>(canceled_at)?
            .map(|time| time.0),
    }))
}

fn count_column(row: &Row<'_>, index: usize) -> rusqlite::Result<u32> {
    Ok(row.get::<_, i64>(index)?.clamp(0, i64::from(u32::MAX)) as u32)
}

fn meeting_from_row(row: &Row<'_>) -> rusqlite::Result<MeetingRow> {
    let source_text: String = row.get(23)?;
    let last_change_source = match source_text.as_str() {
        "poll" => ChangeSource::Poll,
        "webhook" => ChangeSource::Webhook,
        other => {
            return Err(conversion_error(
                23,
                format!("unknown change source {other:?}"),
            ))
        }
    };
    Ok(MeetingRow {
        meeting_id: MeetingId(row.get(0)?),
        uri: EventUri::new(row.get::<_, String>(1)?),
        name: row.get(2)?,
        status: Status::parse(&row.get::<_, String>(3)?),
        start_time: row.get::<_, SqlTime>(4)?.0,
        end_time: row.get::<_, SqlTime>(5)?.0,
        event_type: row.get(6)?,
        event_type_name: row.get(28)?,
        event_type_color: row.get(29)?,
        location: Location {
            kind: row.get(7)?,
            join_url: row.get(8)?,
            detail: row.get(9)?,
        },
        calendly_created_at: row.get::<_, SqlTime>(10)?.0,
        calendly_updated_at: row.get::<_, SqlTime>(11)?.0,
        cancellation: cancellation_from_columns(row, 12, 13, 14, 15, 16)?,
        rescheduled_from: row.get::<_, Option<String>>(17)?.map(EventUri::new),
        rescheduled_to: row.get::<_, Option<String>>(18)?.map(EventUri::new),
        rescheduled_to_start: row.get::<_, Option<SqlTime>>(19)?.map(|time| time.0),
        deleted_in_calendly: row.get(20)?,
        first_seen_at: row.get::<_, SqlTime>(21)?.0,
        last_seen_at: row.get::<_, SqlTime>(22)?.0,
        last_change_source,
        invitees_total: count_column(row, 24)?,
        invitees_active: count_column(row, 25)?,
        moved_invitees: count_column(row, 26)?,
        read_error: row.get(27)?,
        invitees: Vec::new(),
        client_emails: Vec::new(),
    })
}

const INVITEE_COLUMNS: &str = "i.invitee_id, i.meeting_id, i.invitee_uri, i.event_uri, i.email,
    i.name, i.status, i.timezone, i.cancel_url, i.reschedule_url, i.old_invitee_uri,
    i.new_invitee_uri, i.rescheduled, i.no_show, i.has_cancellation, i.canceled_at,
    i.canceled_reason, i.canceled_by, i.canceler_type, i.calendly_created_at, i.calendly_updated_at,
    (SELECT coalesce(
        (SELECT n.event_uri FROM invitees n
          WHERE n.account_id = i.account_id AND n.invitee_uri = i.new_invitee_uri),
        (SELECT n.event_uri FROM invitees n
          WHERE n.account_id = i.account_id AND n.old_invitee_uri = i.invitee_uri
          ORDER BY n.invitee_uri LIMIT 1))),
    (SELECT coalesce(
        (SELECT o.event_uri FROM invitees o
          WHERE o.account_id = i.account_id AND o.invitee_uri = i.old_invitee_uri),
        (SELECT o.event_uri FROM invitees o
          WHERE o.account_id = i.account_id AND o.new_invitee_uri = i.invitee_uri
          ORDER BY o.invitee_uri LIMIT 1)))";

fn invitee_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, InviteeRow)> {
    Ok((
        row.get(0)?,
        InviteeRow {
            uri: InviteeUri::new(row.get::<_, String>(2)?),
            event: EventUri::new(row.get::<_, String>(3)?),
            email: row.get(4)?,
            name: row.get(5)?,
            status: Status::parse(&row.get::<_, String>(6)?),
            timezone: row.get(7)?,
            questions_and_answers: Vec::new(),
            cancel_url: row.get(8)?,
            reschedule_url: row.get(9)?,
            old_invitee: row.get::<_, Option<String>>(10)?.map(InviteeUri::new),
            new_invitee: row.get::<_, Option<String>>(11)?.map(InviteeUri::new),
            moved_to: partner_meeting(row, 21, 11)?,
            moved_to_start: None,
            moved_from: partner_meeting(row, 22, 10)?,
            rescheduled: row.get(12)?,
            no_show: row.get(13)?,
            cancellation: cancellation_from_columns(row, 14, 15, 16, 17, 18)?,
            created_at: row.get::<_, SqlTime>(19)?.0,
            updated_at: row.get::<_, SqlTime>(20)?.0,
        },
    ))
}

/// The meeting of a reschedule partner: the stored partner's (column `found`), or else the one
/// nested in the partner's URI (column `named`), as a partner that is not stored still names it.
fn partner_meeting(
    row: &Row<'_>,
    found: usize,
    named: usize,
) -> rusqlite::Result<Option<EventUri>> {
    let found: Option<String> = row.get(found)?;
    let named: Option<String> = row.get(named)?;
    Ok(found
        .or_else(|| named.as_deref().and_then(nested_event))
        .map(EventUri::new))
}

/// `https://…/scheduled_events/E/invitees/I` → `https://…/scheduled_events/E`.
fn nested_event(invitee_uri: &str) -> Option<String> {
    let (event, invitee_id) = invitee_uri
        .trim_end_matches('/')
        .rsplit_once("/invitees/")?;
    (event.contains("/scheduled_events/") && !invitee_id.is_empty() && !invitee_id.contains('/'))
        .then(|| event.to_owned())
}

/// SQL conditions and their parameters. Clauses use bare `?` placeholders, which SQLite
/// numbers in order of appearance, so values are kept in the same order.
#[derive(Clone)]
struct Conditions {
    clauses: Vec<String>,
    values: Vec<Value>,
    /// True when a selective id list (client links, search hits) should drive the query.
    driven_by_id_list: bool,
}

impl Conditions {
    fn new() -> Self {
        Self {
            clauses: Vec::new(),
            values: Vec::new(),
            driven_by_id_list: false,
        }
    }

    fn push(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.to_owned());
        self.values.extend(values);
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

fn time_value(instant: DateTime<Utc>) -> Value {
    Value::Text(SqlTime::text(instant))
}

/// The count and latest reason of unreadable meetings. Every status refresh runs it; the partial
/// index of migration 7 keeps it to the few failed rows instead of a look at every meeting's row.
pub(crate) const UNREADABLE_MEETINGS_SQL: &str = "SELECT count(*),
        (SELECT read_error FROM meetings
          WHERE account_id = ?1 AND deleted_in_calendly = 0 AND read_error IS NOT NULL
          ORDER BY read_error_at DESC, meeting_id DESC LIMIT 1)
   FROM meetings
  WHERE account_id = ?1 AND deleted_in_calendly = 0 AND read_error IS NOT NULL";

/// The oldest unreadable meetings first, for a sync to retry (same index).
pub(crate) const MEETINGS_WITH_READ_ERRORS_SQL: &str = "SELECT event_uri FROM meetings
  WHERE account_id = ?1 AND deleted_in_calendly = 0 AND read_error IS NOT NULL
  ORDER BY read_error_at, meeting_id LIMIT ?2";

impl Store {
    /// Meetings of the account matching `filter`, in the filter's order.
    pub fn meetings(
        &self,
        account: AccountId,
        filter: &MeetingFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<MeetingRow>, StoreError> {
        let mut conditions = Conditions::new();
        conditions.push("m.account_id = ?", [Value::Integer(account.0)]);
        match filter.status {
            MeetingStatusFilter::All => conditions.push("m.deleted_in_calendly = 0", []),
            MeetingStatusFilter::Active => {
                conditions.push("m.deleted_in_calendly = 0 AND m.status = 'active'", [])
            }
            MeetingStatusFilter::Canceled => {
                conditions.push("m.deleted_in_calendly = 0 AND m.status = 'canceled'", [])
            }
            MeetingStatusFilter::Deleted => conditions.push("m.deleted_in_calendly = 1", []),
            MeetingStatusFilter::Upcoming => conditions.push(
                "m.deleted_in_calendly = 0 AND m.status = 'active' AND m.end_time > ?",
                [time_value(now)],
            ),
        }
        if let Some(from) = filter.from {
            conditions.push("m.start_time >= ?", [time_value(from)]);
        }
        if let Some(to) = filter.to {
            conditions.push("m.start_time < ?", [time_value(to)]);
        }
        if let Some(email) = &filter.client_email {
            conditions.driven_by_id_list = true;
            conditions.push(
                "m.meeting_id IN (SELECT mc.meeting_id FROM meeting_clients mc
                                    JOIN clients c ON c.client_id = mc.client_id
                                   WHERE c.account_id = ? AND c.email_normalized = ?)",
                [
                    Value::Integer(account.0),
                    Value::Text(normalize_email(email)),
                ],
            );
        }
        if let Some(expression) = filter.search.as_deref().and_then(fts_match_expression) {
            // The full-text match runs once here; the (two) list queries below then look its hits
            // up by id instead of each evaluating the match again.
            let hits: Vec<i64> = self
                .connection
                .prepare_cached("SELECT rowid FROM meeting_search WHERE meeting_search MATCH ?1")?
                .query_map([expression], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            if hits.is_empty() {
                return Ok(Vec::new());
            }
            conditions.driven_by_id_list = true;
            conditions.push(
                "m.meeting_id IN (SELECT value FROM json_each(?))",
                [Value::Text(
                    serde_json::to_string(&hits).expect("a list of integers always serializes"),
                )],
            );
        }
        let limit = filter.limit.map(i64::from).unwrap_or(-1);
        let needs_upcoming_bound = filter.status == MeetingStatusFilter::Upcoming
            || filter.order == MeetingOrder::UpcomingFirst;
        // A meeting that has not ended started no earlier than the earliest start among all
        // not-yet-ended meetings; bounding `start_time` by it lets the start index skip the past.
        let earliest_upcoming_start: Option<SqlTime> = if needs_upcoming_bound {
            self.connection
                .prepare_cached(
                    "SELECT min(start_time) FROM meetings WHERE account_id = ?1 AND end_time > ?2",
                )?
                .query_row(params![account.0, SqlTime(now)], |row| row.get(0))?
        } else {
            None
        };
        if filter.status == MeetingStatusFilter::Upcoming {
            match earliest_upcoming_start {
                Some(bound) => conditions.push("m.start_time >= ?", [time_value(bound.0)]),
                None => return Ok(Vec::new()),
            }
        }
        let mut meetings = match filter.order {
            MeetingOrder::StartAscending => {
                self.select_meetings(&conditions, "m.start_time ASC, m.meeting_id ASC", limit)?
            }
            MeetingOrder::StartDescending => {
                self.select_meetings(&conditions, "m.start_time DESC, m.meeting_id DESC", limit)?
            }
            MeetingOrder::UpcomingFirst => {
                // Two index-ordered queries instead of one sort over everything.
                let mut past_conditions = conditions.clone();
                let mut rows = Vec::new();
                if let Some(bound) = earliest_upcoming_start {
                    let mut upcoming_conditions = conditions;
                    upcoming_conditions.push(
                        "m.end_time > ? AND m.start_time >= ?",
                        [time_value(now), time_value(bound.0)],
                    );
                    rows = self.select_meetings(
                        &upcoming_conditions,
                        "m.start_time ASC, m.meeting_id ASC",
                        limit,
                    )?;
                }
                let remaining = if limit < 0 {
                    -1
                } else {
                    limit - rows.len() as i64
                };
                if remaining != 0 {
                    // A meeting that has ended also started by now, which bounds the index scan.
                    past_conditions.push(
                        "m.end_time <= ? AND m.start_time <= ?",
                        [time_value(now), time_value(now)],
                    );
                    rows.extend(self.select_meetings(
                        &past_conditions,
                        "m.start_time DESC, m.meeting_id DESC",
                        remaining,
                    )?);
                }
                rows
            }
        };
        self.attach_invitee_summaries(&mut meetings)?;
        Ok(meetings)
    }

    fn select_meetings(
        &self,
        conditions: &Conditions,
        order_by: &str,
        limit: i64,
    ) -> Result<Vec<MeetingRow>, StoreError> {
        let mut where_clause = conditions.sql();
        let mut order_by = order_by.to_owned();
        if conditions.driven_by_id_list {
            // A unary `+` keeps SQLite from walking the whole start-time index and testing each
            // row against the id list; it looks up the (few) listed ids and sorts them instead.
            for column in ["m.account_id", "m.start_time", "m.end_time"] {
                where_clause = where_clause.replace(column, &format!("+{column}"));
                order_by = order_by.replace(column, &format!("+{column}"));
            }
        }
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings m {EVENT_TYPE_JOIN} WHERE {where_clause} ORDER BY {order_by} LIMIT ?"
        );
        let mut statement = self.connection.prepare_cached(&sql)?;
        let values = conditions
            .values
            .iter()
            .cloned()
            .chain([Value::Integer(limit)]);
        let rows = statement.query_map(params_from_iter(values), meeting_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Fills `invitees` and `client_emails` of each row with two queries for the whole list.
    fn attach_invitee_summaries(&self, meetings: &mut [MeetingRow]) -> Result<(), StoreError> {
        if meetings.is_empty() {
            return Ok(());
        }
        let ids_json = serde_json::to_string(
            &meetings
                .iter()
                .map(|meeting| meeting.meeting_id.0)
                .collect::<Vec<_>>(),
        )
        .expect("a list of integers always serializes");
        let position: HashMap<i64, usize> = meetings
            .iter()
            .enumerate()
            .map(|(index, meeting)| (meeting.meeting_id.0, index))
            .collect();
        let mut invitee_statement = self.connection.prepare_cached(
            "SELECT i.meeting_id, i.name, i.email, i.status FROM invitees i
              WHERE i.meeting_id IN (SELECT value FROM json_each(?1))
              ORDER BY i.meeting_id, i.calendly_created_at, i.invitee_uri",
        )?;
        let mut rows = invitee_statement.query([&ids_json])?;
        while let Some(row) = rows.next()? {
            let meeting_id: i64 = row.get(0)?;
            meetings[position[&meeting_id]]
                .invitees
                .push(InviteeSummaryRow {
                    name: row.get(1)?,
                    email: row.get(2)?,
                    status: Status::parse(&row.get::<_, String>(3)?),
                });
        }
        let mut client_statement = self.connection.prepare_cached(
            "SELECT mc.meeting_id, c.email_normalized FROM meeting_clients mc
               JOIN clients c ON c.client_id = mc.client_id
              WHERE mc.meeting_id IN (SELECT value FROM json_each(?1))
              ORDER BY mc.meeting_id, c.email_normalized",
        )?;
        let mut rows = client_statement.query([&ids_json])?;
        while let Some(row) = rows.next()? {
            let meeting_id: i64 = row.get(0)?;
            meetings[position[&meeting_id]]
                .client_emails
                .push(row.get(1)?);
        }
        Ok(())
    }

    /// One meeting with its invitees and their questions and answers.
    pub fn meeting_detail(
        &self,
        account: AccountId,
        uri: &EventUri,
    ) -> Result<Option<MeetingDetail>, StoreError> {
        let meeting = self
            .connection
            .query_row(
                &format!(
                    "SELECT {MEETING_COLUMNS} FROM meetings m {EVENT_TYPE_JOIN} WHERE m.account_id = ?1 AND m.event_uri = ?2"
                ),
                params![account.0, uri.as_str()],
                meeting_from_row,
            )
            .optional()?;
        let Some(mut meeting) = meeting else {
            return Ok(None);
        };
        self.attach_invitee_summaries(std::slice::from_mut(&mut meeting))?;
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {INVITEE_COLUMNS} FROM invitees i WHERE i.meeting_id = ?1
              ORDER BY i.calendly_created_at, i.invitee_uri"
        ))?;
        let rows = statement.query_map([meeting.meeting_id.0], invitee_from_row)?;
        let mut invitees: Vec<(i64, InviteeRow)> = rows.collect::<Result<_, _>>()?;
        let mut answers_statement = self.connection.prepare_cached(
            "SELECT question, answer, position FROM invitee_answers WHERE invitee_id = ?1
              ORDER BY position, answer_id",
        )?;
        for (invitee_id, invitee) in &mut invitees {
            let answers = answers_statement.query_map([*invitee_id], |row| {
                Ok(QuestionAnswer {
                    question: row.get(0)?,
                    answer: row.get(1)?,
                    position: row.get(2)?,
                })
            })?;
            invitee.questions_and_answers = answers.collect::<Result<_, _>>()?;
            if let Some(target) = &invitee.moved_to {
                invitee.moved_to_start = self
                    .connection
                    .prepare_cached(
                        "SELECT start_time FROM meetings WHERE account_id = ?1 AND event_uri = ?2",
                    )?
                    .query_row(params![account.0, target.as_str()], |row| {
                        row.get::<_, SqlTime>(0)
                    })
                    .optional()?
                    .map(|time| time.0);
            }
        }
        Ok(Some(MeetingDetail {
            meeting,
            invitees: invitees.into_iter().map(|(_, invitee)| invitee).collect(),
        }))
    }

    /// Every client of the account, alphabetically by name (e-mail when nameless).
    pub fn clients(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClientRow>, StoreError> {
        self.select_clients(account, None, now)
    }

    /// The client with this e-mail (normalized before lookup), if any.
    pub fn client(
        &self,
        account: AccountId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientRow>, StoreError> {
        Ok(self
            .select_clients(account, Some(&normalize_email(email)), now)?
            .into_iter()
            .next())
    }

    /// Every meeting (not deleted) of one client, upcoming first then past.
    pub fn client_meetings(
        &self,
        account: AccountId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MeetingRow>, StoreError> {
        let filter = MeetingFilter {
            client_email: Some(email.to_owned()),
            ..MeetingFilter::default()
        };
        self.meetings(account, &filter, now)
    }

    /// Meetings (not flagged deleted) whose invitees could not be read on the last try, and the
    /// most recent reason: what the status line reports until a sync reads them.
    pub fn unreadable_meetings(
        &self,
        account: AccountId,
    ) -> Result<(u64, Option<String>), StoreError> {
        let (count, latest): (i64, Option<String>) =
            self.connection
                .query_row(UNREADABLE_MEETINGS_SQL, [account.0], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?;
        Ok((count.max(0) as u64, latest))
    }

    /// The meetings (not flagged deleted) whose invitees could not be read on the last try,
    /// oldest failure first, at most `limit`: a sync retries them even outside its window.
    pub fn meetings_with_read_errors(
        &self,
        account: AccountId,
        limit: u32,
    ) -> Result<Vec<EventUri>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(MEETINGS_WITH_READ_ERRORS_SQL)?;
        let rows = statement.query_map(params![account.0, limit], |row| {
            Ok(EventUri::new(row.get::<_, String>(0)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many meetings (not flagged deleted) the account has.
    pub fn meeting_count(&self, account: AccountId) -> Result<u64, StoreError> {
        let count: i64 = self.connection.query_row(
            "SELECT count(*) FROM meetings WHERE account_id = ?1 AND deleted_in_calendly = 0",
            [account.0],
            |row| row.get(0),
        )?;
        Ok(count.max(0) as u64)
    }

    fn select_clients(
        &self,
        account: AccountId,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClientRow>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT c.client_id, c.email_normalized, c.display_name,
                    count(CASE WHEN m.deleted_in_calendly = 0 AND m.status = 'active' AND mc.client_attends = 1
                               THEN 1 END),
                    count(CASE WHEN m.deleted_in_calendly = 0
                                AND (m.status = 'canceled' OR mc.client_attends = 0) THEN 1 END),
                    min(CASE WHEN m.deleted_in_calendly = 0 AND m.status = 'active' AND mc.client_attends = 1
                              AND m.end_time > ?2 THEN m.start_time END),
                    max(CASE WHEN m.deleted_in_calendly = 0 AND m.status = 'active' AND mc.client_attends = 1
                              AND m.end_time <= ?2 THEN m.start_time END),
                    (SELECT n.body FROM client_notes n WHERE n.client_id = c.client_id)
               FROM clients c
               LEFT JOIN meeting_clients mc ON mc.client_id = c.client_id
               LEFT JOIN meetings m ON m.meeting_id = mc.meeting_id
              WHERE c.account_id = ?1 AND (?3 IS NULL OR c.email_normalized = ?3)
              GROUP BY c.client_id
              ORDER BY lower(CASE WHEN c.display_name <> '' THEN c.display_name ELSE c.email_normalized END),
                       c.email_normalized",
        )?;
        let rows = statement.query_map(params![account.0, SqlTime(now), email], |row| {
            Ok(ClientRow {
                client_id: ClientId(row.get(0)?),
                email: row.get(1)?,
                name: row.get(2)?,
                meeting_count: row.get::<_, i64>(3)?.max(0) as u64,
                canceled_meeting_count: row.get::<_, i64>(4)?.max(0) as u64,
                next_meeting: row.get::<_, Option<SqlTime>>(5)?.map(|time| time.0),
                last_meeting: row.get::<_, Option<SqlTime>>(6)?.map(|time| time.0),
                note: row.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
