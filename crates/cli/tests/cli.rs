//! The `advicly` binary end to end: a temporary data folder, the fake Calendly over loopback,
//! and the real keychain of the test session (run under `scripts/with-test-session.sh`).

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::Value;
use tempfile::TempDir;

use fake_calendly::{
    BookingRequest, CancelRequest, Canceler, FakeCalendly, FakeConfig, FakeHandle, InviteeSpec,
    MintTokenRequest,
};

static KEYCHAIN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fake Calendly and a data folder the CLI is pointed at through its environment variables.
struct Cli {
    fake: FakeHandle,
    data_dir: TempDir,
    /// `XDG_CONFIG_HOME` of this CLI, so its settings file is its own.
    config_dir: TempDir,
    keychain_service: String,
    api_base: String,
}

impl Cli {
    async fn start() -> Self {
        let fake = FakeCalendly::start(FakeConfig::for_tests())
            .await
            .expect("the fake Calendly starts");
        let api_base = fake.api_base_url().to_string();
        Self {
            fake,
            data_dir: tempfile::tempdir().expect("a temporary data folder"),
            config_dir: tempfile::tempdir().expect("a temporary config folder"),
            keychain_service: format!(
                "com.advicly.test.cli.{}.{}",
                std::process::id(),
                KEYCHAIN_COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
            api_base,
        }
    }

    /// Runs `advicly <args>` and returns its output.
    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_api_base(args, &self.api_base).await
    }

    async fn run_with_api_base(&self, args: &[&str], api_base: &str) -> Output {
        self.command(args, api_base)
            .output()
            .await
            .expect("the advicly binary runs")
    }

    /// `advicly <args>` in this CLI's world, not started yet.
    fn command(&self, args: &[&str], api_base: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_advicly"));
        command
            .args(args)
            .env("XDG_CONFIG_HOME", self.config_dir.path())
            .env("ADVICLY_DATA_DIR", self.data_dir.path())
            .env("ADVICLY_API_BASE", api_base)
            .env("ADVICLY_AUTH_BASE", self.fake.auth_base_url().as_str())
            .env("ADVICLY_CLIENT_ID", FakeConfig::default().client_id)
            .env("ADVICLY_KEYCHAIN_SERVICE", &self.keychain_service)
            .env_remove("ADVICLY_RELAY_BASE")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    }

    /// Runs `advicly <args>` with `input` on standard input.
    async fn run_with_input(&self, args: &[&str], input: &str, api_base: &str) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args, api_base)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("the advicly binary runs");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(input.as_bytes()).await.unwrap();
        drop(stdin);
        child.wait_with_output().await.expect("advicly finishes")
    }

    /// `advicly connect --token` with the token piped in; must succeed.
    async fn connect_with_token(&self, token: &str) -> String {
        let output = self
            .run_with_input(&["connect", "--token"], token, &self.api_base)
            .await;
        assert!(
            output.status.success(),
            "connect --token failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("stdout is UTF-8")
    }

    /// Runs a command that must succeed and returns its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "advicly {args:?} failed with {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("stdout is UTF-8")
    }

    async fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args).await;
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{args:?} printed bad JSON ({error}): {text}"))
    }

    async fn mint_token(&self) -> String {
        self.fake
            .control()
            .mint_personal_access_token(&MintTokenRequest::default())
            .await
            .expect("the fake mints a token")
            .token
    }

    async fn book(&self, name: &str, start: DateTime<Utc>, email: &str) -> String {
        self.fake
            .control()
            .book(&BookingRequest {
                host_user_uri: None,
                event_type_uri: None,
                event_name: Some(name.to_owned()),
                start_time: start,
                duration_minutes: Some(45),
                invitees: vec![InviteeSpec {
                    name: format!("Client {email}"),
                    email: email.to_owned(),
                    ..InviteeSpec::default()
                }],
                location: None,
                invitee_limit: None,
            })
            .await
            .expect("booked")
            .event_uri
    }
}

fn at(days: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::minutes(1)).unwrap() + Duration::days(days)
}

