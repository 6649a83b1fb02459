//! The Calendly API v2 endpoints the fake serves: users, event types, scheduled events,
//! invitees, cancellation and webhook subscriptions.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{paginate, ApiError, CalendlyJson, QueryParams, SortKey};
use super::model::{take_fault, Model, ScheduledEvent, Subscription, SubscriptionScope, TokenKind};
use super::operations::new_uuid;
use super::{render, AppState, Caller};
use crate::control_model::{Canceler, FaultKind};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(current_user))
        .route("/users/{uuid}", get(user_by_uuid))
        .route("/event_types", get(list_event_types))
        .route("/scheduled_events", get(list_events))
        .route("/scheduled_events/{uuid}", get(get_event))
        .route("/scheduled_events/{uuid}/cancellation", post(cancel_event))
        .route("/scheduled_events/{uuid}/invitees", get(list_invitees))
        .route(
            "/scheduled_events/{event_uuid}/invitees/{invitee_uuid}",
            get(get_invitee),
        )
        .route("/invitee_no_shows", post(create_no_show))
        .route(
            "/invitee_no_shows/{uuid}",
            get(get_no_show).delete(delete_no_show),
        )
        .route(
            "/webhook_subscriptions",
            get(list_subscriptions).post(create_subscription),
        )
        .route(
            "/webhook_subscriptions/{uuid}",
            get(get_subscription).delete(delete_subscription),
        )
}

fn micros(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_micros()
}

async fn current_user(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["users:read"])?;
    let model = shared.model();
    let user = model
        .user(&caller.user_uuid)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(json!({"resource": render::user(&model, user)})))
}

async fn user_by_uuid(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["users:read"])?;
    let model = shared.model();
    let uuid = if uuid == "me" {
        caller.user_uuid.clone()
    } else {
        uuid
    };
    let user = model.user(&uuid).ok_or_else(ApiError::not_found)?;
    if user.organization_uuid != caller.organization_uuid {
        return Err(ApiError::permission_denied(
            "You do not have permission to access this resource.",
        ));
    }
    Ok(Json(json!({"resource": render::user(&model, user)})))
}

/// Resolves `user` / `organization` query parameters into the set of host users the caller may list.
fn listable_hosts(
    model: &Model,
    caller: &Caller,
    query: &QueryParams,
    what: &str,
) -> Result<Vec<String>, ApiError> {
    let user_param = query.get("user");
    let organization_param = query.get("organization");
    if user_param.is_none() && organization_param.is_none() {
        return Err(ApiError::invalid_argument(
            "user",
            &format!("user or organization is required to list {what}"),
        ));
    }
    let organization_uuid = match organization_param {
        None => None,
        Some(uri) => {
            let uuid = model.uuid_from_uri(uri, "organizations").ok_or_else(|| {
                ApiError::invalid_argument("organization", "must be an organization URI")
            })?;
            if uuid != caller.organization_uuid {
                return Err(ApiError::permission_denied(
                    "You do not have permission to access this resource.",
                ));
            }
            Some(uuid)
        }
    };
    match user_param {
        Some(uri) => {
            let uuid = model
                .uuid_from_uri(uri, "users")
                .ok_or_else(|| ApiError::invalid_argument("user", "must be a user URI"))?;
            if uuid == caller.user_uuid {
                return Ok(vec![uuid]);
            }
            let Some(user) = model.user(&uuid) else {
                return Err(ApiError::not_found());
            };
            if user.organization_uuid != caller.organization_uuid {
                return Err(ApiError::permission_denied(
                    "This user is not in your organization",
                ));
            }
            if organization_uuid.is_none() {
                return Err(ApiError::permission_denied(
                    "Please also specify organization when requesting events for a user within your organization.",
                ));
            }
            if !caller.is_owner {
                return Err(ApiError::permission_denied(
                    "You do not have permission to access this resource.",
                ));
            }
            Ok(vec![uuid])
        }
        None => {
            if !caller.is_owner {
                return Err(ApiError::permission_denied(
                    "You do not have permission to access this resource.",
                ));
            }
            let organization_uuid =
                organization_uuid.unwrap_or_else(|| caller.organization_uuid.clone());
            Ok(model
                .users
                .iter()
                .filter(|user| user.organization_uuid == organization_uuid)
                .map(|user| user.uuid.clone())
                .collect())
        }
    }
}

