//! Real time in the store: each account's relay channel and Calendly subscription, and the
//! record of every webhook delivery received through it.
//!
//! A delivery is applied and recorded in ONE transaction, together with the stream cursor
//! (the highest relay delivery id seen), so the app acknowledges a delivery to the relay only
//! after everything it implies is committed, and a crash in between makes the relay send it
//! again, which then changes nothing. A delivery's signature is never stored.

use super::{SqlTime, Store};
use crate::domain::{AccountId, FetchedEvent, FetchedInvitee};
use crate::error::StoreError;
use crate::sync::apply_webhook_change_in;
use crate::sync::ApplyOutcome;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Who signs the deliveries of an account's subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAuthority {
    /// The per-subscription key the app generated (personal access tokens): the app verifies.
    Subscription,
    /// Calendly's app-wide key (subscriptions created with OAuth tokens): only the relay holds
    /// it, so the app accepts only deliveries the relay marked `relay_verified`.
    App,
}

impl SigningAuthority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::App => "app",
        }
    }

    fn parse(raw: &str) -> Self {
        if raw == "app" {
            Self::App
        } else {
            Self::Subscription
        }
    }
}

/// An account's relay channel and Calendly subscription as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealtimeChannelRow {
    pub account_id: AccountId,
    /// The relay the channel lives on (the `relay_base` setting when it was made).
    pub relay_base: String,
    pub channel_id: String,
    /// The URL Calendly posts to (our subscription's callback URL).
    pub ingress_url: String,
    pub signed_by: SigningAuthority,
    pub subscription_uri: Option<String>,
    /// `active`, `disabled`, … as Calendly last reported it.
    pub subscription_state: Option<String>,
    pub subscription_checked_at: Option<DateTime<Utc>>,
    /// Why real time is off for this account, if it is (e.g. the plan has no webhooks).
    pub off_reason: Option<String>,
    /// Where the stream resumes: the highest relay delivery id recorded.
    pub last_delivery_id: i64,
    /// What the listener holding the stream last reported (`connecting`, `live`, `degraded`).
    pub stream_state: Option<String>,
    pub stream_reason: Option<String>,
    pub stream_changed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A relay channel to remember for an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRealtimeChannel {
    pub relay_base: String,
    pub channel_id: String,
    pub ingress_url: String,
    pub signed_by: SigningAuthority,
}

/// What became of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// Verified and applied (the change may already have been there from a poll).
    Applied,
    /// Seen before: the same relay delivery again, or the same Calendly message re-sent.
    Duplicate,
    /// Refused (signature, staleness, shape, unknown event); the database is unchanged.
    Rejected,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }

    fn parse(raw: &str) -> Self {
        match raw {
            "applied" => Self::Applied,
            "duplicate" => Self::Duplicate,
            _ => Self::Rejected,
        }
    }
}

/// One delivery as it arrived from the relay, without its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingDelivery {
    pub channel_id: String,
    /// The relay's id (strictly increasing per channel).
    pub delivery_id: i64,
    /// The envelope's event name, when the body could be read that far.
    pub event: Option<String>,
    /// When the relay received the POST from Calendly.
    pub received_at: DateTime<Utc>,
    /// SHA-256 (hex) of the raw body.
    pub body_digest: Option<String>,
    pub meeting_uri: Option<String>,
    pub invitee_uri: Option<String>,
}

/// A recorded delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub channel_id: String,
    pub delivery_id: i64,
    pub event: Option<String>,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    pub meeting_uri: Option<String>,
    pub invitee_uri: Option<String>,
    /// True when applying it changed what the advisor sees.
    pub changed: bool,
}

/// What recording (and, for valid ones, applying) a delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedDelivery {
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    /// The store changes; all zero unless the outcome is `Applied`.
    pub applied: ApplyOutcome,
}

const CHANNEL_COLUMNS: &str = "account_id, relay_base, channel_id, ingress_url, signed_by, \
     subscription_uri, subscription_state, subscription_checked_at, off_reason, last_delivery_id, \
     stream_state, stream_reason, stream_changed_at, created_at, updated_at";

