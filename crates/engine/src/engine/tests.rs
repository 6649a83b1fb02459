//! The engine's views read through their own connections: a held writer never stalls them.

use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;

use advicly_core::domain::{CalendlyUser, OrganizationUri, UserUri};

use super::*;
use crate::views::{MeetingQuery, MeetingStatusFilter};

fn engine_on_temporary_folder() -> (Engine, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().expect("a temporary data folder");
    let mut config = EngineConfig::production(data_dir.path().to_path_buf(), None);
    config.keychain_service = "com.advicly.test.engine.unit.never-used".to_owned();
    (Engine::open(config).expect("the engine opens"), data_dir)
}

#[test]
fn views_answer_while_the_writer_connection_is_held() {
    let (engine, _data_dir) = engine_on_temporary_folder();
    engine
        .with_store(|store| {
            store.upsert_account(
                &CalendlyUser {
                    uri: UserUri::new("https://api.calendly.com/users/U1"),
                    organization: OrganizationUri::new("https://api.calendly.com/organizations/O1"),
                    email: "advisor@example.com".to_owned(),
                    name: "Advisor".to_owned(),
                    timezone: None,
                    scheduling_url: None,
                },
                Utc::now(),
            )
        })
        .expect("an account is stored");

    // A sync applying a page holds the writer; the views must not queue behind it.
    let writer = engine.inner.store.lock().expect("the writer lock");
    let (sender, receiver) = mpsc::channel();
    let reader_engine = engine.clone();
    std::thread::spawn(move || {
        let now = Utc::now();
        let outcome = (
            reader_engine.status(now).map(|status| status.meeting_count),
            reader_engine
                .meetings(
                    &MeetingQuery {
                        status: MeetingStatusFilter::All,
                        ..MeetingQuery::default()
                    },
                    now,
                )
                .map(|meetings| meetings.len()),
            reader_engine.clients(now).map(|clients| clients.len()),
            reader_engine.connection_state(),
        );
        let _ = sender.send(outcome);
    });
    let (status, meetings, clients, state) = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("the views answered while the writer was held");
    drop(writer);
    assert_eq!(status, Ok(0), "status reads the active account's count");
    assert_eq!(meetings, Ok(0), "the list reads the active account");
    assert_eq!(clients, Ok(0), "the client list reads the active account");
    assert_eq!(state, Ok(ConnectionState::Connected));
}

#[test]
fn a_write_is_visible_to_the_next_view() {
    let (engine, _data_dir) = engine_on_temporary_folder();
    assert_eq!(engine.saved_sync_interval(), Ok(None));
    engine
        .save_sync_interval(30)
        .expect("the interval is saved");
    assert_eq!(
        engine.saved_sync_interval(),
        Ok(Some(30)),
        "the reader sees the writer's commit"
    );
}
