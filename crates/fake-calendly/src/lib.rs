//! A faithful fake of Calendly's OAuth server, API v2 and webhook deliveries, for tests and the demo.
//!
//! Start it in-process with [`FakeCalendly::start`]; it binds two loopback listeners (the OAuth
//! server, standing in for `auth.calendly.com`, and the API, standing in for `api.calendly.com`,
//! which also serves the `/_control` simulation API). Drive it with [`ControlClient`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), fake_calendly::FakeError> {
//! use fake_calendly::{FakeCalendly, FakeConfig, MintTokenRequest};
//! let fake = FakeCalendly::start(FakeConfig::for_tests()).await?;
//! let token = fake.control().mint_personal_access_token(&MintTokenRequest::default()).await?;
//! println!("{} {}", fake.api_base_url(), token.user_uri);
//! fake.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod control_client;
mod control_model;
mod error;
mod server;

pub use config::{FakeConfig, SeedRange};
pub use control_client::ControlClient;
pub use control_model::*;
pub use error::FakeError;

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use url::Url;

/// Entry point: starts fake Calendly servers.
pub struct FakeCalendly;

impl FakeCalendly {
    /// Binds both listeners, seeds the default user (and `seed_events` events), starts the
    /// webhook delivery task, and returns a handle. Works on any Tokio runtime.
    pub async fn start(config: FakeConfig) -> Result<FakeHandle, FakeError> {
        server::start(config).await
    }
}

/// A running fake. Dropping it without [`FakeHandle::shutdown`] aborts the servers.
pub struct FakeHandle {
    api_base_url: Url,
    auth_base_url: Url,
    api_address: SocketAddr,
    auth_address: SocketAddr,
    default_user: UserInfo,
    shutdown: tokio_util_free::ShutdownSignal,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FakeHandle")
            .field("api_base_url", &self.api_base_url.as_str())
            .field("auth_base_url", &self.auth_base_url.as_str())
            .field("default_user", &self.default_user.user_uri)
            .finish_non_exhaustive()
    }
}

impl FakeHandle {
    /// Base URL of the API (`http://127.0.0.1:PORT`, no trailing slash in the path sense).
    /// Resource URIs in responses start with it.
    pub fn api_base_url(&self) -> Url {
        self.api_base_url.clone()
    }

    /// Base URL of the OAuth server (`/oauth/authorize`, `/oauth/token`, ...).
    pub fn auth_base_url(&self) -> Url {
        self.auth_base_url.clone()
    }

    /// The bound API address.
    pub fn api_address(&self) -> SocketAddr {
        self.api_address
    }

    /// The bound OAuth address.
    pub fn auth_address(&self) -> SocketAddr {
        self.auth_address
    }

    /// The seeded default user and organization.
    pub fn default_user(&self) -> &UserInfo {
        &self.default_user
    }

    /// A control client for this fake.
    pub fn control(&self) -> ControlClient {
        ControlClient::new(self.api_base_url.clone())
    }

    /// Stops both servers and the delivery task, and waits for them to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.trigger();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        self.shutdown.trigger();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A tiny broadcast "stop now" signal built on a watch channel.
mod tokio_util_free {
    use tokio::sync::watch;

    #[derive(Debug, Clone)]
    pub(crate) struct ShutdownSignal {
        sender: std::sync::Arc<watch::Sender<bool>>,
    }

    impl ShutdownSignal {
        pub(crate) fn new() -> Self {
            let (sender, _receiver) = watch::channel(false);
            ShutdownSignal {
                sender: std::sync::Arc::new(sender),
            }
        }

        pub(crate) fn trigger(&self) {
            self.sender.send_replace(true);
        }

        /// Resolves once the signal was triggered.
        pub(crate) async fn triggered(&self) {
            let mut receiver = self.sender.subscribe();
            let _ = receiver.wait_for(|stopped| *stopped).await;
        }
    }
}
