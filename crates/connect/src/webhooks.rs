//! The real-time set-up of an account: one relay channel, and exactly one Calendly webhook
//! subscription pointing at the channel's `ingress_url`.
//!
//! A subscription is "ours" when its callback URL lies under the relay's ingress path (the
//! channel's `ingress_url` without its last segment), now or before a relay change. The
//! channel id lives in the database, the subscriber token and the subscription's signing key
//! in the keychain. Every check is idempotent: a disabled or missing subscription is
//! recreated, duplicates and stale ones (pointing at an old channel) are deleted, a 409 is
//! resolved by listing, and a 403 for a plan without webhooks turns real time off with a
//! sentence saying so while polling goes on.

use std::time::Duration;

use advicly_calendly::{
    CalendlyClient, DeleteOutcome, Error as CalendlyError, NewWebhookSubscription,
    SubscriptionState, WebhookSubscription,
};
use advicly_core::domain::AccountId;
use advicly_core::store::{NewRealtimeChannel, RealtimeChannelRow, SigningAuthority};
use advicly_core::Secret;
use chrono::{DateTime, Utc};
use rand::RngCore;
use url::Url;

use crate::accounts::AccountStore;
use crate::config::WEBHOOK_EVENTS;
use crate::error::ConnectError;
use crate::keychain::{AccountKey, Keychain, KeychainItem};
use crate::relay::{ChannelDeleted, RelayClient};

/// The sentence shown when Calendly refuses webhooks because of the advisor's plan.
pub const PLAN_HAS_NO_WEBHOOKS: &str =
    "Real-time updates are off: your Calendly plan has no webhooks. Meetings still sync on the schedule";

/// The outcome of ensuring the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnsuredSubscription {
    pub subscription_uri: String,
    /// The channel's ingress URL, which the subscription posts to.
    pub callback_url: String,
    pub channel_id: String,
    /// True when a new subscription was created (false: an existing one was reused).
    pub created: bool,
    /// True when a new relay channel was created for it.
    pub channel_created: bool,
    /// Duplicates, disabled ones and stale ones of ours that were deleted.
    pub removed: usize,
}

/// The part of the callback URL shared by every channel of one relay: the ingress URL up to
/// and including its last `/`.
pub fn ingress_prefix(ingress_url: &str) -> &str {
    match ingress_url.trim_end_matches('/').rfind('/') {
        Some(index) => &ingress_url[..=index],
        None => ingress_url,
    }
}

/// True when `callback_url` is one of ours: under the ingress path of a relay channel.
pub fn is_ours(ingress_url: &str, callback_url: &str) -> bool {
    let prefix = ingress_prefix(ingress_url);
    callback_url.starts_with(prefix) && callback_url.len() > prefix.len()
}

fn new_signing_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

/// Everything one check needs.
pub(crate) struct RealtimeContext<'a> {
    pub client: &'a CalendlyClient,
    pub keychain: &'a Keychain,
    pub accounts: &'a AccountStore,
    pub relay: &'a RelayClient,
    pub relay_timeout: Duration,
    pub account_id: AccountId,
    pub key: &'a AccountKey,
    pub user: &'a advicly_core::domain::CalendlyUser,
    pub signed_by: SigningAuthority,
    pub now: DateTime<Utc>,
}

/// What a check found.
pub(crate) enum Ensured {
    Active(EnsuredSubscription),
    /// Calendly refused webhooks for this account; the sentence says why.
    Off {
        reason: String,
    },
}

