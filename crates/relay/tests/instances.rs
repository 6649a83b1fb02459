//! Several relay binaries on one PostgreSQL: any instance takes an ingress POST, any instance
//! serves any subscriber, and killing one loses nothing it acknowledged.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use advicly_relay_protocol::ChannelCreated;
use support::{bodies, process_arguments, Flood, RelayProcess};

fn on(process: &RelayProcess, channel: &ChannelCreated) -> ChannelCreated {
    ChannelCreated {
        ingress_url: process
            .client()
            .url(&format!("/hooks/{}", channel.channel_id))
            .to_string(),
        ..channel.clone()
    }
}

/// Two binaries A and B on one fresh PostgreSQL database; the folder holds their logs.
async fn two_instances() -> (tempfile::TempDir, RelayProcess, RelayProcess) {
    let database = support::postgres_database();
    let folder = tempfile::tempdir().unwrap();
    let arguments = process_arguments(folder.path(), &database);
    let a = RelayProcess::spawn(&arguments, "info", folder.path().join("a.log")).await;
    let b = RelayProcess::spawn(&arguments, "info", folder.path().join("b.log")).await;
    (folder, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_posted_to_one_instance_reaches_a_subscriber_of_another_and_survives_its_death()
{
    let (_folder, mut a, b) = two_instances().await;

    // Created on A, streamed from B: the channel lives in the shared store.
    let channel = a.client().create_channel().await;
    let mut stream_on_b = b.client().subscribe(&channel, None).await;
    let started = std::time::Instant::now();
    let (status, first) = a.client().post(&on(&a, &channel), "to-a-1", None).await;
    assert_eq!(status, 200);
    let received = stream_on_b.next_delivery().await;
    let cross_instance = started.elapsed();
    assert_eq!(
        Some(received.id),
        first,
        "B streams what A committed (LISTEN/NOTIFY wake-up)"
    );
    eprintln!("A → B: {cross_instance:?}");

    // A stream on A too; then A dies mid-stream with deliveries acknowledged.
    let mut stream_on_a = a.client().subscribe(&channel, Some(received.id)).await;
    let mut acknowledged = vec!["to-a-1".to_owned()];
    for n in 2..=20 {
        let body = format!("to-a-{n}");
        assert_eq!(
            a.client()
                .post(&on(&a, &channel), body.clone(), None)
                .await
                .0,
            200
        );
        acknowledged.push(body);
    }
    assert_eq!(bodies(&[stream_on_a.next_delivery().await]), ["to-a-2"]);
    a.kill_9();
    assert!(
        a.client()
            .http
            .post(on(&a, &channel).ingress_url)
            .body("lost")
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_err(),
        "A is gone"
    );
    // Calendly's retries (or a load balancer) now reach B.
    for n in 1..=5 {
        let body = format!("to-b-{n}");
        assert_eq!(
            b.client()
                .post(&on(&b, &channel), body.clone(), None)
                .await
                .0,
            200
        );
        acknowledged.push(body);
    }
    let all = stream_on_b.deliveries(acknowledged.len() - 1).await;
    let mut everything = vec!["to-a-1".to_owned()];
    everything.extend(bodies(&all));
    assert_eq!(
        everything, acknowledged,
        "every acknowledged delivery, once, in order"
    );
    assert!(
        all.windows(2).all(|pair| pair[0].id < pair[1].id),
        "ids strictly increase across instances"
    );

    // The client of the dead instance reconnects to B with its cursor and misses nothing.
    let mut resumed = b.client().subscribe(&channel, Some(received.id + 1)).await;
    assert_eq!(
        bodies(&resumed.deliveries(acknowledged.len() - 2).await),
        acknowledged[2..],
        "resume on another instance"
    );
    // An ack on B is seen by A's successor: a stream from 0 starts after it.
    let newest = all.last().unwrap().id;
    assert_eq!(b.client().ack(&channel, newest - 1).await, 204);
    let mut after_ack = b.client().subscribe(&channel, Some(0)).await;
    assert_eq!(after_ack.next_delivery().await.id, newest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_instance_under_a_flood_loses_nothing_it_acknowledged_and_the_other_streams_it_all(
) {
    let (_folder, mut a, b) = two_instances().await;
    let channel = b.client().create_channel().await;
    let mut stream_on_b = b.client().subscribe(&channel, None).await;

    // Posters flood A; A dies with posts in flight.
    let flood = Flood::start(&a.client(), &on(&a, &channel), 4, 2_000);
    flood.until_acknowledged(1_000).await;
    a.kill_9();
    let committed = flood.finish().await;
    assert!(
        committed.len() < 8_000,
        "A died while the posters were still posting"
    );
    let (status, sentinel) = b.client().post(&on(&b, &channel), "sentinel", None).await;
    assert_eq!(status, 200);

    // B's subscriber, connected all along, gets every delivery A committed, once, in id order.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut last_id = 0;
    loop {
        let delivery = stream_on_b.next_delivery().await;
        assert!(delivery.id > last_id, "ids strictly increase");
        last_id = delivery.id;
        let body = String::from_utf8(delivery.body.to_bytes().unwrap()).unwrap();
        if body == "sentinel" {
            break;
        }
        assert!(
            seen.insert(body, delivery.id).is_none(),
            "each delivery once"
        );
    }
    assert_eq!(Some(last_id), sentinel);
    for (body, id) in &committed {
        assert_eq!(
            seen.get(body),
            Some(id),
            "{body} got a 2xx from A with id {id}, so B streams it"
        );
    }
    assert!(
        seen.len() <= committed.len() + 4,
        "beyond the acknowledged, at most one unanswered post per poster"
    );
}
