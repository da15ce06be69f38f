//! Two `kofu serve` processes on one fresh PostgreSQL database, as behind a
//! load balancer: whichever host a request reaches, a session, an
//! idempotency key, a card's PIN count, an activation and a document's one
//! delivery mean the same thing. Ends with `kofu audit verify --db` on the
//! database both hosts wrote.
//!
//! PostgreSQL only: this target is not part of a plain `cargo test` (it has
//! `test = false`); `scripts/test` runs it in its PostgreSQL pass.

mod support;

use std::path::Path;
use std::process::Command;

use kofu_test_db::{TEST_PIN_KEY, TestDb};
use serde_json::{Value, json};
use support::{KOFU, Running, http, http_bytes, json_of, stop};

const ADMIN: &str = "multihost-admin-token-0123456789";
const CODE: &str = "999997";

/// Start `kofu serve` on a free port with its own data directory.
fn start(data_dir: &Path, db: &str) -> (Running, String) {
    let mut command = Command::new(KOFU);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db, "--data-dir"])
        .arg(data_dir)
        .env("KOFU_PIN_KEY", TEST_PIN_KEY)
        .env("KOFU_ADMIN_TOKEN", ADMIN);
    let (child, base, _) = support::listening(&mut command);
    (child, base)
}

/// The problem type of a refusal, or the status of a success.
fn outcome(reply: &(u16, Vec<u8>)) -> String {
    if reply.0 < 300 {
        return reply.0.to_string();
    }
    json_of(reply)["type"].as_str().unwrap_or("?").trim_start_matches("urn:kofu:problem:").to_owned()
}

fn expect(reply: (u16, Vec<u8>), status: u16) -> Value {
    assert_eq!(reply.0, status, "{}", String::from_utf8_lossy(&reply.1));
    if reply.1.is_empty() { Value::Null } else { json_of(&reply) }
}

/// The JSON import form of a fixture's household, with `id` as its subject.
fn household(id: &str, stem: &str) -> Value {
    let entries = kofu_register::entries_from_fixture(id, &format!("H-{id}"), &kofu_tests::fixture(stem), false);
    let residents: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut value = serde_json::to_value(&entry.person).unwrap();
            let object = value.as_object_mut().unwrap();
            object.remove("household");
            object.insert("id".into(), json!(entry.id));
            object.insert("household".into(), json!(entry.household));
            object.insert("test".into(), json!(entry.test));
            value
        })
        .collect();
    json!({ "residents": residents })
}

