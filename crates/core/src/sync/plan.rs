//! The pure sync planner: stored state + one fetched page → operations and the events whose
//! invitees must be fetched. No I/O; the clock is an argument; every decision is covered by case
//! tables.

use super::fingerprint::event_fingerprint;
use crate::domain::{EventUri, FetchedEvent, Status};
use crate::store::SqlTime;
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};

/// How far a stored Calendly timestamp may lie ahead of the local clock and still be trusted.
/// Beyond it (a wrong clock, a bad payload) the "older copy" guard is off and content decides, so
/// a timestamp from the future can never freeze a row.
pub const FUTURE_TOLERANCE: Duration = Duration::hours(1);

/// Whether a stored timestamp can be used to call a fetched copy "older".
pub(crate) fn trusted(stored: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    stored <= now + FUTURE_TOLERANCE
}

/// Identifies one version of an event as Calendly sent it: its `updated_at` plus the fingerprint
/// of its content (counters included). A complete invitee read is recorded against this key, so
/// invitees are read again whenever the event is at any other version: new, changed, written by a
/// webhook, or with counters that moved without `updated_at` (stale statuses in a group).
pub fn invitee_read_key(event: &FetchedEvent) -> String {
    format!(
        "{}|{}",
        SqlTime::text(event.updated_at),
        event_fingerprint(event)
    )
}

/// The invitee freshness rule: the invitees Calendly changes without touching the event. A
/// no-show is marked (or cleared) on the invitee once a meeting has started, and members of a
/// group come and go; neither needs to move the event, so polling re-reads these lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteeFreshness {
    pub now: DateTime<Utc>,
    /// A meeting's invitees are re-read on every sync from its start until this long after its
    /// end, and once more after that (the read that closes the window).
    pub after_meeting: Duration,
    /// Group meetings (two or more invitees) starting within this long are re-read on every sync.
    pub group_ahead: Duration,
}

impl InviteeFreshness {
    /// The rule as the app ships it: three days of no-shows, the coming two weeks of groups.
    pub fn standard(now: DateTime<Utc>) -> Self {
        Self {
            now,
            after_meeting: Duration::days(3),
            group_ahead: Duration::days(14),
        }
    }
}

/// What the store holds about one meeting, as much as the planner needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMeetingState {
    pub uri: EventUri,
    /// Calendly's `updated_at` of the stored version.
    pub updated_at: DateTime<Utc>,
    pub status: Status,
    pub deleted_in_calendly: bool,
    /// [`super::event_fingerprint`] of the stored version.
    pub fingerprint: String,
    /// How many invitees of this meeting are stored (any status).
    pub stored_invitee_count: u32,
    /// How many of them are stored as active.
    pub stored_active_invitee_count: u32,
    /// [`invitee_read_key`] of the event version whose invitees were last read completely by a
    /// poll; `None` when they never were (e.g. a webhook stored the meeting).
    pub invitees_read_for: Option<String>,
    /// When (local clock) that complete read happened.
    pub invitees_read_at: Option<DateTime<Utc>>,
    /// The last attempt to read the invitees failed; they are read again on the next sync.
    pub read_error: bool,
}

/// Stored meetings keyed by event URI: either those of one page or all in a sync window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub meetings: HashMap<EventUri, StoredMeetingState>,
}

impl StoredSnapshot {
    pub fn from_states(states: impl IntoIterator<Item = StoredMeetingState>) -> Self {
        Self {
            meetings: states
                .into_iter()
                .map(|state| (state.uri.clone(), state))
                .collect(),
        }
    }

    pub fn get(&self, uri: &EventUri) -> Option<&StoredMeetingState> {
        self.meetings.get(uri)
    }
}

/// What to do with one meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeetingOperation {
    /// Calendly returned an event the store has never seen.
    Create(FetchedEvent),
    /// The event changed (`updated_at` moved or the content differs) without a status flip.
    Update(FetchedEvent),
    /// The event became canceled; the cancellation (reason, who) is in the event.
    Cancel(FetchedEvent),
    /// A canceled or deleted-flagged meeting is active again.
    Restore(FetchedEvent),
    /// Nothing to write (also when the fetched copy is older than the stored one).
    Unchanged(EventUri),
    /// A stored meeting in the window that Calendly no longer returns: flag it, never remove it.
    MarkDeleted(EventUri),
}

