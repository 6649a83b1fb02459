//! The read views after a sync: meeting filters, meeting detail, clients, status, disconnect.

use chrono::Utc;

use advicly_engine::{MeetingQuery, MeetingStatusFilter, SyncRequest};
use fake_calendly::{CancelRequest, Canceler};

use crate::harness::{at, connected_world, unconnected_world};

#[tokio::test]
async fn meeting_filters_narrow_the_list() {
    let world = connected_world().await;
    let upcoming = world
        .book("Upcoming plan", at(2, 0), "ann@example.com")
        .await;
    let past = world
        .book("Past review", at(-3, 0), "ann@example.com")
        .await;
    let canceled = world
        .book("Canceled chat", at(4, 0), "bob@example.com")
        .await;
    world
        .control
        .cancel(&CancelRequest {
            event_uri: Some(canceled.clone()),
            invitee_uri: None,
            canceled_by: Canceler::Invitee,
            reason: None,
        })
        .await
        .expect("canceled");
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    let now = Utc::now();
    let uris = |query: MeetingQuery| -> Vec<String> {
        let mut uris: Vec<String> = world
            .engine
            .meetings(&query, now)
            .expect("query runs")
            .into_iter()
            .map(|meeting| meeting.uri.to_string())
            .collect();
        uris.sort();
        uris
    };
    let sorted = |mut list: Vec<String>| {
        list.sort();
        list
    };

    // Upcoming: active and not over yet.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::Upcoming,
            ..MeetingQuery::default()
        }),
        vec![upcoming.clone()]
    );
    // Canceled only.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::Canceled,
            ..MeetingQuery::default()
        }),
        vec![canceled.clone()]
    );
    // All: everything not deleted.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::All,
            ..MeetingQuery::default()
        }),
        sorted(vec![upcoming.clone(), past.clone(), canceled.clone()])
    );
    // By client: Ann's two meetings, whatever the e-mail's case.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::All,
            client_email: Some("ANN@example.com".to_owned()),
            ..MeetingQuery::default()
        }),
        sorted(vec![upcoming.clone(), past.clone()])
    );
    // By time range: only the past one starts before now.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::All,
            to: Some(now),
            ..MeetingQuery::default()
        }),
        vec![past.clone()]
    );
    // Free text over the meeting name.
    assert_eq!(
        uris(MeetingQuery {
            status: MeetingStatusFilter::All,
            search: Some("review".to_owned()),
            ..MeetingQuery::default()
        }),
        vec![past.clone()]
    );

    let detail = world
        .engine
        .meeting(&advicly_engine::EventUri::new(&upcoming))
        .expect("the detail exists");
    // The detail carries the invitee and where the data came from.
    assert_eq!(detail.invitees.len(), 1, "detail: {detail:?}");
    assert_eq!(detail.last_change_source, "poll");
    let missing = world.engine.meeting(&advicly_engine::EventUri::new(
        "https://api.calendly.com/scheduled_events/NOPE",
    ));
    // An unknown meeting is not_found, so the UI goes back to the list.
    assert_eq!(missing.unwrap_err().code(), "not_found");
}

#[tokio::test]
async fn clients_count_their_meetings_and_know_the_next_and_last() {
    let world = connected_world().await;
    let next_start = at(2, 0);
    let last_start = at(-5, 0);
    world.book("Next", next_start, "ann@example.com").await;
    world.book("Last", last_start, "ann@example.com").await;
    world.book("Other", at(3, 0), "bob@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");

    let clients = world.engine.clients(Utc::now()).expect("clients");
    let ann = clients
        .iter()
        .find(|client| client.email == "ann@example.com")
        .expect("Ann is a client");
    // Ann has two meetings: one ahead, one behind.
    assert_eq!(ann.meeting_count, 2);
    assert_eq!(ann.next_meeting, Some(next_start));
    assert_eq!(ann.last_meeting, Some(last_start));
    assert_eq!(clients.len(), 2, "Ann and Bob");
}

#[tokio::test]
async fn status_reports_the_account_and_the_last_sync_and_disconnect_wipes() {
    let world = unconnected_world().await;
    let status = world.engine.status(Utc::now()).expect("status");
    // Before connecting there is nothing to show but "disconnected".
    assert_eq!(status.state.as_str(), "disconnected");
    assert!(status.account.is_none() && status.last_sync.is_none());

    world.connect_with_new_token().await;
    world.book("Meeting", at(1, 0), "ann@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    let status = world.engine.status(Utc::now()).expect("status");
    assert_eq!(status.state.as_str(), "connected");
    let account = status.account.expect("the account is shown");
    // The account is the fake's default user.
    assert_eq!(account.email, world.fake.default_user().email);
    let last = status.last_sync.expect("the sync is recorded");
    assert_eq!(last.counts.created, 1, "last sync: {last:?}");
    assert!(last.error.is_none() && last.finished_at.is_some());
    assert_eq!(status.meeting_count, 1);

    let report = world.engine.disconnect(true).await.expect("disconnect");
    // Wiping was asked for and done.
    assert!(report.wiped);
    let status = world.engine.status(Utc::now()).expect("status");
    assert_eq!(status.state.as_str(), "disconnected");
    assert_eq!(status.meeting_count, 0, "the local meetings are gone");
    let error = world.engine.sync(SyncRequest::default()).await.unwrap_err();
    // After disconnecting, sync asks to connect first.
    assert_eq!(error.code(), "not_connected");
}
