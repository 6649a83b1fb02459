//! Demo mode: starts the fake Calendly AND the relay in-process, the fake seeded with a few
//! months of meetings around now, and connects to it through the SAME OAuth flow a real account
//! uses (begin_oauth → follow the authorize URL → handle_callback_url). Connecting creates a
//! relay channel and a webhook subscription like a real account's, so the fake's signed
//! deliveries travel through the relay (which holds the fake's app signing key, as a production
//! relay holds Calendly's) and are verified and applied by the listener like real ones.
//!
//! While the demo runs, the fake books, cancels or reschedules a meeting every half-minute or
//! so; [`Demo::simulate_booking`] books one at once (the "Simulate a booking" button).
//!
//! The demo keeps its own database (`<data_dir>/demo/`) and keychain service
//! (`<service>.demo`), so it never mixes with a real account's data or tokens.

use chrono::{Duration, DurationRound, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use std::path::PathBuf;

use advicly_relay::{Database, RelayConfig, RelayOptions, RunningRelay, SigningKey};
use fake_calendly::{
    BookingRequest, CancelRequest, Canceler, ControlClient, DeliveryOrder, FakeCalendly,
    FakeConfig, FakeHandle, InviteeSpec, RescheduleRequest, SeedRange,
};

use crate::config::{EngineConfig, RedirectMode, DEEP_LINK_REDIRECT_URI};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::views::{AccountView, MeetingQuery, MeetingStatusFilter};

/// How often, on average, the demo's Calendly changes something by itself.
pub const DEMO_ACTIVITY_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Invitees the demo books, as an advisor's clients might be named.
const DEMO_CLIENTS: [(&str, &str); 10] = [
    ("Grace Hopper", "grace.hopper@example.com"),
    ("Alan Turing", "alan.turing@example.org"),
    ("Ada Lovelace", "ada.lovelace@example.net"),
    ("Katherine Johnson", "katherine.johnson@example.com"),
    ("Edsger Dijkstra", "edsger.dijkstra@example.org"),
    ("Barbara Liskov", "barbara.liskov@example.net"),
    ("Donald Knuth", "donald.knuth@example.com"),
    ("Frances Allen", "frances.allen@example.org"),
    ("Tim Berners-Lee", "tim.berners-lee@example.net"),
    ("Radia Perlman", "radia.perlman@example.com"),
];

const DEMO_MEETINGS: [&str; 5] = [
    "Financial review",
    "Retirement planning",
    "Pension check-in",
    "Mortgage advice",
    "Investment strategy",
];

/// How many meetings the demo Calendly holds: about three a working day, so the agenda, the week and
/// the clients' histories look like an advisor's (the fake books weekdays, 09:00–17:00 UTC).
const DEMO_EVENT_COUNT: usize = 200;

/// A running demo: the engine connected to an in-process fake Calendly through an in-process
/// relay. Keep it alive for as long as the demo is shown; [`Demo::stop`] stops all of it.
pub struct Demo {
    pub engine: Engine,
    pub account: AccountView,
    fake: FakeHandle,
    relay: RunningRelay,
    activity: tokio::task::JoinHandle<()>,
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
    /// Stops the demo's activity, the relay and the fake Calendly (the demo database stays
    /// until the next demo start).
    pub async fn stop(self) {
        self.activity.abort();
        if let Err(error) = self.relay.shutdown().await {
            tracing::debug!(%error, "the demo relay did not stop cleanly");
        }
        self.fake.shutdown().await;
    }

    /// Books a meeting at the demo's Calendly now, as a client would; it reaches the app
    /// through the relay like a real booking. Returns the new meeting's URI.
    pub async fn simulate_booking(&self) -> Result<String, EngineError> {
        book_random(&self.fake.control()).await
    }

    /// The demo relay's base URL.
    pub fn relay_base(&self) -> url::Url {
        self.relay.base_url().clone()
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
/// `base_engine` is the app's normal engine; the demo derives its own folder and keychain
/// service from its configuration, and its notifications follow the advisor's settings file
/// (nothing else there applies: the fake and the relay are the demo's own). A previous demo
/// database is erased first (its URIs pointed at a fake that no longer runs).
pub async fn start_demo(base_engine: &Engine) -> Result<Demo, EngineError> {
    let base = base_engine.config();
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
    let mut config = EngineConfig {
        data_dir: data_dir.clone(),
        api_base: fake.api_base_url(),
        auth_base: fake.auth_base_url(),
        oauth_client_id: Some(client_id),
        redirect: RedirectMode::Direct,
        keychain_service: format!("{}.demo", base.keychain_service),
        relay_base: None,
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
    let relay = start_relay(
        &data_dir.join("relay"),
        &FakeConfig::default().app_webhook_signing_key,
    )
    .await?;
    config.relay_base = Some(relay.base_url().clone());
    let engine = Engine::open_following_notifications_of(config, base_engine)?;
    let authorize_url = engine.begin_oauth().await?;
    let callback = follow_authorize(&authorize_url).await?;
    let account = engine.handle_callback_url(&callback).await?;
    engine.mark_demo()?;
    let account = AccountView {
        demo: true,
        ..account
    };
    let activity = tokio::spawn(run_activity(fake.control(), engine.clone()));
    Ok(Demo {
        engine,
        account,
        fake,
        relay,
        activity,
    })
}

/// The in-process relay, holding the fake's app signing key so it can vouch for deliveries of
/// OAuth subscriptions (`relay_verified`), exactly as a production relay does for Calendly's.
async fn start_relay(
    directory: &std::path::Path,
    app_key: &str,
) -> Result<RunningRelay, EngineError> {
    let config = RelayConfig {
        signing_key: SigningKey::from_file_text(app_key),
        ..RelayConfig::default()
    };
    advicly_relay::start(
        RelayOptions {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            database: Database::Sqlite {
                data_dir: directory.to_path_buf(),
            },
            config,
        },
        std::future::pending(),
    )
    .await
    .map_err(|error| EngineError::internal(format!("the demo relay did not start: {error}")))
}

/// Every half-minute or so (25–35 s), the demo's Calendly books a new meeting, cancels an
/// upcoming one or reschedules one, as clients do. Failures are logged and the next round
/// tries again.
async fn run_activity(control: ControlClient, engine: Engine) {
    loop {
        let jitter = rand::thread_rng().gen_range(-5_000i64..=5_000);
        let delay = DEMO_ACTIVITY_EVERY.as_millis() as i64 + jitter;
        tokio::time::sleep(std::time::Duration::from_millis(delay.max(1_000) as u64)).await;
        let roll = rand::thread_rng().gen_range(0..10);
        let result = match roll {
            0..=4 => book_random(&control).await.map(|_| ()),
            5..=7 => reschedule_random(&control, &engine).await,
            _ => cancel_random(&control, &engine).await,
        };
        if let Err(error) = result {
            tracing::debug!(%error, "the demo's Calendly could not change a meeting this time");
        }
    }
}

fn demo_error(what: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::internal(format!("the demo Calendly could not {what}: {error}"))
}

/// A booking by a random demo client at a working hour in the coming two weeks.
async fn book_random(control: &ControlClient) -> Result<String, EngineError> {
    let (start, (name, email), meeting) = {
        let mut random = rand::thread_rng();
        let day = random.gen_range(1..=14);
        let hour = random.gen_range(9..=16);
        let start = (Utc::now() + Duration::days(day))
            .duration_trunc(Duration::days(1))
            .unwrap_or_else(|_| Utc::now())
            + Duration::hours(hour);
        (
            start,
            *DEMO_CLIENTS.choose(&mut random).expect("clients exist"),
            *DEMO_MEETINGS.choose(&mut random).expect("meetings exist"),
        )
    };
    let booked = control
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some(meeting.to_owned()),
            start_time: start,
            duration_minutes: Some(45),
            invitees: vec![InviteeSpec {
                name: name.to_owned(),
                email: email.to_owned(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await
        .map_err(|error| demo_error("book a meeting", error))?;
    Ok(booked.event_uri)
}

/// An upcoming active meeting with an active invitee, from the app's own store.
fn random_upcoming(engine: &Engine) -> Result<Option<(String, String)>, EngineError> {
    let upcoming = engine.meetings(
        &MeetingQuery {
            status: MeetingStatusFilter::Upcoming,
            limit: Some(50),
            ..MeetingQuery::default()
        },
        Utc::now(),
    )?;
    let Some(meeting) = upcoming
        .iter()
        .filter(|meeting| meeting.start_time > Utc::now() + Duration::hours(2))
        .collect::<Vec<_>>()
        .choose(&mut rand::thread_rng())
        .map(|meeting| meeting.uri.clone())
    else {
        return Ok(None);
    };
    let detail = engine.meeting(&meeting)?;
    Ok(detail
        .invitees
        .iter()
        .find(|invitee| invitee.status == advicly_core::domain::Status::Active)
        .map(|invitee| (meeting.as_str().to_owned(), invitee.uri.clone())))
}

async fn cancel_random(control: &ControlClient, engine: &Engine) -> Result<(), EngineError> {
    let Some((_, invitee_uri)) = random_upcoming(engine)? else {
        return Ok(());
    };
    control
        .cancel(&CancelRequest {
            event_uri: None,
            invitee_uri: Some(invitee_uri),
            canceled_by: Canceler::Invitee,
            reason: Some("Something came up, sorry".to_owned()),
        })
        .await
        .map_err(|error| demo_error("cancel a meeting", error))
}

async fn reschedule_random(control: &ControlClient, engine: &Engine) -> Result<(), EngineError> {
    let Some((_, invitee_uri)) = random_upcoming(engine)? else {
        return book_random(control).await.map(|_| ());
    };
    let days = rand::thread_rng().gen_range(1..=7);
    control
        .reschedule(&RescheduleRequest {
            invitee_uri,
            new_start_time: (Utc::now() + Duration::days(days))
                .duration_trunc(Duration::hours(1))
                .unwrap_or_else(|_| Utc::now()),
            duration_minutes: None,
            order: DeliveryOrder::CanceledFirst,
        })
        .await
        .map(|_| ())
        .map_err(|error| demo_error("reschedule a meeting", error))
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
