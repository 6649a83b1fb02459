//! The relay benchmark, in one invocation so that the ratios hold on a noisy machine:
//!
//! 1. Durable ingest throughput (2 KiB Calendly-shaped bodies) with 1, 16 and 64 concurrent
//!    posters on SQLite, PostgreSQL and the in-memory store (the floor: the same HTTP path with no
//!    durability at all).
//! 2. Ingress POST → SSE event received: p50/p95/p99 at 10, 100 and 1,000 deliveries/s with 1 and
//!    100 subscribers; then across two instances on one PostgreSQL (posted to A, streamed from B).
//! 3. Memory of the relay process (the release binary next to this one) per idle subscriber at
//!    1,000 and 10,000 subscribers, and its RSS across 10,000 connect/leave cycles.
//!
//! `scripts/relay-bench.sh` builds in release mode, raises the file limit and runs this.
//! `--quick` shortens every phase (a smoke run, not figures to quote); `--skip-memory` leaves out
//! phase 3; `--only ingest,latency,memory` runs just the named phases (for profiling one of them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use advicly_relay::{ChannelCaps, Database, RelayConfig, RelayOptions, RunningRelay};
use advicly_relay_protocol::ChannelCreated;
use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A Calendly `invitee.created` delivery padded to 2 KiB, compact JSON like Calendly's.
fn calendly_body(n: u64) -> Vec<u8> {
    let mut body = format!(
        r#"{{"created_at":"2026-03-01T10:00:00.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{{"cancel_url":"https://calendly.com/cancellations/{n:016}","email":"client{n}@example.com","name":"Client {n}","scheduled_event":{{"name":"Advice call","start_time":"2026-03-02T10:00:00.000000Z","end_time":"2026-03-02T10:30:00.000000Z","uri":"https://api.calendly.com/scheduled_events/{n:016}"}},"status":"active","text_reminder_number":null,"timezone":"Europe/Berlin","uri":"https://api.calendly.com/scheduled_events/{n:016}/invitees/{n:016}","questions_and_answers":[{{"answer":""#
    )
    .into_bytes();
    while body.len() < 2048 - 4 {
        body.push(b'x');
    }
    body.extend_from_slice(br#""}]}}"#);
    body
}

/// The relay benchmark: ingest throughput, POST → SSE latency and memory per idle subscriber.
#[derive(clap::Parser)]
#[command(name = "advicly-relay-bench")]
struct Settings {
    /// Shortens every phase: a smoke run, not figures to quote.
    #[arg(long)]
    quick: bool,
    /// Runs only the named phases.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PHASES")]
    only: Vec<Phase>,
    /// Leaves out the memory phase.
    #[arg(long)]
    skip_memory: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    Ingest,
    Latency,
    Memory,
}

impl Settings {
    fn runs(&self, phase: Phase) -> bool {
        (self.only.is_empty() || self.only.contains(&phase))
            && !(self.skip_memory && phase == Phase::Memory)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = <Settings as clap::Parser>::parse();
    println!(
        "advicly-relay benchmark ({} run)",
        if settings.quick { "quick" } else { "full" }
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if settings.runs(Phase::Ingest) {
        ingest_phase(&settings).await?;
    }
    if settings.runs(Phase::Latency) {
        latency_phase(&settings).await?;
    }
    if settings.runs(Phase::Memory) {
        println!("\n== memory of the relay process (release binary, SQLite) ==");
        memory_per_subscriber(&settings).await?;
    }
    println!("\nfor comparison (issue 8, same machine class): smee.io ≈ 5,100 POST/s in memory, p50 3.6 ms / p99 6.0 ms at 100/s with 100 subscribers, 17–21 KiB per idle subscriber");
    Ok(())
}

/// Phase 1: the disk's own commit rate, then ingest throughput on every store.
async fn ingest_phase(settings: &Settings) -> anyhow::Result<()> {
    let postgres = advicly_relay_testkit::PostgresServer::start()
        .context("the benchmark starts a private PostgreSQL server")?;

    println!("\n== this disk: raw SQLite commits (WAL, synchronous=FULL, 2 KiB rows) ==");
    let (single, grouped) = raw_sqlite_floor(settings)?;
    println!(
        "single-row transactions: {single:.0}/s; 32 rows per transaction: {grouped:.0} rows/s"
    );

    println!("\n== durable ingest throughput (2 KiB bodies, deliveries/s) ==");
    println!(
        "{:>8} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "posters", "memory", "sqlite", "postgres", "sqlite/memory", "postgres/memory"
    );
    let mut sqlite_at_64 = (0.0, 0.0);
    for posters in [1usize, 16, 64] {
        let memory = ingest_throughput(Database::Memory, posters, settings).await?;
        let folder = tempfile::tempdir()?;
        let sqlite = ingest_throughput(
            Database::Sqlite {
                data_dir: folder.path().to_owned(),
            },
            posters,
            settings,
        )
        .await?;
        let url = postgres.create_database()?;
        let postgres_rate =
            ingest_throughput(Database::Postgres { url }, posters, settings).await?;
        println!(
            "{posters:>8} {memory:>12.0} {sqlite:>12.0} {postgres_rate:>12.0} {:>14.2} {:>14.2}",
            sqlite / memory,
            postgres_rate / memory
        );
        if posters == 64 {
            sqlite_at_64 = (sqlite, memory);
        }
    }
    let (sqlite, memory) = sqlite_at_64;
    println!(
        "target: durable SQLite ≥ 10,000/s and ≥ 0.5 × floor at 64 posters: {:.0}/s, {:.2} × floor → {}",
        sqlite,
        sqlite / memory,
        verdict(sqlite >= 10_000.0 && sqlite / memory >= 0.5)
    );

    Ok(())
}

/// Phase 2: ingress POST → SSE event received.
async fn latency_phase(settings: &Settings) -> anyhow::Result<()> {
    println!("\n== ingress POST → SSE event received (SQLite, ms) ==");
    println!(
        "{:>8} {:>12} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "rate/s", "subscribers", "samples", "p50", "p95", "p99", "max"
    );
    let mut target_latency = (f64::MAX, f64::MAX);
    for subscribers in [1usize, 100] {
        for rate in [10u64, 100, 1_000] {
            let folder = tempfile::tempdir()?;
            let latencies = end_to_end_latency(
                Database::Sqlite {
                    data_dir: folder.path().to_owned(),
                },
                rate,
                subscribers,
                settings,
            )
            .await?;
            let (p50, p95, p99, max) = percentiles(latencies.clone());
            println!(
                "{rate:>8} {subscribers:>12} {:>9} {p50:>8.2} {p95:>8.2} {p99:>8.2} {max:>8.2}",
                latencies.len()
            );
            if rate == 100 && subscribers == 100 {
                target_latency = (p50, p99);
            }
        }
    }
    // The two floors of the target case, measured now: the disk's own durable commit (a 2xx and
    // an event both wait for one) and the same load without a disk (HTTP and fan-out alone).
    let (commit_p50, commit_p99) = commit_latency_floor(settings)?;
    println!(
        "floor: one durable SQLite commit on this disk (WAL, synchronous=FULL, 1 row): p50 {commit_p50:.2} ms, p99 {commit_p99:.2} ms"
    );
    let in_memory = end_to_end_latency(Database::Memory, 100, 100, settings).await?;
    let (memory_p50, _, memory_p99, _) = percentiles(in_memory);
    println!(
        "floor: 100/s with 100 subscribers on the in-memory store (no disk): p50 {memory_p50:.2} ms, p99 {memory_p99:.2} ms"
    );
    println!(
        "target: p50 ≤ 2 ms, p99 ≤ 10 ms at 100/s with 100 subscribers: p50 {:.2} ms, p99 {:.2} ms → {}",
        target_latency.0,
        target_latency.1,
        verdict(target_latency.0 <= 2.0 && target_latency.1 <= 10.0)
    );

    println!("\n== across instances: POST to A → SSE event on B, one PostgreSQL (ms) ==");
    let postgres = advicly_relay_testkit::PostgresServer::start()
        .context("the benchmark starts a private PostgreSQL server")?;
    println!(
        "{:>22} {:>8} {:>12} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "", "rate/s", "subscribers", "samples", "p50", "p95", "p99", "max"
    );
    for (label, across, rate, subscribers) in [
        ("one instance (floor)", false, 100u64, 1usize),
        ("A → B", true, 100, 1),
        ("one instance (floor)", false, 100, 100),
        ("A → B", true, 100, 100),
    ] {
        let url = postgres.create_database()?;
        let latencies = cross_instance_latency(&url, across, rate, subscribers, settings).await?;
        let (p50, p95, p99, max) = percentiles(latencies.clone());
        println!(
            "{label:>22} {rate:>8} {subscribers:>12} {:>9} {p50:>8.2} {p95:>8.2} {p99:>8.2} {max:>8.2}",
            latencies.len()
        );
    }
    Ok(())
}

/// What this disk allows without any HTTP: the fsync cost that group commit amortizes.
fn raw_sqlite_floor(settings: &Settings) -> anyhow::Result<(f64, f64)> {
    let folder = tempfile::tempdir()?;
    let mut connection = rusqlite::Connection::open(folder.path().join("floor.sqlite3"))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    let body = calendly_body(0);
    let window = if settings.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(1)
    };
    let mut rate = |rows_per_transaction: usize| -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut rows = 0;
        while started.elapsed() < window {
            let transaction = connection.transaction()?;
            for _ in 0..rows_per_transaction {
                transaction.execute("INSERT INTO rows (body) VALUES (?1)", [&body])?;
            }
            transaction.commit()?;
            rows += rows_per_transaction;
        }
        Ok(rows as f64 / started.elapsed().as_secs_f64())
    };
    Ok((rate(1)?, rate(32)?))
}

/// How long one durable single-row commit takes on this disk (percentiles in ms): the least a
/// delivery waits between arriving at ingress and being streamed.
fn commit_latency_floor(settings: &Settings) -> anyhow::Result<(f64, f64)> {
    let folder = tempfile::tempdir()?;
    let mut connection = rusqlite::Connection::open(folder.path().join("floor.sqlite3"))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    let body = calendly_body(0);
    let window = if settings.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < window {
        let commit = Instant::now();
        let transaction = connection.transaction()?;
        transaction.execute("INSERT INTO rows (body) VALUES (?1)", [&body])?;
        transaction.commit()?;
        samples.push(commit.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, _, p99, _) = percentiles(samples);
    Ok((p50, p99))
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn bench_config() -> RelayConfig {
    RelayConfig {
        // The benchmark measures the path, not the caps or the rate limit.
        caps: ChannelCaps {
            max_pending_deliveries: 10_000_000,
            max_pending_bytes: u64::MAX / 2,
        },
        creation_rate_limit: advicly_relay::CreationRateLimit {
            replenish_every: Duration::from_millis(1),
            burst: 100_000,
        },
        concurrency_limit: 4096,
        ..RelayConfig::default()
    }
}

async fn start(database: Database) -> anyhow::Result<RunningRelay> {
    Ok(advicly_relay::start(
        RelayOptions {
            listen: "127.0.0.1:0".parse()?,
            database,
            config: bench_config(),
        },
        std::future::pending(),
    )
    .await?)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

async fn create_channel(
    client: &reqwest::Client,
    base: &url::Url,
) -> anyhow::Result<ChannelCreated> {
    let response = client.post(base.join("v1/channels")?).send().await?;
    if response.status() != 201 {
        bail!("channel creation answered {}", response.status());
    }
    Ok(response.json().await?)
}

/// Deliveries per second committed by `posters` concurrent posters (16 channels).
async fn ingest_throughput(
    database: Database,
    posters: usize,
    settings: &Settings,
) -> anyhow::Result<f64> {
    let relay = start(database).await?;
    let client = http_client();
    let mut channels = Vec::new();
    for _ in 0..16 {
        channels.push(create_channel(&client, relay.base_url()).await?);
    }
    let duration = if settings.quick {
        Duration::from_millis(700)
    } else {
        Duration::from_secs(3)
    };
    let warm_up = Duration::from_millis(if settings.quick { 100 } else { 300 });
    let committed = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deadline = Instant::now() + warm_up + duration;
    let mut tasks = Vec::new();
    for poster in 0..posters {
        let client = client.clone();
        let url = channels[poster % channels.len()].ingress_url.clone();
        let committed = committed.clone();
        let counting = counting.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let response = client.post(&url).body(calendly_body(n)).send().await;
                n += 1;
                match response {
                    Ok(response) if response.status().is_success() => {
                        if counting.load(Ordering::Relaxed) {
                            committed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(response) => eprintln!("ingest answered {}", response.status()),
                    Err(error) => eprintln!("ingest failed: {error}"),
                }
            }
        }));
    }
    tokio::time::sleep(warm_up).await;
    counting.store(true, Ordering::SeqCst);
    let measured = Instant::now();
    for task in tasks {
        task.await?;
    }
    let elapsed = measured.elapsed();
    relay.shutdown().await?;
    Ok(committed.load(Ordering::SeqCst) as f64 / elapsed.as_secs_f64())
}

/// Milliseconds from starting an ingress POST to each subscriber receiving the event.
async fn end_to_end_latency(
    database: Database,
    rate: u64,
    subscribers: usize,
    settings: &Settings,
) -> anyhow::Result<Vec<f64>> {
    let relay = start(database).await?;
    let client = http_client();
    let channel = create_channel(&client, relay.base_url()).await?;
    let address: std::net::SocketAddr = relay.base_url().socket_addrs(|| None)?[0];
    let latencies =
        post_and_receive(&client, &channel, address, 0, rate, subscribers, settings).await;
    relay.shutdown().await?;
    latencies
}

/// Deliveries posted and read once before a measurement on PostgreSQL, so that the pools'
/// connections and the LISTEN connection are open before the clock starts.
const WARM_UP_DELIVERIES: u64 = 20;

/// Posts the warm-up deliveries and reads them at `address`; returns the last one's id.
async fn warm_up(
    client: &reqwest::Client,
    channel: &ChannelCreated,
    address: std::net::SocketAddr,
) -> anyhow::Result<u64> {
    let mut last = 0;
    for _ in 0..WARM_UP_DELIVERIES {
        let response = client.post(&channel.ingress_url).body("{}").send().await?;
        let answer: serde_json::Value = response.error_for_status()?.json().await?;
        last = answer["id"].as_u64().context("an ingest names its id")?;
    }
    let (mut socket, mut seen) = open_subscriber(address, channel).await?;
    let newest = format!("id: {last}\n");
    let mut buffer = [0u8; 4096];
    while find(&seen, newest.as_bytes()).is_none() {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            bail!("the warm-up stream ended early");
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    Ok(last)
}

/// The same measurement across two relay instances on one PostgreSQL database: posted to A,
/// streamed from B (woken by LISTEN/NOTIFY); with `across` false, both are A (the floor). Both
/// relays run in this process, on the runtime the benchmark's clients share.
async fn cross_instance_latency(
    url: &str,
    across: bool,
    rate: u64,
    subscribers: usize,
    settings: &Settings,
) -> anyhow::Result<Vec<f64>> {
    let database = || Database::Postgres {
        url: url.to_owned(),
    };
    let a = start(database()).await?;
    let b = if across {
        Some(start(database()).await?)
    } else {
        None
    };
    let subscribe_at = b.as_ref().unwrap_or(&a);
    let client = http_client();
    // Created on A, so its ingress URL is A's.
    let channel = create_channel(&client, a.base_url()).await?;
    let address: std::net::SocketAddr = subscribe_at.base_url().socket_addrs(|| None)?[0];
    let after = warm_up(&client, &channel, address).await?;
    let latencies = post_and_receive(
        &client,
        &channel,
        address,
        after,
        rate,
        subscribers,
        settings,
    )
    .await;
    a.shutdown().await?;
    if let Some(b) = b {
        b.shutdown().await?;
    }
    latencies
}

/// Posts `rate` deliveries a second to the channel's ingress URL while `subscribers` streams at
/// `address` read them from after delivery `after`; every subscriber's POST → event times, in ms.
async fn post_and_receive(
    client: &reqwest::Client,
    channel: &ChannelCreated,
    address: std::net::SocketAddr,
    after: u64,
    rate: u64,
    subscribers: usize,
    settings: &Settings,
) -> anyhow::Result<Vec<f64>> {
    let seconds = if settings.quick { 1 } else { 3 };
    let deliveries = rate * seconds;
    // When each delivery was posted, in µs after `epoch` (0: not yet): read by 100 subscribers
    // at once without a lock, so the benchmark's own clients cost the 2 cores as little as they can.
    let epoch = Instant::now();
    let sent_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..deliveries).map(|_| AtomicU64::new(0)).collect());
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    let (ready, mut ready_count) = tokio::sync::mpsc::channel::<()>(subscribers);
    for _ in 0..subscribers {
        let channel = channel.clone();
        let sent_at = sent_at.clone();
        let latencies = latencies.clone();
        let ready = ready.clone();
        // Each subscriber has a connection of its own, like separate laptops, read by one task
        // on a raw socket: a full HTTP client per subscriber (a connection task and a body
        // channel each) would spend as much of the 2 cores as the relay does.
        readers.push(tokio::spawn(async move {
            let (mut socket, mut framed) = open_subscriber_after(address, &channel, after).await?;
            let mut stream = Vec::new();
            let mut mine = Vec::with_capacity(deliveries as usize);
            let mut received = 0;
            let mut read_buffer = vec![0u8; 64 * 1024];
            let _ = ready.send(()).await;
            while received < deliveries {
                if !unchunk(&mut framed, &mut stream)? {
                    let read = socket.read(&mut read_buffer).await?;
                    if read == 0 {
                        break;
                    }
                    framed.extend_from_slice(&read_buffer[..read]);
                    continue;
                }
                let arrived = epoch.elapsed().as_micros() as u64;
                // Events end with a blank line; the signature carries the sequence number.
                let mut consumed = 0;
                while let Some(end) = memchr::memmem::find(&stream[consumed..], b"\n\n") {
                    let event = &stream[consumed..consumed + end];
                    consumed += end + 2;
                    let Some(start) = memchr::memmem::find(event, b"\"signature\":\"t=") else {
                        continue;
                    };
                    let digits: String = event[start + 15..]
                        .iter()
                        .take_while(|byte| byte.is_ascii_digit())
                        .map(|&byte| byte as char)
                        .collect();
                    let sequence: usize = digits.parse()?;
                    let sent = sent_at
                        .get(sequence)
                        .map_or(0, |at| at.load(Ordering::Acquire));
                    if sent > 0 {
                        mine.push(arrived.saturating_sub(sent) as f64 / 1000.0);
                    }
                    received += 1;
                }
                stream.drain(..consumed);
            }
            latencies.lock().unwrap().extend(mine);
            anyhow::Ok(())
        }));
    }
    for _ in 0..subscribers {
        ready_count.recv().await;
    }
    // Streams are open; give the relay a moment to register them all before the clock starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::new();
    for sequence in 0..deliveries {
        ticker.tick().await;
        let client = client.clone();
        let url = channel.ingress_url.clone();
        let sent_at = sent_at.clone();
        posts.push(tokio::spawn(async move {
            let posted = (epoch.elapsed().as_micros() as u64).max(1);
            sent_at[sequence as usize].store(posted, Ordering::Release);
            client
                .post(url)
                .header(
                    advicly_relay_protocol::SIGNATURE_HEADER,
                    format!("t={sequence},v1=bench"),
                )
                .body(calendly_body(sequence))
                .send()
                .await
        }));
    }
    for post in posts {
        post.await??;
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(30), reader).await???;
    }
    let latencies = latencies.lock().unwrap().clone();
    Ok(latencies)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.95), at(0.99), samples[samples.len() - 1])
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .context("VmRSS in /proc/PID/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("a VmRSS value")?
        .parse()?)
}

