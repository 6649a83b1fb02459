//! The initial world (default user, organization, event types) and deterministic seeding of
//! realistic advisor meetings from a seed number.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::http::ApiError;
use super::model::{EventType, Model, User};
use crate::config::{FakeConfig, SeedRange};
use crate::control_model::{BookingRequest, Canceler, InviteeSpec, LocationSpec, QuestionAnswer};

/// A UUID drawn from a seeded generator (version 4 layout), lowercase.
pub(crate) fn seeded_uuid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.gen();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A pre-2021 style id: 16 uppercase base32 characters.
pub(crate) fn legacy_id(rng: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub(crate) fn default_range(now: DateTime<Utc>) -> SeedRange {
    let today = Utc
        .with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0)
        .single()
        .unwrap_or(now);
    SeedRange {
        start: today - Duration::days(180),
        end: today + Duration::days(90),
    }
}

const ADVISOR_EVENT_TYPES: &[(&str, &str, u32, bool, bool)] = &[
    // (name, slug, minutes, group, legacy id)
    ("Financial review", "financial-review", 60, false, false),
    (
        "Retirement planning",
        "retirement-planning",
        60,
        false,
        true,
    ),
    (
        "Initial consultation",
        "initial-consultation",
        30,
        false,
        false,
    ),
    (
        "Investment strategy session",
        "investment-strategy",
        45,
        false,
        false,
    ),
    ("Annual review", "annual-review", 60, false, true),
    (
        "Budgeting basics workshop",
        "budgeting-workshop",
        90,
        true,
        false,
    ),
];

/// Creates the event types of a new user; ids come from `rng` so seeded worlds are reproducible.
pub(crate) fn add_event_types(
    model: &mut Model,
    owner_uuid: &str,
    rng: &mut StdRng,
    now: DateTime<Utc>,
) {
    for (index, (name, slug, minutes, group, legacy)) in ADVISOR_EVENT_TYPES.iter().enumerate() {
        let uuid = if *legacy {
            legacy_id(rng)
        } else {
            seeded_uuid(rng)
        };
        model.event_types.push(EventType {
            uuid,
            owner_uuid: owner_uuid.to_string(),
            name: name.to_string(),
            slug: slug.to_string(),
            duration_minutes: *minutes,
            kind_group: *group,
            color: [
                "#0069ff", "#8247f5", "#ff4f00", "#17e885", "#e55cff", "#ffa600",
            ][index % 6]
                .to_string(),
            active: true,
            created_at: now - Duration::days(400 - index as i64),
            updated_at: now - Duration::days(400 - index as i64),
        });
    }
}

pub(crate) fn slug_for(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The world at start: one organization, its owner (the default user) and their event types.
pub(crate) fn initial_model(config: &FakeConfig, api_base: &str, now: DateTime<Utc>) -> Model {
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x005e_ed0f_defa_u64);
    let user_uuid = seeded_uuid(&mut rng);
    let organization_uuid = seeded_uuid(&mut rng);
    let created_at = Utc
        .with_ymd_and_hms(2023, 4, 11, 9, 30, 0)
        .single()
        .unwrap_or(now);
    let mut model = Model {
        api_base: api_base.to_string(),
        client_id: config.client_id.clone(),
        redirect_uris: config.redirect_uris.clone(),
        consent_mode: super::consent_mode_for(config),
        authorizing_user_uuid: user_uuid.clone(),
        default_user_uuid: user_uuid.clone(),
        rate_limit_per_minute: config.rate_limit_per_minute,
        token_requests_per_minute: config.token_requests_per_minute,
        users: vec![User {
            uuid: user_uuid.clone(),
            name: "Alex Morgan".to_string(),
            slug: "alex-morgan-advice".to_string(),
            email: "alex.morgan@morgan-advice.example".to_string(),
            timezone: "Europe/London".to_string(),
            organization_uuid,
            is_owner: true,
            created_at,
        }],
        event_types: Vec::new(),
        events: BTreeMap::new(),
        access_tokens: HashMap::new(),
        refresh_tokens: HashMap::new(),
        codes: HashMap::new(),
        pending_consents: HashMap::new(),
        next_grant_id: 0,
        subscriptions: Vec::new(),
        outbox: Vec::new(),
        next_message_id: 0,
        deliveries: Vec::new(),
        next_delivery_sequence: 0,
        faults: Vec::new(),
        failing_deliveries: 0,
        api_windows: HashMap::new(),
        token_windows: HashMap::new(),
        stats: super::empty_stats(),
    };
    add_event_types(&mut model, &user_uuid, &mut rng, created_at);
    model
}

