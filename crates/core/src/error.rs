//! The one error type of `advicly-core`: everything the store and the sync apply step can fail with.

use std::path::PathBuf;

/// Why a store operation failed. Messages say what failed and, where possible, what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the local database at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "the local database has schema version {found}, but this build of Advicly only knows versions up to {supported}; \
         update Advicly to open it (the data was written by a newer version)"
    )]
    DatabaseTooNew { found: i64, supported: i64 },

    #[error("migrating the local database to schema version {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },

    #[error("could not make {path} private to this user: {source}")]
    Permissions {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no account with local id {0} exists")]
    AccountNotFound(i64),

    #[error("the local database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
