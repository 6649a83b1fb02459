//! The SQLite store: one file in the data folder, WAL with `synchronous=FULL`, one writer thread
//! that folds concurrent writes into shared transactions (group commit), a checkpointer thread
//! that copies the WAL into the database file off the commit path, and a few read connections.
//!
//! A write's future resolves only after the transaction holding it has committed, so a 2xx at
//! ingress means the delivery survives kill -9 (and, with `synchronous=FULL`, power loss).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use tokio::sync::{mpsc, oneshot};

use crate::wake::Wakeups;

use super::{
    from_millis, gap_for, to_millis, ChannelCaps, ChannelId, IngestOutcome, NewChannel,
    NewDelivery, ReadBatch, Store, StoreError, StoredDelivery, TokenHash, BUSY_TIMEOUT,
    MAX_GROUP_COMMIT,
};

/// The file the store lives in, inside the data folder.
pub const DATABASE_FILE: &str = "relay.sqlite3";

/// Append-only: each entry moves the schema one `user_version` forward. Never edit one.
const MIGRATIONS: &[&str] = &[
    // 1: channels and their deliveries.
    "CREATE TABLE channels (
        channel_id      TEXT PRIMARY KEY NOT NULL,
        token_hash      BLOB NOT NULL,
        created_at      INTEGER NOT NULL,
        last_id         INTEGER NOT NULL DEFAULT 0,
        acked_through   INTEGER NOT NULL DEFAULT 0,
        dropped_through INTEGER NOT NULL DEFAULT 0,
        pending_count   INTEGER NOT NULL DEFAULT 0,
        pending_bytes   INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE deliveries (
        channel_id     TEXT NOT NULL,
        id             INTEGER NOT NULL,
        received_at    INTEGER NOT NULL,
        signature      TEXT,
        body           BLOB NOT NULL,
        relay_verified INTEGER,
        PRIMARY KEY (channel_id, id)
    );
    CREATE INDEX deliveries_by_received_at ON deliveries (received_at);",
];

/// How many read connections the store keeps, and how many reads run at once.
const READERS: usize = 4;

/// After this many writes the writer asks the checkpointer thread to copy the WAL into the
/// database file (a few WAL pages per ingest, so roughly SQLite's default of 1,000 pages).
const CHECKPOINT_EVERY_WRITES: usize = 256;

/// The writer checkpoints by itself only when the WAL holds this many pages (~40 MiB): a
/// backstop for sustained load, under which the background checkpoints never reach the end of
/// the WAL and so never let it start over.
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// The SQLite backend. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: mpsc::Sender<Write>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// One permit per reader connection: a burst of reads (10,000 subscribers reconnecting
    /// after a restart) queues here instead of starting a blocking thread and opening a
    /// connection for each read.
    read_permits: Arc<tokio::sync::Semaphore>,
    /// The health check's own permit: `/healthz` answers during such a burst too.
    check_permit: Arc<tokio::sync::Semaphore>,
    /// Set by `start_wake_ups`. From then on the writer thread tells subscribers of each
    /// delivery right after its commit, before it answers the ingest: one wake-up fewer between
    /// the commit and the subscribers than if the woken handler did it.
    announcer: Arc<OnceLock<Arc<Wakeups>>>,
}

/// One write the writer thread performs inside a group transaction.
enum Write {
    CreateChannel(NewChannel, oneshot::Sender<Result<(), StoreError>>),
    DeleteChannel(ChannelId, oneshot::Sender<Result<bool, StoreError>>),
    Ingest(
        NewDelivery,
        oneshot::Sender<Result<IngestOutcome, StoreError>>,
    ),
    Acknowledge(ChannelId, u64, oneshot::Sender<Result<bool, StoreError>>),
    Expire(DateTime<Utc>, oneshot::Sender<Result<u64, StoreError>>),
    Close(oneshot::Sender<()>),
}

