//! What the relay logs at TRACE: the real binary serves every endpoint (both backends), then
//! its stderr is scanned for bodies, tokens, signatures, signing keys and query strings.

mod support;

use advicly_relay::Database;
use rstest::rstest;
use support::{process_arguments, Backend, RelayProcess};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_trace_level_log_holds_no_body_token_signature_or_query_string(#[case] backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => Database::Sqlite {
            data_dir: folder.path().to_owned(),
        },
        Backend::Postgres => support::postgres_database(),
    };
    let key_file = folder.path().join("signing-key");
    std::fs::write(&key_file, "SIGNINGKEYMARKER").unwrap();
    let mut arguments = process_arguments(folder.path(), &database);
    arguments.extend([
        "--calendly-signing-key-file".into(),
        key_file.display().to_string(),
    ]);
    let relay = RelayProcess::spawn(&arguments, "trace", folder.path().join("trace.log")).await;
    let client = relay.client();

    let channel = client.create_channel().await;
    let body = r#"{"event":"invitee.created","payload":{"email":"BODYMARKER@example.com"}}"#;
    let signature = "t=1700000000,v1=5161474e41545552454d41524b4552";
    assert_eq!(client.post(&channel, body, Some(signature)).await.0, 200);
    assert_eq!(
        client
            .post(&channel, vec![0xff, 0xfe, b'B', b'I', b'N'], None)
            .await
            .0,
        200
    );
    let mut stream = client.subscribe(&channel, None).await;
    let delivered = stream.deliveries(2).await;
    assert_eq!(client.ack(&channel, delivered[1].id).await, 204);
    // Wrong tokens and query strings are logged no more than right ones.
    let wrong = client
        .http
        .get(client.url(&format!(
            "/v1/channels/{}/events?after=1&QUERYMARKER=1",
            channel.channel_id
        )))
        .bearer_auth("WRONGTOKENMARKER")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bounce = client
        .http
        .get(client.url("/oauth/callback?code=CODEMARKER&state=STATEMARKER"))
        .send()
        .await
        .unwrap();
    assert_eq!(bounce.status(), 200);
    let unknown = client
        .http
        .post(client.url("/hooks/0123456789abcdef0123456789abcdef?token=QUERYMARKER2"))
        .body("UNKNOWNBODYMARKER")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(client.delete(&channel).await, 204);
    drop(stream);
    let stderr_path = relay.stderr_path.clone();
    assert!(relay.terminate().await.success());

    let log = std::fs::read_to_string(stderr_path).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log really is verbose"
    );
    assert!(
        log.contains("/hooks/{channel_id}"),
        "requests are logged by route"
    );
    for (what, secret) in [
        ("the subscriber token", channel.subscriber_token.as_str()),
        ("a wrong token", "WRONGTOKENMARKER"),
        ("a body", "BODYMARKER"),
        ("a body of an unknown channel", "UNKNOWNBODYMARKER"),
        ("the signature", "5161474e41545552454d41524b4552"),
        ("the signing key", "SIGNINGKEYMARKER"),
        ("a query string", "QUERYMARKER"),
        ("the OAuth code", "CODEMARKER"),
        ("the OAuth state", "STATEMARKER"),
        ("a query string", "after=1"),
    ] {
        assert!(
            !log.contains(secret),
            "{what} leaked into the TRACE log:\n{log}"
        );
    }
}