const FIRST_NAMES: &[&str] = &[
    "Olivia", "James", "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur",
    "Sophia", "Leo", "Grace", "Harry", "Priya", "Mohammed", "Chloe", "Daniel", "Fatima", "Thomas",
    "Hannah", "Samuel", "Zara", "William", "Ruth", "Kwame", "Elena", "Patrick", "Aisha", "Graham",
];
const LAST_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Khan",
    "Wood",
    "Clarke",
    "O'Neill",
    "Okafor",
    "Nowak",
    "Fernández",
    "Murphy",
];
const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example",
    "example.co.uk",
];
const TIMEZONES: &[&str] = &[
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "America/New_York",
    "Asia/Dubai",
];
const TOPICS: &[&str] = &[
    "Reviewing my pension pot and drawdown options",
    "We'd like to start saving for our children's university",
    "Inheritance tax planning",
    "Moving my ISA to a better provider",
    "Checking whether I can retire at 60",
    "Mortgage overpayments vs investing",
    "Consolidating old workplace pensions",
];
const STREETS: &[&str] = &[
    "14 Market Street, Harrogate HG1 1AA",
    "Suite 3, 2 Queen Square, Bristol BS1 4JE",
    "The Old Bank, 7 High Street, Ludlow SY8 1BS",
];

fn client(rng: &mut StdRng) -> InviteeSpec {
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
    let domain = EMAIL_DOMAINS[rng.gen_range(0..EMAIL_DOMAINS.len())];
    let local: String = format!("{}.{}", first, last)
        .to_lowercase()
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || *character == '.')
        .collect();
    let split_names = rng.gen_bool(0.3);
    InviteeSpec {
        name: format!("{first} {last}"),
        email: format!("{local}@{domain}"),
        first_name: split_names.then(|| first.to_string()),
        last_name: split_names.then(|| last.to_string()),
        timezone: Some(TIMEZONES[rng.gen_range(0..TIMEZONES.len())].to_string()),
        questions_and_answers: Vec::new(),
        text_reminder_number: rng
            .gen_bool(0.2)
            .then(|| format!("+44 7700 9{:05}", rng.gen_range(0..100_000))),
    }
}