#[test]
fn two_hosts_on_one_postgres_database() {
    let db = TestDb::postgres();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut host_a, a) = start(dir_a.path(), db.url());
    let (mut host_b, b) = start(dir_b.path(), db.url());
    let muni = |rest: &str| format!("/v1/municipalities/{CODE}{rest}");

    // The vendor sets up on A; the municipality works on B.
    let created = json!({ "code": CODE, "name": "見本市", "mayor_title": "見本市長", "mayor_name": "見本 一郎" });
    expect(http(&a, "POST", "/v1/municipalities", Some(ADMIN), &[], Some(created)), 201);
    let token = expect(http(&a, "POST", &muni("/tokens"), Some(ADMIN), &[], Some(json!({ "label": "t" }))), 201);
    let token = token["token"].as_str().unwrap().to_owned();
    let kiosk = expect(http(&a, "POST", "/v1/kiosks", Some(ADMIN), &[], Some(json!({ "label": "store 1" }))), 201);
    let kiosk = kiosk["token"].as_str().unwrap().to_owned();
    let mut working_tax = String::new();
    for path in [kofu_tests::guests::RESIDENCE, kofu_tests::guests::SEAL, kofu_tests::guests::TAX] {
        let wasm = kofu_tests::component(path);
        let uploaded = http_bytes(&b, "POST", &muni("/plugins"), Some(&token), &[], "application/wasm", &wasm);
        let hash = expect(uploaded, 201)["hash"].as_str().unwrap().to_owned();
        let body = Some(json!({ "override_reason": "multi-host test setup" }));
        expect(http(&b, "POST", &muni(&format!("/plugins/{hash}/activate")), Some(&token), &[], body), 200);
        working_tax = hash;
    }
    for (id, stem) in [("R-1", "yamada-taro"), ("R-2", "suzuki-yoko")] {
        expect(http(&b, "POST", &muni("/residents"), Some(&token), &[], Some(household(id, stem))), 200);
    }
    let card = |resident: &str, pin: &str| {
        let body = json!({ "resident_id": resident, "pin": pin });
        expect(http(&b, "POST", &muni("/cards"), Some(&token), &[], Some(body)), 201)["id"].as_str().unwrap().to_owned()
    };
    let (yamada, suzuki) = (card("R-1", "1234"), card("R-2", "4321"));

    // A card signs in on A; the session serves on B.
    let signed_in =
        http(&a, "POST", "/v1/kiosk/sessions", Some(&kiosk), &[], Some(json!({ "card_id": yamada, "pin": "1234" })));
    let session = expect(signed_in, 201)["session_id"].as_str().unwrap().to_owned();
    let issuances = format!("/v1/kiosk/sessions/{session}/issuances");
    expect(http(&b, "GET", &format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk), &[], None), 200);

    // An Idempotency-Key retried on B returns A's issuance.
    let request = json!({ "kind": "residence-certificate", "options": { "include-household": true } });
    let key = [("Idempotency-Key", "multihost-1")];
    let first = expect(http(&a, "POST", &issuances, Some(&kiosk), &key, Some(request.clone())), 201);
    let retried = expect(http(&b, "POST", &issuances, Some(&kiosk), &key, Some(request)), 201);
    assert_eq!(first["outcome"], "issued", "{first}");
    assert_eq!(first["id"], retried["id"]);
    assert_eq!(first["number"], retried["number"]);

    // Fetched once via A, the document is gone via B.
    let document = first["document"].as_str().unwrap().to_owned();
    let pdf = http(&a, "GET", &document, Some(&kiosk), &[], None);
    assert_eq!(pdf.0, 200);
    assert!(pdf.1.starts_with(b"%PDF-"));
    assert_eq!(outcome(&http(&b, "GET", &document, Some(&kiosk), &[], None)), "gone");
    let printed = format!("{issuances}/{}/printed", first["id"].as_str().unwrap());
    assert_eq!(expect(http(&b, "POST", &printed, Some(&kiosk), &[], None), 200)["delivery"], "printed");

    // Wrong PINs sent to both hosts at once lock the card after exactly three.
    let attempts: Vec<_> = (0..8)
        .map(|n| {
            let base = if n % 2 == 0 { a.clone() } else { b.clone() };
            let (kiosk, suzuki) = (kiosk.clone(), suzuki.clone());
            std::thread::spawn(move || {
                let wrong = json!({ "card_id": suzuki, "pin": "0000" });
                outcome(&http(&base, "POST", "/v1/kiosk/sessions", Some(&kiosk), &[], Some(wrong)))
            })
        })
        .collect();
    let mut outcomes: Vec<String> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    outcomes.sort();
    assert_eq!(outcomes, [&["card-locked"; 6][..], &["wrong-pin"; 2][..]].concat(), "{outcomes:?}");
    let right = json!({ "card_id": suzuki, "pin": "4321" });
    assert_eq!(outcome(&http(&a, "POST", "/v1/kiosk/sessions", Some(&kiosk), &[], Some(right))), "card-locked");
    let locked = expect(http(&b, "GET", &muni(&format!("/cards/{suzuki}")), Some(&token), &[], None), 200);
    assert_eq!(locked["failed_attempts"], 3);

    // A version activated on A serves B's next issuance; a rollback on B
    // serves A's.
    let tax = |base: &str, key: &str| {
        let body = json!({ "kind": "tax-certificate" });
        expect(http(base, "POST", &issuances, Some(&kiosk), &[("Idempotency-Key", key)], Some(body)), 201)
    };
    assert_eq!(tax(&b, "tax-1")["outcome"], "issued");
    let broken = kofu_tests::component(kofu_tests::guests::BROKEN_RELEASE);
    let broken = expect(http_bytes(&a, "POST", &muni("/plugins"), Some(&token), &[], "application/wasm", &broken), 201);
    let broken = broken["hash"].as_str().unwrap().to_owned();
    let body = Some(json!({ "override_reason": "a broken release, on purpose" }));
    expect(http(&a, "POST", &muni(&format!("/plugins/{broken}/activate")), Some(&token), &[], body), 200);
    let failed = tax(&b, "tax-2");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    let record = expect(
        http(&a, "GET", &muni(&format!("/issuances/{}", failed["id"].as_str().unwrap())), Some(&token), &[], None),
        200,
    );
    assert_eq!(record["plugin_hash"], broken.as_str());
    let rolled = expect(http(&b, "POST", &muni("/kinds/tax-certificate/rollback"), Some(&token), &[], None), 200);
    assert_eq!(rolled["hash"], working_tax.as_str());
    assert_eq!(tax(&a, "tax-3")["outcome"], "issued");

    stop(&mut host_a);
    stop(&mut host_b);
    let verify = Command::new(KOFU).args(["audit", "verify", "--db", db.url()]).output().unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{report}{}", String::from_utf8_lossy(&verify.stderr));
    // Four issuances and their deliveries, beside the plugin, register and
    // card changes of the setup, all in one verified chain.
    assert!(report.contains("verified") && report.contains("4 issuance record(s) cross-checked"), "{report}");
}

