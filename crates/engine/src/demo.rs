//! Demo mode: starts the fake Calendly in-process, seeded with a few months of meetings around
//! now, and connects to it through the SAME OAuth flow a real account uses (begin_oauth →
//! follow the authorize URL → handle_callback_url).
//!
//! The demo keeps its own database (`<data_dir>/demo/`) and keychain service
//! (`<service>.demo`), so it never mixes with a real account's data or tokens.

use chrono::{Duration, Utc};
use std::path::PathBuf;

use fake_calendly::{FakeCalendly, FakeConfig, FakeHandle, SeedRange};

use crate::config::{EngineConfig, RedirectMode, DEEP_LINK_REDIRECT_URI};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::views::AccountView;

/// How many meetings the demo Calendly holds: about three a working day, so the agenda, the week and
/// the clients' histories look like an advisor's (the fake books weekdays, 09:00–17:00 UTC).
const DEMO_EVENT_COUNT: usize = 200;

/// A running demo: the engine connected to an in-process fake Calendly. Keep it alive for as
/// long as the demo is shown; dropping it stops the fake.
pub struct Demo {
    pub engine: Engine,
    pub account: AccountView,
    fake: FakeHandle,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Demo")
            .field("api_base", &self.fake.api_base_url().as_str())
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Stops the fake Calendly (the demo database stays until the next demo start).
    pub async fn stop(self) {
        self.fake.shutdown().await;
    }

    /// The fake's API base, e.g. for showing where the demo data comes from.
    pub fn api_base(&self) -> url::Url {
        self.fake.api_base_url()
    }
}

/// The data folder the demo uses inside the app's data folder.
pub fn demo_data_dir(app_data_dir: &std::path::Path) -> PathBuf {
    app_data_dir.join("demo")
}

/// Starts a seeded fake Calendly and connects a fresh demo engine to it via OAuth.
///
/// `base` is the app's normal configuration; the demo derives its own folder and keychain
/// service from it. A previous demo database is erased first (its URIs pointed at a fake
/// that no longer runs).
pub async fn start_demo(base: &EngineConfig) -> Result<Demo, EngineError> {
    let now = Utc::now();
    let fake_config = FakeConfig {
        auto_approve: true,
        redirect_uris: vec![DEEP_LINK_REDIRECT_URI.to_owned()],
        seed_events: DEMO_EVENT_COUNT,
        seed_range: Some(SeedRange {
            start: now - Duration::days(60),
            end: now + Duration::days(30),
        }),
        ..FakeConfig::default()
    };
    let client_id = fake_config.client_id.clone();
    let fake = FakeCalendly::start(fake_config).await.map_err(|error| {
        EngineError::internal(format!("the demo Calendly did not start: {error}"))
    })?;

    let data_dir = demo_data_dir(&base.data_dir);
    let config = EngineConfig {
        data_dir: data_dir.clone(),
        api_base: fake.api_base_url(),
        auth_base: fake.auth_base_url(),
        oauth_client_id: Some(client_id),
        redirect: RedirectMode::Direct,
        keychain_service: format!("{}.demo", base.keychain_service),
        webhook_callback_base: None,
        windows: base.windows,
        calendly: base.calendly.clone(),
    };
    if data_dir.exists() {
        forget_previous_demo(&config).await;
        std::fs::remove_dir_all(&data_dir).map_err(|error| EngineError::Store {
            message: format!(
                "could not clear the previous demo data in {}: {error}",
                data_dir.display()
            ),
        })?;
    }
    let engine = Engine::open(config)?;
    let authorize_url = engine.begin_oauth().await?;
    let callback = follow_authorize(&authorize_url).await?;
    let account = engine.handle_callback_url(&callback).await?;
    engine.mark_demo()?;
    let account = AccountView {
        demo: true,
        ..account
    };
    Ok(Demo {
        engine,
        account,
        fake,
    })
}

/// Removes the keychain items a previous demo left behind (the app may have quit without
/// disconnecting it). Its tokens belonged to a fake that no longer runs, so revoking them
/// fails quietly; only loopback is contacted. Best effort: the demo starts regardless.
async fn forget_previous_demo(config: &EngineConfig) {
    let Ok(previous) = Engine::open(config.clone()) else {
        return;
    };
    let cleanup = previous.disconnect(true);
    match tokio::time::timeout(std::time::Duration::from_secs(10), cleanup).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::debug!(%error, "could not clean up the previous demo"),
        Err(_) => tracing::debug!("cleaning up the previous demo timed out"),
    }
}

/// Plays the browser's part: GET the authorize URL; the auto-approving fake answers with a
/// redirect to the deep link, whose URL is what the OS would hand to the app.
async fn follow_authorize(authorize_url: &url::Url) -> Result<String, EngineError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(EngineError::internal)?;
    let response = http
        .get(authorize_url.clone())
        .send()
        .await
        .map_err(|error| EngineError::OauthFailed {
            message: format!("the demo Calendly did not answer the authorize request: {error}"),
        })?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| EngineError::OauthFailed {
            message: format!(
                "the demo Calendly answered the authorize request with HTTP {} instead of a redirect",
                response.status()
            ),
        })?;
    Ok(location.to_owned())
}
