//! Real time: the listener that holds the relay stream of the active account, and the
//! verification and apply of each delivery it brings. See `listener` for the task and
//! `deliveries` for what happens to one delivery.

mod deliveries;
mod listener;
mod notify;

pub use deliveries::{DeliveryReport, MeetingChange, MeetingChangeKind};
pub use listener::{spawn_listener, ListenerHandle, ListenerSettings, ListenerState};
pub use notify::{notification_for, Notification};

use chrono::{DateTime, Utc};

/// The lock file a running listener holds (shared): other processes' `status` reads from it
/// whether anyone holds the stream.
pub(crate) const LISTENER_LOCK_FILE_NAME: &str = "realtime-listener.lock";

pub(crate) const NO_RELAY: &str =
    "Real-time updates are off: no relay is configured, so meetings arrive with each sync";
pub(crate) const NOT_CONNECTED: &str =
    "Real-time updates start once a Calendly account is connected";
pub(crate) const NEEDS_RECONNECT: &str =
    "Real-time updates are paused until you reconnect Calendly";
pub(crate) const NOBODY_LISTENING: &str = "Neither the Advicly app nor `advicly listen` is running, so deliveries wait at the relay until one starts";
pub(crate) const NOT_SET_UP: &str =
    "Real-time updates are not set up yet; Advicly tries again after the next sync";

/// The state of real time, as `advicly status --json` and the sync panel show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealtimeState {
    /// Not available: no relay, no account, real time turned off (the reason says why).
    Off,
    /// Setting up or opening the stream.
    Connecting,
    /// The stream is open and keep-alives arrive.
    Live,
    /// Real time should work but does not right now (offline, relay unreachable, nobody
    /// listening); polling covers the gap.
    Degraded,
}

impl RealtimeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Degraded => "degraded",
        }
    }

    pub(crate) fn parse(raw: &str) -> Option<Self> {
        match raw {
            "off" => Some(Self::Off),
            "connecting" => Some(Self::Connecting),
            "live" => Some(Self::Live),
            "degraded" => Some(Self::Degraded),
            _ => None,
        }
    }
}

/// The account's webhook subscription as last seen at Calendly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionView {
    pub uri: String,
    /// `active`, `disabled`, …
    pub state: String,
}

/// Real time at a glance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealtimeView {
    pub state: RealtimeState,
    /// A sentence for the advisor; `None` when live.
    pub reason: Option<String>,
    /// When the relay received the newest delivery recorded here.
    pub last_delivery_at: Option<DateTime<Utc>>,
    pub subscription: Option<SubscriptionView>,
}
