//! The vendor's console (`/console/vendor…`, the admin token): the host's
//! build, health and sandbox queues, each municipality's issuances and
//! failures, municipalities (create, edit the mayor), their tokens, and
//! kiosks.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::api::seg;
use super::form::Posted;
use super::page::{self, Header, Lang, PageError, csrf_field, jst, notice, s};
use super::session::Area;
use super::{ConsoleState, Signed};
use crate::auth::Caller;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/vendor", get(overview))
        .route("/console/vendor/municipalities", get(municipalities).post(create_municipality))
        .route("/console/vendor/municipalities/{code}", get(municipality).post(update_municipality))
        .route("/console/vendor/municipalities/{code}/tokens", post(create_token))
        .route("/console/vendor/municipalities/{code}/tokens/{id}/revoke", post(revoke_token))
        .route("/console/vendor/kiosks", get(kiosks).post(create_kiosk))
        .route("/console/vendor/kiosks/{id}/revoke", post(revoke_kiosk))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Municipalities,
    Kiosks,
}

fn frame(signed: &Signed, tab: Tab, title: &str, main: Markup) -> Response {
    let l = signed.lang;
    let nav = vec![
        (l.t("概要", "Overview"), "/console/vendor".to_owned(), tab == Tab::Overview),
        (l.t("市区町村", "Municipalities"), "/console/vendor/municipalities".to_owned(), tab == Tab::Municipalities),
        (l.t("キオスク", "Kiosks"), "/console/vendor/kiosks".to_owned(), tab == Tab::Kiosks),
    ];
    let header =
        Header {
            who: l.t("ベンダー", "Vendor").to_owned(), nav, csrf: signed.csrf().to_owned(), area: Area::Console
        };
    page::document(l, title, Some(&header), main).into_response()
}

