//! The command layer through Tauri's real IPC path (mock runtime, no window system): argument
//! names and shapes, camelCase DTOs, and errors arriving as `{code, message}`.

use advicly_desktop::{commands, AppState};
use advicly_engine::{
    AddressPolicy, Engine, EngineConfig, LiveSettings, SchedulerSettings, SettingKey,
    SettingsOverrides,
};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

/// An app with the real commands and a real engine on a temporary database. Single-instance and
/// deep-link plugins are left out: they are process-wide and not what these tests are about.
struct TestApp {
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    _data: tempfile::TempDir,
    /// Holds the settings file (the app's config folder).
    config: tempfile::TempDir,
}

fn test_app(oauth_client_id: Option<&str>) -> TestApp {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let config_folder = tempfile::tempdir().expect("a temporary config folder");
    let mut config = EngineConfig::production(data.path().to_path_buf(), None);
    // Nothing listens here, so the engine can never reach a real Calendly.
    config.api_base = "http://127.0.0.1:9/".parse().expect("a valid URL");
    config.auth_base = "http://127.0.0.1:9/".parse().expect("a valid URL");
    // A service of its own per test app, so parallel tests never share keychain entries.
    static NEXT_APP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let number = NEXT_APP.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    config.keychain_service = format!("com.advicly.desktop.test-{}-{number}", std::process::id());
    // Settings as the app reads them: the file in its config folder, plus a client id "from the
    // environment" when the test wants one.
    let mut overrides = SettingsOverrides::default();
    if let Some(client_id) = oauth_client_id {
        overrides = overrides.with_flag(SettingKey::ClientId, client_id);
    }
    let settings = LiveSettings::new(
        Some(config_folder.path().join("settings.toml")),
        overrides,
        AddressPolicy::AllowLoopbackHttp,
    );
    let engine =
        Engine::open_with_settings(config, settings).expect("the engine opens a fresh database");
    let app = mock_builder()
        .invoke_handler(commands::handler())
        .build(mock_context(noop_assets()))
        .expect("the mock app builds");
    let state = tauri::async_runtime::block_on(async {
        AppState::new(engine, SchedulerSettings::default())
    });
    app.manage(state);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the mock window builds");
    TestApp {
        _app: app,
        webview,
        _data: data,
        config: config_folder,
    }
}

