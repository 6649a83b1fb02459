//! Connecting through the browser flow (played by an HTTP client), token expiry mid-sync, and demo mode.

use std::time::Duration;

use chrono::Utc;

use advicly_engine::{EngineEvent, SyncRequest};
use fake_calendly::{ConsentMode, TokenActionRequest};

use crate::harness::{at, unconnected_world, wait_for_event, World};

/// Plays the browser: GET the authorize URL and return where the fake redirects to.
async fn follow_authorize(authorize_url: &url::Url) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let response = http
        .get(authorize_url.clone())
        .send()
        .await
        .expect("the fake's authorize page answers");
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("the auto-approving fake redirects")
        .to_str()
        .expect("the redirect is text")
        .to_owned()
}

async fn connect_through_browser(world: &World) {
    let authorize_url = world.engine.begin_oauth().await.expect("begin_oauth works");
    let callback = follow_authorize(&authorize_url).await;
    // Calendly sends the browser to our deep link with the code.
    assert!(
        callback.starts_with("advicly://oauth/callback?"),
        "callback: {callback}"
    );
    world
        .engine
        .handle_callback_url(&callback)
        .await
        .expect("the callback completes the connection");
}

#[tokio::test]
async fn an_access_token_expiring_mid_sync_is_refreshed_and_the_sync_completes() {
    let world = unconnected_world().await;
    connect_through_browser(&world).await;
    let status = world.engine.status(Utc::now()).expect("status");
    // OAuth tokens expire; the status shows when.
    assert!(status.token_expires_at.is_some(), "status: {status:?}");
    world.seed(250, at(-200, 0), at(-1, 0)).await;

    let mut events = world.engine.subscribe();
    let engine = world.engine.clone();
    let running = tokio::spawn(async move { engine.sync(SyncRequest::default()).await });
    wait_for_event(
        &mut events,
        "the first page",
        |event| matches!(event, EngineEvent::SyncProgress(progress) if progress.pages >= 1),
    )
    .await;
    world
        .control
        .expire_tokens(&TokenActionRequest::default())
        .await
        .expect("the fake expires every access token");
    let report = running
        .await
        .expect("the sync task ends")
        .expect("the sync survives the expiry");

    // Every seeded meeting arrived despite the expiry.
    assert_eq!(report.counts.created, 250, "report: {report:?}");
    let stats = world.control.stats().await.expect("fake stats");
    // Exactly one refresh, however many requests hit the expired token at once.
    assert_eq!(
        stats.token_requests_by_grant.get("refresh_token").copied(),
        Some(1),
        "stats: {stats:?}"
    );
    assert_eq!(
        world.engine.status(Utc::now()).unwrap().state.as_str(),
        "connected",
        "a successful refresh keeps the account connected"
    );
}

#[tokio::test]
async fn a_denied_consent_is_oauth_denied() {
    let world = unconnected_world().await;
    world
        .control
        .set_consent_mode(ConsentMode::AutoDeny)
        .await
        .expect("consent mode set");
    let authorize_url = world.engine.begin_oauth().await.expect("begin_oauth works");
    let callback = follow_authorize(&authorize_url).await;

    let error = world
        .engine
        .handle_callback_url(&callback)
        .await
        .unwrap_err();

    // The connect screen shows a specific message when the advisor pressed Deny.
    assert_eq!(error.code(), "oauth_denied", "error: {error}");
    assert_eq!(
        world.engine.status(Utc::now()).unwrap().state.as_str(),
        "disconnected"
    );
}

#[tokio::test]
async fn demo_mode_connects_to_an_in_process_fake_through_oauth_and_syncs() {
    let world = unconnected_world().await;
    let demo = advicly_engine::demo::start_demo(&world.engine)
        .await
        .expect("the demo starts");
    // The demo account is marked as such for the UI.
    assert!(demo.account.demo, "account: {:?}", demo.account);

    let report = tokio::time::timeout(
        Duration::from_secs(60),
        demo.engine.sync(SyncRequest::default()),
    )
    .await
    .expect("the demo sync finishes in time")
    .expect("the demo sync succeeds");
    // The seeded months of meetings arrive through the normal sync.
    assert!(report.counts.created >= 40, "report: {report:?}");
    let status = demo.engine.status(Utc::now()).expect("status");
    assert!(
        status.account.expect("an account").demo,
        "the status marks the demo"
    );
    // The real engine's store is untouched by the demo.
    assert_eq!(
        world.engine.status(Utc::now()).unwrap().state.as_str(),
        "disconnected"
    );
    demo.stop().await;

    // Starting the demo again (say, after the app quit without leaving it) starts clean and
    // keeps exactly one demo sign-in in the keychain.
    let again = advicly_engine::demo::start_demo(&world.engine)
        .await
        .expect("the demo starts a second time");
    let keychain = advicly_connect::Keychain::new(
        format!("{}.demo", world.config.keychain_service),
        Duration::from_secs(10),
    );
    let token_items = |items: Vec<String>| {
        items
            .into_iter()
            .filter(|item| item.ends_with(":oauth-tokens"))
            .count()
    };
    let items = keychain
        .list_user_attributes()
        .await
        .expect("the keychain is readable");
    assert_eq!(token_items(items.clone()), 1, "keychain items: {items:?}");
    let fresh = again.engine.status(Utc::now()).expect("status");
    assert_eq!(
        fresh.meeting_count, 0,
        "the second demo starts from an empty store"
    );
    again
        .engine
        .disconnect(true)
        .await
        .expect("the demo disconnects");
    let items = keychain
        .list_user_attributes()
        .await
        .expect("the keychain is readable");
    // Leaving the demo removes its sign-in from the keychain.
    assert_eq!(token_items(items.clone()), 0, "keychain items: {items:?}");
    again.stop().await;
}

