//! Seeds a store with many realistic meetings through `advicly-core`'s own plan-and-apply API,
//! exactly as a sync would write them, for the benchmarks.

use std::collections::HashMap;
use std::path::Path;

use advicly_core::domain::{
    CalendlyUser, Cancellation, ChangeSource, EventTypeUri, EventUri, FetchedEvent,
    FetchedEventType, FetchedInvitee, InviteeUri, Location, OrganizationUri, QuestionAnswer,
    Status, UserUri,
};
use advicly_core::store::Store;
use advicly_core::sync::plan_page;
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};

const API: &str = "https://api.calendly.com";
const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Margaret",
    "Dennis",
    "Radia",
    "Ken",
    "Hedy",
    "Tim",
    "Karen",
    "Linus",
    "Sophie",
    "Niklaus",
    "Joan",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Thompson",
    "Lamarr",
    "Berners-Lee",
    "Jones",
    "Torvalds",
    "Wilson",
    "Wirth",
    "Clarke",
    "Smith",
    "Brown",
    "Taylor",
    "Walker",
    "Wright",
];
const TOPICS: &[&str] = &[
    "Retirement plan review",
    "Portfolio check-in",
    "New client introduction",
    "Pension consolidation",
    "Tax year planning",
    "Mortgage advice",
    "Inheritance planning",
    "Annual review",
];

/// The advisor whose meetings the seeded store holds.
pub fn advisor() -> CalendlyUser {
    CalendlyUser {
        uri: UserUri::new(format!("{API}/users/BENCHADVISOR")),
        organization: OrganizationUri::new(format!("{API}/organizations/BENCHORG")),
        email: "advisor@example.com".to_owned(),
        name: "Bench Advisor".to_owned(),
        timezone: Some("Europe/London".to_owned()),
        scheduling_url: Some("https://calendly.com/bench-advisor".to_owned()),
    }
}

/// Writes `count` meetings (one invitee each, ~1 in 20 canceled) spread from two years back to
/// one year ahead of `now`, with about `count / 5` distinct clients. Returns the number written.
pub fn seed_store(data_dir: &Path, count: usize, now: DateTime<Utc>) -> Result<usize> {
    std::fs::create_dir_all(data_dir)?;
    let mut store = Store::open(&data_dir.join(advicly_engine::DATABASE_FILE_NAME))
        .context("opening the store")?;
    let account = store.upsert_account(&advisor(), now)?;
    let span_minutes = Duration::days(365 * 3).num_minutes();
    let start_of_span = now - Duration::days(730);
    let clients = (count / 5).max(1);
    let mut written = 0;
    for page in (0..count).collect::<Vec<_>>().chunks(500) {
        let mut events = Vec::with_capacity(page.len());
        let mut invitees: HashMap<EventUri, Vec<FetchedInvitee>> = HashMap::new();
        for &number in page {
            // Evenly spread, on quarter hours, deterministic.
            let offset = (span_minutes * number as i64 / count as i64) / 15 * 15;
            let start = start_of_span + Duration::minutes(offset);
            let client = number * 7919 % clients;
            let first = FIRST_NAMES[client % FIRST_NAMES.len()];
            let last = LAST_NAMES[(client / FIRST_NAMES.len()) % LAST_NAMES.len()];
            let name = format!("{first} {last}");
            let email = format!(
                "{}.{}.{client}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            );
            let topic = TOPICS[number % TOPICS.len()];
            let canceled = number % 20 == 7;
            let event = bench_event(number, topic, start, canceled);
            let invitee = bench_invitee(&event, number, &name, &email, topic);
            invitees.insert(event.uri.clone(), vec![invitee]);
            events.push(event);
        }
        let uris: Vec<EventUri> = events.iter().map(|event| event.uri.clone()).collect();
        let stored = store.stored_states(account, &uris)?;
        let plan = plan_page(&stored, &events);
        let outcome = store.apply_page(account, &plan, &invitees, ChangeSource::Poll, now)?;
        written += outcome.counts.changed() as usize;
    }
    // The meetings' one event type, listed as a sync would list it, so screens show its name.
    store.save_event_types(account, &[bench_event_type()], true, now)?;
    Ok(written)
}

fn bench_event_type() -> FetchedEventType {
    FetchedEventType {
        uri: EventTypeUri::new(format!("{API}/event_types/BENCHTYPE")),
        name: Some("Client review".to_owned()),
        duration_minutes: Some(45),
        color: Some("#0069ff".to_owned()),
        kind: Some("solo".to_owned()),
        scheduling_url: Some("https://calendly.com/bench-advisor/review".to_owned()),
        active: true,
        updated_at: None,
    }
}

fn bench_event(number: usize, topic: &str, start: DateTime<Utc>, canceled: bool) -> FetchedEvent {
    let created = start - Duration::days(10);
    FetchedEvent {
        uri: EventUri::new(format!("{API}/scheduled_events/BENCH{number:06}")),
        name: Some(topic.to_owned()),
        status: if canceled {
            Status::Canceled
        } else {
            Status::Active
        },
        start_time: start,
        end_time: start + Duration::minutes(45),
        event_type: Some(format!("{API}/event_types/BENCHTYPE")),
        location: Location {
            kind: Some("zoom".to_owned()),
            join_url: Some(format!("https://zoom.us/j/{number}")),
            detail: None,
        },
        created_at: created,
        updated_at: created,
        cancellation: canceled.then(|| Cancellation {
            canceled_by: Some("Client".to_owned()),
            reason: Some("Moved to next quarter".to_owned()),
            canceler_type: Some("invitee".to_owned()),
            created_at: Some(created + Duration::days(1)),
        }),
        invitees_total: 1,
        invitees_active: if canceled { 0 } else { 1 },
    }
}

fn bench_invitee(
    event: &FetchedEvent,
    number: usize,
    name: &str,
    email: &str,
    topic: &str,
) -> FetchedInvitee {
    FetchedInvitee {
        uri: InviteeUri::new(format!("{}/invitees/INV{number:06}", event.uri)),
        event: event.uri.clone(),
        email: email.to_owned(),
        name: name.to_owned(),
        status: event.status.clone(),
        timezone: Some("Europe/London".to_owned()),
        questions_and_answers: vec![QuestionAnswer {
            question: "What would you like to discuss?".to_owned(),
            answer: format!("{topic} for {name}"),
            position: 0,
        }],
        cancel_url: None,
        reschedule_url: None,
        new_invitee: None,
        old_invitee: None,
        rescheduled: false,
        no_show: false,
        cancellation: event.cancellation.clone(),
        created_at: event.created_at,
        updated_at: event.updated_at,
    }
}
