//! Sync as plan, then apply: a pure planner decides what each fetched page means for the store,
//! and the apply step writes one page per transaction.
//!
//! The engine's loop for one sync run is:
//! 1. `begin_sync_run`, then `stored_window_snapshot(account, window)` (kept for step 5);
//! 2. per fetched page: `stored_states(account, page uris)` → [`plan_poll_page`];
//! 3. fetch the invitees of `plan.invitees_needed` plus, within a per-sync budget, those of
//!    `plan.invitee_refreshes` (the [`InviteeFreshness`] rule);
//! 4. `apply_polled_page(account, &plan, &reads, now)` — one transaction; an event whose
//!    invitees could not be read is stored with its error and read again next time;
//! 5. after the last page: [`plan_vanished`] with every URI seen; each candidate is asked for
//!    directly and only a 404 turns it into a `MarkDeleted` applied like a page;
//! 6. `finish_sync_run` with the summed counts.

mod apply;
mod fingerprint;
mod plan;

pub(crate) use apply::apply_webhook_change_in;
pub use apply::{ApplyOutcome, InviteeReads};
pub use fingerprint::{event_fingerprint, invitee_fingerprint};
pub use plan::{
    classify_event, invitee_read_key, plan_page, plan_page_at, plan_poll_page, plan_vanished,
    InviteeFreshness, MeetingOperation, PagePlan, StoredMeetingState, StoredSnapshot,
    FUTURE_TOLERANCE,
};

/// What a sync (or one page of it) did to the stored meetings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub created: u64,
    pub updated: u64,
    pub canceled: u64,
    pub restored: u64,
    /// Meetings newly flagged as deleted in Calendly (never removed from the store).
    pub deleted: u64,
    pub unchanged: u64,
}

impl SyncCounts {
    /// Adds another page's counts to these.
    pub fn add(&mut self, other: &SyncCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.canceled += other.canceled;
        self.restored += other.restored;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
    }

    /// How many meetings changed in any way.
    pub fn changed(&self) -> u64 {
        self.created + self.updated + self.canceled + self.restored + self.deleted
    }

    /// Counts one operation under its kind.
    pub fn count(&mut self, operation: &MeetingOperation) {
        match operation {
            MeetingOperation::Create(_) => self.created += 1,
            MeetingOperation::Update(_) => self.updated += 1,
            MeetingOperation::Cancel(_) => self.canceled += 1,
            MeetingOperation::Restore(_) => self.restored += 1,
            MeetingOperation::Unchanged(_) => self.unchanged += 1,
            MeetingOperation::MarkDeleted(_) => self.deleted += 1,
        }
    }
}
