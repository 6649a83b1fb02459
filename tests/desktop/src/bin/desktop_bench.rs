//! Desktop benchmarks: start-up of the app beside a bare Tauri 2 window measured in the same run
//! (the floor), engine queries on 10,000 meetings, the same queries while a full sync of 10,000
//! meetings writes to the store, and idle memory of the app's process tree beside the floor's.
//!
//! Run inside the world of `scripts/desktop-e2e.sh --bench` (release build, Xvfb, private D-Bus).
//! Method, in short (details in tests/desktop/README.md):
//! - start → painted: the binary is launched through WebDriver; the process start comes from
//!   `/proc/<pid>/stat` (10 ms steps), the paint from the page's own `advicly:painted` mark (two
//!   animation frames after the first screen was rendered; the floor's pages set the same marks),
//!   put on one clock through `performance.timeOrigin`;
//! - where the time goes: the process start against the page's `performance.timeOrigin`, and the
//!   UI's own `performance.mark`s (script running, first overview, first screen rendered);
//! - queries: `Engine` calls timed directly, idle on the seeded file and during a full sync;
//! - memory: the sum of `Pss` from `/proc/<pid>/smaps_rollup` over the process and every
//!   descendant (WebKit's web and network processes), once it stops changing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use advicly_desktop_e2e::seed::seed_store;
use advicly_desktop_e2e::{
    app_binary, free_port, process_name, process_tree, processes_running, pss_parts, target_dir,
    wait_for, PssParts, TauriDriver,
};
use advicly_engine::{
    CalendlyTuning, Engine, EngineConfig, EventUri, MeetingQuery, MeetingStatusFilter,
    PacingPolicy, RedirectMode, Secret, SyncRequest,
};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration as Span, Utc};
use fake_calendly::{FakeCalendly, FakeConfig, MintTokenRequest, SeedRange};
use fantoccini::Client;

struct Options {
    meetings: usize,
    runs: usize,
    query_runs: usize,
    sync_meetings: usize,
    compositing: bool,
    /// Only these start-up configurations (by key), when given.
    only: Option<Vec<String>>,
    profile: String,
}

fn options() -> Result<Options> {
    let mut options = Options {
        meetings: 10_000,
        runs: 5,
        query_runs: 50,
        sync_meetings: 10_000,
        compositing: false,
        only: None,
        profile: "release".to_owned(),
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .with_context(|| format!("{argument} needs a value"))
        };
        match argument.as_str() {
            "--meetings" => options.meetings = value()?.parse()?,
            "--runs" => options.runs = value()?.parse()?,
            "--query-runs" => options.query_runs = value()?.parse()?,
            "--sync-meetings" => options.sync_meetings = value()?.parse()?,
            "--compositing" => options.compositing = true,
            "--only" => {
                options.only = Some(value()?.split(',').map(str::to_owned).collect());
            }
            "--profile" => options.profile = value()?,
            // A separator passed through by wrapper scripts.
            "--" => {}
            other => bail!("unknown argument {other}; use --meetings N --runs N --query-runs N --sync-meetings N (0 skips either) --compositing --only floor-plain,ours-empty,floor-list,ours-full --profile debug|release"),
        }
    }
    Ok(options)
}

