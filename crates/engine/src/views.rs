//! Read-only views the shell and the CLI turn into their own wire types (IPC DTOs, CLI JSON).

use chrono::{DateTime, Utc};

use advicly_core::domain::{AccountId, ConnectionState, EventUri, Status, SyncKind, UserUri};
use advicly_core::store::{
    AccountRow, ClientAnswerRow, ClientNoteRow, ClientRow, EventTypeRow, MeetingDetail,
    MeetingFilter, MeetingOrder, MeetingRow, MeetingStatusFilter as StoreStatusFilter, Store,
    MAX_NOTE_CHARS,
};

use crate::error::EngineError;
use crate::mapping::store_error;

use crate::events::{SyncCounts, SyncProgress};

/// Which meetings a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeetingStatusFilter {
    /// Active, not deleted, ending after `now`.
    Upcoming,
    /// Everything that is not deleted.
    #[default]
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
    /// At most this many meetings, in list order (upcoming first, then past). Lists cost per row,
    /// so screens ask for a page and then for more.
    pub limit: Option<u32>,
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
    /// The event type's URI: an identifier, never for display.
    pub event_type: Option<String>,
    /// The event type's name and `#rrggbb` colour, when the cache knows the type.
    pub event_type_name: Option<String>,
    pub event_type_color: Option<String>,
    pub location_kind: Option<String>,
    pub join_url: Option<String>,
    pub canceled_reason: Option<String>,
    pub canceled_by: Option<String>,
    /// The meeting this one replaced (when it is the new half of a reschedule).
    pub rescheduled_from: Option<EventUri>,
    /// The meeting that replaced this one (when it is the old half of a reschedule).
    pub rescheduled_to: Option<EventUri>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    /// Invitees who moved to another meeting. A one-on-one that moved reads "Rescheduled to …"
    /// (`rescheduled_to`); a group where only some moved reads `reschedule_note`.
    pub moved_invitees: u32,
    /// Calendly's invitee count (canceled and moved invitees included).
    pub invitee_count: u32,
    /// "1 of 3 moved" when some, but not all, invitees of a meeting rescheduled.
    pub reschedule_note: Option<String>,
    /// Why this meeting's invitees could not be read from Calendly on the last try (the meeting
    /// shows what is known; the next sync tries again).
    pub read_error: Option<String>,
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
    /// The meeting this invitee rescheduled to, and its start when it is stored.
    pub rescheduled_to: Option<EventUri>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    /// The meeting this invitee's booking replaced.
    pub rescheduled_from: Option<EventUri>,
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
    pub meeting_count: u64,
    pub next_meeting: Option<DateTime<Utc>>,
    pub last_meeting: Option<DateTime<Utc>>,
    /// Meetings that were canceled (or that the client canceled their place in).
    pub canceled_meeting_count: u64,
    /// The advisor's private note, if any (stored only on this computer).
    pub note: Option<String>,
}

/// The advisor's private note on a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientNoteView {
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

/// One answer a client gave on a booking form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAnswerView {
    pub meeting_uri: EventUri,
    pub meeting_name: Option<String>,
    pub meeting_start: DateTime<Utc>,
    pub answered_at: DateTime<Utc>,
    pub question: String,
    pub answer: String,
}

/// Everything known about one client: the client page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientDetailView {
    pub client: ClientView,
    /// The e-mail addresses the client booked with, as typed (they normalise to one client).
    pub emails: Vec<String>,
    /// Every meeting with the client, deleted ones included, newest start first.
    pub meetings: Vec<MeetingView>,
    /// Every answer, newest booking first.
    pub answers: Vec<ClientAnswerView>,
    pub note: Option<ClientNoteView>,
}

/// An event type as the screens show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTypeView {
    pub uri: String,
    pub name: Option<String>,
    pub duration_minutes: Option<u32>,
    pub color: Option<String>,
    pub kind: Option<String>,
    pub scheduling_url: Option<String>,
    pub active: bool,
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
    /// No refresh is sent: Calendly ended the sign-in (`needs_reconnect`, until the advisor
    /// reconnects), or its token endpoint failed and the cool-down runs (until `retry_at`).
    Open,
    /// The cool-down is over: the next refresh is one trial request; success closes it.
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// An outage of Calendly's token endpoint: the sign-in is kept, refreshes wait for `retry_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInOutageView {
    pub since: DateTime<Utc>,
    /// Failed refreshes in a row.
    pub failures: u32,
    pub retry_at: DateTime<Utc>,
    /// The last failure, in plain words.
    pub problem: String,
    /// "Calendly's sign-in service is not answering; retrying at 10:42" (local time).
    pub message: String,
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
    /// Set while some meetings' invitees could not be read: "1 meeting could not be read from
    /// Calendly: …" (the sync itself went on; the next one tries them again).
    pub warning: Option<String>,
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
    /// Set while Calendly's token endpoint is failing (the account stays connected).
    pub sign_in_outage: Option<SignInOutageView>,
    pub sync_running: bool,
    pub progress: Option<SyncProgress>,
    pub meeting_count: u64,
    /// Real time: the stream's state, why it is not live, the last delivery and the subscription.
    pub realtime: crate::realtime::RealtimeView,
}

