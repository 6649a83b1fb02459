//! Webhook deliveries: verifying `Calendly-Webhook-Signature` over the raw body (also for
//! deliveries that a relay buffered), and reading a delivery into domain types.

use std::time::Duration;

use advicly_core::domain::{FetchedEvent, FetchedInvitee, UserUri};
use advicly_core::Secret;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::wire::{self, WireDelivery};

/// The header Calendly signs deliveries with: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Calendly-Webhook-Signature";

/// How old a signature may be; Calendly's own examples use three minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(180);

/// How far in the future a signature's timestamp may be (clock skew between Calendly and us).
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(30);

/// Why a delivery's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header has no `t=` timestamp")]
    MissingTimestamp,
    #[error("the signature header has no `v1=` signature")]
    MissingSignature,
    #[error("the signature timestamp is not a number")]
    MalformedTimestamp,
    #[error("the signature is {age_seconds} s old, older than the {tolerance_seconds} s allowed")]
    TooOld {
        age_seconds: i64,
        tolerance_seconds: u64,
    },
    #[error("the signature timestamp is {ahead_seconds} s in the future")]
    FromTheFuture { ahead_seconds: i64 },
    #[error("the signature does not match the body and the signing key")]
    Mismatch,
}

/// Why a delivery body could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("the webhook delivery could not be read: {message}")]
    Malformed { message: String },
    /// Events other than `invitee.*` / `invitee_no_show.*`; acknowledge and ignore them.
    #[error("webhook event `{event_name}` is not one Advicly applies; recorded, not applied")]
    Unsupported { event_name: String },
}

/// The webhook events Advicly applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    /// A booking (or the new half of a reschedule, or one more invitee of a group event).
    InviteeCreated,
    /// A cancellation (or the old half of a reschedule).
    InviteeCanceled,
    NoShowCreated,
    NoShowDeleted,
}

impl DeliveryKind {
    /// The kind of a Calendly event name, if Advicly applies it.
    pub fn parse(event_name: &str) -> Option<Self> {
        match event_name {
            "invitee.created" => Some(Self::InviteeCreated),
            "invitee.canceled" => Some(Self::InviteeCanceled),
            "invitee_no_show.created" => Some(Self::NoShowCreated),
            "invitee_no_show.deleted" => Some(Self::NoShowDeleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InviteeCreated => "invitee.created",
            Self::InviteeCanceled => "invitee.canceled",
            Self::NoShowCreated => "invitee_no_show.created",
            Self::NoShowDeleted => "invitee_no_show.deleted",
        }
    }
}

/// An invitee delivery, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub kind: DeliveryKind,
    /// `invitee.created`, `invitee.canceled`, `invitee_no_show.created`, … verbatim.
    pub event_name: String,
    pub created_at: DateTime<Utc>,
    /// The user who created the subscription (not the invitee).
    pub created_by: Option<UserUri>,
    pub invitee: FetchedInvitee,
    pub scheduled_event: FetchedEvent,
}

impl Delivery {
    /// The invitee as the store should hold it after this delivery. An
    /// `invitee_no_show.deleted` payload still describes the no-show being removed, so the
    /// flag is cleared here.
    pub fn invitee_after(&self) -> FetchedInvitee {
        let mut invitee = self.invitee.clone();
        match self.kind {
            DeliveryKind::NoShowCreated => invitee.no_show = true,
            DeliveryKind::NoShowDeleted => invitee.no_show = false,
            DeliveryKind::InviteeCreated | DeliveryKind::InviteeCanceled => {}
        }
        invitee
    }
}

/// Who can vouch for the signature of a relayed delivery.
#[derive(Clone, Copy, Debug)]
pub enum SignatureAuthority<'a> {
    /// The subscription was created with this key (personal access tokens): the app checks it.
    SubscriptionKey(&'a Secret),
    /// Calendly signs with the OAuth app's key, which only the relay holds: only a delivery the
    /// relay marked `relay_verified: true` is accepted. If the relay did not say, a signature
    /// made with `fallback` (the key the app passed when subscribing) is accepted too.
    Relay { fallback: Option<&'a Secret> },
}

/// A delivery as a relay hands it over: the raw body, the signature header Calendly sent, when
/// the relay received it, and the relay's own verdict if it holds the app's key.
#[derive(Clone, Copy, Debug)]
pub struct RelayedDelivery<'a> {
    pub raw_body: &'a [u8],
    pub signature: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    pub relay_verified: Option<bool>,
}

