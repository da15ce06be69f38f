//! A municipality's issuance records: the filtered list (JSON or CSV), a
//! lookup by the printed issuance number, and voiding a certificate.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kofu_model::{parse_instant, rfc3339_in_japan};
use kofu_store::{Issuance, IssuanceFilter, Outcome, VoidReason, VoidRequest, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paging::{check_limit, default_limit};
use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The query of `GET /v1/municipalities/{code}/issuances`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// From this instant (RFC 3339) or date (its start in Japan), inclusive.
    pub from: Option<String>,
    /// Up to this instant or date, exclusive.
    pub to: Option<String>,
    pub kind: Option<String>,
    pub outcome: Option<Outcome>,
    /// The resident's register id.
    pub resident: Option<String>,
    pub kiosk: Option<String>,
    /// The printed issuance number (発行番号): at most one row.
    pub number: Option<String>,
    /// `next` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One row of the list: the record, with what a person reading it needs.
#[derive(Serialize)]
pub struct IssuanceRow {
    pub id: String,
    pub number: String,
    /// RFC 3339, Japan time.
    pub created_at: String,
    pub kind: String,
    pub resident: String,
    /// The resident's name as the register holds it now.
    pub resident_name: Option<String>,
    pub kiosk: String,
    pub plugin_hash: String,
    pub plugin_version: Option<String>,
    pub fields_read: Value,
    pub outcome: Outcome,
    pub reason_code: Option<String>,
    pub delivery: kofu_store::Delivery,
    pub fee_yen: Option<i64>,
    pub pages: Option<i64>,
    pub verification_code: Option<String>,
    pub voided_at: Option<String>,
    pub void_reason: Option<VoidReason>,
}

#[derive(Serialize)]
pub struct IssuancePage {
    pub issuances: Vec<IssuanceRow>,
    /// Pass as `cursor` for the next (older) page; null at the end.
    pub next: Option<String>,
}

fn instant(name: &str, text: &Option<String>) -> Result<Option<i64>, ApiError> {
    text.as_deref()
        .map(|t| {
            parse_instant(t).ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "`{name}` must be an RFC 3339 instant such as 2026-12-07T09:00:00+09:00, or a date such as \
                     2026-12-07 (its start in Japan time)"
                ))
            })
        })
        .transpose()
}

fn cursor(text: &Option<String>) -> Result<Option<(i64, String)>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let bad = || ApiError::unprocessable("`cursor` is not one this server gave out: pass `next` of the previous page");
    let (at, id) = text.split_once('.').ok_or_else(bad)?;
    Ok(Some((at.parse().map_err(|_| bad())?, id.to_owned())))
}

pub async fn list(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or_else(default_limit);
    check_limit(limit)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::unprocessable("`format` must be `json` or `csv`")),
    };
    let found = match &q.number {
        Some(number) => state.store().issuance_by_number(&access.code, number).await?.into_iter().collect(),
        None => {
            let filter = IssuanceFilter {
                from: instant("from", &q.from)?,
                to: instant("to", &q.to)?,
                kind: q.kind.clone(),
                outcome: q.outcome,
                subject: q.resident.clone(),
                kiosk: q.kiosk.clone(),
                before: cursor(&q.cursor)?,
            };
            state.store().list_issuances(&access.code, &filter, limit).await?
        }
    };
    let next =
        (found.len() as i64 == limit).then(|| found.last().map(|i| format!("{}.{}", i.created_at, i.id))).flatten();
    let rows = rows(&state, &access.code, found).await?;
    if csv {
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&rows)).into_response());
    }
    Ok(Json(IssuancePage { issuances: rows, next }).into_response())
}

async fn rows(state: &AppState, code: &str, found: Vec<Issuance>) -> Result<Vec<IssuanceRow>, ApiError> {
    let ids: Vec<String> =
        found.iter().map(|i| i.subject.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let names = state.store().resident_names(code, &ids).await?;
    let versions: BTreeMap<String, String> =
        state.store().plugins(code).await?.into_iter().map(|p| (p.hash, p.version)).collect();
    Ok(found
        .into_iter()
        .map(|i| IssuanceRow {
            created_at: rfc3339_in_japan(i.created_at),
            resident_name: names.get(&i.subject).cloned(),
            plugin_version: versions.get(&i.plugin_hash).cloned(),
            voided_at: i.void.as_ref().map(|v| rfc3339_in_japan(v.at)),
            void_reason: i.void.as_ref().map(|v| v.reason),
            id: i.id,
            number: i.number,
            kind: i.kind,
            resident: i.subject,
            kiosk: i.kiosk,
            plugin_hash: i.plugin_hash,
            fields_read: i.fields_read,
            outcome: i.outcome,
            reason_code: i.reason_code,
            delivery: i.delivery,
            fee_yen: i.fee,
            pages: i.pages,
            verification_code: i.verification_code,
        })
        .collect())
}

/// RFC 4180 CSV with a header row; cells quoted when they need it.
fn to_csv(rows: &[IssuanceRow]) -> String {
    fn cell(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    }
    let mut out = String::from(
        "number,created_at,kind,resident,resident_name,kiosk,plugin_version,plugin_hash,fields_read,outcome,\
         reason_code,delivery,fee_yen,pages,verification_code,voided_at,void_reason,id\r\n",
    );
    for r in rows {
        let fields = r.fields_read.as_array().map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "));
        let line = [
            r.number.clone(),
            r.created_at.clone(),
            r.kind.clone(),
            r.resident.clone(),
            r.resident_name.clone().unwrap_or_default(),
            r.kiosk.clone(),
            r.plugin_version.clone().unwrap_or_default(),
            r.plugin_hash.clone(),
            fields.unwrap_or_default(),
            r.outcome.as_str().to_owned(),
            r.reason_code.clone().unwrap_or_default(),
            r.delivery.as_str().to_owned(),
            r.fee_yen.map(|f| f.to_string()).unwrap_or_default(),
            r.pages.map(|p| p.to_string()).unwrap_or_default(),
            r.verification_code.clone().unwrap_or_default(),
            r.voided_at.clone().unwrap_or_default(),
            r.void_reason.map(|v| v.as_str().to_owned()).unwrap_or_default(),
            r.id.clone(),
        ];
        out.push_str(&line.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The body of a void.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    pub reason: VoidReason,
    /// What happened, in the staff's words (kept in the audit detail).
    pub note: String,
}

pub async fn void(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<VoidBody>,
) -> Result<Json<Issuance>, ApiError> {
    if body.note.trim().is_empty() {
        return Err(ApiError::unprocessable("`note` must say what was wrong with the certificate"));
    }
    if body.note.chars().count() > kofu_store::MAX_NOTE_CHARS {
        return Err(ApiError::unprocessable(format!(
            "`note` is longer than {} characters: say what was wrong in a sentence or two",
            kofu_store::MAX_NOTE_CHARS
        )));
    }
    let request = VoidRequest { reason: body.reason, note: body.note.trim(), by: &access.actor };
    let voided = state.store().void_issuance(&access.code, &id, &request, now_millis()).await?;
    tracing::warn!(municipality = %access.code, issuance = %id, reason = body.reason.as_str(), "certificate voided");
    Ok(Json(voided))
}
