//! The relay protocol's event data as the listener reads it (`docs/relay-protocol.md`).

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `event: delivery` data: the raw body as a JSON string (`body_base64` when it is not UTF-8).
#[derive(Debug, Deserialize)]
pub(crate) struct DeliveryData {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Present only when the relay holds Calendly's app key and checked the signature.
    #[serde(default)]
    pub relay_verified: Option<bool>,
}

/// `event: gap` data: deliveries strictly between `after` and `before` were dropped.
#[derive(Debug, Deserialize)]
pub(crate) struct GapData {
    pub after: i64,
    pub before: i64,
}
