//! The wire types of the UI ↔ shell contract (`docs/ipc.md`): camelCase JSON, RFC 3339 UTC times.
//!
//! These DTOs exist only at this boundary; the engine's view types are mapped into them in
//! `commands.rs` and `events.rs`, so the UI contract can stay put while the engine evolves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which meetings the list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeetingStatusFilter {
    Upcoming,
    All,
    Active,
    Canceled,
    Deleted,
}

/// Arguments of `list_meetings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingQuery {
    pub search: Option<String>,
    pub status: MeetingStatusFilter,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub client_email: Option<String>,
    /// At most this many meetings; absent or null means all.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteeSummary {
    pub name: String,
    pub email: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingSummary {
    pub uri: String,
    pub name: Option<String>,
    /// `active`, `canceled`, or an unknown Calendly value verbatim.
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The event type's URI: an identifier for matching, never shown.
    pub event_type: Option<String>,
    /// The event type's name and `#rrggbb` colour, when known.
    pub event_type_name: Option<String>,
    pub event_type_color: Option<String>,
    pub location_kind: Option<String>,
    pub join_url: Option<String>,
    pub canceled_reason: Option<String>,
    pub canceled_by: Option<String>,
    pub rescheduled_from: Option<String>,
    pub rescheduled_to: Option<String>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    /// Invitees who rescheduled away, of `invitee_count` (Calendly's total).
    pub moved_invitees: u32,
    pub invitee_count: u32,
    /// "1 of 3 moved" when some, not all, invitees rescheduled.
    pub reschedule_note: Option<String>,
    /// Why this meeting's invitees could not be read from Calendly on the last try.
    pub read_error: Option<String>,
    pub deleted: bool,
    pub invitees: Vec<InviteeSummary>,
    pub client_emails: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionAnswer {
    pub question: String,
    pub answer: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteeDetail {
    pub name: String,
    pub email: String,
    pub status: String,
    pub uri: String,
    pub timezone: Option<String>,
    pub questions_and_answers: Vec<QuestionAnswer>,
    pub no_show: bool,
    pub canceled_reason: Option<String>,
    /// The meeting this invitee rescheduled to, and its start when known.
    pub rescheduled_to: Option<String>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    /// The meeting this invitee's booking replaced.
    pub rescheduled_from: Option<String>,
}

/// `MeetingSummary` plus the detail fields; `invitees` carries the detailed invitees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingDetail {
    pub uri: String,
    pub name: Option<String>,
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The event type's URI: an identifier for matching, never shown.
    pub event_type: Option<String>,
    /// The event type's name and `#rrggbb` colour, when known.
    pub event_type_name: Option<String>,
    pub event_type_color: Option<String>,
    pub location_kind: Option<String>,
    pub join_url: Option<String>,
    pub canceled_reason: Option<String>,
    pub canceled_by: Option<String>,
    pub rescheduled_from: Option<String>,
    pub rescheduled_to: Option<String>,
    pub rescheduled_to_start: Option<DateTime<Utc>>,
    pub moved_invitees: u32,
    pub invitee_count: u32,
    pub reschedule_note: Option<String>,
    pub read_error: Option<String>,
    pub deleted: bool,
    pub invitees: Vec<InviteeDetail>,
    pub client_emails: Vec<String>,
    pub location_detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `poll` or `webhook`.
    pub last_change_source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSummary {
    pub email: String,
    pub name: String,
    pub meeting_count: u64,
    pub next_meeting: Option<DateTime<Utc>>,
    pub last_meeting: Option<DateTime<Utc>>,
    pub canceled_meeting_count: u64,
    /// The advisor's private note (only ever on this computer).
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientNote {
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientAnswer {
    pub meeting_uri: String,
    pub meeting_name: Option<String>,
    pub meeting_start: DateTime<Utc>,
    pub answered_at: DateTime<Utc>,
    pub question: String,
    pub answer: String,
}

/// Returned by `get_client`: the client page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientDetail {
    pub client: ClientSummary,
    pub emails: Vec<String>,
    /// Newest start first, deleted ones included.
    pub meetings: Vec<MeetingSummary>,
    /// Newest booking first.
    pub answers: Vec<ClientAnswer>,
    pub note: Option<ClientNote>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub uri: String,
    pub name: Option<String>,
    pub duration_minutes: Option<u32>,
    pub color: Option<String>,
    pub kind: Option<String>,
    pub scheduling_url: Option<String>,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub email: String,
    pub name: String,
    pub user_uri: String,
    pub timezone: Option<String>,
    pub scheduling_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Connected,
    NeedsReconnect,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub state: ConnectionState,
    pub account: Option<Account>,
    pub reason: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub demo: bool,
    /// While Calendly's token endpoint fails (the account stays connected): when the next
    /// trial refresh happens.
    #[serde(default)]
    pub sign_in_retry_at: Option<DateTime<Utc>>,
    /// The last failure of the token endpoint, in plain words.
    #[serde(default)]
    pub sign_in_problem: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    Full,
    Incremental,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCounts {
    pub created: u64,
    pub updated: u64,
    pub canceled: u64,
    pub restored: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastSync {
    pub kind: SyncKind,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: SyncCounts,
    pub error: Option<String>,
    /// "1 meeting could not be read from Calendly: …" while some meetings could not be read.
    pub warning: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    pub pages: u64,
    pub events: u64,
    pub invitees: u64,
    pub invitees_pending: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub running: bool,
    pub progress: Option<SyncProgress>,
    pub last_sync: Option<LastSync>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub interval_minutes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub connection: Connection,
    pub sync: SyncStatus,
    pub online: bool,
    pub demo_available: bool,
    /// False when no OAuth client id is set: "Connect with Calendly" explains how to set one.
    #[serde(default)]
    pub oauth_available: bool,
    pub meeting_count: u64,
    pub realtime: Realtime,
    /// Whether new, canceled and rescheduled meetings become desktop notifications.
    pub notifications_enabled: bool,
}

/// `off`, `connecting`, `live` or `degraded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RealtimeState {
    Off,
    Connecting,
    Live,
    Degraded,
}

/// Real-time updates: the state, why they are not live, the newest delivery, the subscription.
/// Also the payload of the `realtime-changed` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Realtime {
    pub state: RealtimeState,
    pub reason: Option<String>,
    pub last_delivery_at: Option<DateTime<Utc>>,
    pub subscription: Option<RealtimeSubscription>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RealtimeSubscription {
    pub uri: String,
    /// `active`, `disabled`, …
    pub state: String,
}

/// Result of `connect_oauth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectOutcome {
    /// True when the system browser was opened (the deep link finishes the sign-in); false when
    /// the saved sign-in still worked and the account is connected again already.
    pub browser_opened: bool,
}

/// Where a setting's value comes from: `default`, `built_in`, `file`, `environment`, `flag`.
pub type SettingSource = String;

/// The Settings screen's values (`get_settings`, `save_settings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub client_id: Option<String>,
    pub relay_base: Option<String>,
    pub sync_interval_minutes: u32,
    pub notifications: bool,
    /// Per setting name (`client_id`, `relay_base`, `sync_interval_minutes`, `notifications`).
    pub sources: std::collections::BTreeMap<String, SettingSource>,
    /// Settings an environment variable fixes (name → variable); the screen shows them read-only.
    pub locked_by: std::collections::BTreeMap<String, String>,
    /// Problems with values that are ignored, one sentence each, naming the setting.
    pub problems: Vec<String>,
    /// The settings file shared with the `advicly` command line.
    pub file: Option<String>,
}

/// Arguments of `save_settings`: only the fields present change; an empty text removes the
/// setting from the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsUpdate {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub relay_base: Option<String>,
    #[serde(default)]
    pub sync_interval_minutes: Option<u32>,
    #[serde(default)]
    pub notifications: Option<bool>,
}

/// Returned by `get_start`: the overview and, when an account is connected, the agenda asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartData {
    pub overview: Overview,
    pub agenda: Option<Vec<MeetingSummary>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectReport {
    pub subscriptions_deleted: u64,
    pub tokens_revoked: bool,
    pub warnings: Vec<String>,
    pub wiped: bool,
}

/// Payload of the `sync-started` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStartedPayload {
    pub kind: SyncKind,
}

