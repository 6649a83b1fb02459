//! JSON bodies of the `/_control` simulation API, shared by the server handlers and [`crate::ControlClient`].
//! These are the fake's own types; they are not Calendly wire types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user known to the fake (the seeded default user or one added through the control API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_uri: String,
    pub user_uuid: String,
    pub organization_uri: String,
    pub name: String,
    pub email: String,
    pub timezone: String,
}

/// Adds a user; without `organization_uri` the user gets a new organization of their own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub organization_uri: Option<String>,
}

/// Where a booked meeting takes place. `Raw` is sent to clients verbatim (for unknown location types).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LocationSpec {
    Zoom,
    GoogleConference,
    MicrosoftTeamsConference,
    Physical {
        location: String,
    },
    OutboundCall {
        phone: Option<String>,
    },
    InboundCall {
        phone: String,
    },
    Custom {
        location: Option<String>,
    },
    /// The event type has no location: the event carries `"location": null`.
    NoLocation,
    /// Any JSON object, sent as the event's `location` unchanged.
    Raw {
        value: serde_json::Value,
    },
}

/// One question and its answer on a booking form; `position` is the list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAnswer {
    pub question: String,
    pub answer: String,
}

/// The person booking (an invitee).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InviteeSpec {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub questions_and_answers: Vec<QuestionAnswer>,
    #[serde(default)]
    pub text_reminder_number: Option<String>,
}

/// Books a meeting: one scheduled event with one or more invitees, each causing `invitee.created`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookingRequest {
    /// Host user URI; the default user when absent.
    #[serde(default)]
    pub host_user_uri: Option<String>,
    /// Event type URI; the host's first event type when absent.
    #[serde(default)]
    pub event_type_uri: Option<String>,
    /// Event name; the event type's name when absent.
    #[serde(default)]
    pub event_name: Option<String>,
    pub start_time: DateTime<Utc>,
    /// Duration; the event type's duration when absent.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    pub invitees: Vec<InviteeSpec>,
    /// Location; a Zoom meeting when absent.
    #[serde(default)]
    pub location: Option<LocationSpec>,
    /// Invitee limit (`invitees_counter.limit`); 1 for one-on-one, more for group events.
    #[serde(default)]
    pub invitee_limit: Option<u32>,
}

/// Adds an event type to a host (the default user when `host_user_uri` is absent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewEventType {
    #[serde(default)]
    pub host_user_uri: Option<String>,
    pub name: String,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// `#rrggbb`; the fake picks one when absent.
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub group: bool,
}

/// Changes an event type; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventTypeUpdate {
    pub event_type_uri: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// An event type as `/_control` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeInfo {
    pub event_type_uri: String,
    pub name: String,
    pub duration_minutes: u32,
    pub color: String,
    pub active: bool,
}

/// What a booking created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingResult {
    pub event_uri: String,
    pub invitee_uris: Vec<String>,
}

/// Adds an invitee to an existing (group) event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddInviteeRequest {
    pub event_uri: String,
    pub invitee: InviteeSpec,
}

/// Who canceled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Canceler {
    Host,
    Invitee,
}

/// Cancels a whole event (every active invitee) or, with `invitee_uri`, one invitee.
/// Cancelling the last active invitee cancels the event too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CancelRequest {
    #[serde(default)]
    pub event_uri: Option<String>,
    #[serde(default)]
    pub invitee_uri: Option<String>,
    pub canceled_by: Canceler,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Which of the two reschedule deliveries is sent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOrder {
    #[default]
    CanceledFirst,
    CreatedFirst,
}

/// Reschedules one invitee to a new start time (a new event and a new invitee).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RescheduleRequest {
    pub invitee_uri: String,
    pub new_start_time: DateTime<Utc>,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    #[serde(default)]
    pub order: DeliveryOrder,
}

/// What a reschedule created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescheduleResult {
    pub old_event_uri: String,
    pub old_invitee_uri: String,
    pub new_event_uri: String,
    pub new_invitee_uri: String,
}

/// Marks or unmarks an invitee as a no-show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoShowRequest {
    pub invitee_uri: String,
}

/// The no-show resource created by marking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowResult {
    pub no_show_uri: String,
}

/// Changes an event so its `updated_at` moves; every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateEventRequest {
    pub event_uri: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub location: Option<LocationSpec>,
    #[serde(default)]
    pub meeting_notes_plain: Option<String>,
}

/// Expires or revokes tokens of one user (the default user when absent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenActionRequest {
    #[serde(default)]
    pub user_uri: Option<String>,
    /// For `revoke`: also revoke refresh tokens (default true). For `expire`: ignored.
    #[serde(default)]
    pub include_refresh_tokens: Option<bool>,
}

/// How many tokens a token action touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenActionResult {
    pub tokens_affected: usize,
}

/// Mints a personal access token. `scopes: None` means a legacy full-access token (`scope: "default"`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MintTokenRequest {
    #[serde(default)]
    pub user_uri: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// A minted personal access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintedToken {
    pub token: String,
    pub user_uri: String,
    pub organization_uri: String,
}

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (429, 500, 503, ...) and Calendly's error body.
    Status { status: u16 },
    /// Wait this long, then answer normally.
    Latency { millis: u64 },
    /// Close the connection without answering.
    DropConnection,
    /// Answer 403 `Permission Denied` with this message, e.g. Calendly's plan gating of
    /// webhooks: `Please upgrade to a paid Calendly account.`
    Forbidden { message: String },
    /// Expire the request's access token just before it is checked (a token running out mid-sync).
    ExpireAccessToken,
    /// `GET /scheduled_events` only: leave the page's first event out, as if the ordering shifted
    /// between two page requests.
    OmitFirstListed,
    /// `GET /scheduled_events` only: name the request's own page token as the next one (a server
    /// that repeats a page token).
    RepeatPageToken,
}

