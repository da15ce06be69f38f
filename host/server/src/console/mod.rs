//! The web console (`/console/`: municipalities and the vendor) and the
//! kiosk simulator (`/kiosk/`), served by the host itself: server-rendered
//! pages, a stylesheet and a small script embedded in the binary.
//!
//! The console is a client of the HTTP API: every page reads and every form
//! changes through an in-process API call ([`api::Api`]) that carries the
//! session's credential, so it can do nothing its token could not do with
//! curl, under the same checks and audit entries. Sessions are signed
//! cookies ([`session`]); every form carries a CSRF token and is refused
//! from another site ([`form`]).

mod api;
mod form;
mod kiosk;
mod municipal;
mod options;
mod page;
pub(crate) mod preview;
mod session;
mod sign_in;
mod vendor;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::auth::Caller;
use crate::state::AppState;
use api::Api;
use page::{ErrorPage, Lang, PageError};
use session::{Area, ConsoleSession};

/// What the console's handlers share: the host's state and the API router
/// they call.
#[derive(Clone)]
pub struct ConsoleState {
    app: AppState,
    api: Router,
}

/// The console's routes beside the API's (which it calls in process).
pub fn beside(app: AppState, api: Router) -> Router {
    router(app, api.clone()).merge(api)
}

fn router(app: AppState, api: Router) -> Router {
    let upload_limit = app.config().limits.component_bytes + 64 * 1024;
    let import_limit = app.config().max_body_bytes + 64 * 1024;
    let state = ConsoleState { app, api };
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(sign_in::home))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .merge(municipal::routes(upload_limit, import_limit))
        .merge(vendor::routes())
        .route("/kiosk", get(|| async { Redirect::permanent("/kiosk/") }))
        .merge(kiosk::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), frame))
        .with_state(state)
}

/// Every console response carries the security headers, and a session's
/// cookie is renewed while it is in use.
async fn frame(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let area = if request.uri().path().starts_with("/kiosk") { Area::Kiosk } else { Area::Console };
    let request_headers = request.headers().clone();
    if let Some(switched) = page::switch_language(&request) {
        return switched;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    page::secure_headers(headers);
    let already_set = headers.contains_key(header::SET_COOKIE);
    if !already_set
        && let Some(renewed) =
            ConsoleSession::from_headers(&request_headers, area, state.app.pin_key()).and_then(|s| s.renewed())
    {
        headers.append(header::SET_COOKIE, renewed.set_cookie(state.app.pin_key(), &request_headers));
    }
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/console.css"))
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("assets/console.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        body,
    )
        .into_response()
}

/// A signed-in page request: the session, who holds it (looked up live),
/// the language, and the API as that caller.
pub struct Signed {
    pub caller: Caller,
    pub session: ConsoleSession,
    pub lang: Lang,
    pub api: Api,
    /// The request's headers, for the cookies a handler sets.
    pub headers: axum::http::HeaderMap,
    csrf: String,
}

impl Signed {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The error as this request's page.
    pub fn error(&self, error: PageError) -> ErrorPage {
        ErrorPage { area: self.session.area, lang: self.lang, error }
    }

    /// The page, or the page of what went wrong.
    pub fn page(&self, result: Result<Response, PageError>) -> Response {
        result.unwrap_or_else(|error| self.error(error).into_response())
    }
}

/// The area a request is in, by its path.
fn area_of(parts: &Parts) -> Area {
    if parts.uri.path().starts_with("/kiosk") { Area::Kiosk } else { Area::Console }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = ErrorPage;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Signed, ErrorPage> {
        let area = area_of(parts);
        let lang = Lang::of(&parts.headers);
        let fail = |error| ErrorPage { area, lang, error };
        let session = ConsoleSession::from_headers(&parts.headers, area, state.app.pin_key())
            .ok_or(fail(PageError::SignedOut))?;
        let caller = Caller::of(&state.app, &session.credential).await.map_err(|e| match e {
            crate::ApiError::Unauthorized => fail(PageError::SignedOut),
            other => fail(PageError::Internal(other.to_string())),
        })?;
        let csrf = session.csrf(state.app.pin_key());
        let api = Api::new(state.api.clone(), Some(session.credential.clone()));
        Ok(Signed { caller, session, lang, api, headers: parts.headers.clone(), csrf })
    }
}
