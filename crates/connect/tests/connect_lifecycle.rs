//! Reconnect with the same and a different account, disconnect (and wipe), and a missing
//! keychain — against the fake Calendly and a real (or deliberately absent) Secret Service.

mod support;

use advicly_connect::{
    AccountKey, BeginOutcome, BrowserPolicy, ConnectedAccount, Connector, LocalData,
    PENDING_FILE_NAME,
};
use advicly_core::domain::{AccountId, ConnectionState};
use advicly_core::store::SettingScope;
use advicly_core::{Secret, Store};
use fake_calendly::NewUser;
use support::{play_browser, Redirect, SessionKind, World};

async fn connect_by_browser(connector: &Connector) -> ConnectedAccount {
    let BeginOutcome::OpenBrowser { authorize_url } =
        connector.begin(BrowserPolicy::AlwaysAsk).await.unwrap()
    else {
        panic!("AlwaysAsk goes through the browser");
    };
    connector
        .complete_callback(&play_browser(&authorize_url).await)
        .await
        .expect("the sign-in completes")
}

/// Subscriptions at the fake whose callback URL is under our webhook base, for one user.
async fn our_subscriptions(world: &World, user_uri: &str) -> usize {
    world
        .fake
        .control()
        .subscriptions()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.callback_url.starts_with(world.webhook_base.as_str()))
        .filter(|s| s.user.as_deref() == Some(user_uri))
        .count()
}

fn open_store(world: &World) -> Store {
    Store::open(&world.data_path().join(advicly_connect::DATABASE_FILE_NAME)).unwrap()
}

