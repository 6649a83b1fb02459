//! The domain vocabulary shared by the store, the sync planner and the Calendly client.
//!
//! These types describe what Advicly knows about meetings, independent of any wire format:
//! the Calendly client maps its JSON into them, the store persists them, and the IPC and CLI
//! layers map them into their own output types. They deliberately do not derive `Serialize`.

use chrono::{DateTime, Utc};
use std::fmt;

macro_rules! uri_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(uri: impl Into<String>) -> Self {
                Self(uri.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The last path segment, which Calendly's path parameters take.
            /// IDs are opaque: 16-character legacy IDs and UUIDs coexist.
            pub fn id(&self) -> &str {
                self.0.trim_end_matches('/').rsplit('/').next().unwrap_or(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uri_newtype!(
    /// Full URI of a Calendly scheduled event (`https://api.calendly.com/scheduled_events/<id>`).
    EventUri
);
uri_newtype!(
    /// Full URI of a Calendly invitee (`…/scheduled_events/<event>/invitees/<id>`).
    InviteeUri
);
uri_newtype!(
    /// Full URI of a Calendly user.
    UserUri
);
uri_newtype!(
    /// Full URI of a Calendly organization.
    OrganizationUri
);
uri_newtype!(
    /// Full URI of a Calendly event type (`https://api.calendly.com/event_types/<id>`).
    EventTypeUri
);

/// Local primary key of an account row. Every meeting, invitee and client belongs to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// Status of an event or invitee as Calendly reports it. Unknown values are kept verbatim
/// so that a new Calendly status never fails a sync.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Canceled,
    Other(String),
}

impl Status {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "active" => Self::Active,
            "canceled" => Self::Canceled,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
            Self::Other(raw) => raw,
        }
    }
}

/// Who canceled and why (present on canceled events and invitees).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    pub canceled_by: Option<String>,
    /// Calendly sends `""` for host cancels without a reason; keep what was sent.
    pub reason: Option<String>,
    /// `host`, `invitee`, or whatever new value Calendly sends.
    pub canceler_type: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// Where a meeting happens. `kind` is Calendly's `type` verbatim (`zoom`, `physical`,
/// `google_conference`, or an unknown future value); `None` when the event has no location.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    pub kind: Option<String>,
    /// A conference join URL, when Calendly has pushed one.
    pub join_url: Option<String>,
    /// Free-text location (address, phone number, custom text).
    pub detail: Option<String>,
}

/// A scheduled event as fetched from Calendly (list endpoint or webhook `scheduled_event`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedEvent {
    pub uri: EventUri,
    pub name: Option<String>,
    pub status: Status,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub event_type: Option<String>,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancellation: Option<Cancellation>,
    /// `invitees_counter.total` (counts canceled invitees too); 0 when absent.
    pub invitees_total: u32,
    pub invitees_active: u32,
}

/// One question and its answer on an invitee's booking form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionAnswer {
    pub question: String,
    pub answer: String,
    pub position: i64,
}

/// An invitee as fetched from Calendly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedInvitee {
    pub uri: InviteeUri,
    pub event: EventUri,
    pub email: String,
    pub name: String,
    pub status: Status,
    pub timezone: Option<String>,
    pub questions_and_answers: Vec<QuestionAnswer>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    /// Set on the old half of a reschedule: the invitee that replaced this one.
    pub new_invitee: Option<InviteeUri>,
    /// Set on the new half of a reschedule: the invitee this one replaced.
    pub old_invitee: Option<InviteeUri>,
    pub rescheduled: bool,
    pub no_show: bool,
    pub cancellation: Option<Cancellation>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The Calendly user behind a connection (`GET /users/me`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendlyUser {
    pub uri: UserUri,
    pub organization: OrganizationUri,
    pub email: String,
    pub name: String,
    pub timezone: Option<String>,
    pub scheduling_url: Option<String>,
}

/// How a change reached the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSource {
    Poll,
    Webhook,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Poll => "poll",
            Self::Webhook => "webhook",
        }
    }
}

/// Connection state of an account. Never holds a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Connected,
    NeedsReconnect,
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Disconnected => "disconnected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "connected" => Some(Self::Connected),
            "needs_reconnect" => Some(Self::NeedsReconnect),
            "disconnected" => Some(Self::Disconnected),
            _ => None,
        }
    }
}

/// Full or incremental sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    Full,
    Incremental,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }
}

/// The half-open time range `[start, end)` of event start times a sync covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl SyncWindow {
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }
}

/// Normalizes an e-mail address into the key that identifies a client: trimmed, lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An event type (a kind of meeting the advisor offers) as fetched from `GET /event_types`.
/// Meetings name their type by URI; the store keeps these so screens can show a name and a colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedEventType {
    pub uri: EventTypeUri,
    /// Calendly allows a nameless type; the store then falls back to the meeting's own name.
    pub name: Option<String>,
    pub duration_minutes: Option<u32>,
    /// `#rrggbb` in lower case; anything else Calendly sends is dropped (it is used as a colour).
    pub color: Option<String>,
    /// `solo`, `group`, or a new value verbatim.
    pub kind: Option<String>,
    pub scheduling_url: Option<String>,
    pub active: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `Some("#rrggbb")` (lower-cased) when `raw` is a six-digit hex colour, else `None`.
pub fn normalize_hex_color(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix('#')?;
    (digits.len() == 6
        && digits
            .chars()
            .all(|character| character.is_ascii_hexdigit()))
    .then(|| format!("#{}", digits.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_the_last_uri_segment_for_both_id_formats() {
        // Calendly path parameters take the last segment, and legacy and UUID IDs coexist.
        let legacy = EventUri::new("https://api.calendly.com/scheduled_events/DDVRNUTABYGF4LO2");
        let modern = InviteeUri::new(
            "https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/invitees/3e39fe12-9338-448d-b760-2217a35cc0a7",
        );
        assert_eq!(legacy.id(), "DDVRNUTABYGF4LO2");
        assert_eq!(modern.id(), "3e39fe12-9338-448d-b760-2217a35cc0a7");
    }

    #[test]
    fn unknown_statuses_round_trip_verbatim() {
        // A status Calendly adds tomorrow must be stored as sent, not rejected.
        assert_eq!(Status::parse("active"), Status::Active);
        assert_eq!(Status::parse("no_show_pending").as_str(), "no_show_pending");
    }

    #[test]
    fn only_six_digit_hex_colors_survive() {
        // The colour ends up in a style attribute: nothing but #rrggbb may pass.
        assert_eq!(normalize_hex_color("#FFF200").as_deref(), Some("#fff200"));
        assert_eq!(normalize_hex_color(" #0069ff ").as_deref(), Some("#0069ff"));
        for hostile in [
            "red",
            "#fff",
            "#12345g",
            "#123456;background:url(x)",
            "",
            "0069ff",
        ] {
            assert_eq!(normalize_hex_color(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn emails_normalize_to_one_client_key() {
        // " Ann@Example.COM " and "ann@example.com" are the same client.
        assert_eq!(normalize_email(" Ann@Example.COM "), "ann@example.com");
    }
}
