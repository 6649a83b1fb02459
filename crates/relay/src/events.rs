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
use axum::http::header::{self, HeaderValue};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;

use crate::api::{authorize, ApiError};
use crate::metrics as relay_metrics;
use crate::store::{ChannelId, StoredDelivery};
use crate::wake::{Committed, PreparedDelivery, Subscription, Wakeups};
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
    let keep_alive = Box::pin(tokio::time::sleep(state.config().keep_alive_interval));
    let mut queue = VecDeque::new();
    queue.push_back(Bytes::from(format!(
        ": connected\nretry: {}\n\n",
        RECONNECT_AFTER.as_millis()
    )));
    let cursor = Cursor {
        state: state.clone(),
        channel_id,
        after,
        queue,
        subscription,
        keep_alive,
        deliveries_out: metrics::counter!(relay_metrics::DELIVERIES_OUT),
        needs_read: true,
        last_read_from_store: None,
        _guard: guard,
    };
    let mut response = axum::body::Body::from_stream(events(cursor)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    // Proxies such as nginx must pass events on at once.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The largest delivery id a store can hold (both keep ids as signed 64-bit integers).
const LARGEST_ID: u64 = i64::MAX as u64;

/// The client's cursor: `Last-Event-ID` wins over `?after=`; neither means from the start.
fn cursor(headers: &HeaderMap, query: Option<&str>) -> Result<u64, ApiError> {
    let invalid = |what: &str| {
        ApiError::BadRequest(format!(
            "{what} must be a delivery id (an integer from 0 to {LARGEST_ID})"
        ))
    };
    let id = |what: &str, text: &str| {
        text.parse::<u64>()
            .ok()
            .filter(|id| *id <= LARGEST_ID)
            .ok_or_else(|| invalid(what))
    };
    if let Some(value) = headers.get(LAST_EVENT_ID_HEADER) {
        let text = value.to_str().map_err(|_| invalid("Last-Event-ID"))?.trim();
        // An empty Last-Event-ID is what a browser sends before it saw any id.
        if text.is_empty() {
            return Ok(0);
        }
        return id("Last-Event-ID", text);
    }
    let after = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == advicly_relay_protocol::AFTER_QUERY_PARAMETER)
        .map(|(_, value)| value.into_owned());
    match after {
        Some(text) => id("after", &text),
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
    queue: VecDeque<Bytes>,
    subscription: Subscription,
    /// When the next keep-alive comment is due: every interval, whatever else was sent (one
    /// timer per stream for its whole life, not one per wait).
    keep_alive: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Deliveries sent, counted once per stream instead of looked up per delivery.
    deliveries_out: metrics::Counter,
    /// Whether something may have been committed since the last read.
    needs_read: bool,
    /// What the hub had said when this stream last read the store to its end (`None`: never
    /// yet, or the store had more than one batch).
    last_read_from_store: Option<Committed>,
    _guard: SubscriberGuard,
}

/// The SSE comment sent when a stream has been idle for the keep-alive interval.
const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// One `event: delivery` frame. Compact JSON never contains a raw newline, so the data is one
/// `data:` line.
/// Tells the subscribers of `channel_id` in this process about a committed delivery: with its
/// frame, serialized once for all of them, when anyone streams the channel; else only its id.
pub(crate) fn announce(wakeups: &Wakeups, channel_id: &ChannelId, delivery: &StoredDelivery) {
    if wakeups.is_watched(channel_id) {
        let frame = delivery_frame(delivery);
        wakeups.publish(
            channel_id,
            PreparedDelivery {
                id: delivery.id,
                frame,
            },
        );
    } else {
        wakeups.wake(channel_id, delivery.id);
    }
}

pub(crate) fn delivery_frame(delivery: &StoredDelivery) -> Bytes {
    let data = serde_json::to_string(&delivery.to_wire()).expect("a delivery serializes");
    Bytes::from(format!(
        "event: {EVENT_DELIVERY}\nid: {}\ndata: {data}\n\n",
        delivery.id
    ))
}

fn gap_frame(gap: &advicly_relay_protocol::Gap) -> Bytes {
    let data = serde_json::to_string(gap).expect("a gap serializes");
    Bytes::from(format!("event: {EVENT_GAP}\ndata: {data}\n\n"))
}

fn events(cursor: Cursor) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    futures::stream::unfold(cursor, |mut cursor| async move {
        let frame = cursor.next_frame().await?;
        Some((Ok(frame), cursor))
    })
}

impl Cursor {
    /// The next frame, or `None` when the stream ends (channel deleted, shutdown, store failure).
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            // Shutdown wakes every subscription (`RelayState::begin_shutdown`), so a waiting
            // stream gets here at once.
            if self.state.is_shutting_down() {
                return None;
            }
            if self.needs_read {
                if !self.read().await {
                    return None;
                }
                if !self.queue.is_empty() {
                    // There may be more: read again before waiting.
                    continue;
                }
                self.needs_read = false;
            }
            tokio::select! {
                () = self.subscription.changed() => self.needs_read = true,
                () = self.keep_alive.as_mut() => {
                    // Nothing changed, so nothing to read: just the comment.
                    self.queue.push_back(Bytes::from_static(KEEP_ALIVE_FRAME));
                    let next = tokio::time::Instant::now() + self.state.config().keep_alive_interval;
                    self.keep_alive.as_mut().reset(next);
                }
            }
        }
    }

    /// Queues what the cursor is owed now; `false` when the stream must end.
    async fn read(&mut self) -> bool {
        // Seen before the read: a commit after this point wakes the wait below.
        let known = self.subscription.mark_seen();
        // Only deliveries since the last store read: anything else (a deletion, a drop) is for
        // the store to tell.
        let only_new_deliveries = self
            .last_read_from_store
            .is_some_and(|read| read.other_changes == known.other_changes);
        if only_new_deliveries {
            let recent = self.subscription.recent_after(self.after, READ_BATCH);
            for delivery in &recent {
                // A reference-counted clone: the fan-out shares one frame.
                self.queue.push_back(delivery.frame.clone());
                self.after = delivery.id;
            }
            if !recent.is_empty() {
                self.deliveries_out.increment(recent.len() as u64);
            }
            if self.after >= known.newest_id {
                // Caught up with everything committed so far: no store read.
                self.needs_read = false;
                return true;
            }
            if !recent.is_empty() {
                return true;
            }
        }

        let batch = match self
            .state
            .store()
            .read_after(&self.channel_id, self.after, READ_BATCH)
            .await
        {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                tracing::info!(channel_id = %self.channel_id, "stream ends: the channel was deleted");
                return false;
            }
            Err(error) => {
                // The client reconnects with its Last-Event-ID and loses nothing.
                tracing::error!(channel_id = %self.channel_id, %error, "stream ends: the store failed");
                return false;
            }
        };
        // A short batch is the end of what the store holds; a full one may have more behind it.
        self.last_read_from_store = (batch.deliveries.len() < READ_BATCH).then_some(known);
        if let Some(gap) = batch.gap {
            self.queue.push_back(gap_frame(&gap));
            self.after = gap.before - 1;
        }
        for delivery in &batch.deliveries {
            self.queue.push_back(delivery_frame(delivery));
            self.after = delivery.id;
        }
        if !batch.deliveries.is_empty() {
            self.deliveries_out.increment(batch.deliveries.len() as u64);
        }
        true
    }
}
