//! The relay protocol's wire types and constants, shared by the relay server and the desktop app.
//!
//! Everything here is plain data with serde: no I/O, no runtime. The protocol itself is written
//! down in `docs/relay-protocol.md`; the names of fields, events and paths are interfaces.
//!
//! ```
//! use advicly_relay_protocol::{Delivery, DeliveryBody};
//!
//! let data = r#"{"id":7,"received_at":"2026-01-02T03:04:05.678Z","signature":"t=1,v1=ab","body":"{}"}"#;
//! let delivery: Delivery = serde_json::from_str(data).unwrap();
//! assert_eq!(delivery.id, 7);
//! assert_eq!(delivery.body.to_bytes().unwrap(), b"{}");
//! assert_eq!(delivery.relay_verified, None);
//! ```

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The SSE event name of a stored delivery.
pub const EVENT_DELIVERY: &str = "delivery";
/// The SSE event name that reports deliveries the relay no longer holds (caps or retention).
pub const EVENT_GAP: &str = "gap";

/// The header Calendly signs deliveries with; the relay stores it verbatim.
pub const SIGNATURE_HEADER: &str = "Calendly-Webhook-Signature";
/// The SSE resume header a reconnecting client sends with the last `id:` it received.
pub const LAST_EVENT_ID_HEADER: &str = "Last-Event-ID";
/// The query parameter that does the same as [`LAST_EVENT_ID_HEADER`] (the header wins).
pub const AFTER_QUERY_PARAMETER: &str = "after";

/// The largest ingress body the relay accepts; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The relay sends an SSE comment on every stream this often, so a client that hears nothing
/// for noticeably longer can treat the stream as dead.
pub const KEEP_ALIVE_INTERVAL_SECONDS: u64 = 15;

/// `POST` here creates a channel.
pub const CHANNELS_PATH: &str = "/v1/channels";

/// The path of one channel (`DELETE` removes it).
pub fn channel_path(channel_id: &str) -> String {
    format!("/v1/channels/{channel_id}")
}

/// The path of a channel's Server-Sent Events stream.
pub fn events_path(channel_id: &str) -> String {
    format!("/v1/channels/{channel_id}/events")
}

/// The path a subscriber acknowledges deliveries at.
pub fn ack_path(channel_id: &str) -> String {
    format!("/v1/channels/{channel_id}/ack")
}

/// The path Calendly posts deliveries to (the `ingress_url` is the public base plus this).
pub fn ingress_path(channel_id: &str) -> String {
    format!("/hooks/{channel_id}")
}

/// The answer to `POST /v1/channels` (status 201).
///
/// The token is shown this once; the relay keeps only its hash. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCreated {
    pub channel_id: String,
    /// The URL to give Calendly as the webhook subscription's callback URL.
    pub ingress_url: String,
    /// `Authorization: Bearer <subscriber_token>` for the stream, acknowledgements and deletion.
    pub subscriber_token: String,
}

impl fmt::Debug for ChannelCreated {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ChannelCreated")
            .field("channel_id", &self.channel_id)
            .field("ingress_url", &self.ingress_url)
            .field("subscriber_token", &"<redacted>")
            .finish()
    }
}

/// The `data` of an `event: delivery`: one webhook delivery exactly as the relay received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Strictly increasing per channel and never reused; also the SSE `id:`.
    pub id: u64,
    /// When the relay received the delivery, to the millisecond.
    pub received_at: DateTime<Utc>,
    /// The `Calendly-Webhook-Signature` header verbatim, or `null` when the POST had none.
    pub signature: Option<String>,
    /// The raw body: `body` when it is UTF-8, `body_base64` otherwise.
    #[serde(flatten)]
    pub body: DeliveryBody,
    /// Present only when the relay verifies signatures with the app's signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_verified: Option<bool>,
}

/// The raw bytes of a delivery, in the form JSON can carry without changing a byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryBody {
    /// The body was valid UTF-8 and is carried as a JSON string, byte for byte.
    #[serde(rename = "body")]
    Text(String),
    /// The body was not UTF-8; standard base64 with padding.
    #[serde(rename = "body_base64")]
    Base64(String),
}

impl DeliveryBody {
    /// The form the relay sends for `raw` bytes.
    pub fn from_bytes(raw: &[u8]) -> Self {
        match std::str::from_utf8(raw) {
            Ok(text) => Self::Text(text.to_owned()),
            Err(_) => Self::Base64(base64::engine::general_purpose::STANDARD.encode(raw)),
        }
    }

    /// The raw bytes as received at ingress (what a signature is computed over).
    pub fn to_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self {
            Self::Text(text) => Ok(text.as_bytes().to_vec()),
            Self::Base64(encoded) => base64::engine::general_purpose::STANDARD.decode(encoded),
        }
    }
}

/// The `data` of an `event: gap`: deliveries with `after < id < before` are gone (dropped by a
/// cap or by retention before they were acknowledged), so the app must resync from Calendly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub after: u64,
    pub before: u64,
}

/// The body of `POST /v1/channels/{channel_id}/ack`: every delivery with `id <= up_to` has been
/// applied and may be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    pub up_to: u64,
}

/// The JSON body of every 4xx/5xx answer of the `/v1` API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `unauthorized` or `rate_limited`.
    pub error: String,
    /// A sentence for a person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_utf8_body_travels_as_a_json_string_and_the_flag_is_absent_by_default() {
        let delivery = Delivery {
            id: 3,
            received_at: "2026-01-02T03:04:05.678Z".parse().unwrap(),
            signature: None,
            body: DeliveryBody::from_bytes("{\"a\":\"é\"}".as_bytes()),
            relay_verified: None,
        };
        let json: serde_json::Value = serde_json::to_value(&delivery).unwrap();
        assert_eq!(
            json["body"], "{\"a\":\"é\"}",
            "the body is a plain JSON string"
        );
        assert!(
            json.get("body_base64").is_none(),
            "only one body form is sent"
        );
        assert!(
            json.get("relay_verified").is_none(),
            "absent unless the relay verifies"
        );
        assert!(json["signature"].is_null(), "a missing header is null");
    }

    #[test]
    fn a_binary_body_travels_as_base64() {
        let body = DeliveryBody::from_bytes(&[0xff, 0x00, 0xfe]);
        let json = serde_json::to_value(Delivery {
            id: 1,
            received_at: Utc::now(),
            signature: Some("t=1,v1=00".into()),
            body,
            relay_verified: Some(false),
        })
        .unwrap();
        assert_eq!(json["body_base64"], "/wD+");
        assert_eq!(json["relay_verified"], false);
    }

    #[test]
    fn the_token_never_appears_in_debug_output() {
        let created = ChannelCreated {
            channel_id: "c".into(),
            ingress_url: "https://relay.example/hooks/c".into(),
            subscriber_token: "super-secret-token".into(),
        };
        assert!(!format!("{created:?}").contains("super-secret"));
    }

    proptest! {
        #[test]
        fn any_body_survives_the_json_round_trip_byte_for_byte(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let delivery = Delivery {
                id: 9,
                received_at: Utc::now(),
                signature: None,
                body: DeliveryBody::from_bytes(&raw),
                relay_verified: None,
            };
            let text = serde_json::to_string(&delivery).unwrap();
            let back: Delivery = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.body.to_bytes().unwrap(), raw);
        }
    }
}
