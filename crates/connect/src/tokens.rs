//! The token lifecycle of one account: hands out access tokens, refreshes them one at a time
//! across tasks and processes, and keeps the sign-in alive through outages of Calendly's token
//! endpoint.
//!
//! A refresh takes, in this order: the in-process lock of the account (a tokio mutex shared by
//! every `TokenManager` of that account in the process), then an exclusive lock on
//! `<data_dir>/locks/token-refresh-<account>.lock` (taken on a blocking thread; it serialises the
//! app, the CLI and the timer), then re-reads the keychain and refreshes only if that is still
//! needed: the token the caller was given was rejected and the keychain still holds it, or less
//! than the refresh margin (10 minutes) is left. The new pair is written to the keychain before
//! it is handed out, because Calendly's refresh tokens are single use.
//!
//! Two different things can go wrong, and they are kept apart:
//! - **Calendly's verdict** on the grant (`invalid_grant`, `invalid_client`,
//!   `unauthorized_client`, a 401 on a personal access token) ends the sign-in: the account
//!   becomes `needs_reconnect`.
//! - **Transient failures** (timeouts, network errors, 5xx, 429, unreadable answers, any other
//!   OAuth error) never do. One refresh retries with exponential backoff and jitter; when all
//!   its attempts fail the *circuit opens* for a cool-down (doubling per failed trial, jittered,
//!   capped). The outage is recorded in the store (account setting [`OUTAGE_SETTING`]) so every
//!   process and `status` see it. After the cool-down the circuit is *half-open*: the next
//!   refresh makes one trial request, and success closes it. While it is open, an access token
//!   that has not expired yet is still handed out, so syncing goes on through the outage.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use advicly_calendly::{TokenError, TokenProvider};
use advicly_core::domain::{AccountId, ConnectionState};
use advicly_core::store::{SettingScope, Store};
use advicly_core::{Secret, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Local, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::accounts::AccountStore;
use crate::config::{Clock, RefreshPolicy};
use crate::error::ConnectError;
use crate::keychain::{AccountKey, Keychain, TokenSet};
use crate::oauth::{OAuthEndpoints, TokenRequestFailure};

/// The reason stored when a personal access token is rejected.
pub const PERSONAL_TOKEN_REJECTED: &str = "The personal access token was rejected";

/// The account setting that records an ongoing outage of Calendly's token endpoint.
pub const OUTAGE_SETTING: &str = "token_endpoint_outage";

/// An outage of Calendly's token endpoint for one account: the circuit is open until
/// `retry_at`, half-open after it. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEndpointOutage {
    /// When the first failed refresh of this outage happened.
    pub since: DateTime<Utc>,
    /// Refreshes (each with all its attempts) that failed in a row.
    pub failures: u32,
    /// When the next trial request may be made.
    pub retry_at: DateTime<Utc>,
    /// What the last failure was, in plain words.
    pub problem: String,
}

impl TokenEndpointOutage {
    /// True while the cool-down runs (no request is made); false once it is half-open.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        now < self.retry_at
    }

    /// "Calendly's sign-in service is not answering; retrying at 10:42" (local time).
    pub fn message(&self) -> String {
        sign_in_outage_message(self.retry_at)
    }
}

/// The sentence shown while the token endpoint is out: when the next trial happens, in local time.
pub fn sign_in_outage_message(retry_at: DateTime<Utc>) -> String {
    format!(
        "Calendly's sign-in service is not answering; retrying at {}",
        retry_at.with_timezone(&Local).format("%H:%M")
    )
}

/// The recorded outage of an account's token endpoint, if one is going on. A damaged record
/// reads as none (the next refresh simply tries).
pub fn token_endpoint_outage(
    store: &Store,
    account: AccountId,
) -> Result<Option<TokenEndpointOutage>, StoreError> {
    Ok(store
        .setting(SettingScope::Account(account), OUTAGE_SETTING)?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// State shared by every `TokenManager` of one account in this process.
#[derive(Default)]
pub(crate) struct SharedAccountState {
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
    /// Set when the account needs reconnecting (Calendly's verdict), so calls stop early.
    circuit_open: AtomicBool,
}

impl SharedAccountState {
    /// Forgets a "needs reconnect" verdict after a successful (re)connect.
    pub fn close_circuit(&self) {
        self.circuit_open.store(false, Ordering::SeqCst);
    }
}

/// One `SharedAccountState` per lock file, for the whole process.
pub(crate) fn shared_state(lock_path: &std::path::Path) -> Arc<SharedAccountState> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<SharedAccountState>>>> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Default::default);
    let mut registry = registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    registry.entry(lock_path.to_path_buf()).or_default().clone()
}

