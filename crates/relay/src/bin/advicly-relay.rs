//! The `advicly-relay` binary: binds the listen address and serves the relay until Ctrl-C.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use url::Url;

/// Advicly's relay server (the HTTPS OAuth callback bounce page).
#[derive(Debug, Parser)]
#[command(name = "advicly-relay", version)]
struct Arguments {
    /// Address to listen on, e.g. 127.0.0.1:8443 (TLS is terminated in front of the relay).
    #[arg(long, env = "ADVICLY_RELAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the bounce page sends the browser.
    #[arg(long, default_value = advicly_relay::DEFAULT_DEEP_LINK)]
    deep_link: Url,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let arguments = Arguments::parse();
    let state = advicly_relay::RelayState::new(advicly_relay::RelayConfig {
        deep_link: arguments.deep_link,
        ..advicly_relay::RelayConfig::default()
    })?;
    let listener = tokio::net::TcpListener::bind(arguments.listen)
        .await
        .with_context(|| format!("could not listen on {}", arguments.listen))?;
    tracing::info!(address = %listener.local_addr()?, "advicly-relay listening");
    let shutdown = async {
        // If Ctrl-C cannot be installed the relay runs until killed, which is still correct.
        let _ = tokio::signal::ctrl_c().await;
    };
    advicly_relay::serve(listener, advicly_relay::router(state), shutdown).await?;
    Ok(())
}
