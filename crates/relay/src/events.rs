//! `GET /v1/channels/{channel_id}/events`: a channel's deliveries as Server-Sent Events.
//!
//! The stream starts after the client's cursor (`Last-Event-ID`, else `?after=N`, else 0) and
//! reads the store in id order; when it has caught up it waits for a wake-up. A `gap` event comes
//! first when deliveries after the cursor were dropped. The store is the truth: a lost wake-up
//! costs latency, never a delivery.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;

use advicly_relay_protocol::{EVENT_DELIVERY, EVENT_GAP, LAST_EVENT_ID_HEADER};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::watch;

use crate::api::{authorize, ApiError};
use crate::metrics as relay_metrics;
use crate::store::ChannelId;
use crate::wake::Subscription;
use crate::RelayState;

/// How many deliveries one store read returns at most.
const READ_BATCH: usize = 64;

/// How long a client waits before reconnecting (the SSE `retry:` field).
const RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) async fn stream(
    State(state): State<RelayState>,
    Path(raw_channel_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel_id = authorize(&state, &raw_channel_id, &headers).await?;
    let after = cursor(&headers, query.as_deref())?;
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    let guard = SubscriberGuard::enter(&state)?;
    tracing::info!(channel_id = %channel_id, "subscriber connected");
    let subscription = state.wakeups().subscribe(&channel_id);
    let shutdown = state.shutdown_signal();
    let mut queue = VecDeque::new();
    queue.push_back(Event::default().comment("connected").retry(RECONNECT_AFTER));
    let cursor = Cursor {
        state: state.clone(),
        channel_id,
        after,
        queue,
        subscription,
        shutdown,
        _guard: guard,
    };
    let keep_alive = KeepAlive::new()
        .interval(state.config().keep_alive_interval)
        .text("keep-alive");
    Ok(Sse::new(events(cursor))
        .keep_alive(keep_alive)
        .into_response())
}

/// The client's cursor: `Last-Event-ID` wins over `?after=`; neither means from the start.
fn cursor(headers: &HeaderMap, query: Option<&str>) -> Result<u64, ApiError> {
    let invalid = |what: &str| {
        ApiError::BadRequest(format!(
            "{what} must be a delivery id (a non-negative integer)"
        ))
    };
    if let Some(value) = headers.get(LAST_EVENT_ID_HEADER) {
        let text = value.to_str().map_err(|_| invalid("Last-Event-ID"))?.trim();
        // An empty Last-Event-ID is what a browser sends before it saw any id.
        if text.is_empty() {
            return Ok(0);
        }
        return text.parse().map_err(|_| invalid("Last-Event-ID"));
    }
    let after = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == advicly_relay_protocol::AFTER_QUERY_PARAMETER)
        .map(|(_, value)| value.into_owned());
    match after {
        Some(text) => text.parse().map_err(|_| invalid("after")),
        None => Ok(0),
    }
}

/// Counts this process's streams and refuses beyond the configured maximum.
struct SubscriberGuard {
    state: RelayState,
}

impl SubscriberGuard {
    fn enter(state: &RelayState) -> Result<Self, ApiError> {
        let counter = state.subscribers();
        let before = counter.fetch_add(1, Ordering::SeqCst);
        if before >= state.config().max_subscribers {
            counter.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::TooManySubscribers);
        }
        metrics::gauge!(relay_metrics::SUBSCRIBERS_CONNECTED).increment(1.0);
        Ok(Self {
            state: state.clone(),
        })
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.state.subscribers().fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(relay_metrics::SUBSCRIBERS_CONNECTED).decrement(1.0);
        tracing::debug!("subscriber left");
    }
}

struct Cursor {
    state: RelayState,
    channel_id: ChannelId,
    after: u64,
    queue: VecDeque<Event>,
    subscription: Subscription,
    shutdown: watch::Receiver<bool>,
    _guard: SubscriberGuard,
}

fn events(cursor: Cursor) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    futures::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next_event().await?;
        Some((Ok(event), cursor))
    })
}

impl Cursor {
    /// The next event, or `None` when the stream ends (channel deleted, shutdown, store failure).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if *self.shutdown.borrow() {
                return None;
            }
            // Seen before the read: a commit after this point wakes the wait below.
            self.subscription.mark_seen();
            let batch = match self
                .state
                .store()
                .read_after(&self.channel_id, self.after, READ_BATCH)
                .await
            {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    tracing::info!(channel_id = %self.channel_id, "stream ends: the channel was deleted");
                    return None;
                }
                Err(error) => {
                    // The client reconnects with its Last-Event-ID and loses nothing.
                    tracing::error!(channel_id = %self.channel_id, %error, "stream ends: the store failed");
                    return None;
                }
            };
            if let Some(gap) = batch.gap {
                let data = serde_json::to_string(&gap).expect("a gap serializes");
                self.queue
                    .push_back(Event::default().event(EVENT_GAP).data(data));
                self.after = gap.before - 1;
            }
            for delivery in &batch.deliveries {
                let data =
                    serde_json::to_string(&delivery.to_wire()).expect("a delivery serializes");
                self.queue.push_back(
                    Event::default()
                        .event(EVENT_DELIVERY)
                        .id(delivery.id.to_string())
                        .data(data),
                );
                self.after = delivery.id;
            }
            if !batch.deliveries.is_empty() {
                metrics::counter!(relay_metrics::DELIVERIES_OUT)
                    .increment(batch.deliveries.len() as u64);
            }
            if !self.queue.is_empty() {
                continue;
            }
            tokio::select! {
                () = self.subscription.changed() => {}
                _ = self.shutdown.changed() => {}
            }
        }
    }
}
