//! "Exactly one subscription of ours": duplicates and disabled ones are replaced, other apps'
//! subscriptions are left alone, and a callback URL taken elsewhere (409) degrades gracefully.

mod support;

use std::time::Duration;

use advicly_calendly::NewWebhookSubscription;
use advicly_connect::{AccountKey, WebhookStatus};
use advicly_core::domain::{OrganizationUri, UserUri};
use advicly_core::Secret;
use fake_calendly::{BookingRequest, InviteeSpec, MintTokenRequest, NewUser};
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

    // Our callback URL answers nothing, so a booking's deliveries fail until Calendly (the
    // fake, within its compressed retry window) disables the subscription.
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
async fn a_callback_url_taken_by_someone_else_leaves_the_connection_working() {
    if !support::in_private_keyring_session(
        "a_callback_url_taken_by_someone_else_leaves_the_connection_working",
    ) {
        return;
    }
    let world = World::start(Redirect::Direct).await;
    let control = world.fake.control();
    let advisor = control.default_user().await.unwrap();
    let intruder = control
        .add_user(&NewUser {
            name: "Someone Else".into(),
            email: "else@example.com".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    // Someone else holds the callback URL our advisor's subscription would use; Calendly's
    // callback URLs are unique, so creating ours answers 409 even after the retry.
    let intruder_token = control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: Some(intruder.user_uri.clone()),
            scopes: None,
        })
        .await
        .unwrap()
        .token;
    let our_url = advicly_connect::callback_url_for(
        &world.webhook_base,
        &AccountKey::for_user(&UserUri::new(advisor.user_uri.clone())),
    )
    .unwrap();
    // The intruder is another Calendly customer: a plain client, nothing shared with us.
    advicly_calendly::CalendlyClient::new(
        advicly_calendly::ClientConfig::new(world.fake.api_base_url()),
        std::sync::Arc::new(advicly_calendly::StaticToken::new(Secret::new(
            intruder_token,
        ))),
    )
    .unwrap()
    .create_webhook_subscription(&NewWebhookSubscription {
        callback_url: our_url.to_string(),
        events: vec!["invitee.created".into()],
        organization: OrganizationUri::new(intruder.organization_uri.clone()),
        user: UserUri::new(intruder.user_uri.clone()),
        signing_key: None,
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
        other => panic!("a taken URL cannot give an active subscription: {other:?}"),
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
    assert_eq!(
        control
            .subscriptions()
            .await
            .unwrap()
            .iter()
            .filter(|s| s.callback_url == our_url.as_str())
            .count(),
        1,
        "the other customer's subscription was not touched"
    );
}
