//! Calendly API v2 client: wire types, pagination, rate-limit pacing, retries.
//!
//! [`CalendlyClient`] talks to the base URL it is given (Calendly's or the fake's), authenticates
//! with tokens from a [`TokenProvider`], paces itself from the `X-RateLimit-*` headers, retries
//! 429/5xx/network failures within a bounded [`RetryPolicy`], and maps Calendly's JSON into the
//! domain types of `advicly_core::domain`. [`webhook`] verifies and reads webhook deliveries.
//!
//! ```no_run
//! # async fn demo(token: advicly_core::Secret) -> Result<(), advicly_calendly::Error> {
//! use std::sync::Arc;
//! use advicly_calendly::{CalendlyClient, ClientConfig, EventQuery, SortOrder, StaticToken};
//!
//! let config = ClientConfig::new("https://api.calendly.com".parse().unwrap());
//! let client = CalendlyClient::new(config, Arc::new(StaticToken::new(token)))?;
//! let user = client.current_user().await?;
//! let query = EventQuery {
//!     user: user.uri.clone(),
//!     organization: None,
//!     status: None,
//!     min_start_time: chrono::Utc::now() - chrono::Duration::days(90),
//!     max_start_time: chrono::Utc::now() + chrono::Duration::days(180),
//!     sort: SortOrder::Ascending,
//!     invitee_email: None,
//! };
//! let mut page_token = None;
//! loop {
//!     let page = client.list_scheduled_events_page(&query, page_token.as_deref()).await?;
//!     for event in &page.events {
//!         let invitees = client.list_invitees(&event.uri).await?;
//!         println!("{} with {} invitee(s)", event.uri, invitees.len());
//!     }
//!     match page.next_page_token {
//!         Some(next) => page_token = Some(next),
//!         None => break,
//!     }
//! }
//! println!("{:?}", client.stats());
//! # Ok(()) }
//! ```

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
pub use types::{
    EventPage, EventQuery, EventStatusFilter, EventTypeListing, InviteePage, SkippedItem, SortOrder,
};