/// An SSE subscriber on a raw socket (the benchmark's side must stay small too), once the relay
/// has said `: connected`; with it, the bytes of the chunked body read so far.
async fn open_subscriber(
    address: std::net::SocketAddr,
    channel: &ChannelCreated,
) -> anyhow::Result<(tokio::net::TcpStream, Vec<u8>)> {
    open_subscriber_after(address, channel, 0).await
}

/// A subscriber whose stream starts after delivery `after`.
async fn open_subscriber_after(
    address: std::net::SocketAddr,
    channel: &ChannelCreated,
    after: u64,
) -> anyhow::Result<(tokio::net::TcpStream, Vec<u8>)> {
    let mut socket = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\nLast-Event-ID: {after}\r\n\r\n",
        advicly_relay_protocol::events_path(&channel.channel_id),
        channel.subscriber_token
    );
    socket.write_all(request.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    while find(&seen, b": connected").is_none() {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            bail!(
                "the relay closed a subscriber: {}",
                String::from_utf8_lossy(&seen)
            );
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    if !seen.starts_with(b"HTTP/1.1 200") {
        bail!(
            "the stream did not open: {}",
            String::from_utf8_lossy(&seen)
        );
    }
    let head_end = find(&seen, b"\r\n\r\n").context("the response head ends")? + 4;
    Ok((socket, seen.split_off(head_end)))
}

/// Moves every complete chunk of a chunked body from `framed` to `stream`; false when none was
/// complete (read more). The end of the body is an error: the relay never ends a stream here.
fn unchunk(framed: &mut Vec<u8>, stream: &mut Vec<u8>) -> anyhow::Result<bool> {
    let mut consumed = 0;
    loop {
        let rest = &framed[consumed..];
        let Some(line_end) = memchr::memmem::find(rest, b"\r\n") else {
            break;
        };
        let size_text = std::str::from_utf8(&rest[..line_end])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("a chunk size, not {size_text:?}"))?;
        if size == 0 {
            bail!("the relay ended the stream");
        }
        let chunk_start = line_end + 2;
        if rest.len() < chunk_start + size + 2 {
            break;
        }
        stream.extend_from_slice(&rest[chunk_start..chunk_start + size]);
        consumed += chunk_start + size + 2;
    }
    framed.drain(..consumed);
    Ok(consumed > 0)
}

