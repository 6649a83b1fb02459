//! API endpoints: users, event types, events, invitees, cancellation, filters, permissions,
//! webhook subscription CRUD, rate limits and injected faults.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use fake_calendly::{FakeConfig, FaultKind, FaultRequest, MintTokenRequest, NewUser, SeedRequest};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn times_of(collection: &serde_json::Value, field: &str) -> Vec<DateTime<Utc>> {
    collection
        .as_array()
        .expect("collection is an array")
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .expect("timestamp string")
                .parse()
                .expect("RFC 3339")
        })
        .collect()
}

#[tokio::test]
async fn users_and_event_types_describe_the_seeded_account() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let user = fake.default_user().clone();
    let me = api_get(&fake, &token, "/users/me").await;
    assert_eq!(
        me.body["resource"]["current_organization"],
        user.organization_uri.as_str(),
        "/users/me names the org"
    );
    let by_uuid = api_get(&fake, &token, &format!("/users/{}", user.user_uuid)).await;
    assert_eq!(
        by_uuid.body, me.body,
        "/users/{{uuid}} and /users/me agree for oneself"
    );
    let types = api_get(
        &fake,
        &token,
        &format!("/event_types?user={}", user.user_uri),
    )
    .await;
    assert_eq!(
        types.status,
        StatusCode::OK,
        "event types list: {}",
        types.body
    );
    let names: Vec<&str> = types.body["collection"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&"Financial review") && names.contains(&"Retirement planning"),
        "advisor event types exist: {names:?}"
    );
    let legacy = types.body["collection"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|t| {
            let id = t["uri"]
                .as_str()
                .expect("uri")
                .rsplit('/')
                .next()
                .expect("id");
            id.len() == 16
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
    assert!(
        legacy.count() >= 1,
        "some event types carry legacy 16-character ids"
    );
    let missing = api_get(&fake, &token, "/event_types").await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "event_types needs user or organization"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn event_types_added_and_switched_off_through_control_show_in_the_listing() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let user = fake.default_user().clone();
    let added = fake
        .control()
        .add_event_type(&fake_calendly::NewEventType {
            name: "Pension deep-dive".to_owned(),
            duration_minutes: Some(75),
            color: Some("#17E885".to_owned()),
            ..Default::default()
        })
        .await
        .expect("the fake adds an event type");
    assert_eq!(added.color, "#17e885", "colours are kept lower-case");
    fake.control()
        .update_event_type(&fake_calendly::EventTypeUpdate {
            event_type_uri: added.event_type_uri.clone(),
            active: Some(false),
            ..Default::default()
        })
        .await
        .expect("the fake switches it off");
    let listing = |filter: &'static str| {
        let path = format!("/event_types?user={}{filter}", user.user_uri);
        let fake = &fake;
        let token = &token;
        async move {
            let answer = api_get(fake, token, &path).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
            answer.body["collection"].as_array().expect("array").clone()
        }
    };
    let everything = listing("").await;
    let added_row = everything
        .iter()
        .find(|row| row["uri"] == added.event_type_uri.as_str())
        .expect("an inactive type is still listed without a filter");
    assert_eq!(added_row["active"], false);
    assert_eq!(added_row["duration"], 75);
    assert!(
        listing("&active=true")
            .await
            .iter()
            .all(|row| row["active"] == true),
        "active=true lists only active types"
    );
    assert_eq!(
        listing("&active=false").await.len(),
        1,
        "only the switched-off one"
    );
    let bad = api_get(
        &fake,
        &token,
        &format!("/event_types?user={}&active=maybe", user.user_uri),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "a bad filter is a 400");
    fake.shutdown().await;
}

