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
use advicly_core::domain::{AccountId, ConnectionState, EventUri};
use advicly_core::store::{SettingScope, Store};
use advicly_core::Secret;

use crate::config::EngineConfig;
use crate::connection::Connection;
use crate::error::EngineError;
use crate::events::{EngineEvent, SyncProgress, SyncReport, SyncRequest};
use crate::mapping::store_error;
use crate::read_pool::ReadPool;
use crate::sync::SyncJob;
use crate::views::{
    AccountView, CircuitState, ClientDetailView, ClientNoteView, ClientView, DisconnectReport,
    EventTypeView, FirstScreenView, LastSyncView, MeetingDetailView, MeetingQuery, MeetingView,
    StatusView,
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
}

struct RunningSync {
    shared: SharedSync,
    cancel: CancellationToken,
}

impl Engine {
    /// Opens (creating and migrating) the store in `config.data_dir`.
    pub fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|error| EngineError::Store {
            message: format!(
                "could not create the data folder {}: {error}",
                config.data_dir.display()
            ),
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
                store,
                reads,
                connection,
                events,
                running: Mutex::new(None),
                progress: Arc::new(Mutex::new(None)),
                scheduled_next_sync: Mutex::new(None),
                http,
            }),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
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

    /// The sync interval the advisor chose last (kept in the store), if any.
    pub fn saved_sync_interval(&self) -> Result<Option<u32>, EngineError> {
        Ok(self
            .with_reader(|store| store.setting(SettingScope::Global, SYNC_INTERVAL_SETTING))?
            .and_then(|value| value.parse().ok())
            .filter(|minutes| crate::scheduler::validate_interval(*minutes).is_ok()))
    }

    pub(crate) fn save_sync_interval(&self, minutes: u32) -> Result<(), EngineError> {
        self.with_store(|store| {
            store.set_setting(
                SettingScope::Global,
                SYNC_INTERVAL_SETTING,
                &minutes.to_string(),
            )
        })
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
        self.inner.connection.begin_oauth().await
    }

    /// Completes the OAuth flow with the callback URL Calendly redirected the browser to.
    pub async fn handle_callback_url(&self, url: &str) -> Result<AccountView, EngineError> {
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
        let report = self.inner.connection.disconnect(wipe).await?;
        self.emit(EngineEvent::ConnectionChanged);
        if report.wiped {
            self.emit(EngineEvent::MeetingsChanged);
        }
        Ok(report)
    }

    /// True when this build can connect through the browser (an OAuth client id is configured).
    pub fn oauth_available(&self) -> bool {
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
                sync_running: self.sync_running(),
                progress: None,
                meeting_count: 0,
            });
        };
        let (last_run, meeting_count) = self.with_reader(|store| {
            Ok((
                store.last_sync_run(account.account_id)?,
                store.meeting_count(account.account_id)?,
            ))
        })?;
        let demo = self.is_demo(account.account_id)?;
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
            }),
            next_sync,
            token_expires_at: self.inner.connection.token_expires_at(&account),
            circuit: if account.connection_state == ConnectionState::NeedsReconnect {
                CircuitState::Open
            } else {
                CircuitState::Closed
            },
            sync_running: self.sync_running(),
            progress: *self.inner.progress.lock().expect("progress mutex"),
            meeting_count,
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