/// Waits (bounded) until the relay reports `expected` connected subscribers in /metrics.
async fn wait_for_subscribers(
    client: &reqwest::Client,
    base: &url::Url,
    expected: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = client
            .get(base.join("metrics")?)
            .send()
            .await?
            .text()
            .await?;
        let connected = text
            .lines()
            .find(|line| line.starts_with("relay_subscribers_connected "))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(0.0);
        if connected as usize == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the relay reports {connected} subscribers, expected {expected}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn memory_per_subscriber(settings: &Settings) -> anyhow::Result<()> {
    let binary = std::env::current_exe()?
        .parent()
        .context("the benchmark's folder")?
        .join("advicly-relay");
    if !binary.exists() {
        bail!("build the relay binary next to the benchmark first (scripts/relay-bench.sh does)");
    }
    let folder = tempfile::tempdir()?;
    let mut child = std::process::Command::new(&binary)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(folder.path())
        .args([
            "--max-subscribers",
            "50000",
            "--channel-creation-burst",
            "100000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().context("stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next();
        std::thread::spawn(move || for _ in lines {});
        first
    })
    .await?
    .context("the relay printed its base URL")??;
    let base = url::Url::parse(&format!("{line}/"))?;
    let address: std::net::SocketAddr = base.socket_addrs(|| None)?[0];
    let client = http_client();
    let channels: Vec<ChannelCreated> = {
        let mut channels = Vec::new();
        for _ in 0..100 {
            channels.push(create_channel(&client, &base).await?);
        }
        channels
    };
    // Warm the relay's allocator and caches with a few streams before the baseline.
    {
        let mut warm = Vec::new();
        for n in 0..100 {
            warm.push(
                open_subscriber(address, &channels[n % channels.len()])
                    .await?
                    .0,
            );
        }
        drop(warm);
        wait_for_subscribers(&client, &base, 0).await?;
    }
    let baseline = rss_kib(pid)?;
    println!("baseline RSS: {baseline} KiB");
    let mut sockets = Vec::new();
    let steps: &[usize] = if settings.quick {
        &[1_000]
    } else {
        &[1_000, 10_000]
    };
    for &target in steps {
        while sockets.len() < target {
            let batch: Vec<_> = (sockets.len()..target.min(sockets.len() + 200))
                .map(|n| open_subscriber(address, &channels[n % channels.len()]))
                .collect();
            for socket in futures::future::join_all(batch).await {
                sockets.push(socket?.0);
            }
        }
        wait_for_subscribers(&client, &base, target).await?;
        let rss = rss_kib(pid)?;
        let per = (rss.saturating_sub(baseline)) as f64 / target as f64;
        println!(
            "{target:>6} idle subscribers: RSS {rss} KiB → {per:.1} KiB per subscriber (target ≤ 8 KiB: {})",
            verdict(per <= 8.0)
        );
    }
    drop(sockets);
    wait_for_subscribers(&client, &base, 0).await?;
    let cycles = if settings.quick { 2_000 } else { 10_000 };
    let mut marks = Vec::new();
    let mut done = 0;
    while done < cycles {
        let batch: Vec<_> = (0..100)
            .map(|n| open_subscriber(address, &channels[(done + n) % channels.len()]))
            .collect();
        let opened: Vec<_> = futures::future::join_all(batch)
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        drop(opened);
        done += 100;
        if done % (cycles / 5) == 0 {
            wait_for_subscribers(&client, &base, 0).await?;
            marks.push((done, rss_kib(pid)?));
        }
    }
    let marks_text: Vec<String> = marks
        .iter()
        .map(|(n, rss)| format!("{n}: {rss} KiB"))
        .collect();
    println!(
        "RSS across {cycles} connect/leave cycles: {}",
        marks_text.join(", ")
    );
    let first = marks.first().map(|mark| mark.1).unwrap_or(0);
    let last = marks.last().map(|mark| mark.1).unwrap_or(0);
    println!(
        "growth from the first mark to the last: {} KiB (flat: {})",
        last as i64 - first as i64,
        verdict(last <= first + first / 50)
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    Ok(())
}
