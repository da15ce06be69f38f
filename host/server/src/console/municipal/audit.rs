//! The audit log by day and type, and the verify button: the checks of
//! `kofu audit verify` for this municipality, on a sample of its documents.

use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::{Section, frame};
use crate::console::Signed;
use crate::console::api::{query, seg};
use crate::console::form::Posted;
use crate::console::page::{Lang, PageError, csrf_field, day, s};

/// At most this many entries are shown for a day; the export has them all.
const SHOWN: usize = 500;

#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    date: String,
    #[serde(default)]
    event: String,
}

pub async fn list(signed: Signed, Path(code): Path<String>, Query(filters): Query<Filters>) -> Response {
    let result = page(&signed, &code, &filters, None).await;
    signed.page(result)
}

pub async fn verify(Path(code): Path<String>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let report = signed
            .api
            .post(&format!("/v1/municipalities/{}/audit/verify", seg(&code)), &json!({ "sample": 20 }))
            .await?;
        page(&signed, &code, &Filters::default(), Some(report)).await
    }
    .await;
    signed.page(result)
}

async fn page(signed: &Signed, code: &str, f: &Filters, report: Option<Value>) -> Result<Response, PageError> {
    let l = signed.lang;
    let (date, next) = day(l, &f.date)?;
    let path = format!(
        "/v1/municipalities/{}/audit/export{}",
        seg(code),
        query(&[("from", &date.to_string()), ("to", &next.to_string())])
    );
    let reply = signed.api.call(Method::GET, &path, "application/x-ndjson", None).await?.into_result()?;
    let entries: Vec<Value> =
        String::from_utf8_lossy(&reply.body).lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let mut events: Vec<String> = entries.iter().map(|e| s(e, "event")).collect();
    events.sort();
    events.dedup();
    let shown: Vec<&Value> = entries.iter().rev().filter(|e| f.event.is_empty() || s(e, "event") == f.event).collect();
    let title = l.t("監査ログ", "Audit log");
    let body = html! {
        main {
            h1 { (title) " " small { (date.to_string()) } }
            @if let Some(report) = &report { (verify_report(l, report)) }
            form method="post" action=(format!("/console/m/{code}/audit/verify")) {
                (csrf_field(signed.csrf()))
                button type="submit" { (l.t("監査ログを検証する", "Verify the audit log")) }
                " " span.hint { (l.t("ハッシュチェーン、発行記録との突き合わせ、証明書20件の再描画と比較（kofu audit verify と同じ検査）", "The hash chain, the cross-check with the issuance records, and 20 documents re-rendered and compared (the checks of kofu audit verify)")) }
            }
            form.filters method="get" action=(format!("/console/m/{code}/audit")) {
                label { (l.t("日付", "Date")) input type="date" name="date" value=(date.to_string()); }
                label { (l.t("種類", "Type"))
                    select name="event" data-autosubmit {
                        option value="" { (l.t("すべて", "All")) }
                        @for e in &events { option value=(e) selected[*e == f.event] { (e) } }
                    }
                }
                button type="submit" { (l.t("表示", "Show")) }
                " " a href=(path_for_download(code, date)) { (l.t("この日をダウンロード（NDJSON）", "Download this day (NDJSON)")) }
            }
            @if shown.is_empty() {
                p.empty { (l.t("この日の記録はありません。", "No entries on this day.")) }
            } @else {
                table.list {
                    thead { tr { th { "#" } th { (l.t("日時", "Time")) } th { (l.t("種類", "Type")) } th { (l.t("発行", "Issuance")) } th { (l.t("内容", "Data")) } th { (l.t("ハッシュ", "Hash")) } } }
                    tbody {
                        @for e in shown.iter().take(SHOWN) {
                            tr {
                                td { (s(e, "seq")) }
                                td { (s(e, "at")) }
                                td { (s(e, "event")) }
                                td { @if !s(e, "issuance").is_empty() { a href=(format!("/console/m/{code}/issuances/{}", seg(&s(e, "issuance")))) { (s(e, "issuance")) } } }
                                td { code.data { (e["data"].to_string()) } }
                                td { code { (s(e, "hash").get(..12).unwrap_or_default()) } }
                            }
                        }
                    }
                }
                @if shown.len() > SHOWN { p.hint { (l.t("新しい順に500件まで表示しています。すべてはダウンロードで確認できます。", "The newest 500 are shown; download the day for all of them.")) } }
            }
        }
    };
    Ok(frame(signed, code, Section::Audit, title, body))
}

fn path_for_download(code: &str, date: kofu_model::Date) -> String {
    format!("/console/m/{code}/audit/export{}", query(&[("date", &date.to_string())]))
}

/// The day's entries as the API exports them, as a download.
pub async fn export(signed: Signed, Path(code): Path<String>, Query(filters): Query<Filters>) -> Response {
    let result = async {
        let (date, next) = day(signed.lang, &filters.date)?;
        let path = format!(
            "/v1/municipalities/{}/audit/export{}",
            seg(&code),
            query(&[("from", &date.to_string()), ("to", &next.to_string())])
        );
        let reply = signed.api.call(Method::GET, &path, "application/x-ndjson", None).await?.into_result()?;
        let disposition = format!("attachment; filename=\"audit-{code}-{date}.ndjson\"");
        Ok((
            [
                (axum::http::header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
                (axum::http::header::CONTENT_DISPOSITION, disposition),
            ],
            reply.body,
        )
            .into_response())
    }
    .await;
    signed.page(result)
}

fn verify_report(l: Lang, r: &Value) -> Markup {
    let ok = r["ok"].as_bool() == Some(true);
    html! {
        section class=(if ok { "verify ok" } else { "verify failed" }) role="status" {
            h2 { (if ok { l.t("検証できました：問題はありません", "Verified: no problems found") } else { l.t("検証に失敗しました", "Verification FAILED") }) }
            p { (match l {
                Lang::Ja => format!("記録 {} 件、発行記録 {} 件を突き合わせ、証明書 {} 件を再描画しました。", s(r, "entries"), s(r, "issuances_checked"), s(r, "rerendered")),
                Lang::En => format!("{} entries and {} issuance records checked; {} documents re-rendered.", s(r, "entries"), s(r, "issuances_checked"), s(r, "rerendered")),
            }) }
            @if let Some(problems) = r["problems"].as_array().filter(|p| !p.is_empty()) {
                ul { @for p in problems { li { (p.as_str().unwrap_or_default()) } } }
            }
        }
    }
}
