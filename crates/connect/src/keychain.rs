//! The only module that touches the OS keychain (the Secret Service on Linux).
//!
//! Every item lives under one *service* name passed in by the caller (`com.advicly.desktop`,
//! `com.advicly.desktop.dev`, or a unique name per test), so a dev build never overwrites a real
//! user's tokens. The item's *user* attribute names the account and the kind of secret:
//!
//! | user attribute                              | value                                        |
//! |---------------------------------------------|----------------------------------------------|
//! | `account:<calendly-user-id>:oauth-tokens`   | JSON `{access_token, refresh_token?, expires_at?}` |
//! | `account:<calendly-user-id>:webhook-signing-key` | the signing key of our webhook subscription |
//! | `account:<calendly-user-id>:relay-token`    | reserved for the relay's per-account token    |
//! | `pending:<sha256(state)[..32]>:pkce-verifier` | the PKCE verifier of a pending sign-in       |
//!
//! The access token, refresh token and expiry form one item, so a crash between two writes can
//! never pair a new access token with a used (revoked) refresh token.
//!
//! Calls run on blocking threads (the Secret Service client blocks on D-Bus) under a timeout, so
//! a keyring waiting for an unlock prompt can never hang the async runtime. "No entry" is `None`
//! and deleting a missing entry succeeds. There is no plaintext fallback: when the Secret Service
//! is missing or locked every call fails with [`ConnectError::KeychainUnavailable`].
//!
//! Service names with a segment starting with `test`, `e2e` or `bench` (`com.advicly.test.…`,
//! `com.advicly.desktop.e2e-…`) are reserved for tests and only reach a Secret Service inside a
//! private test session (`ADVICLY_TEST_SESSION=inside`, set by `scripts/with-test-session.sh`
//! and the test harnesses). Anywhere else every call fails before D-Bus is touched, so a plain
//! `cargo test` can never write into the user's real keychain.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use advicly_core::domain::UserUri;
use advicly_core::Secret;
use chrono::{DateTime, Utc};
use keyring_core::CredentialStore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::error::ConnectError;

/// How an account is named in the keychain and in lock-file names: the Calendly user id
/// (the last segment of the user URI), restricted to `[A-Za-z0-9_-]`, or a digest of the URI.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey(String);

impl AccountKey {
    pub fn for_user(user: &UserUri) -> Self {
        let id = user.id();
        let plain = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_".contains(character));
        if plain {
            Self(id.to_owned())
        } else {
            Self(digest_hex(user.as_str())[..32].to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One kind of keychain item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeychainItem {
    /// Access token, refresh token and expiry of an account, as one item.
    OAuthTokens(AccountKey),
    /// The signing key of the account's webhook subscription.
    WebhookSigningKey(AccountKey),
    /// Reserved: the relay's per-account token.
    RelayToken(AccountKey),
    /// The PKCE verifier of a pending sign-in, named by a digest of its `state`.
    PkceVerifier { state_digest: String },
}

impl KeychainItem {
    /// The keychain *user* attribute of this item.
    pub fn user_attribute(&self) -> String {
        match self {
            Self::OAuthTokens(account) => format!("account:{}:oauth-tokens", account.as_str()),
            Self::WebhookSigningKey(account) => {
                format!("account:{}:webhook-signing-key", account.as_str())
            }
            Self::RelayToken(account) => format!("account:{}:relay-token", account.as_str()),
            Self::PkceVerifier { state_digest } => {
                format!(
                    "pending:{}:pkce-verifier",
                    &state_digest[..32.min(state_digest.len())]
                )
            }
        }
    }

    /// Every item that belongs to one account (what a disconnect removes).
    pub fn all_of_account(account: &AccountKey) -> [KeychainItem; 3] {
        [
            Self::OAuthTokens(account.clone()),
            Self::WebhookSigningKey(account.clone()),
            Self::RelayToken(account.clone()),
        ]
    }
}

/// The token set of one account. A personal access token has no refresh token and no expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// True for a personal-access-token connection (nothing to refresh with).
    pub fn is_personal_access_token(&self) -> bool {
        self.refresh_token.is_none()
    }
}

/// The JSON shape of a token set inside its keychain item. Never leaves this module.
#[derive(Serialize, Deserialize)]
struct StoredTokenSet {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

/// A handle on the keychain for one service name. Cheap to clone; connects on first use.
#[derive(Clone)]
pub struct Keychain {
    inner: Arc<KeychainInner>,
}

struct KeychainInner {
    service: String,
    timeout: Duration,
    store: OnceCell<Arc<CredentialStore>>,
}

impl Drop for KeychainInner {
    /// The Secret Service client blocks on D-Bus when it is dropped, which panics on a thread
    /// that drives async tasks; so the last handle dropped inside a runtime drops it on a plain
    /// thread instead.
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(store));
            }
        }
    }
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Keychain")
            .field("service", &self.inner.service)
            .finish()
    }
}

