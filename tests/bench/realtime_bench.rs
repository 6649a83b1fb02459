//! Real-time benchmark: webhook POST at the relay → row committed in the app's database.
//!
//! The relay (SQLite, WAL, `synchronous=FULL`) and the app's engine with its listener run in this
//! process; the fake Calendly only sets the account up. Signed `invitee.created` deliveries, each
//! for a new meeting, are posted to the channel's ingress URL at a steady rate (open loop), and
//! the time from sending the POST to the listener's commit of that meeting (the engine announces
//! each delivery right after its transaction commits) is recorded. Prints p50 / p95 / p99 / max
//! per rate.
//!
//! Run it with `scripts/bench-realtime.sh [--rates 10,100] [--seconds 10]` (it needs a Secret
//! Service for the token and the signing key, like the app).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use advicly_engine::{
    spawn_listener, DeliveryOutcome, Engine, EngineConfig, EngineEvent, ListenerSettings,
    RealtimeState, RedirectMode, Secret, SyncWindows,
};
use fake_calendly::{BookingRequest, FakeCalendly, FakeConfig, InviteeSpec, MintTokenRequest};

struct Options {
    rates: Vec<u32>,
    seconds: u64,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        rates: vec![10, 100],
        seconds: 10,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rates" => {
                options.rates = value
                    .split(',')
                    .map(|rate| rate.parse().context("rates are whole numbers"))
                    .collect::<anyhow::Result<_>>()?
            }
            "--seconds" => options.seconds = value.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    let world = tempfile::tempdir()?;
    let fake = FakeCalendly::start(FakeConfig::for_tests()).await?;
    let control = fake.control();
    let relay = advicly_relay::start_embedded(world.path().join("relay")).await?;
    let config = EngineConfig {
        data_dir: world.path().join("app"),
        api_base: fake.api_base_url(),
        auth_base: fake.auth_base_url(),
        oauth_client_id: None,
        redirect: RedirectMode::Direct,
        keychain_service: format!("com.advicly.bench.realtime.{}", std::process::id()),
        relay_base: Some(relay.base_url().clone()),
        windows: SyncWindows::default(),
        calendly: Default::default(),
    };
    let engine = Engine::open(config)?;
    let token = control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await?
        .token;
    engine.connect_token(Secret::new(token)).await?;
    let listener = spawn_listener(engine.clone(), ListenerSettings::default());
    let mut states = listener.watch_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        while states.borrow_and_update().state != RealtimeState::Live {
            states.changed().await.expect("the listener runs");
        }
    })
    .await
    .context("the listener did not go live")?;

    // One real delivery from the fake is the template every benchmark body is made from.
    let mut events = engine.subscribe();
    control
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Financial review".to_owned()),
            start_time: chrono::Utc::now() + chrono::Duration::days(3),
            duration_minutes: Some(45),
            invitees: vec![InviteeSpec {
                name: "Template Client".to_owned(),
                email: "template@example.com".to_owned(),
                ..InviteeSpec::default()
            }],
            location: None,
            invitee_limit: None,
        })
        .await?;
    let template = loop {
        if let EngineEvent::DeliveryProcessed(report) = events.recv().await? {
            break report;
        }
    };
    let subscription = control
        .subscriptions()
        .await?
        .into_iter()
        .find(|subscription| subscription.state == "active")
        .context("our subscription")?;
    let key = Secret::new(
        control
            .signing_key(&subscription.uri)
            .await?
            .context("the subscription's signing key")?,
    );
    let body = control
        .deliveries()
        .await?
        .into_iter()
        .find(|delivery| delivery.succeeded)
        .context("the template delivery")?
        .body;
    let event_id = template
        .meeting_uri
        .as_deref()
        .and_then(|uri| uri.rsplit('/').next())
        .context("the template's event id")?
        .to_owned();
    let ingress = subscription.callback_url.clone();
    let http = reqwest::Client::new();

    println!(
        "Real-time benchmark: webhook POST at the relay -> row committed in the app's database"
    );
    println!("(relay: SQLite WAL synchronous=FULL; app: WAL, durable commits on the listener's connection)");
    println!();
    println!("| rate | deliveries | p50 | p95 | p99 | max | all applied |");
    println!("|---|---|---|---|---|---|---|");
    for (round, rate) in options.rates.iter().enumerate() {
        let count = (*rate as u64 * options.seconds) as usize;
        let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let mut latencies = Vec::with_capacity(count);
        let mut applied = true;
        let collector = {
            let sent = sent.clone();
            let mut events = engine.subscribe();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut all_applied = true;
                while latencies.len() < count {
                    match events.recv().await {
                        Ok(EngineEvent::DeliveryProcessed(report)) => {
                            let committed = Instant::now();
                            let Some(uri) = report.meeting_uri.clone() else {
                                continue;
                            };
                            let started = sent.lock().unwrap().remove(&uri);
                            if let Some(started) = started {
                                all_applied &= report.outcome == DeliveryOutcome::Applied;
                                latencies.push(committed - started);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                (latencies, all_applied)
            })
        };
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(*rate)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for index in 0..count {
            ticker.tick().await;
            let new_event = format!("bench{round}x{index:08}-0000-4000-8000-000000000000");
            let delivery_body = body.replace(&event_id, &new_event);
            let uri = template
                .meeting_uri
                .as_deref()
                .unwrap()
                .replace(&event_id, &new_event);
            let signature = advicly_calendly_signature(&key, delivery_body.as_bytes());
            let http = http.clone();
            let ingress = ingress.clone();
            let sent = sent.clone();
            tokio::spawn(async move {
                sent.lock().unwrap().insert(uri, Instant::now());
                let _ = http
                    .post(&ingress)
                    .header("content-type", "application/json")
                    .header("Calendly-Webhook-Signature", signature)
                    .body(delivery_body)
                    .send()
                    .await;
            });
        }
        match tokio::time::timeout(Duration::from_secs(60), collector).await {
            Ok(Ok((measured, all_applied))) => {
                latencies = measured;
                applied = all_applied;
            }
            _ => eprintln!("not every delivery arrived within a minute"),
        }
        latencies.sort();
        println!(
            "| {rate}/s | {} | {} | {} | {} | {} | {} |",
            latencies.len(),
            milliseconds(percentile(&latencies, 0.50)),
            milliseconds(percentile(&latencies, 0.95)),
            milliseconds(percentile(&latencies, 0.99)),
            milliseconds(latencies.last().copied().unwrap_or_default()),
            if applied && latencies.len() == count {
                "yes"
            } else {
                "no"
            },
        );
    }
    println!();
    println!("Targets at 100/s: p50 <= 10 ms, p99 <= 50 ms.");
    listener.shutdown().await;
    let _ = engine.disconnect(true).await;
    relay.shutdown().await?;
    fake.shutdown().await;
    Ok(())
}

/// `t=<now>,v1=<hex HMAC-SHA256>` over the body, as Calendly signs.
fn advicly_calendly_signature(key: &Secret, body: &[u8]) -> String {
    advicly_calendly::webhook::signature_header(key, chrono::Utc::now().timestamp(), body)
}
