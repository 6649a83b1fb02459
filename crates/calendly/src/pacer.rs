//! Client-side pacing from Calendly's `X-RateLimit-*` headers, so a sync never causes a 429
//! itself and leaves a reserve of the per-user budget to the advisor's other integrations.
//!
//! The budget is learnt from every response: `Limit` (per window), `Remaining` and `Reset`
//! (seconds until the window resets). The pacer keeps a conservative estimate of what is left
//! (every request it lets through counts before its answer arrives) and decides per request:
//! run now while ahead of an even spread over the window, otherwise space requests so the usable
//! budget lasts exactly until the reset, and wait for the reset once only the reserve is left.
//! After a reset nothing is known until an answer arrives, so one probe request goes first.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::PacingPolicy;

/// What one response said about the rate-limit window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateLimitObservation {
    pub limit: u32,
    pub remaining: u32,
    pub reset_after: Duration,
}

impl RateLimitObservation {
    /// Reads `X-RateLimit-Limit`, `-Remaining` and `-Reset`; `None` unless all three parse.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| -> Option<u64> {
            headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|value| value.is_finite() && *value >= 0.0)
                .map(|value| value.ceil() as u64)
        };
        Some(Self {
            limit: u32::try_from(number("x-ratelimit-limit")?).ok()?,
            remaining: u32::try_from(number("x-ratelimit-remaining")?).ok()?,
            // Clamped: `now + reset_after` must never overflow an Instant, whatever the header says.
            reset_after: Duration::from_secs(number("x-ratelimit-reset")?.min(3600)),
        })
    }
}

/// The decision for one request about to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send now; the request has been counted against the estimate.
    Go,
    /// Ask again after this long (or earlier, when a response brings news).
    Wait(Duration),
    /// The window is over and a probe is in flight: ask again when it answers.
    AwaitProbe,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    limit: u32,
    /// What this client believes is left, never more than the truth: requests in flight are
    /// already subtracted.
    estimated_remaining: i64,
    ends_at: Instant,
    length: Duration,
}

/// The pure pacing state machine; the clock is passed in.
#[derive(Debug)]
pub(crate) struct PacerState {
    policy: PacingPolicy,
    window: Option<Window>,
    outstanding: u32,
    last_issued: Option<Instant>,
    longest_reset_seen: Duration,
    probe_in_flight: bool,
    /// The server answered without rate-limit headers: there is nothing to pace against.
    headers_absent: bool,
}

/// Headers count whole seconds, so two answers of one window may disagree by about a second.
const SAME_WINDOW_SLACK: Duration = Duration::from_millis(1500);

impl PacerState {
    pub fn new(policy: PacingPolicy) -> Self {
        Self {
            policy,
            window: None,
            outstanding: 0,
            last_issued: None,
            longest_reset_seen: Duration::ZERO,
            probe_in_flight: false,
            headers_absent: false,
        }
    }

    /// The requests kept back for other integrations in a window of `limit` requests.
    pub fn reserve(&self, limit: u32) -> i64 {
        let proportional = (f64::from(limit) * self.policy.reserve_fraction).ceil() as i64;
        proportional
            .max(i64::from(self.policy.min_reserve))
            .min(i64::from(limit / 2))
    }

    pub fn decide(&mut self, now: Instant) -> Decision {
        if !self.policy.enabled {
            return self.go(now);
        }
        let Some(window) = self.window else {
            if self.headers_absent {
                return self.go(now);
            }
            // Nothing is known yet: one request finds out before the others follow.
            return self.probe(now);
        };
        if now >= window.ends_at + self.policy.reset_margin {
            // A new window has begun but its budget is unknown until an answer tells us.
            return self.probe(now);
        }
        let reserve = self.reserve(window.limit);
        let usable = window.estimated_remaining - reserve;
        if usable <= 0 {
            return Decision::Wait(window.ends_at + self.policy.reset_margin - now);
        }
        let time_left = window.ends_at.saturating_duration_since(now);
        if time_left.is_zero() {
            return self.go(now);
        }
        // Ahead of an even spread of the usable budget over the window (plus the burst
        // allowance): no need to slow down.
        let limit = f64::from(window.limit);
        let fraction_left = (time_left.as_secs_f64() / window.length.as_secs_f64()).min(1.0);
        let on_schedule = reserve as f64 + (limit - reserve as f64) * fraction_left
            - self.policy.burst_fraction * limit;
        if window.estimated_remaining as f64 > on_schedule {
            return self.go(now);
        }
        // Behind: spread what is left evenly until the reset.
        let interval = time_left / u32::try_from(usable).unwrap_or(u32::MAX);
        if let Some(last_issued) = self.last_issued {
            let next_slot = last_issued + interval;
            if next_slot > now {
                return Decision::Wait(next_slot - now);
            }
        }
        self.go(now)
    }

