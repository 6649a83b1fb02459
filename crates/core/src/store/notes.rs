//! The advisor's private note on a client: stored only in this database, never sent anywhere,
//! and part of the meeting search (a word from the note finds the client's meetings).

use super::{refresh_search_row, MeetingId, SqlTime, Store};
use crate::domain::{normalize_email, AccountId};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

/// Notes longer than this are refused: a note is for the advisor to read, not a document store.
pub const MAX_NOTE_CHARS: usize = 20_000;

/// A client's note as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientNoteRow {
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The note on the client with this e-mail (normalized first), if there is one.
    pub fn client_note(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Option<ClientNoteRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT n.body, n.updated_at FROM client_notes n
                   JOIN clients c ON c.client_id = n.client_id
                  WHERE c.account_id = ?1 AND c.email_normalized = ?2",
                params![account.0, normalize_email(email)],
                |row| {
                    Ok(ClientNoteRow {
                        body: row.get(0)?,
                        updated_at: row.get::<_, SqlTime>(1)?.0,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the note on a client; a blank `body` removes it. Returns `Ok(None)` when the
    /// account has no client with this e-mail. The client's meetings are re-indexed in the same
    /// transaction, so searching for a word of the note finds them at once.
    pub fn set_client_note(
        &mut self,
        account: AccountId,
        email: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Option<ClientNoteRow>>, StoreError> {
        let transaction = self.connection.transaction()?;
        let client_id: Option<i64> = transaction
            .query_row(
                "SELECT client_id FROM clients WHERE account_id = ?1 AND email_normalized = ?2",
                params![account.0, normalize_email(email)],
                |row| row.get(0),
            )
            .optional()?;
        let Some(client_id) = client_id else {
            return Ok(None);
        };
        let saved = if body.trim().is_empty() {
            transaction.execute("DELETE FROM client_notes WHERE client_id = ?1", [client_id])?;
            None
        } else {
            transaction.execute(
                "INSERT INTO client_notes (client_id, body, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (client_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                params![client_id, body, SqlTime(now)],
            )?;
            Some(ClientNoteRow {
                body: body.to_owned(),
                updated_at: now,
            })
        };
        let meetings: Vec<i64> = transaction
            .prepare_cached("SELECT meeting_id FROM meeting_clients WHERE client_id = ?1")?
            .query_map([client_id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for meeting in meetings {
            refresh_search_row(&transaction, MeetingId(meeting))?;
        }
        transaction.commit()?;
        Ok(Some(saved))
    }
}
