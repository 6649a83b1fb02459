//! The storage conformance suite: every backend behind the `Store` trait must pass the same
//! cases (in-memory, SQLite, PostgreSQL), so a new backend is a small, checked step.

mod support;

use std::sync::Arc;

use advicly_relay::store::{
    memory::MemoryStore, postgres::PostgresStore, sqlite::SqliteStore, ChannelCaps, ChannelId, Gap,
    IngestOutcome, NewChannel, NewDelivery, Store, TokenHash,
};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use rstest::rstest;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

/// A store under test and what keeps it alive.
struct Subject {
    store: Arc<dyn Store>,
    _folder: tempfile::TempDir,
}

async fn open(kind: Kind, caps: ChannelCaps) -> Subject {
    let folder = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = match kind {
        Kind::Memory => Arc::new(MemoryStore::new(caps)),
        Kind::Sqlite => Arc::new(SqliteStore::open(folder.path(), caps).unwrap()),
        Kind::Postgres => {
            let advicly_relay::Database::Postgres { url } = support::postgres_database() else {
                unreachable!()
            };
            Arc::new(PostgresStore::connect(&url, caps).await.unwrap())
        }
    };
    Subject {
        store,
        _folder: folder,
    }
}

async fn channel(store: &dyn Store) -> ChannelId {
    let channel_id = ChannelId::generate();
    store
        .create_channel(NewChannel {
            channel_id: channel_id.clone(),
            token_hash: TokenHash([7; 32]),
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    channel_id
}

fn delivery(channel_id: &ChannelId, body: &str, received_at: DateTime<Utc>) -> NewDelivery {
    NewDelivery {
        channel_id: channel_id.clone(),
        received_at,
        signature: Some("t=1,v1=00".into()),
        body: Bytes::from(body.to_owned()),
        relay_verified: None,
    }
}

async fn ingest(store: &dyn Store, channel_id: &ChannelId, body: &str) -> u64 {
    match store
        .ingest(delivery(channel_id, body, Utc::now()))
        .await
        .unwrap()
    {
        IngestOutcome::Stored { id, .. } => id,
        IngestOutcome::UnknownChannel => panic!("the channel exists"),
    }
}

async fn bodies_after(
    store: &dyn Store,
    channel_id: &ChannelId,
    after: u64,
) -> (Option<Gap>, Vec<String>) {
    let batch = store
        .read_after(channel_id, after, 1000)
        .await
        .unwrap()
        .expect("the channel exists");
    let bodies = batch
        .deliveries
        .iter()
        .map(|delivery| String::from_utf8(delivery.body.to_vec()).unwrap())
        .collect();
    (batch.gap, bodies)
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_get_unique_strictly_increasing_ids_per_channel(#[case] kind: Kind) {
    let subject = open(kind, ChannelCaps::default()).await;
    let channels = [
        channel(&*subject.store).await,
        channel(&*subject.store).await,
    ];
    let mut tasks = Vec::new();
    for poster in 0..16 {
        let store = subject.store.clone();
        let channel_id = channels[poster % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..25 {
                ids.push(ingest(&*store, &channel_id, &format!("{poster}-{n}")).await);
            }
            ids
        }));
    }
    let mut per_poster = Vec::new();
    for task in tasks {
        per_poster.push(task.await.unwrap());
    }
    for ids in &per_poster {
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "one poster's ids increase: {ids:?}"
        );
    }
    for (index, channel_id) in channels.iter().enumerate() {
        let batch = subject
            .store
            .read_after(channel_id, 0, 1000)
            .await
            .unwrap()
            .unwrap();
        let ids: Vec<u64> = batch
            .deliveries
            .iter()
            .map(|delivery| delivery.id)
            .collect();
        assert_eq!(
            ids,
            (1..=200).collect::<Vec<_>>(),
            "channel {index}: 1..=200, each once, in order"
        );
    }
    subject.store.close().await;
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn a_delivery_is_stored_exactly_as_given(#[case] kind: Kind) {
    let subject = open(kind, ChannelCaps::default()).await;
    let channel_id = channel(&*subject.store).await;
    let received_at = DateTime::from_timestamp_millis(1_767_225_600_123).unwrap();
    let raw = Bytes::from_static(&[0, 159, 146, 150, 255]);
    let outcome = subject
        .store
        .ingest(NewDelivery {
            channel_id: channel_id.clone(),
            received_at,
            signature: None,
            body: raw.clone(),
            relay_verified: Some(true),
        })
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::Stored { id: 1, dropped: 0 });
    let batch = subject
        .store
        .read_after(&channel_id, 0, 10)
        .await
        .unwrap()
        .unwrap();
    let stored = &batch.deliveries[0];
    assert_eq!((stored.id, stored.received_at), (1, received_at));
    assert_eq!(stored.body, raw, "bytes unchanged");
    assert_eq!(
        (stored.signature.clone(), stored.relay_verified),
        (None, Some(true))
    );
    assert_eq!(
        subject
            .store
            .ingest(delivery(&ChannelId::generate(), "x", received_at))
            .await
            .unwrap(),
        IngestOutcome::UnknownChannel
    );
    assert_eq!(
        subject.store.token_hash(&channel_id).await.unwrap(),
        Some(TokenHash([7; 32]))
    );
    subject.store.close().await;
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn acknowledged_deliveries_are_deleted_without_a_gap_and_acks_never_move_back(
    #[case] kind: Kind,
) {
    let subject = open(kind, ChannelCaps::default()).await;
    let store = &*subject.store;
    let channel_id = channel(store).await;
    for body in ["a", "b", "c", "d"] {
        ingest(store, &channel_id, body).await;
    }
    assert!(store.acknowledge(&channel_id, 2).await.unwrap());
    assert!(
        store.acknowledge(&channel_id, 1).await.unwrap(),
        "an older ack is harmless"
    );
    assert_eq!(
        bodies_after(store, &channel_id, 0).await,
        (None, vec!["c".into(), "d".into()])
    );
    assert!(store.acknowledge(&channel_id, 99).await.unwrap());
    let next = ingest(store, &channel_id, "e").await;
    assert_eq!(
        next, 5,
        "an ack beyond the newest does not swallow later ids"
    );
    assert_eq!(
        bodies_after(store, &channel_id, 0).await,
        (None, vec!["e".into()])
    );
    assert!(
        !store.acknowledge(&ChannelId::generate(), 1).await.unwrap(),
        "unknown channel"
    );
    store.close().await;
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn caps_drop_the_oldest_and_report_one_gap_to_cursors_before_them(#[case] kind: Kind) {
    let caps = ChannelCaps {
        max_pending_deliveries: 3,
        max_pending_bytes: 10,
    };
    let subject = open(kind, caps).await;
    let store = &*subject.store;
    let channel_id = channel(store).await;
    for body in ["1", "2", "3", "4"] {
        ingest(store, &channel_id, body).await;
    }
    let gap = Some(Gap {
        after: 0,
        before: 2,
    });
    assert_eq!(
        bodies_after(store, &channel_id, 0).await,
        (gap, vec!["2".into(), "3".into(), "4".into()])
    );
    // A cursor past the dropped ones sees no gap.
    assert_eq!(
        bodies_after(store, &channel_id, 1).await,
        (None, vec!["2".into(), "3".into(), "4".into()])
    );
    // The byte cap: a 10-byte body (the whole cap) pushes out everything older.
    let outcome = store
        .ingest(delivery(&channel_id, "0123456789", Utc::now()))
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::Stored { id: 5, dropped: 3 });
    assert_eq!(
        bodies_after(store, &channel_id, 2).await,
        (
            Some(Gap {
                after: 2,
                before: 5
            }),
            vec!["0123456789".into()]
        )
    );
    store.close().await;
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn retention_drops_what_is_older_than_the_cutoff_as_a_gap(#[case] kind: Kind) {
    let subject = open(kind, ChannelCaps::default()).await;
    let store = &*subject.store;
    let channel_id = channel(store).await;
    let now = Utc::now();
    for (body, age) in [("old", 10), ("older-but-later", 20), ("new", 0)] {
        store
            .ingest(delivery(&channel_id, body, now - Duration::days(age)))
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .oldest_pending()
            .await
            .unwrap()
            .map(|at| at.timestamp_millis()),
        Some((now - Duration::days(20)).timestamp_millis())
    );
    assert_eq!(store.expire(now - Duration::days(7)).await.unwrap(), 2);
    assert_eq!(
        bodies_after(store, &channel_id, 0).await,
        (
            Some(Gap {
                after: 0,
                before: 3
            }),
            vec!["new".into()]
        ),
        "drops go oldest id first"
    );
    assert_eq!(
        store.expire(now - Duration::days(7)).await.unwrap(),
        0,
        "idempotent"
    );
    store.close().await;
}

#[rstest]
#[case::memory(Kind::Memory)]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn a_deleted_channel_and_its_deliveries_are_gone(#[case] kind: Kind) {
    let subject = open(kind, ChannelCaps::default()).await;
    let store = &*subject.store;
    let channel_id = channel(store).await;
    let kept = channel(store).await;
    ingest(store, &channel_id, "x").await;
    ingest(store, &kept, "y").await;
    assert!(store.delete_channel(&channel_id).await.unwrap());
    assert!(
        !store.delete_channel(&channel_id).await.unwrap(),
        "already gone"
    );
    assert_eq!(store.read_after(&channel_id, 0, 10).await.unwrap(), None);
    assert_eq!(store.token_hash(&channel_id).await.unwrap(), None);
    assert_eq!(
        bodies_after(store, &kept, 0).await.1,
        ["y"],
        "other channels are untouched"
    );
    store.check().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_keeps_everything_across_a_reopen_and_refuses_a_newer_schema() {
    let folder = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(folder.path(), ChannelCaps::default()).unwrap();
    let channel_id = channel(&store).await;
    ingest(&store, &channel_id, "kept").await;
    store.close().await;
    let reopened = SqliteStore::open(folder.path(), ChannelCaps::default()).unwrap();
    assert_eq!(bodies_after(&reopened, &channel_id, 0).await.1, ["kept"]);
    assert_eq!(
        ingest(&reopened, &channel_id, "next").await,
        2,
        "the id counter survives"
    );
    reopened.close().await;
    let connection = rusqlite::Connection::open(folder.path().join("relay.sqlite3")).unwrap();
    connection.pragma_update(None, "user_version", 999).unwrap();
    drop(connection);
    let error = SqliteStore::open(folder.path(), ChannelCaps::default()).unwrap_err();
    assert!(error.to_string().contains("newer relay"), "{error}");
}

#[tokio::test]
async fn postgres_instances_starting_together_migrate_once_and_share_counters() {
    let advicly_relay::Database::Postgres { url } = support::postgres_database() else {
        unreachable!()
    };
    let (first, second) = tokio::join!(
        PostgresStore::connect(&url, ChannelCaps::default()),
        PostgresStore::connect(&url, ChannelCaps::default())
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    let channel_id = channel(&first).await;
    assert_eq!(ingest(&first, &channel_id, "a").await, 1);
    assert_eq!(
        ingest(&second, &channel_id, "b").await,
        2,
        "one id sequence per channel"
    );
    assert_eq!(bodies_after(&second, &channel_id, 0).await.1, ["a", "b"]);
    first.close().await;
    second.close().await;
}

/// The SQLite writer tells the channel's subscribers of a delivery right after its commit, before
/// the ingest answers (one wake-up fewer on the way to the subscribers); the other stores leave
/// that to the ingest handler.
#[tokio::test]
async fn the_sqlite_writer_tells_subscribers_of_a_delivery_before_the_ingest_answers() {
    let folder = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(folder.path(), ChannelCaps::default()).unwrap();
    assert!(
        !store.announces_commits(),
        "nobody to tell before the relay starts"
    );
    let wakeups = advicly_relay::wake::Wakeups::new();
    store.start_wake_ups(wakeups.clone()).await.unwrap();
    assert!(store.announces_commits());
    assert!(!MemoryStore::new(ChannelCaps::default()).announces_commits());

    let channel_id = channel(&store).await;
    let mut subscription = wakeups.subscribe(&channel_id);
    let IngestOutcome::Stored { id, .. } = store
        .ingest(delivery(&channel_id, r#"{"n":1}"#, Utc::now()))
        .await
        .unwrap()
    else {
        panic!("the channel exists");
    };
    let recent = subscription.recent_after(0, 10);
    assert_eq!(
        recent.len(),
        1,
        "the delivery is waiting for the subscribers"
    );
    assert_eq!(recent[0].id, id);
    let frame = String::from_utf8(recent[0].frame.to_vec()).unwrap();
    assert!(frame.contains(&format!("id: {id}\n")), "{frame}");
    let seen = subscription.mark_seen();
    assert_eq!(seen.newest_id, id, "and the subscribers were woken");
    assert_eq!(seen.other_changes, 0, "once, as a new delivery");

    // A channel nobody streams gets a wake-up only (nothing is kept for it).
    let unwatched = channel(&store).await;
    store
        .ingest(delivery(&unwatched, r#"{"n":2}"#, Utc::now()))
        .await
        .unwrap();
    assert!(!wakeups.is_watched(&unwatched));
}
