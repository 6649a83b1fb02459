//! Deliveries and channels against real SQLite files: one transaction per delivery, duplicates
//! change nothing, the cursor only moves forward, nothing of a signature is stored.

use super::*;
use crate::domain::Status;
use crate::fixtures::{base_time, canceled, days, event, invitee, minutes};
use crate::test_support::{dump, store_with_account};

fn channel(channel_id: &str) -> NewRealtimeChannel {
    NewRealtimeChannel {
        relay_base: "https://relay.example".to_owned(),
        channel_id: channel_id.to_owned(),
        ingress_url: format!("https://relay.example/hooks/{channel_id}"),
        signed_by: SigningAuthority::Subscription,
    }
}

fn incoming(delivery_id: i64, digest: &str) -> IncomingDelivery {
    IncomingDelivery {
        channel_id: "ch1".to_owned(),
        delivery_id,
        event: Some("invitee.created".to_owned()),
        received_at: minutes(delivery_id),
        body_digest: Some(digest.to_owned()),
        meeting_uri: None,
        invitee_uri: None,
    }
}

#[test]
fn a_delivery_is_applied_and_recorded_with_the_cursor_in_one_go() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    let booked = event("E1", days(3));
    let ann = invitee(&booked, "I1", "ann@example.com", "Ann Lee");
    let recorded = temp
        .store
        .apply_delivery(account, &incoming(7, "d1"), &booked, &ann, base_time())
        .unwrap();
    // A new booking is applied: meeting, invitee and client appear together.
    assert_eq!(recorded.outcome, DeliveryOutcome::Applied);
    assert_eq!(recorded.applied.counts.created, 1, "the meeting is created");
    let stored = temp.store.meeting_detail(account, &booked.uri).unwrap();
    assert!(stored.is_some(), "the meeting is in the store");
    let rows = temp.store.deliveries(account, 10).unwrap();
    assert_eq!(rows.len(), 1, "the delivery is recorded");
    assert_eq!(rows[0].outcome, DeliveryOutcome::Applied);
    assert!(rows[0].changed, "applying it changed what the advisor sees");
    // The stream resumes after the last recorded delivery.
    let cursor = temp.store.realtime_channel(account).unwrap().unwrap();
    assert_eq!(cursor.last_delivery_id, 7);
    assert_eq!(
        temp.store.last_delivery_at(account).unwrap(),
        Some(minutes(7))
    );
}

#[test]
fn the_same_delivery_or_the_same_message_again_is_a_duplicate_and_changes_nothing() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    let booked = event("E1", days(3));
    let ann = invitee(&booked, "I1", "ann@example.com", "Ann Lee");
    temp.store
        .apply_delivery(account, &incoming(1, "d1"), &booked, &ann, base_time())
        .unwrap();
    let before = dump(&temp.store);
    // The relay sends delivery 1 again (the app crashed before its ack).
    let again = temp
        .store
        .apply_delivery(account, &incoming(1, "d1"), &booked, &ann, minutes(1))
        .unwrap();
    assert_eq!(again.outcome, DeliveryOutcome::Duplicate);
    // Calendly sends the same message again, which the relay numbers 2.
    let resent = temp
        .store
        .apply_delivery(account, &incoming(2, "d1"), &booked, &ann, minutes(2))
        .unwrap();
    assert_eq!(resent.outcome, DeliveryOutcome::Duplicate);
    assert!(
        resent.reason.as_deref().unwrap().contains("delivery 1"),
        "the reason names the delivery that applied it: {:?}",
        resent.reason
    );
    assert_eq!(dump(&temp.store), before, "a replay changes nothing");
    let outcomes: Vec<_> = temp
        .store
        .deliveries(account, 10)
        .unwrap()
        .iter()
        .map(|row| (row.delivery_id, row.outcome))
        .collect();
    // Delivery 1 is recorded once; the re-sent message is recorded as its own duplicate row.
    assert_eq!(
        outcomes,
        vec![
            (2, DeliveryOutcome::Duplicate),
            (1, DeliveryOutcome::Applied)
        ]
    );
}

#[test]
fn an_older_payload_after_a_newer_one_does_not_overwrite_it() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    let booked = event("E1", days(3));
    let ann = invitee(&booked, "I1", "ann@example.com", "Ann Lee");
    let canceled_event = canceled(&booked, "Moved abroad", minutes(-5));
    let canceled_ann = FetchedInvitee {
        status: Status::Canceled,
        updated_at: minutes(-5),
        ..ann.clone()
    };
    temp.store
        .apply_delivery(
            account,
            &incoming(2, "cancel"),
            &canceled_event,
            &canceled_ann,
            base_time(),
        )
        .unwrap();
    // The booking's delivery arrives after its cancellation (a retry held it back).
    let late = temp
        .store
        .apply_delivery(account, &incoming(3, "create"), &booked, &ann, minutes(1))
        .unwrap();
    assert_eq!(late.outcome, DeliveryOutcome::Applied);
    assert!(
        !late.applied.changed_anything(),
        "the older payload is ignored"
    );
    let stored = temp
        .store
        .meeting_detail(account, &booked.uri)
        .unwrap()
        .unwrap();
    assert_eq!(stored.meeting.status, Status::Canceled, "still canceled");
}

