//! The pure sync planner: stored state + one fetched page → operations and the events whose
//! invitees must be fetched. No I/O, no clock; every decision is covered by case tables.

use super::fingerprint::event_fingerprint;
use crate::domain::{EventUri, FetchedEvent, Status};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

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
    /// Events whose invitees must be fetched before applying: new events, events whose
    /// `updated_at` or content changed, and events with fewer stored invitees than Calendly's
    /// `invitees_total` (e.g. a webhook stored one invitee of a group). Unchanged, complete
    /// events need no invitee fetch.
    pub invitees_needed: Vec<EventUri>,
}

fn is_canceled(status: &Status) -> bool {
    *status == Status::Canceled
}

/// Decides the operation for one fetched event against its stored state. The apply step calls
/// this again inside its transaction, so a stale plan can never regress a newer row.
pub fn classify_event(
    stored: Option<&StoredMeetingState>,
    fetched: &FetchedEvent,
) -> MeetingOperation {
    let Some(stored) = stored else {
        return MeetingOperation::Create(fetched.clone());
    };
    let fetched_canceled = is_canceled(&fetched.status);
    let stored_canceled = is_canceled(&stored.status);
    if stored.deleted_in_calendly {
        // Calendly returns the event again, so it exists after all: the flag must clear.
        return match (stored_canceled, fetched_canceled) {
            (_, false) => MeetingOperation::Restore(fetched.clone()),
            (false, true) => MeetingOperation::Cancel(fetched.clone()),
            (true, true) => MeetingOperation::Update(fetched.clone()),
        };
    }
    if fetched.updated_at < stored.updated_at {
        // An older copy (a slow page, a late webhook) must not overwrite a newer row.
        return MeetingOperation::Unchanged(fetched.uri.clone());
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
fn needs_invitees(stored: Option<&StoredMeetingState>, fetched: &FetchedEvent) -> bool {
    let Some(stored) = stored else {
        return true;
    };
    if fetched.updated_at < stored.updated_at {
        return false;
    }
    fetched.updated_at != stored.updated_at
        || event_fingerprint(fetched) != stored.fingerprint
        || stored.stored_invitee_count < fetched.invitees_total
}

/// Plans one fetched page against the stored state of its events.
///
/// When the page holds the same event twice (pagination shifting under us), the copy with the
/// newest `updated_at` wins and the event gets one operation.
pub fn plan_page(stored: &StoredSnapshot, page: &[FetchedEvent]) -> PagePlan {
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
        plan.operations.push(classify_event(stored_state, fetched));
        if needs_invitees(stored_state, fetched) {
            plan.invitees_needed.push(uri.clone());
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
