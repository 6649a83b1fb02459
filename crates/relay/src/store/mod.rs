//! Where channels and deliveries live: one [`Store`] trait and its backends.
//!
//! The HTTP layer knows only the trait. SQLite is the embedded default (one process), PostgreSQL
//! lets several relay instances share one store, and the in-memory store is the benchmark's floor
//! (and backs [`crate::RelayState::new`], which keeps nothing). Every backend passes the same
//! conformance suite (`tests/conformance.rs`).
//!
//! Ids are strictly increasing per channel and never reused: each channel row keeps `last_id`,
//! which only grows, and survives acknowledgements, drops and restarts.

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use advicly_relay_protocol::Gap;

use crate::wake::Wakeups;

/// A channel's identifier: 32 lowercase hex characters (128 random bits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(String);

impl ChannelId {
    /// A fresh random id.
    pub fn generate() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(hex::encode(bytes))
    }

    /// Accepts only the shape [`ChannelId::generate`] produces, so a path segment that could not
    /// be a channel never reaches the store.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == 32
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        well_formed.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, formatter)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The SHA-256 of a subscriber token: the only form in which a store holds it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TokenHash(<redacted>)")
    }
}

/// A channel about to be created.
#[derive(Clone, Debug)]
pub struct NewChannel {
    pub channel_id: ChannelId,
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
}

/// A delivery as it arrived at ingress, before it has an id.
#[derive(Clone)]
pub struct NewDelivery {
    pub channel_id: ChannelId,
    pub received_at: DateTime<Utc>,
    /// The `Calendly-Webhook-Signature` header verbatim.
    pub signature: Option<String>,
    /// The raw body bytes exactly as received.
    pub body: Bytes,
    /// `Some` only when the relay verifies signatures itself.
    pub relay_verified: Option<bool>,
}

impl fmt::Debug for NewDelivery {
    // Bodies and signatures never go into a log line, not even through `{:?}`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NewDelivery")
            .field("channel_id", &self.channel_id)
            .field("received_at", &self.received_at)
            .field("body_bytes", &self.body.len())
            .field("relay_verified", &self.relay_verified)
            .finish_non_exhaustive()
    }
}

impl NewDelivery {
    /// The delivery as committed with `id` (its channel is known from the context).
    pub fn stored(self, id: u64) -> StoredDelivery {
        StoredDelivery {
            id,
            received_at: self.received_at,
            signature: self.signature,
            body: self.body,
            relay_verified: self.relay_verified,
        }
    }
}

/// A committed delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub id: u64,
    pub received_at: DateTime<Utc>,
    pub signature: Option<String>,
    pub body: Bytes,
    pub relay_verified: Option<bool>,
}

impl fmt::Debug for StoredDelivery {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StoredDelivery")
            .field("id", &self.id)
            .field("received_at", &self.received_at)
            .field("body_bytes", &self.body.len())
            .field("relay_verified", &self.relay_verified)
            .finish_non_exhaustive()
    }
}

impl StoredDelivery {
    /// The SSE `data` of this delivery.
    pub fn to_wire(&self) -> advicly_relay_protocol::Delivery {
        advicly_relay_protocol::Delivery {
            id: self.id,
            received_at: self.received_at,
            signature: self.signature.clone(),
            body: advicly_relay_protocol::DeliveryBody::from_bytes(&self.body),
            relay_verified: self.relay_verified,
        }
    }
}

/// What an ingest did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Committed durably with this id; `dropped` older pending deliveries made room for it.
    Stored { id: u64, dropped: u64 },
    /// No such channel; nothing was stored.
    UnknownChannel,
}

/// What a subscriber at some cursor is owed next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadBatch {
    /// Deliveries after the cursor that were dropped before being acknowledged.
    pub gap: Option<Gap>,
    /// The retained deliveries after the cursor (and after the gap), in id order.
    pub deliveries: Vec<StoredDelivery>,
}