/// The one-sentence error contract: one non-empty line, no debug dump.
fn assert_one_sentence(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    // Errors are one plain sentence, never a multi-line Rust debug dump.
    assert_eq!(lines.len(), 1, "stderr was: {stderr:?}");
    assert!(
        !stderr.contains("Error {") && !stderr.contains("panicked"),
        "stderr was: {stderr:?}"
    );
    stderr
}

fn assert_rfc3339_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is a string: {value}"));
    // Scripts rely on RFC 3339 UTC with a Z suffix.
    assert!(text.ends_with('Z'), "{what} is UTC: {text}");
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|_| panic!("{what} parses: {text}"));
}

#[tokio::test]
async fn token_connect_sync_and_the_json_views() {
    let cli = Cli::start().await;
    let ann_meeting = cli.book("Retirement plan", at(2), "ann@example.com").await;
    let bob_meeting = cli.book("Tax review", at(-4), "bob@example.com").await;
    cli.fake
        .control()
        .cancel(&CancelRequest {
            event_uri: Some(bob_meeting.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Invitee,
            reason: Some("Sick".to_owned()),
        })
        .await
        .expect("canceled");
    let token = cli.mint_token().await;

    let connected = cli.connect_with_token(&token).await;
    assert!(
        connected.starts_with("Connected as "),
        "stdout: {connected}"
    );

    let sync = cli.json(&["sync", "--json"]).await;
    // The first sync is full and creates both meetings.
    assert_eq!(sync["kind"], "full", "sync: {sync}");
    assert_eq!(sync["counts"]["created"], 2, "sync: {sync}");
    assert_eq!(
        sync["api_calls"]["invitees"], 2,
        "one invitee list per new meeting: {sync}"
    );

    let meetings = cli.json(&["meetings", "--json"]).await;
    let meetings = meetings.as_array().expect("meetings is an array");
    assert_eq!(meetings.len(), 2, "both meetings: {meetings:?}");
    let ann = meetings
        .iter()
        .find(|meeting| meeting["uri"] == ann_meeting.as_str())
        .expect("Ann's meeting is listed");
    for field in [
        "uri",
        "name",
        "status",
        "start_time",
        "end_time",
        "invitees",
        "client_emails",
        "rescheduled_from",
        "rescheduled_to",
        "canceled_reason",
        "deleted",
    ] {
        // The documented scripting interface: every field is present (null when absent).
        assert!(ann.get(field).is_some(), "field {field} in {ann}");
    }
    assert_eq!(ann["name"], "Retirement plan");
    assert_eq!(ann["status"], "active");
    assert_eq!(ann["deleted"], false);
    assert_rfc3339_utc(&ann["start_time"], "start_time");
    assert_rfc3339_utc(&ann["end_time"], "end_time");
    assert_eq!(ann["client_emails"], serde_json::json!(["ann@example.com"]));
    assert_eq!(ann["invitees"][0]["email"], "ann@example.com");
    assert_eq!(ann["invitees"][0]["status"], "active");

    let canceled = cli
        .json(&["meetings", "--status", "canceled", "--json"])
        .await;
    // The canceled meeting carries its reason.
    assert_eq!(
        canceled.as_array().unwrap().len(),
        1,
        "canceled: {canceled}"
    );
    assert_eq!(canceled[0]["canceled_reason"], "Sick");

    let by_client = cli
        .json(&["meetings", "--client", "ANN@example.com", "--json"])
        .await;
    assert_eq!(
        by_client.as_array().unwrap().len(),
        1,
        "client filter: {by_client}"
    );
    let searched = cli.json(&["meetings", "--search", "tax", "--json"]).await;
    assert_eq!(
        searched[0]["uri"],
        bob_meeting.as_str(),
        "search: {searched}"
    );

    let clients = cli.json(&["clients", "--json"]).await;
    let ann_client = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|client| client["email"] == "ann@example.com")
        .expect("Ann is a client");
    assert_eq!(ann_client["meeting_count"], 1, "clients: {clients}");
    assert_rfc3339_utc(&ann_client["next_meeting"], "next_meeting");
    assert!(
        ann_client["last_meeting"].is_null(),
        "Ann has no past meeting"
    );

    let status_text = cli.ok(&["status", "--json"]).await;
    let status: Value = serde_json::from_str(&status_text).unwrap();
    assert_eq!(status["state"], "connected");
    assert_eq!(status["circuit"], "closed");
    assert_eq!(
        status["account"]["email"],
        cli.fake.default_user().email.as_str()
    );
    assert_eq!(status["last_sync"]["kind"], "full");
    assert!(status["last_sync"]["error"].is_null(), "status: {status}");
    assert_rfc3339_utc(&status["last_sync"]["finished_at"], "finished_at");
    assert_rfc3339_utc(&status["next_sync"], "next_sync");
    // The token never appears in any output.
    assert!(!status_text.contains(&token), "status leaks the token");

    // The human forms are tidy text, not JSON.
    let table = cli.ok(&["meetings"]).await;
    assert!(table.starts_with("START"), "table: {table}");
    assert!(table.contains("Retirement plan"), "table: {table}");
    let human_status = cli.ok(&["status"]).await;
    assert!(
        human_status.contains("Connection:   connected"),
        "status: {human_status}"
    );

    let second = cli.json(&["sync", "--json"]).await;
    // Idempotent: nothing changed, no invitee calls.
    assert_eq!(second["kind"], "incremental");
    assert_eq!(second["counts"]["created"], 0, "second sync: {second}");
    assert!(
        second["api_calls"].get("invitees").is_none(),
        "second sync: {second}"
    );

    let disconnected = cli.ok(&["disconnect", "--wipe"]).await;
    assert!(
        disconnected.starts_with("Disconnected"),
        "stdout: {disconnected}"
    );
    let status = cli.json(&["status", "--json"]).await;
    assert_eq!(status["state"], "disconnected");
    // Wiped: nothing left to list.
    assert_eq!(
        cli.json(&["meetings", "--json"]).await,
        serde_json::json!([])
    );
    let after = cli.run(&["sync"]).await;
    // Disconnected: syncing says to connect first, with exit code 3.
    assert_eq!(after.status.code(), Some(3));
    assert_one_sentence(&after);
}

