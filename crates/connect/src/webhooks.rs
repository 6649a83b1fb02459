//! Our webhook subscription at Calendly: exactly one per account, pointing at the relay.
//!
//! A subscription is "ours" when its callback URL starts with the configured relay webhook base.
//! Each account gets its own callback URL (`<base>/<account-key>`), because Calendly treats
//! callback URLs as unique (409 on a second subscription with the same URL).

use advicly_calendly::{
    CalendlyClient, DeleteOutcome, Error as CalendlyError, NewWebhookSubscription,
    SubscriptionState, WebhookSubscription,
};
use advicly_core::domain::CalendlyUser;
use advicly_core::Secret;
use rand::RngCore;
use url::Url;

use crate::config::{with_trailing_slash, WEBHOOK_EVENTS};
use crate::error::ConnectError;
use crate::keychain::{AccountKey, Keychain, KeychainItem};

/// The outcome of ensuring the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnsuredSubscription {
    pub subscription_uri: String,
    pub callback_url: String,
    /// True when a new subscription was created (false: an existing one was reused).
    pub created: bool,
    /// Duplicates, disabled ones and stale ones of ours that were deleted.
    pub removed: usize,
}

/// The callback URL of an account's subscription.
pub fn callback_url_for(base: &Url, account: &AccountKey) -> Result<Url, ConnectError> {
    with_trailing_slash(base)
        .join(account.as_str())
        .map_err(|error| {
            ConnectError::Configuration(format!("webhook callback base {base}: {error}"))
        })
}

/// True when `callback_url` belongs to this app (starts with the webhook base).
pub fn is_ours(base: &Url, callback_url: &str) -> bool {
    callback_url.starts_with(with_trailing_slash(base).as_str())
}

fn new_signing_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

/// Lists the user's subscriptions and leaves exactly one of ours: an active one with the right
/// URL whose signing key we hold is reused; every other one of ours is deleted; if none is left
/// a new one is created with a fresh random signing key (saved to the keychain first). A 409 on
/// create means a subscription with our URL exists that we cannot use: it is deleted and the
/// create is retried once.
pub(crate) async fn ensure_subscription(
    client: &CalendlyClient,
    keychain: &Keychain,
    account: &AccountKey,
    user: &CalendlyUser,
    base: &Url,
) -> Result<EnsuredSubscription, ConnectError> {
    let expected = callback_url_for(base, account)?.to_string();
    let key_item = KeychainItem::WebhookSigningKey(account.clone());
    let known_key = keychain.get(&key_item).await?;
    let existing = client
        .list_webhook_subscriptions(&user.organization, &user.uri)
        .await?;
    let ours: Vec<&WebhookSubscription> = existing
        .iter()
        .filter(|subscription| is_ours(base, &subscription.callback_url))
        .collect();
    let keep = known_key.as_ref().and_then(|_| {
        ours.iter()
            .find(|subscription| {
                subscription.state == SubscriptionState::Active
                    && subscription.callback_url == expected
            })
            .map(|subscription| subscription.uri.clone())
    });
    let mut removed = 0;
    for subscription in &ours {
        if Some(&subscription.uri) != keep.as_ref() {
            client
                .delete_webhook_subscription(&subscription.uri)
                .await?;
            removed += 1;
        }
    }
    if let Some(uri) = keep {
        return Ok(EnsuredSubscription {
            subscription_uri: uri.as_str().to_owned(),
            callback_url: expected,
            created: false,
            removed,
        });
    }

    let signing_key = new_signing_key();
    keychain.set(&key_item, &signing_key).await?;
    let request = NewWebhookSubscription {
        callback_url: expected.clone(),
        events: WEBHOOK_EVENTS
            .iter()
            .map(|event| event.to_string())
            .collect(),
        organization: user.organization.clone(),
        user: user.uri.clone(),
        signing_key: Some(signing_key),
    };
    let created = match client.create_webhook_subscription(&request).await {
        Ok(created) => created,
        Err(CalendlyError::AlreadyExists { .. }) => {
            // Someone (another process, an earlier crash) holds our URL with a key we do not
            // know: delete it and create ours once more.
            let again = client
                .list_webhook_subscriptions(&user.organization, &user.uri)
                .await?;
            for subscription in again.iter().filter(|s| s.callback_url == expected) {
                client
                    .delete_webhook_subscription(&subscription.uri)
                    .await?;
                removed += 1;
            }
            client.create_webhook_subscription(&request).await?
        }
        Err(other) => return Err(other.into()),
    };
    Ok(EnsuredSubscription {
        subscription_uri: created.uri.as_str().to_owned(),
        callback_url: expected,
        created: true,
        removed,
    })
}

/// Deletes every subscription of ours for the user; returns how many were deleted.
pub(crate) async fn delete_ours(
    client: &CalendlyClient,
    user: &CalendlyUser,
    base: &Url,
) -> Result<usize, ConnectError> {
    let existing = client
        .list_webhook_subscriptions(&user.organization, &user.uri)
        .await?;
    let mut deleted = 0;
    for subscription in existing
        .iter()
        .filter(|subscription| is_ours(base, &subscription.callback_url))
    {
        if client
            .delete_webhook_subscription(&subscription.uri)
            .await?
            == DeleteOutcome::Deleted
        {
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_means_under_the_base_path_not_a_sibling() {
        let base = Url::parse("https://relay.example/webhooks").unwrap();
        // A sibling path sharing the prefix text belongs to someone else.
        assert!(is_ours(&base, "https://relay.example/webhooks/abc"));
        assert!(!is_ours(&base, "https://relay.example/webhooks-other/abc"));
        assert!(!is_ours(&base, "https://elsewhere.example/webhooks/abc"));
    }
}
