//! The relay's metric names (Prometheus text at `/metrics`).

pub const DELIVERIES_IN: &str = "relay_deliveries_in_total";
pub const DELIVERIES_OUT: &str = "relay_deliveries_out_total";
pub const DELIVERIES_DROPPED: &str = "relay_deliveries_dropped_total";
pub const CHANNELS_CREATED: &str = "relay_channels_created_total";
pub const SUBSCRIBERS_CONNECTED: &str = "relay_subscribers_connected";
pub const OLDEST_UNACKNOWLEDGED_SECONDS: &str = "relay_oldest_unacknowledged_delivery_age_seconds";
pub const INGEST_SECONDS: &str = "relay_ingest_duration_seconds";
pub const COMMIT_GROUP_SIZE: &str = "relay_commit_group_size";

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::RelayState;

/// Ingest latency buckets in seconds: group commit puts most ingests in the low milliseconds.
const INGEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process-wide Prometheus recorder, installed on first use. `None` when the embedding
/// program installed a recorder of its own (then it exports the relay's metrics itself).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(INGEST_SECONDS.to_owned()), INGEST_BUCKETS)
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full(COMMIT_GROUP_SIZE.to_owned()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                )
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder, so that counts start with the relay rather than with the first scrape.
/// The descriptions and the zero counters go to whichever recorder is installed, the relay's or
/// that of the program embedding it.
pub fn install() {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    let _ = handle();
    DESCRIBED.call_once(describe);
}

fn describe() {
    metrics::describe_counter!(DELIVERIES_IN, "Deliveries committed at ingress.");
    metrics::describe_counter!(DELIVERIES_OUT, "Deliveries sent to subscribers.");
    metrics::describe_counter!(
        DELIVERIES_DROPPED,
        "Unacknowledged deliveries dropped by a channel cap or by retention."
    );
    metrics::describe_counter!(CHANNELS_CREATED, "Channels created.");
    metrics::describe_gauge!(SUBSCRIBERS_CONNECTED, "Event streams open in this process.");
    metrics::describe_gauge!(
        OLDEST_UNACKNOWLEDGED_SECONDS,
        "Age of the oldest unacknowledged delivery in the store, in seconds."
    );
    metrics::describe_histogram!(
        COMMIT_GROUP_SIZE,
        "Writes folded into one store transaction (group commit)."
    );
    metrics::describe_histogram!(
        INGEST_SECONDS,
        "Time from an ingress request's body to its durable commit, in seconds."
    );
    // Every counter is exported from the start, so that an alert on a rate (say, of drops)
    // sees a zero rather than a missing series.
    for counter in [
        DELIVERIES_IN,
        DELIVERIES_OUT,
        DELIVERIES_DROPPED,
        CHANNELS_CREATED,
    ] {
        metrics::counter!(counter).increment(0);
    }
    metrics::gauge!(SUBSCRIBERS_CONNECTED).increment(0.0);
}

/// The Prometheus text of this process, with the store-wide gauge read fresh.
pub(crate) async fn render(state: &RelayState) -> Response {
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are exported by the program that embeds this relay",
        )
            .into_response();
    };
    let age = match state.store().oldest_pending().await {
        Ok(Some(oldest)) => (chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0,
        Ok(None) => 0.0,
        Err(error) => {
            tracing::error!(%error, "metrics: the store does not answer");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
        }
    };
    metrics::gauge!(OLDEST_UNACKNOWLEDGED_SECONDS).set(age);
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
