//! The client against the real fake Calendly over loopback: mapping, pagination, retries,
//! token refresh, pacing, network failures, webhook subscriptions and signed deliveries.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use advicly_calendly::webhook::{self, DEFAULT_TOLERANCE};
use advicly_calendly::{
    CalendlyClient, ClientConfig, DeleteOutcome, Error, EventQuery, NetworkFailure,
    NewWebhookSubscription, SortOrder, StaticToken, SubscriptionState, TokenError, TokenProvider,
};
use advicly_core::domain::{EventUri, InviteeUri, OrganizationUri, Status, UserUri};
use advicly_core::Secret;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use fake_calendly::{
    BookingRequest, CancelRequest, Canceler, FakeCalendly, FakeConfig, FakeHandle, FaultKind,
    FaultRequest, InviteeSpec, LocationSpec, MintTokenRequest, SeedRequest, TokenActionRequest,
};
use rstest::rstest;

/// A client configuration with delays shrunk so retry tests run in milliseconds.
fn fast_config(fake: &FakeHandle) -> ClientConfig {
    let mut config = ClientConfig::new(fake.api_base_url());
    config.request_timeout = Duration::from_secs(5);
    config.retry.base_delay = Duration::from_millis(10);
    config.retry.max_delay = Duration::from_millis(40);
    config.retry.max_attempts = 4;
    config.retry.max_rate_limit_retries = 5;
    config.retry.max_rate_limit_wait = Duration::from_millis(150);
    config.pacing.reset_margin = Duration::from_millis(20);
    config
}

async fn start_fake(config: FakeConfig) -> FakeHandle {
    FakeCalendly::start(config)
        .await
        .expect("the fake Calendly starts on loopback")
}

async fn personal_token(fake: &FakeHandle, scopes: Option<Vec<String>>) -> Secret {
    let minted = fake
        .control()
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: None,
            scopes,
        })
        .await
        .expect("the fake mints a personal access token");
    Secret::new(minted.token)
}

async fn client_for(fake: &FakeHandle, config: ClientConfig) -> CalendlyClient {
    let token = personal_token(fake, None).await;
    CalendlyClient::new(config, Arc::new(StaticToken::new(token))).expect("the client builds")
}

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 0, 0, 0).unwrap()
}

/// Midnight UTC `days` from now (the fake's clock is real time).
fn in_days(days: i64) -> DateTime<Utc> {
    let day = (Utc::now() + chrono::Duration::days(days)).date_naive();
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
}

fn query_for(fake: &FakeHandle, sort: SortOrder) -> EventQuery {
    EventQuery {
        user: UserUri::new(fake.default_user().user_uri.clone()),
        organization: None,
        status: None,
        min_start_time: at(2026, 1, 1),
        max_start_time: at(2027, 1, 1),
        sort,
        invitee_email: None,
    }
}

fn invitee(name: &str, email: &str) -> InviteeSpec {
    InviteeSpec {
        name: name.into(),
        email: email.into(),
        ..InviteeSpec::default()
    }
}

async fn book(
    fake: &FakeHandle,
    start: DateTime<Utc>,
    location: Option<LocationSpec>,
) -> (EventUri, InviteeUri) {
    let booking = fake
        .control()
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Pension review".into()),
            start_time: start,
            duration_minutes: Some(45),
            invitees: vec![invitee("Ann Lee", "ann@example.com")],
            location,
            invitee_limit: None,
        })
        .await
        .expect("the fake books a meeting");
    (
        EventUri::new(booking.event_uri),
        InviteeUri::new(booking.invitee_uris[0].clone()),
    )
}

async fn fault(
    fake: &FakeHandle,
    path_prefix: &str,
    method: Option<&str>,
    fault: FaultKind,
    count: u32,
) {
    fake.control()
        .inject_fault(&FaultRequest {
            path_prefix: path_prefix.into(),
            method: method.map(str::to_owned),
            fault,
            count,
        })
        .await
        .expect("the fake accepts the fault");
}

async fn fake_calls(fake: &FakeHandle, route: &str) -> u64 {
    let stats = fake
        .control()
        .stats()
        .await
        .expect("the fake reports stats");
    stats.api_calls.get(route).copied().unwrap_or(0)
}