    fn probe(&mut self, now: Instant) -> Decision {
        if self.probe_in_flight {
            return Decision::AwaitProbe;
        }
        self.probe_in_flight = true;
        self.go(now)
    }

    fn go(&mut self, now: Instant) -> Decision {
        if let Some(window) = self.window.as_mut() {
            window.estimated_remaining -= 1;
        }
        self.outstanding += 1;
        self.last_issued = Some(now);
        Decision::Go
    }

    /// Records the end of a request that `decide` let through, with what its answer said about
    /// the window. `answered` is false when no HTTP answer arrived; `rate_limited` marks a 429.
    pub fn complete(
        &mut self,
        now: Instant,
        answered: bool,
        observation: Option<RateLimitObservation>,
        rate_limited: bool,
    ) {
        self.outstanding = self.outstanding.saturating_sub(1);
        self.probe_in_flight = false;
        let Some(observation) = observation else {
            if answered && self.window.is_none() {
                self.headers_absent = true;
            }
            return;
        };
        self.headers_absent = false;
        // Requests still in flight may not be counted in `remaining` yet: assume they are not.
        let others_in_flight = i64::from(self.outstanding);
        let reported = i64::from(observation.remaining) - others_in_flight;
        let ends_at = now + observation.reset_after;
        self.longest_reset_seen = self.longest_reset_seen.max(observation.reset_after);
        let length = self.longest_reset_seen.max(Duration::from_secs(1));
        match self.window.as_mut() {
            Some(window)
                if now < window.ends_at && ends_at <= window.ends_at + SAME_WINDOW_SLACK =>
            {
                window.limit = observation.limit;
                window.estimated_remaining = window.estimated_remaining.min(reported);
                window.ends_at = window.ends_at.max(ends_at);
                window.length = length;
                if rate_limited {
                    window.estimated_remaining = 0;
                }
            }
            _ => {
                self.window = Some(Window {
                    limit: observation.limit,
                    estimated_remaining: if rate_limited { 0 } else { reported },
                    ends_at,
                    length,
                });
            }
        }
    }
}

/// What the pacer knows right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacingStatus {
    /// `X-RateLimit-Limit` of the current window, once an answer carried it.
    pub limit: Option<u32>,
    /// Requests this client believes are left in the window (requests in flight subtracted).
    pub estimated_remaining: Option<i64>,
    /// Requests kept back for the advisor's other integrations.
    pub reserve: Option<i64>,
    /// Time until the window resets, as last reported.
    pub resets_in: Option<Duration>,
    /// Requests sent and not yet answered.
    pub in_flight: u32,
    /// Requests the pacer is holding back right now.
    pub held_back: u32,
}

/// The pacer shared by every clone of a client.
#[derive(Clone)]
pub(crate) struct Pacer {
    state: Arc<Mutex<PacerState>>,
    news: Arc<Notify>,
    held_back: Arc<AtomicU32>,
}

/// Counts a request as held back while it waits in [`Pacer::acquire`].
struct HeldBack<'a>(&'a AtomicU32);

