//! The background poller: start-up sync, SyncNow joining, interval bounds, pausing and resuming.

use std::time::Duration;

use advicly_engine::{spawn_scheduler, EngineEvent, SchedulerSettings, SchedulerState};

use crate::harness::{at, connected_world, unconnected_world, wait_for_event};

fn quick_settings() -> SchedulerSettings {
    SchedulerSettings {
        interval_minutes: 15,
        startup_delay: Duration::from_millis(50),
        resync_delay: Duration::from_millis(50),
        jitter: Duration::ZERO,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_secs(1),
    }
}

/// Waits (bounded) until the scheduler state satisfies `condition`.
async fn wait_for_state(
    handle: &advicly_engine::SchedulerHandle,
    what: &str,
    condition: impl Fn(&SchedulerState) -> bool,
) -> SchedulerState {
    let mut watch = handle.watch_state();
    let state = tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|state| condition(state)),
    )
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    .expect("the scheduler is alive");
    *state
}

#[tokio::test]
async fn syncs_soon_after_start_then_schedules_the_next_one() {
    let world = connected_world().await;
    world.book("Soon", at(1, 0), "ann@example.com").await;
    let mut events = world.engine.subscribe();

    let handle = spawn_scheduler(world.engine.clone(), quick_settings());
    let finished = wait_for_event(&mut events, "the start-up sync", |event| {
        matches!(event, EngineEvent::SyncFinished(_))
    })
    .await;
    let EngineEvent::SyncFinished(report) = finished else {
        unreachable!()
    };
    // The start-up sync fetched the booked meeting without anyone asking.
    assert_eq!(report.counts.created, 1, "report: {report:?}");

    let state = wait_for_state(&handle, "the next deadline", |state| {
        !state.running && state.next_sync_at.is_some()
    })
    .await;
    let next = state.next_sync_at.expect("a next sync time is known");
    let minutes = (next - chrono::Utc::now()).num_minutes();
    // The next sync is one interval (15 minutes, no jitter here) away.
    assert!(
        (13..=15).contains(&minutes),
        "next sync in {minutes} minutes"
    );
    // The engine's status shows the scheduler's deadline.
    let status = world.engine.status(chrono::Utc::now()).expect("status");
    assert_eq!(
        status.next_sync,
        Some(next),
        "status reads the scheduler's time"
    );

    handle.shutdown().await;
}

#[tokio::test]
async fn sync_now_requests_during_a_sync_join_it() {
    let world = connected_world().await;
    world.seed(40, at(-40, 0), at(40, 0)).await;
    let settings = SchedulerSettings {
        startup_delay: Duration::from_secs(3600),
        ..quick_settings()
    };
    let handle = spawn_scheduler(world.engine.clone(), settings);

    let (first, second) = tokio::join!(handle.sync_now(), handle.sync_now());

    let first = first.expect("the first request gets a report");
    let second = second.expect("the second request gets a report");
    // Both requests were answered by one run.
    assert_eq!(first, second, "the second SyncNow joined the first");
    assert_eq!(first.counts.created, 40, "report: {first:?}");
    handle.shutdown().await;
}

#[tokio::test]
async fn interval_changes_are_bounded_and_move_the_deadline() {
    let world = connected_world().await;
    let handle = spawn_scheduler(world.engine.clone(), quick_settings());
    wait_for_state(&handle, "the first sync to finish", |state| {
        !state.running && state.next_sync_at.is_some() && state.consecutive_failures == 0
    })
    .await;

    // Outside 5–60 minutes is refused with the code the UI shows next to the control.
    assert_eq!(handle.set_interval(4).unwrap_err().code(), "invalid_input");
    assert_eq!(handle.set_interval(61).unwrap_err().code(), "invalid_input");

    handle.set_interval(60).expect("60 minutes is allowed");
    let state = wait_for_state(&handle, "the 60-minute interval", |state| {
        state.interval_minutes == 60
    })
    .await;
    let minutes = (state.next_sync_at.expect("scheduled") - chrono::Utc::now()).num_minutes();
    // The deadline moved to one new interval from now.
    assert!(
        (58..=60).contains(&minutes),
        "next sync in {minutes} minutes"
    );
    handle.shutdown().await;

    // The choice survives a restart: a new scheduler starts with it, whatever its settings say.
    assert_eq!(world.engine.saved_sync_interval().unwrap(), Some(60));
    let restarted = spawn_scheduler(world.engine.clone(), quick_settings());
    assert_eq!(
        restarted.state().interval_minutes,
        60,
        "the saved interval wins"
    );
    restarted.shutdown().await;
}

#[tokio::test]
async fn pauses_while_reconnect_is_needed_and_resumes_after_reconnecting() {
    let world = connected_world().await;
    let handle = spawn_scheduler(world.engine.clone(), quick_settings());
    wait_for_state(&handle, "the start-up sync", |state| {
        !state.running && state.next_sync_at.is_some()
    })
    .await;

    world
        .control
        .revoke_tokens(&fake_calendly::TokenActionRequest::default())
        .await
        .expect("tokens revoked");
    let error = handle.sync_now().await.unwrap_err();
    assert_eq!(error.code(), "needs_reconnect", "error: {error}");
    let paused = wait_for_state(&handle, "the pause", |state| state.paused).await;
    // No timed sync is pending while Calendly refuses us.
    assert_eq!(paused.next_sync_at, None, "paused means no next sync");

    let mut events = world.engine.subscribe();
    world.connect_with_new_token().await;
    // Reconnecting resumes: a sync follows shortly.
    wait_for_event(&mut events, "the sync after reconnecting", |event| {
        matches!(event, EngineEvent::SyncFinished(_))
    })
    .await;
    let resumed = wait_for_state(&handle, "the resumed schedule", |state| {
        !state.running && state.next_sync_at.is_some()
    })
    .await;
    assert!(!resumed.paused, "the scheduler runs again");
    handle.shutdown().await;
}

