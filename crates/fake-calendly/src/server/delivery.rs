//! The background webhook delivery task: signs and POSTs queued messages, retries failures with
//! exponential backoff, and disables a subscription whose failures outlast the retry window.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use crate::control_model::DeliveryRecord;
use crate::tokio_util_free::ShutdownSignal;

/// One attempt taken out of the outbox.
struct Attempt {
    message_id: u64,
    subscription_uuid: String,
    subscription_uri: String,
    callback_url: String,
    event: String,
    body: String,
    attempt: u32,
    signing_key: Option<String>,
    injected_failure: bool,
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, as Calendly sends it.
pub(crate) fn signature_header(signing_key: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Picks due messages: per subscription only the oldest due one, and never two at once for one
/// subscription, so deliveries to one receiver keep their order.
fn take_due(shared: &AppState) -> (Vec<Attempt>, Option<Instant>) {
    let now = Instant::now();
    let mut model = shared.model();
    let busy: HashSet<String> = model
        .outbox
        .iter()
        .filter(|message| message.in_flight)
        .map(|message| message.subscription_uuid.clone())
        .collect();
    let mut chosen: Vec<u64> = Vec::new();
    let mut chosen_subscriptions: HashSet<String> = HashSet::new();
    let mut order: Vec<(u64, String, Instant)> = model
        .outbox
        .iter()
        .filter(|message| !message.in_flight)
        .map(|message| {
            (
                message.message_id,
                message.subscription_uuid.clone(),
                message.next_attempt_at,
            )
        })
        .collect();
    order.sort();
    let mut next_wake: Option<Instant> = None;
    for (message_id, subscription_uuid, due_at) in order {
        if busy.contains(&subscription_uuid) || chosen_subscriptions.contains(&subscription_uuid) {
            continue;
        }
        if due_at <= now {
            chosen.push(message_id);
            chosen_subscriptions.insert(subscription_uuid);
        } else {
            next_wake = Some(next_wake.map_or(due_at, |wake: Instant| wake.min(due_at)));
        }
    }
    let mut attempts = Vec::new();
    for message_id in chosen {
        let Some(index) = model
            .outbox
            .iter()
            .position(|message| message.message_id == message_id)
        else {
            continue;
        };
        let subscription = model
            .subscriptions
            .iter()
            .find(|subscription| subscription.uuid == model.outbox[index].subscription_uuid)
            .cloned();
        let Some(subscription) = subscription else {
            model.outbox.remove(index);
            continue;
        };
        let injected_failure = model.failing_deliveries > 0;
        if injected_failure {
            model.failing_deliveries -= 1;
        }
        let subscription_uri = model.subscription_uri(&subscription.uuid);
        let message = &mut model.outbox[index];
        message.in_flight = true;
        message.attempts += 1;
        attempts.push(Attempt {
            message_id,
            subscription_uuid: subscription.uuid.clone(),
            subscription_uri,
            callback_url: subscription.callback_url.clone(),
            event: message.event.clone(),
            body: message.body.clone(),
            attempt: message.attempts,
            signing_key: subscription.signing_key.clone(),
            injected_failure,
        });
    }
    (attempts, next_wake)
}

/// Runs until shutdown: waits for new messages or the next retry time, then attempts deliveries.
pub(crate) async fn run(shared: AppState, shutdown: ShutdownSignal) {
    loop {
        let (attempts, next_wake) = take_due(&shared);
        for attempt in attempts {
            let shared = shared.clone();
            tokio::spawn(async move { deliver(shared, attempt).await });
        }
        let wake_at = next_wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            () = shared.delivery_wakeup.notified() => {}
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at)) => {}
            () = shutdown.triggered() => break,
        }
    }
}

async fn deliver(shared: AppState, attempt: Attempt) {
    let attempted_at = shared.clock.now();
    let signature = attempt
        .signing_key
        .as_deref()
        .map(|key| signature_header(key, attempted_at.timestamp(), &attempt.body));
    let (status_code, error) = if attempt.injected_failure {
        (None, Some("injected delivery failure".to_string()))
    } else {
        let mut request = shared
            .delivery_client
            .post(&attempt.callback_url)
            .header("content-type", "application/json")
            .header("user-agent", "Calendly")
            .header("accept", "*/*")
            .header("accept-encoding", "gzip")
            .body(attempt.body.clone());
        if let Some(signature) = &signature {
            request = request.header("calendly-webhook-signature", signature);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the answer so the connection can be reused; its content does not matter.
                let _ = response.bytes().await;
                (Some(status), None)
            }
            Err(error) => {
                let reason = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                };
                (None, Some(format!("{reason}: {error}")))
            }
        }
    };
    let succeeded = status_code.is_some_and(|status| (200..300).contains(&status));
    let retry_window =
        ChronoDuration::from_std(shared.config.retry_window).unwrap_or(ChronoDuration::hours(24));
    let mut model = shared.model();
    model.next_delivery_sequence += 1;
    let sequence = model.next_delivery_sequence;
    model.deliveries.push(DeliveryRecord {
        sequence,
        message_id: attempt.message_id,
        subscription_uri: attempt.subscription_uri.clone(),
        callback_url: attempt.callback_url.clone(),
        event: attempt.event.clone(),
        attempt: attempt.attempt,
        attempted_at,
        status_code,
        error,
        succeeded,
        body: attempt.body.clone(),
        signature,
    });
    let now = shared.clock.now();
    let Some(subscription_index) = model
        .subscriptions
        .iter()
        .position(|subscription| subscription.uuid == attempt.subscription_uuid)
    else {
        model
            .outbox
            .retain(|message| message.message_id != attempt.message_id);
        drop(model);
        shared.delivery_wakeup.notify_one();
        return;
    };
    if succeeded {
        model.subscriptions[subscription_index].retry_started_at = None;
        model
            .outbox
            .retain(|message| message.message_id != attempt.message_id);
    } else {
        let streak_started = *model.subscriptions[subscription_index]
            .retry_started_at
            .get_or_insert(attempted_at);
        if now - streak_started >= retry_window {
            // Nothing got through for the whole window: Calendly disables the subscription.
            let subscription = &mut model.subscriptions[subscription_index];
            subscription.disabled = true;
            subscription.updated_at = now;
            let uuid = subscription.uuid.clone();
            model
                .outbox
                .retain(|message| message.subscription_uuid != uuid);
        } else {
            let exponent = attempt.attempt.saturating_sub(1).min(20);
            let delay = shared
                .config
                .retry_backoff
                .saturating_mul(1u32 << exponent)
                .min(Duration::from_secs(3600));
            if let Some(message) = model
                .outbox
                .iter_mut()
                .find(|message| message.message_id == attempt.message_id)
            {
                message.in_flight = false;
                message.next_attempt_at = Instant::now() + delay;
            }
        }
    }
    drop(model);
    shared.delivery_wakeup.notify_one();
}

#[cfg(test)]
mod tests {
    use super::signature_header;

    #[test]
    fn signature_is_hex_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently with: printf '1492774577.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature_header("key", 1492774577, r#"{"a":1}"#),
            "t=1492774577,v1=b47ff869cac67fa42e024f96a1ad404e1177fcf4e269d3a187ec6fac93f041ae",
            "the header matches Calendly's t=…,v1=… format"
        );
    }
}