/// Payload of the `sync-failed` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncFailedPayload {
    pub code: String,
    pub message: String,
    pub sync: SyncStatus,
}

/// Payload of the `network-changed` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkChangedPayload {
    pub online: bool,
}

// Mapping from the engine's views. Kept next to the DTOs so a change on either side shows up here.
mod from_engine {
    use super::*;
    use advicly_engine as engine;
    use advicly_engine::{ConnectionState as DomainConnectionState, SyncKind as DomainSyncKind};

    impl From<DomainSyncKind> for SyncKind {
        fn from(kind: DomainSyncKind) -> Self {
            match kind {
                DomainSyncKind::Full => Self::Full,
                DomainSyncKind::Incremental => Self::Incremental,
            }
        }
    }

    impl From<MeetingStatusFilter> for engine::MeetingStatusFilter {
        fn from(filter: MeetingStatusFilter) -> Self {
            match filter {
                MeetingStatusFilter::Upcoming => Self::Upcoming,
                MeetingStatusFilter::All => Self::All,
                MeetingStatusFilter::Active => Self::Active,
                MeetingStatusFilter::Canceled => Self::Canceled,
                MeetingStatusFilter::Deleted => Self::Deleted,
            }
        }
    }

    impl From<MeetingQuery> for engine::MeetingQuery {
        fn from(query: MeetingQuery) -> Self {
            // An empty search box means "no search", not "match the empty string".
            let search = query.search.filter(|text| !text.trim().is_empty());
            let client_email = query.client_email.filter(|email| !email.trim().is_empty());
            Self {
                search,
                status: query.status.into(),
                from: query.from,
                to: query.to,
                client_email,
                limit: query.limit,
            }
        }
    }

