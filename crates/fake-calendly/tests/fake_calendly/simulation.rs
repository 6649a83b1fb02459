//! The simulation abilities sync tests lean on: vanishing events, deferred faults, listing faults
//! (a skipped item, a repeated page token), a token expiring on one request, and the truth dump.

use axum::http::StatusCode;
use fake_calendly::{
    CancelRequest, Canceler, FakeConfig, FaultKind, FaultRequest, MintTokenRequest,
    RescheduleRequest,
};

use crate::support::*;

fn listing_path(fake: &fake_calendly::FakeHandle, extra: &str) -> String {
    format!(
        "/scheduled_events?user={}&count=2{extra}",
        fake.default_user().user_uri
    )
}

fn listed_uris(body: &serde_json::Value) -> Vec<String> {
    body["collection"]
        .as_array()
        .expect("collection is an array")
        .iter()
        .map(|event| event["uri"].as_str().expect("uri").to_owned())
        .collect()
}

#[tokio::test]
async fn a_vanished_event_is_neither_listed_nor_readable() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let kept = control
        .book(&booking(24, "Ann", "ann@example.com"))
        .await
        .expect("book")
        .event_uri;
    let gone = control
        .book(&booking(48, "Bob", "bob@example.com"))
        .await
        .expect("book")
        .event_uri;

    control.vanish_event(&gone).await.expect("vanish");

    // The listing no longer shows it, reading it is a 404, and so is reading its invitees.
    let listed = api_get(&fake, &token, &listing_path(&fake, "")).await;
    assert_eq!(listed_uris(&listed.body), vec![kept.clone()]);
    let gone_id = gone.rsplit('/').next().expect("an id");
    let read = api_get(&fake, &token, &format!("/scheduled_events/{gone_id}")).await;
    assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.body);
    let invitees = api_get(
        &fake,
        &token,
        &format!("/scheduled_events/{gone_id}/invitees"),
    )
    .await;
    assert_eq!(invitees.status, StatusCode::NOT_FOUND);
    // Vanishing twice is a clear 404, not a crash.
    let again = control.vanish_event(&gone).await.unwrap_err();
    assert!(again.to_string().contains("404"), "{again}");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_deferred_fault_lets_the_first_requests_through() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    fake.control()
        .inject_fault_after(
            &FaultRequest {
                path_prefix: "/users/me".into(),
                method: Some("GET".into()),
                fault: FaultKind::Status { status: 503 },
                count: 1,
            },
            2,
        )
        .await
        .expect("inject");
    let statuses = [
        api_get(&fake, &token, "/users/me").await.status,
        api_get(&fake, &token, "/users/me").await.status,
        api_get(&fake, &token, "/users/me").await.status,
        api_get(&fake, &token, "/users/me").await.status,
    ];
    // Two pass, the third is hit, and the fault is spent after that.
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        ]
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn listing_faults_skip_an_item_or_repeat_the_page_token() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let mut booked = Vec::new();
    for hours in [24, 48, 72] {
        booked.push(
            control
                .book(&booking(hours, "Ann", "ann@example.com"))
                .await
                .expect("book")
                .event_uri,
        );
    }
    control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".into(),
            method: Some("GET".into()),
            fault: FaultKind::OmitFirstListed,
            count: 1,
        })
        .await
        .expect("inject");
    let first = api_get(&fake, &token, &listing_path(&fake, "")).await;
    // The first event is left out, yet the next page continues after the page's last item.
    assert_eq!(listed_uris(&first.body), vec![booked[1].clone()]);
    let next = first.body["pagination"]["next_page_token"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = api_get(
        &fake,
        &token,
        &listing_path(&fake, &format!("&page_token={next}")),
    )
    .await;
    assert_eq!(listed_uris(&second.body), vec![booked[2].clone()]);

    control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events".into(),
            method: Some("GET".into()),
            fault: FaultKind::RepeatPageToken,
            count: 1,
        })
        .await
        .expect("inject");
    let repeated = api_get(
        &fake,
        &token,
        &listing_path(&fake, &format!("&page_token={next}")),
    )
    .await;
    // The answer names the very token it was asked with.
    assert_eq!(
        repeated.body["pagination"]["next_page_token"].as_str(),
        Some(next.as_str())
    );
    // Listing faults never touch other endpoints.
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn an_expire_token_fault_makes_that_request_see_an_expired_token() {
    let fake = start(FakeConfig::for_tests()).await;
    let control = fake.control();
    let token = control
        .mint_personal_access_token(&MintTokenRequest::default())
        .await
        .expect("mint")
        .token;
    control
        .inject_fault(&FaultRequest {
            path_prefix: "/users/me".into(),
            method: None,
            fault: FaultKind::ExpireAccessToken,
            count: 1,
        })
        .await
        .expect("inject");
    let response = api_get(&fake, &token, "/users/me").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.body["message"], "The access token is expired",
        "the token expired, it was not revoked"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn the_truth_dump_holds_every_event_and_invitee_with_their_links() {
    let fake = start(FakeConfig::for_tests()).await;
    let control = fake.control();
    let booked = control
        .book(&booking(24, "Ann", "ann@example.com"))
        .await
        .expect("book");
    let canceled = control
        .book(&booking(30, "Bob", "bob@example.com"))
        .await
        .expect("book");
    control
        .cancel(&CancelRequest {
            event_uri: Some(canceled.event_uri.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Host,
            reason: Some("Sick".into()),
        })
        .await
        .expect("cancel");
    let moved = control
        .reschedule(&RescheduleRequest {
            invitee_uri: booked.invitee_uris[0].clone(),
            new_start_time: chrono::Utc::now() + chrono::Duration::hours(50),
            duration_minutes: None,
            order: Default::default(),
        })
        .await
        .expect("reschedule");
    control
        .mark_no_show(&moved.new_invitee_uri)
        .await
        .expect("no-show");

    let truth = control.events().await.expect("truth");
    assert_eq!(truth.len(), 3, "three events exist");
    let by_uri = |uri: &str| {
        truth
            .iter()
            .find(|event| event.uri == uri)
            .unwrap_or_else(|| panic!("{uri} is in the truth"))
    };
    let old = by_uri(&moved.old_event_uri);
    // The old half is canceled, its invitee points at the new one, and vice versa.
    assert!(old.canceled && old.invitees[0].rescheduled);
    assert_eq!(
        old.invitees[0].new_invitee_uri.as_deref(),
        Some(moved.new_invitee_uri.as_str())
    );
    let new = by_uri(&moved.new_event_uri);
    assert_eq!(
        new.invitees[0].old_invitee_uri.as_deref(),
        Some(moved.old_invitee_uri.as_str())
    );
    assert!(new.invitees[0].no_show, "the no-show is in the truth");
    let host_canceled = by_uri(&canceled.event_uri);
    assert_eq!(
        host_canceled
            .cancellation
            .as_ref()
            .and_then(|record| record.reason.as_deref()),
        Some("Sick")
    );
    assert_eq!(
        new.location["type"], "zoom",
        "locations are rendered as the API shows them"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_prefix_ending_in_a_dollar_sign_matches_that_path_only() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let booked = control
        .book(&booking(24, "Ann", "ann@example.com"))
        .await
        .expect("book");
    control
        .inject_fault(&FaultRequest {
            path_prefix: "/scheduled_events$".into(),
            method: Some("GET".into()),
            fault: FaultKind::Status { status: 503 },
            count: 1,
        })
        .await
        .expect("inject");
    let id = booked.event_uri.rsplit('/').next().expect("an id");
    // One event and its invitees are other paths: untouched.
    let event = api_get(&fake, &token, &format!("/scheduled_events/{id}")).await;
    assert_eq!(event.status, StatusCode::OK);
    let listing = api_get(&fake, &token, &listing_path(&fake, "")).await;
    assert_eq!(listing.status, StatusCode::SERVICE_UNAVAILABLE);
    fake.shutdown().await;
}