#[tokio::test]
async fn current_user_is_the_token_owner() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let user = client.current_user().await.expect("users/me answers");
    let expected = fake.default_user();
    // The account row is keyed by these URIs; they must be Calendly's, verbatim.
    assert_eq!(user.uri.as_str(), expected.user_uri);
    assert_eq!(user.organization.as_str(), expected.organization_uri);
    assert_eq!(user.email, expected.email);
    assert_eq!(client.stats().users, 1, "one call, no retries");
}

#[tokio::test]
async fn event_types_come_with_names_colours_durations_and_the_active_flag() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let added = fake
        .control()
        .add_event_type(&fake_calendly::NewEventType {
            name: "Switched-off consultation".to_owned(),
            duration_minutes: Some(20),
            color: Some("#8247F5".to_owned()),
            ..Default::default()
        })
        .await
        .expect("added");
    fake.control()
        .update_event_type(&fake_calendly::EventTypeUpdate {
            event_type_uri: added.event_type_uri.clone(),
            active: Some(false),
            ..Default::default()
        })
        .await
        .expect("switched off");
    let user = UserUri::new(fake.default_user().user_uri.clone());
    let listing = client
        .list_event_types(&user)
        .await
        .expect("event types list");
    assert!(listing.complete, "every item was readable");
    let review = listing
        .event_types
        .iter()
        .find(|event_type| event_type.name.as_deref() == Some("Financial review"))
        .expect("the seeded advisor types are listed");
    assert_eq!(review.duration_minutes, Some(60));
    assert_eq!(review.kind.as_deref(), Some("solo"));
    assert!(review
        .color
        .as_deref()
        .is_some_and(|color| color.len() == 7 && color.starts_with('#')));
    assert!(review
        .scheduling_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://calendly.com/")));
    let workshop = listing
        .event_types
        .iter()
        .find(|event_type| event_type.kind.as_deref() == Some("group"))
        .expect("a group type is listed");
    assert!(workshop.active);
    let switched_off = listing
        .event_types
        .iter()
        .find(|event_type| event_type.uri.as_str() == added.event_type_uri)
        .expect("inactive types are listed too: old meetings still name them");
    assert!(!switched_off.active);
    assert_eq!(switched_off.color.as_deref(), Some("#8247f5"));
    assert_eq!(client.stats().event_types, 1, "one page, one call");
}

#[rstest]
#[case::ascending(SortOrder::Ascending)]
#[case::descending(SortOrder::Descending)]
#[tokio::test]
async fn paging_returns_every_event_exactly_once(#[case] sort: SortOrder) {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let seeded = fake
        .control()
        .seed(&SeedRequest {
            user_uri: None,
            count: 250,
            seed: 7,
            range_start: at(2026, 2, 1),
            range_end: at(2026, 12, 1),
        })
        .await
        .expect("the fake seeds events");
    let client = client_for(&fake, fast_config(&fake)).await;
    let query = query_for(&fake, sort);
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_scheduled_events_page(&query, page_token.as_deref())
            .await
            .expect("a page of events");
        pages += 1;
        assert!(
            page.skipped.is_empty(),
            "the fake's events all map: {:?}",
            page.skipped
        );
        seen.extend(
            page.events
                .iter()
                .map(|event| event.uri.as_str().to_owned()),
        );
        starts.extend(page.events.iter().map(|event| event.start_time));
        match page.next_page_token {
            Some(next) => page_token = Some(next),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    // Each seeded event arrives once: no page is skipped or repeated.
    assert_eq!(unique.len(), seen.len(), "an event came twice");
    assert_eq!(
        unique,
        seeded.event_uris.iter().cloned().collect::<BTreeSet<_>>()
    );
    // 250 events at 100 per page are exactly three requests.
    assert_eq!(pages, 3);
    assert_eq!(client.stats().scheduled_events, 3);
    // The requested order holds across page boundaries.
    let mut sorted = starts.clone();
    sorted.sort();
    if sort == SortOrder::Descending {
        sorted.reverse();
    }
    assert_eq!(starts, sorted, "events out of {sort:?} order");
}

#[tokio::test]
async fn all_invitees_of_a_big_group_event_are_collected() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let invitees: Vec<InviteeSpec> = (0..130)
        .map(|index| {
            invitee(
                &format!("Guest {index}"),
                &format!("guest{index}@example.com"),
            )
        })
        .collect();
    let booking = fake
        .control()
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: None,
            event_name: Some("Seminar".into()),
            start_time: at(2026, 6, 1),
            duration_minutes: Some(60),
            invitees,
            location: None,
            invitee_limit: Some(200),
        })
        .await
        .expect("the fake books a group event");
    let client = client_for(&fake, fast_config(&fake)).await;
    let fetched = client
        .list_invitees(&EventUri::new(booking.event_uri.clone()))
        .await
        .expect("all invitees");
    let emails: BTreeSet<_> = fetched
        .iter()
        .map(|invitee| invitee.email.clone())
        .collect();
    // 130 invitees need two pages of 100; all must come back, once each.
    assert_eq!(fetched.len(), 130);
    assert_eq!(emails.len(), 130);
    assert_eq!(client.stats().invitees, 2);
    // Every invitee points back at its event.
    assert!(fetched
        .iter()
        .all(|invitee| invitee.event.as_str() == booking.event_uri));
}

