//! Histories: what happens at Calendly, to the webhooks and to the app, as plain data that a seed
//! generates and a shrinker can cut down.
//!
//! Steps name the events they act on by the index of the step that created them (a booking or
//! a reschedule), so removing a step never retargets a later one: it is skipped instead.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The index of the step that created an event, as its stable name.
pub type EventRef = usize;

/// What becomes of one webhook delivery between Calendly and the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Applied as soon as Calendly sends it.
    Deliver,
    /// Never arrives.
    Lose,
    /// Arrives now and once more later (after the next sync).
    Duplicate,
    /// Arrives after this many further syncs (so later deliveries overtake it).
    Delay(u8),
    /// Arrives while the next sync is running.
    DuringSync,
}

/// A fault active during one sync run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncFault {
    None,
    /// Every listing request after the first `after_pages` fails: the app dies mid-sync and is
    /// started again.
    KilledAfterPages {
        after_pages: u32,
    },
    /// The access token expires on the listing request after `after_pages` pages.
    TokenExpires {
        after_pages: u32,
    },
    /// `count` answers of `status` for invitee (and single-event) reads.
    InviteeStorm {
        status: u16,
        count: u32,
    },
    /// `count` answers of `status` for listing requests.
    ListingStorm {
        status: u16,
        count: u32,
    },
    /// One listing page leaves out its first meeting.
    OmitListed {
        after_pages: u32,
    },
    /// One listing page repeats its own page token.
    RepeatToken {
        after_pages: u32,
    },
}

/// Where a booking takes place (the location kinds the oracle reads back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Zoom,
    Office,
    Phone,
    Nowhere,
}

/// One thing that happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Book {
        start_minutes: i64,
        duration_minutes: u32,
        people: Vec<usize>,
        group: bool,
        place: Place,
        fates: Vec<Fate>,
    },
    AddInvitee {
        event: EventRef,
        person: usize,
        fates: Vec<Fate>,
    },
    CancelEvent {
        event: EventRef,
        by_host: bool,
        reason: Option<&'static str>,
        fates: Vec<Fate>,
    },
    CancelInvitee {
        event: EventRef,
        pick: usize,
        reason: Option<&'static str>,
        fates: Vec<Fate>,
    },
    Reschedule {
        event: EventRef,
        pick: usize,
        start_minutes: i64,
        created_first: bool,
        fates: Vec<Fate>,
    },
    /// Marks the picked invitee a no-show, or clears the mark when it has one.
    ToggleNoShow {
        event: EventRef,
        pick: usize,
        fates: Vec<Fate>,
    },
    Update {
        event: EventRef,
        rename: Option<&'static str>,
        place: Option<Place>,
    },
    Vanish {
        event: EventRef,
    },
    MoveClock {
        minutes: i64,
    },
    Sync {
        fault: SyncFault,
        force_full: bool,
    },
    /// The app is closed and started again (between syncs).
    Restart,
    /// The relay is down for the next `steps` steps: deliveries wait (Calendly retries).
    RelayOutage {
        steps: u32,
    },
    /// The app is offline for the next `steps` steps: syncs fail, deliveries wait.
    Offline {
        steps: u32,
    },
}

/// People who book, with e-mail variants (one client each) and name variants (most recent wins).
pub const PEOPLE: &[(&[&str], &[&str])] = &[
    (
        &["ann@example.com", "Ann@Example.com"],
        &["Ann Smith", "Ann Smith-Jones"],
    ),
    (&["bob@example.com"], &["Bob Jones"]),
    (&["carol@example.com", "CAROL@example.com"], &["Carol Diaz"]),
    (&["dan@example.com"], &["Dan Brown", "Daniel Brown"]),
    (&["eve@example.com"], &["Eve Black"]),
    (&["fay@example.com"], &["Fay White"]),
    (&["gus@example.com", "Gus@example.com "], &["Gus Green"]),
    (&["hal@example.com"], &["Hal Grey"]),
];

const REASONS: &[Option<&str>] = &[None, Some("Ill"), Some("Moving house"), Some("")];
const NAMES: &[&str] = &["Financial review", "Pension check", "Annual review"];

const MINUTE: i64 = 1;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A start time relative to now, spread over the places sync treats differently: just ended
/// (no-shows), in progress, the coming two weeks and its edge, the rest of the window, the past,
/// and beyond the incremental window.
fn start_offset(rng: &mut StdRng) -> i64 {
    let roll = rng.gen_range(0..100);
    match roll {
        0..=29 => rng.gen_range(-2 * DAY..-30 * MINUTE),
        30..=34 => rng.gen_range(-20 * MINUTE..0),
        35..=59 => rng.gen_range(HOUR..13 * DAY),
        60..=69 => rng.gen_range(13 * DAY..15 * DAY),
        70..=84 => rng.gen_range(15 * DAY..170 * DAY),
        85..=94 => rng.gen_range(-60 * DAY..-2 * DAY),
        _ => rng.gen_range(185 * DAY..300 * DAY),
    }
}

fn fates(rng: &mut StdRng, count: usize) -> Vec<Fate> {
    (0..count)
        .map(|_| match rng.gen_range(0..100) {
            0..=49 => Fate::Deliver,
            50..=69 => Fate::Lose,
            70..=79 => Fate::Duplicate,
            80..=91 => Fate::Delay(rng.gen_range(1..=3)),
            _ => Fate::DuringSync,
        })
        .collect()
}