/// Sends a write's outcome once its transaction's fate is known.
type Reply = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// An ingest's reply: once the commit succeeded, first tells the channel's subscribers (when the
/// store announces commits), then answers the handler.
fn announced(
    reply: oneshot::Sender<Result<IngestOutcome, StoreError>>,
    result: Result<IngestOutcome, StoreError>,
    delivery: NewDelivery,
    wakeups: Option<Arc<Wakeups>>,
) -> Reply {
    Box::new(move |commit: Result<(), &str>| {
        let outcome = committed(commit, result);
        if let (Ok(IngestOutcome::Stored { id, .. }), Some(wakeups)) = (&outcome, wakeups) {
            let channel_id = delivery.channel_id.clone();
            crate::events::announce(&wakeups, &channel_id, &delivery.stored(*id));
        }
        let _ = reply.send(outcome);
    })
}

/// A write's result once its group's commit is known: a failed commit fails every write in the
/// group, since none of them is durable.
fn committed<T>(commit: Result<(), &str>, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match commit {
        Ok(()) => result,
        Err(message) => Err(StoreError::CommitFailed(message.to_owned())),
    }
}

fn deferred<T: Send + 'static>(
    reply: oneshot::Sender<Result<T, StoreError>>,
    result: Result<T, StoreError>,
) -> Reply {
    Box::new(move |commit: Result<(), &str>| {
        let _ = reply.send(committed(commit, result));
    })
}

