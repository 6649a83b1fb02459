//! Events to the UI (`docs/ipc.md`): engine events forwarded as they happen, plus the
//! reachability probe that drives `network-changed`.

use std::time::Duration;

use advicly_engine::{Engine, EngineEvent};
use chrono::Utc;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::commands::{overview, sync_status};
use crate::error::IpcError;
use crate::ipc::{
    Connection, NetworkChangedPayload, Realtime, SyncFailedPayload, SyncProgress,
    SyncStartedPayload, SyncStatus,
};
use crate::AppState;

pub const MEETINGS_CHANGED: &str = "meetings-changed";
pub const SYNC_STARTED: &str = "sync-started";
pub const SYNC_PROGRESS: &str = "sync-progress";
pub const SYNC_FINISHED: &str = "sync-finished";
pub const SYNC_FAILED: &str = "sync-failed";
pub const CONNECTION_CHANGED: &str = "connection-changed";
pub const NETWORK_CHANGED: &str = "network-changed";
pub const REALTIME_CHANGED: &str = "realtime-changed";

/// How often Calendly's reachability is checked while online, and while offline (faster, so the
/// app notices quickly when the network is back).
const PROBE_INTERVAL_ONLINE: Duration = Duration::from_secs(30);
const PROBE_INTERVAL_OFFLINE: Duration = Duration::from_secs(5);

/// Forwards every event of `engine` to the webview until another engine is activated
/// (`generation` moves on) or the engine goes away.
pub fn spawn_engine_forwarder<R: Runtime>(app: &AppHandle<R>, engine: &Engine, generation: u64) {
    let mut receiver = engine.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let received = receiver.recv().await;
            if app.state::<AppState>().generation() != generation {
                break;
            }
            match received {
                Ok(event) => forward(&app, event),
                Err(RecvError::Lagged(skipped)) => {
                    // Missed events can't be replayed; tell the UI to re-read everything instead.
                    tracing::warn!(skipped, "engine events lagged; asking the UI to refresh");
                    emit_meetings_changed(&app);
                    emit_connection(&app, None);
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn forward<R: Runtime>(app: &AppHandle<R>, event: EngineEvent) {
    match event {
        EngineEvent::SyncStarted { kind } => {
            emit(app, SYNC_STARTED, SyncStartedPayload { kind: kind.into() })
        }
        EngineEvent::SyncProgress(progress) => {
            emit(app, SYNC_PROGRESS, SyncProgress::from(progress))
        }
        EngineEvent::SyncFinished(_) => {
            if let Some(sync) = current_sync_status(app) {
                emit(app, SYNC_FINISHED, sync);
            }
        }
        EngineEvent::SyncFailed { error } => {
            let error = IpcError::from(error);
            if let Some(sync) = current_sync_status(app) {
                emit(
                    app,
                    SYNC_FAILED,
                    SyncFailedPayload {
                        code: error.code.to_owned(),
                        message: error.message,
                        sync,
                    },
                );
            }
        }
        EngineEvent::MeetingsChanged => emit_meetings_changed(app),
        EngineEvent::ConnectionChanged => emit_connection(app, None),
        EngineEvent::RealtimeChanged => match app.state::<AppState>().engine().status(Utc::now()) {
            Ok(status) => emit(app, REALTIME_CHANGED, Realtime::from(&status.realtime)),
            Err(error) => tracing::warn!(%error, "could not read the real-time state"),
        },
        // The engine decided this deserves a notification (and that they are on).
        EngineEvent::Notification(notification) => show_notification(app, &notification),
        EngineEvent::DeliveryProcessed(_)
        | EngineEvent::RealtimeSetupChanged
        | EngineEvent::ResyncRequested { .. } => {}
    }
}

/// A desktop notification through the notification plugin (the freedesktop notification
/// service on Linux).
fn show_notification<R: Runtime>(app: &AppHandle<R>, notification: &advicly_engine::Notification) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(error) = app
        .notification()
        .builder()
        .title(&notification.title)
        .body(&notification.body)
        .show()
    {
        tracing::warn!(%error, "could not show a desktop notification");
    }
}

/// Tells the UI to re-query the meetings it shows.
pub fn emit_meetings_changed<R: Runtime>(app: &AppHandle<R>) {
    emit(app, MEETINGS_CHANGED, ());
}

/// Sends the current connection; `reason` overrides the engine's (a failed callback carries its error).
pub fn emit_connection<R: Runtime>(app: &AppHandle<R>, reason: Option<String>) {
    let state = app.state::<AppState>();
    match overview(&state) {
        Ok(overview) => {
            let connection = Connection {
                reason: reason.or(overview.connection.reason),
                ..overview.connection
            };
            emit(app, CONNECTION_CHANGED, connection);
        }
        Err(error) => tracing::warn!(%error, "could not read the connection state"),
    }
}

/// The sync status after a sync ended: never "running", whatever the store's last row says.
fn current_sync_status<R: Runtime>(app: &AppHandle<R>) -> Option<SyncStatus> {
    let state = app.state::<AppState>();
    match state.engine().status(Utc::now()) {
        Ok(status) => Some(SyncStatus {
            running: false,
            progress: None,
            ..sync_status(&state, &status)
        }),
        Err(error) => {
            tracing::warn!(%error, "could not read the sync state");
            None
        }
    }
}

fn emit<R: Runtime, P: serde::Serialize + Clone>(app: &AppHandle<R>, name: &str, payload: P) {
    if let Err(error) = app.emit(name, payload) {
        tracing::warn!(%error, event = name, "could not send an event to the UI");
    }
}

/// Checks whether Calendly answers, at start and then periodically; on a change it updates the
/// state, tells the UI and tells the scheduler (which pauses while offline and syncs soon after
/// the network is back). The probe asks the active engine, so the demo probes its own fake.
pub fn spawn_network_probe<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut last_reported: Option<(bool, u64)> = None;
        loop {
            let state = app.state::<AppState>();
            let generation = state.generation();
            let online = state.engine().probe_online().await;
            // A new engine gets a new scheduler, which must hear the network state too.
            if last_reported != Some((online, generation)) {
                tracing::info!(online, "network state");
                state.set_online(online);
                if let Err(error) = state.scheduler().network_changed(online) {
                    // The scheduler is gone: the app is quitting.
                    tracing::debug!(%error, "network probe stopping");
                    break;
                }
                // The listener pauses while offline and reconnects at once when back.
                let _ = state.listener().network_changed(online);
                if last_reported.map(|(was_online, _)| was_online) != Some(online) {
                    emit(&app, NETWORK_CHANGED, NetworkChangedPayload { online });
                }
                last_reported = Some((online, generation));
            }
            tokio::time::sleep(if online {
                PROBE_INTERVAL_ONLINE
            } else {
                PROBE_INTERVAL_OFFLINE
            })
            .await;
        }
    });
}
