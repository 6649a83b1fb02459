//! The `advicly` command line: connect Calendly, sync, and list meetings and clients from the local store.
//!
//! Errors are one plain sentence on stderr. Exit codes: 0 success, 1 other failure, 2 usage,
//! 3 not connected / needs reconnect, 4 offline.

mod output;

use advicly_core::Secret;
use advicly_engine::{
    default_keychain_service, spawn_listener, spawn_scheduler, AddressPolicy, ConnectStart,
    ConnectionState, Engine, EngineConfig, EngineError, EngineEvent, ListenerSettings,
    LiveSettings, MeetingQuery, MeetingStatusFilter, RealtimeState, ResolvedSettings,
    SchedulerSettings, SettingKey, SettingsOverrides, SyncProgress, SyncRequest, SyncWindows,
};
use anyhow::Context as _;
use chrono::{DateTime, Local, NaiveDate, NaiveTime, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The folder the desktop app (Tauri identifier `com.advicly.desktop`) keeps its data in, so the
/// CLI and the app share one database. Tauri's `app_data_dir` is the platform data directory
/// joined with the identifier: `$XDG_DATA_HOME/com.advicly.desktop` on Linux.
use advicly_engine::APP_IDENTIFIER;

#[derive(Debug, Parser)]
#[command(
    name = "advicly",
    version,
    about = "Keep your Calendly meetings and clients on your own machine.",
    after_help = "Settings (client id, relay, sync interval, notifications) live in the file `advicly config` shows, shared with the desktop app. Environment variables (ADVICLY_CLIENT_ID, ADVICLY_RELAY_BASE, ADVICLY_SYNC_INTERVAL_MINUTES, ADVICLY_NOTIFICATIONS, ADVICLY_API_BASE, ADVICLY_AUTH_BASE) override the file, and flags override both."
)]
struct Cli {
    /// Where the database lives (default: the desktop app's data folder).
    #[arg(long, env = "ADVICLY_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Calendly API base URL (setting `api_base`; https only in release builds).
    #[arg(long, global = true, value_name = "URL")]
    api_base: Option<String>,
    /// Calendly OAuth base URL (setting `auth_base`; https only in release builds).
    #[arg(long, global = true, value_name = "URL")]
    auth_base: Option<String>,
    /// OAuth client id of the registered Calendly app (setting `client_id`; needed for
    /// `connect` without `--token`).
    #[arg(long, global = true, value_name = "ID")]
    client_id: Option<String>,
    /// Relay base URL (setting `relay_base`): Calendly redirects to the relay's HTTPS bounce
    /// page, and real-time updates arrive through a channel on it (one Calendly webhook
    /// subscription per account points at the channel; disconnecting removes both).
    #[arg(long, global = true, value_name = "URL")]
    relay_base: Option<String>,
    /// Keychain service name the tokens are filed under.
    #[arg(
        long,
        env = "ADVICLY_KEYCHAIN_SERVICE",
        global = true,
        value_name = "NAME",
        default_value = default_keychain_service()
    )]
    keychain_service: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect a Calendly account: with --token, a personal access token; without, the browser
    /// OAuth flow (after trying the saved sign-in first, so a reconnect often needs no browser).
    Connect {
        /// Connect with a personal access token, typed at a hidden prompt or piped in on standard
        /// input (`advicly connect --token < token.txt`). A token written on the command line is
        /// refused: it would stay in the shell history and show in /proc/*/cmdline. Kept in the
        /// OS keychain.
        #[arg(long, value_name = "-", num_args = 0..=1, default_missing_value = "-")]
        token: Option<String>,
        /// Only print the authorization URL; don't open a browser.
        #[arg(long, conflicts_with = "token")]
        no_browser: bool,
        /// Sign in through the browser even when the saved sign-in still works (for example to
        /// switch to another Calendly account).
        #[arg(long, conflicts_with = "token")]
        browser: bool,
    },
    /// Show or change the settings the desktop app and this command line share.
    ///
    /// Keys: client_id, relay_base, sync_interval_minutes, notifications, and (advanced)
    /// api_base, auth_base. Without an action, every setting is listed with its
    /// value and where it comes from.
    Config {
        /// Print JSON instead of lines.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: Option<ConfigAction>,
    },
    /// Complete a connection with the `advicly://oauth/callback?...` URL the browser was sent to.
    HandleUrl {
        /// The full callback URL.
        url: String,
    },
    /// Fetch meetings from Calendly into the local store.
    Sync {
        /// Re-read the full window (2 years back, 1 year ahead) even if a recent full sync exists.
        #[arg(long)]
        full: bool,
        /// Print the sync report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List meetings from the local store.
    Meetings {
        /// Meetings starting on or after this date (YYYY-MM-DD, local time) or instant (RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_from)]
        from: Option<DateTime<Utc>>,
        /// Meetings starting on or before this date (YYYY-MM-DD, local time, inclusive) or before this instant (RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_to)]
        to: Option<DateTime<Utc>>,
        /// Which meetings to show.
        #[arg(long, value_enum, default_value_t = StatusArg::All)]
        status: StatusArg,
        /// Only meetings with this client (e-mail address).
        #[arg(long, value_name = "EMAIL")]
        client: Option<String>,
        /// Free text matched against meeting names and invitee names and e-mails.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List clients (people you meet, by e-mail address).
    Clients {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the connection and sync state.
    Status {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Hold the real-time stream in the foreground and print one line per delivery until Ctrl-C.
    Listen {
        /// Print each delivery as a JSON object on its own line.
        #[arg(long)]
        json: bool,
    },
    /// Disconnect Calendly: revoke tokens and remove them from the keychain.
    Disconnect {
        /// Also erase the local meetings and clients.
        #[arg(long)]
        wipe: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the value of one setting (exit 1 when it is not set).
    Get {
        /// The setting's name, e.g. client_id.
        key: String,
    },
    /// Check and save a setting in the settings file; without VALUE, remove it.
    Set {
        /// The setting's name, e.g. client_id.
        key: String,
        /// The new value; leave it out to go back to the default.
        value: Option<String>,
    },
    /// Remove a setting from the settings file (its default applies again).
    Unset {
        /// The setting's name, e.g. relay_base.
        key: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    /// Every meeting that is not deleted.
    All,
    Active,
    Canceled,
    /// Active meetings that have not ended yet.
    Upcoming,
    /// Meetings Calendly no longer returns.
    Deleted,
}

impl From<StatusArg> for MeetingStatusFilter {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::All => Self::All,
            StatusArg::Active => Self::Active,
            StatusArg::Canceled => Self::Canceled,
            StatusArg::Upcoming => Self::Upcoming,
            StatusArg::Deleted => Self::Deleted,
        }
    }
}

/// A failure with the exit code it maps to; its message is already one sentence for a person.
struct Failure {
    exit_code: u8,
    message: String,
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        let exit_code = match error.code() {
            "invalid_input" => 2,
            "not_connected" | "needs_reconnect" => 3,
            "offline" => 4,
            _ => 1,
        };
        Self {
            exit_code,
            message: error.to_string(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        // `{:#}` joins the context chain into one line, never a debug dump.
        Self {
            exit_code: 1,
            message: format!("{error:#}"),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_failure(error),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Could not start the async runtime: {error}.");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Messages can quote Calendly's own words; never let them drive the terminal.
            let message = output::printable(failure.message.trim_end());
            let message = message.as_ref();
            if message.ends_with(['.', '!', '?']) {
                eprintln!("{message}");
            } else {
                eprintln!("{message}.");
            }
            ExitCode::from(failure.exit_code)
        }
    }
}

/// Help and version go to stdout with exit 0; any other parse error becomes one sentence and exit 2.
fn usage_failure(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = error.render().to_string();
            let first_line = rendered
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim()
                .trim_start_matches("error:")
                .trim();
            let mut sentence = capitalize_first(first_line);
            sentence = sentence.trim_end_matches('.').to_owned();
            eprintln!("{sentence}; run `advicly --help` for usage.");
            ExitCode::from(2)
        }
    }
}

fn capitalize_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().collect::<String>() + characters.as_str(),
        None => String::new(),
    }
}

