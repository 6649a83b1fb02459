//! `advicly://` deep links: the OAuth callback arrives here and goes to the engine's one callback
//! handler (the same one `advicly handle-url` uses).
//!
//! On Linux a link opens a new process; the single-instance plugin forwards it to the running app,
//! where `on_open_url` fires. A link that *starts* the app fires nothing, so setup also reads
//! `get_current()`.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::error::IpcError;
use crate::events::emit_connection;
use crate::AppState;

/// Subscribes to links, handles the launch link, and registers the scheme with the desktop.
pub fn init<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            handle_url(&handle, url.to_string());
        }
    });

    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                handle_url(app, url.to_string());
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not read the launch deep link"),
    }

    // Registering writes a .desktop handler for `advicly://` into the user's data folder, so the
    // browser can hand the OAuth callback back to this binary. Only development builds do it: the
    // installed package's own entry (/usr/share/applications/Advicly.desktop) registers the scheme
    // at install time, and a per-user handler would shadow it (with an Exec line Debian's generic
    // xdg-open cannot run).
    // It runs xdg-mime and update-desktop-database (tens of milliseconds of child processes), so it
    // happens on a thread of its own rather than between the process start and the first paint.
    #[cfg(all(target_os = "linux", debug_assertions))]
    if std::env::var_os("ADVICLY_SKIP_SCHEME_REGISTRATION").is_none() {
        let app = app.clone();
        let spawned = std::thread::Builder::new()
            .name("advicly-scheme-registration".into())
            .spawn(move || {
                if let Err(error) = app.deep_link().register_all() {
                    tracing::warn!(%error, "could not register the advicly:// link handler (is xdg-utils installed?)");
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start registering the advicly:// link handler");
        }
    }
}

/// Hands a link to the engine off the UI thread. Success shows up as the engine's own
/// connection change; a failure is sent as a connection change carrying the reason.
pub fn handle_url<R: Runtime>(app: &AppHandle<R>, url: String) {
    if !url.starts_with("advicly:") {
        tracing::debug!("ignoring a launch argument that is not an advicly:// link");
        return;
    }
    focus_main_window(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        // The URL carries a one-time code; log only that a callback arrived.
        tracing::info!("handling an advicly:// callback");
        match state.engine().handle_callback_url(&url).await {
            Ok(_) => emit_connection(&app, None),
            Err(error) => {
                let error = IpcError::from(error);
                tracing::warn!(code = error.code, "the callback failed");
                emit_connection(&app, Some(error.message));
            }
        }
    });
}

/// Brings the window forward (a deep link or a second launch means the advisor wants it).
pub fn focus_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
