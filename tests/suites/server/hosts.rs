//! Several hosts on one database: every request may land on any host, and
//! requests for the same card, key or document may land on different hosts
//! at the same moment. On PostgreSQL (the scale-out backend) these race over
//! separate connections for real; on SQLite the hosts share the file.

use std::collections::BTreeMap;

use axum::http::Method;
use kofu_server::{Config, Server, StartError};
use serde_json::json;

use crate::common::{Payload, Reply, TestServer, world};

/// Run `request` on each host in `hosts` at once, in that order of hosts.
async fn at_once<F, Fut>(hosts: Vec<TestServer>, request: F) -> Vec<Reply>
where
    F: Fn(TestServer) -> Fut,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let tasks: Vec<_> = hosts.into_iter().map(|host| tokio::spawn(request(host))).collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    replies
}

fn problem_types(replies: &[Reply]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for reply in replies {
        let kind = if reply.status.is_success() {
            reply.status.as_str().to_owned()
        } else {
            reply.json()["type"].as_str().unwrap_or("?").trim_start_matches("urn:kofu:problem:").to_owned()
        };
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_opened_on_one_host_serves_on_another() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let session = a.session(&kiosk, &holder).await;
    b.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await.expect(200);
    let issued = b.issue(&kiosk, &session, "k1", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(issued["outcome"], "issued", "{issued}");
    let id = issued["id"].as_str().unwrap();
    // Fetched once on A: B answers that it is gone, and B records the print.
    a.document(&kiosk, &session, id).await.expect(200);
    let again = b.document(&kiosk, &session, id).await.expect_problem(410);
    assert!(again["detail"].as_str().unwrap().contains("already fetched"), "{again}");
    let printed = format!("/v1/kiosk/sessions/{session}/issuances/{id}/printed");
    assert_eq!(
        b.call(Method::POST, &printed, Some(&kiosk), Payload::None).await.expect(200).json()["delivery"],
        "printed"
    );
    // Closed on A, the session is closed on B.
    a.call(Method::DELETE, &format!("/v1/kiosk/sessions/{session}"), Some(&kiosk), Payload::None).await.expect(204);
    b.issue(&kiosk, &session, "k2", "tax-certificate", json!({})).await.expect_problem(410);
    assert_eq!(a.issuance_events(&muni).await, ["issuance", "fetched", "printed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_on_several_hosts_is_one_issuance() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let session = a.session(&kiosk, &holder).await;
    // A retry on B of a request A answered.
    let first = a.issue(&kiosk, &session, "retry", "tax-certificate", json!({})).await.expect(201).json();
    let retried = b.issue(&kiosk, &session, "retry", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(first["id"], retried["id"]);
    // The same request sent to both hosts at the same moment, four times each.
    let hosts = [a.clone(), b.clone()].into_iter().cycle().take(8).collect();
    let replies = at_once(hosts, |host| {
        let (kiosk, session) = (kiosk.clone(), session.clone());
        async move { host.issue(&kiosk, &session, "burst", "seal-registration-certificate", json!({})).await }
    })
    .await;
    let ids: std::collections::BTreeSet<String> =
        replies.iter().map(|r| r.expect(201).json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "every host answers with the one issuance: {ids:?}");
    assert_eq!(b.issuance_events(&muni).await, ["issuance", "issuance"], "one entry per issuance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_pins_split_across_hosts_lock_after_exactly_three() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let hosts = [a.clone(), b.clone()].into_iter().cycle().take(8).collect();
    let replies = at_once(hosts, |host| {
        let (kiosk, card) = (kiosk.clone(), holder.card.clone());
        async move { host.post("/v1/kiosk/sessions", Some(&kiosk), json!({ "card_id": card, "pin": "9999" })).await }
    })
    .await;
    let counts = problem_types(&replies);
    assert_eq!(counts, BTreeMap::from([("card-locked".into(), 6), ("wrong-pin".into(), 2)]), "{counts:?}");
    let mut left: Vec<i64> = replies.iter().filter_map(|r| r.json()["attempts_left"].as_i64()).collect();
    left.sort();
    assert_eq!(left, [1, 2], "each wrong PIN before the lock counted once");
    let card = a.get(&format!("/v1/municipalities/{}/cards/{}", muni.code, holder.card), Some(&muni.token)).await;
    assert_eq!(card.expect(200).json()["failed_attempts"], 3);
    let right = json!({ "card_id": holder.card, "pin": holder.pin });
    let locked = b.post("/v1/kiosk/sessions", Some(&kiosk), right).await.expect_problem(403);
    assert_eq!(locked["type"], "urn:kofu:problem:card-locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_activation_on_one_host_serves_the_next_issuance_on_another() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let session = a.session(&kiosk, &holder).await;
    // B has the working version loaded.
    let before = b.issue(&kiosk, &session, "k1", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(before["outcome"], "issued");
    // A activates a broken 2.0.0: B's very next issuance runs it.
    let broken = a.activate(&muni, kofu_tests::component(kofu_tests::guests::BROKEN_RELEASE)).await;
    let during = b.issue(&kiosk, &session, "k2", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(during["outcome"], "failed", "{during}");
    let record = a
        .get(
            &format!("/v1/municipalities/{}/issuances/{}", muni.code, during["id"].as_str().unwrap()),
            Some(&muni.token),
        )
        .await;
    assert_eq!(record.expect(200).json()["plugin_hash"], broken.as_str());
    // A rolls back: B is back on the working version at once.
    let rollback = format!("/v1/municipalities/{}/kinds/tax-certificate/rollback", muni.code);
    a.call(Method::POST, &rollback, Some(&muni.token), Payload::None).await.expect(200);
    let after = b.issue(&kiosk, &session, "k3", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(after["outcome"], "issued", "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_document_fetched_on_two_hosts_at_once_is_delivered_once() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let session = a.session(&kiosk, &holder).await;
    let issued = a.issue(&kiosk, &session, "k", "residence-certificate", json!({})).await.expect(201).json();
    let id = issued["id"].as_str().unwrap().to_owned();
    let hosts = [a.clone(), b.clone()].into_iter().cycle().take(6).collect();
    let replies = at_once(hosts, |host| {
        let (kiosk, session, id) = (kiosk.clone(), session.clone(), id.clone());
        async move { host.document(&kiosk, &session, &id).await }
    })
    .await;
    assert_eq!(problem_types(&replies), BTreeMap::from([("200".into(), 1), ("gone".into(), 5)]));
    let pdf = replies.iter().find(|r| r.status == 200).unwrap();
    assert!(crate::common::pdf_text(&pdf.body).contains(issued["number"].as_str().unwrap()));
    let certifier = std::sync::Arc::clone(a.state.issuer().certifier());
    let report = kofu_issue::verify_audit(b.state.issuer().store(), &certifier, 10).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(b.issuance_events(&muni).await, ["issuance", "fetched"], "the issuance and its one delivery");
}

#[tokio::test]
async fn every_host_of_a_database_needs_the_same_pin_key() {
    let (a, _muni, _kiosk) = world().await;
    let mut other = a.state.config().clone();
    other.pin_key = Some("ab".repeat(32));
    let refused = Server::start(other).await.err().expect("a host with another PIN key does not start");
    assert!(matches!(refused, StartError::PinKeyMismatch), "{refused}");
    assert!(refused.to_string().contains("KOFU_PIN_KEY"), "{refused}");

    // A database that hosts can share needs the key given explicitly: a key
    // file per host would differ. Refused before connecting.
    let dir = tempfile::tempdir().unwrap();
    let shared = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some("postgres://kofu:secret@127.0.0.1:1/kofu".into()),
        ..Config::default()
    };
    let refused = Server::start(shared).await.err().expect("no PIN key, no start");
    let message = refused.to_string();
    assert!(matches!(refused, StartError::PinKeyRequired { .. }), "{message}");
    assert!(message.contains("KOFU_PIN_KEY") && message.contains("every host"), "{message}");
    assert!(!message.contains("secret"), "the password stays out of messages: {message}");
    assert!(!dir.path().join("secrets").exists(), "no per-host key file was made");
}
