//! Signing in and out, and the language switch.

use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::form::{Posted, Unsigned};
use super::page::{self, ErrorPage, Lang, PageError};
use super::session::{self, Area, ConsoleSession};
use super::{ConsoleState, Signed};
use crate::auth::{Caller, SessionCredential};

/// `/console/`: where the session belongs, or the sign-in form.
pub async fn home(State(state): State<ConsoleState>, mut parts: Parts) -> Response {
    match Signed::from_request_parts(&mut parts, &state).await {
        Ok(signed) => Redirect::to(&start_page(&signed.caller)).into_response(),
        Err(_) => Redirect::to("/console/sign-in").into_response(),
    }
}

fn start_page(caller: &Caller) -> String {
    match caller {
        Caller::Municipality { code, .. } => format!("/console/m/{code}/issuances"),
        Caller::Kiosk { .. } => "/kiosk/".to_owned(),
        _ => "/console/vendor".to_owned(),
    }
}

pub async fn form(parts: Parts) -> Response {
    sign_in_page(Area::Console, Lang::of(&parts.headers), None).into_response()
}

/// The sign-in page of an area, with what went wrong last time.
pub fn sign_in_page(area: Area, lang: Lang, problem: Option<&str>) -> (axum::http::StatusCode, page::Html) {
    let l = lang;
    let (title, explain, label) = match area {
        Area::Console => (
            l.t("管理画面にサインイン", "Sign in to the console"),
            l.t(
                "市区町村のトークン（kofu_mun_…）またはベンダーの管理トークンを入力してください。トークンはブラウザに保存されず、短時間だけ有効なセッションに交換されます。",
                "Enter your municipality token (kofu_mun_…) or the vendor's admin token. The token is not stored in the browser: it is exchanged for a short session.",
            ),
            l.t("トークン", "Token"),
        ),
        Area::Kiosk => (
            l.t("キオスク・シミュレーターにサインイン", "Sign in to the kiosk simulator"),
            l.t(
                "登録済みキオスクの認証情報（kofu_kiosk_…）を入力してください。",
                "Enter a registered kiosk's credential (kofu_kiosk_…).",
            ),
            l.t("キオスクの認証情報", "Kiosk credential"),
        ),
    };
    let status = if problem.is_some() { axum::http::StatusCode::UNAUTHORIZED } else { axum::http::StatusCode::OK };
    let body = html! {
        main.narrow {
            h1 { (title) }
            p { (explain) }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form method="post" action=(format!("{}/sign-in", area.path())) {
                label for="token" { (label) }
                input #token type="password" name="token" autocomplete="off" required autofocus;
                button type="submit" { (l.t("サインイン", "Sign in")) }
            }
        }
    };
    (status, page::document(lang, title, None, body))
}

pub async fn submit(State(state): State<ConsoleState>, form: Unsigned) -> Response {
    sign_in(&state, Area::Console, form).await
}

/// Exchange a token for a session of `area`.
pub async fn sign_in(state: &ConsoleState, area: Area, form: Unsigned) -> Response {
    let lang = form.lang;
    let token = form.fields.get("token");
    let wrong = || {
        sign_in_page(
            area,
            lang,
            Some(lang.t(
                "このトークンではサインインできません。取り消されたか、入力が違います。",
                "This token cannot sign in: it is wrong or was revoked.",
            )),
        )
        .into_response()
    };
    if token.is_empty() {
        return wrong();
    }
    let credential = SessionCredential::of_token(token);
    if !area.admits(credential.role) {
        return wrong();
    }
    let caller = match Caller::of(&state.app, &credential).await {
        Ok(caller) => caller,
        Err(crate::ApiError::Unauthorized) => {
            tracing::warn!(area = ?area, "console sign-in refused: unknown or revoked token");
            return wrong();
        }
        Err(other) => return ErrorPage { area, lang, error: PageError::Internal(other.to_string()) }.into_response(),
    };
    let session = match ConsoleSession::start(area, credential) {
        Ok(session) => session,
        Err(e) => return ErrorPage { area, lang, error: PageError::Internal(e.to_string()) }.into_response(),
    };
    tracing::info!(area = ?area, who = %describe(&caller), "console sign-in");
    let mut response = Redirect::to(&start_page(&caller)).into_response();
    response.headers_mut().append(header::SET_COOKIE, session.set_cookie(state.app.pin_key(), &form.headers));
    response
}

fn describe(caller: &Caller) -> String {
    match caller {
        Caller::Municipality { code, token_id, .. } => format!("municipality {code} token {token_id}"),
        Caller::Kiosk { id } => format!("kiosk {id}"),
        Caller::Vendor => "vendor".to_owned(),
        Caller::Anonymous => "anonymous".to_owned(),
    }
}

pub async fn sign_out(posted: Posted) -> Response {
    signed_out(&posted.signed)
}

/// End the session in this browser and go to the sign-in page.
pub fn signed_out(signed: &Signed) -> Response {
    let area = signed.session.area;
    let mut response = Redirect::to(&format!("{}/sign-in", area.path())).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(area, &signed.headers));
    response
}
