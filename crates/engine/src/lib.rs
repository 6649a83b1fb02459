//! The sync engine and the Advicly service facade used by the CLI and the desktop shell.
//!
//! [`Engine`] is the one object a front end holds: it opens the store, connects Calendly
//! (through `advicly-connect`), runs syncs (one at a time; a second request joins the running
//! one) and answers the views. [`spawn_scheduler`] starts the single background poller, and
//! [`spawn_listener`] the real-time listener beside it.
//! With the `demo` feature, [`demo`] runs the same OAuth flow against an in-process fake Calendly.

mod clock;
mod config;
mod connection;
#[cfg(feature = "demo")]
pub mod demo;
mod engine;
mod error;
mod event_types;
mod events;
mod mapping;
mod read_pool;
pub mod realtime;
mod scheduler;
pub mod settings;
mod sync;
mod views;

pub use clock::{Clock, SystemClock};
pub use config::{
    default_keychain_service, CalendlyTuning, EngineConfig, RedirectMode, SyncWindows,
    APP_IDENTIFIER, CALENDLY_API_BASE, CALENDLY_AUTH_BASE, DATABASE_FILE_NAME,
    DEEP_LINK_REDIRECT_URI,
};
pub use engine::Engine;
pub use error::EngineError;
pub use event_types::EVENT_TYPES_FRESH_FOR;
pub use events::{EngineEvent, SyncCounts, SyncProgress, SyncReport, SyncRequest};
pub use realtime::{
    spawn_listener, DeliveryReport, ListenerHandle, ListenerSettings, ListenerState, MeetingChange,
    MeetingChangeKind, Notification, RealtimeState, RealtimeView, SubscriptionView,
};
pub use scheduler::{
    spawn_scheduler, validate_interval, SchedulerHandle, SchedulerSettings, SchedulerState,
    DEFAULT_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES,
};
pub use settings::{
    AddressPolicy, LiveSettings, ResolvedSetting, ResolvedSettings, SettingKey, SettingProblem,
    SettingSource, SettingValue, SettingsOverrides, SETTINGS_FILE_NAME,
};
pub use sync::{FRESH_INVITEE_READS_PER_SYNC, INVITEE_CONCURRENCY};
pub use views::{
    AccountView, CircuitState, ClientAnswerView, ClientDetailView, ClientNoteView, ClientView,
    ConnectStart, DisconnectReport, EventTypeView, FirstScreenView, InviteeDetailView, InviteeView,
    LastSyncView, MeetingDetailView, MeetingQuery, MeetingStatusFilter, MeetingView,
    QuestionAnswerView, SignInOutageView, StatusView,
};

pub use advicly_calendly::{PacingPolicy, RetryPolicy};
/// Re-exported so front ends need not depend on `advicly-core` for these.
pub use advicly_core::domain::{ConnectionState, EventUri, Status, SyncKind, SyncWindow};
pub use advicly_core::store::DeliveryOutcome;
pub use advicly_core::store::MAX_NOTE_CHARS;
pub use advicly_core::Secret;
