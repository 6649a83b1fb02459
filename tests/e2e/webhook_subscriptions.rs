//! Exactly one webhook subscription per connected account, pointing at the account's relay
//! channel, through the `advicly` binary: kept single across reconnects, moved when a different
//! account connects, and removed entirely on disconnect. Checked at the fake Calendly, which
//! answers Calendly's 409 for a duplicate callback URL.

use advicly_e2e::{start_fake, start_relay, Cli};
use chrono::{Duration, Utc};
use fake_calendly::{
    BookingRequest, ControlClient, FakeConfig, InviteeSpec, MintTokenRequest, NewUser,
    SubscriptionInfo,
};
use url::Url;

async fn ours_for(
    control: &ControlClient,
    webhook_base: &Url,
    user_uri: &str,
) -> Vec<SubscriptionInfo> {
    control
        .subscriptions()
        .await
        .expect("the fake lists subscriptions")
        .into_iter()
        .filter(|subscription| subscription.callback_url.starts_with(webhook_base.as_str()))
        .filter(|subscription| subscription.user.as_deref() == Some(user_uri))
        .collect()
}

async fn book_for(control: &ControlClient, host_user_uri: &str, email: &str) {
    control
        .book(&BookingRequest {
            host_user_uri: Some(host_user_uri.to_owned()),
            event_type_uri: None,
            event_name: Some("Portfolio check-in".to_owned()),
            start_time: Utc::now() + Duration::days(2),
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
        .expect("the fake books a meeting");
}

async fn token_for(control: &ControlClient, user_uri: &str) -> String {
    control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: Some(user_uri.to_owned()),
            scopes: None,
        })
        .await
        .expect("the fake mints a personal access token")
        .token
}

fn client_emails(meetings: &serde_json::Value) -> Vec<String> {
    meetings
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
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_subscription_per_account_across_reconnect_switch_and_disconnect() {
    let relay = start_relay().await;
    // Every channel's ingress URL lies under the relay's /hooks/.
    let webhook_base = relay.join("hooks/").expect("the ingress path");
    let fake = start_fake(None).await;
    let control = fake.control();
    let first = fake.default_user().clone();
    let second = control
        .add_user(&NewUser {
            name: "Second Advisor".to_owned(),
            email: "second.advisor@example.com".to_owned(),
            ..NewUser::default()
        })
        .await
        .expect("the fake adds a second user");
    // Bookings happen before anyone subscribes, so no delivery can fail and disable a subscription.
    book_for(&control, &first.user_uri, "first.client@example.org").await;
    book_for(&control, &second.user_uri, "second.client@example.org").await;

    let client_id = FakeConfig::for_tests().client_id;
    let cli = Cli::new(&fake, &client_id, Some(&relay));

    let first_token = token_for(&control, &first.user_uri).await;
    cli.connect_with_token(&first_token).await;
    let after_connect = ours_for(&control, &webhook_base, &first.user_uri).await;
    assert_eq!(
        after_connect.len(),
        1,
        "connecting creates exactly one subscription for the account: {after_connect:?}"
    );
    assert_eq!(after_connect[0].state, "active");
    assert!(
        after_connect[0].has_signing_key,
        "our subscription carries a signing key so deliveries can be verified"
    );
    let status = cli.json(&["status", "--json"]).await;
    assert_eq!(
        status["realtime"]["subscription"]["uri"], after_connect[0].uri,
        "status shows our subscription: {status}"
    );
    assert_eq!(status["realtime"]["subscription"]["state"], "active");
    // Nothing holds the stream between commands, and status says so instead of claiming live.
    assert_eq!(status["realtime"]["state"], "degraded", "{status}");
    assert!(status["realtime"]["reason"]
        .as_str()
        .unwrap()
        .contains("advicly listen"));
    cli.ok(&["sync"]).await;

    // Reconnecting the same account must not pile up subscriptions.
    cli.connect_with_token(&first_token).await;
    let after_reconnect = ours_for(&control, &webhook_base, &first.user_uri).await;
    assert_eq!(
        after_reconnect.len(),
        1,
        "a reconnect keeps exactly one subscription: {after_reconnect:?}"
    );
    assert_eq!(
        after_reconnect[0].callback_url, after_connect[0].callback_url,
        "a reconnect keeps the channel"
    );

    // A different account: the previous account's subscription goes, the new one gets its own.
    let second_token = token_for(&control, &second.user_uri).await;
    cli.connect_with_token(&second_token).await;
    assert!(
        ours_for(&control, &webhook_base, &first.user_uri)
            .await
            .is_empty(),
        "switching accounts deletes the previous account's subscription at Calendly"
    );
    assert_eq!(
        ours_for(&control, &webhook_base, &second.user_uri)
            .await
            .len(),
        1,
        "the newly connected account has exactly one subscription"
    );
    let status = cli.json(&["status", "--json"]).await;
    assert_eq!(
        status["account"]["email"], "second.advisor@example.com",
        "the active account is always visible: {status}"
    );
    cli.ok(&["sync"]).await;
    let emails = client_emails(&cli.json(&["meetings", "--json"]).await);
    assert!(
        emails
            .iter()
            .any(|email| email == "second.client@example.org")
            && !emails
                .iter()
                .any(|email| email == "first.client@example.org"),
        "the second account's data never mixes with the first's: {emails:?}"
    );

    cli.ok(&["disconnect"]).await;
    let remaining: Vec<_> = control
        .subscriptions()
        .await
        .expect("the fake lists subscriptions")
        .into_iter()
        .filter(|subscription| subscription.callback_url.starts_with(webhook_base.as_str()))
        .collect();
    assert!(
        remaining.is_empty(),
        "after disconnecting no subscription of ours is left at Calendly: {remaining:?}"
    );
}
