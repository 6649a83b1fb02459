//! The channel API: create and delete channels, accept deliveries at ingress, acknowledge them.
//! The event stream is in [`crate::events`].
//!
//! Nothing here parses or trusts a delivery body. Handlers log channel ids and sizes, never a
//! body, a token, a signature or a query string.

use std::time::Instant;

use advicly_relay_protocol::{AckRequest, ChannelCreated, ErrorBody, SIGNATURE_HEADER};
use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{SubsecRound, Utc};

use crate::metrics as relay_metrics;
use crate::store::{ChannelId, IngestOutcome, NewChannel, NewDelivery, StoreError};
use crate::token::{bearer, SubscriberToken};
use crate::RelayState;

/// Every way a `/v1` or ingress request can fail, each with its status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Wrong token, no token and unknown channel look the same, so ids cannot be probed.
    #[error("a valid subscriber token for this channel is required")]
    Unauthorized,
    #[error("there is no channel at this address")]
    UnknownChannel,
    #[error("{0}")]
    BadRequest(String),
    #[error("this relay serves as many event streams as it may; try again later")]
    TooManySubscribers,
    #[error("the relay is shutting down; try again in a moment")]
    ShuttingDown,
    #[error("the relay's store is unavailable; try again later")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::UnknownChannel => (StatusCode::NOT_FOUND, "unknown_channel"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::TooManySubscribers => (StatusCode::SERVICE_UNAVAILABLE, "too_many_subscribers"),
            Self::ShuttingDown | Self::Store(StoreError::Closed) => {
                (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
            }
            Self::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Store(error) = &self {
            // The cause is for the operator; the client gets the plain sentence.
            tracing::error!(%error, "a store operation failed");
        }
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Checks the Bearer token against the channel's stored hash.
pub(crate) async fn authorize(
    state: &RelayState,
    raw_channel_id: &str,
    headers: &HeaderMap,
) -> Result<ChannelId, ApiError> {
    let channel_id = ChannelId::parse(raw_channel_id).ok_or(ApiError::Unauthorized)?;
    let token = bearer(headers.get(header::AUTHORIZATION)).ok_or(ApiError::Unauthorized)?;
    let stored = state
        .store()
        .token_hash(&channel_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if token.matches(&stored) {
        Ok(channel_id)
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// `POST /v1/channels` → 201 with the channel id, its ingress URL and the subscriber token.
pub(crate) async fn create_channel(
    State(state): State<RelayState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    let channel_id = ChannelId::generate();
    let token = SubscriberToken::generate();
    state
        .store()
        .create_channel(NewChannel {
            channel_id: channel_id.clone(),
            token_hash: token.hash(),
            created_at: Utc::now(),
        })
        .await?;
    let ingress_url = state.ingress_url(&channel_id, &headers);
    tracing::info!(channel_id = %channel_id, "channel created");
    metrics::counter!(relay_metrics::CHANNELS_CREATED).increment(1);
    let location = advicly_relay_protocol::channel_path(channel_id.as_str());
    let created = ChannelCreated {
        channel_id: channel_id.to_string(),
        ingress_url,
        subscriber_token: token.reveal(),
    };
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `DELETE /v1/channels/{channel_id}` (Bearer) → 204; the channel and its deliveries are gone.
pub(crate) async fn delete_channel(
    State(state): State<RelayState>,
    Path(raw_channel_id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let channel_id = authorize(&state, &raw_channel_id, &headers).await?;
    state.store().delete_channel(&channel_id).await?;
    // Streams of the channel notice it is gone and end.
    state.wakeups().forget_through(&channel_id, u64::MAX);
    state.wakeups().wake(&channel_id, 0);
    tracing::info!(channel_id = %channel_id, "channel deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/channels/{channel_id}/ack {"up_to": N}` (Bearer) → 204.
pub(crate) async fn acknowledge(
    State(state): State<RelayState>,
    Path(raw_channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let channel_id = authorize(&state, &raw_channel_id, &headers).await?;
    let request: AckRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!(
            "the body must be {{\"up_to\": <delivery id>}}: {error}"
        ))
    })?;
    if !state
        .store()
        .acknowledge(&channel_id, request.up_to)
        .await?
    {
        // Deleted between the token check and now.
        return Err(ApiError::Unauthorized);
    }
    state.wakeups().forget_through(&channel_id, request.up_to);
    tracing::debug!(channel_id = %channel_id, up_to = request.up_to, "deliveries acknowledged");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /hooks/{channel_id}`: commits the raw delivery durably, then answers 200.
pub(crate) async fn ingest(
    State(state): State<RelayState>,
    Path(raw_channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let channel_id = ChannelId::parse(&raw_channel_id).ok_or(ApiError::UnknownChannel)?;
    // Milliseconds, as the stores keep it: a live event and its replay carry the same time.
    let received_at = Utc::now().trunc_subsecs(3);
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let relay_verified = state
        .config()
        .signing_key
        .as_ref()
        .map(|key| key.verify(signature.as_deref(), &body, received_at));
    let body_bytes = body.len();
    let delivery = NewDelivery {
        channel_id: channel_id.clone(),
        received_at,
        signature,
        body,
        relay_verified,
    };
    // A cheap clone (the body is reference-counted) for the subscribers, unless the store tells
    // them itself.
    let kept = (!state.store().announces_commits()).then(|| delivery.clone());
    let outcome = state.store().ingest(delivery).await?;
    match outcome {
        IngestOutcome::UnknownChannel => Err(ApiError::UnknownChannel),
        IngestOutcome::Stored { id, dropped } => {
            if let Some(kept) = kept {
                crate::events::announce(state.wakeups(), &channel_id, &kept.stored(id));
            }
            metrics::counter!(relay_metrics::DELIVERIES_IN).increment(1);
            metrics::histogram!(relay_metrics::INGEST_SECONDS)
                .record(started.elapsed().as_secs_f64());
            if dropped > 0 {
                metrics::counter!(relay_metrics::DELIVERIES_DROPPED).increment(dropped);
                tracing::warn!(channel_id = %channel_id, dropped, "a channel cap dropped its oldest deliveries");
            }
            tracing::debug!(channel_id = %channel_id, id, body_bytes, "delivery stored");
            Ok((StatusCode::OK, Json(serde_json::json!({ "id": id }))).into_response())
        }
    }
}
