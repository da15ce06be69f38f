//! Today's issuances (or another day's), one issuance, and voiding it.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::{Section, frame};
use crate::console::Signed;
use crate::console::api::{query, seg};
use crate::console::form::Posted;
use crate::console::page::{Lang, PageError, csrf_field, day, jst, notice, s, yen};

#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    resident: String,
    #[serde(default)]
    cursor: String,
}

pub fn outcome_label(l: Lang, outcome: &str) -> &'static str {
    match outcome {
        "issued" => l.t("交付", "issued"),
        "refused" => l.t("交付せず", "refused"),
        "failed" => l.t("失敗", "failed"),
        _ => "",
    }
}

pub fn delivery_label(l: Lang, delivery: &str) -> &'static str {
    match delivery {
        "ready" => l.t("受取待ち", "ready"),
        "fetched" => l.t("受取済み", "fetched"),
        "printed" => l.t("印刷済み", "printed"),
        "expired" => l.t("期限切れ", "expired"),
        _ => "—",
    }
}

pub async fn list(signed: Signed, Path(code): Path<String>, Query(filters): Query<Filters>) -> Response {
    let result = list_page(&signed, &code, filters).await;
    signed.page(result)
}

async fn list_page(signed: &Signed, code: &str, f: Filters) -> Result<Response, PageError> {
    let l = signed.lang;
    let (date, next) = day(l, &f.date)?;
    let (from, to) = (date.to_string(), next.to_string());
    let path = format!(
        "/v1/municipalities/{}/issuances{}",
        seg(code),
        query(&[
            ("from", &from),
            ("to", &to),
            ("kind", &f.kind),
            ("outcome", &f.outcome),
            ("number", &f.number),
            ("resident", &f.resident),
            ("cursor", &f.cursor),
            ("limit", "100"),
        ])
    );
    let page = signed.api.get(&path).await?;
    let kinds = signed.api.get(&format!("/v1/municipalities/{}/plugins", seg(code))).await?;
    let mut kind_names: Vec<String> =
        kinds["versions"].as_array().into_iter().flatten().map(|v| s(v, "kind")).collect();
    kind_names.sort();
    kind_names.dedup();
    let rows = page["issuances"].as_array().cloned().unwrap_or_default();
    let title = l.t("発行記録", "Issuances");
    let base = format!("/console/m/{code}/issuances");
    let body = html! {
        main {
            h1 { (title) " " small { (date.to_string()) } }
            form.filters method="get" action=(base) {
                label { (l.t("日付", "Date")) input type="date" name="date" value=(date.to_string()); }
                label { (l.t("種類", "Kind"))
                    select name="kind" data-autosubmit {
                        option value="" { (l.t("すべて", "All")) }
                        @for k in &kind_names { option value=(k) selected[*k == f.kind] { (k) } }
                    }
                }
                label { (l.t("結果", "Outcome"))
                    select name="outcome" data-autosubmit {
                        option value="" { (l.t("すべて", "All")) }
                        @for o in ["issued", "refused", "failed"] {
                            option value=(o) selected[o == f.outcome] { (outcome_label(l, o)) }
                        }
                    }
                }
                label { (l.t("発行番号", "Issuance number")) input type="search" name="number" value=(f.number); }
                label { (l.t("住民ID", "Resident id")) input type="search" name="resident" value=(f.resident); }
                button type="submit" { (l.t("検索", "Search")) }
            }
            @if rows.is_empty() {
                p.empty { (l.t("この条件の発行はありません。", "No issuances match.")) }
            } @else {
                table.list {
                    thead { tr {
                        th { (l.t("時刻", "Time")) } th { (l.t("発行番号", "Number")) } th { (l.t("種類", "Kind")) }
                        th { (l.t("住民", "Resident")) } th { (l.t("結果", "Outcome")) } th { (l.t("交付", "Delivery")) }
                        th { (l.t("手数料", "Fee")) } th { (l.t("取消", "Void")) }
                    } }
                    tbody {
                        @for row in &rows { (issuance_row(l, code, row)) }
                    }
                }
            }
            @if let Some(next) = page["next"].as_str() {
                p { a href=(format!("{base}{}", query(&[("date", &date.to_string()), ("kind", &f.kind), ("outcome", &f.outcome), ("number", &f.number), ("resident", &f.resident), ("cursor", next)]))) { (l.t("次のページ", "Next page")) } }
            }
        }
    };
    Ok(frame(signed, code, Section::Issuances, title, body))
}