impl Keychain {
    /// A keychain for `service`; every call gives up after `timeout`.
    pub fn new(service: impl Into<String>, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(KeychainInner {
                service: service.into(),
                timeout,
                store: OnceCell::new(),
            }),
        }
    }

    /// The service name every item of this keychain is stored under.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// Checks that the Secret Service answers and the keyring is unlocked, by reading an item
    /// that does not exist. Fails with [`ConnectError::KeychainUnavailable`] otherwise.
    pub async fn check_available(&self) -> Result<(), ConnectError> {
        let probe = "probe:availability".to_owned();
        self.run(move |store, service| {
            let entry = store.build(&service, &probe, None)?;
            match entry.get_password() {
                Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(error) => Err(error),
            }
        })
        .await
    }

    /// Reads a secret; a missing item is `None`.
    pub async fn get(&self, item: &KeychainItem) -> Result<Option<Secret>, ConnectError> {
        let user = item.user_attribute();
        self.run(move |store, service| {
            let entry = store.build(&service, &user, None)?;
            match entry.get_password() {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(error) => Err(error),
            }
        })
        .await
    }

    /// Writes (creates or replaces) a secret.
    pub async fn set(&self, item: &KeychainItem, value: &Secret) -> Result<(), ConnectError> {
        let user = item.user_attribute();
        let value = value.clone();
        self.run(move |store, service| {
            store
                .build(&service, &user, None)?
                .set_password(value.expose())
        })
        .await
    }

    /// Deletes a secret; deleting a missing item succeeds.
    pub async fn delete(&self, item: &KeychainItem) -> Result<(), ConnectError> {
        let user = item.user_attribute();
        self.run(move |store, service| {
            match store.build(&service, &user, None)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(error) => Err(error),
            }
        })
        .await
    }

    /// The token set of an account, if one is stored.
    pub async fn token_set(&self, account: &AccountKey) -> Result<Option<TokenSet>, ConnectError> {
        let Some(raw) = self
            .get(&KeychainItem::OAuthTokens(account.clone()))
            .await?
        else {
            return Ok(None);
        };
        let stored: StoredTokenSet =
            serde_json::from_str(raw.expose()).map_err(|_| ConnectError::KeychainUnavailable {
                message: format!(
                    "The saved Calendly sign-in in the keychain (service {}) is damaged; reconnect the Calendly account",
                    self.service()
                ),
            })?;
        Ok(Some(TokenSet {
            access_token: Secret::new(stored.access_token),
            refresh_token: stored.refresh_token.map(Secret::new),
            expires_at: stored.expires_at,
        }))
    }

    /// Saves the token set of an account as one item (atomically replacing the previous one).
    pub async fn save_token_set(
        &self,
        account: &AccountKey,
        tokens: &TokenSet,
    ) -> Result<(), ConnectError> {
        let stored = StoredTokenSet {
            access_token: tokens.access_token.expose().to_owned(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|token| token.expose().to_owned()),
            expires_at: tokens.expires_at,
        };
        let json = serde_json::to_string(&stored)
            .map_err(|error| ConnectError::Internal(error.to_string()))?;
        self.set(
            &KeychainItem::OAuthTokens(account.clone()),
            &Secret::new(json),
        )
        .await
    }

    /// Removes every item of an account (tokens, signing key, relay token).
    pub async fn delete_account(&self, account: &AccountKey) -> Result<(), ConnectError> {
        for item in KeychainItem::all_of_account(account) {
            self.delete(&item).await?;
        }
        Ok(())
    }

    /// The *user* attributes of every item stored under this service (for diagnostics and tests).
    pub async fn list_user_attributes(&self) -> Result<Vec<String>, ConnectError> {
        self.run(move |store, service| {
            let spec = HashMap::from([("service", service.as_str())]);
            let mut users = Vec::new();
            for entry in store.search(&spec)? {
                let attributes = entry.get_attributes()?;
                if let Some(user) = attributes.get("username").or(attributes.get("user")) {
                    users.push(user.clone());
                }
            }
            users.sort();
            Ok(users)
        })
        .await
    }

    /// Runs one keychain operation on a blocking thread, under the timeout, with errors mapped
    /// to plain sentences.
    async fn run<T, F>(&self, operation: F) -> Result<T, ConnectError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<CredentialStore>, String) -> keyring_core::Result<T> + Send + 'static,
    {
        guard_test_service(
            &self.inner.service,
            std::env::var(TEST_SESSION_VARIABLE).ok().as_deref(),
        )?;
        let timeout = self.inner.timeout;
        let work = async {
            let store = self.store().await?;
            let service = self.inner.service.clone();
            let outcome = tokio::task::spawn_blocking(move || operation(store, service)).await?;
            outcome.map_err(describe_keyring_error)
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ConnectError::KeychainUnavailable {
                message: format!(
                    "The system keychain did not answer within {} seconds; it may be locked and waiting for a password. Unlock the login keyring (for example by logging in to the desktop session) and try again",
                    timeout.as_secs()
                ),
            }),
        }
    }

    /// Connects to the Secret Service once; a failure is not remembered, so a keyring that is
    /// installed or started later is picked up on the next call.
    async fn store(&self) -> Result<Arc<CredentialStore>, ConnectError> {
        self.inner
            .store
            .get_or_try_init(|| async {
                let store =
                    tokio::task::spawn_blocking(zbus_secret_service_keyring_store::Store::new)
                        .await?
                        .map_err(describe_keyring_error)?;
                Ok::<Arc<CredentialStore>, ConnectError>(store)
            })
            .await
            .cloned()
    }
}

