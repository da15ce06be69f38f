//! The harness's own actions — typing, choosing a file, submitting, links,
//! cookies — against a small page of its own, so that a failing page test
//! is about the page, not the harness.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{AppendHeaders, Html, IntoResponse};
use axum::routing::get;

use crate::harness::Browser;

const FORM: &str = "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>form</title></head><body>\
    <form id=\"f\" action=\"/echo\" method=\"get\">\
    <input id=\"name\" name=\"name\" value=\"初期値\"><input id=\"file\" name=\"file\" type=\"file\">\
    <button>送信</button></form><a id=\"link\" href=\"/echo?name=link\">link</a></body></html>";

async fn form() -> impl IntoResponse {
    // Appended: an array of headers would keep only the last cookie.
    (
        AppendHeaders([
            (header::SET_COOKIE, "probe=1; Path=/; HttpOnly; SameSite=Strict"),
            (header::SET_COOKIE, "plain=2; Path=/"),
        ]),
        Html(FORM),
    )
}

/// What the form sent, each field in an element of its own.
async fn echo(Query(fields): Query<HashMap<String, String>>) -> Html<String> {
    let field = |name: &str| fields.get(name).map(|v| v.replace('&', "&amp;").replace('<', "&lt;")).unwrap_or_default();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>\
         <p id=\"name\">{}</p><p id=\"file\">{}</p></body></html>",
        field("name"),
        field("file")
    ))
}

#[tokio::test]
async fn harness_types_uploads_submits_and_reads_cookies() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
    let base = format!("http://{}", listener.local_addr().expect("the address"));
    let app = Router::new().route("/form", get(form)).route("/echo", get(echo));
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let upload_dir = tempfile::tempdir().expect("a directory for the upload");
    let upload = upload_dir.path().join("upload-probe.txt");
    std::fs::write(&upload, "probe").expect("the file to upload");

    let browser = Browser::start().await;
    browser.goto(&format!("{base}/form")).await;
    assert_eq!(browser.client().title().await.expect("the title"), "form");
    let probe = browser.cookie("probe").await.expect("the cookie `probe`");
    assert!(probe.http_only, "{probe:?}");
    assert_eq!(probe.same_site.as_deref(), Some("Strict"), "{probe:?}");
    assert_eq!(probe.value, "1");
    let plain = browser.cookie("plain").await.expect("the cookie `plain`");
    assert!(!plain.http_only && !plain.secure, "{plain:?}");
    assert!(browser.find_all(".missing").await.is_empty());

    browser.fill("#name", "山田 太郎").await;
    browser.upload("#file", &upload).await;
    browser.submit("#f").await;
    // The click returns before the next page has loaded.
    let mut url = browser.current_url().await;
    for _ in 0..100 {
        if url.starts_with(&format!("{base}/echo?")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        url = browser.current_url().await;
    }
    assert!(url.starts_with(&format!("{base}/echo?")), "{url}");
    assert_eq!(browser.text("#name").await, "山田 太郎");
    assert_eq!(browser.text("#file").await, "upload-probe.txt");

    browser.goto(&format!("{base}/form")).await;
    browser.click("#link").await;
    assert_eq!(browser.current_url().await, format!("{base}/echo?name=link"));
    assert_eq!(browser.body_text().await, "link");
    serving.abort();
}
