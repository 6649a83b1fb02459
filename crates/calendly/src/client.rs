//! The Calendly API v2 client: authenticated requests with pacing, retries and token refresh,
//! and one method per endpoint that maps Calendly's JSON into domain types.

use std::sync::Arc;
use std::time::Duration;

use advicly_core::domain::{
    CalendlyUser, Cancellation, EventUri, FetchedEvent, FetchedInvitee, InviteeUri,
    OrganizationUri, UserUri,
};
use advicly_core::Secret;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

use crate::config::ClientConfig;
use crate::error::{ApiErrorBody, Error, NetworkFailure, TokenError};
use crate::pacer::{Pacer, PacingStatus, RateLimitObservation};
use crate::stats::{CallStats, Endpoint, StatsRecorder};
use crate::subscriptions::{
    DeleteOutcome, NewWebhookSubscription, WebhookSubscription, WebhookSubscriptionUri,
};
use crate::token::TokenProvider;
use crate::types::{EventPage, EventQuery, EventTypeListing, InviteePage, SkippedItem};
use crate::wire::{self, CollectionEnvelope, ResourceEnvelope};

/// Calendly's maximum page size; every list call asks for it.
const PAGE_SIZE: &str = "100";

/// A Calendly API v2 client. Cheap to clone: clones share the HTTP connection pool, the token
/// provider, the rate-limit pacer and the call statistics.
#[derive(Clone)]
pub struct CalendlyClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    config: ClientConfig,
    tokens: Arc<dyn TokenProvider>,
    pacer: Pacer,
    stats: StatsRecorder,
}

impl std::fmt::Debug for CalendlyClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CalendlyClient")
            .field("api_base", &self.inner.config.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// One API call before it is sent.
struct ApiRequest {
    method: Method,
    endpoint: Endpoint,
    /// Path segments below the base URL; ids are percent-encoded when pushed.
    segments: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl ApiRequest {
    fn get(endpoint: Endpoint, segments: &[&str]) -> Self {
        Self {
            method: Method::GET,
            endpoint,
            segments: segments
                .iter()
                .map(|segment| (*segment).to_owned())
                .collect(),
            query: Vec::new(),
            body: None,
        }
    }

    fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    fn param_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.param(key, value),
            None => self,
        }
    }

    /// POSTs are only repeated when Calendly cannot have acted on them (429, 503, no
    /// connection); everything else is safe to repeat.
    fn idempotent(&self) -> bool {
        self.method != Method::POST
    }
}

