//! The views' read-only connections: a small r2d2 pool of [`Store::open_reader`] connections.
//!
//! Sync and the other writes go through the engine's one writer connection; every view reads
//! through this pool instead. Under WAL a reader never waits for the writer, so a screen stays
//! responsive while a sync applies a page. Connections are opened on first use, not at start-up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use advicly_core::error::StoreError;
use advicly_core::store::Store;

use crate::error::EngineError;
use crate::mapping::store_error;

/// Readers open at most: the UI rarely has more than a list, a detail and a status read in flight.
const MAX_READERS: u32 = 4;

/// How long a view waits for a free reader before it reports the database as busy.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Read-only connections for the views, shared by every clone of the engine.
pub(crate) struct ReadPool {
    pool: r2d2::Pool<ReaderManager>,
}

impl ReadPool {
    /// A pool on the database at `path`, which the writer has already created and migrated.
    /// Opens no connection yet.
    pub(crate) fn new(path: PathBuf) -> Self {
        // One housekeeping thread (idle-connection reaping) is plenty for four readers.
        let housekeeping = Arc::new(
            scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("advicly-read-pool")
                .build(),
        );
        let pool = r2d2::Pool::builder()
            .max_size(MAX_READERS)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .thread_pool(housekeeping)
            .build_unchecked(ReaderManager { path });
        Self { pool }
    }

    /// A free reader (opened when none is idle); it returns to the pool when dropped.
    pub(crate) fn checkout(&self) -> Result<Reader, EngineError> {
        self.pool.get().map_err(|error| EngineError::Store {
            message: format!("No read connection to the local database is available ({error})."),
        })
    }

    /// Runs `operation` on a free reader.
    pub(crate) fn read<T>(
        &self,
        operation: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, EngineError> {
        let reader = self.checkout()?;
        operation(&reader).map_err(store_error)
    }
}

/// A checked-out reader; derefs to its [`Store`].
pub(crate) type Reader = r2d2::PooledConnection<ReaderManager>;

/// Opens readers for r2d2; a reader has no state that could break, so none is ever discarded.
pub(crate) struct ReaderManager {
    path: PathBuf,
}

impl r2d2::ManageConnection for ReaderManager {
    type Connection = Store;
    type Error = StoreError;

    fn connect(&self) -> Result<Store, StoreError> {
        Store::open_reader(&self.path)
    }

    fn is_valid(&self, _reader: &mut Store) -> Result<(), StoreError> {
        Ok(())
    }

    fn has_broken(&self, _reader: &mut Store) -> bool {
        false
    }
}