#[tokio::test]
async fn scheduled_events_filters_and_sort_are_correct() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let user = fake.default_user().clone();
    let start = "2026-01-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time");
    let end = start + Duration::days(60);
    let report = fake
        .control()
        .seed(&SeedRequest {
            user_uri: None,
            count: 80,
            seed: 7,
            range_start: start,
            range_end: end,
        })
        .await
        .expect("seed");
    assert_eq!(
        report.event_uris.len(),
        80,
        "seeding creates the requested number of events"
    );
    let list = |query: String| {
        let path = format!("/scheduled_events?user={}&count=100{query}", user.user_uri);
        let (fake, token) = (&fake, token.clone());
        async move { api_get(fake, &token, &path).await }
    };
    let all = list(String::new()).await;
    assert_eq!(
        all.body["collection"].as_array().expect("array").len(),
        80,
        "count=100 returns all 80 in one page"
    );
    let ascending = times_of(&all.body["collection"], "start_time");
    assert!(
        ascending.windows(2).all(|pair| pair[0] <= pair[1]),
        "default order is start_time ascending"
    );
    let descending = list("&sort=start_time:desc".into()).await;
    let descending_times = times_of(&descending.body["collection"], "start_time");
    assert!(
        descending_times.windows(2).all(|pair| pair[0] >= pair[1]),
        "start_time:desc sorts newest first"
    );

    let middle = start + Duration::days(20);
    let late = start + Duration::days(40);
    let windowed = list(format!(
        "&min_start_time={}&max_start_time={}",
        middle.to_rfc3339_opts(SecondsFormat::Micros, true),
        late.to_rfc3339_opts(SecondsFormat::Micros, true)
    ))
    .await;
    let windowed_times = times_of(&windowed.body["collection"], "start_time");
    let expected = ascending
        .iter()
        .filter(|time| **time >= middle && **time < late)
        .count();
    assert_eq!(
        windowed_times.len(),
        expected,
        "the window keeps exactly the events starting inside it"
    );
    assert!(
        windowed_times
            .iter()
            .all(|time| *time >= middle && *time < late),
        "no event outside the window"
    );

    let canceled = list("&status=canceled".into()).await;
    let active = list("&status=active".into()).await;
    let canceled_count = canceled.body["collection"].as_array().expect("array").len();
    assert!(canceled_count > 0, "the seed includes some canceled events");
    assert!(
        canceled.body["collection"]
            .as_array()
            .expect("array")
            .iter()
            .all(|e| e["status"] == "canceled"),
        "status=canceled filters"
    );
    assert_eq!(
        canceled_count + active.body["collection"].as_array().expect("array").len(),
        80,
        "active + canceled = all"
    );

    // Pick an invitee e-mail and check invitee_email keeps only events with that invitee.
    let first_event_uuid = report.event_uris[0]
        .rsplit('/')
        .next()
        .expect("uuid")
        .to_string();
    let invitees = api_get(
        &fake,
        &token,
        &format!("/scheduled_events/{first_event_uuid}/invitees"),
    )
    .await;
    let email = invitees.body["collection"][0]["email"]
        .as_str()
        .expect("email")
        .to_string();
    let by_email = list(format!("&invitee_email={email}")).await;
    let matched = by_email.body["collection"].as_array().expect("array");
    assert!(
        !matched.is_empty(),
        "the invitee's own event is found by e-mail"
    );
    for event in matched {
        let uuid = event["uri"]
            .as_str()
            .expect("uri")
            .rsplit('/')
            .next()
            .expect("uuid");
        let people = api_get(
            &fake,
            &token,
            &format!("/scheduled_events/{uuid}/invitees?count=100"),
        )
        .await;
        assert!(
            people.body["collection"]
                .as_array()
                .expect("array")
                .iter()
                .any(|p| p["email"] == email.as_str()),
            "every event returned by invitee_email has that invitee"
        );
    }
    let bad_sort = list("&sort=name:asc".into()).await;
    assert_eq!(
        bad_sort.status,
        StatusCode::BAD_REQUEST,
        "only start_time sorts are accepted"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn seeding_is_deterministic_and_realistic() {
    let start_time = "2026-03-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time");
    let mut snapshots = Vec::new();
    for _ in 0..2 {
        let fake = start(FakeConfig::for_tests()).await;
        let token = full_access_token(&fake).await;
        let report = fake
            .control()
            .seed(&SeedRequest {
                user_uri: None,
                count: 60,
                seed: 42,
                range_start: start_time,
                range_end: start_time + Duration::days(90),
            })
            .await
            .expect("seed");
        let base = base(&fake.api_base_url());
        let relative: Vec<String> = report
            .event_uris
            .iter()
            .map(|uri| uri.replace(&base, ""))
            .collect();
        let mut locations = std::collections::BTreeSet::new();
        let mut group_events = 0;
        let mut with_answers = 0;
        let mut emails = std::collections::BTreeMap::<String, usize>::new();
        for uri in &relative {
            let event = api_get(&fake, &token, uri).await.body["resource"].clone();
            locations.insert(
                event["location"]["type"]
                    .as_str()
                    .unwrap_or("none")
                    .to_string(),
            );
            if event["invitees_counter"]["total"].as_u64() > Some(1) {
                group_events += 1;
            }
            let invitees = api_get(&fake, &token, &format!("{uri}/invitees?count=100"))
                .await
                .body["collection"]
                .clone();
            for invitee in invitees.as_array().expect("array") {
                *emails
                    .entry(invitee["email"].as_str().expect("email").to_string())
                    .or_insert(0) += 1;
                if !invitee["questions_and_answers"]
                    .as_array()
                    .expect("array")
                    .is_empty()
                {
                    with_answers += 1;
                }
            }
        }
        assert!(
            locations.len() >= 4,
            "a mix of location types is seeded: {locations:?}"
        );
        assert!(group_events >= 1, "some group events have several invitees");
        assert!(with_answers >= 30, "most invitees answered questions");
        assert!(
            emails.values().any(|count| *count > 1),
            "some clients come back for several meetings"
        );
        snapshots.push(relative);
        fake.shutdown().await;
    }
    assert_eq!(
        snapshots[0], snapshots[1],
        "the same seed produces the same events (ids and order)"
    );
}

