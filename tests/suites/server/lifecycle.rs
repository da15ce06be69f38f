//! Register changes, plugin versions and rollback, dry-runs, failed
//! plugins, and the audit chain.

use axum::http::Method;
use serde_json::{Value, json};

use kofu_test_db::Backend;

use crate::common::{Payload, world};

#[tokio::test]
async fn a_status_change_between_two_requests_changes_the_outcome() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let first = server.issue(&kiosk, &session, "k1", "seal-registration-certificate", json!({})).await;
    assert_eq!(first.expect(201).json()["outcome"], "issued");

    let change = server
        .call(
            Method::PATCH,
            &format!("/v1/municipalities/{}/residents/R-1", muni.code),
            Some(&muni.token),
            Payload::Json(json!({ "seal_state": "cancelled" })),
        )
        .await;
    assert_eq!(change.expect(200).json()["record"]["seal"]["state"], "cancelled");
    let second = server.issue(&kiosk, &session, "k2", "seal-registration-certificate", json!({})).await;
    let second = second.expect(201).json();
    assert_eq!(second["outcome"], "refused", "{second}");
    assert_eq!(second["refusal"]["code"], "seal-cancelled");

    // Moving out refuses every kind from the next request on.
    server
        .call(
            Method::PATCH,
            &format!("/v1/municipalities/{}/residents/R-1", muni.code),
            Some(&muni.token),
            Payload::Json(json!({ "residency": { "state": "moved-out", "since": "2026-11-01" } })),
        )
        .await
        .expect(200);
    let third = server.issue(&kiosk, &session, "k3", "residence-certificate", json!({})).await.expect(201).json();
    assert_eq!(third["refusal"]["code"], "moved-out", "{third}");
}