/// The vendor's pages are the vendor's: a municipality's session is sent to
/// its own pages, as the API would refuse it anyway.
fn vendor_only(signed: &Signed) -> Result<(), PageError> {
    match signed.caller {
        Caller::Vendor => Ok(()),
        _ => Err(PageError::Api {
            status: axum::http::StatusCode::FORBIDDEN,
            title: "Forbidden".into(),
            detail: signed
                .lang
                .t(
                    "この画面はベンダーの管理トークンでサインインした人だけが使えます。",
                    "Only the vendor's admin token may use these pages.",
                )
                .into(),
        }),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// The sandbox gauges of `/metrics`: `(pool, slots, busy, queued, depth)`.
fn sandbox_pools(metrics: &str) -> Vec<(String, String, String, String, String)> {
    let gauge = |pool: &str, name: &str| {
        let prefix = format!("kofu_sandbox_{pool}_{name} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix)).unwrap_or("").trim().to_owned()
    };
    let mut pools: Vec<String> = metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("kofu_sandbox_"))
        .filter_map(|rest| rest.split_once("_slots ").map(|(pool, _)| pool.to_owned()))
        .collect();
    pools.dedup();
    pools
        .into_iter()
        .map(|p| {
            let row = (gauge(&p, "slots"), gauge(&p, "busy"), gauge(&p, "queued"), gauge(&p, "queue_depth"));
            (p, row.0, row.1, row.2, row.3)
        })
        .collect()
}

async fn overview(signed: Signed) -> Response {
    let result = async {
        vendor_only(&signed)?;
        let l = signed.lang;
        let health = signed.api.get("/healthz").await?;
        let ready = signed.api.call(Method::GET, "/readyz", "application/json", None).await?;
        let metrics = signed.api.call(Method::GET, "/metrics", "text/plain", None).await?;
        let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
        let stats = signed.api.call(Method::GET, "/v1/stats", "application/json", None).await?;
        let stats = if stats.status.is_success() { stats.json() } else { Value::Null };
        let title = l.t("概要", "Overview");
        let ready_json = ready.json();
        let body = html! {
            main {
                h1 { (title) }
                dl.record {
                    dt { (l.t("ホストのビルド", "Host build")) } dd { code { (s(&health, "build")) } }
                    dt { (l.t("稼働", "Health")) } dd { (s(&health, "status")) }
                    dt { (l.t("受付", "Readiness")) } dd class=(if ready.status.is_success() { "ok" } else { "error" }) {
                        @if ready.status.is_success() { (s(&ready_json, "status")) } @else { (s(&ready_json, "detail")) }
                    }
                }
                h2 { (l.t("サンドボックスの待ち行列", "Sandbox queues")) }
                table.list {
                    thead { tr { th { (l.t("プール", "Pool")) } th { (l.t("枠", "Slots")) } th { (l.t("使用中", "Busy")) } th { (l.t("待ち", "Waiting")) } th { (l.t("待ちの上限", "Queue depth")) } } }
                    tbody { @for (pool, slots, busy, queued, depth) in sandbox_pools(&metrics) {
                        tr { td { (pool) } td { (slots) } td { (busy) } td { (queued) } td { (depth) } }
                    } }
                }
                h2 { (l.t("市区町村ごとの発行", "Issuances by municipality")) }
                (stats_table(l, &stats))
            }
        };
        Ok(frame(&signed, Tab::Overview, title, body))
    }
    .await;
    signed.page(result)
}

/// `GET /v1/stats`: per municipality, counts by outcome in the last hour
/// and today.
fn stats_table(l: Lang, stats: &Value) -> Markup {
    let rows = stats["municipalities"].as_array().cloned().unwrap_or_default();
    let count = |window: &Value, key: &str| window[key].as_i64().unwrap_or(0);
    html! {
        @if rows.is_empty() { p.empty { (l.t("まだ市区町村がありません。", "No municipalities yet.")) } }
        @else {
            table.list {
                thead {
                    tr { th rowspan="2" { (l.t("市区町村", "Municipality")) } th colspan="3" { (l.t("直近1時間", "Last hour")) } th colspan="3" { (l.t("今日", "Today")) } }
                    tr { @for _ in 0..2 { th { (l.t("交付", "Issued")) } th { (l.t("交付せず", "Refused")) } th { (l.t("失敗", "Failed")) } } }
                }
                tbody { @for m in &rows {
                    tr {
                        td { a href=(format!("/console/vendor/municipalities/{}", seg(&s(m, "code")))) { (s(m, "name")) " " small { (s(m, "code")) } } }
                        @for window in [&m["last_hour"], &m["today"]] {
                            td { (count(window, "issued")) }
                            td { (count(window, "refused")) }
                            td class=[(count(window, "failed") > 0).then_some("error")] { (count(window, "failed")) }
                        }
                    }
                } }
            }
            p.hint { (l.t("集計時刻", "As of")) " " (s(stats, "at")) }
        }
    }
}

async fn municipalities(signed: Signed, Query(done): Query<Done>) -> Response {
    let result = async {
        vendor_only(&signed)?;
        let l = signed.lang;
        let list = signed.api.get("/v1/municipalities").await?;
        let title = l.t("市区町村", "Municipalities");
        let body = html! {
            main {
                @if done.done == "created" { (notice(l.t("市区町村を登録しました。", "The municipality is created."))) }
                h1 { (title) }
                table.list {
                    thead { tr { th { (l.t("団体コード", "Code")) } th { (l.t("名称", "Name")) } th { (l.t("首長", "Mayor")) } } }
                    tbody { @for m in list.as_array().into_iter().flatten() {
                        tr {
                            td { a href=(format!("/console/vendor/municipalities/{}", seg(&s(m, "code")))) { (s(m, "code")) } }
                            td { (s(m, "name")) }
                            td { (s(m, "mayor_title")) " " (s(m, "mayor_name")) }
                        }
                    } }
                }
                section {
                    h2 { (l.t("市区町村を登録", "Create a municipality")) }
                    form method="post" action="/console/vendor/municipalities" {
                        (csrf_field(signed.csrf()))
                        label { (l.t("団体コード（6桁、検査数字を含む）", "Local government code (6 digits, with its check digit)"))
                            input type="text" name="code" required pattern="[0-9]{6}" inputmode="numeric"; }
                        label { (l.t("名称", "Name")) input type="text" name="name" required maxlength="64"; }
                        label { (l.t("首長の職名", "Mayor's title")) input type="text" name="mayor_title" required maxlength="64" placeholder="市長"; }
                        label { (l.t("首長の氏名", "Mayor's name")) input type="text" name="mayor_name" required maxlength="64"; }
                        button type="submit" { (l.t("登録", "Create")) }
                    }
                }
            }
        };
        Ok(frame(&signed, Tab::Municipalities, title, body))
    }
    .await;
    signed.page(result)
}

async fn create_municipality(posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        vendor_only(&signed)?;
        let code = fields.get("code");
        // The check digit is the API's to enforce; the console says so in
        // the reader's language first.
        if let Some(problem) = check_digit_problem(signed.lang, code) {
            return Err(PageError::invalid(problem));
        }
        let body = json!({
            "code": code, "name": fields.get("name"),
            "mayor_title": fields.get("mayor_title"), "mayor_name": fields.get("mayor_name"),
        });
        signed.api.post("/v1/municipalities", &body).await?;
        Ok(Redirect::to("/console/vendor/municipalities?done=created").into_response())
    }
    .await;
    signed.page(result)
}

/// What is wrong with a local government code, if anything.
fn check_digit_problem(l: Lang, code: &str) -> Option<String> {
    if kofu_model::is_local_government_code(code) {
        return None;
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            l.t("団体コードは6桁の数字です（例：131016）。", "The code is six digits (e.g. 131016).").to_owned(),
        );
    }
    let first: [u8; 5] =
        [code.as_bytes()[0], code.as_bytes()[1], code.as_bytes()[2], code.as_bytes()[3], code.as_bytes()[4]];
    let expected = kofu_model::code_check_digit(&first);
    Some(match l {
        Lang::Ja => {
            format!("団体コードの検査数字が合いません。{} で始まるコードの最後の数字は {expected} です。", &code[..5])
        }
        Lang::En => format!("The check digit is wrong: the code starting {} should end in {expected}.", &code[..5]),
    })
}