/// Makes sure the account has a channel on the configured relay and exactly one working
/// subscription pointing at it.
pub(crate) async fn ensure(context: &RealtimeContext<'_>) -> Result<Ensured, ConnectError> {
    let (channel, channel_created, previous_ingress) = ensure_channel(context).await?;
    let ingress = channel.ingress_url.clone();
    let existing = match context
        .client
        .list_webhook_subscriptions(&context.user.organization, &context.user.uri)
        .await
    {
        Ok(existing) => existing,
        Err(CalendlyError::Forbidden {
            message,
            required_scopes,
        }) => return turn_off(context, &message, &required_scopes).await,
        Err(other) => return Err(other.into()),
    };
    let ours: Vec<&WebhookSubscription> = existing
        .iter()
        .filter(|subscription| {
            is_ours(&ingress, &subscription.callback_url)
                || previous_ingress
                    .as_deref()
                    .is_some_and(|previous| is_ours(previous, &subscription.callback_url))
        })
        .collect();
    let key_item = KeychainItem::WebhookSigningKey(context.key.clone());
    let known_key = context.keychain.get(&key_item).await?;
    let keep = known_key.as_ref().and_then(|_| {
        ours.iter()
            .find(|subscription| {
                subscription.state == SubscriptionState::Active
                    && subscription.callback_url == ingress
            })
            .map(|subscription| (*subscription).clone())
    });
    let mut removed = 0;
    for subscription in &ours {
        if Some(&subscription.uri) != keep.as_ref().map(|kept| &kept.uri) {
            context
                .client
                .delete_webhook_subscription(&subscription.uri)
                .await?;
            removed += 1;
        }
    }
    if let Some(kept) = keep {
        return record_active(context, &channel, &kept, false, channel_created, removed).await;
    }

    let signing_key = new_signing_key();
    context.keychain.set(&key_item, &signing_key).await?;
    let request = NewWebhookSubscription {
        callback_url: ingress.clone(),
        events: WEBHOOK_EVENTS
            .iter()
            .map(|event| event.to_string())
            .collect(),
        organization: context.user.organization.clone(),
        user: context.user.uri.clone(),
        signing_key: Some(signing_key.clone()),
    };
    let created = match context.client.create_webhook_subscription(&request).await {
        Ok(created) => created,
        Err(CalendlyError::Forbidden {
            message,
            required_scopes,
        }) => return turn_off(context, &message, &required_scopes).await,
        Err(CalendlyError::AlreadyExists { .. }) => {
            match resolve_conflict(context, &request, &signing_key, &mut removed).await? {
                Resolution::Reuse(existing) => {
                    return record_active(
                        context,
                        &channel,
                        &existing,
                        false,
                        channel_created,
                        removed,
                    )
                    .await
                }
                Resolution::Created(created) => created,
            }
        }
        Err(other) => return Err(other.into()),
    };
    record_active(context, &channel, &created, true, channel_created, removed).await
}

enum Resolution {
    Reuse(WebhookSubscription),
    Created(WebhookSubscription),
}

/// A 409: a subscription with our ingress URL exists. If another process of ours made it a
/// moment ago (its key replaced ours in the keychain), it is reused; otherwise its key is
/// unknown, so it is deleted and ours created once more.
async fn resolve_conflict(
    context: &RealtimeContext<'_>,
    request: &NewWebhookSubscription,
    our_key: &Secret,
    removed: &mut usize,
) -> Result<Resolution, ConnectError> {
    let again = context
        .client
        .list_webhook_subscriptions(&context.user.organization, &context.user.uri)
        .await?;
    let holders: Vec<&WebhookSubscription> = again
        .iter()
        .filter(|subscription| subscription.callback_url == request.callback_url)
        .collect();
    let key_now = context
        .keychain
        .get(&KeychainItem::WebhookSigningKey(context.key.clone()))
        .await?;
    let made_by_us_elsewhere = key_now.as_ref().is_some_and(|key| key != our_key);
    if made_by_us_elsewhere {
        if let Some(active) = holders
            .iter()
            .find(|subscription| subscription.state == SubscriptionState::Active)
        {
            return Ok(Resolution::Reuse((*active).clone()));
        }
    }
    context
        .keychain
        .set(
            &KeychainItem::WebhookSigningKey(context.key.clone()),
            our_key,
        )
        .await?;
    for subscription in holders {
        context
            .client
            .delete_webhook_subscription(&subscription.uri)
            .await?;
        *removed += 1;
    }
    Ok(Resolution::Created(
        context.client.create_webhook_subscription(request).await?,
    ))
}

