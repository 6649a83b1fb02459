//! Seeds 10,000 meetings into a temporary SQLite file and prints p50/p95 latencies of the list,
//! search, client and detail queries. Run with `cargo bench -p advicly-core`.
//!
//! Targets: list ≤ 5 ms and search ≤ 10 ms at 10,000 meetings.

use advicly_core::domain::{
    AccountId, CalendlyUser, ChangeSource, EventUri, FetchedEvent, FetchedInvitee, InviteeUri,
    Location, OrganizationUri, QuestionAnswer, Status, UserUri,
};
use advicly_core::store::{MeetingFilter, MeetingOrder, MeetingStatusFilter, Store};
use advicly_core::sync::{plan_page, StoredSnapshot};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::HashMap;
use std::time::Instant;

const MEETINGS: usize = 10_000;
const PAGE: usize = 100;
const ROUNDS: usize = 200;

const FIRST_NAMES: &[&str] = &[
    "Ann", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Jones", "Diaz", "Okafor", "Nguyen", "Müller", "Rossi", "Kowalski", "Tanaka", "Silva",
    "Hughes", "Berg", "Novak", "Dubois", "Larsen", "Costa", "Ivanova", "Kim", "Patel", "Moreau",
];
const TOPICS: &[&str] = &[
    "pension",
    "mortgage",
    "inheritance",
    "ISA allowance",
    "school fees",
    "retirement income",
    "protection cover",
    "buy to let",
    "annuity",
    "business sale",
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn generated(index: usize) -> (FetchedEvent, Vec<FetchedInvitee>) {
    // Spread over two years back and one ahead, like a full sync window.
    let start = now() - Duration::days(730) + Duration::minutes((index as i64) * 157);
    let uri = EventUri::new(format!(
        "https://api.calendly.com/scheduled_events/EV{index:06}"
    ));
    let canceled = index.is_multiple_of(9);
    let event = FetchedEvent {
        uri: uri.clone(),
        name: Some(format!("{} review", TOPICS[index % TOPICS.len()])),
        status: if canceled {
            Status::Canceled
        } else {
            Status::Active
        },
        start_time: start,
        end_time: start + Duration::minutes(45),
        event_type: Some("https://api.calendly.com/event_types/REVIEW".to_owned()),
        location: Location {
            kind: Some("zoom".to_owned()),
            join_url: Some(format!("https://zoom.us/j/{index}")),
            detail: None,
        },
        created_at: start - Duration::days(10),
        updated_at: start - Duration::days(10),
        cancellation: None,
        invitees_total: 1 + u32::from(index.is_multiple_of(3)),
        invitees_active: 1,
    };
    let invitees = (0..event.invitees_total as usize)
        .map(|offset| {
            // About 1,500 distinct clients, so most have several meetings.
            let client = (index * 7 + offset * 13) % 1_500;
            let first = FIRST_NAMES[client % FIRST_NAMES.len()];
            let last = LAST_NAMES[(client / FIRST_NAMES.len()) % LAST_NAMES.len()];
            FetchedInvitee {
                uri: InviteeUri::new(format!("{uri}/invitees/IN{index:06}{offset}")),
                event: uri.clone(),
                email: format!(
                    "{}.{}{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    client
                ),
                name: format!("{first} {last}"),
                status: Status::Active,
                timezone: Some("Europe/London".to_owned()),
                questions_and_answers: vec![QuestionAnswer {
                    question: "What would you like to discuss?".to_owned(),
                    answer: format!(
                        "Questions about {} and {}",
                        TOPICS[client % TOPICS.len()],
                        TOPICS[index % 7]
                    ),
                    position: 0,
                }],
                cancel_url: None,
                reschedule_url: None,
                new_invitee: None,
                old_invitee: None,
                rescheduled: false,
                no_show: false,
                cancellation: None,
                created_at: event.created_at,
                updated_at: event.created_at,
            }
        })
        .collect();
    (event, invitees)
}

fn seed(store: &mut Store, account: AccountId) {
    let started = Instant::now();
    for page_start in (0..MEETINGS).step_by(PAGE) {
        let rows: Vec<_> = (page_start..page_start + PAGE).map(generated).collect();
        let page: Vec<FetchedEvent> = rows.iter().map(|(event, _)| event.clone()).collect();
        let invitees: HashMap<EventUri, Vec<FetchedInvitee>> = rows
            .into_iter()
            .map(|(event, invitees)| (event.uri, invitees))
            .collect();
        let plan = plan_page(&StoredSnapshot::default(), &page);
        store
            .apply_page(account, &plan, &invitees, ChangeSource::Poll, now())
            .expect("seed a page");
    }
    println!(
        "seeded {MEETINGS} meetings in {:.2} s ({:.2} ms per page of {PAGE})",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1000.0 / (MEETINGS / PAGE) as f64
    );
}

fn measure(label: &str, target_ms: Option<f64>, mut query: impl FnMut() -> usize) {
    // ADVICLY_BENCH_ONLY=<text> runs only the queries whose label contains it (for profiling).
    if let Ok(only) = std::env::var("ADVICLY_BENCH_ONLY") {
        if !label.contains(&only) {
            return;
        }
    }
    let rounds = std::env::var("ADVICLY_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(ROUNDS);
    let rows = query();
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(query());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    let p50 = samples[rounds / 2];
    let p95 = samples[rounds * 95 / 100];
    let verdict = match target_ms {
        Some(target) if p95 <= target => format!("ok (target {target} ms)"),
        Some(target) => format!("OVER TARGET ({target} ms)"),
        None => String::new(),
    };
    println!("{label:<48} rows {rows:>6}  p50 {p50:>7.3} ms  p95 {p95:>7.3} ms  {verdict}");
}

fn main() {
    let directory = tempfile::tempdir().expect("temporary directory");
    // ADVICLY_BENCH_DB keeps the seeded file at a chosen path for inspection (EXPLAIN QUERY PLAN).
    let path = std::env::var_os("ADVICLY_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| directory.path().join("bench.sqlite3"));
    let mut store = Store::open(&path).expect("open store");
    let user = CalendlyUser {
        uri: UserUri::new("https://api.calendly.com/users/BENCH"),
        organization: OrganizationUri::new("https://api.calendly.com/organizations/BENCH"),
        email: "advisor@example.com".to_owned(),
        name: "Bench Advisor".to_owned(),
        timezone: None,
        scheduling_url: None,
    };
    let account = store.upsert_account(&user, now()).expect("account");
    seed(&mut store, account);

    let list = |filter: MeetingFilter| {
        let store = &store;
        move || store.meetings(account, &filter, now()).expect("list").len()
    };
    measure(
        "list upcoming-first, limit 100",
        Some(5.0),
        list(MeetingFilter {
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "list status=upcoming, limit 100",
        Some(5.0),
        list(MeetingFilter {
            status: MeetingStatusFilter::Upcoming,
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "list canceled, newest first, limit 100",
        Some(5.0),
        list(MeetingFilter {
            status: MeetingStatusFilter::Canceled,
            order: MeetingOrder::StartDescending,
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "list one month (from/to), no limit",
        Some(5.0),
        list(MeetingFilter {
            from: Some(now() - Duration::days(15)),
            to: Some(now() + Duration::days(15)),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "list one client's meetings, no limit",
        Some(5.0),
        list(MeetingFilter {
            client_email: Some("ann.smith0@example.com".to_owned()),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "list everything (10,000 rows), no limit",
        None,
        list(MeetingFilter::default()),
    );
    measure(
        "search \"smith\" (common), limit 100",
        Some(10.0),
        list(MeetingFilter {
            search: Some("smith".to_owned()),
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "search \"mu\" (short prefix), limit 100",
        Some(10.0),
        list(MeetingFilter {
            search: Some("mu".to_owned()),
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "search \"zoë tanaka pension\", limit 100",
        Some(10.0),
        list(MeetingFilter {
            search: Some("zoë tanaka pension".to_owned()),
            limit: Some(100),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "search e-mail \"grace.okafor\", no limit",
        Some(10.0),
        list(MeetingFilter {
            search: Some("grace.okafor".to_owned()),
            ..MeetingFilter::default()
        }),
    );
    measure(
        "search \"review\" (every meeting), no limit",
        None,
        list(MeetingFilter {
            search: Some("review".to_owned()),
            ..MeetingFilter::default()
        }),
    );
    measure("clients (about 1,500 with statistics)", None, || {
        store.clients(account, now()).expect("clients").len()
    });
    let uri = EventUri::new("https://api.calendly.com/scheduled_events/EV005000");
    measure("meeting detail", Some(5.0), || {
        store
            .meeting_detail(account, &uri)
            .expect("detail")
            .map_or(0, |detail| detail.invitees.len())
    });
    let page: Vec<FetchedEvent> = (5_000..5_000 + PAGE)
        .map(|index| generated(index).0)
        .collect();
    let uris: Vec<EventUri> = page.iter().map(|event| event.uri.clone()).collect();
    measure(
        "plan an unchanged page of 100 (stored_states + plan)",
        None,
        || {
            plan_page(&store.stored_states(account, &uris).expect("states"), &page)
                .operations
                .len()
        },
    );
}