pub(crate) fn refresh_lock_path(data_dir: &std::path::Path, account: &AccountKey) -> PathBuf {
    data_dir
        .join("locks")
        .join(format!("token-refresh-{}.lock", account.as_str()))
}

/// Both refresh locks of an account (in-process, then across processes), held until dropped.
/// Disconnecting holds it, so no refresh can save a token pair after the disconnect.
pub(crate) struct RefreshLocks {
    _across_processes: FileLock,
    _in_process: tokio::sync::OwnedMutexGuard<()>,
}

/// Takes the refresh locks of an account, waiting for a refresh in any process to finish.
pub(crate) async fn lock_refreshes(
    data_dir: &std::path::Path,
    account: &AccountKey,
) -> Result<RefreshLocks, ConnectError> {
    let lock_path = refresh_lock_path(data_dir, account);
    let in_process = shared_state(&lock_path)
        .refresh_lock
        .clone()
        .lock_owned()
        .await;
    let across_processes = FileLock::acquire(lock_path).await?;
    Ok(RefreshLocks {
        _across_processes: across_processes,
        _in_process: in_process,
    })
}

/// Hands out access tokens for one account; implements [`TokenProvider`] for the Calendly client.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<TokenManagerInner>,
}

struct TokenManagerInner {
    account_id: AccountId,
    account: AccountKey,
    keychain: Keychain,
    oauth: Option<OAuthEndpoints>,
    accounts: AccountStore,
    shared: Arc<SharedAccountState>,
    lock_path: PathBuf,
    policy: RefreshPolicy,
    clock: Clock,
    /// The last access token handed out and its expiry (never the refresh token: that one is
    /// always re-read from the keychain under the lock).
    cached: Mutex<Option<(Secret, Option<DateTime<Utc>>)>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenManager")
            .field("account_id", &self.inner.account_id)
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

/// Why a refresh is attempted.
#[derive(Clone, Copy)]
enum RefreshReason<'a> {
    /// Less than the margin is left (or the caller was given nothing yet).
    Proactive,
    /// Calendly answered 401 to this token.
    Rejected(&'a Secret),
    /// A reconnect without the browser: refresh even if the token looks fine, even with the
    /// account marked `needs_reconnect`, to prove the refresh token still works.
    Forced,
}

/// What one refresh with all its attempts ended in.
enum RefreshOutcome {
    Refreshed(TokenSet),
    /// Calendly's verdict: the sign-in is over.
    Verdict(TokenRequestFailure),
    /// Every attempt failed in a way that may pass.
    Transient(TokenRequestFailure),
}

impl TokenManager {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        account_id: AccountId,
        account: AccountKey,
        keychain: Keychain,
        oauth: Option<OAuthEndpoints>,
        accounts: AccountStore,
        data_dir: &std::path::Path,
        policy: RefreshPolicy,
        clock: Clock,
    ) -> Self {
        let lock_path = refresh_lock_path(data_dir, &account);
        Self {
            inner: Arc::new(TokenManagerInner {
                shared: shared_state(&lock_path),
                account_id,
                account,
                keychain,
                oauth,
                accounts,
                lock_path,
                policy,
                clock,
                cached: Mutex::new(None),
            }),
        }
    }

    /// The local account this manager serves.
    pub fn account_id(&self) -> AccountId {
        self.inner.account_id
    }

    /// When the stored access token expires (`None`: a personal access token, or nothing stored).
    pub async fn token_expires_at(&self) -> Result<Option<DateTime<Utc>>, ConnectError> {
        Ok(self
            .inner
            .keychain
            .token_set(&self.inner.account)
            .await?
            .and_then(|tokens| tokens.expires_at))
    }

    /// The ongoing outage of Calendly's token endpoint for this account, if any.
    pub async fn outage(&self) -> Result<Option<TokenEndpointOutage>, ConnectError> {
        let account_id = self.inner.account_id;
        self.inner
            .accounts
            .with(move |store| token_endpoint_outage(store, account_id))
            .await
    }

    /// The access token to use now, refreshing first when less than the margin is left.
    pub async fn current_access_token(&self) -> Result<Secret, TokenError> {
        let inner = &*self.inner;
        if self.needs_reconnect().await? {
            return Err(TokenError::Rejected);
        }
        let now = (inner.clock)();
        if let Some(token) = self.cached_if_fresh(now) {
            return Ok(token);
        }
        let stored = inner
            .keychain
            .token_set(&inner.account)
            .await
            .map_err(token_error)?
            .ok_or(TokenError::Missing)?;
        if !self.needs_refresh(&stored, now) {
            self.remember(&stored);
            return Ok(stored.access_token);
        }
        self.refresh(RefreshReason::Proactive).await
    }

