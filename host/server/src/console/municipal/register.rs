//! The register: import a file (every problem listed), search residents, a
//! resident's record, status changes with their reason, removal, and cards
//! (issue, unlock, revoke).

use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::{Section, frame};
use crate::console::Signed;
use crate::console::api::{query, seg};
use crate::console::form::Posted;
use crate::console::page::{Lang, PageError, csrf_field, jst, notice, s};

#[derive(serde::Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    name: String,
    #[serde(default)]
    household: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    test: String,
    #[serde(default)]
    restricted: String,
    #[serde(default)]
    removed: String,
    #[serde(default)]
    after: String,
}

pub fn state_label(l: Lang, state: &str) -> &'static str {
    match state {
        "resident" => l.t("住民", "resident"),
        "moved-out" => l.t("転出", "moved out"),
        "deceased" => l.t("死亡", "deceased"),
        _ => "",
    }
}

pub async fn list(signed: Signed, Path(code): Path<String>, Query(search): Query<Search>) -> Response {
    let result = list_page(&signed, &code, &search).await;
    signed.page(result)
}

fn import_form(signed: &Signed, code: &str) -> Markup {
    let l = signed.lang;
    html! {
        form method="post" action=(format!("/console/m/{code}/residents")) enctype="multipart/form-data" {
            (csrf_field(signed.csrf()))
            label { (l.t("住民ファイル（CSV または JSON）", "Register file (CSV or JSON)"))
                input type="file" name="register" accept=".csv,.json,text/csv,application/json" required;
            }
            button type="submit" { (l.t("取り込む", "Import")) }
        }
        p.hint { (l.t("取り込みはすべての行か、一行も取り込まないかのどちらかです。問題があれば、その一覧が表示されます。", "An import takes every row or none: if anything is wrong, you get the list of problems.")) }
    }
}

