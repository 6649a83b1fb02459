//! Harness for driving the real Advicly desktop app through tauri-driver and WebKitWebDriver.
//!
//! The tests run inside the private world `scripts/desktop-e2e.sh` builds (temporary HOME, its own
//! D-Bus session with an unlocked gnome-keyring, Xvfb). This module starts `tauri-driver`, opens
//! WebDriver sessions on the app binary, waits on DOM conditions with bounded polls, takes stable
//! screenshots, and inspects processes and the keychain from the outside.

pub mod seed;

pub mod notifications;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How often bounded waits re-check their condition.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// How long one check of a bounded wait may run past the wait's deadline: a WebDriver command
/// to a stuck app never answers, and the wait must still end.
const CHECK_GRACE: Duration = Duration::from_secs(5);

/// How long opening a WebDriver session (which starts the app) may take before the test fails.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a closing diagnostic (a screenshot, the page text) may take on a stuck app.
const DIAGNOSTIC_TIMEOUT: Duration = Duration::from_secs(15);

/// The repository root (two folders above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Cargo's target folder, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The desktop app binary of a profile (`debug` or `release`); `ADVICLY_DESKTOP_BINARY` overrides.
pub fn app_binary(profile: &str) -> Result<PathBuf> {
    let path = match std::env::var_os("ADVICLY_DESKTOP_BINARY") {
        Some(path) => PathBuf::from(path),
        None => target_dir().join(profile).join("advicly-desktop"),
    };
    if !path.is_file() {
        bail!(
            "the desktop app is not built at {} — run `cargo build -p advicly-desktop{}` first (scripts/desktop-e2e.sh does)",
            path.display(),
            if profile == "release" { " --release --features custom-protocol" } else { "" }
        );
    }
    path.canonicalize()
        .with_context(|| format!("resolving {}", path.display()))
}

/// A port the OS just handed out, free again for a server we start next.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a probe port")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `check` until it yields a value or `timeout` passes; `what` names the condition in the error.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining + CHECK_GRACE, check()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "a check got no answer within {:?}",
                    remaining + CHECK_GRACE
                ))
            }
        }
        if Instant::now() >= deadline {
            let detail = last_error
                .map(|error| format!(" (last error: {error:#})"))
                .unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {what}{detail}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A running `tauri-driver` (WebDriver on one port, WebKitWebDriver behind it on another).
pub struct TauriDriver {
    child: Option<Child>,
    port: u16,
    /// The binaries its sessions launched: whatever still runs them when the driver stops is
    /// stopped too, so a failed test never leaves an app behind to take the next test's launch
    /// (the single-instance plugin would hand it to the old window, and the new session would
    /// wait forever).
    launched: std::sync::Mutex<Vec<PathBuf>>,
}

impl TauriDriver {
    /// Starts tauri-driver with extra environment variables; the app it launches inherits them.
    pub async fn start(environment: &[(String, String)]) -> Result<Self> {
        let port = free_port()?;
        let native_port = free_port()?;
        let program = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".to_owned());
        let child = Command::new(&program)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .envs(environment.iter().map(|(key, value)| (key.as_str(), value.as_str())))
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| {
                format!("starting {program} (install it with `cargo install tauri-driver --version ^2 --locked`)")
            })?;
        let driver = Self {
            child: Some(child),
            port,
            launched: std::sync::Mutex::new(Vec::new()),
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        wait_for(
            "tauri-driver to listen",
            Duration::from_secs(20),
            || async move {
                Ok(
                    TcpStream::connect_timeout(&address, Duration::from_millis(200))
                        .ok()
                        .map(|_| ()),
                )
            },
        )
        .await?;
        Ok(driver)
    }

    /// Opens a WebDriver session, which launches the app binary with `args`.
    pub async fn launch(&self, application: &Path, args: &[String]) -> Result<Client> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("wry"));
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": application.display().to_string(), "args": args }),
        );
        {
            let mut launched = self
                .launched
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if !launched.iter().any(|path| path == application) {
                launched.push(application.to_owned());
            }
        }
        let mut builder = ClientBuilder::native();
        builder.capabilities(capabilities);
        let address = format!("http://127.0.0.1:{}", self.port);
        let session = builder.connect(&address);
        match tokio::time::timeout(LAUNCH_TIMEOUT, session).await {
            Ok(result) => result.context("opening a WebDriver session on the app (is WebKitWebDriver installed — Debian package webkit2gtk-driver?)"),
            Err(_) => bail!(
                "no WebDriver session on the app within {LAUNCH_TIMEOUT:?} (app processes running: {:?})",
                processes_running(application)
            ),
        }
    }

    /// Stops tauri-driver (and the WebKitWebDriver it started) and waits for it, then any app
    /// its sessions launched that is still running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets tauri-driver stop its native driver; kill only if it ignores that.
            terminate(&mut child);
        }
        let launched = std::mem::take(
            &mut *self
                .launched
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        for application in launched {
            stop_processes(&application);
        }
    }
}

