//! Desktop benchmarks with 10,000 meetings and no network: process start to the painted meeting
//! list, list and search queries through the engine, and idle memory of the app's process tree.
//!
//! Run inside the world of `scripts/desktop-e2e.sh --bench` (release build, Xvfb, private D-Bus).
//! Method, in short (details in tests/desktop/README.md):
//! - start → list: the app is launched through WebDriver; its age is read from `/proc/<pid>/stat`
//!   (start time) against `/proc/uptime` when a `[data-testid=meeting-row]` is first found and
//!   two animation frames have passed (both clocks tick in 10 ms steps);
//! - queries: `Engine::meetings` timed directly on the same database file;
//! - memory: the sum of `Pss` from `/proc/<pid>/smaps_rollup` over the app and every descendant
//!   (WebKit's web and network processes), once it stops changing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use advicly_desktop_e2e::seed::seed_store;
use advicly_desktop_e2e::{
    app_binary, free_port, process_tree, processes_running, pss_kilobytes, wait_for, TauriDriver,
};
use advicly_engine::{Engine, EngineConfig, MeetingQuery, MeetingStatusFilter};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use fantoccini::Client;

struct Options {
    meetings: usize,
    runs: usize,
    query_runs: usize,
    profile: String,
}

fn options() -> Result<Options> {
    let mut options = Options {
        meetings: 10_000,
        runs: 5,
        query_runs: 50,
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
            "--profile" => options.profile = value()?,
            // A separator passed through by wrapper scripts.
            "--" => {}
            other => bail!("unknown argument {other}; use --meetings N --runs N --query-runs N --profile debug|release"),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let options = options()?;
    let app = app_binary(&options.profile)?;
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

    // Queries, straight through the engine on the same file the app will open.
    let opening = Instant::now();
    let engine = Engine::open(engine_config(&seeded_dir, &dead_base))?;
    let opened = opening.elapsed();
    let status_started = Instant::now();
    std::hint::black_box(engine.status(Utc::now())?);
    println!(
        "Engine::open on the seeded file: {}; first Engine::status (what get_overview calls): {}",
        ms(opened),
        ms(status_started.elapsed())
    );
    println!(
        "\n## Engine queries ({} runs each, after one warm-up)",
        options.query_runs
    );
    println!("| query | rows | median | p95 | max |\n|---|---|---|---|---|");
    let queries: Vec<(&str, MeetingQuery)> = vec![
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
    for (label, meeting_query) in &queries {
        let rows = engine.meetings(meeting_query, Utc::now())?.len();
        let mut timings = Vec::with_capacity(options.query_runs);
        for _ in 0..options.query_runs {
            let started = Instant::now();
            let result = engine.meetings(meeting_query, Utc::now())?;
            timings.push(started.elapsed());
            std::hint::black_box(result);
        }
        let (median, p95, max) = percentiles(&mut timings);
        println!(
            "| {label} | {rows} | {} | {} | {} |",
            ms(median),
            ms(p95),
            ms(max)
        );
    }
    drop(engine);

    let environment = |data_dir: &Path, extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut pairs = vec![
            (
                "ADVICLY_DATA_DIR".to_owned(),
                data_dir.display().to_string(),
            ),
            ("ADVICLY_API_BASE".to_owned(), dead_base.clone()),
            ("ADVICLY_AUTH_BASE".to_owned(), dead_base.clone()),
            (
                "ADVICLY_KEYCHAIN_SERVICE".to_owned(),
                format!("com.advicly.desktop.bench-{}", std::process::id()),
            ),
            (
                "ADVICLY_SKIP_SCHEME_REGISTRATION".to_owned(),
                "1".to_owned(),
            ),
        ];
        pairs.extend(
            extra
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        pairs
    };

    println!(
        "\n## Start-up and idle memory ({} fresh-profile starts each; medians)",
        options.runs
    );
    println!("| configuration | start → first row found | start → list painted | page load → painted | idle PSS (app + WebKit) |");
    println!("|---|---|---|---|---|");
    let configurations = [
        StartConfiguration {
            label: "10,000 meetings (app default: WebKit compositing off)",
            data_dir: seeded_dir.clone(),
            selector: "[data-testid=meeting-row]",
            extra_environment: vec![],
        },
        StartConfiguration {
            label: "10,000 meetings, compositing on (ADVICLY_WEBKIT_COMPOSITING=1)",
            data_dir: seeded_dir.clone(),
            selector: "[data-testid=meeting-row]",
            extra_environment: vec![("ADVICLY_WEBKIT_COMPOSITING", "1")],
        },
        StartConfiguration {
            label: "empty database (connect screen)",
            data_dir: empty_dir.clone(),
            selector: "#connect-oauth",
            extra_environment: vec![],
        },
    ];
    for StartConfiguration {
        label,
        data_dir,
        selector,
        extra_environment: extra,
    } in configurations
    {
        let driver = TauriDriver::start(&environment(&data_dir, &extra)).await?;
        let mut samples = Vec::new();
        for _ in 0..options.runs {
            forget_webview_profile()?;
            samples.push(measure_start(&driver, &app, selector).await?);
        }
        let mut found: Vec<Duration> = samples.iter().map(|sample| sample.found).collect();
        let mut painted: Vec<Duration> = samples.iter().map(|sample| sample.painted).collect();
        let mut in_page: Vec<Duration> = samples
            .iter()
            .map(|sample| sample.page_to_painted)
            .collect();
        let mut pss: Vec<u64> = samples
            .iter()
            .map(|sample| sample.idle_pss_kilobytes)
            .collect();
        pss.sort_unstable();
        println!(
            "| {label} | {} | {} | {} | {:.0} MB |",
            ms(percentiles(&mut found).0),
            ms(percentiles(&mut painted).0),
            ms(percentiles(&mut in_page).0),
            pss[pss.len() / 2] as f64 / 1024.0
        );
        for (index, sample) in samples.iter().enumerate() {
            eprintln!(
                "  {label} run {}: found {} painted {} page→painted {} pss {} kB",
                index + 1,
                ms(sample.found),
                ms(sample.painted),
                ms(sample.page_to_painted),
                sample.idle_pss_kilobytes
            );
        }
    }
    println!(
        "\nFloor on this machine class (shared/tauri-linux.md, bare Tauri 2 window, release, software GL): \
         ~360–380 ms to first paint of a plain page, ~740 ms to a painted non-windowed list of 10,000 rows, \
         idle PSS ~259 MB (~203 MB with WEBKIT_DISABLE_COMPOSITING_MODE=1)."
    );
    println!("Targets: ≤ 1 s to the painted list, ≤ 5 ms per list query, ≤ 10 ms per search, idle ≤ 200 MB.");
    Ok(())
}

fn engine_config(data_dir: &Path, dead_base: &str) -> EngineConfig {
    let mut config = EngineConfig::production(data_dir.to_path_buf(), None);
    config.api_base = dead_base.parse().expect("a valid URL");
    config.auth_base = dead_base.parse().expect("a valid URL");
    config.keychain_service = format!("com.advicly.desktop.bench-{}", std::process::id());
    config
}

/// The page size the UI asks for (`MEETINGS_PAGE_SIZE` in ui/src/components/MeetingsView.tsx).
const UI_PAGE_SIZE: u32 = 300;

/// A query as the meetings screen sends it: one page of the list, upcoming first.
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

fn percentiles(timings: &mut [Duration]) -> (Duration, Duration, Duration) {
    timings.sort_unstable();
    let at = |fraction: f64| timings[((timings.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// WebKit keeps its caches and storage under the app identifier; remove them so every start is
/// a first start, like the floor measurement.
fn forget_webview_profile() -> Result<()> {
    for variable in ["XDG_CACHE_HOME", "XDG_DATA_HOME"] {
        if let Some(folder) = std::env::var_os(variable) {
            let profile = PathBuf::from(folder).join("com.advicly.desktop");
            if profile.exists() {
                std::fs::remove_dir_all(&profile)
                    .with_context(|| format!("removing {}", profile.display()))?;
            }
        }
    }
    Ok(())
}

/// One way of starting the app: which database, which element means "ready", extra variables.
struct StartConfiguration {
    label: &'static str,
    data_dir: PathBuf,
    selector: &'static str,
    extra_environment: Vec<(&'static str, &'static str)>,
}

struct StartSample {
    found: Duration,
    painted: Duration,
    page_to_painted: Duration,
    idle_pss_kilobytes: u64,
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

async fn measure_start(driver: &TauriDriver, app: &Path, selector: &str) -> Result<StartSample> {
    let client = driver.launch(app, &[]).await?;
    let pid = wait_for("the app process", Duration::from_secs(10), || async {
        Ok(processes_running(app).into_iter().next())
    })
    .await?;
    let started_at = process_start(pid)?;
    let script = format!("return document.querySelector({selector:?}) !== null");
    let found_at = wait_for(
        &format!("{selector} in the app"),
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
    let page_painted_ms = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())));",
            vec![],
        )
        .await?
        .as_f64()
        .unwrap_or_default();
    let painted_at = uptime()?;
    let idle_pss_kilobytes = settled_pss(pid).await?;
    quit(client, app).await?;
    Ok(StartSample {
        found: Duration::from_secs_f64((found_at - started_at).max(0.0)),
        painted: Duration::from_secs_f64((painted_at - started_at).max(0.0)),
        page_to_painted: Duration::from_secs_f64(page_painted_ms / 1000.0),
        idle_pss_kilobytes,
    })
}

/// PSS of the app's process tree once three samples half a second apart agree within 2%.
async fn settled_pss(pid: u32) -> Result<u64> {
    let total = || {
        process_tree(pid)
            .into_iter()
            .filter_map(pss_kilobytes)
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

async fn quit(client: Client, app: &Path) -> Result<()> {
    client
        .close_window()
        .await
        .context("closing the app window")?;
    let _ = client.close().await;
    wait_for("the app to exit", Duration::from_secs(20), || async {
        Ok(processes_running(app).is_empty().then_some(()))
    })
    .await
}
