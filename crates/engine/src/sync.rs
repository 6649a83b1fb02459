//! One sync run: list events page by page, plan each page, fetch only the invitees the plan
//! asks for, apply each page in one transaction, then flag what vanished.
//!
//! The window is read in passes, the coming two weeks first, so upcoming meetings are usable
//! within seconds even when the rest of a long history is paced by Calendly's rate limit.
//! Vanished meetings are only flagged when every pass listed its slice to the end, and each one
//! only after Calendly answers 404 for it directly. An event whose invitees cannot be read is
//! stored with its error; the page and the run go on.

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use advicly_calendly::{CalendlyClient, CallStats, EventQuery, SortOrder};
use advicly_core::domain::{
    AccountId, ChangeSource, ConnectionState, EventUri, FetchedEvent, SyncWindow, UserUri,
};
use advicly_core::store::Store;
use advicly_core::sync::{
    plan_poll_page, plan_vanished, InviteeFreshness, InviteeReads, MeetingOperation, PagePlan,
    SyncCounts,
};

use crate::clock::Clock;
use crate::config::SyncWindows;
use crate::error::{sentence, EngineError};
use crate::events::{EngineEvent, SyncProgress, SyncReport, SyncRequest};
use crate::mapping::{calendly_error, store_error};

/// How many invitee lists are fetched at the same time.
pub const INVITEE_CONCURRENCY: usize = 16;

/// At most this many unreadable meetings outside a run's window are retried per sync.
const UNREADABLE_RETRIES_PER_SYNC: u32 = 50;

/// At most this many invitee lists per sync are re-read only for the freshness rule (no-shows,
/// group members); more wait for the next sync, the meetings closest to now first.
pub const FRESH_INVITEE_READS_PER_SYNC: u32 = 100;

/// Everything one sync run needs. Built by the engine for each run.
pub(crate) struct SyncJob {
    pub store: Arc<Mutex<Store>>,
    pub client: CalendlyClient,
    pub account: AccountId,
    pub user: UserUri,
    pub windows: SyncWindows,
    pub events: broadcast::Sender<EngineEvent>,
    pub cancel: CancellationToken,
    /// The latest progress, readable by `status()` while the sync runs.
    pub progress: Arc<Mutex<Option<SyncProgress>>>,
    /// `<data_dir>/sync.lock`: one sync at a time across processes sharing the store.
    pub lock_path: std::path::PathBuf,
    pub clock: Arc<dyn Clock>,
}

/// What a run accumulated so far; kept outside the fallible part so a failed run still
/// records what it did.
#[derive(Default)]
struct RunTally {
    counts: SyncCounts,
    progress: SyncProgress,
    /// Invitee lists read only for the freshness rule.
    invitee_refreshes: u32,
    /// Meetings stored with a read error in this run.
    unreadable: u64,
}

/// What became of one event's invitee read.
enum InviteeRead {
    Read(Vec<advicly_core::domain::FetchedInvitee>),
    /// The event vanished between listing and reading: stored without a complete read, so the
    /// next sync asks again.
    Gone,
    /// This event's invitees cannot be read (a 403 for an organisation the advisor left, a 5xx
    /// that keeps coming back): the meeting is stored with the reason.
    Failed(String),
}

/// Whether a failure concerns only the event asked about. Failures of the connection itself
/// (token, network, rate limit, missing scopes) stop the run instead.
fn concerns_only_this_event(error: &advicly_calendly::Error) -> bool {
    use advicly_calendly::Error;
    match error {
        Error::Forbidden {
            required_scopes, ..
        } => required_scopes.is_empty(),
        Error::Server { .. }
        | Error::InvalidRequest { .. }
        | Error::Decode { .. }
        | Error::InvalidUri { .. }
        | Error::NotFound { .. }
        | Error::AlreadyExists { .. } => true,
        Error::Unauthorized { .. }
        | Error::RateLimited { .. }
        | Error::Network { .. }
        | Error::Token(_) => false,
    }
}

impl SyncJob {
    fn with_store<T>(
        &self,
        operation: impl FnOnce(&mut Store) -> Result<T, advicly_core::error::StoreError>,
    ) -> Result<T, EngineError> {
        let mut store = self
            .store
            .lock()
            .expect("the store mutex is never poisoned");
        operation(&mut store).map_err(store_error)
    }

    fn publish_progress(&self, progress: SyncProgress) {
        *self.progress.lock().expect("progress mutex") = Some(progress);
        let _ = self.events.send(EngineEvent::SyncProgress(progress));
    }

