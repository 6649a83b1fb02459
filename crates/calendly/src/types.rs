//! Queries and pages of the list endpoints.

use advicly_core::domain::{
    FetchedEvent, FetchedEventType, FetchedInvitee, OrganizationUri, UserUri,
};
use chrono::{DateTime, Utc};

/// Which scheduled events to list (`GET /scheduled_events`). Times filter on `start_time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Alone: the user's own events. With `organization`: an admin listing a member.
    pub user: UserUri,
    pub organization: Option<OrganizationUri>,
    pub status: Option<EventStatusFilter>,
    pub min_start_time: DateTime<Utc>,
    pub max_start_time: DateTime<Utc>,
    pub sort: SortOrder,
    pub invitee_email: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatusFilter {
    Active,
    Canceled,
}

impl EventStatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
        }
    }
}

/// Order by `start_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    pub(crate) fn start_time_param(self) -> &'static str {
        match self {
            Self::Ascending => "start_time:asc",
            Self::Descending => "start_time:desc",
        }
    }
}

/// A list item that could not be read and was left out of its page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedItem {
    /// The item's `uri`, when it had one. A sync must not treat this resource as deleted.
    pub uri: Option<String>,
    pub reason: String,
}

/// One page of scheduled events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<FetchedEvent>,
    /// Pass to the next call; `None` on the last page.
    pub next_page_token: Option<String>,
    /// Items of this page that could not be read (logged and counted too).
    pub skipped: Vec<SkippedItem>,
}

/// One page of an event's invitees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteePage {
    pub invitees: Vec<FetchedInvitee>,
    pub next_page_token: Option<String>,
    pub skipped: Vec<SkippedItem>,
}

/// Every event type of a user, as far as it could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTypeListing {
    pub event_types: Vec<FetchedEventType>,
    /// False when an item could not be read (it was skipped): the listing then must not be
    /// taken as proof that a type no longer exists.
    pub complete: bool,
}
