//! The public verification page, `/v1/verify/{code}`, as a browser shows
//! it: in Japanese, for an unknown code and for an issued certificate.

use serde_json::json;

use crate::harness::Browser;
use crate::site::Site;

#[tokio::test]
async fn verification_page_reads_in_japanese() {
    let (site, muni, kiosk) = Site::world().await;
    let browser = Browser::start().await;

    // A code no certificate has; typed in lower case, the page shows it as printed.
    browser.goto(&site.url("/v1/verify/abcd-efgh-jkmn")).await;
    let body = browser.body_text().await;
    assert!(body.contains("確認コード ABCD-EFGH-JKMN の証明書は見つかりません"), "{body}");
    assert!(!body.contains("この証明書は有効です"), "{body}");
    assert_eq!(browser.find("html").await.attr("lang").await.expect("lang").as_deref(), Some("ja"));
    browser.screenshot("verify-not-found").await;

    // A certificate issued at the kiosk.
    site.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = site.card(&muni, "R-1", "1234").await;
    let session = site.session(&kiosk, &holder).await;
    let issuance = site.issue(&kiosk, &session, "key-1", "residence-certificate", json!({})).await;
    let issuance = issuance.expect(201).json();
    assert_eq!(issuance["outcome"], "issued", "{issuance}");
    let code = issuance["verification_code"].as_str().expect("a verification code");
    let number = issuance["number"].as_str().expect("an issuance number");

    browser.goto(&site.url(&format!("/v1/verify/{code}"))).await;
    let verdict = browser.text(".valid").await;
    assert!(verdict.contains("この証明書は有効です"), "{verdict}");
    let body = browser.body_text().await;
    for expected in ["見本市 (999997)", number, "住民票の写し"] {
        assert!(body.contains(expected), "`{expected}` missing: {body}");
    }
    // Anyone may open the page: it names no one.
    let resident = kofu_tests::fixture("yamada-taro");
    assert!(!body.contains(&resident.name), "the page shows the resident's name: {body}");
    browser.screenshot("verify-valid").await;
}
