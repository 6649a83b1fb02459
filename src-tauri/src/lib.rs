//! The Advicly desktop shell: plugins, configuration, state, background tasks and a clean exit.
//!
//! Everything the app *does* lives in `advicly_engine`; this crate only wires it to a Tauri window:
//! commands in `commands.rs`, engine events out in `events.rs`, deep links in `deep_link.rs`.

pub mod commands;
pub mod deep_link;
pub mod error;
pub mod events;
pub mod ipc;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use advicly_engine::{
    spawn_listener, spawn_scheduler, AddressPolicy, Engine, EngineConfig, ListenerHandle,
    ListenerSettings, LiveSettings, SchedulerHandle, SchedulerSettings, SettingsOverrides,
    SETTINGS_FILE_NAME,
};
use tauri::{AppHandle, Manager, RunEvent, Runtime};

/// The Tauri identifier; also the data folder name and the release keychain service.
pub use advicly_engine::APP_IDENTIFIER;

/// How long quitting waits for a running sync to stop at a page boundary.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The engine the UI talks to right now, the scheduler polling for it and the listener holding
/// its real-time stream. The demo swaps in an engine of its own (own database, keychain service
/// and relay) and swaps back on disconnect.
struct ActiveEngine {
    engine: Engine,
    scheduler: Arc<SchedulerHandle>,
    listener: Arc<ListenerHandle>,
}

/// What every command and background task shares.
pub struct AppState {
    active: RwLock<ActiveEngine>,
    /// Bumped on every engine swap, so event forwarders of a replaced engine stop.
    generation: AtomicU64,
    /// The engine of the configured (real) Calendly, kept while a demo runs.
    base_engine: Engine,
    /// The running demo (its in-process fake Calendly stops with it).
    demo: tokio::sync::Mutex<Option<advicly_engine::demo::Demo>>,
    /// Latest result of the reachability probe (see `events::spawn_network_probe`).
    online: AtomicBool,
    /// Set once quitting has begun, so the exit handler runs the shutdown only once.
    shutting_down: AtomicBool,
}

/// The two background tasks of an engine: the poller and the real-time listener.
fn spawn_background(engine: &Engine, settings: SchedulerSettings) -> ActiveEngine {
    ActiveEngine {
        engine: engine.clone(),
        scheduler: Arc::new(spawn_scheduler(engine.clone(), settings)),
        listener: Arc::new(spawn_listener(engine.clone(), ListenerSettings::default())),
    }
}

impl AppState {
    /// Must be called inside the Tokio runtime (the scheduler is spawned onto it).
    pub fn new(engine: Engine, settings: SchedulerSettings) -> Self {
        Self {
            active: RwLock::new(spawn_background(&engine, settings)),
            generation: AtomicU64::new(0),
            base_engine: engine,
            demo: tokio::sync::Mutex::new(None),
            online: AtomicBool::new(true),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// The engine commands call (cheap to clone: an `Arc` inside).
    pub fn engine(&self) -> Engine {
        self.active
            .read()
            .expect("the active-engine lock is never poisoned")
            .engine
            .clone()
    }

    pub fn scheduler(&self) -> Arc<SchedulerHandle> {
        self.active
            .read()
            .expect("the active-engine lock is never poisoned")
            .scheduler
            .clone()
    }

    pub fn listener(&self) -> Arc<ListenerHandle> {
        self.active
            .read()
            .expect("the active-engine lock is never poisoned")
            .listener
            .clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// True when no OAuth client id is configured (now: a client id saved in Settings counts at
    /// once), so the UI offers the in-process demo next to the personal access token.
    pub fn demo_available(&self) -> bool {
        !self.base_engine.oauth_available()
    }

    /// The engine of the configured Calendly (not the demo's): settings belong to it.
    pub fn base_engine(&self) -> &Engine {
        &self.base_engine
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    pub(crate) fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::SeqCst);
    }
}

/// Makes `engine` the one the UI talks to: a fresh scheduler polls for it and a fresh listener
/// holds its stream, its events are forwarded, and the previous tasks are stopped. The UI is
/// told to re-read everything.
pub async fn activate_engine<R: Runtime>(app: &AppHandle<R>, engine: Engine) {
    let state = app.state::<AppState>();
    let background = spawn_background(&engine, SchedulerSettings::default());
    let previous = {
        let mut active = state
            .active
            .write()
            .expect("the active-engine lock is never poisoned");
        std::mem::replace(&mut *active, background)
    };
    let generation = state.generation.fetch_add(1, Ordering::SeqCst) + 1;
    events::spawn_engine_forwarder(app, &engine, generation);
    stop_background(&previous).await;
    events::emit_connection(app, None);
    events::emit_meetings_changed(app);
}

/// Stops an engine's poller (a running sync ends at a page boundary) and its listener (the
/// delivery being applied is committed and acknowledged first).
async fn stop_background(background: &ActiveEngine) {
    let stopped = async {
        tokio::join!(
            background.scheduler.shutdown(),
            background.listener.shutdown()
        );
    };
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, stopped)
        .await
        .is_err()
    {
        tracing::warn!("the background tasks did not stop within {SHUTDOWN_TIMEOUT:?}");
    }
}

/// Starts the in-process demo Calendly, connects a demo engine to it through the OAuth flow and
/// makes that engine the active one.
pub async fn enter_demo<R: Runtime>(app: &AppHandle<R>) -> Result<(), advicly_engine::EngineError> {
    let state = app.state::<AppState>();
    let mut demo_slot = state.demo.lock().await;
    let demo = advicly_engine::demo::start_demo(&state.base_engine).await?;
    let engine = demo.engine.clone();
    let previous = demo_slot.replace(demo);
    drop(demo_slot);
    activate_engine(app, engine).await;
    if let Some(previous) = previous {
        previous.stop().await;
    }
    Ok(())
}

/// After the demo account is disconnected: back to the configured engine, and the fake stops.
pub async fn leave_demo<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let Some(demo) = state.demo.lock().await.take() else {
        return;
    };
    activate_engine(app, state.base_engine.clone()).await;
    demo.stop().await;
}