#[tokio::test]
async fn the_browser_flow_completes_in_another_process_with_handle_url() {
    let cli = Cli::start().await;
    let printed = cli.ok(&["connect", "--no-browser"]).await;
    let authorize_url = printed
        .lines()
        .find(|line| line.starts_with("http"))
        .unwrap_or_else(|| panic!("connect prints the authorize URL: {printed}"))
        .to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(&authorize_url)
        .send()
        .await
        .expect("the fake answers");
    let callback = response
        .headers()
        .get("location")
        .expect("the fake redirects to the deep link")
        .to_str()
        .unwrap()
        .to_owned();

    // The pending sign-in survived the first process; a second one completes it.
    let connected = cli.ok(&["handle-url", &callback]).await;
    assert!(
        connected.starts_with("Connected as "),
        "stdout: {connected}"
    );
    let status = cli.json(&["status", "--json"]).await;
    assert_eq!(status["state"], "connected");
    // OAuth tokens expire, and status shows when.
    assert_rfc3339_utc(&status["token_expires_at"], "token_expires_at");

    let replay = cli.run(&["handle-url", &callback]).await;
    // A callback can be used once; a replay is refused with one sentence.
    assert_eq!(replay.status.code(), Some(1), "a replayed callback fails");
    assert_one_sentence(&replay);
}

#[rstest::rstest]
#[case::unknown_flag(&["--frob"])]
#[case::bad_status(&["meetings", "--status", "sometimes"])]
#[case::bad_date(&["meetings", "--from", "yesterday-ish"])]
#[case::missing_url(&["handle-url"])]
#[case::empty_range(&["meetings", "--from", "2026-02-02", "--to", "2026-01-01"])]
#[tokio::test]
async fn bad_arguments_exit_with_2_and_one_sentence(#[case] args: &[&str]) {
    let cli = Cli::start().await;
    let output = cli.run(args).await;
    // Usage errors have their own exit code so scripts can tell them apart.
    assert_eq!(output.status.code(), Some(2), "args {args:?}");
    assert_one_sentence(&output);
}

