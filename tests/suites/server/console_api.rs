//! What a web console reads: a municipality's verification of its own audit
//! log (`POST /v1/municipalities/{code}/audit/verify`) and the vendor's
//! issuance counts (`GET /v1/stats`).

use axum::http::Method;
use kofu_test_db::Backend;
use serde_json::{Value, json};

use crate::common::{ADMIN, Muni, Payload, Reply, TestServer, world};
use crate::openapi::assert_conforms;

const VERIFY: &str = "/v1/municipalities/{code}/audit/verify";

/// Issue a tax and a seal certificate to yamada-taro and have
/// takahashi-jiro (R-2, moved out) refused a residence certificate, at `kiosk`.
async fn two_issued_one_refused(server: &TestServer, muni: &Muni, kiosk: &str) {
    server.import_fixture(muni, "R-1", "yamada-taro").await;
    server.import_fixture(muni, "R-2", "takahashi-jiro").await;
    let yamada = server.card(muni, "R-1", "1234").await;
    let takahashi = server.card(muni, "R-2", "5678").await;
    let requests = [
        (&yamada, "tax-certificate", "issued"),
        (&yamada, "seal-registration-certificate", "issued"),
        (&takahashi, "residence-certificate", "refused"),
    ];
    for (n, (holder, kind, outcome)) in requests.into_iter().enumerate() {
        let session = server.session(kiosk, holder).await;
        let issued = server.issue(kiosk, &session, &format!("{}-{n}", muni.code), kind, json!({})).await;
        assert_eq!(issued.expect(201).json()["outcome"], outcome, "{kind}");
    }
}

async fn verify(server: &TestServer, muni: &Muni, token: Option<&str>, payload: Payload) -> Reply {
    let path = format!("/v1/municipalities/{}/audit/verify", muni.code);
    let reply = server.call(Method::POST, &path, token, payload).await;
    assert_conforms(&Method::POST, VERIFY, &reply);
    reply
}

async fn stats(server: &TestServer, token: Option<&str>) -> Reply {
    let reply = server.get("/v1/stats", token).await;
    assert_conforms(&Method::GET, "/v1/stats", &reply);
    reply
}

/// Entries in the municipality's chain, as its audit pages list them.
async fn chain_length(server: &TestServer, muni: &Muni) -> u64 {
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    audit.expect(200).json()["entries"].as_array().expect("entries").len() as u64
}

#[tokio::test]
async fn a_municipality_verifies_its_clean_log() {
    let (server, muni, kiosk) = world().await;
    two_issued_one_refused(&server, &muni, &kiosk).await;
    let report = verify(&server, &muni, Some(&muni.token), Payload::None).await.expect(200).json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["entries"], chain_length(&server, &muni).await, "{report}");
    assert_eq!(report["issuances_checked"], 3, "{report}");
    assert_eq!(report["rerendered"], 2, "the two issued documents are re-rendered: {report}");
    assert_eq!(report["other_build"], 0, "{report}");

    // The sample bounds the re-renders.
    let one = verify(&server, &muni, Some(&muni.token), Payload::Json(json!({ "sample": 1 }))).await;
    let one = one.expect(200).json();
    assert_eq!((&one["ok"], &one["rerendered"]), (&json!(true), &json!(1)), "{one}");
    // Counted, by result.
    let metrics = server.get("/metrics", None).await.text();
    let counted = format!("kofu_audit_verifications_total{{municipality=\"{}\",result=\"ok\"}} 2", muni.code);
    assert!(metrics.contains(&counted), "{metrics}");
}

#[tokio::test]
async fn a_tampered_chain_is_reported_in_that_municipality_only() {
    let (server, muni, kiosk) = world().await;
    let other = server.municipality("131016", "見本区").await;
    server.activate_bundled(&other).await;
    two_issued_one_refused(&server, &muni, &kiosk).await;
    two_issued_one_refused(&server, &other, &kiosk).await;

    // Someone with write access to the database rewrites the refusal of
    // `muni` as an issuance.
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    let audit = audit.expect(200).json();
    let refused = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "issuance" && e["data"]["outcome"] == "refused")
        .unwrap_or_else(|| panic!("no refusal in {audit}"))["seq"]
        .as_i64()
        .unwrap();
    let pool = server.db.pool().await;
    let drop_trigger = match server.db.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::raw_sql(drop_trigger).execute(&pool).await.unwrap();
    let rewrite = format!(
        "UPDATE audit_log SET entry = replace(entry, '\"refused\"', '\"issued\"') WHERE municipality = '{}' AND seq = {refused}",
        muni.code
    );
    sqlx::query(&rewrite).execute(&pool).await.unwrap();
    pool.close().await;

    // A finding, not an error.
    let report = verify(&server, &muni, Some(&muni.token), Payload::None).await.expect(200).json();
    assert_eq!(report["ok"], false, "{report}");
    let problems: Vec<&str> = report["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let altered =
        format!("municipality {} entry {refused}: its content does not match its hash (it was altered)", muni.code);
    assert!(problems.contains(&altered.as_str()), "{problems:#?}");
    assert!(problems.iter().all(|p| p.contains(&muni.code) && !p.contains(&other.code)), "{problems:#?}");
    // The other municipality's chain is its own, and still verifies.
    let theirs = verify(&server, &other, Some(&other.token), Payload::None).await.expect(200).json();
    assert_eq!(theirs["ok"], true, "{theirs}");
    assert_eq!(theirs["issuances_checked"], 3, "{theirs}");
    let metrics = server.get("/metrics", None).await.text();
    let counted = format!("kofu_audit_verifications_total{{municipality=\"{}\",result=\"problems\"}} 1", muni.code);
    assert!(metrics.contains(&counted), "{metrics}");
}