/// The misdelivery checker across three hosts of one database: every call
/// goes to the next host in turn, so one resident's sign-in, request, fetch
/// and confirmation each land on a different process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_across_three_hosts_finds_no_misdelivery() {
    use std::sync::Arc;

    use kofu_load::campaign::{audit_verify_db, shared_answers};
    use kofu_load::client::Client;
    use kofu_load::population::Population;
    use kofu_load::rng::Rng;
    use kofu_load::server::ServerProcess;
    use kofu_load::setup::provision;
    use kofu_load::{Live, RunOptions, run};

    let db = TestDb::postgres();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("data dir")).collect();
    let env = [("KOFU_DATABASE_URL", db.url()), ("KOFU_PIN_KEY", TEST_PIN_KEY)];
    let mut hosts: Vec<ServerProcess> = dirs
        .iter()
        .map(|dir| ServerProcess::start(Path::new(KOFU), dir.path(), ADMIN, &env).expect("start a host"))
        .collect();
    let bases = hosts.iter().map(ServerProcess::base_url).collect::<Vec<_>>().join(",");
    let bundled: Vec<Vec<u8>> = {
        use kofu_tests::guests;
        [guests::RESIDENCE, guests::SEAL, guests::TAX].iter().map(|p| kofu_tests::component(p)).collect()
    };
    let population = Population::generate(&mut Rng::new(101), 3, 1_500);
    let world =
        provision(Client::new(&bases).expect("client"), ADMIN, population, 64, &bundled).await.expect("provision");
    let options = RunOptions { issuances: 2_000, seed: 102, progress: true, ..RunOptions::default() };
    let mut report = run(world, options, Arc::new(Live::default())).await.expect("run");
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    assert!(report.clean(), "{}", report.render());
    assert!(shared_answers(&report).is_empty());
    for host in &mut hosts {
        host.stop().expect("graceful stop");
    }
    // Every key answered is one issuance in the database, the one told.
    let pool = db.pool().await;
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM issuances").fetch_one(&pool).await.expect("count issuances");
    assert_eq!(count as usize, report.ledger.len());
    for entry in &report.ledger {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM issuances WHERE idempotency_key = $1")
            .bind(&entry.key)
            .fetch_all(&pool)
            .await
            .expect("look up a key");
        assert_eq!(ids, vec![entry.issuance.clone()]);
    }
    let (verified, text) = audit_verify_db(Path::new(KOFU), db.url()).expect("audit verify");
    assert!(verified, "{text}");
}