async fn municipality(signed: Signed, Path(code): Path<String>, Query(done): Query<Done>) -> Response {
    let result = async {
        vendor_only(&signed)?;
        let l = signed.lang;
        let m = signed.api.get(&format!("/v1/municipalities/{}", seg(&code))).await?;
        let tokens = signed.api.get(&format!("/v1/municipalities/{}/tokens", seg(&code))).await?;
        let title = format!("{} {}", s(&m, "name"), code);
        let body = html! {
            main {
                @match done.done.as_str() {
                    "updated" => { (notice(l.t("変更しました。", "Saved."))) }
                    "revoked" => { (notice(l.t("トークンを取り消しました。このトークンのセッションもすぐに終わります。", "The token is revoked; its console sessions end at once."))) }
                    _ => {}
                }
                h1 { (title) }
                section {
                    h2 { (l.t("首長", "Mayor")) }
                    table.list {
                        thead { tr { th { (l.t("就任日", "From")) } th { (l.t("職名", "Title")) } th { (l.t("氏名", "Name")) } } }
                        tbody { @for term in m["mayor_terms"].as_array().into_iter().flatten() {
                            tr { td { (s(term, "from")) } td { (s(term, "title")) } td { (s(term, "name")) } }
                        } }
                    }
                    form method="post" action=(format!("/console/vendor/municipalities/{}", seg(&code))) {
                        (csrf_field(signed.csrf()))
                        label { (l.t("名称", "Name")) input type="text" name="name" value=(s(&m, "name")) maxlength="64"; }
                        label { (l.t("新しい首長の職名", "New mayor's title")) input type="text" name="mayor_title" value=(s(&m, "mayor_title")) maxlength="64"; }
                        label { (l.t("新しい首長の氏名", "New mayor's name")) input type="text" name="mayor_name" maxlength="64"; }
                        label { (l.t("就任日", "Term begins")) input type="date" name="mayor_from"; }
                        button type="submit" { (l.t("保存", "Save")) }
                    }
                }
                section {
                    h2 { (l.t("トークン", "Tokens")) }
                    (tokens_table(&signed, &code, &tokens))
                    form method="post" action=(format!("/console/vendor/municipalities/{}/tokens", seg(&code))) {
                        (csrf_field(signed.csrf()))
                        label { (l.t("用途（ラベル）", "Label")) input type="text" name="label" required maxlength="100"; }
                        button type="submit" { (l.t("トークンを発行", "Issue a token")) }
                    }
                }
            }
        };
        Ok(frame(&signed, Tab::Municipalities, &title, body))
    }
    .await;
    signed.page(result)
}

