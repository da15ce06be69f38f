//! The background sweep: closes idle kiosk sessions and purges documents
//! that were issued but never confirmed printed.

use kofu_store::now_millis;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(state.config().sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => sweep(&state).await,
            () = stop.cancelled() => return,
        }
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