    impl From<engine::InviteeView> for InviteeSummary {
        fn from(invitee: engine::InviteeView) -> Self {
            Self {
                name: invitee.name,
                email: invitee.email,
                status: invitee.status.as_str().to_owned(),
            }
        }
    }

    impl From<engine::MeetingView> for MeetingSummary {
        fn from(meeting: engine::MeetingView) -> Self {
            Self {
                uri: meeting.uri.as_str().to_owned(),
                name: meeting.name,
                status: meeting.status.as_str().to_owned(),
                start_time: meeting.start_time,
                end_time: meeting.end_time,
                event_type: meeting.event_type,
                event_type_name: meeting.event_type_name,
                event_type_color: meeting.event_type_color,
                location_kind: meeting.location_kind,
                join_url: meeting.join_url,
                canceled_reason: meeting.canceled_reason,
                canceled_by: meeting.canceled_by,
                rescheduled_from: meeting.rescheduled_from.map(|uri| uri.as_str().to_owned()),
                rescheduled_to: meeting.rescheduled_to.map(|uri| uri.as_str().to_owned()),
                rescheduled_to_start: meeting.rescheduled_to_start,
                moved_invitees: meeting.moved_invitees,
                invitee_count: meeting.invitee_count,
                reschedule_note: meeting.reschedule_note,
                read_error: meeting.read_error,
                deleted: meeting.deleted,
                invitees: meeting.invitees.into_iter().map(Into::into).collect(),
                client_emails: meeting.client_emails,
            }
        }
    }