#[rstest::rstest]
#[case::sync(&["sync"])]
#[case::meetings(&["meetings", "--json"])]
#[case::clients(&["clients"])]
#[tokio::test]
async fn commands_without_an_account_exit_with_3(#[case] args: &[&str]) {
    let cli = Cli::start().await;
    let output = cli.run(args).await;
    // "Not connected" is exit code 3 with a sentence saying what to do.
    assert_eq!(output.status.code(), Some(3), "args {args:?}");
    let sentence = assert_one_sentence(&output);
    assert!(sentence.contains("connect"), "stderr: {sentence}");
}

#[tokio::test]
async fn an_unreachable_calendly_exits_with_4() {
    let cli = Cli::start().await;
    // A port nothing listens on: connection refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    let output = cli
        .run_with_input(&["connect", "--token"], "whatever", &dead_base)
        .await;

    // Offline has its own exit code, and the message is a sentence.
    assert_eq!(output.status.code(), Some(4));
    assert_one_sentence(&output);
}

#[tokio::test]
async fn the_default_data_folder_is_the_desktop_apps() {
    let cli = Cli::start().await;
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_advicly"))
        .args(["status", "--json"])
        .env("XDG_CONFIG_HOME", cli.config_dir.path())
        .env_remove("ADVICLY_DATA_DIR")
        .env("XDG_DATA_HOME", home.path())
        .env("ADVICLY_API_BASE", &cli.api_base)
        .env("ADVICLY_KEYCHAIN_SERVICE", &cli.keychain_service)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Tauri's app_data_dir on Linux is $XDG_DATA_HOME/<identifier>; the CLI shares it.
    let expected: &Path = &home
        .path()
        .join("com.advicly.desktop")
        .join("advicly.sqlite3");
    assert!(
        expected.exists(),
        "the database is at {}",
        expected.display()
    );
}