    /// True while the account needs reconnecting. The in-process flag avoids a database read per
    /// call; once it is set, the store decides, so a reconnect made by another process (the CLI
    /// handling the deep link while the app runs) clears it here too.
    async fn needs_reconnect(&self) -> Result<bool, TokenError> {
        let inner = &*self.inner;
        if !inner.shared.circuit_open.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if self.stored_state().await? == Some(ConnectionState::Connected) {
            inner.shared.close_circuit();
            self.forget();
            return Ok(false);
        }
        Ok(true)
    }

    /// The account's connection state in the store (`None`: the row is gone).
    async fn stored_state(&self) -> Result<Option<ConnectionState>, TokenError> {
        let account_id = self.inner.account_id;
        Ok(self
            .inner
            .accounts
            .with(move |store| store.account(account_id))
            .await
            .map_err(token_error)?
            .map(|row| row.connection_state))
    }

    /// Proves the stored refresh token still works by using it (the connector's "reconnect
    /// without the browser"). Works on an account marked `needs_reconnect`; a token-endpoint
    /// cool-down does not stop it (the advisor asked), but it makes a single trial request.
    pub(crate) async fn force_refresh(&self) -> Result<Secret, TokenError> {
        self.refresh(RefreshReason::Forced).await
    }

    fn cached_if_fresh(&self, now: DateTime<Utc>) -> Option<Secret> {
        let cached = self.inner.cached.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((token, None)) => Some(token.clone()),
            Some((token, Some(expires_at)))
                if *expires_at - now > self.inner.policy.refresh_margin =>
            {
                Some(token.clone())
            }
            _ => None,
        }
    }

    fn remember(&self, tokens: &TokenSet) {
        *self.inner.cached.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((tokens.access_token.clone(), tokens.expires_at));
    }

    fn forget(&self) {
        *self.inner.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn needs_refresh(&self, tokens: &TokenSet, now: DateTime<Utc>) -> bool {
        tokens
            .expires_at
            .is_some_and(|expires_at| expires_at - now <= self.inner.policy.refresh_margin)
    }

    async fn refresh(&self, reason: RefreshReason<'_>) -> Result<Secret, TokenError> {
        let inner = &*self.inner;
        let _in_process = inner.shared.refresh_lock.clone().lock_owned().await;
        let _across_processes =
            FileLock::acquire(inner.lock_path.clone())
                .await
                .map_err(|error| TokenError::RefreshFailed {
                    message: error.to_string(),
                })?;

        // The store is the truth across processes: another process may have marked the account
        // for reconnecting, reconnected it, or disconnected it while this task waited.
        match (self.stored_state().await?, reason) {
            (Some(ConnectionState::Disconnected) | None, _) => return Err(TokenError::Missing),
            (Some(ConnectionState::NeedsReconnect), RefreshReason::Forced) => {}
            (Some(ConnectionState::NeedsReconnect), _) => return Err(TokenError::Rejected),
            (Some(ConnectionState::Connected), _) => inner.shared.close_circuit(),
        }

        let stored = inner
            .keychain
            .token_set(&inner.account)
            .await
            .map_err(token_error)?
            .ok_or(TokenError::Missing)?;
        let now = (inner.clock)();
        let still_needed = match reason {
            RefreshReason::Forced => true,
            RefreshReason::Proactive => self.needs_refresh(&stored, now),
            RefreshReason::Rejected(rejected) => {
                *rejected == stored.access_token || self.needs_refresh(&stored, now)
            }
        };
        if !still_needed {
            // Someone else refreshed while this task waited for the locks.
            self.remember(&stored);
            return Ok(stored.access_token);
        }

        let Some(refresh_token) = stored.refresh_token.clone() else {
            // A personal access token: nothing to refresh with.
            if matches!(reason, RefreshReason::Rejected(_)) {
                self.mark_needs_reconnect(PERSONAL_TOKEN_REJECTED).await;
                return Err(TokenError::Rejected);
            }
            self.remember(&stored);
            return Ok(stored.access_token);
        };
        let Some(oauth) = &inner.oauth else {
            return Err(TokenError::RefreshFailed {
                message: "no OAuth client id is configured, so the sign-in cannot be refreshed; set one in Settings or with `advicly config set client_id …`"
                    .into(),
            });
        };

        let outage = self.outage().await.map_err(token_error)?;
        let attempts = match &outage {
            // Open: no request until the cool-down ends, unless the advisor asked to reconnect.
            Some(outage) if outage.is_open_at(now) && !matches!(reason, RefreshReason::Forced) => {
                return self.ride_out(&stored, reason, now, outage);
            }
            // Half-open (or a reconnect during the cool-down): one trial request.
            Some(_) => 1,
            None => inner.policy.max_attempts.max(1),
        };

        match self.request_new_pair(oauth, &refresh_token, attempts).await {
            RefreshOutcome::Refreshed(fresh) => {
                // Calendly has already revoked the old refresh token: save before use.
                inner
                    .keychain
                    .save_token_set(&inner.account, &fresh)
                    .await
                    .map_err(token_error)?;
                if outage.is_some() {
                    self.record_outage(None).await;
                    tracing::info!(account = %inner.account.as_str(), "Calendly's sign-in service answers again; the circuit is closed");
                }
                inner.shared.close_circuit();
                self.remember(&fresh);
                tracing::info!(account = %inner.account.as_str(), "refreshed the Calendly access token");
                Ok(fresh.access_token)
            }
            RefreshOutcome::Verdict(failure) => {
                if outage.is_some() {
                    self.record_outage(None).await;
                }
                let reason = format!(
                    "{}. Reconnect the Calendly account to keep syncing",
                    failure.describe()
                );
                self.mark_needs_reconnect(&reason).await;
                Err(TokenError::Rejected)
            }
            RefreshOutcome::Transient(failure) => {
                let failures = outage.as_ref().map_or(0, |outage| outage.failures) + 1;
                let now = (inner.clock)();
                let opened = TokenEndpointOutage {
                    since: outage.as_ref().map_or(now, |outage| outage.since),
                    failures,
                    retry_at: now
                        .checked_add_signed(
                            chrono::Duration::from_std(cooldown(&inner.policy, failures))
                                .unwrap_or(chrono::Duration::minutes(10)),
                        )
                        .unwrap_or(now),
                    problem: failure.describe(),
                };
                tracing::warn!(
                    account = %inner.account.as_str(),
                    failures,
                    retry_at = %opened.retry_at,
                    problem = %opened.problem,
                    "refreshing the Calendly access token failed; the circuit is open until the cool-down ends"
                );
                self.record_outage(Some(&opened)).await;
                self.ride_out(&stored, reason, now, &opened)
            }
        }
    }

    /// During an outage: the stored access token while it is still valid (a proactive refresh
    /// was only early), otherwise a transient error that says when the next trial happens.
    fn ride_out(
        &self,
        stored: &TokenSet,
        reason: RefreshReason<'_>,
        now: DateTime<Utc>,
        outage: &TokenEndpointOutage,
    ) -> Result<Secret, TokenError> {
        let still_valid = stored.expires_at.is_some_and(|expires_at| expires_at > now);
        if matches!(reason, RefreshReason::Proactive) && still_valid {
            self.remember_until_retry(stored, outage);
            return Ok(stored.access_token.clone());
        }
        Err(TokenError::RefreshFailed {
            message: outage.message(),
        })
    }

    /// Caches a token that is inside the refresh margin only until the next trial, so calls in
    /// between neither take the locks nor read the store.
    fn remember_until_retry(&self, stored: &TokenSet, outage: &TokenEndpointOutage) {
        let margin = self.inner.policy.refresh_margin;
        let usable_until = stored
            .expires_at
            .map(|expires_at| expires_at.min(outage.retry_at))
            .and_then(|until| until.checked_add_signed(margin));
        *self.inner.cached.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((stored.access_token.clone(), usable_until));
    }

    /// Up to `attempts` refresh requests with exponential backoff and jitter in between; stops
    /// at the first success or verdict.
    async fn request_new_pair(
        &self,
        oauth: &OAuthEndpoints,
        refresh_token: &Secret,
        attempts: u32,
    ) -> RefreshOutcome {
        let inner = &*self.inner;
        let mut attempt = 1;
        loop {
            match oauth.refresh(refresh_token, (inner.clock)()).await {
                Ok(fresh) => return RefreshOutcome::Refreshed(fresh),
                Err(failure @ TokenRequestFailure::Verdict { .. }) => {
                    return RefreshOutcome::Verdict(failure)
                }
                Err(failure) => {
                    tracing::warn!(
                        account = %inner.account.as_str(),
                        attempt,
                        problem = %failure.describe(),
                        "a refresh request to Calendly failed"
                    );
                    if attempt >= attempts {
                        return RefreshOutcome::Transient(failure);
                    }
                    tokio::time::sleep(backoff(inner.policy.base_delay, attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Writes (or with `None` clears) the outage record in the store. A store that cannot be
    /// written only costs the record; the refresh result stands.
    async fn record_outage(&self, outage: Option<&TokenEndpointOutage>) {
        let account_id = self.inner.account_id;
        let json = outage.and_then(|outage| serde_json::to_string(outage).ok());
        let written = self
            .inner
            .accounts
            .with(move |store| match json {
                Some(json) => {
                    store.set_setting(SettingScope::Account(account_id), OUTAGE_SETTING, &json)
                }
                None => store.remove_setting(SettingScope::Account(account_id), OUTAGE_SETTING),
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not record the state of Calendly's sign-in service");
        }
    }

    /// Marks the account `needs_reconnect` with a plain reason; syncing pauses until a
    /// successful reconnect clears it. Only Calendly's verdict leads here.
    async fn mark_needs_reconnect(&self, reason: &str) {
        let inner = &*self.inner;
        inner.shared.circuit_open.store(true, Ordering::SeqCst);
        self.forget();
        tracing::warn!(account = %inner.account.as_str(), reason, "the Calendly connection needs reconnecting");
        let account_id = inner.account_id;
        let reason = reason.to_owned();
        let now = (inner.clock)();
        let stored = inner
            .accounts
            .with(move |store| {
                store.set_connection_state(
                    account_id,
                    ConnectionState::NeedsReconnect,
                    Some(&reason),
                    now,
                )
            })
            .await;
        if let Err(error) = stored {
            tracing::error!(%error, "could not record that the account needs reconnecting");
        }
    }
}

#[async_trait]
impl TokenProvider for TokenManager {
    async fn access_token(&self) -> Result<Secret, TokenError> {
        self.current_access_token().await
    }

    async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret, TokenError> {
        self.forget();
        self.refresh(RefreshReason::Rejected(rejected)).await
    }
}

/// Exponential backoff with up to 50 % jitter: base, 2×base, 4×base, …
fn backoff(base: Duration, attempt: u32) -> Duration {
    with_jitter(base.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(10)))
}

/// The cool-down after the `failures`-th failed refresh in a row: the base doubled per failure,
/// capped, plus up to 50 % jitter (so many machines do not retry in step).
fn cooldown(policy: &RefreshPolicy, failures: u32) -> Duration {
    with_jitter(
        policy
            .cooldown_base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(policy.cooldown_max),
    )
}

fn with_jitter(delay: Duration) -> Duration {
    let jitter_limit = u64::try_from(delay.as_millis() / 2).unwrap_or(u64::MAX);
    let jitter = if jitter_limit == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=jitter_limit)
    };
    delay.saturating_add(Duration::from_millis(jitter))
}

fn token_error(error: ConnectError) -> TokenError {
    match error {
        ConnectError::KeychainUnavailable { message } => TokenError::StoreUnavailable { message },
        other => TokenError::RefreshFailed {
            message: other.to_string(),
        },
    }
}

/// An exclusive lock on a file, held until dropped (closing the file releases it).
pub(crate) struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    pub(crate) async fn acquire(path: PathBuf) -> Result<Self, ConnectError> {
        tokio::task::spawn_blocking(move || {
            let io_error = |source| ConnectError::DataFolder {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_error)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io_error)?;
            file.lock().map_err(io_error)?;
            Ok(Self { _file: file })
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_jitters_by_at_most_half() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4u32 {
            let delay = backoff(base, attempt);
            let floor = base * (1 << (attempt - 1));
            // The delay grows exponentially and the jitter never exceeds half of it.
            assert!(
                delay >= floor && delay <= floor + floor / 2,
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn cooldowns_double_per_failed_trial_up_to_the_cap() {
        let policy = RefreshPolicy {
            cooldown_base: Duration::from_secs(30),
            cooldown_max: Duration::from_secs(600),
            ..RefreshPolicy::default()
        };
        for (failures, floor) in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (40, 600)] {
            let delay = cooldown(&policy, failures);
            let floor = Duration::from_secs(floor);
            // Each failed trial waits twice as long (jittered by up to half), never past the cap.
            assert!(
                delay >= floor && delay <= floor + floor / 2,
                "{failures} failures: {delay:?}"
            );
        }
    }

    #[test]
    fn the_outage_sentence_names_the_local_retry_time() {
        let retry_at = Utc::now();
        let expected = retry_at.with_timezone(&Local).format("%H:%M").to_string();
        // The advisor reads a wall-clock time, not a UTC timestamp.
        assert_eq!(
            sign_in_outage_message(retry_at),
            format!("Calendly's sign-in service is not answering; retrying at {expected}")
        );
    }
}
