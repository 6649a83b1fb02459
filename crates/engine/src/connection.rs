//! The engine's one doorway to `advicly-connect`: connecting, tokens for the client, disconnecting.
//!
//! Nothing in the engine touches the keychain; the connector does, and hands out a
//! `TokenProvider` (its `TokenManager`) for the Calendly client.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, RwLock};
use url::Url;

use advicly_calendly::TokenProvider;
use advicly_connect::{
    BeginOutcome, BrowserPolicy, ConnectConfig, ConnectedAccount, Connector, LocalData,
    RealtimeCredentials, WebhookStatus,
};
use advicly_core::domain::{AccountId, ConnectionState};
use advicly_core::store::{AccountRow, Store};
use advicly_core::Secret;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::mapping::{connect_error, store_error};
use crate::views::{account_view, AccountView, ConnectStart, DisconnectReport};

pub(crate) struct Connection {
    /// Replaced when the client id, relay or bases change in the settings.
    connector: RwLock<Connector>,
    /// What the current connector was built from, so an unchanged setting rebuilds nothing.
    applied: Mutex<ConnectorSettings>,
    store: Arc<Mutex<Store>>,
    /// When the active account's access token expires, as last read from the keychain.
    /// Kept here because `status()` is synchronous and the keychain is not.
    token_expires_at: Mutex<Option<(AccountId, Option<DateTime<Utc>>)>>,
}

