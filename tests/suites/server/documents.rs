//! Issued documents are held by the host that issued them and re-rendered
//! from the recorded input anywhere else: delivered only when byte for byte
//! the recorded PDF, and never when the re-render differs.

use axum::http::Method;
use kofu_store::{Delivery, hex};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::{Payload, TestServer, pdf_text, world, world_with};

async fn rerenders(server: &TestServer, result: &str) -> usize {
    let metrics = server.get("/metrics", None).await.expect(200).text();
    let line = format!("kofu_document_rerenders_total{{result=\"{result}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).map_or(0, |n| n.parse().unwrap())
}

async fn events(server: &TestServer, code: &str, token: &str) -> Vec<String> {
    server.issuance_events(&crate::common::Muni { code: code.into(), token: token.into() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_host_delivers_the_recorded_pdf_by_rendering_it_again() {
    let (a, muni, kiosk) = world().await;
    let b = a.host().await;
    a.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = a.card(&muni, "R-1", "1234").await;
    let session = a.session(&kiosk, &holder).await;
    let issued = a
        .issue(&kiosk, &session, "k1", "residence-certificate", json!({ "include-household": true }))
        .await
        .expect(201)
        .json();
    assert_eq!(issued["outcome"], "issued", "{issued}");
    let (id, number) = (issued["id"].as_str().unwrap(), issued["number"].as_str().unwrap());
    let (held, bytes) = a.state.issuer().documents().usage();
    assert_eq!(held, 1, "the issuing host holds the document");
    assert!(bytes > 10_000, "{bytes}");
    assert_eq!(b.state.issuer().documents().usage(), (0, 0), "the other host does not");

    let document = b.document(&kiosk, &session, id).await;
    document.expect(200);
    let recorded = a.state.issuer().store().issuance(id).await.unwrap().unwrap();
    assert_eq!(Some(hex(&Sha256::digest(&document.body))), recorded.pdf_hash, "byte for byte the recorded PDF");
    assert!(pdf_text(&document.body).contains(number));
    assert_eq!(rerenders(&b, "identical").await, 1);
    assert_eq!(recorded.delivery, Delivery::Fetched);

    // The issuing host still holds the bytes, but the document left once.
    a.document(&kiosk, &session, id).await.expect_problem(410);
    assert_eq!(a.state.issuer().documents().usage(), (0, 0), "a host that learns the document left drops its bytes");
    assert_eq!(rerenders(&a, "identical").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_issuing_host_delivers_what_it_holds_and_drops_it_when_printed() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let mut ids = Vec::new();
    for key in ["k1", "k2"] {
        let issued = server.issue(&kiosk, &session, key, "tax-certificate", json!({})).await.expect(201).json();
        ids.push(issued["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(server.state.issuer().documents().usage().0, 2);
    let document = server.document(&kiosk, &session, &ids[0]).await;
    document.expect(200);
    let recorded = server.state.issuer().store().issuance(&ids[0]).await.unwrap().unwrap();
    assert_eq!(Some(hex(&Sha256::digest(&document.body))), recorded.pdf_hash);
    assert_eq!(server.state.issuer().documents().usage().0, 1, "fetched: dropped");
    // Printed without a fetch (the kiosk printed from its own copy): dropped too.
    let printed = format!("/v1/kiosk/sessions/{session}/issuances/{}/printed", ids[1]);
    server.call(Method::POST, &printed, Some(&kiosk), Payload::None).await.expect(200);
    assert_eq!(server.state.issuer().documents().usage(), (0, 0));
    assert_eq!(rerenders(&server, "identical").await, 0, "nothing was rendered again");
}

#[tokio::test]
async fn a_re_render_that_differs_from_the_record_is_not_delivered() {
    // Holding nothing, every fetch re-renders.
    let (server, muni, kiosk) = world_with(|c| c.document_memory_bytes = 0).await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let mut ids = Vec::new();
    for key in ["k1", "k2", "k3"] {
        let issued = server.issue(&kiosk, &session, key, "tax-certificate", json!({})).await.expect(201).json();
        ids.push(issued["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(server.state.issuer().documents().usage(), (0, 0));
    let pool = server.db.pool().await;
    let wrong_hash = format!("UPDATE issuances SET pdf_hash = '{}' WHERE id = '{}'", "0".repeat(64), ids[0]);
    sqlx::query(&wrong_hash).execute(&pool).await.unwrap();
    let old_build = format!("UPDATE issuances SET host_build = 'kofu 0.0.1 (old)' WHERE id = '{}'", ids[1]);
    sqlx::query(&old_build).execute(&pool).await.unwrap();
    pool.close().await;

    let refused = server.document(&kiosk, &session, &ids[0]).await.expect_problem(500);
    assert!(refused["detail"].as_str().unwrap().contains("Nothing was delivered"), "{refused}");
    let elsewhere = server.document(&kiosk, &session, &ids[1]).await.expect_problem(503);
    assert_eq!(elsewhere["type"], "urn:kofu:problem:document-elsewhere", "{elsewhere}");
    for id in &ids[..2] {
        let left = server.state.issuer().store().issuance(id).await.unwrap().unwrap();
        assert_eq!(left.delivery, Delivery::Ready, "nothing left: the document is still to be delivered");
    }
    assert_eq!(rerenders(&server, "differs").await, 1);
    assert_eq!(rerenders(&server, "other-build").await, 1);

    // The untouched one re-renders identical and is delivered.
    let document = server.document(&kiosk, &session, &ids[2]).await;
    document.expect(200);
    let recorded = server.state.issuer().store().issuance(&ids[2]).await.unwrap().unwrap();
    assert_eq!(Some(hex(&Sha256::digest(&document.body))), recorded.pdf_hash);
    assert_eq!(rerenders(&server, "identical").await, 1);
    assert_eq!(events(&server, &muni.code, &muni.token).await, ["issuance", "issuance", "issuance", "fetched"]);
}