/// The floor binary of a profile (`tests/desktop/floor`).
fn floor_binary(profile: &str) -> Result<PathBuf> {
    let path = target_dir().join(profile).join("advicly-desktop-floor");
    if !path.is_file() {
        bail!(
            "the floor window is not built at {} — run `cargo build -p advicly-desktop-floor{}` (scripts/desktop-e2e.sh --bench does)",
            path.display(),
            if profile == "release" { " --release --features custom-protocol" } else { "" }
        );
    }
    Ok(path.canonicalize()?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let options = options()?;
    let app = app_binary(&options.profile)?;
    let floor = floor_binary(&options.profile)?;
    let world = tempfile::tempdir()?;
    let seeded_dir = world.path().join("seeded");
    let empty_dir = world.path().join("empty");
    // Nothing listens on this port: the app starts offline, as the benchmark requires.
    let dead_base = format!("http://127.0.0.1:{}/", free_port()?);

    println!(
        "# Advicly desktop benchmark ({} build, {} meetings)",
        options.profile, options.meetings
    );
    let seeding = Instant::now();
    let written = seed_store(&seeded_dir, options.meetings, Utc::now())?;
    println!(
        "seeded {written} meetings through advicly-core's plan/apply in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    if options.query_runs > 0 {
        idle_queries(&seeded_dir, &dead_base, options.query_runs)?;
    }
    if options.sync_meetings > 0 {
        queries_during_sync(options.sync_meetings).await?;
    }
    start_up(&options, &app, &floor, &seeded_dir, &empty_dir, &dead_base).await?;
    Ok(())
}

// ---- queries -------------------------------------------------------------------------------

/// The page size the UI asks for (`MEETINGS_PAGE_SIZE` in ui/src/components/MeetingsView.tsx).
const UI_PAGE_SIZE: u32 = 300;

/// A query as the All meetings screen sends it: one page of the list, upcoming first.
fn query(status: MeetingStatusFilter, search: Option<&str>) -> MeetingQuery {
    MeetingQuery {
        search: search.map(str::to_owned),
        status,
        from: None,
        to: None,
        client_email: None,
        limit: Some(UI_PAGE_SIZE),
    }
}

/// The Today screen's query: local midnight today to seven days on (UTC here).
fn agenda_query(now: DateTime<Utc>) -> MeetingQuery {
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    MeetingQuery {
        search: None,
        status: MeetingStatusFilter::All,
        from: Some(midnight),
        to: Some(midnight + Span::days(7)),
        client_email: None,
        limit: None,
    }
}

fn engine_config(data_dir: &Path, dead_base: &str) -> EngineConfig {
    let mut config = EngineConfig::production(data_dir.to_path_buf(), None);
    config.api_base = dead_base.parse().expect("a valid URL");
    config.auth_base = dead_base.parse().expect("a valid URL");
    config.keychain_service = format!("com.advicly.desktop.bench-{}", std::process::id());
    config
}

/// Times `work` `runs` times after one warm-up; returns (median, p95, max).
fn time_runs<T>(runs: usize, mut work: impl FnMut() -> Result<T>) -> Result<[Duration; 3]> {
    std::hint::black_box(work()?);
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(work()?);
        timings.push(started.elapsed());
    }
    Ok(percentiles(&mut timings))
}

/// Runs `work` once and says how long it took.
fn timed<T, E>(work: impl FnOnce() -> Result<T, E>) -> Result<(Duration, T)>
where
    anyhow::Error: From<E>,
{
    let started = Instant::now();
    let value = work()?;
    Ok((started.elapsed(), value))
}