/// What one HTTP attempt produced.
enum Attempt {
    Answered {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Failed {
        kind: NetworkFailure,
        message: String,
    },
    /// The answer was larger than `max_response_bytes`; it was not read.
    TooLarge { limit: usize },
}

impl CalendlyClient {
    pub fn new(config: ClientConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self, Error> {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .default_headers(default_headers)
            // A redirect would carry the token to another origin; Calendly's API never sends one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| Error::Network {
                kind: NetworkFailure::Connect,
                message: format!("could not set up the HTTP client: {error}"),
            })?;
        Ok(Self {
            inner: Arc::new(ClientInner {
                http,
                pacer: Pacer::new(config.pacing.clone()),
                config,
                tokens,
                stats: StatsRecorder::default(),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// What the pacer currently knows about the rate-limit window, e.g. to tell the advisor
    /// that a sync is waiting for Calendly's limit to reset.
    pub fn pacing_status(&self) -> PacingStatus {
        self.inner.pacer.status()
    }

    /// Counters since this client (and its clones) was created.
    pub fn stats(&self) -> CallStats {
        self.inner.stats.snapshot()
    }

    /// `GET /users/me`: who the token belongs to.
    pub async fn current_user(&self) -> Result<CalendlyUser, Error> {
        let body = self
            .execute(&ApiRequest::get(Endpoint::Users, &["users", "me"]))
            .await?;
        let envelope: ResourceEnvelope<wire::WireUser> =
            wire::decode(&body).map_err(|message| decode_error("users/me", message))?;
        wire::map_user(envelope.resource).map_err(|message| decode_error("users/me", message))
    }

    /// One page (up to 100) of `GET /scheduled_events`. Pass `None` for the first page and then
    /// each page's `next_page_token` until it is `None`.
    pub async fn list_scheduled_events_page(
        &self,
        query: &EventQuery,
        page_token: Option<&str>,
    ) -> Result<EventPage, Error> {
        let request = ApiRequest::get(Endpoint::ScheduledEvents, &["scheduled_events"])
            .param("user", query.user.as_str())
            .param_opt(
                "organization",
                query.organization.as_ref().map(OrganizationUri::as_str),
            )
            .param_opt("status", query.status.map(|status| status.as_str()))
            .param("min_start_time", calendly_time(query.min_start_time))
            .param("max_start_time", calendly_time(query.max_start_time))
            .param("sort", query.sort.start_time_param())
            .param_opt("invitee_email", query.invitee_email.as_deref())
            .param("count", PAGE_SIZE)
            .param_opt("page_token", page_token);
        let body = self.execute(&request).await?;
        let page = decode_collection(&body, "scheduled_events page")?;
        let next_page_token = page.next_page_token();
        let (events, skipped) = page.map_items(wire::map_event);
        self.report_skipped("scheduled event", &skipped);
        Ok(EventPage {
            events,
            next_page_token,
            skipped,
        })
    }

    /// Every event type of `user` (`GET /event_types?user=…`, all pages, active and inactive,
    /// scope `event_types:read`). Unreadable items are skipped and make the listing incomplete.
    pub async fn list_event_types(&self, user: &UserUri) -> Result<EventTypeListing, Error> {
        let mut event_types = Vec::new();
        let mut complete = true;
        let mut page_token: Option<String> = None;
        loop {
            let request = ApiRequest::get(Endpoint::EventTypes, &["event_types"])
                .param("user", user.as_str())
                .param("count", PAGE_SIZE)
                .param_opt("page_token", page_token.as_deref());
            let body = self.execute(&request).await?;
            let page = decode_collection(&body, "event_types page")?;
            let next_page_token = page.next_page_token();
            let (items, skipped) = page.map_items(wire::map_event_type);
            self.report_skipped("event type", &skipped);
            complete &= skipped.is_empty();
            event_types.extend(items);
            match next_page_token {
                Some(next) if page_token.as_deref() != Some(next.as_str()) => {
                    page_token = Some(next)
                }
                Some(_) => {
                    // A server repeating a token would loop forever; what was read is partial.
                    complete = false;
                    break;
                }
                None => break,
            }
        }
        Ok(EventTypeListing {
            event_types,
            complete,
        })
    }

    /// `GET /scheduled_events/{id}`.
    pub async fn get_scheduled_event(&self, event: &EventUri) -> Result<FetchedEvent, Error> {
        let id = checked_id(event.id(), "scheduled event", event.as_str())?;
        let body = self
            .execute(&ApiRequest::get(
                Endpoint::ScheduledEvents,
                &["scheduled_events", id],
            ))
            .await?;
        let envelope: ResourceEnvelope<wire::WireEvent> =
            wire::decode(&body).map_err(|message| decode_error("scheduled event", message))?;
        wire::map_event(envelope.resource)
            .map_err(|message| decode_error("scheduled event", message))
    }

    /// One page (up to 100) of `GET /scheduled_events/{id}/invitees`.
    pub async fn list_invitees_page(
        &self,
        event: &EventUri,
        page_token: Option<&str>,
    ) -> Result<InviteePage, Error> {
        let id = checked_id(event.id(), "scheduled event", event.as_str())?;
        let request = ApiRequest::get(Endpoint::Invitees, &["scheduled_events", id, "invitees"])
            .param("count", PAGE_SIZE)
            .param_opt("page_token", page_token);
        let body = self.execute(&request).await?;
        let page = decode_collection(&body, "invitees page")?;
        let next_page_token = page.next_page_token();
        let (invitees, skipped) = page.map_items(wire::map_invitee);
        self.report_skipped("invitee", &skipped);
        Ok(InviteePage {
            invitees,
            next_page_token,
            skipped,
        })
    }

    /// Every invitee of an event, all pages. Unreadable invitees are skipped (logged, counted
    /// in [`CallStats::skipped_items`]); use [`Self::list_invitees_page`] to see them.
    pub async fn list_invitees(&self, event: &EventUri) -> Result<Vec<FetchedInvitee>, Error> {
        let mut invitees = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let page = self
                .list_invitees_page(event, page_token.as_deref())
                .await?;
            invitees.extend(page.invitees);
            match page.next_page_token {
                // A server repeating the same token would otherwise loop forever.
                Some(next) if page_token.as_deref() != Some(next.as_str()) => {
                    page_token = Some(next)
                }
                _ => return Ok(invitees),
            }
        }
    }

    /// `GET /scheduled_events/{event}/invitees/{id}`.
    pub async fn get_invitee(&self, invitee: &InviteeUri) -> Result<FetchedInvitee, Error> {
        let event_uri =
            wire::event_uri_of_invitee(invitee.as_str()).ok_or_else(|| Error::InvalidUri {
                expected: "invitee",
                uri: invitee.as_str().to_owned(),
            })?;
        let event_id = EventUri::new(event_uri);
        let event_id = checked_id(event_id.id(), "invitee", invitee.as_str())?;
        let invitee_id = checked_id(invitee.id(), "invitee", invitee.as_str())?;
        let body = self
            .execute(&ApiRequest::get(
                Endpoint::Invitees,
                &["scheduled_events", event_id, "invitees", invitee_id],
            ))
            .await?;
        let envelope: ResourceEnvelope<wire::WireInvitee> =
            wire::decode(&body).map_err(|message| decode_error("invitee", message))?;
        wire::map_invitee(envelope.resource).map_err(|message| decode_error("invitee", message))
    }

    /// `POST /scheduled_events/{id}/cancellation` as the host. `None` sends `{}` (one public
    /// measurement saw `reason` cause a 400). Canceling twice is `Error::Forbidden` with
    /// Calendly's "Event is already canceled".
    pub async fn cancel_event(
        &self,
        event: &EventUri,
        reason: Option<&str>,
    ) -> Result<Cancellation, Error> {
        let id = checked_id(event.id(), "scheduled event", event.as_str())?;
        let body = match reason {
            Some(reason) => json!({ "reason": reason }),
            None => json!({}),
        };
        let request = ApiRequest::get(
            Endpoint::Cancellation,
            &["scheduled_events", id, "cancellation"],
        )
        .with_method(Method::POST)
        .with_body(body);
        let answer = self.execute(&request).await?;
        let envelope: ResourceEnvelope<wire::WireCancellation> =
            wire::decode(&answer).map_err(|message| decode_error("cancellation", message))?;
        Ok(wire::map_cancellation(envelope.resource))
    }

    /// `POST /webhook_subscriptions` with user scope. A callback URL that already has a
    /// subscription gives `Error::AlreadyExists`.
    pub async fn create_webhook_subscription(
        &self,
        subscription: &NewWebhookSubscription,
    ) -> Result<WebhookSubscription, Error> {
        let mut body = json!({
            "url": subscription.callback_url,
            "events": subscription.events,
            "organization": subscription.organization.as_str(),
            "scope": "user",
            "user": subscription.user.as_str(),
        });
        if let Some(signing_key) = &subscription.signing_key {
            body["signing_key"] = Value::String(signing_key.expose().to_owned());
        }
        let request = ApiRequest::get(Endpoint::WebhookSubscriptions, &["webhook_subscriptions"])
            .with_method(Method::POST)
            .with_body(body);
        let answer = self.execute(&request).await?;
        decode_subscription(&answer)
    }

    /// Every user-scoped webhook subscription of `user` in `organization`, all pages.
    pub async fn list_webhook_subscriptions(
        &self,
        organization: &OrganizationUri,
        user: &UserUri,
    ) -> Result<Vec<WebhookSubscription>, Error> {
        let mut subscriptions = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let request =
                ApiRequest::get(Endpoint::WebhookSubscriptions, &["webhook_subscriptions"])
                    .param("organization", organization.as_str())
                    .param("scope", "user")
                    .param("user", user.as_str())
                    .param("count", PAGE_SIZE)
                    .param_opt("page_token", page_token.as_deref());
            let body = self.execute(&request).await?;
            let page = decode_collection(&body, "webhook_subscriptions page")?;
            let next_page_token = page.next_page_token();
            let (items, skipped) = page.map_items(wire::map_webhook_subscription);
            self.report_skipped("webhook subscription", &skipped);
            subscriptions.extend(items);
            match next_page_token {
                Some(next) if page_token.as_deref() != Some(next.as_str()) => {
                    page_token = Some(next)
                }
                _ => return Ok(subscriptions),
            }
        }
    }

    /// `GET /webhook_subscriptions/{id}`.
    pub async fn get_webhook_subscription(
        &self,
        subscription: &WebhookSubscriptionUri,
    ) -> Result<WebhookSubscription, Error> {
        let id = checked_id(
            subscription.id(),
            "webhook subscription",
            subscription.as_str(),
        )?;
        let body = self
            .execute(&ApiRequest::get(
                Endpoint::WebhookSubscriptions,
                &["webhook_subscriptions", id],
            ))
            .await?;
        decode_subscription(&body)
    }

    /// `DELETE /webhook_subscriptions/{id}`; a subscription that is already gone is success.
    pub async fn delete_webhook_subscription(
        &self,
        subscription: &WebhookSubscriptionUri,
    ) -> Result<DeleteOutcome, Error> {
        let id = checked_id(
            subscription.id(),
            "webhook subscription",
            subscription.as_str(),
        )?;
        let request = ApiRequest::get(
            Endpoint::WebhookSubscriptions,
            &["webhook_subscriptions", id],
        )
        .with_method(Method::DELETE);
        match self.execute(&request).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(Error::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    fn report_skipped(&self, what: &str, skipped: &[SkippedItem]) {
        for item in skipped {
            tracing::warn!(
                uri = item.uri.as_deref().unwrap_or("<none>"),
                reason = %item.reason,
                "skipped a {what} Calendly sent that could not be read"
            );
        }
        self.inner.stats.add_skipped(skipped.len());
    }

    fn url(&self, request: &ApiRequest) -> Result<Url, Error> {
        let mut url = self.inner.config.api_base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUri {
                expected: "API base",
                uri: self.inner.config.api_base.to_string(),
            })?
            .pop_if_empty()
            .extend(&request.segments);
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &request.query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// Sends `request` until it succeeds or the retry policy gives up; returns the 2xx body.
    async fn execute(&self, request: &ApiRequest) -> Result<Vec<u8>, Error> {
        let inner = &*self.inner;
        let retry = &inner.config.retry;
        let url = self.url(request)?;
        let mut token = inner.tokens.access_token().await?;
        let mut authorization = bearer_header(&token)?;
        let mut refreshed = false;
        let mut failed_attempts = 0u32;
        let mut rate_limited_answers = 0u32;
        let mut first_attempt = true;
        loop {
            if !std::mem::take(&mut first_attempt) {
                StatsRecorder::bump(&inner.stats.retries);
            }
            let (ticket, waited) = inner.pacer.acquire().await;
            if !waited.is_zero() {
                inner.stats.paced(waited);
                tracing::debug!(
                    waited_ms = waited.as_millis() as u64,
                    "paced a Calendly request"
                );
            }
            inner.stats.request_sent(request.endpoint);
            let attempt = self.send_once(request, &url, &authorization).await;
            let (status, headers, body) = match attempt {
                Attempt::Failed { kind, message } => {
                    ticket.learnt_nothing();
                    StatsRecorder::bump(&inner.stats.network_errors);
                    failed_attempts += 1;
                    tracing::warn!(
                        method = %request.method,
                        path = url.path(),
                        attempt = failed_attempts,
                        "Calendly request failed: {kind}"
                    );
                    let may_repeat = request.idempotent() || kind == NetworkFailure::Connect;
                    if may_repeat && failed_attempts < retry.max_attempts {
                        tokio::time::sleep(self.backoff(failed_attempts)).await;
                        continue;
                    }
                    return Err(Error::Network { kind, message });
                }
                Attempt::TooLarge { limit } => {
                    ticket.learnt_nothing();
                    return Err(Error::Decode {
                        context: format!("{} {}", request.method, url.path()),
                        message: format!(
                            "the answer was larger than {} MiB and was not read",
                            limit / (1024 * 1024)
                        ),
                    });
                }
                Attempt::Answered {
                    status,
                    headers,
                    body,
                } => (status, headers, body),
            };
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS;
            let mut observation = RateLimitObservation::from_headers(&headers);
            if rate_limited {
                // The pacer must not hold requests back longer than the wait we honour.
                if let Some(observation) = observation.as_mut() {
                    observation.reset_after =
                        observation.reset_after.min(retry.max_rate_limit_wait);
                }
            }
            if status == StatusCode::UNAUTHORIZED {
                // A rejected token is not attributed to the user, so its headers (if any) say
                // nothing about the user's budget; learn nothing from it.
                ticket.learnt_nothing();
            } else {
                ticket.answered(observation, rate_limited);
            }
            tracing::debug!(
                method = %request.method,
                path = url.path(),
                status = status.as_u16(),
                "Calendly answered"
            );
            if status.is_success() {
                return Ok(body);
            }
            match status {
                StatusCode::UNAUTHORIZED => {
                    let message =
                        ApiErrorBody::parse(&body).readable("the access token is invalid");
                    if refreshed {
                        return Err(Error::Unauthorized { message });
                    }
                    refreshed = true;
                    StatsRecorder::bump(&inner.stats.token_refreshes);
                    token = match inner.tokens.refresh_after_unauthorized(&token).await {
                        Ok(fresh) => fresh,
                        Err(TokenError::Rejected) => return Err(Error::Unauthorized { message }),
                        Err(other) => return Err(Error::Token(other)),
                    };
                    authorization = bearer_header(&token)?;
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    StatsRecorder::bump(&inner.stats.rate_limited);
                    rate_limited_answers += 1;
                    let reported_wait = rate_limit_wait(&headers)
                        .filter(|wait| !wait.is_zero())
                        .unwrap_or_else(|| self.backoff(rate_limited_answers));
                    if rate_limited_answers > retry.max_rate_limit_retries {
                        return Err(Error::RateLimited {
                            retry_after: reported_wait,
                        });
                    }
                    let wait = reported_wait.min(retry.max_rate_limit_wait);
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "Calendly answered 429; waiting for the rate-limit reset"
                    );
                    tokio::time::sleep(wait).await;
                }
                status if status.is_server_error() => {
                    StatsRecorder::bump(&inner.stats.server_errors);
                    failed_attempts += 1;
                    let may_repeat =
                        request.idempotent() || status == StatusCode::SERVICE_UNAVAILABLE;
                    if may_repeat && failed_attempts < retry.max_attempts {
                        tokio::time::sleep(self.backoff(failed_attempts)).await;
                        continue;
                    }
                    return Err(Error::Server {
                        status: status.as_u16(),
                        message: ApiErrorBody::parse(&body).readable(&status_text(status)),
                    });
                }
                status => return Err(error_for_status(status, &body)),
            }
        }
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        url: &Url,
        authorization: &HeaderValue,
    ) -> Attempt {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url.clone())
            .header(AUTHORIZATION, authorization.clone());
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => return network_failure(&error),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.inner.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Attempt::TooLarge { limit };
        }
        // Read chunk by chunk so a body without (or with a lying) Content-Length stops at the cap.
        let mut response = response;
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Attempt::TooLarge { limit };
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => {
                    return Attempt::Answered {
                        status,
                        headers,
                        body,
                    }
                }
                Err(error) => return network_failure(&error),
            }
        }
    }