async fn list_event_types(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["event_types:read"])?;
    let query = QueryParams::parse(raw.as_deref());
    let model = shared.model();
    let hosts = listable_hosts(&model, &caller, &query, "event types")?;
    let descending = match query.get("sort") {
        None | Some("name:asc") => false,
        Some("name:desc") => true,
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "sort",
                "sort must be name:asc or name:desc",
            ))
        }
    };
    // `active=true|false` narrows the list; without it both are listed (as at Calendly).
    let active = match query.get("active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "active",
                "active must be true or false",
            ))
        }
    };
    let mut rows: Vec<(SortKey, Value)> = model
        .event_types
        .iter()
        .filter(|event_type| hosts.contains(&event_type.owner_uuid))
        .filter(|event_type| active.is_none_or(|wanted| event_type.active == wanted))
        .enumerate()
        .map(|(index, event_type)| {
            (
                (index as i64, event_type.uuid.clone()),
                (
                    event_type.name.clone(),
                    render::event_type(&model, event_type),
                ),
            )
        })
        .map(|(key, (name, value))| ((key.0, format!("{name}\u{0}{}", key.1)), value))
        .collect();
    // Sort by name (then id) and re-key by rank so page tokens stay simple.
    rows.sort_by(|a, b| a.0 .1.cmp(&b.0 .1));
    if descending {
        rows.reverse();
    }
    let rows: Vec<(SortKey, Value)> = rows
        .into_iter()
        .enumerate()
        .map(|(rank, ((_, id), value))| {
            let rank = if descending {
                -(rank as i64)
            } else {
                rank as i64
            };
            ((rank, id), value)
        })
        .collect();
    let page = paginate(rows, descending, &query, &shared.api_base, "/event_types")?;
    Ok(Json(
        json!({"collection": page.items, "pagination": page.pagination}),
    ))
}

fn can_view_event(model: &Model, caller: &Caller, event: &ScheduledEvent) -> bool {
    event.host_uuid == caller.user_uuid
        || (caller.is_owner
            && model
                .user(&event.host_uuid)
                .is_some_and(|host| host.organization_uuid == caller.organization_uuid))
}

async fn list_events(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["scheduled_events:read"])?;
    let query = QueryParams::parse(raw.as_deref());
    let mut model = shared.model();
    let listing_fault = take_fault(&mut model.faults, "/scheduled_events", "GET", true, true);
    let hosts = listable_hosts(&model, &caller, &query, "scheduled events")?;
    let status = match query.get("status") {
        None => None,
        Some("active") => Some(false),
        Some("canceled") => Some(true),
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "status",
                "status must be active or canceled",
            ))
        }
    };
    let min_start = query.time("min_start_time")?;
    let max_start = query.time("max_start_time")?;
    let invitee_email = query.get("invitee_email").map(str::to_lowercase);
    // Default order when `sort` is omitted: start_time ascending (an assumption; see README).
    let descending = query.sort_descending("start_time", false)?;
    query.count()?;
    let mut rows: Vec<(SortKey, Value)> = model
        .events
        .values()
        .filter(|event| hosts.contains(&event.host_uuid))
        .filter(|event| status.is_none_or(|canceled| event.canceled == canceled))
        .filter(|event| min_start.is_none_or(|min| event.start_time >= min))
        .filter(|event| max_start.is_none_or(|max| event.start_time < max))
        .filter(|event| {
            invitee_email.as_ref().is_none_or(|email| {
                event
                    .invitees
                    .iter()
                    .any(|invitee| invitee.spec.email.to_lowercase() == *email)
            })
        })
        .map(|event| {
            (
                (micros(event.start_time), event.uuid.clone()),
                render::scheduled_event(&model, event, false),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        rows.reverse();
    }
    let mut page = paginate(
        rows,
        descending,
        &query,
        &shared.api_base,
        "/scheduled_events",
    )?;
    match listing_fault {
        Some(FaultKind::OmitFirstListed) if !page.items.is_empty() => {
            page.items.remove(0);
            page.pagination["count"] = json!(page.items.len());
        }
        Some(FaultKind::RepeatPageToken) => {
            // Only a page requested by token can name that token again.
            if let Some(token) = query.get("page_token") {
                page.pagination["next_page_token"] = json!(token);
            }
        }
        _ => {}
    }
    Ok(Json(
        json!({"collection": page.items, "pagination": page.pagination}),
    ))
}

async fn get_event(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["scheduled_events:read"])?;
    let model = shared.model();
    let event = model.events.get(&uuid).ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied(
            "You are not allowed to view this event",
        ));
    }
    Ok(Json(
        json!({"resource": render::scheduled_event(&model, event, false)}),
    ))
}

