//! Shared harness for the end-to-end tests: the `advicly` binary in a temporary data folder, the
//! fake Calendly and the relay on loopback port 0, and a look into the test session's keychain.
//!
//! Keychain-backed tests run inside `scripts/with-test-session.sh` (a private D-Bus session with an
//! unlocked gnome-keyring), which the README's test command sets up.

use std::path::{Path, PathBuf};
use std::process::Output;

use fake_calendly::{FakeCalendly, FakeConfig, FakeHandle};
use url::Url;

/// The `advicly` binary of this build, brought up to date once per test process (a no-op build
/// when `cargo test --workspace` already built it), so a test never runs a stale binary.
pub fn advicly_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(build_advicly_binary).clone()
}

/// The `advicly-relay` binary of this build, brought up to date once per test process.
pub fn relay_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| build_binary("advicly-relay", "advicly-relay"))
        .clone()
}

fn build_advicly_binary() -> PathBuf {
    build_binary("advicly-cli", "advicly")
}

fn build_binary(package: &str, binary: &str) -> PathBuf {
    let test_executable = std::env::current_exe().expect("the test binary knows its own path");
    let profile_dir = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args(["build", "-q", "-p", package, "--bin", binary])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the {binary} binary failed");
    profile_dir.join(binary)
}

/// The fake Calendly configured the way the end-to-end tests need it: consent auto-approved and
/// both redirect modes registered.
pub async fn start_fake(relay_callback: Option<&Url>) -> FakeHandle {
    let mut config = FakeConfig::for_tests();
    config.auto_approve = true;
    if let Some(callback) = relay_callback {
        config.redirect_uris.push(callback.to_string());
    }
    FakeCalendly::start(config)
        .await
        .expect("the fake Calendly starts on loopback")
}

/// The relay on 127.0.0.1:0; returns its base URL. It stops when the test's runtime ends.
pub async fn start_relay() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("bound address");
    let state = advicly_relay::RelayState::new(advicly_relay::RelayConfig::default())
        .expect("the default relay configuration is valid");
    tokio::spawn(advicly_relay::serve(
        listener,
        advicly_relay::router(state),
        std::future::pending(),
    ));
    Url::parse(&format!("http://{address}")).expect("a loopback URL")
}

/// The `advicly-relay` binary running as a child process on a fixed loopback address, so a test
/// can kill it with SIGKILL and start it again on the same address and data folder.
pub struct RelayProcess {
    pub base: Url,
    pub address: std::net::SocketAddr,
    pub data_dir: PathBuf,
    child: Option<std::process::Child>,
}

impl RelayProcess {
    /// Starts the relay on a free loopback port with its SQLite store in `data_dir`.
    pub fn start(data_dir: &Path) -> Self {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port");
        let mut relay = Self {
            base: Url::parse(&format!("http://{address}/")).expect("a loopback URL"),
            address,
            data_dir: data_dir.to_path_buf(),
            child: None,
        };
        relay.spawn();
        relay
    }

    /// `kill -9`: no shutdown, no flush, the process is simply gone.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the relay");
            let _ = child.wait();
        }
    }

    /// Starts it again on the same address and data folder.
    pub fn restart(&mut self) {
        self.kill_9();
        self.spawn();
    }

    fn spawn(&mut self) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(relay_binary())
            .args(["--listen", &self.address.to_string(), "--data-dir"])
            .arg(&self.data_dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the relay binary starts");
        // The first line of stdout is printed once the relay accepts connections.
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first_line)
            .expect("the relay prints its base URL");
        assert!(
            first_line.starts_with("http://"),
            "relay said {first_line:?}"
        );
        self.child = Some(child);
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// One advisor's `advicly` command line: its own data folder and keychain namespace. Every
/// output it produced is kept, so a test can scan all of it for secrets.
pub struct Cli {
    pub data_dir: tempfile::TempDir,
    /// `XDG_CONFIG_HOME` of this advisor, so their settings file is their own.
    pub config_dir: tempfile::TempDir,
    pub keychain_service: String,
    arguments: Vec<String>,
    transcript: std::sync::Mutex<Vec<u8>>,
}