    /// Runs the whole sync and records it as a sync run, successful or not.
    pub(crate) async fn run(self, request: SyncRequest) -> Result<SyncReport, EngineError> {
        // Another process (the CLI next to the desktop app) may be syncing the same store:
        // wait for it, so the two never interleave pages. The lock is released on drop.
        let _lock = self.acquire_process_lock().await?;
        // A disconnect may have run while this sync waited for the lock: never write into an
        // account that is no longer connected (its data may just have been wiped).
        let still_connected = self
            .with_store(|store| store.account(self.account))?
            .is_some_and(|row| row.connection_state == ConnectionState::Connected);
        if !still_connected {
            return Err(EngineError::NotConnected);
        }
        let started_at = self.clock.now();
        let last_full = self
            .with_store(|store| store.last_successful_full_sync(self.account))?
            .and_then(|run| run.finished_at);
        let kind = self
            .windows
            .kind_for(request.force_full, last_full, started_at);
        let window = self.windows.window(kind, started_at);
        let run_id =
            self.with_store(|store| store.begin_sync_run(self.account, kind, window, started_at))?;
        let _ = self.events.send(EngineEvent::SyncStarted { kind });
        self.publish_progress(SyncProgress::default());
        tracing::info!(kind = kind.as_str(), %window.start, %window.end, "sync started");

        let stats_before = self.client.stats();
        let mut tally = RunTally::default();
        let mut outcome = self.sync_window(window, started_at, &mut tally).await;
        if outcome.is_ok() {
            outcome = self.refresh_event_types(started_at).await;
        }
        let api_calls = api_calls_by_endpoint(&self.client.stats().since(&stats_before));
        let finished_at = self.clock.now();
        let error_text = outcome.as_ref().err().map(ToString::to_string);
        self.with_store(|store| {
            store.finish_sync_run(
                run_id,
                &tally.counts,
                &api_calls,
                error_text.as_deref(),
                finished_at,
            )
        })?;
        *self.progress.lock().expect("progress mutex") = None;
        match outcome {
            Ok(()) => {
                tracing::info!(
                    kind = kind.as_str(),
                    changed = tally.counts.changed(),
                    "sync finished"
                );
                Ok(SyncReport {
                    kind,
                    window,
                    started_at,
                    finished_at,
                    counts: tally.counts,
                    progress: tally.progress,
                    api_calls,
                    invitee_refreshes: u64::from(tally.invitee_refreshes),
                    unreadable: tally.unreadable,
                })
            }
            Err(error) => {
                tracing::warn!(kind = kind.as_str(), %error, "sync failed");
                Err(error)
            }
        }
    }

    async fn sync_window(
        &self,
        window: SyncWindow,
        now: DateTime<Utc>,
        tally: &mut RunTally,
    ) -> Result<(), EngineError> {
        // Taken before any page is applied: the meetings that must be seen again or be flagged.
        let stored_in_window =
            self.with_store(|store| store.stored_window_snapshot(self.account, window))?;
        let mut seen: HashSet<EventUri> = HashSet::new();
        // An unreadable list item without a URI could be any stored meeting: flagging vanished
        // meetings would then risk flagging one that still exists.
        let mut every_item_identified = true;

        for pass in self.windows.passes(window, now) {
            let query = EventQuery {
                user: self.user.clone(),
                organization: None,
                status: None,
                // A second of overlap at inner boundaries, so an event starting exactly on a
                // boundary is listed whatever Calendly's inclusive/exclusive rule is.
                min_start_time: if pass.start > window.start {
                    pass.start - Duration::seconds(1)
                } else {
                    pass.start
                },
                max_start_time: if pass.end < window.end {
                    pass.end + Duration::seconds(1)
                } else {
                    pass.end
                },
                // The past is read newest first, the future soonest first: closest to now first.
                sort: if pass.end <= now {
                    SortOrder::Descending
                } else {
                    SortOrder::Ascending
                },
                invitee_email: None,
            };
            let mut page_token: Option<String> = None;
            loop {
                if self.cancel.is_cancelled() {
                    return Err(EngineError::SyncCancelled);
                }
                let page = tokio::select! {
                    page = self.client.list_scheduled_events_page(&query, page_token.as_deref()) => {
                        page.map_err(calendly_error)?
                    }
                    _ = self.cancel.cancelled() => return Err(EngineError::SyncCancelled),
                };
                tally.progress.events += page.events.len() as u32;
                for skipped in &page.skipped {
                    match &skipped.uri {
                        Some(uri) => {
                            seen.insert(EventUri::new(uri.clone()));
                        }
                        None => every_item_identified = false,
                    }
                }
                self.sync_page(&page.events, now, tally).await?;
                seen.extend(page.events.iter().map(|event| event.uri.clone()));
                match page.next_page_token {
                    // Taking a repeated token as the end would leave the rest unread and look
                    // like meetings that vanished; following it would loop forever.
                    Some(next) if page_token.as_deref() == Some(next.as_str()) => {
                        return Err(EngineError::Internal {
                            message: "Calendly returned the same page of meetings twice, so the \
                                      listing stopped; nothing was marked deleted, and the next \
                                      sync reads the list again."
                                .to_owned(),
                        });
                    }
                    Some(next) => page_token = Some(next),
                    None => break,
                }
            }
        }

        if self.cancel.is_cancelled() {
            return Err(EngineError::SyncCancelled);
        }
        self.retry_unreadable_outside(&seen, now, tally).await?;
        if every_item_identified {
            let candidates = plan_vanished(&stored_in_window, &seen);
            self.confirm_vanished(candidates, now, tally).await?;
        } else {
            tracing::warn!(
                "some listed events could not be read; not flagging vanished meetings this time"
            );
        }
        Ok(())
    }

