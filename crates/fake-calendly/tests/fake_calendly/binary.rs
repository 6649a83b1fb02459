//! The `fake-calendly` binary: prints its base URLs (and, when asked, a demo token) and serves.

use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

#[tokio::test]
async fn binary_prints_base_urls_then_serves_the_seeded_account() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-calendly"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed-events",
            "7",
            "--seed",
            "9",
            "--auto-approve",
            "--print-demo-token",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the binary prints within 20 s")
            .expect("stdout is readable")
            .expect("a line is printed")
    };
    let api = next_line().await;
    let auth = next_line().await;
    let token = next_line().await;
    assert!(
        api.starts_with("http://127.0.0.1:") && !api.ends_with('/'),
        "line 1 is the API base URL: {api}"
    );
    assert!(
        auth.starts_with("http://127.0.0.1:") && auth != api,
        "line 2 is the separate OAuth base URL: {auth}"
    );
    let me = send(
        reqwest::Client::new()
            .get(format!("{api}/users/me"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "line 3 is a working demo token: {}",
        me.body
    );
    let user = me.body["resource"]["uri"].as_str().expect("uri");
    let events = send(
        reqwest::Client::new()
            .get(format!("{api}/scheduled_events?user={user}&count=100"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        events.body["collection"].as_array().expect("array").len(),
        7,
        "--seed-events seeds the default user"
    );
    let authorize = no_redirect_client()
        .get(format!(
            "{auth}/oauth/authorize?client_id=nope&response_type=code"
        ))
        .send()
        .await
        .expect("the OAuth listener answers");
    assert_eq!(
        authorize.status(),
        StatusCode::BAD_REQUEST,
        "the OAuth listener is live and checks the client"
    );
    child
        .start_kill()
        .expect("the child we started can be stopped");
    child.wait().await.expect("the child exits");
}

#[tokio::test]
async fn binary_help_documents_every_flag_and_prints_no_token_by_default() {
    let help = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-calendly"))
        .arg("--help")
        .output()
        .await
        .expect("--help runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--auth-listen",
        "--seed-events",
        "--seed",
        "--client-id",
        "--redirect-uri",
        "--latency-ms",
        "--auto-approve",
        "--rate-limit",
        "--token-rate-limit",
        "--retry-window-secs",
        "--retry-backoff-ms",
        "--webhook-signing-key",
        "--print-demo-token",
    ] {
        assert!(text.contains(flag), "--help documents {flag}");
    }

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-calendly"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("a base URL line")
            .expect("readable");
    }
    child
        .start_kill()
        .expect("the child we started can be stopped");
    let rest = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("stdout closes")
        .expect("readable");
    assert_eq!(
        rest, None,
        "without --print-demo-token nothing but the two URLs is printed"
    );
    child.wait().await.expect("the child exits");
}
