//! The OAuth PKCE flow end to end against the fake Calendly, the real relay and a real
//! gnome-keyring: both redirect modes, and every way a callback is rejected.

mod support;

use advicly_calendly::TokenProvider;
use advicly_connect::{
    BeginOutcome, BrowserPolicy, ConnectError, ConnectionKind, KeychainItem, WebhookStatus,
    PENDING_FILE_NAME,
};
use advicly_core::domain::ConnectionState;
use sha2::Digest;
use support::{play_browser, state_of, Redirect, World};
use url::Url;

async fn begin_browser(world: &World) -> Url {
    match world
        .connector()
        .begin(BrowserPolicy::AlwaysAsk)
        .await
        .expect("begin succeeds with an unlocked keyring")
    {
        BeginOutcome::OpenBrowser { authorize_url } => authorize_url,
        BeginOutcome::AlreadyConnected(_) => panic!("AlwaysAsk must go through the browser"),
    }
}

async fn whole_flow(redirect: Redirect) {
    support::capture_logs();
    let world = World::start(redirect).await;
    let connector = world.connector();
    let authorize_url = begin_browser(&world).await;

    let pairs: std::collections::HashMap<String, String> =
        authorize_url.query_pairs().into_owned().collect();
    // PKCE S256 with a state and the scopes sync needs, for the configured client id.
    assert_eq!(pairs["code_challenge_method"], "S256", "PKCE must use S256");
    assert_eq!(pairs["response_type"], "code", "authorization code flow");
    assert_eq!(
        pairs["client_id"], "fake-calendly-client-id",
        "client id is configuration"
    );
    for scope in [
        "users:read",
        "scheduled_events:read",
        "event_types:read",
        "webhooks:read",
        "webhooks:write",
    ] {
        assert!(
            pairs["scope"].split(' ').any(|s| s == scope),
            "scope {scope} is requested"
        );
    }
    let expected_redirect = match redirect {
        Redirect::Direct => "advicly://oauth/callback".to_owned(),
        Redirect::ThroughRelay => format!("{}oauth/callback", world.relay.as_ref().unwrap().base),
    };
    assert_eq!(
        pairs["redirect_uri"], expected_redirect,
        "the redirect mode decides the redirect URI"
    );

    // The verifier sits in the keychain while the sign-in is pending, and nowhere else.
    let state = state_of(&authorize_url);
    let digest = hex::encode(sha2::Sha256::digest(state.as_bytes()));
    let verifier = connector
        .keychain()
        .get(&KeychainItem::PkceVerifier {
            state_digest: digest.clone(),
        })
        .await
        .unwrap()
        .expect("the pending verifier is in the keychain");
    let pending_file = std::fs::read_to_string(world.data_path().join(PENDING_FILE_NAME)).unwrap();
    assert!(
        pending_file.contains(&digest),
        "the pending file records the state's digest"
    );
    assert!(
        !pending_file.contains(&state),
        "the pending file never holds the raw state"
    );

    let deep_link = play_browser(&authorize_url).await;
    assert!(
        deep_link.starts_with("advicly://oauth/callback?"),
        "the app receives the deep link: {deep_link}"
    );

    // A fresh connector stands for the fresh process a Linux deep link may start.
    let connected = world
        .connector()
        .complete_callback(&deep_link)
        .await
        .expect("the callback completes the sign-in");
    let user = world.fake.default_user().clone();
    assert_eq!(
        connected.kind,
        ConnectionKind::OAuth,
        "a browser sign-in is an OAuth connection"
    );
    assert_eq!(
        connected.account.user.uri.as_str(),
        user.user_uri,
        "the account is /users/me"
    );
    assert_eq!(
        connected.account.user.email, user.email,
        "the profile is stored"
    );
    assert_eq!(
        connected.account.user.organization.as_str(),
        user.organization_uri,
        "the org is stored"
    );
    assert!(
        connected.account.user.scheduling_url.is_some(),
        "the scheduling URL is stored"
    );
    assert!(
        connected.account.is_active,
        "the new account is the active one"
    );
    assert_eq!(
        connected.account.connection_state,
        ConnectionState::Connected,
        "connected"
    );
    assert!(connected.token_expires_at.is_some(), "OAuth tokens expire");
    match &connected.webhook {
        WebhookStatus::Active(ensured) => {
            assert!(ensured.created, "a first connect creates the subscription")
        }
        other => panic!("the webhook subscription must be set up: {other:?}"),
    }
    let ours: Vec<_> = world
        .fake
        .control()
        .subscriptions()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.callback_url.starts_with(world.webhook_base.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "exactly one subscription of ours exists");
    assert!(
        ours[0].has_signing_key,
        "our subscription carries the signing key we generated"
    );
    let stored_key = connector
        .keychain()
        .get(&KeychainItem::WebhookSigningKey(
            advicly_connect::AccountKey::for_user(&connected.account.user.uri),
        ))
        .await
        .unwrap()
        .expect("the signing key is in the keychain");
    // OAuth subscriptions are signed with the app's key at Calendly (and at the fake); the key
    // we generated is still kept, for personal-access-token subscriptions and the relay.
    assert_eq!(
        stored_key.expose().len(),
        64,
        "a 32-byte random signing key, hex encoded"
    );

    // The verifier was single use: it is gone from the keychain.
    assert!(
        connector
            .keychain()
            .get(&KeychainItem::PkceVerifier {
                state_digest: digest
            })
            .await
            .unwrap()
            .is_none(),
        "a used verifier is deleted"
    );

    // The stored tokens work through the token manager and the Calendly client.
    let manager = connector
        .token_manager(connected.account.account_id)
        .await
        .unwrap();
    let token = manager
        .access_token()
        .await
        .expect("an access token is available");
    let client = connector
        .calendly_client(connected.account.account_id)
        .await
        .unwrap();
    let me = client
        .current_user()
        .await
        .expect("the stored token reads /users/me");
    assert_eq!(
        me.uri, connected.account.user.uri,
        "the token belongs to the connected user"
    );

    let tokens = connector
        .keychain()
        .token_set(&advicly_connect::AccountKey::for_user(
            &connected.account.user.uri,
        ))
        .await
        .unwrap()
        .unwrap();
    support::assert_nowhere(
        world.data_path(),
        &[
            token.expose().to_owned(),
            tokens.refresh_token.unwrap().expose().to_owned(),
            verifier.expose().to_owned(),
            stored_key.expose().to_owned(),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_flow_with_the_direct_deep_link() {
    if !support::in_private_keyring_session("pkce_flow_with_the_direct_deep_link") {
        return;
    }
    whole_flow(Redirect::Direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_flow_through_the_relay_bounce_page() {
    if !support::in_private_keyring_session("pkce_flow_through_the_relay_bounce_page") {
        return;
    }
    whole_flow(Redirect::ThroughRelay).await;
}

fn expect_oauth_failure(
    outcome: Result<advicly_connect::ConnectedAccount, ConnectError>,
    needle: &str,
) {
    match outcome {
        Err(error @ ConnectError::OAuthFailed { .. }) => assert!(
            error.to_string().contains(needle),
            "the message should mention {needle:?}: {error}"
        ),
        other => panic!("expected an oauth_failed error mentioning {needle:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_reused_and_tampered_states_are_rejected() {
    if !support::in_private_keyring_session("unknown_reused_and_tampered_states_are_rejected") {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    let authorize_url = begin_browser(&world).await;
    let deep_link = play_browser(&authorize_url).await;
    let state = state_of(&authorize_url);

    // A state this app never issued is refused before any token request.
    let tampered = deep_link.replace(&state, "not-the-state-we-issued");
    expect_oauth_failure(
        connector.complete_callback(&tampered).await,
        "state is unknown",
    );

    connector
        .complete_callback(&deep_link)
        .await
        .expect("the genuine callback still works after a forged one");
    // The same callback twice: the state is single use.
    expect_oauth_failure(
        connector.complete_callback(&deep_link).await,
        "already used",
    );
    let stats = world.fake.control().stats().await.unwrap();
    assert_eq!(
        stats
            .token_requests_by_grant
            .get("authorization_code")
            .copied(),
        Some(1),
        "rejected callbacks never reach the token endpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_older_than_ten_minutes_has_expired() {
    if !support::in_private_keyring_session("a_sign_in_older_than_ten_minutes_has_expired") {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let authorize_url = begin_browser(&world).await;
    let deep_link = play_browser(&authorize_url).await;
    world.clock.advance(chrono::Duration::minutes(11));
    // Pending sign-ins are valid for 10 minutes.
    expect_oauth_failure(
        world.connector().complete_callback(&deep_link).await,
        "expired",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_deny_is_reported_in_plain_words() {
    if !support::in_private_keyring_session("pressing_deny_is_reported_in_plain_words") {
        return;
    }
    let world = World::start(Redirect::ThroughRelay).await;
    world
        .fake
        .control()
        .set_consent_mode(fake_calendly::ConsentMode::AutoDeny)
        .await
        .unwrap();
    let authorize_url = begin_browser(&world).await;
    let deep_link = play_browser(&authorize_url).await;
    assert!(
        deep_link.contains("error=access_denied"),
        "the relay forwards the error: {deep_link}"
    );
    let error = world
        .connector()
        .complete_callback(&deep_link)
        .await
        .expect_err("a denied consent connects nothing");
    // The UI branches on the code and shows the sentence.
    assert_eq!(error.code(), "oauth_denied", "{error}");
    assert!(error.to_string().contains("You declined"), "{error}");
    assert!(
        world.connector().active_account().await.unwrap().is_none(),
        "no account is created on denial"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_callback_urls_are_rejected_without_consuming_the_sign_in() {
    if !support::in_private_keyring_session(
        "malformed_callback_urls_are_rejected_without_consuming_the_sign_in",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let connector = world.connector();
    let authorize_url = begin_browser(&world).await;
    let deep_link = play_browser(&authorize_url).await;
    let query = deep_link.split_once('?').unwrap().1.to_owned();
    let cases = [
        ("wrong scheme", format!("https://oauth/callback?{query}")),
        ("wrong host", format!("advicly://evil/callback?{query}")),
        ("wrong path", format!("advicly://oauth/other?{query}")),
        ("repeated code", format!("{deep_link}&code=second")),
        ("repeated state", format!("{deep_link}&state=second")),
        (
            "missing state",
            format!(
                "advicly://oauth/callback?{}",
                query.split('&').find(|p| p.starts_with("code=")).unwrap()
            ),
        ),
        (
            "missing code",
            format!(
                "advicly://oauth/callback?{}",
                query.split('&').find(|p| p.starts_with("state=")).unwrap()
            ),
        ),
        ("code and error", format!("{deep_link}&error=access_denied")),
        (
            "overlong code",
            format!("advicly://oauth/callback?code={}&state=x", "a".repeat(600)),
        ),
        ("fragment", format!("{deep_link}#fragment")),
        ("not a URL", "oauth callback".to_owned()),
        ("control character", format!("{deep_link}%0A")),
    ];
    for (case, url) in &cases {
        let outcome = connector.complete_callback(url).await;
        match outcome {
            Err(error @ ConnectError::OAuthFailed { .. }) => assert!(
                error.to_string().contains("not a valid Calendly callback"),
                "{case}: {error}"
            ),
            other => panic!("{case}: a malformed callback must be refused, got {other:?}"),
        }
    }
    // None of the malformed links consumed the pending sign-in.
    connector
        .complete_callback(&deep_link)
        .await
        .expect("the genuine callback still completes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_presented_with_another_sign_ins_verifier_is_refused() {
    if !support::in_private_keyring_session(
        "a_code_presented_with_another_sign_ins_verifier_is_refused",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let first = begin_browser(&world).await;
    let second = begin_browser(&world).await;
    let first_link = play_browser(&first).await;
    // The first sign-in's code paired with the second sign-in's state (hence its verifier):
    // an intercepted code is useless without the verifier that belongs to it.
    let swapped = first_link.replace(&state_of(&first), &state_of(&second));
    let error = world
        .connector()
        .complete_callback(&swapped)
        .await
        .expect_err("PKCE rejects the wrong verifier");
    assert_eq!(error.code(), "oauth_failed", "{error}");
    assert!(
        error.to_string().contains("invalid_grant"),
        "Calendly's verdict is named: {error}"
    );
}