    impl From<engine::InviteeDetailView> for InviteeDetail {
        fn from(invitee: engine::InviteeDetailView) -> Self {
            Self {
                name: invitee.name,
                email: invitee.email,
                status: invitee.status.as_str().to_owned(),
                uri: invitee.uri,
                timezone: invitee.timezone,
                questions_and_answers: invitee
                    .questions_and_answers
                    .into_iter()
                    .map(|pair| QuestionAnswer {
                        question: pair.question,
                        answer: pair.answer,
                    })
                    .collect(),
                no_show: invitee.no_show,
                canceled_reason: invitee.canceled_reason,
                rescheduled_to: invitee.rescheduled_to.map(|uri| uri.as_str().to_owned()),
                rescheduled_to_start: invitee.rescheduled_to_start,
                rescheduled_from: invitee.rescheduled_from.map(|uri| uri.as_str().to_owned()),
            }
        }
    }

    impl From<engine::MeetingDetailView> for MeetingDetail {
        fn from(detail: engine::MeetingDetailView) -> Self {
            let summary = MeetingSummary::from(detail.meeting);
            Self {
                uri: summary.uri,
                name: summary.name,
                status: summary.status,
                start_time: summary.start_time,
                end_time: summary.end_time,
                event_type: summary.event_type,
                event_type_name: summary.event_type_name,
                event_type_color: summary.event_type_color,
                location_kind: summary.location_kind,
                join_url: summary.join_url,
                canceled_reason: summary.canceled_reason,
                canceled_by: summary.canceled_by,
                rescheduled_from: summary.rescheduled_from,
                rescheduled_to: summary.rescheduled_to,
                rescheduled_to_start: summary.rescheduled_to_start,
                moved_invitees: summary.moved_invitees,
                invitee_count: summary.invitee_count,
                reschedule_note: summary.reschedule_note,
                read_error: summary.read_error,
                deleted: summary.deleted,
                invitees: detail.invitees.into_iter().map(Into::into).collect(),
                client_emails: summary.client_emails,
                location_detail: detail.location_detail,
                created_at: detail.created_at,
                updated_at: detail.updated_at,
                last_change_source: detail.last_change_source,
            }
        }
    }

    impl From<engine::ClientView> for ClientSummary {
        fn from(client: engine::ClientView) -> Self {
            Self {
                email: client.email,
                name: client.name,
                meeting_count: client.meeting_count,
                next_meeting: client.next_meeting,
                last_meeting: client.last_meeting,
                canceled_meeting_count: client.canceled_meeting_count,
                note: client.note,
            }
        }
    }

    impl From<engine::ClientNoteView> for ClientNote {
        fn from(note: engine::ClientNoteView) -> Self {
            Self {
                body: note.body,
                updated_at: note.updated_at,
            }
        }
    }

    impl From<engine::ClientAnswerView> for ClientAnswer {
        fn from(answer: engine::ClientAnswerView) -> Self {
            Self {
                meeting_uri: answer.meeting_uri.as_str().to_owned(),
                meeting_name: answer.meeting_name,
                meeting_start: answer.meeting_start,
                answered_at: answer.answered_at,
                question: answer.question,
                answer: answer.answer,
            }
        }
    }

    impl From<engine::ClientDetailView> for ClientDetail {
        fn from(detail: engine::ClientDetailView) -> Self {
            Self {
                client: detail.client.into(),
                emails: detail.emails,
                meetings: detail.meetings.into_iter().map(Into::into).collect(),
                answers: detail.answers.into_iter().map(Into::into).collect(),
                note: detail.note.map(Into::into),
            }
        }
    }

    impl From<engine::EventTypeView> for EventType {
        fn from(event_type: engine::EventTypeView) -> Self {
            Self {
                uri: event_type.uri,
                name: event_type.name,
                duration_minutes: event_type.duration_minutes,
                color: event_type.color,
                kind: event_type.kind,
                scheduling_url: event_type.scheduling_url,
                active: event_type.active,
            }
        }
    }

    impl From<engine::AccountView> for Account {
        fn from(account: engine::AccountView) -> Self {
            Self {
                email: account.email,
                name: account.name,
                user_uri: account.user_uri.as_str().to_owned(),
                timezone: account.timezone,
                scheduling_url: account.scheduling_url,
            }
        }
    }

