//! How an engine is configured: where its data lives, which Calendly it talks to, which sync windows it uses.

use chrono::{DateTime, Duration, Utc};
use std::path::PathBuf;
use url::Url;

use advicly_calendly::{ClientConfig, PacingPolicy, RetryPolicy};
pub use advicly_connect::RedirectMode;
use advicly_core::domain::{SyncKind, SyncWindow};

/// The production Calendly API.
pub const CALENDLY_API_BASE: &str = "https://api.calendly.com";
/// The production Calendly OAuth server.
pub const CALENDLY_AUTH_BASE: &str = "https://auth.calendly.com";
/// The deep link Calendly redirects to after the advisor approves access.
pub const DEEP_LINK_REDIRECT_URI: &str = "advicly://oauth/callback";
/// The app's identifier: the name of its data folder and of its keychain service.
pub const APP_IDENTIFIER: &str = "com.advicly.desktop";

/// The keychain service of this build flavour. Debug builds (of the app and of the CLI alike) file
/// secrets under `com.advicly.desktop.dev`, so a developer's build never overwrites a real user's
/// tokens, while an app and a CLI of the same flavour share them.
pub fn default_keychain_service() -> &'static str {
    if cfg!(debug_assertions) {
        "com.advicly.desktop.dev"
    } else {
        APP_IDENTIFIER
    }
}

/// The name of the SQLite file inside the data directory.
pub const DATABASE_FILE_NAME: &str = "advicly.sqlite3";

/// Everything an [`crate::Engine`] needs to start.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Holds `advicly.sqlite3` and lock files.
    pub data_dir: PathBuf,
    /// `https://api.calendly.com` or the fake's.
    pub api_base: Url,
    /// `https://auth.calendly.com` or the fake's.
    pub auth_base: Url,
    /// `None` means OAuth is unavailable (a personal access token or the demo still work).
    pub oauth_client_id: Option<String>,
    pub redirect: RedirectMode,
    /// The keychain service name secrets are filed under; tests use a unique one.
    pub keychain_service: String,
    /// The relay that carries real time (the same base as the HTTPS OAuth bounce; the settings
    /// file's `relay_base` sets both, while the demo sets only this). When set, connecting creates a
    /// relay channel and keeps exactly one Calendly webhook subscription pointing at it, the
    /// listener holds the channel's stream, and disconnecting removes both. `None`: meetings
    /// arrive by polling only.
    pub relay_base: Option<Url>,
    pub windows: SyncWindows,
    /// Retry and pacing of the Calendly client; tests shorten the waits.
    pub calendly: CalendlyTuning,
}

/// How patient the Calendly client is. `Default` is the client's production policy.
#[derive(Clone, Debug, Default)]
pub struct CalendlyTuning {
    pub retry: RetryPolicy,
    pub pacing: PacingPolicy,
}

impl EngineConfig {
    /// A configuration for production Calendly, storing data in `data_dir`.
    pub fn production(data_dir: PathBuf, oauth_client_id: Option<String>) -> Self {
        Self {
            data_dir,
            api_base: Url::parse(CALENDLY_API_BASE).expect("the Calendly API base is a valid URL"),
            auth_base: Url::parse(CALENDLY_AUTH_BASE)
                .expect("the Calendly auth base is a valid URL"),
            oauth_client_id,
            redirect: RedirectMode::Direct,
            keychain_service: default_keychain_service().to_owned(),
            relay_base: None,
            windows: SyncWindows::default(),
            calendly: CalendlyTuning::default(),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE_NAME)
    }

    /// The Calendly client configuration for this engine.
    pub fn client_config(&self) -> ClientConfig {
        let mut client = ClientConfig::new(self.api_base.clone());
        client.retry = self.calendly.retry.clone();
        client.pacing = self.calendly.pacing.clone();
        client
    }
}

/// How far back and ahead a sync reads, in days, for each kind of sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncWindows {
    pub full_days_back: u32,
    pub full_days_ahead: u32,
    pub incremental_days_back: u32,
    pub incremental_days_ahead: u32,
    /// The slice `[now, now + priority_days_ahead)` is synced first so the coming days are
    /// usable within seconds even when the rest of a long history is paced by rate limits.
    pub priority_days_ahead: u32,
    /// A sync is full when no full sync succeeded within this many hours.
    pub full_sync_every_hours: u32,
}

impl Default for SyncWindows {
    fn default() -> Self {
        Self {
            full_days_back: 730,
            full_days_ahead: 365,
            incremental_days_back: 90,
            incremental_days_ahead: 180,
            priority_days_ahead: 14,
            full_sync_every_hours: 24,
        }
    }
}