/// Injects a fault for the next `count` requests whose path starts with `path_prefix`
/// (and whose method matches, when given), on either listener. A `path_prefix` ending in `$`
/// matches that exact path only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRequest {
    pub path_prefix: String,
    #[serde(default)]
    pub method: Option<String>,
    pub fault: FaultKind,
    pub count: u32,
}

/// A fault that lets `skip` matching requests through before it starts (so a test can hit, say,
/// the second page of a listing and nothing before it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeferredFaultRequest {
    #[serde(flatten)]
    pub fault: FaultRequest,
    pub skip: u32,
}

/// Makes an event vanish from Calendly: it is no longer listed, and reading it is a 404.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VanishRequest {
    pub event_uri: String,
}

/// Makes the next `count` webhook delivery attempts fail without reaching the receiver.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DeliveryFaultRequest {
    pub count: u32,
}

/// Seeds `count` events for a user (the default user when absent) across a time range.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedRequest {
    #[serde(default)]
    pub user_uri: Option<String>,
    pub count: usize,
    pub seed: u64,
    pub range_start: DateTime<Utc>,
    pub range_end: DateTime<Utc>,
}

/// What seeding created, in start-time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedReport {
    pub event_uris: Vec<String>,
}

/// One webhook delivery attempt, as the fake recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Increases by one per attempt across the whole fake.
    pub sequence: u64,
    /// Identifies the message; all attempts of one message share it.
    pub message_id: u64,
    pub subscription_uri: String,
    pub callback_url: String,
    pub event: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed without a status (timeout, refused, injected fault).
    pub error: Option<String>,
    pub succeeded: bool,
    /// The exact body sent.
    pub body: String,
    /// The `Calendly-Webhook-Signature` header sent, if the subscription has a key.
    pub signature: Option<String>,
}

/// A webhook subscription as the fake holds it, including disabled ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    pub uri: String,
    pub callback_url: String,
    /// `active` or `disabled`.
    pub state: String,
    pub scope: String,
    pub events: Vec<String>,
    pub organization: String,
    pub user: Option<String>,
    pub creator: Option<String>,
    pub retry_started_at: Option<DateTime<Utc>>,
    pub has_signing_key: bool,
    /// Messages accepted for this subscription but not yet delivered or given up.
    pub pending_messages: usize,
}

/// A subscription's effective signing key (`None`: deliveries are unsigned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyInfo {
    pub signing_key: Option<String>,
}

/// The fake's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockInfo {
    pub now: DateTime<Utc>,
    pub offset_seconds: i64,
}

/// Shifts the fake's clock by this many seconds (negative moves it back).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ShiftClockRequest {
    pub seconds: i64,
}

/// How the consent page behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    /// Show the consent page and wait for Approve or Deny.
    Ask,
    /// Approve at once (302 with a code).
    AutoApprove,
    /// Deny at once (302 with `error=access_denied`).
    AutoDeny,
}

/// Sets the consent mode.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ConsentModeRequest {
    pub mode: ConsentMode,
}

/// Chooses which user is "logged in" at the authorize page (who approves).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizingUserRequest {
    pub user_uri: String,
}

/// Registers an extra redirect URI on the app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedirectUriRequest {
    pub redirect_uri: String,
}

/// Changes the API rate limit per user per minute.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RateLimitRequest {
    pub per_minute: u32,
}

/// Request counters, for tests asserting how many calls reached the fake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every `POST /oauth/token`, answered or not.
    pub token_requests: u64,
    /// `POST /oauth/token` by `grant_type` (`authorization_code`, `refresh_token`, or what was sent).
    pub token_requests_by_grant: BTreeMap<String, u64>,
    /// API calls keyed by method and route template, e.g. `GET /scheduled_events/{uuid}`.
    pub api_calls: BTreeMap<String, u64>,
}

/// A cancellation as the fake holds it (the fake's own shape, not Calendly's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationTruth {
    pub canceled_by: String,
    pub reason: Option<String>,
    pub canceler: Canceler,
    pub created_at: DateTime<Utc>,
}

/// One invitee as the fake holds it: the ground truth model-based tests compare against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteeTruth {
    pub uri: String,
    pub email: String,
    pub name: String,
    pub timezone: Option<String>,
    pub questions_and_answers: Vec<QuestionAnswer>,
    pub canceled: bool,
    pub cancellation: Option<CancellationTruth>,
    pub no_show: bool,
    pub rescheduled: bool,
    pub old_invitee_uri: Option<String>,
    pub new_invitee_uri: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One scheduled event as the fake holds it, with every invitee (canceled ones included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTruth {
    pub uri: String,
    pub host_user_uri: String,
    pub event_type_uri: String,
    pub name: String,
    pub canceled: bool,
    pub cancellation: Option<CancellationTruth>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The `location` object exactly as the API renders it now.
    pub location: serde_json::Value,
    pub invitee_limit: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest booking first.
    pub invitees: Vec<InviteeTruth>,
}