    /// Lists the event types when the cache is stale or a meeting names an unknown one
    /// (`crate::event_types`). Only a cancellation fails the sync; other failures are logged.
    async fn refresh_event_types(&self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let refresh = crate::event_types::refresh_event_types(
            &self.store,
            &self.client,
            self.account,
            &self.user,
            &self.events,
            false,
            now,
        );
        tokio::select! {
            result = refresh => {
                if let Err(error) = result {
                    tracing::warn!(%error, "event types could not be listed; meetings keep their own names for now");
                }
                Ok(())
            }
            _ = self.cancel.cancelled() => Err(EngineError::SyncCancelled),
        }
    }

    /// Meetings whose invitees could not be read last time but lie outside this run's window
    /// are read directly, so "retried next time" holds for them too. One that is gone (404) is
    /// flagged deleted: Calendly itself said so.
    async fn retry_unreadable_outside(
        &self,
        seen: &HashSet<EventUri>,
        now: DateTime<Utc>,
        tally: &mut RunTally,
    ) -> Result<(), EngineError> {
        let unreadable = self.with_store(|store| {
            store.meetings_with_read_errors(self.account, UNREADABLE_RETRIES_PER_SYNC)
        })?;
        let outside: Vec<MeetingOperation> = unreadable
            .into_iter()
            .filter(|uri| !seen.contains(uri))
            .map(MeetingOperation::MarkDeleted)
            .collect();
        if outside.is_empty() {
            return Ok(());
        }
        self.confirm_vanished(outside, now, tally).await
    }

    /// Asks Calendly about each meeting the listing did not show: only a 404 flags it deleted.
    /// One that is still there (a page that shifted under us) is applied like a listed one.
    async fn confirm_vanished(
        &self,
        candidates: Vec<MeetingOperation>,
        now: DateTime<Utc>,
        tally: &mut RunTally,
    ) -> Result<(), EngineError> {
        let mut confirmed_gone = Vec::new();
        let mut still_there = Vec::new();
        for candidate in candidates {
            if self.cancel.is_cancelled() {
                return Err(EngineError::SyncCancelled);
            }
            let uri = candidate.uri().clone();
            let answer = tokio::select! {
                answer = self.client.get_scheduled_event(&uri) => answer,
                _ = self.cancel.cancelled() => return Err(EngineError::SyncCancelled),
            };
            match answer {
                Ok(event) => still_there.push(event),
                Err(advicly_calendly::Error::NotFound { .. }) => confirmed_gone.push(candidate),
                Err(error) if concerns_only_this_event(&error) => {
                    tracing::warn!(%uri, %error, "could not confirm a vanished meeting; keeping it");
                }
                Err(error) => return Err(calendly_error(error)),
            }
        }
        if !still_there.is_empty() {
            tracing::info!(
                count = still_there.len(),
                "meetings the listing skipped are still in Calendly"
            );
            self.sync_page(&still_there, now, tally).await?;
        }
        if !confirmed_gone.is_empty() {
            let vanished = PagePlan {
                operations: confirmed_gone,
                ..PagePlan::default()
            };
            let outcome = self.with_store(|store| {
                store.apply_page(
                    self.account,
                    &vanished,
                    &HashMap::new(),
                    ChangeSource::Poll,
                    self.clock.now(),
                )
            })?;
            tally.counts.add(&outcome.counts);
            let _ = self.events.send(EngineEvent::MeetingsChanged);
        }
        Ok(())
    }

