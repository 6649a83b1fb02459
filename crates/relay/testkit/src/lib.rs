//! A private PostgreSQL server for tests and benchmarks, never a server the machine already has.
//!
//! [`PostgresServer::start`] runs Debian's `initdb` and `postgres` (from
//! `/usr/lib/postgresql/<version>/bin`) in a fresh temporary folder, on a free loopback port,
//! with its unix socket in that folder too. PostgreSQL refuses to run as root, so when the tests
//! run as root the folder is handed to the `postgres` user (which Debian's package creates) and
//! the server runs as that user through `setpriv`.
//!
//! The server is owned by a small `sh` supervisor that reads the test process's pipe: when the
//! test process ends — normally, by a panic, or by kill -9 — the pipe closes and the supervisor
//! stops the server and deletes its folder. So one server can be shared by a whole test binary
//! ([`PostgresServer::shared`]) and each test takes a database of its own
//! ([`PostgresServer::create_database`]).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The role the tests connect as (`initdb -U`), with trust authentication on loopback only.
pub const SUPERUSER: &str = "relay";

/// Why a private PostgreSQL server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/bootstrap.sh, which installs Debian's `postgresql` package")]
    NotInstalled,
    #[error("the tests run as root but there is no `postgres` user to run PostgreSQL as (Debian's `postgresql` package creates it): {0}")]
    NoPostgresUser(String),
    #[error("{step} failed: {detail}")]
    Step { step: String, detail: String },
    #[error("PostgreSQL did not accept connections within {0:?}: {1}")]
    NotReady(Duration, String),
}

/// A running private server. Dropping it stops the server and deletes its folder.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    bin: PathBuf,
    folder: PathBuf,
    supervisor: Mutex<Option<(Child, ChildStdin)>>,
    databases: AtomicU32,
    // The supervisor deletes the folder; this only cleans up when the server never started.
    _folder: Option<tempfile::TempDir>,
}

impl PostgresServer {
    /// One server for the whole test binary, started on first use.
    pub fn shared() -> &'static PostgresServer {
        static SHARED: OnceLock<PostgresServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            PostgresServer::start().unwrap_or_else(|error| {
                panic!("the PostgreSQL tests need a private PostgreSQL server: {error}")
            })
        })
    }

    /// Initializes a cluster in a temporary folder and starts it on a free loopback port.
    pub fn start() -> Result<Self, HarnessError> {
        let bin = find_bin()?;
        let folder = tempfile::Builder::new()
            .prefix("advicly-relay-pg-")
            .tempdir()
            .map_err(|error| step("create the server folder", error))?;
        let path = folder.path().to_owned();
        let as_root = is_root();
        if as_root {
            let (uid, gid) = postgres_user()?;
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|error| step("hand the folder to the postgres user", error))?;
        }
        let data = path.join("data");
        let output = privileged(as_root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| step("run initdb", error))?;
        if !output.status.success() {
            return Err(HarnessError::Step {
                step: "initdb".into(),
                detail: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let mut last_error = String::new();
        // A free port can be taken between choosing it and the server binding it; try again.
        for _ in 0..3 {
            let port = free_port()?;
            let mut server = Self::launch(&bin, &path, &data, port, as_root)?;
            match server.wait_ready(Duration::from_secs(30)) {
                Ok(()) => {
                    server._folder = Some(folder);
                    return Ok(server);
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(HarnessError::Step {
            step: "start postgres".into(),
            detail: last_error,
        })
    }

    fn launch(
        bin: &Path,
        folder: &Path,
        data: &Path,
        port: u16,
        as_root: bool,
    ) -> Result<Self, HarnessError> {
        let postgres = bin.join("postgres");
        let switch_user = if as_root {
            "setpriv --reuid=postgres --regid=postgres --init-groups -- "
        } else {
            ""
        };
        // The supervisor: start the server, wait until our pipe closes (the test process ended
        // or dropped us), then stop the server at once and delete its folder.
        let script = format!(
            "{switch_user}'{postgres}' -D '{data}' -p {port} -k '{folder}' \
               -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB \
               >'{folder}/server.log' 2>&1 &
             server=$!
             cat >/dev/null
             kill -QUIT $server 2>/dev/null
             wait $server 2>/dev/null
             rm -rf '{folder}'",
            postgres = postgres.display(),
            data = data.display(),
            folder = folder.display(),
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| step("start the postgres supervisor", error))?;
        let stdin = child.stdin.take().expect("piped stdin");
        Ok(Self {
            port,
            bin: bin.to_owned(),
            folder: folder.to_owned(),
            supervisor: Mutex::new(Some((child, stdin))),
            databases: AtomicU32::new(0),
            _folder: None,
        })
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + limit;
        loop {
            let output = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    SUPERUSER,
                ])
                .output()
                .map_err(|error| step("run pg_isready", error))?;
            if output.status.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.folder.join("server.log")).unwrap_or_default();
                return Err(HarnessError::NotReady(limit, log));
            }
            // A bounded poll on the server's own readiness check.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn create_database(&self) -> Result<String, HarnessError> {
        let number = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("relay_test_{}_{number}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    /// Runs one SQL command with `psql` (for tests that look at the tables themselves).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, HarnessError> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
            ])
            .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| step("run psql", error))?;
        if !output.status.success() {
            return Err(HarnessError::Step {
                step: format!("psql {sql:?}"),
                detail: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((mut child, mut stdin)) = supervisor {
            let _ = stdin.flush();
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn step(what: &str, error: std::io::Error) -> HarnessError {
    HarnessError::Step {
        step: what.to_owned(),
        detail: error.to_string(),
    }
}

/// The newest installed PostgreSQL's bin folder.
fn find_bin() -> Result<PathBuf, HarnessError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| HarnessError::NotInstalled)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(HarnessError::NotInstalled)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_user() -> Result<(u32, u32), HarnessError> {
    let id = |flag: &str| -> Result<u32, HarnessError> {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|error| HarnessError::NoPostgresUser(error.to_string()))?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                HarnessError::NoPostgresUser(String::from_utf8_lossy(&output.stderr).into_owned())
            })
    };
    Ok((id("-u")?, id("-g")?))
}

fn privileged(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|error| step("find a free port", error))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| step("find a free port", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_server_starts_answers_and_disappears_when_dropped() {
        let server = PostgresServer::start().expect("a private PostgreSQL server");
        let url = server.create_database().unwrap();
        let database = url.rsplit('/').next().unwrap().to_owned();
        assert_eq!(server.psql(&database, "SELECT 40 + 2").unwrap(), "42");
        let folder = server.folder.clone();
        let port = server.port();
        drop(server);
        assert!(!folder.exists(), "the server's folder is deleted");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "nothing listens on the port any more"
        );
    }
}