fn idle_queries(seeded_dir: &Path, dead_base: &str, runs: usize) -> Result<()> {
    let opening = Instant::now();
    let engine = Engine::open(engine_config(seeded_dir, dead_base))?;
    let opened = opening.elapsed();
    let status_started = Instant::now();
    std::hint::black_box(engine.status(Utc::now())?);
    println!(
        "Engine::open on the seeded file: {}; first Engine::status (what get_overview calls): {}",
        ms(opened),
        ms(status_started.elapsed())
    );
    println!("\n## Engine queries, idle ({runs} runs each, after one warm-up)");
    println!("| query | rows | median | p95 | max |\n|---|---|---|---|---|");
    let now = Utc::now();
    let lists: Vec<(&str, MeetingQuery)> = vec![
        ("Today: the agenda (7 days)", agenda_query(now)),
        ("list upcoming", query(MeetingStatusFilter::Upcoming, None)),
        ("list all", query(MeetingStatusFilter::All, None)),
        ("list canceled", query(MeetingStatusFilter::Canceled, None)),
        (
            "search \"hopper\" (all)",
            query(MeetingStatusFilter::All, Some("hopper")),
        ),
        (
            "search \"pension\" (all)",
            query(MeetingStatusFilter::All, Some("pension")),
        ),
        (
            "search \"ada.lovelace\" (upcoming)",
            query(MeetingStatusFilter::Upcoming, Some("ada.lovelace")),
        ),
        (
            "search \"zz-no-match\" (all)",
            query(MeetingStatusFilter::All, Some("zz-no-match")),
        ),
    ];
    for (label, meeting_query) in &lists {
        let rows = engine.meetings(meeting_query, now)?.len();
        let [median, p95, max] =
            time_runs(runs, || Ok(engine.meetings(meeting_query, Utc::now())?))?;
        println!(
            "| {label} | {rows} | {} | {} | {} |",
            ms(median),
            ms(p95),
            ms(max)
        );
    }
    let first = engine
        .meetings(&query(MeetingStatusFilter::All, None), now)?
        .into_iter()
        .next()
        .context("the seeded store has meetings")?;
    let [median, p95, max] = time_runs(runs, || Ok(engine.meeting(&first.uri)?))?;
    println!(
        "| meeting detail | 1 | {} | {} | {} |",
        ms(median),
        ms(p95),
        ms(max)
    );
    let email = first.client_emails.first().cloned().context("a client")?;
    let page = engine.client(&email, now)?;
    let [median, p95, max] = time_runs(runs, || Ok(engine.client(&email, Utc::now())?))?;
    println!(
        "| client page ({} meetings, {} answers) | 1 | {} | {} | {} |",
        page.meetings.len(),
        page.answers.len(),
        ms(median),
        ms(p95),
        ms(max)
    );
    Ok(())
}

/// The screens' queries, asked every 50 ms (as often as a busy advisor clicks) while the engine
/// runs a full sync of `count` meetings from the fake Calendly into a fresh store.
async fn queries_during_sync(count: usize) -> Result<()> {
    let now = Utc::now();
    let fake = FakeCalendly::start(FakeConfig {
        seed_events: count,
        seed_range: Some(SeedRange {
            start: now - Span::days(700),
            end: now + Span::days(360),
        }),
        // The point is the store under write load, not Calendly's rate limit.
        rate_limit_per_minute: 1_000_000,
        ..FakeConfig::for_tests()
    })
    .await?;
    let data_dir = tempfile::tempdir()?;
    let mut config = EngineConfig::production(data_dir.path().to_path_buf(), None);
    config.api_base = fake.api_base_url();
    config.auth_base = fake.auth_base_url();
    config.redirect = RedirectMode::Direct;
    config.keychain_service = format!("com.advicly.desktop.bench-sync-{}", std::process::id());
    config.calendly = CalendlyTuning {
        pacing: PacingPolicy {
            enabled: false,
            ..PacingPolicy::default()
        },
        ..CalendlyTuning::default()
    };
    let engine = Engine::open(config)?;
    let token = fake
        .control()
        .mint_personal_access_token(&MintTokenRequest::default())
        .await?
        .token;
    engine.connect_token(Secret::new(token)).await?;

    // One meeting every screen can open: the first page of the first pass holds it soon.
    let done = Arc::new(AtomicBool::new(false));
    let reader = engine.clone();
    let reader_done = done.clone();
    let sampler =
        tokio::task::spawn_blocking(move || -> Result<Vec<(&'static str, Vec<Duration>)>> {
            let mut samples: Vec<(&'static str, Vec<Duration>)> = vec![
                ("Today: the agenda (7 days)", Vec::new()),
                ("list all (page of 300)", Vec::new()),
                ("search \"pension\" (page of 300)", Vec::new()),
                ("meeting detail", Vec::new()),
                ("status (get_overview)", Vec::new()),
            ];
            let mut detail_uri: Option<EventUri> = None;
            while !reader_done.load(Ordering::SeqCst) {
                let now = Utc::now();
                let (took, _) = timed(|| reader.meetings(&agenda_query(now), now))?;
                samples[0].1.push(took);
                let (took, listed) =
                    timed(|| reader.meetings(&query(MeetingStatusFilter::All, None), now))?;
                samples[1].1.push(took);
                if detail_uri.is_none() {
                    detail_uri = listed.first().map(|meeting| meeting.uri.clone());
                }
                let (took, _) = timed(|| {
                    reader.meetings(&query(MeetingStatusFilter::All, Some("pension")), now)
                })?;
                samples[2].1.push(took);
                if let Some(uri) = &detail_uri {
                    let (took, _) = timed(|| reader.meeting(uri))?;
                    samples[3].1.push(took);
                }
                let (took, _) = timed(|| reader.status(now))?;
                samples[4].1.push(took);
                // The pace of a person clicking, not a busy loop competing with the sync for the CPU.
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(samples)
        });
    let started = Instant::now();
    let report = engine.sync(SyncRequest { force_full: true }).await;
    let sync_took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let samples = sampler.await??;
    let report = report?;
    println!(
        "\n## Engine queries while a full sync of {count} meetings runs ({:.1} s, {} created, {} invitee calls)",
        sync_took.as_secs_f64(),
        report.counts.created,
        report.calls_to("invitees")
    );
    println!("| query | samples | median | p95 | max | target |\n|---|---|---|---|---|---|");
    for (label, mut timings) in samples {
        if timings.is_empty() {
            continue;
        }
        let samples = timings.len();
        let [median, p95, max] = percentiles(&mut timings);
        let target = if label.starts_with("search") {
            "≤ 10 ms median"
        } else if label.starts_with("list") || label.starts_with("Today") {
            "≤ 5 ms median"
        } else {
            ""
        };
        println!(
            "| {label} | {samples} | {} | {} | {} | {target} |",
            ms(median),
            ms(p95),
            ms(max)
        );
    }
    let _ = engine.disconnect(true).await;
    fake.shutdown().await;
    Ok(())
}

// ---- start-up ------------------------------------------------------------------------------

/// One way of starting a binary: which one, which data, which element means "ready".
struct StartConfiguration {
    key: &'static str,
    label: &'static str,
    binary: PathBuf,
    data_dir: PathBuf,
    selector: &'static str,
    extra_environment: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, Copy)]