#[derive(Deserialize)]
struct CancellationBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn cancel_event(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    CalendlyJson(body): CalendlyJson<CancellationBody>,
) -> Result<Response, ApiError> {
    caller.require(&["scheduled_events:write"])?;
    if body
        .reason
        .as_ref()
        .is_some_and(|reason| reason.chars().count() > 10_000)
    {
        return Err(ApiError::invalid_argument(
            "reason",
            "reason must be at most 10000 characters",
        ));
    }
    let now = shared.clock.now();
    let mut model = shared.model();
    let event = model.events.get(&uuid).ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied(
            "You are not allowed to cancel this event",
        ));
    }
    if event.canceled {
        return Err(ApiError::permission_denied("Event is already canceled"));
    }
    if event.start_time < now {
        return Err(ApiError::permission_denied("Event in the past"));
    }
    let record = model.cancel_event(&uuid, Canceler::Host, body.reason, now, true)?;
    drop(model);
    shared.delivery_wakeup.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(json!({"resource": render::cancellation(&record)})),
    )
        .into_response())
}

async fn list_invitees(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["scheduled_events:read"])?;
    let query = QueryParams::parse(raw.as_deref());
    let model = shared.model();
    let event = model.events.get(&uuid).ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied(
            "You are not allowed to view this event",
        ));
    }
    let status = match query.get("status") {
        None => None,
        Some("active") => Some(false),
        Some("canceled") => Some(true),
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "status",
                "status must be active or canceled",
            ))
        }
    };
    let email = query.get("email").map(str::to_lowercase);
    let descending = query.sort_descending("created_at", false)?;
    let mut rows: Vec<(SortKey, Value)> = event
        .invitees
        .iter()
        .filter(|invitee| status.is_none_or(|canceled| invitee.canceled == canceled))
        .filter(|invitee| {
            email
                .as_ref()
                .is_none_or(|email| invitee.spec.email.to_lowercase() == *email)
        })
        .map(|invitee| {
            (
                (micros(invitee.created_at), invitee.uuid.clone()),
                render::invitee(&model, event, invitee),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        rows.reverse();
    }
    let path = format!("/scheduled_events/{uuid}/invitees");
    let page = paginate(rows, descending, &query, &shared.api_base, &path)?;
    Ok(Json(
        json!({"collection": page.items, "pagination": page.pagination}),
    ))
}

async fn get_invitee(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((event_uuid, invitee_uuid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["scheduled_events:read"])?;
    let model = shared.model();
    let event = model
        .events
        .get(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied(
            "You are not allowed to view this event",
        ));
    }
    let invitee = event
        .invitees
        .iter()
        .find(|invitee| invitee.uuid == invitee_uuid)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(
        json!({"resource": render::invitee(&model, event, invitee)}),
    ))
}

const SUBSCRIBABLE_EVENTS: &[&str] = &[
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
    "routing_form_submission.created",
    "event_type.created",
    "event_type.updated",
    "event_type.deleted",
    "meeting_recap.created",
    "meeting_recap.updated",
    "meeting_recap.deleted",
    "contact.created",
    "contact.updated",
    "contact.deleted",
];

#[derive(Deserialize)]
struct CreateSubscriptionBody {
    url: String,
    events: Vec<String>,
    organization: String,
    scope: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    signing_key: Option<String>,
}

fn parse_scope(raw: &str, parameter: &str) -> Result<SubscriptionScope, ApiError> {
    match raw {
        "organization" => Ok(SubscriptionScope::Organization),
        "user" => Ok(SubscriptionScope::User),
        "group" => Ok(SubscriptionScope::Group),
        _ => Err(ApiError::invalid_argument(
            parameter,
            "scope must be organization, user or group",
        )),
    }
}

