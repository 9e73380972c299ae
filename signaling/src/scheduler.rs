//! Time moves visits along (and the relay's keys): once a second (and at once when a visit changes) the
//! scheduler reads the visits that matter now and lets the hub open, update and close
//! rooms, seat devices and welcome guests who came early.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::signaling::protocol;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(1);

/// How long before the day's first visiting hours the devices check themselves.
pub const MORNING_CHECK_BEFORE: chrono::Duration = chrono::Duration::hours(1);

/// One step; also called directly by tests.
pub async fn step(state: &AppState) -> crate::error::Result<()> {
    let now = state.now();
    let facility = state.facility();
    let watched = state.hub.watched();
    let mut visits = state.db.visits_in_window(now).await?;
    let known: HashSet<String> = visits.iter().map(|v| v.id.clone()).collect();
    for id in watched.iter().filter(|id| !known.contains(*id)) {
        match state.db.visit(id.clone()).await {
            Ok(visit) => visits.push(visit),
            Err(crate::error::Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let schedules = state
        .db
        .device_schedules(&facility, now)
        .await?
        .into_iter()
        .map(|(device, visits)| {
            let schedule = protocol::schedule_of(&device, &visits, facility.lobby_names);
            (device, schedule)
        })
        .collect();
    state.hub.tick(now, &visits, &watched, schedules);
    morning_checks(state, &facility, now);
    let forgotten = state.db.forget_past_guests(facility, now).await?;
    if forgotten > 0 {
        tracing::info!(
            visits = forgotten,
            "guests' names and addresses deleted (retention_days)"
        );
    }
    rotate_relay_keys(state).await
}

/// Devices check themselves (camera, microphone, the way to the relay) every morning
/// in the hour before the day's first visiting hours, so a broken camera is found
/// before a family is waiting. No visiting hours that day: no check.
fn morning_checks(state: &AppState, facility: &crate::facility::Facility, now: DateTime<Utc>) {
    let date = facility.local_date(now);
    let Some(&(opens, _)) = facility.openings_on(date).first() else {
        return;
    };
    if now >= opens - MORNING_CHECK_BEFORE && now < opens {
        let asked = state.hub.ask_morning_checks(date, now);
        if asked > 0 {
            tracing::info!(
                devices = asked,
                "asked devices for their morning self-check"
            );
        }
    }
}

/// A new UTC day: the embedded relay makes credentials with a new key, accepts
/// yesterday's, and the day before's is deleted (see `turn::credentials`).
async fn rotate_relay_keys(state: &AppState) -> crate::error::Result<()> {
    let Some(keys) = &state.turn_keys else {
        return Ok(());
    };
    let day = crate::turn::credentials::day_of(state.now().timestamp());
    if keys.day() == Some(day) {
        return Ok(());
    }
    let (today, yesterday) = state.db.turn_keys(day).await?;
    keys.install(day, &today, yesterday.as_ref());
    tracing::info!("relay credentials: a new day's key");
    Ok(())
}

/// Runs until `stop` completes.
pub async fn run(state: AppState, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {},
            () = state.db.visit_changed() => {},
            () = &mut stop => return,
        }
        if let Err(e) = step(&state).await {
            tracing::warn!(error = %e, "scheduler step failed");
        }
    }
}
