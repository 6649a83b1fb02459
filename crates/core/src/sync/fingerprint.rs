//! Content fingerprints: a short stable hash of everything the store keeps of an event or an
//! invitee, so the planner can tell "same content" without loading whole rows.
//!
//! The hash is FNV-1a (64 bit) over a length-prefixed encoding of each field; it is defined
//! here, not by `std`, so it stays the same across Rust versions and the stored values stay valid.

use crate::domain::{Cancellation, FetchedEvent, FetchedInvitee};
use chrono::{DateTime, Utc};

struct Fingerprinter(u64);

impl Fingerprinter {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Length-prefixing keeps ("ab", "c") and ("a", "bc") apart.
    fn text(&mut self, text: &str) {
        self.bytes(&(text.len() as u64).to_le_bytes());
        self.bytes(text.as_bytes());
    }

    fn optional_text(&mut self, text: Option<&str>) {
        match text {
            None => self.bytes(&[0]),
            Some(text) => {
                self.bytes(&[1]);
                self.text(text);
            }
        }
    }

    fn time(&mut self, instant: DateTime<Utc>) {
        self.bytes(&instant.timestamp().to_le_bytes());
        self.bytes(&instant.timestamp_subsec_nanos().to_le_bytes());
    }

    fn optional_time(&mut self, instant: Option<DateTime<Utc>>) {
        match instant {
            None => self.bytes(&[0]),
            Some(instant) => {
                self.bytes(&[1]);
                self.time(instant);
            }
        }
    }

    fn number(&mut self, number: i64) {
        self.bytes(&number.to_le_bytes());
    }

    fn cancellation(&mut self, cancellation: Option<&Cancellation>) {
        match cancellation {
            None => self.bytes(&[0]),
            Some(cancellation) => {
                self.bytes(&[1]);
                self.optional_text(cancellation.canceled_by.as_deref());
                self.optional_text(cancellation.reason.as_deref());
                self.optional_text(cancellation.canceler_type.as_deref());
                self.optional_time(cancellation.created_at);
            }
        }
    }

    fn finish(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Fingerprint of everything stored about an event except `updated_at` (compared on its own).
pub fn event_fingerprint(event: &FetchedEvent) -> String {
    let mut hasher = Fingerprinter::new();
    hasher.text(event.uri.as_str());
    hasher.optional_text(event.name.as_deref());
    hasher.text(event.status.as_str());
    hasher.time(event.start_time);
    hasher.time(event.end_time);
    hasher.optional_text(event.event_type.as_deref());
    hasher.optional_text(event.location.kind.as_deref());
    hasher.optional_text(event.location.join_url.as_deref());
    hasher.optional_text(event.location.detail.as_deref());
    hasher.time(event.created_at);
    hasher.cancellation(event.cancellation.as_ref());
    hasher.number(i64::from(event.invitees_total));
    hasher.number(i64::from(event.invitees_active));
    hasher.finish()
}

/// Fingerprint of everything stored about an invitee except `updated_at`.
pub fn invitee_fingerprint(invitee: &FetchedInvitee) -> String {
    let mut hasher = Fingerprinter::new();
    hasher.text(invitee.uri.as_str());
    hasher.text(invitee.event.as_str());
    hasher.text(&invitee.email);
    hasher.text(&invitee.name);
    hasher.text(invitee.status.as_str());
    hasher.optional_text(invitee.timezone.as_deref());
    hasher.number(invitee.questions_and_answers.len() as i64);
    for question_answer in &invitee.questions_and_answers {
        hasher.text(&question_answer.question);
        hasher.text(&question_answer.answer);
        hasher.number(question_answer.position);
    }
    hasher.optional_text(invitee.cancel_url.as_deref());
    hasher.optional_text(invitee.reschedule_url.as_deref());
    hasher.optional_text(invitee.new_invitee.as_ref().map(|uri| uri.as_str()));
    hasher.optional_text(invitee.old_invitee.as_ref().map(|uri| uri.as_str()));
    hasher.bytes(&[u8::from(invitee.rescheduled), u8::from(invitee.no_show)]);
    hasher.cancellation(invitee.cancellation.as_ref());
    hasher.time(invitee.created_at);
    hasher.finish()
}
