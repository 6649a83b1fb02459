//! The local SQLite store: opening and migrating the database, and every read and write on it.
//!
//! Every query takes an [`AccountId`]: data of one Calendly account never mixes with another's.
//! Timestamps are stored as fixed-width RFC 3339 UTC text (nanosecond precision), so text order
//! is time order and indexes on time columns work.

mod accounts;
mod client_history;
mod event_types;
mod migrations;
mod notes;
mod queries;
mod realtime;
mod search;
mod settings;
mod sync_runs;
mod time;

pub use accounts::AccountRow;
pub use client_history::ClientAnswerRow;
pub use event_types::EventTypeRow;
pub use notes::{ClientNoteRow, MAX_NOTE_CHARS};
pub use queries::{
    ClientRow, InviteeRow, InviteeSummaryRow, MeetingDetail, MeetingFilter, MeetingOrder,
    MeetingRow, MeetingStatusFilter,
};
pub use realtime::{
    DeliveryOutcome, DeliveryRow, IncomingDelivery, NewRealtimeChannel, RealtimeChannelRow,
    RecordedDelivery, SigningAuthority,
};
pub use search::fts_match_expression;
pub use settings::SettingScope;
pub use sync_runs::{SyncRunId, SyncRunRow};

pub(crate) use search::refresh_search_row;
pub(crate) use time::SqlTime;

use crate::domain::AccountId;
use crate::error::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Creates the database file readable and writable by its owner only (`0600`), or tightens an
/// existing one. SQLite gives the WAL and shared-memory files the database file's mode, and
/// companions left by an older build are tightened too. Meetings and client e-mails are
/// personal data; other users of the machine have no business reading them.
fn restrict_to_owner(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let permission_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Permissions { path, source }
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(permission_error(path))?;
        let mut companions = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            companions.push(name.into());
        }
        for file in companions {
            match std::fs::metadata(&file) {
                Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(permission_error(&file))?;
                }
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates the data folder (and its parents) and makes it private to the owner (`0700`): it holds
/// the database, lock files and pending sign-ins. An existing folder is tightened as well.
pub fn create_private_folder(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o777 != 0o700 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// How long a writer waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Local primary key of a meeting row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeetingId(pub i64);

/// Local primary key of a client row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub i64);

/// One connection to the local database. Open several (one per thread) on the same file if
/// needed: WAL lets readers run while one writer writes.
pub struct Store {
    pub(crate) connection: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.connection.path())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database file and migrates it to the newest schema.
    ///
    /// Fails with [`StoreError::DatabaseTooNew`] when a newer Advicly wrote the file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with_migrations(path, migrations::MIGRATIONS)
    }

    pub(crate) fn open_with_migrations(
        path: &Path,
        migrations_to_run: &[&str],
    ) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        restrict_to_owner(path)?;
        let mut connection = Connection::open(path).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // WAL lets the UI read while a sync writes; NORMAL sync is durable enough under WAL.
        connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(open_error)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        // A 32 MiB page cache keeps a sync's working set in memory. No memory map: the kernel
        // maps 64 KiB around every page fault, so a few dozen index lookups would make most of
        // the file resident in the app; a read() per missing page costs a microsecond from the
        // OS's cache and keeps only the pages used.
        connection
            .pragma_update(None, "cache_size", -32_768)
            .map_err(open_error)?;
        connection
            .pragma_update_and_check(None, "mmap_size", 0, |_| Ok(()))
            .map_err(open_error)?;
        migrations::run_migrations(&mut connection, migrations_to_run)?;
        Ok(Store { connection })
    }

    /// Writes every committed page back into the database file and truncates the WAL, so pages
    /// that were deleted (and zeroed under `secure_delete`) leave no older copy in the WAL.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Opens a read-only connection to a database that [`Store::open`] already created and
    /// migrated. Views read through these: under WAL a reader never waits for the writer, so a
    /// screen stays responsive while a sync applies its pages. Writing through it fails.
    ///
    /// Fails with [`StoreError::DatabaseTooNew`] when a newer Advicly migrated the file.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(path, flags).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        connection
            .pragma_update(None, "query_only", "ON")
            .map_err(open_error)?;
        // A page cache of its own (pages it never reads cost nothing) and no memory map, for the
        // reason given in `open`.
        connection
            .pragma_update(None, "cache_size", -4_096)
            .map_err(open_error)?;
        connection
            .pragma_update_and_check(None, "mmap_size", 0, |_| Ok(()))
            .map_err(open_error)?;
        let store = Store { connection };
        let found = store.schema_version()?;
        let supported = Self::supported_schema_version();
        if found > supported {
            return Err(StoreError::DatabaseTooNew { found, supported });
        }
        Ok(store)
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// The newest schema version this build knows.
    pub fn supported_schema_version() -> i64 {
        migrations::supported_version(migrations::MIGRATIONS)
    }

    /// Direct access for tests and diagnostics inside the crate.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Fails with [`StoreError::AccountNotFound`] unless the account exists.
    pub(crate) fn require_account(&self, account: AccountId) -> Result<(), StoreError> {
        let exists: bool = self.connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE account_id = ?1)",
            [account.0],
            |row| row.get(0),
        )?;
        if exists {
            Ok(())
        } else {
            Err(StoreError::AccountNotFound(account.0))
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod history_tests;
