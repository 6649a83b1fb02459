//! Settings from the shared file: applied when the engine opens, changed live, shared with another
//! process (the CLI), and never able to stop the engine from opening.

use std::path::Path;

use advicly_engine::{
    spawn_scheduler, AddressPolicy, Engine, LiveSettings, SchedulerSettings, SettingKey,
    SettingsOverrides,
};
use fake_calendly::{FakeCalendly, FakeConfig};

use crate::harness::config_for;

/// A fake Calendly and empty data and config folders; the settings file does not exist yet.
struct Folders {
    fake: fake_calendly::FakeHandle,
    data_dir: tempfile::TempDir,
    _config_dir: tempfile::TempDir,
    file: std::path::PathBuf,
}

async fn folders(config: FakeConfig) -> Folders {
    let fake = FakeCalendly::start(config).await.unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    Folders {
        fake,
        data_dir: tempfile::tempdir().unwrap(),
        file: config_dir.path().join("settings.toml"),
        _config_dir: config_dir,
    }
}

impl Folders {
    fn engine(&self, variables: &[(&str, &str)]) -> Engine {
        Engine::open_with_settings(
            config_for(&self.fake, &self.data_dir),
            live(&self.file, variables),
        )
        .expect("the engine opens")
    }
}

fn live(file: &Path, variables: &[(&str, &str)]) -> LiveSettings {
    let variables: std::collections::BTreeMap<String, String> = variables
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    LiveSettings::new(
        Some(file.to_path_buf()),
        SettingsOverrides::from_variables(|name| variables.get(name).cloned()),
        AddressPolicy::AllowLoopbackHttp,
    )
}

#[tokio::test]
async fn a_client_id_saved_in_settings_enables_the_browser_sign_in_at_once() {
    let world = folders(FakeConfig {
        auto_approve: true,
        ..FakeConfig::for_tests()
    })
    .await;
    let engine = world.engine(&[]);
    // Nothing configures a client id yet: the browser sign-in is not offered.
    assert!(!engine.oauth_available());
    assert_eq!(
        engine.begin_oauth().await.unwrap_err().code(),
        "oauth_failed"
    );

    let resolved = engine
        .set_setting(SettingKey::ClientId, &FakeConfig::default().client_id)
        .unwrap();
    assert_eq!(resolved.source(SettingKey::ClientId).as_str(), "file");

    // No restart: the next Connect uses the new client id.
    assert!(engine.oauth_available());
    let authorize_url = engine.begin_oauth().await.expect("sign-in starts");
    assert!(
        authorize_url
            .query_pairs()
            .any(|(name, value)| name == "client_id" && value == FakeConfig::default().client_id),
        "{authorize_url}"
    );
}

#[tokio::test]
async fn notifications_follow_the_shared_file_live_and_the_environment_wins() {
    let world = folders(FakeConfig::for_tests()).await;
    let file = world.file.clone();
    let engine = world.engine(&[]);
    assert!(engine.notifications_enabled(), "on by default");

    // Another process (the CLI's `config set`) writes the same file.
    live(&file, &[])
        .set(SettingKey::Notifications, "false")
        .unwrap();
    assert!(
        !engine.notifications_enabled(),
        "the running engine sees the change"
    );

    let overridden = world.engine(&[("ADVICLY_NOTIFICATIONS", "true")]);
    assert!(
        overridden.notifications_enabled(),
        "the environment beats the file"
    );
}

#[tokio::test]
async fn the_sync_interval_is_kept_in_the_settings_file() {
    let world = folders(FakeConfig::for_tests()).await;
    let file = world.file.clone();
    let engine = world.engine(&[]);
    let scheduler = spawn_scheduler(engine.clone(), SchedulerSettings::default());
    scheduler.set_interval(25).unwrap();
    scheduler.shutdown().await;

    // The app's choice is the CLI's too, and survives a restart.
    assert_eq!(live(&file, &[]).resolve().sync_interval_minutes(), Some(25));
    let reopened = world.engine(&[]);
    let scheduler = spawn_scheduler(reopened, SchedulerSettings::default());
    assert_eq!(scheduler.state().interval_minutes, 25);
    scheduler.shutdown().await;
}