#[tokio::test]
async fn connect_opens_the_authorize_url_in_the_browser_from_browser_env() {
    let cli = Cli::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let opened = scratch.path().join("opened-url");
    let browser = scratch.path().join("fake-browser");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_advicly"))
        .arg("connect")
        .env("XDG_CONFIG_HOME", cli.config_dir.path())
        .env("ADVICLY_DATA_DIR", cli.data_dir.path())
        .env("ADVICLY_API_BASE", &cli.api_base)
        .env("ADVICLY_AUTH_BASE", cli.fake.auth_base_url().as_str())
        .env("ADVICLY_CLIENT_ID", FakeConfig::default().client_id)
        .env("ADVICLY_KEYCHAIN_SERVICE", &cli.keychain_service)
        .env("BROWSER", &browser)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();

    // The browser is started in the background; wait (bounded) for it to record the URL.
    let mut recorded = String::new();
    for _ in 0..200 {
        recorded = std::fs::read_to_string(&opened).unwrap_or_default();
        if !recorded.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // The URL handed to the browser is the one printed, and it is the fake's authorize page.
    assert!(
        printed.contains(&recorded) && !recorded.is_empty(),
        "printed {printed}, opened {recorded}"
    );
    assert!(
        recorded.starts_with(&format!("{}oauth/authorize?", cli.fake.auth_base_url())),
        "opened {recorded}"
    );
}

/// Runs `advicly <args>` in the CLI's world without the harness's `ADVICLY_CLIENT_ID`, so the
/// settings file decides.
async fn run_without_client_id_variable(cli: &Cli, args: &[&str]) -> Output {
    cli.command(args, &cli.api_base)
        .env_remove("ADVICLY_CLIENT_ID")
        .output()
        .await
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed with {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn config_set_get_and_json_share_one_file_below_environment_and_flags() {
    let cli = Cli::start().await;
    stdout_of(
        &run_without_client_id_variable(&cli, &["config", "set", "client_id", "from-file"]).await,
    );
    stdout_of(
        &run_without_client_id_variable(&cli, &["config", "set", "sync_interval_minutes", "30"])
            .await,
    );
    // The file the desktop app reads too: $XDG_CONFIG_HOME/com.advicly.desktop/settings.toml.
    let file = cli
        .config_dir
        .path()
        .join("com.advicly.desktop/settings.toml");
    let text = std::fs::read_to_string(&file).expect("config set writes the shared file");
    assert!(text.contains("client_id = \"from-file\""), "{text}");

    let got =
        stdout_of(&run_without_client_id_variable(&cli, &["config", "get", "client_id"]).await);
    assert_eq!(got, "from-file\n");
    let listed: Value = serde_json::from_str(&stdout_of(
        &run_without_client_id_variable(&cli, &["config", "--json"]).await,
    ))
    .unwrap();
    assert_eq!(listed["file"], file.display().to_string());
    assert_eq!(listed["settings"]["client_id"]["value"], "from-file");
    assert_eq!(listed["settings"]["client_id"]["source"], "file");
    assert_eq!(listed["settings"]["sync_interval_minutes"]["value"], 30);
    assert_eq!(listed["settings"]["notifications"]["value"], true);
    assert_eq!(listed["settings"]["notifications"]["source"], "default");
    assert_eq!(listed["problems"], serde_json::json!([]));

    // The harness's environment variable beats the file, and a flag beats both.
    let from_environment: Value = cli.json(&["config", "get", "client_id", "--json"]).await;
    assert_eq!(from_environment["source"], "environment");
    assert_eq!(from_environment["value"], FakeConfig::default().client_id);
    assert_eq!(from_environment["file_value"], "from-file");
    let flagged = cli
        .ok(&["--client-id", "from-flag", "config", "get", "client_id"])
        .await;
    assert_eq!(flagged, "from-flag\n");

    // Removing it brings back "not set" (exit 1, nothing on stdout).
    stdout_of(&run_without_client_id_variable(&cli, &["config", "unset", "client_id"]).await);
    let missing = run_without_client_id_variable(&cli, &["config", "get", "client_id"]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
}

#[rstest::rstest]
#[case::interval(&["config", "set", "sync_interval_minutes", "90"], "The setting sync_interval_minutes must be")]
#[case::cleartext_relay(&["config", "set", "relay_base", "http://relay.example.com"], "The setting relay_base must use https")]
#[case::unknown(&["config", "set", "colour", "blue"], "There is no setting called \"colour\"")]
#[case::bad_flag(&["--api-base", "http://calendly.example.com", "status"], "The setting api_base given with --api-base must use https")]
#[tokio::test]
async fn an_unusable_setting_is_refused_by_name_and_nothing_is_written(
    #[case] args: &[&str],
    #[case] expected: &str,
) {
    let cli = Cli::start().await;
    let output = cli.run(args).await;
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let sentence = assert_one_sentence(&output);
    assert!(sentence.starts_with(expected), "{sentence}");
    assert!(
        !cli.config_dir
            .path()
            .join("com.advicly.desktop/settings.toml")
            .exists(),
        "a refused value writes nothing"
    );
}

#[tokio::test]
async fn a_bad_value_in_the_file_is_a_warning_and_the_command_still_runs() {
    let cli = Cli::start().await;
    let folder = cli.config_dir.path().join("com.advicly.desktop");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("settings.toml"),
        "sync_interval_minutes = \"soon\"\n",
    )
    .unwrap();

    let output = cli.run(&["status", "--json"]).await;

    let status: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert_eq!(status["state"], "disconnected");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Warning: The setting sync_interval_minutes in ")
            && stderr.contains("it is ignored"),
        "stderr: {stderr}"
    );
}

#[tokio::test]
async fn a_token_written_on_the_command_line_is_refused_with_the_reason() {
    let cli = Cli::start().await;
    let token = cli.mint_token().await;

    let output = cli.run(&["connect", "--token", &token]).await;

    assert_eq!(output.status.code(), Some(2));
    let sentence = assert_one_sentence(&output);
    assert!(
        sentence.contains("shell history") && sentence.contains("/proc/*/cmdline"),
        "the refusal says why: {sentence}"
    );
    assert_eq!(
        cli.json(&["status", "--json"]).await["state"],
        "disconnected"
    );
}

/// The terminal device (`/dev/pts/N`) standard input of a running `advicly` points at.
fn terminal_of_running_advicly() -> Option<std::path::PathBuf> {
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_advicly")).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            if exe != binary {
                return None;
            }
            let input = std::fs::read_link(entry.path().join("fd/0")).ok()?;
            input.starts_with("/dev/pts").then_some(input)
        })
}

