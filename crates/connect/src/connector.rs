//! Connect, reconnect and disconnect: the API the engine (and through it the CLI and the desktop
//! shell) calls. Every operation is idempotent.

use std::sync::Arc;

use advicly_calendly::{CalendlyClient, StaticToken, TokenError};
use advicly_core::domain::{AccountId, CalendlyUser, ConnectionState};
use advicly_core::store::{AccountRow, SettingScope};
use advicly_core::Secret;
use chrono::{DateTime, Utc};
use url::Url;

use crate::accounts::AccountStore;
use crate::callback::{describe_oauth_error, parse_callback_url, CallbackParameters};
use crate::config::ConnectConfig;
use crate::error::ConnectError;
use crate::keychain::{AccountKey, Keychain, TokenSet};
use crate::oauth::{OAuthEndpoints, TokenRequestFailure};
use crate::pending::PendingAuthorizations;
use crate::relay::RelayClient;
use crate::tokens::{
    lock_refreshes, refresh_lock_path, shared_state, FileLock, TokenManager, OUTAGE_SETTING,
};
use crate::webhooks::{self, Ensured, EnsuredSubscription, RealtimeContext};
use advicly_core::store::SigningAuthority;

/// Whether `begin` may skip the browser when the current connection still works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserPolicy {
    /// If the active account's refresh token (or personal access token) still works, reconnect
    /// with it and return [`BeginOutcome::AlreadyConnected`].
    ReuseWorkingConnection,
    /// Always go through the browser (for example to connect a different Calendly account).
    AlwaysAsk,
}

/// What `begin` decided.
#[derive(Debug)]
pub enum BeginOutcome {
    /// The existing connection works; no browser is needed.
    AlreadyConnected(ConnectedAccount),
    /// Open this URL in the system browser (never an embedded webview). The pending sign-in is
    /// saved and survives a restart for 10 minutes.
    OpenBrowser { authorize_url: Url },
}

/// How an account is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionKind {
    OAuth,
    PersonalAccessToken,
}

/// The state of the real-time set-up (relay channel + webhook subscription) after a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookStatus {
    /// No relay is configured; changes arrive by polling only.
    NotConfigured,
    Active(EnsuredSubscription),
    /// Calendly refused webhooks for the account (e.g. its plan has none); the sentence says so.
    /// Polling goes on.
    Off {
        reason: String,
    },
    /// The set-up could not be completed this time (relay or Calendly unreachable, …); polling
    /// still works and the next check tries again.
    Failed {
        message: String,
    },
}

/// What the real-time listener needs to hold an account's stream. Never logged.
#[derive(Clone)]
pub struct RealtimeCredentials {
    pub relay: RelayClient,
    pub channel_id: String,
    pub subscriber_token: Secret,
    /// Who signs the deliveries.
    pub signed_by: SigningAuthority,
    /// The key our subscription was created with, if one is stored.
    pub signing_key: Option<Secret>,
}

impl std::fmt::Debug for RealtimeCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RealtimeCredentials")
            .field("relay", &self.relay.base().as_str())
            .field("channel_id", &self.channel_id)
            .field("signed_by", &self.signed_by)
            .finish_non_exhaustive()
    }
}

/// A successful connect or reconnect.
#[derive(Debug)]
pub struct ConnectedAccount {
    /// The account row (connected and active).
    pub account: AccountRow,
    pub kind: ConnectionKind,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub webhook: WebhookStatus,
    /// The previously active account when this connect switched to a different Calendly user.
    /// It was disconnected (webhooks deleted, tokens revoked and removed); its data stays.
    pub switched_from: Option<AccountRow>,
    /// Things that did not work but did not stop the connect, as plain sentences.
    pub warnings: Vec<String>,
}

/// Whether a disconnect keeps the local meetings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalData {
    /// Keep meetings and clients for offline viewing.
    Keep,
    /// Delete the account's meetings, invitees, clients and sync runs.
    Wipe,
}

