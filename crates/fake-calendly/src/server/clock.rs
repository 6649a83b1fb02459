//! The fake's controllable clock: real time plus a shift offset set through `/_control`.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Real time shifted by an offset; every timestamp the fake hands out comes from here.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    /// The current fake time, truncated to microseconds like Calendly's timestamps.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        // An absurd accumulated offset falls back to real time rather than overflowing.
        let shifted = Duration::try_seconds(self.offset_seconds.load(Ordering::SeqCst))
            .and_then(|offset| real.checked_add_signed(offset))
            .unwrap_or(real);
        shifted
            .duration_trunc(Duration::microseconds(1))
            .unwrap_or(shifted)
    }

    pub(crate) fn offset_seconds(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    pub(crate) fn shift(&self, seconds: i64) {
        let _ = self
            .offset_seconds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                Some(offset.saturating_add(seconds))
            });
    }
}

/// Formats a timestamp the way Calendly does: UTC, six fractional digits, `Z`.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