/// Invokes a command as the UI would; `Err` carries the rejection value.
fn invoke(app: &TestApp, command: &str, arguments: Value) -> Result<Value, Value> {
    get_ipc_response(
        &app.webview,
        InvokeRequest {
            cmd: command.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // Linux serves the UI from tauri://localhost; other origins are refused.
            url: "tauri://localhost".parse().expect("a valid URL"),
            body: InvokeBody::Json(arguments),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("the response is JSON"))
}

#[test]
fn overview_of_a_fresh_install_offers_the_demo_when_no_client_is_configured() {
    let app = test_app(None);
    let overview = invoke(&app, "get_overview", json!({})).expect("get_overview succeeds");
    // docs/ipc.md: camelCase fields, disconnected, nothing stored, demo offered without a client id.
    assert_eq!(
        overview["connection"]["state"], "disconnected",
        "{overview}"
    );
    assert_eq!(overview["connection"]["demo"], false, "{overview}");
    assert_eq!(overview["demoAvailable"], true, "{overview}");
    assert_eq!(overview["meetingCount"], 0, "{overview}");
    assert_eq!(
        overview["sync"]["intervalMinutes"], 15,
        "the default interval is 15 minutes: {overview}"
    );
    assert_eq!(overview["sync"]["running"], false, "{overview}");
}

#[test]
fn the_first_request_without_an_account_has_no_agenda_and_no_error() {
    let app = test_app(None);
    let start = invoke(
        &app,
        "get_start",
        json!({ "agenda": { "search": null, "status": "all", "from": null, "to": null, "clientEmail": null } }),
    )
    .expect("get_start answers even before any account exists");
    assert_eq!(
        start["overview"]["connection"]["state"], "disconnected",
        "{start}"
    );
    assert!(start["agenda"].is_null(), "nothing to list: {start}");
}

#[test]
fn a_configured_oauth_client_hides_the_demo() {
    let app = test_app(Some("registered-client"));
    let overview = invoke(&app, "get_overview", json!({})).expect("get_overview succeeds");
    // The demo is only for trying the app without a Calendly app registration.
    assert_eq!(overview["demoAvailable"], false, "{overview}");
    let refused = invoke(&app, "start_demo", json!({})).expect_err("start_demo is refused");
    assert_eq!(refused["code"], "invalid_input", "{refused}");
}

#[test]
fn reading_meetings_without_an_account_rejects_with_the_not_connected_code() {
    let app = test_app(None);
    let query = json!({ "query": { "search": null, "status": "upcoming", "from": null, "to": null, "clientEmail": null } });
    let error = invoke(&app, "list_meetings", query).expect_err("no account, no meetings");
    // The UI branches on `code` only and shows `message` as text.
    assert_eq!(error["code"], "not_connected", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{error}"
    );
    let error = invoke(&app, "list_clients", json!({})).expect_err("no account, no clients");
    assert_eq!(error["code"], "not_connected", "{error}");
    let error = invoke(
        &app,
        "open_join_link",
        json!({ "uri": "https://api.calendly.com/scheduled_events/X" }),
    )
    .expect_err("no account, no join link");
    assert_eq!(error["code"], "not_connected", "{error}");
}

#[test]
fn the_sync_interval_is_checked_and_reported_back() {
    let app = test_app(None);
    let error = invoke(&app, "set_sync_interval", json!({ "minutes": 3 }))
        .expect_err("3 minutes is too often");
    // 5–60 minutes is the documented range.
    assert_eq!(error["code"], "invalid_input", "{error}");
    let status =
        invoke(&app, "set_sync_interval", json!({ "minutes": 30 })).expect("30 minutes is allowed");
    assert_eq!(status["intervalMinutes"], 30, "{status}");
}

#[test]
fn syncing_without_an_account_fails_with_a_code_the_ui_understands() {
    let app = test_app(None);
    let error = invoke(&app, "sync_now", json!({})).expect_err("nothing to sync");
    // Either nothing is connected or (no network in tests) Calendly is unreachable.
    let code = error["code"].as_str().unwrap_or_default();
    assert!(["not_connected", "offline"].contains(&code), "{error}");
}

/// Polls `check` every 100 ms for up to `seconds`; `what` names the condition in the panic.
fn wait_until(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_demo_connects_syncs_lists_and_disconnects_without_an_account() {
    let app = test_app(None);
    let started = invoke(&app, "start_demo", json!({}))
        .expect("start_demo succeeds with no client configured");
    assert_eq!(started, Value::Null, "start_demo resolves to null");

    let overview = invoke(&app, "get_overview", json!({})).expect("get_overview succeeds");
    // The demo goes through the real OAuth flow against the in-process fake, so it is connected.
    assert_eq!(overview["connection"]["state"], "connected", "{overview}");
    assert_eq!(
        overview["connection"]["demo"], true,
        "the UI marks demo data: {overview}"
    );

    // The scheduler of the demo engine runs the first sync on its own.
    let all = json!({ "query": { "search": null, "status": "all", "from": null, "to": null, "clientEmail": null } });
    wait_until("the first demo sync to fill the list", 60, || {
        invoke(&app, "list_meetings", all.clone())
            .is_ok_and(|meetings| meetings.as_array().is_some_and(|rows| !rows.is_empty()))
    });
    let meetings = invoke(&app, "list_meetings", all.clone()).expect("the demo lists meetings");
    let first = &meetings[0];
    // Every documented MeetingSummary field is present, in camelCase.
    for field in [
        "uri",
        "name",
        "status",
        "startTime",
        "endTime",
        "rescheduledToStart",
        "deleted",
        "invitees",
        "clientEmails",
    ] {
        assert!(
            first.get(field).is_some(),
            "MeetingSummary lacks {field}: {first}"
        );
    }
    let detail = invoke(&app, "get_meeting", json!({ "uri": first["uri"] }))
        .expect("the detail of a listed meeting");
    assert_eq!(
        detail["uri"], first["uri"],
        "the detail is of the meeting asked for"
    );
    assert!(
        detail.get("lastChangeSource").is_some(),
        "MeetingDetail carries lastChangeSource: {detail}"
    );
    let clients = invoke(&app, "list_clients", json!({})).expect("the demo lists clients");
    assert!(
        clients.as_array().is_some_and(|rows| !rows.is_empty()),
        "demo meetings have clients: {clients}"
    );

    // The UI's first request: the overview and an agenda in one answer.
    let start = invoke(
        &app,
        "get_start",
        json!({ "agenda": { "search": null, "status": "all", "from": null, "to": null, "clientEmail": null, "limit": 5 } }),
    )
    .expect("get_start succeeds");
    assert_eq!(
        start["overview"]["connection"]["state"], "connected",
        "{start}"
    );
    assert_eq!(start["agenda"].as_array().map(Vec::len), Some(5), "{start}");

    // Event types are listed after the meetings; then every demo meeting names its type.
    wait_until("the demo's event types to be listed", 60, || {
        invoke(&app, "list_meetings", all.clone()).is_ok_and(|meetings| {
            meetings.as_array().is_some_and(|rows| {
                rows.iter()
                    .all(|row| row["eventTypeName"].as_str().is_some())
            })
        })
    });
    let meetings = invoke(&app, "list_meetings", all.clone()).expect("the demo lists meetings");
    for row in meetings.as_array().expect("an array") {
        let name = row["eventTypeName"].as_str().expect("a name");
        assert!(!name.contains("://"), "a name, not a URI: {row}");
        let color = row["eventTypeColor"].as_str().expect("a colour");
        assert!(color.starts_with('#') && color.len() == 7, "{row}");
    }
    let event_types = invoke(&app, "list_event_types", json!({})).expect("event types");
    assert!(
        event_types.as_array().is_some_and(|rows| rows.len() >= 6),
        "the demo advisor offers named types: {event_types}"
    );

    // The client page and the private note.
    let email = clients[0]["email"].clone();
    let page = invoke(&app, "get_client", json!({ "email": email })).expect("a client page");
    for field in ["client", "emails", "meetings", "answers", "note"] {
        assert!(
            page.get(field).is_some(),
            "ClientDetail lacks {field}: {page}"
        );
    }
    assert!(page["note"].is_null(), "no note yet: {page}");
    let saved = invoke(
        &app,
        "set_client_note",
        json!({ "email": email, "note": "Zanzibar holiday in May" }),
    )
    .expect("the note is saved");
    assert_eq!(saved["body"], "Zanzibar holiday in May", "{saved}");
    assert!(saved["updatedAt"].is_string(), "{saved}");
    let page = invoke(&app, "get_client", json!({ "email": email })).expect("a client page");
    assert_eq!(page["note"]["body"], "Zanzibar holiday in May", "{page}");
    let search = json!({ "query": { "search": "zanzibar", "status": "all", "from": null, "to": null, "clientEmail": null } });
    let found = invoke(&app, "list_meetings", search).expect("search");
    assert_eq!(
        found.as_array().map(Vec::len),
        page["meetings"]
            .as_array()
            .map(|rows| rows.iter().filter(|row| row["deleted"] == false).count()),
        "the note finds the client's meetings: {found}"
    );
    let missing = invoke(
        &app,
        "get_client",
        json!({ "email": "nobody@nowhere.example" }),
    )
    .expect_err("no such client");
    assert_eq!(missing["code"], "not_found", "{missing}");

    let report = invoke(&app, "disconnect", json!({ "wipe": false }))
        .expect("disconnecting the demo succeeds");
    assert_eq!(report["wiped"], false, "{report}");
    let overview = invoke(&app, "get_overview", json!({})).expect("get_overview succeeds");
    // Disconnecting the demo returns to the configured (empty, disconnected) engine.
    assert_eq!(
        overview["connection"]["state"], "disconnected",
        "{overview}"
    );
    assert_eq!(overview["connection"]["demo"], false, "{overview}");
    assert_eq!(
        overview["meetingCount"], 0,
        "the real database never saw demo meetings: {overview}"
    );
}

#[test]
fn settings_are_saved_to_the_shared_file_and_a_client_id_enables_connect_at_once() {
    let app = test_app(None);
    let settings = invoke(&app, "get_settings", json!({})).expect("get_settings succeeds");
    assert_eq!(settings["clientId"], Value::Null, "{settings}");
    assert_eq!(settings["syncIntervalMinutes"], 15, "{settings}");
    assert_eq!(settings["notifications"], true, "{settings}");
    assert_eq!(settings["sources"]["client_id"], "default", "{settings}");
    let overview = invoke(&app, "get_overview", json!({})).unwrap();
    assert_eq!(overview["oauthAvailable"], false, "{overview}");

    let saved = invoke(
        &app,
        "save_settings",
        json!({ "update": { "clientId": "my-registration", "notifications": false, "syncIntervalMinutes": 20 } }),
    )
    .expect("valid settings are saved");
    assert_eq!(saved["clientId"], "my-registration", "{saved}");
    assert_eq!(saved["sources"]["client_id"], "file", "{saved}");
    assert_eq!(saved["notifications"], false, "{saved}");
    let file = std::fs::read_to_string(app.config.path().join("settings.toml")).unwrap();
    assert!(file.contains("client_id = \"my-registration\""), "{file}");
    // No restart: Connect with Calendly is available now, and the demo steps aside.
    let overview = invoke(&app, "get_overview", json!({})).unwrap();
    assert_eq!(overview["oauthAvailable"], true, "{overview}");
    assert_eq!(overview["demoAvailable"], false, "{overview}");
    assert_eq!(overview["sync"]["intervalMinutes"], 20, "{overview}");

    // An empty client id removes it again.
    let cleared = invoke(
        &app,
        "save_settings",
        json!({ "update": { "clientId": "" } }),
    )
    .unwrap();
    assert_eq!(cleared["clientId"], Value::Null, "{cleared}");
}

#[test]
fn an_invalid_setting_is_refused_by_name_and_nothing_is_saved() {
    let app = test_app(None);
    let error = invoke(
        &app,
        "save_settings",
        json!({ "update": { "clientId": "fine", "relayBase": "http://relay.example.com" } }),
    )
    .expect_err("a cleartext relay is refused");
    assert_eq!(error["code"], "invalid_input", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("The setting relay_base must use https"),
        "{error}"
    );
    // All or nothing: the valid client id next to it was not written either.
    let settings = invoke(&app, "get_settings", json!({})).unwrap();
    assert_eq!(settings["clientId"], Value::Null, "{settings}");
}

#[test]
fn a_value_fixed_by_the_environment_is_shown_as_locked() {
    let app = test_app(Some("from-the-environment"));
    let settings = invoke(&app, "get_settings", json!({})).unwrap();
    assert_eq!(settings["clientId"], "from-the-environment", "{settings}");
    assert_eq!(
        settings["lockedBy"]["client_id"], "ADVICLY_CLIENT_ID",
        "{settings}"
    );
}