    impl From<engine::SyncCounts> for SyncCounts {
        fn from(counts: engine::SyncCounts) -> Self {
            Self {
                created: counts.created,
                updated: counts.updated,
                canceled: counts.canceled,
                restored: counts.restored,
                deleted: counts.deleted,
                unchanged: counts.unchanged,
            }
        }
    }

    impl From<engine::SyncProgress> for SyncProgress {
        fn from(progress: engine::SyncProgress) -> Self {
            Self {
                pages: u64::from(progress.pages),
                events: u64::from(progress.events),
                invitees: u64::from(progress.invitees),
                invitees_pending: u64::from(progress.invitees_pending),
            }
        }
    }

    impl From<engine::LastSyncView> for LastSync {
        fn from(last: engine::LastSyncView) -> Self {
            Self {
                kind: last.kind.into(),
                started_at: last.started_at,
                finished_at: last.finished_at,
                counts: last.counts.into(),
                error: last.error,
                warning: last.warning,
            }
        }
    }

    impl From<engine::DisconnectReport> for DisconnectReport {
        fn from(report: engine::DisconnectReport) -> Self {
            Self {
                subscriptions_deleted: u64::from(report.subscriptions_deleted),
                tokens_revoked: report.tokens_revoked,
                warnings: report.warnings,
                wiped: report.wiped,
            }
        }
    }

    impl Connection {
        /// The connection part of an engine status.
        pub fn from_status(status: &engine::StatusView) -> Self {
            let state = match status.state {
                DomainConnectionState::Connected => ConnectionState::Connected,
                DomainConnectionState::NeedsReconnect => ConnectionState::NeedsReconnect,
                DomainConnectionState::Disconnected => ConnectionState::Disconnected,
            };
            Self {
                state,
                demo: status.account.as_ref().is_some_and(|account| account.demo),
                account: status.account.clone().map(Into::into),
                reason: status.reason.clone(),
                token_expires_at: status.token_expires_at,
                sign_in_retry_at: status.sign_in_outage.as_ref().map(|outage| outage.retry_at),
                sign_in_problem: status
                    .sign_in_outage
                    .as_ref()
                    .map(|outage| outage.problem.clone()),
            }
        }
    }

    impl Settings {
        /// The advisor's four settings out of everything resolved.
        pub fn from_resolved(resolved: &engine::ResolvedSettings) -> Self {
            use engine::{SettingKey, SettingSource};
            let keys = [
                SettingKey::ClientId,
                SettingKey::RelayBase,
                SettingKey::SyncIntervalMinutes,
                SettingKey::Notifications,
            ];
            Self {
                client_id: resolved.client_id(),
                relay_base: resolved.relay_base().map(|url| url.to_string()),
                sync_interval_minutes: resolved
                    .sync_interval_minutes()
                    .unwrap_or(engine::DEFAULT_INTERVAL_MINUTES),
                notifications: resolved.notifications(),
                sources: keys
                    .iter()
                    .map(|key| {
                        (
                            key.name().to_owned(),
                            resolved.source(*key).as_str().to_owned(),
                        )
                    })
                    .collect(),
                locked_by: keys
                    .iter()
                    .filter(|key| {
                        matches!(
                            resolved.source(**key),
                            SettingSource::Environment | SettingSource::Flag
                        )
                    })
                    .map(|key| (key.name().to_owned(), key.environment_variable().to_owned()))
                    .collect(),
                problems: resolved
                    .problems
                    .iter()
                    .map(|problem| problem.message.clone())
                    .collect(),
                file: resolved
                    .file
                    .as_ref()
                    .map(|path| path.display().to_string()),
            }
        }
    }

    impl From<&engine::RealtimeView> for Realtime {
        fn from(realtime: &engine::RealtimeView) -> Self {
            Self {
                state: match realtime.state {
                    engine::RealtimeState::Off => RealtimeState::Off,
                    engine::RealtimeState::Connecting => RealtimeState::Connecting,
                    engine::RealtimeState::Live => RealtimeState::Live,
                    engine::RealtimeState::Degraded => RealtimeState::Degraded,
                },
                reason: realtime.reason.clone(),
                last_delivery_at: realtime.last_delivery_at,
                subscription: realtime.subscription.as_ref().map(|subscription| {
                    RealtimeSubscription {
                        uri: subscription.uri.clone(),
                        state: subscription.state.clone(),
                    }
                }),
            }
        }
    }

