//! Bad input never panics the fake: malformed JSON, missing fields, wrong types, huge bodies and
//! garbage query parameters get 400/413 in Calendly's error shape, and the fake keeps serving.

use axum::http::StatusCode;
use fake_calendly::FakeConfig;
use reqwest::Method;
use rstest::rstest;
use serde_json::{json, Value};

use crate::support::*;

fn assert_error_shape(body: &Value, context: &str) {
    assert!(
        body["title"].is_string(),
        "{context}: the error has a title: {body}"
    );
    assert!(
        body["message"].is_string(),
        "{context}: the error has a message: {body}"
    );
}

#[rstest]
#[case::not_json("this is not json", "body")]
#[case::truncated(r#"{"url": "http://127.0.0.1:9/x", "events": ["#, "body")]
#[case::trailing_garbage(r#"{"url": "http://127.0.0.1:9/x"} trailing"#, "body")]
#[case::missing_url(
    r#"{"events": ["invitee.created"], "organization": "o", "scope": "user"}"#,
    "url"
)]
#[case::wrong_type(
    r#"{"url": 5, "events": ["invitee.created"], "organization": "o", "scope": "user"}"#,
    "body"
)]
#[case::array_body(r#"[1, 2, 3]"#, "body")]
#[tokio::test]
async fn malformed_subscription_bodies_get_400_with_details(
    #[case] body: &str,
    #[case] parameter: &str,
) {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let response = send(
        reqwest::Client::new()
            .post(format!(
                "{}/webhook_subscriptions",
                base(&fake.api_base_url())
            ))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "bad JSON is a 400: {}",
        response.body
    );
    assert_error_shape(&response.body, "malformed body");
    assert_eq!(
        response.body["title"], "Invalid Argument",
        "Calendly's 400 title"
    );
    if parameter != "body" {
        assert_eq!(
            response.body["details"][0]["parameter"], parameter,
            "the detail names the missing field"
        );
    }
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "the fake still serves after bad input"
    );
    fake.shutdown().await;
}

