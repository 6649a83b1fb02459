//! The demo in the app exactly as an advisor first meets it: no settings, no client id, nothing in
//! the environment. `scripts/installer-test.sh` runs this against the installed release package
//! (`ADVICLY_DESKTOP_BINARY=/usr/bin/advicly-desktop`), whose https-only rule must not break the
//! demo's in-process fake Calendly; `scripts/desktop-e2e.sh` runs it against the debug build.

use std::time::Duration;

use advicly_desktop_e2e::{
    all, app_binary, explain_failure, processes_running, wait_for, wait_for_element, TauriDriver,
};
use anyhow::{Context, Result};

const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);
const SYNC_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_connects_lists_meetings_and_disconnects_with_no_settings_at_all() -> Result<()> {
    let app = app_binary("debug")?;
    let world = tempfile::tempdir()?;
    // A first start: empty data and config folders of its own; no ADVICLY_* configuration.
    let driver = TauriDriver::start(&[
        (
            "XDG_DATA_HOME".into(),
            world.path().join("data").display().to_string(),
        ),
        (
            "XDG_CONFIG_HOME".into(),
            world.path().join("config").display().to_string(),
        ),
        ("ADVICLY_LOG".into(), "info".into()),
    ])
    .await?;
    let client = driver.launch(&app, &[]).await?;

    // No client id: Connect explains what is missing and offers the demo instead.
    wait_for_element(&client, "#client-id-missing", SCREEN_TIMEOUT).await?;
    wait_for_element(&client, "#connect-demo", SCREEN_TIMEOUT)
        .await?
        .click()
        .await?;
    wait_for_element(&client, ".app[data-connection=connected]", SYNC_TIMEOUT)
        .await
        .context("the demo connects through its in-process fake Calendly")?;
    // The demo lands on today's agenda (the start screen), with the demo's meetings in it.
    wait_for_element(&client, "#today-tab[aria-selected=true]", SCREEN_TIMEOUT)
        .await
        .context("the demo opens on Today")?;
    wait_for_element(&client, "[data-testid=agenda-item]", SYNC_TIMEOUT)
        .await
        .context("the demo's meetings are on today's agenda")?;
    // All meetings lists them too.
    wait_for_element(&client, "#meetings-tab", SCREEN_TIMEOUT)
        .await?
        .click()
        .await?;
    wait_for_element(&client, "[data-testid=meeting-row]", SCREEN_TIMEOUT)
        .await
        .context("the demo's meetings are listed")?;

    // Leaving the demo returns to the first screen.
    wait_for_element(&client, "#connection-tab", SCREEN_TIMEOUT)
        .await?
        .click()
        .await?;
    wait_for_element(&client, "#disconnect", SCREEN_TIMEOUT)
        .await?
        .click()
        .await?;
    wait_for_element(&client, "#confirm-disconnect", SCREEN_TIMEOUT)
        .await?
        .click()
        .await?;
    let back = wait_for(
        "the connect screen after leaving the demo",
        SCREEN_TIMEOUT,
        || async { Ok((!all(&client, "#connect-demo").await?.is_empty()).then_some(())) },
    )
    .await;
    explain_failure(&client, back).await?;

    client.close_window().await.context("closing the window")?;
    let _ = client.close().await;
    wait_for("the app process to exit", SCREEN_TIMEOUT, || async {
        Ok(processes_running(&app).is_empty().then_some(()))
    })
    .await
}
