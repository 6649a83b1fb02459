//! Calendly's JSON as this client reads it (private serde types), and the mapping into the
//! domain types of `advicly_core::domain`. Tolerant by design: every optional key may be
//! missing, unknown enum values are kept verbatim, IDs are opaque, and list items are read one
//! by one so that a single malformed item is skipped instead of failing the page.

use advicly_core::domain::{
    normalize_hex_color, CalendlyUser, Cancellation, EventTypeUri, EventUri, FetchedEvent,
    FetchedEventType, FetchedInvitee, InviteeUri, Location, OrganizationUri, QuestionAnswer,
    Status, UserUri,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::subscriptions::{SubscriptionState, WebhookSubscription, WebhookSubscriptionUri};
use crate::types::SkippedItem;

/// `{"resource": …}`.
#[derive(Deserialize)]
pub(crate) struct ResourceEnvelope<T> {
    pub resource: T,
}

/// `{"collection": […], "pagination": {…}}`, items kept raw so each is read on its own.
#[derive(Deserialize)]
pub(crate) struct CollectionEnvelope {
    pub collection: Vec<Value>,
    #[serde(default)]
    pub pagination: Option<WirePagination>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WirePagination {
    pub next_page_token: Option<String>,
    /// Older (2021) answers carry only `next_page`, a full URL with `page_token=` in it.
    pub next_page: Option<String>,
}

impl CollectionEnvelope {
    /// The token of the next page, or `None` on the last page.
    pub fn next_page_token(&self) -> Option<String> {
        let pagination = self.pagination.as_ref()?;
        if let Some(token) = pagination.next_page_token.as_deref() {
            return (!token.is_empty()).then(|| token.to_owned());
        }
        let next_page = url::Url::parse(pagination.next_page.as_deref()?).ok()?;
        next_page
            .query_pairs()
            .find(|(key, _)| key == "page_token")
            .map(|(_, value)| value.into_owned())
            .filter(|token| !token.is_empty())
    }

    /// Maps every item, skipping (and reporting) the ones that cannot be read.
    pub fn map_items<W, T>(self, map: impl Fn(W) -> Result<T, String>) -> (Vec<T>, Vec<SkippedItem>)
    where
        W: DeserializeOwned,
    {
        let mut items = Vec::with_capacity(self.collection.len());
        let mut skipped = Vec::new();
        for raw in self.collection {
            let uri = raw.get("uri").and_then(Value::as_str).map(str::to_owned);
            let mapped = serde_json::from_value::<W>(raw)
                .map_err(|error| error.to_string())
                .and_then(&map);
            match mapped {
                Ok(item) => items.push(item),
                Err(reason) => skipped.push(SkippedItem { uri, reason }),
            }
        }
        (items, skipped)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireUser {
    pub uri: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub scheduling_url: Option<String>,
    pub timezone: Option<String>,
    pub current_organization: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireCancellation {
    pub canceled_by: Option<String>,
    pub reason: Option<String>,
    pub canceler_type: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A location object. Only the keys we use are read, all as optional strings, so unknown
/// location types and their extra `data` never fail parsing.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireLocation {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub location: Option<Value>,
    pub join_url: Option<Value>,
    pub additional_info: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireInviteesCounter {
    pub total: Option<Value>,
    pub active: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireEvent {
    pub uri: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub event_type: Option<String>,
    pub location: Option<WireLocation>,
    pub invitees_counter: Option<WireInviteesCounter>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub cancellation: Option<WireCancellation>,
}

/// An event type (`GET /event_types`); only the keys the app shows are read.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireEventType {
    pub uri: Option<String>,
    pub name: Option<String>,
    pub active: Option<bool>,
    pub scheduling_url: Option<String>,
    /// A number in Calendly's schema; read loosely so a float or a string never drops the type.
    pub duration: Option<Value>,
    pub kind: Option<String>,
    pub color: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireQuestionAnswer {
    pub question: Option<String>,
    pub answer: Option<Value>,
    pub position: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireInvitee {
    pub uri: Option<String>,
    pub event: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: Option<String>,
    pub timezone: Option<String>,
    pub questions_and_answers: Option<Vec<WireQuestionAnswer>>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub new_invitee: Option<String>,
    pub old_invitee: Option<String>,
    pub rescheduled: Option<bool>,
    /// `null`, or `{uri, created_at}` when the host marked a no-show.
    pub no_show: Option<Value>,
    pub cancellation: Option<WireCancellation>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireWebhookSubscription {
    pub uri: Option<String>,
    pub callback_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub retry_started_at: Option<DateTime<Utc>>,
    pub state: Option<String>,
    pub events: Option<Vec<String>>,
    pub scope: Option<String>,
    pub organization: Option<String>,
    pub user: Option<String>,
}

/// A webhook delivery: `{event, created_at, created_by, payload}`.
#[derive(Deserialize)]
pub(crate) struct WireDelivery {
    pub event: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub payload: Option<Value>,
}

fn required<T>(value: Option<T>, key: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing `{key}`"))
}

/// Empty strings mean "nothing" in Calendly's optional string fields.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// A scalar as text: strings verbatim, numbers and booleans printed; objects and null → None.
fn scalar_text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn count(value: Option<Value>) -> u32 {
    value
        .and_then(|value| value.as_f64())
        .filter(|number| number.is_finite() && *number >= 0.0)
        .map(|number| number.min(f64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

/// Missing `status` is read as canceled when a cancellation is present, else active.
fn status(raw: Option<String>, cancellation: &Option<Cancellation>) -> Status {
    match non_empty(raw) {
        Some(raw) => Status::parse(&raw),
        None if cancellation.is_some() => Status::Canceled,
        None => Status::Active,
    }
}

pub(crate) fn map_cancellation(wire: WireCancellation) -> Cancellation {
    Cancellation {
        canceled_by: wire.canceled_by,
        // Kept as sent: `""` on host cancels without a reason stays `Some("")`.
        reason: wire.reason,
        canceler_type: wire.canceler_type,
        created_at: wire.created_at,
    }
}

pub(crate) fn map_location(wire: Option<WireLocation>) -> Location {
    let Some(wire) = wire else {
        return Location::default();
    };
    let detail = scalar_text(wire.location)
        .filter(|text| !text.trim().is_empty())
        .or_else(|| scalar_text(wire.additional_info).filter(|text| !text.trim().is_empty()));
    Location {
        kind: non_empty(wire.kind),
        join_url: scalar_text(wire.join_url).filter(|text| !text.trim().is_empty()),
        detail,
    }
}

pub(crate) fn map_user(wire: WireUser) -> Result<CalendlyUser, String> {
    let email = required(wire.email, "email")?;
    Ok(CalendlyUser {
        uri: UserUri::new(required(non_empty(wire.uri), "uri")?),
        organization: OrganizationUri::new(required(
            non_empty(wire.current_organization),
            "current_organization",
        )?),
        name: non_empty(wire.name).unwrap_or_else(|| email.clone()),
        email,
        timezone: non_empty(wire.timezone),
        scheduling_url: non_empty(wire.scheduling_url),
    })
}

pub(crate) fn map_event(wire: WireEvent) -> Result<FetchedEvent, String> {
    let uri = required(non_empty(wire.uri), "uri")?;
    let start_time = required(wire.start_time, "start_time")?;
    let end_time = wire.end_time.unwrap_or(start_time);
    // Timestamps the domain requires fall back to each other rather than failing a sync.
    let created_at = wire.created_at.or(wire.updated_at).unwrap_or(start_time);
    let updated_at = wire.updated_at.unwrap_or(created_at);
    let cancellation = wire.cancellation.map(map_cancellation);
    let counter = wire.invitees_counter.unwrap_or_default();
    Ok(FetchedEvent {
        uri: EventUri::new(uri),
        name: wire.name,
        status: status(wire.status, &cancellation),
        start_time,
        end_time,
        event_type: non_empty(wire.event_type),
        location: map_location(wire.location),
        created_at,
        updated_at,
        cancellation,
        invitees_total: count(counter.total),
        invitees_active: count(counter.active),
    })
}

pub(crate) fn map_event_type(wire: WireEventType) -> Result<FetchedEventType, String> {
    let uri = required(non_empty(wire.uri), "uri")?;
    let duration_minutes = match wire.duration {
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        other => other.and_then(|value| value.as_f64()),
    }
    .filter(|minutes| minutes.is_finite() && *minutes >= 0.0)
    .map(|minutes| minutes.min(f64::from(u32::MAX)).round() as u32);
    Ok(FetchedEventType {
        uri: EventTypeUri::new(uri),
        name: non_empty(wire.name),
        duration_minutes,
        color: wire.color.as_deref().and_then(normalize_hex_color),
        kind: non_empty(wire.kind),
        scheduling_url: non_empty(wire.scheduling_url),
        // Calendly always sends `active`; a type without it is listed, so treat it as offered.
        active: wire.active.unwrap_or(true),
        updated_at: wire.updated_at,
    })
}

/// The event URI an invitee URI nests in (`…/scheduled_events/<event>/invitees/<id>`).
pub(crate) fn event_uri_of_invitee(invitee_uri: &str) -> Option<String> {
    let (event, rest) = invitee_uri
        .trim_end_matches('/')
        .rsplit_once("/invitees/")?;
    (!event.is_empty() && !rest.is_empty() && !rest.contains('/')).then(|| event.to_owned())
}

pub(crate) fn map_invitee(wire: WireInvitee) -> Result<FetchedInvitee, String> {
    let uri = required(non_empty(wire.uri), "uri")?;
    let event = non_empty(wire.event)
        .or_else(|| event_uri_of_invitee(&uri))
        .ok_or("missing `event`")?;
    let email = required(non_empty(wire.email), "email")?;
    let created_at = required(wire.created_at.or(wire.updated_at), "created_at")?;
    let updated_at = wire.updated_at.unwrap_or(created_at);
    let name = non_empty(wire.name)
        .or_else(|| {
            let joined = [wire.first_name, wire.last_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            non_empty(Some(joined))
        })
        .unwrap_or_else(|| email.clone());
    let cancellation = wire.cancellation.map(map_cancellation);
    let questions_and_answers = wire
        .questions_and_answers
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, item)| QuestionAnswer {
            question: item.question.unwrap_or_default(),
            answer: scalar_text(item.answer).unwrap_or_default(),
            position: item
                .position
                .and_then(|position| position.as_f64())
                .map(|position| position as i64)
                .unwrap_or(index as i64),
        })
        .collect();
    Ok(FetchedInvitee {
        uri: InviteeUri::new(uri),
        event: EventUri::new(event),
        email,
        name,
        status: status(wire.status, &cancellation),
        timezone: non_empty(wire.timezone),
        questions_and_answers,
        cancel_url: non_empty(wire.cancel_url),
        reschedule_url: non_empty(wire.reschedule_url),
        new_invitee: non_empty(wire.new_invitee).map(InviteeUri::new),
        old_invitee: non_empty(wire.old_invitee).map(InviteeUri::new),
        rescheduled: wire.rescheduled.unwrap_or(false),
        no_show: wire.no_show.is_some_and(|no_show| !no_show.is_null()),
        cancellation,
        created_at,
        updated_at,
    })
}

pub(crate) fn map_webhook_subscription(
    wire: WireWebhookSubscription,
) -> Result<WebhookSubscription, String> {
    let created_at = required(wire.created_at.or(wire.updated_at), "created_at")?;
    Ok(WebhookSubscription {
        uri: WebhookSubscriptionUri::new(required(non_empty(wire.uri), "uri")?),
        callback_url: required(wire.callback_url, "callback_url")?,
        state: SubscriptionState::parse(wire.state.as_deref().unwrap_or("active")),
        events: wire.events.unwrap_or_default(),
        scope: wire.scope.unwrap_or_default(),
        organization: non_empty(wire.organization).map(OrganizationUri::new),
        user: non_empty(wire.user).map(UserUri::new),
        created_at,
        retry_started_at: wire.retry_started_at,
    })
}

/// Reads a whole JSON document into `T`, for single-resource answers.
pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    serde_json::from_slice(raw).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    fn event(json: &str) -> Result<FetchedEvent, String> {
        map_event(serde_json::from_str(json).map_err(|e| e.to_string())?)
    }

    fn invitee(json: &str) -> Result<FetchedInvitee, String> {
        map_invitee(serde_json::from_str(json).map_err(|e| e.to_string())?)
    }

    fn event_type(json: &str) -> Result<FetchedEventType, String> {
        map_event_type(serde_json::from_str(json).map_err(|e| e.to_string())?)
    }

    /// The example item of `GET /event_types` in the 2023 OpenAPI document.
    const EVENT_TYPE_DOC: &str = r##"{"uri":"https://api.calendly.com/event_types/AAAAAAAAAAAAAAAA","name":"15 Minute Meeting","active":true,"booking_method":"instant","slug":"acmesales","scheduling_url":"https://calendly.com/acmesales","duration":30,"kind":"solo","pooling_type":"round_robin","type":"StandardEventType","color":"#fff200","created_at":"2019-01-02T03:04:05.678Z","updated_at":"2019-08-07T06:05:04.321Z","internal_note":"Internal note","description_plain":"15 Minute Meeting","description_html":"<p>15 Minute Meeting</p>","profile":{"type":"User","name":"Tamara Jones","owner":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA"},"secret":true,"custom_questions":[]}"##;

    #[test]
    fn documented_event_type_maps_the_fields_the_app_shows() {
        let mapped = event_type(EVENT_TYPE_DOC).expect("the documented example maps");
        assert_eq!(
            mapped,
            FetchedEventType {
                uri: EventTypeUri::new("https://api.calendly.com/event_types/AAAAAAAAAAAAAAAA"),
                name: Some("15 Minute Meeting".into()),
                duration_minutes: Some(30),
                color: Some("#fff200".into()),
                kind: Some("solo".into()),
                scheduling_url: Some("https://calendly.com/acmesales".into()),
                active: true,
                updated_at: Some(
                    Utc.with_ymd_and_hms(2019, 8, 7, 6, 5, 4).unwrap()
                        + chrono::Duration::milliseconds(321)
                ),
            }
        );
    }

    #[rstest]
    #[case::inactive_with_a_float_duration(
        r#"{"uri":"u","active":false,"duration":45.0}"#,
        Some(45),
        None,
        false
    )]
    #[case::string_duration_and_upper_case_colour(
        r##"{"uri":"u","duration":"60","color":"#ABCDEF"}"##,
        Some(60),
        Some("#abcdef"),
        true
    )]
    #[case::css_in_the_colour_is_dropped(
        r#"{"uri":"u","color":"red;background:url(x)","duration":-5}"#,
        None,
        None,
        true
    )]
    fn event_type_fields_are_read_loosely(
        #[case] json: &str,
        #[case] duration: Option<u32>,
        #[case] color: Option<&str>,
        #[case] active: bool,
    ) {
        let mapped = event_type(json).expect("maps");
        assert_eq!(mapped.duration_minutes, duration, "duration of {json}");
        assert_eq!(mapped.color.as_deref(), color, "colour of {json}");
        assert_eq!(mapped.active, active, "active of {json}");
    }

    #[test]
    fn an_event_type_without_uri_is_refused() {
        assert!(event_type(r#"{"name":"No id"}"#).is_err());
    }

    /// The `scheduled_event` of the REAL 2023-12 `invitee.created` delivery quoted in API.md.
    const EVENT_2023: &str = r#"{"created_at":"2023-12-24T17:27:38.162964Z","end_time":"2023-12-24T21:45:00.000000Z","event_guests":[],"event_memberships":[{"user":"https://api.calendly.com/users/f2f32253-5f99-4d22-8950-51f86535e227","user_email":"connect2ashwaniverma@gmail.com"}],"event_type":"https://api.calendly.com/event_types/ebd636e1-bf06-4b5b-a3f8-68add9964c7a","invitees_counter":{"total":1,"active":1,"limit":100},"location":{"join_url":"https://calendly.com/events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/google_meet","status":"processing","type":"google_conference"},"name":"15 Minute Meeting","start_time":"2023-12-24T21:30:00.000000Z","status":"active","updated_at":"2023-12-24T17:27:38.162964Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c"}"#;

    #[test]
    fn real_2023_event_maps_every_field() {
        let mapped = event(EVENT_2023).expect("the real payload must map");
        let expected = FetchedEvent {
            uri: EventUri::new(
                "https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c",
            ),
            name: Some("15 Minute Meeting".into()),
            status: Status::Active,
            start_time: Utc.with_ymd_and_hms(2023, 12, 24, 21, 30, 0).unwrap(),
            end_time: Utc.with_ymd_and_hms(2023, 12, 24, 21, 45, 0).unwrap(),
            event_type: Some(
                "https://api.calendly.com/event_types/ebd636e1-bf06-4b5b-a3f8-68add9964c7a".into(),
            ),
            location: Location {
                kind: Some("google_conference".into()),
                join_url: Some(
                    "https://calendly.com/events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/google_meet"
                        .into(),
                ),
                detail: None,
            },
            created_at: "2023-12-24T17:27:38.162964Z".parse().unwrap(),
            updated_at: "2023-12-24T17:27:38.162964Z".parse().unwrap(),
            cancellation: None,
            invitees_total: 1,
            invitees_active: 1,
        };
        // Every field the store keeps must come through unchanged, microseconds included.
        assert_eq!(mapped, expected);
    }

    #[rstest]
    #[case::unknown_location_type(
        r#"{"type":"teleporter","location":"Bridge of the Enterprise","data":{"beam":true}}"#,
        Some("teleporter"),
        None,
        Some("Bridge of the Enterprise")
    )]
    #[case::zoom_with_numeric_data_id(
        r#"{"type":"zoom","status":"pushed","join_url":"https://zoom.us/j/123","data":{"id":123,"password":"x","settings":{"global_dial_in_numbers":[]}}}"#,
        Some("zoom"), Some("https://zoom.us/j/123"), None
    )]
    #[case::physical_with_additional_info(
        r#"{"type":"physical","location":"1 Main St","additional_info":"Ring twice"}"#,
        Some("physical"),
        None,
        Some("1 Main St")
    )]
    #[case::conference_details_expired(
        r#"{"type":"google_conference","status":null,"join_url":null}"#,
        Some("google_conference"),
        None,
        None
    )]
    #[case::legacy_2021_null_custom(
        r#"{"location":null,"type":"custom"}"#,
        Some("custom"),
        None,
        None
    )]
    #[case::outbound_call_without_phone(
        r#"{"type":"outbound_call","location":null}"#,
        Some("outbound_call"),
        None,
        None
    )]
    #[case::no_location_at_all(r#"null"#, None, None, None)]
    #[case::location_without_type(r#"{"location":"Café"}"#, None, None, Some("Café"))]
    fn locations_of_any_type_map_without_failing(
        #[case] location_json: &str,
        #[case] kind: Option<&str>,
        #[case] join_url: Option<&str>,
        #[case] detail: Option<&str>,
    ) {
        let json = format!(
            r#"{{"uri":"https://api.calendly.com/scheduled_events/DDVRNUTABYGF4LO2","start_time":"2021-08-02T09:00:00.000000Z","location":{location_json}}}"#
        );
        let mapped = event(&json).expect("no location shape may fail a sync");
        // The type is stored verbatim (new Calendly types included) and the URL/text kept.
        assert_eq!(
            mapped.location,
            Location {
                kind: kind.map(str::to_owned),
                join_url: join_url.map(str::to_owned),
                detail: detail.map(str::to_owned),
            }
        );
    }

    #[test]
    fn minimal_legacy_event_fills_defaults() {
        let mapped = event(
            r#"{"uri":"https://api.calendly.com/scheduled_events/DDVRNUTABYGF4LO2","start_time":"2021-08-02T09:00:00.000000Z"}"#,
        )
        .expect("only uri and start_time are needed");
        // A 16-character legacy id is as good as a UUID.
        assert_eq!(mapped.uri.id(), "DDVRNUTABYGF4LO2");
        // Missing status without a cancellation reads as active; missing counters as zero.
        assert_eq!(mapped.status, Status::Active);
        assert_eq!((mapped.invitees_total, mapped.invitees_active), (0, 0));
        // Missing end and bookkeeping times fall back to the start rather than failing.
        assert_eq!(mapped.end_time, mapped.start_time);
        assert_eq!(mapped.created_at, mapped.start_time);
    }

    #[rstest]
    #[case::known("canceled", Status::Canceled)]
    #[case::unknown("archived", Status::Other("archived".into()))]
    fn event_statuses_are_kept(#[case] raw: &str, #[case] expected: Status) {
        let json = format!(
            r#"{{"uri":"https://api.calendly.com/scheduled_events/e1","start_time":"2026-01-01T10:00:00Z","status":"{raw}"}}"#
        );
        // A status Calendly invents later is stored as sent, never rejected.
        assert_eq!(event(&json).unwrap().status, expected);
    }

    #[rstest]
    #[case::no_uri(r#"{"start_time":"2026-01-01T10:00:00Z"}"#)]
    #[case::no_start(r#"{"uri":"https://api.calendly.com/scheduled_events/e1"}"#)]
    #[case::garbage_time(r#"{"uri":"u","start_time":"tomorrow-ish"}"#)]
    #[case::wrong_type(r#"{"uri":"u","start_time":"2026-01-01T10:00:00Z","name":42}"#)]
    fn events_missing_what_identifies_them_are_rejected(#[case] json: &str) {
        // Without a URI or a start time the event cannot be placed; the page skips it.
        assert!(event(json).is_err(), "{json} should not map");
    }

    /// The REAL 2023-12 `invitee.canceled` payload (host cancel) from API.md, without the
    /// embedded scheduled_event.
    const CANCELED_INVITEE_2023: &str = r#"{"cancel_url":"https://calendly.com/cancellations/3e39fe12-9338-448d-b760-2217a35cc0a7","cancellation":{"canceled_by":"Ashwani Kumar Verma","canceler_type":"host","created_at":"2023-12-24T17:55:39.915208Z","reason":""},"created_at":"2023-12-24T17:27:38.192438Z","email":"ashwaniverma.verma@rediff.com","event":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c","first_name":null,"invitee_scheduled_by":null,"last_name":null,"name":"test account","new_invitee":null,"no_show":null,"old_invitee":null,"payment":null,"questions_and_answers":[],"reconfirmation":null,"reschedule_url":"https://calendly.com/reschedulings/3e39fe12-9338-448d-b760-2217a35cc0a7","rescheduled":false,"routing_form_submission":null,"scheduling_method":null,"status":"canceled","text_reminder_number":null,"timezone":"Asia/Calcutta","tracking":{"utm_campaign":null,"utm_source":null,"utm_medium":null,"utm_content":null,"utm_term":null,"salesforce_uuid":null},"updated_at":"2023-12-24T17:55:39.938754Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/invitees/3e39fe12-9338-448d-b760-2217a35cc0a7"}"#;

    #[test]
    fn host_cancel_keeps_the_empty_reason() {
        let mapped = invitee(CANCELED_INVITEE_2023).expect("the real payload must map");
        assert_eq!(mapped.status, Status::Canceled);
        // `""` is what Calendly sent; turning it into None would lose that a host canceled
        // without giving a reason.
        assert_eq!(
            mapped.cancellation,
            Some(Cancellation {
                canceled_by: Some("Ashwani Kumar Verma".into()),
                reason: Some(String::new()),
                canceler_type: Some("host".into()),
                created_at: Some("2023-12-24T17:55:39.915208Z".parse().unwrap()),
            })
        );
        assert_eq!(mapped.name, "test account");
        assert_eq!(mapped.timezone.as_deref(), Some("Asia/Calcutta"));
        assert!(!mapped.no_show && !mapped.rescheduled);
    }

    /// Shaped like the 2021 API answers: no first/last name, no no_show, no reconfirmation,
    /// legacy 16-character ids, a cancellation without canceler_type/created_at, and the old
    /// half of a reschedule.
    const RESCHEDULED_INVITEE_2021: &str = r#"{"cancel_url":"https://calendly.com/cancellations/AEXRLDAJ5GUNTXQC","cancellation":{"canceled_by":"Jan Jansen","reason":"Andere tijd"},"created_at":"2021-08-02T08:12:30.123456Z","email":"jan@example.nl","event":"https://api.calendly.com/scheduled_events/DDVRNUTABYGF4LO2","name":"Jan Jansen","new_invitee":"https://api.calendly.com/scheduled_events/GBXQ7AZQK2TEMIBV/invitees/HDQ3QG3Q5NNRAZ6Y","old_invitee":null,"questions_and_answers":[{"answer":"Pension\nMortgage","position":0,"question":"Topics"},{"answer":"+31 6 1234","position":1,"question":"Phone"}],"reschedule_url":"https://calendly.com/reschedulings/AEXRLDAJ5GUNTXQC","rescheduled":true,"status":"canceled","text_reminder_number":null,"timezone":"Europe/Amsterdam","updated_at":"2021-08-02T08:20:01.000000Z","uri":"https://api.calendly.com/scheduled_events/DDVRNUTABYGF4LO2/invitees/AEXRLDAJ5GUNTXQC"}"#;

    #[test]
    fn old_2021_rescheduled_invitee_maps() {
        let mapped = invitee(RESCHEDULED_INVITEE_2021).expect("2021 payloads must still map");
        // The old half of a reschedule points at its replacement.
        assert!(mapped.rescheduled);
        assert_eq!(
            mapped.new_invitee.as_ref().map(|uri| uri.id()),
            Some("HDQ3QG3Q5NNRAZ6Y")
        );
        // Missing canceler_type / created_at are simply absent, not an error.
        let cancellation = mapped.cancellation.expect("the cancellation is present");
        assert_eq!(cancellation.reason.as_deref(), Some("Andere tijd"));
        assert_eq!(cancellation.canceler_type, None);
        // Multi-line answers stay one string and keep their order.
        assert_eq!(mapped.questions_and_answers[0].answer, "Pension\nMortgage");
        assert_eq!(mapped.questions_and_answers[1].position, 1);
    }

    #[rstest]
    #[case::only_split_names(r#""first_name":"Ann","last_name":"Lee""#, "Ann Lee")]
    #[case::empty_name_and_split(r#""name":"","first_name":"Ann""#, "Ann")]
    #[case::no_name_at_all(r#""first_name":null"#, "ann@example.com")]
    fn invitee_name_falls_back(#[case] name_keys: &str, #[case] expected: &str) {
        let json = format!(
            r#"{{"uri":"https://api.calendly.com/scheduled_events/E/invitees/I","email":"ann@example.com","created_at":"2026-01-01T10:00:00Z",{name_keys}}}"#
        );
        let mapped = invitee(&json).expect("an invitee with an e-mail maps");
        // A person always gets a display name, from whatever Calendly sent.
        assert_eq!(mapped.name, expected);
        // Without `event` the event URI is read from the invitee URI it nests in.
        assert_eq!(
            mapped.event.as_str(),
            "https://api.calendly.com/scheduled_events/E"
        );
        assert_eq!(mapped.status, Status::Active);
    }

    #[test]
    fn no_show_object_marks_the_invitee() {
        let json = r#"{"uri":"https://api.calendly.com/scheduled_events/E/invitees/I","email":"a@b.c","created_at":"2026-01-01T10:00:00Z","no_show":{"uri":"https://api.calendly.com/invitee_no_shows/X","created_at":"2026-01-02T10:00:00Z"}}"#;
        // `no_show` is an object when set and null otherwise.
        assert!(invitee(json).unwrap().no_show);
    }

    #[test]
    fn page_skips_one_broken_item_and_keeps_the_rest() {
        let page: CollectionEnvelope = serde_json::from_str(&format!(
            r#"{{"collection":[{EVENT_2023},{{"uri":"https://api.calendly.com/scheduled_events/broken","start_time":"not a time"}},{{"uri":"https://api.calendly.com/scheduled_events/ok2","start_time":"2026-01-01T10:00:00Z"}}],"pagination":{{"count":3,"next_page":null,"next_page_token":null,"previous_page":null,"previous_page_token":null}}}}"#
        ))
        .unwrap();
        assert_eq!(
            page.next_page_token(),
            None,
            "the last page has no next token"
        );
        let (events, skipped) = page.map_items(map_event);
        // One malformed event must not cost the other two.
        assert_eq!(events.len(), 2);
        assert_eq!(skipped.len(), 1);
        // The skipped item's URI is reported so a sync does not mistake it for a deletion.
        assert_eq!(
            skipped[0].uri.as_deref(),
            Some("https://api.calendly.com/scheduled_events/broken")
        );
    }

    #[rstest]
    #[case::modern(r#"{"next_page_token":"abc","next_page":"https://api.calendly.com/scheduled_events?page_token=zzz"}"#, Some("abc"))]
    #[case::legacy_2021_only_next_page(r#"{"count":100,"next_page":"https://api.calendly.com/scheduled_events?count=100&page_token=QJ0Bb8&user=x"}"#, Some("QJ0Bb8"))]
    #[case::last_page(r#"{"next_page_token":null,"next_page":null}"#, None)]
    #[case::no_pagination_keys(r#"{}"#, None)]
    fn next_page_token_is_found_in_old_and_new_pagination(
        #[case] pagination: &str,
        #[case] expected: Option<&str>,
    ) {
        let page: CollectionEnvelope =
            serde_json::from_str(&format!(r#"{{"collection":[],"pagination":{pagination}}}"#))
                .unwrap();
        // Old answers only had `next_page`; missing the token there would silently stop paging.
        assert_eq!(page.next_page_token().as_deref(), expected);
    }

    #[test]
    fn docs_user_example_maps() {
        let envelope: ResourceEnvelope<WireUser> = decode(br#"{"resource":{"uri":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","name":"John Doe","slug":"acmesales","email":"test@example.com","scheduling_url":"https://calendly.com/acmesales","timezone":"America/New York","avatar_url":"https://01234567890.cloudfront.net/uploads/user/avatar/0123456/a1b2c3d4.png","created_at":"2019-01-02T03:04:05.678123Z","updated_at":"2019-08-07T06:05:04.321123Z","current_organization":"https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA","resource_type":"User","locale":"en"}}"#).unwrap();
        let user = map_user(envelope.resource).unwrap();
        // Unknown keys (resource_type, locale) are ignored; the organization comes through.
        assert_eq!(
            user.organization.as_str(),
            "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA"
        );
        assert_eq!(user.name, "John Doe");
    }

    /// Removes the keys of `json` (an object) selected by `mask`, except the `kept` ones.
    fn without_keys(json: &str, mask: u64, kept: &[&str]) -> (Value, Vec<String>) {
        let mut value: Value = serde_json::from_str(json).unwrap();
        let object = value.as_object_mut().unwrap();
        let keys: Vec<String> = object.keys().cloned().collect();
        let mut removed = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            if mask & (1 << (index % 64)) != 0 && !kept.contains(&key.as_str()) {
                object.remove(key);
                removed.push(key.clone());
            }
        }
        (value, removed)
    }

    proptest::proptest! {
        #[test]
        fn events_missing_any_optional_keys_still_map(mask in proptest::prelude::any::<u64>()) {
            let (value, removed) = without_keys(EVENT_2023, mask, &["uri", "start_time"]);
            let mapped = serde_json::from_value::<WireEvent>(value)
                .map_err(|error| error.to_string())
                .and_then(map_event);
            // Older and newer payloads omit different keys; none of them may fail a sync.
            proptest::prop_assert!(mapped.is_ok(), "without {:?}: {:?}", removed, mapped.err());
        }

        #[test]
        fn invitees_missing_any_optional_keys_still_map(mask in proptest::prelude::any::<u64>()) {
            let (value, removed) =
                without_keys(CANCELED_INVITEE_2023, mask, &["uri", "email", "created_at"]);
            let mapped = serde_json::from_value::<WireInvitee>(value)
                .map_err(|error| error.to_string())
                .and_then(map_invitee);
            // 2020–2021 invitees lack half of today's keys; they must still map.
            proptest::prop_assert!(mapped.is_ok(), "without {:?}: {:?}", removed, mapped.err());
        }

        #[test]
        fn any_json_item_maps_or_is_skipped_without_panicking(item in arbitrary_json(3)) {
            let page = CollectionEnvelope { collection: vec![item], pagination: None };
            let (events, skipped) = page.map_items(map_event);
            // Whatever Calendly sends, an item is either mapped or reported as skipped.
            proptest::prop_assert_eq!(events.len() + skipped.len(), 1);
        }
    }

    fn arbitrary_json(depth: u32) -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("uri".to_owned()),
                Just("2026-01-01T10:00:00Z".to_owned()),
                "[a-z_]{0,12}"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(depth, 32, 6, |inner| {
            let keys = prop_oneof![
                Just("uri".to_owned()),
                Just("start_time".to_owned()),
                Just("location".to_owned()),
                Just("status".to_owned()),
                Just("cancellation".to_owned()),
                Just("invitees_counter".to_owned()),
                "[a-z_]{1,10}"
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn webhook_subscription_with_unknown_state_maps() {
        let wire: WireWebhookSubscription = serde_json::from_str(r#"{"uri":"https://api.calendly.com/webhook_subscriptions/AAAAAAAAAAAAAAAA","callback_url":"https://relay.example/hooks/abc","created_at":"2026-11-01T10:00:00.000000Z","updated_at":"2026-11-01T10:00:00.000000Z","retry_started_at":null,"state":"paused","events":["invitee.created","invitee.canceled"],"scope":"user","organization":"https://api.calendly.com/organizations/O","user":"https://api.calendly.com/users/U","group":null,"creator":null}"#).unwrap();
        let mapped = map_webhook_subscription(wire).unwrap();
        // A state Calendly adds later is kept, not rejected.
        assert_eq!(mapped.state, SubscriptionState::Other("paused".into()));
        assert_eq!(mapped.events.len(), 2);
    }
}
