//! Sync benchmark: the engine against the fake Calendly (in a separate process, 50 ms added
//! latency per request) with 1,000 and 10,000 events. Prints wall time, API calls by endpoint and
//! peak RSS for (a) a first full sync with a relaxed rate limit, (b) a first full sync under the
//! real 500/min limit, (c) an incremental sync with no changes and (d) an incremental sync after
//! 1% of the events changed.
//!
//! Run it with `scripts/bench-sync.sh` (it needs a Secret Service for the token, like the app).
//! Arguments: `[--events 1000,10000] [--paced-events 1000] [--latency-ms 50]`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{Duration as ChronoDuration, Utc};

use advicly_engine::{
    Engine, EngineConfig, MeetingQuery, MeetingStatusFilter, RedirectMode, Secret, SyncReport,
    SyncRequest, SyncWindows,
};
use fake_calendly::{
    ControlClient, FakeCalendly, FakeConfig, MintTokenRequest, SeedRequest, UpdateEventRequest,
};

const REAL_RATE_LIMIT_PER_MINUTE: u32 = 500;
const RELAXED_RATE_LIMIT_PER_MINUTE: u32 = 1_000_000;

struct Options {
    event_counts: Vec<usize>,
    paced_event_counts: Vec<usize>,
    latency_ms: u64,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        event_counts: vec![1_000, 10_000],
        paced_event_counts: vec![1_000],
        latency_ms: 50,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let counts = || -> anyhow::Result<Vec<usize>> {
            value
                .split(',')
                .filter(|part| !part.is_empty())
                .map(|part| part.parse::<usize>().context("counts are whole numbers"))
                .collect()
        };
        match flag.as_str() {
            "--events" => options.event_counts = counts()?,
            "--paced-events" => options.paced_event_counts = counts()?,
            "--latency-ms" => options.latency_ms = value.parse()?,
            "--serve-fake" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    // The fake runs in a child process (this same binary) so that the peak RSS measured here is
    // the engine's alone.
    if let Some(latency) = std::env::var_os("ADVICLY_BENCH_SERVE_FAKE") {
        let latency_ms: u64 = latency.to_string_lossy().parse()?;
        return serve_fake(latency_ms);
    }
    let options = parse_options()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(options))
}

fn serve_fake(latency_ms: u64) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let fake = FakeCalendly::start(FakeConfig {
            latency: Duration::from_millis(latency_ms),
            seed_events: 0,
            ..FakeConfig::default()
        })
        .await?;
        println!("{}", fake.api_base_url());
        // Stay up until the parent closes our standard input.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        })
        .await?;
        fake.shutdown().await;
        Ok(())
    })
}

struct FakeProcess {
    child: Child,
    control: ControlClient,
    api_base: url::Url,
}