    /// Exponential backoff with jitter: half the doubled delay plus a random share of the rest.
    fn backoff(&self, failed_attempts: u32) -> Duration {
        let retry = &self.inner.config.retry;
        let exponent = failed_attempts.saturating_sub(1).min(16);
        let delay = retry
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(retry.max_delay);
        let half = delay / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// The `Authorization` header for `token`, marked sensitive so it is never logged.
fn bearer_header(token: &Secret) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::Unauthorized {
            message: "the access token contains characters an HTTP header cannot carry".into(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The longest wait a header may announce; larger values are clamped to it.
const MAX_REPORTED_WAIT_SECONDS: f64 = 3600.0;

/// `X-RateLimit-Reset` (seconds until reset), else `Retry-After` (seconds).
fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let seconds = |name| -> Option<Duration> {
        let value: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        // A hostile 1e300 or NaN must neither panic nor park the client for centuries.
        (value.is_finite() && value >= 0.0)
            .then(|| Duration::from_secs_f64(value.ceil().min(MAX_REPORTED_WAIT_SECONDS)))
    };
    seconds("x-ratelimit-reset").or_else(|| seconds(RETRY_AFTER.as_str()))
}

fn network_failure(error: &reqwest::Error) -> Attempt {
    let kind = if error.is_connect() {
        NetworkFailure::Connect
    } else if error.is_timeout() {
        NetworkFailure::Timeout
    } else {
        NetworkFailure::Interrupted
    };
    // reqwest's own message is terse; the causes say what actually happened.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Attempt::Failed { kind, message }
}

fn status_text(status: StatusCode) -> String {
    format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned()
}

/// Maps a final non-2xx answer (other than 401/429/5xx, handled by the retry loop).
fn error_for_status(status: StatusCode, body: &[u8]) -> Error {
    let parsed = ApiErrorBody::parse(body);
    let message = parsed.readable(&status_text(status));
    match status {
        StatusCode::FORBIDDEN => Error::Forbidden {
            message,
            required_scopes: parsed.required_scopes,
        },
        StatusCode::NOT_FOUND => Error::NotFound { message },
        StatusCode::CONFLICT => Error::AlreadyExists { message },
        status => Error::InvalidRequest {
            status: status.as_u16(),
            message,
        },
    }
}

fn decode_error(context: &str, message: String) -> Error {
    Error::Decode {
        context: context.to_owned(),
        message,
    }
}

fn decode_collection(body: &[u8], context: &str) -> Result<CollectionEnvelope, Error> {
    wire::decode(body).map_err(|message| decode_error(context, message))
}

fn decode_subscription(body: &[u8]) -> Result<WebhookSubscription, Error> {
    let envelope: ResourceEnvelope<wire::WireWebhookSubscription> =
        wire::decode(body).map_err(|message| decode_error("webhook subscription", message))?;
    wire::map_webhook_subscription(envelope.resource)
        .map_err(|message| decode_error("webhook subscription", message))
}

fn checked_id<'a>(id: &'a str, expected: &'static str, uri: &str) -> Result<&'a str, Error> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::InvalidUri {
            expected,
            uri: uri.to_owned(),
        });
    }
    Ok(id)
}