/// Per-channel limits the store enforces inside the ingest transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelCaps {
    /// At most this many unacknowledged deliveries; beyond it the oldest are dropped.
    pub max_pending_deliveries: u64,
    /// At most this many unacknowledged body bytes; beyond it the oldest are dropped.
    pub max_pending_bytes: u64,
}

impl Default for ChannelCaps {
    fn default() -> Self {
        Self {
            max_pending_deliveries: 10_000,
            max_pending_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A storage failure. The HTTP layer answers 503 and logs it; nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the SQLite store failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the PostgreSQL store failed: {0}")]
    Postgres(String),
    #[error("the store could not create its folder {path}: {source}")]
    CreateFolder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the store's database was written by a newer relay (schema version {found}, this relay knows {known}); upgrade the relay")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store could not commit: {0}")]
    CommitFailed(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("the store holds a value it cannot read back: {0}")]
    Corrupt(String),
}

/// One store of channels and deliveries. Every write is durable when its future resolves `Ok`.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Creates a channel (its id is new; a clash is an error).
    async fn create_channel(&self, channel: NewChannel) -> Result<(), StoreError>;

    /// The token hash of a channel, or `None` when it does not exist.
    async fn token_hash(&self, channel_id: &ChannelId) -> Result<Option<TokenHash>, StoreError>;

    /// Removes a channel and everything it holds; `false` when there was no such channel.
    async fn delete_channel(&self, channel_id: &ChannelId) -> Result<bool, StoreError>;

    /// Commits one delivery (concurrent calls may share one transaction), enforcing the caps.
    async fn ingest(&self, delivery: NewDelivery) -> Result<IngestOutcome, StoreError>;

    /// Up to `limit` deliveries after `after`, with a gap first when some were dropped;
    /// `None` when the channel does not exist.
    async fn read_after(
        &self,
        channel_id: &ChannelId,
        after: u64,
        limit: usize,
    ) -> Result<Option<ReadBatch>, StoreError>;

    /// Deletes deliveries with `id <= up_to`; `false` when there was no such channel. An
    /// acknowledgement beyond the newest delivery counts up to the newest only.
    async fn acknowledge(&self, channel_id: &ChannelId, up_to: u64) -> Result<bool, StoreError>;

    /// Drops unacknowledged deliveries received before `cutoff` (retention); returns how many.
    async fn expire(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// When the oldest unacknowledged delivery was received, if there is one.
    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Answers when the store can serve requests (`/healthz`).
    async fn check(&self) -> Result<(), StoreError>;

    /// Starts whatever tells this process about deliveries other processes committed (PostgreSQL's
    /// LISTEN). Backends that have only one process need nothing: ingest wakes subscribers.
    async fn start_wake_ups(&self, _wakeups: Arc<Wakeups>) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the store tells subscribers of each delivery it commits itself, once
    /// `start_wake_ups` has run (the SQLite writer does, right after the commit, which saves the
    /// ingest handler's wake-up on the way to the subscribers). When false, the handler does.
    fn announces_commits(&self) -> bool {
        false
    }

    /// Finishes every write already accepted, then refuses new ones.
    async fn close(&self);
}

/// How many ingests the writer folds into one transaction at most.
pub(crate) const MAX_GROUP_COMMIT: usize = 512;

/// How long a store waits for a busy lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Milliseconds since the epoch, the stores' time column.
pub(crate) fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(crate) fn from_millis(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {millis} ms is out of range")))
}

/// The gap a subscriber at `after` must be told about, given a channel's counters: deliveries
/// dropped (not acknowledged) beyond both the cursor and the acknowledgement.
pub(crate) fn gap_for(after: u64, acked_through: u64, dropped_through: u64) -> Option<Gap> {
    let seen = after.max(acked_through);
    (dropped_through > seen).then_some(Gap {
        after: seen,
        before: dropped_through + 1,
    })
}