struct StartSample {
    found: Duration,
    /// Process start → the page's `advicly:painted` mark (two frames after the first screen was
    /// rendered), on the page's own clock: no WebDriver polling in it.
    painted: Duration,
    /// Process start → the page's navigation start (`performance.timeOrigin`).
    navigation: Duration,
    /// The UI's marks, from navigation start (the floor has none).
    script: Option<f64>,
    overview: Option<f64>,
    first_screen: Option<f64>,
    page_to_painted: f64,
    idle_pss_kilobytes: u64,
    /// The same idle memory by process and by what backs it, sampled once it had settled.
    idle_pss_breakdown: PssBreakdown,
}

/// Idle PSS of a process tree by role (the binary, WebKit's web and network processes, anything
/// else) and, over all of them, by backing (anonymous, file-backed, shared memory).
#[derive(Clone, Copy, Default)]
struct PssBreakdown {
    own: PssParts,
    web: PssParts,
    network: PssParts,
    other: PssParts,
    all: PssParts,
}

impl PssBreakdown {
    fn of_tree(root: u32) -> Self {
        let mut breakdown = Self::default();
        for pid in process_tree(root) {
            let Some(parts) = pss_parts(pid) else {
                continue;
            };
            let name = process_name(pid).unwrap_or_default();
            let role = if pid == root {
                &mut breakdown.own
            } else if name.starts_with("WebKitWebProces") {
                &mut breakdown.web
            } else if name.starts_with("WebKitNetworkPr") {
                &mut breakdown.network
            } else {
                &mut breakdown.other
            };
            *role += parts;
            breakdown.all += parts;
        }
        breakdown
    }

    /// The columns of the breakdown table, in kilobytes.
    fn columns(&self) -> [u64; 7] {
        [
            self.own.total,
            self.web.total,
            self.network.total,
            self.other.total,
            self.all.anonymous,
            self.all.file,
            self.all.shmem,
        ]
    }
}