    /// Takes the data folder's sync lock, waiting (cancellably) while another process holds it.
    async fn acquire_process_lock(&self) -> Result<std::fs::File, EngineError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|error| EngineError::Store {
                message: format!(
                    "Could not open the sync lock {}: {error}.",
                    self.lock_path.display()
                ),
            })?;
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !announced {
                        tracing::info!("another Advicly process is syncing; waiting for it");
                        announced = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                        _ = self.cancel.cancelled() => return Err(EngineError::SyncCancelled),
                    }
                }
                Err(std::fs::TryLockError::Error(error)) => {
                    return Err(EngineError::Store {
                        message: format!("Could not lock {}: {error}.", self.lock_path.display()),
                    })
                }
            }
        }
    }

    /// Plans one page, fetches the invitees it needs, and applies it in one transaction.
    /// Cancellation drops the page before it is applied, so the store never holds half of it.
    async fn sync_page(
        &self,
        events: &[FetchedEvent],
        now: DateTime<Utc>,
        tally: &mut RunTally,
    ) -> Result<(), EngineError> {
        let uris: Vec<EventUri> = events.iter().map(|event| event.uri.clone()).collect();
        let stored = self.with_store(|store| store.stored_states(self.account, &uris))?;
        let plan = plan_poll_page(&stored, events, &InviteeFreshness::standard(now));

        let mut needed = plan.invitees_needed.clone();
        // The freshness rule's re-reads come out of a per-sync budget (pages come closest to
        // now first, so the most recent meetings get it).
        let budget_left = FRESH_INVITEE_READS_PER_SYNC.saturating_sub(tally.invitee_refreshes);
        let refreshes: Vec<EventUri> = plan
            .invitee_refreshes
            .iter()
            .take(budget_left as usize)
            .cloned()
            .collect();
        tally.invitee_refreshes += refreshes.len() as u32;
        needed.extend(refreshes);
        let start_times: HashMap<&EventUri, DateTime<Utc>> = events
            .iter()
            .map(|event| (&event.uri, event.start_time))
            .collect();
        // The meetings closest to now get their invitees first.
        needed.sort_by_key(|uri| {
            start_times
                .get(uri)
                .map(|start| (*start - now).num_seconds().abs())
                .unwrap_or(i64::MAX)
        });
        tally.progress.invitees_pending += needed.len() as u32;
        self.publish_progress(tally.progress);

        let reads = tokio::select! {
            reads = self.fetch_invitees(needed, tally) => reads?,
            _ = self.cancel.cancelled() => return Err(EngineError::SyncCancelled),
        };

        let outcome = self.with_store(|store| {
            store.apply_polled_page(self.account, &plan, &reads, self.clock.now())
        })?;
        tally.counts.add(&outcome.counts);
        tally.unreadable += outcome.unreadable;
        tally.progress.pages += 1;
        self.publish_progress(tally.progress);
        if outcome.changed_anything() {
            let _ = self.events.send(EngineEvent::MeetingsChanged);
        }
        Ok(())
    }

    /// Fetches the invitee lists of `needed` with bounded concurrency, reporting progress. A
    /// failure that concerns one event is kept as that event's error; any other stops the run.
    async fn fetch_invitees(
        &self,
        needed: Vec<EventUri>,
        tally: &mut RunTally,
    ) -> Result<InviteeReads, EngineError> {
        let client = &self.client;
        let mut fetches = stream::iter(needed)
            .map(|uri| async move {
                let read = match client.list_invitees(&uri).await {
                    Ok(invitees) => InviteeRead::Read(invitees),
                    Err(advicly_calendly::Error::NotFound { .. }) => InviteeRead::Gone,
                    Err(error) if concerns_only_this_event(&error) => {
                        tracing::warn!(%uri, %error, "could not read a meeting's invitees");
                        InviteeRead::Failed(sentence(&error.to_string()))
                    }
                    Err(error) => return Err(calendly_error(error)),
                };
                Ok((uri, read))
            })
            .buffer_unordered(INVITEE_CONCURRENCY);
        let mut reads = InviteeReads::default();
        while let Some((uri, read)) = fetches.try_next().await? {
            tally.progress.invitees += 1;
            tally.progress.invitees_pending = tally.progress.invitees_pending.saturating_sub(1);
            self.publish_progress(tally.progress);
            match read {
                InviteeRead::Read(list) => {
                    reads.lists.insert(uri, list);
                }
                InviteeRead::Gone => {}
                InviteeRead::Failed(reason) => {
                    reads.failures.insert(uri, reason);
                }
            }
        }
        Ok(reads)
    }
}

/// API calls of one run, keyed by endpoint family (`scheduled_events`, `invitees`, …), plus
/// the 429s, 5xx answers and retries it ran into. Zero entries are left out.
pub(crate) fn api_calls_by_endpoint(stats: &CallStats) -> BTreeMap<String, u64> {
    let entries = [
        ("users", stats.users),
        ("scheduled_events", stats.scheduled_events),
        ("invitees", stats.invitees),
        ("cancellation", stats.cancellations),
        ("webhook_subscriptions", stats.webhook_subscriptions),
        ("event_types", stats.event_types),
        ("rate_limited", stats.rate_limited),
        ("server_errors", stats.server_errors),
        ("network_errors", stats.network_errors),
        ("retries", stats.retries),
        ("token_refreshes", stats.token_refreshes),
    ];
    entries
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| (name.to_owned(), count))
        .collect()
}
