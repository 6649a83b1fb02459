//! The token lifecycle against the fake Calendly and a real gnome-keyring: one refresh under
//! concurrency (tasks and processes), proactive refresh, Calendly's verdicts, the circuit breaker
//! that rides out token-endpoint outages, disconnect against a running refresh, and PATs.

mod support;

use std::process::Command;
use std::sync::Arc;

use advicly_calendly::{TokenError, TokenProvider};
use advicly_connect::{
    AccountKey, BeginOutcome, BrowserPolicy, ConnectedAccount, Connector, LocalData, TokenManager,
    TokenSet, PERSONAL_TOKEN_REJECTED,
};
use advicly_core::domain::ConnectionState;
use advicly_core::Secret;
use fake_calendly::{FaultKind, FaultRequest, TokenActionRequest};
use sha2::Digest;
use support::{play_browser, Redirect, World};

/// Environment variable carrying the child configuration of the two-process test.
const CHILD_CONFIG_VARIABLE: &str = "ADVICLY_CONNECT_REFRESH_CHILD";

async fn connect_by_browser(world: &World) -> ConnectedAccount {
    let connector = world.connector();
    let BeginOutcome::OpenBrowser { authorize_url } =
        connector.begin(BrowserPolicy::AlwaysAsk).await.unwrap()
    else {
        panic!("AlwaysAsk goes through the browser");
    };
    let deep_link = play_browser(&authorize_url).await;
    connector
        .complete_callback(&deep_link)
        .await
        .expect("the sign-in completes")
}

async fn manager_for(connector: &Connector, connected: &ConnectedAccount) -> TokenManager {
    connector
        .token_manager(connected.account.account_id)
        .await
        .expect("a token manager for the connected account")
}

fn key_of(connected: &ConnectedAccount) -> AccountKey {
    AccountKey::for_user(&connected.account.user.uri)
}

/// Makes the stored access token look almost expired, so the next use refreshes proactively.
async fn age_stored_token(connector: &Connector, key: &AccountKey) -> TokenSet {
    let mut tokens = connector.keychain().token_set(key).await.unwrap().unwrap();
    tokens.expires_at = Some(chrono::Utc::now() + chrono::Duration::minutes(5));
    connector
        .keychain()
        .save_token_set(key, &tokens)
        .await
        .unwrap();
    tokens
}

async fn refresh_requests(world: &World) -> u64 {
    let stats = world.fake.control().stats().await.unwrap();
    stats
        .token_requests_by_grant
        .get("refresh_token")
        .copied()
        .unwrap_or(0)
}