fn tokens_table(signed: &Signed, code: &str, tokens: &Value) -> Markup {
    let l = signed.lang;
    html! {
        table.list {
            thead { tr { th { "ID" } th { (l.t("ラベル", "Label")) } th { (l.t("発行", "Created")) } th { (l.t("状態", "State")) } th {} } }
            tbody { @for t in tokens.as_array().into_iter().flatten() {
                @let revoked = !t["revoked_at"].is_null();
                tr {
                    td { code { (s(t, "id")) } }
                    td { (s(t, "label")) }
                    td { (t["created_at"].as_i64().map(jst).unwrap_or_default()) }
                    td { (if revoked { l.t("取消済み", "revoked") } else { l.t("有効", "live") }) }
                    td { @if !revoked {
                        form.inline method="post" action=(format!("/console/vendor/municipalities/{}/tokens/{}/revoke", seg(code), seg(&s(t, "id")))) data-confirm=(l.t("このトークンを取り消しますか？", "Revoke this token?")) {
                            (csrf_field(signed.csrf()))
                            button.danger type="submit" { (l.t("取り消す", "Revoke")) }
                        }
                    } }
                }
            } }
        }
    }
}

async fn update_municipality(Path(code): Path<String>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        vendor_only(&signed)?;
        let mut edit = Map::new();
        if !fields.get("name").is_empty() {
            edit.insert("name".into(), fields.get("name").into());
        }
        if !fields.get("mayor_name").is_empty() {
            for key in ["mayor_name", "mayor_title", "mayor_from"] {
                if !fields.get(key).is_empty() {
                    edit.insert(key.into(), fields.get(key).into());
                }
            }
        }
        signed.api.send(Method::PATCH, &format!("/v1/municipalities/{}", seg(&code)), &Value::Object(edit)).await?;
        Ok(Redirect::to(&format!("/console/vendor/municipalities/{}?done=updated", seg(&code))).into_response())
    }
    .await;
    signed.page(result)
}

/// A credential is shown once, on the page that made it.
fn credential_page(signed: &Signed, tab: Tab, back: &str, made: &Value) -> Response {
    let l = signed.lang;
    let title = l.t("発行しました", "Issued");
    let body = html! {
        main {
            h1 { (title) }
            p { (l.t("この値は今だけ表示されます。安全な場所に保管してください。", "This value is shown only now: keep it somewhere safe.")) }
            p { code.secret { (s(made, "token")) } }
            p { a href=(back) { (l.t("戻る", "Back")) } }
        }
    };
    frame(signed, tab, title, body)
}

async fn create_token(Path(code): Path<String>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        vendor_only(&signed)?;
        let made = signed
            .api
            .post(&format!("/v1/municipalities/{}/tokens", seg(&code)), &json!({ "label": fields.get("label") }))
            .await?;
        Ok(credential_page(
            &signed,
            Tab::Municipalities,
            &format!("/console/vendor/municipalities/{}", seg(&code)),
            &made,
        ))
    }
    .await;
    signed.page(result)
}

