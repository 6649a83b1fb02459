//! Durability of the real binary: kill -9 (or SIGTERM, or Ctrl-C) while several clients post
//! thousands of deliveries; after a restart every delivery that got a 2xx is there exactly once,
//! under the id its 2xx named, and ids still strictly increase.

mod support;

use std::collections::HashMap;

use advicly_relay::Database;
use advicly_relay_protocol::ChannelCreated;
use rstest::rstest;
use support::{process_arguments, Backend, Flood, RelayProcess};

const POSTERS: usize = 8;
const POSTS_EACH: usize = 1_000;
/// The relay is stopped once this many deliveries were acknowledged with a 2xx.
const STOP_AFTER: usize = 4_000;

#[derive(Clone, Copy, Debug)]
enum Stop {
    Kill9,
    Sigterm,
    CtrlC,
}

#[rstest]
#[case::sqlite_kill_9(Backend::Sqlite, Stop::Kill9)]
#[case::sqlite_sigterm(Backend::Sqlite, Stop::Sigterm)]
#[case::sqlite_ctrl_c(Backend::Sqlite, Stop::CtrlC)]
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

    let flood = Flood::start(&relay.client(), &channel, POSTERS, POSTS_EACH);
    flood.until_acknowledged(STOP_AFTER).await;
    match stop {
        Stop::Kill9 => relay.kill_9(),
        Stop::Sigterm => {
            let status = relay.terminate().await;
            assert!(status.success(), "a SIGTERM is a clean exit: {status:?}");
        }
        Stop::CtrlC => {
            let status = relay.interrupt().await;
            assert!(status.success(), "Ctrl-C is a clean exit: {status:?}");
        }
    }
    let committed = flood.finish().await;
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