impl MeetingOperation {
    pub fn uri(&self) -> &EventUri {
        match self {
            Self::Create(event)
            | Self::Update(event)
            | Self::Cancel(event)
            | Self::Restore(event) => &event.uri,
            Self::Unchanged(uri) | Self::MarkDeleted(uri) => uri,
        }
    }

    /// The event to write, for the operations that write one.
    pub fn event(&self) -> Option<&FetchedEvent> {
        match self {
            Self::Create(event)
            | Self::Update(event)
            | Self::Cancel(event)
            | Self::Restore(event) => Some(event),
            Self::Unchanged(_) | Self::MarkDeleted(_) => None,
        }
    }
}

/// The plan for one fetched page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PagePlan {
    /// One operation per distinct event of the page, in page order.
    pub operations: Vec<MeetingOperation>,
    /// Events whose invitees must be fetched before applying: events whose stored invitees were
    /// not read completely for the fetched version (new events, changed events, rows a webhook
    /// wrote, counters that moved), and events whose last read failed. An unchanged, complete
    /// event needs no invitee fetch.
    pub invitees_needed: Vec<EventUri>,
    /// Events whose invitees the [`InviteeFreshness`] rule re-reads although the event did not
    /// change (no-shows, group members). The engine spends a per-sync budget on these.
    pub invitee_refreshes: Vec<EventUri>,
    /// [`invitee_read_key`] of the fetched copy of every planned event: the apply step records a
    /// complete invitee read against it.
    pub read_keys: HashMap<EventUri, String>,
}

fn is_canceled(status: &Status) -> bool {
    *status == Status::Canceled
}

/// True when `fetched` is an older copy than the stored row (a slow page, a late webhook), judged
/// only by a stored timestamp that is not from the future.
fn is_older_copy(stored: &StoredMeetingState, fetched: &FetchedEvent, now: DateTime<Utc>) -> bool {
    trusted(stored.updated_at, now) && fetched.updated_at < stored.updated_at
}

/// Decides the operation for one fetched event against its stored state at `now`. The apply
/// step calls this again inside its transaction, so a stale plan can never regress a newer row.
pub fn classify_event(
    stored: Option<&StoredMeetingState>,
    fetched: &FetchedEvent,
    now: DateTime<Utc>,
) -> MeetingOperation {
    let Some(stored) = stored else {
        return MeetingOperation::Create(fetched.clone());
    };
    let fetched_canceled = is_canceled(&fetched.status);
    let stored_canceled = is_canceled(&stored.status);
    if is_older_copy(stored, fetched, now) {
        // An older copy must not overwrite a newer row, nor restore one flagged deleted.
        return MeetingOperation::Unchanged(fetched.uri.clone());
    }
    if stored.deleted_in_calendly {
        // Calendly returns the event again, so it exists after all: the flag must clear.
        return match (stored_canceled, fetched_canceled) {
            (_, false) => MeetingOperation::Restore(fetched.clone()),
            (false, true) => MeetingOperation::Cancel(fetched.clone()),
            (true, true) => MeetingOperation::Update(fetched.clone()),
        };
    }
    let content_changed =
        fetched.updated_at != stored.updated_at || event_fingerprint(fetched) != stored.fingerprint;
    if !content_changed {
        return MeetingOperation::Unchanged(fetched.uri.clone());
    }
    match (stored_canceled, fetched_canceled) {
        (false, true) => MeetingOperation::Cancel(fetched.clone()),
        (true, false) => MeetingOperation::Restore(fetched.clone()),
        _ => MeetingOperation::Update(fetched.clone()),
    }
}

/// Whether the invitees of `fetched` must be fetched, given its stored state.
fn needs_invitees(
    stored: Option<&StoredMeetingState>,
    fetched: &FetchedEvent,
    now: DateTime<Utc>,
) -> bool {
    let Some(stored) = stored else {
        return true;
    };
    if is_older_copy(stored, fetched, now) {
        return false;
    }
    // Stale statuses show up as counters (in the fingerprint) that differ from the version read.
    stored.read_error || stored.invitees_read_for.as_deref() != Some(&invitee_read_key(fetched))
}