#[tokio::test]
async fn the_token_prompt_hides_what_is_typed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cli = Cli::start().await;
    let token = cli.mint_token().await;
    // `script` gives advicly a real terminal, as when the advisor runs it by hand.
    let command_line = format!("{} connect --token", env!("CARGO_BIN_EXE_advicly"));
    let mut script = tokio::process::Command::new("script");
    script
        .args(["-q", "-e", "-c", &command_line, "/dev/null"])
        .env("XDG_CONFIG_HOME", cli.config_dir.path())
        .env("ADVICLY_DATA_DIR", cli.data_dir.path())
        .env("ADVICLY_API_BASE", &cli.api_base)
        .env("ADVICLY_AUTH_BASE", cli.fake.auth_base_url().as_str())
        .env("ADVICLY_KEYCHAIN_SERVICE", &cli.keychain_service)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut running = script.spawn().expect("script(1) from util-linux runs");
    let mut stdin = running.stdin.take().unwrap();
    let mut stdout = running.stdout.take().unwrap();

    // Type only once the prompt is up and the terminal's echo is off (a bounded poll).
    let mut transcript = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut chunk = [0u8; 256];
        let read = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            stdout.read(&mut chunk),
        )
        .await;
        if let Ok(Ok(count)) = read {
            transcript.extend_from_slice(&chunk[..count]);
        }
        let prompted = String::from_utf8_lossy(&transcript).contains("input hidden");
        let echo_off = terminal_of_running_advicly().is_some_and(|terminal| {
            std::process::Command::new("stty")
                .arg("-F")
                .arg(&terminal)
                .arg("-a")
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).contains("-echo "))
                .unwrap_or(false)
        });
        if prompted && echo_off {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no hidden prompt appeared: {}",
            String::from_utf8_lossy(&transcript)
        );
    }
    stdin
        .write_all(format!("{token}\r").as_bytes())
        .await
        .unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).await.unwrap();
    transcript.extend_from_slice(&rest);
    let status = running.wait().await.unwrap();
    drop(stdin);

    let shown = String::from_utf8_lossy(&transcript);
    assert!(status.success(), "connect failed: {shown}");
    assert!(shown.contains("Connected as "), "{shown}");
    assert!(
        !shown.contains(&token),
        "the typed token was echoed: {shown}"
    );
    assert_eq!(cli.json(&["status", "--json"]).await["state"], "connected");
}

#[tokio::test]
async fn escape_sequences_in_calendly_text_never_reach_the_terminal() {
    let cli = Cli::start().await;
    let hostile = "Mallory\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}";
    cli.fake
        .control()
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some(format!("Call {hostile}")),
            start_time: at(2),
            duration_minutes: Some(30),
            invitees: vec![InviteeSpec {
                name: hostile.to_owned(),
                email: "mallory@example.com".to_owned(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await
        .unwrap();
    cli.connect_with_token(&cli.mint_token().await).await;
    cli.ok(&["sync"]).await;

    for args in [
        &["meetings"][..],
        &["clients"],
        &["meetings", "--json"],
        &["clients", "--json"],
    ] {
        let output = cli.run(args).await;
        let text = stdout_of(&output);
        // Nothing a terminal would act on is printed, whatever a booking form said.
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{args:?} printed a control character: {text:?}"
        );
        assert!(text.contains("Mallory"), "{args:?}: {text}");
        if args.contains(&"--json") {
            let parsed: Value = serde_json::from_str(&text).unwrap();
            // Scripts still get Calendly's exact text back.
            assert!(parsed.to_string().contains("\\u001b]0;pwned"), "{parsed}");
        } else {
            assert!(
                text.contains("\\u{1b}]0;pwned"),
                "escaped, not dropped: {text}"
            );
        }
    }
}