#[rstest]
#[case::teleporter(
    Some(LocationSpec::Raw { value: serde_json::json!({"type": "teleporter", "location": "Deck 7"}) }),
    Some("teleporter"),
    Some("Deck 7")
)]
// The fake sends what real 2021 payloads show: `{"location": null, "type": "custom"}`.
#[case::no_location(Some(LocationSpec::NoLocation), Some("custom"), None)]
#[case::physical(Some(LocationSpec::Physical { location: "1 Main St".into() }), Some("physical"), Some("1 Main St"))]
#[tokio::test]
async fn single_event_and_invitee_round_trip(
    #[case] location: Option<LocationSpec>,
    #[case] kind: Option<&str>,
    #[case] detail: Option<&str>,
) {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let (event_uri, invitee_uri) = book(&fake, at(2026, 5, 4), location).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let event = client
        .get_scheduled_event(&event_uri)
        .await
        .expect("the event");
    assert_eq!(event.uri, event_uri);
    assert_eq!(event.status, Status::Active);
    assert_eq!(event.name.as_deref(), Some("Pension review"));
    // Unknown location types and location-less events are stored, never fatal.
    assert_eq!(event.location.kind.as_deref(), kind);
    assert_eq!(event.location.detail.as_deref(), detail);
    let invitee = client.get_invitee(&invitee_uri).await.expect("the invitee");
    assert_eq!(invitee.uri, invitee_uri);
    assert_eq!(
        invitee.event, event_uri,
        "the invitee belongs to the booked event"
    );
    assert_eq!(invitee.email, "ann@example.com");
}

#[tokio::test]
async fn canceling_as_host_and_canceling_again() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    // Calendly refuses to cancel past events, so book one in the future.
    let (event_uri, _) = book(&fake, in_days(30), None).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let cancellation = client
        .cancel_event(&event_uri, Some("Advisor unavailable"))
        .await
        .expect("the first cancel succeeds");
    assert_eq!(cancellation.canceler_type.as_deref(), Some("host"));
    let event = client.get_scheduled_event(&event_uri).await.unwrap();
    // The event now reads as canceled, with the cancellation attached.
    assert_eq!(event.status, Status::Canceled);
    assert!(event.cancellation.is_some());
    let again = client.cancel_event(&event_uri, None).await;
    // Calendly refuses a second cancel with 403 "Event is already canceled"; POSTs are not retried.
    assert!(
        matches!(again, Err(Error::Forbidden { .. })),
        "got {again:?}"
    );
    assert_eq!(
        client.stats().cancellations,
        2,
        "the refused cancel was not repeated"
    );
}

#[tokio::test]
async fn canceled_filter_and_invitee_email_filter_reach_the_server() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let (kept, _) = book(&fake, at(2026, 3, 1), None).await;
    let (canceled, _) = book(&fake, at(2026, 3, 2), None).await;
    fake.control()
        .cancel(&CancelRequest {
            event_uri: Some(canceled.as_str().to_owned()),
            invitee_uri: None,
            canceled_by: Canceler::Invitee,
            reason: Some(String::new()),
        })
        .await
        .unwrap();
    let client = client_for(&fake, fast_config(&fake)).await;
    let mut query = query_for(&fake, SortOrder::Ascending);
    query.status = Some(advicly_calendly::EventStatusFilter::Canceled);
    let page = client
        .list_scheduled_events_page(&query, None)
        .await
        .unwrap();
    let uris: Vec<_> = page.events.iter().map(|event| event.uri.clone()).collect();
    // Only the canceled meeting matches the status filter.
    assert_eq!(uris, vec![canceled.clone()]);
    // An empty reason is kept as sent.
    assert_eq!(
        page.events[0]
            .cancellation
            .as_ref()
            .and_then(|c| c.reason.as_deref()),
        Some("")
    );
    query.status = None;
    query.invitee_email = Some("nobody@example.com".into());
    let page = client
        .list_scheduled_events_page(&query, None)
        .await
        .unwrap();
    // No meeting has that invitee.
    assert!(
        page.events.is_empty(),
        "found {:?} (kept: {kept})",
        page.events
    );
}

