//! What a municipality runs without a toolchain: plugins installed from the
//! host's catalog, its own fee per kind set at activation, a dry-run's
//! report, and its record (a new mayor from the day the term begins).

use axum::http::Method;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Value, json};

use crate::common::{ADMIN, Muni, Payload, TestServer, pdf_text, world};

async fn audit(server: &TestServer, muni: &Muni) -> Vec<Value> {
    let reply = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    reply.expect(200).json()["entries"].as_array().expect("entries").clone()
}

fn last_of<'a>(entries: &'a [Value], event: &str) -> &'a Value {
    entries.iter().rev().find(|e| e["event"] == event).unwrap_or_else(|| panic!("no {event} entry"))
}

async fn dry_run_report(server: &TestServer, muni: &Muni, hash: &str, body: Value) -> Value {
    let path = format!("/v1/municipalities/{}/plugins/{hash}/dry-run", muni.code);
    let reply = server
        .call_with(Method::POST, &path, Some(&muni.token), Payload::Json(body), &[("accept", "application/json")])
        .await;
    assert!(reply.content_type.starts_with("application/json"), "{}", reply.content_type);
    reply.expect(200).json()
}

#[tokio::test]
async fn a_municipality_installs_from_the_catalog_and_sets_its_own_fee() {
    let server = TestServer::new().await;
    let muni = server.municipality("999997", "見本市").await;
    let kiosk = server.kiosk("store 1").await;

    // The catalog: for the vendor and municipalities, not kiosks or anyone.
    let catalog = server.get("/v1/catalog", Some(&muni.token)).await.expect(200).json();
    let names: Vec<&str> = catalog.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["residence", "seal", "tax"]);
    assert_eq!(server.get("/v1/catalog", Some(ADMIN)).await.expect(200).json(), catalog);
    server.get("/v1/catalog", None).await.expect_problem(401);
    server.get("/v1/catalog", Some(&kiosk)).await.expect_problem(403);
    let residence = &catalog[0];
    assert_eq!(residence["kind"], "residence-certificate");
    let default_fee = residence["fee_yen"].as_i64().unwrap();
    assert!(residence["reads"].as_array().is_some_and(|r| !r.is_empty()), "{residence}");

    // Installed by name: stored as the catalog's bytes, audited as an upload.
    let plugins = format!("/v1/municipalities/{}/plugins", muni.code);
    let install = |name: &str| server.post(&plugins, Some(&muni.token), json!({ "catalog": name }));
    let installed = install("residence").await.expect(201).json();
    assert_eq!(installed["hash"], residence["hash"]);
    assert_eq!(installed["active"], false);
    install("residence").await.expect(200);
    let unknown = install("passport").await.expect_problem(404);
    assert!(unknown["detail"].as_str().unwrap().contains("`residence`"), "{unknown}");
    server.post(&plugins, Some(&muni.token), json!({ "catalogue": "residence" })).await.expect_problem(422);
    server.post(&plugins, Some(&muni.token), json!(["residence"])).await.expect_problem(422);
    let upload = last_of(&audit(&server, &muni).await, "plugin-uploaded").clone();
    assert_eq!(upload["data"]["hash"], residence["hash"]);

    // A dry-run's report: fields read, fuel, time, the log and the PDF.
    let entries = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("yamada-taro"), true);
    server.import_entries(&muni, &entries).await.expect(200);
    let hash = residence["hash"].as_str().unwrap();
    let report = dry_run_report(&server, &muni, hash, json!({ "resident_id": "T-1" })).await;
    assert_eq!(report["outcome"], "issued", "{report}");
    assert!(report["fields_read"].as_array().unwrap().iter().any(|f| f == "name"), "{report}");
    let (fuel, limit) = (report["fuel_used"].as_u64().unwrap(), report["fuel_limit"].as_u64().unwrap());
    assert!(fuel > 0 && fuel < limit, "{report}");
    assert!(report["time_ms"].as_f64().unwrap() > 0.0);
    assert!(report["logs"].is_array());
    let pdf = BASE64_STANDARD.decode(report["pdf_base64"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(report["pages"].as_u64(), Some(1));

    // The fee is the municipality's, within bounds.
    let activate = format!("{plugins}/{hash}/activate");
    let too_dear = server.post(&activate, Some(&muni.token), json!({ "fee_yen": 20_000 })).await.expect_problem(422);
    assert!(too_dear["detail"].as_str().unwrap().contains("0 to 10000 yen"), "{too_dear}");
    server.post(&activate, Some(&muni.token), json!({ "fee_yen": -1 })).await.expect_problem(422);
    let activated = server.post(&activate, Some(&muni.token), json!({ "fee_yen": 350 })).await.expect(200).json();
    assert_eq!(activated["fee_yen"], 350);

    // Kiosks offer and charge it.
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let offers = server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await;
    assert_eq!(offers.expect(200).json()[0]["fee_yen"], 350);
    let issued = server.issue(&kiosk, &session, "fee-1", "residence-certificate", json!({})).await.expect(201).json();
    assert_eq!(issued["fee_yen"], 350, "{issued}");

    // A new fee for the version already serving: no new dry-run needed,
    // and the answer says what changes for kiosks.
    let cheaper = server.post(&activate, Some(&muni.token), json!({ "fee_yen": 200 })).await.expect(200).json();
    assert_eq!(cheaper["action"], "activate");
    assert_eq!(cheaper["changes"], json!(["fee: 350 yen becomes 200 yen"]));
    let entry = last_of(&audit(&server, &muni).await, "plugin-activated").clone();
    assert_eq!((entry["data"]["fee_yen"].as_i64(), entry["data"]["fee_before"].as_i64()), (Some(200), Some(350)));
    let listed = server.get(&plugins, Some(&muni.token)).await.expect(200).json();
    assert_eq!(listed["versions"][0]["fee_yen"], 200);
    // Without a fee, the manifest's default again.
    let default = server.post(&activate, Some(&muni.token), json!({})).await.expect(200).json();
    assert_eq!(default["fee_yen"], Value::Null);
    let offers = server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await;
    assert_eq!(offers.expect(200).json()[0]["fee_yen"], default_fee);
}

#[tokio::test]
async fn a_rollback_brings_back_the_fee_of_the_version_it_returns_to() {
    let (server, muni, kiosk) = world().await;
    let plugins = format!("/v1/municipalities/{}/plugins", muni.code);
    let listed = server.get(&plugins, Some(&muni.token)).await.expect(200).json();
    let tax = listed["versions"].as_array().unwrap().iter().find(|v| v["kind"] == "tax-certificate").unwrap().clone();
    let tax = tax["hash"].as_str().unwrap();
    server.post(&format!("{plugins}/{tax}/activate"), Some(&muni.token), json!({ "fee_yen": 400 })).await.expect(200);
    // A 2.0.0 at its default fee, then back.
    server.activate(&muni, kofu_tests::component(kofu_tests::guests::BROKEN_RELEASE)).await;
    let rollback = format!("/v1/municipalities/{}/kinds/tax-certificate/rollback", muni.code);
    let back = server.post(&rollback, Some(&muni.token), json!({})).await.expect(200).json();
    assert_eq!((back["hash"].as_str(), back["fee_yen"].as_i64()), (Some(tax), Some(400)));
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let issued = server.issue(&kiosk, &session, "tax-1", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(issued["fee_yen"], 400, "{issued}");
}

#[tokio::test]
async fn a_dry_run_report_accounts_for_a_failure_and_a_refusal() {
    let (server, muni, _) = world().await;
    let entries = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("suzuki-yoko"), true);
    server.import_entries(&muni, &entries).await.expect(200);
    let panic = server.upload(&muni, kofu_tests::component(kofu_tests::guests::PANIC)).await.expect(201).json();
    let report = dry_run_report(&server, &muni, panic["hash"].as_str().unwrap(), json!({ "resident_id": "T-1" })).await;
    assert_eq!(report["outcome"], "failed", "{report}");
    assert_eq!(report["failure"]["cause"], "panic", "{report}");
    assert!(!report["fields_read"].as_array().unwrap().is_empty(), "it read before it panicked: {report}");
    assert!(report["pdf_base64"].is_null() && report["fuel_used"].is_null());

    // A resident under a DV support measure: refused by the host.
    let mut restricted = kofu_tests::fixture("kobayashi-yui");
    restricted.residency.restricted = true;
    let entries = kofu_register::entries_from_fixture("T-2", "TH-2", &restricted, true);
    server.import_entries(&muni, &entries).await.expect(200);
    let listed = server.get(&format!("/v1/municipalities/{}/plugins", muni.code), Some(&muni.token)).await;
    let listed = listed.expect(200).json();
    let residence = listed["versions"].as_array().unwrap().iter().find(|v| v["kind"] == "residence-certificate");
    let residence = residence.unwrap()["hash"].as_str().unwrap().to_owned();
    let report = dry_run_report(&server, &muni, &residence, json!({ "resident_id": "T-2" })).await;
    assert_eq!(report["outcome"], "refused", "{report}");
    assert!(report["refusal"]["code"].is_string(), "{report}");
    assert!(report["pdf_base64"].is_null());
}

#[tokio::test]
async fn a_new_mayor_is_named_from_the_first_day_of_the_term_and_the_edit_is_audited() {
    let (server, muni, kiosk) = world().await;
    let record = format!("/v1/municipalities/{}", muni.code);
    let edit = |token: &str, body: Value| {
        let token = token.to_owned();
        let record = record.clone();
        let server = &server;
        async move { server.call(Method::PATCH, &record, Some(&token), Payload::Json(body)).await }
    };
    // Who may: the vendor and the municipality itself.
    let other = server.municipality("111112", "別市").await;
    edit(&other.token, json!({ "name": "x" })).await.expect_problem(403);
    edit(&kiosk, json!({ "name": "x" })).await.expect_problem(403);
    server.call(Method::PATCH, &record, None, Payload::Json(json!({ "name": "x" }))).await.expect_problem(401);
    // What it must say.
    let nothing = edit(&muni.token, json!({})).await.expect_problem(422);
    assert!(nothing["detail"].as_str().unwrap().contains("changes nothing"), "{nothing}");
    edit(&muni.token, json!({ "mayor_from": "2027-04-01" })).await.expect_problem(422);
    edit(&muni.token, json!({ "mayor_name": "" })).await.expect_problem(422);
    edit(&muni.token, json!({ "mayor_name": "新 次郎", "mayor_from": "2027-02-30" })).await.expect_problem(422);

    // An election: the successor from 2027-04-01, entered ahead.
    let updated =
        edit(&muni.token, json!({ "mayor_name": "新 次郎", "mayor_from": "2027-04-01" })).await.expect(200).json();
    assert_eq!(updated["mayor_name"], "見本 一郎", "still in office today");
    assert_eq!(updated["mayor_terms"], json!([{ "from": "2027-04-01", "title": "見本市長", "name": "新 次郎" }]));
    let entry = last_of(&audit(&server, &muni).await, "municipality-updated").clone();
    assert_eq!(entry["data"]["changed"], json!(["mayor"]));
    assert_eq!(entry["data"]["mayor_from"], "2027-04-01");
    assert_eq!(entry["data"]["by"]["role"], "municipality");
    assert_eq!(entry["detail"]["before"]["mayor"]["mayor_name"], "見本 一郎");

    // Certificates name the mayor of their issue date.
    let entries = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("yamada-taro"), true);
    server.import_entries(&muni, &entries).await.expect(200);
    let listed = server.get(&format!("{record}/plugins"), Some(&muni.token)).await.expect(200).json();
    let residence = listed["versions"].as_array().unwrap().iter().find(|v| v["kind"] == "residence-certificate");
    let residence = residence.unwrap()["hash"].as_str().unwrap().to_owned();
    let on = |date: &str| {
        let body = json!({ "resident_id": "T-1", "issue_date": date });
        let path = format!("{record}/plugins/{residence}/dry-run");
        let server = &server;
        let token = muni.token.clone();
        async move { pdf_text(&server.post(&path, Some(&token), body).await.expect(200).body) }
    };
    let eve = on("2027-03-31").await;
    let first_day = on("2027-04-01").await;
    assert!(eve.contains(&kofu_tests::normalize("見本 一郎")) && !eve.contains(&kofu_tests::normalize("新 次郎")));
    assert!(first_day.contains(&kofu_tests::normalize("新 次郎")), "{first_day}");

    // The vendor renames (a merger, a town becoming a city): in force now.
    let renamed = edit(ADMIN, json!({ "name": "見本新市" })).await.expect(200).json();
    assert_eq!(renamed["name"], "見本新市");
    let entry = last_of(&audit(&server, &muni).await, "municipality-updated").clone();
    assert_eq!(entry["data"]["by"]["role"], "vendor");
    let certifier = std::sync::Arc::clone(server.state.issuer().certifier());
    let report = kofu_issue::verify_audit(server.state.issuer().store(), &certifier, 10).await.unwrap();
    assert!(report.ok(), "{report:?}");
}