/// What a disconnect did.
#[derive(Debug, Default)]
pub struct DisconnectReport {
    /// The account that was disconnected (`None`: there was none).
    pub account: Option<AccountRow>,
    pub subscriptions_deleted: usize,
    /// True when Calendly confirmed the revocation of every token.
    pub tokens_revoked: bool,
    /// What could not be done, as plain sentences (e.g. why the tokens were not revoked).
    pub warnings: Vec<String>,
    pub wiped: bool,
}

/// What `status` shows about the active account. Never holds a token.
#[derive(Debug)]
pub struct ConnectionStatus {
    /// State (`connected`, `needs_reconnect` with its reason, `disconnected`) and profile.
    pub account: AccountRow,
    /// `None` when no sign-in is stored (or the keychain could not be read).
    pub kind: Option<ConnectionKind>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Why the keychain could not be read, if it could not.
    pub keychain_problem: Option<String>,
}

/// Connects Calendly accounts. Cheap to clone; keep one per process (it holds the keychain's
/// D-Bus connection).
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    config: ConnectConfig,
    keychain: Keychain,
    accounts: AccountStore,
    pending: PendingAuthorizations,
    oauth: Option<OAuthEndpoints>,
    redirect_uri: Url,
    relay: Option<RelayClient>,
    /// One real-time check at a time in this process (a file lock covers other processes).
    realtime_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Connector")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Connector {
    /// Builds the connector. Touches neither the network nor the keychain.
    pub fn new(config: ConnectConfig) -> Result<Self, ConnectError> {
        let keychain = Keychain::new(config.keychain_service.clone(), config.keychain_timeout);
        let oauth = config
            .oauth_client_id
            .clone()
            .map(|client_id| {
                OAuthEndpoints::new(client_id, &config.auth_base, config.oauth_request_timeout)
            })
            .transpose()?;
        let redirect_uri = config.redirect.redirect_uri()?;
        let relay = config
            .relay_base
            .clone()
            .map(|base| RelayClient::new(base, config.relay_timeout))
            .transpose()?;
        let mut config = config;
        config.calendly.api_base = config.api_base.clone();
        Ok(Self {
            inner: Arc::new(ConnectorInner {
                accounts: AccountStore::new(config.database_path.clone()),
                pending: PendingAuthorizations::new(
                    config.data_dir.clone(),
                    keychain.clone(),
                    config.pending_lifetime,
                ),
                keychain,
                oauth,
                redirect_uri,
                relay,
                realtime_lock: tokio::sync::Mutex::new(()),
                config,
            }),
        })
    }

    pub fn config(&self) -> &ConnectConfig {
        &self.inner.config
    }

    /// The keychain this connector uses (its service name is the configured one).
    pub fn keychain(&self) -> &Keychain {
        &self.inner.keychain
    }

    /// True when this build can sign in through the browser.
    pub fn oauth_available(&self) -> bool {
        self.inner.oauth.is_some()
    }

    /// Starts connecting. With [`BrowserPolicy::ReuseWorkingConnection`] an active account whose
    /// sign-in still works is reconnected without the browser; otherwise a PKCE authorization is
    /// started (verifier in the keychain, the rest in the data folder) and its URL returned.
    pub async fn begin(&self, policy: BrowserPolicy) -> Result<BeginOutcome, ConnectError> {
        if policy == BrowserPolicy::ReuseWorkingConnection {
            if let Some(connected) = self.reconnect_without_browser().await? {
                return Ok(BeginOutcome::AlreadyConnected(connected));
            }
        }
        let oauth = self
            .inner
            .oauth
            .as_ref()
            .ok_or(ConnectError::OAuthUnavailable)?;
        let started = oauth.start(&self.inner.redirect_uri, &self.inner.config.scopes);
        self.inner
            .pending
            .start(
                &started.state,
                &started.verifier,
                &self.inner.redirect_uri,
                self.inner.config.now(),
            )
            .await?;
        Ok(BeginOutcome::OpenBrowser {
            authorize_url: started.authorize_url,
        })
    }

    /// Finishes a browser sign-in from the callback URL (the deep link, or the URL the CLI's
    /// `advicly handle-url` was given). Rejects malformed links and unknown, expired or reused
    /// states; turns OAuth errors into plain sentences; exchanges the code with the verifier;
    /// reads `/users/me`; saves the tokens; creates or updates the account and makes it active.
    pub async fn complete_callback(&self, url: &str) -> Result<ConnectedAccount, ConnectError> {
        let relay_redirect = (self.inner.redirect_uri.scheme() != "advicly")
            .then(|| self.inner.redirect_uri.clone());
        let parameters = parse_callback_url(url, relay_redirect.as_ref())?;
        let now = self.inner.config.now();
        let (code, state) = match parameters {
            CallbackParameters::Failed {
                error,
                error_description,
                state,
            } => {
                if let Some(state) = state {
                    self.inner.pending.discard(&state, now).await?;
                }
                return Err(describe_oauth_error(&error, error_description.as_deref()));
            }
            CallbackParameters::Approved { code, state } => (code, state),
        };
        let oauth = self
            .inner
            .oauth
            .as_ref()
            .ok_or(ConnectError::OAuthUnavailable)?;
        let pending = self.inner.pending.take(&state, now).await?;
        let tokens = oauth
            .exchange_code(&code, &pending.verifier, &pending.redirect_uri, now)
            .await
            .map_err(|failure| match failure {
                TokenRequestFailure::Offline(message) => ConnectError::Offline { message },
                other => ConnectError::OAuthFailed {
                    message: format!(
                        "{}. Start connecting again from Advicly",
                        other.describe().replace("this sign-in", "the sign-in code")
                    ),
                },
            })?;
        let user = self
            .read_user(&tokens.access_token)
            .await
            .map_err(|error| match error {
                ConnectError::InvalidToken { message } => ConnectError::OAuthFailed { message },
                other => other,
            })?;
        self.finish_connection(user, tokens, ConnectionKind::OAuth)
            .await
    }

    /// Connects with a personal access token (no refresh token; a 401 later means reconnect).
    pub async fn connect_with_token(
        &self,
        token: Secret,
    ) -> Result<ConnectedAccount, ConnectError> {
        let token = Secret::new(token.expose().trim());
        if token.expose().is_empty() {
            return Err(ConnectError::InvalidToken {
                message: "The personal access token is empty; paste the whole token from Calendly"
                    .into(),
            });
        }
        let user = self.read_user(&token).await?;
        let tokens = TokenSet {
            access_token: token,
            refresh_token: None,
            expires_at: None,
        };
        self.finish_connection(user, tokens, ConnectionKind::PersonalAccessToken)
            .await
    }

    /// Reconnects the active account without the browser if its stored sign-in still works
    /// (an OAuth refresh token is used once; a personal access token is checked against
    /// `/users/me`). Returns `None` when the browser (or a new token) is needed.
    pub async fn reconnect_without_browser(
        &self,
    ) -> Result<Option<ConnectedAccount>, ConnectError> {
        let Some(active) = self.inner.accounts.active_account().await? else {
            return Ok(None);
        };
        if active.connection_state == ConnectionState::Disconnected {
            return Ok(None);
        }
        let key = AccountKey::for_user(&active.user.uri);
        let Some(stored) = self.inner.keychain.token_set(&key).await? else {
            return Ok(None);
        };
        let (tokens, kind) = if stored.is_personal_access_token() {
            match self.read_user(&stored.access_token).await {
                Ok(_) => (stored, ConnectionKind::PersonalAccessToken),
                Err(ConnectError::InvalidToken { .. }) => return Ok(None),
                Err(other) => return Err(other),
            }
        } else {
            let manager = self.token_manager_for(&active);
            match manager.force_refresh().await {
                Ok(_) => {}
                Err(TokenError::Rejected) | Err(TokenError::Missing) => return Ok(None),
                Err(TokenError::StoreUnavailable { message }) => {
                    return Err(ConnectError::KeychainUnavailable { message })
                }
                Err(TokenError::RefreshFailed { message }) => {
                    return Err(ConnectError::Offline {
                        message: format!("refreshing the saved sign-in failed ({message})"),
                    })
                }
            }
            let refreshed = self
                .inner
                .keychain
                .token_set(&key)
                .await?
                .ok_or(ConnectError::NotConnected)?;
            (refreshed, ConnectionKind::OAuth)
        };
        let user = self.read_user(&tokens.access_token).await?;
        Ok(Some(self.finish_connection(user, tokens, kind).await?))
    }

    /// Disconnects an account (`None`: the active one): deletes this app's webhook
    /// subscriptions at Calendly, revokes the tokens where Calendly allows it, removes every
    /// keychain item of the account, marks it disconnected, and wipes its local data if asked.
    /// Disconnecting twice is fine.
    pub async fn disconnect(
        &self,
        account: Option<AccountId>,
        local_data: LocalData,
    ) -> Result<DisconnectReport, ConnectError> {
        let row = match account {
            Some(account_id) => {
                self.inner
                    .accounts
                    .with(move |store| store.account(account_id))
                    .await?
            }
            None => self.inner.accounts.active_account().await?,
        };
        let Some(row) = row else {
            return Ok(DisconnectReport::default());
        };
        self.disconnect_row(row, local_data).await
    }

    /// A token manager for an account (what the engine hands the Calendly client).
    pub async fn token_manager(&self, account: AccountId) -> Result<TokenManager, ConnectError> {
        let row = self
            .inner
            .accounts
            .with(move |store| store.account(account))
            .await?
            .ok_or(ConnectError::NotConnected)?;
        Ok(self.token_manager_for(&row))
    }

    /// A Calendly client authenticated as an account.
    pub async fn calendly_client(
        &self,
        account: AccountId,
    ) -> Result<CalendlyClient, ConnectError> {
        let manager = self.token_manager(account).await?;
        Ok(CalendlyClient::new(
            self.inner.config.calendly.clone(),
            Arc::new(manager),
        )?)
    }

    /// The active account with its connection kind and token expiry, for `status`. A keychain
    /// that cannot be read does not fail the call; it is reported in `keychain_problem`.
    pub async fn connection_status(&self) -> Result<Option<ConnectionStatus>, ConnectError> {
        let Some(account) = self.inner.accounts.active_account().await? else {
            return Ok(None);
        };
        let key = AccountKey::for_user(&account.user.uri);
        let (kind, token_expires_at, keychain_problem) =
            match self.inner.keychain.token_set(&key).await {
                Ok(Some(tokens)) => (
                    Some(if tokens.is_personal_access_token() {
                        ConnectionKind::PersonalAccessToken
                    } else {
                        ConnectionKind::OAuth
                    }),
                    tokens.expires_at,
                    None,
                ),
                Ok(None) => (None, None, None),
                Err(ConnectError::KeychainUnavailable { message }) => (None, None, Some(message)),
                Err(other) => return Err(other),
            };
        Ok(Some(ConnectionStatus {
            account,
            kind,
            token_expires_at,
            keychain_problem,
        }))
    }

    /// Checks the account's real-time set-up (at start-up and after every sync): a missing
    /// channel is created, a disabled or missing subscription recreated, stale ones deleted.
    /// Problems that polling survives come back as [`WebhookStatus::Failed`] or `Off`.
    pub async fn ensure_realtime(&self, account: AccountId) -> Result<WebhookStatus, ConnectError> {
        let row = self
            .inner
            .accounts
            .with(move |store| store.account(account))
            .await?
            .ok_or(ConnectError::NotConnected)?;
        if row.connection_state != ConnectionState::Connected {
            return Err(ConnectError::NotConnected);
        }
        let key = AccountKey::for_user(&row.user.uri);
        let signed_by = match self.inner.keychain.token_set(&key).await? {
            Some(tokens) if tokens.is_personal_access_token() => SigningAuthority::Subscription,
            Some(_) => SigningAuthority::App,
            None => return Err(ConnectError::NotConnected),
        };
        self.check_realtime(&row, signed_by).await
    }

    /// The relay forgot the account's channel (its stream answers 401): forget it here too and
    /// set up a new one; the subscription pointing at the old one is replaced.
    pub async fn replace_realtime_channel(
        &self,
        account: AccountId,
    ) -> Result<WebhookStatus, ConnectError> {
        self.inner
            .accounts
            .with(move |store| store.delete_realtime_channel(account))
            .await?;
        self.ensure_realtime(account).await
    }

    /// What the listener needs to hold the account's stream; `None` when no relay is
    /// configured, no channel is set up, or real time is off for the account.
    pub async fn realtime_credentials(
        &self,
        account: AccountId,
    ) -> Result<Option<RealtimeCredentials>, ConnectError> {
        let Some(relay) = self.inner.relay.clone() else {
            return Ok(None);
        };
        let Some(row) = self
            .inner
            .accounts
            .with(move |store| store.account(account))
            .await?
        else {
            return Ok(None);
        };
        let account_id = row.account_id;
        let Some(channel) = self
            .inner
            .accounts
            .with(move |store| store.realtime_channel(account_id))
            .await?
        else {
            return Ok(None);
        };
        if channel.off_reason.is_some() || channel.relay_base != relay.base().as_str() {
            return Ok(None);
        }
        let key = AccountKey::for_user(&row.user.uri);
        let Some(subscriber_token) = self
            .inner
            .keychain
            .get(&crate::keychain::KeychainItem::RelayToken(key.clone()))
            .await?
        else {
            return Ok(None);
        };
        let signing_key = self
            .inner
            .keychain
            .get(&crate::keychain::KeychainItem::WebhookSigningKey(key))
            .await?;
        Ok(Some(RealtimeCredentials {
            relay,
            channel_id: channel.channel_id,
            subscriber_token,
            signed_by: channel.signed_by,
            signing_key,
        }))
    }

    /// Deletes the account's subscriptions of ours and its relay channel (warnings for what could
    /// not be reached), then forgets the channel.
    async fn tear_down_realtime(
        &self,
        client: Option<&CalendlyClient>,
        row: &AccountRow,
    ) -> Result<webhooks::TornDown, ConnectError> {
        webhooks::tear_down(
            client,
            &self.inner.keychain,
            &self.inner.accounts,
            row.account_id,
            &AccountKey::for_user(&row.user.uri),
            &row.user,
            self.inner.config.relay_timeout,
        )
        .await
    }

    /// Ensures (relay configured) or removes (no relay) the account's real-time set-up, one
    /// check at a time across tasks and processes.
    async fn check_realtime(
        &self,
        row: &AccountRow,
        signed_by: SigningAuthority,
    ) -> Result<WebhookStatus, ConnectError> {
        let config = &self.inner.config;
        let key = AccountKey::for_user(&row.user.uri);
        let _in_process = self.inner.realtime_lock.lock().await;
        let _across_processes = FileLock::acquire(
            config
                .data_dir
                .join("locks")
                .join(format!("realtime-{}.lock", key.as_str())),
        )
        .await?;
        let client = CalendlyClient::new(
            config.calendly.clone(),
            Arc::new(self.token_manager_for(row)),
        )?;
        let Some(relay) = &self.inner.relay else {
            // A relay used before is no longer configured: leave nothing behind at Calendly.
            let torn_down = self.tear_down_realtime(Some(&client), row).await?;
            for warning in torn_down.warnings {
                tracing::info!("while removing the previous real-time set-up: {warning}");
            }
            return Ok(WebhookStatus::NotConfigured);
        };
        let context = RealtimeContext {
            client: &client,
            keychain: &self.inner.keychain,
            accounts: &self.inner.accounts,
            relay,
            relay_timeout: config.relay_timeout,
            account_id: row.account_id,
            key: &key,
            user: &row.user,
            signed_by,
            now: config.now(),
        };
        match webhooks::ensure(&context).await {
            Ok(Ensured::Active(ensured)) => Ok(WebhookStatus::Active(ensured)),
            Ok(Ensured::Off { reason }) => Ok(WebhookStatus::Off { reason }),
            Err(ConnectError::KeychainUnavailable { message }) => {
                Err(ConnectError::KeychainUnavailable { message })
            }
            Err(error) => Ok(WebhookStatus::Failed {
                message: format!(
                    "Live updates from Calendly could not be set up ({error}); meetings still sync on the schedule"
                ),
            }),
        }
    }

    /// The active account, if any.
    pub async fn active_account(&self) -> Result<Option<AccountRow>, ConnectError> {
        self.inner.accounts.active_account().await
    }

    fn token_manager_for(&self, row: &AccountRow) -> TokenManager {
        let config = &self.inner.config;
        TokenManager::new(
            row.account_id,
            AccountKey::for_user(&row.user.uri),
            self.inner.keychain.clone(),
            self.inner.oauth.clone(),
            self.inner.accounts.clone(),
            &config.data_dir,
            config.refresh.clone(),
            config.clock.clone(),
        )
    }

    /// `/users/me` with a token that is not stored yet.
    async fn read_user(&self, token: &Secret) -> Result<CalendlyUser, ConnectError> {
        let client = CalendlyClient::new(
            self.inner.config.calendly.clone(),
            Arc::new(StaticToken::new(token.clone())),
        )?;
        match client.current_user().await {
            Ok(user) => Ok(user),
            Err(advicly_calendly::Error::Unauthorized { .. })
            | Err(advicly_calendly::Error::Token(TokenError::Rejected)) => Err(ConnectError::InvalidToken {
                message: "Calendly did not accept this token. Check that it was copied completely and has not been revoked".into(),
            }),
            Err(advicly_calendly::Error::Forbidden { message, required_scopes }) => Err(ConnectError::InvalidToken {
                message: format!(
                    "Calendly refused to show the account for this token ({message}){}",
                    if required_scopes.is_empty() {
                        String::new()
                    } else {
                        format!("; it needs the scopes {}", required_scopes.join(", "))
                    }
                ),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// Saves the tokens, records the account as connected and active, switches away from a
    /// different previous account, closes the circuit and ensures the webhook subscription.
    async fn finish_connection(
        &self,
        user: CalendlyUser,
        tokens: TokenSet,
        kind: ConnectionKind,
    ) -> Result<ConnectedAccount, ConnectError> {
        let config = &self.inner.config;
        let key = AccountKey::for_user(&user.uri);
        let replaced = self.inner.keychain.token_set(&key).await?;
        self.inner.keychain.save_token_set(&key, &tokens).await?;
        // A new browser sign-in of the same account starts a new grant; the old refresh token
        // would stay valid at Calendly with nobody holding it, so revoke it (best effort).
        if let (Some(oauth), Some(old_refresh)) = (
            &self.inner.oauth,
            replaced.and_then(|old| old.refresh_token),
        ) {
            if tokens.refresh_token.as_ref() != Some(&old_refresh) {
                if let Err(problem) = oauth.revoke(&old_refresh).await {
                    tracing::info!(%problem, "could not revoke the replaced refresh token");
                }
            }
        }
        let previous = self.inner.accounts.active_account().await?;
        let now = config.now();
        let stored_user = user.clone();
        let account = self
            .inner
            .accounts
            .with(move |store| {
                let account_id = store.upsert_account(&stored_user, now)?;
                store.set_active_account(account_id, now)?;
                // A sign-in that just worked proves the token endpoint answers again.
                store.remove_setting(SettingScope::Account(account_id), OUTAGE_SETTING)?;
                store.account(account_id)
            })
            .await?
            .ok_or_else(|| {
                ConnectError::Internal("the account row vanished after saving it".into())
            })?;
        shared_state(&refresh_lock_path(&config.data_dir, &key)).close_circuit();

        let mut warnings = Vec::new();
        let switched_from = match previous {
            Some(previous) if previous.user.uri != user.uri => {
                let report = self
                    .disconnect_row(previous.clone(), LocalData::Keep)
                    .await?;
                warnings.extend(report.warnings);
                Some(previous)
            }
            _ => None,
        };

        let signed_by = match kind {
            ConnectionKind::OAuth => SigningAuthority::App,
            ConnectionKind::PersonalAccessToken => SigningAuthority::Subscription,
        };
        let webhook = self.check_realtime(&account, signed_by).await?;
        match &webhook {
            WebhookStatus::Failed { message } | WebhookStatus::Off { reason: message } => {
                warnings.push(message.clone())
            }
            WebhookStatus::NotConfigured | WebhookStatus::Active(_) => {}
        }
        tracing::info!(account = %key.as_str(), ?kind, "connected a Calendly account");
        Ok(ConnectedAccount {
            account,
            kind,
            token_expires_at: tokens.expires_at,
            webhook,
            switched_from,
            warnings,
        })
    }

    async fn disconnect_row(
        &self,
        row: AccountRow,
        local_data: LocalData,
    ) -> Result<DisconnectReport, ConnectError> {
        let config = &self.inner.config;
        let key = AccountKey::for_user(&row.user.uri);
        let tokens = self.inner.keychain.token_set(&key).await?;
        let mut report = DisconnectReport::default();

        let client = match &tokens {
            Some(_) => Some(CalendlyClient::new(
                config.calendly.clone(),
                Arc::new(self.token_manager_for(&row)),
            )?),
            None => None,
        };
        let torn_down = self.tear_down_realtime(client.as_ref(), &row).await?;
        report.subscriptions_deleted = torn_down.subscriptions_deleted;
        report.warnings.extend(torn_down.warnings);

        // From here on no refresh may run in any process: one that finished saved its pair
        // before this lock was granted (and that pair is revoked below), one that waits finds
        // the account disconnected and the keychain empty.
        let _refreshes = lock_refreshes(&config.data_dir, &key).await?;
        // Re-read: deleting webhooks (or another process) may have refreshed the tokens.
        let tokens = self.inner.keychain.token_set(&key).await?;
        match (&tokens, &self.inner.oauth) {
            (None, _) => {
                if row.connection_state != ConnectionState::Disconnected {
                    report.warnings.push(
                        "No saved Calendly sign-in was found on this computer, so nothing could be revoked at Calendly".into(),
                    );
                }
            }
            (Some(tokens), _) if tokens.is_personal_access_token() => report.warnings.push(
                "A personal access token cannot be revoked by Advicly; delete it in Calendly (Integrations, API and webhooks) if you no longer need it".into(),
            ),
            (Some(_), None) => report.warnings.push(
                "This build has no OAuth client id, so the tokens could not be revoked at Calendly; they were removed from this computer".into(),
            ),
            (Some(tokens), Some(oauth)) => {
                let mut failures = Vec::new();
                if let Some(refresh_token) = &tokens.refresh_token {
                    if let Err(problem) = oauth.revoke(refresh_token).await {
                        failures.push(problem);
                    }
                }
                if let Err(problem) = oauth.revoke(&tokens.access_token).await {
                    failures.push(problem);
                }
                report.tokens_revoked = failures.is_empty();
                if !failures.is_empty() {
                    report.warnings.push(format!(
                        "Calendly did not confirm revoking Advicly's access ({}). The tokens were removed from this computer; to be sure, remove Advicly under Calendly's connected apps",
                        failures.join("; ")
                    ));
                }
            }
        }

        self.inner.keychain.delete_account(&key).await?;
        shared_state(&refresh_lock_path(&config.data_dir, &key)).close_circuit();
        let account_id = row.account_id;
        let now = config.now();
        let wipe = local_data == LocalData::Wipe;
        let account = self
            .inner
            .accounts
            .with(move |store| {
                store.set_connection_state(account_id, ConnectionState::Disconnected, None, now)?;
                store.remove_setting(SettingScope::Account(account_id), OUTAGE_SETTING)?;
                if wipe {
                    store.wipe_account_data(account_id)?;
                }
                store.account(account_id)
            })
            .await?;
        report.wiped = wipe;
        report.account = account;
        tracing::info!(
            account = %key.as_str(),
            subscriptions_deleted = report.subscriptions_deleted,
            tokens_revoked = report.tokens_revoked,
            "disconnected a Calendly account"
        );
        Ok(report)
    }
}
