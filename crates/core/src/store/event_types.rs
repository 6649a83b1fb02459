//! The cache of the account's event types (name, duration, colour, kind, booking page), with its
//! freshness, and the lookup of meetings whose type the cache does not know yet.

use super::{SqlTime, Store};
use crate::domain::{normalize_hex_color, AccountId, EventTypeUri, FetchedEventType};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

/// An event type as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTypeRow {
    pub uri: EventTypeUri,
    pub name: Option<String>,
    pub duration_minutes: Option<u32>,
    /// `#rrggbb`, lower case.
    pub color: Option<String>,
    pub kind: Option<String>,
    pub scheduling_url: Option<String>,
    /// False when Calendly marks it inactive or a complete listing no longer returned it.
    pub active: bool,
    pub fetched_at: DateTime<Utc>,
}

impl Store {
    /// Stores a listing of the account's event types in one transaction. When `complete` (every
    /// page was read), the listing also becomes the cache's freshness, and types it no longer
    /// contains are kept (old meetings still name them) but marked inactive.
    pub fn save_event_types(
        &mut self,
        account: AccountId,
        event_types: &[FetchedEventType],
        complete: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require_account(account)?;
        let transaction = self.connection.transaction()?;
        {
            let mut upsert = transaction.prepare_cached(
                "INSERT INTO event_types (account_id, event_type_uri, name, duration_minutes, color,
                                          kind, scheduling_url, active, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (account_id, event_type_uri) DO UPDATE SET
                     name = excluded.name,
                     duration_minutes = excluded.duration_minutes,
                     color = excluded.color,
                     kind = excluded.kind,
                     scheduling_url = excluded.scheduling_url,
                     active = excluded.active,
                     fetched_at = excluded.fetched_at",
            )?;
            for event_type in event_types {
                upsert.execute(params![
                    account.0,
                    event_type.uri.as_str(),
                    event_type
                        .name
                        .as_deref()
                        .filter(|name| !name.trim().is_empty()),
                    event_type.duration_minutes,
                    event_type.color.as_deref().and_then(normalize_hex_color),
                    event_type.kind,
                    event_type.scheduling_url,
                    event_type.active,
                    SqlTime(now),
                ])?;
            }
        }
        if complete {
            // Every row not written above was not in the listing.
            transaction.execute(
                "UPDATE event_types SET active = 0 WHERE account_id = ?1 AND fetched_at <> ?2",
                params![account.0, SqlTime(now)],
            )?;
            transaction.execute(
                "INSERT INTO event_type_refreshes (account_id, refreshed_at) VALUES (?1, ?2)
                 ON CONFLICT (account_id) DO UPDATE SET refreshed_at = excluded.refreshed_at",
                params![account.0, SqlTime(now)],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every cached event type of the account, active ones first, then by name.
    pub fn event_types(&self, account: AccountId) -> Result<Vec<EventTypeRow>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT event_type_uri, name, duration_minutes, color, kind, scheduling_url, active, fetched_at
               FROM event_types WHERE account_id = ?1
              ORDER BY active DESC, lower(coalesce(name, '')), event_type_uri",
        )?;
        let rows = statement.query_map([account.0], |row| {
            Ok(EventTypeRow {
                uri: EventTypeUri::new(row.get::<_, String>(0)?),
                name: row.get(1)?,
                duration_minutes: row
                    .get::<_, Option<i64>>(2)?
                    .map(|minutes| minutes.clamp(0, i64::from(u32::MAX)) as u32),
                color: row.get(3)?,
                kind: row.get(4)?,
                scheduling_url: row.get(5)?,
                active: row.get(6)?,
                fetched_at: row.get::<_, SqlTime>(7)?.0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the account's event types were last listed completely; `None` when never.
    pub fn event_types_refreshed_at(
        &self,
        account: AccountId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT refreshed_at FROM event_type_refreshes WHERE account_id = ?1",
                [account.0],
                |row| row.get::<_, SqlTime>(0),
            )
            .optional()?
            .map(|time| time.0))
    }

    /// Event type URIs that stored meetings name but the cache does not hold.
    pub fn unknown_event_type_uris(
        &self,
        account: AccountId,
    ) -> Result<Vec<EventTypeUri>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT DISTINCT m.event_type FROM meetings m
              WHERE m.account_id = ?1 AND m.event_type IS NOT NULL AND m.event_type <> ''
                AND NOT EXISTS (SELECT 1 FROM event_types et
                                 WHERE et.account_id = m.account_id
                                   AND et.event_type_uri = m.event_type)
              ORDER BY m.event_type",
        )?;
        let rows = statement.query_map([account.0], |row| {
            Ok(EventTypeUri::new(row.get::<_, String>(0)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