impl FakeProcess {
    fn start(latency_ms: u64) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .env("ADVICLY_BENCH_SERVE_FAKE", latency_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the fake Calendly process")?;
        let stdout = child.stdout.take().context("fake stdout")?;
        let mut first_line = String::new();
        BufReader::new(stdout).read_line(&mut first_line)?;
        let api_base = url::Url::parse(first_line.trim()).context("the fake's base URL")?;
        Ok(Self {
            child,
            control: ControlClient::new(api_base.clone()),
            api_base,
        })
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Resets the kernel's peak-RSS mark of this process so each scenario reports its own peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct Scenario<'a> {
    label: &'a str,
    events: usize,
}

fn print_report(scenario: &Scenario<'_>, report: &SyncReport, wall: Duration, extra: &str) {
    let calls: Vec<String> = report
        .api_calls
        .iter()
        .map(|(endpoint, count)| format!("{endpoint}={count}"))
        .collect();
    // Invitee lists read only for the freshness rule (no-shows after a meeting, upcoming groups)
    // are reported apart, so "no invitee calls for unchanged meetings outside the rule" shows.
    let outside_rule = report
        .calls_to("invitees")
        .saturating_sub(report.invitee_refreshes);
    println!(
        "{:<44} events={:>6}  kind={:<11} wall={:>8.2}s  peak_rss={:>6.1} MiB  created={} updated={} unchanged={}  calls: {}  freshness_reads={} invitee_calls_outside_rule={}{}",
        scenario.label,
        scenario.events,
        report.kind.as_str(),
        wall.as_secs_f64(),
        peak_rss_mib(),
        report.counts.created,
        report.counts.updated,
        report.counts.unchanged,
        calls.join(" "),
        report.invitee_refreshes,
        outside_rule,
        extra,
    );
}

async fn connected_engine(
    fake: &FakeProcess,
    data_dir: &std::path::Path,
    label: &str,
) -> anyhow::Result<Engine> {
    let config = EngineConfig {
        data_dir: data_dir.to_path_buf(),
        api_base: fake.api_base.clone(),
        auth_base: fake.api_base.clone(),
        oauth_client_id: None,
        redirect: RedirectMode::Direct,
        keychain_service: format!("com.advicly.bench.{}.{label}", std::process::id()),
        relay_base: None,
        windows: SyncWindows::default(),
        calendly: Default::default(),
    };
    let engine = Engine::open(config)?;
    let token = fake
        .control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await?;
    engine.connect_token(Secret::new(token.token)).await?;
    Ok(engine)
}

async fn seed(fake: &FakeProcess, events: usize) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let report = fake
        .control
        .seed(&SeedRequest {
            user_uri: None,
            count: events,
            seed: 42,
            range_start: now - ChronoDuration::days(700),
            range_end: now + ChronoDuration::days(360),
        })
        .await?;
    Ok(report.event_uris)
}

/// Watches the store while a sync runs and returns when the next two weeks were complete.
fn watch_upcoming(engine: Engine, done: Arc<AtomicBool>) -> Arc<Mutex<Vec<(Duration, usize)>>> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let recorded = samples.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        while !done.load(Ordering::Relaxed) {
            ticker.tick().await;
            let now = Utc::now();
            let query = MeetingQuery {
                from: Some(now),
                to: Some(now + ChronoDuration::days(14)),
                status: MeetingStatusFilter::All,
                ..MeetingQuery::default()
            };
            if let Ok(meetings) = engine.meetings(&query, now) {
                let complete = meetings.iter().filter(|m| !m.invitees.is_empty()).count();
                recorded
                    .lock()
                    .expect("samples lock")
                    .push((started.elapsed(), complete));
            }
        }
    });
    samples
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!(
        "sync benchmark: fake Calendly in a child process, {} ms added latency per request",
        options.latency_ms
    );
    for &events in &options.event_counts {
        let fake = FakeProcess::start(options.latency_ms)?;
        let event_uris = seed(&fake, events).await?;
        let data_dir = tempfile::tempdir()?;

        // (a) First full sync with a relaxed rate limit.
        fake.control
            .set_rate_limit(RELAXED_RATE_LIMIT_PER_MINUTE)
            .await?;
        let engine = connected_engine(&fake, data_dir.path(), "relaxed").await?;
        reset_peak_rss();
        let started = Instant::now();
        let report = engine.sync(SyncRequest { force_full: true }).await?;
        print_report(
            &Scenario {
                label: "(a) first full sync, relaxed rate limit",
                events,
            },
            &report,
            started.elapsed(),
            "",
        );

        // (c) Incremental sync with no changes: list pages, and invitee calls only for the
        // freshness rule (meetings that ended in the last three days, groups in the next two weeks).
        reset_peak_rss();
        let started = Instant::now();
        let report = engine.sync(SyncRequest::default()).await?;
        print_report(
            &Scenario {
                label: "(c) incremental sync, no changes",
                events,
            },
            &report,
            started.elapsed(),
            "",
        );

        // (d) Incremental sync after 1% of the events changed (chosen inside the window that an
        // incremental sync reads, or it could not see them).
        let window =
            SyncWindows::default().window(advicly_engine::SyncKind::Incremental, Utc::now());
        let in_window: Vec<String> = engine
            .meetings(
                &MeetingQuery {
                    from: Some(window.start),
                    to: Some(window.end),
                    ..MeetingQuery::default()
                },
                Utc::now(),
            )?
            .into_iter()
            .map(|meeting| meeting.uri.as_str().to_owned())
            .collect();
        let to_change = (events / 100).min(in_window.len());
        for uri in in_window.iter().take(to_change) {
            fake.control
                .update_event(&UpdateEventRequest {
                    event_uri: uri.clone(),
                    name: Some("Financial review (updated)".to_owned()),
                    location: None,
                    meeting_notes_plain: None,
                })
                .await?;
        }
        reset_peak_rss();
        let started = Instant::now();
        let report = engine.sync(SyncRequest::default()).await?;
        print_report(
            &Scenario {
                label: "(d) incremental sync, 1% of events changed",
                events,
            },
            &report,
            started.elapsed(),
            &format!("  changed={to_change}"),
        );
        drop(engine);
        drop(event_uris);

        // (b) First full sync under the real limit, into a fresh database.
        if options.paced_event_counts.contains(&events) {
            fake.control
                .set_rate_limit(REAL_RATE_LIMIT_PER_MINUTE)
                .await?;
            let paced_dir = tempfile::tempdir()?;
            let engine = connected_engine(&fake, paced_dir.path(), "paced").await?;
            let done = Arc::new(AtomicBool::new(false));
            let samples = watch_upcoming(engine.clone(), done.clone());
            reset_peak_rss();
            let started = Instant::now();
            let report = engine.sync(SyncRequest { force_full: true }).await?;
            let wall = started.elapsed();
            done.store(true, Ordering::Relaxed);
            let final_upcoming = {
                let now = Utc::now();
                engine
                    .meetings(
                        &MeetingQuery {
                            from: Some(now),
                            to: Some(now + ChronoDuration::days(14)),
                            ..MeetingQuery::default()
                        },
                        now,
                    )?
                    .len()
            };
            let upcoming_complete_after = samples
                .lock()
                .expect("samples lock")
                .iter()
                .find(|(_, complete)| *complete >= final_upcoming)
                .map(|(elapsed, _)| *elapsed);
            let requests: u64 = ["users", "scheduled_events", "invitees"]
                .iter()
                .map(|endpoint| report.calls_to(endpoint))
                .sum();
            let minutes = wall.as_secs_f64() / 60.0;
            let budget_used = requests as f64 / (minutes * f64::from(REAL_RATE_LIMIT_PER_MINUTE));
            let extra = format!(
                "  429s={}  budget_used={:.0}%  upcoming_2_weeks({final_upcoming})_complete_after={}",
                report.calls_to("rate_limited"),
                budget_used * 100.0,
                upcoming_complete_after
                    .map_or("never".to_owned(), |elapsed| format!("{:.1}s", elapsed.as_secs_f64())),
            );
            print_report(
                &Scenario {
                    label: "(b) first full sync, real 500/min limit",
                    events,
                },
                &report,
                wall,
                &extra,
            );
        }
        let fake_stats = fake.control.stats().await?;
        let by_route: BTreeMap<_, _> = fake_stats.api_calls.into_iter().collect();
        println!("    fake saw, by route: {by_route:?}");
    }
    Ok(())
}
