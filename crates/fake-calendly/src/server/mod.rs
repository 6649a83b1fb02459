//! The servers behind a fake: router assembly, listeners and the shared state.

use axum::Router;
use tokio::net::TcpListener;
use url::Url;

use crate::config::FakeConfig;
use crate::control_model::UserInfo;
use crate::error::FakeError;
use crate::tokio_util_free::ShutdownSignal;
use crate::FakeHandle;

pub(crate) async fn start(config: FakeConfig) -> Result<FakeHandle, FakeError> {
    if config.client_id.trim().is_empty() {
        return Err(FakeError::InvalidConfig(
            "client_id must not be empty".to_string(),
        ));
    }
    let api_listener = TcpListener::bind(config.listen_api)
        .await
        .map_err(|source| FakeError::Bind {
            which: "API",
            address: config.listen_api,
            source,
        })?;
    let auth_listener = TcpListener::bind(config.listen_auth)
        .await
        .map_err(|source| FakeError::Bind {
            which: "OAuth",
            address: config.listen_auth,
            source,
        })?;
    let api_address = api_listener
        .local_addr()
        .map_err(|source| FakeError::Bind {
            which: "API",
            address: config.listen_api,
            source,
        })?;
    let auth_address = auth_listener
        .local_addr()
        .map_err(|source| FakeError::Bind {
            which: "OAuth",
            address: config.listen_auth,
            source,
        })?;
    let api_base_url =
        Url::parse(&format!("http://{api_address}")).expect("a socket address forms a valid URL");
    let auth_base_url =
        Url::parse(&format!("http://{auth_address}")).expect("a socket address forms a valid URL");
    let shutdown = ShutdownSignal::new();
    let mut tasks = Vec::new();
    for (listener, router) in [
        (api_listener, Router::new()),
        (auth_listener, Router::new()),
    ] {
        let signal = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { signal.triggered().await })
                .await;
        }));
    }
    let default_user = UserInfo {
        user_uri: format!("{api_base_url}users/pending"),
        user_uuid: "pending".to_string(),
        organization_uri: format!("{api_base_url}organizations/pending"),
        name: "Pending".to_string(),
        email: "pending@example.com".to_string(),
        timezone: "Europe/London".to_string(),
    };
    Ok(FakeHandle {
        api_base_url,
        auth_base_url,
        api_address,
        auth_address,
        default_user,
        shutdown,
        tasks,
    })
}
