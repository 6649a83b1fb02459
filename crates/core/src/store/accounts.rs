//! Account rows: the Calendly user behind a connection, its connection state and which one is
//! active. An account row never holds a token.

use super::{SqlTime, Store};
use crate::domain::{AccountId, CalendlyUser, ConnectionState, OrganizationUri, UserUri};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub account_id: AccountId,
    pub user: CalendlyUser,
    pub connection_state: ConnectionState,
    /// Why the account is in its state (e.g. the refresh failure behind `NeedsReconnect`).
    pub connection_reason: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ACCOUNT_COLUMNS: &str = "account_id, user_uri, organization_uri, email, name, timezone, \
     scheduling_url, connection_state, connection_reason, is_active, created_at, updated_at";

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    let state_text: String = row.get(7)?;
    let connection_state = ConnectionState::parse(&state_text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            format!("unknown connection state {state_text:?}").into(),
        )
    })?;
    Ok(AccountRow {
        account_id: AccountId(row.get(0)?),
        user: CalendlyUser {
            uri: UserUri::new(row.get::<_, String>(1)?),
            organization: OrganizationUri::new(row.get::<_, String>(2)?),
            email: row.get(3)?,
            name: row.get(4)?,
            timezone: row.get(5)?,
            scheduling_url: row.get(6)?,
        },
        connection_state,
        connection_reason: row.get(8)?,
        is_active: row.get(9)?,
        created_at: row.get::<_, SqlTime>(10)?.0,
        updated_at: row.get::<_, SqlTime>(11)?.0,
    })
}

impl Store {
    /// Records a successful connection of `user`: inserts the account or refreshes its profile
    /// (keyed by the Calendly user URI), sets it `Connected` and clears the reason. When no
    /// account is active yet, this one becomes active.
    pub fn upsert_account(
        &mut self,
        user: &CalendlyUser,
        now: DateTime<Utc>,
    ) -> Result<AccountId, StoreError> {
        let transaction = self.connection.transaction()?;
        let account_id: i64 = transaction.query_row(
            "INSERT INTO accounts (user_uri, organization_uri, email, name, timezone, scheduling_url,
                                   connection_state, connection_reason, is_active, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'connected', NULL, 0, ?7, ?7)
             ON CONFLICT (user_uri) DO UPDATE SET
                 organization_uri = excluded.organization_uri,
                 email = excluded.email,
                 name = excluded.name,
                 timezone = excluded.timezone,
                 scheduling_url = excluded.scheduling_url,
                 connection_state = 'connected',
                 connection_reason = NULL,
                 updated_at = excluded.updated_at
             RETURNING account_id",
            params![
                user.uri.as_str(),
                user.organization.as_str(),
                user.email,
                user.name,
                user.timezone,
                user.scheduling_url,
                SqlTime(now),
            ],
            |row| row.get(0),
        )?;
        transaction.execute(
            "UPDATE accounts SET is_active = 1
             WHERE account_id = ?1 AND NOT EXISTS (SELECT 1 FROM accounts WHERE is_active = 1)",
            [account_id],
        )?;
        transaction.commit()?;
        Ok(AccountId(account_id))
    }

    /// The account with this local id, if it exists.
    pub fn account(&self, account: AccountId) -> Result<Option<AccountRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?1"),
                [account.0],
                account_from_row,
            )
            .optional()?)
    }

    /// The account of this Calendly user, if it was ever connected.
    pub fn account_by_user_uri(&self, user: &UserUri) -> Result<Option<AccountRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_uri = ?1"),
                [user.as_str()],
                account_from_row,
            )
            .optional()?)
    }

    /// The account the app currently shows and syncs, if any.
    pub fn active_account(&self) -> Result<Option<AccountRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE is_active = 1"),
                [],
                account_from_row,
            )
            .optional()?)
    }

    /// Every stored account, oldest first.
    pub fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id"
        ))?;
        let rows = statement.query_map([], account_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets the connection state and its reason (`None` clears the reason).
    pub fn set_connection_state(
        &mut self,
        account: AccountId,
        state: ConnectionState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let changed = self.connection.execute(
            "UPDATE accounts SET connection_state = ?2, connection_reason = ?3, updated_at = ?4
             WHERE account_id = ?1",
            params![account.0, state.as_str(), reason, SqlTime(now)],
        )?;
        if changed == 0 {
            return Err(StoreError::AccountNotFound(account.0));
        }
        Ok(())
    }

    /// Makes `account` the active one (and every other account inactive).
    pub fn set_active_account(
        &mut self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "UPDATE accounts SET is_active = 0, updated_at = ?2 WHERE is_active = 1 AND account_id <> ?1",
            params![account.0, SqlTime(now)],
        )?;
        let changed = transaction.execute(
            "UPDATE accounts SET is_active = 1, updated_at = ?2 WHERE account_id = ?1",
            params![account.0, SqlTime(now)],
        )?;
        if changed == 0 {
            return Err(StoreError::AccountNotFound(account.0));
        }
        transaction.commit()?;
        Ok(())
    }

    /// Removes every meeting, invitee, client (and note), link, search row, sync run, cached event
    /// type and recorded webhook delivery of the account, keeping the account row and its settings
    /// (a disconnect with "wipe local data").
    ///
    /// The deleted pages are overwritten with zeros (`secure_delete`) and the WAL is checkpointed
    /// and truncated afterwards, so no copy of the wiped meetings stays readable in either file.
    pub fn wipe_account_data(&mut self, account: AccountId) -> Result<(), StoreError> {
        self.require_account(account)?;
        self.connection.pragma_update(None, "secure_delete", "ON")?;
        let transaction = self.connection.transaction()?;
        // Meetings cascade to invitees, answers and links; the trigger drops search rows.
        transaction.execute("DELETE FROM meetings WHERE account_id = ?1", [account.0])?;
        transaction.execute("DELETE FROM invitees WHERE account_id = ?1", [account.0])?;
        // Client notes go with their clients (cascade).
        transaction.execute("DELETE FROM clients WHERE account_id = ?1", [account.0])?;
        transaction.execute("DELETE FROM sync_runs WHERE account_id = ?1", [account.0])?;
        transaction.execute("DELETE FROM event_types WHERE account_id = ?1", [account.0])?;
        transaction.execute(
            "DELETE FROM event_type_refreshes WHERE account_id = ?1",
            [account.0],
        )?;
        transaction.execute(
            "DELETE FROM webhook_deliveries WHERE account_id = ?1",
            [account.0],
        )?;
        transaction.commit()?;
        // FTS5 only marks deleted rows in its index; merging the segments drops their terms.
        self.connection
            .execute_batch("INSERT INTO meeting_search(meeting_search) VALUES ('optimize');")?;
        self.checkpoint()?;
        self.connection
            .pragma_update(None, "secure_delete", "OFF")?;
        Ok(())
    }

    /// Deletes the account and everything that belongs to it, settings included.
    pub fn delete_account(&mut self, account: AccountId) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        transaction.execute("DELETE FROM meetings WHERE account_id = ?1", [account.0])?;
        let changed =
            transaction.execute("DELETE FROM accounts WHERE account_id = ?1", [account.0])?;
        if changed == 0 {
            return Err(StoreError::AccountNotFound(account.0));
        }
        transaction.commit()?;
        Ok(())
    }
}