/// What starting a connection did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectStart {
    /// The stored sign-in still worked: connected again without the browser.
    Reconnected(AccountView),
    /// Open this address in the system browser; the deep link (or `advicly handle-url`)
    /// completes the sign-in.
    OpenBrowser(url::Url),
}

/// What the first screen needs, read together so the UI waits for one answer: the status and,
/// when an account is active, the agenda it asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstScreenView {
    pub status: StatusView,
    /// `None` when no account is active (nothing to list).
    pub agenda: Option<Vec<MeetingView>>,
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

pub(crate) fn account_view(account: &AccountRow, demo: bool) -> AccountView {
    AccountView {
        email: account.user.email.clone(),
        name: account.user.name.clone(),
        user_uri: account.user.uri.clone(),
        timezone: account.user.timezone.clone(),
        scheduling_url: account.user.scheduling_url.clone(),
        demo,
    }
}

fn store_filter(query: &MeetingQuery) -> MeetingFilter {
    let status = match query.status {
        MeetingStatusFilter::Upcoming => StoreStatusFilter::Upcoming,
        MeetingStatusFilter::All => StoreStatusFilter::All,
        MeetingStatusFilter::Active => StoreStatusFilter::Active,
        MeetingStatusFilter::Canceled => StoreStatusFilter::Canceled,
        MeetingStatusFilter::Deleted => StoreStatusFilter::Deleted,
    };
    MeetingFilter {
        from: query.from,
        to: query.to,
        status,
        client_email: query
            .client_email
            .as_deref()
            .map(str::trim)
            .filter(|email| !email.is_empty())
            .map(str::to_owned),
        search: query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        order: MeetingOrder::UpcomingFirst,
        limit: query.limit,
    }
}

/// "1 of 3 moved": only when some invitees moved and the meeting as a whole did not.
fn reschedule_note(row: &MeetingRow) -> Option<String> {
    let count = row.invitees_total.max(row.invitees.len() as u32);
    (row.moved_invitees > 0 && row.rescheduled_to.is_none())
        .then(|| format!("{} of {count} moved", row.moved_invitees))
}

/// "1 meeting could not be read from Calendly: …", or `None` when every meeting could be read.
pub(crate) fn unreadable_warning(count: u64, reason: Option<&str>) -> Option<String> {
    if count == 0 {
        return None;
    }
    let meetings = if count == 1 { "meeting" } else { "meetings" };
    Some(match reason {
        Some(reason) => format!("{count} {meetings} could not be read from Calendly: {reason}"),
        None => format!("{count} {meetings} could not be read from Calendly."),
    })
}

fn meeting_view(row: MeetingRow) -> MeetingView {
    let reschedule_note = reschedule_note(&row);
    let (canceled_reason, canceled_by) = match row.cancellation {
        Some(cancellation) => (cancellation.reason, cancellation.canceled_by),
        None => (None, None),
    };
    MeetingView {
        uri: row.uri,
        name: row.name,
        status: row.status,
        start_time: row.start_time,
        end_time: row.end_time,
        event_type: row.event_type,
        event_type_name: row.event_type_name,
        event_type_color: row.event_type_color,
        location_kind: row.location.kind,
        join_url: row.location.join_url,
        canceled_reason,
        canceled_by,
        rescheduled_from: row.rescheduled_from,
        rescheduled_to: row.rescheduled_to,
        rescheduled_to_start: row.rescheduled_to_start,
        moved_invitees: row.moved_invitees,
        invitee_count: row.invitees_total.max(row.invitees.len() as u32),
        reschedule_note,
        read_error: row.read_error,
        deleted: row.deleted_in_calendly,
        invitees: row
            .invitees
            .into_iter()
            .map(|invitee| InviteeView {
                name: invitee.name,
                email: invitee.email,
                status: invitee.status,
            })
            .collect(),
        client_emails: row.client_emails,
    }
}

pub(crate) fn list_meetings(
    store: &Store,
    account: AccountId,
    query: &MeetingQuery,
    now: DateTime<Utc>,
) -> Result<Vec<MeetingView>, EngineError> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from >= to {
            return Err(EngineError::invalid_input(
                "The start of the date range must be before its end.",
            ));
        }
    }
    let rows = store
        .meetings(account, &store_filter(query), now)
        .map_err(store_error)?;
    Ok(rows.into_iter().map(meeting_view).collect())
}