#[tokio::test]
async fn stays_paused_without_an_account_and_shuts_down_cleanly() {
    let world = unconnected_world().await;
    let handle = spawn_scheduler(world.engine.clone(), quick_settings());
    let state = handle.state();
    // Nothing to sync: no deadline.
    assert!(
        state.paused && state.next_sync_at.is_none(),
        "state: {state:?}"
    );
    handle.shutdown().await;
    // After shutdown the handle refuses work instead of hanging.
    assert!(
        handle.request_sync().is_err(),
        "a stopped scheduler refuses requests"
    );
}

#[tokio::test]
async fn the_network_coming_back_triggers_a_sync() {
    let world = connected_world().await;
    let settings = SchedulerSettings {
        startup_delay: Duration::from_millis(50),
        ..quick_settings()
    };
    let handle = spawn_scheduler(world.engine.clone(), settings);
    wait_for_state(&handle, "the start-up sync", |state| {
        !state.running && state.next_sync_at.is_some()
    })
    .await;

    handle.network_changed(false).expect("accepted");
    let offline = wait_for_state(&handle, "the offline pause", |state| state.paused).await;
    assert_eq!(offline.next_sync_at, None, "no timed sync while offline");

    world
        .book("Booked while offline", at(1, 0), "ann@example.com")
        .await;
    let mut events = world.engine.subscribe();
    handle.network_changed(true).expect("accepted");
    let finished = wait_for_event(
        &mut events,
        "the sync after the network came back",
        |event| matches!(event, EngineEvent::SyncFinished(_)),
    )
    .await;
    let EngineEvent::SyncFinished(report) = finished else {
        unreachable!()
    };
    // The sync after reconnecting the network picks up what was booked meanwhile.
    assert_eq!(report.counts.created, 1, "report: {report:?}");
    // The probe sees the fake's API as reachable.
    assert!(world.engine.probe_online().await, "the fake API answers");
    handle.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_a_running_sync_at_a_page_boundary() {
    let world = connected_world().await;
    world.seed(250, at(-250, 0), at(-1, 0)).await;
    let settings = SchedulerSettings {
        startup_delay: Duration::from_secs(3600),
        ..quick_settings()
    };
    let handle = std::sync::Arc::new(spawn_scheduler(world.engine.clone(), settings));
    let mut events = world.engine.subscribe();
    let requester = handle.clone();
    let running = tokio::spawn(async move { requester.sync_now().await });
    wait_for_event(
        &mut events,
        "the first applied page",
        |event| matches!(event, EngineEvent::SyncProgress(progress) if progress.pages >= 1),
    )
    .await;

    handle.shutdown().await;

    let result = running.await.expect("the requester ends");
    // The sync was cancelled, not left running behind a stopped scheduler.
    assert_eq!(result.unwrap_err().code(), "internal");
    assert!(!world.engine.sync_running(), "no sync runs after shutdown");
    let stored = world.all_meetings();
    // Whole pages only: every stored meeting has its invitee.
    assert!(
        stored.len() < 250,
        "stopped early with {} meetings",
        stored.len()
    );
    assert!(
        stored.iter().all(|meeting| meeting.invitees.len() == 1),
        "no half-applied page"
    );
}

#[tokio::test]
async fn failures_back_off_and_recover_when_calendly_does() {
    let world = connected_world().await;
    world
        .control
        .inject_fault(&fake_calendly::FaultRequest {
            path_prefix: "/scheduled_events".to_owned(),
            method: Some("GET".to_owned()),
            fault: fake_calendly::FaultKind::Status { status: 503 },
            count: 8,
        })
        .await
        .expect("fault injected");
    world.book("Meeting", at(1, 0), "ann@example.com").await;
    let mut events = world.engine.subscribe();
    let handle = spawn_scheduler(world.engine.clone(), quick_settings());

    let failed = wait_for_state(&handle, "a failed sync", |state| {
        state.consecutive_failures >= 1
    })
    .await;
    let retry_in = failed.next_sync_at.expect("a retry is scheduled") - chrono::Utc::now();
    // After a failure the retry comes after a short backoff, not a full interval.
    assert!(
        retry_in <= chrono::Duration::seconds(2),
        "retry in {retry_in}"
    );

    let finished = wait_for_event(&mut events, "a successful retry", |event| {
        matches!(event, EngineEvent::SyncFinished(_))
    })
    .await;
    let EngineEvent::SyncFinished(report) = finished else {
        unreachable!()
    };
    // Once Calendly answers again the missed meeting arrives and the failure count resets.
    assert_eq!(report.counts.created, 1, "report: {report:?}");
    let recovered = wait_for_state(&handle, "the reset failure count", |state| {
        state.consecutive_failures == 0 && !state.running
    })
    .await;
    assert!(
        recovered.next_sync_at.is_some(),
        "the regular schedule resumes"
    );
    handle.shutdown().await;
}
