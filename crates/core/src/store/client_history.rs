//! A client's whole history beyond the meeting list: every answer they gave on booking forms.

use super::{SqlTime, Store};
use crate::domain::{normalize_email, AccountId, EventUri};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::params;

/// One answer a client gave, with the booking it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAnswerRow {
    pub meeting_uri: EventUri,
    pub meeting_name: Option<String>,
    pub meeting_start: DateTime<Utc>,
    /// When the client booked (Calendly's `created_at` of the invitee): when they answered.
    pub answered_at: DateTime<Utc>,
    pub question: String,
    pub answer: String,
}

impl Store {
    /// Every answer of every booking made with this e-mail (normalized first), newest booking
    /// first and in form order within a booking. Meetings flagged deleted keep their answers here.
    pub fn client_answers(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Vec<ClientAnswerRow>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT m.event_uri, m.name, m.start_time, i.calendly_created_at, a.question, a.answer
               FROM clients c
               JOIN meeting_clients mc ON mc.client_id = c.client_id
               JOIN meetings m ON m.meeting_id = mc.meeting_id
               JOIN invitees i ON i.meeting_id = m.meeting_id AND i.email_normalized = c.email_normalized
               JOIN invitee_answers a ON a.invitee_id = i.invitee_id
              WHERE c.account_id = ?1 AND c.email_normalized = ?2
              ORDER BY i.calendly_created_at DESC, i.invitee_uri, a.position, a.answer_id",
        )?;
        let rows = statement.query_map(params![account.0, normalize_email(email)], |row| {
            Ok(ClientAnswerRow {
                meeting_uri: EventUri::new(row.get::<_, String>(0)?),
                meeting_name: row.get(1)?,
                meeting_start: row.get::<_, SqlTime>(2)?.0,
                answered_at: row.get::<_, SqlTime>(3)?.0,
                question: row.get(4)?,
                answer: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
