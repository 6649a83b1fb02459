//! Webhook deliveries: envelope, headers and signature (checked with an independent HMAC),
//! reschedule ordering, retries with backoff, disabling, and scope filtering.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use fake_calendly::{
    CancelRequest, Canceler, DeliveryOrder, FakeConfig, NewUser, RescheduleRequest,
};
use serde_json::Value;

use crate::support::*;

/// Checks `Calendly-Webhook-Signature` against the raw body with the hand-written HMAC.
fn assert_signed(received: &ReceivedWebhook, key: &str) {
    let header = received.headers["calendly-webhook-signature"]
        .to_str()
        .expect("ascii header");
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.to_string()),
            Some(("v1", value)) => signature = Some(value.to_string()),
            _ => {}
        }
    }
    let timestamp = timestamp.expect("the header has t=");
    let signature = signature.expect("the header has v1=");
    let seconds: i64 = timestamp.parse().expect("t is UNIX seconds");
    assert!(
        (Utc::now().timestamp() - seconds).abs() < 180,
        "t is the current time in seconds"
    );
    let mut signed = timestamp.into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&received.body);
    assert_eq!(
        signature,
        hmac_sha256_hex(key.as_bytes(), &signed),
        "v1 is HMAC-SHA256 of t.body with the signing key"
    );
}

#[tokio::test]
async fn independent_hmac_matches_rfc_4231_test_case_2() {
    // RFC 4231 test case 2 proves the test's own HMAC before it judges the fake's.
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "the hand-written HMAC-SHA256 matches the RFC vector"
    );
}

