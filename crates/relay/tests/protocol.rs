//! The relay protocol of `docs/relay-protocol.md` over real HTTP on loopback, run against every
//! backend by the same cases: channels, ingress, streams, resume, acknowledgements, tokens,
//! caps, retention, signatures, keep-alive, health and metrics.

mod support;

use std::time::Duration;

use advicly_relay::{ChannelCaps, RelayConfig, SigningKey};
use advicly_relay_protocol::{DeliveryBody, Gap};
use rstest::rstest;
use support::{bodies, Backend, RelayClient, StreamEvent, TestRelay};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_new_channel_has_an_ingress_url_on_the_relay_and_a_token(#[case] backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let response = client
        .http
        .post(client.url("/v1/channels"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: advicly_relay_protocol::ChannelCreated = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/channels/{}", created.channel_id));
    assert_eq!(
        created.ingress_url,
        client
            .url(&format!("/hooks/{}", created.channel_id))
            .as_str(),
        "Calendly posts to the relay's own hooks path"
    );
    assert!(created.subscriber_token.len() >= 43, "256 random bits");
    let other = client.create_channel().await;
    assert_ne!(other.channel_id, created.channel_id, "ids are unique");
    assert_ne!(
        other.subscriber_token, created.subscriber_token,
        "tokens are unique"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_store_keeps_only_the_hash_of_a_subscriber_token(#[case] backend: Backend) {
    use sha2::{Digest, Sha256};
    let relay = TestRelay::start(backend).await;
    let channel = relay.client().create_channel().await;
    let token = channel.subscriber_token.clone();
    let expected_hash = hex::encode(Sha256::digest(token.as_bytes()));
    // Stopped, so that SQLite's files hold everything; the folder stays until the end.
    let TestRelay {
        relay: running,
        data_dir,
        database,
        ..
    } = relay;
    running.unwrap().shutdown().await.unwrap();
    // Everything the store holds, as text: every file of the SQLite store (database and WAL),
    // or every channel row of PostgreSQL.
    let (stored, stored_hash) = match database {
        advicly_relay::Database::Sqlite { .. } => {
            let mut everything = Vec::new();
            for entry in std::fs::read_dir(data_dir.path()).unwrap() {
                everything.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            let file = rusqlite::Connection::open(data_dir.path().join("relay.sqlite3")).unwrap();
            let hash: Vec<u8> = file
                .query_row("SELECT token_hash FROM channels", [], |row| row.get(0))
                .unwrap();
            let journal: String = file
                .query_row("PRAGMA journal_mode", [], |row| row.get(0))
                .unwrap();
            assert_eq!(journal, "wal", "the file stays in WAL mode");
            (
                String::from_utf8_lossy(&everything).into_owned(),
                hex::encode(hash),
            )
        }
        advicly_relay::Database::Postgres { url } => {
            let name = support::database_name(&url).to_owned();
            let server = advicly_relay_testkit::PostgresServer::shared();
            let rows = server
                .psql(&name, "SELECT row_to_json(c)::text FROM channels c")
                .unwrap();
            let hash = server
                .psql(&name, "SELECT encode(token_hash, 'hex') FROM channels")
                .unwrap();
            (rows, hash.trim().to_owned())
        }
        advicly_relay::Database::Memory => unreachable!("the tests' backends are durable"),
    };
    assert!(
        !stored.contains(&token),
        "the token itself is nowhere in the store"
    );
    assert_eq!(
        stored_hash, expected_hash,
        "its SHA-256 is what the store keeps"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn deliveries_reach_the_subscriber_byte_for_byte_with_their_signature(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut stream = client.subscribe(&channel, None).await;
    let json = r#"{"created_at":"2026-01-01T00:00:00.000000Z","event":"invitee.created","payload":{"name":"Zoë \"Q\" <x>"}}"#;
    let binary = vec![0xff_u8, 0x00, 0xc3, 0x28, 0x0a];
    let (status, first_id) = client.post(&channel, json, Some("t=1,v1=abc")).await;
    assert_eq!(status, 200, "a committed delivery gets 200");
    client.post(&channel, binary.clone(), None).await;
    client.post(&channel, Vec::new(), None).await;

    let first = stream.next_delivery().await;
    assert_eq!(Some(first.id), first_id, "the 200 names the stored id");
    assert_eq!(
        first.body,
        DeliveryBody::Text(json.to_owned()),
        "UTF-8 travels as a string, unchanged"
    );
    assert_eq!(
        first.signature.as_deref(),
        Some("t=1,v1=abc"),
        "the header verbatim"
    );
    assert_eq!(first.relay_verified, None, "absent without a signing key");
    let second = stream.next_delivery().await;
    assert!(
        matches!(second.body, DeliveryBody::Base64(_)),
        "non-UTF-8 travels as base64"
    );
    assert_eq!(second.body.to_bytes().unwrap(), binary, "byte for byte");
    assert_eq!(second.signature, None, "no header, null signature");
    let third = stream.next_delivery().await;
    assert_eq!(
        third.body.to_bytes().unwrap(),
        Vec::<u8>::new(),
        "an empty body is stored as it is"
    );
    assert!(
        first.id < second.id && second.id < third.id,
        "ids strictly increase"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_delivery_read_live_and_replayed_is_the_same_to_the_millisecond(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut live = client.subscribe(&channel, None).await;
    client
        .post(
            &channel,
            r#"{"event":"invitee.created"}"#,
            Some("t=1,v1=abc"),
        )
        .await;
    let announced = live.next_delivery().await;
    let mut replay = client.subscribe(&channel, Some(0)).await;
    let stored = replay.next_delivery().await;
    assert_eq!(
        announced, stored,
        "the event sent at the commit and the one read back from the store are one delivery"
    );
    assert_eq!(
        announced.received_at.timestamp_subsec_nanos() % 1_000_000,
        0,
        "received_at is kept to the millisecond"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_the_missing_deliveries_in_order(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    for n in 1..=5 {
        client.post(&channel, format!("first-{n}"), None).await;
    }
    let mut stream = client.subscribe(&channel, None).await;
    let read = stream.deliveries(3).await;
    assert_eq!(bodies(&read), ["first-1", "first-2", "first-3"]);
    drop(stream);
    for n in 1..=3 {
        client.post(&channel, format!("later-{n}"), None).await;
    }
    let mut resumed = client.subscribe(&channel, Some(read[2].id)).await;
    let rest = resumed.deliveries(5).await;
    assert_eq!(
        bodies(&rest),
        ["first-4", "first-5", "later-1", "later-2", "later-3"],
        "everything after the cursor, nothing before it"
    );
    // A delivery posted now is the very next event: nothing was repeated or skipped.
    client.post(&channel, "sentinel", None).await;
    assert_eq!(bodies(&[resumed.next_delivery().await]), ["sentinel"]);

    // `?after=` works like the header.
    let response = client
        .http
        .get(client.url(&format!(
            "/v1/channels/{}/events?after={}",
            channel.channel_id, rest[3].id
        )))
        .bearer_auth(&channel.subscriber_token)
        .send()
        .await
        .unwrap();
    let mut by_query = support::EventReader::new(response);
    assert_eq!(
        bodies(&by_query.deliveries(2).await),
        ["later-3", "sentinel"]
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn after_an_ack_a_stream_from_zero_holds_only_unacknowledged_deliveries(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(
            client
                .post(&channel, format!("d{n}"), None)
                .await
                .1
                .unwrap(),
        );
    }
    assert_eq!(client.ack(&channel, ids[1]).await, 204, "ack answers 204");
    let mut stream = client.subscribe(&channel, Some(0)).await;
    // Acknowledged deliveries are simply gone: no gap, just the rest.
    assert_eq!(bodies(&stream.deliveries(2).await), ["d3", "d4"]);
    // An ack beyond the newest counts up to the newest: a later delivery is still delivered.
    assert_eq!(client.ack(&channel, 1_000_000).await, 204);
    client.post(&channel, "d5", None).await;
    let mut fresh = client.subscribe(&channel, Some(0)).await;
    assert_eq!(bodies(&[fresh.next_delivery().await]), ["d5"]);
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn ids_keep_increasing_across_acks_and_restarts_and_are_never_reused(
    #[case] backend: Backend,
) {
    let mut relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let (_, first) = client.post(&channel, "a", None).await;
    let (_, second) = client.post(&channel, "b", None).await;
    client.ack(&channel, second.unwrap()).await;
    relay.restart(RelayConfig::default()).await;
    let client = relay.client();
    let channel = advicly_relay_protocol::ChannelCreated {
        ingress_url: client
            .url(&format!("/hooks/{}", channel.channel_id))
            .to_string(),
        ..channel
    };
    let (status, third) = client.post(&channel, "c", None).await;
    assert_eq!(status, 200, "the channel survived the restart");
    assert!(
        first < second && second < third,
        "ids {first:?} {second:?} {third:?}"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn wrong_missing_and_other_channel_tokens_and_unknown_channels_all_get_the_same_401(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let other = client.create_channel().await;
    let unknown = "0123456789abcdef0123456789abcdef";
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("no token", channel.channel_id.clone(), None),
        (
            "wrong token",
            channel.channel_id.clone(),
            Some("not-the-token".into()),
        ),
        (
            "other channel's token",
            channel.channel_id.clone(),
            Some(other.subscriber_token.clone()),
        ),
        (
            "unknown channel",
            unknown.into(),
            Some(channel.subscriber_token.clone()),
        ),
        (
            "malformed channel id",
            "..%2Fetc".into(),
            Some(channel.subscriber_token.clone()),
        ),
    ];
    let mut answers = Vec::new();
    for (what, channel_id, token) in &cases {
        for (method, path) in [
            ("GET", format!("/v1/channels/{channel_id}/events")),
            ("POST", format!("/v1/channels/{channel_id}/ack")),
            ("DELETE", format!("/v1/channels/{channel_id}")),
        ] {
            let mut request = client
                .http
                .request(method.parse().unwrap(), client.url(&path))
                .body(r#"{"up_to":1}"#);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{what}: {method} {path}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            answers.push(response.text().await.unwrap());
        }
    }
    answers.dedup();
    assert_eq!(
        answers.len(),
        1,
        "every 401 has the same body, so ids cannot be probed"
    );
    // The real token still works after all that.
    assert_eq!(client.ack(&channel, 0).await, 204);
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn deleting_a_channel_ends_its_stream_and_forgets_it(#[case] backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    client.post(&channel, "kept until deleted", None).await;
    let mut stream = client.subscribe(&channel, None).await;
    stream.next_delivery().await;
    assert_eq!(client.delete(&channel).await, 204);
    assert_eq!(stream.next().await, None, "the open stream ends");
    assert_eq!(
        client.post(&channel, "late", None).await.0,
        404,
        "ingress forgets it"
    );
    assert_eq!(
        client.delete(&channel).await,
        401,
        "the token is gone with it"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn ingress_refuses_unknown_channels_oversized_bodies_and_other_methods(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let unknown = client.url("/hooks/0123456789abcdef0123456789abcdef");
    assert_eq!(
        client
            .http
            .post(unknown)
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let malformed = client.url("/hooks/not-a-channel");
    assert_eq!(
        client
            .http
            .post(malformed)
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let limit = advicly_relay_protocol::MAX_BODY_BYTES;
    let (status, _) = client.post(&channel, vec![b'x'; limit + 1], None).await;
    assert_eq!(status, 413, "one byte over 256 KiB");
    // A chunked body without a length is measured as it arrives.
    let chunks = futures::stream::iter(
        (0..5).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'y'; 64 * 1024]))),
    );
    let (status, _) = client
        .post(&channel, reqwest::Body::wrap_stream(chunks), None)
        .await;
    assert_eq!(status, 413, "a streamed body over the limit");
    let (status, exact) = client.post(&channel, vec![b'z'; limit], None).await;
    assert_eq!(status, 200, "exactly 256 KiB is fine");
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let response = client
            .http
            .request(method.parse().unwrap(), &channel.ingress_url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} at ingress");
        assert_eq!(response.headers()["allow"], "POST", "{method} at ingress");
        let error: advicly_relay_protocol::ErrorBody = response.json().await.unwrap();
        assert_eq!(error.error, "method_not_allowed");
    }
    // The HTTP layers' refusals carry the API's JSON error body like the handlers' own.
    let too_large = client
        .http
        .post(&channel.ingress_url)
        .body(vec![b'x'; limit + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    let error: advicly_relay_protocol::ErrorBody = too_large.json().await.unwrap();
    assert_eq!(error.error, "body_too_large");
    let wrong_method = client
        .http
        .put(client.url(advicly_relay_protocol::CHANNELS_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let error: advicly_relay_protocol::ErrorBody = wrong_method.json().await.unwrap();
    assert_eq!(error.error, "method_not_allowed");
    let mut stream = client.subscribe(&channel, None).await;
    let only = stream.next_delivery().await;
    assert_eq!(Some(only.id), exact, "nothing refused was stored");
    assert_eq!(only.body.to_bytes().unwrap().len(), limit);
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_truncated_body_is_not_stored_and_the_relay_carries_on(#[case] backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut socket = tokio::net::TcpStream::connect(relay.relay.as_ref().unwrap().local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST /hooks/{} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n\r\n{{\"cut\":",
        channel.channel_id
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(support::DEADLINE, socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "a cut body is refused, never acknowledged: {answer}"
    );
    assert!(
        answer.contains(r#"{"error":"bad_request""#),
        "with the API's error body: {answer}"
    );
    client.post(&channel, "whole", None).await;
    let mut stream = client.subscribe(&channel, None).await;
    assert_eq!(
        bodies(&[stream.next_delivery().await]),
        ["whole"],
        "only the whole one is stored"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn beyond_the_caps_the_oldest_are_dropped_and_the_stream_reports_a_gap(
    #[case] backend: Backend,
) {
    let config = RelayConfig {
        caps: ChannelCaps {
            max_pending_deliveries: 3,
            max_pending_bytes: 1024 * 1024,
        },
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(backend, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            client
                .post(&channel, format!("d{n}"), None)
                .await
                .1
                .unwrap(),
        );
    }
    let mut stream = client.subscribe(&channel, None).await;
    assert_eq!(
        stream.next().await,
        Some(StreamEvent::Gap(Gap {
            after: 0,
            before: ids[2]
        })),
        "the first two were dropped before anyone read them"
    );
    assert_eq!(bodies(&stream.deliveries(3).await), ["d3", "d4", "d5"]);

    // The byte cap works the same way.
    let byte_capped = TestRelay::start_with(
        backend,
        RelayConfig {
            caps: ChannelCaps {
                max_pending_deliveries: 100,
                max_pending_bytes: 300 * 1024,
            },
            ..RelayConfig::default()
        },
    )
    .await;
    let client = byte_capped.client();
    let channel = client.create_channel().await;
    let first = client
        .post(&channel, vec![b'a'; 200 * 1024], None)
        .await
        .1
        .unwrap();
    let second = client
        .post(&channel, vec![b'b'; 200 * 1024], None)
        .await
        .1
        .unwrap();
    let mut stream = client.subscribe(&channel, None).await;
    assert_eq!(
        stream.next().await,
        Some(StreamEvent::Gap(Gap {
            after: 0,
            before: first + 1
        }))
    );
    assert_eq!(stream.next_delivery().await.id, second);
    relay.stop().await;
    byte_capped.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_cursor_older_than_retention_gets_a_gap_and_then_the_newer_deliveries(
    #[case] backend: Backend,
) {
    let config = RelayConfig {
        retention: Duration::from_millis(200),
        retention_sweep_interval: Duration::from_millis(50),
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(backend, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let old = client.post(&channel, "old", None).await.1.unwrap();
    // Bounded poll: retention runs on its own schedule.
    let deadline = tokio::time::Instant::now() + support::DEADLINE;
    loop {
        let oldest = relay
            .relay
            .as_ref()
            .unwrap()
            .state()
            .store()
            .oldest_pending()
            .await
            .unwrap();
        if oldest.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "retention never dropped the old delivery"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let new = client.post(&channel, "new", None).await.1.unwrap();
    let mut stream = client.subscribe(&channel, Some(0)).await;
    assert_eq!(
        stream.next().await,
        Some(StreamEvent::Gap(Gap {
            after: 0,
            before: old + 1
        }))
    );
    assert_eq!(stream.next_delivery().await.id, new);
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn with_a_signing_key_each_delivery_says_whether_the_relay_verified_it(
    #[case] backend: Backend,
) {
    let key = SigningKey::from_file_text("app-signing-key").unwrap();
    let config = RelayConfig {
        signing_key: Some(key.clone()),
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(backend, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let body = r#"{"event":"invitee.created"}"#;
    let now = chrono::Utc::now().timestamp();
    client
        .post(&channel, body, Some(&key.sign(now, body.as_bytes())))
        .await;
    client
        .post(&channel, body, Some(&key.sign(now, b"another body")))
        .await;
    client.post(&channel, body, None).await;
    let mut stream = client.subscribe(&channel, None).await;
    let verdicts: Vec<_> = stream
        .deliveries(3)
        .await
        .iter()
        .map(|d| d.relay_verified)
        .collect();
    assert_eq!(
        verdicts,
        [Some(true), Some(false), Some(false)],
        "stored either way, with the verdict"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn an_idle_stream_carries_keep_alive_comments(#[case] backend: Backend) {
    use futures::StreamExt;
    let config = RelayConfig {
        keep_alive_interval: Duration::from_millis(100),
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(backend, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let response = client
        .http
        .get(client.url(&advicly_relay_protocol::events_path(&channel.channel_id)))
        .bearer_auth(&channel.subscriber_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut chunks = response.bytes_stream();
    let mut text = String::new();
    while text.matches(": keep-alive").count() < 2 {
        let chunk = tokio::time::timeout(support::DEADLINE, chunks.next())
            .await
            .expect("keep-alive within the deadline")
            .expect("the stream stays open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.starts_with(": connected"),
        "a comment at once tells the client it is live: {text:?}"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_cursor_that_is_not_a_delivery_id_is_a_400(#[case] backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let response = client
        .http
        .get(client.url(&advicly_relay_protocol::events_path(&channel.channel_id)))
        .bearer_auth(&channel.subscriber_token)
        .header("Last-Event-ID", "seven")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: advicly_relay_protocol::ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error, "bad_request");

    // Ids are signed 64-bit integers in both stores: a cursor past the largest is no id either,
    // whichever way it comes.
    let events = client.url(&advicly_relay_protocol::events_path(&channel.channel_id));
    let status_for = |header: Option<&'static str>, query: Option<&'static str>| {
        let mut request = client.http.get(events.clone());
        if let Some(header) = header {
            request = request.header("Last-Event-ID", header);
        }
        if let Some(query) = query {
            request = request.query(&[("after", query)]);
        }
        let request = request.bearer_auth(&channel.subscriber_token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for too_large in [
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
    ] {
        assert_eq!(
            status_for(Some(too_large), None).await,
            400,
            "header {too_large}"
        );
        assert_eq!(
            status_for(None, Some(too_large)).await,
            400,
            "after={too_large}"
        );
    }
    assert_eq!(
        status_for(Some("9223372036854775807"), None).await,
        200,
        "the largest id is a cursor"
    );
    relay.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn healthz_answers_when_the_store_does_and_metrics_count_deliveries(
    #[case] backend: Backend,
) {
    let relay = TestRelay::start(backend).await;
    let client = relay.client();
    let health = client
        .http
        .get(client.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let channel = client.create_channel().await;
    client.post(&channel, "{}", None).await;
    let mut stream = client.subscribe(&channel, None).await;
    stream.next_delivery().await;
    let metrics = client
        .http
        .get(client.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    for name in [
        "relay_deliveries_in_total",
        "relay_deliveries_out_total",
        "relay_subscribers_connected",
        "relay_oldest_unacknowledged_delivery_age_seconds",
        "relay_ingest_duration_seconds_bucket",
        "relay_commit_group_size_bucket",
    ] {
        assert!(text.contains(name), "{name} is exported:\n{text}");
    }
    drop(stream);
    relay.stop().await;
}

#[tokio::test]
async fn healthz_is_503_once_the_database_is_gone_and_the_relay_still_stops() {
    let relay = TestRelay::start(Backend::Postgres).await;
    let client = relay.client();
    let health = || async {
        client
            .http
            .get(client.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(health().await, 200);
    let channel = client.create_channel().await;
    let advicly_relay::Database::Postgres { url } = &relay.database else {
        unreachable!("a PostgreSQL relay")
    };
    let name = support::database_name(url);
    // Ends the relay's connections too, and no new one can be made.
    advicly_relay_testkit::PostgresServer::shared()
        .psql("postgres", &format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
    assert_eq!(
        health().await,
        503,
        "a load balancer takes the instance out of rotation"
    );
    // A write that finds no database must not keep the shutdown waiting for one.
    let (status, _) = client.post(&channel, "{}", None).await;
    assert_eq!(status, 503, "an ingest that cannot commit is refused");
    tokio::time::timeout(support::DEADLINE, relay.stop())
        .await
        .expect("the relay stops with its database gone");
}

#[tokio::test]
async fn the_relay_started_in_process_serves_on_loopback_and_shuts_down_cleanly() {
    let data_dir = tempfile::tempdir().unwrap();
    let relay = advicly_relay::start_embedded(data_dir.path())
        .await
        .unwrap();
    assert_eq!(relay.base_url().host_str(), Some("127.0.0.1"));
    let client = RelayClient::new(relay.base_url().clone());
    let channel = client.create_channel().await;
    assert!(channel.ingress_url.starts_with(relay.base_url().as_str()));
    let mut stream = client.subscribe(&channel, None).await;
    client.post(&channel, "hello", None).await;
    stream.next_delivery().await;
    relay.shutdown().await.unwrap();
    assert_eq!(stream.next().await, None, "shutdown ends open streams");
    assert!(
        data_dir.path().join("relay.sqlite3").exists(),
        "the store is a file in the given folder"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_flood_of_channel_creations_from_one_address_gets_429(#[case] backend: Backend) {
    let config = RelayConfig {
        creation_rate_limit: advicly_relay::CreationRateLimit {
            replenish_every: Duration::from_secs(3600),
            burst: 3,
        },
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(backend, config).await;
    let client = relay.client();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..10 {
        let response = client
            .http
            .post(client.url("/v1/channels"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
            let error: advicly_relay_protocol::ErrorBody = response.json().await.unwrap();
            assert_eq!(error.error, "rate_limited");
        }
    }
    assert_eq!(statuses[..3], [201, 201, 201], "the burst is allowed");
    assert!(
        statuses[3..].iter().all(|status| *status == 429),
        "then 429: {statuses:?}"
    );
    assert!(retry_after.is_some(), "a 429 says when to come back");
    // Only creation is limited: the existing channels keep working.
    let health = client
        .http
        .get(client.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    relay.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = RelayConfig {
        header_read_timeout: Duration::from_millis(300),
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(Backend::Sqlite, config).await;
    let mut socket = tokio::net::TcpStream::connect(relay.relay.as_ref().unwrap().local_addr())
        .await
        .unwrap();
    socket
        .write_all(b"POST /v1/channels HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The relay closes the connection by itself; the deadline only bounds a failing test.
    tokio::time::timeout(support::DEADLINE, socket.read_to_end(&mut answer))
        .await
        .expect("the relay hangs up on a slow client")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("201"),
        "no channel for a half request: {answer}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn streams_beyond_the_maximum_get_503_until_one_leaves() {
    let config = RelayConfig {
        max_subscribers: 1,
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(Backend::Sqlite, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let first = client.subscribe(&channel, None).await;
    let refused = client
        .http
        .get(client.url(&advicly_relay_protocol::events_path(&channel.channel_id)))
        .bearer_auth(&channel.subscriber_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503, "one stream is the maximum");
    assert!(refused.headers().contains_key("retry-after"));
    let error: advicly_relay_protocol::ErrorBody = refused.json().await.unwrap();
    assert_eq!(error.error, "too_many_subscribers");
    drop(first);
    support::until_subscribers(&relay, 0).await;
    let mut second = client.subscribe(&channel, None).await;
    client.post(&channel, "after the first left", None).await;
    assert_eq!(
        bodies(&[second.next_delivery().await]),
        ["after the first left"]
    );
    relay.stop().await;
}
