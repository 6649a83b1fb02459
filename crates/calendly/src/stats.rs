//! API call accounting: requests by endpoint, 429s, retries, pacing waits — for sync-run records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The endpoint family a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Users,
    ScheduledEvents,
    Invitees,
    Cancellation,
    WebhookSubscriptions,
    EventTypes,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::ScheduledEvents => "scheduled_events",
            Self::Invitees => "invitees",
            Self::Cancellation => "cancellation",
            Self::WebhookSubscriptions => "webhook_subscriptions",
            Self::EventTypes => "event_types",
        }
    }
}

/// A snapshot of the client's counters since it was created. Subtract two snapshots with
/// [`CallStats::since`] to get the calls of one sync run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    /// HTTP requests sent (every attempt counts), by endpoint family.
    pub users: u64,
    pub scheduled_events: u64,
    pub invitees: u64,
    pub cancellations: u64,
    pub webhook_subscriptions: u64,
    pub event_types: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// 5xx answers received.
    pub server_errors: u64,
    /// Requests that failed without an HTTP answer.
    pub network_errors: u64,
    /// Attempts beyond the first of a call, whatever the reason.
    pub retries: u64,
    /// Token refreshes asked for after a 401.
    pub token_refreshes: u64,
    /// List items skipped because they could not be read.
    pub skipped_items: u64,
    /// Times the pacer held a request back, and for how long in total.
    pub paced_waits: u64,
    pub paced_wait_total: Duration,
}

impl CallStats {
    /// All HTTP requests sent.
    pub fn total_requests(&self) -> u64 {
        self.users
            + self.scheduled_events
            + self.invitees
            + self.cancellations
            + self.webhook_subscriptions
            + self.event_types
    }

    /// Requests of one endpoint family.
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        match endpoint {
            Endpoint::Users => self.users,
            Endpoint::ScheduledEvents => self.scheduled_events,
            Endpoint::Invitees => self.invitees,
            Endpoint::Cancellation => self.cancellations,
            Endpoint::WebhookSubscriptions => self.webhook_subscriptions,
            Endpoint::EventTypes => self.event_types,
        }
    }

    /// The counts accumulated since `earlier` (a snapshot of the same client).
    pub fn since(&self, earlier: &CallStats) -> CallStats {
        CallStats {
            users: self.users.saturating_sub(earlier.users),
            scheduled_events: self
                .scheduled_events
                .saturating_sub(earlier.scheduled_events),
            invitees: self.invitees.saturating_sub(earlier.invitees),
            cancellations: self.cancellations.saturating_sub(earlier.cancellations),
            webhook_subscriptions: self
                .webhook_subscriptions
                .saturating_sub(earlier.webhook_subscriptions),
            event_types: self.event_types.saturating_sub(earlier.event_types),
            rate_limited: self.rate_limited.saturating_sub(earlier.rate_limited),
            server_errors: self.server_errors.saturating_sub(earlier.server_errors),
            network_errors: self.network_errors.saturating_sub(earlier.network_errors),
            retries: self.retries.saturating_sub(earlier.retries),
            token_refreshes: self.token_refreshes.saturating_sub(earlier.token_refreshes),
            skipped_items: self.skipped_items.saturating_sub(earlier.skipped_items),
            paced_waits: self.paced_waits.saturating_sub(earlier.paced_waits),
            paced_wait_total: self
                .paced_wait_total
                .saturating_sub(earlier.paced_wait_total),
        }
    }
}

/// The live counters behind [`CallStats`], shared by every clone of a client.
#[derive(Default)]
pub(crate) struct StatsRecorder {
    users: AtomicU64,
    scheduled_events: AtomicU64,
    invitees: AtomicU64,
    cancellations: AtomicU64,
    webhook_subscriptions: AtomicU64,
    event_types: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub network_errors: AtomicU64,
    pub retries: AtomicU64,
    pub token_refreshes: AtomicU64,
    pub skipped_items: AtomicU64,
    pub paced_waits: AtomicU64,
    paced_wait_micros: AtomicU64,
}

impl StatsRecorder {
    pub fn request_sent(&self, endpoint: Endpoint) {
        let counter = match endpoint {
            Endpoint::Users => &self.users,
            Endpoint::ScheduledEvents => &self.scheduled_events,
            Endpoint::Invitees => &self.invitees,
            Endpoint::Cancellation => &self.cancellations,
            Endpoint::WebhookSubscriptions => &self.webhook_subscriptions,
            Endpoint::EventTypes => &self.event_types,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_skipped(&self, count: usize) {
        self.skipped_items
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn paced(&self, waited: Duration) {
        self.paced_waits.fetch_add(1, Ordering::Relaxed);
        self.paced_wait_micros
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CallStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CallStats {
            users: load(&self.users),
            scheduled_events: load(&self.scheduled_events),
            invitees: load(&self.invitees),
            cancellations: load(&self.cancellations),
            webhook_subscriptions: load(&self.webhook_subscriptions),
            event_types: load(&self.event_types),
            rate_limited: load(&self.rate_limited),
            server_errors: load(&self.server_errors),
            network_errors: load(&self.network_errors),
            retries: load(&self.retries),
            token_refreshes: load(&self.token_refreshes),
            skipped_items: load(&self.skipped_items),
            paced_waits: load(&self.paced_waits),
            paced_wait_total: Duration::from_micros(load(&self.paced_wait_micros)),
        }
    }
}