fn channel_from_row(row: &Row<'_>) -> rusqlite::Result<RealtimeChannelRow> {
    Ok(RealtimeChannelRow {
        account_id: AccountId(row.get(0)?),
        relay_base: row.get(1)?,
        channel_id: row.get(2)?,
        ingress_url: row.get(3)?,
        signed_by: SigningAuthority::parse(&row.get::<_, String>(4)?),
        subscription_uri: row.get(5)?,
        subscription_state: row.get(6)?,
        subscription_checked_at: row.get::<_, Option<SqlTime>>(7)?.map(|time| time.0),
        off_reason: row.get(8)?,
        last_delivery_id: row.get(9)?,
        stream_state: row.get(10)?,
        stream_reason: row.get(11)?,
        stream_changed_at: row.get::<_, Option<SqlTime>>(12)?.map(|time| time.0),
        created_at: row.get::<_, SqlTime>(13)?.0,
        updated_at: row.get::<_, SqlTime>(14)?.0,
    })
}

const DELIVERY_COLUMNS: &str = "channel_id, delivery_id, event, received_at, processed_at, \
     outcome, reason, meeting_uri, invitee_uri, changed";

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        channel_id: row.get(0)?,
        delivery_id: row.get(1)?,
        event: row.get(2)?,
        received_at: row.get::<_, SqlTime>(3)?.0,
        processed_at: row.get::<_, SqlTime>(4)?.0,
        outcome: DeliveryOutcome::parse(&row.get::<_, String>(5)?),
        reason: row.get(6)?,
        meeting_uri: row.get(7)?,
        invitee_uri: row.get(8)?,
        changed: row.get(9)?,
    })
}

/// True when this relay delivery id of this channel is already recorded.
fn already_recorded(
    connection: &Connection,
    account: AccountId,
    delivery: &IncomingDelivery,
) -> rusqlite::Result<bool> {
    connection
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM webhook_deliveries
                             WHERE account_id = ?1 AND channel_id = ?2 AND delivery_id = ?3)",
        )?
        .query_row(
            params![account.0, delivery.channel_id, delivery.delivery_id],
            |row| row.get(0),
        )
}

/// The relay id of an earlier applied delivery with the same body, if there is one.
fn applied_with_same_body(
    connection: &Connection,
    account: AccountId,
    digest: &str,
) -> rusqlite::Result<Option<i64>> {
    connection
        .prepare_cached(
            "SELECT delivery_id FROM webhook_deliveries
              WHERE account_id = ?1 AND body_digest = ?2 AND outcome = 'applied'
              ORDER BY webhook_delivery_id LIMIT 1",
        )?
        .query_row(params![account.0, digest], |row| row.get(0))
        .optional()
}

fn insert_delivery(
    connection: &Connection,
    account: AccountId,
    delivery: &IncomingDelivery,
    outcome: DeliveryOutcome,
    reason: Option<&str>,
    changed: bool,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO webhook_deliveries (account_id, channel_id, delivery_id, event, received_at,
                                             processed_at, outcome, reason, body_digest, meeting_uri,
                                             invitee_uri, changed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            account.0,
            delivery.channel_id,
            delivery.delivery_id,
            delivery.event,
            SqlTime(delivery.received_at),
            SqlTime(now),
            outcome.as_str(),
            reason,
            delivery.body_digest,
            delivery.meeting_uri,
            delivery.invitee_uri,
            changed,
        ])?;
    // The cursor only moves forward, and only for the channel the account uses now.
    connection
        .prepare_cached(
            "UPDATE realtime_channels SET last_delivery_id = ?3
              WHERE account_id = ?1 AND channel_id = ?2 AND last_delivery_id < ?3",
        )?
        .execute(params![
            account.0,
            delivery.channel_id,
            delivery.delivery_id
        ])?;
    Ok(())
}

