//! Key/value settings, either global or belonging to one account.

use super::Store;
use crate::domain::AccountId;
use crate::error::StoreError;
use rusqlite::{params, OptionalExtension};

/// Whose setting a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingScope {
    Global,
    Account(AccountId),
}

impl SettingScope {
    fn account_id(self) -> Option<i64> {
        match self {
            Self::Global => None,
            Self::Account(account) => Some(account.0),
        }
    }
}

impl Store {
    /// The stored value of `key` in `scope`, if set.
    pub fn setting(&self, scope: SettingScope, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT value FROM settings WHERE account_id IS ?1 AND key = ?2",
                params![scope.account_id(), key],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Sets `key` in `scope` to `value`, replacing any previous value.
    pub fn set_setting(
        &mut self,
        scope: SettingScope,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        if let SettingScope::Account(account) = scope {
            self.require_account(account)?;
        }
        let transaction = self.connection.transaction()?;
        let changed = transaction.execute(
            "UPDATE settings SET value = ?3 WHERE account_id IS ?1 AND key = ?2",
            params![scope.account_id(), key, value],
        )?;
        if changed == 0 {
            transaction.execute(
                "INSERT INTO settings (account_id, key, value) VALUES (?1, ?2, ?3)",
                params![scope.account_id(), key, value],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Removes `key` from `scope`; removing a missing key is not an error.
    pub fn remove_setting(&mut self, scope: SettingScope, key: &str) -> Result<(), StoreError> {
        self.connection.execute(
            "DELETE FROM settings WHERE account_id IS ?1 AND key = ?2",
            params![scope.account_id(), key],
        )?;
        Ok(())
    }
}
