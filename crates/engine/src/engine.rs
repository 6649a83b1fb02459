//! The `Engine` facade: the one object the CLI and the desktop shell hold.
//!
//! It owns the store (one writer connection for sync and other writes, a pool of read-only
//! connections for the views), the connection (via `advicly-connect`), the event broadcast and
//! the single running sync. Every method is safe to call from any task; `Engine` is a cheap clone.

use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, FutureExt, Shared};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use url::Url;

use advicly_calendly::CalendlyClient;
use advicly_connect::{RealtimeCredentials, WebhookStatus};
use advicly_core::domain::{AccountId, ConnectionState, EventUri};
use advicly_core::store::{AccountRow, SettingScope, Store};
use advicly_core::Secret;

use crate::clock::{Clock, SystemClock};
use crate::config::EngineConfig;
use crate::connection::Connection;
use crate::error::EngineError;
use crate::events::{EngineEvent, SyncProgress, SyncReport, SyncRequest};
use crate::mapping::store_error;
use crate::read_pool::ReadPool;
use crate::realtime::{
    ListenerState, RealtimeState, RealtimeView, SubscriptionView, LISTENER_LOCK_FILE_NAME,
};
use crate::settings::{LiveSettings, ResolvedSettings, SettingKey};
use crate::sync::SyncJob;
use crate::views::{
    AccountView, CircuitState, ClientDetailView, ClientNoteView, ClientView, ConnectStart,
    DisconnectReport, EventTypeView, FirstScreenView, LastSyncView, MeetingDetailView,
    MeetingQuery, MeetingView, SignInOutageView, StatusView,
};

/// The lock file that keeps syncs of different processes on one store apart.
const SYNC_LOCK_FILE_NAME: &str = "sync.lock";

/// The global setting holding the chosen sync interval in minutes.
const SYNC_INTERVAL_SETTING: &str = "sync_interval_minutes";

/// The account setting that marks the demo account.
const DEMO_SETTING: &str = "demo";

type SharedSync = Shared<BoxFuture<'static, Result<SyncReport, EngineError>>>;

/// The Advicly service: connect, sync, and read meetings and clients.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("data_dir", &self.inner.config.data_dir)
            .finish_non_exhaustive()
    }
}

struct EngineInner {
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    /// The writer: sync pages, connection changes, settings.
    store: Arc<Mutex<Store>>,
    /// Read-only connections for every view, so no view waits behind a sync page.
    reads: ReadPool,
    connection: Connection,
    events: broadcast::Sender<EngineEvent>,
    running: Mutex<Option<RunningSync>>,
    progress: Arc<Mutex<Option<SyncProgress>>>,
    /// The scheduler's next deadline, when a scheduler runs.
    scheduled_next_sync: Mutex<Option<Option<DateTime<Utc>>>>,
    /// Plain HTTP for the reachability probe (and the demo's authorize step).
    http: reqwest::Client,
    /// What the real-time listener of this process last reported, when one runs.
    listener_state: Mutex<Option<ListenerState>>,
    /// The settings file and its overrides, when the engine was opened with them.
    settings: Option<LiveSettings>,
    /// How much of `settings` this engine follows.
    settings_scope: SettingsScope,
}

/// Which settings an engine opened with a settings file follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SettingsScope {
    /// Everything: the connection (client id, relay, bases), the sync interval, notifications.
    All,
    /// Only the advisor's notifications preference: the demo's fake Calendly and relay are not
    /// settings, and its sync interval stays in its own store.
    NotificationsOnly,
}

struct RunningSync {
    shared: SharedSync,
    cancel: CancellationToken,
}

