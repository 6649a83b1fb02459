//! What the engine tells its listeners (sync progress, finished syncs, connection changes) and the sync request/report types.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use advicly_core::domain::{SyncKind, SyncWindow};

use crate::error::EngineError;

pub use advicly_core::sync::SyncCounts;

/// Asks for a sync. Without `force_full` the engine picks full or incremental by itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncRequest {
    pub force_full: bool,
}

/// Where a running sync is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Event list pages applied so far.
    pub pages: u32,
    /// Events listed so far.
    pub events: u32,
    /// Invitee lists fetched so far.
    pub invitees: u32,
    /// Invitee lists known to be needed but not fetched yet.
    pub invitees_pending: u32,
}

/// The result of a finished sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub kind: SyncKind,
    pub window: SyncWindow,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub counts: SyncCounts,
    pub progress: SyncProgress,
    /// Calendly API calls made by this sync, by endpoint (`list_events`, `list_invitees`, …).
    pub api_calls: BTreeMap<String, u64>,
    /// Invitee lists read only for the freshness rule (no-shows after a meeting, upcoming group
    /// members), out of [`crate::sync::FRESH_INVITEE_READS_PER_SYNC`] per sync.
    pub invitee_refreshes: u64,
    /// Meetings whose invitees could not be read this time (stored with their error).
    pub unreadable: u64,
}

impl SyncReport {
    /// Calls made to one endpoint (0 when none).
    pub fn calls_to(&self, endpoint: &str) -> u64 {
        self.api_calls.get(endpoint).copied().unwrap_or(0)
    }
}

/// Broadcast to every subscriber of [`crate::Engine::subscribe`].
#[derive(Clone, Debug)]
pub enum EngineEvent {
    SyncStarted {
        kind: SyncKind,
    },
    SyncProgress(SyncProgress),
    SyncFinished(SyncReport),
    SyncFailed {
        error: EngineError,
    },
    /// Meetings in the store changed; views should re-query.
    MeetingsChanged,
    /// An account was connected, disconnected, or now needs reconnecting.
    ConnectionChanged,
    /// The real-time state changed (`Engine::status().realtime` has the new one).
    RealtimeChanged,
    /// The account's relay channel or subscription was replaced, or real time turned on or
    /// off; the listener re-reads what to listen to.
    RealtimeSetupChanged,
    /// The listener processed one delivery (applied, duplicate or rejected).
    DeliveryProcessed(crate::realtime::DeliveryReport),
    /// A meeting was booked, canceled or rescheduled in real time and notifications are on.
    Notification(crate::realtime::Notification),
    /// Real time may have missed something (a gap, a rejected delivery, a long outage): the
    /// scheduler runs an incremental sync soon.
    ResyncRequested {
        reason: String,
    },
}
