//! The fake's in-memory world: users, event types, scheduled events, invitees, tokens,
//! webhook subscriptions and the delivery outbox. Everything here runs under one mutex.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::control_model::{
    Canceler, ConsentMode, DeliveryRecord, FaultKind, InviteeSpec, LocationSpec, Stats,
};

/// Scopes Calendly documents; anything else in an authorize request is `invalid_scope`.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "users:read",
    "scheduled_events:read",
    "scheduled_events:write",
    "webhooks:read",
    "webhooks:write",
    "organizations:read",
    "organizations:write",
    "event_types:read",
    "event_types:write",
    "availability:read",
    "availability:write",
    "locations:read",
    "routing_forms:read",
    "shares:write",
    "scheduling_links:write",
    "groups:read",
    "activity_log:read",
    "data_compliance:write",
    "outgoing_communications:read",
    "contacts:read",
    "contacts:write",
    "meeting_recaps:read",
];

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub uuid: String,
    pub name: String,
    pub slug: String,
    pub email: String,
    pub timezone: String,
    pub organization_uuid: String,
    /// `owner` of the organization it created, or `user` when added to an existing one.
    pub is_owner: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct EventType {
    pub uuid: String,
    pub owner_uuid: String,
    pub name: String,
    pub slug: String,
    pub duration_minutes: u32,
    pub kind_group: bool,
    pub color: String,
    /// Calendly's `active`: false once the host switched the type off.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct CancellationRecord {
    pub canceled_by: String,
    pub reason: Option<String>,
    pub canceler: Canceler,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct NoShowRecord {
    pub uuid: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Invitee {
    pub uuid: String,
    pub spec: InviteeSpec,
    pub canceled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rescheduled: bool,
    pub old_invitee_uri: Option<String>,
    pub new_invitee_uri: Option<String>,
    pub cancellation: Option<CancellationRecord>,
    pub no_show: Option<NoShowRecord>,
}

#[derive(Debug, Clone)]
pub(crate) struct ScheduledEvent {
    pub uuid: String,
    pub host_uuid: String,
    pub event_type_uuid: String,
    pub name: String,
    pub canceled: bool,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub location: LocationSpec,
    /// Conference details are "processing" right after booking and "pushed" later.
    pub conference_pushed: bool,
    pub invitee_limit: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancellation: Option<CancellationRecord>,
    pub meeting_notes_plain: Option<String>,
    pub calendar_external_id: String,
    pub invitees: Vec<Invitee>,
}

impl ScheduledEvent {
    pub(crate) fn active_invitee_count(&self) -> usize {
        self.invitees
            .iter()
            .filter(|invitee| !invitee.canceled)
            .count()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum TokenKind {
    OAuth { grant_id: u64 },
    Personal,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub user_uuid: String,
    /// `None`: a legacy full-access token (`scope: "default"`).
    pub scopes: Option<Vec<String>>,
    pub issued_at: DateTime<Utc>,
    /// `None`: never expires (personal access tokens).
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub kind: TokenKind,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub user_uuid: String,
    pub scopes: Option<Vec<String>>,
    pub grant_id: u64,
    pub issued_at: DateTime<Utc>,
    pub used: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: Option<Vec<String>>,
    pub user_uuid: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// An authorize request waiting for Approve or Deny on the consent page.
#[derive(Debug, Clone)]
pub(crate) struct PendingConsent {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Option<Vec<String>>,
    pub user_uuid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionScope {
    Organization,
    User,
    Group,
}

impl SubscriptionScope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SubscriptionScope::Organization => "organization",
            SubscriptionScope::User => "user",
            SubscriptionScope::Group => "group",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub uuid: String,
    pub callback_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retry_started_at: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub events: Vec<String>,
    pub scope: SubscriptionScope,
    pub organization_uuid: String,
    pub user_uuid: Option<String>,
    pub creator_uuid: String,
    /// The key deliveries are signed with; `None` means unsigned deliveries.
    pub signing_key: Option<String>,
}

/// A webhook message waiting to be (re)delivered to one subscription.
#[derive(Debug, Clone)]
pub(crate) struct OutboxMessage {
    pub message_id: u64,
    pub subscription_uuid: String,
    pub event: String,
    pub body: String,
    pub attempts: u32,
    pub next_attempt_at: Instant,
    pub in_flight: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub path_prefix: String,
    pub method: Option<String>,
    pub fault: FaultKind,
    pub remaining: u32,
    /// Matching requests still to let through before the fault starts.
    pub skip: u32,
}

impl ActiveFault {
    /// Faults the list handler applies to its answer rather than the middleware to the request.
    pub(crate) fn shapes_listing(&self) -> bool {
        matches!(
            self.fault,
            FaultKind::OmitFirstListed | FaultKind::RepeatPageToken
        )
    }

    /// A prefix ending in `$` matches that exact path only (`/scheduled_events$`: the listing,
    /// not one event or its invitees).
    fn matches(&self, path: &str, method: &str) -> bool {
        let path_matches = match self.path_prefix.strip_suffix('$') {
            Some(exact) => path == exact,
            None => path.starts_with(&self.path_prefix),
        };
        self.remaining > 0
            && path_matches
            && self
                .method
                .as_deref()
                .is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
    }
}

/// Takes the fault (if any) that applies to this request: the first matching fault of the wanted
/// family counts the request, either as one it lets through (`skip`) or as one it hits. An
/// `ExpireAccessToken` fault only counts requests whose token is still valid (`token_valid`), so
/// it never hits the retry of a request that just had its expired token refreshed.
pub(crate) fn take_fault(
    faults: &mut Vec<ActiveFault>,
    path: &str,
    method: &str,
    listing: bool,
    token_valid: bool,
) -> Option<FaultKind> {
    let fault = faults.iter_mut().find(|fault| {
        fault.shapes_listing() == listing
            && fault.matches(path, method)
            && (token_valid || fault.fault != FaultKind::ExpireAccessToken)
    })?;
    let hit = if fault.skip > 0 {
        fault.skip -= 1;
        None
    } else {
        fault.remaining -= 1;
        Some(fault.fault.clone())
    };
    faults.retain(|fault| fault.remaining > 0);
    hit
}

/// A fixed one-minute counting window per key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateWindow {
    pub started_at: DateTime<Utc>,
    pub count: u32,
}

/// Outcome of counting one request against a window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateDecision {
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: i64,
    pub allowed: bool,
}

pub(crate) fn count_in_window(
    windows: &mut HashMap<String, RateWindow>,
    key: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> RateDecision {
    let window = windows.entry(key.to_string()).or_insert(RateWindow {
        started_at: now,
        count: 0,
    });
    let elapsed = (now - window.started_at).num_milliseconds();
    // A new window starts after a minute, or when the clock was shifted backwards.
    if !(0..60_000).contains(&elapsed) {
        *window = RateWindow {
            started_at: now,
            count: 0,
        };
    }
    let reset_seconds = (60_000 - (now - window.started_at).num_milliseconds()).max(0) / 1000;
    let reset_seconds = reset_seconds.max(1);
    if window.count >= limit {
        return RateDecision {
            limit,
            remaining: 0,
            reset_seconds,
            allowed: false,
        };
    }
    window.count += 1;
    RateDecision {
        limit,
        remaining: limit - window.count,
        reset_seconds,
        allowed: true,
    }
}

/// The whole fake world.
#[derive(Debug)]
pub(crate) struct Model {
    pub api_base: String,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub consent_mode: ConsentMode,
    pub authorizing_user_uuid: String,
    pub default_user_uuid: String,
    pub rate_limit_per_minute: u32,
    pub token_requests_per_minute: u32,
    pub users: Vec<User>,
    pub event_types: Vec<EventType>,
    pub events: BTreeMap<String, ScheduledEvent>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthorizationCode>,
    pub pending_consents: HashMap<String, PendingConsent>,
    pub next_grant_id: u64,
    pub subscriptions: Vec<Subscription>,
    pub outbox: Vec<OutboxMessage>,
    pub next_message_id: u64,
    pub deliveries: Vec<DeliveryRecord>,
    pub next_delivery_sequence: u64,
    pub faults: Vec<ActiveFault>,
    pub failing_deliveries: u32,
    pub api_windows: HashMap<String, RateWindow>,
    pub token_windows: HashMap<String, RateWindow>,
    pub stats: Stats,
}

impl Model {
    pub(crate) fn user_uri(&self, uuid: &str) -> String {
        format!("{}/users/{uuid}", self.api_base)
    }

    pub(crate) fn organization_uri(&self, uuid: &str) -> String {
        format!("{}/organizations/{uuid}", self.api_base)
    }

    pub(crate) fn event_uri(&self, uuid: &str) -> String {
        format!("{}/scheduled_events/{uuid}", self.api_base)
    }

    pub(crate) fn invitee_uri(&self, event_uuid: &str, invitee_uuid: &str) -> String {
        format!(
            "{}/scheduled_events/{event_uuid}/invitees/{invitee_uuid}",
            self.api_base
        )
    }

    pub(crate) fn event_type_uri(&self, uuid: &str) -> String {
        format!("{}/event_types/{uuid}", self.api_base)
    }

    pub(crate) fn subscription_uri(&self, uuid: &str) -> String {
        format!("{}/webhook_subscriptions/{uuid}", self.api_base)
    }

    /// The last path segment of `uri` if it is `<api_base>/<collection>/<id>`.
    pub(crate) fn uuid_from_uri(&self, uri: &str, collection: &str) -> Option<String> {
        let prefix = format!("{}/{collection}/", self.api_base);
        let rest = uri.strip_prefix(&prefix)?;
        if rest.is_empty() || rest.contains('/') {
            return None;
        }
        Some(rest.to_string())
    }

    /// `(event_uuid, invitee_uuid)` from an invitee URI.
    pub(crate) fn invitee_ids_from_uri(&self, uri: &str) -> Option<(String, String)> {
        let prefix = format!("{}/scheduled_events/", self.api_base);
        let rest = uri.strip_prefix(&prefix)?;
        let mut parts = rest.split('/');
        let event_uuid = parts.next()?;
        if parts.next()? != "invitees" {
            return None;
        }
        let invitee_uuid = parts.next()?;
        if parts.next().is_some() || event_uuid.is_empty() || invitee_uuid.is_empty() {
            return None;
        }
        Some((event_uuid.to_string(), invitee_uuid.to_string()))
    }

    pub(crate) fn user(&self, uuid: &str) -> Option<&User> {
        self.users.iter().find(|user| user.uuid == uuid)
    }

    pub(crate) fn event_type(&self, uuid: &str) -> Option<&EventType> {
        self.event_types
            .iter()
            .find(|event_type| event_type.uuid == uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::count_in_window;
    use chrono::{Duration, TimeZone, Utc};
    use std::collections::HashMap;

    #[test]
    fn fixed_window_counts_down_refuses_then_resets_after_a_minute() {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .expect("valid time");
        let mut windows = HashMap::new();
        let remaining: Vec<u32> = (0..3)
            .map(|_| count_in_window(&mut windows, "u", 3, start).remaining)
            .collect();
        assert_eq!(remaining, vec![2, 1, 0], "remaining counts down to zero");
        let refused = count_in_window(&mut windows, "u", 3, start + Duration::seconds(10));
        assert!(
            !refused.allowed,
            "the fourth request in the window is refused"
        );
        assert_eq!(
            refused.reset_seconds, 50,
            "reset is the seconds left in the window"
        );
        assert!(
            count_in_window(&mut windows, "other", 3, start).allowed,
            "windows are per key"
        );
        assert!(
            count_in_window(&mut windows, "u", 3, start + Duration::seconds(60)).allowed,
            "a new minute allows again"
        );
        assert!(
            count_in_window(&mut windows, "u", 3, start).allowed,
            "a clock moved backwards starts a fresh window"
        );
    }
}
