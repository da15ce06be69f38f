//! What a municipality needs to run its service: every change attributed in
//! the audit chain, the issuance list, voiding, and activation only after a
//! dry-run that issued.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Muni, Payload, TestServer, world};

async fn audit(server: &TestServer, muni: &Muni) -> Vec<Value> {
    let reply = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    reply.expect(200).json()["entries"].as_array().expect("entries").clone()
}

fn last_of<'a>(entries: &'a [Value], event: &str) -> &'a Value {
    entries.iter().rev().find(|e| e["event"] == event).unwrap_or_else(|| panic!("no {event} entry"))
}

#[tokio::test]
async fn lifting_a_restriction_needs_a_reason_and_every_change_names_who_made_it() {
    let (server, muni, _) = world().await;
    server.import_fixture(&muni, "DV-1", "kobayashi-yui").await;
    let resident = format!("/v1/municipalities/{}/residents/DV-1", muni.code);
    let lift = |body: Value| server.call(Method::PATCH, &resident, Some(&muni.token), Payload::Json(body));

    let refused = lift(json!({ "restricted": false })).await.expect_problem(422);
    assert!(refused["detail"].as_str().unwrap().contains("reason"), "{refused}");
    let blank = lift(json!({ "restricted": false, "reason": "  " })).await.expect_problem(422);
    assert!(blank["detail"].as_str().unwrap().contains("reason"), "{blank}");
    let long = "長".repeat(kofu_store::MAX_NOTE_CHARS + 1);
    let too_long = lift(json!({ "restricted": false, "reason": long })).await.expect_problem(422);
    assert!(too_long["detail"].as_str().unwrap().contains("characters"), "{too_long}");
    let record = server.get(&resident, Some(&muni.token)).await.expect(200).json();
    assert_eq!(record["record"]["residency"]["restricted"], true, "a refused change changes nothing");

    let reason = "support measure ended 2026-12-01, decision 第123号";
    lift(json!({ "restricted": false, "reason": reason })).await.expect(200);
    let entries = audit(&server, &muni).await;
    let change = last_of(&entries, "status-change");
    assert_eq!(change["data"]["resident"], "DV-1");
    assert_eq!(change["data"]["changed"], json!(["residency"]));
    assert_eq!(change["data"]["by"]["role"], "municipality");
    assert_eq!(change["data"]["by"]["name"], "test");
    // The chain keeps the detail's digest; the detail is beside it.
    let detail = &change["detail"];
    assert_eq!(detail["reason"], reason);
    assert_eq!(detail["before"]["residency"]["restricted"], true);
    assert_eq!(detail["after"]["residency"]["restricted"], false);
    assert_eq!(change["data"]["detail_digest"], kofu_store::hex(&Sha256::digest(detail.to_string())));
    assert!(!change["entry"].as_str().unwrap().contains("第123号"), "the reason is not in the chain");
    // The time reads as Japan time.
    assert!(change["at"].as_str().unwrap().ends_with("+09:00"), "{change}");

    // Imports, cards and tokens are in the chain too.
    let import = last_of(&entries, "register-import");
    assert_eq!(import["data"]["rows"].as_u64(), Some(1));
    assert_eq!(import["data"]["file_digest"].as_str().map(str::len), Some(64));
    let holder = server.card(&muni, "DV-1", "1234").await;
    let cards = format!("/v1/municipalities/{}/cards/{}", muni.code, holder.card);
    server.post(&format!("{cards}/unlock"), Some(&muni.token), json!({})).await.expect(200);
    server.call(Method::DELETE, &cards, Some(&muni.token), Payload::None).await.expect(204);
    let events: Vec<String> =
        audit(&server, &muni).await.iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect();
    assert!(events.starts_with(&["token-created".to_owned()]), "{events:?}");
    assert!(events.ends_with(&["card-issued".into(), "card-unlocked".into(), "card-revoked".into()]), "{events:?}");
    let certifier = Arc::clone(server.state.issuer().certifier());
    let report = kofu_issue::verify_audit(server.state.issuer().store(), &certifier, 10).await.unwrap();
    assert!(report.ok(), "{report:?}");
}