impl SyncWindows {
    /// The window of event start times a sync of `kind` reads at `now`.
    pub fn window(&self, kind: SyncKind, now: DateTime<Utc>) -> SyncWindow {
        let (back, ahead) = match kind {
            SyncKind::Full => (self.full_days_back, self.full_days_ahead),
            SyncKind::Incremental => (self.incremental_days_back, self.incremental_days_ahead),
        };
        SyncWindow {
            start: now - Duration::days(i64::from(back)),
            end: now + Duration::days(i64::from(ahead)),
        }
    }

    /// Full when asked for, or when the last successful full sync is missing, too old, or dated
    /// in the future (a clock that was ahead proves nothing about how recent it is).
    pub fn kind_for(
        &self,
        force_full: bool,
        last_full_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> SyncKind {
        let fresh_enough = last_full_success.is_some_and(|finished| {
            finished <= now
                && now - finished < Duration::hours(i64::from(self.full_sync_every_hours))
        });
        if force_full || !fresh_enough {
            SyncKind::Full
        } else {
            SyncKind::Incremental
        }
    }

    /// Splits `window` into the passes a sync runs in order: the coming days first, then the
    /// remainder. The passes are disjoint and together cover exactly `window`.
    pub fn passes(&self, window: SyncWindow, now: DateTime<Utc>) -> Vec<SyncWindow> {
        let priority_end = now + Duration::days(i64::from(self.priority_days_ahead));
        let priority = SyncWindow {
            start: now.max(window.start).min(window.end),
            end: priority_end.min(window.end).max(window.start),
        };
        if priority.start >= priority.end {
            return vec![window];
        }
        let mut passes = vec![priority];
        if window.start < priority.start {
            passes.push(SyncWindow {
                start: window.start,
                end: priority.start,
            });
        }
        if priority.end < window.end {
            passes.push(SyncWindow {
                start: priority.end,
                end: window.end,
            });
        }
        passes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    #[rstest]
    #[case::never_synced(false, None, SyncKind::Full)]
    #[case::forced(true, Some(at(10) - Duration::hours(1)), SyncKind::Full)]
    #[case::recent_full(false, Some(at(10) - Duration::hours(23)), SyncKind::Incremental)]
    #[case::stale_full(false, Some(at(10) - Duration::hours(24)), SyncKind::Full)]
    fn kind_is_full_unless_a_recent_full_sync_succeeded(
        #[case] force_full: bool,
        #[case] last_full: Option<DateTime<Utc>>,
        #[case] expected: SyncKind,
    ) {
        // The 24-hour rule of the brief: full syncs catch what incremental windows cannot see.
        assert_eq!(
            SyncWindows::default().kind_for(force_full, last_full, at(10)),
            expected
        );
    }

    #[test]
    fn a_last_full_sync_dated_in_the_future_counts_as_stale() {
        // A clock that was ahead when the run finished must not make every later sync incremental.
        let finished_in_the_future = Some(at(10) + Duration::days(30));
        assert_eq!(
            SyncWindows::default().kind_for(false, finished_in_the_future, at(10)),
            SyncKind::Full
        );
    }

    #[test]
    fn passes_put_the_coming_two_weeks_first_and_cover_the_window_exactly() {
        let windows = SyncWindows::default();
        let now = at(10);
        let window = windows.window(SyncKind::Full, now);
        let passes = windows.passes(window, now);
        // The first pass is the next two weeks, so upcoming meetings land first.
        assert_eq!(
            passes[0],
            SyncWindow {
                start: now,
                end: now + Duration::days(14)
            }
        );
        // Together the passes cover the window with no gap and no overlap.
        let mut sorted = passes.clone();
        sorted.sort_by_key(|pass| pass.start);
        assert_eq!(
            sorted.first().unwrap().start,
            window.start,
            "starts at the window start"
        );
        assert_eq!(
            sorted.last().unwrap().end,
            window.end,
            "ends at the window end"
        );
        for pair in sorted.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "adjacent passes touch");
        }
    }

    #[test]
    fn a_window_entirely_in_the_past_is_one_pass() {
        let windows = SyncWindows::default();
        let window = SyncWindow {
            start: at(1),
            end: at(5),
        };
        // No part of the window lies in the coming days, so there is nothing to prioritise.
        assert_eq!(windows.passes(window, at(10)), vec![window]);
    }
}