async fn create_subscription(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    CalendlyJson(body): CalendlyJson<CreateSubscriptionBody>,
) -> Result<Response, ApiError> {
    caller.require(&["webhooks:write"])?;
    url::Url::parse(&body.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| ApiError::invalid_argument("url", "url must be an absolute http(s) URL"))?;
    if body.events.is_empty() {
        return Err(ApiError::invalid_argument(
            "events",
            "at least one event is required",
        ));
    }
    if let Some(unknown) = body
        .events
        .iter()
        .find(|event| !SUBSCRIBABLE_EVENTS.contains(&event.as_str()))
    {
        return Err(ApiError::invalid_argument(
            "events",
            &format!("{unknown} is not a valid event"),
        ));
    }
    let scope = parse_scope(&body.scope, "scope")?;
    let needs_events_read = body.events.iter().any(|event| event.starts_with("invitee"));
    if needs_events_read {
        caller.require(&["webhooks:write", "scheduled_events:read"])?;
    }
    for event in &body.events {
        if event.starts_with("routing_form_submission") && scope != SubscriptionScope::Organization
        {
            return Err(ApiError::invalid_argument(
                "events",
                &format!("{event} requires organization scope"),
            ));
        }
        if event.starts_with("meeting_recap") && scope != SubscriptionScope::User {
            return Err(ApiError::invalid_argument(
                "events",
                &format!("{event} requires user scope"),
            ));
        }
    }
    let now = shared.clock.now();
    let mut model = shared.model();
    let organization_uuid = model
        .uuid_from_uri(&body.organization, "organizations")
        .ok_or_else(|| ApiError::invalid_argument("organization", "must be an organization URI"))?;
    if organization_uuid != caller.organization_uuid {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    let user_uuid = match scope {
        SubscriptionScope::User => {
            let uri = body.user.as_deref().ok_or_else(|| {
                ApiError::invalid_argument("user", "user is required for user scope")
            })?;
            let uuid = model
                .uuid_from_uri(uri, "users")
                .ok_or_else(|| ApiError::invalid_argument("user", "must be a user URI"))?;
            let user = model.user(&uuid).ok_or_else(ApiError::not_found)?;
            if user.organization_uuid != caller.organization_uuid
                || (uuid != caller.user_uuid && !caller.is_owner)
            {
                return Err(ApiError::permission_denied("You do not have permission"));
            }
            Some(uuid)
        }
        SubscriptionScope::Organization => {
            if !caller.is_owner {
                return Err(ApiError::permission_denied("You do not have permission"));
            }
            None
        }
        SubscriptionScope::Group => {
            if body.group.is_none() {
                return Err(ApiError::invalid_argument(
                    "group",
                    "group is required for group scope",
                ));
            }
            // The fake has no groups, so every group URI is unknown.
            return Err(ApiError::not_found());
        }
    };
    // Callback URLs are unique across the whole fake (API.md §5.1 evidence), disabled ones included.
    if model
        .subscriptions
        .iter()
        .any(|existing| existing.callback_url == body.url)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Already Exists",
            "Hook with this url already exists",
        ));
    }
    // OAuth apps sign with their app-wide key; PAT subscriptions use their own key or none.
    let signing_key = match caller.token.kind {
        TokenKind::OAuth { .. } => Some(shared.config.app_webhook_signing_key.clone()),
        TokenKind::Personal => body.signing_key.filter(|key| !key.is_empty()),
    };
    let subscription = Subscription {
        uuid: new_uuid(),
        callback_url: body.url.clone(),
        created_at: now,
        updated_at: now,
        retry_started_at: None,
        disabled: false,
        events: body.events,
        scope,
        organization_uuid,
        user_uuid,
        creator_uuid: caller.user_uuid.clone(),
        signing_key,
    };
    let rendered = render::subscription(&model, &subscription);
    model.subscriptions.push(subscription);
    Ok((StatusCode::CREATED, Json(json!({"resource": rendered}))).into_response())
}

async fn list_subscriptions(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["webhooks:read"])?;
    let query = QueryParams::parse(raw.as_deref());
    let model = shared.model();
    let organization = query
        .get("organization")
        .ok_or_else(|| ApiError::invalid_argument("organization", "organization is required"))?;
    let scope_raw = query
        .get("scope")
        .ok_or_else(|| ApiError::invalid_argument("scope", "scope is required"))?;
    let scope = parse_scope(scope_raw, "scope")?;
    let organization_uuid = model
        .uuid_from_uri(organization, "organizations")
        .ok_or_else(|| ApiError::invalid_argument("organization", "must be an organization URI"))?;
    if organization_uuid != caller.organization_uuid {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    let user_uuid = match scope {
        SubscriptionScope::User => {
            let uri = query.get("user").ok_or_else(|| {
                ApiError::invalid_argument("user", "user is required for user scope")
            })?;
            Some(
                model
                    .uuid_from_uri(uri, "users")
                    .ok_or_else(|| ApiError::invalid_argument("user", "must be a user URI"))?,
            )
        }
        SubscriptionScope::Group => {
            if query.get("group").is_none() {
                return Err(ApiError::invalid_argument(
                    "group",
                    "group is required for group scope",
                ));
            }
            None
        }
        SubscriptionScope::Organization => None,
    };
    let descending = query.sort_descending("created_at", false)?;
    let mut rows: Vec<(SortKey, Value)> = model
        .subscriptions
        .iter()
        .filter(|subscription| {
            subscription.organization_uuid == organization_uuid && subscription.scope == scope
        })
        .filter(|subscription| user_uuid.is_none() || subscription.user_uuid == user_uuid)
        .map(|subscription| {
            (
                (micros(subscription.created_at), subscription.uuid.clone()),
                render::subscription(&model, subscription),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        rows.reverse();
    }
    let page = paginate(
        rows,
        descending,
        &query,
        &shared.api_base,
        "/webhook_subscriptions",
    )?;
    Ok(Json(
        json!({"collection": page.items, "pagination": page.pagination}),
    ))
}

fn visible_subscription<'a>(
    model: &'a Model,
    caller: &Caller,
    uuid: &str,
) -> Result<&'a Subscription, ApiError> {
    let subscription = model
        .subscriptions
        .iter()
        .find(|subscription| subscription.uuid == uuid)
        .ok_or_else(ApiError::not_found)?;
    if subscription.organization_uuid != caller.organization_uuid {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    Ok(subscription)
}

async fn get_subscription(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["webhooks:read"])?;
    let model = shared.model();
    let subscription = visible_subscription(&model, &caller, &uuid)?;
    Ok(Json(
        json!({"resource": render::subscription(&model, subscription)}),
    ))
}

