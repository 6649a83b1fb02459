//! The IPC commands of `docs/ipc.md`: each takes the state, makes one engine call and maps the result.

use advicly_engine::{ConnectStart, Engine, EngineError, EventUri, Secret, SettingKey, StatusView};
use chrono::Utc;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::error::IpcError;
use crate::ipc::{
    ClientDetail, ClientNote, ClientSummary, ConnectOutcome, Connection, DisconnectReport,
    EventType, MeetingDetail, MeetingQuery, MeetingStatusFilter, MeetingSummary, Overview,
    Realtime, Settings, SettingsUpdate, StartData, SyncStatus,
};
use crate::AppState;

/// Every command, registered once; `build.rs` lists the same names for their permissions.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        get_overview,
        get_start,
        list_meetings,
        get_meeting,
        list_clients,
        client_meetings,
        get_client,
        set_client_note,
        list_event_types,
        sync_now,
        connect_oauth,
        connect_token,
        start_demo,
        disconnect,
        set_sync_interval,
        open_join_link,
        simulate_booking,
        set_notifications,
        get_settings,
        save_settings,
    ]
}

/// Runs synchronous work that may touch the database or the settings file on the blocking pool,
/// never on the main thread (the window would stop painting while it waits for the writer).
async fn off_main_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IpcError> + Send + 'static,
) -> Result<T, IpcError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| IpcError::internal(format!("a background task failed: {error}")))?
}

/// Runs a (synchronous, SQLite-bound) engine call of the active engine on the blocking pool: a
/// command without `async` would run on the main thread and hold up the window's painting while
/// 10,000 rows are read (or a write waits for the writer).
async fn on_engine<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(Engine) -> Result<T, EngineError> + Send + 'static,
) -> Result<T, IpcError> {
    let engine = state.engine();
    off_main_thread(move || work(engine).map_err(IpcError::from)).await
}

/// The connection, the sync state and whether Calendly is reachable, for the first screen.
pub fn overview(state: &AppState) -> Result<Overview, IpcError> {
    let status = state.engine().status(Utc::now())?;
    Ok(overview_from_status(state, &status))
}

/// The overview of an already read status.
pub fn overview_from_status(state: &AppState, status: &StatusView) -> Overview {
    Overview {
        connection: Connection::from_status(status),
        sync: sync_status(state, status),
        online: state.is_online(),
        demo_available: state.demo_available(),
        oauth_available: state.base_engine().oauth_available(),
        meeting_count: status.meeting_count,
        realtime: Realtime::from(&status.realtime),
        notifications_enabled: state.engine().notifications_enabled(),
    }
}

