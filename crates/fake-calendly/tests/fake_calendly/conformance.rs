//! Conformance: the fake's responses and deliveries validate against Calendly's published
//! schemas (`tests/spec/openapi.yaml` for User/EventType, the 2026 digest for everything newer).

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use fake_calendly::{FakeConfig, LocationSpec, MintTokenRequest};
use serde_json::{json, Value};

use crate::support::*;

fn spec_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/spec")
        .join(name)
}

/// OpenAPI 3.0 `nullable: true` becomes a JSON Schema type union with "null".
fn convert_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                if let Some(Value::String(kind)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([kind, "null"]));
                }
                if let Some(Value::Array(options)) = map.get_mut("enum") {
                    if !options.contains(&Value::Null) {
                        options.push(Value::Null);
                    }
                }
                if let Some(reference) = map.remove("$ref") {
                    map.insert(
                        "anyOf".into(),
                        json!([{"$ref": reference}, {"type": "null"}]),
                    );
                }
            }
            for child in map.values_mut() {
                convert_nullable(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(convert_nullable),
        _ => {}
    }
}

struct Specs {
    openapi_2023: Value,
    digest_2026: Value,
}

impl Specs {
    fn load() -> Specs {
        let yaml = std::fs::read_to_string(spec_path("openapi.yaml"))
            .expect("tests/spec/openapi.yaml is in the repo");
        let mut openapi_2023: Value =
            serde_norway::from_str(&yaml).expect("the 2023 spec parses as YAML");
        convert_nullable(&mut openapi_2023);
        let digest = std::fs::read_to_string(spec_path("openapi-2026-digest.json"))
            .expect("the 2026 digest is in the repo");
        let digest_2026: Value = serde_json::from_str(&digest).expect("the digest parses as JSON");
        Specs {
            openapi_2023,
            digest_2026,
        }
    }

    /// Validates `instance` against `#/components/schemas/<name>` of `document`; returns the errors.
    fn errors(document: &Value, name: &str, instance: &Value) -> Vec<String> {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/components/schemas/{name}"),
            "components": document["components"].clone(),
        });
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "the spec defines {name}"
        );
        let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
        validator
            .iter_errors(instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect()
    }

    fn assert_2023(&self, name: &str, instance: &Value) {
        let errors = Specs::errors(&self.openapi_2023, name, instance);
        assert!(
            errors.is_empty(),
            "{name} conforms to Calendly's 2023 spec: {errors:#?}\n{instance:#}"
        );
    }

    fn assert_2026(&self, name: &str, instance: &Value) {
        let errors = Specs::errors(&self.digest_2026, name, instance);
        assert!(
            errors.is_empty(),
            "{name} conforms to Calendly's 2026 spec: {errors:#?}\n{instance:#}"
        );
    }
}

#[test]
fn the_validator_rejects_a_broken_event() {
    // Guards against a validator that accepts everything.
    let specs = Specs::load();
    let errors = Specs::errors(
        &specs.digest_2026,
        "Event",
        &json!({"uri": "x", "status": "maybe"}),
    );
    assert!(!errors.is_empty(), "a broken event must fail validation");
}

/// Events whose location type is deliberately unknown do not match the Location union by design.
fn has_known_location(event: &Value) -> bool {
    event["location"]["type"] != "whereby_conference"
}