/// SIGTERM, five seconds to exit, then SIGKILL.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Stops every process running `binary` (a test's app left behind by a failure): SIGTERM, which
/// the app answers by quitting cleanly, then SIGKILL for whatever is left after five seconds.
fn stop_processes(binary: &Path) {
    let send = |signal: &str, pids: &[u32]| {
        if pids.is_empty() {
            return;
        }
        let _ = Command::new("kill")
            .arg(signal)
            .args(pids.iter().map(u32::to_string))
            .status();
    };
    send("-TERM", &processes_running(binary));
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if processes_running(binary).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    send("-KILL", &processes_running(binary));
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every element matching `css` now (possibly none).
pub async fn all(client: &Client, css: &str) -> Result<Vec<Element>> {
    Ok(client.find_all(Locator::Css(css)).await?)
}

/// Waits until at least one element matches `css` and returns the first.
pub async fn wait_for_element(client: &Client, css: &str, timeout: Duration) -> Result<Element> {
    let found = wait_for(&format!("an element matching `{css}`"), timeout, || async {
        Ok(all(client, css).await?.into_iter().next())
    })
    .await;
    explain_failure(client, found).await
}

/// On a failed wait, saves what the window showed (`target/desktop-e2e-failure.png`) and adds
/// the page text to the error, so a failure can be understood from the log alone.
pub async fn explain_failure<T>(client: &Client, result: Result<T>) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(error) => {
            let shot = target_dir().join("desktop-e2e-failure.png");
            let _ = tokio::time::timeout(DIAGNOSTIC_TIMEOUT, save_screenshot(client, &shot)).await;
            let text = tokio::time::timeout(DIAGNOSTIC_TIMEOUT, page_text(client))
                .await
                .unwrap_or_else(|_| "<the page did not answer>".to_owned());
            Err(error.context(format!(
                "page text: {text:?} (screenshot: {})",
                shot.display()
            )))
        }
    }
}

/// Waits until no element matches `css`.
pub async fn wait_for_absence(client: &Client, css: &str, timeout: Duration) -> Result<()> {
    wait_for(&format!("no element matching `{css}`"), timeout, || async {
        Ok(all(client, css).await?.is_empty().then_some(()))
    })
    .await
}

/// Waits until an element matching `css` contains `text` and returns it.
pub async fn wait_for_text(
    client: &Client,
    css: &str,
    text: &str,
    timeout: Duration,
) -> Result<Element> {
    let found = wait_for(&format!("`{css}` containing {text:?}"), timeout, || async {
        for element in all(client, css).await? {
            // textContent, not WebDriver's visible text: the visibility heuristics of the
            // Selenium atoms drop text inside the windowed list's absolutely positioned rows.
            let content = element.prop("textContent").await?.unwrap_or_default();
            if content.contains(text) {
                return Ok(Some(element));
            }
        }
        Ok(None)
    })
    .await;
    explain_failure(client, found).await
}

/// The text of the page body, for failure messages.
pub async fn page_text(client: &Client) -> String {
    match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(error) => format!("<no body: {error}>"),
    }
}

/// Saves a PNG of the app window once rendering has settled: two animation frames, then X
/// screen grabs (ImageMagick `import`, cropped to the window) until two in a row are identical.
///
/// The grab is taken from the X server rather than through WebDriver because WebKitWebDriver's
/// screenshot never returns when accelerated compositing is off, which is the app's default.
pub async fn save_screenshot(client: &Client, path: &Path) -> Result<()> {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await?;
    let (x, y, width, height) = client.get_window_rect().await?;
    let geometry = format!("{width}x{height}+{x}+{y}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut previous: Option<Vec<u8>> = None;
    let png = loop {
        let output = Command::new("import")
            .args(["-window", "root", "-crop", &geometry, "+repage", "png:-"])
            .output()
            .context("running ImageMagick's import (Debian package imagemagick)")?;
        if !output.status.success() {
            bail!("import failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        if previous.as_deref() == Some(output.stdout.as_slice()) || Instant::now() >= deadline {
            break output.stdout;
        }
        // Not settled yet: compare the next grab with this one.
        previous = Some(output.stdout);
        tokio::time::sleep(POLL_EVERY).await;
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}

/// Process ids whose executable is `binary` (the app itself, not its WebKit helpers).
pub fn processes_running(binary: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            (exe == binary).then_some(pid)
        })
        .collect()
}

/// The process and all its descendants (the app plus WebKit's web and network processes).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The parent pid is the second field after the parenthesised command name.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|field| field.parse::<u32>().ok());
            if let Some(parent) = parent {
                parents.push((pid, parent));
            }
        }
    }
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let current = tree[index];
        tree.extend(
            parents
                .iter()
                .filter(|(_, parent)| *parent == current)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    tree
}

/// Proportional set size of one process in kilobytes, from `/proc/<pid>/smaps_rollup`.
pub fn pss_kilobytes(pid: u32) -> Option<u64> {
    Some(pss_parts(pid)?.total)
}

/// One process's proportional set size split by what backs it (kilobytes, `smaps_rollup`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PssParts {
    pub total: u64,
    /// Heap, stacks and other private memory: what the process itself allocated.
    pub anonymous: u64,
    /// Mapped files: the binary, shared libraries, fonts, the ICU data.
    pub file: u64,
    /// Shared memory: for WebKit mostly the buffers the web process paints into.
    pub shmem: u64,
}

impl std::ops::AddAssign for PssParts {
    fn add_assign(&mut self, other: Self) {
        self.total += other.total;
        self.anonymous += other.anonymous;
        self.file += other.file;
        self.shmem += other.shmem;
    }
}

/// A process's [`PssParts`]; `None` once the process is gone (or on a kernel without the split,
/// where only `total` is filled in).
pub fn pss_parts(pid: u32) -> Option<PssParts> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(PssParts {
        total: field("Pss:")?,
        anonymous: field("Pss_Anon:").unwrap_or_default(),
        file: field("Pss_File:").unwrap_or_default(),
        shmem: field("Pss_Shmem:").unwrap_or_default(),
    })
}

/// The short command name of a process (`/proc/<pid>/comm`, e.g. `WebKitWebProces`).
pub fn process_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim_end().to_owned())
}

/// How many keychain items are filed under `service` (via `secret-tool`). Only item paths are
/// counted; the output, which includes the secrets, is never printed.
pub fn keychain_items(service: &str) -> Result<usize> {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .context("running secret-tool (Debian package libsecret-tools)")?;
    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    Ok(text.lines().filter(|line| line.starts_with("[/")).count())
}