/// Whether the freshness rule re-reads the invitees of an otherwise unchanged event.
fn wants_fresh_invitees(
    stored: &StoredMeetingState,
    fetched: &FetchedEvent,
    rule: &InviteeFreshness,
) -> bool {
    let now = rule.now;
    if is_canceled(&fetched.status) {
        return false;
    }
    // A read time from the future (a clock that was ahead) proves nothing: read again.
    let Some(read_at) = stored.invitees_read_at.filter(|read_at| *read_at <= now) else {
        return true;
    };
    if fetched.start_time <= now {
        // Every sync while no-shows can still change, then once after the window closes.
        let window_closes = fetched.end_time + rule.after_meeting;
        return read_at < window_closes.min(now);
    }
    fetched.invitees_total > 1 && fetched.start_time < now + rule.group_ahead
}

/// Plans one fetched page against the stored state of its events, trusting every stored
/// timestamp and without the freshness rule: for seeding and tools. Syncs and webhooks use
/// [`plan_poll_page`] and [`plan_page_at`].
pub fn plan_page(stored: &StoredSnapshot, page: &[FetchedEvent]) -> PagePlan {
    plan(
        stored,
        page,
        DateTime::<Utc>::MAX_UTC - FUTURE_TOLERANCE,
        None,
    )
}

/// Plans one page of a webhook-style change at `now` (no freshness rule: a webhook reads nothing).
pub fn plan_page_at(
    stored: &StoredSnapshot,
    page: &[FetchedEvent],
    now: DateTime<Utc>,
) -> PagePlan {
    plan(stored, page, now, None)
}

/// Plans one page of a poll: the clock guards at `rule.now`, and the freshness rule.
pub fn plan_poll_page(
    stored: &StoredSnapshot,
    page: &[FetchedEvent],
    rule: &InviteeFreshness,
) -> PagePlan {
    plan(stored, page, rule.now, Some(rule))
}

/// When the page holds the same event twice (pagination shifting under us), the copy with the
/// newest `updated_at` wins and the event gets one operation.
fn plan(
    stored: &StoredSnapshot,
    page: &[FetchedEvent],
    now: DateTime<Utc>,
    freshness: Option<&InviteeFreshness>,
) -> PagePlan {
    let mut newest_by_uri: HashMap<&EventUri, &FetchedEvent> = HashMap::new();
    let mut page_order: Vec<&EventUri> = Vec::new();
    for event in page {
        match newest_by_uri.get(&event.uri) {
            None => {
                page_order.push(&event.uri);
                newest_by_uri.insert(&event.uri, event);
            }
            Some(kept) if event.updated_at >= kept.updated_at => {
                newest_by_uri.insert(&event.uri, event);
            }
            Some(_) => {}
        }
    }
    let mut plan = PagePlan::default();
    for uri in page_order {
        let fetched = newest_by_uri[uri];
        let stored_state = stored.get(uri);
        plan.operations
            .push(classify_event(stored_state, fetched, now));
        plan.read_keys
            .insert(uri.clone(), invitee_read_key(fetched));
        if needs_invitees(stored_state, fetched, now) {
            plan.invitees_needed.push(uri.clone());
        } else if let (Some(state), Some(rule)) = (stored_state, freshness) {
            if !is_older_copy(state, fetched, now) && wants_fresh_invitees(state, fetched, rule) {
                plan.invitee_refreshes.push(uri.clone());
            }
        }
    }
    plan
}

/// After the last page: every stored meeting of the window that Calendly did not return is
/// flagged deleted (once; already-flagged meetings get no operation). Sorted by URI.
pub fn plan_vanished(
    stored_in_window: &StoredSnapshot,
    seen_uris: &HashSet<EventUri>,
) -> Vec<MeetingOperation> {
    let mut vanished: Vec<&EventUri> = stored_in_window
        .meetings
        .values()
        .filter(|state| !state.deleted_in_calendly && !seen_uris.contains(&state.uri))
        .map(|state| &state.uri)
        .collect();
    vanished.sort();
    vanished
        .into_iter()
        .map(|uri| MeetingOperation::MarkDeleted(uri.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