    impl SyncStatus {
        /// The sync part of an engine status; the scheduler knows the interval and the next run.
        pub fn from_status(
            status: &engine::StatusView,
            next_sync_at: Option<DateTime<Utc>>,
            interval_minutes: u32,
        ) -> Self {
            Self {
                running: status.sync_running,
                progress: status.progress.map(Into::into),
                last_sync: status.last_sync.clone().map(Into::into),
                next_sync_at: next_sync_at.or(status.next_sync),
                interval_minutes,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enum_values_are_the_strings_of_the_contract() {
        // The UI compares these exact strings (docs/ipc.md).
        assert_eq!(
            json!(ConnectionState::NeedsReconnect),
            json!("needs_reconnect")
        );
        assert_eq!(json!(SyncKind::Incremental), json!("incremental"));
        let filter: MeetingStatusFilter =
            serde_json::from_value(json!("upcoming")).expect("a documented filter");
        assert_eq!(filter, MeetingStatusFilter::Upcoming);
    }

    #[test]
    fn the_meeting_query_arrives_in_camel_case_with_nulls() {
        let query: MeetingQuery = serde_json::from_value(json!({
            "search": "ada", "status": "all", "from": null, "to": "2026-03-01T00:00:00Z", "clientEmail": "ada@example.com"
        }))
        .expect("the UI's MeetingQuery shape parses");
        // Every field of the UI's object lands where the engine expects it.
        assert_eq!(query.search.as_deref(), Some("ada"));
        assert_eq!(query.client_email.as_deref(), Some("ada@example.com"));
        assert!(query.to.is_some() && query.from.is_none(), "{query:?}");
    }

    #[test]
    fn an_empty_search_box_means_no_search() {
        let query = MeetingQuery {
            search: Some("   ".into()),
            status: MeetingStatusFilter::All,
            from: None,
            to: None,
            client_email: Some(String::new()),
            limit: None,
        };
        let engine_query: advicly_engine::MeetingQuery = query.into();
        // Matching "   " would hide every meeting; the UI means "show all".
        assert_eq!(engine_query.search, None);
        assert_eq!(engine_query.client_email, None);
    }

    #[test]
    fn overview_fields_are_camel_case() {
        let overview = Overview {
            connection: Connection {
                state: ConnectionState::Connected,
                account: None,
                reason: None,
                token_expires_at: None,
                demo: true,
                sign_in_retry_at: None,
                sign_in_problem: None,
            },
            sync: SyncStatus {
                running: false,
                progress: None,
                last_sync: None,
                next_sync_at: None,
                interval_minutes: 15,
            },
            online: true,
            demo_available: false,
            oauth_available: true,
            meeting_count: 3,
            realtime: Realtime {
                state: RealtimeState::Degraded,
                reason: Some("The relay cannot be reached".into()),
                last_delivery_at: None,
                subscription: Some(RealtimeSubscription {
                    uri: "https://api.calendly.com/webhook_subscriptions/S".into(),
                    state: "active".into(),
                }),
            },
            notifications_enabled: true,
        };
        let value = serde_json::to_value(&overview).expect("serializes");
        assert_eq!(value["realtime"]["state"], json!("degraded"));
        assert_eq!(value["realtime"]["lastDeliveryAt"], json!(null));
        assert_eq!(value["realtime"]["subscription"]["state"], json!("active"));
        assert_eq!(value["notificationsEnabled"], json!(true));
        // Field names are the contract's, not Rust's.
        assert_eq!(value["demoAvailable"], json!(false));
        assert_eq!(value["meetingCount"], json!(3));
        assert_eq!(value["sync"]["intervalMinutes"], json!(15));
        assert_eq!(value["connection"]["tokenExpiresAt"], json!(null));
    }
}
