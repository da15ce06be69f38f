//! The municipality's console: `/console/m/{code}/…`. Every page calls the
//! API for municipality `{code}` with the session's token, so a token of
//! another municipality gets the API's refusal, never this one's data.

mod audit;
mod issuances;
mod plugins;
mod register;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;

use super::page::{self, Header};
use super::session::Area;
use super::{ConsoleState, Signed};
use crate::auth::Caller;

pub fn routes(upload_limit: usize, import_limit: usize) -> Router<ConsoleState> {
    Router::new()
        .route("/console/m/{code}/issuances", get(issuances::list))
        .route("/console/m/{code}/issuances/{id}", get(issuances::show))
        .route("/console/m/{code}/issuances/{id}/void", post(issuances::void))
        .route(
            "/console/m/{code}/plugins",
            get(plugins::list).post(plugins::add).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/console/m/{code}/plugins/{hash}/dry-run", get(plugins::dry_run_form).post(plugins::dry_run))
        .route("/console/m/{code}/plugins/{hash}/activate", post(plugins::activate))
        .route("/console/m/{code}/kinds/{kind}/rollback", post(plugins::rollback))
        .route(
            "/console/m/{code}/residents",
            get(register::list).post(register::import).layer(DefaultBodyLimit::max(import_limit)),
        )
        .route("/console/m/{code}/residents/{id}", get(register::show))
        .route("/console/m/{code}/residents/{id}/status", post(register::change_status))
        .route("/console/m/{code}/residents/{id}/cards", post(register::issue_card))
        .route("/console/m/{code}/cards/{id}/unlock", post(register::unlock_card))
        .route("/console/m/{code}/cards/{id}/revoke", post(register::revoke_card))
        .route("/console/m/{code}/audit", get(audit::list))
        .route("/console/m/{code}/audit/verify", post(audit::verify))
        .route("/console/m/{code}/audit/export", get(audit::export))
}

/// The console's sections, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Issuances,
    Plugins,
    Register,
    Audit,
}

/// A municipality page in the console's frame.
pub fn frame(signed: &Signed, code: &str, section: Section, title: &str, main: Markup) -> Response {
    let l = signed.lang;
    let base = format!("/console/m/{code}");
    let nav = vec![
        (l.t("発行記録", "Issuances"), format!("{base}/issuances"), section == Section::Issuances),
        (l.t("プラグイン", "Plugins"), format!("{base}/plugins"), section == Section::Plugins),
        (l.t("住民", "Register"), format!("{base}/residents"), section == Section::Register),
        (l.t("監査", "Audit"), format!("{base}/audit"), section == Section::Audit),
    ];
    let who = match &signed.caller {
        Caller::Municipality { code, label, .. } => format!("{code} · {label}"),
        Caller::Vendor => l.t("ベンダー", "Vendor").to_owned(),
        _ => String::new(),
    };
    let header = Header { who, nav, csrf: signed.csrf().to_owned(), area: Area::Console };
    page::document(l, title, Some(&header), main).into_response()
}
