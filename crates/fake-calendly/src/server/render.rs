//! Renders the model as Calendly JSON (resources, webhook envelopes) — the fake's own reading of API.md.

use serde_json::{json, Map, Value};

use super::clock::format_time;
use super::model::{
    CancellationRecord, EventType, Invitee, Model, ScheduledEvent, Subscription, User,
};
use crate::control_model::{Canceler, LocationSpec};

pub(crate) fn user(model: &Model, user: &User) -> Value {
    json!({
        "uri": model.user_uri(&user.uuid),
        "name": user.name,
        "slug": user.slug,
        "email": user.email,
        "scheduling_url": format!("https://calendly.com/{}", user.slug),
        "timezone": user.timezone,
        "avatar_url": null,
        "created_at": format_time(user.created_at),
        "updated_at": format_time(user.created_at),
        "current_organization": model.organization_uri(&user.organization_uuid),
        "resource_type": "User",
        "locale": "en",
        "time_notation": "24h",
    })
}

pub(crate) fn event_type(model: &Model, event_type: &EventType) -> Value {
    let owner_name = model
        .user(&event_type.owner_uuid)
        .map(|user| user.name.clone())
        .unwrap_or_default();
    let owner_slug = model
        .user(&event_type.owner_uuid)
        .map(|user| user.slug.clone())
        .unwrap_or_default();
    json!({
        "uri": model.event_type_uri(&event_type.uuid),
        "name": event_type.name,
        "active": event_type.active,
        "slug": event_type.slug,
        "scheduling_url": format!("https://calendly.com/{owner_slug}/{}", event_type.slug),
        "duration": event_type.duration_minutes,
        "kind": if event_type.kind_group { "group" } else { "solo" },
        "pooling_type": null,
        "type": "StandardEventType",
        "color": event_type.color,
        "created_at": format_time(event_type.created_at),
        "updated_at": format_time(event_type.updated_at),
        "internal_note": null,
        "description_plain": null,
        "description_html": null,
        "profile": {"type": "User", "name": owner_name, "owner": model.user_uri(&event_type.owner_uuid)},
        "secret": false,
        "booking_method": "instant",
        "custom_questions": [],
        "deleted_at": null,
        "kind_description": if event_type.kind_group { "Group" } else { "One-on-One" },
        "admin_managed": false,
    })
}

pub(crate) fn cancellation(record: &CancellationRecord) -> Value {
    json!({
        "canceled_by": record.canceled_by,
        "reason": record.reason,
        "canceler_type": match record.canceler { Canceler::Host => "host", Canceler::Invitee => "invitee" },
        "created_at": format_time(record.created_at),
    })
}

fn conference(kind: &str, event: &ScheduledEvent, join_url: String, data: Value) -> Value {
    if event.conference_pushed {
        json!({"type": kind, "status": "pushed", "join_url": join_url, "data": data})
    } else {
        // Right after booking Calendly shows a placeholder join URL while the conference is created.
        json!({
            "type": kind,
            "status": "processing",
            "join_url": format!("https://calendly.com/events/{}/{}", event.uuid, if kind == "google_conference" { "google_meet" } else { kind }),
            "data": null,
        })
    }
}

pub(crate) fn location(event: &ScheduledEvent) -> Value {
    let numeric_id: u64 = event.uuid.bytes().fold(7u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(byte as u64)
    }) % 90_000_000_000
        + 10_000_000_000;
    match &event.location {
        LocationSpec::Zoom => conference(
            "zoom",
            event,
            format!("https://us02web.zoom.us/j/{numeric_id}"),
            json!({"id": numeric_id, "settings": {"global_dial_in_numbers": []}, "extra": {"intl_numbers_url": "https://us02web.zoom.us/u/kb0zU3lG4"}, "password": "fake"}),
        ),
        LocationSpec::GoogleConference => {
            let mut value = conference(
                "google_conference",
                event,
                format!(
                    "https://meet.google.com/fak-{}",
                    &numeric_id.to_string()[..4]
                ),
                Value::Null,
            );
            if let Value::Object(map) = &mut value {
                map.remove("data");
            }
            value
        }
        LocationSpec::MicrosoftTeamsConference => conference(
            "microsoft_teams_conference",
            event,
            format!("https://teams.microsoft.com/l/meetup-join/{numeric_id}"),
            json!({"id": numeric_id.to_string(), "audioConferencing": null}),
        ),
        LocationSpec::Physical { location } => json!({"type": "physical", "location": location}),
        LocationSpec::OutboundCall { phone } => json!({"type": "outbound_call", "location": phone}),
        LocationSpec::InboundCall { phone } => json!({"type": "inbound_call", "location": phone}),
        LocationSpec::Custom { location } => json!({"type": "custom", "location": location}),
        LocationSpec::NoLocation => json!({"type": "custom", "location": null}),
        LocationSpec::Raw { value } => value.clone(),
    }
}

