//! Pending sign-ins: what `begin` started and `complete_callback` finishes, surviving a restart.
//!
//! On Linux a deep link may start a fresh process, so the pending sign-in cannot live in memory.
//! The PKCE verifier is a secret and goes to the keychain; the rest (a SHA-256 digest of the
//! `state`, the redirect URI and the start time) goes to `<data_dir>/oauth-pending.json`, which
//! is read and rewritten under an exclusive lock on `<data_dir>/oauth-pending.lock`, so the app
//! and the CLI can race on the same callback and exactly one of them wins. A pending sign-in is
//! valid for 10 minutes and can be used once; used digests are remembered for an hour so a
//! second use is reported as "already used" rather than "unknown".

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use advicly_core::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::ConnectError;
use crate::keychain::{digest_hex, Keychain, KeychainItem};

pub const PENDING_FILE_NAME: &str = "oauth-pending.json";
const PENDING_LOCK_NAME: &str = "oauth-pending.lock";

/// A pending sign-in taken out of the file, ready for the token exchange.
pub(crate) struct PendingAuthorization {
    pub verifier: Secret,
    pub redirect_uri: Url,
}

#[derive(Default, Serialize, Deserialize)]
struct PendingFile {
    #[serde(default)]
    pending: Vec<PendingRecord>,
    #[serde(default)]
    consumed: Vec<ConsumedRecord>,
}

#[derive(Clone, Serialize, Deserialize)]
struct PendingRecord {
    state_digest: String,
    redirect_uri: String,
    started_at: DateTime<Utc>,
}

#[derive(Clone, Serialize, Deserialize)]
struct ConsumedRecord {
    state_digest: String,
    consumed_at: DateTime<Utc>,
}

enum Taken {
    Found(PendingRecord),
    Reused,
    Unknown,
}

#[derive(Clone)]
pub(crate) struct PendingAuthorizations {
    data_dir: PathBuf,
    keychain: Keychain,
    lifetime: chrono::Duration,
}

impl PendingAuthorizations {
    pub fn new(data_dir: PathBuf, keychain: Keychain, lifetime: chrono::Duration) -> Self {
        Self {
            data_dir,
            keychain,
            lifetime,
        }
    }