/// The engine configuration and the settings the app runs with: the settings file in the app's
/// config folder (shared with the CLI), overridden by the same environment variables the CLI
/// honours, so tests can point the app at the fake Calendly and a private keychain service.
/// `ADVICLY_DATA_DIR` and `ADVICLY_KEYCHAIN_SERVICE` are not settings but still honoured.
pub fn engine_config_from_settings(
    default_data_dir: PathBuf,
    settings_file: Option<PathBuf>,
) -> (EngineConfig, LiveSettings) {
    let variable = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    let data_dir = variable("ADVICLY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or(default_data_dir);
    let mut config = EngineConfig::production(data_dir, None);
    config.keychain_service = variable("ADVICLY_KEYCHAIN_SERVICE")
        .unwrap_or_else(|| default_keychain_service().to_owned());
    let settings = LiveSettings::new(
        settings_file,
        SettingsOverrides::from_environment(),
        AddressPolicy::for_this_build(),
    );
    (config, settings)
}

pub use advicly_engine::default_keychain_service;

/// Builds the app with every plugin and command.
pub fn builder<R: Runtime>() -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
        // Single-instance must come first: on Linux a deep link starts a second process, which
        // hands its arguments to the running app over D-Bus and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            deep_link::focus_main_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(commands::handler())
}

