//! The kiosk simulator (`/kiosk/`): what a resident does at a convenience
//! store printer, in a browser, through the kiosk API only and with a
//! registered kiosk's credential. Card and PIN (the three-strike lock
//! shows), the certificates on offer with their fees and options, the
//! request, a preview of the pages, "print", and every refusal worded as
//! the resident reads it.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::api::seg;
use super::form::{Posted, Unsigned};
use super::page::{self, Header, Lang, PageError, csrf_field, s, yen};
use super::session::Area;
use super::{ConsoleState, Signed, options, preview, sign_in};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/kiosk/", get(home))
        .route("/kiosk/sign-in", get(sign_in_form).post(sign_in_submit))
        .route("/kiosk/sign-out", post(sign_in::sign_out))
        .route("/kiosk/card", post(card))
        .route("/kiosk/s/{session}", get(certificates))
        .route("/kiosk/s/{session}/request", post(request))
        .route("/kiosk/s/{session}/end", post(end))
        .route("/kiosk/s/{session}/i/{id}", get(issuance))
        .route("/kiosk/s/{session}/i/{id}/preview", post(preview_page))
        .route("/kiosk/s/{session}/i/{id}/printed", post(printed))
}

fn frame(signed: &Signed, title: &str, main: Markup) -> Response {
    let header = Header {
        who: signed.lang.t("キオスク・シミュレーター", "Kiosk simulator").to_owned(),
        nav: Vec::new(),
        csrf: signed.csrf().to_owned(),
        area: Area::Kiosk,
    };
    page::document(signed.lang, title, Some(&header), html! { div.kiosk { (main) } }).into_response()
}

async fn sign_in_form(parts: Parts) -> Response {
    sign_in::sign_in_page(Area::Kiosk, Lang::of(&parts.headers), None).into_response()
}

async fn sign_in_submit(State(state): State<ConsoleState>, form: Unsigned) -> Response {
    sign_in::sign_in(&state, Area::Kiosk, form).await
}

async fn home(State(state): State<ConsoleState>, mut parts: Parts) -> Response {
    match Signed::from_request_parts(&mut parts, &state).await {
        Ok(signed) => card_page(&signed, None, StatusCode::OK),
        Err(_) => Redirect::to("/kiosk/sign-in").into_response(),
    }
}

/// The first screen: card and PIN, with what went wrong last time.
fn card_page(signed: &Signed, problem: Option<String>, status: StatusCode) -> Response {
    let l = signed.lang;
    let title = l.t("証明書の交付", "Certificates");
    let body = html! {
        h1 { (title) }
        p.lead { (l.t("カードを置いて、4桁の暗証番号を入力してください。", "Place your card and enter your 4-digit PIN.")) }
        @if let Some(problem) = &problem { p.refusal role="alert" { (problem) } }
        form method="post" action="/kiosk/card" {
            (csrf_field(signed.csrf()))
            label { (l.t("カード番号", "Card number")) input type="text" name="card_id" required autocomplete="off"; }
            label { (l.t("暗証番号", "PIN")) input type="password" name="pin" inputmode="numeric" maxlength="4" required autocomplete="off"; }
            button.big type="submit" { (l.t("次へ", "Next")) }
        }
    };
    (status, frame(signed, title, body)).into_response()
}

/// A sign-in refusal as the resident reads it.
fn refusal_text(l: Lang, problem: &Value) -> String {
    let slug = s(problem, "type");
    let slug = slug.rsplit(':').next().unwrap_or_default();
    match slug {
        "wrong-pin" => {
            let left = problem["attempts_left"].as_i64().unwrap_or(0);
            match l {
                Lang::Ja => format!("暗証番号が違います。あと{left}回間違えると、カードがロックされます。"),
                Lang::En => format!("The PIN is wrong. {left} more wrong attempt(s) and the card locks."),
            }
        }
        "card-locked" => l
            .t(
                "暗証番号を3回間違えたため、このカードはロックされています。市区町村の窓口でロックを解除してください。",
                "This card is locked after three wrong PINs. Have it unlocked at the municipal office.",
            )
            .to_owned(),
        "card-not-accepted" => l
            .t(
                "このカードはコンビニ交付に使えません。市区町村の窓口にお問い合わせください。",
                "This card cannot be used for kiosk issuance. Please ask at the municipal office.",
            )
            .to_owned(),
        _ => s(problem, "detail"),
    }
}