/// Why a relayed delivery's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerificationError {
    #[error("the delivery has no Calendly-Webhook-Signature header")]
    MissingHeader,
    #[error("{0}")]
    Signature(#[from] SignatureError),
    #[error("the relay checked the signature with Calendly's app key and it does not match")]
    RelayRejected,
    #[error("the delivery is signed with Calendly's app key, which only the relay can check, and the relay did not verify it")]
    RelayDidNotVerify,
}

/// Checks a relayed delivery's signature. Staleness is judged against the relay's
/// `received_at`, not the wall clock: a buffered delivery is old by design, but it must have
/// been fresh when the relay got it.
pub fn verify_relayed(
    delivery: &RelayedDelivery<'_>,
    authority: SignatureAuthority<'_>,
    tolerance: Duration,
) -> Result<(), VerificationError> {
    match authority {
        SignatureAuthority::SubscriptionKey(key) => {
            let header = delivery
                .signature
                .filter(|header| !header.trim().is_empty())
                .ok_or(VerificationError::MissingHeader)?;
            verify_signature(
                header,
                delivery.raw_body,
                key,
                delivery.received_at,
                tolerance,
            )?;
            Ok(())
        }
        SignatureAuthority::Relay { fallback } => match delivery.relay_verified {
            Some(true) => Ok(()),
            Some(false) => Err(VerificationError::RelayRejected),
            None => {
                let header = delivery
                    .signature
                    .filter(|header| !header.trim().is_empty())
                    .ok_or(VerificationError::MissingHeader)?;
                let key = fallback.ok_or(VerificationError::RelayDidNotVerify)?;
                verify_signature(
                    header,
                    delivery.raw_body,
                    key,
                    delivery.received_at,
                    tolerance,
                )
                .map_err(|_| VerificationError::RelayDidNotVerify)
            }
        },
    }
}

/// Lowercase hex SHA-256 of a raw body: the same Calendly message sent twice has the same one.
pub fn body_digest(raw_body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(raw_body))
}

type HmacSha256 = Hmac<Sha256>;