/// The sync part of the overview; the scheduler knows the interval and the next deadline.
pub fn sync_status(state: &AppState, status: &StatusView) -> SyncStatus {
    let scheduler = state.scheduler().state();
    SyncStatus::from_status(status, scheduler.next_sync_at, scheduler.interval_minutes)
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn get_overview(state: State<'_, AppState>) -> Result<Overview, IpcError> {
    let status = on_engine(&state, |engine| engine.status(Utc::now())).await?;
    Ok(overview_from_status(&state, &status))
}

/// The UI's first request: the overview and today's agenda in one round trip (the agenda is
/// `null` when no account is connected).
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn get_start(
    state: State<'_, AppState>,
    agenda: MeetingQuery,
) -> Result<StartData, IpcError> {
    let first = on_engine(&state, move |engine| {
        engine.first_screen(&agenda.into(), Utc::now())
    })
    .await?;
    Ok(StartData {
        overview: overview_from_status(&state, &first.status),
        agenda: first
            .agenda
            .map(|meetings| meetings.into_iter().map(Into::into).collect()),
    })
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn list_meetings(
    state: State<'_, AppState>,
    query: MeetingQuery,
) -> Result<Vec<MeetingSummary>, IpcError> {
    let meetings = on_engine(&state, move |engine| {
        engine.meetings(&query.into(), Utc::now())
    })
    .await?;
    Ok(meetings.into_iter().map(Into::into).collect())
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn get_meeting(
    state: State<'_, AppState>,
    uri: String,
) -> Result<MeetingDetail, IpcError> {
    Ok(
        on_engine(&state, move |engine| engine.meeting(&EventUri::new(uri)))
            .await?
            .into(),
    )
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn list_clients(state: State<'_, AppState>) -> Result<Vec<ClientSummary>, IpcError> {
    let clients = on_engine(&state, |engine| engine.clients(Utc::now())).await?;
    Ok(clients.into_iter().map(Into::into).collect())
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn client_meetings(
    state: State<'_, AppState>,
    email: String,
) -> Result<Vec<MeetingSummary>, IpcError> {
    let query = MeetingQuery {
        search: None,
        status: MeetingStatusFilter::All,
        from: None,
        to: None,
        client_email: Some(email),
        limit: None,
    };
    let meetings = on_engine(&state, move |engine| {
        engine.meetings(&query.into(), Utc::now())
    })
    .await?;
    Ok(meetings.into_iter().map(Into::into).collect())
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn get_client(
    state: State<'_, AppState>,
    email: String,
) -> Result<ClientDetail, IpcError> {
    Ok(
        on_engine(&state, move |engine| engine.client(&email, Utc::now()))
            .await?
            .into(),
    )
}

/// Saves the private note on a client (blank removes it); the note never leaves this computer.
#[tauri::command]
#[tracing::instrument(skip(state, note), err)]
pub async fn set_client_note(
    state: State<'_, AppState>,
    email: String,
    note: String,
) -> Result<Option<ClientNote>, IpcError> {
    let saved = on_engine(&state, move |engine| {
        engine.set_client_note(&email, &note, Utc::now())
    })
    .await?;
    Ok(saved.map(Into::into))
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn list_event_types(state: State<'_, AppState>) -> Result<Vec<EventType>, IpcError> {
    let event_types = on_engine(&state, |engine| engine.event_types()).await?;
    Ok(event_types.into_iter().map(Into::into).collect())
}

/// Asks the one scheduler for a sync (joining a running one) and waits for its outcome;
/// progress reaches the UI as events meanwhile.
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn sync_now(state: State<'_, AppState>) -> Result<(), IpcError> {
    state.scheduler().sync_now().await?;
    Ok(())
}

/// Connects (or reconnects): when the saved sign-in still works the account is connected again
/// at once; otherwise Calendly's authorization page opens in the system browser and the deep
/// link completes it.
#[tauri::command]
#[tracing::instrument(skip(state, app), err)]
pub async fn connect_oauth<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<ConnectOutcome, IpcError> {
    match state.engine().reconnect_or_begin_oauth().await? {
        ConnectStart::Reconnected(_) => Ok(ConnectOutcome {
            browser_opened: false,
        }),
        ConnectStart::OpenBrowser(authorize_url) => {
            open_in_browser(&app, authorize_url.as_str())?;
            Ok(ConnectOutcome {
                browser_opened: true,
            })
        }
    }
}

/// The Settings screen's values, where each comes from, and what is wrong with any of them.
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn get_settings(state: State<'_, AppState>) -> Result<Settings, IpcError> {
    let engine = state.base_engine().clone();
    off_main_thread(move || {
        let resolved = engine
            .settings()
            .ok_or_else(|| IpcError::internal("This app was started without a settings file."))?;
        Ok(Settings::from_resolved(&resolved))
    })
    .await
}

/// Saves the changed settings in the shared file (all or nothing) and applies them: a client id
/// or relay counts for the next Connect, an interval for the next scheduled sync.
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn save_settings(
    state: State<'_, AppState>,
    update: SettingsUpdate,
) -> Result<Settings, IpcError> {
    let text =
        |value: Option<String>| value.map(|text| Some(text).filter(|text| !text.trim().is_empty()));
    let mut changes = Vec::new();
    if let Some(client_id) = text(update.client_id) {
        changes.push((SettingKey::ClientId, client_id));
    }
    if let Some(relay_base) = text(update.relay_base) {
        changes.push((SettingKey::RelayBase, relay_base));
    }
    if let Some(minutes) = update.sync_interval_minutes {
        changes.push((SettingKey::SyncIntervalMinutes, Some(minutes.to_string())));
    }
    if let Some(on) = update.notifications {
        changes.push((SettingKey::Notifications, Some(on.to_string())));
    }
    let engine = state.base_engine().clone();
    let scheduler = state.scheduler();
    let minutes = update.sync_interval_minutes;
    off_main_thread(move || {
        let resolved = engine.update_settings(&changes)?;
        if let Some(minutes) = minutes {
            // Saving the interval waits for the writer, which a sync may hold for a page.
            scheduler.set_interval(minutes)?;
        }
        Ok(Settings::from_resolved(&resolved))
    })
    .await
}

#[tauri::command]
#[tracing::instrument(skip(state, token), err)]
pub async fn connect_token(
    state: State<'_, AppState>,
    token: String,
) -> Result<Connection, IpcError> {
    state.engine().connect_token(Secret::new(token)).await?;
    let status = on_engine(&state, |engine| engine.status(Utc::now())).await?;
    Ok(Connection::from_status(&status))
}

/// Starts the in-process fake Calendly and connects to it through the same OAuth flow.
#[tauri::command]
#[tracing::instrument(skip(state, app), err)]
pub async fn start_demo<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    if !state.demo_available() {
        return Err(IpcError::invalid_input(
            "The demo is only offered when no Calendly app is configured.",
        ));
    }
    crate::enter_demo(&app).await?;
    Ok(())
}

/// Disconnects the active account; disconnecting the demo also returns to the configured Calendly.
#[tauri::command]
#[tracing::instrument(skip(state, app), err)]
pub async fn disconnect<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    wipe: bool,
) -> Result<DisconnectReport, IpcError> {
    let report = state.engine().disconnect(wipe).await?;
    crate::leave_demo(&app).await;
    Ok(report.into())
}

#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn set_sync_interval(
    state: State<'_, AppState>,
    minutes: u32,
) -> Result<SyncStatus, IpcError> {
    let scheduler = state.scheduler();
    let status = on_engine(&state, move |engine| {
        // Saving the interval waits for the writer, which a sync may hold for a page.
        scheduler.set_interval(minutes)?;
        engine.status(Utc::now())
    })
    .await?;
    let mut sync = sync_status(&state, &status);
    // The scheduler applies the change asynchronously; report what was asked for.
    sync.interval_minutes = minutes;
    Ok(sync)
}

/// Demo mode only: the demo's Calendly books a meeting now; it arrives through the relay like a
/// real booking (with its notification).
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn simulate_booking(state: State<'_, AppState>) -> Result<(), IpcError> {
    let demo = state.demo.lock().await;
    let demo = demo
        .as_ref()
        .ok_or_else(|| IpcError::invalid_input("Simulating a booking only works in the demo."))?;
    demo.simulate_booking().await?;
    Ok(())
}

/// Turns desktop notifications for new, canceled and rescheduled meetings on or off: saves the
/// `notifications` setting in the shared settings file (the demo follows it too) and answers
/// whether they are on now (`ADVICLY_NOTIFICATIONS` still wins over the file).
#[tauri::command]
#[tracing::instrument(skip(state), err)]
pub async fn set_notifications(
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<bool, IpcError> {
    let engine = state.base_engine().clone();
    off_main_thread(move || Ok(engine.set_notifications_enabled(enabled)?)).await
}

/// Opens the join link of a stored meeting. The UI passes the meeting, never a URL, so the
/// webview cannot make the shell open arbitrary addresses.
#[tauri::command]
#[tracing::instrument(skip(state, app), err)]
pub async fn open_join_link<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    uri: String,
) -> Result<(), IpcError> {
    let meeting = on_engine(&state, move |engine| engine.meeting(&EventUri::new(uri))).await?;
    let join_url = meeting
        .meeting
        .join_url
        .ok_or_else(|| IpcError::invalid_input("This meeting has no join link."))?;
    open_in_browser(&app, &join_url)
}

/// Opens an http(s) address in the system browser. `ADVICLY_BROWSER` names the program to use
/// instead of the desktop default (the end-to-end tests put a scripted browser there).
fn open_in_browser<R: Runtime>(app: &AppHandle<R>, address: &str) -> Result<(), IpcError> {
    let parsed = url::Url::parse(address)
        .map_err(|error| IpcError::internal(format!("Not a valid address ({error}).")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(IpcError::invalid_input(
            "Only web addresses can be opened in the browser.",
        ));
    }
    let browser = std::env::var("ADVICLY_BROWSER")
        .ok()
        .filter(|program| !program.trim().is_empty());
    app.opener()
        .open_url(parsed.as_str(), browser)
        .map_err(|error| IpcError::internal(format!("The browser could not be opened: {error}")))
}