/// Logs go to stderr and stay quiet unless `RUST_LOG` asks for more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let base = directories::BaseDirs::new()
        .context("could not find your home folder to place the database in; pass --data-dir")?;
    Ok(base.data_dir().join(APP_IDENTIFIER))
}

/// The settings of this run: the shared file, the environment, and the flags given. A flag with
/// an unusable value is a usage error; problems in the file or the environment are warnings.
fn live_settings(cli: &Cli) -> Result<LiveSettings, Failure> {
    let policy = AddressPolicy::for_this_build();
    let mut overrides = SettingsOverrides::from_environment();
    let flags = [
        (SettingKey::ClientId, &cli.client_id),
        (SettingKey::RelayBase, &cli.relay_base),
        (SettingKey::ApiBase, &cli.api_base),
        (SettingKey::AuthBase, &cli.auth_base),
    ];
    for (key, value) in flags {
        let Some(value) = value else { continue };
        if let Err(problem) = advicly_engine::settings::parse_value(key, value, policy) {
            return Err(Failure {
                exit_code: 2,
                message: format!("The setting {key} given with {} {problem}", key.flag()),
            });
        }
        overrides = overrides.with_flag(key, value.clone());
    }
    Ok(LiveSettings::new(
        LiveSettings::default_file(),
        overrides,
        policy,
    ))
}