fn mac_for(signing_key: &Secret, timestamp: &str, raw_body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(signing_key.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    mac
}

/// The header value Calendly would send for `raw_body` signed at `timestamp` (UNIX seconds).
/// For tests and local tooling that play Calendly's part.
pub fn signature_header(signing_key: &Secret, timestamp: i64, raw_body: &[u8]) -> String {
    let signature = mac_for(signing_key, &timestamp.to_string(), raw_body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(signature))
}

/// Checks `header` (the `Calendly-Webhook-Signature` value) against the raw body bytes as
/// received — never a re-serialization. The comparison is constant-time; signatures older than
/// `tolerance` or more than [`MAX_FUTURE_SKEW`] ahead of `now` are refused.
pub fn verify_signature(
    header: &str,
    raw_body: &[u8],
    signing_key: &Secret,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    if timestamp.is_empty() || !timestamp.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    let signed_at: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    let age_seconds = now.timestamp().saturating_sub(signed_at);
    if age_seconds > i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX) {
        return Err(SignatureError::TooOld {
            age_seconds,
            tolerance_seconds: tolerance.as_secs(),
        });
    }
    if -age_seconds > MAX_FUTURE_SKEW.as_secs() as i64 {
        return Err(SignatureError::FromTheFuture {
            ahead_seconds: -age_seconds,
        });
    }
    let mac = mac_for(signing_key, timestamp, raw_body);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature)
            .map(|bytes| mac.clone().verify_slice(&bytes).is_ok())
            .unwrap_or(false)
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Reads an `invitee.created`, `invitee.canceled`, `invitee_no_show.created` or
/// `invitee_no_show.deleted` delivery: the payload is the invitee, and its `scheduled_event`
/// the event. Any other event gives [`DeliveryError::Unsupported`].
pub fn parse_delivery(raw_body: &[u8]) -> Result<Delivery, DeliveryError> {
    let malformed = |message: String| DeliveryError::Malformed { message };
    let envelope: WireDelivery = wire::decode(raw_body).map_err(malformed)?;
    let Some(kind) = DeliveryKind::parse(&envelope.event) else {
        return Err(DeliveryError::Unsupported {
            event_name: envelope.event,
        });
    };
    let mut payload = match envelope.payload {
        Some(payload @ Value::Object(_)) => payload,
        _ => return Err(malformed("the payload is missing".into())),
    };
    let scheduled_event = payload
        .get_mut("scheduled_event")
        .map(Value::take)
        .filter(|value| value.is_object())
        .ok_or_else(|| malformed("the payload has no scheduled_event".into()))?;
    let scheduled_event = serde_json::from_value(scheduled_event)
        .map_err(|error| error.to_string())
        .and_then(wire::map_event)
        .map_err(|message| malformed(format!("scheduled_event: {message}")))?;
    let invitee = serde_json::from_value(payload)
        .map_err(|error| error.to_string())
        .and_then(wire::map_invitee)
        .map_err(|message| malformed(format!("invitee: {message}")))?;
    Ok(Delivery {
        kind,
        event_name: envelope.event,
        created_at: envelope.created_at,
        created_by: envelope
            .created_by
            .filter(|uri| !uri.is_empty())
            .map(UserUri::new),
        invitee,
        scheduled_event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use advicly_core::domain::Status;
    use proptest::prelude::*;
    use rstest::rstest;

    /// The REAL `invitee.created` delivery of 2023-12-24 quoted in API.md, byte for byte.
    const CREATED_2023: &str = r#"{"created_at":"2023-12-24T17:27:38.000000Z","created_by":"https://api.calendly.com/users/f2f32253-5f99-4d22-8950-51f86535e227","event":"invitee.created","payload":{"cancel_url":"https://calendly.com/cancellations/3e39fe12-9338-448d-b760-2217a35cc0a7","created_at":"2023-12-24T17:27:38.192438Z","email":"ashwaniverma.verma@rediff.com","event":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c","first_name":null,"invitee_scheduled_by":null,"last_name":null,"name":"test account","new_invitee":null,"no_show":null,"old_invitee":null,"payment":null,"questions_and_answers":[],"reconfirmation":null,"reschedule_url":"https://calendly.com/reschedulings/3e39fe12-9338-448d-b760-2217a35cc0a7","rescheduled":false,"routing_form_submission":null,"scheduled_event":{"created_at":"2023-12-24T17:27:38.162964Z","end_time":"2023-12-24T21:45:00.000000Z","event_guests":[],"event_memberships":[{"user":"https://api.calendly.com/users/f2f32253-5f99-4d22-8950-51f86535e227","user_email":"connect2ashwaniverma@gmail.com"}],"event_type":"https://api.calendly.com/event_types/ebd636e1-bf06-4b5b-a3f8-68add9964c7a","invitees_counter":{"total":1,"active":1,"limit":100},"location":{"join_url":"https://calendly.com/events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/google_meet","status":"processing","type":"google_conference"},"name":"15 Minute Meeting","start_time":"2023-12-24T21:30:00.000000Z","status":"active","updated_at":"2023-12-24T17:27:38.162964Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c"},"scheduling_method":null,"status":"active","text_reminder_number":null,"timezone":"Asia/Calcutta","tracking":{"utm_campaign":null,"utm_source":null,"utm_medium":null,"utm_content":null,"utm_term":null,"salesforce_uuid":null},"updated_at":"2023-12-24T17:27:38.192438Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/invitees/3e39fe12-9338-448d-b760-2217a35cc0a7"}}"#;

    /// The docs' example header value; used for parsing only.
    const DOCS_HEADER: &str =
        "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";

    fn at(unix_seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix_seconds, 0).unwrap()
    }

    #[test]
    fn real_delivery_parses_into_invitee_and_event() {
        let delivery = parse_delivery(CREATED_2023.as_bytes()).expect("the real delivery parses");
        assert_eq!(delivery.event_name, "invitee.created");
        // The invitee and its event are tied together by the event URI.
        assert_eq!(delivery.invitee.event, delivery.scheduled_event.uri);
        assert_eq!(delivery.invitee.email, "ashwaniverma.verma@rediff.com");
        assert_eq!(delivery.scheduled_event.status, Status::Active);
        assert_eq!(
            delivery.scheduled_event.location.kind.as_deref(),
            Some("google_conference")
        );
        assert_eq!(
            delivery.created_by.as_ref().map(|uri| uri.id()),
            Some("f2f32253-5f99-4d22-8950-51f86535e227")
        );
    }

    #[rstest]
    #[case::event_type_family(r#"{"event":"event_type.created","created_at":"2026-11-01T10:00:00Z","created_by":"u","payload":{"uri":"x"}}"#)]
    #[case::routing_form(r#"{"event":"routing_form_submission.created","created_at":"2026-11-01T10:00:00Z","payload":{}}"#)]
    fn other_event_families_are_unsupported_not_malformed(#[case] body: &str) {
        // The relay acknowledges these (2xx) instead of making Calendly retry for 24 hours.
        assert!(matches!(
            parse_delivery(body.as_bytes()),
            Err(DeliveryError::Unsupported { .. })
        ));
    }

    #[rstest]
    #[case::not_json("hello")]
    #[case::no_scheduled_event(r#"{"event":"invitee.created","created_at":"2026-11-01T10:00:00Z","payload":{"uri":"https://api.calendly.com/scheduled_events/E/invitees/I","email":"a@b.c","created_at":"2026-11-01T10:00:00Z"}}"#)]
    #[case::no_payload(r#"{"event":"invitee.canceled","created_at":"2026-11-01T10:00:00Z"}"#)]
    fn broken_invitee_deliveries_are_malformed(#[case] body: &str) {
        // Without both halves there is nothing to apply.
        assert!(matches!(
            parse_delivery(body.as_bytes()),
            Err(DeliveryError::Malformed { .. })
        ));
    }

    #[rstest]
    #[case::no_timestamp("v1=abcd", SignatureError::MissingTimestamp)]
    #[case::no_signature("t=1492774577", SignatureError::MissingSignature)]
    #[case::bad_timestamp("t=soon,v1=abcd", SignatureError::MalformedTimestamp)]
    #[case::negative_timestamp("t=-5,v1=abcd", SignatureError::MalformedTimestamp)]
    #[case::wrong_signature(DOCS_HEADER, SignatureError::Mismatch)]
    #[case::not_hex("t=1492774577,v1=zz", SignatureError::Mismatch)]
    fn bad_headers_are_refused(#[case] header: &str, #[case] expected: SignatureError) {
        let key = Secret::new("signing-key");
        // Each malformed or forged header must be refused with a reason a log can show.
        assert_eq!(
            verify_signature(header, b"{}", &key, at(1492774577), DEFAULT_TOLERANCE),
            Err(expected)
        );
    }

    #[rstest]
    #[case::just_inside(180, Ok(()))]
    #[case::just_too_old(181, Err(SignatureError::TooOld { age_seconds: 181, tolerance_seconds: 180 }))]
    #[case::small_future_skew(-30, Ok(()))]
    #[case::far_future(-31, Err(SignatureError::FromTheFuture { ahead_seconds: 31 }))]
    fn timestamps_outside_the_tolerance_are_refused(
        #[case] age_seconds: i64,
        #[case] expected: Result<(), SignatureError>,
    ) {
        let key = Secret::new("signing-key");
        let body = CREATED_2023.as_bytes();
        let signed_at = 1_700_000_000;
        let header = signature_header(&key, signed_at, body);
        // A replayed delivery older than three minutes must not be applied again.
        assert_eq!(
            verify_signature(
                &header,
                body,
                &key,
                at(signed_at + age_seconds),
                DEFAULT_TOLERANCE
            ),
            expected
        );
    }

    #[test]
    fn one_of_several_v1_signatures_may_match() {
        let key = Secret::new("signing-key");
        let genuine = signature_header(&key, 1_700_000_000, b"{}");
        let with_rotation = format!(
            "{},v1={}",
            genuine.replace("v1=", "v1=00"),
            &genuine[genuine.find("v1=").unwrap() + 3..]
        );
        // During a key rotation a sender may include several signatures; any valid one counts.
        assert_eq!(
            verify_signature(
                &with_rotation,
                b"{}",
                &key,
                at(1_700_000_000),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    fn relayed<'a>(
        body: &'a [u8],
        signature: Option<&'a str>,
        received_at: i64,
        relay_verified: Option<bool>,
    ) -> RelayedDelivery<'a> {
        RelayedDelivery {
            raw_body: body,
            signature,
            received_at: at(received_at),
            relay_verified,
        }
    }

    #[test]
    fn a_buffered_delivery_is_judged_by_when_the_relay_received_it() {
        let key = Secret::new("subscription-key");
        let body = CREATED_2023.as_bytes();
        let header = signature_header(&key, 1_700_000_000, body);
        // Hours later the app reads it from the relay; the relay got it 2 s after signing.
        let buffered = relayed(body, Some(&header), 1_700_000_002, None);
        assert_eq!(
            verify_relayed(
                &buffered,
                SignatureAuthority::SubscriptionKey(&key),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
        // A delivery that was already stale when the relay received it stays refused.
        let stale = relayed(body, Some(&header), 1_700_000_000 + 600, None);
        assert!(matches!(
            verify_relayed(
                &stale,
                SignatureAuthority::SubscriptionKey(&key),
                DEFAULT_TOLERANCE
            ),
            Err(VerificationError::Signature(SignatureError::TooOld { .. }))
        ));
    }

    #[rstest]
    #[case::no_header(None)]
    #[case::empty_header(Some(""))]
    fn a_delivery_without_a_signature_is_refused(#[case] header: Option<&str>) {
        let key = Secret::new("subscription-key");
        // Unsigned deliveries could come from anyone who learned the ingress URL.
        assert_eq!(
            verify_relayed(
                &relayed(b"{}", header, 1_700_000_000, None),
                SignatureAuthority::SubscriptionKey(&key),
                DEFAULT_TOLERANCE
            ),
            Err(VerificationError::MissingHeader)
        );
    }

    #[test]
    fn for_app_key_subscriptions_only_the_relay_verdict_counts() {
        let other = Secret::new("someone-else");
        let header = signature_header(&other, 1_700_000_000, b"{}");
        let authority = SignatureAuthority::Relay { fallback: None };
        // The relay holds Calendly's app key; its `true` is what the app trusts.
        assert_eq!(
            verify_relayed(
                &relayed(b"{}", Some(&header), 1_700_000_000, Some(true)),
                authority,
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
        assert_eq!(
            verify_relayed(
                &relayed(b"{}", Some(&header), 1_700_000_000, Some(false)),
                authority,
                DEFAULT_TOLERANCE
            ),
            Err(VerificationError::RelayRejected)
        );
        // A relay without the app key says nothing, and the app cannot check it either.
        assert_eq!(
            verify_relayed(
                &relayed(b"{}", Some(&header), 1_700_000_000, None),
                authority,
                DEFAULT_TOLERANCE
            ),
            Err(VerificationError::RelayDidNotVerify)
        );
    }

    #[test]
    fn an_app_key_subscription_also_accepts_our_own_key_when_the_relay_is_silent() {
        let ours = Secret::new("our-key");
        let header = signature_header(&ours, 1_700_000_000, b"{}");
        // If Calendly used the key we passed after all, the delivery is still verifiable.
        assert_eq!(
            verify_relayed(
                &relayed(b"{}", Some(&header), 1_700_000_000, None),
                SignatureAuthority::Relay {
                    fallback: Some(&ours)
                },
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn no_show_deleted_clears_the_flag_the_payload_still_shows() {
        let mut delivery = parse_delivery(CREATED_2023.as_bytes()).unwrap();
        delivery.invitee.no_show = true;
        delivery.kind = DeliveryKind::NoShowDeleted;
        // Calendly renders the deleted no-show before removing it.
        assert!(!delivery.invitee_after().no_show);
        delivery.kind = DeliveryKind::NoShowCreated;
        assert!(delivery.invitee_after().no_show);
    }

    #[test]
    fn an_unknown_invitee_event_is_unsupported() {
        let body = CREATED_2023.replace(
            "\"event\":\"invitee.created\"",
            "\"event\":\"invitee.rescheduled\"",
        );
        // There is no invitee.rescheduled at Calendly; a new name must not be guessed at.
        assert!(matches!(
            parse_delivery(body.as_bytes()),
            Err(DeliveryError::Unsupported { .. })
        ));
    }

    proptest! {
        #[test]
        fn signed_bodies_verify_and_any_tampered_byte_fails(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            key in "[ -~]{1,64}",
            signed_at in 1_000_000_000i64..4_000_000_000,
            position in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let key = Secret::new(key);
            let header = signature_header(&key, signed_at, &body);
            // What we sign, we verify.
            prop_assert_eq!(verify_signature(&header, &body, &key, at(signed_at), DEFAULT_TOLERANCE), Ok(()));
            // Changing any single byte of the body must break the signature.
            if !body.is_empty() {
                let mut tampered = body.clone();
                tampered[position.index(body.len())] ^= flip;
                prop_assert_eq!(
                    verify_signature(&header, &tampered, &key, at(signed_at), DEFAULT_TOLERANCE),
                    Err(SignatureError::Mismatch)
                );
            }
            // Changing any single byte of the signature must break it too.
            let mut forged = header.clone().into_bytes();
            let hex_start = header.find("v1=").unwrap() + 3;
            let index = hex_start + position.index(header.len() - hex_start);
            forged[index] = if forged[index] == b'0' { b'1' } else { b'0' };
            let forged = String::from_utf8(forged).unwrap();
            prop_assert!(verify_signature(&forged, &body, &key, at(signed_at), DEFAULT_TOLERANCE).is_err());
        }
    }
}