/// An event as the API returns it (`webhook` = the `scheduled_event` embedded in a delivery).
pub(crate) fn scheduled_event(model: &Model, event: &ScheduledEvent, webhook: bool) -> Value {
    let host = model.user(&event.host_uuid);
    let mut membership = Map::new();
    membership.insert("user".into(), json!(model.user_uri(&event.host_uuid)));
    membership.insert(
        "user_email".into(),
        json!(host.map(|user| user.email.clone())),
    );
    membership.insert(
        "user_name".into(),
        json!(host.map(|user| user.name.clone())),
    );
    if !webhook {
        membership.insert(
            "buffered_start_time".into(),
            json!(format_time(event.start_time)),
        );
        membership.insert(
            "buffered_end_time".into(),
            json!(format_time(event.end_time)),
        );
    }
    let total = event.invitees.len();
    let mut value = json!({
        "uri": model.event_uri(&event.uuid),
        "name": event.name,
        "meeting_notes_plain": event.meeting_notes_plain,
        "status": if event.canceled { "canceled" } else { "active" },
        "start_time": format_time(event.start_time),
        "end_time": format_time(event.end_time),
        "event_type": model.event_type_uri(&event.event_type_uuid),
        "location": location(event),
        "invitees_counter": {"total": total, "active": event.active_invitee_count(), "limit": event.invitee_limit},
        "created_at": format_time(event.created_at),
        "updated_at": format_time(event.updated_at),
        "event_memberships": [Value::Object(membership)],
        "event_guests": [],
    });
    let map = value.as_object_mut().expect("json! object literal");
    if let Some(notes) = &event.meeting_notes_plain {
        map.insert(
            "meeting_notes_html".into(),
            json!(format!("<p>{}</p>", html_escape(notes))),
        );
    }
    if let Some(record) = &event.cancellation {
        map.insert("cancellation".into(), cancellation(record));
    }
    if !webhook {
        map.insert(
            "calendar_event".into(),
            json!({"kind": "google", "external_id": event.calendar_external_id}),
        );
    }
    value
}

pub(crate) fn invitee(model: &Model, event: &ScheduledEvent, invitee: &Invitee) -> Value {
    let questions: Vec<Value> = invitee
        .spec
        .questions_and_answers
        .iter()
        .enumerate()
        .map(|(position, qa)| json!({"question": qa.question, "answer": qa.answer, "position": position}))
        .collect();
    let mut value = json!({
        "uri": model.invitee_uri(&event.uuid, &invitee.uuid),
        "email": invitee.spec.email,
        "first_name": invitee.spec.first_name,
        "last_name": invitee.spec.last_name,
        "name": invitee.spec.name,
        "status": if invitee.canceled { "canceled" } else { "active" },
        "questions_and_answers": questions,
        "timezone": invitee.spec.timezone,
        "event": model.event_uri(&event.uuid),
        "created_at": format_time(invitee.created_at),
        "updated_at": format_time(invitee.updated_at),
        "tracking": {"utm_campaign": null, "utm_source": null, "utm_medium": null, "utm_content": null, "utm_term": null, "salesforce_uuid": null},
        "text_reminder_number": invitee.spec.text_reminder_number,
        "rescheduled": invitee.rescheduled,
        "old_invitee": invitee.old_invitee_uri,
        "new_invitee": invitee.new_invitee_uri,
        "cancel_url": format!("{}/cancellations/{}", model.api_base, invitee.uuid),
        "reschedule_url": format!("{}/reschedulings/{}", model.api_base, invitee.uuid),
        "routing_form_submission": null,
        "payment": null,
        "no_show": invitee.no_show.as_ref().map(|no_show| json!({
            "uri": format!("{}/invitee_no_shows/{}", model.api_base, no_show.uuid),
            "created_at": format_time(no_show.created_at),
        })),
        "reconfirmation": null,
        "scheduling_method": null,
        "invitee_scheduled_by": null,
    });
    if let Some(record) = &invitee.cancellation {
        value
            .as_object_mut()
            .expect("json! object literal")
            .insert("cancellation".into(), cancellation(record));
    }
    value
}