#[tokio::test]
async fn another_account_cannot_see_or_cancel_my_events() {
    let fake = start(FakeConfig::for_tests()).await;
    let control = fake.control();
    let booked = control
        .book(&booking(48, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let other = control
        .add_user(&NewUser {
            name: "Sam Patel".into(),
            email: "sam@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("user");
    let other_token = control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: Some(other.user_uri.clone()),
            scopes: None,
        })
        .await
        .expect("mint")
        .token;
    let uuid = booked.event_uri.rsplit('/').next().expect("uuid");
    let view = api_get(&fake, &other_token, &format!("/scheduled_events/{uuid}")).await;
    assert_eq!(
        view.status,
        StatusCode::FORBIDDEN,
        "another account cannot view the event"
    );
    assert_eq!(
        view.body["message"], "You are not allowed to view this event",
        "Calendly's 403 message"
    );
    let listing = api_get(
        &fake,
        &other_token,
        &format!("/scheduled_events?user={}", fake.default_user().user_uri),
    )
    .await;
    assert_eq!(
        listing.status,
        StatusCode::FORBIDDEN,
        "listing another org's user is forbidden"
    );
    let own = api_get(
        &fake,
        &other_token,
        &format!("/scheduled_events?user={}", other.user_uri),
    )
    .await;
    assert_eq!(
        own.body["collection"],
        json!([]),
        "the other account has no events of its own"
    );
    let cancel = api_send_json(
        &fake,
        &other_token,
        Method::POST,
        &format!("/scheduled_events/{uuid}/cancellation"),
        &json!({}),
    )
    .await;
    assert_eq!(
        cancel.status,
        StatusCode::FORBIDDEN,
        "another account cannot cancel the event"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn host_cancellation_returns_201_then_403_on_repeat() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let booked = fake
        .control()
        .book(&booking(24, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let uuid = booked.event_uri.rsplit('/').next().expect("uuid");
    let path = format!("/scheduled_events/{uuid}/cancellation");
    let first = api_send_json(
        &fake,
        &token,
        Method::POST,
        &path,
        &json!({"reason": "Clashes with a client visit"}),
    )
    .await;
    assert_eq!(
        first.status,
        StatusCode::CREATED,
        "cancel answers 201: {}",
        first.body
    );
    assert_eq!(
        first.body["resource"]["canceler_type"], "host",
        "the API cancels as host"
    );
    assert_eq!(
        first.body["resource"]["canceled_by"], "Alex Morgan",
        "canceled_by is the host's name"
    );
    assert_eq!(
        first.body["resource"]["reason"], "Clashes with a client visit",
        "the reason is kept"
    );
    let event = api_get(&fake, &token, &format!("/scheduled_events/{uuid}")).await;
    assert_eq!(
        event.body["resource"]["status"], "canceled",
        "the event is canceled"
    );
    assert_eq!(
        event.body["resource"]["invitees_counter"]["active"], 0,
        "no active invitee remains"
    );
    let invitee = api_get(&fake, &token, &booked.invitee_uris[0]).await;
    assert_eq!(
        invitee.body["resource"]["status"], "canceled",
        "the invitee is canceled with the event"
    );
    let again = api_send_json(&fake, &token, Method::POST, &path, &json!({})).await;
    assert_eq!(
        again.status,
        StatusCode::FORBIDDEN,
        "a second cancel is refused"
    );
    assert_eq!(
        again.body,
        json!({"title": "Permission Denied", "message": "Event is already canceled"}),
        "the real re-cancel body"
    );
    let missing = api_send_json(
        &fake,
        &token,
        Method::POST,
        "/scheduled_events/nope/cancellation",
        &json!({}),
    )
    .await;
    assert_eq!(
        missing.status,
        StatusCode::NOT_FOUND,
        "unknown events are 404"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn control_updates_move_updated_at_and_reschedule_links_invitees() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let booked = control
        .book(&booking(24, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let before =
        api_get(&fake, &token, &booked.event_uri).await.body["resource"]["updated_at"].clone();
    control
        .update_event(&fake_calendly::UpdateEventRequest {
            event_uri: booked.event_uri.clone(),
            meeting_notes_plain: Some("Bring P60".into()),
            ..Default::default()
        })
        .await
        .expect("update");
    let after = api_get(&fake, &token, &booked.event_uri).await.body["resource"].clone();
    assert_ne!(after["updated_at"], before, "an update moves updated_at");
    assert_eq!(
        after["meeting_notes_plain"], "Bring P60",
        "the update is visible"
    );

    let moved = control
        .reschedule(&fake_calendly::RescheduleRequest {
            invitee_uri: booked.invitee_uris[0].clone(),
            new_start_time: Utc::now() + Duration::days(3),
            duration_minutes: None,
            order: fake_calendly::DeliveryOrder::CanceledFirst,
        })
        .await
        .expect("reschedule");
    let old = api_get(&fake, &token, &moved.old_invitee_uri).await.body["resource"].clone();
    let new = api_get(&fake, &token, &moved.new_invitee_uri).await.body["resource"].clone();
    assert_eq!(
        old["rescheduled"], true,
        "the old invitee is marked rescheduled"
    );
    assert_eq!(
        old["new_invitee"],
        moved.new_invitee_uri.as_str(),
        "the old invitee points at the new one"
    );
    assert_eq!(old["status"], "canceled", "the old invitee is canceled");
    assert_eq!(
        new["old_invitee"],
        moved.old_invitee_uri.as_str(),
        "the new invitee points back"
    );
    assert_eq!(
        new["rescheduled"], false,
        "the new invitee is not itself rescheduled"
    );
    assert_ne!(
        moved.new_event_uri, moved.old_event_uri,
        "rescheduling creates a new event"
    );
    let old_event = api_get(&fake, &token, &moved.old_event_uri).await.body["resource"].clone();
    assert_eq!(
        old_event["status"], "canceled",
        "a one-on-one event is canceled by rescheduling"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_429_when_exceeded() {
    let fake = start(FakeConfig {
        rate_limit_per_minute: 3,
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    for expected_remaining in [2, 1, 0] {
        let response = api_get(&fake, &token, "/users/me").await;
        assert_eq!(response.status, StatusCode::OK, "within the limit");
        assert_eq!(
            response.headers["x-ratelimit-limit"], "3",
            "the limit header shows the configured limit"
        );
        assert_eq!(
            response.headers["x-ratelimit-remaining"],
            expected_remaining.to_string().as_str(),
            "remaining counts down"
        );
        let reset: i64 = response.headers["x-ratelimit-reset"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("integer");
        assert!(
            (1..=60).contains(&reset),
            "reset is seconds until the window ends, not an epoch: {reset}"
        );
    }
    let limited = api_get(&fake, &token, "/users/me").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the fourth call in a minute is 429"
    );
    assert_eq!(
        limited.headers["x-ratelimit-remaining"], "0",
        "429 carries remaining 0"
    );
    assert!(
        limited.body["title"].is_string() && limited.body["message"].is_string(),
        "429 uses the error shape"
    );
    fake.control().shift_clock(61).await.expect("shift");
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "a new minute opens a new window"
    );
    let unauthenticated = api_get(&fake, "not-a-token", "/users/me").await;
    assert!(
        unauthenticated.headers.contains_key("x-ratelimit-limit"),
        "headers appear on 401 responses too"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn injected_faults_answer_then_clear() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    control
        .inject_fault(&FaultRequest {
            path_prefix: "/users/me".into(),
            method: None,
            fault: FaultKind::Status { status: 503 },
            count: 2,
        })
        .await
        .expect("inject");
    for attempt in 1..=2 {
        let response = api_get(&fake, &token, "/users/me").await;
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "attempt {attempt} hits the injected 503"
        );
        assert!(
            response.body["title"].is_string(),
            "injected errors use Calendly's error shape"
        );
    }
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "after N faults the path works again"
    );

    control
        .inject_fault(&FaultRequest {
            path_prefix: "/oauth/token".into(),
            method: Some("POST".into()),
            fault: FaultKind::Status { status: 500 },
            count: 1,
        })
        .await
        .expect("inject");
    let (status, body) = refresh(&fake, "whatever").await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "faults apply on the OAuth listener too: {body}"
    );

    control
        .inject_fault(&FaultRequest {
            path_prefix: "/users".into(),
            method: None,
            fault: FaultKind::DropConnection,
            count: 1,
        })
        .await
        .expect("inject");
    let dropped = reqwest::Client::new()
        .get(format!("{}/users/me", base(&fake.api_base_url())))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "a dropped connection surfaces as a transport error, not a status"
    );
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "the next request is served normally"
    );

    control
        .inject_fault(&FaultRequest {
            path_prefix: "/users".into(),
            method: None,
            fault: FaultKind::Status { status: 429 },
            count: 5,
        })
        .await
        .expect("inject");
    control.clear_faults().await.expect("clear");
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "clear_faults removes pending faults"
    );
    let stats = control.stats().await.expect("stats");
    assert!(
        stats.api_calls.get("GET /users/me").copied().unwrap_or(0) >= 3,
        "API calls are counted by route: {stats:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn webhook_subscription_crud_and_duplicate_url() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let user = fake.default_user().clone();
    let uri = subscribe(
        &fake,
        &token,
        "http://127.0.0.1:9/hook-a",
        &["invitee.created", "invitee.canceled"],
    )
    .await;
    let duplicate = api_send_json(
        &fake,
        &token,
        Method::POST,
        "/webhook_subscriptions",
        &json!({"url": "http://127.0.0.1:9/hook-a", "events": ["invitee.created"], "organization": user.organization_uri, "scope": "organization"}),
    )
    .await;
    assert_eq!(
        duplicate.status,
        StatusCode::CONFLICT,
        "the same callback URL cannot be subscribed twice"
    );
    assert_eq!(
        duplicate.body,
        json!({"title": "Already Exists", "message": "Hook with this url already exists"}),
        "Calendly's 409 body"
    );
    let one = api_get(&fake, &token, &uri).await;
    assert_eq!(
        one.body["resource"]["state"], "active",
        "a new subscription is active"
    );
    assert_eq!(
        one.body["resource"]["creator"],
        user.user_uri.as_str(),
        "the creator is the caller"
    );
    let list_path = format!(
        "/webhook_subscriptions?organization={}&scope=user&user={}",
        user.organization_uri, user.user_uri
    );
    let listed = api_get(&fake, &token, &list_path).await;
    assert_eq!(
        listed.body["collection"].as_array().expect("array").len(),
        1,
        "the user-scoped list has it"
    );
    let organization_scoped = api_get(
        &fake,
        &token,
        &format!(
            "/webhook_subscriptions?organization={}&scope=organization",
            user.organization_uri
        ),
    )
    .await;
    assert_eq!(
        organization_scoped.body["collection"],
        json!([]),
        "scope filters the list"
    );
    let no_scope = api_get(
        &fake,
        &token,
        &format!(
            "/webhook_subscriptions?organization={}",
            user.organization_uri
        ),
    )
    .await;
    assert_eq!(
        no_scope.status,
        StatusCode::BAD_REQUEST,
        "scope is required to list"
    );
    let no_user = api_get(
        &fake,
        &token,
        &format!(
            "/webhook_subscriptions?organization={}&scope=user",
            user.organization_uri
        ),
    )
    .await;
    assert_eq!(
        no_user.status,
        StatusCode::BAD_REQUEST,
        "user is required for user scope"
    );
    let delete = send(reqwest::Client::new().delete(&uri).bearer_auth(&token)).await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT, "delete answers 204");
    assert_eq!(
        delete.body,
        serde_json::Value::Null,
        "204 has an empty body"
    );
    assert_eq!(
        api_get(&fake, &token, &uri).await.status,
        StatusCode::NOT_FOUND,
        "a deleted subscription is gone"
    );
    let again = subscribe(
        &fake,
        &token,
        "http://127.0.0.1:9/hook-a",
        &["invitee.created"],
    )
    .await;
    assert_ne!(again, uri, "after deletion the URL can be subscribed again");
    let scoped = fake
        .control()
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: None,
            scopes: Some(vec!["webhooks:write".into()]),
        })
        .await
        .expect("mint");
    let missing_read = api_send_json(
        &fake,
        &scoped.token,
        Method::POST,
        "/webhook_subscriptions",
        &json!({"url": "http://127.0.0.1:9/hook-b", "events": ["invitee.created"], "organization": user.organization_uri, "scope": "user", "user": user.user_uri}),
    )
    .await;
    assert_eq!(
        missing_read.status,
        StatusCode::FORBIDDEN,
        "invitee events also need scheduled_events:read"
    );
    assert_eq!(
        missing_read.body["required_scopes"],
        json!(["webhooks:write", "scheduled_events:read"]),
        "both scopes are named"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn configured_and_injected_latency_delay_answers() {
    let fake = start(FakeConfig {
        latency: std::time::Duration::from_millis(150),
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    let started = std::time::Instant::now();
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "slow but successful"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(150),
        "the configured latency is added"
    );
    fake.control()
        .inject_fault(&FaultRequest {
            path_prefix: "/users/me".into(),
            method: Some("GET".into()),
            fault: FaultKind::Latency { millis: 300 },
            count: 1,
        })
        .await
        .expect("inject");
    let started = std::time::Instant::now();
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "a latency fault still answers"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(450),
        "the injected latency comes on top"
    );
    fake.shutdown().await;
}