#[tokio::test]
async fn a_version_is_activated_only_after_a_dry_run_that_issued_or_an_audited_override() {
    let (server, muni, _) = world().await;
    let test_entries = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("suzuki-yoko"), true);
    server.import_entries(&muni, &test_entries).await.expect(200);
    let plugins = format!("/v1/municipalities/{}/plugins", muni.code);

    // A version that panics: its dry-run fails, and activation is refused.
    let panic = server.upload(&muni, kofu_tests::component(kofu_tests::guests::PANIC)).await.expect(201).json();
    let hash = panic["hash"].as_str().unwrap();
    let activate = format!("{plugins}/{hash}/activate");
    let never = server.post(&activate, Some(&muni.token), json!({})).await.expect_problem(409);
    assert!(never["detail"].as_str().unwrap().contains("not been dry-run"), "{never}");
    server.post(&format!("{plugins}/{hash}/dry-run"), Some(&muni.token), json!({ "resident_id": "T-1" })).await;
    let failed = server.call(Method::POST, &activate, Some(&muni.token), Payload::None).await.expect_problem(409);
    assert!(failed["detail"].as_str().unwrap().contains("failed (panic)"), "{failed}");
    let listed = server.get(&plugins, Some(&muni.token)).await.expect(200).json();
    assert!(listed["versions"].as_array().unwrap().iter().any(|v| v["hash"] == hash && v["active"] == false));

    // An override says why, in a sentence or two.
    let long = json!({ "override_reason": "x".repeat(kofu_store::MAX_NOTE_CHARS + 1) });
    server.post(&activate, Some(&muni.token), long).await.expect_problem(422);
    // An override says why, and the chain keeps its digest.
    let overridden = server
        .post(&activate, Some(&muni.token), json!({ "override_reason": "the counter tests it by hand" }))
        .await
        .expect(200)
        .json();
    assert_eq!(overridden["action"], "override");
    let entry = last_of(&audit(&server, &muni).await, "plugin-activated").clone();
    assert_eq!(entry["detail"]["override_reason"], "the counter tests it by hand");
    assert!(!entry["entry"].as_str().unwrap().contains("by hand"), "the reason is not in the chain");
    assert_eq!(entry["data"]["dry_run"]["outcome"], "failed");

    // The bundled residence plugin again, dry-run first: activated, and
    // the answer says nothing changes for kiosks.
    let residence = server.upload(&muni, crate::common::kofu_bundled_components()[0].clone()).await.expect(200).json();
    let hash = residence["hash"].as_str().unwrap();
    let dry_run = json!({ "resident_id": "T-1", "options": { "include-household": true } });
    server.post(&format!("{plugins}/{hash}/dry-run"), Some(&muni.token), dry_run).await.expect(200);
    let activated = server.post(&format!("{plugins}/{hash}/activate"), Some(&muni.token), json!({})).await;
    let activated = activated.expect(200).json();
    assert_eq!(activated["action"], "activate");
    assert_eq!(activated["changes"], json!([]), "the same version: nothing changes for kiosks");
}

