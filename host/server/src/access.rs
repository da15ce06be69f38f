//! The access log and the HTTP request counters: one structured line per
//! request with its route template, method, status and time. Never the
//! path or query, which can name a resident, a card or a token.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

/// The method as a label: a client may send any token as a method, and
/// each would be a new series; those no route serves count as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.issuer().metrics().http_request(&route, method, status);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(target: "kofu::access", %method, %route, status, elapsed_ms, "request");
    response
}