/// Starts the desktop app and blocks until it quits.
pub fn run() {
    prefer_low_memory_webview();
    init_tracing();
    let app = builder::<tauri::Wry>()
        .setup(|app| {
            setup(app.handle())?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| {
            // Nothing else can report this: the window never opened.
            eprintln!("Advicly could not start: {error}");
            std::process::exit(1);
        });
    app.run(on_run_event);
}

/// WebKitGTK's accelerated compositing costs ~85 MB of idle memory on this app (measured with
/// 10,000 meetings, tests/desktop/README.md) and buys nothing for a list of text. It is turned off
/// unless the user set the variable themselves or asks for compositing with
/// `ADVICLY_WEBKIT_COMPOSITING=1`.
///
/// JavaScriptCore's JITs cost the web process ~13 MB of idle memory (8 MB the optimizing tiers,
/// 5 MB the baseline) and compile on the two cores while the first screen is built; the UI's
/// scripts are small and event-driven and never run hot long enough to gain from them, so they
/// run in JavaScriptCore's interpreter. The web process inherits the variables;
/// `ADVICLY_WEBKIT_FULL_JIT=1` (or setting `JSC_useJIT` yourself) keeps JavaScriptCore's default.
///
/// Runs before GTK starts, while the process has one thread.
fn prefer_low_memory_webview() {
    #[cfg(target_os = "linux")]
    for (name, value) in low_memory_webview_environment(|name| std::env::var_os(name).is_some()) {
        std::env::set_var(name, value);
    }
}

/// The WebKit variables [`prefer_low_memory_webview`] sets, given which variables are set.
fn low_memory_webview_environment(
    is_set: impl Fn(&str) -> bool,
) -> Vec<(&'static str, &'static str)> {
    let mut environment = Vec::new();
    if !is_set("WEBKIT_DISABLE_COMPOSITING_MODE") && !is_set("ADVICLY_WEBKIT_COMPOSITING") {
        environment.push(("WEBKIT_DISABLE_COMPOSITING_MODE", "1"));
    }
    let jit_chosen = is_set("ADVICLY_WEBKIT_FULL_JIT") || is_set("JSC_useJIT");
    if !jit_chosen {
        environment.push(("JSC_useJIT", "0"));
    }
    environment
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ADVICLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Opens the engine, starts the scheduler, the event forwarder, the network probe and the deep
/// link handling. Also used by the command tests with a mock runtime.
pub fn setup<R: Runtime>(app: &AppHandle<R>) -> Result<(), Box<dyn std::error::Error>> {
    let default_data_dir = app.path().app_data_dir()?;
    // Tauri's app_config_dir is $XDG_CONFIG_HOME/com.advicly.desktop: the CLI's folder too.
    let settings_file = app
        .path()
        .app_config_dir()
        .ok()
        .map(|folder| folder.join(SETTINGS_FILE_NAME));
    let (config, settings) = engine_config_from_settings(default_data_dir, settings_file);
    // Problems with single settings are logged and shown in Settings; they never stop the app.
    let engine = Engine::open_with_settings(config, settings)?;
    tracing::info!(
        data_dir = %engine.config().data_dir.display(),
        keychain_service = %engine.config().keychain_service,
        oauth_available = engine.oauth_available(),
        "starting"
    );
    // The scheduler spawns onto the current Tokio runtime, which is Tauri's.
    let state = tauri::async_runtime::block_on(async {
        AppState::new(engine.clone(), SchedulerSettings::default())
    });
    app.manage(state);
    events::spawn_engine_forwarder(app, &engine, 0);
    events::spawn_network_probe(app);
    deep_link::init(app);
    exit_on_terminate_signal(app);
    Ok(())
}

/// SIGTERM and SIGINT (a session logout, `kill`, Ctrl+C in a terminal) quit through the same
/// clean path as closing the window.
fn exit_on_terminate_signal<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let (Ok(mut terminate), Ok(mut interrupt)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("could not listen for termination signals");
                return;
            };
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            tracing::info!("termination signal received; quitting");
            app.exit(0);
        });
    }
}

/// Quitting stops the scheduler (a running sync ends at a page boundary), the listener (the
/// delivery in hand is committed and acknowledged) and the demo's fake Calendly and relay, then
/// exits, so no task writes to the store while the process goes away and
/// nothing is left running.
fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested { api, code, .. } = event {
        let Some(state) = app.try_state::<AppState>() else {
            return;
        };
        if state.shutting_down.swap(true, Ordering::SeqCst) {
            // Second pass: our own `exit` below; let it through.
            return;
        }
        api.prevent_exit();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let state = app.state::<AppState>();
            let (scheduler, listener) = (state.scheduler(), state.listener());
            let stopped = async {
                tokio::join!(scheduler.shutdown(), listener.shutdown());
            };
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, stopped)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the background tasks did not stop within {SHUTDOWN_TIMEOUT:?}; exiting anyway"
                );
            }
            if let Some(demo) = state.demo.lock().await.take() {
                demo.stop().await;
            }
            tracing::info!("stopped cleanly");
            app.exit(code.unwrap_or(0));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::low_memory_webview_environment;

    #[test]
    fn the_webview_runs_without_compositing_and_jit_unless_the_user_chose_otherwise() {
        let nothing_set = low_memory_webview_environment(|_| false);
        assert_eq!(
            nothing_set,
            [
                ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
                ("JSC_useJIT", "0")
            ]
        );
        for chosen in [
            "ADVICLY_WEBKIT_COMPOSITING",
            "WEBKIT_DISABLE_COMPOSITING_MODE",
        ] {
            let environment = low_memory_webview_environment(|name| name == chosen);
            assert_eq!(environment, [("JSC_useJIT", "0")], "{chosen}");
        }
        for chosen in ["ADVICLY_WEBKIT_FULL_JIT", "JSC_useJIT"] {
            let environment = low_memory_webview_environment(|name| name == chosen);
            assert_eq!(
                environment,
                [("WEBKIT_DISABLE_COMPOSITING_MODE", "1")],
                "{chosen}"
            );
        }
    }
}