#[tokio::test]
async fn the_issuance_list_matches_what_kiosks_received() {
    let (server, muni, kiosk) = world().await;
    let server = Arc::new(server);
    let mut holders = Vec::new();
    for (n, stem) in ["yamada-taro", "ito-misaki", "nakamura-kenta", "takahashi-jiro"].iter().enumerate() {
        let id = format!("R-{n}");
        server.import_fixture(&muni, &id, stem).await;
        holders.push(server.card(&muni, &id, "1234").await);
    }
    let kinds = ["residence-certificate", "seal-registration-certificate", "tax-certificate"];
    // 48 issuances at once: 4 residents, 3 kinds, 4 requests each.
    let requests: Vec<_> = (0..48)
        .map(|n| {
            let (server, kiosk, holder) = (Arc::clone(&server), kiosk.clone(), holders[n % 4].clone());
            tokio::spawn(async move {
                let session = server.session(&kiosk, &holder).await;
                let reply = server.issue(&kiosk, &session, &format!("list-{n}"), kinds[n % 3], json!({})).await;
                (holder.resident, reply.expect(201).json())
            })
        })
        .collect();
    let mut received = Vec::new();
    for request in requests {
        received.push(request.await.expect("task"));
    }
    let list = format!("/v1/municipalities/{}/issuances", muni.code);
    let mut listed = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server.get(&format!("{list}?from=2020-01-01&limit=10{cursor}"), Some(&muni.token)).await;
        let page = page.expect(200).json();
        listed.extend(page["issuances"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let as_listed: BTreeSet<(String, String, String, String)> = listed
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap().to_owned();
            (field("id"), field("number"), field("resident"), field("outcome"))
        })
        .collect();
    let as_received: BTreeSet<(String, String, String, String)> = received
        .iter()
        .map(|(resident, i)| {
            let field = |k: &str| i[k].as_str().unwrap().to_owned();
            (field("id"), field("number"), resident.clone(), field("outcome"))
        })
        .collect();
    assert_eq!(listed.len(), 48, "every issuance once, across pages");
    assert_eq!(as_listed, as_received);
    // Newest first, with the resident's name and the plugin version.
    let times: Vec<&str> = listed.iter().map(|r| r["created_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(listed.iter().all(|r| r["plugin_version"] == "1.0.0" && r["resident_name"].is_string()));

    // Filters: by resident and outcome, by printed number, and as CSV.
    let issued = listed.iter().find(|r| r["outcome"] == "issued").unwrap();
    let resident = issued["resident"].as_str().unwrap();
    let mine = server.get(&format!("{list}?resident={resident}&outcome=issued"), Some(&muni.token)).await;
    let mine = mine.expect(200).json();
    let expected = received.iter().filter(|(r, i)| r == resident && i["outcome"] == "issued").count();
    assert_eq!(mine["issuances"].as_array().unwrap().len(), expected);
    let number = issued["number"].as_str().unwrap();
    let found = server.get(&format!("{list}?number={number}"), Some(&muni.token)).await.expect(200).json();
    assert_eq!(found["issuances"].as_array().unwrap().len(), 1);
    assert_eq!(found["issuances"][0]["id"], issued["id"]);
    let csv = server.get(&format!("{list}?format=csv&limit=1000"), Some(&muni.token)).await.expect(200).text();
    assert!(csv.starts_with("number,created_at,kind,resident,resident_name,"), "{csv}");
    assert_eq!(csv.lines().count(), 49, "a header and one line per issuance");
    assert!(csv.contains(number));
    let tomorrow = server.get(&format!("{list}?from=2999-01-01"), Some(&muni.token)).await.expect(200).json();
    assert!(tomorrow["issuances"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_voided_certificate_verifies_as_voided_and_is_not_delivered() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let issued = server.issue(&kiosk, &session, "v-1", "tax-certificate", json!({})).await.expect(201).json();
    let (id, code) = (issued["id"].as_str().unwrap(), issued["verification_code"].as_str().unwrap());
    let valid = server.get(&format!("/v1/verify/{code}"), None).await.expect(200).json();
    assert_eq!((valid["valid"].clone(), valid["voided"].clone()), (json!(true), Value::Null));
    let browser = [("accept", "text/html")];
    let page = server.call_with(Method::GET, &format!("/v1/verify/{code}"), None, Payload::None, &browser).await;
    assert!(page.expect(200).text().contains("この証明書は有効です"));

    let void = format!("/v1/municipalities/{}/issuances/{id}/void", muni.code);
    let note = "山田様の税額が誤っていた (register error)";
    server.post(&void, Some(&muni.token), json!({ "reason": "wrong-content", "note": "" })).await.expect_problem(422);
    // Staff's words are bounded: a caller cannot store megabytes per entry.
    let long = "長".repeat(kofu_store::MAX_NOTE_CHARS + 1);
    server.post(&void, Some(&muni.token), json!({ "reason": "other", "note": long })).await.expect_problem(422);
    let voided = server.post(&void, Some(&muni.token), json!({ "reason": "wrong-content", "note": note })).await;
    assert!(voided.expect(200).json()["void"]["at"].is_i64());
    let check = server.get(&format!("/v1/verify/{code}"), None).await.expect(200).json();
    assert_eq!(check["valid"], false);
    assert_eq!(check["voided"]["reason"], "wrong-content");
    assert_eq!(check["voided"]["reason_ja"], "記載内容の誤り");
    assert!(check["voided"]["at"].as_str().unwrap().ends_with("+09:00"));
    assert!(!check.to_string().contains("山田"), "no personal data in the verification: {check}");
    // A browser gets the same as a page, in Japanese, that runs nothing.
    let browser = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let page = server.call_with(Method::GET, &format!("/v1/verify/{code}"), None, Payload::None, &browser).await;
    assert_eq!((page.status.as_u16(), page.content_type.as_str()), (200, "text/html; charset=utf-8"));
    let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    let html = page.text();
    assert!(
        html.contains("この証明書は無効です") && html.contains("記載内容の誤り") && html.contains("納税証明書"),
        "{html}"
    );
    assert!(html.contains(issued["number"].as_str().unwrap()) && !html.contains("山田") && !html.contains("<script"));
    let unknown = server.call_with(Method::GET, "/v1/verify/0000-0000-0000", None, Payload::None, &browser).await;
    assert_eq!(unknown.status.as_u16(), 404);
    assert!(unknown.text().contains("見つかりません"), "{}", unknown.text());
    // Not yet fetched, and now never delivered.
    let gone = server.document(&kiosk, &session, id).await.expect_problem(410);
    assert!(gone["detail"].as_str().unwrap().contains("voided"), "{gone}");
    // Voided once; the chain names who and why (the note beside it).
    server.post(&void, Some(&muni.token), json!({ "reason": "other", "note": "again" })).await.expect_problem(409);
    let entry = last_of(&audit(&server, &muni).await, "voided").clone();
    assert_eq!(entry["data"]["issuance"], id);
    assert_eq!(entry["data"]["reason"], "wrong-content");
    assert_eq!(entry["detail"]["note"], note);
    assert!(!entry["entry"].as_str().unwrap().contains("山田"));
}

#[tokio::test]
async fn a_failed_evaluation_records_the_fields_it_read() {
    let (server, muni, kiosk) = world().await;
    server.activate(&muni, kofu_tests::component(kofu_tests::guests::PANIC)).await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let failed = server.issue(&kiosk, &session, "p-1", "hostile-panic", json!({})).await.expect(201).json();
    assert_eq!(failed["outcome"], "failed");
    let id = failed["id"].as_str().unwrap();
    let record = server.get(&format!("/v1/municipalities/{}/issuances/{id}", muni.code), Some(&muni.token)).await;
    assert_eq!(record.expect(200).json()["fields_read"], json!(["name"]));
    let entry = audit(&server, &muni).await.into_iter().find(|e| e["issuance"] == id).unwrap();
    assert_eq!(entry["data"]["fields_read"], json!(["name"]));
}

#[tokio::test]
async fn a_municipality_code_needs_its_check_digit() {
    let server = TestServer::new().await;
    let body =
        |code: &str| json!({ "code": code, "name": "千代田区", "mayor_title": "区長", "mayor_name": "見本 一郎" });
    let wrong = server.post("/v1/municipalities", Some(crate::common::ADMIN), body("131017")).await.expect_problem(422);
    assert!(wrong["detail"].as_str().unwrap().contains("ends in 6"), "{wrong}");
    server.post("/v1/municipalities", Some(crate::common::ADMIN), body("131016")).await.expect(201);
}
