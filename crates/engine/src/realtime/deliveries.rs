//! One delivery from the relay: verify its signature, read it with the Calendly client's wire
//! types, and apply and record it in one transaction. Nothing here touches the network.

use std::time::Duration;

use advicly_calendly::webhook::{
    body_digest, parse_delivery, verify_relayed, Delivery, DeliveryError, DeliveryKind,
    RelayedDelivery, SignatureAuthority,
};
use advicly_core::domain::{AccountId, UserUri};
use advicly_core::store::{DeliveryOutcome, IncomingDelivery, SigningAuthority, Store};
use advicly_core::{Secret, StoreError};
use chrono::{DateTime, Utc};

/// A delivery as the relay's stream carries it (signature included; it is checked, never kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryFrame {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    pub relay_verified: Option<bool>,
}

/// How the deliveries of the account's subscription are signed, and with what.
#[derive(Clone, Debug)]
pub(crate) struct SigningKeys {
    pub signed_by: SigningAuthority,
    pub subscription_key: Option<Secret>,
}

/// What kind of change a delivery brought, for a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeetingChangeKind {
    /// A new booking (or a new invitee joined a group event).
    Booked,
    Canceled,
    /// The new half of a reschedule (the old half's cancellation is not announced separately).
    Rescheduled,
}

/// A change worth telling the advisor about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingChange {
    pub kind: MeetingChangeKind,
    pub meeting_uri: String,
    pub meeting_name: Option<String>,
    pub start_time: DateTime<Utc>,
    pub invitee_name: String,
    /// The cancellation reason, when one was given.
    pub reason: Option<String>,
}

/// What became of one delivery (the `advicly listen` line and the UI's event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    pub id: i64,
    /// The envelope's event name, when the body could be read that far.
    pub event: Option<String>,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    pub meeting_uri: Option<String>,
    /// True when the store changed.
    pub changed: bool,
    /// Set for applied bookings, cancellations and reschedules that changed the store.
    pub change: Option<MeetingChange>,
}

/// True when the delivery's signature checks out with `keys`. The listener asks before
/// processing: a mismatch may only mean that the subscription was just recreated with a new
/// key, which it then re-reads from the keychain.
pub(crate) fn signature_accepted(
    keys: &SigningKeys,
    frame: &DeliveryFrame,
    tolerance: Duration,
) -> bool {
    authority(keys)
        .is_some_and(|authority| verify_relayed(&relayed(frame), authority, tolerance).is_ok())
}

/// Who vouches for the signature; `None` when our own key is needed but not stored.
fn authority(keys: &SigningKeys) -> Option<SignatureAuthority<'_>> {
    match keys.signed_by {
        SigningAuthority::Subscription => keys
            .subscription_key
            .as_ref()
            .map(SignatureAuthority::SubscriptionKey),
        SigningAuthority::App => Some(SignatureAuthority::Relay {
            fallback: keys.subscription_key.as_ref(),
        }),
    }
}

fn relayed(frame: &DeliveryFrame) -> RelayedDelivery<'_> {
    RelayedDelivery {
        raw_body: &frame.body,
        signature: frame.signature.as_deref(),
        received_at: frame.received_at,
        relay_verified: frame.relay_verified,
    }
}

