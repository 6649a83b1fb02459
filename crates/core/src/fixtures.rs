//! Builders of domain values for tests (this crate's and, with the `fixtures` feature, other
//! crates'). Times are fixed so tests never depend on the clock.

use crate::domain::{
    CalendlyUser, Cancellation, EventTypeUri, EventUri, FetchedEvent, FetchedEventType,
    FetchedInvitee, InviteeUri, Location, OrganizationUri, QuestionAnswer, Status, SyncWindow,
    UserUri,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

const API: &str = "https://api.calendly.com";

/// 2026-03-01T09:00:00Z, the "now" of most tests.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

/// `base_time()` shifted by whole minutes (negative for the past).
pub fn minutes(offset: i64) -> DateTime<Utc> {
    base_time() + Duration::minutes(offset)
}

/// `base_time()` shifted by whole days.
pub fn days(offset: i64) -> DateTime<Utc> {
    base_time() + Duration::days(offset)
}

/// A window of `back` days before and `ahead` days after `base_time()`.
pub fn window(back: i64, ahead: i64) -> SyncWindow {
    SyncWindow {
        start: days(-back),
        end: days(ahead),
    }
}

pub fn event_uri(event_id: &str) -> EventUri {
    EventUri::new(format!("{API}/scheduled_events/{event_id}"))
}

pub fn event_type_uri(event_type_id: &str) -> EventTypeUri {
    EventTypeUri::new(format!("{API}/event_types/{event_type_id}"))
}

/// An active one-on-one event type of 30 minutes with this name and colour.
pub fn event_type(event_type_id: &str, name: &str, color: &str) -> FetchedEventType {
    FetchedEventType {
        uri: event_type_uri(event_type_id),
        name: Some(name.to_owned()),
        duration_minutes: Some(30),
        color: Some(color.to_owned()),
        kind: Some("solo".to_owned()),
        scheduling_url: Some(format!(
            "https://calendly.com/advisor1/{}",
            event_type_id.to_lowercase()
        )),
        active: true,
        updated_at: Some(days(-100)),
    }
}

pub fn invitee_uri(event_id: &str, invitee_id: &str) -> InviteeUri {
    InviteeUri::new(format!(
        "{API}/scheduled_events/{event_id}/invitees/{invitee_id}"
    ))
}

/// A Calendly user numbered `number` (distinct URIs and e-mails per number).
pub fn user(number: u32) -> CalendlyUser {
    CalendlyUser {
        uri: UserUri::new(format!("{API}/users/USER{number}")),
        organization: OrganizationUri::new(format!("{API}/organizations/ORG{number}")),
        email: format!("advisor{number}@example.com"),
        name: format!("Advisor {number}"),
        timezone: Some("Europe/Berlin".to_owned()),
        scheduling_url: Some(format!("https://calendly.com/advisor{number}")),
    }
}

/// An active 30-minute event starting at `start`, created and updated a week before it.
pub fn event(event_id: &str, start: DateTime<Utc>) -> FetchedEvent {
    let created = start - Duration::days(7);
    FetchedEvent {
        uri: event_uri(event_id),
        name: Some(format!("Review {event_id}")),
        status: Status::Active,
        start_time: start,
        end_time: start + Duration::minutes(30),
        event_type: Some(format!("{API}/event_types/FINANCIAL_REVIEW")),
        location: Location {
            kind: Some("zoom".to_owned()),
            join_url: Some(format!("https://zoom.us/j/{event_id}")),
            detail: None,
        },
        created_at: created,
        updated_at: created,
        cancellation: None,
        invitees_total: 1,
        invitees_active: 1,
    }
}

/// `event` canceled by the invitee at `at` with `reason` (`updated_at` moves to `at`).
pub fn canceled(event: &FetchedEvent, reason: &str, at: DateTime<Utc>) -> FetchedEvent {
    FetchedEvent {
        status: Status::Canceled,
        updated_at: at,
        cancellation: Some(Cancellation {
            canceled_by: Some("Ann Client".to_owned()),
            reason: Some(reason.to_owned()),
            canceler_type: Some("invitee".to_owned()),
            created_at: Some(at),
        }),
        invitees_active: 0,
        ..event.clone()
    }
}

/// An active invitee of `event` with one answered question.
pub fn invitee(event: &FetchedEvent, invitee_id: &str, email: &str, name: &str) -> FetchedInvitee {
    FetchedInvitee {
        uri: invitee_uri(event.uri.id(), invitee_id),
        event: event.uri.clone(),
        email: email.to_owned(),
        name: name.to_owned(),
        status: Status::Active,
        timezone: Some("Europe/London".to_owned()),
        questions_and_answers: vec![QuestionAnswer {
            question: "What would you like to discuss?".to_owned(),
            answer: format!("Pension planning for {name}"),
            position: 0,
        }],
        cancel_url: Some(format!("https://calendly.com/cancellations/{invitee_id}")),
        reschedule_url: Some(format!("https://calendly.com/reschedulings/{invitee_id}")),
        new_invitee: None,
        old_invitee: None,
        rescheduled: false,
        no_show: false,
        cancellation: None,
        created_at: event.created_at,
        updated_at: event.created_at,
    }
}
