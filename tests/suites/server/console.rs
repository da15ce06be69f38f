//! The web console and the kiosk simulator through the router: sign-in and
//! its cookie, CSRF and cross-site refusals, revocation, one municipality
//! kept out of another's pages, and the pages doing real work through the
//! API. The browser suite (`tests/suites/browser`) drives the same pages in
//! Chromium.

use axum::http::Method;
use serde_json::json;

use crate::common::{ADMIN, Muni, Payload, Reply, TestServer, world};

/// [`world`] with a resident R-1 and a test resident T-1.
async fn console_world() -> (TestServer, Muni, String) {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let test = kofu_register::entries_from_fixture("T-1", "H-T-1", &kofu_tests::fixture("kimura-aoi"), true);
    server.import_entries(&muni, &test).await.expect(200);
    (server, muni, kiosk)
}

/// A browser's session: the console cookie it holds.
struct Browser<'s> {
    server: &'s TestServer,
    cookie: String,
}

fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&").into_bytes()
}

/// The `name=value` of a `Set-Cookie` header of the reply.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The CSRF token of the first form of a page.
fn csrf_of(page: &Reply) -> String {
    let text = page.text();
    let at = text.find("name=\"csrf\" value=\"").expect("the page has a form with a CSRF token") + 19;
    text[at..at + 32].to_owned()
}

async fn sign_in<'s>(server: &'s TestServer, area: &str, token: &str) -> Browser<'s> {
    let reply = server
        .call_with(
            Method::POST,
            &format!("/{area}/sign-in"),
            None,
            Payload::Raw("application/x-www-form-urlencoded", form_body(&[("token", token)])),
            &[("host", "kofu.example.jp")],
        )
        .await;
    reply.expect(303);
    let cookie = set_cookie(&reply, &format!("kofu_{area}")).expect("a session cookie");
    let pair = cookie.split(';').next().unwrap().to_owned();
    Browser { server, cookie: pair }
}

impl Browser<'_> {
    async fn get(&self, path: &str) -> Reply {
        self.server.call_with(Method::GET, path, None, Payload::None, &[("cookie", &self.cookie)]).await
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)], extra: &[(&str, &str)]) -> Reply {
        let mut headers = vec![("cookie", self.cookie.as_str())];
        headers.extend_from_slice(extra);
        self.server
            .call_with(
                Method::POST,
                path,
                None,
                Payload::Raw("application/x-www-form-urlencoded", form_body(pairs)),
                &headers,
            )
            .await
    }
}

#[tokio::test]
async fn signing_in_exchanges_the_token_for_a_strict_httponly_cookie() {
    let (server, muni, _) = console_world().await;
    let reply = server
        .call_with(
            Method::POST,
            "/console/sign-in",
            None,
            Payload::Raw("application/x-www-form-urlencoded", form_body(&[("token", &muni.token)])),
            &[("host", "kofu.example.jp")],
        )
        .await;
    reply.expect(303);
    assert_eq!(reply.headers["location"], format!("/console/m/{}/issuances", muni.code));
    let cookie = set_cookie(&reply, "kofu_console").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console", "Max-Age=1800"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains(&muni.token), "the cookie must not carry the token: {cookie}");

    let browser = Browser { server: &server, cookie: cookie.split(';').next().unwrap().to_owned() };
    let page = browser.get(&format!("/console/m/{}/issuances", muni.code)).await;
    page.expect(200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.text().contains("発行記録"), "the page is in Japanese first");

    // A loopback address gets a cookie without Secure (plain HTTP there).
    let local = server
        .call_with(
            Method::POST,
            "/console/sign-in",
            None,
            Payload::Raw("application/x-www-form-urlencoded", form_body(&[("token", &muni.token)])),
            &[("host", "127.0.0.1:8080")],
        )
        .await;
    assert!(!set_cookie(&local, "kofu_console").unwrap().contains("Secure"));
}

