//! Build script: embeds the UI and declares the app's commands so that each gets an `allow-*`
//! permission and the capability file can grant exactly the ones the UI calls.

/// Every `#[tauri::command]` the shell registers; must match `commands::handler()`.
const COMMANDS: &[&str] = &[
    "get_overview",
    "get_start",
    "list_meetings",
    "get_meeting",
    "list_clients",
    "client_meetings",
    "get_client",
    "set_client_note",
    "list_event_types",
    "sync_now",
    "connect_oauth",
    "connect_token",
    "start_demo",
    "disconnect",
    "set_sync_interval",
    "open_join_link",
    "simulate_booking",
    "set_notifications",
    "get_settings",
    "save_settings",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed: check tauri.conf.json, capabilities/ and that ui/dist exists (npm run --prefix ui build)");
}