async fn revoke_token(Path((code, id)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        vendor_only(&signed)?;
        let path = format!("/v1/municipalities/{}/tokens/{}", seg(&code), seg(&id));
        signed.api.call(Method::DELETE, &path, "application/json", None).await?.into_result()?;
        Ok(Redirect::to(&format!("/console/vendor/municipalities/{}?done=revoked", seg(&code))).into_response())
    }
    .await;
    signed.page(result)
}

async fn kiosks(signed: Signed, Query(done): Query<Done>) -> Response {
    let result = async {
        vendor_only(&signed)?;
        let l = signed.lang;
        let list = signed.api.get("/v1/kiosks").await?;
        let title = l.t("キオスク", "Kiosks");
        let body = html! {
            main {
                @if done.done == "revoked" { (notice(l.t("キオスクを取り消しました。", "The kiosk is revoked."))) }
                h1 { (title) }
                table.list {
                    thead { tr { th { "ID" } th { (l.t("ラベル", "Label")) } th { (l.t("登録", "Registered")) } th { (l.t("状態", "State")) } th {} } }
                    tbody { @for k in list.as_array().into_iter().flatten() {
                        @let revoked = !k["revoked_at"].is_null();
                        tr {
                            td { code { (s(k, "id")) } }
                            td { (s(k, "label")) }
                            td { (k["created_at"].as_i64().map(jst).unwrap_or_default()) }
                            td { (if revoked { l.t("取消済み", "revoked") } else { l.t("有効", "live") }) }
                            td { @if !revoked {
                                form.inline method="post" action=(format!("/console/vendor/kiosks/{}/revoke", seg(&s(k, "id")))) data-confirm=(l.t("このキオスクを取り消しますか？", "Revoke this kiosk?")) {
                                    (csrf_field(signed.csrf()))
                                    button.danger type="submit" { (l.t("取り消す", "Revoke")) }
                                }
                            } }
                        }
                    } }
                }
                section {
                    h2 { (l.t("キオスクを登録", "Register a kiosk")) }
                    form method="post" action="/console/vendor/kiosks" {
                        (csrf_field(signed.csrf()))
                        label { (l.t("設置場所（ラベル）", "Label (where it stands)")) input type="text" name="label" required maxlength="100"; }
                        button type="submit" { (l.t("登録", "Register")) }
                    }
                }
            }
        };
        Ok(frame(&signed, Tab::Kiosks, title, body))
    }
    .await;
    signed.page(result)
}

async fn create_kiosk(posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        vendor_only(&signed)?;
        let made = signed.api.post("/v1/kiosks", &json!({ "label": fields.get("label") })).await?;
        Ok(credential_page(&signed, Tab::Kiosks, "/console/vendor/kiosks", &made))
    }
    .await;
    signed.page(result)
}

async fn revoke_kiosk(Path(id): Path<String>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        vendor_only(&signed)?;
        signed
            .api
            .call(Method::DELETE, &format!("/v1/kiosks/{}", seg(&id)), "application/json", None)
            .await?
            .into_result()?;
        Ok(Redirect::to("/console/vendor/kiosks?done=revoked").into_response())
    }
    .await;
    signed.page(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_are_checked_before_the_api() {
        assert!(check_digit_problem(Lang::Ja, "131016").is_none());
        assert!(check_digit_problem(Lang::Ja, "131017").unwrap().contains("6"));
        assert!(check_digit_problem(Lang::En, "13101").is_some());
        assert!(check_digit_problem(Lang::En, "１３１０１６").is_some());
    }

    #[test]
    fn sandbox_gauges_are_read_from_the_metrics() {
        let text = "# HELP x\nkofu_sandbox_issue_slots 4\nkofu_sandbox_issue_busy 1\nkofu_sandbox_issue_queued 0\n\
                    kofu_sandbox_issue_queue_depth 64\nkofu_sandbox_preview_slots 1\n";
        let pools = sandbox_pools(text);
        assert_eq!(pools[0], ("issue".into(), "4".into(), "1".into(), "0".into(), "64".into()));
        assert_eq!(pools[1].0, "preview");
    }
}
