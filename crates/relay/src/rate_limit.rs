//! Rate limiting of channel creation per client address (`tower_governor`), answered with 429.

use std::net::IpAddr;
use std::sync::Arc;

use advicly_relay_protocol::ErrorBody;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::{KeyExtractor, SmartIpKeyExtractor};
use tower_governor::{GovernorError, GovernorLayer};

use crate::config::CreationRateLimit;

/// The client address a request counts against: the peer, or (behind a trusted proxy) the
/// address the proxy reports.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress {
    trust_forwarded_headers: bool,
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        if self.trust_forwarded_headers {
            return SmartIpKeyExtractor.extract(request);
        }
        request
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

pub type CreationLimiter = Arc<GovernorConfig<ClientAddress, NoOpMiddleware>>;

pub fn creation_limiter(
    limit: CreationRateLimit,
    trust_forwarded_headers: bool,
) -> CreationLimiter {
    let config = GovernorConfigBuilder::default()
        .period(limit.replenish_every)
        .burst_size(limit.burst.max(1))
        .key_extractor(ClientAddress {
            trust_forwarded_headers,
        })
        .finish()
        .expect("a positive period and burst make a valid quota");
    Arc::new(config)
}

/// The layer for `POST /v1/channels`.
pub fn layer(
    limiter: &CreationLimiter,
) -> GovernorLayer<ClientAddress, NoOpMiddleware, axum::body::Body> {
    GovernorLayer::new(limiter.clone()).error_handler(too_many)
}

fn too_many(error: GovernorError) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let body = ErrorBody {
                error: "rate_limited".into(),
                message: format!(
                    "too many channels created from this address; try again in {wait_time} s"
                ),
            };
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            if let Ok(value) = HeaderValue::from_str(&wait_time.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            tracing::error!("rate limiting could not tell the client's address");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(ErrorBody {
                    error: "internal".into(),
                    message: "the relay could not tell this client's address".into(),
                }),
            )
                .into_response()
        }
    }
}