/// Verifies, reads and applies one delivery for `account` (whose Calendly user is `user`).
pub(crate) fn process_delivery(
    store: &mut Store,
    account: AccountId,
    user: &UserUri,
    channel_id: &str,
    keys: &SigningKeys,
    frame: &DeliveryFrame,
    tolerance: Duration,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, StoreError> {
    let mut incoming = IncomingDelivery {
        channel_id: channel_id.to_owned(),
        delivery_id: frame.id,
        event: peek_event_name(&frame.body),
        received_at: frame.received_at,
        body_digest: Some(body_digest(&frame.body)),
        meeting_uri: None,
        invitee_uri: None,
    };
    let Some(authority) = authority(keys) else {
        return reject(
            store,
            account,
            &incoming,
            "the signing key of our subscription is not in the keychain, so nothing can be verified",
            now,
        );
    };
    if let Err(refusal) = verify_relayed(&relayed(frame), authority, tolerance) {
        return reject(store, account, &incoming, &refusal.to_string(), now);
    }
    let delivery = match parse_delivery(&frame.body) {
        Ok(delivery) => delivery,
        Err(DeliveryError::Unsupported { event_name }) => {
            let reason = format!("unknown event type `{event_name}`; recorded, not applied");
            return reject(store, account, &incoming, &reason, now);
        }
        Err(DeliveryError::Malformed { message }) => {
            let reason = format!("not a Calendly delivery Advicly can read: {message}");
            return reject(store, account, &incoming, &reason, now);
        }
    };
    incoming.event = Some(delivery.event_name.clone());
    incoming.meeting_uri = Some(delivery.scheduled_event.uri.as_str().to_owned());
    incoming.invitee_uri = Some(delivery.invitee.uri.as_str().to_owned());
    if let Some(created_by) = &delivery.created_by {
        if created_by != user {
            return reject(
                store,
                account,
                &incoming,
                "the delivery belongs to a subscription of another Calendly user",
                now,
            );
        }
    }
    let recorded = store.apply_delivery(
        account,
        &incoming,
        &delivery.scheduled_event,
        &delivery.invitee_after(),
        now,
    )?;
    let changed = recorded.applied.changed_anything();
    let change = (recorded.outcome == DeliveryOutcome::Applied && changed)
        .then(|| meeting_change(&delivery))
        .flatten();
    Ok(DeliveryReport {
        id: frame.id,
        event: incoming.event,
        outcome: recorded.outcome,
        reason: recorded.reason,
        meeting_uri: incoming.meeting_uri,
        changed,
        change,
    })
}

fn reject(
    store: &mut Store,
    account: AccountId,
    incoming: &IncomingDelivery,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, StoreError> {
    tracing::info!(delivery = incoming.delivery_id, %reason, "rejected a webhook delivery");
    let recorded = store.record_rejected_delivery(account, incoming, reason, now)?;
    Ok(DeliveryReport {
        id: incoming.delivery_id,
        event: incoming.event.clone(),
        outcome: recorded.outcome,
        reason: recorded.reason,
        meeting_uri: None,
        changed: false,
        change: None,
    })
}

/// The envelope's `event` field, for the record of a delivery that could not be verified or
/// read. Only a short plain name is kept; anything else in an untrusted body is ignored.
fn peek_event_name(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        event: String,
    }
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let plain = !envelope.event.is_empty()
        && envelope.event.len() <= 64
        && envelope
            .event
            .chars()
            .all(|character| character.is_ascii_lowercase() || "._".contains(character));
    plain.then_some(envelope.event)
}

fn meeting_change(delivery: &Delivery) -> Option<MeetingChange> {
    let kind = match delivery.kind {
        DeliveryKind::InviteeCreated if delivery.invitee.old_invitee.is_some() => {
            MeetingChangeKind::Rescheduled
        }
        DeliveryKind::InviteeCreated => MeetingChangeKind::Booked,
        // The old half of a reschedule: its new half announces the move.
        DeliveryKind::InviteeCanceled if delivery.invitee.rescheduled => return None,
        DeliveryKind::InviteeCanceled => MeetingChangeKind::Canceled,
        DeliveryKind::NoShowCreated | DeliveryKind::NoShowDeleted => return None,
    };
    let reason = delivery
        .invitee
        .cancellation
        .as_ref()
        .and_then(|cancellation| cancellation.reason.clone())
        .filter(|reason| !reason.trim().is_empty());
    Some(MeetingChange {
        kind,
        meeting_uri: delivery.scheduled_event.uri.as_str().to_owned(),
        meeting_name: delivery.scheduled_event.name.clone(),
        start_time: delivery.scheduled_event.start_time,
        invitee_name: delivery.invitee.name.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::real(br#"{"event":"invitee.created","payload":{}}"#.as_slice(), Some("invitee.created"))]
    #[case::garbage(b"\x00\xff not json".as_slice(), None)]
    #[case::markup(br#"{"event":"<script>alert(1)</script>"}"#.as_slice(), None)]
    #[case::long(br#"{"event":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#.as_slice(), None)]
    fn only_a_short_plain_event_name_is_kept_from_an_untrusted_body(
        #[case] body: &[u8],
        #[case] expected: Option<&str>,
    ) {
        // The record of a rejected delivery must not become a place to store attacker text.
        assert_eq!(peek_event_name(body).as_deref(), expected);
    }
}
