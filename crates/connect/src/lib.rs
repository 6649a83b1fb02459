//! Connecting Calendly: OAuth PKCE, the OS keychain, token refresh, connect and disconnect.
//!
//! - [`Connector`] is the API the engine calls: [`Connector::begin`] (authorize URL, or "already
//!   connected"), [`Connector::complete_callback`] (the deep link / `advicly handle-url`),
//!   [`Connector::connect_with_token`], [`Connector::reconnect_without_browser`] and
//!   [`Connector::disconnect`].
//! - [`TokenManager`] implements `advicly_calendly::TokenProvider`: single-flight refresh across
//!   tasks and processes, proactive refresh, `needs_reconnect` only on Calendly's verdict, and a
//!   circuit breaker that rides out outages of the token endpoint ([`TokenEndpointOutage`]).
//! - [`keychain`] is the only module that touches the OS keychain.
//!
//! Tokens are [`advicly_core::Secret`]s and never reach SQLite, logs, the relay or the UI.

mod accounts;
mod callback;
mod config;
mod connector;
mod error;
pub mod keychain;
mod oauth;
mod pending;
pub mod relay;
mod tokens;
mod webhooks;

pub use callback::{parse_callback_url, CallbackParameters};
pub use config::{
    Clock, ConnectConfig, RedirectMode, RefreshPolicy, DATABASE_FILE_NAME, DEEP_LINK_CALLBACK,
    DEFAULT_SCOPES, WEBHOOK_EVENTS,
};
pub use connector::RealtimeCredentials;
pub use connector::{
    BeginOutcome, BrowserPolicy, ConnectedAccount, ConnectionKind, ConnectionStatus, Connector,
    DisconnectReport, LocalData, WebhookStatus,
};
pub use error::ConnectError;
pub use keychain::{AccountKey, Keychain, KeychainItem, TokenSet};
pub use pending::PENDING_FILE_NAME;
pub use relay::{RelayClient, StreamRefusal};
pub use tokens::{
    sign_in_outage_message, token_endpoint_outage, TokenEndpointOutage, TokenManager,
    OUTAGE_SETTING, PERSONAL_TOKEN_REJECTED,
};
pub use webhooks::{ingress_prefix, is_ours, EnsuredSubscription, PLAN_HAS_NO_WEBHOOKS};
