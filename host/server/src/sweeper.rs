//! The background sweep: closes idle kiosk sessions, purges documents
//! that were issued but never confirmed printed, and, hourly, erases what
//! retention no longer keeps.

use std::time::Duration;

use kofu_store::{Millis, PurgeBefore, now_millis};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How often retention runs: what it erases is counted in days.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(state.config().sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purge_tick = tokio::time::interval(PURGE_EVERY);
    purge_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => sweep(&state).await,
            _ = purge_tick.tick() => purge(&state, now_millis()).await,
            () = stop.cancelled() => return,
        }
    }
}

/// Erase what retention no longer keeps as of `now` (docs/OPERATIONS.md,
/// "Retention"). Every host runs it; the deletes are idempotent.
pub async fn purge(state: &AppState, now: Millis) {
    let retention = state.config().retention;
    let days = |d: u32| now - i64::from(d) * 86_400_000;
    let before = PurgeBefore {
        inputs: days(retention.inputs_days),
        audit_details: days(retention.audit_details_days),
        removed_residents: days(retention.removed_residents_days),
    };
    match state.store().purge(before, now).await {
        Ok(purged) => {
            for (municipality, p) in purged {
                tracing::info!(
                    %municipality, inputs = p.inputs, audit_details = p.audit_details, residents = p.residents,
                    cards = p.cards, "retention purge"
                );
            }
        }
        Err(err) => tracing::warn!(%err, "the retention purge failed; it runs again within the hour"),
    }
}

pub async fn sweep(state: &AppState) {
    let now = now_millis();
    let idle = state.config().session_idle.as_millis() as i64;
    match state.store().expire_idle_sessions(now - idle, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "closed idle kiosk sessions"),
        Err(err) => tracing::warn!(%err, "could not close idle sessions"),
    }
    state.issuer().expire_undelivered(now, state.config().delivery_ttl).await;
}