/// Puts one meeting into the account's local data, as a webhook would.
fn add_meeting(world: &World, account: AccountId, event_id: &str) {
    let mut store = open_store(world);
    let event = advicly_core::fixtures::event(event_id, advicly_core::fixtures::days(1));
    let invitee = advicly_core::fixtures::invitee(&event, "i1", "client@example.com", "Client");
    store
        .apply_webhook_change(account, &event, &invitee, chrono::Utc::now())
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_the_same_account_keeps_its_record_data_and_settings() {
    if !support::in_private_keyring_session(
        "reconnecting_the_same_account_keeps_its_record_data_and_settings",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    let first = connect_by_browser(&connector).await;
    let account = first.account.account_id;
    add_meeting(&world, account, "EVT1");
    open_store(&world)
        .set_setting(
            SettingScope::Account(account),
            "sync_interval_minutes",
            "30",
        )
        .unwrap();
    world.fake.control().reset_stats().await.unwrap();

    // A working refresh token: no browser, same account.
    let outcome = connector
        .begin(BrowserPolicy::ReuseWorkingConnection)
        .await
        .unwrap();
    let BeginOutcome::AlreadyConnected(again) = outcome else {
        panic!("a working connection must not send the advisor through the browser");
    };
    assert_eq!(
        again.account.account_id, account,
        "the same account record is reused"
    );
    let stats = world.fake.control().stats().await.unwrap();
    assert_eq!(
        stats.token_requests_by_grant.get("refresh_token").copied(),
        Some(1),
        "the browserless reconnect proved the refresh token by using it once"
    );

    // Through the browser again: still the same record, data and settings.
    let third = connect_by_browser(&connector).await;
    assert_eq!(
        third.account.account_id, account,
        "same Calendly user, same record"
    );
    assert!(third.switched_from.is_none(), "nothing was switched");
    let store = open_store(&world);
    assert_eq!(
        store.meeting_count(account).unwrap(),
        1,
        "local meetings are kept"
    );
    assert_eq!(
        store
            .setting(SettingScope::Account(account), "sync_interval_minutes")
            .unwrap()
            .as_deref(),
        Some("30"),
        "account settings are kept"
    );
    assert_eq!(
        store.list_accounts().unwrap().len(),
        1,
        "no second record appeared"
    );
    assert_eq!(
        our_subscriptions(&world, &first.account.user.uri.to_string()).await,
        1,
        "reconnecting leaves exactly one subscription of ours"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_a_different_account_cleans_up_the_previous_one() {
    if !support::in_private_keyring_session(
        "connecting_a_different_account_cleans_up_the_previous_one",
    ) {
        return;
    }
    let world = World::start(Redirect::ThroughRelay).await;
    let connector = world.connector();
    let first = connect_by_browser(&connector).await;
    add_meeting(&world, first.account.account_id, "EVT-A");
    let first_uri = first.account.user.uri.to_string();
    assert_eq!(
        our_subscriptions(&world, &first_uri).await,
        1,
        "the first account has its subscription"
    );

    let second_user = world
        .fake
        .control()
        .add_user(&NewUser {
            name: "Second Advisor".into(),
            email: "second@example.com".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    world
        .fake
        .control()
        .set_authorizing_user(&second_user.user_uri)
        .await
        .unwrap();
    let second = connect_by_browser(&connector).await;

    assert_eq!(
        second.account.user.uri.as_str(),
        second_user.user_uri,
        "the new user is connected"
    );
    assert_ne!(
        second.account.account_id, first.account.account_id,
        "a different account record"
    );
    let switched = second
        .switched_from
        .as_ref()
        .expect("the switch is reported");
    assert_eq!(
        switched.account_id, first.account.account_id,
        "from the previous account"
    );
    // The previous account's subscription was deleted with its still-valid token.
    assert_eq!(
        our_subscriptions(&world, &first_uri).await,
        0,
        "nothing of ours left for the old user"
    );
    assert_eq!(
        our_subscriptions(&world, &second_user.user_uri).await,
        1,
        "one for the new user"
    );

    let store = open_store(&world);
    let old = store.account(first.account.account_id).unwrap().unwrap();
    let new = store.account(second.account.account_id).unwrap().unwrap();
    // Which account is active is always visible, and the old one's data stays separate.
    assert!(
        new.is_active && !old.is_active,
        "exactly the new account is active"
    );
    assert_eq!(
        old.connection_state,
        ConnectionState::Disconnected,
        "the old account is disconnected"
    );
    assert_eq!(
        store.meeting_count(first.account.account_id).unwrap(),
        1,
        "old data is kept"
    );
    assert_eq!(
        store.meeting_count(second.account.account_id).unwrap(),
        0,
        "and not mixed in"
    );
    let left = connector.keychain().list_user_attributes().await.unwrap();
    let old_key = AccountKey::for_user(&first.account.user.uri);
    assert!(
        left.iter().all(|user| !user.contains(old_key.as_str())),
        "no keychain item of the old account is left: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_removes_everything_remote_and_secret_and_keeps_or_wipes_local_data() {
    if !support::in_private_keyring_session(
        "disconnect_removes_everything_remote_and_secret_and_keeps_or_wipes_local_data",
    ) {
        return;
    }
    support::capture_logs();
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    let connected = connect_by_browser(&connector).await;
    let account = connected.account.account_id;
    add_meeting(&world, account, "EVT1");
    let key = AccountKey::for_user(&connected.account.user.uri);
    let tokens = connector.keychain().token_set(&key).await.unwrap().unwrap();
    let signing_key = connector
        .keychain()
        .get(&advicly_connect::KeychainItem::WebhookSigningKey(
            key.clone(),
        ))
        .await
        .unwrap()
        .unwrap();
    let before = support::secret_tool_search(&world.service);
    // Proves the secret-tool check below can see our items at all.
    assert!(
        before.contains("attribute.service"),
        "secret-tool sees the items: {before}"
    );
    let user_uri = connected.account.user.uri.to_string();
    assert_eq!(
        our_subscriptions(&world, &user_uri).await,
        1,
        "connected with one subscription"
    );

    let report = connector.disconnect(None, LocalData::Keep).await.unwrap();
    assert_eq!(
        report.subscriptions_deleted, 1,
        "our subscription was deleted at Calendly"
    );
    assert!(
        report.tokens_revoked,
        "the fake accepts revocation: {:?}",
        report.warnings
    );
    assert!(
        report.warnings.is_empty(),
        "nothing went wrong: {:?}",
        report.warnings
    );
    assert!(!report.wiped, "local data was kept");
    assert_eq!(
        our_subscriptions(&world, &user_uri).await,
        0,
        "no subscription of ours is left"
    );
    let introspection = reqwest::Client::new()
        .post(world.fake.auth_base_url().join("oauth/introspect").unwrap())
        .form(&[
            ("client_id", "fake-calendly-client-id"),
            ("token", tokens.access_token.expose()),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        introspection["active"], false,
        "the access token is revoked at Calendly"
    );

    // The keychain holds nothing of this service any more: via the keyring API and secret-tool.
    assert!(
        connector
            .keychain()
            .list_user_attributes()
            .await
            .unwrap()
            .is_empty(),
        "no keychain item is left"
    );
    let found = support::secret_tool_search(&world.service);
    assert!(
        !found.contains("attribute.service"),
        "secret-tool finds nothing: {found}"
    );

    let store = open_store(&world);
    let row = store.account(account).unwrap().unwrap();
    assert_eq!(
        row.connection_state,
        ConnectionState::Disconnected,
        "the account is disconnected"
    );
    assert_eq!(
        store.meeting_count(account).unwrap(),
        1,
        "meetings stay for offline viewing"
    );
    drop(store);

    // No token, refresh token or key is anywhere in the data folder (database, WAL, pending
    // file, locks) or in anything logged during the whole test.
    support::assert_nowhere(
        world.data_path(),
        &[
            tokens.access_token.expose().to_owned(),
            tokens.refresh_token.clone().unwrap().expose().to_owned(),
            signing_key.expose().to_owned(),
        ],
    );

    // Disconnecting again is fine and does nothing more.
    let again = connector.disconnect(None, LocalData::Keep).await.unwrap();
    assert_eq!(again.subscriptions_deleted, 0, "nothing left to delete");
    assert!(
        again.warnings.is_empty(),
        "a second disconnect is quiet: {:?}",
        again.warnings
    );

    // Wiping on request removes the local meetings but keeps the account row.
    let wiped = connector
        .disconnect(Some(account), LocalData::Wipe)
        .await
        .unwrap();
    assert!(wiped.wiped, "the wipe is reported");
    let store = open_store(&world);
    assert_eq!(
        store.meeting_count(account).unwrap(),
        0,
        "meetings are gone after a wipe"
    );
    assert!(
        store.account(account).unwrap().is_some(),
        "the account row stays"
    );
}

async fn keychain_missing_is_a_clear_error() {
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    let minted = world
        .fake
        .control()
        .mint_personal_access_token(&Default::default())
        .await
        .unwrap();

    let error = connector
        .begin(BrowserPolicy::AlwaysAsk)
        .await
        .expect_err("no keychain, no sign-in");
    assert_eq!(error.code(), "keychain_unavailable", "{error}");
    let message = error.to_string();
    // The message says what to install and that there is no plaintext fallback.
    assert!(
        message.contains("gnome-keyring"),
        "names the package to install: {message}"
    );
    assert!(
        message.contains("never stores tokens in plain files"),
        "{message}"
    );

    let error = connector
        .connect_with_token(Secret::new(minted.token.clone()))
        .await
        .expect_err("a token cannot be kept without a keychain");
    assert_eq!(error.code(), "keychain_unavailable", "{error}");
    assert!(
        connector.keychain().check_available().await.is_err(),
        "the availability probe agrees"
    );

    // Nothing was written elsewhere: no pending file, and the token is in no file.
    assert!(
        !world.data_path().join(PENDING_FILE_NAME).exists(),
        "no pending sign-in was recorded without its verifier"
    );
    support::assert_nowhere(world.data_path(), &[minted.token]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_without_secret_service_gives_the_keychain_unavailable_error() {
    if !support::in_session_of_kind(
        "a_bus_without_secret_service_gives_the_keychain_unavailable_error",
        SessionKind::BusWithoutSecretService,
    ) {
        return;
    }
    keychain_missing_is_a_clear_error().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_session_bus_gives_the_keychain_unavailable_error() {
    if !support::in_session_of_kind(
        "no_session_bus_gives_the_keychain_unavailable_error",
        SessionKind::NoBus,
    ) {
        return;
    }
    keychain_missing_is_a_clear_error().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_keyring_gives_the_keychain_unavailable_error() {
    if !support::in_session_of_kind(
        "a_locked_keyring_gives_the_keychain_unavailable_error",
        SessionKind::LockedKeyring,
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let mut config = world.config();
    config.keychain_timeout = std::time::Duration::from_secs(5);
    let connector = Connector::new(config).unwrap();
    let error = connector
        .begin(BrowserPolicy::AlwaysAsk)
        .await
        .expect_err("a locked keyring cannot hold the verifier");
    assert_eq!(error.code(), "keychain_unavailable", "{error}");
    // Whether the keyring refuses or waits for a prompt, the advisor is told to unlock it.
    assert!(
        error.to_string().contains("nlock"),
        "tells the advisor to unlock: {error}"
    );
    assert!(
        !world.data_path().join(PENDING_FILE_NAME).exists(),
        "nothing was written elsewhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_revocation_is_reported_plainly_and_the_tokens_still_leave_this_computer() {
    if !support::in_private_keyring_session(
        "a_refused_revocation_is_reported_plainly_and_the_tokens_still_leave_this_computer",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    connect_by_browser(&connector).await;
    // Calendly documents a client secret for /oauth/revoke; a public client may be refused.
    world
        .fake
        .control()
        .inject_fault(&fake_calendly::FaultRequest {
            path_prefix: "/oauth/revoke".into(),
            method: None,
            fault: fake_calendly::FaultKind::Status { status: 403 },
            count: 2,
        })
        .await
        .unwrap();
    let report = connector.disconnect(None, LocalData::Keep).await.unwrap();
    assert!(!report.tokens_revoked, "the refusal is not hidden");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("did not confirm revoking")),
        "the report says plainly that revocation failed: {:?}",
        report.warnings
    );
    assert!(
        connector
            .keychain()
            .list_user_attributes()
            .await
            .unwrap()
            .is_empty(),
        "the tokens are removed from the keychain all the same"
    );
}