impl Store {
    /// Makes every commit on this connection wait for the disk (`synchronous = FULL`), so a
    /// delivery acknowledged to the relay survives a power cut, not only a crash. The
    /// listener's own connection uses it; other connections keep WAL's cheaper default.
    pub fn use_durable_commits(&self) -> Result<(), StoreError> {
        self.connection.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    /// The account's relay channel, if one is remembered.
    pub fn realtime_channel(
        &self,
        account: AccountId,
    ) -> Result<Option<RealtimeChannelRow>, StoreError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {CHANNEL_COLUMNS} FROM realtime_channels WHERE account_id = ?1"),
                [account.0],
                channel_from_row,
            )
            .optional()?)
    }

    /// Remembers the account's relay channel, replacing a previous one (whose subscription
    /// details and cursor do not carry over: a new channel numbers its deliveries afresh).
    pub fn save_realtime_channel(
        &mut self,
        account: AccountId,
        channel: &NewRealtimeChannel,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require_account(account)?;
        self.connection.execute(
            "INSERT INTO realtime_channels (account_id, relay_base, channel_id, ingress_url, signed_by,
                                            created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (account_id) DO UPDATE SET
                 relay_base = excluded.relay_base, channel_id = excluded.channel_id,
                 ingress_url = excluded.ingress_url, signed_by = excluded.signed_by,
                 subscription_uri = NULL, subscription_state = NULL,
                 subscription_checked_at = NULL, off_reason = NULL, last_delivery_id = 0,
                 stream_state = NULL, stream_reason = NULL, stream_changed_at = NULL,
                 created_at = excluded.created_at, updated_at = excluded.updated_at",
            params![
                account.0,
                channel.relay_base,
                channel.channel_id,
                channel.ingress_url,
                channel.signed_by.as_str(),
                SqlTime(now),
            ],
        )?;
        Ok(())
    }

    /// Records the subscription found or made at Calendly for the channel (and who signs its
    /// deliveries), and clears any "real time is off" reason.
    pub fn set_realtime_subscription(
        &mut self,
        account: AccountId,
        subscription_uri: &str,
        subscription_state: &str,
        signed_by: SigningAuthority,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE realtime_channels
                SET subscription_uri = ?2, subscription_state = ?3, signed_by = ?4,
                    subscription_checked_at = ?5, off_reason = NULL, updated_at = ?5
              WHERE account_id = ?1",
            params![
                account.0,
                subscription_uri,
                subscription_state,
                signed_by.as_str(),
                SqlTime(now)
            ],
        )?;
        Ok(())
    }

    /// Turns real time off for the account with a sentence saying why (no subscription is
    /// kept); the next successful check clears it.
    pub fn set_realtime_off(
        &mut self,
        account: AccountId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE realtime_channels
                SET off_reason = ?2, subscription_uri = NULL, subscription_state = NULL,
                    subscription_checked_at = ?3, updated_at = ?3
              WHERE account_id = ?1",
            params![account.0, reason, SqlTime(now)],
        )?;
        Ok(())
    }

    /// Records what the listener holding the stream reports, for other processes' status.
    pub fn set_realtime_stream_state(
        &mut self,
        account: AccountId,
        state: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE realtime_channels
                SET stream_state = ?2, stream_reason = ?3, stream_changed_at = ?4
              WHERE account_id = ?1",
            params![account.0, state, reason, SqlTime(now)],
        )?;
        Ok(())
    }

    /// Forgets the account's channel (after deleting it at the relay). Its deliveries stay as
    /// history until [`Store::prune_deliveries`] or a wipe removes them.
    pub fn delete_realtime_channel(&mut self, account: AccountId) -> Result<(), StoreError> {
        self.connection.execute(
            "DELETE FROM realtime_channels WHERE account_id = ?1",
            [account.0],
        )?;
        Ok(())
    }

    /// Verifies nothing: records a delivery the caller refused, with its reason, and moves the
    /// cursor past it. A delivery id already recorded is reported as a duplicate instead.
    pub fn record_rejected_delivery(
        &mut self,
        account: AccountId,
        delivery: &IncomingDelivery,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RecordedDelivery, StoreError> {
        self.require_account(account)?;
        // Immediate: the write lock is taken before the first read, so a delivery applied while
        // a poll writes waits its turn instead of failing "locked".
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if already_recorded(&transaction, account, delivery)? {
            return Ok(duplicate_of_recorded(delivery));
        }
        insert_delivery(
            &transaction,
            account,
            delivery,
            DeliveryOutcome::Rejected,
            Some(reason),
            false,
            now,
        )?;
        transaction.commit()?;
        Ok(RecordedDelivery {
            outcome: DeliveryOutcome::Rejected,
            reason: Some(reason.to_owned()),
            applied: ApplyOutcome::default(),
        })
    }

    /// Applies a verified delivery (the event and the invitee it carries) and records it, in
    /// ONE transaction with the stream cursor. The same relay id again, or the same Calendly
    /// message (same body) under a new id, is a `Duplicate` and changes nothing; an older
    /// payload never overwrites a newer row (the apply step compares `updated_at`).
    pub fn apply_delivery(
        &mut self,
        account: AccountId,
        delivery: &IncomingDelivery,
        event: &FetchedEvent,
        invitee: &FetchedInvitee,
        now: DateTime<Utc>,
    ) -> Result<RecordedDelivery, StoreError> {
        self.require_account(account)?;
        // Immediate: the write lock is taken before the first read, so a delivery applied while
        // a poll writes waits its turn instead of failing "locked".
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if already_recorded(&transaction, account, delivery)? {
            return Ok(duplicate_of_recorded(delivery));
        }
        if let Some(digest) = &delivery.body_digest {
            if let Some(earlier) = applied_with_same_body(&transaction, account, digest)? {
                let reason = format!(
                    "Calendly sent the same message again; delivery {earlier} already applied it"
                );
                insert_delivery(
                    &transaction,
                    account,
                    delivery,
                    DeliveryOutcome::Duplicate,
                    Some(&reason),
                    false,
                    now,
                )?;
                transaction.commit()?;
                return Ok(RecordedDelivery {
                    outcome: DeliveryOutcome::Duplicate,
                    reason: Some(reason),
                    applied: ApplyOutcome::default(),
                });
            }
        }
        let applied = apply_webhook_change_in(&transaction, account, event, invitee, now)?;
        insert_delivery(
            &transaction,
            account,
            delivery,
            DeliveryOutcome::Applied,
            None,
            applied.changed_anything(),
            now,
        )?;
        transaction.commit()?;
        Ok(RecordedDelivery {
            outcome: DeliveryOutcome::Applied,
            reason: None,
            applied,
        })
    }

    /// The account's recorded deliveries, newest first, at most `limit`.
    pub fn deliveries(
        &self,
        account: AccountId,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = ?1
              ORDER BY webhook_delivery_id DESC LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![account.0, limit], delivery_from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the relay received the newest delivery recorded for the account.
    pub fn last_delivery_at(
        &self,
        account: AccountId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT max(received_at) FROM webhook_deliveries WHERE account_id = ?1",
                [account.0],
                |row| row.get::<_, Option<SqlTime>>(0),
            )?
            .map(|time| time.0))
    }

    /// Removes delivery records processed before `before`; returns how many. The cursor is
    /// kept in the channel row, so pruning never makes the stream resume earlier.
    pub fn prune_deliveries(
        &mut self,
        account: AccountId,
        before: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.connection.execute(
            "DELETE FROM webhook_deliveries WHERE account_id = ?1 AND processed_at < ?2",
            params![account.0, SqlTime(before)],
        )?)
    }
}

fn duplicate_of_recorded(delivery: &IncomingDelivery) -> RecordedDelivery {
    RecordedDelivery {
        outcome: DeliveryOutcome::Duplicate,
        reason: Some(format!(
            "delivery {} was already processed",
            delivery.delivery_id
        )),
        applied: ApplyOutcome::default(),
    }
}

#[cfg(test)]
mod tests;