pub(crate) fn subscription(model: &Model, subscription: &Subscription) -> Value {
    json!({
        "uri": model.subscription_uri(&subscription.uuid),
        "callback_url": subscription.callback_url,
        "created_at": format_time(subscription.created_at),
        "updated_at": format_time(subscription.updated_at),
        "retry_started_at": subscription.retry_started_at.map(format_time),
        "state": if subscription.disabled { "disabled" } else { "active" },
        "events": subscription.events,
        "scope": subscription.scope.as_str(),
        "organization": model.organization_uri(&subscription.organization_uuid),
        "user": subscription.user_uuid.as_ref().map(|uuid| model.user_uri(uuid)),
        "group": null,
        "creator": model.user_uri(&subscription.creator_uuid),
    })
}

/// The payload of an `invitee.*` / `invitee_no_show.*` delivery: the invitee plus its event.
pub(crate) fn invitee_payload(
    model: &Model,
    event: &ScheduledEvent,
    invitee_value: &Invitee,
) -> Value {
    let mut payload = invitee(model, event, invitee_value);
    payload
        .as_object_mut()
        .expect("invitee renders as an object")
        .insert(
            "scheduled_event".into(),
            scheduled_event(model, event, true),
        );
    payload
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Keys of fixed structs that Calendly sends in their own order rather than alphabetically.
const FIXED_KEY_ORDERS: &[&[&str]] = &[
    &[
        "utm_campaign",
        "utm_source",
        "utm_medium",
        "utm_content",
        "utm_term",
        "salesforce_uuid",
    ],
    &["total", "active", "limit"],
];

/// Serializes compactly like Calendly's deliveries: object keys sorted alphabetically, except the
/// fixed structs (`tracking`, `invitees_counter`) which keep Calendly's own order.
pub(crate) fn compact_delivery_json(value: &Value) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

fn write_compact(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            if let Some(order) = FIXED_KEY_ORDERS.iter().find(|order| {
                order.len() == keys.len() && order.iter().all(|key| map.contains_key(*key))
            }) {
                keys = order
                    .iter()
                    .filter_map(|key| map.get_key_value(*key).map(|(key, _)| key))
                    .collect();
            }
            out.push('{');
            for (index, key) in keys.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push(':');
                write_compact(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::compact_delivery_json;
    use serde_json::json;

    #[test]
    fn compact_json_sorts_keys_but_keeps_calendly_fixed_struct_orders() {
        let value = json!({
            "uri": "u",
            "event": "invitee.created",
            "tracking": {"salesforce_uuid": null, "utm_term": null, "utm_content": null, "utm_medium": null, "utm_source": null, "utm_campaign": "spring"},
            "invitees_counter": {"limit": 1, "active": 1, "total": 1},
            "list": [{"b": 1, "a": "x y"}],
        });
        assert_eq!(
            compact_delivery_json(&value),
            r#"{"event":"invitee.created","invitees_counter":{"total":1,"active":1,"limit":1},"list":[{"a":"x y","b":1}],"tracking":{"utm_campaign":"spring","utm_source":null,"utm_medium":null,"utm_content":null,"utm_term":null,"salesforce_uuid":null},"uri":"u"}"#,
            "alphabetical keys, no spaces, fixed order for tracking and invitees_counter"
        );
        let reparsed: serde_json::Value =
            serde_json::from_str(&compact_delivery_json(&value)).expect("valid JSON");
        assert_eq!(reparsed, value, "the compact form round-trips");
    }
}