#[tokio::test]
async fn only_the_municipality_itself_may_verify_its_log() {
    let (server, muni, _kiosk) = world().await;
    let other = server.municipality("131016", "見本区").await;
    let kiosk = server.kiosk("store 2").await;
    for (token, status) in [(Some(other.token.as_str()), 403), (Some(ADMIN), 403), (Some(kiosk.as_str()), 403)] {
        verify(&server, &muni, token, Payload::None).await.expect_problem(status);
    }
    let anonymous = verify(&server, &muni, None, Payload::None).await;
    assert_eq!(anonymous.expect_problem(401)["type"], "urn:kofu:problem:unauthorized");
    // A municipality with no issuances yet verifies.
    let fresh = verify(&server, &other, Some(&other.token), Payload::None).await.expect(200).json();
    assert_eq!(fresh["ok"], true, "{fresh}");
}

#[tokio::test]
async fn a_bad_sample_is_refused_with_a_plain_message() {
    let (server, muni, _kiosk) = world().await;
    let token = Some(muni.token.as_str());
    for sample in [json!(0), json!(201), json!(-1), json!(1.5), json!("5"), json!(null), json!(true)] {
        let reply = verify(&server, &muni, token, Payload::Json(json!({ "sample": sample }))).await;
        let problem = reply.expect_problem(400);
        assert_eq!(problem["type"], "urn:kofu:problem:bad-request", "{sample}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("`sample`") && detail.contains("1 to 200"), "{sample}: {detail}");
    }
    verify(&server, &muni, token, Payload::Json(json!({ "samples": 5 }))).await.expect_problem(422);
    verify(&server, &muni, token, Payload::Raw("application/json", b"{".to_vec())).await.expect_problem(400);
    verify(&server, &muni, token, Payload::Raw("text/plain", b"sample=5".to_vec())).await.expect_problem(415);
    let edge = verify(&server, &muni, token, Payload::Json(json!({ "sample": 200 }))).await;
    assert_eq!(edge.expect(200).json()["ok"], true);
    verify(&server, &muni, token, Payload::Json(json!({}))).await.expect(200);
}

/// A municipality's counts in one window of `/v1/stats`.
fn counts<'a>(figures: &'a Value, code: &str, window: &str) -> &'a Value {
    let found = figures["municipalities"].as_array().unwrap().iter().find(|m| m["code"] == code);
    &found.unwrap_or_else(|| panic!("{code} is not in {figures}"))[window]
}

#[tokio::test]
async fn the_vendor_reads_each_municipality_s_issuances_by_window_and_outcome() {
    let (server, muni, kiosk) = world().await;
    let quiet = server.municipality("131016", "見本区").await;
    two_issued_one_refused(&server, &muni, &kiosk).await;
    let figures = stats(&server, Some(ADMIN)).await.expect(200).json();
    let now = json!({ "issued": 2, "refused": 1, "failed": 0 });
    assert_eq!(counts(&figures, &muni.code, "last_hour"), &now, "{figures}");
    assert_eq!(counts(&figures, &muni.code, "today"), &now, "{figures}");
    let none = json!({ "issued": 0, "refused": 0, "failed": 0 });
    for window in ["last_hour", "today"] {
        assert_eq!(counts(&figures, &quiet.code, window), &none, "every municipality is listed: {figures}");
    }
    assert_eq!(figures["build"], kofu_issue::HOST_BUILD);
    let at = figures["at_ms"].as_i64().unwrap();
    assert_eq!(figures["windows"]["last_hour"]["from_ms"], at - 3_600_000, "{figures}");
    let midnight = kofu_model::start_of_day_in_japan(at);
    assert_eq!(figures["windows"]["today"]["from_ms"], midnight, "{figures}");
    assert_eq!(figures["windows"]["today"]["from"], kofu_model::rfc3339_in_japan(midnight), "{figures}");
    assert!(figures["windows"]["today"]["from"].as_str().unwrap().ends_with("T00:00:00.000+09:00"), "{figures}");

    // Move the issuances in time: one two hours back (out of the last hour;
    // still today unless today began less than two hours ago), the refusal
    // to before both windows.
    let listed = server.get(&format!("/v1/municipalities/{}/issuances", muni.code), Some(&muni.token)).await;
    let listed = listed.expect(200).json();
    let rows = listed["issuances"].as_array().unwrap();
    let id_of = |outcome: &str| rows.iter().find(|r| r["outcome"] == outcome).unwrap()["id"].as_str().unwrap();
    let earlier = at - 2 * 3_600_000;
    let pool = server.db.pool().await;
    for (id, created_at) in [(id_of("issued"), earlier), (id_of("refused"), midnight.min(at - 3_600_000) - 1)] {
        let moved = format!("UPDATE issuances SET created_at = {created_at} WHERE id = '{id}'");
        sqlx::query(&moved).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let figures = stats(&server, Some(ADMIN)).await.expect(200).json();
    let hour = json!({ "issued": 1, "refused": 0, "failed": 0 });
    assert_eq!(counts(&figures, &muni.code, "last_hour"), &hour, "{figures}");
    let today_began = figures["windows"]["today"]["from_ms"].as_i64().unwrap();
    let issued_today = if earlier >= today_began { 2 } else { 1 };
    let today = json!({ "issued": issued_today, "refused": 0, "failed": 0 });
    assert_eq!(counts(&figures, &muni.code, "today"), &today, "{figures}");
}

#[tokio::test]
async fn only_the_vendor_reads_the_counts() {
    let (server, muni, kiosk) = world().await;
    for token in [Some(muni.token.as_str()), Some(kiosk.as_str())] {
        assert_eq!(stats(&server, token).await.expect_problem(403)["type"], "urn:kofu:problem:forbidden");
    }
    stats(&server, None).await.expect_problem(401);
}
