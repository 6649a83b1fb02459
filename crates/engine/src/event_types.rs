//! Keeping the event-type cache fresh: listed again when it is older than a day, or at once when
//! a stored meeting names a type the cache does not know. A failed listing never fails a sync:
//! the screens then show the meeting's own name until the next attempt.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

use advicly_calendly::CalendlyClient;
use advicly_core::domain::{AccountId, UserUri};
use advicly_core::store::Store;

use crate::error::EngineError;
use crate::events::EngineEvent;
use crate::mapping::{calendly_error, store_error};

/// How long a complete listing of event types counts as fresh.
pub const EVENT_TYPES_FRESH_FOR: Duration = Duration::hours(24);

/// Why the cache is listed again (for the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshReason {
    NeverListed,
    Stale,
    UnknownType,
    Asked,
}

/// Whether the cache of `account` must be listed again at `now`, and why.
pub(crate) fn refresh_reason(
    store: &Store,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Option<RefreshReason>, EngineError> {
    let refreshed_at = store
        .event_types_refreshed_at(account)
        .map_err(store_error)?;
    let Some(refreshed_at) = refreshed_at else {
        return Ok(Some(RefreshReason::NeverListed));
    };
    if now - refreshed_at >= EVENT_TYPES_FRESH_FOR {
        return Ok(Some(RefreshReason::Stale));
    }
    let unknown = store
        .unknown_event_type_uris(account)
        .map_err(store_error)?;
    Ok((!unknown.is_empty()).then_some(RefreshReason::UnknownType))
}

/// Lists the account's event types and stores them. Returns whether anything was listed.
/// `force` lists even a fresh cache.
pub(crate) async fn refresh_event_types(
    store: &Arc<Mutex<Store>>,
    client: &CalendlyClient,
    account: AccountId,
    user: &UserUri,
    events: &broadcast::Sender<EngineEvent>,
    force: bool,
    now: DateTime<Utc>,
) -> Result<bool, EngineError> {
    let reason = {
        let store = store.lock().expect("the store mutex is never poisoned");
        refresh_reason(&store, account, now)?
    };
    let Some(reason) = reason.or(force.then_some(RefreshReason::Asked)) else {
        return Ok(false);
    };
    let listing = client
        .list_event_types(user)
        .await
        .map_err(calendly_error)?;
    tracing::info!(
        ?reason,
        count = listing.event_types.len(),
        complete = listing.complete,
        "event types listed"
    );
    store
        .lock()
        .expect("the store mutex is never poisoned")
        .save_event_types(account, &listing.event_types, listing.complete, now)
        .map_err(store_error)?;
    // Lists and details now show names and colours where they showed nothing before.
    let _ = events.send(EngineEvent::MeetingsChanged);
    Ok(true)
}