#[tokio::test]
async fn api_responses_conform_to_calendly_schemas() {
    let specs = Specs::load();
    let fake = start(FakeConfig {
        seed_events: 120,
        seed: 3,
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    let user = fake.default_user().clone();

    let me = api_get(&fake, &token, "/users/me").await;
    specs.assert_2023("User", &me.body["resource"]);
    let types = api_get(
        &fake,
        &token,
        &format!("/event_types?user={}", user.user_uri),
    )
    .await;
    for event_type in types.body["collection"].as_array().expect("array") {
        specs.assert_2023("EventType", event_type);
    }
    specs.assert_2026("Pagination", &types.body["pagination"]);

    let mut checked_events = 0;
    let mut skipped_unknown_locations = 0;
    let mut link = Some(format!(
        "/scheduled_events?user={}&count=100",
        user.user_uri
    ));
    while let Some(path) = link {
        let page = api_get(&fake, &token, &path).await;
        specs.assert_2026("Pagination", &page.body["pagination"]);
        specs.assert_2023("Pagination", &page.body["pagination"]);
        for event in page.body["collection"].as_array().expect("array") {
            if !has_known_location(event) {
                skipped_unknown_locations += 1;
                continue;
            }
            specs.assert_2026("Event", event);
            checked_events += 1;
            let uri = event["uri"].as_str().expect("uri");
            let invitees = api_get(&fake, &token, &format!("{uri}/invitees?count=100")).await;
            specs.assert_2026("Pagination", &invitees.body["pagination"]);
            for invitee in invitees.body["collection"].as_array().expect("array") {
                specs.assert_2026("Invitee", invitee);
            }
        }
        link = page.body["pagination"]["next_page"]
            .as_str()
            .map(str::to_string);
    }
    assert!(
        checked_events > 100,
        "most seeded events were checked ({checked_events})"
    );
    assert!(
        skipped_unknown_locations < 20,
        "only the rare unknown-location events were skipped"
    );

    let subscription = subscribe(
        &fake,
        &token,
        "http://127.0.0.1:9/conformance",
        &["invitee.created"],
    )
    .await;
    let one = api_get(&fake, &token, &subscription).await;
    specs.assert_2026("WebhookSubscription", &one.body["resource"]);
    fake.shutdown().await;
}

#[tokio::test]
async fn each_location_kind_conforms() {
    let specs = Specs::load();
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let locations = [
        LocationSpec::Zoom,
        LocationSpec::GoogleConference,
        LocationSpec::MicrosoftTeamsConference,
        LocationSpec::Physical {
            location: "1 High Street".into(),
        },
        LocationSpec::OutboundCall { phone: None },
        LocationSpec::InboundCall {
            phone: "+44 20 7946 0000".into(),
        },
        LocationSpec::Custom {
            location: Some("Client's office".into()),
        },
        LocationSpec::NoLocation,
    ];
    for (index, location) in locations.into_iter().enumerate() {
        let mut request = booking(24 + index as i64, "Olivia Smith", "olivia@example.com");
        request.location = Some(location.clone());
        let booked = fake.control().book(&request).await.expect("book");
        for pushed in [false, true] {
            if pushed {
                fake.control()
                    .update_event(&fake_calendly::UpdateEventRequest {
                        event_uri: booked.event_uri.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("update pushes conference details");
            }
            let event = api_get(&fake, &token, &booked.event_uri).await;
            specs.assert_2026("Event", &event.body["resource"]);
        }
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn cancellation_errors_and_deliveries_conform() {
    let specs = Specs::load();
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(0).await;
    subscribe(
        &fake,
        &token,
        &receiver.url,
        &[
            "invitee.created",
            "invitee.canceled",
            "invitee_no_show.created",
        ],
    )
    .await;
    let booked = fake
        .control()
        .book(&booking(24, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let created = receiver.next().await.json();
    specs.assert_2026("WebhookPayload", &created);
    specs.assert_2026("InviteePayload", &created["payload"]);
    fake.control()
        .mark_no_show(&booked.invitee_uris[0])
        .await
        .expect("mark");
    specs.assert_2026("WebhookPayload", &receiver.next().await.json());

    let uuid = booked.event_uri.rsplit('/').next().expect("uuid");
    let cancel = api_send_json(
        &fake,
        &token,
        reqwest::Method::POST,
        &format!("/scheduled_events/{uuid}/cancellation"),
        &json!({"reason": "Clash"}),
    )
    .await;
    specs.assert_2026("Cancellation", &cancel.body["resource"]);
    let canceled = receiver.next().await.json();
    specs.assert_2026("WebhookPayload", &canceled);
    specs.assert_2026(
        "Event",
        &api_get(&fake, &token, &booked.event_uri).await.body["resource"],
    );
    specs.assert_2026(
        "Invitee",
        &api_get(&fake, &token, &booked.invitee_uris[0]).await.body["resource"],
    );

    let unauthenticated = api_get(&fake, "nope", "/users/me").await;
    assert_eq!(
        unauthenticated.status,
        StatusCode::UNAUTHORIZED,
        "bad tokens get 401"
    );
    specs.assert_2026("ErrorResponse", &unauthenticated.body);
    let not_found = api_get(&fake, &token, "/scheduled_events/does-not-exist").await;
    specs.assert_2026("ErrorResponse", &not_found.body);
    let scoped = fake
        .control()
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: None,
            scopes: Some(vec!["users:read".into()]),
        })
        .await
        .expect("mint");
    let insufficient = api_get(&fake, &scoped.token, &booked.event_uri).await;
    specs.assert_2026("InsufficientScopeError", &insufficient.body);
    let bad = api_get(&fake, &token, "/scheduled_events?count=500&user=x").await;
    specs.assert_2026("ErrorResponse", &bad.body);
    tokio::time::timeout(Duration::from_secs(5), fake.shutdown())
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn no_show_endpoints_round_trip_and_conform() {
    let specs = Specs::load();
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let booked = fake
        .control()
        .book(&booking(24, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let created = api_send_json(
        &fake,
        &token,
        reqwest::Method::POST,
        "/invitee_no_shows",
        &json!({"invitee": booked.invitee_uris[0]}),
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "marking a no-show answers 201: {}",
        created.body
    );
    specs.assert_2023("InviteeNoShow", &created.body["resource"]);
    let uri = created.body["resource"]["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    let invitee = api_get(&fake, &token, &booked.invitee_uris[0]).await;
    assert_eq!(
        invitee.body["resource"]["no_show"]["uri"],
        uri.as_str(),
        "the invitee links its no-show"
    );
    assert_eq!(
        api_get(&fake, &token, &uri).await.body,
        created.body,
        "the no-show can be read back"
    );
    let again = api_send_json(
        &fake,
        &token,
        reqwest::Method::POST,
        "/invitee_no_shows",
        &json!({"invitee": booked.invitee_uris[0]}),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::FORBIDDEN,
        "an invitee is marked at most once"
    );
    let deleted = send(reqwest::Client::new().delete(&uri).bearer_auth(&token)).await;
    assert_eq!(
        deleted.status,
        StatusCode::NO_CONTENT,
        "deleting a no-show answers 204"
    );
    assert_eq!(
        api_get(&fake, &token, &uri).await.status,
        StatusCode::NOT_FOUND,
        "a deleted no-show is gone"
    );
    let invitee = api_get(&fake, &token, &booked.invitee_uris[0]).await;
    assert_eq!(
        invitee.body["resource"]["no_show"],
        Value::Null,
        "the invitee no longer has a no-show"
    );
    fake.shutdown().await;
}
