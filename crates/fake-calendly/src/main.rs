//! The `fake-calendly` binary: runs the fake on fixed addresses for manual testing and the demo.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use fake_calendly::{FakeCalendly, FakeConfig, MintTokenRequest};

/// A faithful fake of Calendly (OAuth server, API v2, webhook deliveries) plus a `/_control`
/// simulation API. Prints the API base URL on the first line of stdout and the OAuth base URL
/// on the second; with --print-demo-token a third line carries a personal access token.
#[derive(Debug, Parser)]
#[command(name = "fake-calendly", version)]
struct Arguments {
    /// Address of the API listener (also serves /_control). Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the OAuth listener (the auth.calendly.com stand-in). Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    auth_listen: SocketAddr,
    /// How many events to seed for the default user at start.
    #[arg(long, default_value_t = 0)]
    seed_events: usize,
    /// Seed number for the deterministic event generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// OAuth client id of the registered (native, public) app.
    #[arg(long, default_value = "fake-calendly-client-id")]
    client_id: String,
    /// A registered redirect URI; repeat for several. Replaces the defaults
    /// (advicly://oauth/callback and http://127.0.0.1/oauth/callback) when given.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Latency added to every API and OAuth response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Approve authorization requests at once instead of showing the consent page.
    #[arg(long)]
    auto_approve: bool,
    /// API requests allowed per user per minute.
    #[arg(long, default_value_t = 500)]
    rate_limit: u32,
    /// Token requests allowed per user per minute.
    #[arg(long, default_value_t = 8)]
    token_rate_limit: u32,
    /// Retry window for failing webhook deliveries, in seconds, before the subscription is disabled.
    #[arg(long, default_value_t = 24 * 60 * 60)]
    retry_window_secs: u64,
    /// First retry delay for failing webhook deliveries, in milliseconds (doubles per retry).
    #[arg(long, default_value_t = 60_000)]
    retry_backoff_ms: u64,
    /// The app-wide webhook signing key (used for subscriptions created with OAuth tokens).
    #[arg(long)]
    webhook_signing_key: Option<String>,
    /// Mint a full-access personal access token for the default user and print it on line 3.
    #[arg(long)]
    print_demo_token: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let arguments = Arguments::parse();
    let defaults = FakeConfig::default();
    let config = FakeConfig {
        client_id: arguments.client_id,
        redirect_uris: if arguments.redirect_uris.is_empty() {
            defaults.redirect_uris.clone()
        } else {
            arguments.redirect_uris
        },
        auto_approve: arguments.auto_approve,
        rate_limit_per_minute: arguments.rate_limit,
        token_requests_per_minute: arguments.token_rate_limit,
        latency: Duration::from_millis(arguments.latency_ms),
        seed: arguments.seed,
        seed_events: arguments.seed_events,
        retry_window: Duration::from_secs(arguments.retry_window_secs),
        retry_backoff: Duration::from_millis(arguments.retry_backoff_ms),
        app_webhook_signing_key: arguments
            .webhook_signing_key
            .unwrap_or(defaults.app_webhook_signing_key.clone()),
        listen_api: arguments.listen,
        listen_auth: arguments.auth_listen,
        ..defaults
    };
    let fake = FakeCalendly::start(config)
        .await
        .context("starting the fake Calendly")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{}",
        fake.api_base_url().as_str().trim_end_matches('/')
    )?;
    writeln!(
        stdout,
        "{}",
        fake.auth_base_url().as_str().trim_end_matches('/')
    )?;
    if arguments.print_demo_token {
        let token = fake
            .control()
            .mint_personal_access_token(&MintTokenRequest::default())
            .await
            .context("minting the demo token")?;
        writeln!(stdout, "{}", token.token)?;
    }
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    fake.shutdown().await;
    Ok(())
}