#[rstest]
#[case::internal_error(500)]
#[case::bad_gateway(502)]
#[case::unavailable(503)]
#[tokio::test]
async fn a_5xx_storm_is_retried_until_success(#[case] status: u16) {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    fault(&fake, "/users/me", None, FaultKind::Status { status }, 3).await;
    let user = client.current_user().await;
    // Three failures fit in four attempts.
    assert!(user.is_ok(), "got {user:?}");
    let stats = client.stats();
    assert_eq!(stats.server_errors, 3);
    assert_eq!(stats.retries, 3);
    assert_eq!(
        stats.users, 4,
        "three failed attempts and the successful one"
    );
    // Only the last attempt got past the fake's fault layer to the API.
    assert_eq!(fake_calls(&fake, "GET /users/me").await, 1);
}

#[tokio::test]
async fn retries_are_bounded_and_end_in_a_clear_error() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    fault(
        &fake,
        "/users/me",
        None,
        FaultKind::Status { status: 500 },
        50,
    )
    .await;
    let result = client.current_user().await;
    match &result {
        // The error names the status so the advisor knows it is Calendly's side.
        Err(error @ Error::Server { status: 500, .. }) => {
            assert!(error.to_string().contains("HTTP 500"), "message: {error}")
        }
        other => panic!("expected Error::Server, got {other:?}"),
    }
    // Exactly max_attempts requests, never more.
    assert_eq!(client.stats().users, 4);
}

#[tokio::test]
async fn a_failed_post_is_not_repeated_on_500() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let (event_uri, _) = book(&fake, in_days(30), None).await;
    fault(
        &fake,
        "/scheduled_events/",
        Some("POST"),
        FaultKind::Status { status: 500 },
        1,
    )
    .await;
    let result = client.cancel_event(&event_uri, None).await;
    // Calendly may have acted on a POST that answered 500; repeating it could act twice.
    assert!(
        matches!(result, Err(Error::Server { status: 500, .. })),
        "got {result:?}"
    );
    assert_eq!(client.stats().cancellations, 1);
}

#[tokio::test]
async fn a_429_storm_is_waited_out() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let config = fast_config(&fake);
    let honoured_wait = config.retry.max_rate_limit_wait;
    let client = client_for(&fake, config).await;
    fault(
        &fake,
        "/users/me",
        None,
        FaultKind::Status { status: 429 },
        3,
    )
    .await;
    let started = Instant::now();
    let user = client.current_user().await;
    assert!(user.is_ok(), "got {user:?}");
    // Each 429 waits for the reset (capped at the configured maximum in this test).
    assert!(
        started.elapsed() >= honoured_wait * 3,
        "retried after only {:?}",
        started.elapsed()
    );
    let stats = client.stats();
    assert_eq!(stats.rate_limited, 3);
    assert_eq!(stats.retries, 3);
}

#[tokio::test]
async fn endless_429s_end_in_rate_limited_with_the_reported_reset() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let mut config = fast_config(&fake);
    config.retry.max_rate_limit_retries = 2;
    let client = client_for(&fake, config).await;
    fault(
        &fake,
        "/users/me",
        None,
        FaultKind::Status { status: 429 },
        50,
    )
    .await;
    let result = client.current_user().await;
    match result {
        // retry_after is Calendly's X-RateLimit-Reset (the fake's injected 429 says 60 s).
        Err(Error::RateLimited { retry_after }) => assert_eq!(retry_after, Duration::from_secs(60)),
        other => panic!("expected Error::RateLimited, got {other:?}"),
    }
    // One try plus two retries.
    assert_eq!(client.stats().users, 3);
    assert_eq!(client.stats().rate_limited, 3);
}

/// Hands out an expired token first, then a fresh one when told about the 401.
struct RotatingTokens {
    first: Secret,
    after_refresh: Secret,
    refreshes: AtomicU32,
}