/// Calendly's request time format: UTC with microseconds and `Z`.
fn calendly_time(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn request_times_use_calendlys_format() {
        let instant: DateTime<Utc> = "2020-01-02T03:04:05.678123Z".parse().unwrap();
        // Calendly documents filters as UTC with six fractional digits and a `Z`.
        assert_eq!(calendly_time(instant), "2020-01-02T03:04:05.678123Z");
    }

    #[rstest]
    #[case::reset_header(&[("x-ratelimit-reset", "7")], Some(7))]
    #[case::retry_after_only(&[("retry-after", "3")], Some(3))]
    #[case::reset_wins(&[("x-ratelimit-reset", "2"), ("retry-after", "30")], Some(2))]
    #[case::nothing(&[], None)]
    #[case::garbage(&[("x-ratelimit-reset", "soon")], None)]
    #[case::hostile_huge(&[("x-ratelimit-reset", "1e300")], Some(3600))]
    #[case::hostile_u64(&[("retry-after", "99999999999999999999999")], Some(3600))]
    #[case::hostile_nan(&[("retry-after", "NaN")], None)]
    #[case::hostile_infinity(&[("x-ratelimit-reset", "inf")], None)]
    #[case::hostile_negative(&[("retry-after", "-5")], None)]
    fn rate_limit_wait_reads_the_reset_header(
        #[case] headers: &[(&'static str, &'static str)],
        #[case] expected_seconds: Option<u64>,
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        // X-RateLimit-Reset is seconds until reset, documented on every Calendly answer.
        assert_eq!(
            rate_limit_wait(&map),
            expected_seconds.map(Duration::from_secs)
        );
    }

    #[rstest]
    #[case::forbidden(
        403,
        r#"{"title":"Permission Denied","message":"Event is already canceled"}"#,
        "Forbidden"
    )]
    #[case::not_found(404, r#"{"title":"Resource Not Found","message":"The server could not find the requested resource."}"#, "NotFound")]
    #[case::conflict(
        409,
        r#"{"title":"Already Exists","message":"Hook with this url already exists"}"#,
        "AlreadyExists"
    )]
    #[case::bad_request(
        400,
        r#"{"title":"Invalid Argument","message":"The supplied parameters are invalid."}"#,
        "InvalidRequest"
    )]
    fn final_errors_map_by_status(#[case] status: u16, #[case] body: &str, #[case] variant: &str) {
        let error = error_for_status(StatusCode::from_u16(status).unwrap(), body.as_bytes());
        // Callers branch on the variant (409 → reuse the subscription, 404 → already gone).
        assert!(
            format!("{error:?}").starts_with(variant),
            "{status} mapped to {error:?}"
        );
        // Calendly's own words reach the message a person reads.
        let message = serde_json::from_str::<Value>(body).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(error.to_string().contains(&message), "message: {error}");
    }
}
