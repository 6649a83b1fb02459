//! The PostgreSQL store: several relay instances share one database. The tables are the truth;
//! `NOTIFY` inside each ingest transaction wakes subscribers on every instance once it commits.
//!
//! One writer task per instance owns a connection and folds concurrent ingests into one
//! transaction whose statements are pipelined (group commit); a group that fails is retried one
//! write at a time, so one bad write never fails its neighbours. Ingests in a group take their
//! channel row locks in channel order, so two instances cannot deadlock each other. Reads use a
//! small connection pool; a stream's read is one statement, hence one snapshot.

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};

use super::{
    from_millis, gap_for, to_millis, ChannelCaps, ChannelId, IngestOutcome, NewChannel,
    NewDelivery, ReadBatch, Store, StoreError, StoredDelivery, TokenHash, MAX_GROUP_COMMIT,
};
use crate::wake::Wakeups;

/// The NOTIFY channel; the payload is `<channel_id>:<newest id>`.
pub const NOTIFY_CHANNEL: &str = "advicly_relay_deliveries";

/// How long one connection attempt may take unless the database URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long data sent on an open connection may go unacknowledged by the server's host.
const UNACKNOWLEDGED_TIMEOUT: Duration = Duration::from_secs(10);

/// Taken while migrating, so instances starting together migrate once.
const MIGRATION_LOCK: i64 = 0x0061_6476_6963_6c79;

/// Append-only: each entry moves `relay_schema_version` one forward. Never edit one.
const MIGRATIONS: &[&str] = &[
    // 1: channels and their deliveries.
    "CREATE TABLE channels (
        channel_id      TEXT PRIMARY KEY,
        token_hash      BYTEA NOT NULL,
        created_at      BIGINT NOT NULL,
        last_id         BIGINT NOT NULL DEFAULT 0,
        acked_through   BIGINT NOT NULL DEFAULT 0,
        dropped_through BIGINT NOT NULL DEFAULT 0,
        pending_count   BIGINT NOT NULL DEFAULT 0,
        pending_bytes   BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE deliveries (
        channel_id     TEXT NOT NULL,
        id             BIGINT NOT NULL,
        received_at    BIGINT NOT NULL,
        signature      TEXT,
        body           BYTEA NOT NULL,
        relay_verified BOOLEAN,
        PRIMARY KEY (channel_id, id)
    );
    CREATE INDEX deliveries_by_received_at ON deliveries (received_at);",
];

const INGEST: &str = "WITH counters AS (
        UPDATE channels SET last_id = last_id + 1, pending_count = pending_count + 1,
            pending_bytes = pending_bytes + $2
        WHERE channel_id = $1 RETURNING last_id, pending_count, pending_bytes
    ), stored AS (
        INSERT INTO deliveries (channel_id, id, received_at, signature, body, relay_verified)
        SELECT $1, last_id, $3, $4, $5, $6 FROM counters RETURNING id
    )
    SELECT last_id, pending_count, pending_bytes FROM counters";

const DELETE_THROUGH: &str = "WITH gone AS (
        DELETE FROM deliveries WHERE channel_id = $1 AND id <= $2 RETURNING octet_length(body) AS bytes
    )
    UPDATE channels SET
        pending_count = GREATEST(pending_count - (SELECT count(*) FROM gone), 0),
        pending_bytes = GREATEST(pending_bytes - (SELECT COALESCE(sum(bytes), 0) FROM gone), 0)
    WHERE channel_id = $1
    RETURNING (SELECT count(*) FROM gone)";

const READ_AFTER: &str = "SELECT c.acked_through, c.dropped_through,
        d.id, d.received_at, d.signature, d.body, d.relay_verified
    FROM channels c
    LEFT JOIN LATERAL (
        SELECT id, received_at, signature, body, relay_verified FROM deliveries
        WHERE channel_id = c.channel_id AND id > GREATEST($2, c.acked_through, c.dropped_through)
        ORDER BY id LIMIT $3
    ) d ON true
    WHERE c.channel_id = $1
    ORDER BY d.id";