impl SqliteStore {
    /// Opens (or creates) the store in `data_dir`, migrating it to the current schema.
    pub fn open(data_dir: &Path, caps: ChannelCaps) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateFolder {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut connection = Connection::open(&path)?;
        configure(&connection)?;
        migrate(&mut connection)?;
        // Checkpoints copy the WAL into the database file and fsync it; done inside a commit they
        // stall every ingest of the group behind them, so a thread of their own does them.
        connection.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        let checkpoint_connection = Connection::open(&path)?;
        configure(&checkpoint_connection)?;
        let spawn_failed = |source| StoreError::CreateFolder {
            path: path.clone(),
            source,
        };
        let (checkpoint_requests, checkpoint_wanted) = std::sync::mpsc::sync_channel(1);
        let checkpointer_thread = std::thread::Builder::new()
            .name("relay-sqlite-checkpointer".into())
            .spawn(move || checkpoint_loop(checkpoint_connection, checkpoint_wanted))
            .map_err(spawn_failed)?;
        let (writer, requests) = mpsc::channel(4 * MAX_GROUP_COMMIT);
        let announcer: Arc<OnceLock<Arc<Wakeups>>> = Arc::default();
        let writer_announcer = announcer.clone();
        let writer_thread = std::thread::Builder::new()
            .name("relay-sqlite-writer".into())
            .spawn(move || {
                write_loop(
                    connection,
                    requests,
                    caps,
                    checkpoint_requests,
                    &writer_announcer,
                )
            })
            .map_err(spawn_failed)?;
        Ok(Self {
            path,
            writer,
            writer_thread: Mutex::new(Some(writer_thread)),
            checkpointer_thread: Mutex::new(Some(checkpointer_thread)),
            readers: Arc::new(Mutex::new(Vec::new())),
            read_permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
            check_permit: Arc::new(tokio::sync::Semaphore::new(1)),
            announcer,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Write,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(build(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read_with(&self.read_permits, query).await
    }

    async fn read_with<T: Send + 'static>(
        &self,
        permits: &Arc<tokio::sync::Semaphore>,
        query: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let mut connection = match idle {
                Some(connection) => connection,
                None => open_reader(&path)?,
            };
            let result = query(&mut connection);
            let mut idle = readers.lock().unwrap_or_else(PoisonError::into_inner);
            // One more than the readers: the health check's connection.
            if idle.len() <= READERS {
                idle.push(connection);
            }
            result
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

fn configure(connection: &Connection) -> Result<(), StoreError> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL syncs the WAL at every commit: an acknowledged delivery survives power loss too.
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::SchemaTooNew {
            found: version,
            known,
        });
    }
    for migration in &MIGRATIONS[version as usize..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", known)?;
    transaction.commit()?;
    Ok(())
}

/// The checkpointer thread: a PASSIVE checkpoint whenever the writer asks for one. PASSIVE never
/// blocks the writer or a reader; the commits themselves are already durable in the WAL.
fn checkpoint_loop(connection: Connection, wanted: std::sync::mpsc::Receiver<()>) {
    // The writer hangs up when the store closes.
    while wanted.recv().is_ok() {
        let checkpoint: rusqlite::Result<()> =
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(error) = checkpoint {
            tracing::warn!(%error, "the SQLite store could not checkpoint its WAL");
        }
    }
}

/// The writer thread: takes every write waiting in the queue (up to [`MAX_GROUP_COMMIT`]), runs
/// them in one transaction, commits once, then answers them all.
fn write_loop(
    mut connection: Connection,
    mut requests: mpsc::Receiver<Write>,
    caps: ChannelCaps,
    checkpoint: std::sync::mpsc::SyncSender<()>,
    announcer: &OnceLock<Arc<Wakeups>>,
) {
    let mut closing = None;
    let mut writes_since_checkpoint = 0;
    while closing.is_none() {
        let Some(first) = requests.blocking_recv() else {
            break;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP_COMMIT {
            match requests.try_recv() {
                Ok(write) => group.push(write),
                Err(_) => break,
            }
        }
        // The close ends the loop even if this group cannot commit; writes queued behind it are
        // refused (their callers see `Closed`).
        if let Some(close_at) = group
            .iter()
            .position(|write| matches!(write, Write::Close(_)))
        {
            if let Some(Write::Close(done)) = group.drain(close_at..).next() {
                closing = Some(done);
            }
        }
        metrics::histogram!(crate::metrics::COMMIT_GROUP_SIZE).record(group.len() as f64);
        writes_since_checkpoint += group.len();
        let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
        let outcome = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(transaction) => {
                for write in group {
                    replies.push(apply_isolated(&transaction, write, caps, announcer));
                }
                transaction.commit()
            }
            Err(error) => {
                // No transaction: every write of the group is answered with its cause.
                replies.extend(group.into_iter().map(unapplied));
                Err(error)
            }
        };
        let failure = outcome.err().map(|error| error.to_string());
        if let Some(message) = &failure {
            tracing::error!(error = %message, "the SQLite store could not commit a group of writes");
        }
        for reply in replies {
            reply(failure.as_deref().map_or(Ok(()), Err));
        }
        if writes_since_checkpoint >= CHECKPOINT_EVERY_WRITES {
            // A full channel means a checkpoint is already due; it covers these writes too.
            let _ = checkpoint.try_send(());
            writes_since_checkpoint = 0;
        }
    }
    drop(checkpoint);
    // Writes queued behind the close are refused; their callers see `Closed`.
    requests.close();
    while requests.try_recv().is_ok() {}
    drop(connection);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// The reply of a write that never ran: its group's failure is its answer.
fn unapplied(write: Write) -> Reply {
    fn refused<T: Send + 'static>(reply: oneshot::Sender<Result<T, StoreError>>) -> Reply {
        // Never sent as it is: a failed commit replaces it with `CommitFailed`.
        deferred(reply, Err(StoreError::Closed))
    }
    match write {
        Write::CreateChannel(_, reply) => refused(reply),
        Write::DeleteChannel(_, reply) | Write::Acknowledge(_, _, reply) => refused(reply),
        Write::Ingest(_, reply) => refused(reply),
        Write::Expire(_, reply) => refused(reply),
        Write::Close(_) => unreachable!("close is handled by the write loop"),
    }
}

/// Runs one write inside its own savepoint, so that a failing write leaves the others intact.
fn apply_isolated(
    transaction: &Transaction<'_>,
    write: Write,
    caps: ChannelCaps,
    announcer: &OnceLock<Arc<Wakeups>>,
) -> Reply {
    // Cached statements: a savepoint costs two cheap steps, not two parses, per write.
    let run = |sql: &str| {
        transaction
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
    };
    let savepoint = match run("SAVEPOINT one_write") {
        Ok(_) => true,
        Err(error) => {
            tracing::error!(%error, "the SQLite store could not open a savepoint");
            false
        }
    };
    let (reply, failed) = apply(transaction, write, caps, announcer);
    if savepoint {
        let ended = if failed {
            run("ROLLBACK TO one_write").and_then(|_| run("RELEASE one_write"))
        } else {
            run("RELEASE one_write")
        };
        if let Err(error) = ended {
            tracing::error!(%error, "the SQLite store could not close a savepoint");
        }
    }
    reply
}

fn apply(
    transaction: &Transaction<'_>,
    write: Write,
    caps: ChannelCaps,
    announcer: &OnceLock<Arc<Wakeups>>,
) -> (Reply, bool) {
    fn finish<T: Send + 'static>(
        reply: oneshot::Sender<Result<T, StoreError>>,
        result: Result<T, StoreError>,
    ) -> (Reply, bool) {
        let failed = result.is_err();
        (deferred(reply, result), failed)
    }
    match write {
        Write::CreateChannel(channel, reply) => {
            finish(reply, create_channel(transaction, &channel))
        }
        Write::DeleteChannel(channel_id, reply) => {
            finish(reply, delete_channel(transaction, &channel_id))
        }
        Write::Ingest(delivery, reply) => {
            let result = ingest(transaction, &delivery, caps);
            let failed = result.is_err();
            let wakeups = announcer.get().cloned();
            (announced(reply, result, delivery, wakeups), failed)
        }
        Write::Acknowledge(channel_id, up_to, reply) => {
            finish(reply, acknowledge(transaction, &channel_id, up_to))
        }
        Write::Expire(cutoff, reply) => finish(reply, expire(transaction, cutoff)),
        Write::Close(_) => unreachable!("close is handled by the write loop"),
    }
}

fn create_channel(transaction: &Transaction<'_>, channel: &NewChannel) -> Result<(), StoreError> {
    transaction.execute(
        "INSERT INTO channels (channel_id, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![
            channel.channel_id.as_str(),
            &channel.token_hash.0[..],
            to_millis(channel.created_at)
        ],
    )?;
    Ok(())
}

fn delete_channel(
    transaction: &Transaction<'_>,
    channel_id: &ChannelId,
) -> Result<bool, StoreError> {
    transaction.execute(
        "DELETE FROM deliveries WHERE channel_id = ?1",
        [channel_id.as_str()],
    )?;
    let deleted = transaction.execute(
        "DELETE FROM channels WHERE channel_id = ?1",
        [channel_id.as_str()],
    )?;
    Ok(deleted > 0)
}

fn ingest(
    transaction: &Transaction<'_>,
    delivery: &NewDelivery,
    caps: ChannelCaps,
) -> Result<IngestOutcome, StoreError> {
    let body_bytes = delivery.body.len() as i64;
    let counters: Option<(i64, i64, i64)> = transaction
        .prepare_cached(
            "UPDATE channels SET last_id = last_id + 1, pending_count = pending_count + 1,
                 pending_bytes = pending_bytes + ?2
             WHERE channel_id = ?1 RETURNING last_id, pending_count, pending_bytes",
        )?
        .query_row(params![delivery.channel_id.as_str(), body_bytes], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((id, pending_count, pending_bytes)) = counters else {
        return Ok(IngestOutcome::UnknownChannel);
    };
    transaction
        .prepare_cached(
            "INSERT INTO deliveries (channel_id, id, received_at, signature, body, relay_verified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            delivery.channel_id.as_str(),
            id,
            to_millis(delivery.received_at),
            delivery.signature.as_deref(),
            &delivery.body[..],
            delivery.relay_verified,
        ])?;
    let over_caps = pending_count as u64 > caps.max_pending_deliveries
        || pending_bytes as u64 > caps.max_pending_bytes;
    let dropped = if over_caps {
        drop_oldest(
            transaction,
            &delivery.channel_id,
            pending_count as u64,
            pending_bytes as u64,
            caps,
        )?
    } else {
        0
    };
    Ok(IngestOutcome::Stored {
        id: id as u64,
        dropped,
    })
}

/// Drops a channel's oldest pending deliveries until it is within its caps again.
fn drop_oldest(
    transaction: &Transaction<'_>,
    channel_id: &ChannelId,
    mut pending_count: u64,
    mut pending_bytes: u64,
    caps: ChannelCaps,
) -> Result<u64, StoreError> {
    let mut last_dropped = None;
    let mut dropped = 0;
    {
        let mut oldest = transaction.prepare_cached(
            "SELECT id, length(body) FROM deliveries WHERE channel_id = ?1 ORDER BY id",
        )?;
        let mut rows = oldest.query([channel_id.as_str()])?;
        while pending_count > caps.max_pending_deliveries || pending_bytes > caps.max_pending_bytes
        {
            let Some(row) = rows.next()? else { break };
            let id: i64 = row.get(0)?;
            let bytes: i64 = row.get(1)?;
            last_dropped = Some(id);
            dropped += 1;
            pending_count -= 1;
            pending_bytes = pending_bytes.saturating_sub(bytes as u64);
        }
    }
    if let Some(last_dropped) = last_dropped {
        transaction
            .prepare_cached("DELETE FROM deliveries WHERE channel_id = ?1 AND id <= ?2")?
            .execute(params![channel_id.as_str(), last_dropped])?;
        transaction
            .prepare_cached(
                "UPDATE channels SET pending_count = ?2, pending_bytes = ?3,
                     dropped_through = max(dropped_through, ?4)
                 WHERE channel_id = ?1",
            )?
            .execute(params![
                channel_id.as_str(),
                pending_count as i64,
                pending_bytes as i64,
                last_dropped
            ])?;
    }
    Ok(dropped)
}

/// Deletes a channel's deliveries up to `through`, keeping the counters true; returns how many.
fn delete_through(
    transaction: &Transaction<'_>,
    channel_id: &str,
    through: i64,
) -> Result<(u64, u64), StoreError> {
    let mut statement = transaction.prepare_cached(
        "DELETE FROM deliveries WHERE channel_id = ?1 AND id <= ?2 RETURNING length(body)",
    )?;
    let mut rows = statement.query(params![channel_id, through])?;
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some(row) = rows.next()? {
        count += 1;
        bytes += row.get::<_, i64>(0)? as u64;
    }
    drop(rows);
    transaction
        .prepare_cached(
            "UPDATE channels SET pending_count = max(pending_count - ?2, 0),
                 pending_bytes = max(pending_bytes - ?3, 0)
             WHERE channel_id = ?1",
        )?
        .execute(params![channel_id, count as i64, bytes as i64])?;
    Ok((count, bytes))
}

fn acknowledge(
    transaction: &Transaction<'_>,
    channel_id: &ChannelId,
    up_to: u64,
) -> Result<bool, StoreError> {
    let up_to = i64::try_from(up_to).unwrap_or(i64::MAX);
    let acked: Option<i64> = transaction
        .prepare_cached(
            "UPDATE channels SET acked_through = max(acked_through, min(?2, last_id))
             WHERE channel_id = ?1 RETURNING acked_through",
        )?
        .query_row(params![channel_id.as_str(), up_to], |row| row.get(0))
        .optional()?;
    let Some(acked) = acked else {
        return Ok(false);
    };
    delete_through(transaction, channel_id.as_str(), acked)?;
    Ok(true)
}

fn expire(transaction: &Transaction<'_>, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
    let expired: Vec<(String, i64)> = transaction
        .prepare_cached(
            "SELECT channel_id, max(id) FROM deliveries WHERE received_at < ?1 GROUP BY channel_id",
        )?
        .query_map([to_millis(cutoff)], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut total = 0;
    for (channel_id, through) in expired {
        // Everything up to the newest expired id goes, so drops stay oldest-first by id.
        let (count, _) = delete_through(transaction, &channel_id, through)?;
        transaction
            .prepare_cached(
                "UPDATE channels SET dropped_through = max(dropped_through, ?2) WHERE channel_id = ?1",
            )?
            .execute(params![channel_id, through])?;
        total += count;
    }
    Ok(total)
}

fn read_after(
    connection: &mut Connection,
    channel_id: &ChannelId,
    after: u64,
    limit: usize,
) -> Result<Option<ReadBatch>, StoreError> {
    // One read transaction, so the counters and the rows are the same snapshot.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let counters: Option<(i64, i64)> = transaction
        .prepare_cached(
            "SELECT acked_through, dropped_through FROM channels WHERE channel_id = ?1",
        )?
        .query_row([channel_id.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((acked_through, dropped_through)) = counters else {
        return Ok(None);
    };
    let gap = gap_for(after, acked_through as u64, dropped_through as u64);
    let start = after.max(acked_through as u64).max(dropped_through as u64);
    let mut statement = transaction.prepare_cached(
        "SELECT id, received_at, signature, body, relay_verified FROM deliveries
         WHERE channel_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![
            channel_id.as_str(),
            i64::try_from(start).unwrap_or(i64::MAX),
            limit as i64
        ],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Vec<u8>>(3)?,
                row.get::<_, Option<bool>>(4)?,
            ))
        },
    )?;
    let mut deliveries = Vec::new();
    for row in rows {
        let (id, received_at, signature, body, relay_verified) = row?;
        deliveries.push(StoredDelivery {
            id: id as u64,
            received_at: from_millis(received_at)?,
            signature,
            body: Bytes::from(body),
            relay_verified,
        });
    }
    Ok(Some(ReadBatch { gap, deliveries }))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_channel(&self, channel: NewChannel) -> Result<(), StoreError> {
        self.write(|reply| Write::CreateChannel(channel, reply))
            .await
    }

    async fn token_hash(&self, channel_id: &ChannelId) -> Result<Option<TokenHash>, StoreError> {
        let channel_id = channel_id.clone();
        self.read(move |connection| {
            let hash: Option<Vec<u8>> = connection
                .prepare_cached("SELECT token_hash FROM channels WHERE channel_id = ?1")?
                .query_row([channel_id.as_str()], |row| row.get(0))
                .optional()?;
            hash.map(|bytes| {
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(TokenHash)
                    .map_err(|_| StoreError::Corrupt("a token hash is not 32 bytes".into()))
            })
            .transpose()
        })
        .await
    }

    async fn delete_channel(&self, channel_id: &ChannelId) -> Result<bool, StoreError> {
        let channel_id = channel_id.clone();
        self.write(|reply| Write::DeleteChannel(channel_id, reply))
            .await
    }

    async fn ingest(&self, delivery: NewDelivery) -> Result<IngestOutcome, StoreError> {
        self.write(|reply| Write::Ingest(delivery, reply)).await
    }

    async fn read_after(
        &self,
        channel_id: &ChannelId,
        after: u64,
        limit: usize,
    ) -> Result<Option<ReadBatch>, StoreError> {
        let channel_id = channel_id.clone();
        self.read(move |connection| read_after(connection, &channel_id, after, limit))
            .await
    }

    async fn acknowledge(&self, channel_id: &ChannelId, up_to: u64) -> Result<bool, StoreError> {
        let channel_id = channel_id.clone();
        self.write(|reply| Write::Acknowledge(channel_id, up_to, reply))
            .await
    }

    async fn expire(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(|reply| Write::Expire(cutoff, reply)).await
    }

    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let oldest: Option<i64> = self
            .read(|connection| {
                Ok(
                    connection.query_row("SELECT min(received_at) FROM deliveries", [], |row| {
                        row.get(0)
                    })?,
                )
            })
            .await?;
        oldest.map(from_millis).transpose()
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.read_with(&self.check_permit, |connection| {
            connection.query_row("SELECT count(*) FROM channels LIMIT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn start_wake_ups(&self, wakeups: Arc<Wakeups>) -> Result<(), StoreError> {
        // Only this process writes the file, so its own ingests are all there is to announce.
        let _ = self.announcer.set(wakeups);
        Ok(())
    }

    fn announces_commits(&self) -> bool {
        self.announcer.get().is_some()
    }

    async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.writer.send(Write::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
        let thread = self
            .writer_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let checkpointer = self
            .checkpointer_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // The writer has hung up on the checkpointer, which finishes its checkpoint and ends.
        if let Some(thread) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