#[test]
fn a_rejected_delivery_is_recorded_with_its_reason_and_changes_no_meeting() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    let before = dump(&temp.store);
    let recorded = temp
        .store
        .record_rejected_delivery(
            account,
            &incoming(4, "bad"),
            "the signature does not match",
            base_time(),
        )
        .unwrap();
    assert_eq!(recorded.outcome, DeliveryOutcome::Rejected);
    assert_eq!(
        dump(&temp.store),
        before,
        "no meeting, invitee or client changed"
    );
    let rows = temp.store.deliveries(account, 10).unwrap();
    assert_eq!(
        rows[0].reason.as_deref(),
        Some("the signature does not match")
    );
    // A rejected delivery is not fetched again: the cursor moves past it.
    assert_eq!(
        temp.store
            .realtime_channel(account)
            .unwrap()
            .unwrap()
            .last_delivery_id,
        4
    );
}

#[test]
fn the_cursor_never_moves_back_and_a_new_channel_starts_afresh() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    for delivery_id in [5, 3] {
        temp.store
            .record_rejected_delivery(account, &incoming(delivery_id, "x"), "garbage", base_time())
            .unwrap();
    }
    let cursor = |temp: &crate::test_support::TempStore| {
        temp.store
            .realtime_channel(account)
            .unwrap()
            .unwrap()
            .last_delivery_id
    };
    assert_eq!(
        cursor(&temp),
        5,
        "an out-of-order id does not rewind the stream"
    );
    temp.store
        .save_realtime_channel(account, &channel("ch2"), base_time())
        .unwrap();
    // A new channel numbers its deliveries from the start.
    assert_eq!(cursor(&temp), 0);
    // A straggler of the old channel does not move the new channel's cursor.
    temp.store
        .record_rejected_delivery(account, &incoming(9, "y"), "garbage", base_time())
        .unwrap();
    assert_eq!(cursor(&temp), 0);
}

#[test]
fn subscription_state_off_reason_and_stream_state_round_trip() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    temp.store
        .set_realtime_subscription(
            account,
            "https://api.calendly.com/webhook_subscriptions/S1",
            "active",
            SigningAuthority::App,
            minutes(1),
        )
        .unwrap();
    temp.store
        .set_realtime_stream_state(account, "live", None, minutes(2))
        .unwrap();
    let row = temp.store.realtime_channel(account).unwrap().unwrap();
    assert_eq!(row.subscription_state.as_deref(), Some("active"));
    assert_eq!(row.signed_by, SigningAuthority::App);
    assert_eq!(row.stream_state.as_deref(), Some("live"));
    assert_eq!(row.subscription_checked_at, Some(minutes(1)));
    temp.store
        .set_realtime_off(account, "Your Calendly plan has no webhooks", minutes(3))
        .unwrap();
    let row = temp.store.realtime_channel(account).unwrap().unwrap();
    // Off means: no subscription is kept, and the sentence says why.
    assert_eq!(row.subscription_uri, None);
    assert_eq!(
        row.off_reason.as_deref(),
        Some("Your Calendly plan has no webhooks")
    );
    temp.store.delete_realtime_channel(account).unwrap();
    assert!(temp.store.realtime_channel(account).unwrap().is_none());
}

#[test]
fn the_schema_has_no_column_for_a_signature() {
    let (temp, _) = store_with_account();
    let columns: Vec<String> = temp
        .store
        .connection()
        .prepare("SELECT name FROM pragma_table_info('webhook_deliveries')")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // A signature is never stored, so there must be nowhere to put one.
    assert!(
        !columns.iter().any(|column| column.contains("signature")),
        "{columns:?}"
    );
}

#[test]
fn pruning_old_records_keeps_the_cursor_and_a_wipe_removes_them() {
    let (mut temp, account) = store_with_account();
    temp.store
        .save_realtime_channel(account, &channel("ch1"), base_time())
        .unwrap();
    temp.store
        .record_rejected_delivery(account, &incoming(1, "a"), "garbage", days(-100))
        .unwrap();
    temp.store
        .record_rejected_delivery(account, &incoming(2, "b"), "garbage", base_time())
        .unwrap();
    assert_eq!(temp.store.prune_deliveries(account, days(-90)).unwrap(), 1);
    assert_eq!(
        temp.store
            .realtime_channel(account)
            .unwrap()
            .unwrap()
            .last_delivery_id,
        2,
        "pruning never makes the stream resume earlier"
    );
    temp.store.wipe_account_data(account).unwrap();
    assert!(
        temp.store.deliveries(account, 10).unwrap().is_empty(),
        "removing local data removes the delivery history too"
    );
}
