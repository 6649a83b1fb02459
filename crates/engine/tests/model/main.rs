//! The model-based proof that sync converges: random histories from seeds — bookings (one-on-one
//! and group), cancels by host and invitee, reschedules (both delivery orders, chains, across the
//! window edges), no-show marks and unmarks, event updates, events that vanish, the clock moving
//! by minutes to months — with webhook deliveries lost, duplicated, delayed, reordered and racing
//! a sync, relay outages, the app offline, the app killed mid-sync, access tokens expiring
//! mid-sync, 429 and 5xx storms and listings that skip an item or repeat a page token. Webhooks
//! travel the real path: the fake's signed POST, a real relay (SQLite), the engine's real-time
//! listener on the relay's stream (verify, apply, record, ack); the faults are decided at a tap
//! in front of the relay (`webhooks.rs`). After each history everything settles, one sync runs,
//! and every field the UI shows must equal Calendly's.
//!
//! * `cargo test -p advicly-engine --test model` runs the regression seeds and 200 histories
//!   (inside `scripts/with-test-session.sh`, for the keychain).
//! * `ADVICLY_MODEL_HISTORIES=1000` (and `ADVICLY_MODEL_FIRST_SEED=N`) run more, or others;
//!   `scripts/model-sync.sh` does that and prints the counts.
//! * `ADVICLY_MODEL_SEED=N` replays one seed. A failure prints its seed and a shrunk history.

mod history;
mod oracle;
mod runner;
mod webhooks;

use std::time::Duration;

use futures::stream::{self, StreamExt};

use history::Step;
use runner::{Runner, Tally};

/// Seeds that failed during development, kept so their histories run every time: 2 (a webhook
/// racing a sync failed "database is locked"), 19 (an unreadable meeting outside the incremental
/// window was never retried), and 4, 26, 34, 68, 81, 153, 162 (the model itself: a token expiring
/// twice in one request, a vanished meeting the app never saw, a late webhook outside the window).
/// Through the real relay and listener, 19 also caught the listener stamping writes with the wall
/// clock instead of the engine's, and 109 a delivery racing a sync while the app was offline.
const REGRESSION_SEEDS: &[u64] = &[2, 4, 19, 26, 34, 68, 81, 109, 153, 162];

/// Histories run at the same time (each has its own fake, engine and keychain entry).
const CONCURRENT_HISTORIES: usize = 4;

/// A history that has not finished after this long has hung, which is a failure too.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(120);

/// At most this many re-runs while shrinking a failure.
const SHRINK_ATTEMPTS: usize = 200;

/// What one history did (its tally and log), or how it diverged.
type Outcome = Result<(Tally, Vec<String>), String>;

async fn play(history: &[(usize, Step)]) -> Outcome {
    let runner = Runner::start().await;
    match tokio::time::timeout(HISTORY_TIMEOUT, runner.run(history)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the history did not finish within {HISTORY_TIMEOUT:?}"
        )),
    }
}

/// Removes ever smaller runs of steps while the history still fails.
async fn shrink(mut history: Vec<(usize, Step)>) -> Vec<(usize, Step)> {
    let mut attempts = 0;
    let mut chunk = (history.len() / 2).max(1);
    loop {
        let mut start = 0;
        let mut removed_any = false;
        while start < history.len() && attempts < SHRINK_ATTEMPTS {
            let end = (start + chunk).min(history.len());
            let candidate: Vec<(usize, Step)> = history[..start]
                .iter()
                .chain(&history[end..])
                .cloned()
                .collect();
            attempts += 1;
            if play(&candidate).await.is_err() {
                history = candidate;
                removed_any = true;
            } else {
                start = end;
            }
        }
        if attempts >= SHRINK_ATTEMPTS || (chunk == 1 && !removed_any) {
            return history;
        }
        if !removed_any {
            chunk = (chunk / 2).max(1);
        }
    }
}

fn describe(history: &[(usize, Step)]) -> String {
    history
        .iter()
        .map(|(position, step)| format!("  {position:>3}: {step:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| {
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}"))
    })
}

/// Runs the seeds; on failures shrinks the first and panics with every failing seed.
async fn check_seeds(what: &str, seeds: Vec<u64>) {
    let results: Vec<(u64, Outcome)> = stream::iter(seeds)
        .map(|seed| async move {
            let history = history::numbered(&history::generate(seed));
            (seed, play(&history).await)
        })
        .buffer_unordered(CONCURRENT_HISTORIES)
        .collect()
        .await;
    let run = results.len();
    let mut total = Tally::default();
    let mut failures: Vec<(u64, String)> = Vec::new();
    for (seed, result) in results {
        match result {
            Ok((tally, _)) => {
                total.steps_run += tally.steps_run;
                total.steps_skipped += tally.steps_skipped;
                total.syncs += tally.syncs;
                total.failed_syncs += tally.failed_syncs;
                total.deliveries += tally.deliveries;
                total.lost += tally.lost;
            }
            Err(error) => failures.push((seed, error)),
        }
    }
    failures.sort();
    println!(
        "model ({what}): {run} histories run, {} passed; {} steps ({} skipped), {} syncs ({} failed on purpose), {} webhook deliveries ({} lost)",
        run - failures.len(),
        total.steps_run,
        total.steps_skipped,
        total.syncs,
        total.failed_syncs,
        total.deliveries,
        total.lost,
    );
    let Some((first_seed, first_error)) = failures.first().cloned() else {
        return;
    };
    let shrunk = shrink(history::numbered(&history::generate(first_seed))).await;
    let shrunk_error = match play(&shrunk).await {
        Err(error) => error,
        Ok(_) => format!(
            "(the shrunk history passed on replay; the original failed with)\n{first_error}"
        ),
    };
    panic!(
        "{} of {run} histories diverged from Calendly; failing seeds: {:?}\n\
         seed {first_seed} failed with:\n{first_error}\n\n\
         shrunk to {} steps (replay with ADVICLY_MODEL_SEED={first_seed}):\n{}\n\
         which fails with:\n{shrunk_error}",
        failures.len(),
        failures.iter().map(|(seed, _)| *seed).collect::<Vec<_>>(),
        shrunk.len(),
        describe(&shrunk),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_histories_end_where_calendly_is() {
    let seeds: Vec<u64> = match env_number("ADVICLY_MODEL_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_number("ADVICLY_MODEL_FIRST_SEED").unwrap_or(1);
            let count = env_number("ADVICLY_MODEL_HISTORIES").unwrap_or(200);
            (first..first + count).collect()
        }
    };
    check_seeds("random", seeds).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_that_once_diverged_now_converge() {
    check_seeds("regressions", REGRESSION_SEEDS.to_vec()).await;
}

#[test]
fn a_seed_always_stands_for_the_same_history() {
    // Replaying a seed from a failure report must replay the very history that failed.
    for seed in [1, 7, 12_345] {
        assert_eq!(
            history::generate(seed),
            history::generate(seed),
            "seed {seed}"
        );
    }
    assert_ne!(history::generate(1), history::generate(2), "seeds differ");
}