impl Drop for HeldBack<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request the pacer let through. Completing it (or dropping it, when the caller's future is
/// cancelled) returns its slot.
pub(crate) struct PacerTicket {
    pacer: Pacer,
    completed: bool,
}

/// How long a waiter sleeps before looking again while a probe is in flight.
const PROBE_POLL: Duration = Duration::from_millis(200);

impl Pacer {
    pub fn new(policy: PacingPolicy) -> Self {
        Self {
            state: Arc::new(Mutex::new(PacerState::new(policy))),
            news: Arc::new(Notify::new()),
            held_back: Arc::new(AtomicU32::new(0)),
        }
    }

    pub fn status(&self) -> PacingStatus {
        let state = self.lock();
        let now = Instant::now();
        PacingStatus {
            limit: state.window.map(|window| window.limit),
            estimated_remaining: state.window.map(|window| window.estimated_remaining),
            reserve: state.window.map(|window| state.reserve(window.limit)),
            resets_in: state
                .window
                .map(|window| window.ends_at.saturating_duration_since(now)),
            in_flight: state.outstanding,
            held_back: self.held_back.load(Ordering::SeqCst),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PacerState> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the request may be sent. Returns the ticket and how long it was held back.
    pub async fn acquire(&self) -> (PacerTicket, Duration) {
        let started = Instant::now();
        let mut held_back = None;
        loop {
            let news = self.news.notified();
            tokio::pin!(news);
            // Register before deciding, so a response arriving in between is not missed.
            news.as_mut().enable();
            let decision = self.lock().decide(Instant::now());
            let wait = match decision {
                Decision::Go => {
                    let ticket = PacerTicket {
                        pacer: self.clone(),
                        completed: false,
                    };
                    return (ticket, started.elapsed());
                }
                Decision::Wait(wait) => wait,
                Decision::AwaitProbe => PROBE_POLL,
            };
            if held_back.is_none() {
                self.held_back.fetch_add(1, Ordering::SeqCst);
                held_back = Some(HeldBack(&self.held_back));
            }
            let _ = tokio::time::timeout(wait, news).await;
        }
    }
}

impl PacerTicket {
    /// The request got an HTTP answer (any status) carrying these headers.
    pub fn answered(mut self, observation: Option<RateLimitObservation>, rate_limited: bool) {
        self.completed = true;
        self.pacer
            .lock()
            .complete(Instant::now(), true, observation, rate_limited);
        self.pacer.news.notify_waiters();
    }

    /// The request taught nothing about the budget: no HTTP answer, or an answer that is not
    /// counted against the user (a rejected token).
    pub fn learnt_nothing(self) {
        // Dropping does the bookkeeping.
    }
}

impl Drop for PacerTicket {
    fn drop(&mut self) {
        if !self.completed {
            self.pacer
                .lock()
                .complete(Instant::now(), false, None, false);
            self.pacer.news.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn observation(limit: u32, remaining: u32, reset_seconds: u64) -> RateLimitObservation {
        RateLimitObservation {
            limit,
            remaining,
            reset_after: Duration::from_secs(reset_seconds),
        }
    }

    fn policy() -> PacingPolicy {
        PacingPolicy {
            reset_margin: Duration::from_millis(100),
            ..PacingPolicy::default()
        }
    }

    #[rstest]
    #[case::calendly_paid(500, 25)]
    #[case::calendly_free(50, 3)]
    #[case::small_test_limit(30, 2)]
    #[case::tiny_limit_never_reserves_more_than_half(3, 1)]
    fn reserve_is_five_percent_but_at_least_a_few_requests(
        #[case] limit: u32,
        #[case] expected: i64,
    ) {
        // Other integrations of the advisor share the per-user budget; we leave them this much.
        assert_eq!(PacerState::new(policy()).reserve(limit), expected);
    }

    #[test]
    fn the_first_request_probes_alone() {
        let mut state = PacerState::new(policy());
        let now = Instant::now();
        assert_eq!(state.decide(now), Decision::Go);
        // Until the first answer tells the budget, concurrent requests could overspend it.
        assert_eq!(state.decide(now), Decision::AwaitProbe);
    }

    #[test]
    fn a_server_without_rate_limit_headers_is_never_paced() {
        let mut state = PacerState::new(policy());
        let now = Instant::now();
        assert_eq!(state.decide(now), Decision::Go);
        state.complete(now, true, None, false);
        for _ in 0..1000 {
            // Nothing is known about the budget, so there is nothing to pace against.
            assert_eq!(state.decide(now), Decision::Go);
        }
    }

    #[test]
    fn a_failed_probe_lets_the_next_request_probe() {
        let mut state = PacerState::new(policy());
        let now = Instant::now();
        assert_eq!(state.decide(now), Decision::Go);
        state.complete(now, false, None, false);
        // No answer means nothing was learnt: the next request probes, alone again.
        assert_eq!(state.decide(now), Decision::Go);
        assert_eq!(state.decide(now), Decision::AwaitProbe);
    }

    #[test]
    fn fresh_window_lets_a_short_sync_burst() {
        let mut state = PacerState::new(policy());
        let now = Instant::now();
        assert_eq!(state.decide(now), Decision::Go);
        state.complete(now, true, Some(observation(500, 499, 60)), false);
        for request in 0..90 {
            // 90 requests are well inside the burst allowance of a fresh 500/min window.
            assert_eq!(
                state.decide(now),
                Decision::Go,
                "request {request} was held back"
            );
        }
    }

    #[test]
    fn stops_at_the_reserve_and_waits_for_the_reset() {
        let mut state = PacerState::new(policy());
        let start = Instant::now();
        assert_eq!(state.decide(start), Decision::Go);
        state.complete(start, true, Some(observation(30, 3, 10)), false);
        // 3 left and a reserve of 2: one more request, then only the reserve remains.
        let near_the_end = start + Duration::from_secs(9);
        assert_eq!(state.decide(near_the_end), Decision::Go);
        state.complete(near_the_end, true, Some(observation(30, 2, 1)), false);
        match state.decide(near_the_end) {
            // The wait must cover the rest of the window plus the safety margin.
            Decision::Wait(wait) => assert!(
                wait >= Duration::from_millis(1000),
                "waited only {wait:?} with the reserve reached"
            ),
            other => panic!("expected a wait for the reset, got {other:?}"),
        }
    }

    #[test]
    fn after_the_reset_one_probe_goes_first() {
        let mut state = PacerState::new(policy());
        let start = Instant::now();
        assert_eq!(state.decide(start), Decision::Go);
        state.complete(start, true, Some(observation(30, 0, 2)), false);
        let after_reset = start + Duration::from_secs(3);
        // The first request after the reset learns the new budget ...
        assert_eq!(state.decide(after_reset), Decision::Go);
        // ... and the others wait for its answer instead of guessing.
        assert_eq!(state.decide(after_reset), Decision::AwaitProbe);
        state.complete(after_reset, true, Some(observation(30, 29, 60)), false);
        assert_eq!(state.decide(after_reset), Decision::Go);
    }

    /// Lets requests through without answering them, following the pacer's waits, until the
    /// window ends; returns how many went.
    fn drain_until_window_end(
        state: &mut PacerState,
        mut now: Instant,
        window_end: Instant,
    ) -> u32 {
        let mut let_through = 0;
        while now <= window_end {
            match state.decide(now) {
                Decision::Go => let_through += 1,
                Decision::Wait(wait) => now += wait,
                Decision::AwaitProbe => break,
            }
        }
        let_through
    }

    /// The instant at which the pacer lets the next request through, following its waits.
    fn next_go(state: &mut PacerState, mut now: Instant) -> Instant {
        loop {
            match state.decide(now) {
                Decision::Go => return now,
                Decision::Wait(wait) => now += wait,
                Decision::AwaitProbe => panic!("no probe is expected in this test"),
            }
        }
    }

    #[test]
    fn requests_in_flight_count_against_the_budget() {
        let mut state = PacerState::new(policy());
        let start = Instant::now();
        assert_eq!(state.decide(start), Decision::Go);
        state.complete(start, true, Some(observation(30, 6, 30)), false);
        // 6 left, reserve 2: four requests may go before any answer arrives, and no more.
        let let_through =
            drain_until_window_end(&mut state, start, start + Duration::from_secs(30));
        assert_eq!(let_through, 4, "the usable budget should be spent exactly");
    }

    #[test]
    fn an_out_of_order_answer_never_raises_the_estimate() {
        let mut state = PacerState::new(policy());
        let start = Instant::now();
        assert_eq!(state.decide(start), Decision::Go);
        state.complete(start, true, Some(observation(30, 10, 30)), false);
        let first = next_go(&mut state, start);
        let second = next_go(&mut state, first);
        // The later request answers first with the lower count, then the earlier one.
        state.complete(second, true, Some(observation(30, 8, 22)), false);
        state.complete(second, true, Some(observation(30, 9, 22)), false);
        let let_through =
            drain_until_window_end(&mut state, second, start + Duration::from_secs(30));
        // 8 left minus the reserve of 2: believing the stale "9" would overspend by one.
        assert!(
            let_through <= 6,
            "overspent: {let_through} requests let through"
        );
        // While the first answer arrived the other request was still in flight and assumed
        // uncounted, which may cost at most that one request.
        assert!(
            let_through >= 5,
            "too conservative: {let_through} requests let through"
        );
    }

    #[test]
    fn a_429_marks_the_window_exhausted() {
        let mut state = PacerState::new(policy());
        let start = Instant::now();
        assert_eq!(state.decide(start), Decision::Go);
        state.complete(start, true, Some(observation(30, 0, 5)), true);
        // Nothing may be sent until the reported reset has passed.
        assert!(
            matches!(state.decide(start), Decision::Wait(wait) if wait >= Duration::from_secs(5))
        );
    }

    /// Simulates a long sync that sends as fast as the pacer allows against a server with a
    /// fixed window, and returns (requests sent per window, requests the server would reject).
    fn simulate(limit: u32, window_seconds: u64, windows: u32) -> (Vec<u32>, u32) {
        let mut state = PacerState::new(PacingPolicy::default());
        let start = Instant::now();
        let window = Duration::from_secs(window_seconds);
        let latency = Duration::from_millis(20);
        let mut now = start;
        let mut sent_per_window = vec![0u32; windows as usize];
        let mut rejected = 0;
        let end = start + window * windows;
        while now < end {
            match state.decide(now) {
                Decision::Go => {
                    let index = ((now - start).as_secs_f64() / window.as_secs_f64()) as usize;
                    let used = &mut sent_per_window[index];
                    let over = *used >= limit;
                    if over {
                        rejected += 1;
                    } else {
                        *used += 1;
                    }
                    now += latency;
                    let window_end = start + window * (index as u32 + 1);
                    // Whole seconds, rounded down, at least 1 — what the fake sends.
                    let reset = ((window_end - now).as_secs_f64().floor() as u64).max(1);
                    state.complete(
                        now,
                        true,
                        Some(observation(limit, limit - *used, reset)),
                        over,
                    );
                }
                Decision::Wait(wait) => now += wait,
                Decision::AwaitProbe => unreachable!("a single caller never waits for a probe"),
            }
        }
        (sent_per_window, rejected)
    }

    #[rstest]
    #[case::calendly_paid(500, 60)]
    #[case::calendly_free(50, 60)]
    #[case::small_limit(30, 60)]
    fn a_long_sync_uses_at_least_ninety_percent_and_never_hits_429(
        #[case] limit: u32,
        #[case] window_seconds: u64,
    ) {
        let (sent_per_window, rejected) = simulate(limit, window_seconds, 5);
        // Pacing exists so that this client never causes a 429 on its own.
        assert_eq!(rejected, 0, "per window: {sent_per_window:?}");
        // Windows after the first must use ≥ 90 % of the budget and leave the reserve free.
        let reserve = PacerState::new(PacingPolicy::default()).reserve(limit) as u32;
        for (index, sent) in sent_per_window.iter().enumerate().skip(1) {
            assert!(
                f64::from(*sent) >= 0.9 * f64::from(limit),
                "window {index} used only {sent} of {limit}: {sent_per_window:?}"
            );
            assert!(
                *sent <= limit - reserve,
                "window {index} ate into the reserve: {sent_per_window:?}"
            );
        }
    }
}
