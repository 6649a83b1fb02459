//! Shared set-up: a fake Calendly on port 0, an engine on a temporary data folder, helpers to book meetings.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, DurationRound, Utc};
use tempfile::TempDir;

use advicly_engine::{
    CalendlyTuning, Engine, EngineConfig, EngineEvent, MeetingQuery, MeetingStatusFilter,
    MeetingView, PacingPolicy, RedirectMode, RetryPolicy, SyncWindows,
};
use fake_calendly::{
    BookingRequest, ControlClient, FakeCalendly, FakeConfig, FakeHandle, InviteeSpec, LocationSpec,
    MintTokenRequest,
};

/// A fake Calendly, an engine on a temporary folder, and the fake's control client.
pub struct World {
    pub fake: FakeHandle,
    pub control: ControlClient,
    pub engine: Engine,
    pub config: EngineConfig,
    /// Kept alive for the test's duration (the database lives inside); removed on drop.
    _data_dir: TempDir,
}

static KEYCHAIN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A keychain service name no other test (or the real app) uses.
pub fn unique_keychain_service() -> String {
    format!(
        "com.advicly.test.engine.{}.{}",
        std::process::id(),
        KEYCHAIN_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Fast retries, no pacing, and no waiting out 429s (a 429 fails the call at once).
pub fn fast_tuning() -> CalendlyTuning {
    CalendlyTuning {
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_rate_limit_retries: 3,
            max_rate_limit_wait: Duration::ZERO,
        },
        pacing: PacingPolicy {
            enabled: false,
            ..PacingPolicy::default()
        },
    }
}

pub fn config_for(fake: &FakeHandle, data_dir: &TempDir) -> EngineConfig {
    EngineConfig {
        data_dir: data_dir.path().to_path_buf(),
        api_base: fake.api_base_url(),
        auth_base: fake.auth_base_url(),
        oauth_client_id: Some(FakeConfig::default().client_id),
        redirect: RedirectMode::Direct,
        keychain_service: unique_keychain_service(),
        relay_base: None,
        windows: SyncWindows::default(),
        calendly: fast_tuning(),
    }
}

/// A fake with no events and an engine that is NOT connected yet.
pub async fn unconnected_world() -> World {
    let fake = FakeCalendly::start(FakeConfig::for_tests())
        .await
        .expect("the fake Calendly starts on loopback");
    let data_dir = tempfile::tempdir().expect("a temporary data folder");
    let config = config_for(&fake, &data_dir);
    let engine = Engine::open(config.clone()).expect("the engine opens a fresh store");
    World {
        control: fake.control(),
        fake,
        engine,
        config,
        _data_dir: data_dir,
    }
}

/// A fake with no events and an engine connected with a personal access token.
pub async fn connected_world() -> World {
    let world = unconnected_world().await;
    world.connect_with_new_token().await;
    world
}

impl World {
    /// Mints a PAT at the fake and connects the engine with it.
    pub async fn connect_with_new_token(&self) {
        let minted = self
            .control
            .mint_personal_access_token(&MintTokenRequest::default())
            .await
            .expect("the fake mints a personal access token");
        self.engine
            .connect_token(advicly_engine::Secret::new(minted.token))
            .await
            .expect("the engine accepts a valid personal access token");
    }

    /// Books a one-on-one meeting with one invitee.
    pub async fn book(&self, name: &str, start: DateTime<Utc>, email: &str) -> String {
        self.book_with(name, start, vec![invitee(email)], None, None)
            .await
    }

    pub async fn book_with(
        &self,
        name: &str,
        start: DateTime<Utc>,
        invitees: Vec<InviteeSpec>,
        location: Option<LocationSpec>,
        invitee_limit: Option<u32>,
    ) -> String {
        self.control
            .book(&BookingRequest {
                host_user_uri: None,
                event_type_uri: None,
                event_name: Some(name.to_owned()),
                start_time: start,
                duration_minutes: Some(30),
                invitees,
                location,
                invitee_limit,
            })
            .await
            .expect("the fake books the meeting")
            .event_uri
    }

    /// Every meeting in the store, deleted ones included, soonest first.
    pub fn all_meetings(&self) -> Vec<MeetingView> {
        let now = Utc::now();
        let mut meetings = self
            .engine
            .meetings(
                &MeetingQuery {
                    status: MeetingStatusFilter::All,
                    ..MeetingQuery::default()
                },
                now,
            )
            .expect("meetings can be listed");
        meetings.extend(
            self.engine
                .meetings(
                    &MeetingQuery {
                        status: MeetingStatusFilter::Deleted,
                        ..MeetingQuery::default()
                    },
                    now,
                )
                .expect("deleted meetings can be listed"),
        );
        meetings.sort_by_key(|meeting| meeting.start_time);
        meetings
    }

    pub fn meeting(&self, uri: &str) -> MeetingView {
        self.all_meetings()
            .into_iter()
            .find(|meeting| meeting.uri.as_str() == uri)
            .unwrap_or_else(|| panic!("meeting {uri} is in the store"))
    }

    /// Seeds `count` events at the fake between `start` and `end`.
    pub async fn seed(
        &self,
        count: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<String> {
        self.control
            .seed(&fake_calendly::SeedRequest {
                user_uri: None,
                count,
                seed: 7,
                range_start: start,
                range_end: end,
            })
            .await
            .expect("the fake seeds events")
            .event_uris
    }
}

pub fn invitee(email: &str) -> InviteeSpec {
    InviteeSpec {
        name: email.split('@').next().unwrap_or(email).to_owned(),
        email: email.to_owned(),
        ..InviteeSpec::default()
    }
}

/// Now, rounded down to the minute, plus `days` days and `hours` hours: meeting starts like real ones.
pub fn at(days: i64, hours: i64) -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(ChronoDuration::minutes(1))
        .expect("truncating to minutes works")
        + ChronoDuration::days(days)
        + ChronoDuration::hours(hours)
}

/// Waits (bounded) for the first event matching `predicate`.
pub async fn wait_for_event(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    what: &str,
    mut predicate: impl FnMut(&EngineEvent) -> bool,
) -> EngineEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|error| panic!("event stream broke while waiting for {what}: {error}"));
        if predicate(&event) {
            return event;
        }
    }
}