/// The PostgreSQL backend.
#[derive(Debug)]
pub struct PostgresStore {
    config: tokio_postgres::Config,
    pool: Pool,
    writer: mpsc::Sender<Write>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
    listener_task: Mutex<Option<JoinHandle<()>>>,
}

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

fn postgres_error(error: tokio_postgres::Error) -> StoreError {
    // The server's SQLSTATE and message name what failed; its DETAIL can quote a row's values
    // (a body, a signature), which must never reach a log, so it is left out.
    match error.as_db_error() {
        Some(db) => StoreError::Postgres(format!(
            "{} {}: {}",
            db.severity(),
            db.code().code(),
            db.message()
        )),
        None => StoreError::Postgres(error.to_string()),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        postgres_error(error)
    }
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects, migrates the schema (once, even when several instances start together) and
    /// starts the writer task.
    pub async fn connect(url: &str, caps: ChannelCaps) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|error| {
            StoreError::Postgres(format!("the database URL is invalid: {error}"))
        })?;
        // Without a bound, a server that drops packets holds every write (and a shutdown) for
        // the kernel's two-minute connect timeout; the URL's `connect_timeout` still wins.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A connection whose sent data goes unacknowledged (the network to the server is gone)
        // fails after this long instead of holding its writes, and a shutdown, for the
        // kernel's ~15 minutes of retransmissions; the URL's `tcp_user_timeout` still wins.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(UNACKNOWLEDGED_TIMEOUT);
        }
        let mut client = connect(&config).await?;
        migrate(&mut client).await?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .build()
            .map_err(|error| StoreError::Postgres(error.to_string()))?;
        let (writer, requests) = mpsc::channel(4 * MAX_GROUP_COMMIT);
        let writer_task = tokio::spawn(write_loop(config.clone(), Some(client), requests, caps));
        Ok(Self {
            config,
            pool,
            writer,
            writer_task: Mutex::new(Some(writer_task)),
            listener_task: Mutex::new(None),
        })
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

    async fn reader(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|error| match error {
            deadpool_postgres::PoolError::Backend(error) => postgres_error(error),
            other => StoreError::Postgres(format!("no database connection: {other}")),
        })
    }
}

async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS relay_schema_version (version INTEGER NOT NULL);
             INSERT INTO relay_schema_version (version)
                SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM relay_schema_version);",
        )
        .await?;
    let version: i32 = transaction
        .query_one("SELECT version FROM relay_schema_version", &[])
        .await?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if version > known {
        return Err(StoreError::SchemaTooNew {
            found: i64::from(version),
            known: i64::from(known),
        });
    }
    for migration in &MIGRATIONS[version as usize..] {
        transaction.batch_execute(migration).await?;
    }
    transaction
        .execute("UPDATE relay_schema_version SET version = $1", &[&known])
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// The statements the writer prepares once per connection.
struct Statements {
    ingest: Statement,
    notify: Statement,
}

async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
    Ok(Statements {
        ingest: client.prepare(INGEST).await?,
        notify: client.prepare("SELECT pg_notify($1, $2)").await?,
    })
}