#[tokio::test]
async fn invalid_settings_are_reported_by_name_and_the_engine_still_opens() {
    let world = folders(FakeConfig::for_tests()).await;
    std::fs::write(
        &world.file,
        "relay_base = \"http://relay.example.com\"\nsync_interval_minutes = 900\n",
    )
    .unwrap();

    // Bad settings never stop the engine from opening.
    let engine = world.engine(&[]);

    let settings = engine.settings().expect("live settings");
    let messages: Vec<String> = settings
        .problems
        .iter()
        .map(|problem| problem.message.clone())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].starts_with("The setting relay_base in "),
        "{messages:#?}"
    );
    assert!(messages[0].contains("must use https"), "{messages:#?}");
    assert!(
        messages[1].starts_with("The setting sync_interval_minutes in "),
        "{messages:#?}"
    );
    // The refused relay is not used: sign-ins go straight to the deep link.
    assert_eq!(settings.relay_base(), None);
    assert_eq!(
        engine.status(chrono::Utc::now()).unwrap().state.as_str(),
        "disconnected"
    );
}

#[tokio::test]
async fn a_client_id_set_by_another_process_is_used_without_a_restart() {
    let world = folders(FakeConfig::for_tests()).await;
    let file = world.file.clone();
    let engine = world.engine(&[]);
    assert!(!engine.oauth_available());

    // `advicly config set client_id …` in a terminal while the app runs.
    live(&file, &[])
        .set(SettingKey::ClientId, &FakeConfig::default().client_id)
        .unwrap();

    assert!(engine.oauth_available(), "the running app follows the file");
    engine.begin_oauth().await.expect("Connect works at once");
}

#[tokio::test]
async fn the_relay_in_the_settings_file_carries_both_the_sign_in_bounce_and_real_time() {
    let world = folders(FakeConfig::for_tests()).await;
    // A cold start with nothing but the file: no variables, no flags.
    std::fs::write(
        &world.file,
        format!(
            "client_id = \"{}\"\nrelay_base = \"http://127.0.0.1:4455\"\n",
            FakeConfig::default().client_id
        ),
    )
    .unwrap();
    let engine = world.engine(&[]);

    assert_eq!(
        engine.relay_base().map(|url| url.to_string()).as_deref(),
        Some("http://127.0.0.1:4455/"),
        "the real-time channel is made at the file's relay"
    );
    let authorize_url = engine.begin_oauth().await.expect("sign-in starts");
    let redirect_uri = authorize_url
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned());
    assert_eq!(
        redirect_uri.as_deref(),
        Some("http://127.0.0.1:4455/oauth/callback"),
        "the sign-in bounces through the same relay"
    );
    // Not connected yet, but not "no relay" either.
    let realtime = engine.status(chrono::Utc::now()).unwrap().realtime;
    assert!(
        !realtime
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("no relay"),
        "{realtime:?}"
    );

    // The environment overrides the file for both at once.
    let overridden = world.engine(&[("ADVICLY_RELAY_BASE", "http://127.0.0.1:4466")]);
    assert_eq!(
        overridden
            .relay_base()
            .map(|url| url.to_string())
            .as_deref(),
        Some("http://127.0.0.1:4466/")
    );
}

#[tokio::test]
async fn the_demo_follows_the_notifications_setting_and_nothing_else_of_the_file() {
    let world = folders(FakeConfig::for_tests()).await;
    std::fs::write(
        &world.file,
        "relay_base = \"https://relay.example.com\"\nnotifications = false\n",
    )
    .unwrap();
    let base = world.engine(&[]);
    let demo = advicly_engine::demo::start_demo(&base)
        .await
        .expect("the demo starts");

    // Its fake and its relay are its own, whatever the file says.
    assert_eq!(demo.engine.relay_base(), Some(demo.relay_base()));
    assert!(!demo.engine.notifications_enabled(), "the advisor's choice");

    // Turned on from the demo's switch (the shell calls the base engine), the demo follows.
    assert!(base.set_notifications_enabled(true).unwrap());
    assert!(demo.engine.notifications_enabled());
    assert!(
        live(&world.file, &[]).resolve().notifications(),
        "saved in the shared file"
    );
    demo.stop().await;
}
