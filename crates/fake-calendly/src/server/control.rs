//! The `/_control` simulation API: not part of Calendly. Lets tests and the demo book, cancel,
//! reschedule, seed, inject faults, move the clock and read what the fake did.

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use super::http::{ApiError, CalendlyJson, QueryParams};
use super::model::{ActiveFault, EventType, TokenKind, User};
use super::operations::new_uuid;
use super::{seed, user_info, AppState};
use crate::control_model::*;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route("/users/default", get(default_user))
        .route("/event_types", post(add_event_type))
        .route("/event_types/update", post(update_event_type))
        .route("/bookings", post(book))
        .route("/invitees", post(add_invitee))
        .route("/cancel", post(cancel))
        .route("/reschedule", post(reschedule))
        .route("/no_shows/mark", post(mark_no_show))
        .route("/no_shows/unmark", post(unmark_no_show))
        .route("/events/update", post(update_event))
        .route("/events/vanish", post(vanish_event))
        .route("/events", get(event_truths))
        .route("/tokens/expire", post(expire_tokens))
        .route("/tokens/revoke", post(revoke_tokens))
        .route("/tokens/personal", post(mint_token))
        .route("/faults", post(inject_fault))
        .route("/faults/deliveries", post(fail_deliveries))
        .route("/faults/clear", post(clear_faults))
        .route("/seed", post(seed_events))
        .route("/deliveries", get(deliveries))
        .route("/subscriptions", get(subscriptions))
        .route("/subscriptions/signing_key", get(signing_key))
        .route("/clock", get(clock))
        .route("/clock/shift", post(shift_clock))
        .route("/consent", post(set_consent))
        .route("/authorizing_user", post(set_authorizing_user))
        .route("/redirect_uris", post(add_redirect_uri))
        .route("/rate_limit", post(set_rate_limit))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
}

type ControlResult<T> = Result<Json<T>, ApiError>;

async fn list_users(State(shared): State<AppState>) -> ControlResult<Vec<UserInfo>> {
    let model = shared.model();
    Ok(Json(
        model
            .users
            .iter()
            .map(|user| user_info(&model, &user.uuid))
            .collect(),
    ))
}

async fn default_user(State(shared): State<AppState>) -> ControlResult<UserInfo> {
    let model = shared.model();
    Ok(Json(user_info(&model, &model.default_user_uuid)))
}

async fn add_user(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<NewUser>,
) -> ControlResult<UserInfo> {
    if request.name.trim().is_empty() || !request.email.contains('@') {
        return Err(ApiError::invalid_argument(
            "email",
            "a user needs a name and an e-mail address",
        ));
    }
    let now = shared.clock.now();
    let mut model = shared.model();
    if model
        .users
        .iter()
        .any(|user| user.email.eq_ignore_ascii_case(&request.email))
    {
        return Err(ApiError::invalid_argument(
            "email",
            "a user with this e-mail already exists",
        ));
    }
    let (organization_uuid, is_owner) = match &request.organization_uri {
        Some(uri) => {
            let uuid = model
                .uuid_from_uri(uri, "organizations")
                .filter(|uuid| {
                    model
                        .users
                        .iter()
                        .any(|user| &user.organization_uuid == uuid)
                })
                .ok_or_else(|| {
                    ApiError::invalid_argument("organization_uri", "no such organization")
                })?;
            (uuid, false)
        }
        None => (new_uuid(), true),
    };
    let uuid = new_uuid();
    let base_slug = seed::slug_for(&request.name);
    let slug = if model.users.iter().any(|user| user.slug == base_slug) {
        format!("{base_slug}-{}", &uuid[..4])
    } else {
        base_slug
    };
    model.users.push(User {
        uuid: uuid.clone(),
        name: request.name.clone(),
        slug,
        email: request.email.clone(),
        timezone: request
            .timezone
            .clone()
            .unwrap_or_else(|| "Europe/London".to_string()),
        organization_uuid,
        is_owner,
        created_at: now,
    });
    let mut rng = StdRng::from_entropy();
    seed::add_event_types(&mut model, &uuid, &mut rng, now);
    Ok(Json(user_info(&model, &uuid)))
}

