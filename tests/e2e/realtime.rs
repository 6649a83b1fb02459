//! Real time through the binaries: `advicly listen --json` holds the stream of a real
//! `advicly-relay` process and prints one line per delivery; the relay is killed with SIGKILL
//! and restarted under it, and nothing is lost or applied twice.

use std::time::Duration;

use advicly_e2e::{start_relay, Cli, RelayProcess};
use chrono::Utc;
use fake_calendly::{
    BookingRequest, ControlClient, FakeCalendly, FakeConfig, FakeHandle, InviteeSpec,
    MintTokenRequest,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

/// The fake with a retry window long enough to outlast a relay restart.
async fn patient_fake() -> FakeHandle {
    FakeCalendly::start(FakeConfig {
        retry_window: Duration::from_secs(120),
        retry_backoff: Duration::from_millis(100),
        ..FakeConfig::for_tests()
    })
    .await
    .expect("the fake Calendly starts on loopback")
}

async fn book(control: &ControlClient, email: &str) -> String {
    control
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Financial review".to_owned()),
            start_time: Utc::now() + chrono::Duration::days(3),
            duration_minutes: Some(30),
            invitees: vec![InviteeSpec {
                name: email.to_owned(),
                email: email.to_owned(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await
        .expect("the fake books a meeting")
        .event_uri
}

async fn connect(cli: &Cli, control: &ControlClient) {
    let token = control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .expect("the fake mints a token")
        .token;
    // Piped in: issue 10 refuses a token written on the command line.
    cli.connect_with_token(&token).await;
}

/// The next `advicly listen --json` line, parsed (bounded wait).
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> serde_json::Value {
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a delivery line within 30 s")
        .expect("stdout is readable")
        .expect("listen is still running");
    serde_json::from_str(&line).unwrap_or_else(|error| panic!("a JSON line ({error}): {line}"))
}

/// Asks a child to stop as Ctrl-C would.
fn interrupt(child: &tokio::process::Child) {
    let pid = child.id().expect("the child runs").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_prints_one_json_line_per_delivery_and_stops_cleanly_on_ctrl_c() {
    let relay = start_relay().await;
    let fake = patient_fake().await;
    let control = fake.control();
    let cli = Cli::new(&fake, &FakeConfig::for_tests().client_id, Some(&relay));
    connect(&cli, &control).await;
    let mut listen = cli.spawn(&["listen", "--json"]);
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    let event_uri = book(&control, "ann@example.com").await;
    let line = next_line(&mut lines).await;
    // The documented fields, exactly.
    let keys: Vec<&str> = line
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec!["event", "id", "meeting_uri", "outcome", "reason"],
        "{line}"
    );
    assert_eq!(line["event"], "invitee.created");
    assert_eq!(line["outcome"], "applied");
    assert_eq!(line["meeting_uri"], event_uri.as_str());
    assert!(line["reason"].is_null());
    interrupt(&listen);
    let status = tokio::time::timeout(Duration::from_secs(20), listen.wait())
        .await
        .expect("listen stops after Ctrl-C")
        .unwrap();
    assert!(status.success(), "Ctrl-C is a clean exit: {status:?}");
    // The delivery is in the shared database: any other command sees it.
    let meetings = cli.json(&["meetings", "--json"]).await;
    assert!(meetings
        .as_array()
        .unwrap()
        .iter()
        .any(|meeting| meeting["uri"] == event_uri.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_without_a_relay_or_an_account_fails_with_the_usual_exit_codes_and_finds_a_saved_relay(
) {
    let fake = patient_fake().await;
    let relay = start_relay().await;
    let client_id = FakeConfig::for_tests().client_id;
    let without_relay = Cli::new(&fake, &client_id, None);
    let output = without_relay.run(&["listen"]).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing setting is a usage error"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("advicly config set relay_base") && stderr.contains("--relay-base"),
        "says how to set a relay: {stderr}"
    );
    // Saved once in the settings file, the relay is found with no flag or variable.
    without_relay
        .ok(&["config", "set", "relay_base", relay.as_str()])
        .await;
    let output = without_relay.run(&["listen"]).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "the file's relay counts; now only the account is missing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let not_connected = Cli::new(&fake, &client_id, Some(&relay));
    let output = not_connected.run(&["listen", "--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "not connected, as for every command"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_killed_with_sigkill_and_restarted_loses_nothing_and_applies_nothing_twice() {
    let relay_dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(relay_dir.path());
    let fake = patient_fake().await;
    let control = fake.control();
    let cli = Cli::new(&fake, &FakeConfig::for_tests().client_id, Some(&relay.base));
    connect(&cli, &control).await;
    let mut listen = cli.spawn(&["listen", "--json"]);
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();

    let before = book(&control, "before@example.com").await;
    let first = next_line(&mut lines).await;
    assert_eq!(first["meeting_uri"], before.as_str());

    relay.kill_9();
    // Bookings while the relay is gone: Calendly retries them until it is back.
    let during = [
        book(&control, "during1@example.com").await,
        book(&control, "during2@example.com").await,
    ];
    relay.restart();
    let after = book(&control, "after@example.com").await;

    let mut seen = vec![first];
    while seen.len() < 4 {
        seen.push(next_line(&mut lines).await);
    }
    let ids: Vec<i64> = seen
        .iter()
        .map(|line| line["id"].as_i64().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no delivery twice: {ids:?}");
    assert!(
        seen.iter().all(|line| line["outcome"] == "applied"),
        "{seen:?}"
    );
    let mut uris: Vec<String> = seen
        .iter()
        .map(|line| line["meeting_uri"].as_str().unwrap().to_owned())
        .collect();
    uris.sort();
    let mut expected = vec![before, during[0].clone(), during[1].clone(), after];
    expected.sort();
    assert_eq!(uris, expected, "every booking arrived exactly once");
    interrupt(&listen);
    let _ = tokio::time::timeout(Duration::from_secs(20), listen.wait()).await;
}
