//! The real desktop app, end to end: connect through the deep link against the fake Calendly,
//! sync, see bookings, cancellations and reschedules, quit, reopen offline, disconnect.
//!
//! Run through `scripts/desktop-e2e.sh` (temporary HOME, private D-Bus session with an unlocked
//! gnome-keyring, Xvfb). Every wait is a bounded poll on a DOM or process condition.

use std::path::PathBuf;
use std::time::Duration;

use advicly_desktop_e2e::{
    all, app_binary, keychain_items, page_text, processes_running, save_screenshot, target_dir,
    wait_for, wait_for_element, wait_for_text, TauriDriver,
};
use advicly_engine::{AddressPolicy, Engine, EngineConfig, LiveSettings, SettingsOverrides};
use anyhow::{ensure, Context, Result};
use chrono::{DateTime, Duration as Days, DurationRound, Utc};
use fake_calendly::{
    BookingRequest, CancelRequest, Canceler, FakeCalendly, FakeConfig, InviteeSpec, LocationSpec,
    RescheduleRequest,
};
use fantoccini::Client;

/// Long enough for a cold WebKit start plus a full first sync on a busy 2-core machine.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);
const SYNC_TIMEOUT: Duration = Duration::from_secs(90);

const CLIENT_ID: &str = "advicly-desktop-e2e";

