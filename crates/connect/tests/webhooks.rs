//! "Exactly one subscription of ours", pointing at the account's relay channel: duplicates and
//! disabled ones are replaced, other apps' subscriptions are left alone, and a 409 that does
//! not go away degrades gracefully (polling goes on).

mod support;

use std::time::Duration;

use advicly_calendly::NewWebhookSubscription;
use advicly_connect::{AccountKey, WebhookStatus};
use advicly_core::domain::{OrganizationUri, UserUri};
use advicly_core::Secret;
use fake_calendly::{BookingRequest, FaultKind, FaultRequest, InviteeSpec, MintTokenRequest};
use support::{Redirect, World};

fn ensured(status: &WebhookStatus) -> &advicly_connect::EnsuredSubscription {
    match status {
        WebhookStatus::Active(ensured) => ensured,
        other => panic!("the subscription must be active: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_and_disabled_subscriptions_of_ours_are_replaced_and_others_kept() {
    if !support::in_private_keyring_session(
        "duplicates_and_disabled_subscriptions_of_ours_are_replaced_and_others_kept",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let control = world.fake.control();
    let token = control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .unwrap()
        .token;
    let connector = world.connector();
    let first = connector
        .connect_with_token(Secret::new(token.clone()))
        .await
        .unwrap();
    let first_subscription = ensured(&first.webhook).subscription_uri.clone();
    let account = first.account.account_id;
    let user = &first.account.user;

    // A stale duplicate of ours and another app's subscription appear at Calendly.
    let client = connector.calendly_client(account).await.unwrap();
    let subscribe = |url: String| NewWebhookSubscription {
        callback_url: url,
        events: vec!["invitee.created".into()],
        organization: OrganizationUri::new(user.organization.as_str()),
        user: UserUri::new(user.uri.as_str()),
        signing_key: None,
    };
    client
        .create_webhook_subscription(&subscribe(format!("{}stale-duplicate", world.webhook_base)))
        .await
        .unwrap();
    let foreign = client
        .create_webhook_subscription(&subscribe("http://127.0.0.1:9/someone-else/hook".into()))
        .await
        .unwrap();

    let second = connector
        .connect_with_token(Secret::new(token.clone()))
        .await
        .unwrap();
    let kept = ensured(&second.webhook);
    assert_eq!(
        kept.subscription_uri, first_subscription,
        "the working one is reused"
    );
    assert!(!kept.created, "nothing new was created");
    assert_eq!(kept.removed, 1, "the stale duplicate of ours was deleted");
    let subscriptions = control.subscriptions().await.unwrap();
    assert!(
        subscriptions.iter().any(|s| s.uri == foreign.uri.as_str()),
        "another app's subscription is never touched"
    );
    assert_eq!(
        subscriptions
            .iter()
            .filter(|s| s.callback_url.starts_with(world.webhook_base.as_str()))
            .count(),
        1,
        "exactly one of ours is left"
    );

    // Every delivery fails until Calendly (the fake, within its compressed retry window)
    // disables the subscription.
    control.fail_deliveries(1000).await.unwrap();
    control
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: None,
            start_time: chrono::Utc::now() + chrono::Duration::days(2),
            duration_minutes: None,
            invitees: vec![InviteeSpec {
                name: "Client".into(),
                email: "client@example.com".into(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await
        .unwrap();
    control
        .wait_for_subscriptions(
            "our subscription to be disabled",
            Duration::from_secs(30),
            |all| {
                all.iter()
                    .any(|s| s.uri == first_subscription && s.state == "disabled")
            },
        )
        .await
        .expect("failed deliveries disable the subscription");

    control.clear_faults().await.unwrap();
    let third = connector
        .connect_with_token(Secret::new(token))
        .await
        .unwrap();
    let replaced = ensured(&third.webhook);
    assert!(
        replaced.created,
        "a disabled subscription is replaced by a new one"
    );
    assert_eq!(
        replaced.removed, 1,
        "the disabled one was deleted (there is no re-enable)"
    );
    assert_ne!(
        replaced.subscription_uri, first_subscription,
        "it is a new subscription"
    );
    let ours: Vec<_> = control
        .subscriptions()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.callback_url.starts_with(world.webhook_base.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "exactly one of ours again");
    assert_eq!(ours[0].state, "active", "and it is active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_that_does_not_go_away_leaves_the_connection_working() {
    if !support::in_private_keyring_session(
        "a_conflict_that_does_not_go_away_leaves_the_connection_working",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let control = world.fake.control();
    // Calendly keeps answering 409 for our callback URL, even after listing and retrying.
    control
        .inject_fault(&FaultRequest {
            path_prefix: "/webhook_subscriptions".into(),
            method: Some("POST".into()),
            fault: FaultKind::Status { status: 409 },
            count: 10,
        })
        .await
        .unwrap();
    let token = control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .unwrap()
        .token;
    let connector = world.connector();
    let connected = connector
        .connect_with_token(Secret::new(token))
        .await
        .expect("the connection itself succeeds");
    match &connected.webhook {
        WebhookStatus::Failed { message } => assert!(
            message.contains("already exists") && message.contains("still sync"),
            "the warning explains the conflict and that polling continues: {message}"
        ),
        other => panic!("a lasting conflict cannot give an active subscription: {other:?}"),
    }
    assert!(
        connected
            .warnings
            .iter()
            .any(|w| w.contains("Live updates")),
        "the warning is reported: {:?}",
        connected.warnings
    );
    let key = AccountKey::for_user(&connected.account.user.uri);
    assert!(
        connector
            .keychain()
            .token_set(&key)
            .await
            .unwrap()
            .is_some(),
        "the sign-in is kept although webhooks failed"
    );
    // Once Calendly stops refusing, the next check sets it up.
    control.clear_faults().await.unwrap();
    let repaired = connector
        .ensure_realtime(connected.account.account_id)
        .await
        .unwrap();
    assert!(matches!(repaired, WebhookStatus::Active(_)), "{repaired:?}");
}
