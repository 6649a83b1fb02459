//! Webhook subscriptions as this client presents them (Calendly's `WebhookSubscription`).

use advicly_core::domain::{OrganizationUri, UserUri};
use advicly_core::Secret;
use chrono::{DateTime, Utc};
use std::fmt;

/// Full URI of a webhook subscription (`https://api.calendly.com/webhook_subscriptions/<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebhookSubscriptionUri(String);

impl WebhookSubscriptionUri {
    pub fn new(uri: impl Into<String>) -> Self {
        Self(uri.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment, which the path parameter takes.
    pub fn id(&self) -> &str {
        self.0
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&self.0)
    }
}

impl fmt::Display for WebhookSubscriptionUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// `active`, `disabled` (after 24 h of failed deliveries; must be deleted and recreated), or a
/// state Calendly adds later, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionState {
    Active,
    Disabled,
    Other(String),
}

impl SubscriptionState {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "active" => Self::Active,
            "disabled" => Self::Disabled,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Other(raw) => raw,
        }
    }
}

/// A webhook subscription. The signing key is never part of it (Calendly does not echo it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub uri: WebhookSubscriptionUri,
    pub callback_url: String,
    pub state: SubscriptionState,
    /// Event names verbatim (`invitee.created`, …).
    pub events: Vec<String>,
    /// `user`, `organization`, `group`, verbatim.
    pub scope: String,
    pub organization: Option<OrganizationUri>,
    pub user: Option<UserUri>,
    pub created_at: DateTime<Utc>,
    /// When the current streak of failed deliveries began, if one is running.
    pub retry_started_at: Option<DateTime<Utc>>,
}

/// What to subscribe to. Scope is the user's: Advicly only ever watches the advisor's own events.
#[derive(Clone, Debug)]
pub struct NewWebhookSubscription {
    /// Must be unique across Calendly (409 otherwise): give each account its own relay URL.
    pub callback_url: String,
    pub events: Vec<String>,
    pub organization: OrganizationUri,
    pub user: UserUri,
    /// Per-subscription signing key (personal-access-token subscriptions); OAuth apps use the
    /// app's key instead.
    pub signing_key: Option<Secret>,
}

/// What `delete_webhook_subscription` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// The subscription did not exist any more (404): the goal is reached all the same.
    AlreadyGone,
}
