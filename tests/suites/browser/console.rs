//! A municipality's day and a resident's visit, in Chromium: the console
//! (sign-in, register import, catalog install, dry-run with its pages shown,
//! activation at a fee, a card), the kiosk simulator (two wrong PINs, a
//! residence certificate previewed and printed), the issuance found in
//! today's list and voided, the verification page saying so; then what must
//! be refused: another municipality's pages and a form without its CSRF
//! token; and the vendor's overview. Every page is kept as a screenshot.

use std::time::Duration;

use crate::common::ADMIN;
use crate::harness::Browser;
use crate::site::Site;

/// Click `button_css` of a form that asks "are you sure?" and say yes.
async fn confirm(browser: &Browser, button_css: &str) {
    browser.click(button_css).await;
    browser.client().accept_alert().await.expect("the page asks for confirmation");
}

/// Wait until the page's text contains `needle` (a form's answer loads).
async fn wait_for_text(browser: &Browser, needle: &str) -> String {
    for _ in 0..150 {
        // While the next page loads, the old body goes stale: read again.
        if let Ok(body) = browser.client().find(fantoccini::Locator::Css("body")).await
            && let Ok(text) = body.text().await
            && text.contains(needle)
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed {needle:?}; it shows:\n{}", browser.body_text().await);
}

#[tokio::test]
async fn a_municipalitys_day_and_a_residents_visit() {
    let site = Site::start().await;
    let muni = site.municipality("131016", "千代田区").await;
    let kiosk = site.kiosk("store 1").await;
    let files = tempfile::tempdir().expect("a directory for the register files");
    let mut entries = kofu_register::entries_from_fixture("R-1", "H-1", &kofu_tests::fixture("yamada-taro"), false);
    entries.extend(kofu_register::entries_from_fixture("T-1", "H-T-1", &kofu_tests::fixture("kimura-aoi"), true));
    let register = files.path().join("register.csv");
    std::fs::write(&register, kofu_register::to_csv(&entries)).expect("the register file");
    let broken = files.path().join("broken.csv");
    let csv = kofu_register::to_csv(&entries);
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replacen("R-1", "", 1);
    std::fs::write(&broken, lines.join("\n") + "\n").expect("the broken file");

    let browser = Browser::start().await;

    // Sign in: the token becomes a strict, HttpOnly session cookie.
    browser.goto(&site.url("/console/")).await;
    browser.fill("#token", &muni.token).await;
    browser.screenshot("console-sign-in").await;
    browser.submit("main form").await;
    wait_for_text(&browser, "発行記録").await;
    assert!(browser.current_url().await.ends_with("/console/m/131016/issuances"));
    let cookie = browser.cookie("kofu_console").await.expect("the session cookie");
    assert!(cookie.http_only, "the session cookie is HttpOnly");
    assert_eq!(cookie.same_site.as_deref(), Some("Strict"));
    assert!(!cookie.value.contains(&muni.token), "the cookie does not carry the token");

    // The register: a broken file is refused with every problem, then the good one.
    browser.goto(&site.url("/console/m/131016/residents")).await;
    browser.upload("input[name=register]", &broken).await;
    browser.submit("form[enctype='multipart/form-data']").await;
    let report = wait_for_text(&browser, "何も取り込まれていません").await;
    assert!(report.contains("問題"), "{report}");
    assert!(report.contains("`id` が空です。すべての住民に必要です"), "the reason in Japanese: {report}");
    browser.screenshot("console-import-problems").await;
    browser.upload("input[name=register]", &register).await;
    browser.submit("form[enctype='multipart/form-data']").await;
    wait_for_text(&browser, "取り込みました").await;
    browser.screenshot("console-import").await;

    // A plugin from the catalog, dry-run for the test resident, activated at 300 yen.
    browser.goto(&site.url("/console/m/131016/plugins")).await;
    browser.click("select[name=catalog] option[value=residence]").await;
    browser.submit("form:has(select[name=catalog])").await;
    wait_for_text(&browser, "プラグインを追加しました").await;
    browser.click("a[href$='/dry-run']").await;
    wait_for_text(&browser, "テスト住民").await;
    browser.submit("form.filters").await;
    let dry_run = wait_for_text(&browser, "交付できます").await;
    assert!(dry_run.contains("読んだ項目"), "{dry_run}");
    let page = browser.find("img.page").await;
    let src = page.attr("src").await.expect("the page image").unwrap_or_default();
    assert!(src.starts_with("data:image/png;base64,"), "the PDF's page is shown as an image");
    browser.screenshot("console-dry-run").await;
    browser.goto(&site.url("/console/m/131016/plugins")).await;
    browser.fill("input[name=fee_yen]", "300").await;
    browser.submit("form[action$='/activate']").await;
    wait_for_text(&browser, "有効にしました").await;
    browser.screenshot("console-plugins").await;

    // A card for the resident, with the PIN chosen at the counter.
    browser.goto(&site.url("/console/m/131016/residents/R-1")).await;
    browser.fill("input[name=pin]", "1234").await;
    browser.submit("form[action$='/cards']").await;
    wait_for_text(&browser, "カードを発行しました").await;
    let card = browser.text("table.list td code").await;
    browser.screenshot("console-resident").await;

    // The resident at the kiosk: two wrong PINs, then a certificate, printed.
    browser.goto(&site.url("/kiosk/")).await;
    browser.fill("#token", &kiosk).await;
    browser.submit("main form").await;
    wait_for_text(&browser, "暗証番号").await;
    for left in ["あと2回", "あと1回"] {
        browser.fill("input[name=card_id]", &card).await;
        browser.fill("input[name=pin]", "9999").await;
        browser.submit("form[action='/kiosk/card']").await;
        wait_for_text(&browser, left).await;
    }
    browser.screenshot("kiosk-wrong-pin").await;
    browser.fill("input[name=card_id]", &card).await;
    browser.fill("input[name=pin]", "1234").await;
    browser.submit("form[action='/kiosk/card']").await;
    let offers = wait_for_text(&browser, "証明書を選んでください").await;
    assert!(offers.contains("住民票の写し") && offers.contains("300円"), "{offers}");
    browser.screenshot("kiosk-certificates").await;
    browser.submit("form.offer").await;
    wait_for_text(&browser, "証明書ができました").await;
    let number = browser.body_text().await;
    let number = number
        .split("発行番号 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the issuance number on the page")
        .to_owned();
    browser.submit("form[action$='/preview']").await;
    wait_for_text(&browser, "印刷プレビュー").await;
    browser.find("img.page").await;
    browser.screenshot("kiosk-preview").await;
    browser.submit("form[action$='/printed']").await;
    let printed = wait_for_text(&browser, "印刷しました").await;
    assert!(printed.contains("300円"), "{printed}");
    let code = browser.text(".kiosk code").await;
    browser.screenshot("kiosk-printed").await;

    // The municipality finds it in today's list and voids it.
    browser.goto(&site.url("/console/m/131016/issuances")).await;
    let list = wait_for_text(&browser, &number).await;
    assert!(list.contains("印刷済み"), "{list}");
    browser.screenshot("console-issuances").await;
    browser.click("table.list a[href*='/issuances/']").await;
    wait_for_text(&browser, "この証明書を取り消す").await;
    browser.fill("textarea[name=note]", "窓口で取り違えを確認").await;
    confirm(&browser, "form[action$='/void'] button").await;
    wait_for_text(&browser, "この証明書を取り消しました").await;
    browser.screenshot("console-voided").await;

    // The verification page, as anyone reads it, says void.
    browser.goto(&site.url(&format!("/v1/verify/{code}"))).await;
    wait_for_text(&browser, "この証明書は無効です").await;
    browser.screenshot("verify-voided").await;

    // Another municipality's pages are refused, and so is a form without its CSRF token.
    let other = site.municipality("011002", "札幌市").await;
    browser.goto(&site.url(&format!("/console/m/{}/residents", other.code))).await;
    wait_for_text(&browser, "この操作は許可されていません").await;
    browser.screenshot("console-other-municipality").await;
    browser.goto(&site.url("/console/m/131016/residents/R-1")).await;
    wait_for_text(&browser, "状態の変更").await;
    browser
        .client()
        .execute("document.querySelector(\"form[action$='/status'] input[name=csrf]\").remove()", vec![])
        .await
        .expect("remove the CSRF field");
    browser.fill("form[action$='/status'] input[name=reason]", "試験").await;
    browser.submit("form[action$='/status']").await;
    wait_for_text(&browser, "このフォームは受け付けられません").await;
    browser.screenshot("console-csrf-refused").await;

    // The vendor: sign out, sign in with the admin token, the overview.
    browser.goto(&site.url("/console/m/131016/issuances")).await;
    browser.submit("form[action='/console/sign-out']").await;
    wait_for_text(&browser, "管理画面にサインイン").await;
    browser.fill("#token", ADMIN).await;
    browser.submit("main form").await;
    let overview = wait_for_text(&browser, "サンドボックスの待ち行列").await;
    assert!(overview.contains("千代田区") && overview.contains("札幌市"), "{overview}");
    browser.screenshot("vendor-overview").await;
    browser.goto(&site.url("/console/vendor/municipalities")).await;
    browser.fill("input[name=code]", "131017").await;
    browser.fill("input[name=name]", "誤り区").await;
    browser.fill("input[name=mayor_title]", "区長").await;
    browser.fill("input[name=mayor_name]", "見本 太郎").await;
    browser.submit("form[action='/console/vendor/municipalities']").await;
    wait_for_text(&browser, "検査数字が合いません").await;
}