#[tokio::test]
async fn a_wrong_token_or_one_of_the_wrong_kind_cannot_sign_in() {
    let (server, muni, kiosk) = console_world().await;
    for (area, token) in [
        ("console", "kofu_mun_not-a-token"),
        ("console", kiosk.as_str()),
        ("kiosk", muni.token.as_str()),
        ("kiosk", ADMIN),
    ] {
        let reply = server
            .call(
                Method::POST,
                &format!("/{area}/sign-in"),
                None,
                Payload::Raw("application/x-www-form-urlencoded", form_body(&[("token", token)])),
            )
            .await;
        reply.expect(401);
        assert!(set_cookie(&reply, &format!("kofu_{area}")).is_none(), "{area} gave a cookie to {token}");
        assert!(reply.text().contains("サインインできません"), "{}", reply.text());
    }
    // No cookie: the pages send the browser to the sign-in form.
    let reply = server.get(&format!("/console/m/{}/issuances", muni.code), None).await;
    reply.expect(303);
    assert_eq!(reply.headers["location"], "/console/sign-in");
    // A bearer token does not open a console page: only a session does.
    let reply = server.get(&format!("/console/m/{}/issuances", muni.code), Some(&muni.token)).await;
    reply.expect(303);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_or_from_another_site_are_refused() {
    let (server, muni, _) = console_world().await;
    let browser = sign_in(&server, "console", &muni.token).await;
    let other = sign_in(&server, "console", &muni.token).await;
    let page = browser.get(&format!("/console/m/{}/residents/T-1", muni.code)).await;
    page.expect(200);
    let token = csrf_of(&page);
    let other_token = csrf_of(&other.get(&format!("/console/m/{}/residents/T-1", muni.code)).await);
    assert_ne!(token, other_token, "each session has its own CSRF token");
    let path = format!("/console/m/{}/residents/T-1/status", muni.code);
    let change = [("restricted", "true"), ("reason", "届出")];

    let without = browser.post(&path, &change, &[]).await;
    without.expect(403);
    assert!(without.text().contains("このフォームは受け付けられません"), "{}", without.text());
    let with_another_sessions = browser.post(&path, &[change[0], change[1], ("csrf", &other_token)], &[]).await;
    with_another_sessions.expect(403);
    let cross_site =
        browser.post(&path, &[change[0], change[1], ("csrf", &token)], &[("sec-fetch-site", "cross-site")]).await;
    cross_site.expect(403);
    let other_origin = browser
        .post(
            &path,
            &[change[0], change[1], ("csrf", &token)],
            &[("origin", "https://evil.example"), ("host", "kofu.example.jp")],
        )
        .await;
    other_origin.expect(403);
    let record = server.get(&format!("/v1/municipalities/{}/residents/T-1", muni.code), Some(&muni.token)).await;
    assert_eq!(record.json()["record"]["residency"]["restricted"], false, "no refused form changed anything");

    let accepted =
        browser.post(&path, &[change[0], change[1], ("csrf", &token)], &[("sec-fetch-site", "same-origin")]).await;
    accepted.expect(303);
    let record = server.get(&format!("/v1/municipalities/{}/residents/T-1", muni.code), Some(&muni.token)).await;
    assert_eq!(record.json()["record"]["residency"]["restricted"], true);
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=500", muni.code), Some(&muni.token)).await;
    let entries = audit.json()["entries"].as_array().unwrap().clone();
    let change = entries.iter().rev().find(|e| e["event"] == "status-change").expect("the change is audited");
    assert!(change.to_string().contains("届出"), "the reason is recorded: {change}");
}

#[tokio::test]
async fn revoking_the_token_ends_its_console_sessions_at_once() {
    let (server, muni, _) = console_world().await;
    let browser = sign_in(&server, "console", &muni.token).await;
    browser.get(&format!("/console/m/{}/issuances", muni.code)).await.expect(200);
    let tokens = server.get(&format!("/v1/municipalities/{}/tokens", muni.code), Some(ADMIN)).await;
    let id = tokens.json()[0]["id"].as_str().unwrap().to_owned();
    server
        .call(Method::DELETE, &format!("/v1/municipalities/{}/tokens/{id}", muni.code), Some(ADMIN), Payload::None)
        .await
        .expect(204);
    let after = browser.get(&format!("/console/m/{}/issuances", muni.code)).await;
    after.expect(303);
    assert_eq!(after.headers["location"], "/console/sign-in");
}

#[tokio::test]
async fn a_municipality_session_cannot_see_another_municipalitys_pages() {
    let (server, muni, _) = console_world().await;
    let other: Muni = server.municipality("131016", "千代田区").await;
    server.import_fixture(&other, "R-9", "sato-makoto").await;
    let browser = sign_in(&server, "console", &muni.token).await;
    for path in ["issuances", "residents", "plugins", "audit", "residents/R-9"] {
        let page = browser.get(&format!("/console/m/{}/{path}", other.code)).await;
        page.expect(403);
        assert!(page.text().contains("この操作は許可されていません"), "{path}: {}", page.text());
        assert!(!page.text().contains("R-9") || path == "residents/R-9", "{path} leaked a resident");
    }
    // The vendor's pages are the vendor's.
    browser.get("/console/vendor").await.expect(403);
    let vendor = sign_in(&server, "console", ADMIN).await;
    let overview = vendor.get("/console/vendor").await;
    overview.expect(200);
    assert!(overview.text().contains(&other.code), "the overview lists every municipality");
}

#[tokio::test]
async fn the_console_voids_an_issuance_and_the_verification_page_says_so() {
    let (server, muni, kiosk) = console_world().await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let issued = server.issue(&kiosk, &session, "k-1", "residence-certificate", json!({})).await;
    let issued = issued.json();
    let id = issued["id"].as_str().unwrap();
    let code = issued["verification_code"].as_str().unwrap();

    let browser = sign_in(&server, "console", &muni.token).await;
    let list = browser.get(&format!("/console/m/{}/issuances", muni.code)).await;
    list.expect(200);
    assert!(list.text().contains(issued["number"].as_str().unwrap()), "today's list shows the issuance");
    let detail = browser.get(&format!("/console/m/{}/issuances/{id}", muni.code)).await;
    detail.expect(200);
    let token = csrf_of(&detail);
    let voided = browser
        .post(
            &format!("/console/m/{}/issuances/{id}/void", muni.code),
            &[("csrf", &token), ("reason", "wrong-person"), ("note", "窓口で取り違え")],
            &[],
        )
        .await;
    voided.expect(303);
    let page = server
        .call_with(Method::GET, &format!("/v1/verify/{code}"), None, Payload::None, &[("accept", "text/html")])
        .await;
    assert!(page.text().contains("この証明書は無効です"), "{}", page.text());
}

#[tokio::test]
async fn a_dry_run_shows_the_pages_of_both_versions_as_images() {
    let (server, muni, _) = console_world().await;
    let versions = server.get(&format!("/v1/municipalities/{}/plugins", muni.code), Some(&muni.token)).await;
    let active = versions.json()["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "residence-certificate" && v["active"] == true)
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = sign_in(&server, "console", &muni.token).await;
    let form = browser.get(&format!("/console/m/{}/plugins/{active}/dry-run", muni.code)).await;
    form.expect(200);
    let token = csrf_of(&form);
    let report = browser
        .post(
            &format!("/console/m/{}/plugins/{active}/dry-run", muni.code),
            &[("csrf", &token), ("resident_id", "T-1")],
            &[],
        )
        .await;
    report.expect(200);
    let text = report.text();
    assert!(text.contains("交付できます"), "{text}");
    assert!(text.contains("data:image/png;base64,"), "the page shows the PDF's pages as images");
}

#[tokio::test]
async fn the_kiosk_simulator_words_pin_refusals_as_a_resident_reads_them() {
    let (server, muni, kiosk) = console_world().await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let browser = sign_in(&server, "kiosk", &kiosk).await;
    let home = browser.get("/kiosk/").await;
    home.expect(200);
    let token = csrf_of(&home);
    let wrong = browser.post("/kiosk/card", &[("csrf", &token), ("card_id", &holder.card), ("pin", "9999")], &[]).await;
    wrong.expect(403);
    assert!(wrong.text().contains("暗証番号が違います。あと2回"), "{}", wrong.text());
    let opened =
        browser.post("/kiosk/card", &[("csrf", &token), ("card_id", &holder.card), ("pin", "1234")], &[]).await;
    opened.expect(303);
    let location = opened.headers["location"].to_str().unwrap().to_owned();
    let offers = browser.get(&location).await;
    offers.expect(200);
    assert!(offers.text().contains("住民票の写し"), "{}", offers.text());
    // The simulator's session cookie is the simulator's: no console page.
    let console = server
        .call_with(
            Method::GET,
            &format!("/console/m/{}/issuances", muni.code),
            None,
            Payload::None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    console.expect(303);
}