/// The writer task: like SQLite's writer thread, but a connection that breaks is replaced.
async fn write_loop(
    config: tokio_postgres::Config,
    mut client: Option<Client>,
    mut requests: mpsc::Receiver<Write>,
    caps: ChannelCaps,
) {
    let mut statements = None;
    let mut closing = None;
    while closing.is_none() {
        let Some(first) = requests.recv().await else {
            break;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP_COMMIT {
            match requests.try_recv() {
                Ok(write) => group.push(write),
                Err(_) => break,
            }
        }
        // As in SQLite's writer: writes queued behind a close are refused (their callers see
        // `Closed`), and a close alone needs no connection.
        if let Some(close_at) = group
            .iter()
            .position(|write| matches!(write, Write::Close(_)))
        {
            if let Some(Write::Close(done)) = group.drain(close_at..).next() {
                closing = Some(done);
            }
        }
        if group.is_empty() {
            continue;
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            statements = None;
            client = match connect(&config).await {
                Ok(fresh) => Some(fresh),
                Err(error) => {
                    tracing::error!(%error, "the relay cannot reach PostgreSQL");
                    None
                }
            };
        }
        if statements.is_none() {
            if let Some(connected) = client.as_ref() {
                statements = prepare(connected).await.ok();
            }
        }
        let (Some(connected), Some(prepared)) = (client.as_mut(), statements.as_ref()) else {
            fail_all(group, "the relay cannot reach PostgreSQL");
            continue;
        };
        let mut ingests = Vec::new();
        for write in group {
            match write {
                Write::Ingest(delivery, reply) => ingests.push((delivery, reply)),
                other => {
                    // Keep order: ingests received before this write commit before it runs.
                    commit_ingests(connected, prepared, std::mem::take(&mut ingests), caps).await;
                    match other {
                        Write::Close(done) => closing = Some(done),
                        write => single_write(connected, write).await,
                    }
                }
            }
        }
        commit_ingests(connected, prepared, ingests, caps).await;
    }
    requests.close();
    while requests.try_recv().is_ok() {}
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Answers every write of the group with `message` (a group holds no close: the loop takes it).
fn fail_all(group: Vec<Write>, message: &str) {
    let error = || StoreError::Postgres(message.to_owned());
    for write in group {
        match write {
            Write::CreateChannel(_, reply) => drop(reply.send(Err(error()))),
            Write::DeleteChannel(_, reply) | Write::Acknowledge(_, _, reply) => {
                drop(reply.send(Err(error())))
            }
            Write::Ingest(_, reply) => drop(reply.send(Err(error()))),
            Write::Expire(_, reply) => drop(reply.send(Err(error()))),
            Write::Close(done) => drop(done.send(())),
        }
    }
}

type IngestReply = oneshot::Sender<Result<IngestOutcome, StoreError>>;

/// Commits a group of ingests in one pipelined transaction; if that fails, each on its own.
async fn commit_ingests(
    client: &mut Client,
    statements: &Statements,
    mut ingests: Vec<(NewDelivery, IngestReply)>,
    caps: ChannelCaps,
) {
    if ingests.is_empty() {
        return;
    }
    metrics::histogram!(crate::metrics::COMMIT_GROUP_SIZE).record(ingests.len() as f64);
    // Channel order for the row locks (stable, so one channel's deliveries keep their order).
    ingests.sort_by(|left, right| left.0.channel_id.cmp(&right.0.channel_id));
    let deliveries: Vec<&NewDelivery> = ingests.iter().map(|(delivery, _)| delivery).collect();
    match ingest_group(client, statements, &deliveries, caps).await {
        Ok(outcomes) => {
            for ((_, reply), outcome) in ingests.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(group_error) if ingests.len() > 1 => {
            tracing::warn!(error = %group_error, "a group commit failed; retrying its ingests one by one");
            for (delivery, reply) in ingests {
                let outcome = ingest_group(client, statements, &[&delivery], caps)
                    .await
                    .map(|mut outcomes| outcomes.remove(0));
                let _ = reply.send(outcome);
            }
        }
        Err(error) => {
            let (_, reply) = ingests.pop().expect("one ingest");
            let _ = reply.send(Err(error));
        }
    }
}

async fn ingest_group(
    client: &mut Client,
    statements: &Statements,
    deliveries: &[&NewDelivery],
    caps: ChannelCaps,
) -> Result<Vec<IngestOutcome>, StoreError> {
    let transaction = client.transaction().await?;
    // Issued together, so the driver pipelines them: one round trip for the whole group.
    let rows = futures::future::try_join_all(deliveries.iter().map(|delivery| {
        let transaction = &transaction;
        let statement = &statements.ingest;
        async move {
            transaction
                .query_opt(
                    statement,
                    &[
                        &delivery.channel_id.as_str(),
                        &(delivery.body.len() as i64),
                        &to_millis(delivery.received_at),
                        &delivery.signature.as_deref(),
                        &&delivery.body[..],
                        &delivery.relay_verified,
                    ],
                )
                .await
        }
    }))
    .await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut newest: Vec<(&ChannelId, i64, i64, i64)> = Vec::new();
    for (delivery, row) in deliveries.iter().zip(rows) {
        match row {
            None => outcomes.push(IngestOutcome::UnknownChannel),
            Some(row) => {
                let (id, count, bytes): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
                outcomes.push(IngestOutcome::Stored {
                    id: id as u64,
                    dropped: 0,
                });
                match newest.last_mut() {
                    Some(last) if last.0 == &delivery.channel_id => {
                        *last = (last.0, id, count, bytes)
                    }
                    _ => newest.push((&delivery.channel_id, id, count, bytes)),
                }
            }
        }
    }
    for (channel_id, _, count, bytes) in &newest {
        if *count as u64 > caps.max_pending_deliveries || *bytes as u64 > caps.max_pending_bytes {
            let dropped =
                drop_oldest(&transaction, channel_id, *count as u64, *bytes as u64, caps).await?;
            // The caps are enforced once per channel per group; the channel's last ingest
            // reports what it cost.
            if let Some(IngestOutcome::Stored { dropped: slot, .. }) = deliveries
                .iter()
                .zip(outcomes.iter_mut())
                .rev()
                .find(|(delivery, _)| &delivery.channel_id == *channel_id)
                .map(|(_, outcome)| outcome)
            {
                *slot = dropped;
            }
        }
    }
    futures::future::try_join_all(newest.iter().map(|(channel_id, newest_id, _, _)| {
        let payload = format!("{channel_id}:{newest_id}");
        let transaction = &transaction;
        let statement = &statements.notify;
        async move {
            transaction
                .execute(statement, &[&NOTIFY_CHANNEL, &payload])
                .await
        }
    }))
    .await?;
    transaction.commit().await?;
    Ok(outcomes)
}

async fn drop_oldest(
    transaction: &tokio_postgres::Transaction<'_>,
    channel_id: &ChannelId,
    mut pending_count: u64,
    mut pending_bytes: u64,
    caps: ChannelCaps,
) -> Result<u64, StoreError> {
    let rows = transaction
        .query(
            "SELECT id, octet_length(body)::BIGINT FROM deliveries WHERE channel_id = $1 ORDER BY id",
            &[&channel_id.as_str()],
        )
        .await?;
    let mut last_dropped = None;
    let mut dropped = 0;
    for row in rows {
        if pending_count <= caps.max_pending_deliveries && pending_bytes <= caps.max_pending_bytes {
            break;
        }
        let (id, bytes): (i64, i64) = (row.get(0), row.get(1));
        last_dropped = Some(id);
        dropped += 1;
        pending_count -= 1;
        pending_bytes = pending_bytes.saturating_sub(bytes as u64);
    }
    if let Some(last_dropped) = last_dropped {
        transaction
            .execute(
                "DELETE FROM deliveries WHERE channel_id = $1 AND id <= $2",
                &[&channel_id.as_str(), &last_dropped],
            )
            .await?;
        transaction
            .execute(
                "UPDATE channels SET pending_count = $2, pending_bytes = $3,
                    dropped_through = GREATEST(dropped_through, $4)
                 WHERE channel_id = $1",
                &[
                    &channel_id.as_str(),
                    &(pending_count as i64),
                    &(pending_bytes as i64),
                    &last_dropped,
                ],
            )
            .await?;
    }
    Ok(dropped)
}

/// Writes other than ingest: rare, one transaction each.
async fn single_write(client: &mut Client, write: Write) {
    match write {
        Write::CreateChannel(channel, reply) => {
            let result = client
                .execute(
                    "INSERT INTO channels (channel_id, token_hash, created_at) VALUES ($1, $2, $3)",
                    &[
                        &channel.channel_id.as_str(),
                        &&channel.token_hash.0[..],
                        &to_millis(channel.created_at),
                    ],
                )
                .await
                .map(drop)
                .map_err(postgres_error);
            let _ = reply.send(result);
        }
        Write::DeleteChannel(channel_id, reply) => {
            let _ = reply.send(delete_channel(client, &channel_id).await);
        }
        Write::Acknowledge(channel_id, up_to, reply) => {
            let _ = reply.send(acknowledge(client, &channel_id, up_to).await);
        }
        Write::Expire(cutoff, reply) => {
            let _ = reply.send(expire(client, cutoff).await);
        }
        Write::Ingest(..) | Write::Close(_) => unreachable!("handled by the write loop"),
    }
}

async fn delete_channel(client: &mut Client, channel_id: &ChannelId) -> Result<bool, StoreError> {
    let transaction = client.transaction().await?;
    let deleted = transaction
        .execute(
            "DELETE FROM channels WHERE channel_id = $1",
            &[&channel_id.as_str()],
        )
        .await?;
    transaction
        .execute(
            "DELETE FROM deliveries WHERE channel_id = $1",
            &[&channel_id.as_str()],
        )
        .await?;
    // Streams on other instances end too.
    transaction
        .execute(
            "SELECT pg_notify($1, $2)",
            &[&NOTIFY_CHANNEL, &format!("{channel_id}:0")],
        )
        .await?;
    transaction.commit().await?;
    Ok(deleted > 0)
}

async fn acknowledge(
    client: &mut Client,
    channel_id: &ChannelId,
    up_to: u64,
) -> Result<bool, StoreError> {
    let transaction = client.transaction().await?;
    let acked = transaction
        .query_opt(
            "UPDATE channels SET acked_through = GREATEST(acked_through, LEAST($2, last_id))
             WHERE channel_id = $1 RETURNING acked_through",
            &[&channel_id.as_str(), &i64_of(up_to)],
        )
        .await?;
    let Some(acked) = acked else {
        return Ok(false);
    };
    let acked: i64 = acked.get(0);
    transaction
        .query_opt(DELETE_THROUGH, &[&channel_id.as_str(), &acked])
        .await?;
    transaction.commit().await?;
    Ok(true)
}

async fn expire(client: &mut Client, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
    let expired = client
        .query(
            "SELECT channel_id, max(id) FROM deliveries WHERE received_at < $1 GROUP BY channel_id",
            &[&to_millis(cutoff)],
        )
        .await?;
    let mut total = 0;
    for row in expired {
        let (channel_id, through): (String, i64) = (row.get(0), row.get(1));
        let transaction = client.transaction().await?;
        // The channel row first: it is the lock every writer of this channel takes.
        transaction
            .execute(
                "UPDATE channels SET dropped_through = GREATEST(dropped_through, $2) WHERE channel_id = $1",
                &[&channel_id, &through],
            )
            .await?;
        if let Some(row) = transaction
            .query_opt(DELETE_THROUGH, &[&channel_id, &through])
            .await?
        {
            total += row.get::<_, i64>(0) as u64;
        }
        transaction.commit().await?;
    }
    Ok(total)
}

/// The LISTEN task: one connection, reconnected with backoff; after each (re)connect every local
/// subscriber reads again, since notifications sent while it was away are lost.
async fn listen_loop(config: tokio_postgres::Config, wakeups: Arc<Wakeups>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (notifications, mut received) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |context| connection.poll_message(context));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(notification)) => {
                                if notifications
                                    .send(notification.payload().to_owned())
                                    .is_err()
                                {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "the PostgreSQL LISTEN connection failed");
                                break;
                            }
                        }
                    }
                });
                match client
                    .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
                    .await
                {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        wakeups.wake_all();
                        while let Some(payload) = received.recv().await {
                            wake_from_payload(&wakeups, &payload);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "could not LISTEN for deliveries"),
                }
                driver.abort();
            }
            Err(error) => tracing::warn!(%error, "could not open the PostgreSQL LISTEN connection"),
        }
        // Jitter keeps several instances from reconnecting in lockstep.
        let jitter = Duration::from_millis(rand::random::<u64>() % 100);
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

