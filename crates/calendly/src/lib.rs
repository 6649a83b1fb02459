//! Calendly API v2 client: wire types, pagination, rate-limit pacing, retries.
//!
//! [`CalendlyClient`] talks to the base URL it is given (Calendly's or the fake's), authenticates
//! with tokens from a [`TokenProvider`], paces itself from the `X-RateLimit-*` headers, retries
//! 429/5xx/network failures within a bounded [`RetryPolicy`], and maps Calendly's JSON into the
//! domain types of `advicly_core::domain`. [`webhook`] verifies and reads webhook deliveries.

mod client;
mod config;
mod error;
mod pacer;
mod stats;
mod subscriptions;
mod token;
mod types;
pub mod webhook;
mod wire;

pub use client::CalendlyClient;
pub use config::{ClientConfig, PacingPolicy, RetryPolicy};
pub use error::{Error, NetworkFailure, TokenError};
pub use pacer::PacingStatus;
pub use stats::{CallStats, Endpoint};
pub use subscriptions::{
    DeleteOutcome, NewWebhookSubscription, SubscriptionState, WebhookSubscription,
    WebhookSubscriptionUri,
};
pub use token::{StaticToken, TokenProvider};
pub use types::{EventPage, EventQuery, EventStatusFilter, InviteePage, SkippedItem, SortOrder};