/// Makes the stored access token of the active account expired, so the next call must refresh.
async fn expire_stored_token(world: &World) {
    let status = world.engine.status(Utc::now()).unwrap();
    let user = status.account.expect("an account").user_uri;
    let keychain = advicly_connect::Keychain::new(
        world.config.keychain_service.clone(),
        Duration::from_secs(10),
    );
    let key = advicly_connect::AccountKey::for_user(&user);
    let mut tokens = keychain.token_set(&key).await.unwrap().expect("tokens");
    tokens.expires_at = Some(Utc::now() - chrono::Duration::minutes(1));
    keychain.save_token_set(&key, &tokens).await.unwrap();
}

#[tokio::test]
async fn a_token_endpoint_outage_shows_when_it_is_retried_and_keeps_the_account_connected() {
    let world = unconnected_world().await;
    connect_through_browser(&world).await;
    expire_stored_token(&world).await;
    world
        .control
        .inject_fault(&fake_calendly::FaultRequest {
            path_prefix: "/oauth/token".into(),
            method: None,
            fault: fake_calendly::FaultKind::Status { status: 503 },
            count: 3,
        })
        .await
        .unwrap();

    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();

    // Not Calendly's verdict: the sync waits, the sign-in stays.
    assert_eq!(error.code(), "offline", "error: {error}");
    assert!(
        error
            .to_string()
            .contains("Calendly's sign-in service is not answering; retrying at"),
        "error: {error}"
    );
    let status = world.engine.status(Utc::now()).unwrap();
    assert_eq!(status.state.as_str(), "connected");
    assert_eq!(status.circuit.as_str(), "open", "the cool-down runs");
    let outage = status.sign_in_outage.expect("the outage is shown");
    assert!(
        outage
            .message
            .starts_with("Calendly's sign-in service is not answering; retrying at "),
        "{outage:?}"
    );
    assert_eq!(outage.failures, 1);
    // Once the cool-down is over the circuit is half-open: the next refresh is one trial.
    let later = world.engine.status(outage.retry_at).unwrap();
    assert_eq!(later.circuit.as_str(), "half_open");
}

#[tokio::test]
async fn reconnect_refreshes_first_and_opens_the_browser_only_when_that_fails() {
    let world = unconnected_world().await;
    connect_through_browser(&world).await;
    // Something marked the account for reconnecting, but its refresh token is fine.
    {
        let mut store = advicly_core::Store::open(&world.config.database_path()).unwrap();
        let account = store.active_account().unwrap().unwrap();
        store
            .set_connection_state(
                account.account_id,
                advicly_engine::ConnectionState::NeedsReconnect,
                Some("test"),
                Utc::now(),
            )
            .unwrap();
    }
    world.control.reset_stats().await.unwrap();

    let start = world.engine.reconnect_or_begin_oauth().await.unwrap();

    // Zero browser round trips: one refresh proved the sign-in still works.
    assert!(
        matches!(start, advicly_engine::ConnectStart::Reconnected(_)),
        "{start:?}"
    );
    let stats = world.control.stats().await.unwrap();
    assert_eq!(
        stats.token_requests_by_grant.get("refresh_token").copied(),
        Some(1)
    );
    assert_eq!(
        world.engine.status(Utc::now()).unwrap().state.as_str(),
        "connected"
    );

    // With the grant revoked at Calendly, only the browser can help: one round trip.
    world
        .control
        .revoke_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let start = world.engine.reconnect_or_begin_oauth().await.unwrap();
    let advicly_engine::ConnectStart::OpenBrowser(authorize_url) = start else {
        panic!("a revoked sign-in needs the browser: {start:?}");
    };
    let callback = follow_authorize(&authorize_url).await;
    world.engine.handle_callback_url(&callback).await.unwrap();
    assert_eq!(
        world.engine.status(Utc::now()).unwrap().state.as_str(),
        "connected"
    );
}