async fn record_active(
    context: &RealtimeContext<'_>,
    channel: &RealtimeChannelRow,
    subscription: &WebhookSubscription,
    created: bool,
    channel_created: bool,
    removed: usize,
) -> Result<Ensured, ConnectError> {
    let account_id = context.account_id;
    let uri = subscription.uri.as_str().to_owned();
    let state = subscription.state.as_str().to_owned();
    let signed_by = context.signed_by;
    let now = context.now;
    context
        .accounts
        .with(move |store| {
            store.set_realtime_subscription(account_id, &uri, &state, signed_by, now)
        })
        .await?;
    Ok(Ensured::Active(EnsuredSubscription {
        subscription_uri: subscription.uri.as_str().to_owned(),
        callback_url: subscription.callback_url.clone(),
        channel_id: channel.channel_id.clone(),
        created,
        channel_created,
        removed,
    }))
}

/// A 403: real time is off, with a sentence the advisor can act on; polling goes on.
async fn turn_off(
    context: &RealtimeContext<'_>,
    message: &str,
    required_scopes: &[String],
) -> Result<Ensured, ConnectError> {
    let reason = if !required_scopes.is_empty() {
        format!(
            "Real-time updates are off: Advicly lacks Calendly's permission for webhooks ({}); reconnect Calendly to grant it. Meetings still sync on the schedule",
            required_scopes.join(", ")
        )
    } else if message.to_lowercase().contains("upgrade") {
        PLAN_HAS_NO_WEBHOOKS.to_owned()
    } else {
        format!(
            "Real-time updates are off: Calendly does not allow webhooks for this account ({message}). Meetings still sync on the schedule"
        )
    };
    let account_id = context.account_id;
    let now = context.now;
    let stored = reason.clone();
    context
        .accounts
        .with(move |store| store.set_realtime_off(account_id, &stored, now))
        .await?;
    tracing::info!(account = %context.key.as_str(), "Calendly refused webhooks; real time is off");
    Ok(Ensured::Off { reason })
}

/// The account's channel on the configured relay: the stored one when its token is still in
/// the keychain, else a new one (token saved to the keychain before the id is stored). A
/// channel on a different relay is deleted there, best effort. Returns the channel, whether it
/// is new, and the ingress URL of the channel it replaced.
async fn ensure_channel(
    context: &RealtimeContext<'_>,
) -> Result<(RealtimeChannelRow, bool, Option<String>), ConnectError> {
    let account_id = context.account_id;
    let stored = context
        .accounts
        .with(move |store| store.realtime_channel(account_id))
        .await?;
    let token_item = KeychainItem::RelayToken(context.key.clone());
    let token = context.keychain.get(&token_item).await?;
    let relay_base = context.relay.base().to_string();
    if let (Some(row), Some(_)) = (&stored, &token) {
        if row.relay_base == relay_base {
            return Ok((row.clone(), false, None));
        }
    }
    if let (Some(row), Some(token)) = (&stored, &token) {
        forget_channel_at(row, token, context.relay_timeout).await;
    }
    let created = context.relay.create_channel(context.relay_timeout).await?;
    context
        .keychain
        .set(&token_item, &created.subscriber_token)
        .await?;
    let channel = NewRealtimeChannel {
        relay_base,
        channel_id: created.channel_id.clone(),
        ingress_url: created.ingress_url.to_string(),
        signed_by: context.signed_by,
    };
    let now = context.now;
    let row = context
        .accounts
        .with(move |store| {
            store.save_realtime_channel(account_id, &channel, now)?;
            store.realtime_channel(account_id)
        })
        .await?
        .ok_or_else(|| ConnectError::Internal("the relay channel row vanished".into()))?;
    tracing::info!(account = %context.key.as_str(), "created a relay channel");
    Ok((row, true, stored.map(|previous| previous.ingress_url)))
}