fn issuance_row(l: Lang, code: &str, row: &Value) -> Markup {
    let outcome = s(row, "outcome");
    let time = s(row, "created_at");
    let time = time.get(11..16).unwrap_or(&time).to_owned();
    html! {
        tr class=(format!("outcome-{outcome}")) {
            td { (time) }
            td { a href=(format!("/console/m/{code}/issuances/{}", seg(&s(row, "id")))) { (s(row, "number")) } }
            td { (s(row, "kind")) }
            td { (s(row, "resident_name")) " " small { (s(row, "resident")) } }
            td { (outcome_label(l, &outcome)) @if !s(row, "reason_code").is_empty() { " " small { (s(row, "reason_code")) } } }
            td { (delivery_label(l, &s(row, "delivery"))) }
            td { @if let Some(fee) = row["fee_yen"].as_i64() { (yen(l, fee)) } }
            td { @if !s(row, "voided_at").is_empty() { span.voided { (l.t("取消済み", "voided")) } } }
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn show(signed: Signed, Path((code, id)): Path<(String, String)>, Query(done): Query<Done>) -> Response {
    let result = show_page(&signed, &code, &id, &done.done).await;
    signed.page(result)
}

fn void_reasons(l: Lang) -> [(&'static str, &'static str); 4] {
    [
        ("wrong-person", l.t("交付対象者の誤り", "Wrong person")),
        ("wrong-content", l.t("記載内容の誤り", "Wrong content")),
        ("not-allowed", l.t("交付できない証明書", "Should not have been issued")),
        ("other", l.t("その他", "Other")),
    ]
}

async fn show_page(signed: &Signed, code: &str, id: &str, done: &str) -> Result<Response, PageError> {
    let l = signed.lang;
    let issuance = signed.api.get(&format!("/v1/municipalities/{}/issuances/{}", seg(code), seg(id))).await?;
    let number = s(&issuance, "number");
    let listed = signed
        .api
        .get(&format!("/v1/municipalities/{}/issuances{}", seg(code), query(&[("number", &number), ("limit", "1")])))
        .await?;
    let row = listed["issuances"].get(0).cloned().unwrap_or(Value::Null);
    let outcome = s(&issuance, "outcome");
    let voided = !issuance["void"].is_null();
    let fields: Vec<String> = issuance["fields_read"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f.as_str().map_or_else(|| f.to_string(), str::to_owned))
        .collect();
    let title = format!("{} {number}", l.t("発行", "Issuance"));
    let body = html! {
        main {
            @if done == "voided" { (notice(l.t("この証明書を取り消しました。確認ページにも「無効」と表示されます。", "The certificate is void; its verification page says so."))) }
            h1 { (title) }
            dl.record {
                dt { (l.t("日時", "Time")) } dd { (issuance["created_at"].as_i64().map(jst).unwrap_or_default()) }
                dt { (l.t("種類", "Kind")) } dd { (s(&issuance, "kind")) }
                dt { (l.t("住民", "Resident")) } dd {
                    (s(&row, "resident_name")) " "
                    a href=(format!("/console/m/{code}/residents/{}", seg(&s(&issuance, "subject")))) { (s(&issuance, "subject")) }
                }
                dt { (l.t("プラグイン", "Plugin")) } dd { (s(&row, "plugin_version")) " " code { (s(&issuance, "plugin_hash")) } }
                dt { (l.t("ホストのビルド", "Host build")) } dd { code { (s(&issuance, "host_build")) } }
                dt { (l.t("読んだ項目", "Fields read")) } dd { (fields.join(", ")) }
                dt { (l.t("結果", "Outcome")) } dd {
                    (outcome_label(l, &outcome))
                    @if !s(&issuance, "reason_code").is_empty() { " (" (s(&issuance, "reason_code")) ")" }
                }
                dt { (l.t("交付", "Delivery")) } dd { (delivery_label(l, &s(&issuance, "delivery"))) }
                dt { (l.t("手数料", "Fee")) } dd { @if let Some(fee) = issuance["fee"].as_i64() { (yen(l, fee)) } }
                dt { (l.t("ページ数", "Pages")) } dd { (s(&issuance, "pages")) }
                dt { (l.t("確認コード", "Verification code")) } dd {
                    @if !s(&issuance, "verification_code").is_empty() {
                        a href=(format!("/v1/verify/{}", seg(&s(&issuance, "verification_code")))) { (s(&issuance, "verification_code")) }
                    }
                }
                @if voided {
                    dt { (l.t("取消", "Voided")) } dd.voided {
                        (issuance["void"]["at"].as_i64().map(jst).unwrap_or_default()) " "
                        (s(&issuance["void"], "reason")) " — " (s(&issuance["void"], "note"))
                    }
                }
            }
            @if outcome == "issued" && !voided {
                section {
                    h2 { (l.t("この証明書を取り消す", "Void this certificate")) }
                    p { (l.t("取り消すと、確認ページで「無効」と表示されます。取り消しは元に戻せません。", "Voiding marks the paper void on its verification page. It cannot be undone.")) }
                    form method="post" action=(format!("/console/m/{code}/issuances/{}/void", seg(id))) data-confirm=(l.t("本当に取り消しますか？", "Void this certificate?")) {
                        (csrf_field(signed.csrf()))
                        label { (l.t("理由", "Reason"))
                            select name="reason" required {
                                @for (value, label) in void_reasons(l) { option value=(value) { (label) } }
                            }
                        }
                        label { (l.t("経緯（必須）", "What happened (required)")) textarea name="note" required rows="2" {} }
                        button.danger type="submit" { (l.t("取り消す", "Void")) }
                    }
                }
            }
        }
    };
    Ok(frame(signed, code, Section::Issuances, &title, body))
}

pub async fn void(Path((code, id)): Path<(String, String)>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let note = fields.get("note");
        if note.is_empty() {
            return Err(PageError::invalid(
                signed.lang.t("取り消しの経緯を書いてください。", "Say what happened: the note is required."),
            ));
        }
        let path = format!("/v1/municipalities/{}/issuances/{}/void", seg(&code), seg(&id));
        signed.api.post(&path, &json!({ "reason": fields.get("reason"), "note": note })).await?;
        Ok(Redirect::to(&format!("/console/m/{code}/issuances/{}?done=voided", seg(&id))).into_response())
    }
    .await;
    signed.page(result)
}