/// Where screenshots go: `target/desktop-e2e-screenshots`, or `ADVICLY_SCREENSHOTS_DIR` (set it to
/// `docs/screenshots` to refresh the committed ones), so ordinary runs leave the checkout clean.
fn screenshot_path(name: &str) -> PathBuf {
    let folder = std::env::var_os("ADVICLY_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("desktop-e2e-screenshots"));
    folder.join(format!("desktop-{name}.png"))
}

/// Whole hours from now, so times render the same way in every list.
fn hours_from_now(hours: i64) -> DateTime<Utc> {
    (Utc::now() + Days::hours(hours))
        .duration_trunc(Days::hours(1))
        .expect("an hour divides any instant")
}

/// A start on today's date (UTC, the app's zone in these tests) that makes the meeting today's
/// next or current one, whatever the time of day: two whole hours ahead when the day has room,
/// else ten minutes ago (never before midnight), so the 45-minute meeting is still in progress.
/// It is on today's agenda, in this week's grid, and the countdown card shows it.
fn later_today() -> DateTime<Utc> {
    later_today_at(Utc::now())
}

fn later_today_at(now: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = (now + Days::hours(2))
        .duration_trunc(Days::hours(1))
        .expect("an hour divides any instant");
    if ahead.date_naive() == now.date_naive() {
        return ahead;
    }
    let midnight = now
        .duration_trunc(Days::days(1))
        .expect("a day divides any instant");
    (now - Days::minutes(10)).max(midnight)
}

#[test]
fn the_meeting_booked_for_today_is_next_or_in_progress_at_every_minute_of_the_day() {
    let midnight = Utc::now()
        .duration_trunc(Days::days(1))
        .expect("a day divides any instant");
    for minute in 0..24 * 60 {
        let now = midnight + Days::minutes(minute);
        let start = later_today_at(now);
        let end = start + Days::minutes(45);
        assert_eq!(
            start.date_naive(),
            now.date_naive(),
            "on today's agenda at {now}"
        );
        assert!(end > now, "next or in progress at {now}: {start}–{end}");
    }
}

fn invitee(name: &str, email: &str) -> InviteeSpec {
    InviteeSpec {
        name: name.to_owned(),
        email: email.to_owned(),
        timezone: Some("Europe/London".to_owned()),
        questions_and_answers: vec![fake_calendly::QuestionAnswer {
            question: "What would you like to discuss?".to_owned(),
            answer: "Pension consolidation".to_owned(),
        }],
        ..InviteeSpec::default()
    }
}

fn booking(name: &str, start: DateTime<Utc>, who: InviteeSpec) -> BookingRequest {
    BookingRequest {
        host_user_uri: None,
        event_type_uri: None,
        event_name: Some(name.to_owned()),
        start_time: start,
        duration_minutes: Some(45),
        invitees: vec![who],
        location: Some(LocationSpec::Zoom),
        invitee_limit: None,
    }
}

fn row_selector(event_uri: &str) -> String {
    format!("[data-testid=meeting-row][data-uri=\"{event_uri}\"]")
}

async fn click(client: &Client, css: &str) -> Result<()> {
    let element = wait_for_element(client, css, SCREEN_TIMEOUT).await?;
    element
        .click()
        .await
        .with_context(|| format!("clicking `{css}`"))?;
    Ok(())
}

/// Types into the meetings search box, replacing what was there.
async fn search_meetings(client: &Client, text: &str) -> Result<()> {
    // Clear the box and type, so the last change is an `input` event: a WebDriver clear fires
    // none, so an empty box is announced by typing a character and deleting it. (WebKit's
    // driver drops the whole key sequence when it holds a Ctrl chord, so no select-all.) A
    // re-render in between (the clock tick, a real-time update) can still put the old text back
    // into the controlled field, so the box is checked and the typing repeated (bounded) until
    // it holds exactly the new text.
    let typed = if text.is_empty() {
        " \u{E003}".to_owned()
    } else {
        text.to_owned()
    };
    wait_for(
        "the search box to hold the typed text",
        SCREEN_TIMEOUT,
        || async {
            // Found afresh each time: a screen change can replace the box with a new one.
            let search = wait_for_element(client, "#search", SCREEN_TIMEOUT).await?;
            if search.prop("value").await?.unwrap_or_default() == text {
                return Ok(Some(()));
            }
            search.clear().await?;
            search.send_keys(&typed).await?;
            Ok((search.prop("value").await?.unwrap_or_default() == text).then_some(()))
        },
    )
    .await?;
    Ok(())
}

async fn choose_status(client: &Client, value: &str) -> Result<()> {
    click(client, &format!("#status-filter option[value=\"{value}\"]")).await
}

/// Presses "Sync now" once it is enabled (a running sync disables it).
async fn press_sync(client: &Client) -> Result<()> {
    let button = wait_for("an enabled Sync now button", SYNC_TIMEOUT, || async {
        let Some(button) = all(client, "#sync-now").await?.into_iter().next() else {
            return Ok(None);
        };
        Ok(button.is_enabled().await?.then_some(button))
    })
    .await?;
    button.click().await?;
    Ok(())
}

/// Waits until the row of `event_uri` shows the badge `badge` (a `data-testid`).
async fn wait_for_badge(client: &Client, event_uri: &str, badge: &str) -> Result<()> {
    let css = format!("{} [data-testid={badge}]", row_selector(event_uri));
    wait_for_element(client, &css, SYNC_TIMEOUT).await?;
    Ok(())
}

/// Closes the window like the advisor would and waits until no app process is left.
async fn quit(client: Client, app: &std::path::Path) -> Result<()> {
    client
        .close_window()
        .await
        .context("closing the app window")?;
    let _ = client.close().await;
    wait_for("the app process to exit", SCREEN_TIMEOUT, || async {
        Ok(processes_running(app).is_empty().then_some(()))
    })
    .await
}

/// What the app (and the scripted browser it starts) needs to talk to the fake in a private world.
fn app_environment(
    fake: &fake_calendly::FakeHandle,
    world: &std::path::Path,
    keychain_service: &str,
    app: &std::path::Path,
) -> Vec<(String, String)> {
    let browser = PathBuf::from(env!("CARGO_BIN_EXE_scripted-browser"));
    vec![
        (
            "ADVICLY_DATA_DIR".into(),
            world.join("data").display().to_string(),
        ),
        ("ADVICLY_API_BASE".into(), fake.api_base_url().to_string()),
        ("ADVICLY_AUTH_BASE".into(), fake.auth_base_url().to_string()),
        ("ADVICLY_CLIENT_ID".into(), CLIENT_ID.into()),
        (
            "ADVICLY_KEYCHAIN_SERVICE".into(),
            keychain_service.to_owned(),
        ),
        ("ADVICLY_BROWSER".into(), browser.display().to_string()),
        ("ADVICLY_E2E_APP_BINARY".into(), app.display().to_string()),
        (
            "ADVICLY_E2E_BROWSER_LOG".into(),
            world.join("browser.log").display().to_string(),
        ),
        ("ADVICLY_LOG".into(), "info".into()),
        // Days and weeks on screen are the computer's; the tests book them in UTC.
        ("TZ".into(), "UTC".into()),
    ]
}

/// Disconnects through the UI and checks that the keychain holds nothing for the service.
async fn disconnect_and_check_keychain(client: &Client, keychain_service: &str) -> Result<()> {
    click(client, "#connection-tab").await?;
    click(client, "#disconnect").await?;
    click(client, "#confirm-disconnect").await?;
    wait_for_element(client, ".app[data-connection=disconnected]", SCREEN_TIMEOUT).await?;
    let left = keychain_items(keychain_service)?;
    ensure!(
        left == 0,
        "disconnect must remove every keychain entry of {keychain_service}, {left} left"
    );
    Ok(())
}

/// What a desktop session hands every program it starts, and nothing else: no ADVICLY_*
/// variable, no test configuration. A link opened by the browser starts the app like this.
fn desktop_session_environment() -> Vec<(String, String)> {
    let mut environment: Vec<(String, String)> = [
        "HOME",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "DISPLAY",
        "XAUTHORITY",
        "DBUS_SESSION_BUS_ADDRESS",
    ]
    .into_iter()
    .filter_map(|name| {
        std::env::var(name)
            .ok()
            .map(|value| (name.to_owned(), value))
    })
    .collect();
    environment.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    environment.push(("LANG".into(), "C.UTF-8".into()));
    // A GNOME session: xdg-open hands the link to `gio open`, which starts the registered handler.
    environment.push(("XDG_CURRENT_DESKTOP".into(), "GNOME".into()));
    environment
}

/// The app's own folders, as Tauri resolves them in this world (no ADVICLY_DATA_DIR).
fn default_folders() -> Result<(PathBuf, PathBuf)> {
    let data =
        std::env::var_os("XDG_DATA_HOME").context("XDG_DATA_HOME is set by desktop-e2e.sh")?;
    let config =
        std::env::var_os("XDG_CONFIG_HOME").context("XDG_CONFIG_HOME is set by desktop-e2e.sh")?;
    Ok((
        PathBuf::from(data).join("com.advicly.desktop"),
        PathBuf::from(config)
            .join("com.advicly.desktop")
            .join("settings.toml"),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_link_opened_by_the_desktop_starts_the_app_and_completes_the_connection(
) -> Result<()> {
    let app = app_binary("debug")?;
    let world = tempfile::tempdir()?;
    let recorded = world.path().join("callback.url");
    let fake = FakeCalendly::start(FakeConfig {
        client_id: CLIENT_ID.to_owned(),
        seed_events: 3,
        ..FakeConfig::for_tests()
    })
    .await?;
    // The advisor set the client id once (here with the fake's addresses, which only a
    // development build accepts); the app finds everything else on its own.
    let (data_dir, settings_file) = default_folders()?;
    std::fs::create_dir_all(settings_file.parent().expect("a config folder"))?;
    std::fs::write(
        &settings_file,
        format!(
            "client_id = \"{CLIENT_ID}\"\napi_base = \"{}\"\nauth_base = \"{}\"\n",
            fake.api_base_url(),
            fake.auth_base_url()
        ),
    )?;
    // Only the browser stand-in is configured through the environment; it keeps the link.
    let browser = PathBuf::from(env!("CARGO_BIN_EXE_scripted-browser"));
    let driver = TauriDriver::start(&[
        ("ADVICLY_BROWSER".into(), browser.display().to_string()),
        ("ADVICLY_E2E_APP_BINARY".into(), app.display().to_string()),
        (
            "ADVICLY_E2E_RECORD_CALLBACK".into(),
            recorded.display().to_string(),
        ),
        (
            "ADVICLY_E2E_BROWSER_LOG".into(),
            world.path().join("browser.log").display().to_string(),
        ),
    ])
    .await?;

    // Start the OAuth flow, but let the browser keep the link instead of opening it.
    let client = driver.launch(&app, &[]).await?;
    click(&client, "#connection-tab").await?;
    click(&client, "#connect-oauth").await?;
    let callback = wait_for(
        "the scripted browser to record the callback",
        SCREEN_TIMEOUT,
        || async {
            Ok(std::fs::read_to_string(&recorded)
                .ok()
                .filter(|link| link.starts_with("advicly://")))
        },
    )
    .await?;
    quit(client, &app).await?;

    // The browser hands the link to the desktop: xdg-open with nothing but a session's
    // environment, through the advicly:// handler the app registered, starts the app cold.
    let opened = std::process::Command::new("xdg-open")
        .arg(&callback)
        .env_clear()
        .envs(desktop_session_environment())
        .status()
        .context("running xdg-open (Debian package xdg-utils)")?;
    ensure!(opened.success(), "xdg-open failed: {opened}");

    let pid = wait_for("the app started by the link", SCREEN_TIMEOUT, || async {
        Ok(processes_running(&app).first().copied())
    })
    .await?;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    ensure!(
        !String::from_utf8_lossy(&environ).contains("ADVICLY_"),
        "the app must have been started with a clean environment, not the test's variables"
    );

    // The same settings file and data folder, read the way the CLI would.
    let engine = Engine::open_with_settings(
        EngineConfig::production(data_dir, None),
        LiveSettings::new(
            Some(settings_file.clone()),
            SettingsOverrides::default(),
            AddressPolicy::AllowLoopbackHttp,
        ),
    )?;
    wait_for(
        "the cold-started app to finish the sign-in",
        SYNC_TIMEOUT,
        || async {
            Ok(
                (engine.status(Utc::now())?.state == advicly_engine::ConnectionState::Connected)
                    .then_some(()),
            )
        },
    )
    .await
    .context("a cold start by deep link must complete the pending authorization")?;
    let service = advicly_engine::default_keychain_service();
    ensure!(
        keychain_items(service)? >= 1,
        "the tokens are in the keychain after a cold-start connect"
    );

    // Clean up: disconnect (revokes at the fake, empties the keychain), then quit the app.
    engine.disconnect(true).await?;
    ensure!(
        keychain_items(service)? == 0,
        "disconnect empties the keychain"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    wait_for("the app to quit", SCREEN_TIMEOUT, || async {
        Ok(processes_running(&app).is_empty().then_some(()))
    })
    .await?;
    // The other scenarios configure the app through the environment; leave them no file.
    std::fs::remove_file(&settings_file)?;
    fake.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_changes_quit_reopen_offline_and_disconnect() -> Result<()> {
    let app = app_binary("debug")?;
    let world = tempfile::tempdir()?;
    let browser_log = world.path().join("browser.log");
    let keychain_service = format!("com.advicly.desktop.e2e-{}", std::process::id());

    let fake = FakeCalendly::start(FakeConfig {
        client_id: CLIENT_ID.to_owned(),
        seed_events: 8,
        ..FakeConfig::for_tests()
    })
    .await?;
    let control = fake.control();
    let grace = control
        .book(&booking(
            "Retirement plan review",
            hours_from_now(26),
            invitee("Grace Hopper", "grace.hopper@example.com"),
        ))
        .await?;

    let environment = app_environment(&fake, world.path(), &keychain_service, &app);
    let driver = TauriDriver::start(&environment).await?;

    // First start: nothing connected, so the connect screen offers OAuth (a client id is configured).
    let client = driver.launch(&app, &[]).await?;
    click(&client, "#connection-tab").await?;
    wait_for_element(&client, "#connect-oauth", SCREEN_TIMEOUT).await?;
    ensure!(
        all(&client, "#connect-demo").await?.is_empty(),
        "with an OAuth client configured the demo must not be offered"
    );
    save_screenshot(&client, &screenshot_path("connect")).await?;

    // Connect: the app opens the scripted browser, which approves at the fake and launches a
    // second app process with the advicly:// callback; single-instance hands it to this one.
    click(&client, "#connect-oauth").await?;
    wait_for_element(&client, ".app[data-connection=connected]", SCREEN_TIMEOUT)
        .await
        .with_context(|| {
            format!(
                "browser log: {}",
                std::fs::read_to_string(&browser_log).unwrap_or_default()
            )
        })?;
    // The callback must have travelled as a deep link through a second process, which exits
    // once it has handed the link over (possibly just after the app shows the connection).
    wait_for(
        "the second instance to exit cleanly",
        SCREEN_TIMEOUT,
        || async {
            Ok(std::fs::read_to_string(&browser_log)
                .unwrap_or_default()
                .contains("second instance exited with exit status: 0")
                .then_some(()))
        },
    )
    .await
    .with_context(|| {
        format!(
            "browser log: {}",
            std::fs::read_to_string(&browser_log).unwrap_or_default()
        )
    })?;
    ensure!(
        keychain_items(&keychain_service)? >= 1,
        "connecting must store the tokens in the keychain"
    );

    // The first sync (started by the scheduler after connecting) fills the list.
    click(&client, "#meetings-tab").await?;
    wait_for_element(&client, &row_selector(&grace.event_uri), SYNC_TIMEOUT).await?;
    wait_for_text(
        &client,
        &row_selector(&grace.event_uri),
        "Grace Hopper",
        SCREEN_TIMEOUT,
    )
    .await?;
    save_screenshot(&client, &screenshot_path("meetings")).await?;

    // A booking made at Calendly appears after Sync.
    let katherine = control
        .book(&booking(
            "New client introduction",
            hours_from_now(50),
            invitee("Katherine Johnson", "katherine.johnson@example.com"),
        ))
        .await?;
    press_sync(&client).await?;
    wait_for_text(
        &client,
        &row_selector(&katherine.event_uri),
        "Katherine Johnson",
        SYNC_TIMEOUT,
    )
    .await?;

    // A cancel and a reschedule show as badges after the next sync.
    control
        .cancel(&CancelRequest {
            event_uri: Some(katherine.event_uri.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Host,
            reason: Some("Client moved the review to spring".into()),
        })
        .await?;
    let moved = control
        .reschedule(&RescheduleRequest {
            invitee_uri: grace.invitee_uris[0].clone(),
            new_start_time: hours_from_now(74),
            duration_minutes: None,
            order: Default::default(),
        })
        .await?;
    press_sync(&client).await?;
    choose_status(&client, "all").await?;
    search_meetings(&client, "Katherine").await?;
    wait_for_badge(&client, &katherine.event_uri, "badge-canceled").await?;
    wait_for_text(
        &client,
        &row_selector(&katherine.event_uri),
        "spring",
        SCREEN_TIMEOUT,
    )
    .await?;
    search_meetings(&client, "Grace").await?;
    wait_for_badge(&client, &moved.old_event_uri, "badge-rescheduled").await?;
    wait_for_badge(&client, &moved.new_event_uri, "badge-rescheduled-from").await?;
    save_screenshot(&client, &screenshot_path("meetings-changes")).await?;

    // The detail of the new meeting shows the invitee and the booking answers.
    click(
        &client,
        &format!("{} .row-main", row_selector(&moved.new_event_uri)),
    )
    .await?;
    wait_for_text(
        &client,
        "[data-testid=invitee-name]",
        "Grace Hopper",
        SCREEN_TIMEOUT,
    )
    .await?;
    wait_for_text(
        &client,
        "[data-testid=answers]",
        "Pension consolidation",
        SCREEN_TIMEOUT,
    )
    .await?;
    save_screenshot(&client, &screenshot_path("meeting-detail")).await?;

    click(&client, "#clients-tab").await?;
    wait_for_element(
        &client,
        "[data-testid=client-row][data-email=\"grace.hopper@example.com\"]",
        SCREEN_TIMEOUT,
    )
    .await?;
    save_screenshot(&client, &screenshot_path("clients")).await?;

    // Quit, take Calendly away, reopen: the meetings are still there and the app says it is offline.
    quit(client, &app).await?;
    fake.shutdown().await;
    let client = driver.launch(&app, &[]).await?;
    wait_for_element(&client, "#offline-notice", SCREEN_TIMEOUT)
        .await
        .with_context(|| "the reopened app must notice that Calendly is unreachable")?;
    click(&client, "#meetings-tab").await?;
    choose_status(&client, "all").await?;
    search_meetings(&client, "Grace").await?;
    wait_for_badge(&client, &moved.old_event_uri, "badge-rescheduled").await?;
    wait_for_element(&client, &row_selector(&moved.new_event_uri), SCREEN_TIMEOUT).await?;
    search_meetings(&client, "").await?;
    save_screenshot(&client, &screenshot_path("offline")).await?;

    // Disconnect removes the tokens from the keychain, even with Calendly unreachable.
    ensure!(
        keychain_items(&keychain_service)? >= 1,
        "the tokens must survive a restart"
    );
    disconnect_and_check_keychain(&client, &keychain_service).await?;
    wait_for_element(&client, "#connect-oauth", SCREEN_TIMEOUT)
        .await
        .with_context(|| "after disconnecting the connect screen is offered again")?;

    let text = page_text(&client).await;
    quit(client, &app)
        .await
        .with_context(|| format!("last page: {text}"))?;
    Ok(())
}

/// Reads a form field's current value (WebDriver's text of a textarea is its initial content).
async fn field_value(client: &Client, css: &str) -> Result<String> {
    let value = client
        .execute(
            "const field = document.querySelector(arguments[0]); return field ? field.value : null;",
            vec![serde_json::Value::String(css.to_owned())],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agenda_week_meeting_client_and_a_note_that_survives_a_restart() -> Result<()> {
    let app = app_binary("debug")?;
    let world = tempfile::tempdir()?;
    let keychain_service = format!("com.advicly.desktop.e2e-day-{}", std::process::id());
    let fake = FakeCalendly::start(FakeConfig {
        client_id: CLIENT_ID.to_owned(),
        seed_events: 0,
        ..FakeConfig::for_tests()
    })
    .await?;
    let control = fake.control();
    let pension_review = control
        .add_event_type(&fake_calendly::NewEventType {
            name: "Pension review".to_owned(),
            duration_minutes: Some(45),
            color: Some("#8247f5".to_owned()),
            ..Default::default()
        })
        .await?;
    let mut ada = invitee("Ada Lovelace", "ada.lovelace@example.com");
    ada.questions_and_answers = vec![fake_calendly::QuestionAnswer {
        question: "What would you like to discuss?".to_owned(),
        answer: "Consolidating three old workplace pensions".to_owned(),
    }];
    let booked = control
        .book(&BookingRequest {
            event_type_uri: Some(pension_review.event_type_uri.clone()),
            event_name: Some("Pension review with Ada".to_owned()),
            ..booking("unused", later_today(), ada)
        })
        .await?;
    let environment = app_environment(&fake, world.path(), &keychain_service, &app);
    let driver = TauriDriver::start(&environment).await?;

    let client = driver.launch(&app, &[]).await?;
    click(&client, "#connection-tab").await?;
    click(&client, "#connect-oauth").await?;
    wait_for_element(&client, ".app[data-connection=connected]", SCREEN_TIMEOUT).await?;

    // Connected, the app lands on today's agenda; the meeting shows its type by name and colour.
    let agenda_item = format!(
        "[data-testid=agenda-item][data-uri=\"{}\"]",
        booked.event_uri
    );
    wait_for_text(&client, &agenda_item, "Pension review", SYNC_TIMEOUT).await?;
    let agenda = page_text(&client).await;
    ensure!(
        !agenda.contains("/event_types/"),
        "the UI never shows an event type URI: {agenda}"
    );
    wait_for_element(&client, "#next-meeting-countdown", SCREEN_TIMEOUT).await?;
    save_screenshot(&client, &screenshot_path("today")).await?;

    // The week shows the same meeting as a block; opening it gives the detail.
    click(&client, "#week-tab").await?;
    let week_block = format!(
        "[data-testid=week-block][data-uri=\"{}\"]",
        booked.event_uri
    );
    wait_for_element(&client, &week_block, SCREEN_TIMEOUT).await?;
    save_screenshot(&client, &screenshot_path("week")).await?;
    click(&client, &week_block).await?;
    wait_for_text(
        &client,
        "#detail-event-type",
        "Pension review",
        SCREEN_TIMEOUT,
    )
    .await?;

    // The client's name in the detail opens their page with the answers.
    click(
        &client,
        "#meeting-detail [data-testid=invitee-name] [data-testid=client-link]",
    )
    .await?;
    wait_for_element(
        &client,
        "#client-detail[data-loaded=true][data-email=\"ada.lovelace@example.com\"]",
        SCREEN_TIMEOUT,
    )
    .await?;
    wait_for_text(
        &client,
        "#client-answers",
        "three old workplace pensions",
        SCREEN_TIMEOUT,
    )
    .await?;

    // A private note, saved in the app.
    let note = "Prefers morning calls; two grandchildren at university.";
    let field = wait_for_element(&client, "#client-note", SCREEN_TIMEOUT).await?;
    field.send_keys(note).await?;
    click(&client, "#save-note").await?;
    wait_for_element(&client, "#note-status[data-state=saved]", SCREEN_TIMEOUT).await?;
    save_screenshot(&client, &screenshot_path("client")).await?;

    // After a restart the note is still there, and search finds the meeting by it.
    quit(client, &app).await?;
    let client = driver.launch(&app, &[]).await?;
    click(&client, "#clients-tab").await?;
    click(
        &client,
        "[data-testid=client-row][data-email=\"ada.lovelace@example.com\"] .row-main",
    )
    .await?;
    wait_for_element(&client, "#client-detail[data-loaded=true]", SCREEN_TIMEOUT).await?;
    let kept = wait_for("the saved note after a restart", SCREEN_TIMEOUT, || async {
        let value = field_value(&client, "#client-note").await?;
        Ok((value == note).then_some(value))
    })
    .await?;
    ensure!(kept == note, "the note survives a restart");
    click(&client, "#meetings-tab").await?;
    search_meetings(&client, "grandchildren").await?;
    wait_for_element(&client, &row_selector(&booked.event_uri), SCREEN_TIMEOUT)
        .await
        .context("the note is part of the meeting search")?;

    disconnect_and_check_keychain(&client, &keychain_service).await?;
    quit(client, &app).await?;
    fake.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_at_calendly_appears_in_the_open_window_with_no_click_and_is_announced(
) -> Result<()> {
    let notifications = advicly_desktop_e2e::notifications::NotificationService::start().await?;
    let app = app_binary("debug")?;
    let world = tempfile::tempdir()?;
    let keychain_service = format!("com.advicly.desktop.e2e-live-{}", std::process::id());
    let fake = FakeCalendly::start(FakeConfig {
        client_id: CLIENT_ID.to_owned(),
        seed_events: 3,
        ..FakeConfig::for_tests()
    })
    .await?;
    let relay = advicly_relay::start_embedded(world.path().join("relay")).await?;
    let control = fake.control();
    let token = control
        .mint_personal_access_token(&fake_calendly::MintTokenRequest::default())
        .await?
        .token;
    let mut environment = app_environment(&fake, world.path(), &keychain_service, &app);
    environment.push(("ADVICLY_RELAY_BASE".into(), relay.base_url().to_string()));
    let driver = TauriDriver::start(&environment).await?;
    let client = driver.launch(&app, &[]).await?;

    // Connect with a personal access token; connecting sets up the relay channel and the
    // subscription, and the listener goes live.
    click(&client, "#connection-tab").await?;
    let field = wait_for_element(&client, "#token-input", SCREEN_TIMEOUT).await?;
    field.send_keys(&token).await?;
    click(&client, "#connect-token").await?;
    wait_for_element(&client, ".app[data-connection=connected]", SCREEN_TIMEOUT).await?;
    click(&client, "#meetings-tab").await?;
    wait_for_element(&client, "#realtime-status[data-state=live]", SYNC_TIMEOUT)
        .await
        .context("the sync panel must say Live")?;

    // A client books at Calendly; nobody touches the app.
    let booked = control
        .book(&booking(
            "Live booking review",
            hours_from_now(30),
            invitee("Radia Perlman", "radia.perlman@example.com"),
        ))
        .await?;
    wait_for_text(
        &client,
        &row_selector(&booked.event_uri),
        "Radia Perlman",
        SCREEN_TIMEOUT,
    )
    .await
    .context("the booking must appear in the open window by itself")?;
    save_screenshot(&client, &screenshot_path("realtime")).await?;

    // …and the desktop was told, on the test's own notification service.
    let shown = wait_for("the booking's notification", SCREEN_TIMEOUT, || async {
        Ok(notifications
            .shown()
            .into_iter()
            .find(|shown| shown.body.contains("Radia Perlman")))
    })
    .await?;
    ensure!(
        shown.summary == "New meeting booked",
        "notification: {shown:?}"
    );
    ensure!(
        shown.body.contains("Live booking review"),
        "notification: {shown:?}"
    );

    disconnect_and_check_keychain(&client, &keychain_service).await?;
    quit(client, &app).await?;
    relay.shutdown().await?;
    fake.shutdown().await;
    Ok(())
}