fn engine_config(cli: &Cli) -> Result<EngineConfig, Failure> {
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let mut config = EngineConfig::production(data_dir, None);
    config.keychain_service = cli.keychain_service.clone();
    config.windows = SyncWindows::default();
    Ok(config)
}

/// Problems with the settings, one warning line each on stderr (the command still runs).
fn warn_about(settings: &ResolvedSettings) {
    for problem in &settings.problems {
        eprintln!("Warning: {}", output::printable(&problem.message));
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let settings = live_settings(&cli)?;
    if let Command::Config { json, action } = &cli.command {
        return config_command(&settings, *json, action.as_ref());
    }
    // Refuse an inline token before anything else happens.
    let token = match &cli.command {
        Command::Connect {
            token: Some(token), ..
        } => Some(read_token(token)?),
        _ => None,
    };
    warn_about(&settings.resolve());
    let config = engine_config(&cli)?;
    let engine = Engine::open_with_settings(config, settings)?;
    let mut stdout = std::io::stdout().lock();
    let now = Utc::now();
    match cli.command {
        Command::Config { .. } => unreachable!("handled before the engine opens"),
        Command::Connect {
            no_browser,
            browser,
            ..
        } => match token {
            Some(token) => {
                let account = engine.connect_token(token).await?;
                writeln!(
                    stdout,
                    "Connected as {} <{}>. Run `advicly sync` to fetch your meetings.",
                    output::printable(&account.name),
                    output::printable(&account.email)
                )
                .context("writing to stdout")?;
            }
            None => {
                let start = if browser {
                    ConnectStart::OpenBrowser(engine.begin_oauth().await?)
                } else {
                    engine.reconnect_or_begin_oauth().await?
                };
                match start {
                    ConnectStart::Reconnected(account) => writeln!(
                        stdout,
                        "Reconnected as {} <{}> with the saved sign-in; no browser was needed.",
                        output::printable(&account.name),
                        output::printable(&account.email)
                    )
                    .context("writing to stdout")?,
                    ConnectStart::OpenBrowser(url) => {
                        writeln!(
                            stdout,
                            "Open this address to connect Calendly:\n{url}\nAfter you approve, the Advicly app (or `advicly handle-url URL`) completes the connection."
                        )
                        .context("writing to stdout")?;
                        if !no_browser {
                            if let Err(error) = open_browser(url.as_str()) {
                                eprintln!("Could not open a browser ({error}); open the address above yourself.");
                            }
                        }
                    }
                }
            }
        },
        Command::HandleUrl { url } => {
            let account = engine.handle_callback_url(&url).await?;
            writeln!(
                stdout,
                "Connected as {} <{}>. Run `advicly sync` to fetch your meetings.",
                output::printable(&account.name),
                output::printable(&account.email)
            )
            .context("writing to stdout")?;
        }
        Command::Sync { full, json } => {
            let report = sync_with_progress(&engine, full).await?;
            let text = if json {
                output::to_json(&output::SyncJson::from(&report))
            } else {
                output::sync_summary(&report)
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
        Command::Meetings {
            from,
            to,
            status,
            client,
            search,
            json,
        } => {
            if let (Some(from), Some(to)) = (from, to) {
                if from >= to {
                    return Err(EngineError::InvalidInput {
                        message: "--from must be before --to.".to_owned(),
                    }
                    .into());
                }
            }
            let query = MeetingQuery {
                search,
                status: status.into(),
                from,
                to,
                client_email: client,
                limit: None,
            };
            let meetings = engine.meetings(&query, now)?;
            let text = if json {
                let rows: Vec<output::MeetingJson> =
                    meetings.iter().map(output::MeetingJson::from).collect();
                output::to_json(&rows)
            } else {
                output::meetings_table(&meetings)
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
        Command::Clients { json } => {
            let clients = engine.clients(now)?;
            let text = if json {
                let rows: Vec<output::ClientJson> =
                    clients.iter().map(output::ClientJson::from).collect();
                output::to_json(&rows)
            } else {
                output::clients_table(&clients)
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
        Command::Status { json } => {
            engine.load_connection_details().await?;
            let status = engine.status(now)?;
            let text = if json {
                output::to_json(&output::StatusJson::from(&status))
            } else {
                output::status_lines(&status)
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
        Command::Listen { json } => {
            drop(stdout);
            listen(&engine, json).await?;
        }
        Command::Disconnect { wipe, json } => {
            let report = engine.disconnect(wipe).await?;
            let text = if json {
                output::to_json(&output::DisconnectJson::from(&report))
            } else {
                output::disconnect_lines(&report)
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
    }
    Ok(())
}

/// `advicly listen`: the listener (and the scheduler as the safety net) in the foreground.
/// Deliveries go to stdout, one line each; state changes go to stderr. Ctrl-C stops cleanly.
async fn listen(engine: &Engine, json: bool) -> Result<(), Failure> {
    if engine.relay_base().is_none() {
        return Err(EngineError::InvalidInput {
            message: "Listening needs a relay: save one with `advicly config set relay_base URL`, or pass --relay-base URL or set ADVICLY_RELAY_BASE.".to_owned(),
        }
        .into());
    }
    engine.load_connection_details().await?;
    match engine.connection_state()? {
        ConnectionState::Connected => {}
        ConnectionState::Disconnected => return Err(EngineError::NotConnected.into()),
        ConnectionState::NeedsReconnect => {
            let reason = engine
                .status(Utc::now())?
                .reason
                .unwrap_or_else(|| "Calendly access was lost".to_owned());
            return Err(EngineError::NeedsReconnect { reason }.into());
        }
    }
    let mut events = engine.subscribe();
    let scheduler = spawn_scheduler(engine.clone(), SchedulerSettings::default());
    let listener = spawn_listener(engine.clone(), ListenerSettings::default());
    let mut states = listener.watch_state();
    let outcome = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break Ok(()),
            event = events.recv() => match event {
                Ok(EngineEvent::DeliveryProcessed(report)) => {
                    let line = if json {
                        output::to_json_line(&output::DeliveryJson::from(&report))
                    } else {
                        output::delivery_line(&report)
                    };
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(line.as_bytes()).context("writing to stdout")?;
                    stdout.flush().context("writing to stdout")?;
                }
                Ok(EngineEvent::SyncFinished(report)) => {
                    eprintln!("{}", output::sync_summary(&report).trim_end());
                }
                Ok(EngineEvent::SyncFailed { error }) => eprintln!("Sync failed: {error}"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break Ok(()),
                _ => {}
            },
            changed = states.changed() => {
                if changed.is_err() {
                    break Ok(());
                }
                let state = states.borrow_and_update().clone();
                match (&state.state, &state.reason) {
                    (RealtimeState::Live, _) => eprintln!("Live: waiting for deliveries (Ctrl-C stops)."),
                    (RealtimeState::Off, reason) => {
                        let reason = reason.clone().unwrap_or_else(|| "Real-time updates are off".to_owned());
                        break Err(match engine.connection_state()? {
                            ConnectionState::NeedsReconnect => {
                                Failure::from(EngineError::NeedsReconnect { reason })
                            }
                            ConnectionState::Disconnected => Failure::from(EngineError::NotConnected),
                            ConnectionState::Connected => Failure { exit_code: 1, message: reason },
                        });
                    }
                    (other, Some(reason)) => eprintln!("{}: {}", capitalize_first(other.as_str()), output::printable(reason)),
                    (other, None) => eprintln!("{}…", capitalize_first(other.as_str())),
                }
            }
        }
    };
    listener.shutdown().await;
    scheduler.shutdown().await;
    outcome
}

/// Runs one sync, printing progress on stderr (rewriting one line on a terminal, a line per page otherwise).
async fn sync_with_progress(
    engine: &Engine,
    force_full: bool,
) -> Result<advicly_engine::SyncReport, Failure> {
    let mut events = engine.subscribe();
    let interactive = std::io::stderr().is_terminal();
    let printer = tokio::spawn(async move {
        let mut last_pages = 0;
        let mut printed = false;
        while let Ok(event) = events.recv().await {
            match event {
                EngineEvent::SyncStarted { kind } => {
                    eprintln!(
                        "Starting {} sync…",
                        match kind {
                            advicly_engine::SyncKind::Full => "a full",
                            advicly_engine::SyncKind::Incremental => "an incremental",
                        }
                    );
                }
                EngineEvent::SyncProgress(progress) => {
                    if interactive {
                        eprint!("\r{}\x1b[K", progress_line(&progress));
                        printed = true;
                    } else if progress.pages != last_pages {
                        eprintln!("{}", progress_line(&progress));
                    }
                    last_pages = progress.pages;
                }
                EngineEvent::SyncFinished(_) | EngineEvent::SyncFailed { .. } => break,
                _ => {}
            }
        }
        if printed {
            eprintln!();
        }
    });
    let result = engine.sync(SyncRequest { force_full }).await;
    // The printer ends on SyncFinished/SyncFailed; if the sync never started it would wait forever.
    if result.is_err() {
        printer.abort();
    }
    let _ = printer.await;
    Ok(result?)
}

fn progress_line(progress: &SyncProgress) -> String {
    format!(
        "{} pages, {} meetings listed, {} invitee lists fetched, {} to go",
        progress.pages, progress.events, progress.invitees, progress.invitees_pending
    )
}

/// The token for `connect --token`: typed at a no-echo prompt when standard input is a
/// terminal, read from standard input otherwise. A token given inline is refused.
fn read_token(argument: &str) -> Result<Secret, Failure> {
    if argument != "-" {
        return Err(Failure {
            exit_code: 2,
            message: "A token written on the command line is refused: it would stay in your shell history and be visible to other users of this computer in /proc/*/cmdline. Run `advicly connect --token` and paste it at the hidden prompt, or pipe it in with `advicly connect --token < token.txt`".to_owned(),
        });
    }
    let raw = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Calendly personal access token (input hidden): ")
            .context("reading the token at the prompt")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("reading the token from standard input")?;
        text
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(EngineError::InvalidInput {
            message: "The token is empty.".to_owned(),
        }
        .into());
    }
    Ok(Secret::new(trimmed))
}

/// `advicly config [get|set|unset]`: no database, no keychain, just the settings file.
fn config_command(
    settings: &LiveSettings,
    json: bool,
    action: Option<&ConfigAction>,
) -> Result<(), Failure> {
    let key_of = |name: &str| {
        SettingKey::from_name(name).ok_or_else(|| Failure {
            exit_code: 2,
            message: format!(
                "There is no setting called {:?}; the settings are {}",
                output::printable(name),
                SettingKey::ALL.map(SettingKey::name).join(", ")
            ),
        })
    };
    let mut stdout = std::io::stdout().lock();
    let write = |stdout: &mut std::io::StdoutLock<'_>, text: String| {
        stdout
            .write_all(text.as_bytes())
            .context("writing to stdout")
            .map_err(Failure::from)
    };
    let usage = |error: EngineError| -> Failure {
        let mut failure = Failure::from(error);
        if failure.exit_code == 1 {
            return failure;
        }
        failure.exit_code = 2;
        failure
    };
    match action {
        None => {
            let resolved = settings.resolve();
            let text = if json {
                output::to_json(&output::ConfigJson::from(&resolved))
            } else {
                output::config_lines(&resolved)
            };
            write(&mut stdout, text)
        }
        Some(ConfigAction::Get { key }) => {
            let key = key_of(key)?;
            let resolved = settings.resolve();
            warn_about(&resolved);
            let entry = output::ConfigEntryJson::new(&resolved, key);
            if json {
                return write(&mut stdout, output::to_json(&entry));
            }
            match entry.value_text() {
                Some(text) => write(&mut stdout, format!("{}\n", output::printable(&text))),
                None => Err(Failure {
                    exit_code: 1,
                    message: format!("{key} is not set"),
                }),
            }
        }
        Some(ConfigAction::Set {
            key,
            value: Some(value),
        }) => {
            let key = key_of(key)?;
            let saved = settings.set(key, value).map_err(usage)?;
            let resolved = settings.resolve();
            let mut text = format!(
                "Saved {key} = {} in {}.\n",
                output::printable(&saved.to_string()),
                settings.file().map_or_else(
                    || "the settings file".to_owned(),
                    |path| path.display().to_string()
                )
            );
            text.push_str(&output::override_note(&resolved, key));
            if json {
                return write(
                    &mut stdout,
                    output::to_json(&output::ConfigEntryJson::new(&resolved, key)),
                );
            }
            write(&mut stdout, text)
        }
        Some(ConfigAction::Set { key, value: None }) | Some(ConfigAction::Unset { key }) => {
            let key = key_of(key)?;
            settings.unset(key).map_err(usage)?;
            let resolved = settings.resolve();
            if json {
                return write(
                    &mut stdout,
                    output::to_json(&output::ConfigEntryJson::new(&resolved, key)),
                );
            }
            let mut text = format!("Removed {key} from the settings file; its default applies.\n");
            text.push_str(&output::override_note(&resolved, key));
            write(&mut stdout, text)
        }
    }
}

/// Opens `url` in `$BROWSER` when set, otherwise with the platform's opener.
fn open_browser(url: &str) -> std::io::Result<()> {
    let mut command = if let Ok(browser) = std::env::var("BROWSER") {
        let mut command = std::process::Command::new(browser);
        command.arg(url);
        command
    } else if cfg!(target_os = "macos") {
        let mut command = std::process::Command::new("open");
        command.arg(url);
        command
    } else if cfg!(target_os = "windows") {
        let mut command = std::process::Command::new("cmd");
        command.args(["/C", "start", "", url]);
        command
    } else {
        let mut command = std::process::Command::new("xdg-open");
        command.arg(url);
        command
    };
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}

/// `--from`: a local date means its first instant; an RFC 3339 instant is taken as is.
fn parse_from(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_date_or_instant(raw, false)
}

/// `--to`: a local date includes that whole day; an RFC 3339 instant is an exclusive bound.
fn parse_to(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_date_or_instant(raw, true)
}

fn parse_date_or_instant(raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok(instant.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| format!("expected a date like 2026-11-21 or an RFC 3339 time, got {raw:?}"))?;
    let date = if end_of_day {
        date.succ_opt()
            .ok_or_else(|| format!("{raw} is too far in the future"))?
    } else {
        date
    };
    let local = Local
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .ok_or_else(|| format!("{raw} does not exist in the local time zone"))?;
    Ok(local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap checks conflicting names and defaults only at runtime; this catches them in tests.
        Cli::command().debug_assert();
    }

    #[test]
    fn a_to_date_includes_the_whole_day() {
        let from = parse_from("2026-11-21").unwrap();
        let to = parse_to("2026-11-21").unwrap();
        // `--from D --to D` must select that one local day, so the bounds are 24 hours apart.
        assert_eq!((to - from).num_hours(), 24);
    }

    #[test]
    fn instants_pass_through_in_utc() {
        // An explicit RFC 3339 time is honoured exactly, whatever the local zone.
        assert_eq!(
            parse_from("2026-11-21T10:00:00+01:00").unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
        );
    }
}