impl Engine {
    /// Opens (creating and migrating) the store in `config.data_dir`. Settings are whatever
    /// `config` says; nothing is read from the settings file.
    pub fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        Self::open_inner(config, None, SettingsScope::All, Arc::new(SystemClock))
    }

    /// Like [`Engine::open`], with the clock syncs read the time from (tests move it).
    pub fn open_with_clock(
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, EngineError> {
        Self::open_inner(config, None, SettingsScope::All, clock)
    }

    /// Opens the engine with the connection settings of `settings` applied over `config`
    /// (client id, relay, bases), and keeps `settings` live: [`Engine::notifications_enabled`],
    /// the sync interval and [`Engine::set_setting`] read and write the file from then on.
    pub fn open_with_settings(
        mut config: EngineConfig,
        settings: LiveSettings,
    ) -> Result<Engine, EngineError> {
        let resolved = settings.resolve();
        for problem in &resolved.problems {
            tracing::warn!("{}", problem.message);
        }
        resolved.apply_to(&mut config);
        Self::open_inner(
            config,
            Some(settings),
            SettingsScope::All,
            Arc::new(SystemClock),
        )
    }

    /// Opens an engine whose connection is entirely `config` (the demo's fake Calendly and
    /// relay) but whose notifications follow `base`'s settings file, as the advisor set them.
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    pub(crate) fn open_following_notifications_of(
        config: EngineConfig,
        base: &Engine,
    ) -> Result<Engine, EngineError> {
        Self::open_inner(
            config,
            base.inner.settings.clone(),
            SettingsScope::NotificationsOnly,
            Arc::new(SystemClock),
        )
    }

    fn open_inner(
        config: EngineConfig,
        settings: Option<LiveSettings>,
        settings_scope: SettingsScope,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, EngineError> {
        advicly_core::store::create_private_folder(&config.data_dir).map_err(|error| {
            EngineError::Store {
                message: format!(
                    "could not create the data folder {}: {error}",
                    config.data_dir.display()
                ),
            }
        })?;
        let store = Store::open(&config.database_path()).map_err(store_error)?;
        let store = Arc::new(Mutex::new(store));
        let reads = ReadPool::new(config.database_path());
        let connection = Connection::new(&config, store.clone())?;
        let (events, _) = broadcast::channel(256);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(EngineError::internal)?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config,
                clock,
                store,
                reads,
                connection,
                events,
                running: Mutex::new(None),
                progress: Arc::new(Mutex::new(None)),
                scheduled_next_sync: Mutex::new(None),
                http,
                listener_state: Mutex::new(None),
                settings,
                settings_scope,
            }),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The time on the engine's clock (the one syncs read; tests move it).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Every event from now on (sync progress, finished syncs, connection changes).
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        let _ = self.inner.events.send(event);
    }

    fn with_store<T>(
        &self,
        operation: impl FnOnce(&mut Store) -> Result<T, advicly_core::error::StoreError>,
    ) -> Result<T, EngineError> {
        let mut store = self
            .inner
            .store
            .lock()
            .expect("the store mutex is never poisoned");
        operation(&mut store).map_err(store_error)
    }

    /// Runs a read on one of the read-only connections; it never waits for the writer.
    fn with_reader<T>(
        &self,
        operation: impl FnOnce(&Store) -> Result<T, advicly_core::error::StoreError>,
    ) -> Result<T, EngineError> {
        self.inner.reads.read(operation)
    }

    /// The connection state of the active account (`Disconnected` when there is none).
    pub fn connection_state(&self) -> Result<ConnectionState, EngineError> {
        Ok(self
            .with_reader(|store| store.active_account())?
            .map(|account| account.connection_state)
            .unwrap_or(ConnectionState::Disconnected))
    }

    // ---- sync ------------------------------------------------------------------------------

    /// Runs a sync, or joins the one already running (the caller then gets that run's report).
    /// The sync itself runs on its own task: dropping this future does not stop it.
    pub async fn sync(&self, request: SyncRequest) -> Result<SyncReport, EngineError> {
        self.sync_shared(request).await
    }

    /// The running sync as a cloneable future, starting one when none runs.
    pub(crate) fn sync_shared(&self, request: SyncRequest) -> SharedSync {
        let mut running = self.inner.running.lock().expect("running-sync mutex");
        if let Some(existing) = running.as_ref() {
            if existing.shared.peek().is_none() {
                return existing.shared.clone();
            }
        }
        let cancel = CancellationToken::new();
        let engine = self.clone();
        let task_cancel = cancel.clone();
        let task = tokio::spawn(async move {
            let result = engine.run_sync(request, task_cancel).await;
            if result.is_ok() {
                // Checked after every sync: a disabled or missing subscription is repaired.
                engine.check_realtime_after_sync().await;
            }
            match &result {
                Ok(report) => engine.emit(EngineEvent::SyncFinished(report.clone())),
                Err(error) => engine.emit(EngineEvent::SyncFailed {
                    error: error.clone(),
                }),
            }
            result
        });
        let shared = async move {
            task.await.unwrap_or_else(|join_error| {
                Err(EngineError::internal(format!(
                    "the sync task stopped unexpectedly: {join_error}"
                )))
            })
        }
        .boxed()
        .shared();
        *running = Some(RunningSync {
            shared: shared.clone(),
            cancel,
        });
        shared
    }

    /// Stops the running sync at its next page boundary (nothing half-applied). No-op when idle.
    pub fn cancel_sync(&self) {
        if let Some(running) = self
            .inner
            .running
            .lock()
            .expect("running-sync mutex")
            .as_ref()
        {
            running.cancel.cancel();
        }
    }

    /// Whether a sync is running now.
    pub fn sync_running(&self) -> bool {
        self.inner
            .running
            .lock()
            .expect("running-sync mutex")
            .as_ref()
            .is_some_and(|running| running.shared.peek().is_none())
    }

    async fn run_sync(
        &self,
        request: SyncRequest,
        cancel: CancellationToken,
    ) -> Result<SyncReport, EngineError> {
        let account = self
            .with_store(|store| store.active_account())?
            .ok_or(EngineError::NotConnected)?;
        match account.connection_state {
            ConnectionState::Disconnected => return Err(EngineError::NotConnected),
            ConnectionState::NeedsReconnect => {
                return Err(EngineError::NeedsReconnect {
                    reason: account
                        .connection_reason
                        .clone()
                        .unwrap_or_else(|| "Calendly access was lost".to_owned()),
                })
            }
            ConnectionState::Connected => {}
        }
        let tokens = self.inner.connection.token_provider(&account).await?;
        let client = CalendlyClient::new(self.inner.config.client_config(), tokens)
            .map_err(crate::mapping::calendly_error)?;
        let job = SyncJob {
            store: self.inner.store.clone(),
            client,
            account: account.account_id,
            user: account.user.uri.clone(),
            windows: self.inner.config.windows,
            events: self.inner.events.clone(),
            cancel,
            progress: self.inner.progress.clone(),
            lock_path: self.inner.config.data_dir.join(SYNC_LOCK_FILE_NAME),
            clock: self.inner.clock.clone(),
        };
        let result = job.run(request).await;
        // A sync may have refreshed the access token; keep the status view's expiry current.
        self.inner.connection.refresh_token_expiry(&account).await;
        if let Err(EngineError::NeedsReconnect { reason }) = &result {
            // Calendly refused the token for good: remember it, so the UI shows Reconnect and
            // the scheduler pauses until the advisor reconnects.
            self.inner
                .connection
                .mark_needs_reconnect(&account, reason)
                .await?;
            self.emit(EngineEvent::ConnectionChanged);
        }
        result
    }

    /// Marks the active account as the demo account (shown as such in the UI).
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    pub(crate) fn mark_demo(&self) -> Result<(), EngineError> {
        let account = self
            .with_store(|store| store.active_account())?
            .ok_or(EngineError::NotConnected)?;
        self.with_store(|store| {
            store.set_setting(
                SettingScope::Account(account.account_id),
                DEMO_SETTING,
                "true",
            )
        })
    }

    fn is_demo(&self, account: AccountId) -> Result<bool, EngineError> {
        Ok(self
            .with_reader(|store| store.setting(SettingScope::Account(account), DEMO_SETTING))?
            .is_some_and(|value| value == "true"))
    }

    /// The sync interval the advisor chose: the `sync_interval_minutes` setting (file,
    /// environment, flag) when the engine has live settings, else the one an older build kept
    /// in the store.
    pub fn saved_sync_interval(&self) -> Result<Option<u32>, EngineError> {
        if let Some(minutes) = self
            .full_settings()
            .and_then(|settings| settings.resolve().sync_interval_minutes())
        {
            return Ok(Some(minutes));
        }
        Ok(self
            .with_reader(|store| store.setting(SettingScope::Global, SYNC_INTERVAL_SETTING))?
            .and_then(|value| value.parse().ok())
            .filter(|minutes| crate::scheduler::validate_interval(*minutes).is_ok()))
    }

    /// Remembers the interval: in the settings file when there is one (so the CLI and the next
    /// start see it), in the store otherwise.
    pub(crate) fn save_sync_interval(&self, minutes: u32) -> Result<(), EngineError> {
        if let Some(settings) = self.full_settings() {
            settings.set(SettingKey::SyncIntervalMinutes, &minutes.to_string())?;
            return Ok(());
        }
        self.with_store(|store| {
            store.set_setting(
                SettingScope::Global,
                SYNC_INTERVAL_SETTING,
                &minutes.to_string(),
            )
        })
    }

    // ---- settings --------------------------------------------------------------------------

    /// True when desktop notifications are wanted: the live `notifications` setting (re-read
    /// from the file on every call, so a change in Settings or `advicly config set` counts at
    /// once); on by default.
    pub fn notifications_enabled(&self) -> bool {
        self.inner
            .settings
            .as_ref()
            .map_or(crate::settings::DEFAULT_NOTIFICATIONS, |settings| {
                settings.resolve().notifications()
            })
    }

    /// Turns desktop notifications on or off: saves the `notifications` setting in the file
    /// (the same one the Settings screen and `advicly config set notifications` write) and
    /// returns whether they are on now, which an `ADVICLY_NOTIFICATIONS` override decides.
    pub fn set_notifications_enabled(&self, enabled: bool) -> Result<bool, EngineError> {
        let settings = self.inner.settings.as_ref().ok_or_else(|| {
            EngineError::internal("this Advicly was started without a settings file")
        })?;
        settings.set(SettingKey::Notifications, &enabled.to_string())?;
        Ok(self.notifications_enabled())
    }

    /// Every setting with its value, source and problems; `None` when the engine was opened
    /// without a settings file.
    pub fn settings(&self) -> Option<ResolvedSettings> {
        self.inner.settings.as_ref().map(LiveSettings::resolve)
    }

    /// Checks and saves one setting in the file, then applies it: a new client id or relay
    /// takes effect for the next sign-in at once. An invalid value is `invalid_input` naming
    /// the setting; nothing is saved then. An environment variable or flag for the same key
    /// still wins (the returned settings say so).
    pub fn set_setting(&self, key: SettingKey, raw: &str) -> Result<ResolvedSettings, EngineError> {
        let settings = self.live_settings()?;
        settings.set(key, raw)?;
        self.apply_connection_settings(settings)
    }

    /// Several changes at once (`None` removes the key): every value is checked first, so a
    /// refused one leaves the file exactly as it was.
    pub fn update_settings(
        &self,
        changes: &[(SettingKey, Option<String>)],
    ) -> Result<ResolvedSettings, EngineError> {
        let settings = self.live_settings()?;
        for (key, value) in changes {
            if let Some(raw) = value {
                crate::settings::parse_value(*key, raw, settings.policy()).map_err(|problem| {
                    EngineError::invalid_input(format!("The setting {key} {problem}."))
                })?;
            }
        }
        for (key, value) in changes {
            match value {
                Some(raw) => {
                    settings.set(*key, raw)?;
                }
                None => settings.unset(*key)?,
            }
        }
        self.apply_connection_settings(settings)
    }

    /// Removes one setting from the file (its default applies again) and applies the result.
    pub fn unset_setting(&self, key: SettingKey) -> Result<ResolvedSettings, EngineError> {
        let settings = self.live_settings()?;
        settings.unset(key)?;
        self.apply_connection_settings(settings)
    }

    /// Picks up connection settings another process (the CLI) wrote to the shared file, so the
    /// app never needs a restart after `advicly config set client_id …`.
    fn follow_settings(&self) {
        if let Some(settings) = self.full_settings() {
            if let Err(error) = self.apply_connection_settings(settings) {
                tracing::warn!(%error, "the changed settings could not be applied");
            }
        }
    }

    fn live_settings(&self) -> Result<&LiveSettings, EngineError> {
        self.full_settings().ok_or_else(|| {
            EngineError::internal("this Advicly was started without a settings file")
        })
    }

    /// The settings file, when this engine follows all of it (not the demo's).
    fn full_settings(&self) -> Option<&LiveSettings> {
        self.inner
            .settings
            .as_ref()
            .filter(|_| self.inner.settings_scope == SettingsScope::All)
    }

    fn apply_connection_settings(
        &self,
        settings: &LiveSettings,
    ) -> Result<ResolvedSettings, EngineError> {
        let resolved = settings.resolve();
        let mut config = self.inner.config.clone();
        resolved.apply_to(&mut config);
        let relay_changed = self.inner.connection.reconfigure(&config)?;
        if relay_changed {
            // The listener moves to the new relay (or stops), and the UI shows it.
            self.emit(EngineEvent::RealtimeSetupChanged);
            self.emit(EngineEvent::RealtimeChanged);
        }
        Ok(resolved)
    }

    /// The relay that carries real time (and bounces sign-ins), as the settings say now;
    /// `None`: polling only.
    pub fn relay_base(&self) -> Option<Url> {
        self.inner.connection.relay_base()
    }

    /// Called by the scheduler whenever its deadline moves.
    pub(crate) fn set_scheduled_next_sync(&self, next: Option<DateTime<Utc>>) {
        *self
            .inner
            .scheduled_next_sync
            .lock()
            .expect("next-sync mutex") = Some(next);
    }

    // ---- connection ------------------------------------------------------------------------

    /// Starts the browser OAuth flow: returns the authorize URL to open. The pending
    /// authorization is persisted, so another process (the desktop app's deep-link handler or
    /// `advicly handle-url`) can complete it.
    pub async fn begin_oauth(&self) -> Result<Url, EngineError> {
        self.follow_settings();
        self.inner.connection.begin_oauth().await
    }

    /// Connects or reconnects with as few browser round trips as possible: when the active
    /// account's stored sign-in still works (its refresh token refreshes, its personal access
    /// token is accepted) it is connected again at once; only otherwise is the browser needed.
    pub async fn reconnect_or_begin_oauth(&self) -> Result<ConnectStart, EngineError> {
        self.follow_settings();
        let start = self.inner.connection.reconnect_or_begin_oauth().await?;
        if matches!(start, ConnectStart::Reconnected(_)) {
            self.emit(EngineEvent::ConnectionChanged);
        }
        Ok(start)
    }

    /// Completes the OAuth flow with the callback URL Calendly redirected the browser to.
    pub async fn handle_callback_url(&self, url: &str) -> Result<AccountView, EngineError> {
        self.follow_settings();
        let account = self.inner.connection.handle_callback_url(url).await?;
        self.emit(EngineEvent::ConnectionChanged);
        Ok(account)
    }

    /// Connects with a personal access token (checked against Calendly, kept in the keychain).
    pub async fn connect_token(&self, token: Secret) -> Result<AccountView, EngineError> {
        let account = self.inner.connection.connect_token(token).await?;
        self.emit(EngineEvent::ConnectionChanged);
        Ok(account)
    }

    /// Disconnects: stops a running sync, revokes and forgets tokens; `wipe` also erases the
    /// local meetings and clients.
    pub async fn disconnect(&self, wipe: bool) -> Result<DisconnectReport, EngineError> {
        let running = {
            let running = self.inner.running.lock().expect("running-sync mutex");
            running.as_ref().map(|running| {
                running.cancel.cancel();
                running.shared.clone()
            })
        };
        if let Some(running) = running {
            let _ = running.await;
        }
        // A sync in another process (the CLI) holds the data folder's sync lock for its whole
        // run; waiting for it means it cannot write meetings back after a wipe. A sync that
        // starts later finds the account disconnected once it holds the lock.
        let _sync_lock = self.lock_syncs().await?;
        let report = self.inner.connection.disconnect(wipe).await?;
        self.emit(EngineEvent::ConnectionChanged);
        if report.wiped {
            self.emit(EngineEvent::MeetingsChanged);
        }
        Ok(report)
    }

    /// Takes the data folder's sync lock (shared with other processes), waiting for a running
    /// sync to finish.
    async fn lock_syncs(&self) -> Result<std::fs::File, EngineError> {
        let path = self.inner.config.data_dir.join(SYNC_LOCK_FILE_NAME);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .and_then(|file| file.lock().map(|()| file))
                .map_err(|error| EngineError::Store {
                    message: format!("Could not lock {}: {error}.", path.display()),
                })?;
            Ok(file)
        })
        .await
        .map_err(EngineError::internal)?
    }

    /// True when this build can connect through the browser (an OAuth client id is configured).
    pub fn oauth_available(&self) -> bool {
        self.follow_settings();
        self.inner.connection.oauth_available()
    }

    /// Reads the token expiry from the keychain so [`Engine::status`] (which is synchronous)
    /// can show it. Call it once after opening; syncs and connects keep it current.
    pub async fn load_connection_details(&self) -> Result<(), EngineError> {
        if let Some(account) = self.with_reader(|store| store.active_account())? {
            self.inner.connection.refresh_token_expiry(&account).await;
        }
        Ok(())
    }

    /// A cheap check whether Calendly's API answers at all (any HTTP status counts as online).
    pub async fn probe_online(&self) -> bool {
        self.inner
            .http
            .head(self.inner.config.api_base.clone())
            .send()
            .await
            .is_ok()
    }

    // ---- real time -------------------------------------------------------------------------

    /// The active account's row, if any.
    pub(crate) fn active_account_row(&self) -> Result<Option<AccountRow>, EngineError> {
        self.with_store(|store| store.active_account())
    }

    /// Checks (and repairs) the active account's relay channel and webhook subscription, as
    /// the listener does at start-up and the engine after every sync. Polling never depends on
    /// it: every problem comes back as a `WebhookStatus` with a sentence.
    pub async fn check_realtime(&self) -> Result<WebhookStatus, EngineError> {
        let account = self
            .active_account_row()?
            .ok_or(EngineError::NotConnected)?;
        self.ensure_realtime(account.account_id).await
    }

    pub(crate) async fn ensure_realtime(
        &self,
        account: AccountId,
    ) -> Result<WebhookStatus, EngineError> {
        let before = self.with_store(|store| store.realtime_channel(account))?;
        let status = self.inner.connection.ensure_realtime(account).await;
        let after = self.with_store(|store| store.realtime_channel(account))?;
        let setup_changed = before
            .as_ref()
            .map(|row| (&row.channel_id, &row.off_reason))
            != after.as_ref().map(|row| (&row.channel_id, &row.off_reason));
        if setup_changed {
            self.emit(EngineEvent::RealtimeSetupChanged);
        }
        if before != after {
            self.emit(EngineEvent::RealtimeChanged);
        }
        status
    }

    pub(crate) async fn replace_realtime_channel(
        &self,
        account: AccountId,
    ) -> Result<WebhookStatus, EngineError> {
        let status = self
            .inner
            .connection
            .replace_realtime_channel(account)
            .await;
        self.emit(EngineEvent::RealtimeSetupChanged);
        self.emit(EngineEvent::RealtimeChanged);
        status
    }

    pub(crate) async fn realtime_credentials(
        &self,
        account: AccountId,
    ) -> Result<Option<RealtimeCredentials>, EngineError> {
        self.inner.connection.realtime_credentials(account).await
    }

    /// Why real time is off for the account, if Calendly refused it.
    pub(crate) fn realtime_off_reason(&self, account: AccountId) -> Option<String> {
        self.with_store(|store| store.realtime_channel(account))
            .ok()
            .flatten()
            .and_then(|row| row.off_reason)
    }

    async fn check_realtime_after_sync(&self) {
        let Ok(Some(account)) = self.active_account_row() else {
            return;
        };
        if self.relay_base().is_none() {
            // Without a relay there is nothing to check, unless one configured before left a
            // channel and a subscription behind: the check removes them.
            let leftover = self
                .with_store(|store| store.realtime_channel(account.account_id))
                .ok()
                .flatten();
            if leftover.is_none() {
                return;
            }
        }
        match self.ensure_realtime(account.account_id).await {
            Ok(WebhookStatus::Failed { message }) => {
                tracing::info!("real-time check after a sync: {message}")
            }
            Ok(_) => {}
            Err(error) => tracing::info!(%error, "real-time check after a sync failed"),
        }
    }

    /// Asks the scheduler for an incremental sync soon, because real time may have missed
    /// something.
    pub(crate) fn request_resync(&self, reason: &str) {
        tracing::info!(%reason, "asking for a sync to repair what real time missed");
        self.emit(EngineEvent::ResyncRequested {
            reason: reason.to_owned(),
        });
    }

    /// Called by the listener whenever its state changes.
    pub(crate) fn set_listener_state(&self, state: Option<ListenerState>) {
        *self
            .inner
            .listener_state
            .lock()
            .expect("listener-state mutex") = state;
    }

    /// Real time for `account`: the listener of this process when one runs, else what the
    /// listener of another process recorded (if one holds the stream), else why nobody does.
    fn realtime_view(
        &self,
        account: Option<&AccountRow>,
        _now: DateTime<Utc>,
    ) -> Result<RealtimeView, EngineError> {
        let off = |reason: &str| RealtimeView {
            state: RealtimeState::Off,
            reason: Some(reason.to_owned()),
            last_delivery_at: None,
            subscription: None,
        };
        if self.relay_base().is_none() {
            return Ok(off(crate::realtime::NO_RELAY));
        }
        let Some(account) = account else {
            return Ok(off(crate::realtime::NOT_CONNECTED));
        };
        let last_delivery_at =
            self.with_store(|store| store.last_delivery_at(account.account_id))?;
        match account.connection_state {
            ConnectionState::Connected => {}
            ConnectionState::Disconnected => return Ok(off(crate::realtime::NOT_CONNECTED)),
            ConnectionState::NeedsReconnect => {
                return Ok(RealtimeView {
                    last_delivery_at,
                    ..off(crate::realtime::NEEDS_RECONNECT)
                })
            }
        }
        let channel = self.with_store(|store| store.realtime_channel(account.account_id))?;
        let subscription = channel.as_ref().and_then(|row| {
            Some(SubscriptionView {
                uri: row.subscription_uri.clone()?,
                state: row
                    .subscription_state
                    .clone()
                    .unwrap_or_else(|| "unknown".to_owned()),
            })
        });
        let view = |state: RealtimeState, reason: Option<String>| RealtimeView {
            state,
            reason: if state == RealtimeState::Live {
                None
            } else {
                reason
            },
            last_delivery_at,
            subscription: subscription.clone(),
        };
        if let Some(reason) = channel.as_ref().and_then(|row| row.off_reason.clone()) {
            return Ok(view(RealtimeState::Off, Some(reason)));
        }
        let listener = self
            .inner
            .listener_state
            .lock()
            .expect("listener-state mutex")
            .clone();
        if let Some(listener) = listener {
            return Ok(view(listener.state, listener.reason));
        }
        let Some(channel) = channel else {
            return Ok(view(
                RealtimeState::Degraded,
                Some(crate::realtime::NOT_SET_UP.to_owned()),
            ));
        };
        if self.another_process_listens() {
            let state = channel
                .stream_state
                .as_deref()
                .and_then(RealtimeState::parse)
                .unwrap_or(RealtimeState::Connecting);
            return Ok(view(state, channel.stream_reason));
        }
        Ok(view(
            RealtimeState::Degraded,
            Some(crate::realtime::NOBODY_LISTENING.to_owned()),
        ))
    }

    /// True while some process holds the listener's presence lock.
    fn another_process_listens(&self) -> bool {
        let path = self.inner.config.data_dir.join(LISTENER_LOCK_FILE_NAME);
        let Ok(file) = std::fs::OpenOptions::new().read(true).open(&path) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }

    // ---- views -----------------------------------------------------------------------------

    /// Connection and sync state.
    pub fn status(&self, now: DateTime<Utc>) -> Result<StatusView, EngineError> {
        let account = self.with_reader(|store| store.active_account())?;
        let Some(account) = account else {
            return Ok(StatusView {
                state: ConnectionState::Disconnected,
                account: None,
                reason: None,
                last_sync: None,
                next_sync: None,
                token_expires_at: None,
                circuit: CircuitState::Closed,
                sign_in_outage: None,
                sync_running: self.sync_running(),
                progress: None,
                meeting_count: 0,
                realtime: self.realtime_view(None, now)?,
            });
        };
        let (last_run, meeting_count, (unreadable, unreadable_reason)) =
            self.with_reader(|store| {
                Ok((
                    store.last_sync_run(account.account_id)?,
                    store.meeting_count(account.account_id)?,
                    store.unreadable_meetings(account.account_id)?,
                ))
            })?;
        let warning = crate::views::unreadable_warning(unreadable, unreadable_reason.as_deref());
        let demo = self.is_demo(account.account_id)?;
        let sign_in_outage = self
            .with_reader(|store| advicly_connect::token_endpoint_outage(store, account.account_id))?
            .filter(|_| account.connection_state == ConnectionState::Connected)
            .map(|outage| SignInOutageView {
                message: outage.message(),
                since: outage.since,
                failures: outage.failures,
                retry_at: outage.retry_at,
                problem: outage.problem,
            });
        let next_sync = match *self
            .inner
            .scheduled_next_sync
            .lock()
            .expect("next-sync mutex")
        {
            Some(scheduled) => scheduled,
            None if account.connection_state == ConnectionState::Connected => {
                let interval = self
                    .saved_sync_interval()?
                    .unwrap_or(crate::scheduler::DEFAULT_INTERVAL_MINUTES);
                Some(computed_next_sync(last_run.as_ref(), interval, now))
            }
            None => None,
        };
        Ok(StatusView {
            state: account.connection_state,
            reason: account.connection_reason.clone(),
            account: Some(crate::views::account_view(&account, demo)),
            last_sync: last_run.as_ref().map(|run| LastSyncView {
                kind: run.kind,
                started_at: run.started_at,
                finished_at: run.finished_at,
                counts: run.counts,
                error: run.error.clone(),
                warning: warning.clone(),
            }),
            next_sync,
            token_expires_at: self.inner.connection.token_expires_at(&account),
            circuit: match (&sign_in_outage, account.connection_state) {
                (_, ConnectionState::NeedsReconnect) => CircuitState::Open,
                (Some(outage), _) if now < outage.retry_at => CircuitState::Open,
                (Some(_), _) => CircuitState::HalfOpen,
                (None, _) => CircuitState::Closed,
            },
            sign_in_outage,
            sync_running: self.sync_running(),
            progress: *self.inner.progress.lock().expect("progress mutex"),
            meeting_count,
            realtime: self.realtime_view(Some(&account), now)?,
        })
    }

    /// Meetings of the active account matching `query`, soonest first for upcoming lists and
    /// newest first otherwise.
    pub fn meetings(
        &self,
        query: &MeetingQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<MeetingView>, EngineError> {
        self.with_active_reader(|store, account| {
            crate::views::list_meetings(store, account, query, now)
        })
    }

    /// Everything known about one meeting.
    pub fn meeting(&self, uri: &EventUri) -> Result<MeetingDetailView, EngineError> {
        self.with_active_reader(|store, account| crate::views::meeting_detail(store, account, uri))
    }

    /// Clients of the active account, by e-mail.
    pub fn clients(&self, now: DateTime<Utc>) -> Result<Vec<ClientView>, EngineError> {
        self.with_active_reader(|store, account| crate::views::list_clients(store, account, now))
    }

    /// The status and, when an account is active, the meetings of `agenda`: the first screen in
    /// one call (the desktop shell answers the UI's first request with it).
    pub fn first_screen(
        &self,
        agenda: &MeetingQuery,
        now: DateTime<Utc>,
    ) -> Result<FirstScreenView, EngineError> {
        let status = self.status(now)?;
        let agenda = match self.meetings(agenda, now) {
            Ok(meetings) => Some(meetings),
            Err(EngineError::NotConnected) => None,
            Err(error) => return Err(error),
        };
        Ok(FirstScreenView { status, agenda })
    }

    /// One client's page: meetings (deleted ones too), every answer, the private note.
    pub fn client(&self, email: &str, now: DateTime<Utc>) -> Result<ClientDetailView, EngineError> {
        self.with_active_reader(|store, account| {
            crate::views::client_detail(store, account, email, now)
        })
    }

    /// Saves the advisor's private note on a client (a blank note removes it). The note stays in
    /// the local database: nothing sends it anywhere.
    pub fn set_client_note(
        &self,
        email: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientNoteView>, EngineError> {
        let account = self
            .with_reader(|store| store.active_account())?
            .ok_or(EngineError::NotConnected)?;
        let mut store = self
            .inner
            .store
            .lock()
            .expect("the store mutex is never poisoned");
        let saved =
            crate::views::save_client_note(&mut store, account.account_id, email, body, now)?;
        drop(store);
        // The note is part of search, so lists may now match differently.
        self.emit(EngineEvent::MeetingsChanged);
        Ok(saved)
    }

    /// The cached event types of the active account.
    pub fn event_types(&self) -> Result<Vec<EventTypeView>, EngineError> {
        self.with_active_reader(crate::views::list_event_types)
    }

    /// Lists the event types from Calendly now, whatever the cache's age (scope
    /// `event_types:read`). Returns whether a listing was stored.
    pub async fn refresh_event_types(&self) -> Result<bool, EngineError> {
        let account = self
            .with_reader(|store| store.active_account())?
            .ok_or(EngineError::NotConnected)?;
        let tokens = self.inner.connection.token_provider(&account).await?;
        let client = CalendlyClient::new(self.inner.config.client_config(), tokens)
            .map_err(crate::mapping::calendly_error)?;
        crate::event_types::refresh_event_types(
            &self.inner.store,
            &client,
            account.account_id,
            &account.user.uri,
            &self.inner.events,
            true,
            Utc::now(),
        )
        .await
    }

    /// Runs a view of the active account on one reader (one consistent snapshot of the store).
    fn with_active_reader<T>(
        &self,
        view: impl FnOnce(&Store, AccountId) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let reader = self.inner.reads.checkout()?;
        let account = reader
            .active_account()
            .map_err(store_error)?
            .ok_or(EngineError::NotConnected)?;
        view(&reader, account.account_id)
    }
}

/// Without a scheduler: one interval after the last successful run (now, when it never ran or failed).
fn computed_next_sync(
    last_run: Option<&advicly_core::store::SyncRunRow>,
    interval_minutes: u32,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let interval = chrono::Duration::minutes(i64::from(interval_minutes));
    match last_run {
        Some(run) if run.succeeded() => {
            let due = run.finished_at.unwrap_or(run.started_at) + interval;
            due.max(now)
        }
        _ => now,
    }
}

#[cfg(test)]
mod tests;