#[tokio::test]
async fn a_rollback_takes_effect_for_the_next_issuance() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let plugins = format!("/v1/municipalities/{}/plugins", muni.code);
    let before = server.get(&plugins, Some(&muni.token)).await.expect(200).json();
    let v1 = before["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "tax-certificate")
        .map(|v| v["hash"].as_str().unwrap().to_owned())
        .unwrap();

    // A faulty 2.0.0 is activated: its issuances fail closed.
    let broken = server.activate(&muni, kofu_tests::component(kofu_tests::guests::BROKEN_RELEASE)).await;
    let failed = server.issue(&kiosk, &session, "k1", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["delivery"], "none");
    assert!(failed["document"].is_null());
    assert!(failed["failure"].as_str().unwrap().contains("nothing was charged"));
    // The municipality sees why, with the plugin's panic message.
    let id = failed["id"].as_str().unwrap();
    let record = server.get(&format!("/v1/municipalities/{}/issuances/{id}", muni.code), Some(&muni.token)).await;
    let record = record.expect(200).json();
    assert_eq!(record["reason_code"], "panic");
    assert!(record["reason"].as_str().unwrap().contains("template bug in release 2.0.0"), "{record}");
    assert_eq!(record["plugin_hash"], broken.as_str());
    server.document(&kiosk, &session, id).await.expect_problem(404);

    // Roll back: the next issuance uses 1.0.0 again.
    let rollback = server
        .post(&format!("/v1/municipalities/{}/kinds/tax-certificate/rollback", muni.code), Some(&muni.token), json!({}))
        .await;
    let rollback = rollback.expect(200).json();
    assert_eq!(rollback["hash"], v1.as_str());
    assert_eq!(rollback["action"], "rollback");
    let issued = server.issue(&kiosk, &session, "k2", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(issued["outcome"], "issued", "{issued}");
    let record = server
        .get(
            &format!("/v1/municipalities/{}/issuances/{}", muni.code, issued["id"].as_str().unwrap()),
            Some(&muni.token),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(record["plugin_hash"], v1.as_str());

    // The history shows who did what, newest first.
    let after = server.get(&plugins, Some(&muni.token)).await.expect(200).json();
    let actions: Vec<&str> =
        after["activations"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    // The test setup activates by override (lifecycle tests of the
    // dry-run rule are below).
    assert_eq!(actions, ["rollback", "override", "override", "override", "override"]);
    assert!(after["activations"][0]["actor"].as_str().unwrap().contains("token"));
    let versions = after["versions"].as_array().unwrap();
    assert_eq!(versions.iter().filter(|v| v["active"] == true).count(), 3);
    assert!(versions.iter().any(|v| v["version"] == "2.0.0" && v["active"] == false));
}

#[tokio::test]
async fn versions_are_immutable_and_uploads_idempotent() {
    let (server, muni, _) = world().await;
    // The same bytes again: the same version, nothing new.
    let again = server.upload(&muni, crate::common::kofu_bundled_components().remove(0)).await;
    assert_eq!(again.expect(200).json()["version"], "1.0.0");
    let listed = server.get(&format!("/v1/municipalities/{}/plugins", muni.code), Some(&muni.token)).await;
    assert_eq!(listed.expect(200).json()["versions"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn dry_runs_use_test_residents_or_supplied_records_only() {
    let (server, muni, _) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let test_entries = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("suzuki-yoko"), true);
    server.import_entries(&muni, &test_entries).await.expect(200);
    let plugins = server.get(&format!("/v1/municipalities/{}/plugins", muni.code), Some(&muni.token)).await.json();
    let residence = plugins["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "residence-certificate")
        .map(|v| v["hash"].as_str().unwrap().to_owned())
        .unwrap();
    let dry_run = format!("/v1/municipalities/{}/plugins/{residence}/dry-run", muni.code);

    let pdf = server
        .post(&dry_run, Some(&muni.token), json!({ "resident_id": "T-1", "options": { "include-household": true } }))
        .await;
    pdf.expect(200);
    assert_eq!(pdf.content_type, "application/pdf");
    let text = crate::common::pdf_text(&pdf.body);
    assert!(text.contains(&kofu_tests::normalize("見本（プレビュー）")) || text.contains("見本"), "no preview marker");
    assert!(text.contains(&kofu_tests::normalize(&kofu_tests::fixture("suzuki-yoko").name)));

    // A real resident's record is never used for a dry-run.
    server.post(&dry_run, Some(&muni.token), json!({ "resident_id": "R-1" })).await.expect_problem(403);
    // A supplied record works too.
    let supplied = serde_json::to_value(kofu_tests::fixture("nakamura-kenta")).unwrap();
    server.post(&dry_run, Some(&muni.token), json!({ "resident": supplied })).await.expect(200);
    // A refusal comes back as a problem with the refusal.
    let moved = serde_json::to_value(kofu_tests::fixture("takahashi-jiro")).unwrap();
    let refused = server.post(&dry_run, Some(&muni.token), json!({ "resident": moved })).await.expect_problem(422);
    assert_eq!(refused["refusal"]["code"], "moved-out");
    // Dry-runs are not issuances: the audit log has none, only the record
    // of the dry-run against the test resident.
    assert!(server.issuance_events(&muni).await.is_empty());
    let audit = server.get(&format!("/v1/municipalities/{}/audit", muni.code), Some(&muni.token)).await.json();
    let dry_runs: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["event"] == "plugin-dry-run").collect();
    assert_eq!(dry_runs.len(), 1, "{audit}");
    assert_eq!(dry_runs[0]["data"]["resident"], "T-1");
}

#[tokio::test]
async fn audit_verify_passes_on_a_clean_log_and_fails_on_a_tampered_one() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    server.import_fixture(&muni, "R-2", "ito-misaki").await;
    let yamada = server.card(&muni, "R-1", "1234").await;
    let ito = server.card(&muni, "R-2", "5678").await;
    let requests =
        [(&yamada, "residence-certificate"), (&ito, "seal-registration-certificate"), (&yamada, "tax-certificate")];
    for (n, (holder, kind)) in requests.into_iter().enumerate() {
        let session = server.session(&kiosk, holder).await;
        server.issue(&kiosk, &session, &format!("key-{n}"), kind, json!({})).await.expect(201);
    }
    let certifier = std::sync::Arc::clone(server.state.issuer().certifier());
    let clean = kofu_issue::verify_audit(server.state.issuer().store(), &certifier, 100).await.unwrap();
    assert!(clean.ok(), "{clean:?}");
    assert_eq!(clean.issuances_checked, 3);
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    let vendor = server.get("/v1/audit?limit=1000", Some(crate::common::ADMIN)).await.expect(200).json();
    let entries = |page: &serde_json::Value| page["entries"].as_array().unwrap().len() as u64;
    assert_eq!(clean.chain.entries, entries(&audit.expect(200).json()) + entries(&vendor));
    assert_eq!(clean.rerendered, 2, "the two issued documents are re-rendered");

    // Someone with write access to the database rewrites history.
    let pool = server.db.pool().await;
    // The refused issuance's entry, made to read as issued.
    let refused = audit_seq_of_outcome(&server, &muni, "refused").await;
    let rewrite = format!(
        "UPDATE audit_log SET entry = replace(entry, '\"refused\"', '\"issued\"') WHERE municipality = '{}' AND seq = {refused}",
        muni.code
    );
    sqlx::query(&rewrite).execute(&pool).await.expect_err("the database refuses to change an audit entry");
    let drop_trigger = match server.db.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::raw_sql(drop_trigger).execute(&pool).await.unwrap();
    sqlx::query(&rewrite).execute(&pool).await.unwrap();
    pool.close().await;
    let tampered = kofu_issue::verify_audit(server.state.issuer().store(), &certifier, 100).await.unwrap();
    assert!(!tampered.ok());
    assert!(
        tampered.chain.problems.iter().any(|p| p.contains(&format!("entry {refused}:")) && p.contains("altered")),
        "{tampered:?}"
    );
}

#[tokio::test]
async fn compiled_plugins_are_stored_and_reused_only_with_a_valid_mac() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let pool = server.db.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM compiled_plugins").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 3, "every uploaded version is stored precompiled");

    // Corrupt every artifact: a host must not run them, and still serves by
    // compiling the component.
    let corrupt = match server.db.backend() {
        Backend::Sqlite => "UPDATE compiled_plugins SET artifact = CAST(artifact || X'00' AS BLOB)",
        Backend::Postgres => "UPDATE compiled_plugins SET artifact = artifact || '\\x00'::bytea",
    };
    sqlx::query(corrupt).execute(&pool).await.unwrap();
    pool.close().await;
    let host = server.host().await;
    let session = host.session(&kiosk, &holder).await;
    let issued = host.issue(&kiosk, &session, "k", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(issued["outcome"], "issued", "{issued}");
}

/// The seq of the municipality's issuance entry with `outcome`.
async fn audit_seq_of_outcome(server: &crate::common::TestServer, muni: &crate::common::Muni, outcome: &str) -> i64 {
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    let audit = audit.expect(200).json();
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "issuance" && e["data"]["outcome"] == outcome)
        .unwrap_or_else(|| panic!("no {outcome} issuance in {audit}"))
        .clone();
    entry["seq"].as_i64().unwrap()
}
