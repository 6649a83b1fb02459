//! Test harness for the connect crate: a private D-Bus session with an unlocked gnome-keyring,
//! the real fake Calendly, the real relay, and helpers to walk through the browser part of OAuth.
//!
//! Keychain tests must never touch the developer's real keyring. Each such test starts with
//! `if !support::in_private_keyring_session("test_name") { return; }`: when the process is not
//! already inside a private test session (`ADVICLY_TEST_SESSION=inside`, which
//! `scripts/with-test-session.sh` sets), the helper re-runs just that test in a child process
//! under `dbus-run-session` with a temporary HOME and a gnome-keyring unlocked with a throwaway
//! password, `DISPLAY` removed (a locked keyring must never meet a visible display), and asserts
//! that the child passed.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use advicly_connect::{ConnectConfig, Connector, RedirectMode, RefreshPolicy};
use chrono::Utc;
use fake_calendly::{FakeCalendly, FakeConfig, FakeHandle};
use url::Url;

/// The environment variable that says "this process is inside a private test session".
pub const SESSION_VARIABLE: &str = "ADVICLY_TEST_SESSION";
/// Which kind of child a re-executed test binary is (`keychain-missing`, `no-bus`, ...).
pub const CHILD_MODE_VARIABLE: &str = "ADVICLY_CONNECT_CHILD_MODE";

const UNLOCK_SCRIPT: &str = r#"eval "$(printf advicly-test | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"; export GNOME_KEYRING_CONTROL; exec "$@""#;

/// A session bus configuration that auto-activates nothing: no Secret Service can appear.
const BUS_WITHOUT_SERVICES: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// How a re-executed test finds its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A session bus with an unlocked gnome-keyring.
    UnlockedKeyring,
    /// A session bus on which no Secret Service exists.
    BusWithoutSecretService,
    /// No session bus at all (the address points at nothing).
    NoBus,
    /// A session bus that auto-activates gnome-keyring, which nobody unlocks (and there is no
    /// display for a prompt).
    LockedKeyring,
}

impl SessionKind {
    fn mode(self) -> &'static str {
        match self {
            Self::UnlockedKeyring => "keyring",
            Self::BusWithoutSecretService => "keychain-missing",
            Self::NoBus => "no-bus",
            Self::LockedKeyring => "locked-keyring",
        }
    }
}

/// True when the test body should run in this process; otherwise runs the test in a child
/// process inside a fresh private session with an unlocked keyring, asserts it passed, and
/// returns false.
pub fn in_private_keyring_session(test_name: &str) -> bool {
    if std::env::var(SESSION_VARIABLE).as_deref() == Ok("inside")
        && std::env::var(CHILD_MODE_VARIABLE).is_err()
    {
        return true;
    }
    if std::env::var(CHILD_MODE_VARIABLE).as_deref() == Ok(SessionKind::UnlockedKeyring.mode()) {
        return true;
    }
    run_in_child_session(test_name, SessionKind::UnlockedKeyring);
    false
}

/// Like [`in_private_keyring_session`], but the child gets a session of `kind` (for the tests
/// of a missing keychain). Always re-executes unless this process is that child.
pub fn in_session_of_kind(test_name: &str, kind: SessionKind) -> bool {
    if std::env::var(CHILD_MODE_VARIABLE).as_deref() == Ok(kind.mode()) {
        return true;
    }
    run_in_child_session(test_name, kind);
    false
}