async fn delete_subscription(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&["webhooks:write"])?;
    let mut model = shared.model();
    visible_subscription(&model, &caller, &uuid)?;
    model
        .subscriptions
        .retain(|subscription| subscription.uuid != uuid);
    // Messages still waiting for a deleted subscription are dropped with it.
    model
        .outbox
        .retain(|message| message.subscription_uuid != uuid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `(event_uuid, invitee_uuid, created_at)` of the no-show with this id.
fn find_no_show(
    model: &Model,
    no_show_uuid: &str,
) -> Option<(String, String, chrono::DateTime<chrono::Utc>)> {
    model.events.values().find_map(|event| {
        event.invitees.iter().find_map(|invitee| {
            invitee
                .no_show
                .as_ref()
                .filter(|no_show| no_show.uuid == no_show_uuid)
                .map(|no_show| (event.uuid.clone(), invitee.uuid.clone(), no_show.created_at))
        })
    })
}

fn no_show_resource(
    model: &Model,
    no_show_uuid: &str,
    event_uuid: &str,
    invitee_uuid: &str,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({
        "uri": format!("{}/invitee_no_shows/{no_show_uuid}", model.api_base),
        "invitee": model.invitee_uri(event_uuid, invitee_uuid),
        "created_at": super::clock::format_time(created_at),
    })
}

#[derive(Deserialize)]
struct CreateNoShowBody {
    invitee: String,
}

async fn create_no_show(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    CalendlyJson(body): CalendlyJson<CreateNoShowBody>,
) -> Result<Response, ApiError> {
    caller.require(&["scheduled_events:write"])?;
    let now = shared.clock.now();
    let mut model = shared.model();
    let (event_uuid, invitee_uuid) = model
        .invitee_ids_from_uri(&body.invitee)
        .ok_or_else(|| ApiError::invalid_argument("invitee", "must be an invitee URI"))?;
    let event = model
        .events
        .get(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    let uri = model.mark_no_show(&event_uuid, &invitee_uuid, now)?;
    let no_show_uuid = uri.rsplit('/').next().unwrap_or_default().to_string();
    let resource = no_show_resource(&model, &no_show_uuid, &event_uuid, &invitee_uuid, now);
    drop(model);
    shared.delivery_wakeup.notify_one();
    Ok((StatusCode::CREATED, Json(json!({"resource": resource}))).into_response())
}

async fn get_no_show(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["scheduled_events:read"])?;
    let model = shared.model();
    let (event_uuid, invitee_uuid, created_at) =
        find_no_show(&model, &uuid).ok_or_else(ApiError::not_found)?;
    let event = model
        .events
        .get(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    Ok(Json(
        json!({"resource": no_show_resource(&model, &uuid, &event_uuid, &invitee_uuid, created_at)}),
    ))
}

async fn delete_no_show(
    State(shared): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&["scheduled_events:write"])?;
    let now = shared.clock.now();
    let mut model = shared.model();
    let (event_uuid, invitee_uuid, _) =
        find_no_show(&model, &uuid).ok_or_else(ApiError::not_found)?;
    let event = model
        .events
        .get(&event_uuid)
        .ok_or_else(ApiError::not_found)?;
    if !can_view_event(&model, &caller, event) {
        return Err(ApiError::permission_denied("You do not have permission"));
    }
    model.unmark_no_show(&event_uuid, &invitee_uuid, now)?;
    drop(model);
    shared.delivery_wakeup.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}