fn event_type_info(model: &super::model::Model, event_type: &EventType) -> EventTypeInfo {
    EventTypeInfo {
        event_type_uri: model.event_type_uri(&event_type.uuid),
        name: event_type.name.clone(),
        duration_minutes: event_type.duration_minutes,
        color: event_type.color.clone(),
        active: event_type.active,
    }
}

fn checked_color(color: &str) -> Result<String, ApiError> {
    let digits = color.strip_prefix('#').unwrap_or("");
    if digits.len() == 6
        && digits
            .chars()
            .all(|character| character.is_ascii_hexdigit())
    {
        Ok(color.to_ascii_lowercase())
    } else {
        Err(ApiError::invalid_argument("color", "color must be #rrggbb"))
    }
}

async fn add_event_type(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<NewEventType>,
) -> ControlResult<EventTypeInfo> {
    if request.name.trim().is_empty() {
        return Err(ApiError::invalid_argument(
            "name",
            "an event type needs a name",
        ));
    }
    let color = match &request.color {
        Some(color) => checked_color(color)?,
        None => "#0069ff".to_string(),
    };
    let now = shared.clock.now();
    let mut model = shared.model();
    let owner_uuid = match &request.host_user_uri {
        Some(uri) => model
            .uuid_from_uri(uri, "users")
            .filter(|uuid| model.user(uuid).is_some())
            .ok_or_else(|| ApiError::invalid_argument("host_user_uri", "no such user"))?,
        None => model.default_user_uuid.clone(),
    };
    let event_type = EventType {
        uuid: new_uuid(),
        owner_uuid,
        name: request.name.clone(),
        slug: seed::slug_for(&request.name),
        duration_minutes: request.duration_minutes.unwrap_or(30).clamp(1, 24 * 60),
        kind_group: request.group,
        color,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let info = event_type_info(&model, &event_type);
    model.event_types.push(event_type);
    Ok(Json(info))
}

async fn update_event_type(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<EventTypeUpdate>,
) -> ControlResult<EventTypeInfo> {
    let color = request.color.as_deref().map(checked_color).transpose()?;
    let now = shared.clock.now();
    let mut model = shared.model();
    let uuid = model
        .uuid_from_uri(&request.event_type_uri, "event_types")
        .ok_or_else(|| ApiError::invalid_argument("event_type_uri", "no such event type"))?;
    let Some(event_type) = model
        .event_types
        .iter_mut()
        .find(|event_type| event_type.uuid == uuid)
    else {
        return Err(ApiError::invalid_argument(
            "event_type_uri",
            "no such event type",
        ));
    };
    if let Some(name) = request
        .name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
    {
        event_type.name = name.to_string();
    }
    if let Some(color) = color {
        event_type.color = color;
    }
    if let Some(active) = request.active {
        event_type.active = active;
    }
    event_type.updated_at = now;
    let event_type = event_type.clone();
    Ok(Json(event_type_info(&model, &event_type)))
}

async fn book(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<BookingRequest>,
) -> ControlResult<BookingResult> {
    let now = shared.clock.now();
    let result = {
        let mut model = shared.model();
        let invitee_uuids = request.invitees.iter().map(|_| new_uuid()).collect();
        model.book(&request, new_uuid(), invitee_uuids, now, true)?
    };
    shared.delivery_wakeup.notify_one();
    Ok(Json(BookingResult {
        event_uri: result.0,
        invitee_uris: result.1,
    }))
}

async fn add_invitee(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<AddInviteeRequest>,
) -> ControlResult<String> {
    let now = shared.clock.now();
    let uri = {
        let mut model = shared.model();
        let event_uuid = model
            .uuid_from_uri(&request.event_uri, "scheduled_events")
            .ok_or_else(|| {
                ApiError::invalid_argument("event_uri", "must be a scheduled event URI")
            })?;
        model.add_invitee(&event_uuid, request.invitee, now)?
    };
    shared.delivery_wakeup.notify_one();
    Ok(Json(uri))
}

async fn cancel(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<CancelRequest>,
) -> ControlResult<Value> {
    let now = shared.clock.now();
    {
        let mut model = shared.model();
        match (&request.invitee_uri, &request.event_uri) {
            (Some(invitee_uri), _) => {
                let (event_uuid, invitee_uuid) =
                    model.invitee_ids_from_uri(invitee_uri).ok_or_else(|| {
                        ApiError::invalid_argument("invitee_uri", "must be an invitee URI")
                    })?;
                model.cancel_invitee(
                    &event_uuid,
                    &invitee_uuid,
                    request.canceled_by,
                    request.reason.clone(),
                    now,
                    true,
                )?;
            }
            (None, Some(event_uri)) => {
                let event_uuid = model
                    .uuid_from_uri(event_uri, "scheduled_events")
                    .ok_or_else(|| {
                        ApiError::invalid_argument("event_uri", "must be a scheduled event URI")
                    })?;
                model.cancel_event(
                    &event_uuid,
                    request.canceled_by,
                    request.reason.clone(),
                    now,
                    true,
                )?;
            }
            (None, None) => {
                return Err(ApiError::invalid_argument(
                    "event_uri",
                    "event_uri or invitee_uri is required",
                ))
            }
        }
    }
    shared.delivery_wakeup.notify_one();
    Ok(Json(Value::Null))
}

async fn reschedule(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<RescheduleRequest>,
) -> ControlResult<RescheduleResult> {
    let now = shared.clock.now();
    let result = {
        let mut model = shared.model();
        let (event_uuid, invitee_uuid) = model
            .invitee_ids_from_uri(&request.invitee_uri)
            .ok_or_else(|| ApiError::invalid_argument("invitee_uri", "must be an invitee URI"))?;
        model.reschedule(
            &event_uuid,
            &invitee_uuid,
            request.new_start_time,
            request.duration_minutes,
            request.order,
            now,
        )?
    };
    shared.delivery_wakeup.notify_one();
    Ok(Json(result))
}

async fn mark_no_show(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<NoShowRequest>,
) -> ControlResult<NoShowResult> {
    let now = shared.clock.now();
    let uri = {
        let mut model = shared.model();
        let (event_uuid, invitee_uuid) = model
            .invitee_ids_from_uri(&request.invitee_uri)
            .ok_or_else(|| ApiError::invalid_argument("invitee_uri", "must be an invitee URI"))?;
        model.mark_no_show(&event_uuid, &invitee_uuid, now)?
    };
    shared.delivery_wakeup.notify_one();
    Ok(Json(NoShowResult { no_show_uri: uri }))
}

async fn unmark_no_show(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<NoShowRequest>,
) -> ControlResult<Value> {
    let now = shared.clock.now();
    {
        let mut model = shared.model();
        let (event_uuid, invitee_uuid) = model
            .invitee_ids_from_uri(&request.invitee_uri)
            .ok_or_else(|| ApiError::invalid_argument("invitee_uri", "must be an invitee URI"))?;
        model.unmark_no_show(&event_uuid, &invitee_uuid, now)?;
    }
    shared.delivery_wakeup.notify_one();
    Ok(Json(Value::Null))
}

async fn update_event(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<UpdateEventRequest>,
) -> ControlResult<chrono::DateTime<chrono::Utc>> {
    let now = shared.clock.now();
    let mut model = shared.model();
    let event_uuid = model
        .uuid_from_uri(&request.event_uri, "scheduled_events")
        .ok_or_else(|| ApiError::invalid_argument("event_uri", "must be a scheduled event URI"))?;
    let event = model
        .events
        .get_mut(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    if let Some(name) = request.name {
        event.name = name;
    }
    if let Some(location) = request.location {
        event.location = location;
    }
    if let Some(notes) = request.meeting_notes_plain {
        event.meeting_notes_plain = Some(notes);
    }
    // Any update also pushes pending conference details, as Calendly does shortly after booking.
    event.conference_pushed = true;
    // updated_at must move even when two updates land within the same microsecond.
    event.updated_at = now.max(event.updated_at + Duration::microseconds(1));
    Ok(Json(event.updated_at))
}

/// Removes an event from the world, as if Calendly had lost or purged it: no listing shows it and
/// reading it (or its invitees) is a 404. No webhook is sent; Calendly sends none either.
async fn vanish_event(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<VanishRequest>,
) -> ControlResult<Value> {
    let mut model = shared.model();
    let event_uuid = model
        .uuid_from_uri(&request.event_uri, "scheduled_events")
        .ok_or_else(|| ApiError::invalid_argument("event_uri", "must be a scheduled event URI"))?;
    model
        .events
        .remove(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(Value::Null))
}

fn cancellation_truth(record: &super::model::CancellationRecord) -> CancellationTruth {
    CancellationTruth {
        canceled_by: record.canceled_by.clone(),
        reason: record.reason.clone(),
        canceler: record.canceler,
        created_at: record.created_at,
    }
}

/// Every scheduled event of every user, in the fake's own shape: the truth tests compare with.
async fn event_truths(State(shared): State<AppState>) -> ControlResult<Vec<EventTruth>> {
    let model = shared.model();
    let truths = model
        .events
        .values()
        .map(|event| {
            let mut invitees: Vec<InviteeTruth> = event
                .invitees
                .iter()
                .map(|invitee| InviteeTruth {
                    uri: model.invitee_uri(&event.uuid, &invitee.uuid),
                    email: invitee.spec.email.clone(),
                    name: invitee.spec.name.clone(),
                    timezone: invitee.spec.timezone.clone(),
                    questions_and_answers: invitee.spec.questions_and_answers.clone(),
                    canceled: invitee.canceled,
                    cancellation: invitee.cancellation.as_ref().map(cancellation_truth),
                    no_show: invitee.no_show.is_some(),
                    rescheduled: invitee.rescheduled,
                    old_invitee_uri: invitee.old_invitee_uri.clone(),
                    new_invitee_uri: invitee.new_invitee_uri.clone(),
                    created_at: invitee.created_at,
                    updated_at: invitee.updated_at,
                })
                .collect();
            invitees.sort_by(|a, b| (a.created_at, &a.uri).cmp(&(b.created_at, &b.uri)));
            EventTruth {
                uri: model.event_uri(&event.uuid),
                host_user_uri: model.user_uri(&event.host_uuid),
                event_type_uri: model.event_type_uri(&event.event_type_uuid),
                name: event.name.clone(),
                canceled: event.canceled,
                cancellation: event.cancellation.as_ref().map(cancellation_truth),
                start_time: event.start_time,
                end_time: event.end_time,
                location: super::render::location(event),
                invitee_limit: event.invitee_limit,
                created_at: event.created_at,
                updated_at: event.updated_at,
                invitees,
            }
        })
        .collect();
    Ok(Json(truths))
}

fn token_user(shared: &AppState, user_uri: Option<&str>) -> Result<String, ApiError> {
    shared.model().resolve_user_uri(user_uri)
}

async fn expire_tokens(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<TokenActionRequest>,
) -> ControlResult<TokenActionResult> {
    let user_uuid = token_user(&shared, request.user_uri.as_deref())?;
    let now = shared.clock.now();
    let mut model = shared.model();
    let mut affected = 0;
    for token in model
        .access_tokens
        .values_mut()
        .filter(|token| token.user_uuid == user_uuid)
    {
        if token.expires_at.is_none_or(|expires| expires > now) {
            token.expires_at = Some(now - Duration::seconds(1));
            affected += 1;
        }
    }
    Ok(Json(TokenActionResult {
        tokens_affected: affected,
    }))
}

async fn revoke_tokens(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<TokenActionRequest>,
) -> ControlResult<TokenActionResult> {
    let user_uuid = token_user(&shared, request.user_uri.as_deref())?;
    let mut model = shared.model();
    let mut affected = 0;
    for token in model
        .access_tokens
        .values_mut()
        .filter(|token| token.user_uuid == user_uuid && !token.revoked)
    {
        token.revoked = true;
        affected += 1;
    }
    if request.include_refresh_tokens.unwrap_or(true) {
        for token in model
            .refresh_tokens
            .values_mut()
            .filter(|token| token.user_uuid == user_uuid && !token.revoked && !token.used)
        {
            token.revoked = true;
            affected += 1;
        }
    }
    Ok(Json(TokenActionResult {
        tokens_affected: affected,
    }))
}

async fn mint_token(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<MintTokenRequest>,
) -> ControlResult<MintedToken> {
    let user_uuid = token_user(&shared, request.user_uri.as_deref())?;
    if let Some(scopes) = &request.scopes {
        if let Some(unknown) = scopes
            .iter()
            .find(|scope| !super::model::KNOWN_SCOPES.contains(&scope.as_str()))
        {
            return Err(ApiError::invalid_argument(
                "scopes",
                &format!("{unknown} is not a known scope"),
            ));
        }
    }
    let now = shared.clock.now();
    let mut model = shared.model();
    // Personal access tokens look like long opaque JWT-ish strings; the prefix makes them easy to spot in tests.
    let token = format!(
        "fake_pat.{}",
        new_uuid().replace('-', "") + &new_uuid().replace('-', "")
    );
    model.access_tokens.insert(
        token.clone(),
        super::model::AccessToken {
            user_uuid: user_uuid.clone(),
            scopes: request.scopes.clone(),
            issued_at: now,
            expires_at: None,
            revoked: false,
            kind: TokenKind::Personal,
        },
    );
    let info = user_info(&model, &user_uuid);
    Ok(Json(MintedToken {
        token,
        user_uri: info.user_uri,
        organization_uri: info.organization_uri,
    }))
}

/// `POST /_control/faults` takes a [`FaultRequest`], optionally with `skip`.
#[derive(serde::Deserialize)]
struct FaultBody {
    #[serde(flatten)]
    request: FaultRequest,
    #[serde(default)]
    skip: u32,
}

async fn inject_fault(
    State(shared): State<AppState>,
    CalendlyJson(FaultBody { request, skip }): CalendlyJson<FaultBody>,
) -> ControlResult<Value> {
    if let FaultKind::Status { status } = request.fault {
        if !(100..=599).contains(&status) {
            return Err(ApiError::invalid_argument(
                "fault.status",
                "status must be an HTTP status code",
            ));
        }
    }
    if !request.path_prefix.starts_with('/') {
        return Err(ApiError::invalid_argument(
            "path_prefix",
            "path_prefix must start with /",
        ));
    }
    shared.model().faults.push(ActiveFault {
        path_prefix: request.path_prefix,
        method: request.method,
        fault: request.fault,
        remaining: request.count,
        skip,
    });
    Ok(Json(Value::Null))
}

async fn fail_deliveries(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<DeliveryFaultRequest>,
) -> ControlResult<Value> {
    shared.model().failing_deliveries = request.count;
    Ok(Json(Value::Null))
}

async fn clear_faults(State(shared): State<AppState>) -> ControlResult<Value> {
    let mut model = shared.model();
    model.faults.clear();
    model.failing_deliveries = 0;
    Ok(Json(Value::Null))
}

async fn seed_events(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<SeedRequest>,
) -> ControlResult<SeedReport> {
    let now = shared.clock.now();
    let mut model = shared.model();
    let user_uuid = model.resolve_user_uri(request.user_uri.as_deref())?;
    let event_uris = seed::seed_events(
        &mut model,
        &user_uuid,
        request.count,
        request.seed,
        request.range_start,
        request.range_end,
        now,
    )?;
    Ok(Json(SeedReport { event_uris }))
}

async fn deliveries(State(shared): State<AppState>) -> ControlResult<Vec<DeliveryRecord>> {
    Ok(Json(shared.model().deliveries.clone()))
}

async fn subscriptions(State(shared): State<AppState>) -> ControlResult<Vec<SubscriptionInfo>> {
    let model = shared.model();
    let infos = model
        .subscriptions
        .iter()
        .map(|subscription| SubscriptionInfo {
            uri: model.subscription_uri(&subscription.uuid),
            callback_url: subscription.callback_url.clone(),
            state: if subscription.disabled {
                "disabled"
            } else {
                "active"
            }
            .to_string(),
            scope: subscription.scope.as_str().to_string(),
            events: subscription.events.clone(),
            organization: model.organization_uri(&subscription.organization_uuid),
            user: subscription
                .user_uuid
                .as_ref()
                .map(|uuid| model.user_uri(uuid)),
            creator: Some(model.user_uri(&subscription.creator_uuid)),
            retry_started_at: subscription.retry_started_at,
            has_signing_key: subscription.signing_key.is_some(),
            pending_messages: model
                .outbox
                .iter()
                .filter(|message| message.subscription_uuid == subscription.uuid)
                .count(),
        })
        .collect();
    Ok(Json(infos))
}

async fn signing_key(
    State(shared): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ControlResult<SigningKeyInfo> {
    let query = QueryParams::parse(raw.as_deref());
    let model = shared.model();
    let uri = query
        .get("uri")
        .ok_or_else(|| ApiError::invalid_argument("uri", "uri is required"))?;
    let uuid = model
        .uuid_from_uri(uri, "webhook_subscriptions")
        .ok_or_else(|| ApiError::invalid_argument("uri", "must be a webhook subscription URI"))?;
    let subscription = model
        .subscriptions
        .iter()
        .find(|subscription| subscription.uuid == uuid)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(SigningKeyInfo {
        signing_key: subscription.signing_key.clone(),
    }))
}

fn clock_info(shared: &AppState) -> ClockInfo {
    ClockInfo {
        now: shared.clock.now(),
        offset_seconds: shared.clock.offset_seconds(),
    }
}

async fn clock(State(shared): State<AppState>) -> ControlResult<ClockInfo> {
    Ok(Json(clock_info(&shared)))
}

async fn shift_clock(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<ShiftClockRequest>,
) -> ControlResult<ClockInfo> {
    // Bounded to a century either way so timestamps stay representable.
    if request.seconds.unsigned_abs() > 100 * 366 * 24 * 3600 {
        return Err(ApiError::invalid_argument(
            "seconds",
            "shift must be within a century",
        ));
    }
    shared.clock.shift(request.seconds);
    Ok(Json(clock_info(&shared)))
}

async fn set_consent(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<ConsentModeRequest>,
) -> ControlResult<Value> {
    shared.model().consent_mode = request.mode;
    Ok(Json(Value::Null))
}

async fn set_authorizing_user(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<AuthorizingUserRequest>,
) -> ControlResult<Value> {
    let mut model = shared.model();
    let uuid = model.resolve_user_uri(Some(&request.user_uri))?;
    model.authorizing_user_uuid = uuid;
    Ok(Json(Value::Null))
}

async fn add_redirect_uri(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<RedirectUriRequest>,
) -> ControlResult<Value> {
    if url::Url::parse(&request.redirect_uri).is_err() {
        return Err(ApiError::invalid_argument(
            "redirect_uri",
            "must be an absolute URI",
        ));
    }
    let mut model = shared.model();
    if !model.redirect_uris.contains(&request.redirect_uri) {
        model.redirect_uris.push(request.redirect_uri);
    }
    Ok(Json(Value::Null))
}

async fn set_rate_limit(
    State(shared): State<AppState>,
    CalendlyJson(request): CalendlyJson<RateLimitRequest>,
) -> ControlResult<Value> {
    if request.per_minute == 0 {
        return Err(ApiError::invalid_argument(
            "per_minute",
            "must be at least 1",
        ));
    }
    let mut model = shared.model();
    model.rate_limit_per_minute = request.per_minute;
    model.api_windows.clear();
    Ok(Json(Value::Null))
}

async fn stats(State(shared): State<AppState>) -> ControlResult<Stats> {
    Ok(Json(shared.model().stats.clone()))
}

async fn reset_stats(State(shared): State<AppState>) -> ControlResult<Value> {
    shared.model().stats = super::empty_stats();
    Ok(Json(json!(null)))
}
