//! Durability of the real binary: kill -9 (or SIGTERM) while several clients post thousands of
//! deliveries; after a restart every delivery that got a 2xx is there exactly once, under the id
//! its 2xx named, and ids still strictly increase.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use advicly_relay::Database;
use advicly_relay_protocol::ChannelCreated;
use rstest::rstest;
use support::{process_arguments, Backend, RelayClient, RelayProcess, DEADLINE};

const POSTERS: usize = 8;
const POSTS_EACH: usize = 1_000;
/// The relay is stopped once this many deliveries were acknowledged with a 2xx.
const STOP_AFTER: usize = 1_500;

#[derive(Clone, Copy, Debug)]
enum Stop {
    Kill9,
    Sigterm,
}

/// Posts until the relay goes away; returns body → id of every 2xx.
async fn post_until_gone(
    client: RelayClient,
    channel: ChannelCreated,
    poster: usize,
    acknowledged: Arc<AtomicUsize>,
    committed: Arc<Mutex<HashMap<String, u64>>>,
) {
    for n in 0..POSTS_EACH {
        let body = format!(r#"{{"event":"invitee.created","poster":{poster},"n":{n}}}"#);
        let Ok(response) = client
            .http
            .post(&channel.ingress_url)
            .body(body.clone())
            .send()
            .await
        else {
            return;
        };
        if !response.status().is_success() {
            // 503 while shutting down: not acknowledged, so not owed.
            continue;
        }
        let Ok(json) = response.json::<serde_json::Value>().await else {
            return;
        };
        let id = json["id"].as_u64().expect("a 2xx names the id");
        committed.lock().unwrap().insert(body, id);
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
}

#[rstest]
#[case::sqlite_kill_9(Backend::Sqlite, Stop::Kill9)]
#[case::sqlite_sigterm(Backend::Sqlite, Stop::Sigterm)]
#[case::postgres_kill_9(Backend::Postgres, Stop::Kill9)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_delivery_survives_the_relay_stopping_mid_flood(
    #[case] backend: Backend,
    #[case] stop: Stop,
) {
    let data_dir = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => Database::Sqlite {
            data_dir: data_dir.path().to_owned(),
        },
        Backend::Postgres => support::postgres_database(),
    };
    let arguments = process_arguments(data_dir.path(), &database);
    let log = |name: &str| data_dir.path().join(name);
    let mut relay = RelayProcess::spawn(&arguments, "info", log("first.log")).await;
    let channel = relay.client().create_channel().await;

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let committed = Arc::new(Mutex::new(HashMap::new()));
    let posters: Vec<_> = (0..POSTERS)
        .map(|poster| {
            tokio::spawn(post_until_gone(
                relay.client(),
                channel.clone(),
                poster,
                acknowledged.clone(),
                committed.clone(),
            ))
        })
        .collect();
    // Bounded poll until enough deliveries were acknowledged, then stop the relay mid-flood.
    let deadline = tokio::time::Instant::now() + DEADLINE * 3;
    while acknowledged.load(Ordering::SeqCst) < STOP_AFTER {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the posters are too slow"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match stop {
        Stop::Kill9 => relay.kill_9(),
        Stop::Sigterm => {
            let status = relay.terminate().await;
            assert!(status.success(), "a SIGTERM is a clean exit: {status:?}");
        }
    }
    for poster in posters {
        poster.await.unwrap();
    }
    let committed = committed.lock().unwrap().clone();
    assert!(committed.len() >= STOP_AFTER);
    assert!(
        committed.len() < POSTERS * POSTS_EACH,
        "the relay stopped while posters were still posting"
    );

    let restarted = RelayProcess::spawn(&arguments, "info", log("second.log")).await;
    let client = restarted.client();
    let channel = ChannelCreated {
        ingress_url: client
            .url(&format!("/hooks/{}", channel.channel_id))
            .to_string(),
        ..channel
    };
    let (status, sentinel) = client.post(&channel, "sentinel", None).await;
    assert_eq!(status, 200);
    let sentinel = sentinel.unwrap();
    let mut stream = client.subscribe(&channel, None).await;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut last_id = 0;
    loop {
        let delivery = stream.next_delivery().await;
        assert!(
            delivery.id > last_id,
            "ids strictly increase: {} after {last_id}",
            delivery.id
        );
        last_id = delivery.id;
        let body = String::from_utf8(delivery.body.to_bytes().unwrap()).unwrap();
        if body == "sentinel" {
            break;
        }
        assert!(
            seen.insert(body.clone(), delivery.id).is_none(),
            "{body} is stored once"
        );
    }
    assert_eq!(last_id, sentinel, "the sentinel's id is the newest");
    for (body, id) in &committed {
        assert_eq!(
            seen.get(body),
            Some(id),
            "{body} got a 2xx with id {id}, so it must be there"
        );
    }
    // In-flight posts that never got their 2xx may or may not be there; nothing else may be.
    assert!(seen.len() >= committed.len());
    assert!(
        seen.len() <= committed.len() + POSTERS,
        "at most one unanswered post per poster"
    );
}