fn answers(rng: &mut StdRng) -> Vec<QuestionAnswer> {
    let mut answers = vec![QuestionAnswer {
        question: "What would you like to discuss?".to_string(),
        answer: TOPICS[rng.gen_range(0..TOPICS.len())].to_string(),
    }];
    if rng.gen_bool(0.4) {
        answers.push(QuestionAnswer {
            question: "Which of these apply to you?".to_string(),
            answer: ["Pension", "ISA", "Mortgage", "Protection"]
                .iter()
                .filter(|_| rng.gen_bool(0.5))
                .copied()
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    answers.retain(|qa| !qa.answer.is_empty());
    answers
}

fn location(rng: &mut StdRng, client_phone: Option<String>) -> LocationSpec {
    match rng.gen_range(0..100) {
        0..=39 => LocationSpec::Zoom,
        40..=59 => LocationSpec::GoogleConference,
        60..=77 => LocationSpec::Physical {
            location: STREETS[rng.gen_range(0..STREETS.len())].to_string(),
        },
        78..=91 => LocationSpec::OutboundCall {
            phone: Some(
                client_phone
                    .unwrap_or_else(|| format!("+44 20 7946 0{:03}", rng.gen_range(0..1000))),
            ),
        },
        92..=95 => LocationSpec::MicrosoftTeamsConference,
        // A location type Calendly may add later: clients must tolerate it.
        _ => LocationSpec::Raw {
            value: serde_json::json!({"type": "whereby_conference", "status": "pushed", "join_url": "https://whereby.example/advice-room"}),
        },
    }
}

/// A weekday business-hours start time in `[start, end)`, on a half-hour boundary.
fn meeting_start(rng: &mut StdRng, start: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
    let days = (end - start).num_days().max(1);
    for _ in 0..20 {
        let day = start + Duration::days(rng.gen_range(0..days));
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        let slot = rng.gen_range(0..16); // 09:00 .. 16:30
        let candidate = Utc
            .with_ymd_and_hms(
                day.year(),
                day.month(),
                day.day(),
                9 + slot / 2,
                (slot % 2) * 30,
                0,
            )
            .single();
        if let Some(candidate) = candidate.filter(|time| *time >= start && *time < end) {
            return candidate;
        }
    }
    // Very short ranges: any instant inside the range.
    let span = (end - start).num_seconds().max(1);
    let time = start + Duration::seconds(rng.gen_range(0..span));
    time.with_nanosecond(0).unwrap_or(time)
}

/// Seeds `count` events for `user_uuid`: repeat clients, Q&A, mixed locations, some cancellations,
/// some group events, a few legacy-format ids. No webhooks are sent for seeded history.
pub(crate) fn seed_events(
    model: &mut Model,
    user_uuid: &str,
    count: usize,
    seed: u64,
    range_start: DateTime<Utc>,
    range_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    if range_end <= range_start {
        return Err(ApiError::invalid_argument(
            "range_end",
            "range_end must be after range_start",
        ));
    }
    if count > 100_000 {
        return Err(ApiError::invalid_argument(
            "count",
            "at most 100000 events can be seeded at once",
        ));
    }
    let event_types: Vec<EventType> = model
        .event_types
        .iter()
        .filter(|event_type| event_type.owner_uuid == user_uuid)
        .cloned()
        .collect();
    if event_types.is_empty() {
        return Err(ApiError::invalid_argument(
            "user_uri",
            "the user has no event types",
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let pool_size = (count / 3).clamp(1, 400);
    let clients: Vec<InviteeSpec> = (0..pool_size).map(|_| client(&mut rng)).collect();
    let one_on_one: Vec<&EventType> = event_types
        .iter()
        .filter(|event_type| !event_type.kind_group)
        .collect();
    let group: Vec<&EventType> = event_types
        .iter()
        .filter(|event_type| event_type.kind_group)
        .collect();
    let mut created = Vec::new();
    for _ in 0..count {
        let is_group = !group.is_empty() && rng.gen_bool(0.06);
        let event_type = if is_group {
            group[rng.gen_range(0..group.len())]
        } else {
            one_on_one[rng.gen_range(0..one_on_one.len())]
        };
        let start = meeting_start(&mut rng, range_start, range_end);
        let invitee_count = if is_group { rng.gen_range(2..=5) } else { 1 };
        let mut invitees = Vec::new();
        for _ in 0..invitee_count {
            let mut spec = clients[rng.gen_range(0..clients.len())].clone();
            if invitees
                .iter()
                .any(|other: &InviteeSpec| other.email == spec.email)
            {
                spec = client(&mut rng);
            }
            spec.questions_and_answers = answers(&mut rng);
            invitees.push(spec);
        }
        let phone = invitees[0].text_reminder_number.clone();
        let location = if is_group {
            LocationSpec::Zoom
        } else {
            location(&mut rng, phone)
        };
        let legacy = rng.gen_bool(0.08);
        let event_uuid = if legacy {
            legacy_id(&mut rng)
        } else {
            seeded_uuid(&mut rng)
        };
        let invitee_uuids: Vec<String> =
            (0..invitees.len()).map(|_| seeded_uuid(&mut rng)).collect();
        // Booked between one and thirty days ahead of the meeting, never in the future.
        let created_at = (start
            - Duration::days(rng.gen_range(1..=30))
            - Duration::minutes(rng.gen_range(0..600)))
        .min(now);
        let request = BookingRequest {
            host_user_uri: Some(model.user_uri(user_uuid)),
            event_type_uri: Some(model.event_type_uri(&event_type.uuid)),
            event_name: None,
            start_time: start,
            duration_minutes: None,
            invitees,
            location: Some(location),
            invitee_limit: is_group.then_some(8),
        };
        let (event_uri, _) = model.book(
            &request,
            event_uuid.clone(),
            invitee_uuids.clone(),
            created_at,
            false,
        )?;
        let cancel_roll = rng.gen_range(0..100);
        let cancel_at = (created_at + Duration::hours(rng.gen_range(1..72)))
            .min(now)
            .max(created_at);
        if cancel_roll < 9 {
            let canceler = if rng.gen_bool(0.5) {
                Canceler::Host
            } else {
                Canceler::Invitee
            };
            let reason = [
                "",
                "Something came up at work",
                "Feeling unwell",
                "Need to rearrange",
            ][rng.gen_range(0..4)];
            model.cancel_event(
                &event_uuid,
                canceler,
                Some(reason.to_string()),
                cancel_at,
                false,
            )?;
        } else if is_group && cancel_roll < 40 {
            model.cancel_invitee(
                &event_uuid,
                &invitee_uuids[0],
                Canceler::Invitee,
                Some("Can't make it".to_string()),
                cancel_at,
                false,
            )?;
        }
        if let Some(event) = model.events.get_mut(&event_uuid) {
            // Past conferences have their details pushed; recent bookings may still be processing.
            event.conference_pushed = start < now || rng.gen_bool(0.7);
        }
        created.push((start, event_uri));
    }
    created.sort();
    Ok(created.into_iter().map(|(_, uri)| uri).collect())
}
