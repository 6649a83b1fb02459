//! The oracle: every field the UI shows, for every meeting, invitee and client, computed once
//! from the fake Calendly's truth and once from the app's views, as comparable lines.
//!
//! The expected side reads Calendly's rules off the truth dump (which is the fake's own model,
//! not the client's wire types): a meeting reads "Rescheduled to …" when every invitee moved to
//! the same meeting, a client's name is their most recent non-empty one, and so on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use advicly_core::domain::AccountId;
use advicly_core::store::Store;
use advicly_engine::{
    Engine, EventUri, MeetingDetailView, MeetingQuery, MeetingStatusFilter, MeetingView,
};
use fake_calendly::{EventTruth, InviteeTruth};

type Lines = BTreeMap<String, String>;

fn put(lines: &mut Lines, key: String, value: impl std::fmt::Debug) {
    lines.insert(key, format!("{value:?}"));
}

/// `…/scheduled_events/E/invitees/I` → `…/scheduled_events/E`.
fn event_of(invitee_uri: &str) -> String {
    invitee_uri
        .rsplit_once("/invitees/")
        .map(|(event, _)| event.to_owned())
        .unwrap_or_default()
}

fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// (kind, join URL, detail) of a rendered location, as Calendly's documentation describes them.
fn location_parts(
    location: &serde_json::Value,
) -> (Option<String>, Option<String>, Option<String>) {
    (
        text(&location["type"]),
        text(&location["join_url"]),
        text(&location["location"]).or_else(|| text(&location["additional_info"])),
    )
}

fn status(canceled: bool) -> &'static str {
    if canceled {
        "canceled"
    } else {
        "active"
    }
}

/// The one event all of `events` name, when every one of `expected` invitees names it.
fn the_one(events: &[String], expected: usize) -> Option<String> {
    let first = events.first()?;
    (events.len() == expected && events.iter().all(|event| event == first)).then(|| first.clone())
}

fn expected_meeting(
    lines: &mut Lines,
    event: &EventTruth,
    starts: &BTreeMap<String, DateTime<Utc>>,
) {
    let key = |field: &str| format!("meeting {} {field}", event.uri);
    put(lines, key("name"), Some(event.name.as_str()));
    put(lines, key("status"), status(event.canceled));
    put(lines, key("start"), event.start_time);
    put(lines, key("end"), event.end_time);
    put(
        lines,
        key("event_type"),
        Some(event.event_type_uri.as_str()),
    );
    let (kind, join_url, detail) = location_parts(&event.location);
    put(lines, key("location_kind"), kind);
    put(lines, key("join_url"), join_url);
    put(lines, key("location_detail"), detail);
    let cancellation = event.cancellation.as_ref();
    put(
        lines,
        key("canceled_reason"),
        cancellation.and_then(|record| record.reason.clone()),
    );
    put(
        lines,
        key("canceled_by"),
        cancellation.map(|record| record.canceled_by.clone()),
    );
    let count = event.invitees.len();
    let moved_to: Vec<String> = event
        .invitees
        .iter()
        .filter_map(|invitee| invitee.new_invitee_uri.as_deref().map(event_of))
        .collect();
    let came_from: Vec<String> = event
        .invitees
        .iter()
        .filter_map(|invitee| invitee.old_invitee_uri.as_deref().map(event_of))
        .collect();
    let rescheduled_to = the_one(&moved_to, count).filter(|target| *target != event.uri);
    let rescheduled_from = the_one(&came_from, count).filter(|source| *source != event.uri);
    put(
        lines,
        key("rescheduled_to_start"),
        rescheduled_to
            .as_ref()
            .and_then(|target| starts.get(target)),
    );
    put(
        lines,
        key("reschedule_note"),
        (!moved_to.is_empty() && rescheduled_to.is_none())
            .then(|| format!("{} of {count} moved", moved_to.len())),
    );
    put(lines, key("rescheduled_to"), rescheduled_to);
    put(lines, key("rescheduled_from"), rescheduled_from);
    put(lines, key("moved_invitees"), moved_to.len() as u32);
    put(lines, key("invitee_count"), count as u32);
    put(lines, key("read_error"), None::<String>);
    put(lines, key("deleted"), false);
    put(lines, key("created_at"), event.created_at);
    put(lines, key("updated_at"), event.updated_at);
    let emails: BTreeSet<String> = event
        .invitees
        .iter()
        .map(|invitee| invitee.email.trim().to_lowercase())
        .collect();
    put(
        lines,
        key("client_emails"),
        emails.into_iter().collect::<Vec<_>>(),
    );
    let summaries: Vec<(String, String, &str)> = event
        .invitees
        .iter()
        .map(|invitee| {
            (
                invitee.name.clone(),
                invitee.email.clone(),
                status(invitee.canceled),
            )
        })
        .collect();
    put(lines, key("invitees"), summaries);
    for invitee in &event.invitees {
        expected_invitee(lines, invitee, starts);
    }
}

