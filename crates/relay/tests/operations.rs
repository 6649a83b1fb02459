//! The binary as an operator runs it: behind a proxy with `--public-url`, scraped by Prometheus
//! from its first second.

mod support;

use advicly_relay::Database;
use support::{process_arguments, RelayProcess};

/// The binary on a fresh SQLite folder, with `extra` arguments; the folder lives as long as it.
async fn spawn_relay(extra: &[&str]) -> (tempfile::TempDir, RelayProcess) {
    let data_dir = tempfile::tempdir().unwrap();
    let database = Database::Sqlite {
        data_dir: data_dir.path().to_owned(),
    };
    let mut arguments = process_arguments(data_dir.path(), &database);
    arguments.extend(extra.iter().map(|argument| (*argument).to_owned()));
    let relay = RelayProcess::spawn(&arguments, "info", data_dir.path().join("relay.log")).await;
    (data_dir, relay)
}

#[tokio::test]
async fn a_fresh_relay_exports_every_counter_at_zero_before_any_traffic() {
    let (_data_dir, relay) = spawn_relay(&[]).await;
    let client = relay.client();
    let response = client
        .http
        .get(client.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let samples: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
    for series in [
        "relay_deliveries_in_total",
        "relay_deliveries_out_total",
        "relay_deliveries_dropped_total",
        "relay_channels_created_total",
        "relay_subscribers_connected",
    ] {
        assert!(
            samples.contains(&format!("{series} 0").as_str()),
            "{series} is exported as 0 before anything happened, so a rate alert sees a zero:\n{text}"
        );
    }
    assert!(relay.terminate().await.success());
}

#[tokio::test]
async fn behind_a_proxy_ingress_urls_and_the_logged_redirect_uri_use_the_public_url() {
    // A proxy that serves the relay under a path prefix and strips it before passing requests
    // on; the query is no part of a base address.
    let (_data_dir, relay) = spawn_relay(&[
        "--public-url",
        "https://relay.example.com/advicly?ignored=1",
    ])
    .await;
    let channel = relay.client().create_channel().await;
    assert_eq!(
        channel.ingress_url,
        format!(
            "https://relay.example.com/advicly/hooks/{}",
            channel.channel_id
        ),
        "Calendly gets the public address, not the loopback one the relay listens on"
    );
    // The start-up line is written before the base URL is printed, so it is in the log now.
    let log = relay.stderr();
    let listening = log
        .lines()
        .find(|line| line.contains("relay listening"))
        .unwrap_or_else(|| panic!("a start-up line:\n{log}"));
    assert!(
        listening.contains("oauth_redirect_uri=https://relay.example.com/advicly/oauth/callback"),
        "the operator reads the redirect URI to register at Calendly from it: {listening}"
    );
    assert!(
        listening.contains("public_url=https://relay.example.com/advicly/"),
        "{listening}"
    );
    assert!(relay.terminate().await.success());
}