    /// Records a started sign-in. The verifier goes to the keychain first, so when the keychain
    /// is unavailable nothing at all is written.
    pub async fn start(
        &self,
        state: &str,
        verifier: &Secret,
        redirect_uri: &Url,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectError> {
        let state_digest = digest_hex(state);
        self.keychain
            .set(
                &KeychainItem::PkceVerifier {
                    state_digest: state_digest.clone(),
                },
                verifier,
            )
            .await?;
        let record = PendingRecord {
            state_digest,
            redirect_uri: redirect_uri.to_string(),
            started_at: now,
        };
        let lifetime = self.lifetime;
        let expired = self
            .update(move |file| {
                let expired = prune(file, now, lifetime);
                file.pending.push(record);
                expired
            })
            .await?;
        // Verifiers of sign-ins nobody finished are useless; remove them.
        for state_digest in expired {
            self.keychain
                .delete(&KeychainItem::PkceVerifier { state_digest })
                .await?;
        }
        Ok(())
    }

    /// Takes the pending sign-in of `state` out (single use) and returns it with its verifier.
    pub async fn take(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<PendingAuthorization, ConnectError> {
        let state_digest = digest_hex(state);
        let lifetime = self.lifetime;
        let wanted = state_digest.clone();
        let taken = self
            .update(move |file| {
                if file
                    .consumed
                    .iter()
                    .any(|record| record.state_digest == wanted)
                {
                    return Taken::Reused;
                }
                let Some(position) = file
                    .pending
                    .iter()
                    .position(|record| record.state_digest == wanted)
                else {
                    return Taken::Unknown;
                };
                let record = file.pending.remove(position);
                file.consumed.push(ConsumedRecord {
                    state_digest: wanted.clone(),
                    consumed_at: now,
                });
                prune(file, now, lifetime);
                Taken::Found(record)
            })
            .await?;
        let record = match taken {
            Taken::Found(record) => record,
            Taken::Reused => {
                return Err(ConnectError::OAuthFailed {
                    message: "This sign-in link was already used. Each link works once; start connecting again from Advicly".into(),
                })
            }
            Taken::Unknown => {
                return Err(ConnectError::OAuthFailed {
                    message: "This sign-in link does not belong to a sign-in started in this Advicly (its state is unknown). Start connecting again from Advicly".into(),
                })
            }
        };
        let verifier_item = KeychainItem::PkceVerifier { state_digest };
        let verifier = self.keychain.get(&verifier_item).await?;
        self.keychain.delete(&verifier_item).await?;
        if now - record.started_at > self.lifetime || record.started_at > now {
            return Err(ConnectError::OAuthFailed {
                message: format!(
                    "This sign-in link has expired (sign-ins must be finished within {} minutes). Start connecting again from Advicly",
                    self.lifetime.num_minutes()
                ),
            });
        }
        let verifier = verifier.ok_or_else(|| ConnectError::OAuthFailed {
            message: "The saved part of this sign-in is missing from the keychain. Start connecting again from Advicly".into(),
        })?;
        let redirect_uri =
            Url::parse(&record.redirect_uri).map_err(|_| ConnectError::OAuthFailed {
                message:
                    "The saved part of this sign-in is damaged. Start connecting again from Advicly"
                        .into(),
            })?;
        Ok(PendingAuthorization {
            verifier,
            redirect_uri,
        })
    }

    /// Drops the pending sign-in of `state`, if any (after Calendly reported an error for it).
    pub async fn discard(&self, state: &str, now: DateTime<Utc>) -> Result<(), ConnectError> {
        let state_digest = digest_hex(state);
        let wanted = state_digest.clone();
        self.update(move |file| {
            let before = file.pending.len();
            file.pending.retain(|record| record.state_digest != wanted);
            if file.pending.len() != before {
                file.consumed.push(ConsumedRecord {
                    state_digest: wanted.clone(),
                    consumed_at: now,
                });
            }
        })
        .await?;
        self.keychain
            .delete(&KeychainItem::PkceVerifier { state_digest })
            .await
    }

    /// Reads, changes and atomically rewrites the file under the cross-process lock, on a
    /// blocking thread.
    async fn update<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut PendingFile) -> T + Send + 'static,
    ) -> Result<T, ConnectError> {
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let io_error = |path: &Path| {
                let path = path.to_path_buf();
                move |source| ConnectError::DataFolder { path, source }
            };
            advicly_core::store::create_private_folder(&data_dir).map_err(io_error(&data_dir))?;
            let lock_path = data_dir.join(PENDING_LOCK_NAME);
            let lock = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(io_error(&lock_path))?;
            lock.lock().map_err(io_error(&lock_path))?;
            let path = data_dir.join(PENDING_FILE_NAME);
            let mut file: PendingFile = match fs::read(&path) {
                // A damaged file only loses pending sign-ins; the advisor starts again.
                Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    PendingFile::default()
                }
                Err(error) => return Err(io_error(&path)(error)),
            };
            let outcome = change(&mut file);
            let json = serde_json::to_vec_pretty(&file)
                .map_err(|error| ConnectError::Internal(error.to_string()))?;
            let temporary = data_dir.join(format!("{PENDING_FILE_NAME}.tmp"));
            {
                let mut handle = fs::File::create(&temporary).map_err(io_error(&temporary))?;
                handle.write_all(&json).map_err(io_error(&temporary))?;
                handle.sync_all().map_err(io_error(&temporary))?;
            }
            fs::rename(&temporary, &path).map_err(io_error(&path))?;
            drop(lock);
            Ok(outcome)
        })
        .await?
    }
}

/// Removes expired pending sign-ins (returning their digests) and consumed records older than
/// an hour.
fn prune(file: &mut PendingFile, now: DateTime<Utc>, lifetime: chrono::Duration) -> Vec<String> {
    let mut expired = Vec::new();
    file.pending.retain(|record| {
        let keep = now - record.started_at <= lifetime;
        if !keep {
            expired.push(record.state_digest.clone());
        }
        keep
    });
    file.consumed
        .retain(|record| now - record.consumed_at <= chrono::Duration::hours(1));
    expired
}