fn expected_invitee(
    lines: &mut Lines,
    invitee: &InviteeTruth,
    starts: &BTreeMap<String, DateTime<Utc>>,
) {
    let key = |field: &str| format!("invitee {} {field}", invitee.uri);
    put(lines, key("name"), &invitee.name);
    put(lines, key("email"), &invitee.email);
    put(lines, key("status"), status(invitee.canceled));
    put(lines, key("timezone"), &invitee.timezone);
    let answers: Vec<(String, String)> = invitee
        .questions_and_answers
        .iter()
        .map(|answer| (answer.question.clone(), answer.answer.clone()))
        .collect();
    put(lines, key("questions_and_answers"), answers);
    put(lines, key("no_show"), invitee.no_show);
    put(
        lines,
        key("canceled_reason"),
        invitee
            .cancellation
            .as_ref()
            .and_then(|record| record.reason.clone()),
    );
    let moved_to = invitee.new_invitee_uri.as_deref().map(event_of);
    put(
        lines,
        key("rescheduled_to_start"),
        moved_to.as_ref().and_then(|target| starts.get(target)),
    );
    put(lines, key("rescheduled_to"), moved_to);
    put(
        lines,
        key("rescheduled_from"),
        invitee.old_invitee_uri.as_deref().map(event_of),
    );
}

