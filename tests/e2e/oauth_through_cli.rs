//! The whole PKCE flow through the `advicly` binary, in both redirect modes, against the fake
//! Calendly and the relay over loopback, with the real Secret Service of the test session.
//! After disconnecting, no token may remain in the keychain, the data folder or any output.

use advicly_e2e::{
    contains, files_containing, keychain_secrets, secret_values, start_fake, start_relay, Cli,
};
use chrono::{Duration, Utc};
use fake_calendly::{BookingRequest, FakeConfig, FakeHandle, InviteeSpec};
use reqwest::header::LOCATION;
use url::Url;

#[derive(Clone, Copy, Debug)]
enum Mode {
    DeepLink,
    RelayBounce,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

fn query_value(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

/// Plays the system browser: opens the authorize URL (the fake approves at once), and in relay
/// mode follows Calendly's redirect to the relay page. Returns the `advicly://` deep link the
/// desktop would hand to the app.
async fn browser(authorize_url: &Url, mode: Mode, relay: &Url) -> Url {
    let http = no_redirects();
    let consent = http
        .get(authorize_url.clone())
        .send()
        .await
        .expect("the fake's authorize endpoint answers");
    assert!(
        consent.status().is_redirection(),
        "an approved authorization redirects to the redirect URI, got {}",
        consent.status()
    );
    let location = Url::parse(
        consent.headers()[LOCATION]
            .to_str()
            .expect("an ASCII Location"),
    )
    .expect("the Location is a URL");
    match mode {
        Mode::DeepLink => location,
        Mode::RelayBounce => {
            assert_eq!(
                location.origin(),
                relay.origin(),
                "in relay mode Calendly must redirect to our HTTPS bounce page"
            );
            let page = http.get(location).send().await.expect("the relay answers");
            assert!(
                page.status().is_success(),
                "the bounce page renders (a meta refresh plus a link), got {}",
                page.status()
            );
            assert!(
                page.headers().get("set-cookie").is_none(),
                "the bounce page must set no cookies"
            );
            let body = page.text().await.expect("the page has a body");
            let refresh_target = between(&body, "content=\"0;url=", "\"");
            let link_target = between(&body, "id=\"open-advicly\" href=\"", "\"");
            assert_eq!(
                refresh_target, link_target,
                "the automatic redirect and the visible Open Advicly link lead to the same place"
            );
            assert!(
                body.contains("Open Advicly"),
                "the visible link is labelled"
            );
            let deep_link = link_target
                .expect("the page carries the deep link")
                .replace("&amp;", "&");
            Url::parse(&deep_link).expect("the deep link is a URL")
        }
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let after = &text[text.find(start)? + start.len()..];
    Some(after[..after.find(end)?].to_owned())
}

async fn book_a_meeting(fake: &FakeHandle) {
    fake.control()
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Financial review".to_owned()),
            start_time: Utc::now() + Duration::days(3),
            duration_minutes: Some(45),
            invitees: vec![InviteeSpec {
                name: "Rosalind Franklin".to_owned(),
                email: "rosalind@example.org".to_owned(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await
        .expect("the fake books a meeting");
}

async fn connect_sync_disconnect(mode: Mode) {
    let relay = start_relay().await;
    let relay_callback = relay.join("oauth/callback").expect("a callback URL");
    let fake = start_fake(Some(&relay_callback)).await;
    book_a_meeting(&fake).await;
    let client_id = FakeConfig::for_tests().client_id;
    let cli = Cli::new(
        &fake,
        &client_id,
        matches!(mode, Mode::RelayBounce).then_some(&relay),
    );

    let printed = cli.ok(&["connect", "--no-browser"]).await;
    let authorize_url = printed
        .split_whitespace()
        .find_map(|word| {
            Url::parse(word)
                .ok()
                .filter(|url| url.scheme().starts_with("http"))
        })
        .unwrap_or_else(|| panic!("connect prints the authorize URL: {printed}"));
    assert_eq!(
        query_value(&authorize_url, "code_challenge_method").as_deref(),
        Some("S256"),
        "PKCE must use S256"
    );
    let expected_redirect = match mode {
        Mode::DeepLink => "advicly://oauth/callback".to_owned(),
        Mode::RelayBounce => relay_callback.to_string(),
    };
    assert_eq!(
        query_value(&authorize_url, "redirect_uri").as_deref(),
        Some(expected_redirect.as_str()),
        "the redirect URI follows the configured mode"
    );

    let deep_link = browser(&authorize_url, mode, &relay).await;
    assert_eq!(
        deep_link.scheme(),
        "advicly",
        "the app is reached through its deep link"
    );
    let connected = cli.ok(&["handle-url", deep_link.as_str()]).await;
    assert!(
        connected.contains("Connected"),
        "handle-url completes the connection: {connected}"
    );

    // A callback is single use: replaying it must fail with one plain sentence.
    let replay = cli.run(&["handle-url", deep_link.as_str()]).await;
    assert!(!replay.status.success(), "a reused state must be rejected");
    let replay_stderr = String::from_utf8_lossy(&replay.stderr);
    assert!(
        !replay_stderr.contains("panicked") && !replay_stderr.contains("Error {"),
        "errors are sentences, not debug dumps: {replay_stderr}"
    );

    let status = cli.json(&["status", "--json"]).await;
    assert_eq!(status["state"], "connected", "status: {status}");
    assert_eq!(
        status["circuit"], "closed",
        "a fresh connection has a closed refresh circuit"
    );

    cli.ok(&["sync", "--json"]).await;
    let meetings = cli.json(&["meetings", "--json"]).await;
    let emails: Vec<String> = meetings
        .as_array()
        .expect("meetings --json prints an array")
        .iter()
        .flat_map(|meeting| {
            meeting["client_emails"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|email| email.as_str().map(str::to_owned))
        .collect();
    assert!(
        emails.iter().any(|email| email == "rosalind@example.org"),
        "the booked meeting was synced through the OAuth token: {emails:?}"
    );

    let secrets = keychain_secrets(&cli.keychain_service);
    let tokens = secret_values(&secrets);
    assert!(
        !tokens.is_empty(),
        "while connected the tokens live in the keychain (found {} entries)",
        secrets.len()
    );

    let disconnected = cli.ok(&["disconnect"]).await;
    assert!(
        disconnected.contains("Disconnected"),
        "disconnect reports what it did: {disconnected}"
    );
    assert!(
        keychain_secrets(&cli.keychain_service).is_empty(),
        "disconnect removes every keychain entry of the account"
    );
    let transcript = cli.transcript();
    for token in &tokens {
        assert!(
            files_containing(cli.data_dir.path(), token).is_empty(),
            "no token may reach the database or any file in the data folder"
        );
        assert!(
            !contains(&transcript, token.as_bytes()),
            "no token may reach the CLI's output or its debug logs"
        );
    }
    let meetings_offline = cli.json(&["meetings", "--json"]).await;
    assert!(
        !meetings_offline.as_array().expect("an array").is_empty(),
        "local meetings stay for offline viewing after a disconnect without --wipe"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_link_mode_connects_syncs_and_disconnects_without_leaking_tokens() {
    connect_sync_disconnect(Mode::DeepLink).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_bounce_mode_connects_syncs_and_disconnects_without_leaking_tokens() {
    connect_sync_disconnect(Mode::RelayBounce).await;
}