impl World {
    /// A second connection to the engine's database file (as another process would open it).
    pub fn store(&self) -> advicly_core::store::Store {
        advicly_core::store::Store::open(&self.config.database_path()).expect("the store opens")
    }

    /// The local id of the connected account.
    pub fn account(&self) -> advicly_core::domain::AccountId {
        self.store()
            .active_account()
            .expect("accounts can be read")
            .expect("an account is connected")
            .account_id
    }

    /// A Calendly client of our own (with its own personal access token) for reading the fake
    /// the way the app does, e.g. to build what a webhook would have delivered.
    pub async fn calendly_client(&self) -> advicly_calendly::CalendlyClient {
        let minted = self
            .control
            .mint_personal_access_token(&MintTokenRequest::default())
            .await
            .expect("the fake mints a personal access token");
        let token = advicly_calendly::StaticToken::new(advicly_engine::Secret::new(minted.token));
        advicly_calendly::CalendlyClient::new(
            self.config.client_config(),
            std::sync::Arc::new(token),
        )
        .expect("a Calendly client for the fake")
    }

    /// Applies what an `invitee.*` webhook about `invitee_uri` carries now (the invitee and its
    /// event, read from the fake) through `Store::apply_webhook_change`, as the listener would.
    pub async fn deliver_webhook_about(&self, invitee_uri: &str) {
        let client = self.calendly_client().await;
        let invitee = client
            .get_invitee(&advicly_core::domain::InviteeUri::new(invitee_uri))
            .await
            .expect("the fake returns the invitee");
        let event = client
            .get_scheduled_event(&invitee.event)
            .await
            .expect("the fake returns the event");
        self.store()
            .apply_webhook_change(self.account(), &event, &invitee, Utc::now())
            .expect("the webhook change applies");
    }

    pub fn meeting_detail(&self, uri: &str) -> advicly_engine::MeetingDetailView {
        self.engine
            .meeting(&advicly_core::domain::EventUri::new(uri))
            .expect("the meeting is stored")
    }
}