pub(crate) fn meeting_detail(
    store: &Store,
    account: AccountId,
    uri: &EventUri,
) -> Result<MeetingDetailView, EngineError> {
    let detail = store
        .meeting_detail(account, uri)
        .map_err(store_error)?
        .ok_or_else(|| EngineError::NotFound {
            what: format!("The meeting {uri}"),
        })?;
    let MeetingDetail { meeting, invitees } = detail;
    let location_detail = meeting.location.detail.clone();
    let created_at = meeting.calendly_created_at;
    let updated_at = meeting.calendly_updated_at;
    let last_change_source = meeting.last_change_source.as_str().to_owned();
    Ok(MeetingDetailView {
        meeting: meeting_view(meeting),
        location_detail,
        invitees: invitees
            .into_iter()
            .map(|invitee| InviteeDetailView {
                uri: invitee.uri.to_string(),
                name: invitee.name,
                email: invitee.email,
                status: invitee.status,
                timezone: invitee.timezone,
                questions_and_answers: invitee
                    .questions_and_answers
                    .into_iter()
                    .map(|answer| QuestionAnswerView {
                        question: answer.question,
                        answer: answer.answer,
                    })
                    .collect(),
                no_show: invitee.no_show,
                canceled_reason: invitee
                    .cancellation
                    .and_then(|cancellation| cancellation.reason),
                rescheduled_to: invitee.moved_to,
                rescheduled_to_start: invitee.moved_to_start,
                rescheduled_from: invitee.moved_from,
            })
            .collect(),
        created_at,
        updated_at,
        last_change_source,
    })
}

fn client_view(row: ClientRow) -> ClientView {
    ClientView {
        email: row.email,
        name: row.name,
        meeting_count: row.meeting_count,
        next_meeting: row.next_meeting,
        last_meeting: row.last_meeting,
        canceled_meeting_count: row.canceled_meeting_count,
        note: row.note,
    }
}

pub(crate) fn list_clients(
    store: &Store,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<ClientView>, EngineError> {
    let rows = store.clients(account, now).map_err(store_error)?;
    Ok(rows.into_iter().map(client_view).collect())
}

fn note_view(row: ClientNoteRow) -> ClientNoteView {
    ClientNoteView {
        body: row.body,
        updated_at: row.updated_at,
    }
}

fn answer_view(row: ClientAnswerRow) -> ClientAnswerView {
    ClientAnswerView {
        meeting_uri: row.meeting_uri,
        meeting_name: row.meeting_name,
        meeting_start: row.meeting_start,
        answered_at: row.answered_at,
        question: row.question,
        answer: row.answer,
    }
}

fn unknown_client(email: &str) -> EngineError {
    EngineError::NotFound {
        what: format!("The client {}", email.trim()),
    }
}

pub(crate) fn client_detail(
    store: &Store,
    account: AccountId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<ClientDetailView, EngineError> {
    let client = store
        .client(account, email, now)
        .map_err(store_error)?
        .ok_or_else(|| unknown_client(email))?;
    let mut meetings = Vec::new();
    for status in [StoreStatusFilter::All, StoreStatusFilter::Deleted] {
        let filter = MeetingFilter {
            client_email: Some(client.email.clone()),
            status,
            order: MeetingOrder::StartDescending,
            ..MeetingFilter::default()
        };
        meetings.extend(store.meetings(account, &filter, now).map_err(store_error)?);
    }
    meetings.sort_by(|a, b| b.start_time.cmp(&a.start_time).then(a.uri.cmp(&b.uri)));
    let mut emails: Vec<String> = meetings
        .iter()
        .flat_map(|meeting| meeting.invitees.iter())
        .filter(|invitee| advicly_core::domain::normalize_email(&invitee.email) == client.email)
        .map(|invitee| invitee.email.trim().to_owned())
        .collect();
    emails.sort();
    emails.dedup();
    if emails.is_empty() {
        emails.push(client.email.clone());
    }
    let answers = store
        .client_answers(account, &client.email)
        .map_err(store_error)?
        .into_iter()
        .map(answer_view)
        .collect();
    let note = store
        .client_note(account, &client.email)
        .map_err(store_error)?
        .map(note_view);
    Ok(ClientDetailView {
        client: client_view(client),
        emails,
        meetings: meetings.into_iter().map(meeting_view).collect(),
        answers,
        note,
    })
}

/// Checks a note before it is saved: not longer than the store accepts.
pub(crate) fn check_note(body: &str) -> Result<(), EngineError> {
    let length = body.chars().count();
    if length > MAX_NOTE_CHARS {
        return Err(EngineError::invalid_input(format!(
            "A note can hold up to {MAX_NOTE_CHARS} characters; this one has {length}."
        )));
    }
    Ok(())
}

pub(crate) fn save_client_note(
    store: &mut Store,
    account: AccountId,
    email: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<ClientNoteView>, EngineError> {
    check_note(body)?;
    store
        .set_client_note(account, email, body, now)
        .map_err(store_error)?
        .map(|saved| saved.map(note_view))
        .ok_or_else(|| unknown_client(email))
}

fn event_type_view(row: EventTypeRow) -> EventTypeView {
    EventTypeView {
        uri: row.uri.to_string(),
        name: row.name,
        duration_minutes: row.duration_minutes,
        color: row.color,
        kind: row.kind,
        scheduling_url: row.scheduling_url,
        active: row.active,
    }
}

pub(crate) fn list_event_types(
    store: &Store,
    account: AccountId,
) -> Result<Vec<EventTypeView>, EngineError> {
    Ok(store
        .event_types(account)
        .map_err(store_error)?
        .into_iter()
        .map(event_type_view)
        .collect())
}
