//! The "system browser" of the desktop end-to-end tests.
//!
//! The app opens Calendly's authorization page with `$ADVICLY_BROWSER <url>`. This program plays
//! the advisor and the browser: it GETs the URL at the fake Calendly (which auto-approves), takes
//! the `advicly://oauth/callback?...` redirect, and launches the app binary with it — exactly what
//! a desktop does with a custom-scheme link — so the single-instance plugin forwards it to the
//! running app. Each step is appended to `$ADVICLY_E2E_BROWSER_LOG` for the test to check. With
//! `$ADVICLY_E2E_RECORD_CALLBACK` set it writes the callback URL to that file instead.

use std::io::Write;
use std::process::Command;

use anyhow::{bail, Context, Result};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let result = run().await;
    if let Err(error) = &result {
        log(&format!("error: {error:#}"));
    }
    result
}

async fn run() -> Result<()> {
    let address = std::env::args()
        .nth(1)
        .context("usage: scripted-browser <url>")?;
    let app =
        std::env::var("ADVICLY_E2E_APP_BINARY").context("ADVICLY_E2E_APP_BINARY is not set")?;
    log(&format!(
        "opened {}",
        address.split('?').next().unwrap_or_default()
    ));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = http
        .get(&address)
        .send()
        .await
        .context("requesting the authorization page")?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let Some(callback) = location.filter(|location| location.starts_with("advicly://")) else {
        bail!("expected a redirect to advicly://, got HTTP {status}");
    };
    // The callback carries a one-time code; log only its shape.
    log("approved; launching the app with the advicly:// callback");

    // "Record" mode keeps the link for the test instead of opening it, so the test can start the
    // app with it later (a cold start by deep link).
    if let Some(path) = std::env::var_os("ADVICLY_E2E_RECORD_CALLBACK") {
        std::fs::write(&path, &callback).context("recording the callback")?;
        log("recorded the callback for a cold start");
        return Ok(());
    }
    let exit = Command::new(&app)
        .arg(&callback)
        .status()
        .with_context(|| format!("launching {app}"))?;
    log(&format!("second instance exited with {exit}"));
    if !exit.success() {
        bail!("the second app instance failed: {exit}");
    }
    Ok(())
}

fn log(line: &str) {
    let Some(path) = std::env::var_os("ADVICLY_E2E_BROWSER_LOG") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}
