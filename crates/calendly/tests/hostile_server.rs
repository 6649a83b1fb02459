//! The client against a hostile (or badly broken) server on loopback: absurd numbers in the
//! rate-limit headers and bodies far larger than any Calendly answer. Nothing may panic, wait
//! for centuries, or read an endless body into memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use advicly_calendly::{CalendlyClient, ClientConfig, Error, StaticToken};
use advicly_core::Secret;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Serves `router` on 127.0.0.1:0 and returns a client configured for it.
async fn client_for(router: Router) -> CalendlyClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut config = ClientConfig::new(format!("http://{address}/").parse().unwrap());
    config.max_response_bytes = 1024 * 1024;
    config.request_timeout = Duration::from_secs(10);
    config.retry.base_delay = Duration::from_millis(5);
    config.retry.max_delay = Duration::from_millis(10);
    config.retry.max_rate_limit_retries = 2;
    config.retry.max_rate_limit_wait = Duration::from_millis(50);
    CalendlyClient::new(
        config,
        Arc::new(StaticToken::new(Secret::new("token-for-a-hostile-server"))),
    )
    .unwrap()
}

fn hostile_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("x-ratelimit-limit", "99999999999999999999999"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "18446744073709551615"),
        ("retry-after", "1e300"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

#[tokio::test]
async fn absurd_rate_limit_numbers_are_clamped_not_obeyed_or_panicked_on() {
    let client = client_for(Router::new().route(
        "/users/me",
        get(|| async { (StatusCode::TOO_MANY_REQUESTS, hostile_headers(), "{}").into_response() }),
    ))
    .await;
    let started = Instant::now();

    let error = client
        .current_user()
        .await
        .expect_err("429 on every attempt");

    // The wait announced is clamped to an hour, and the client's own cap is what it waited.
    match error {
        Error::RateLimited { retry_after } => assert_eq!(retry_after, Duration::from_secs(3600)),
        other => panic!("expected RateLimited, got {other}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_refused_unread() {
    let client = client_for(Router::new().route(
        "/users/me",
        get(|| async {
            // No Content-Length: only reading tells how big it is; 64 MiB of it would follow.
            let chunk = bytes_of(64 * 1024);
            let stream = futures::stream::iter(
                (0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }),
    ))
    .await;

    let error = client.current_user().await.expect_err("too large");

    assert!(
        matches!(&error, Error::Decode { message, .. } if message.contains("larger than 1 MiB")),
        "{error}"
    );
}

#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_refused_before_reading() {
    let client = client_for(Router::new().route(
        "/users/me",
        get(|| async { (StatusCode::OK, bytes_of(2 * 1024 * 1024)).into_response() }),
    ))
    .await;

    let error = client.current_user().await.expect_err("too large");

    assert!(matches!(error, Error::Decode { .. }), "{error}");
}

fn bytes_of(length: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b'x'; length])
}
