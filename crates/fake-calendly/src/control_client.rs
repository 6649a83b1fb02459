//! A small typed client for the fake's `/_control` simulation API, used by other crates' tests.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::control_model::*;
use crate::error::FakeError;

/// Drives a running fake Calendly through `/_control`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ControlClient {
    api_base_url: Url,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client for the fake whose API listener is at `api_base_url` (no trailing path).
    pub fn new(api_base_url: Url) -> Self {
        ControlClient {
            api_base_url,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/_control/{path}",
            self.api_base_url.as_str().trim_end_matches('/')
        )
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: String,
    ) -> Result<T, FakeError> {
        let response = request
            .send()
            .await
            .map_err(|source| FakeError::ControlUnreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|source| FakeError::ControlUnreachable {
                url: url.clone(),
                source,
            })?;
        if !status.is_success() {
            return Err(FakeError::ControlRejected {
                url,
                status: status.as_u16(),
                body,
            });
        }
        let body = if body.is_empty() { "null" } else { &body };
        serde_json::from_str(body).map_err(|error| FakeError::ControlUnreadable {
            url,
            reason: error.to_string(),
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, FakeError> {
        let url = self.url(path);
        self.send(self.http.get(&url), url).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, FakeError> {
        let url = self.url(path);
        self.send(self.http.post(&url).json(body), url).await
    }

    /// The seeded default user (and organization).
    pub async fn default_user(&self) -> Result<UserInfo, FakeError> {
        self.get("users/default").await
    }

    /// Every user the fake knows.
    pub async fn users(&self) -> Result<Vec<UserInfo>, FakeError> {
        self.get("users").await
    }

    /// Adds a user (for "a different account" tests), with one default event type.
    pub async fn add_user(&self, user: &NewUser) -> Result<UserInfo, FakeError> {
        self.post("users", user).await
    }

    /// Adds an event type (to the default user unless `host_user_uri` names another).
    pub async fn add_event_type(&self, request: &NewEventType) -> Result<EventTypeInfo, FakeError> {
        self.post("event_types", request).await
    }

    /// Renames, recolours or (de)activates an event type.
    pub async fn update_event_type(
        &self,
        request: &EventTypeUpdate,
    ) -> Result<EventTypeInfo, FakeError> {
        self.post("event_types/update", request).await
    }

    /// Books a meeting; sends `invitee.created` for each invitee.
    pub async fn book(&self, booking: &BookingRequest) -> Result<BookingResult, FakeError> {
        self.post("bookings", booking).await
    }

    /// Adds one invitee to an existing event (group events); returns the invitee URI.
    pub async fn add_invitee(&self, request: &AddInviteeRequest) -> Result<String, FakeError> {
        self.post("invitees", request).await
    }

    /// Cancels an event or one invitee; sends `invitee.canceled` per canceled invitee.
    pub async fn cancel(&self, request: &CancelRequest) -> Result<(), FakeError> {
        self.post("cancel", request).await
    }

    /// Reschedules an invitee; sends the two deliveries in the requested order.
    pub async fn reschedule(
        &self,
        request: &RescheduleRequest,
    ) -> Result<RescheduleResult, FakeError> {
        self.post("reschedule", request).await
    }

    /// Marks an invitee as a no-show; sends `invitee_no_show.created`.
    pub async fn mark_no_show(&self, invitee_uri: &str) -> Result<NoShowResult, FakeError> {
        let request = NoShowRequest {
            invitee_uri: invitee_uri.to_string(),
        };
        self.post("no_shows/mark", &request).await
    }

    /// Removes an invitee's no-show mark; sends `invitee_no_show.deleted`.
    pub async fn unmark_no_show(&self, invitee_uri: &str) -> Result<(), FakeError> {
        let request = NoShowRequest {
            invitee_uri: invitee_uri.to_string(),
        };
        self.post("no_shows/unmark", &request).await
    }

    /// Updates an event so its `updated_at` changes; returns the new `updated_at`.
    pub async fn update_event(
        &self,
        request: &UpdateEventRequest,
    ) -> Result<chrono::DateTime<chrono::Utc>, FakeError> {
        self.post("events/update", request).await
    }

    /// Makes a user's access tokens expired (refresh tokens keep working).
    pub async fn expire_tokens(
        &self,
        request: &TokenActionRequest,
    ) -> Result<TokenActionResult, FakeError> {
        self.post("tokens/expire", request).await
    }

    /// Revokes a user's access tokens (and refresh tokens unless told otherwise).
    pub async fn revoke_tokens(
        &self,
        request: &TokenActionRequest,
    ) -> Result<TokenActionResult, FakeError> {
        self.post("tokens/revoke", request).await
    }

    /// Mints a personal access token.
    pub async fn mint_personal_access_token(
        &self,
        request: &MintTokenRequest,
    ) -> Result<MintedToken, FakeError> {
        self.post("tokens/personal", request).await
    }

    /// Injects a request fault.
    pub async fn inject_fault(&self, request: &FaultRequest) -> Result<(), FakeError> {
        self.post("faults", request).await
    }

    /// Injects a request fault that lets `skip` matching requests through first.
    pub async fn inject_fault_after(
        &self,
        request: &FaultRequest,
        skip: u32,
    ) -> Result<(), FakeError> {
        self.post(
            "faults",
            &DeferredFaultRequest {
                fault: request.clone(),
                skip,
            },
        )
        .await
    }

    /// Makes an event vanish: no longer listed, and a 404 when read.
    pub async fn vanish_event(&self, event_uri: &str) -> Result<(), FakeError> {
        self.post(
            "events/vanish",
            &VanishRequest {
                event_uri: event_uri.to_owned(),
            },
        )
        .await
    }

    /// Every scheduled event with every invitee, in the fake's own shape (the ground truth).
    pub async fn events(&self) -> Result<Vec<EventTruth>, FakeError> {
        self.get("events").await
    }

    /// Makes the next delivery attempts fail.
    pub async fn fail_deliveries(&self, count: u32) -> Result<(), FakeError> {
        self.post("faults/deliveries", &DeliveryFaultRequest { count })
            .await
    }

    /// Removes every pending request and delivery fault.
    pub async fn clear_faults(&self) -> Result<(), FakeError> {
        self.post("faults/clear", &serde_json::json!({})).await
    }

    /// Seeds events deterministically.
    pub async fn seed(&self, request: &SeedRequest) -> Result<SeedReport, FakeError> {
        self.post("seed", request).await
    }

    /// Every delivery attempt so far, oldest first.
    pub async fn deliveries(&self) -> Result<Vec<DeliveryRecord>, FakeError> {
        self.get("deliveries").await
    }

    /// Every subscription, including disabled and deleted-never ones.
    pub async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>, FakeError> {
        self.get("subscriptions").await
    }

    /// The key deliveries of this subscription are signed with.
    pub async fn signing_key(&self, subscription_uri: &str) -> Result<Option<String>, FakeError> {
        let mut url = Url::parse(&self.url("subscriptions/signing_key")).map_err(|error| {
            FakeError::ControlUnreadable {
                url: self.url("subscriptions/signing_key"),
                reason: error.to_string(),
            }
        })?;
        url.query_pairs_mut().append_pair("uri", subscription_uri);
        let info: SigningKeyInfo = self
            .send(self.http.get(url.as_str()), url.to_string())
            .await?;
        Ok(info.signing_key)
    }

    /// The fake's current time.
    pub async fn clock(&self) -> Result<ClockInfo, FakeError> {
        self.get("clock").await
    }

    /// Moves the fake's clock; returns the new time.
    pub async fn shift_clock(&self, seconds: i64) -> Result<ClockInfo, FakeError> {
        self.post("clock/shift", &ShiftClockRequest { seconds })
            .await
    }

    /// Sets how the consent page behaves.
    pub async fn set_consent_mode(&self, mode: ConsentMode) -> Result<(), FakeError> {
        self.post("consent", &ConsentModeRequest { mode }).await
    }

    /// Turns auto-approve on (or back to showing the consent page).
    pub async fn set_auto_approve(&self, auto_approve: bool) -> Result<(), FakeError> {
        let mode = if auto_approve {
            ConsentMode::AutoApprove
        } else {
            ConsentMode::Ask
        };
        self.set_consent_mode(mode).await
    }

    /// Chooses which user approves at the authorize page.
    pub async fn set_authorizing_user(&self, user_uri: &str) -> Result<(), FakeError> {
        let request = AuthorizingUserRequest {
            user_uri: user_uri.to_string(),
        };
        self.post("authorizing_user", &request).await
    }

    /// Registers another redirect URI on the app.
    pub async fn add_redirect_uri(&self, redirect_uri: &str) -> Result<(), FakeError> {
        let request = RedirectUriRequest {
            redirect_uri: redirect_uri.to_string(),
        };
        self.post("redirect_uris", &request).await
    }

    /// Changes the per-user API rate limit.
    pub async fn set_rate_limit(&self, per_minute: u32) -> Result<(), FakeError> {
        self.post("rate_limit", &RateLimitRequest { per_minute })
            .await
    }

    /// Request counters.
    pub async fn stats(&self) -> Result<Stats, FakeError> {
        self.get("stats").await
    }

    /// Sets every request counter back to zero.
    pub async fn reset_stats(&self) -> Result<(), FakeError> {
        self.post("stats/reset", &serde_json::json!({})).await
    }

    /// Polls the delivery log (every 10 ms, at most `timeout`) until `condition` holds, and returns it.
    pub async fn wait_for_deliveries<F>(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: F,
    ) -> Result<Vec<DeliveryRecord>, FakeError>
    where
        F: FnMut(&[DeliveryRecord]) -> bool,
    {
        let started = Instant::now();
        loop {
            let deliveries = self.deliveries().await?;
            if condition(&deliveries) {
                return Ok(deliveries);
            }
            if started.elapsed() >= timeout {
                return Err(FakeError::WaitTimedOut {
                    what: what.to_string(),
                    waited_ms: started.elapsed().as_millis(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls the subscription list (every 10 ms, at most `timeout`) until `condition` holds.
    pub async fn wait_for_subscriptions<F>(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: F,
    ) -> Result<Vec<SubscriptionInfo>, FakeError>
    where
        F: FnMut(&[SubscriptionInfo]) -> bool,
    {
        let started = Instant::now();
        loop {
            let subscriptions = self.subscriptions().await?;
            if condition(&subscriptions) {
                return Ok(subscriptions);
            }
            if started.elapsed() >= timeout {
                return Err(FakeError::WaitTimedOut {
                    what: what.to_string(),
                    waited_ms: started.elapsed().as_millis(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