/// Deletes a channel at the relay it lives on, logging (not failing) when that relay is gone.
async fn forget_channel_at(row: &RealtimeChannelRow, token: &Secret, timeout: Duration) {
    let Ok(base) = Url::parse(&row.relay_base) else {
        return;
    };
    let Ok(old_relay) = RelayClient::new(base, timeout) else {
        return;
    };
    if let Err(problem) = old_relay
        .delete_channel(&row.channel_id, token, timeout)
        .await
    {
        tracing::info!(%problem, "could not delete the channel on the previous relay");
    }
}

/// What tearing the set-up down did.
#[derive(Debug, Default)]
pub(crate) struct TornDown {
    pub subscriptions_deleted: usize,
    pub warnings: Vec<String>,
}

/// Deletes every subscription of ours and the relay channel, then forgets the channel. Each
/// part that could not be reached becomes a plain warning; nothing here fails the caller.
pub(crate) async fn tear_down(
    client: Option<&CalendlyClient>,
    keychain: &Keychain,
    accounts: &AccountStore,
    account_id: AccountId,
    key: &AccountKey,
    user: &advicly_core::domain::CalendlyUser,
    relay_timeout: Duration,
) -> Result<TornDown, ConnectError> {
    let mut report = TornDown::default();
    let stored = accounts
        .with(move |store| store.realtime_channel(account_id))
        .await?;
    let Some(row) = stored else {
        return Ok(report);
    };
    if let Some(client) = client {
        match delete_ours(client, user, &row.ingress_url).await {
            Ok(deleted) => report.subscriptions_deleted = deleted,
            Err(error) => report.warnings.push(format!(
                "Advicly's webhook subscription at Calendly could not be deleted ({error}); it stops delivering once the sign-in is revoked, and you can remove it in Calendly's integration settings"
            )),
        }
    }
    match keychain.get(&KeychainItem::RelayToken(key.clone())).await? {
        Some(token) => {
            let relay = Url::parse(&row.relay_base)
                .map_err(|error| ConnectError::Configuration(format!("relay URL: {error}")))
                .and_then(|base| RelayClient::new(base, relay_timeout));
            let deleted = match relay {
                Ok(relay) => {
                    relay
                        .delete_channel(&row.channel_id, &token, relay_timeout)
                        .await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = deleted {
                report.warnings.push(format!(
                    "The relay channel could not be deleted ({error}); it receives nothing once the subscription is gone, and the relay discards what it holds after 7 days"
                ));
            } else if let Ok(ChannelDeleted::AlreadyGone) = deleted {
                tracing::info!("the relay had already forgotten the channel");
            }
        }
        None => tracing::info!("no relay token is stored; the channel cannot be deleted"),
    }
    accounts
        .with(move |store| store.delete_realtime_channel(account_id))
        .await?;
    Ok(report)
}

/// Deletes every subscription of ours for the user; returns how many were deleted.
pub(crate) async fn delete_ours(
    client: &CalendlyClient,
    user: &advicly_core::domain::CalendlyUser,
    ingress_url: &str,
) -> Result<usize, ConnectError> {
    let existing = client
        .list_webhook_subscriptions(&user.organization, &user.uri)
        .await?;
    let mut deleted = 0;
    for subscription in existing
        .iter()
        .filter(|subscription| is_ours(ingress_url, &subscription.callback_url))
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
    fn ours_means_under_the_ingress_path_not_a_sibling() {
        let ingress = "https://relay.example/hooks/abc";
        // Another channel of the same relay is ours (a stale one); a sibling path is not.
        assert!(is_ours(ingress, "https://relay.example/hooks/abc"));
        assert!(is_ours(ingress, "https://relay.example/hooks/old-channel"));
        assert!(!is_ours(ingress, "https://relay.example/hooks-other/abc"));
        assert!(!is_ours(ingress, "https://relay.example/hooks/"));
        assert!(!is_ours(ingress, "https://elsewhere.example/hooks/abc"));
    }

    #[test]
    fn the_ingress_prefix_ends_at_the_last_slash() {
        assert_eq!(
            ingress_prefix("http://127.0.0.1:5000/hooks/ch_1"),
            "http://127.0.0.1:5000/hooks/"
        );
    }
}