impl Cli {
    pub fn new(fake: &FakeHandle, client_id: &str, relay_base: Option<&Url>) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary data folder");
        let keychain_service = format!(
            "com.advicly.e2e.{}.{}",
            std::process::id(),
            uuid_like_suffix(data_dir.path())
        );
        let mut arguments = vec![
            "--data-dir".to_owned(),
            data_dir.path().display().to_string(),
            "--api-base".to_owned(),
            fake.api_base_url().to_string(),
            "--auth-base".to_owned(),
            fake.auth_base_url().to_string(),
            "--client-id".to_owned(),
            client_id.to_owned(),
            "--keychain-service".to_owned(),
            keychain_service.clone(),
        ];
        if let Some(relay) = relay_base {
            arguments.push("--relay-base".to_owned());
            arguments.push(relay.to_string());
        }
        Self {
            data_dir,
            config_dir: tempfile::tempdir().expect("a temporary config folder"),
            keychain_service,
            arguments,
            transcript: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Adds global flags to every command this CLI runs.
    pub fn with_arguments(mut self, extra: &[&str]) -> Self {
        self.arguments
            .extend(extra.iter().map(|argument| argument.to_string()));
        self
    }

    /// Runs `advicly <global flags> <args>` with debug logging on, and records its output.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, None).await
    }

    /// Like [`Cli::run`], with `input` piped to standard input (how a token is handed over).
    pub async fn run_with_input(&self, args: &[&str], input: Option<&str>) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(advicly_binary())
            .args(&self.arguments)
            .args(args)
            .env("RUST_LOG", "debug")
            .env("XDG_CONFIG_HOME", self.config_dir.path())
            .env_remove("ADVICLY_DATA_DIR")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the advicly binary runs");
        let mut stdin = child.stdin.take().expect("piped stdin");
        if let Some(input) = input {
            stdin
                .write_all(input.as_bytes())
                .await
                .expect("advicly reads its standard input");
        }
        drop(stdin);
        let output = child
            .wait_with_output()
            .await
            .expect("the advicly binary finishes");
        let mut transcript = self.transcript.lock().expect("transcript lock");
        transcript.extend_from_slice(&output.stdout);
        transcript.extend_from_slice(&output.stderr);
        output
    }

    /// Starts `advicly <global flags> <args>` in the background with piped stdout (for
    /// `advicly listen`).
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(advicly_binary())
            .args(&self.arguments)
            .args(args)
            .env("XDG_CONFIG_HOME", self.config_dir.path())
            .env_remove("ADVICLY_DATA_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the advicly binary starts")
    }

    /// Runs a command that must succeed and returns its standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "advicly {args:?} must succeed; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("the CLI prints UTF-8")
    }

    /// `advicly connect --token` with the token piped in; must succeed.
    pub async fn connect_with_token(&self, token: &str) -> String {
        let output = self
            .run_with_input(&["connect", "--token"], Some(token))
            .await;
        assert!(
            output.status.success(),
            "advicly connect --token must succeed; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("the CLI prints UTF-8")
    }

    pub async fn json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.ok(args).await;
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!("advicly {args:?} --json prints JSON ({error}): {stdout}")
        })
    }

    /// Everything every command printed, stdout and stderr, logs included.
    pub fn transcript(&self) -> Vec<u8> {
        self.transcript.lock().expect("transcript lock").clone()
    }
}

fn uuid_like_suffix(path: &Path) -> String {
    path.file_name()
        .map(|name| {
            name.to_string_lossy()
                .replace(|c: char| !c.is_alphanumeric(), "")
        })
        .unwrap_or_default()
}

/// Every secret the test session's keychain holds under `service`, read with `secret-tool`
/// (an independent client of the Secret Service, not our keychain module).
pub fn keychain_secrets(service: &str) -> Vec<String> {
    let output = std::process::Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", service])
        .output()
        .expect("secret-tool runs (scripts/bootstrap.sh installs libsecret-tools)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("secret = "))
        .map(str::to_owned)
        .collect()
}

/// Token-like values inside keychain secrets: the secrets themselves, and the string values of
/// any JSON object a secret holds (token pairs are stored as one JSON entry).
pub fn secret_values(secrets: &[String]) -> Vec<String> {
    let mut values = Vec::new();
    for secret in secrets {
        match serde_json::from_str::<serde_json::Value>(secret) {
            Ok(serde_json::Value::Object(fields)) => {
                for value in fields.values() {
                    if let Some(text) = value.as_str() {
                        values.push(text.to_owned());
                    }
                }
            }
            _ => values.push(secret.clone()),
        }
    }
    // Short values (expiry numbers, flags) are not secrets and would match by accident.
    values.retain(|value| value.len() >= 20);
    values
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if contains(&bytes, needle.as_bytes()) {
                    hits.push(path);
                }
            }
        }
    }
    hits
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
