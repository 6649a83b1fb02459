//! Event types (cached, fresh for a day, listed again for an unknown type) and a client's page
//! with its private note, through the engine against the fake Calendly.

use chrono::Utc;

use advicly_engine::{MeetingQuery, MeetingStatusFilter, SyncRequest};
use fake_calendly::{BookingRequest, InviteeSpec, NewEventType, QuestionAnswer};

use crate::harness::{at, connected_world, invitee};

fn list_all(world: &crate::harness::World) -> Vec<advicly_engine::MeetingView> {
    world
        .engine
        .meetings(
            &MeetingQuery {
                status: MeetingStatusFilter::All,
                ..MeetingQuery::default()
            },
            Utc::now(),
        )
        .expect("meetings list")
}

#[tokio::test]
async fn the_first_sync_names_and_colours_meetings_and_a_fresh_cache_is_not_listed_again() {
    let world = connected_world().await;
    let uri = world
        .book("Retirement check", at(1, 0), "ann@example.com")
        .await;
    let first = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    assert_eq!(first.calls_to("event_types"), 1, "report: {first:?}");

    let meeting = world.meeting(&uri);
    let name = meeting.event_type_name.clone().expect("the type is named");
    assert!(!name.starts_with("http"), "a name, never a URI: {name}");
    let color = meeting
        .event_type_color
        .clone()
        .expect("the type has a colour");
    assert!(color.starts_with('#') && color.len() == 7, "{color}");
    let types = world.engine.event_types().expect("event types view");
    assert!(
        types
            .iter()
            .any(|event_type| event_type.name.as_deref() == Some(name.as_str())),
        "the cache holds the meeting's type: {types:?}"
    );

    let second = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    assert_eq!(
        second.calls_to("event_types"),
        0,
        "a cache listed moments ago with every type known is fresh: {second:?}"
    );
}

#[tokio::test]
async fn a_meeting_of_a_type_the_cache_does_not_know_lists_the_types_again() {
    let world = connected_world().await;
    world.book("Ordinary", at(1, 0), "ann@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");

    let added = world
        .control
        .add_event_type(&NewEventType {
            name: "Inheritance planning".to_owned(),
            duration_minutes: Some(50),
            color: Some("#E55CFF".to_owned()),
            ..NewEventType::default()
        })
        .await
        .expect("a new type at the fake");
    let booked = world
        .control
        .book(&BookingRequest {
            host_user_uri: None,
            event_type_uri: Some(added.event_type_uri.clone()),
            event_name: None,
            start_time: at(2, 0),
            duration_minutes: None,
            invitees: vec![invitee("bob@example.com")],
            location: None,
            invitee_limit: None,
        })
        .await
        .expect("booked with the new type")
        .event_uri;
    let report = world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    assert_eq!(
        report.calls_to("event_types"),
        1,
        "an unknown type is listed on demand: {report:?}"
    );
    let meeting = world.meeting(&booked);
    assert_eq!(
        meeting.event_type_name.as_deref(),
        Some("Inheritance planning")
    );
    assert_eq!(meeting.event_type_color.as_deref(), Some("#e55cff"));
}

#[tokio::test]
async fn refreshing_on_request_picks_up_a_renamed_type() {
    let world = connected_world().await;
    let uri = world.book("Meeting", at(1, 0), "ann@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    let type_uri = world.meeting(&uri).event_type.clone().expect("a type URI");
    world
        .control
        .update_event_type(&fake_calendly::EventTypeUpdate {
            event_type_uri: type_uri,
            name: Some("Renamed review".to_owned()),
            ..fake_calendly::EventTypeUpdate::default()
        })
        .await
        .expect("renamed at the fake");
    assert!(world.engine.refresh_event_types().await.expect("refresh"));
    assert_eq!(
        world.meeting(&uri).event_type_name.as_deref(),
        Some("Renamed review")
    );
}

#[tokio::test]
async fn a_client_page_has_every_meeting_answers_and_a_note_that_search_finds() {
    let world = connected_world().await;
    let mut grace = invitee("Grace@Example.com");
    grace.name = "Grace Hopper".to_owned();
    grace.questions_and_answers = vec![QuestionAnswer {
        question: "What would you like to discuss?".to_owned(),
        answer: "<img src=x onerror=alert(1)> pension".to_owned(),
    }];
    let book_grace = |start, spec: InviteeSpec| {
        let world = &world;
        async move {
            world
                .book_with("Review with Grace", start, vec![spec], None, None)
                .await
        }
    };
    let past = book_grace(at(-10, 0), grace.clone()).await;
    let upcoming = book_grace(at(3, 0), grace.clone()).await;
    world
        .book("Someone else", at(1, 0), "bob@example.com")
        .await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");

    let page = world
        .engine
        .client("grace@example.com", Utc::now())
        .expect("the client page");
    assert_eq!(page.client.name, "Grace Hopper");
    assert_eq!(
        page.emails,
        vec!["Grace@Example.com".to_owned()],
        "as typed"
    );
    let uris: Vec<&str> = page
        .meetings
        .iter()
        .map(|meeting| meeting.uri.as_str())
        .collect();
    assert_eq!(uris, vec![upcoming.as_str(), past.as_str()], "newest first");
    assert_eq!(
        page.answers.len(),
        2,
        "one answer per booking: {:?}",
        page.answers
    );
    assert_eq!(
        page.answers[0].answer,
        "<img src=x onerror=alert(1)> pension"
    );
    assert!(page.answers[0].answered_at >= page.answers[1].answered_at);
    assert_eq!(page.note, None);

    let saved = world
        .engine
        .set_client_note("GRACE@example.com", "Thinks about annuities", Utc::now())
        .expect("the note is saved")
        .expect("a non-blank note is kept");
    assert_eq!(saved.body, "Thinks about annuities");
    let found = world
        .engine
        .meetings(
            &MeetingQuery {
                search: Some("annuities".to_owned()),
                ..MeetingQuery::default()
            },
            Utc::now(),
        )
        .expect("search");
    assert_eq!(found.len(), 2, "the note finds both of Grace's meetings");
    let clients = world.engine.clients(Utc::now()).expect("clients");
    let listed = clients
        .iter()
        .find(|client| client.email == "grace@example.com")
        .expect("Grace is a client");
    assert_eq!(listed.note.as_deref(), Some("Thinks about annuities"));

    // The note lives in the database only: a new engine on the same folder still has it.
    let reopened = advicly_engine::Engine::open(world.config.clone()).expect("reopen");
    assert_eq!(
        reopened
            .client("grace@example.com", Utc::now())
            .expect("page")
            .note
            .map(|note| note.body),
        Some("Thinks about annuities".to_owned())
    );
    assert_eq!(list_all(&world).len(), 3, "the note changed no meeting");
}

#[tokio::test]
async fn notes_for_unknown_clients_and_oversized_notes_are_refused() {
    let world = connected_world().await;
    world.book("Meeting", at(1, 0), "ann@example.com").await;
    world
        .engine
        .sync(SyncRequest::default())
        .await
        .expect("sync");
    let unknown = world
        .engine
        .set_client_note("nobody@example.com", "text", Utc::now())
        .expect_err("no such client");
    assert_eq!(unknown.code(), "not_found");
    let huge = "x".repeat(advicly_engine::MAX_NOTE_CHARS + 1);
    let too_long = world
        .engine
        .set_client_note("ann@example.com", &huge, Utc::now())
        .expect_err("too long");
    assert_eq!(too_long.code(), "invalid_input");
    assert_eq!(
        world
            .engine
            .client("nobody@example.com", Utc::now())
            .expect_err("no page")
            .code(),
        "not_found"
    );
}