/// Maps a keyring error to the sentence the advisor sees. The platform detail is appended
/// because it names the D-Bus problem; it never contains a secret.
fn describe_keyring_error(error: keyring_core::Error) -> ConnectError {
    let message = match &error {
        keyring_core::Error::PlatformFailure(detail) => format!(
            "No system keychain is available (no Secret Service answered on the D-Bus session bus). \
             Install and start a Secret Service such as GNOME Keyring (package gnome-keyring) or KWallet, \
             make sure a desktop session bus is running, and try again. Advicly never stores tokens in plain files. \
             ({detail})"
        ),
        keyring_core::Error::NoDefaultStore => "No system keychain is available. Install and start a Secret Service such as GNOME Keyring (package gnome-keyring) or KWallet, and try again. Advicly never stores tokens in plain files.".to_owned(),
        keyring_core::Error::NoStorageAccess(detail) => format!(
            "The system keychain is locked or refused access. Unlock the login keyring (for example with Seahorse, \"Passwords and Keys\") and try again. ({detail})"
        ),
        other => format!("The system keychain failed: {other}"),
    };
    ConnectError::KeychainUnavailable { message }
}

/// The variable a private test session sets (`scripts/with-test-session.sh`, the harnesses).
pub const TEST_SESSION_VARIABLE: &str = "ADVICLY_TEST_SESSION";

/// True for the service names reserved for tests: a `.`- or `-`-separated part that starts with
/// `test`, `e2e` or `bench`.
pub fn is_test_service(service: &str) -> bool {
    service.split(['.', '-']).any(|part| {
        ["test", "e2e", "bench"]
            .iter()
            .any(|prefix| part.starts_with(prefix))
    })
}

/// Refuses a test service outside a private test session, before anything reaches D-Bus.
fn guard_test_service(service: &str, session: Option<&str>) -> Result<(), ConnectError> {
    if is_test_service(service) && session != Some("inside") {
        return Err(ConnectError::KeychainUnavailable {
            message: format!(
                "The keychain service {service} is reserved for tests, and tests reach a keychain only inside a private Secret Service session; run them through scripts/with-test-session.sh. Nothing was read from or written to your own keychain"
            ),
        });
    }
    Ok(())
}

/// Lowercase hex SHA-256 of a string.
pub(crate) fn digest_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::test_service_outside("com.advicly.test.cli.1.2", None, false)]
    #[case::test_service_in_the_session("com.advicly.test.cli.1.2", Some("inside"), true)]
    #[case::e2e_outside("com.advicly.desktop.e2e-cold-42", None, false)]
    #[case::bench_outside("com.advicly.desktop.bench-42", None, false)]
    #[case::desktop_test_outside("com.advicly.desktop.test-42-0", Some("elsewhere"), false)]
    #[case::release_app("com.advicly.desktop", None, true)]
    #[case::dev_app("com.advicly.desktop.dev", None, true)]
    #[case::demo("com.advicly.desktop.dev.demo", None, true)]
    #[case::power_user("org.example.my-advicly", None, true)]
    fn test_services_reach_a_keychain_only_inside_a_private_session(
        #[case] service: &str,
        #[case] session: Option<&str>,
        #[case] allowed: bool,
    ) {
        // A plain `cargo test` must fail instead of filing tokens in the user's keychain.
        assert_eq!(
            guard_test_service(service, session).is_ok(),
            allowed,
            "{service} {session:?}"
        );
    }
}
