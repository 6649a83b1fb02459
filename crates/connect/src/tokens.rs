//! The token lifecycle of one account: hands out access tokens, refreshes them one at a time
//! across tasks and processes, and opens the circuit (account `needs_reconnect`) when refreshing
//! fails for good.
//!
//! A refresh takes, in this order: the in-process lock of the account (a tokio mutex shared by
//! every `TokenManager` of that account in the process), then an exclusive lock on
//! `<data_dir>/locks/token-refresh-<account>.lock` (taken on a blocking thread; it serialises the
//! app, the CLI and the timer), then re-reads the keychain and refreshes only if that is still
//! needed: the token the caller was given was rejected and the keychain still holds it, or less
//! than the refresh margin (10 minutes) is left. The new pair is written to the keychain before
//! it is handed out, because Calendly's refresh tokens are single use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use advicly_calendly::{TokenError, TokenProvider};
use advicly_core::domain::{AccountId, ConnectionState};
use advicly_core::Secret;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;

use crate::accounts::AccountStore;
use crate::config::{Clock, RefreshPolicy};
use crate::error::ConnectError;
use crate::keychain::{AccountKey, Keychain, TokenSet};
use crate::oauth::{OAuthEndpoints, TokenRequestFailure};

/// The reason stored when a personal access token is rejected.
pub const PERSONAL_TOKEN_REJECTED: &str = "The personal access token was rejected";

/// State shared by every `TokenManager` of one account in this process.
#[derive(Default)]
pub(crate) struct SharedAccountState {
    refresh_lock: tokio::sync::Mutex<()>,
    consecutive_failures: AtomicU32,
    circuit_open: AtomicBool,
}

impl SharedAccountState {
    /// Closes the circuit after a successful (re)connect.
    pub fn close_circuit(&self) {
        self.consecutive_failures.store(0, Ordering::SeqCst);
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
    /// circuit open, to prove the refresh token still works.
    Forced,
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

    /// The access token to use now, refreshing first when less than the margin is left.
    pub async fn current_access_token(&self) -> Result<Secret, TokenError> {
        let inner = &*self.inner;
        if self.circuit_is_open().await? {
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

    /// True while the circuit is open. The in-process flag avoids a database read per call;
    /// once it is set, the store decides, so a reconnect made by another process (the CLI
    /// handling the deep link while the app runs) closes it here too.
    async fn circuit_is_open(&self) -> Result<bool, TokenError> {
        let inner = &*self.inner;
        if !inner.shared.circuit_open.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let account_id = inner.account_id;
        let state = inner
            .accounts
            .with(move |store| store.account(account_id))
            .await
            .map_err(token_error)?
            .map(|row| row.connection_state);
        if state == Some(ConnectionState::Connected) {
            inner.shared.close_circuit();
            self.forget();
            return Ok(false);
        }
        Ok(true)
    }

    /// Proves the stored refresh token still works by using it (the connector's "reconnect
    /// without the browser"). Works with the circuit open; closes it on success.
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
        let _in_process = inner.shared.refresh_lock.lock().await;
        let _across_processes =
            FileLock::acquire(inner.lock_path.clone())
                .await
                .map_err(|error| TokenError::RefreshFailed {
                    message: error.to_string(),
                })?;

        if !matches!(reason, RefreshReason::Forced) {
            // The store is the truth across processes: another process may have opened the
            // circuit, or closed it by reconnecting.
            let account_id = inner.account_id;
            let state = inner
                .accounts
                .with(move |store| store.account(account_id))
                .await
                .map_err(token_error)?
                .map(|row| row.connection_state);
            match state {
                Some(ConnectionState::NeedsReconnect) => return Err(TokenError::Rejected),
                Some(ConnectionState::Disconnected) | None => return Err(TokenError::Missing),
                Some(ConnectionState::Connected) => inner.shared.close_circuit(),
            }
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
                self.open_circuit(PERSONAL_TOKEN_REJECTED).await;
                return Err(TokenError::Rejected);
            }
            self.remember(&stored);
            return Ok(stored.access_token);
        };
        let Some(oauth) = &inner.oauth else {
            return Err(TokenError::RefreshFailed {
                message: "this build has no OAuth client id, so the sign-in cannot be refreshed"
                    .into(),
            });
        };

        let mut last_failure = None;
        for attempt in 1..=inner.policy.max_attempts.max(1) {
            match oauth.refresh(&refresh_token, (inner.clock)()).await {
                Ok(fresh) => {
                    // Calendly has already revoked the old refresh token: save before use.
                    inner
                        .keychain
                        .save_token_set(&inner.account, &fresh)
                        .await
                        .map_err(token_error)?;
                    inner.shared.close_circuit();
                    self.remember(&fresh);
                    tracing::info!(account = %inner.account.as_str(), "refreshed the Calendly access token");
                    return Ok(fresh.access_token);
                }
                Err(failure @ TokenRequestFailure::InvalidGrant { .. }) => {
                    let reason = format!(
                        "{}. Reconnect the Calendly account to keep syncing",
                        failure.describe()
                    );
                    self.open_circuit(&reason).await;
                    return Err(TokenError::Rejected);
                }
                Err(TokenRequestFailure::Offline(message)) => {
                    // Being offline is not Calendly's verdict on the sign-in; it does not count.
                    return Err(TokenError::RefreshFailed {
                        message: format!("the token endpoint could not be reached: {message}"),
                    });
                }
                Err(failure) => {
                    let failures = inner
                        .shared
                        .consecutive_failures
                        .fetch_add(1, Ordering::SeqCst)
                        + 1;
                    tracing::warn!(
                        account = %inner.account.as_str(),
                        failures,
                        problem = %failure.describe(),
                        "refreshing the Calendly access token failed"
                    );
                    if failures >= inner.policy.failures_to_open_circuit {
                        let reason = format!(
                            "Refreshing the Calendly sign-in failed {failures} times in a row ({}). Reconnect the Calendly account",
                            failure.describe()
                        );
                        self.open_circuit(&reason).await;
                        return Err(TokenError::Rejected);
                    }
                    last_failure = Some(failure);
                    if attempt < inner.policy.max_attempts {
                        tokio::time::sleep(backoff(inner.policy.base_delay, attempt)).await;
                    }
                }
            }
        }
        Err(TokenError::RefreshFailed {
            message: last_failure
                .map(|failure| failure.describe())
                .unwrap_or_else(|| "no attempt was made".into()),
        })
    }

    /// Marks the account `needs_reconnect` with a plain reason; syncing pauses until a
    /// successful reconnect closes the circuit.
    async fn open_circuit(&self, reason: &str) {
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
    let exponential = base.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(10));
    let jitter_limit = (exponential.as_millis() as u64) / 2;
    let jitter = if jitter_limit == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=jitter_limit)
    };
    exponential + Duration::from_millis(jitter)
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
}
