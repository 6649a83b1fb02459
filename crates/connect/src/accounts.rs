//! A thin adapter over `advicly_core::Store` for the account rows this crate writes: it opens
//! its own connection per operation on a blocking thread (WAL lets it share the file with the
//! engine's connection, and with other processes).

use std::path::PathBuf;

use advicly_core::store::AccountRow;
use advicly_core::{Store, StoreError};

use crate::error::ConnectError;

#[derive(Clone, Debug)]
pub(crate) struct AccountStore {
    database_path: PathBuf,
}

impl AccountStore {
    pub fn new(database_path: PathBuf) -> Self {
        Self { database_path }
    }

    /// Runs `operation` on a fresh connection, off the async runtime threads.
    pub async fn with<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ConnectError> {
        let path = self.database_path.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent() {
                advicly_core::store::create_private_folder(parent).map_err(|source| {
                    ConnectError::DataFolder {
                        path: parent.to_path_buf(),
                        source,
                    }
                })?;
            }
            let mut store = Store::open(&path)?;
            Ok(operation(&mut store)?)
        })
        .await?
    }

    pub async fn active_account(&self) -> Result<Option<AccountRow>, ConnectError> {
        self.with(|store| store.active_account()).await
    }
}
