//! The engine's one doorway to `advicly-connect`: connecting, tokens for the client, disconnecting.
//!
//! INTERIM: until `advicly-connect` lands, personal access tokens are held in memory only and
//! OAuth is unavailable. Nothing here touches the keychain.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

use advicly_calendly::{CalendlyClient, ClientConfig, StaticToken, TokenProvider};
use advicly_core::domain::{AccountId, ConnectionState};
use advicly_core::store::{AccountRow, Store};
use advicly_core::Secret;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::mapping::{calendly_error, store_error};
use crate::views::{account_view, AccountView, DisconnectReport};

/// Token facts the status view shows (never the token itself).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnectionDetails {
    pub token_expires_at: Option<DateTime<Utc>>,
    pub circuit_open: bool,
}

pub(crate) struct Connection {
    client_config: ClientConfig,
    store: Arc<Mutex<Store>>,
    tokens: Mutex<HashMap<AccountId, Secret>>,
}

impl Connection {
    pub(crate) fn new(
        config: &EngineConfig,
        store: Arc<Mutex<Store>>,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            client_config: config.client_config(),
            store,
            tokens: Mutex::new(HashMap::new()),
        })
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

    pub(crate) async fn token_provider(
        &self,
        account: &AccountRow,
    ) -> Result<Arc<dyn TokenProvider>, EngineError> {
        let token = self
            .tokens
            .lock()
            .expect("tokens mutex")
            .get(&account.account_id)
            .cloned()
            .ok_or(EngineError::NotConnected)?;
        Ok(Arc::new(StaticToken::new(token)))
    }

    pub(crate) async fn mark_needs_reconnect(
        &self,
        account: &AccountRow,
        reason: &str,
    ) -> Result<(), EngineError> {
        self.with_store(|store| {
            store.set_connection_state(
                account.account_id,
                ConnectionState::NeedsReconnect,
                Some(reason),
                Utc::now(),
            )
        })
    }

    pub(crate) async fn begin_oauth(&self) -> Result<Url, EngineError> {
        Err(EngineError::OauthFailed {
            detail: "OAuth is not available in this build yet".to_owned(),
        })
    }

    pub(crate) async fn handle_callback_url(&self, _url: &str) -> Result<AccountView, EngineError> {
        Err(EngineError::OauthFailed {
            detail: "OAuth is not available in this build yet".to_owned(),
        })
    }

    pub(crate) async fn connect_token(&self, token: Secret) -> Result<AccountView, EngineError> {
        let client = CalendlyClient::new(
            self.client_config.clone(),
            Arc::new(StaticToken::new(token.clone())),
        )
        .map_err(calendly_error)?;
        let user = client.current_user().await.map_err(|error| match error {
            advicly_calendly::Error::Unauthorized { .. } | advicly_calendly::Error::Token(_) => {
                EngineError::InvalidToken {
                    detail: error.to_string(),
                }
            }
            other => calendly_error(other),
        })?;
        let now = Utc::now();
        let account_id = self.with_store(|store| {
            let account_id = store.upsert_account(&user, now)?;
            store.set_active_account(account_id, now)?;
            Ok(account_id)
        })?;
        self.tokens
            .lock()
            .expect("tokens mutex")
            .insert(account_id, token);
        let account = self
            .with_store(|store| store.account(account_id))?
            .ok_or_else(|| EngineError::internal("the account just stored is missing"))?;
        Ok(account_view(&account, false))
    }

    pub(crate) async fn disconnect(&self, wipe: bool) -> Result<DisconnectReport, EngineError> {
        let account = self
            .with_store(|store| store.active_account())?
            .ok_or(EngineError::NotConnected)?;
        self.tokens
            .lock()
            .expect("tokens mutex")
            .remove(&account.account_id);
        self.with_store(|store| {
            store.set_connection_state(
                account.account_id,
                ConnectionState::Disconnected,
                None,
                Utc::now(),
            )?;
            if wipe {
                store.wipe_account_data(account.account_id)?;
            }
            Ok(())
        })?;
        Ok(DisconnectReport {
            subscriptions_deleted: 0,
            tokens_revoked: false,
            warnings: Vec::new(),
            wiped: wipe,
        })
    }

    pub(crate) fn details(&self, _account: &AccountRow) -> ConnectionDetails {
        ConnectionDetails::default()
    }
}