#[async_trait]
impl TokenProvider for RotatingTokens {
    async fn access_token(&self) -> Result<Secret, TokenError> {
        Ok(self.first.clone())
    }

    async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret, TokenError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        // The client must report the token that was actually rejected.
        assert_eq!(
            rejected, &self.first,
            "refresh was told about the wrong token"
        );
        Ok(self.after_refresh.clone())
    }
}

#[rstest]
#[case::fresh_token_works(true)]
#[case::refreshed_token_also_rejected(false)]
#[tokio::test]
async fn a_401_refreshes_once_then_retries(#[case] refresh_helps: bool) {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let expired = personal_token(&fake, None).await;
    let also_expired = personal_token(&fake, None).await;
    fake.control()
        .expire_tokens(&TokenActionRequest::default())
        .await
        .expect("the fake expires the tokens");
    let fresh = personal_token(&fake, None).await;
    let tokens = Arc::new(RotatingTokens {
        first: expired,
        after_refresh: if refresh_helps { fresh } else { also_expired },
        refreshes: AtomicU32::new(0),
    });
    let client = CalendlyClient::new(fast_config(&fake), tokens.clone()).unwrap();
    let result = client.current_user().await;
    // The provider is asked exactly once, whatever the outcome.
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(client.stats().token_refreshes, 1);
    if refresh_helps {
        assert!(
            result.is_ok(),
            "the retry with the fresh token succeeds: {result:?}"
        );
    } else {
        // A second 401 means the account must be reconnected.
        assert!(
            matches!(result, Err(Error::Unauthorized { .. })),
            "got {result:?}"
        );
    }
    assert_eq!(fake_calls(&fake, "GET /users/me").await, 2);
}

#[tokio::test]
async fn an_expired_personal_token_is_unauthorized_without_a_second_try() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let token = personal_token(&fake, None).await;
    let client = CalendlyClient::new(
        fast_config(&fake),
        Arc::new(StaticToken::new(token.clone())),
    )
    .unwrap();
    fake.control()
        .expire_tokens(&TokenActionRequest::default())
        .await
        .unwrap();
    let result = client.current_user().await;
    // A PAT cannot be refreshed: one request, then Unauthorized.
    assert!(
        matches!(result, Err(Error::Unauthorized { .. })),
        "got {result:?}"
    );
    assert_eq!(fake_calls(&fake, "GET /users/me").await, 1);
    // The rejected token must not leak into what gets logged or shown.
    let shown = format!("{result:?} {} {client:?}", result.as_ref().unwrap_err());
    assert!(!shown.contains(token.expose()), "token leaked: {shown}");
}