#[rstest]
#[case::bad_events(json!({"url": "http://127.0.0.1:9/x", "events": ["invitee.teleported"], "scope": "user"}), "events")]
#[case::empty_events(json!({"url": "http://127.0.0.1:9/x", "events": [], "scope": "user"}), "events")]
#[case::relative_url(json!({"url": "/relative", "events": ["invitee.created"], "scope": "user"}), "url")]
#[case::bad_scope(json!({"url": "http://127.0.0.1:9/x", "events": ["invitee.created"], "scope": "planet"}), "scope")]
#[case::user_scope_without_user(json!({"url": "http://127.0.0.1:9/x", "events": ["invitee.created"], "scope": "user", "user": null}), "user")]
#[tokio::test]
async fn invalid_subscription_fields_get_400_naming_the_parameter(
    #[case] mut body: Value,
    #[case] parameter: &str,
) {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    body["organization"] = json!(fake.default_user().organization_uri);
    let response =
        api_send_json(&fake, &token, Method::POST, "/webhook_subscriptions", &body).await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "invalid input is a 400: {}",
        response.body
    );
    assert_eq!(
        response.body["details"][0]["parameter"], parameter,
        "the detail names {parameter}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn huge_bodies_get_413_in_the_error_shape() {
    let fake = start(FakeConfig {
        max_body_bytes: 64 * 1024,
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    let huge = format!(r#"{{"reason": "{}"}}"#, "x".repeat(200 * 1024));
    let booked = fake
        .control()
        .book(&booking(24, "Olivia Smith", "olivia@example.com"))
        .await
        .expect("book");
    let uuid = booked.event_uri.rsplit('/').next().expect("uuid");
    let response = send(
        reqwest::Client::new()
            .post(format!(
                "{}/scheduled_events/{uuid}/cancellation",
                base(&fake.api_base_url())
            ))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(huge.clone()),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversized bodies are refused: {}",
        response.body
    );
    assert_error_shape(&response.body, "huge body");
    let control = send(
        reqwest::Client::new()
            .post(format!("{}/_control/bookings", base(&fake.api_base_url())))
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_eq!(
        control.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "the control API has the same limit"
    );
    let event = api_get(&fake, &token, &booked.event_uri).await;
    assert_eq!(
        event.body["resource"]["status"], "active",
        "a refused cancel changed nothing"
    );
    fake.shutdown().await;
}

#[rstest]
#[case::count_zero("count=0")]
#[case::count_too_big("count=101")]
#[case::count_not_a_number("count=lots")]
#[case::bad_time("min_start_time=yesterday")]
#[case::bad_status("status=maybe")]
#[case::bad_page_token("page_token=%%%")]
#[case::bad_sort("sort=start_time:sideways")]
#[tokio::test]
async fn garbage_query_parameters_get_400(#[case] query: &str) {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let response = api_get(
        &fake,
        &token,
        &format!(
            "/scheduled_events?user={}&{query}",
            fake.default_user().user_uri
        ),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{query} is rejected: {}",
        response.body
    );
    assert_error_shape(&response.body, query);
    fake.shutdown().await;
}

#[tokio::test]
async fn oauth_and_control_endpoints_reject_bad_input_without_panicking() {
    let fake = start(FakeConfig::for_tests()).await;
    let client = reqwest::Client::new();
    let token_url = fake.auth_base_url().join("/oauth/token").expect("path");
    let json_body = send(
        client
            .post(token_url.clone())
            .json(&json!({"grant_type": "refresh_token"})),
    )
    .await;
    assert_eq!(
        json_body.status,
        StatusCode::BAD_REQUEST,
        "the token endpoint wants a form body"
    );
    assert_eq!(
        json_body.body["error"], "invalid_request",
        "OAuth error shape"
    );
    let unknown_grant = send(client.post(token_url.clone()).form(&[
        ("grant_type", "password"),
        ("client_id", "fake-calendly-client-id"),
    ]))
    .await;
    assert_eq!(
        unknown_grant.body["error"], "unsupported_grant_type",
        "unknown grants are named"
    );
    let missing_grant = send(
        client
            .post(token_url)
            .form(&[("client_id", "fake-calendly-client-id")]),
    )
    .await;
    assert_eq!(
        missing_grant.body["error"], "invalid_request",
        "a missing grant_type is invalid_request"
    );
    let decision = send(
        client
            .post(
                fake.auth_base_url()
                    .join("/oauth/authorize/decision")
                    .expect("path"),
            )
            .form(&[("consent_id", "nope")]),
    )
    .await;
    assert_eq!(
        decision.status,
        StatusCode::BAD_REQUEST,
        "an unknown consent id is refused"
    );

    let control = |path: &str, body: &str| {
        client
            .post(format!("{}/_control/{path}", base(&fake.api_base_url())))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    for (path, body) in [
        ("bookings", "{"),
        (
            "bookings",
            r#"{"start_time": "not a time", "invitees": []}"#,
        ),
        (
            "bookings",
            r#"{"start_time": "2026-01-01T10:00:00Z", "invitees": []}"#,
        ),
        (
            "bookings",
            r#"{"start_time": "2026-01-01T10:00:00Z", "invitees": [{"name": "A", "email": "not-an-email"}]}"#,
        ),
        ("cancel", r#"{"canceled_by": "host"}"#),
        (
            "cancel",
            r#"{"canceled_by": "host", "event_uri": "http://elsewhere/scheduled_events/x"}"#,
        ),
        (
            "reschedule",
            r#"{"invitee_uri": "x", "new_start_time": "2026-01-01T10:00:00Z"}"#,
        ),
        (
            "seed",
            r#"{"count": 5, "seed": 1, "range_start": "2026-02-01T00:00:00Z", "range_end": "2026-01-01T00:00:00Z"}"#,
        ),
        (
            "faults",
            r#"{"path_prefix": "/x", "fault": {"kind": "status", "status": 1000}, "count": 1}"#,
        ),
        ("clock/shift", r#"{"seconds": 9223372036854775807}"#),
        ("clock/shift", r#"{"seconds": -9223372036854775808}"#),
    ] {
        let response = send(control(path, body)).await;
        assert!(
            response.status == StatusCode::BAD_REQUEST || response.status == StatusCode::NOT_FOUND,
            "{path} {body} is refused: {} {}",
            response.status,
            response.body
        );
        assert_error_shape(&response.body, path);
    }
    let token = full_access_token(&fake).await;
    assert_eq!(
        api_get(&fake, &token, "/users/me").await.status,
        StatusCode::OK,
        "the fake still serves after all of that"
    );
    let unknown_route = api_get(&fake, &token, "/no/such/route").await;
    assert_eq!(
        unknown_route.status,
        StatusCode::NOT_FOUND,
        "unknown routes are 404"
    );
    assert_error_shape(&unknown_route.body, "unknown route");
    fake.shutdown().await;
}

#[tokio::test]
async fn framework_rejections_also_use_the_listeners_error_shape() {
    let fake = start(FakeConfig {
        max_body_bytes: 16 * 1024,
        ..FakeConfig::for_tests()
    })
    .await;
    let token = full_access_token(&fake).await;
    let bad_segment = api_get(&fake, &token, "/scheduled_events/%FF%FE").await;
    assert!(
        bad_segment.status.is_client_error(),
        "an undecodable path segment is a client error"
    );
    assert_error_shape(&bad_segment.body, "bad path segment");
    let wrong_method = send(
        reqwest::Client::new()
            .put(format!("{}/users/me", base(&fake.api_base_url())))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        wrong_method.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "PUT on a GET route is 405"
    );
    assert_error_shape(&wrong_method.body, "wrong method");
    let huge_form = send(
        reqwest::Client::new()
            .post(fake.auth_base_url().join("/oauth/token").expect("path"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=refresh_token&refresh_token={}",
                "a".repeat(64 * 1024)
            )),
    )
    .await;
    assert_eq!(
        huge_form.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversized token requests are refused"
    );
    assert_eq!(
        huge_form.body["error"], "invalid_request",
        "the OAuth listener keeps the OAuth error shape"
    );
    assert!(
        huge_form.body["error_description"].is_string(),
        "with a description"
    );
    fake.shutdown().await;
}

/// Random bodies posted to every body-taking endpoint never produce a 5xx or a non-JSON answer,
/// and the fake keeps serving afterwards.
#[test]
fn random_bodies_never_break_the_fake() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (fake, token) = runtime.block_on(async {
        let fake = start(FakeConfig::for_tests()).await;
        let token = full_access_token(&fake).await;
        (fake, token)
    });
    let api = base(&fake.api_base_url());
    let endpoints: Vec<String> = [
        "/webhook_subscriptions",
        "/invitee_no_shows",
        "/scheduled_events/x/cancellation",
        "/_control/bookings",
        "/_control/cancel",
        "/_control/reschedule",
        "/_control/seed",
        "/_control/faults",
        "/_control/users",
        "/_control/events/update",
        "/_control/tokens/personal",
    ]
    .iter()
    .map(|path| format!("{api}{path}"))
    .collect();
    let json_fragment = prop_oneof![
        any::<String>(),
        Just(r#"{"url": null}"#.to_string()),
        Just(
            r#"{"start_time": "2026-01-01T00:00:00Z", "invitees": [{"name": "", "email": "@"}]}"#
                .to_string()
        ),
        Just(r#"{"count": 1e400}"#.to_string()),
        Just(r#"{"a": [[[[[[[[[[]]]]]]]]]]}"#.to_string()),
        "\\{\"[a-z_]{1,12}\": [0-9\"a-z\\[\\]{}:,]{0,40}\\}",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(0..endpoints.len(), json_fragment), |(index, body)| {
            let response = runtime.block_on(send(
                reqwest::Client::new()
                    .post(&endpoints[index])
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone()),
            ));
            prop_assert!(
                !response.status.is_server_error(),
                "{} {body:?} gave {}",
                endpoints[index],
                response.status
            );
            if response.status.is_client_error() {
                prop_assert!(
                    response.body["title"].is_string() && response.body["message"].is_string(),
                    "error shape for {body:?}: {}",
                    response.body
                );
            }
            Ok(())
        })
        .expect("no input breaks the fake");
    let still_alive = runtime.block_on(api_get(&fake, &token, "/users/me"));
    assert_eq!(
        still_alive.status,
        StatusCode::OK,
        "the fake still serves after random input"
    );
    runtime.block_on(fake.shutdown());
}