async fn card(posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let l = signed.lang;
    let pin = fields.get("pin");
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        let text = l.t("暗証番号は4桁の数字です。", "The PIN is four digits.").to_owned();
        return card_page(&signed, Some(text), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let body = json!({ "card_id": fields.get("card_id"), "pin": pin });
    let reply = match signed
        .api
        .call(
            Method::POST,
            "/v1/kiosk/sessions",
            "application/json",
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    {
        Ok(reply) => reply,
        Err(error) => return signed.error(error).into_response(),
    };
    if reply.status == StatusCode::FORBIDDEN {
        return card_page(&signed, Some(refusal_text(l, &reply.json())), StatusCode::FORBIDDEN);
    }
    match reply.into_result() {
        Ok(reply) => {
            let session = s(&reply.json(), "session_id");
            Redirect::to(&format!("/kiosk/s/{}", seg(&session))).into_response()
        }
        Err(error) => signed.error(error).into_response(),
    }
}

fn session_path(session: &str) -> String {
    format!("/v1/kiosk/sessions/{}", seg(session))
}

async fn certificates(signed: Signed, Path(session): Path<String>) -> Response {
    let result = async {
        let l = signed.lang;
        let offers = signed.api.get(&format!("{}/certificates", session_path(&session))).await?;
        let title = l.t("証明書を選んでください", "Choose a certificate");
        let body = html! {
            h1 { (title) }
            @if offers.as_array().is_none_or(|o| o.is_empty()) {
                p.refusal { (l.t("この市区町村では、現在コンビニ交付できる証明書がありません。", "This municipality offers no certificates at kiosks at the moment.")) }
            }
            div.offers {
                @for offer in offers.as_array().into_iter().flatten() {
                    form.offer method="post" action=(format!("/kiosk/s/{}/request", seg(&session))) {
                        (csrf_field(signed.csrf()))
                        input type="hidden" name="kind" value=(s(offer, "kind"));
                        h2 { (match l { Lang::Ja => s(offer, "name_ja"), Lang::En => s(offer, "name_en") }) }
                        p.fee { (l.t("手数料", "Fee")) " " (offer["fee_yen"].as_i64().map(|f| yen(l, f)).unwrap_or_default()) }
                        (options::inputs(l, &offer["options"]))
                        button.big type="submit" { (l.t("この証明書を申請する", "Request this certificate")) }
                    }
                }
            }
            (end_form(&signed, &session))
        };
        Ok(frame(&signed, title, body))
    }
    .await;
    signed.page(result)
}

fn end_form(signed: &Signed, session: &str) -> Markup {
    html! {
        form method="post" action=(format!("/kiosk/s/{}/end", seg(session))) {
            (csrf_field(signed.csrf()))
            button.link type="submit" { (signed.lang.t("終了してカードを取る", "Finish and take your card")) }
        }
    }
}

async fn request(Path(session): Path<String>, posted: Posted) -> Response {
    let Posted { signed, fields } = posted;
    let result = async {
        let kind = fields.get("kind");
        let offers = signed.api.get(&format!("{}/certificates", session_path(&session))).await?;
        let specs = offers
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| s(o, "kind") == kind)
            .map(|o| o["options"].clone())
            .unwrap_or(Value::Null);
        let body = json!({ "kind": kind, "options": options::posted(&specs, &fields) });
        // One key per press of the button: a retry of this form is a new
        // request, as at a real kiosk.
        let key = kofu_store::random_id(26).map_err(|e| PageError::Internal(e.to_string()))?;
        let reply = signed
            .api
            .call_with(
                Method::POST,
                &format!("{}/issuances", session_path(&session)),
                "application/json",
                Some(("application/json", body.to_string().into_bytes())),
                &[("idempotency-key", &key)],
            )
            .await?
            .into_result()?;
        let id = s(&reply.json(), "id");
        Ok(Redirect::to(&format!("/kiosk/s/{}/i/{}", seg(&session), seg(&id))).into_response())
    }
    .await;
    signed.page(result)
}

async fn issuance(signed: Signed, Path((session, id)): Path<(String, String)>) -> Response {
    let result = async {
        let l = signed.lang;
        let issued = signed.api.get(&format!("{}/issuances/{}", session_path(&session), seg(&id))).await?;
        let outcome = s(&issued, "outcome");
        let title = l.t("申請の結果", "Your request");
        let body = html! {
            h1 { (title) }
            @match outcome.as_str() {
                "refused" => {
                    p.refusal role="alert" { (match l {
                        Lang::Ja => s(&issued["refusal"], "message_ja"),
                        Lang::En => s(&issued["refusal"], "message_en"),
                    }) }
                    p { (l.t("手数料はかかりません。", "Nothing was charged.")) }
                }
                "failed" => {
                    p.refusal role="alert" { (l.t("証明書を作れませんでした。手数料はかかりません。窓口でこの番号をお伝えください：", "The certificate could not be produced; nothing was charged. Quote this number at the counter: ")) (s(&issued, "id")) }
                }
                _ => {
                    p.lead { (l.t("証明書ができました。", "Your certificate is ready.")) " " (l.t("発行番号", "Number")) " " (s(&issued, "number")) }
                    p.fee { (l.t("手数料", "Fee")) " " (issued["fee_yen"].as_i64().map(|f| yen(l, f)).unwrap_or_default()) " · " (s(&issued, "pages")) (l.t("枚", " page(s)")) }
                    @if s(&issued, "delivery") == "ready" {
                        form method="post" action=(format!("/kiosk/s/{}/i/{}/preview", seg(&session), seg(&id))) {
                            (csrf_field(signed.csrf()))
                            button.big type="submit" { (l.t("印刷プレビュー", "Preview for printing")) }
                        }
                    } @else {
                        p { (l.t("この証明書はすでに受け取られています。", "This certificate has already been taken.")) }
                    }
                }
            }
            p { a href=(format!("/kiosk/s/{}", seg(&session))) { (l.t("ほかの証明書を申請する", "Request another certificate")) } }
            (end_form(&signed, &session))
        };
        Ok(frame(&signed, title, body))
    }
    .await;
    signed.page(result)
}

/// Fetch the document (a kiosk gets it once) and show its pages, with the
/// button that confirms printing.
async fn preview_page(Path((session, id)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let l = signed.lang;
        let reply = signed
            .api
            .call(Method::GET, &format!("{}/issuances/{}/document", session_path(&session), seg(&id)), "application/pdf", None)
            .await?
            .into_result()?;
        let pages = preview::page_images(reply.body.to_vec()).await;
        let title = l.t("印刷プレビュー", "Print preview");
        let body = html! {
            h1 { (title) }
            @match &pages {
                Ok(pages) => { div.pages { @for (n, src) in pages.iter().enumerate() { img.page src=(src) alt=(format!("{} {}", l.t("ページ", "Page"), n + 1)); } } }
                Err(why) => { p.refusal { (why) } }
            }
            form method="post" action=(format!("/kiosk/s/{}/i/{}/printed", seg(&session), seg(&id))) {
                (csrf_field(signed.csrf()))
                button.big type="submit" { (l.t("印刷する", "Print")) }
            }
        };
        Ok(frame(&signed, title, body))
    }
    .await;
    signed.page(result)
}

async fn printed(Path((session, id)): Path<(String, String)>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        let l = signed.lang;
        let issued = signed
            .api
            .post(&format!("{}/issuances/{}/printed", session_path(&session), seg(&id)), &json!({}))
            .await?;
        let title = l.t("印刷しました", "Printed");
        let body = html! {
            h1 { (title) }
            p.lead { (l.t("証明書をお取りください。", "Please take your certificate.")) }
            p.fee { (l.t("お支払い", "To pay")) " " (issued["fee_yen"].as_i64().map(|f| yen(l, f)).unwrap_or_default()) }
            p { (l.t("確認コード", "Verification code")) " " code { (s(&issued, "verification_code")) } }
            p { a href=(format!("/kiosk/s/{}", seg(&session))) { (l.t("ほかの証明書を申請する", "Request another certificate")) } }
            (end_form(&signed, &session))
        };
        Ok(frame(&signed, title, body))
    }
    .await;
    signed.page(result)
}

async fn end(Path(session): Path<String>, posted: Posted) -> Response {
    let signed = posted.signed;
    let result = async {
        signed.api.call(Method::DELETE, &session_path(&session), "application/json", None).await?.into_result()?;
        Ok(Redirect::to("/kiosk/").into_response())
    }
    .await;
    signed.page(result)
}