#[tokio::test]
async fn a_missing_scope_is_forbidden_and_names_the_scope() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let token = personal_token(&fake, Some(vec!["users:read".into()])).await;
    let client =
        CalendlyClient::new(fast_config(&fake), Arc::new(StaticToken::new(token))).unwrap();
    let result = client
        .list_scheduled_events_page(&query_for(&fake, SortOrder::Ascending), None)
        .await;
    match result {
        // The advisor must be told which permission to grant when reconnecting.
        Err(Error::Forbidden {
            required_scopes, ..
        }) => {
            assert!(required_scopes
                .iter()
                .any(|scope| scope == "scheduled_events:read"))
        }
        other => panic!("expected Error::Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn dropped_connections_are_retried_then_reported_as_network() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    fault(&fake, "/users/me", None, FaultKind::DropConnection, 2).await;
    // Two drops fit in four attempts.
    assert!(client.current_user().await.is_ok());
    fault(&fake, "/users/me", None, FaultKind::DropConnection, 50).await;
    let result = client.current_user().await;
    match &result {
        // The app shows "offline" for exactly this kind of error.
        Err(error @ Error::Network { kind, .. }) => {
            assert_eq!(*kind, NetworkFailure::Interrupted);
            assert!(error.is_offline());
        }
        other => panic!("expected Error::Network, got {other:?}"),
    }
    assert_eq!(client.stats().network_errors, 2 + 4);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_network() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let mut config = fast_config(&fake);
    config.request_timeout = Duration::from_millis(200);
    config.retry.max_attempts = 2;
    let client = client_for(&fake, config).await;
    fault(
        &fake,
        "/users/me",
        None,
        FaultKind::Latency { millis: 3000 },
        2,
    )
    .await;
    let result = client.current_user().await;
    // A hung Calendly must not hang the sync; it surfaces as a timeout.
    assert!(
        matches!(
            result,
            Err(Error::Network {
                kind: NetworkFailure::Timeout,
                ..
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_connect_failure() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let token = personal_token(&fake, None).await;
    // Bind and release a port so that nothing listens on it.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = fast_config(&fake);
    config.api_base = format!("http://127.0.0.1:{closed_port}").parse().unwrap();
    let client = CalendlyClient::new(config, Arc::new(StaticToken::new(token))).unwrap();
    let result = client.current_user().await;
    // Offline is its own error kind, after the bounded retries.
    assert!(
        matches!(
            result,
            Err(Error::Network {
                kind: NetworkFailure::Connect,
                ..
            })
        ),
        "got {result:?}"
    );
    assert_eq!(client.stats().network_errors, 4);
}

#[tokio::test]
async fn pacing_stops_at_the_reserve_and_never_causes_a_429() {
    let mut fake_config = FakeConfig::for_tests();
    fake_config.rate_limit_per_minute = 30;
    let fake = start_fake(fake_config).await;
    let mut config = fast_config(&fake);
    // Spend the budget as fast as allowed; only the reserve and the reset hold requests back.
    config.pacing.burst_fraction = 1.0;
    let client = client_for(&fake, config).await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.current_user().await }));
    }
    // Wait (bounded) until the pacer holds back everything beyond the usable budget.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = client.pacing_status();
        let done = tasks.iter().filter(|task| task.is_finished()).count();
        if done == 28 && status.held_back == 12 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pacer did not settle: {done} done, {status:?}, {:?}",
            client.stats()
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // 30 per minute minus the reserve of 2 for other integrations.
    assert_eq!(fake_calls(&fake, "GET /users/me").await, 28);
    assert_eq!(client.stats().rate_limited, 0, "the client caused a 429");
    let status = client.pacing_status();
    assert_eq!(status.reserve, Some(2));
    assert_eq!(
        status.estimated_remaining,
        Some(2),
        "the reserve is left untouched"
    );
    for task in tasks {
        task.abort();
    }
}

#[tokio::test]
async fn webhook_subscription_lifecycle() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let user = client.current_user().await.unwrap();
    let request = NewWebhookSubscription {
        callback_url: "https://relay.example/hooks/account-1".into(),
        events: vec!["invitee.created".into(), "invitee.canceled".into()],
        organization: user.organization.clone(),
        user: user.uri.clone(),
        signing_key: Some(Secret::new("per-subscription-key")),
    };
    let created = client
        .create_webhook_subscription(&request)
        .await
        .expect("created");
    assert_eq!(created.state, SubscriptionState::Active);
    assert_eq!(created.callback_url, request.callback_url);
    assert_eq!(created.scope, "user");
    // The same callback URL again is a distinct, recoverable error.
    let duplicate = client.create_webhook_subscription(&request).await;
    assert!(
        matches!(duplicate, Err(Error::AlreadyExists { .. })),
        "got {duplicate:?}"
    );
    let listed = client
        .list_webhook_subscriptions(&user.organization, &user.uri)
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![created.clone()],
        "the list shows exactly the one subscription"
    );
    let fetched = client.get_webhook_subscription(&created.uri).await.unwrap();
    assert_eq!(fetched, created);
    assert_eq!(
        client
            .delete_webhook_subscription(&created.uri)
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    // Deleting what is already gone reaches the goal all the same.
    assert_eq!(
        client
            .delete_webhook_subscription(&created.uri)
            .await
            .unwrap(),
        DeleteOutcome::AlreadyGone
    );
    assert!(client
        .list_webhook_subscriptions(&user.organization, &user.uri)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn many_subscriptions_are_listed_across_pages() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let organization = OrganizationUri::new(fake.default_user().organization_uri.clone());
    let user = UserUri::new(fake.default_user().user_uri.clone());
    for index in 0..105 {
        client
            .create_webhook_subscription(&NewWebhookSubscription {
                callback_url: format!("https://relay.example/hooks/{index}"),
                events: vec!["invitee.created".into()],
                organization: organization.clone(),
                user: user.clone(),
                signing_key: None,
            })
            .await
            .unwrap();
    }
    let before = client.stats();
    let listed = client
        .list_webhook_subscriptions(&organization, &user)
        .await
        .unwrap();
    // 105 subscriptions come back from two pages.
    assert_eq!(listed.len(), 105);
    assert_eq!(client.stats().since(&before).webhook_subscriptions, 2);
}

#[tokio::test]
async fn signed_deliveries_from_the_fake_verify_and_parse() {
    let fake = start_fake(FakeConfig::for_tests()).await;
    let client = client_for(&fake, fast_config(&fake)).await;
    let user = client.current_user().await.unwrap();
    let signing_key = Secret::new("delivery-test-key");
    // Nothing listens on the callback; the fake records each attempt with body and signature.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    client
        .create_webhook_subscription(&NewWebhookSubscription {
            callback_url: format!("http://127.0.0.1:{closed_port}/hook"),
            events: vec!["invitee.created".into()],
            organization: user.organization.clone(),
            user: user.uri.clone(),
            signing_key: Some(signing_key.clone()),
        })
        .await
        .unwrap();
    let (event_uri, invitee_uri) = book(&fake, at(2026, 9, 9), None).await;
    let deliveries = fake
        .control()
        .wait_for_deliveries(
            "the invitee.created attempt",
            Duration::from_secs(10),
            |records| !records.is_empty(),
        )
        .await
        .unwrap();
    let record = &deliveries[0];
    let header = record
        .signature
        .as_deref()
        .expect("the subscription has a key, so it signs");
    // The signature covers the raw body exactly as sent.
    webhook::verify_signature(
        header,
        record.body.as_bytes(),
        &signing_key,
        Utc::now(),
        DEFAULT_TOLERANCE,
    )
    .expect("the fake's signature verifies");
    // A different key must not verify it.
    assert!(webhook::verify_signature(
        header,
        record.body.as_bytes(),
        &Secret::new("another key"),
        Utc::now(),
        DEFAULT_TOLERANCE
    )
    .is_err());
    let delivery = webhook::parse_delivery(record.body.as_bytes()).expect("the delivery parses");
    assert_eq!(delivery.event_name, "invitee.created");
    assert_eq!(delivery.invitee.uri, invitee_uri);
    assert_eq!(delivery.scheduled_event.uri, event_uri);
    assert_eq!(delivery.invitee.email, "ann@example.com");
}

#[tokio::test]
async fn an_exhausted_window_is_waited_out_using_the_reported_reset() {
    let mut fake_config = FakeConfig::for_tests();
    fake_config.rate_limit_per_minute = 3;
    let fake = start_fake(fake_config).await;
    let mut config = fast_config(&fake);
    // Without pacing the client runs into the fake's real limit; that is the point here.
    config.pacing.enabled = false;
    config.retry.max_rate_limit_wait = Duration::from_millis(300);
    config.retry.max_rate_limit_retries = 50;
    let client = client_for(&fake, config).await;
    for _ in 0..3 {
        client.current_user().await.expect("within the limit");
    }
    let blocked = tokio::spawn({
        let client = client.clone();
        async move { client.current_user().await }
    });
    // Wait (bounded) until the fourth request has met the 429 ...
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.stats().rate_limited == 0 {
        assert!(Instant::now() < deadline, "no 429 arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ... then let the fake's minute pass, as the reset header promised it would.
    fake.control().shift_clock(61).await.unwrap();
    let user = blocked.await.unwrap();
    assert!(user.is_ok(), "the retry after the reset succeeds: {user:?}");
    assert!(client.stats().rate_limited >= 1);
}

#[tokio::test]
async fn giving_up_on_a_real_429_reports_calendlys_reset() {
    let mut fake_config = FakeConfig::for_tests();
    fake_config.rate_limit_per_minute = 2;
    let fake = start_fake(fake_config).await;
    let mut config = fast_config(&fake);
    config.pacing.enabled = false;
    config.retry.max_rate_limit_retries = 1;
    let client = client_for(&fake, config).await;
    client.current_user().await.unwrap();
    client.current_user().await.unwrap();
    match client.current_user().await {
        // The caller learns when to come back: the window's real remaining time (< 60 s).
        Err(Error::RateLimited { retry_after }) => assert!(
            retry_after > Duration::from_secs(30) && retry_after <= Duration::from_secs(60),
            "retry_after {retry_after:?} is not the window's reset"
        ),
        other => panic!("expected Error::RateLimited, got {other:?}"),
    }
}
