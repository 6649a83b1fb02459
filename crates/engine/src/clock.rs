//! The engine's clock: the one place a sync reads the time, so tests can move it.

use chrono::{DateTime, Utc};

/// Where the engine reads "now" (sync windows, run records, the freshness rule, clock guards).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The computer's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