async fn account_state(connector: &Connector) -> (ConnectionState, Option<String>) {
    let row = connector
        .active_account()
        .await
        .unwrap()
        .expect("an active account");
    (row.connection_state, row.connection_reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_meeting_an_expired_token_cause_exactly_one_refresh() {
    if !support::in_private_keyring_session(
        "concurrent_tasks_meeting_an_expired_token_cause_exactly_one_refresh",
    ) {
        return;
    }
    support::capture_logs();
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    let key = key_of(&connected);
    world.fake.control().reset_stats().await.unwrap();
    let fresh_manager = manager_for(&connector, &connected).await;
    fresh_manager.access_token().await.unwrap();
    // With two hours left there is nothing to refresh.
    assert_eq!(
        refresh_requests(&world).await,
        0,
        "a fresh token is used as it is"
    );
    let old = age_stored_token(&connector, &key).await;
    // Calendly no longer accepts the old access token either: the 401 path meets it too.
    world
        .fake
        .control()
        .expire_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    world.fake.control().reset_stats().await.unwrap();

    // Two managers stand for two components of one process (sync engine, webhook handler).
    let managers: Vec<Arc<TokenManager>> = vec![
        Arc::new(
            connector
                .token_manager(connected.account.account_id)
                .await
                .unwrap(),
        ),
        Arc::new(
            world
                .connector()
                .token_manager(connected.account.account_id)
                .await
                .unwrap(),
        ),
    ];
    let mut tasks = Vec::new();
    for index in 0..24 {
        let manager = managers[index % 2].clone();
        let rejected = old.access_token.clone();
        tasks.push(tokio::spawn(async move {
            if index % 3 == 0 {
                manager.refresh_after_unauthorized(&rejected).await
            } else {
                manager.access_token().await
            }
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().expect("every caller gets a token"));
    }
    assert_eq!(
        refresh_requests(&world).await,
        1,
        "exactly one refresh reached Calendly"
    );
    assert!(
        tokens.iter().all(|token| *token == tokens[0]),
        "every caller received the same new token"
    );
    assert_ne!(tokens[0], old.access_token, "the token was renewed");
    let stored = connector.keychain().token_set(&key).await.unwrap().unwrap();
    assert_eq!(
        stored.access_token, tokens[0],
        "the new token was saved before it was handed out"
    );
    assert_ne!(
        stored.refresh_token, old.refresh_token,
        "the rotated refresh token was saved"
    );

    // The Calendly client's 401 path: the token is rejected, refreshed once, and the call retried.
    world
        .fake
        .control()
        .expire_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let client = connector
        .calendly_client(connected.account.account_id)
        .await
        .unwrap();
    let me = client
        .current_user()
        .await
        .expect("the client refreshes after a 401 and retries");
    assert_eq!(
        me.uri, connected.account.user.uri,
        "the retried call succeeded"
    );
    assert_eq!(
        refresh_requests(&world).await,
        2,
        "the 401 caused one more refresh, not more"
    );

    let latest = connector.keychain().token_set(&key).await.unwrap().unwrap();
    support::assert_nowhere(
        world.data_path(),
        &[
            old.access_token.expose().to_owned(),
            old.refresh_token.unwrap().expose().to_owned(),
            tokens[0].expose().to_owned(),
            latest.access_token.expose().to_owned(),
            latest.refresh_token.unwrap().expose().to_owned(),
        ],
    );
}

/// The child half of the multi-process tests: runs only when a parent test set the variable.
/// Mode `refresh`: 8 concurrent `access_token()` calls, prints the token's digest.
/// Mode `reconnect`: a whole browser sign-in, as the CLI's `advicly handle-url` would finish it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn child_process_entry() {
    let Ok(raw) = std::env::var(CHILD_CONFIG_VARIABLE) else {
        // Not spawned by a parent test: nothing to do.
        return;
    };
    let settings: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let text = |name: &str| settings[name].as_str().unwrap().to_owned();
    let mut config = advicly_connect::ConnectConfig::new(
        text("data_dir").into(),
        text("api_base").parse().unwrap(),
        text("auth_base").parse().unwrap(),
        Some("fake-calendly-client-id".into()),
        advicly_connect::RedirectMode::Direct,
        text("service"),
    );
    config.calendly.retry.base_delay = std::time::Duration::from_millis(10);
    let connector = Connector::new(config).unwrap();
    if text("mode") == "complete" {
        // Only the deep link crosses the process boundary; the verifier comes from the keychain.
        let connected = connector
            .complete_callback(&text("url"))
            .await
            .expect("a fresh process completes a sign-in begun elsewhere");
        println!("CONNECTED-ACCOUNT={}", connected.account.account_id.0);
        return;
    }
    if text("mode") == "reconnect" {
        let BeginOutcome::OpenBrowser { authorize_url } =
            connector.begin(BrowserPolicy::AlwaysAsk).await.unwrap()
        else {
            panic!("AlwaysAsk goes through the browser");
        };
        connector
            .complete_callback(&play_browser(&authorize_url).await)
            .await
            .expect("the other process completes the sign-in");
        return;
    }
    let account = connector
        .active_account()
        .await
        .unwrap()
        .expect("the parent connected");
    let manager = Arc::new(connector.token_manager(account.account_id).await.unwrap());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let manager = manager.clone();
        tasks.push(tokio::spawn(async move { manager.access_token().await }));
    }
    let mut digests = Vec::new();
    for task in tasks {
        let token = task.await.unwrap().expect("the child gets a token");
        digests.push(hex::encode(sha2::Sha256::digest(token.expose().as_bytes())));
    }
    assert!(
        digests.iter().all(|digest| *digest == digests[0]),
        "one token per process"
    );
    // Only a digest is printed, never the token.
    println!("TOKEN-DIGEST={}", digests[0]);
}

fn spawn_child(world: &World, mode: &str) -> std::process::Child {
    spawn_child_with(world, mode, "")
}

fn spawn_child_with(world: &World, mode: &str, url: &str) -> std::process::Child {
    let settings = serde_json::json!({
        "mode": mode,
        "url": url,
        "data_dir": world.data_path(),
        "api_base": world.fake.api_base_url().as_str(),
        "auth_base": world.fake.auth_base_url().as_str(),
        "service": world.service,
    })
    .to_string();
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_CONFIG_VARIABLE, settings)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary can run itself")
}

/// Waits for a child and returns its stdout, asserting that it passed.
async fn finished_child(child: std::process::Child) -> String {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "a child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_data_folder_and_keychain_refresh_once() {
    if !support::in_private_keyring_session(
        "two_processes_sharing_data_folder_and_keychain_refresh_once",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    age_stored_token(&connector, &key_of(&connected)).await;
    world.fake.control().reset_stats().await.unwrap();

    // Both children start before either is waited for, so their refreshes overlap.
    let children = [
        spawn_child(&world, "refresh"),
        spawn_child(&world, "refresh"),
    ];
    let mut digests = Vec::new();
    for child in children {
        let stdout = finished_child(child).await;
        let digest = stdout
            .lines()
            .find_map(|line| line.split("TOKEN-DIGEST=").nth(1))
            .expect("the child reports its token digest")
            .trim()
            .to_owned();
        digests.push(digest);
    }
    assert_eq!(
        refresh_requests(&world).await,
        1,
        "the file lock let exactly one process refresh"
    );
    assert_eq!(
        digests[0], digests[1],
        "both processes ended up with the same token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_opens_the_circuit_and_a_reconnect_closes_it() {
    if !support::in_private_keyring_session(
        "invalid_grant_opens_the_circuit_and_a_reconnect_closes_it",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    age_stored_token(&connector, &key_of(&connected)).await;
    // The advisor removed Advicly at Calendly: every token of the grant is dead.
    world
        .fake
        .control()
        .revoke_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let manager = manager_for(&connector, &connected).await;
    assert_eq!(
        manager.access_token().await,
        Err(TokenError::Rejected),
        "invalid_grant cannot be retried away"
    );
    let (state, reason) = account_state(&connector).await;
    assert_eq!(
        state,
        ConnectionState::NeedsReconnect,
        "the circuit is open"
    );
    let reason = reason.expect("the store says why");
    assert!(
        reason.contains("invalid_grant") && reason.contains("Reconnect"),
        "plain reason: {reason}"
    );

    world.fake.control().reset_stats().await.unwrap();
    assert_eq!(
        manager.access_token().await,
        Err(TokenError::Rejected),
        "still open"
    );
    assert_eq!(
        refresh_requests(&world).await,
        0,
        "an open circuit sends no more refreshes"
    );

    // Reconnecting: the dead refresh token cannot skip the browser, the browser sign-in works.
    let outcome = connector
        .begin(BrowserPolicy::ReuseWorkingConnection)
        .await
        .unwrap();
    let BeginOutcome::OpenBrowser { authorize_url } = outcome else {
        panic!("a revoked sign-in needs the browser");
    };
    let reconnected = connector
        .complete_callback(&play_browser(&authorize_url).await)
        .await
        .unwrap();
    assert_eq!(
        reconnected.account.account_id, connected.account.account_id,
        "same account record"
    );
    assert_eq!(
        account_state(&connector).await,
        (ConnectionState::Connected, None),
        "a successful reconnect closes the circuit and clears the reason"
    );
    manager
        .access_token()
        .await
        .expect("the same manager works again once the circuit is closed");
}

/// Makes the stored access token expired, so nothing can be done without a refresh.
async fn expire_stored_token(connector: &Connector, key: &AccountKey) {
    let mut tokens = connector.keychain().token_set(key).await.unwrap().unwrap();
    tokens.expires_at = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
    connector
        .keychain()
        .save_token_set(key, &tokens)
        .await
        .unwrap();
}

async fn fail_token_requests(world: &World, fault: FaultKind, count: u32) {
    world
        .fake
        .control()
        .inject_fault(&FaultRequest {
            path_prefix: "/oauth/token".into(),
            method: None,
            fault,
            count,
        })
        .await
        .unwrap();
}

fn outage_message(error: Result<Secret, TokenError>) -> String {
    match error {
        Err(TokenError::RefreshFailed { message }) => message,
        other => panic!("a transient failure must be RefreshFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_outages_never_end_a_sign_in_and_the_circuit_closes_on_success() {
    if !support::in_private_keyring_session(
        "token_endpoint_outages_never_end_a_sign_in_and_the_circuit_closes_on_success",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    expire_stored_token(&connector, &key_of(&connected)).await;
    let manager = manager_for(&connector, &connected).await;

    // A two-second hiccup: exactly as many 503s as one refresh has attempts.
    fail_token_requests(&world, FaultKind::Status { status: 503 }, 3).await;
    world.fake.control().reset_stats().await.unwrap();
    let message = outage_message(manager.access_token().await);
    assert!(
        message.starts_with("Calendly's sign-in service is not answering; retrying at "),
        "the advisor is told what is going on and when it is retried: {message}"
    );
    assert_eq!(
        account_state(&connector).await,
        (ConnectionState::Connected, None),
        "a transient failure never marks the account needs_reconnect"
    );
    let first = manager
        .outage()
        .await
        .unwrap()
        .expect("the outage is recorded");
    assert_eq!(first.failures, 1, "one refresh (three attempts) failed");
    assert!(
        first.retry_at > chrono::Utc::now() + chrono::Duration::seconds(29),
        "the circuit stays open for the 30-second cool-down: {first:?}"
    );

    // Open: the 503s are used up, so any request now would succeed; a failure proves none was made.
    let _ = outage_message(manager.access_token().await);
    assert_eq!(
        refresh_requests(&world).await,
        0,
        "an open circuit sends no request"
    );

    // Half-open after the cool-down: exactly one trial. With two faults queued, a trial of
    // three attempts would get through on its third; one attempt fails and doubles the cool-down.
    fail_token_requests(&world, FaultKind::Status { status: 503 }, 2).await;
    world.clock.advance(chrono::Duration::seconds(46));
    let trial_started = chrono::Utc::now() + chrono::Duration::seconds(46);
    let _ = outage_message(manager.access_token().await);
    let second = manager.outage().await.unwrap().expect("still out");
    assert_eq!(second.failures, 2, "the half-open trial was one request");
    assert_eq!(second.since, first.since, "the same outage goes on");
    assert!(
        second.retry_at >= trial_started + chrono::Duration::seconds(59),
        "the second cool-down is twice the first: {second:?}"
    );
    assert_eq!(
        account_state(&connector).await.0,
        ConnectionState::Connected
    );

    // The next trial uses the last fault; the one after it gets through and closes the circuit.
    world.clock.advance(chrono::Duration::seconds(91));
    let _ = outage_message(manager.access_token().await);
    assert_eq!(manager.outage().await.unwrap().unwrap().failures, 3);
    world.clock.advance(chrono::Duration::seconds(181));
    manager
        .access_token()
        .await
        .expect("the sign-in survived the outage");
    assert_eq!(
        manager.outage().await.unwrap(),
        None,
        "the circuit is closed"
    );
    assert_eq!(refresh_requests(&world).await, 1, "one successful refresh");
    assert_eq!(
        account_state(&connector).await,
        (ConnectionState::Connected, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_has_not_expired_keeps_working_during_an_outage() {
    if !support::in_private_keyring_session(
        "a_token_that_has_not_expired_keeps_working_during_an_outage",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    let aged = age_stored_token(&connector, &key_of(&connected)).await;
    let manager = manager_for(&connector, &connected).await;
    fail_token_requests(&world, FaultKind::Status { status: 500 }, 3).await;

    // Five minutes are left: the early refresh fails, but the token itself is still good.
    let token = manager
        .access_token()
        .await
        .expect("an unexpired token is handed out while the token endpoint is down");
    assert_eq!(token, aged.access_token);
    assert!(
        manager.outage().await.unwrap().is_some(),
        "the outage is still recorded for status"
    );
    assert_eq!(
        account_state(&connector).await,
        (ConnectionState::Connected, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_timeouts_and_dropped_connections_are_transient() {
    if !support::in_private_keyring_session(
        "rate_limits_timeouts_and_dropped_connections_are_transient",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let mut config = world.config();
    config.oauth_request_timeout = std::time::Duration::from_millis(300);
    let connector = Connector::new(config).unwrap();
    let faults = [
        ("429", FaultKind::Status { status: 429 }),
        ("502", FaultKind::Status { status: 502 }),
        ("dropped connection", FaultKind::DropConnection),
        ("timeout", FaultKind::Latency { millis: 2_000 }),
    ];
    for (name, fault) in faults {
        expire_stored_token(&connector, &key_of(&connected)).await;
        // A fresh manager, so no access token cached by the previous round is handed out.
        let manager = connector
            .token_manager(connected.account.account_id)
            .await
            .unwrap();
        fail_token_requests(&world, fault, 3).await;
        let message = outage_message(manager.access_token().await);
        assert!(message.contains("not answering"), "{name}: {message}");
        assert_eq!(
            account_state(&connector).await,
            (ConnectionState::Connected, None),
            "{name} never ends the sign-in"
        );
        // Past the cool-down the faults are used up and the trial closes the circuit.
        world.fake.control().clear_faults().await.unwrap();
        world.clock.advance(chrono::Duration::minutes(20));
        manager
            .access_token()
            .await
            .unwrap_or_else(|error| panic!("{name}: the trial after the cool-down works: {error}"));
        assert_eq!(manager.outage().await.unwrap(), None, "{name}: closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_client_ends_the_sign_in() {
    if !support::in_private_keyring_session("invalid_client_ends_the_sign_in") {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    // The settings now name another app registration: Calendly refuses this one's grant.
    let mut config = world.config();
    config.oauth_client_id = Some("another-registration".into());
    let connector = Connector::new(config).unwrap();
    expire_stored_token(&connector, &key_of(&connected)).await;
    let manager = manager_for(&connector, &connected).await;
    assert_eq!(manager.access_token().await, Err(TokenError::Rejected));
    let (state, reason) = account_state(&connector).await;
    assert_eq!(state, ConnectionState::NeedsReconnect);
    let reason = reason.unwrap();
    assert!(
        reason.contains("invalid_client") && reason.contains("Reconnect"),
        "the reason names Calendly's verdict: {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_during_an_outage_refreshes_instead_of_opening_the_browser() {
    if !support::in_private_keyring_session(
        "a_reconnect_during_an_outage_refreshes_instead_of_opening_the_browser",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    expire_stored_token(&connector, &key_of(&connected)).await;
    let manager = manager_for(&connector, &connected).await;
    fail_token_requests(&world, FaultKind::Status { status: 503 }, 3).await;
    let _ = outage_message(manager.access_token().await);

    // The service is back before the cool-down ends; the advisor presses Reconnect.
    world.fake.control().reset_stats().await.unwrap();
    let outcome = connector
        .begin(BrowserPolicy::ReuseWorkingConnection)
        .await
        .unwrap();
    assert!(
        matches!(outcome, BeginOutcome::AlreadyConnected(_)),
        "a working refresh token needs no browser round trip"
    );
    assert_eq!(refresh_requests(&world).await, 1, "one trial refresh");
    assert_eq!(
        manager.outage().await.unwrap(),
        None,
        "the circuit is closed"
    );
    manager.access_token().await.expect("tokens flow again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_waits_for_a_refresh_in_another_process_and_leaves_no_tokens() {
    if !support::in_private_keyring_session(
        "disconnect_waits_for_a_refresh_in_another_process_and_leaves_no_tokens",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    let key = key_of(&connected);

    // Another process is in the middle of a refresh: it holds the account's refresh lock file.
    let lock_path = world
        .data_path()
        .join("locks")
        .join(format!("token-refresh-{}.lock", key.as_str()));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let refreshing = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    refreshing.lock().unwrap();

    let disconnecting = tokio::spawn({
        let connector = connector.clone();
        async move { connector.disconnect(None, LocalData::Keep).await }
    });
    support::wait_until("the disconnect to wait for the refresh lock", || {
        support::someone_waits_for_lock(&lock_path)
    })
    .await;
    assert!(
        !disconnecting.is_finished(),
        "disconnect waits for the refresh"
    );

    // The refresh finishes: it saves its rotated pair, then lets go of the lock.
    let mut rotated = connector.keychain().token_set(&key).await.unwrap().unwrap();
    rotated.access_token = Secret::new("rotated-access-token-from-the-other-process");
    connector
        .keychain()
        .save_token_set(&key, &rotated)
        .await
        .unwrap();
    drop(refreshing);

    disconnecting
        .await
        .unwrap()
        .expect("the disconnect completes");
    assert_eq!(
        connector.keychain().token_set(&key).await.unwrap(),
        None,
        "the pair saved by the refresh was removed by the disconnect that waited for it"
    );
    assert_eq!(
        account_state(&connector).await.0,
        ConnectionState::Disconnected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_personal_access_token_needs_reconnecting() {
    if !support::in_private_keyring_session("a_rejected_personal_access_token_needs_reconnecting") {
        return;
    }
    support::capture_logs();
    let world = World::start(Redirect::Direct).await;
    let minted = world
        .fake
        .control()
        .mint_personal_access_token(&Default::default())
        .await
        .unwrap();
    let connector = world.connector();
    let connected = connector
        .connect_with_token(Secret::new(minted.token.clone()))
        .await
        .expect("a valid PAT connects");
    assert_eq!(
        connected.kind,
        advicly_connect::ConnectionKind::PersonalAccessToken,
        "PAT connection"
    );
    assert_eq!(connected.token_expires_at, None, "a PAT does not expire");
    // PAT subscriptions are signed with the per-subscription key we generated and kept.
    let advicly_connect::WebhookStatus::Active(ensured) = &connected.webhook else {
        panic!(
            "the webhook subscription is set up: {:?}",
            connected.webhook
        );
    };
    let kept = connector
        .keychain()
        .get(&advicly_connect::KeychainItem::WebhookSigningKey(key_of(
            &connected,
        )))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        world
            .fake
            .control()
            .signing_key(&ensured.subscription_uri)
            .await
            .unwrap()
            .as_deref(),
        Some(kept.expose()),
        "Calendly signs deliveries with the key in our keychain"
    );

    world
        .fake
        .control()
        .revoke_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let client = connector
        .calendly_client(connected.account.account_id)
        .await
        .unwrap();
    let error = client
        .current_user()
        .await
        .expect_err("a revoked PAT is refused");
    assert!(
        matches!(error, advicly_calendly::Error::Unauthorized { .. }),
        "the client reports the 401: {error:?}"
    );
    let (state, reason) = account_state(&connector).await;
    assert_eq!(
        state,
        ConnectionState::NeedsReconnect,
        "a rejected PAT needs reconnecting"
    );
    assert_eq!(
        reason.as_deref(),
        Some(PERSONAL_TOKEN_REJECTED),
        "the reason says so plainly"
    );
    assert_eq!(
        refresh_requests(&world).await,
        0,
        "a PAT has nothing to refresh with"
    );

    let bad = connector
        .connect_with_token(Secret::new("definitely-not-a-calendly-token"))
        .await
        .expect_err("an unknown token is refused");
    assert_eq!(bad.code(), "invalid_token", "{bad}");
    support::assert_nowhere(world.data_path(), &[minted.token, kept.expose().to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_in_another_process_closes_this_processs_circuit() {
    if !support::in_private_keyring_session(
        "a_reconnect_in_another_process_closes_this_processs_circuit",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connected = connect_by_browser(&world).await;
    let connector = world.connector();
    age_stored_token(&connector, &key_of(&connected)).await;
    world
        .fake
        .control()
        .revoke_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let manager = manager_for(&connector, &connected).await;
    assert_eq!(
        manager.access_token().await,
        Err(TokenError::Rejected),
        "the circuit opens here"
    );

    // The advisor reconnects; the deep link lands in another process (the CLI).
    finished_child(spawn_child(&world, "reconnect")).await;

    // This long-running process picks the new sign-in up without a restart.
    let token = manager
        .access_token()
        .await
        .expect("a reconnect anywhere closes the circuit everywhere");
    let client = connector
        .calendly_client(connected.account.account_id)
        .await
        .unwrap();
    client
        .current_user()
        .await
        .expect("and the new token works");
    let stored = connector
        .keychain()
        .token_set(&key_of(&connected))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        token, stored.access_token,
        "the manager hands out the new sign-in's token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_begun_here_completes_in_a_fresh_process() {
    if !support::in_private_keyring_session("a_sign_in_begun_here_completes_in_a_fresh_process") {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let BeginOutcome::OpenBrowser { authorize_url } = world
        .connector()
        .begin(BrowserPolicy::AlwaysAsk)
        .await
        .unwrap()
    else {
        panic!("AlwaysAsk goes through the browser");
    };
    let deep_link = play_browser(&authorize_url).await;
    // On Linux the deep link may start a new process: the pending sign-in must be found there.
    let stdout = finished_child(spawn_child_with(&world, "complete", &deep_link)).await;
    assert!(
        stdout.contains("CONNECTED-ACCOUNT="),
        "the child connected: {stdout}"
    );
    let active = world
        .connector()
        .active_account()
        .await
        .unwrap()
        .expect("an account");
    assert_eq!(
        active.connection_state,
        ConnectionState::Connected,
        "visible to this process too"
    );
    // And the same link cannot be used a second time, here or anywhere.
    let error = world
        .connector()
        .complete_callback(&deep_link)
        .await
        .expect_err("single use across processes");
    assert!(error.to_string().contains("already used"), "{error}");
}