fn run_in_child_session(test_name: &str, kind: SessionKind) {
    let home = tempfile::tempdir().expect("a temporary HOME for the child session");
    for folder in [".local/share", ".config", ".cache"] {
        std::fs::create_dir_all(home.path().join(folder)).unwrap();
    }
    let executable = std::env::current_exe().expect("the test binary's own path");
    let test_arguments = [
        "--exact".to_owned(),
        test_name.to_owned(),
        "--nocapture".to_owned(),
        "--test-threads=1".to_owned(),
    ];
    let mut command = match kind {
        SessionKind::UnlockedKeyring => {
            let mut command = Command::new("dbus-run-session");
            command
                .args(["--", "sh", "-c", UNLOCK_SCRIPT, "sh"])
                .arg(&executable)
                .args(&test_arguments);
            command
        }
        SessionKind::BusWithoutSecretService => {
            let config_path = home.path().join("bus-without-services.conf");
            std::fs::write(&config_path, BUS_WITHOUT_SERVICES).unwrap();
            let mut command = Command::new("dbus-run-session");
            command
                .arg(format!("--config-file={}", config_path.display()))
                .arg("--")
                .arg(&executable)
                .args(&test_arguments);
            command
        }
        SessionKind::LockedKeyring => {
            let mut command = Command::new("dbus-run-session");
            command.arg("--").arg(&executable).args(&test_arguments);
            command
        }
        SessionKind::NoBus => {
            let mut command = Command::new(&executable);
            command.args(&test_arguments).env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", home.path().join("no-such-bus").display()),
            );
            command
        }
    };
    command
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env(SESSION_VARIABLE, "inside")
        .env(CHILD_MODE_VARIABLE, kind.mode())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        // An outer test session's keyring daemon must not be reached (or replaced) from here.
        .env_remove("GNOME_KEYRING_CONTROL");
    if kind != SessionKind::NoBus {
        command.env_remove("DBUS_SESSION_BUS_ADDRESS");
    }
    let output = output_within(command, CHILD_TIME_LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The test itself ran in the child; its verdict is the child's exit status.
    assert!(
        output.status.success(),
        "{test_name} failed in its private session ({kind:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the child must actually have run {test_name}:\n{stdout}"
    );
}

/// A child test that runs longer than this is killed and reported (a keyring waiting for a
/// prompt must fail the test, not hang it).
const CHILD_TIME_LIMIT: Duration = Duration::from_secs(180);

/// Runs `command` to completion, killing it after `limit`.
fn output_within(mut command: Command, limit: Duration) -> std::process::Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-run-session and gnome-keyring-daemon must be installed (apt-get install dbus gnome-keyring)");
    let child_id = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output.expect("the child's output can be read"),
        Err(_) => {
            // Only the child this helper started is killed, by its id.
            let _ = Command::new("kill").arg(child_id.to_string()).status();
            panic!("the child test did not finish within {limit:?} and was killed");
        }
    }
}

/// Everything tracing wrote in this process, at every level (for the "no token in the logs"
/// checks).
pub fn captured_logs() -> String {
    let buffer = log_buffer();
    let bytes = buffer.lock().unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(Default::default).clone()
}

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a process-wide subscriber that records every log line at TRACE level.
pub fn capture_logs() {
    let writer = BufferWriter(log_buffer());
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init();
}

/// A controllable clock: the real time plus an offset the test can move.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }

    pub fn clock(&self) -> advicly_connect::Clock {
        let offset = self.0.clone();
        Arc::new(move || Utc::now() + chrono::Duration::seconds(offset.load(Ordering::SeqCst)))
    }
}

