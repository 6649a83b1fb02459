//! Read-only views the shell and the CLI turn into their own wire types (IPC DTOs, CLI JSON).

use chrono::{DateTime, Utc};

use advicly_core::domain::{ConnectionState, EventUri, Status, SyncKind, UserUri};

use crate::events::{SyncCounts, SyncProgress};

/// Which meetings a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeetingStatusFilter {
    /// Active, not deleted, ending after `now`.
    #[default]
    Upcoming,
    /// Everything that is not deleted.
    All,
    Active,
    Canceled,
    /// Meetings Calendly stopped returning.
    Deleted,
}

impl MeetingStatusFilter {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "upcoming" => Some(Self::Upcoming),
            "all" => Some(Self::All),
            "active" => Some(Self::Active),
            "canceled" => Some(Self::Canceled),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// Filters for [`crate::Engine::meetings`]; every field narrows the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeetingQuery {
    /// Free text matched against the meeting name and invitee names and e-mails.
    pub search: Option<String>,
    pub status: MeetingStatusFilter,
    /// Meetings starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Meetings starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Meetings with this client (compared after e-mail normalisation).
    pub client_email: Option<String>,
}

/// An invitee as lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteeView {
    pub name: String,
    pub email: String,
    pub status: Status,
}

/// A meeting as lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingView {
    pub uri: EventUri,
    pub name: Option<String>,
    pub status: Status,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub event_type: Option<String>,
    pub location_kind: Option<String>,
    pub join_url: Option<String>,
    pub canceled_reason: Option<String>,
    pub canceled_by: Option<String>,
    /// The meeting this one replaced (when it is the new half of a reschedule).
    pub rescheduled_from: Option<EventUri>,
    /// The meeting that replaced this one (when it is the old half of a reschedule).
    pub rescheduled_to: Option<EventUri>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub invitees: Vec<InviteeView>,
    /// Normalised e-mails of the clients this meeting is with.
    pub client_emails: Vec<String>,
}

/// One question and its answer on the booking form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionAnswerView {
    pub question: String,
    pub answer: String,
}

/// An invitee on the meeting detail page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteeDetailView {
    pub uri: String,
    pub name: String,
    pub email: String,
    pub status: Status,
    pub timezone: Option<String>,
    pub questions_and_answers: Vec<QuestionAnswerView>,
    pub no_show: bool,
    pub canceled_reason: Option<String>,
}

/// Everything known about one meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingDetailView {
    pub meeting: MeetingView,
    pub location_detail: Option<String>,
    pub invitees: Vec<InviteeDetailView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `poll` or `webhook`.
    pub last_change_source: String,
}

/// A client: one person (by e-mail) the advisor meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    pub email: String,
    pub name: String,
    pub meeting_count: u32,
    pub next_meeting: Option<DateTime<Utc>>,
    pub last_meeting: Option<DateTime<Utc>>,
}

/// The connected Calendly account. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub email: String,
    pub name: String,
    pub user_uri: UserUri,
    pub timezone: Option<String>,
    pub scheduling_url: Option<String>,
    /// True when connected to the in-process demo Calendly.
    pub demo: bool,
}

/// Whether token refreshes are currently allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    /// Refresh failed for good; nothing calls Calendly until the advisor reconnects.
    Open,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }
}

/// The last sync the store recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastSyncView {
    pub kind: SyncKind,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: SyncCounts,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// Connection and sync state, for the status line, `advicly status` and the overview screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    pub state: ConnectionState,
    pub account: Option<AccountView>,
    /// Why the account needs reconnecting, when it does.
    pub reason: Option<String>,
    pub last_sync: Option<LastSyncView>,
    /// From the scheduler when one runs; otherwise when the next sync would be due.
    pub next_sync: Option<DateTime<Utc>>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub circuit: CircuitState,
    pub sync_running: bool,
    pub progress: Option<SyncProgress>,
    pub meeting_count: u32,
}

/// What disconnecting did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DisconnectReport {
    pub subscriptions_deleted: u32,
    pub tokens_revoked: bool,
    /// Things that could not be cleaned up remotely (the local disconnect still happened).
    pub warnings: Vec<String>,
    /// Whether the local meetings and clients were erased.
    pub wiped: bool,
}