impl Connection {
    pub(crate) fn new(
        config: &EngineConfig,
        store: Arc<Mutex<Store>>,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            connector: RwLock::new(connector_for(config)?),
            applied: Mutex::new(ConnectorSettings::of(config)),
            store,
            token_expires_at: Mutex::new(None),
        })
    }

    /// Uses `config`'s client id, redirect, relay and bases from now on (after a settings
    /// change). A sign-in already begun keeps working: its pending state lives in the data
    /// folder. Returns whether the relay changed.
    pub(crate) fn reconfigure(&self, config: &EngineConfig) -> Result<bool, EngineError> {
        let wanted = ConnectorSettings::of(config);
        let mut applied = self
            .applied
            .lock()
            .expect("the settings mutex is never poisoned");
        if *applied == wanted {
            return Ok(false);
        }
        let relay_changed = applied.relay_base != wanted.relay_base;
        let connector = connector_for(config)?;
        *self
            .connector
            .write()
            .expect("the connector lock is never poisoned") = connector;
        *applied = wanted;
        tracing::info!(
            oauth_available = config.oauth_client_id.is_some(),
            relay_changed,
            "the connection settings changed"
        );
        Ok(relay_changed)
    }

    /// The relay the current connector uses for real time.
    pub(crate) fn relay_base(&self) -> Option<Url> {
        self.applied
            .lock()
            .expect("the settings mutex is never poisoned")
            .relay_base
            .clone()
    }

    /// The current connector (cheap: an `Arc` inside).
    fn connector(&self) -> Connector {
        self.connector
            .read()
            .expect("the connector lock is never poisoned")
            .clone()
    }

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

    pub(crate) fn oauth_available(&self) -> bool {
        self.connector().oauth_available()
    }

    /// The keychain-backed token provider of `account` (single-flight refresh, circuit breaker).
    pub(crate) async fn token_provider(
        &self,
        account: &AccountRow,
    ) -> Result<Arc<dyn TokenProvider>, EngineError> {
        let manager = self
            .connector()
            .token_manager(account.account_id)
            .await
            .map_err(connect_error)?;
        Ok(Arc::new(manager))
    }

    /// Re-reads when the access token expires (after a sync that may have refreshed it).
    pub(crate) async fn refresh_token_expiry(&self, account: &AccountRow) {
        let expiry = match self.connector().token_manager(account.account_id).await {
            Ok(manager) => manager.token_expires_at().await.ok().flatten(),
            Err(_) => None,
        };
        *self.token_expires_at.lock().expect("expiry mutex") = Some((account.account_id, expiry));
    }

    /// Records that Calendly refused the account for good, unless the connector already did.
    pub(crate) async fn mark_needs_reconnect(
        &self,
        account: &AccountRow,
        reason: &str,
    ) -> Result<(), EngineError> {
        let current = self.with_store(|store| store.account(account.account_id))?;
        if current.is_some_and(|row| row.connection_state == ConnectionState::Connected) {
            self.with_store(|store| {
                store.set_connection_state(
                    account.account_id,
                    ConnectionState::NeedsReconnect,
                    Some(reason),
                    Utc::now(),
                )
            })?;
        }
        Ok(())
    }

    pub(crate) async fn begin_oauth(&self) -> Result<Url, EngineError> {
        match self
            .connector()
            .begin(BrowserPolicy::AlwaysAsk)
            .await
            .map_err(connect_error)?
        {
            BeginOutcome::OpenBrowser { authorize_url } => Ok(authorize_url),
            // Not reachable with AlwaysAsk; treated as a failure rather than a panic.
            BeginOutcome::AlreadyConnected(_) => Err(EngineError::internal(
                "connecting did not start a browser sign-in",
            )),
        }
    }

    /// Reconnects without the browser when the stored sign-in still works (a refresh token is
    /// used once, a personal access token is checked); otherwise starts the browser sign-in.
    pub(crate) async fn reconnect_or_begin_oauth(&self) -> Result<ConnectStart, EngineError> {
        match self
            .connector()
            .begin(BrowserPolicy::ReuseWorkingConnection)
            .await
            .map_err(connect_error)?
        {
            BeginOutcome::AlreadyConnected(connected) => {
                Ok(ConnectStart::Reconnected(self.connected(connected)))
            }
            BeginOutcome::OpenBrowser { authorize_url } => {
                Ok(ConnectStart::OpenBrowser(authorize_url))
            }
        }
    }

    pub(crate) async fn handle_callback_url(&self, url: &str) -> Result<AccountView, EngineError> {
        let connected = self
            .connector()
            .complete_callback(url)
            .await
            .map_err(connect_error)?;
        Ok(self.connected(connected))
    }

    pub(crate) async fn connect_token(&self, token: Secret) -> Result<AccountView, EngineError> {
        let connected = self
            .connector()
            .connect_with_token(token)
            .await
            .map_err(connect_error)?;
        Ok(self.connected(connected))
    }

    fn connected(&self, connected: ConnectedAccount) -> AccountView {
        for warning in &connected.warnings {
            tracing::warn!("while connecting: {warning}");
        }
        *self.token_expires_at.lock().expect("expiry mutex") =
            Some((connected.account.account_id, connected.token_expires_at));
        account_view(&connected.account, false)
    }

    pub(crate) async fn disconnect(&self, wipe: bool) -> Result<DisconnectReport, EngineError> {
        let local_data = if wipe {
            LocalData::Wipe
        } else {
            LocalData::Keep
        };
        let report = self
            .connector()
            .disconnect(None, local_data)
            .await
            .map_err(connect_error)?;
        *self.token_expires_at.lock().expect("expiry mutex") = None;
        Ok(DisconnectReport {
            subscriptions_deleted: u32::try_from(report.subscriptions_deleted).unwrap_or(u32::MAX),
            tokens_revoked: report.tokens_revoked,
            warnings: report.warnings,
            wiped: report.wiped,
        })
    }

    /// Checks (and repairs) the account's relay channel and webhook subscription.
    pub(crate) async fn ensure_realtime(
        &self,
        account: AccountId,
    ) -> Result<WebhookStatus, EngineError> {
        self.connector()
            .ensure_realtime(account)
            .await
            .map_err(connect_error)
    }

    /// Replaces a channel the relay forgot.
    pub(crate) async fn replace_realtime_channel(
        &self,
        account: AccountId,
    ) -> Result<WebhookStatus, EngineError> {
        self.connector()
            .replace_realtime_channel(account)
            .await
            .map_err(connect_error)
    }

    /// What the listener needs to hold the account's stream.
    pub(crate) async fn realtime_credentials(
        &self,
        account: AccountId,
    ) -> Result<Option<RealtimeCredentials>, EngineError> {
        self.connector()
            .realtime_credentials(account)
            .await
            .map_err(connect_error)
    }

    /// When the account's access token expires, if known.
    pub(crate) fn token_expires_at(&self, account: &AccountRow) -> Option<DateTime<Utc>> {
        match *self.token_expires_at.lock().expect("expiry mutex") {
            Some((cached_account, expiry)) if cached_account == account.account_id => expiry,
            _ => None,
        }
    }
}

fn connector_for(config: &EngineConfig) -> Result<Connector, EngineError> {
    let mut connect_config = ConnectConfig::new(
        config.data_dir.clone(),
        config.api_base.clone(),
        config.auth_base.clone(),
        config.oauth_client_id.clone(),
        config.redirect.clone(),
        config.keychain_service.clone(),
    );
    connect_config.database_path = config.database_path();
    connect_config.calendly = config.client_config();
    connect_config.relay_base = config.relay_base.clone();
    Connector::new(connect_config).map_err(connect_error)
}

/// The parts of the configuration a connector is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ConnectorSettings {
    client_id: Option<String>,
    redirect: crate::config::RedirectMode,
    api_base: Url,
    auth_base: Url,
    relay_base: Option<Url>,
}

impl ConnectorSettings {
    fn of(config: &EngineConfig) -> Self {
        Self {
            client_id: config.oauth_client_id.clone(),
            redirect: config.redirect.clone(),
            api_base: config.api_base.clone(),
            auth_base: config.auth_base.clone(),
            relay_base: config.relay_base.clone(),
        }
    }
}
