//! Booking changes (book, cancel, reschedule, no-show, update) and the webhook messages they emit.
//! Shared by the API handlers, the control handlers and the seeder.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::clock::format_time;
use super::http::ApiError;
use super::model::{
    CancellationRecord, Invitee, Model, NoShowRecord, OutboxMessage, ScheduledEvent,
    SubscriptionScope,
};
use super::render;
use crate::control_model::{
    BookingRequest, Canceler, DeliveryOrder, InviteeSpec, LocationSpec, RescheduleResult,
};

pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Model {
    /// Queues one delivery of `event_name` about `invitee_uuid` to every active subscription covering it.
    pub(crate) fn emit(
        &mut self,
        event_name: &str,
        event_uuid: &str,
        invitee_uuid: &str,
        now: DateTime<Utc>,
    ) {
        let Some(event) = self.events.get(event_uuid) else {
            return;
        };
        let Some(invitee) = event
            .invitees
            .iter()
            .find(|invitee| invitee.uuid == invitee_uuid)
        else {
            return;
        };
        let Some(host) = self.user(&event.host_uuid) else {
            return;
        };
        let payload = render::invitee_payload(self, event, invitee);
        let mut messages = Vec::new();
        for subscription in &self.subscriptions {
            let covers = match subscription.scope {
                SubscriptionScope::Organization => {
                    subscription.organization_uuid == host.organization_uuid
                }
                SubscriptionScope::User => {
                    subscription.user_uuid.as_deref() == Some(host.uuid.as_str())
                }
                SubscriptionScope::Group => false,
            };
            if subscription.disabled
                || !covers
                || !subscription.events.iter().any(|name| name == event_name)
            {
                continue;
            }
            let envelope = json!({
                "created_at": format_time(now),
                "created_by": self.user_uri(&subscription.creator_uuid),
                "event": event_name,
                "payload": payload,
            });
            messages.push((
                subscription.uuid.clone(),
                render::compact_delivery_json(&envelope),
            ));
        }
        for (subscription_uuid, body) in messages {
            self.next_message_id += 1;
            self.outbox.push(OutboxMessage {
                message_id: self.next_message_id,
                subscription_uuid,
                event: event_name.to_string(),
                body,
                attempts: 0,
                next_attempt_at: Instant::now(),
                in_flight: false,
            });
        }
    }

    pub(crate) fn resolve_user_uri(&self, user_uri: Option<&str>) -> Result<String, ApiError> {
        match user_uri {
            None => Ok(self.default_user_uuid.clone()),
            Some(uri) => self
                .uuid_from_uri(uri, "users")
                .filter(|uuid| self.user(uuid).is_some())
                .ok_or_else(|| ApiError::invalid_argument("user_uri", "no such user")),
        }
    }

    /// Creates an event with its invitees; `emit_webhooks` is false for seeded history.
    pub(crate) fn book(
        &mut self,
        request: &BookingRequest,
        event_uuid: String,
        invitee_uuids: Vec<String>,
        now: DateTime<Utc>,
        emit_webhooks: bool,
    ) -> Result<(String, Vec<String>), ApiError> {
        if request.invitees.is_empty() {
            return Err(ApiError::invalid_argument(
                "invitees",
                "at least one invitee is required",
            ));
        }
        for invitee in &request.invitees {
            validate_invitee(invitee)?;
        }
        let host_uuid = self.resolve_user_uri(request.host_user_uri.as_deref())?;
        let event_type_uuid = match &request.event_type_uri {
            Some(uri) => self
                .uuid_from_uri(uri, "event_types")
                .filter(|uuid| self.event_type(uuid).is_some())
                .ok_or_else(|| {
                    ApiError::invalid_argument("event_type_uri", "no such event type")
                })?,
            None => self
                .event_types
                .iter()
                .find(|event_type| event_type.owner_uuid == host_uuid)
                .map(|event_type| event_type.uuid.clone())
                .ok_or_else(|| {
                    ApiError::invalid_argument("event_type_uri", "the host has no event type")
                })?,
        };
        let event_type = self
            .event_type(&event_type_uuid)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        let duration = request
            .duration_minutes
            .unwrap_or(event_type.duration_minutes);
        if duration == 0 || duration > 24 * 60 {
            return Err(ApiError::invalid_argument(
                "duration_minutes",
                "must be between 1 and 1440",
            ));
        }
        let limit = request
            .invitee_limit
            .unwrap_or(if event_type.kind_group { 10 } else { 1 })
            .max(request.invitees.len() as u32);
        let mut event = ScheduledEvent {
            uuid: event_uuid.clone(),
            host_uuid,
            event_type_uuid,
            name: request
                .event_name
                .clone()
                .unwrap_or(event_type.name.clone()),
            canceled: false,
            start_time: request.start_time,
            end_time: request.start_time + Duration::minutes(duration as i64),
            location: request.location.clone().unwrap_or(LocationSpec::Zoom),
            conference_pushed: false,
            invitee_limit: limit,
            created_at: now,
            updated_at: now,
            cancellation: None,
            meeting_notes_plain: None,
            calendar_external_id: format!("fake{}", event_uuid.replace('-', "")),
            invitees: Vec::new(),
        };
        let mut created = Vec::new();
        for (spec, invitee_uuid) in request.invitees.iter().zip(invitee_uuids) {
            event
                .invitees
                .push(new_invitee(invitee_uuid.clone(), spec.clone(), now));
            created.push(invitee_uuid);
        }
        self.events.insert(event_uuid.clone(), event);
        if emit_webhooks {
            for invitee_uuid in &created {
                self.emit("invitee.created", &event_uuid, invitee_uuid, now);
            }
        }
        let invitee_uris = created
            .iter()
            .map(|invitee_uuid| self.invitee_uri(&event_uuid, invitee_uuid))
            .collect();
        Ok((self.event_uri(&event_uuid), invitee_uris))
    }

    pub(crate) fn add_invitee(
        &mut self,
        event_uuid: &str,
        spec: InviteeSpec,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        validate_invitee(&spec)?;
        let event = self
            .events
            .get_mut(event_uuid)
            .ok_or_else(ApiError::not_found)?;
        if event.canceled {
            return Err(ApiError::permission_denied("Event is already canceled"));
        }
        if event.active_invitee_count() as u32 >= event.invitee_limit {
            return Err(ApiError {
                status: axum::http::StatusCode::BAD_REQUEST,
                body: json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
                    "details": [{"parameter": "event.start_time", "message": "That start time has been filled", "code": "already_filled"}]}),
            });
        }
        let invitee_uuid = new_uuid();
        event
            .invitees
            .push(new_invitee(invitee_uuid.clone(), spec, now));
        event.updated_at = now;
        self.emit("invitee.created", event_uuid, &invitee_uuid, now);
        Ok(self.invitee_uri(event_uuid, &invitee_uuid))
    }

    fn canceler_name(
        &self,
        event: &ScheduledEvent,
        invitee: Option<&Invitee>,
        canceler: Canceler,
    ) -> String {
        match canceler {
            Canceler::Host => self
                .user(&event.host_uuid)
                .map(|user| user.name.clone())
                .unwrap_or_default(),
            Canceler::Invitee => invitee
                .map(|invitee| invitee.spec.name.clone())
                .unwrap_or_default(),
        }
    }

    /// Cancels one invitee; cancels the event when no active invitee remains. Returns the record.
    pub(crate) fn cancel_invitee(
        &mut self,
        event_uuid: &str,
        invitee_uuid: &str,
        canceler: Canceler,
        reason: Option<String>,
        now: DateTime<Utc>,
        emit_webhooks: bool,
    ) -> Result<CancellationRecord, ApiError> {
        let event = self
            .events
            .get(event_uuid)
            .ok_or_else(ApiError::not_found)?;
        let invitee = event
            .invitees
            .iter()
            .find(|invitee| invitee.uuid == invitee_uuid)
            .ok_or_else(ApiError::not_found)?;
        if invitee.canceled {
            return Err(ApiError::permission_denied("Invitee is already canceled"));
        }
        let record = CancellationRecord {
            canceled_by: self.canceler_name(event, Some(invitee), canceler),
            reason,
            canceler,
            created_at: now,
        };
        let event = self.events.get_mut(event_uuid).expect("checked above");
        if let Some(invitee) = event
            .invitees
            .iter_mut()
            .find(|invitee| invitee.uuid == invitee_uuid)
        {
            invitee.canceled = true;
            invitee.updated_at = now;
            invitee.cancellation = Some(record.clone());
        }
        event.updated_at = now;
        if event.active_invitee_count() == 0 {
            event.canceled = true;
            event.cancellation = Some(record.clone());
        }
        if emit_webhooks {
            self.emit("invitee.canceled", event_uuid, invitee_uuid, now);
        }
        Ok(record)
    }

    /// Cancels the whole event and every active invitee.
    pub(crate) fn cancel_event(
        &mut self,
        event_uuid: &str,
        canceler: Canceler,
        reason: Option<String>,
        now: DateTime<Utc>,
        emit_webhooks: bool,
    ) -> Result<CancellationRecord, ApiError> {
        let event = self
            .events
            .get(event_uuid)
            .ok_or_else(ApiError::not_found)?;
        if event.canceled {
            return Err(ApiError::permission_denied("Event is already canceled"));
        }
        let record = CancellationRecord {
            canceled_by: self.canceler_name(event, event.invitees.first(), canceler),
            reason,
            canceler,
            created_at: now,
        };
        let event = self.events.get_mut(event_uuid).expect("checked above");
        let mut canceled_invitees = Vec::new();
        for invitee in event
            .invitees
            .iter_mut()
            .filter(|invitee| !invitee.canceled)
        {
            invitee.canceled = true;
            invitee.updated_at = now;
            invitee.cancellation = Some(record.clone());
            canceled_invitees.push(invitee.uuid.clone());
        }
        event.canceled = true;
        event.updated_at = now;
        event.cancellation = Some(record.clone());
        if emit_webhooks {
            for invitee_uuid in canceled_invitees {
                self.emit("invitee.canceled", event_uuid, &invitee_uuid, now);
            }
        }
        Ok(record)
    }

    /// Moves one invitee to a new event: the old invitee is canceled with `rescheduled: true`.
    pub(crate) fn reschedule(
        &mut self,
        event_uuid: &str,
        invitee_uuid: &str,
        new_start: DateTime<Utc>,
        duration_minutes: Option<u32>,
        order: DeliveryOrder,
        now: DateTime<Utc>,
    ) -> Result<RescheduleResult, ApiError> {
        let event = self
            .events
            .get(event_uuid)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        let invitee = event
            .invitees
            .iter()
            .find(|invitee| invitee.uuid == invitee_uuid)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        if invitee.canceled {
            return Err(ApiError::permission_denied("Invitee is already canceled"));
        }
        let duration = duration_minutes
            .unwrap_or(((event.end_time - event.start_time).num_minutes()).max(1) as u32);
        let new_event_uuid = new_uuid();
        let new_invitee_uuid = new_uuid();
        let old_invitee_uri = self.invitee_uri(event_uuid, invitee_uuid);
        let new_invitee_uri = self.invitee_uri(&new_event_uuid, &new_invitee_uuid);
        let booking = BookingRequest {
            host_user_uri: Some(self.user_uri(&event.host_uuid)),
            event_type_uri: Some(self.event_type_uri(&event.event_type_uuid)),
            event_name: Some(event.name.clone()),
            start_time: new_start,
            duration_minutes: Some(duration),
            invitees: vec![invitee.spec.clone()],
            location: Some(event.location.clone()),
            invitee_limit: Some(event.invitee_limit),
        };
        self.book(
            &booking,
            new_event_uuid.clone(),
            vec![new_invitee_uuid.clone()],
            now,
            false,
        )?;
        if let Some(new_invitee) = self
            .events
            .get_mut(&new_event_uuid)
            .and_then(|event| event.invitees.first_mut())
        {
            new_invitee.old_invitee_uri = Some(old_invitee_uri.clone());
        }
        // The invitee canceled by rescheduling: Calendly records the invitee as the canceler.
        self.cancel_invitee(
            event_uuid,
            invitee_uuid,
            Canceler::Invitee,
            None,
            now,
            false,
        )?;
        if let Some(old) = self.events.get_mut(event_uuid).and_then(|event| {
            event
                .invitees
                .iter_mut()
                .find(|invitee| invitee.uuid == invitee_uuid)
        }) {
            old.rescheduled = true;
            old.new_invitee_uri = Some(new_invitee_uri.clone());
        }
        match order {
            DeliveryOrder::CanceledFirst => {
                self.emit("invitee.canceled", event_uuid, invitee_uuid, now);
                self.emit("invitee.created", &new_event_uuid, &new_invitee_uuid, now);
            }
            DeliveryOrder::CreatedFirst => {
                self.emit("invitee.created", &new_event_uuid, &new_invitee_uuid, now);
                self.emit("invitee.canceled", event_uuid, invitee_uuid, now);
            }
        }
        Ok(RescheduleResult {
            old_event_uri: self.event_uri(event_uuid),
            old_invitee_uri,
            new_event_uri: self.event_uri(&new_event_uuid),
            new_invitee_uri,
        })
    }

    pub(crate) fn mark_no_show(
        &mut self,
        event_uuid: &str,
        invitee_uuid: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let event = self
            .events
            .get_mut(event_uuid)
            .ok_or_else(ApiError::not_found)?;
        let invitee = event
            .invitees
            .iter_mut()
            .find(|invitee| invitee.uuid == invitee_uuid)
            .ok_or_else(ApiError::not_found)?;
        if invitee.no_show.is_some() {
            return Err(ApiError::permission_denied(
                "Invitee is already marked as a no-show",
            ));
        }
        let no_show_uuid = new_uuid();
        invitee.no_show = Some(NoShowRecord {
            uuid: no_show_uuid.clone(),
            created_at: now,
        });
        invitee.updated_at = now;
        self.emit("invitee_no_show.created", event_uuid, invitee_uuid, now);
        Ok(format!("{}/invitee_no_shows/{no_show_uuid}", self.api_base))
    }

    pub(crate) fn unmark_no_show(
        &mut self,
        event_uuid: &str,
        invitee_uuid: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let event = self
            .events
            .get_mut(event_uuid)
            .ok_or_else(ApiError::not_found)?;
        let invitee = event
            .invitees
            .iter_mut()
            .find(|invitee| invitee.uuid == invitee_uuid)
            .ok_or_else(ApiError::not_found)?;
        if invitee.no_show.is_none() {
            return Err(ApiError::not_found());
        }
        // The deleted delivery still describes the no-show being removed, so emit before clearing.
        self.emit("invitee_no_show.deleted", event_uuid, invitee_uuid, now);
        if let Some(invitee) = self.events.get_mut(event_uuid).and_then(|event| {
            event
                .invitees
                .iter_mut()
                .find(|invitee| invitee.uuid == invitee_uuid)
        }) {
            invitee.no_show = None;
            invitee.updated_at = now;
        }
        Ok(())
    }
}

fn new_invitee(uuid: String, spec: InviteeSpec, now: DateTime<Utc>) -> Invitee {
    Invitee {
        uuid,
        spec,
        canceled: false,
        created_at: now,
        updated_at: now,
        rescheduled: false,
        old_invitee_uri: None,
        new_invitee_uri: None,
        cancellation: None,
        no_show: None,
    }
}

fn validate_invitee(invitee: &InviteeSpec) -> Result<(), ApiError> {
    if invitee.name.trim().is_empty() {
        return Err(ApiError::invalid_argument(
            "invitee.name",
            "name must not be empty",
        ));
    }
    let email = invitee.email.trim();
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !valid {
        return Err(ApiError::invalid_argument(
            "invitee.email",
            "email is not a valid address",
        ));
    }
    Ok(())
}