fn place(rng: &mut StdRng) -> Place {
    match rng.gen_range(0..10) {
        0..=5 => Place::Zoom,
        6..=7 => Place::Office,
        8 => Place::Phone,
        _ => Place::Nowhere,
    }
}

fn sync_fault(rng: &mut StdRng) -> SyncFault {
    match rng.gen_range(0..100) {
        0..=44 => SyncFault::None,
        45..=54 => SyncFault::KilledAfterPages {
            after_pages: rng.gen_range(0..4),
        },
        55..=64 => SyncFault::TokenExpires {
            after_pages: rng.gen_range(0..4),
        },
        65..=74 => SyncFault::InviteeStorm {
            status: if rng.gen_bool(0.5) { 500 } else { 503 },
            count: rng.gen_range(1..12),
        },
        75..=82 => SyncFault::ListingStorm {
            status: if rng.gen_bool(0.5) { 429 } else { 502 },
            count: rng.gen_range(1..8),
        },
        83..=91 => SyncFault::OmitListed {
            after_pages: rng.gen_range(0..4),
        },
        _ => SyncFault::RepeatToken {
            after_pages: rng.gen_range(0..4),
        },
    }
}

/// The history a seed stands for. The same seed always gives the same history.
pub fn generate(seed: u64) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    let length = rng.gen_range(12..36);
    let mut steps: Vec<Step> = Vec::with_capacity(length + 1);
    let mut events: Vec<EventRef> = Vec::new();
    let mut total_clock_minutes = 0;
    for _ in 0..length {
        let pick_event = |rng: &mut StdRng, events: &[EventRef]| -> Option<EventRef> {
            (!events.is_empty()).then(|| events[rng.gen_range(0..events.len())])
        };
        let roll = rng.gen_range(0..100);
        let step = match roll {
            0..=17 => {
                let group = rng.gen_bool(0.25);
                let count = if group { rng.gen_range(2..=4) } else { 1 };
                let people = (0..count).map(|_| rng.gen_range(0..PEOPLE.len())).collect();
                Some(Step::Book {
                    start_minutes: start_offset(&mut rng),
                    duration_minutes: [30, 45, 60][rng.gen_range(0..3)],
                    people,
                    group,
                    place: place(&mut rng),
                    fates: fates(&mut rng, count),
                })
            }
            18..=22 => pick_event(&mut rng, &events).map(|event| Step::AddInvitee {
                event,
                person: rng.gen_range(0..PEOPLE.len()),
                fates: fates(&mut rng, 1),
            }),
            23..=27 => pick_event(&mut rng, &events).map(|event| Step::CancelEvent {
                event,
                by_host: rng.gen_bool(0.5),
                reason: REASONS[rng.gen_range(0..REASONS.len())],
                fates: fates(&mut rng, 4),
            }),
            28..=33 => pick_event(&mut rng, &events).map(|event| Step::CancelInvitee {
                event,
                pick: rng.gen_range(0..4),
                reason: REASONS[rng.gen_range(0..REASONS.len())],
                fates: fates(&mut rng, 1),
            }),
            34..=42 => pick_event(&mut rng, &events).map(|event| Step::Reschedule {
                event,
                pick: rng.gen_range(0..4),
                start_minutes: start_offset(&mut rng).max(-10 * DAY),
                created_first: rng.gen_bool(0.5),
                fates: fates(&mut rng, 2),
            }),
            43..=52 => pick_event(&mut rng, &events).map(|event| Step::ToggleNoShow {
                event,
                pick: rng.gen_range(0..4),
                fates: fates(&mut rng, 1),
            }),
            53..=56 => pick_event(&mut rng, &events).map(|event| Step::Update {
                event,
                rename: rng
                    .gen_bool(0.6)
                    .then(|| NAMES[rng.gen_range(0..NAMES.len())]),
                place: rng.gen_bool(0.5).then(|| place(&mut rng)),
            }),
            57..=59 => pick_event(&mut rng, &events).map(|event| Step::Vanish { event }),
            60..=66 if total_clock_minutes < 200 * DAY => {
                let minutes = match rng.gen_range(0..10) {
                    0..=4 => rng.gen_range(1..3 * HOUR),
                    5..=7 => rng.gen_range(3 * HOUR..3 * DAY),
                    _ => rng.gen_range(3 * DAY..90 * DAY),
                };
                total_clock_minutes += minutes;
                Some(Step::MoveClock { minutes })
            }
            67..=90 => Some(Step::Sync {
                fault: sync_fault(&mut rng),
                force_full: rng.gen_bool(0.1),
            }),
            91..=93 => Some(Step::Restart),
            94..=96 => Some(Step::RelayOutage {
                steps: rng.gen_range(1..6),
            }),
            _ => Some(Step::Offline {
                steps: rng.gen_range(1..4),
            }),
        };
        let Some(step) = step else {
            continue;
        };
        // An event is named by the position of the step that creates it.
        if matches!(step, Step::Book { .. } | Step::Reschedule { .. }) {
            events.push(steps.len());
        }
        steps.push(step);
    }
    steps
}

/// The history as the runner takes it: each step with its position in the generated history,
/// which is how later steps name the events it creates. A shrunk history keeps the positions.
pub fn numbered(history: &[Step]) -> Vec<(usize, Step)> {
    history.iter().cloned().enumerate().collect()
}