struct Summary {
    painted: Duration,
    pss_kilobytes: u64,
    /// [`PssBreakdown::columns`], each the median over the runs.
    pss_columns: [u64; 7],
}

/// The median of each breakdown column over a configuration's runs.
fn median_columns(samples: &[StartSample]) -> [u64; 7] {
    let mut medians = [0; 7];
    for (column, median) in medians.iter_mut().enumerate() {
        let mut values: Vec<u64> = samples
            .iter()
            .map(|sample| sample.idle_pss_breakdown.columns()[column])
            .collect();
        values.sort_unstable();
        *median = values.get(values.len() / 2).copied().unwrap_or_default();
    }
    medians
}

async fn start_up(
    options: &Options,
    app: &Path,
    floor: &Path,
    seeded_dir: &Path,
    empty_dir: &Path,
    dead_base: &str,
) -> Result<()> {
    let environment = |data_dir: &Path, extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut pairs = vec![
            (
                "ADVICLY_DATA_DIR".to_owned(),
                data_dir.display().to_string(),
            ),
            ("ADVICLY_API_BASE".to_owned(), dead_base.to_owned()),
            ("ADVICLY_AUTH_BASE".to_owned(), dead_base.to_owned()),
            (
                "ADVICLY_KEYCHAIN_SERVICE".to_owned(),
                format!("com.advicly.desktop.bench-{}", std::process::id()),
            ),
            (
                "ADVICLY_SKIP_SCHEME_REGISTRATION".to_owned(),
                "1".to_owned(),
            ),
            ("TZ".to_owned(), "UTC".to_owned()),
        ];
        pairs.extend(
            extra
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        pairs
    };
    let mut configurations = vec![
        StartConfiguration {
            key: "floor-plain",
            label: "floor: bare Tauri 2 window, plain page",
            binary: floor.to_path_buf(),
            data_dir: empty_dir.to_path_buf(),
            selector: "#floor-ready",
            extra_environment: vec![],
        },
        StartConfiguration {
            key: "ours-empty",
            label: "ours, empty database → connect screen",
            binary: app.to_path_buf(),
            data_dir: empty_dir.to_path_buf(),
            selector: "#connect-heading",
            extra_environment: vec![],
        },
        StartConfiguration {
            key: "floor-list",
            label: "floor: bare Tauri 2 window, plain list of 60 rows",
            binary: floor.to_path_buf(),
            data_dir: empty_dir.to_path_buf(),
            selector: "[data-testid=floor-row]",
            extra_environment: vec![("ADVICLY_FLOOR_PAGE", "list")],
        },
        StartConfiguration {
            key: "ours-full",
            label: "ours, 10,000 meetings → Today's agenda",
            binary: app.to_path_buf(),
            data_dir: seeded_dir.to_path_buf(),
            selector: "[data-testid=agenda-item]",
            extra_environment: vec![],
        },
    ];
    if options.compositing {
        configurations.push(StartConfiguration {
            key: "ours-full-compositing",
            label: "ours, 10,000 meetings, compositing on",
            binary: app.to_path_buf(),
            data_dir: seeded_dir.to_path_buf(),
            selector: "[data-testid=agenda-item]",
            extra_environment: vec![("ADVICLY_WEBKIT_COMPOSITING", "1")],
        });
    }

    if let Some(only) = &options.only {
        configurations.retain(|configuration| only.iter().any(|key| key == configuration.key));
    }
    println!(
        "\n## Start-up and idle memory ({} fresh-profile starts each, interleaved; medians)",
        options.runs
    );
    let mut drivers = Vec::new();
    for configuration in &configurations {
        drivers.push(
            TauriDriver::start(&environment(
                &configuration.data_dir,
                &configuration.extra_environment,
            ))
            .await?,
        );
    }
    // Interleaved rounds, so a burst of load on the machine hits every configuration alike.
    let mut samples: Vec<Vec<StartSample>> = vec![Vec::new(); configurations.len()];
    for round in 0..options.runs {
        for (index, configuration) in configurations.iter().enumerate() {
            forget_webview_profiles()?;
            let sample = measure_start(
                &drivers[index],
                &configuration.binary,
                configuration.selector,
                round == 0,
            )
            .await
            .with_context(|| format!("{} (round {})", configuration.label, round + 1))?;
            eprintln!(
                "  {} run {}: painted {} (process → page {}) pss {} kB",
                configuration.key,
                round + 1,
                ms(sample.painted),
                ms(sample.navigation),
                sample.idle_pss_kilobytes
            );
            samples[index].push(sample);
        }
    }
    drop(drivers);

    println!("| configuration | start → found | start → painted | process → page | page → script | → overview | → first screen | page → painted | idle PSS (process tree) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut summaries = std::collections::HashMap::new();
    for (configuration, samples) in configurations.iter().zip(&samples) {
        let median_duration = |pick: &dyn Fn(&StartSample) -> Duration| {
            let mut values: Vec<Duration> = samples.iter().map(pick).collect();
            percentiles(&mut values)[0]
        };
        let median_mark = |pick: &dyn Fn(&StartSample) -> Option<f64>| -> String {
            let mut values: Vec<f64> = samples.iter().filter_map(pick).collect();
            if values.is_empty() {
                return "–".to_owned();
            }
            values.sort_by(f64::total_cmp);
            format!("{:.0} ms", values[values.len() / 2])
        };
        let mut pss: Vec<u64> = samples
            .iter()
            .map(|sample| sample.idle_pss_kilobytes)
            .collect();
        pss.sort_unstable();
        let painted = median_duration(&|sample| sample.painted);
        let pss_median = pss[pss.len() / 2];
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} MB |",
            configuration.label,
            ms(median_duration(&|sample| sample.found)),
            ms(painted),
            ms(median_duration(&|sample| sample.navigation)),
            median_mark(&|sample| sample.script),
            median_mark(&|sample| sample.overview),
            median_mark(&|sample| sample.first_screen),
            median_mark(&|sample| Some(sample.page_to_painted)),
            pss_median as f64 / 1024.0,
        );
        summaries.insert(
            configuration.key,
            Summary {
                painted,
                pss_kilobytes: pss_median,
                pss_columns: median_columns(samples),
            },
        );
    }

    println!("\n## Where the idle memory goes (PSS medians per column, MB)");
    println!("| configuration | the binary’s process | WebKit web process | WebKit network process | other | of all: anonymous | file-backed | shared memory |");
    println!("|---|---|---|---|---|---|---|---|");
    let megabytes = |kilobytes: u64| format!("{:.1}", kilobytes as f64 / 1024.0);
    for configuration in &configurations {
        let columns = summaries[configuration.key].pss_columns;
        println!(
            "| {} | {} |",
            configuration.label,
            columns
                .iter()
                .map(|&kilobytes| megabytes(kilobytes))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    for (ours_key, floor_key) in [("ours-empty", "floor-plain"), ("ours-full", "floor-list")] {
        let (Some(ours), Some(floor)) = (summaries.get(ours_key), summaries.get(floor_key)) else {
            continue;
        };
        println!(
            "| {ours_key} − {floor_key} | {} |",
            ours.pss_columns
                .iter()
                .zip(floor.pss_columns)
                .map(|(&ours, floor)| format!("{:+.1}", (ours as f64 - floor as f64) / 1024.0))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }

    println!("\n## Ours as a ratio to the floor (same run)");
    println!("| measure | floor | ours | ratio | target |\n|---|---|---|---|---|");
    let pairs = [
        (
            "start → first screen painted (empty database)",
            "floor-plain",
            "ours-empty",
        ),
        (
            "start → list painted (10,000 meetings)",
            "floor-list",
            "ours-full",
        ),
    ];
    for (label, floor_key, ours_key) in pairs {
        let (Some(floor), Some(ours)) = (summaries.get(floor_key), summaries.get(ours_key)) else {
            continue;
        };
        println!(
            "| {label} | {} | {} | {:.2} × | ≤ 1.30 × |",
            ms(floor.painted),
            ms(ours.painted),
            ours.painted.as_secs_f64() / floor.painted.as_secs_f64()
        );
    }
    for (label, floor_key, ours_key) in [
        ("idle memory, empty database", "floor-plain", "ours-empty"),
        ("idle memory, 10,000 meetings", "floor-plain", "ours-full"),
    ] {
        let (Some(floor), Some(ours)) = (summaries.get(floor_key), summaries.get(ours_key)) else {
            continue;
        };
        println!(
            "| {label} (PSS, app + WebKit) | {:.0} MB | {:.0} MB | {:.2} × | ≤ 1.15 × |",
            floor.pss_kilobytes as f64 / 1024.0,
            ours.pss_kilobytes as f64 / 1024.0,
            ours.pss_kilobytes as f64 / floor.pss_kilobytes as f64
        );
    }
    Ok(())
}

fn percentiles(timings: &mut [Duration]) -> [Duration; 3] {
    timings.sort_unstable();
    let at = |fraction: f64| timings[((timings.len() - 1) as f64 * fraction).round() as usize];
    [at(0.5), at(0.95), at(1.0)]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// WebKit keeps caches and storage under the app identifier; remove them (the app's and the
/// floor's) so every start is a first start.
fn forget_webview_profiles() -> Result<()> {
    for variable in ["XDG_CACHE_HOME", "XDG_DATA_HOME"] {
        if let Some(folder) = std::env::var_os(variable) {
            for identifier in ["com.advicly.desktop", "com.advicly.desktop.floor"] {
                let profile = PathBuf::from(&folder).join(identifier);
                if profile.exists() {
                    std::fs::remove_dir_all(&profile)
                        .with_context(|| format!("removing {}", profile.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// Seconds since boot, from `/proc/uptime` (10 ms resolution).
fn uptime() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/uptime")?;
    Ok(text
        .split_whitespace()
        .next()
        .context("empty /proc/uptime")?
        .parse()?)
}

/// Seconds since boot at which `pid` started (`/proc/<pid>/stat` field 22, in clock ticks).
fn process_start(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("malformed stat")?
        .1
        .split_whitespace()
        .collect();
    // Field 22 overall is the 20th after the command name; clock ticks are 100 per second on Linux.
    let ticks: f64 = fields.get(19).context("short stat")?.parse()?;
    Ok(ticks / 100.0)
}

/// Milliseconds since the Unix epoch at which the process started.
fn process_start_epoch_ms(pid: u32) -> Result<f64> {
    let now_epoch = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64() * 1000.0;
    let age = uptime()? - process_start(pid)?;
    Ok(now_epoch - age * 1000.0)
}

async fn measure_start(
    driver: &TauriDriver,
    binary: &Path,
    selector: &str,
    probe: bool,
) -> Result<StartSample> {
    let client = driver.launch(binary, &[]).await?;
    let pid = wait_for("the process", Duration::from_secs(10), || async {
        Ok(processes_running(binary).into_iter().next())
    })
    .await?;
    let started_at = process_start(pid)?;
    let started_epoch = process_start_epoch_ms(pid)?;
    let script = format!("return document.querySelector({selector:?}) !== null");
    let found_at = wait_for(
        &format!("{selector} on screen"),
        Duration::from_secs(30),
        || async {
            let present = client
                .execute(&script, vec![])
                .await?
                .as_bool()
                .unwrap_or(false);
            Ok(if present { Some(uptime()?) } else { None })
        },
    )
    .await?;
    let page = wait_for("the painted mark", Duration::from_secs(10), || async {
        let page = client
            .execute(
                "const mark = (name) => { const entry = performance.getEntriesByName(name)[0]; return entry ? entry.startTime : null; };
                 return { origin: performance.timeOrigin, script: mark('advicly:script'), overview: mark('advicly:overview'),
                          screen: mark('advicly:first-screen'), painted: mark('advicly:painted') };",
                vec![],
            )
            .await?;
        Ok(page
            .get("painted")
            .is_some_and(|painted| painted.is_number())
            .then_some(page))
    })
    .await?;
    let number = |key: &str| page.get(key).and_then(serde_json::Value::as_f64);
    let idle_pss_kilobytes = settled_pss(pid).await?;
    let idle_pss_breakdown = PssBreakdown::of_tree(pid);
    keep_smaps(pid, binary);
    if probe {
        probe_rendering(&client, binary).await?;
    }
    quit(client, binary).await?;
    let origin = number("origin").context("the page has a time origin")?;
    let painted_in_page = number("painted").context("the page marked its paint")?;
    let navigation_ms = (origin - started_epoch).max(0.0);
    Ok(StartSample {
        found: Duration::from_secs_f64((found_at - started_at).max(0.0)),
        painted: Duration::from_secs_f64((navigation_ms + painted_in_page).max(0.0) / 1000.0),
        navigation: Duration::from_secs_f64(navigation_ms / 1000.0),
        script: number("script"),
        overview: number("overview"),
        first_screen: number("screen"),
        page_to_painted: painted_in_page,
        idle_pss_kilobytes,
        idle_pss_breakdown,
    })
}

/// With `ADVICLY_BENCH_SMAPS_DIR` set, copies each process's `/proc/PID/smaps` of the settled
/// app there (`<binary>-<pid>-<process name>`), to see which mappings hold the idle memory.
fn keep_smaps(root: u32, binary: &Path) {
    let Some(folder) = std::env::var_os("ADVICLY_BENCH_SMAPS_DIR") else {
        return;
    };
    let folder = PathBuf::from(folder);
    let _ = std::fs::create_dir_all(&folder);
    let binary_name = binary
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    for pid in process_tree(root) {
        let name = process_name(pid).unwrap_or_default();
        let target = folder.join(format!("{binary_name}-{root}-{pid}-{name}"));
        if let Err(error) = std::fs::copy(format!("/proc/{pid}/smaps"), &target) {
            eprintln!("could not keep the smaps of {pid}: {error}");
        }
    }
}

/// Once per configuration, on the settled page: how long a full relayout of the document takes, and
/// how long frames take that repaint the whole window (a style change on the root each frame).
async fn probe_rendering(client: &Client, binary: &Path) -> Result<()> {
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const root = document.documentElement;
             const started = performance.now();
             root.style.display = 'none'; void root.offsetHeight; root.style.display = ''; void root.offsetHeight;
             const layout = Math.round(performance.now() - started);
             const frames = [];
             let last = performance.now();
             let count = 0;
             const step = () => {
               const now = performance.now();
               if (count > 0) frames.push(Math.round(now - last));
               last = now;
               document.body.style.opacity = count % 2 ? '1' : '0.999';
               if (++count <= 6) requestAnimationFrame(step);
               else done({ layout, frames, elements: document.getElementsByTagName('*').length });
             };
             requestAnimationFrame(step);",
            vec![],
        )
        .await?;
    println!(
        "- rendering probe of {}: {result}",
        binary.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok(())
}

/// PSS of the process tree once three samples half a second apart agree within 2%.
async fn settled_pss(pid: u32) -> Result<u64> {
    let total = || {
        process_tree(pid)
            .into_iter()
            .filter_map(pss_parts)
            .map(|parts| parts.total)
            .sum::<u64>()
    };
    let mut recent: Vec<u64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        recent.push(total());
        if recent.len() >= 3 {
            let window = &recent[recent.len() - 3..];
            let (low, high) = (
                *window.iter().min().unwrap_or(&0),
                *window.iter().max().unwrap_or(&0),
            );
            if high > 0 && (high - low) as f64 / high as f64 <= 0.02 {
                return Ok(high);
            }
        }
        if Instant::now() >= deadline {
            return Ok(*recent.last().unwrap_or(&0));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn quit(client: Client, binary: &Path) -> Result<()> {
    client.close_window().await.context("closing the window")?;
    let _ = client.close().await;
    wait_for("the process to exit", Duration::from_secs(20), || async {
        Ok(processes_running(binary).is_empty().then_some(()))
    })
    .await
}
