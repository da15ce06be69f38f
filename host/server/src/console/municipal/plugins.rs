//! Plugins: the installed versions and what serves each kind, installing
//! from the catalog or uploading a component, dry-running a version beside
//! the active one (their pages as images), activating with a fee, rolling
//! back.

use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::{Section, frame};
use crate::console::Signed;
use crate::console::api::{query, seg};
use crate::console::form::Posted;
use crate::console::page::{Lang, PageError, csrf_field, jst, notice, s, yen};
use crate::console::{options, preview};

#[derive(serde::Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn done_text(l: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "installed" => l.t(
            "プラグインを追加しました。試行してから有効にしてください。",
            "The plugin is installed: dry-run it, then activate it.",
        ),
        "activated" => l.t(
            "有効にしました。キオスクは次の申請からこの版を使います。",
            "Activated: kiosks use this version from the next request.",
        ),
        "rolled-back" => l.t("一つ前の版に戻しました。", "Rolled back to the previous version."),
        _ => return None,
    })
}

pub async fn list(signed: Signed, Path(code): Path<String>, Query(done): Query<Done>) -> Response {
    let result = list_page(&signed, &code, &done.done).await;
    signed.page(result)
}

async fn list_page(signed: &Signed, code: &str, done: &str) -> Result<Response, PageError> {
    let l = signed.lang;
    let listing = signed.api.get(&format!("/v1/municipalities/{}/plugins", seg(code))).await?;
    let catalog = signed.api.get("/v1/catalog").await?;
    let versions = listing["versions"].as_array().cloned().unwrap_or_default();
    let activations = listing["activations"].as_array().cloned().unwrap_or_default();
    let mut kinds: Vec<String> = versions.iter().map(|v| s(v, "kind")).collect();
    kinds.sort();
    kinds.dedup();
    let title = l.t("プラグイン", "Plugins");
    let base = format!("/console/m/{code}");
    let body = html! {
        main {
            @if let Some(text) = done_text(l, done) { (notice(text)) }
            h1 { (title) }
            @if versions.is_empty() {
                p.empty { (l.t("まだプラグインがありません。下のカタログから追加してください。", "No plugins yet: install one from the catalog below.")) }
            }
            @for kind in &kinds {
                section.kind {
                    h2 { (kind) }
                    table.list {
                        thead { tr {
                            th { (l.t("版", "Version")) } th { (l.t("ハッシュ", "Hash")) } th { (l.t("追加", "Installed")) }
                            th { (l.t("状態", "State")) } th { (l.t("操作", "Actions")) }
                        } }
                        tbody {
                            @for v in versions.iter().filter(|v| s(v, "kind") == *kind) {
                                (version_row(signed, code, v))
                            }
                        }
                    }
                    @if activations.iter().filter(|a| s(a, "kind") == *kind).count() > 1 {
                        form method="post" action=(format!("{base}/kinds/{}/rollback", seg(kind))) data-confirm=(l.t("一つ前の版に戻しますか？", "Roll back to the previous version?")) {
                            (csrf_field(signed.csrf()))
                            button type="submit" { (l.t("一つ前の版に戻す", "Roll back")) }
                        }
                    }
                }
            }
            section {
                h2 { (l.t("カタログから追加", "Install from the catalog")) }
                form method="post" action=(format!("{base}/plugins")) {
                    (csrf_field(signed.csrf()))
                    select name="catalog" required {
                        @for entry in catalog.as_array().into_iter().flatten() {
                            option value=(s(entry, "name")) {
                                (match l { Lang::Ja => s(entry, "name_ja"), Lang::En => s(entry, "name_en") })
                                " (" (s(entry, "name")) " " (s(entry, "version")) ")"
                            }
                        }
                    }
                    button type="submit" { (l.t("追加", "Install")) }
                }
                h2 { (l.t("コンポーネントをアップロード", "Upload a component")) }
                form method="post" action=(format!("{base}/plugins")) enctype="multipart/form-data" {
                    (csrf_field(signed.csrf()))
                    input type="file" name="component" accept=".wasm,application/wasm" required;
                    button type="submit" { (l.t("アップロード", "Upload")) }
                }
            }
            @if !activations.is_empty() {
                section {
                    h2 { (l.t("有効化の履歴", "Activation history")) }
                    table.list {
                        thead { tr { th { (l.t("日時", "Time")) } th { (l.t("種類", "Kind")) } th { (l.t("ハッシュ", "Hash")) } th { (l.t("操作", "Action")) } th { (l.t("手数料", "Fee")) } th { (l.t("実行者", "By")) } } }
                        tbody {
                            @for a in activations.iter().rev() {
                                tr {
                                    td { (a["at"].as_i64().map(jst).unwrap_or_default()) }
                                    td { (s(a, "kind")) }
                                    td { code { (short(&s(a, "hash"))) } }
                                    td { (s(a, "action")) }
                                    td { @if let Some(fee) = a["fee_yen"].as_i64() { (yen(l, fee)) } }
                                    td { (s(a, "actor")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(signed, code, Section::Plugins, title, body))
}

fn version_row(signed: &Signed, code: &str, v: &Value) -> Markup {
    let l = signed.lang;
    let hash = s(v, "hash");
    let active = v["active"].as_bool() == Some(true);
    let manifest_fee = v["manifest"]["fee_yen"].as_i64();
    let fee = v["fee_yen"].as_i64().or(manifest_fee);
    html! {
        tr class=[active.then_some("active")] {
            td { (s(v, "version")) }
            td { code title=(hash) { (short(&hash)) } }
            td { (v["uploaded_at"].as_i64().map(jst).unwrap_or_default()) }
            td {
                @if active { strong { (l.t("有効", "Active")) } " " @if let Some(fee) = fee { (yen(l, fee)) } }
                @else { (l.t("待機", "Installed")) }
            }
            td.actions {
                a href=(format!("/console/m/{code}/plugins/{}/dry-run", seg(&hash))) { (l.t("試行", "Dry-run")) }
                form.inline method="post" action=(format!("/console/m/{code}/plugins/{}/activate", seg(&hash))) {
                    (csrf_field(signed.csrf()))
                    label { (l.t("手数料（円）", "Fee (yen)"))
                        input type="number" name="fee_yen" min="0" max=(kofu_model::MAX_FEE_YEN) value=[fee] size="5";
                    }
                    button type="submit" { (if active { l.t("手数料を変更", "Change fee") } else { l.t("有効にする", "Activate") }) }
                }
            }
        }
    }
}

/// Install from the catalog, or upload a component.
pub async fn add(Path(code): Path<String>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let path = format!("/v1/municipalities/{}/plugins", seg(&code));
        match fields.file("component") {
            Some((_, bytes)) if !bytes.is_empty() => {
                signed
                    .api
                    .call(Method::POST, &path, "application/json", Some(("application/wasm", bytes.to_vec())))
                    .await?
                    .into_result()?;
            }
            _ if !fields.get("catalog").is_empty() => {
                signed.api.post(&path, &json!({ "catalog": fields.get("catalog") })).await?;
            }
            _ => {
                return Err(PageError::invalid(signed.lang.t(
                    "カタログのプラグインを選ぶか、.wasm ファイルを選んでください。",
                    "Choose a catalog plugin or a .wasm file.",
                )));
            }
        }
        Ok(Redirect::to(&format!("/console/m/{code}/plugins?done=installed")).into_response())
    };
    let result = result.await;
    signed.page(result)
}

pub async fn activate(Path((code, hash)): Path<(String, String)>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let mut body = Map::new();
        let fee = fields.get("fee_yen");
        if !fee.is_empty() {
            let fee: i64 = fee.parse().map_err(|_| {
                PageError::invalid(signed.lang.t("手数料は円の整数で入力してください。", "Enter the fee as whole yen."))
            })?;
            body.insert("fee_yen".into(), fee.into());
        }
        if !fields.get("override_reason").is_empty() {
            body.insert("override_reason".into(), fields.get("override_reason").into());
        }
        let path = format!("/v1/municipalities/{}/plugins/{}/activate", seg(&code), seg(&hash));
        signed.api.post(&path, &Value::Object(body)).await?;
        Ok(Redirect::to(&format!("/console/m/{code}/plugins?done=activated")).into_response())
    }
    .await;
    signed.page(result)
}

pub async fn rollback(Path((code, kind)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let path = format!("/v1/municipalities/{}/kinds/{}/rollback", seg(&code), seg(&kind));
        signed.api.post(&path, &json!({})).await?;
        Ok(Redirect::to(&format!("/console/m/{code}/plugins?done=rolled-back")).into_response())
    }
    .await;
    signed.page(result)
}

/// The version `hash` among the listing's, and the one active for its kind.
async fn version_and_active(signed: &Signed, code: &str, hash: &str) -> Result<(Value, Option<Value>), PageError> {
    let listing = signed.api.get(&format!("/v1/municipalities/{}/plugins", seg(code))).await?;
    let versions = listing["versions"].as_array().cloned().unwrap_or_default();
    let version = versions.iter().find(|v| s(v, "hash") == hash).cloned().ok_or_else(|| {
        PageError::invalid(
            signed.lang.t("この版はこの市区町村にありません。", "This municipality has no such version."),
        )
    })?;
    let active =
        versions.iter().find(|v| s(v, "kind") == s(&version, "kind") && v["active"].as_bool() == Some(true)).cloned();
    Ok((version, active))
}

pub async fn dry_run_form(signed: Signed, Path((code, hash)): Path<(String, String)>) -> Response {
    let result = async {
        let (version, _) = version_and_active(&signed, &code, &hash).await?;
        dry_run_page(&signed, &code, &version, None).await
    }
    .await;
    signed.page(result)
}

pub async fn dry_run(Path((code, hash)): Path<(String, String)>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let (version, active) = version_and_active(&signed, &code, &hash).await?;
        let mut body = Map::new();
        body.insert("resident_id".into(), fields.get("resident_id").into());
        if !fields.get("issue_date").is_empty() {
            body.insert("issue_date".into(), fields.get("issue_date").into());
        }
        body.insert("options".into(), options::posted(&version["manifest"]["options"], &fields));
        let body = Value::Object(body);
        let mut runs = vec![(version.clone(), run(&signed, &code, &hash, &body).await?)];
        if let Some(active) = active.filter(|a| s(a, "hash") != hash) {
            let report = run(&signed, &code, &s(&active, "hash"), &body).await?;
            runs.push((active, report));
        }
        dry_run_page(&signed, &code, &version, Some((&fields, runs))).await
    }
    .await;
    signed.page(result)
}

/// One dry-run's report, with its pages as images.
struct Run {
    report: Value,
    pages: Result<Vec<String>, String>,
}

async fn run(signed: &Signed, code: &str, hash: &str, body: &Value) -> Result<Run, PageError> {
    let path = format!("/v1/municipalities/{}/plugins/{}/dry-run", seg(code), seg(hash));
    let report = signed.api.post(&path, body).await?;
    let pages = match report["pdf_base64"].as_str() {
        Some(b64) => match STANDARD.decode(b64) {
            Ok(pdf) => preview::page_images(pdf).await,
            Err(e) => Err(format!("the report's PDF is not base64: {e}")),
        },
        None => Ok(Vec::new()),
    };
    Ok(Run { report, pages })
}

async fn dry_run_page(
    signed: &Signed,
    code: &str,
    version: &Value,
    result: Option<(&crate::console::form::Fields, Vec<(Value, Run)>)>,
) -> Result<Response, PageError> {
    let l = signed.lang;
    let hash = s(version, "hash");
    let residents = signed
        .api
        .get(&format!("/v1/municipalities/{}/residents{}", seg(code), query(&[("test", "true"), ("limit", "100")])))
        .await?;
    let chosen = result.as_ref().map(|(f, _)| f.get("resident_id").to_owned()).unwrap_or_default();
    let title = format!("{} {} {}", l.t("試行", "Dry-run"), s(version, "kind"), s(version, "version"));
    let body = html! {
        main.wide {
            h1 { (title) " " small { code { (short(&hash)) } } }
            p { (l.t("テスト住民で本番と同じように評価します。結果は「見本」として作られ、交付も課金もされません。", "Evaluates the version as production would for a test resident. The result is stamped as a specimen: nothing is issued or charged.")) }
            form.filters method="post" action=(format!("/console/m/{code}/plugins/{}/dry-run", seg(&hash))) {
                (csrf_field(signed.csrf()))
                label { (l.t("テスト住民", "Test resident"))
                    select name="resident_id" required {
                        @for r in residents["residents"].as_array().into_iter().flatten() {
                            @let id = s(r, "id");
                            option value=(id) selected[id == chosen] { (s(&r["record"], "name")) " (" (id) ")" }
                        }
                    }
                }
                label { (l.t("交付日", "Issue date")) input type="date" name="issue_date"; }
                (options::inputs(l, &version["manifest"]["options"]))
                button type="submit" { (l.t("試行する", "Dry-run")) }
            }
            @if residents["residents"].as_array().is_none_or(|r| r.is_empty()) {
                p.error { (l.t("テスト住民がいません。住民の取り込みで test を true にした住民を加えてください。", "There are no test residents: import residents with test set to true.")) }
            }
            @if let Some((_, runs)) = &result {
                div.compare {
                    @for (v, run) in runs {
                        (run_report(l, v, run, s(v, "hash") == hash))
                    }
                }
            }
        }
    };
    Ok(frame(signed, code, Section::Plugins, &title, body))
}

fn run_report(l: Lang, version: &Value, run: &Run, candidate: bool) -> Markup {
    let r = &run.report;
    let outcome = s(r, "outcome");
    html! {
        section.run {
            h2 {
                (if candidate { l.t("試行した版", "This version") } else { l.t("現在有効な版", "The active version") })
                " " (s(version, "version")) " " small { code { (short(&s(version, "hash"))) } }
            }
            p class=(format!("outcome outcome-{outcome}")) {
                strong { (match outcome.as_str() {
                    "issued" => l.t("交付できます", "Would issue"),
                    "refused" => l.t("交付しません", "Refused"),
                    _ => l.t("失敗しました", "Failed"),
                }) }
                @if let Some(refusal) = r.get("refusal").filter(|v| !v.is_null()) {
                    " — " (match l { Lang::Ja => s(refusal, "message_ja"), Lang::En => s(refusal, "message_en") })
                }
                @if !s(r, "host_reason").is_empty() { " — " (s(r, "host_reason")) }
                @if let Some(failure) = r.get("failure").filter(|v| !v.is_null()) { " — " (s(failure, "detail")) }
            }
            dl.record {
                dt { (l.t("読んだ項目", "Fields read")) }
                dd { (r["fields_read"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")) }
                dt { (l.t("燃料", "Fuel")) } dd { (s(r, "fuel_used")) " / " (s(r, "fuel_limit")) }
                dt { (l.t("時間", "Time")) } dd { (format!("{:.1} ms", r["time_ms"].as_f64().unwrap_or_default())) }
                dt { (l.t("ページ数", "Pages")) } dd { (s(r, "pages")) }
            }
            @if let Some(logs) = r["logs"].as_array().filter(|l| !l.is_empty()) {
                details { summary { (l.t("プラグインのログ", "Plugin log")) }
                    pre { @for entry in logs { (s(entry, "level")) ": " (s(entry, "message")) "\n" } }
                }
            }
            @match &run.pages {
                Ok(pages) => { @for (n, src) in pages.iter().enumerate() {
                    img.page src=(src) alt=(format!("{} {}", l.t("ページ", "Page"), n + 1));
                } }
                Err(why) => { p.error { (l.t("ページの画像を作れませんでした：", "Could not draw the pages: ")) (why) } }
            }
        }
    }
}
