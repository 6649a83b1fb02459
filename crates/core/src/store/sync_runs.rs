//! Bookkeeping of sync runs: when they ran, over which window, what they changed, and how
//! many API calls they made. A run without `finished_at` was interrupted.

use super::{SqlTime, Store};
use crate::domain::{AccountId, SyncKind, SyncWindow};
use crate::error::StoreError;
use crate::sync::SyncCounts;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use std::collections::BTreeMap;

/// Local primary key of a sync run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncRunId(pub i64);

/// A stored sync run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRunRow {
    pub sync_run_id: SyncRunId,
    pub account_id: AccountId,
    pub kind: SyncKind,
    pub window: SyncWindow,
    pub started_at: DateTime<Utc>,
    /// `None` while running, or forever when the run was interrupted.
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: SyncCounts,
    /// API calls made, by endpoint label (e.g. `"GET /scheduled_events"`).
    pub api_calls: BTreeMap<String, u64>,
    pub error: Option<String>,
}

impl SyncRunRow {
    /// True when the run finished without an error.
    pub fn succeeded(&self) -> bool {
        self.finished_at.is_some() && self.error.is_none()
    }
}

const SYNC_RUN_COLUMNS: &str = "sync_run_id, account_id, kind, window_start, window_end, \
     started_at, finished_at, created_count, updated_count, canceled_count, restored_count, \
     deleted_count, unchanged_count, api_calls, error";

fn sync_run_from_row(row: &Row<'_>) -> rusqlite::Result<SyncRunRow> {
    let kind_text: String = row.get(2)?;
    let kind = match kind_text.as_str() {
        "full" => SyncKind::Full,
        "incremental" => SyncKind::Incremental,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown sync kind {other:?}").into(),
            ))
        }
    };
    let count =
        |index: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(index)?.max(0) as u64) };
    let api_calls_text: String = row.get(13)?;
    let api_calls: BTreeMap<String, u64> =
        serde_json::from_str(&api_calls_text).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                13,
                rusqlite::types::Type::Text,
                Box::new(error),
            )
        })?;
    Ok(SyncRunRow {
        sync_run_id: SyncRunId(row.get(0)?),
        account_id: AccountId(row.get(1)?),
        kind,
        window: SyncWindow {
            start: row.get::<_, SqlTime>(3)?.0,
            end: row.get::<_, SqlTime>(4)?.0,
        },
        started_at: row.get::<_, SqlTime>(5)?.0,
        finished_at: row.get::<_, Option<SqlTime>>(6)?.map(|time| time.0),
        counts: SyncCounts {
            created: count(7)?,
            updated: count(8)?,
            canceled: count(9)?,
            restored: count(10)?,
            deleted: count(11)?,
            unchanged: count(12)?,
        },
        api_calls,
        error: row.get(14)?,
    })
}

fn to_sql_count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Records the start of a sync run and returns its id.
    pub fn begin_sync_run(
        &mut self,
        account: AccountId,
        kind: SyncKind,
        window: SyncWindow,
        now: DateTime<Utc>,
    ) -> Result<SyncRunId, StoreError> {
        self.require_account(account)?;
        self.connection.execute(
            "INSERT INTO sync_runs (account_id, kind, window_start, window_end, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                account.0,
                kind.as_str(),
                SqlTime(window.start),
                SqlTime(window.end),
                SqlTime(now)
            ],
        )?;
        Ok(SyncRunId(self.connection.last_insert_rowid()))
    }

    /// Records the end of a sync run: its counts, API calls by endpoint and error, if any.
    pub fn finish_sync_run(
        &mut self,
        run: SyncRunId,
        counts: &SyncCounts,
        api_calls: &BTreeMap<String, u64>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let api_calls_text = serde_json::to_string(api_calls)
            .expect("a map of strings to integers always serializes");
        self.connection.execute(
            "UPDATE sync_runs SET finished_at = ?2, created_count = ?3, updated_count = ?4,
                 canceled_count = ?5, restored_count = ?6, deleted_count = ?7, unchanged_count = ?8,
                 api_calls = ?9, error = ?10
             WHERE sync_run_id = ?1",
            params![
                run.0,
                SqlTime(now),
                to_sql_count(counts.created),
                to_sql_count(counts.updated),
                to_sql_count(counts.canceled),
                to_sql_count(counts.restored),
                to_sql_count(counts.deleted),
                to_sql_count(counts.unchanged),
                api_calls_text,
                error,
            ],
        )?;
        Ok(())
    }

    /// The most recently started sync run of the account (finished, failed or interrupted).
    pub fn last_sync_run(&self, account: AccountId) -> Result<Option<SyncRunRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!(
                    "SELECT {SYNC_RUN_COLUMNS} FROM sync_runs WHERE account_id = ?1
                     ORDER BY started_at DESC, sync_run_id DESC LIMIT 1"
                ),
                [account.0],
                sync_run_from_row,
            )
            .optional()?)
    }

    /// The most recent full sync that finished without an error.
    pub fn last_successful_full_sync(
        &self,
        account: AccountId,
    ) -> Result<Option<SyncRunRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!(
                    "SELECT {SYNC_RUN_COLUMNS} FROM sync_runs
                     WHERE account_id = ?1 AND kind = 'full' AND finished_at IS NOT NULL AND error IS NULL
                     ORDER BY finished_at DESC, sync_run_id DESC LIMIT 1"
                ),
                [account.0],
                sync_run_from_row,
            )
            .optional()?)
    }

    /// The most recent sync run (any kind) that finished without an error.
    pub fn last_successful_sync(
        &self,
        account: AccountId,
    ) -> Result<Option<SyncRunRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!(
                    "SELECT {SYNC_RUN_COLUMNS} FROM sync_runs
                     WHERE account_id = ?1 AND finished_at IS NOT NULL AND error IS NULL
                     ORDER BY finished_at DESC, sync_run_id DESC LIMIT 1"
                ),
                [account.0],
                sync_run_from_row,
            )
            .optional()?)
    }
}