fn wake_from_payload(wakeups: &Wakeups, payload: &str) {
    let Some((channel_id, newest_id)) = payload.split_once(':') else {
        return;
    };
    if let (Some(channel_id), Ok(newest_id)) = (ChannelId::parse(channel_id), newest_id.parse()) {
        wakeups.wake(&channel_id, newest_id);
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_channel(&self, channel: NewChannel) -> Result<(), StoreError> {
        self.write(|reply| Write::CreateChannel(channel, reply))
            .await
    }

    async fn token_hash(&self, channel_id: &ChannelId) -> Result<Option<TokenHash>, StoreError> {
        let client = self.reader().await?;
        let statement = client
            .prepare_cached("SELECT token_hash FROM channels WHERE channel_id = $1")
            .await?;
        let row = client
            .query_opt(&statement, &[&channel_id.as_str()])
            .await?;
        row.map(|row| {
            let bytes: Vec<u8> = row.get(0);
            <[u8; 32]>::try_from(bytes.as_slice())
                .map(TokenHash)
                .map_err(|_| StoreError::Corrupt("a token hash is not 32 bytes".into()))
        })
        .transpose()
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
        let client = self.reader().await?;
        let statement = client.prepare_cached(READ_AFTER).await?;
        let rows = client
            .query(
                &statement,
                &[&channel_id.as_str(), &i64_of(after), &(limit as i64)],
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let (acked_through, dropped_through): (i64, i64) = (first.get(0), first.get(1));
        let gap = gap_for(after, acked_through as u64, dropped_through as u64);
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(id) = row.get::<_, Option<i64>>(2) else {
                continue;
            };
            deliveries.push(StoredDelivery {
                id: id as u64,
                received_at: from_millis(row.get(3))?,
                signature: row.get(4),
                body: Bytes::from(row.get::<_, Vec<u8>>(5)),
                relay_verified: row.get(6),
            });
        }
        Ok(Some(ReadBatch { gap, deliveries }))
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
        let client = self.reader().await?;
        let row = client
            .query_one("SELECT min(received_at) FROM deliveries", &[])
            .await?;
        row.get::<_, Option<i64>>(0).map(from_millis).transpose()
    }

    async fn check(&self) -> Result<(), StoreError> {
        let client = self.reader().await?;
        client.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn start_wake_ups(&self, wakeups: Arc<Wakeups>) -> Result<(), StoreError> {
        let task = tokio::spawn(listen_loop(self.config.clone(), wakeups));
        let previous = self
            .listener_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(task);
        if let Some(previous) = previous {
            previous.abort();
        }
        Ok(())
    }

    async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.writer.send(Write::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
        let writer = self
            .writer_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        let listener = self
            .listener_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(listener) = listener {
            listener.abort();
        }
        self.pool.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_error_keeps_its_code_and_message_but_never_the_values_of_its_detail() {
        let url = advicly_relay_testkit::PostgresServer::shared()
            .create_database()
            .unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE kept (body TEXT PRIMARY KEY)")
            .await
            .unwrap();
        let insert = "INSERT INTO kept (body) VALUES ($1)";
        client.execute(insert, &[&"BODYMARKER"]).await.unwrap();
        let duplicate = client.execute(insert, &[&"BODYMARKER"]).await.unwrap_err();
        let detail = duplicate.as_db_error().and_then(|db| db.detail()).unwrap();
        assert!(
            detail.contains("BODYMARKER"),
            "the server quotes the row: {detail}"
        );
        let logged = postgres_error(duplicate).to_string();
        assert!(
            logged.contains("23505"),
            "the SQLSTATE names the failure: {logged}"
        );
        assert!(logged.contains("duplicate key"), "{logged}");
        assert!(
            !logged.contains("BODYMARKER"),
            "no value reaches a log: {logged}"
        );
    }
}