async fn list_page(signed: &Signed, code: &str, f: &Search) -> Result<Response, PageError> {
    let l = signed.lang;
    let path = format!(
        "/v1/municipalities/{}/residents{}",
        seg(code),
        query(&[
            ("name", &f.name),
            ("household", &f.household),
            ("state", &f.state),
            ("test", &f.test),
            ("restricted", &f.restricted),
            ("removed", &f.removed),
            ("after", &f.after),
            ("limit", "50"),
        ])
    );
    let page = signed.api.get(&path).await?;
    let residents = page["residents"].as_array().cloned().unwrap_or_default();
    let title = l.t("住民", "Register");
    let base = format!("/console/m/{code}/residents");
    let yes_no = |name: &'static str, current: &str| {
        html! {
            select name=(name) {
                option value="" { (l.t("指定なし", "Any")) }
                option value="true" selected[current == "true"] { (l.t("はい", "Yes")) }
                option value="false" selected[current == "false"] { (l.t("いいえ", "No")) }
            }
        }
    };
    let body = html! {
        main {
            h1 { (title) }
            section { h2 { (l.t("住民ファイルの取り込み", "Import the register")) } (import_form(signed, code)) }
            section {
                h2 { (l.t("住民を探す", "Find residents")) }
                form.filters method="get" action=(base) {
                    label { (l.t("氏名・かな", "Name or kana")) input type="search" name="name" value=(f.name); }
                    label { (l.t("世帯", "Household")) input type="search" name="household" value=(f.household); }
                    label { (l.t("状態", "State"))
                        select name="state" {
                            option value="" { (l.t("指定なし", "Any")) }
                            @for st in ["resident", "moved-out", "deceased"] { option value=(st) selected[st == f.state] { (state_label(l, st)) } }
                        }
                    }
                    label { (l.t("テスト住民", "Test")) (yes_no("test", &f.test)) }
                    label { (l.t("支援措置", "Support measure")) (yes_no("restricted", &f.restricted)) }
                    label.check { input type="checkbox" name="removed" value="true" checked[f.removed == "true"]; (l.t("削除済みを含む", "Include removed")) }
                    button type="submit" { (l.t("検索", "Search")) }
                }
                @if residents.is_empty() {
                    p.empty { (l.t("該当する住民はいません。", "No residents match.")) }
                } @else {
                    table.list {
                        thead { tr { th { "ID" } th { (l.t("氏名", "Name")) } th { (l.t("かな", "Kana")) } th { (l.t("世帯", "Household")) } th { (l.t("状態", "State")) } th { (l.t("備考", "Notes")) } } }
                        tbody {
                            @for r in &residents {
                                @let record = &r["record"];
                                tr {
                                    td { a href=(format!("{base}/{}", seg(&s(r, "id")))) { (s(r, "id")) } }
                                    td { (s(record, "name")) }
                                    td { (s(record, "name_kana")) }
                                    td { (s(r, "household")) }
                                    td { (state_label(l, &s(&record["residency"], "state"))) }
                                    td {
                                        @if record["residency"]["restricted"].as_bool() == Some(true) { span.tag.restricted { (l.t("支援措置", "support measure")) } }
                                        @if r["test"].as_bool() == Some(true) { span.tag { (l.t("テスト", "test")) } }
                                        @if !r["removed_at"].is_null() { span.tag.voided { (l.t("削除済み", "removed")) } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = page["next"].as_i64() {
                    p { a href=(format!("{base}{}", query(&[("name", &f.name), ("household", &f.household), ("state", &f.state), ("test", &f.test), ("restricted", &f.restricted), ("removed", &f.removed), ("after", &next.to_string())]))) { (l.t("次のページ", "Next page")) } }
                }
            }
        }
    };
    Ok(frame(signed, code, Section::Register, title, body))
}

pub async fn import(Path(code): Path<String>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let l = signed.lang;
    let result = async {
        let Some((filename, bytes)) = fields.file("register").filter(|(_, b)| !b.is_empty()) else {
            return Err(PageError::invalid(l.t("取り込むファイルを選んでください。", "Choose the file to import.")));
        };
        let content_type = if filename.to_ascii_lowercase().ends_with(".json") { "application/json" } else { "text/csv" };
        let path = format!("/v1/municipalities/{}/residents", seg(&code));
        let reply =
            signed.api.call(Method::POST, &path, "application/json", Some((content_type, bytes.to_vec()))).await?;
        let title = l.t("取り込みの結果", "Import result");
        let filename = filename.to_owned();
        if reply.status.is_success() {
            let summary = reply.json();
            let body = html! {
                main {
                    (notice(&match l {
                        Lang::Ja => format!("{filename} を取り込みました：新規 {} 人、更新 {} 人。", s(&summary, "created"), s(&summary, "updated")),
                        Lang::En => format!("Imported {filename}: {} new, {} updated.", s(&summary, "created"), s(&summary, "updated")),
                    }))
                    h1 { (title) }
                    p { a href=(format!("/console/m/{code}/residents")) { (l.t("住民の一覧へ", "To the register")) } }
                }
            };
            return Ok(frame(&signed, &code, Section::Register, title, body));
        }
        if reply.status != StatusCode::UNPROCESSABLE_ENTITY {
            reply.into_result()?;
            return Err(PageError::Internal("unreachable: a failed reply passed".into()));
        }
        let problem = reply.json();
        let problems = problem["problems"].as_array().cloned().unwrap_or_default();
        let body = html! {
            main {
                h1 { (title) }
                p.error role="alert" {
                    (match l {
                        Lang::Ja => format!("{filename} には {} 件の問題があります。何も取り込まれていません。ファイルを直してから、もう一度取り込んでください。", problems.len()),
                        Lang::En => format!("{filename} has {} problem(s). Nothing was imported: fix the file and import it again.", problems.len()),
                    })
                }
                @if problems.is_empty() { p { (s(&problem, "detail")) } }
                @else {
                    table.list.problems {
                        thead { tr { th { (l.t("行", "Row")) } th { "ID" } th { (l.t("列", "Column")) } th { (l.t("問題", "Problem")) } } }
                        tbody {
                            @for p in &problems {
                                tr {
                                    td { @if p["row"].as_u64().is_some_and(|r| r > 0) { (s(p, "row")) } }
                                    td { (s(p, "id")) }
                                    td { (s(p, "field")) }
                                    td { (problem_text(l, p)) }
                                }
                            }
                        }
                    }
                }
                section { h2 { (l.t("もう一度取り込む", "Import again")) } (import_form(&signed, &code)) }
            }
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, frame(&signed, &code, Section::Register, title, body)).into_response())
    }
    .await;
    signed.page(result)
}

/// A problem in the reader's language (the API gives both where it can).
fn problem_text(l: Lang, problem: &Value) -> String {
    match (l, problem.get("problem_ja").and_then(Value::as_str)) {
        (Lang::Ja, Some(ja)) if !ja.is_empty() => ja.to_owned(),
        _ => s(problem, "problem"),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn done_text(l: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "status" => {
            l.t("状態を変更しました。次の申請から反映されます。", "The status is changed, from the next request on.")
        }
        "card" => l.t("カードを発行しました。", "The card is issued."),
        "unlocked" => l.t("カードのロックを解除しました。", "The card is unlocked."),
        "revoked" => l.t("カードを無効にしました。", "The card is revoked."),
        "removed" => l.t("この住民を住民記録から削除しました。", "The resident is removed from the register."),
        _ => return None,
    })
}

pub async fn show(signed: Signed, Path((code, id)): Path<(String, String)>, Query(done): Query<Done>) -> Response {
    let result = show_page(&signed, &code, &id, &done.done).await;
    signed.page(result)
}

async fn show_page(signed: &Signed, code: &str, id: &str, done: &str) -> Result<Response, PageError> {
    let l = signed.lang;
    let resident = signed.api.get(&format!("/v1/municipalities/{}/residents/{}", seg(code), seg(id))).await?;
    let cards = signed
        .api
        .get(&format!("/v1/municipalities/{}/cards{}", seg(code), query(&[("resident", id), ("limit", "100")])))
        .await?;
    let record = &resident["record"];
    let residency = &record["residency"];
    let removed = !resident["removed_at"].is_null();
    let base = format!("/console/m/{code}");
    let title = format!("{} {}", s(record, "name"), id);
    let body = html! {
        main {
            @if let Some(text) = done_text(l, done) { (notice(text)) }
            h1 { (s(record, "name")) " " small { (s(record, "name_kana")) " · " (id) } }
            dl.record {
                dt { (l.t("生年月日", "Born")) } dd { (s(record, "birth_date")) }
                dt { (l.t("住所", "Address")) } dd { (s(record, "address")) }
                dt { (l.t("世帯", "Household")) } dd {
                    a href=(format!("{base}/residents{}", query(&[("household", &s(&resident, "household"))]))) { (s(&resident, "household")) }
                    " " (s(record, "relationship"))
                }
                dt { (l.t("状態", "State")) } dd {
                    (state_label(l, &s(residency, "state")))
                    @if !s(residency, "since").is_empty() { " (" (s(residency, "since")) ")" }
                    @if residency["restricted"].as_bool() == Some(true) { " " span.tag.restricted { (l.t("支援措置", "support measure")) } }
                }
                dt { (l.t("印鑑登録", "Seal")) } dd { (s(&record["seal"], "number")) " " (s(&record["seal"], "state")) }
                dt { (l.t("テスト住民", "Test resident")) } dd { (if resident["test"].as_bool() == Some(true) { l.t("はい", "yes") } else { l.t("いいえ", "no") }) }
                dt { (l.t("更新", "Updated")) } dd { (resident["updated_at"].as_i64().map(jst).unwrap_or_default()) " (v" (s(&resident, "version")) ")" }
                @if removed { dt { (l.t("削除", "Removed")) } dd.voided { (resident["removed_at"].as_i64().map(jst).unwrap_or_default()) } }
            }
            @if !removed {
                section {
                    h2 { (l.t("状態の変更", "Change the status")) }
                    form method="post" action=(format!("{base}/residents/{}/status", seg(id))) {
                        (csrf_field(signed.csrf()))
                        label { (l.t("住民の状態", "Residency"))
                            select name="state" {
                                option value="" { (l.t("変えない", "Unchanged")) }
                                @for st in ["resident", "moved-out", "deceased"] { option value=(st) { (state_label(l, st)) } }
                            }
                        }
                        label { (l.t("異動日", "Since")) input type="date" name="since"; }
                        label { (l.t("支援措置", "Support measure"))
                            select name="restricted" {
                                option value="" { (l.t("変えない", "Unchanged")) }
                                option value="true" { (l.t("開始する", "Begins")) }
                                option value="false" { (l.t("終了する", "Ends")) }
                            }
                        }
                        label.check { input type="checkbox" name="seal_cancelled" value="true"; (l.t("印鑑登録を廃止する", "Cancel the seal registration")) }
                        label { (l.t("理由（必須）", "Reason (required)")) input type="text" name="reason" required maxlength="500"; }
                        button type="submit" { (l.t("変更する", "Change")) }
                    }
                }
                section {
                    h2 { (l.t("カード", "Cards")) }
                    (cards_table(signed, code, &cards))
                    form method="post" action=(format!("{base}/residents/{}/cards", seg(id))) {
                        (csrf_field(signed.csrf()))
                        label { (l.t("暗証番号（4桁）", "PIN (4 digits)")) input type="password" name="pin" inputmode="numeric" pattern="[0-9]{4}" required autocomplete="off"; }
                        button type="submit" { (l.t("カードを発行", "Issue a card")) }
                    }
                }
                section {
                    h2 { (l.t("住民記録からの削除", "Remove from the register")) }
                    form method="post" action=(format!("{base}/residents/{}/status", seg(id))) data-confirm=(l.t("この住民を削除しますか？", "Remove this resident?")) {
                        (csrf_field(signed.csrf()))
                        input type="hidden" name="remove" value="true";
                        label { (l.t("理由（必須）", "Reason (required)")) input type="text" name="reason" required maxlength="500"; }
                        button.danger type="submit" { (l.t("削除する", "Remove")) }
                    }
                }
            }
        }
    };
    Ok(frame(signed, code, Section::Register, &title, body))
}

fn cards_table(signed: &Signed, code: &str, cards: &Value) -> Markup {
    let l = signed.lang;
    let list = cards["cards"].as_array().cloned().unwrap_or_default();
    html! {
        @if list.is_empty() { p.empty { (l.t("カードはありません。", "No cards.")) } }
        @else {
            table.list {
                thead { tr { th { (l.t("カード番号", "Card")) } th { (l.t("状態", "State")) } th { (l.t("誤入力", "Wrong PINs")) } th { (l.t("操作", "Actions")) } } }
                tbody {
                    @for card in &list {
                        @let id = s(card, "id");
                        @let revoked = !card["revoked_at"].is_null();
                        @let locked = !card["locked_at"].is_null();
                        tr {
                            td { code { (id) } }
                            td { (if revoked { l.t("無効", "revoked") } else if locked { l.t("ロック中", "locked") } else { l.t("有効", "live") }) }
                            td { (s(card, "failed_attempts")) }
                            td.actions {
                                @if locked && !revoked {
                                    form.inline method="post" action=(format!("/console/m/{code}/cards/{}/unlock", seg(&id))) {
                                        (csrf_field(signed.csrf()))
                                        button type="submit" { (l.t("ロック解除", "Unlock")) }
                                    }
                                }
                                @if !revoked {
                                    form.inline method="post" action=(format!("/console/m/{code}/cards/{}/revoke", seg(&id))) data-confirm=(l.t("このカードを無効にしますか？", "Revoke this card?")) {
                                        (csrf_field(signed.csrf()))
                                        button.danger type="submit" { (l.t("無効にする", "Revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn back_to(code: &str, id: &str, done: &str) -> Response {
    Redirect::to(&format!("/console/m/{code}/residents/{}?done={done}", seg(id))).into_response()
}

pub async fn change_status(Path((code, id)): Path<(String, String)>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let l = signed.lang;
    let result = async {
        let reason = fields.get("reason");
        if reason.is_empty() {
            return Err(PageError::invalid(l.t("変更の理由を書いてください。", "Say why: the reason is required.")));
        }
        let path = format!("/v1/municipalities/{}/residents/{}", seg(&code), seg(&id));
        if fields.get("remove") == "true" {
            signed.api.send(Method::DELETE, &path, &json!({ "reason": reason })).await?;
            return Ok(back_to(&code, &id, "removed"));
        }
        let mut change = Map::new();
        if !fields.get("state").is_empty() {
            let mut residency = Map::new();
            residency.insert("state".into(), fields.get("state").into());
            if !fields.get("since").is_empty() {
                residency.insert("since".into(), fields.get("since").into());
            }
            change.insert("residency".into(), Value::Object(residency));
        }
        match fields.get("restricted") {
            "true" => drop(change.insert("restricted".into(), true.into())),
            "false" => drop(change.insert("restricted".into(), false.into())),
            _ => {}
        }
        if fields.get("seal_cancelled") == "true" {
            change.insert("seal_state".into(), "cancelled".into());
        }
        if change.is_empty() {
            return Err(PageError::invalid(l.t("変更する項目を選んでください。", "Choose what to change.")));
        }
        change.insert("reason".into(), reason.into());
        signed.api.send(Method::PATCH, &path, &Value::Object(change)).await?;
        Ok(back_to(&code, &id, "status"))
    }
    .await;
    signed.page(result)
}

pub async fn issue_card(Path((code, id)): Path<(String, String)>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let path = format!("/v1/municipalities/{}/cards", seg(&code));
        signed.api.post(&path, &json!({ "resident_id": id, "pin": fields.get("pin") })).await?;
        Ok(back_to(&code, &id, "card"))
    }
    .await;
    signed.page(result)
}

/// The resident a card belongs to, for the page to return to.
async fn card_resident(signed: &Signed, code: &str, card: &str) -> Result<String, PageError> {
    let found = signed.api.get(&format!("/v1/municipalities/{}/cards/{}", seg(code), seg(card))).await?;
    Ok(s(&found, "resident"))
}

pub async fn unlock_card(Path((code, card)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let resident = card_resident(&signed, &code, &card).await?;
        signed.api.post(&format!("/v1/municipalities/{}/cards/{}/unlock", seg(&code), seg(&card)), &json!({})).await?;
        Ok(back_to(&code, &resident, "unlocked"))
    }
    .await;
    signed.page(result)
}

pub async fn revoke_card(Path((code, card)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let resident = card_resident(&signed, &code, &card).await?;
        signed
            .api
            .call(
                Method::DELETE,
                &format!("/v1/municipalities/{}/cards/{}", seg(&code), seg(&card)),
                "application/json",
                None,
            )
            .await?
            .into_result()?;
        Ok(back_to(&code, &resident, "revoked"))
    }
    .await;
    signed.page(result)
}