/// Most recent non-empty name wins (by booking time, then the greater name).
struct ClientFacts {
    name: Option<(DateTime<Utc>, String)>,
    attended: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

fn note_name(facts: &mut ClientFacts, created_at: DateTime<Utc>, name: &str) {
    let name = name.trim();
    if name.is_empty() {
        return;
    }
    let candidate = (created_at, name.to_owned());
    if facts
        .name
        .as_ref()
        .is_none_or(|current| candidate > *current)
    {
        facts.name = Some(candidate);
    }
}

fn client_lines(lines: &mut Lines, clients: &BTreeMap<String, ClientFacts>, now: DateTime<Utc>) {
    for (email, facts) in clients {
        let key = |field: &str| format!("client {email} {field}");
        put(
            lines,
            key("name"),
            facts
                .name
                .as_ref()
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
        );
        put(lines, key("meeting_count"), facts.attended.len() as u64);
        put(
            lines,
            key("next_meeting"),
            facts
                .attended
                .iter()
                .filter(|(_, end)| *end > now)
                .map(|(start, _)| *start)
                .min(),
        );
        put(
            lines,
            key("last_meeting"),
            facts
                .attended
                .iter()
                .filter(|(_, end)| *end <= now)
                .map(|(start, _)| *start)
                .max(),
        );
    }
}

fn actual_meeting(lines: &mut Lines, view: &MeetingView, detail: &MeetingDetailView) {
    let key = |field: &str| format!("meeting {} {field}", view.uri);
    let uri = |uri: &Option<EventUri>| uri.as_ref().map(|uri| uri.as_str().to_owned());
    put(lines, key("name"), view.name.as_deref());
    put(lines, key("status"), view.status.as_str());
    put(lines, key("start"), view.start_time);
    put(lines, key("end"), view.end_time);
    put(lines, key("event_type"), view.event_type.as_deref());
    put(lines, key("location_kind"), &view.location_kind);
    put(lines, key("join_url"), &view.join_url);
    put(lines, key("location_detail"), &detail.location_detail);
    put(lines, key("canceled_reason"), &view.canceled_reason);
    put(lines, key("canceled_by"), &view.canceled_by);
    put(
        lines,
        key("rescheduled_to_start"),
        view.rescheduled_to_start.as_ref(),
    );
    put(lines, key("reschedule_note"), &view.reschedule_note);
    put(lines, key("rescheduled_to"), uri(&view.rescheduled_to));
    put(lines, key("rescheduled_from"), uri(&view.rescheduled_from));
    put(lines, key("moved_invitees"), view.moved_invitees);
    put(lines, key("invitee_count"), view.invitee_count);
    put(lines, key("read_error"), &view.read_error);
    put(lines, key("deleted"), view.deleted);
    put(lines, key("created_at"), detail.created_at);
    put(lines, key("updated_at"), detail.updated_at);
    put(lines, key("client_emails"), &view.client_emails);
    let summaries: Vec<(String, String, &str)> = view
        .invitees
        .iter()
        .map(|invitee| {
            (
                invitee.name.clone(),
                invitee.email.clone(),
                invitee.status.as_str(),
            )
        })
        .collect();
    put(lines, key("invitees"), summaries);
    for invitee in &detail.invitees {
        let key = |field: &str| format!("invitee {} {field}", invitee.uri);
        put(lines, key("name"), &invitee.name);
        put(lines, key("email"), &invitee.email);
        put(lines, key("status"), invitee.status.as_str());
        put(lines, key("timezone"), &invitee.timezone);
        let answers: Vec<(String, String)> = invitee
            .questions_and_answers
            .iter()
            .map(|answer| (answer.question.clone(), answer.answer.clone()))
            .collect();
        put(lines, key("questions_and_answers"), answers);
        put(lines, key("no_show"), invitee.no_show);
        put(lines, key("canceled_reason"), &invitee.canceled_reason);
        put(
            lines,
            key("rescheduled_to_start"),
            invitee.rescheduled_to_start.as_ref(),
        );
        put(lines, key("rescheduled_to"), uri(&invitee.rescheduled_to));
        put(
            lines,
            key("rescheduled_from"),
            uri(&invitee.rescheduled_from),
        );
    }
}

/// Compares the app's views with Calendly's truth; `Err` lists every line that differs.
pub fn compare(
    engine: &Engine,
    store: &Store,
    account: AccountId,
    truth: &[EventTruth],
    vanished: &BTreeMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let list = |status| {
        engine
            .meetings(
                &MeetingQuery {
                    status,
                    ..MeetingQuery::default()
                },
                now,
            )
            .map_err(|error| format!("listing meetings failed: {error}"))
    };
    let mut stored = list(MeetingStatusFilter::All)?;
    stored.extend(list(MeetingStatusFilter::Deleted)?);

    let mut starts: BTreeMap<String, DateTime<Utc>> = truth
        .iter()
        .map(|event| (event.uri.clone(), event.start_time))
        .collect();
    // A meeting that vanished before the app ever stored it has no start to show.
    starts.extend(
        vanished
            .iter()
            .filter(|(uri, _)| stored.iter().any(|view| view.uri.as_str() == uri.as_str()))
            .map(|(uri, start)| (uri.clone(), *start)),
    );

    let mut expected = Lines::new();
    let mut actual = Lines::new();
    let mut clients: BTreeMap<String, ClientFacts> = BTreeMap::new();
    for event in truth {
        expected_meeting(&mut expected, event, &starts);
        for invitee in &event.invitees {
            let entry = clients
                .entry(invitee.email.trim().to_lowercase())
                .or_insert(ClientFacts {
                    name: None,
                    attended: Vec::new(),
                });
            note_name(entry, invitee.created_at, &invitee.name);
        }
        if !event.canceled {
            let attendees: BTreeSet<String> = event
                .invitees
                .iter()
                .filter(|invitee| !invitee.canceled)
                .map(|invitee| invitee.email.trim().to_lowercase())
                .collect();
            for email in attendees {
                if let Some(entry) = clients.get_mut(&email) {
                    entry.attended.push((event.start_time, event.end_time));
                }
            }
        }
    }

    for view in &stored {
        let detail = engine
            .meeting(&view.uri)
            .map_err(|error| format!("meeting detail failed: {error}"))?;
        if view.deleted && vanished.contains_key(view.uri.as_str()) {
            // Gone at Calendly and flagged: the app keeps what it last knew, which includes
            // the clients of those invitees.
            put(&mut actual, format!("meeting {} deleted", view.uri), true);
            put(&mut expected, format!("meeting {} deleted", view.uri), true);
            let kept = store
                .meeting_detail(account, &view.uri)
                .map_err(|error| format!("reading a deleted meeting failed: {error}"))?
                .map(|detail| detail.invitees)
                .unwrap_or_default();
            for invitee in kept {
                let entry = clients
                    .entry(invitee.email.trim().to_lowercase())
                    .or_insert(ClientFacts {
                        name: None,
                        attended: Vec::new(),
                    });
                note_name(entry, invitee.created_at, &invitee.name);
            }
            continue;
        }
        actual_meeting(&mut actual, view, &detail);
    }
    client_lines(&mut expected, &clients, now);
    let actual_clients = engine
        .clients(now)
        .map_err(|error| format!("listing clients failed: {error}"))?;
    for client in actual_clients {
        let key = |field: &str| format!("client {} {field}", client.email);
        put(&mut actual, key("name"), client.name.clone());
        put(&mut actual, key("meeting_count"), client.meeting_count);
        put(&mut actual, key("next_meeting"), client.next_meeting);
        put(&mut actual, key("last_meeting"), client.last_meeting);
    }

    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    let differences: Vec<String> = keys
        .into_iter()
        .filter(|key| expected.get(*key) != actual.get(*key))
        .map(|key| {
            format!(
                "  {key}\n      Calendly: {}\n      app:      {}",
                expected.get(key).map(String::as_str).unwrap_or("(none)"),
                actual.get(key).map(String::as_str).unwrap_or("(none)")
            )
        })
        .collect();
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} field(s) differ from Calendly after the final sync:\n{}",
            differences.len(),
            differences.join("\n")
        ))
    }
}