/// A running relay on 127.0.0.1:0.
pub struct RunningRelay {
    pub base: Url,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningRelay {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let state = advicly_relay::RelayState::new(advicly_relay::RelayConfig::default()).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = advicly_relay::serve(listener, advicly_relay::router(state), async {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            base,
            stop: Some(stop),
        }
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One test's world: a data folder, a unique keychain service, the fake and (maybe) the relay.
pub struct World {
    pub data_dir: tempfile::TempDir,
    pub service: String,
    pub fake: FakeHandle,
    pub relay: Option<RunningRelay>,
    /// The relay that carries real time (channels and their ingress URLs).
    pub realtime_relay: RunningRelay,
    pub clock: TestClock,
    /// Every channel's ingress URL starts with this: our subscriptions' callback URLs.
    pub webhook_base: Url,
}

/// How the world redirects after consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect {
    Direct,
    ThroughRelay,
}

impl World {
    pub async fn start(redirect: Redirect) -> Self {
        let fake = FakeCalendly::start(FakeConfig {
            // Tests make more token requests per minute than Calendly's 8.
            token_requests_per_minute: 1000,
            ..FakeConfig::for_tests()
        })
        .await
        .expect("the fake Calendly starts on loopback");
        let relay = match redirect {
            Redirect::Direct => None,
            Redirect::ThroughRelay => Some(RunningRelay::start().await),
        };
        let service = format!(
            "com.advicly.test.{}.{}",
            std::process::id(),
            rand::random::<u64>()
        );
        let realtime_relay = RunningRelay::start().await;
        let webhook_base = realtime_relay.base.join("hooks/").unwrap();
        Self {
            data_dir: tempfile::tempdir().unwrap(),
            service,
            fake,
            relay,
            realtime_relay,
            clock: TestClock::default(),
            webhook_base,
        }
    }

    pub fn config(&self) -> ConnectConfig {
        let redirect = match &self.relay {
            None => RedirectMode::Direct,
            Some(relay) => RedirectMode::RelayBounce {
                relay_base: relay.base.clone(),
            },
        };
        let mut config = ConnectConfig::new(
            self.data_dir.path().to_path_buf(),
            self.fake.api_base_url(),
            self.fake.auth_base_url(),
            Some("fake-calendly-client-id".to_owned()),
            redirect,
            self.service.clone(),
        );
        config.relay_base = Some(self.realtime_relay.base.clone());
        config.clock = self.clock.clock();
        config.refresh = RefreshPolicy {
            base_delay: Duration::from_millis(10),
            ..RefreshPolicy::default()
        };
        config.calendly.retry.base_delay = Duration::from_millis(10);
        config
    }

    pub fn connector(&self) -> Connector {
        Connector::new(self.config()).expect("the test configuration is valid")
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Plays the browser: opens the authorize URL (the fake approves or denies at once), and if
/// Calendly redirects to the relay, opens the relay page and takes its "Open Advicly" link.
/// Returns the `advicly://` URL the desktop app would receive.
pub async fn play_browser(authorize_url: &Url) -> String {
    let client = no_redirects();
    let response = client.get(authorize_url.clone()).send().await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        302,
        "the fake's authorize endpoint redirects at once in auto mode: {:?}",
        response.text().await
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    if location.starts_with("advicly:") {
        return location;
    }
    let page = client.get(&location).send().await.unwrap();
    assert_eq!(
        page.status().as_u16(),
        200,
        "the relay bounces a valid callback"
    );
    let html = page.text().await.unwrap();
    let marker = "id=\"open-advicly\" href=\"";
    let start = html
        .find(marker)
        .expect("the relay page has the Open Advicly link")
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

/// The `state` parameter of an authorize URL.
pub fn state_of(authorize_url: &Url) -> String {
    authorize_url
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .expect("the authorize URL carries a state")
}

/// Every file under `root`, recursively.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Asserts that none of `secrets` appears as bytes in any file under `root` or in the logs.
pub fn assert_nowhere(root: &Path, secrets: &[String]) {
    let logs = captured_logs();
    for secret in secrets {
        assert!(secret.len() >= 16, "only real secrets are scanned for");
        for file in files_under(root) {
            let bytes = std::fs::read(&file).unwrap();
            // A token in the data folder would be a plaintext copy outside the keychain.
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "a secret was found in {}",
                file.display()
            );
        }
        // A token in the logs would end up in bug reports and terminals.
        assert!(
            !logs.contains(secret.as_str()),
            "a secret was found in the logs"
        );
    }
}

/// `secret-tool search --all service <service>`: what the Secret Service itself holds.
pub fn secret_tool_search(service: &str) -> String {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool is installed (package libsecret-tools)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Polls `condition` every 20 ms until it holds, failing the test after 30 seconds.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True when some process is blocked waiting for an exclusive lock on `path` (a `->` line for
/// the file's inode in `/proc/locks`).
pub fn someone_waits_for_lock(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    let inode = format!(":{} ", metadata.ino());
    std::fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|line| line.contains("->") && line.contains(&inode))
}
