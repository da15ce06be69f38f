//! The HTTP API: `app(state)` builds the whole router, so tests drive it
//! without a socket.

mod audit;
pub mod catalog;
mod directory;
mod kiosk;
mod paging;
mod plugins;
pub mod public;
mod records;
pub(crate) mod register;
mod stats;
mod vendor;
mod verify_page;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::state::AppState;

/// The whole server: the API, the console and the kiosk simulator.
pub fn app(state: AppState) -> Router {
    let api = api(state.clone());
    crate::console::beside(state.clone(), api).layer(axum::middleware::from_fn_with_state(state, crate::access::record))
}

/// The HTTP API alone: what the console calls in process.
fn api(state: AppState) -> Router {
    let body_limit = state.config().max_body_bytes;
    // An upload may be as large as the component limit; anything past it is
    // refused while reading, not after.
    let upload_limit = state.config().limits.component_bytes + 1;
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(public::openapi))
        .route("/v1/verify/{code}", get(public::verify))
        .route("/v1/catalog", get(catalog::list))
        .route("/v1/municipalities", post(vendor::create_municipality).get(vendor::list_municipalities))
        .route("/v1/municipalities/{code}", get(vendor::get_municipality).patch(vendor::update_municipality))
        .route("/v1/municipalities/{code}/tokens", post(vendor::create_token).get(vendor::list_tokens))
        .route("/v1/municipalities/{code}/tokens/{id}", delete(vendor::revoke_token))
        .route("/v1/audit", get(audit::vendor_list))
        .route("/v1/stats", get(stats::issuances))
        .route("/v1/kiosks", post(vendor::create_kiosk).get(vendor::list_kiosks))
        .route("/v1/kiosks/{id}", delete(vendor::revoke_kiosk))
        .route(
            "/v1/municipalities/{code}/plugins",
            post(plugins::upload).layer(DefaultBodyLimit::max(upload_limit)).get(plugins::list),
        )
        .route("/v1/municipalities/{code}/plugins/{hash}", get(plugins::show))
        .route("/v1/municipalities/{code}/plugins/{hash}/activate", post(plugins::activate))
        .route("/v1/municipalities/{code}/plugins/{hash}/dry-run", post(plugins::dry_run))
        .route("/v1/municipalities/{code}/kinds/{kind}/rollback", post(plugins::rollback))
        .route("/v1/municipalities/{code}/residents", post(register::import).get(directory::list_residents))
        .route(
            "/v1/municipalities/{code}/residents/{id}",
            get(register::show).patch(register::change_status).delete(directory::remove_resident),
        )
        .route("/v1/municipalities/{code}/cards", post(register::issue_card).get(directory::list_cards))
        .route("/v1/municipalities/{code}/cards/{id}", get(register::show_card).delete(register::revoke_card))
        .route("/v1/municipalities/{code}/cards/{id}/unlock", post(register::unlock_card))
        .route("/v1/municipalities/{code}/audit", get(audit::list))
        .route("/v1/municipalities/{code}/audit/export", get(audit::export))
        .route("/v1/municipalities/{code}/audit/verify", post(audit::verify))
        .route("/v1/municipalities/{code}/issuances", get(records::list))
        .route("/v1/municipalities/{code}/issuances/{id}", get(audit::issuance))
        .route("/v1/municipalities/{code}/issuances/{id}/void", post(records::void))
        .route("/v1/kiosk/sessions", post(kiosk::open))
        .route("/v1/kiosk/sessions/{session}", delete(kiosk::close))
        .route("/v1/kiosk/sessions/{session}/certificates", get(kiosk::certificates))
        .route("/v1/kiosk/sessions/{session}/issuances", post(kiosk::request))
        .route("/v1/kiosk/sessions/{session}/issuances/{id}", get(kiosk::show))
        .route("/v1/kiosk/sessions/{session}/issuances/{id}/document", get(kiosk::document))
        .route("/v1/kiosk/sessions/{session}/issuances/{id}/printed", post(kiosk::printed))
        .fallback(public::not_found)
        .method_not_allowed_fallback(public::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(crate::extract::refuse_control_characters))
        .with_state(state)
}