#[tokio::test]
async fn booking_delivers_a_signed_compact_invitee_created() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(0).await;
    let subscription = subscribe(
        &fake,
        &token,
        &receiver.url,
        &["invitee.created", "invitee.canceled"],
    )
    .await;
    let booked = fake
        .control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let received = receiver.next().await;
    assert_eq!(
        received.headers["user-agent"], "Calendly",
        "Calendly's User-Agent"
    );
    assert_eq!(
        received.headers["content-type"], "application/json",
        "JSON body"
    );
    let key = fake
        .control()
        .signing_key(&subscription)
        .await
        .expect("key")
        .expect("PAT subscription with a signing_key is signed");
    assert_eq!(
        key, "test-signing-key",
        "a PAT subscription signs with its own signing_key"
    );
    assert_signed(&received, &key);
    let body = received.json();
    assert_eq!(
        serde_json::to_string(&body).expect("json").len(),
        received.body.len(),
        "the body is compact JSON (no spaces)"
    );
    let text = std::str::from_utf8(&received.body).expect("utf-8");
    assert!(
        text.starts_with(r#"{"created_at":"#),
        "top-level keys arrive alphabetically like real captures"
    );
    assert!(
        text.contains(r#""tracking":{"utm_campaign":null,"utm_source":null"#),
        "tracking keeps Calendly's own key order"
    );
    assert!(
        text.contains(r#""invitees_counter":{"total":1,"active":1,"limit":1}"#),
        "invitees_counter keeps total, active, limit"
    );
    assert_eq!(body["event"], "invitee.created", "the event name");
    assert_eq!(
        body["created_by"],
        fake.default_user().user_uri.as_str(),
        "created_by is the subscription creator"
    );
    assert_eq!(
        body["payload"]["uri"],
        booked.invitee_uris[0].as_str(),
        "the payload is the invitee"
    );
    assert_eq!(
        body["payload"]["scheduled_event"]["uri"],
        booked.event_uri.as_str(),
        "the payload embeds its event"
    );
    assert_eq!(
        body["payload"]["questions_and_answers"][0]["answer"], "My pension",
        "Q&A travel in the payload"
    );
    assert!(
        body["payload"]["scheduled_event"]
            .get("calendar_event")
            .is_none(),
        "deliveries omit calendar_event"
    );
    let deliveries = fake.control().deliveries().await.expect("deliveries");
    assert_eq!(deliveries.len(), 1, "one delivery was made");
    assert_eq!(
        deliveries[0].status_code,
        Some(200),
        "the delivery log records the receiver's status"
    );
    assert_eq!(
        deliveries[0].body.as_bytes(),
        &received.body[..],
        "the log holds the exact body sent"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn oauth_subscriptions_sign_with_the_app_key() {
    let fake = start(FakeConfig::for_tests()).await;
    let tokens = oauth_tokens(&fake).await;
    let mut receiver = Receiver::start(0).await;
    let subscription = subscribe(
        &fake,
        tokens["access_token"].as_str().expect("access"),
        &receiver.url,
        &["invitee.created"],
    )
    .await;
    fake.control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let received = receiver.next().await;
    let key = fake
        .control()
        .signing_key(&subscription)
        .await
        .expect("key")
        .expect("signed");
    assert_eq!(
        key,
        FakeConfig::for_tests().app_webhook_signing_key,
        "OAuth-created subscriptions use the app-wide key"
    );
    assert_signed(&received, &key);
    fake.shutdown().await;
}

async fn reschedule_in_order(order: DeliveryOrder) -> Vec<Value> {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(0).await;
    subscribe(
        &fake,
        &token,
        &receiver.url,
        &["invitee.created", "invitee.canceled"],
    )
    .await;
    let booked = fake
        .control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    receiver.next().await;
    let moved = fake
        .control()
        .reschedule(&RescheduleRequest {
            invitee_uri: booked.invitee_uris[0].clone(),
            new_start_time: Utc::now() + chrono::Duration::days(2),
            duration_minutes: None,
            order,
        })
        .await
        .expect("reschedule");
    let first = receiver.next().await.json();
    let second = receiver.next().await.json();
    let (canceled, created) = if first["event"] == "invitee.canceled" {
        (&first, &second)
    } else {
        (&second, &first)
    };
    assert_eq!(
        canceled["payload"]["rescheduled"], true,
        "the canceled half is marked rescheduled"
    );
    assert_eq!(
        canceled["payload"]["new_invitee"],
        moved.new_invitee_uri.as_str(),
        "the canceled half points at the new invitee"
    );
    assert!(
        canceled["payload"]["cancellation"].is_object(),
        "the canceled half carries a cancellation"
    );
    assert_eq!(
        created["payload"]["old_invitee"],
        moved.old_invitee_uri.as_str(),
        "the created half points back at the old invitee"
    );
    assert_eq!(
        created["payload"]["scheduled_event"]["uri"],
        moved.new_event_uri.as_str(),
        "the created half is on the new event"
    );
    fake.shutdown().await;
    vec![first["event"].clone(), second["event"].clone()]
}

#[tokio::test]
async fn reschedule_sends_two_deliveries_in_the_requested_order() {
    assert_eq!(
        reschedule_in_order(DeliveryOrder::CanceledFirst).await,
        vec!["invitee.canceled", "invitee.created"],
        "canceled first when asked"
    );
    assert_eq!(
        reschedule_in_order(DeliveryOrder::CreatedFirst).await,
        vec!["invitee.created", "invitee.canceled"],
        "created first when asked"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_they_succeed() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(2).await;
    let subscription = subscribe(&fake, &token, &receiver.url, &["invitee.created"]).await;
    fake.control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let answers: Vec<StatusCode> = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ]
    .iter()
    .map(|r| r.answered)
    .collect();
    assert_eq!(
        answers,
        vec![
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK
        ],
        "two failures, then success"
    );
    let deliveries = fake
        .control()
        .wait_for_deliveries(
            "three recorded attempts",
            Duration::from_secs(5),
            |records| records.len() >= 3,
        )
        .await
        .expect("attempts recorded");
    let attempts: Vec<(u32, Option<u16>, bool)> = deliveries
        .iter()
        .map(|d| (d.attempt, d.status_code, d.succeeded))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (1, Some(500), false),
            (2, Some(500), false),
            (3, Some(200), true)
        ],
        "attempts are numbered and logged"
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.message_id == deliveries[0].message_id),
        "all attempts belong to one message"
    );
    assert!(
        deliveries[1].attempted_at >= deliveries[0].attempted_at,
        "retries come after the first attempt"
    );
    let subscriptions = fake
        .control()
        .wait_for_subscriptions(
            "the retry streak to clear",
            Duration::from_secs(5),
            |subs| subs.iter().all(|s| s.retry_started_at.is_none()),
        )
        .await
        .expect("retry streak cleared");
    let info = subscriptions
        .iter()
        .find(|s| s.uri == subscription)
        .expect("subscription listed");
    assert_eq!(
        info.state, "active",
        "a subscription that recovers stays active"
    );
    assert_eq!(info.pending_messages, 0, "nothing is left to deliver");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_always_fails_gets_its_subscription_disabled() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let receiver = Receiver::start(u32::MAX).await;
    let subscription = subscribe(&fake, &token, &receiver.url, &["invitee.created"]).await;
    fake.control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    // The compressed retry window is 1.5 s; allow generous slack for a loaded machine.
    fake.control()
        .wait_for_subscriptions(
            "the subscription to be disabled",
            Duration::from_secs(15),
            |subs| {
                subs.iter()
                    .any(|s| s.uri == subscription && s.state == "disabled")
            },
        )
        .await
        .expect("disabled after the retry window");
    let via_api = api_get(&fake, &token, &subscription).await;
    assert_eq!(
        via_api.body["resource"]["state"], "disabled",
        "the API shows the subscription as disabled"
    );
    assert!(
        via_api.body["resource"]["retry_started_at"].is_string(),
        "retry_started_at shows the failing streak"
    );
    let attempts = fake.control().deliveries().await.expect("deliveries");
    assert!(
        attempts.len() >= 3,
        "several attempts were made before giving up: {}",
        attempts.len()
    );
    assert!(attempts.iter().all(|d| !d.succeeded), "none succeeded");
    let before = attempts.len();
    fake.control()
        .book(&booking(40, "James Jones", "james@example.com"))
        .await
        .expect("book");
    let later = fake.control().subscriptions().await.expect("subscriptions");
    assert_eq!(
        later
            .iter()
            .find(|s| s.uri == subscription)
            .expect("listed")
            .pending_messages,
        0,
        "a disabled subscription gets no new messages"
    );
    assert_eq!(
        fake.control().deliveries().await.expect("deliveries").len(),
        before,
        "no delivery is attempted after disabling"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn injected_delivery_failures_are_retried_and_logged() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(0).await;
    subscribe(&fake, &token, &receiver.url, &["invitee.created"]).await;
    fake.control().fail_deliveries(1).await.expect("fault");
    fake.control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let received = receiver.next().await;
    assert_eq!(
        received.answered,
        StatusCode::OK,
        "the retry reaches the receiver"
    );
    let log = fake
        .control()
        .wait_for_deliveries("two attempts", Duration::from_secs(5), |records| {
            records.len() >= 2
        })
        .await
        .expect("log");
    assert_eq!(
        log[0].error.as_deref(),
        Some("injected delivery failure"),
        "the first attempt failed by injection"
    );
    assert_eq!(
        log[0].status_code, None,
        "an injected failure has no status"
    );
    assert!(log[1].succeeded, "the retry succeeded");
    fake.shutdown().await;
}

#[tokio::test]
async fn cancellations_and_no_shows_are_delivered_only_to_covering_subscriptions() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let mut mine = Receiver::start(0).await;
    subscribe(
        &fake,
        &token,
        &mine.url,
        &[
            "invitee.created",
            "invitee.canceled",
            "invitee_no_show.created",
            "invitee_no_show.deleted",
        ],
    )
    .await;
    // A subscription of another account must never see this account's bookings.
    let other = control
        .add_user(&NewUser {
            name: "Sam Patel".into(),
            email: "sam@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("user");
    let other_token = control
        .mint_personal_access_token(&fake_calendly::MintTokenRequest {
            user_uri: Some(other.user_uri.clone()),
            scopes: None,
        })
        .await
        .expect("mint")
        .token;
    let mut theirs = Receiver::start(0).await;
    let created = api_send_json(
        &fake,
        &other_token,
        reqwest::Method::POST,
        "/webhook_subscriptions",
        &serde_json::json!({"url": theirs.url, "events": ["invitee.created", "invitee.canceled"], "organization": other.organization_uri, "scope": "organization"}),
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "the other account subscribes at organization scope: {}",
        created.body
    );

    let booked = control
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    assert_eq!(
        mine.next().await.json()["event"],
        "invitee.created",
        "booking delivered"
    );
    control
        .mark_no_show(&booked.invitee_uris[0])
        .await
        .expect("mark");
    let marked = mine.next().await.json();
    assert_eq!(
        marked["event"], "invitee_no_show.created",
        "no-show delivered"
    );
    assert!(
        marked["payload"]["no_show"]["uri"].is_string(),
        "the no-show payload has no_show populated"
    );
    control
        .unmark_no_show(&booked.invitee_uris[0])
        .await
        .expect("unmark");
    assert_eq!(
        mine.next().await.json()["event"],
        "invitee_no_show.deleted",
        "un-marking delivered"
    );
    control
        .cancel(&CancelRequest {
            event_uri: None,
            invitee_uri: Some(booked.invitee_uris[0].clone()),
            canceled_by: Canceler::Invitee,
            reason: Some("Feeling unwell".into()),
        })
        .await
        .expect("cancel");
    let canceled = mine.next().await.json();
    assert_eq!(
        canceled["event"], "invitee.canceled",
        "cancellation delivered"
    );
    assert_eq!(
        canceled["payload"]["cancellation"]["canceler_type"], "invitee",
        "invitee cancellation"
    );
    assert_eq!(
        canceled["payload"]["cancellation"]["canceled_by"], "Olivia Smith",
        "canceled_by is the invitee's name"
    );
    assert_eq!(
        canceled["payload"]["scheduled_event"]["status"], "canceled",
        "the last invitee canceling cancels a one-on-one event"
    );
    // The other account's own booking reaches only its receiver.
    let theirs_booking = fake_calendly::BookingRequest {
        host_user_uri: Some(other.user_uri.clone()),
        ..booking(50, "James Jones", "james@example.com")
    };
    control.book(&theirs_booking).await.expect("book for other");
    let their_first = theirs.next().await.json();
    assert_eq!(
        their_first["payload"]["email"], "james@example.com",
        "the other account's first delivery is its own booking"
    );
    let all = control
        .wait_for_deliveries("five deliveries", Duration::from_secs(5), |records| {
            records.len() >= 5
        })
        .await
        .expect("log");
    assert_eq!(
        all.iter().filter(|d| d.callback_url == theirs.url).count(),
        1,
        "the other account received exactly its own booking"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_times_out_is_retried() {
    let fake = start(FakeConfig {
        delivery_timeout: Duration::from_millis(300),
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start_with(0, 1).await;
    subscribe(&fake, &token, &receiver.url, &["invitee.created"]).await;
    fake.control()
        .book(&booking(30, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    assert_eq!(
        receiver.next().await.answered,
        StatusCode::REQUEST_TIMEOUT,
        "the first request is left hanging"
    );
    assert_eq!(
        receiver.next().await.answered,
        StatusCode::OK,
        "the retry is answered"
    );
    let log = fake
        .control()
        .wait_for_deliveries("two attempts", Duration::from_secs(5), |records| {
            records.len() >= 2
        })
        .await
        .expect("log");
    assert!(
        log[0]
            .error
            .as_deref()
            .is_some_and(|error| error.starts_with("timed out")),
        "the first attempt timed out: {:?}",
        log[0].error
    );
    assert!(log[1].succeeded, "the retry succeeded");
    fake.shutdown().await;
}

/// A real `invitee.created` delivery captured in 2023 (API.md §6), used only for its key sets.
const REAL_INVITEE_CREATED: &str = r#"{"created_at":"2023-12-24T17:27:38.000000Z","created_by":"https://api.calendly.com/users/f2f32253-5f99-4d22-8950-51f86535e227","event":"invitee.created","payload":{"cancel_url":"https://calendly.com/cancellations/3e39fe12-9338-448d-b760-2217a35cc0a7","created_at":"2023-12-24T17:27:38.192438Z","email":"ashwaniverma.verma@rediff.com","event":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c","first_name":null,"invitee_scheduled_by":null,"last_name":null,"name":"test account","new_invitee":null,"no_show":null,"old_invitee":null,"payment":null,"questions_and_answers":[],"reconfirmation":null,"reschedule_url":"https://calendly.com/reschedulings/3e39fe12-9338-448d-b760-2217a35cc0a7","rescheduled":false,"routing_form_submission":null,"scheduled_event":{"created_at":"2023-12-24T17:27:38.162964Z","end_time":"2023-12-24T21:45:00.000000Z","event_guests":[],"event_memberships":[{"user":"https://api.calendly.com/users/f2f32253-5f99-4d22-8950-51f86535e227","user_email":"connect2ashwaniverma@gmail.com"}],"event_type":"https://api.calendly.com/event_types/ebd636e1-bf06-4b5b-a3f8-68add9964c7a","invitees_counter":{"total":1,"active":1,"limit":100},"location":{"join_url":"https://calendly.com/events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/google_meet","status":"processing","type":"google_conference"},"name":"15 Minute Meeting","start_time":"2023-12-24T21:30:00.000000Z","status":"active","updated_at":"2023-12-24T17:27:38.162964Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c"},"scheduling_method":null,"status":"active","text_reminder_number":null,"timezone":"Asia/Calcutta","tracking":{"utm_campaign":null,"utm_source":null,"utm_medium":null,"utm_content":null,"utm_term":null,"salesforce_uuid":null},"updated_at":"2023-12-24T17:27:38.192438Z","uri":"https://api.calendly.com/scheduled_events/9a15cc4a-c99d-48e4-bc2b-b363b35c669c/invitees/3e39fe12-9338-448d-b760-2217a35cc0a7"}}"#;

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn deliveries_have_the_keys_of_a_real_capture() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let mut receiver = Receiver::start(0).await;
    subscribe(&fake, &token, &receiver.url, &["invitee.created"]).await;
    let mut request = booking(30, "Olivia Smith", "olivia@example.com");
    request.location = Some(fake_calendly::LocationSpec::GoogleConference);
    fake.control().book(&request).await.expect("book");
    let ours = receiver.next().await.json();
    let real: Value = serde_json::from_str(REAL_INVITEE_CREATED).expect("the capture parses");
    assert_eq!(keys(&ours), keys(&real), "envelope keys match the capture");
    assert_eq!(
        keys(&ours["payload"]),
        keys(&real["payload"]),
        "invitee payload keys match the capture"
    );
    assert_eq!(
        keys(&ours["payload"]["tracking"]),
        keys(&real["payload"]["tracking"]),
        "tracking keys match"
    );
    assert_eq!(
        keys(&ours["payload"]["scheduled_event"]["location"]),
        keys(&real["payload"]["scheduled_event"]["location"]),
        "a fresh Google Meet location matches"
    );
    assert_eq!(
        ours["payload"]["scheduled_event"]["location"]["status"], "processing",
        "a fresh conference is still processing"
    );
    // 2026 deliveries add meeting notes and user_name (API.md §6); nothing else may differ.
    let mut real_event_keys = keys(&real["payload"]["scheduled_event"]);
    real_event_keys.push("meeting_notes_plain".to_string());
    real_event_keys.sort();
    assert_eq!(
        keys(&ours["payload"]["scheduled_event"]),
        real_event_keys,
        "scheduled_event keys match the capture plus meeting_notes_plain"
    );
    let membership = &ours["payload"]["scheduled_event"]["event_memberships"][0];
    assert_eq!(
        keys(membership),
        vec!["user", "user_email", "user_name"],
        "memberships carry user, user_email and user_name"
    );
    fake.shutdown().await;
}
