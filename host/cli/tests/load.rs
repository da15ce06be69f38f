//! The reliability campaigns (issue #4): `kofu serve` as a real process,
//! driven over HTTP by the load and misdelivery checker (`kofu-load`), with
//! every delivered PDF read back by pdftotext and checked against its
//! requester. Each campaign must end with zero misdeliveries.
//!
//! The campaigns share the machine's two cores, so they run one at a time.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kofu_load::campaign::{audit_verify, shared_answers, spawn_killer};
use kofu_load::client::Client;
use kofu_load::population::Population;
use kofu_load::rng::Rng;
use kofu_load::server::ServerProcess;
use kofu_load::setup::{World, provision};
use kofu_load::{Live, Report, RunOptions, run};
use sqlx::{Connection, Row, SqliteConnection};

const KOFU: &str = env!("CARGO_BIN_EXE_kofu");
const ADMIN: &str = "load-campaign-admin-token";

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn bundled() -> Vec<Vec<u8>> {
    use kofu_tests::guests;
    [guests::RESIDENCE, guests::SEAL, guests::TAX].iter().map(|p| kofu_tests::component(p)).collect()
}

fn start(dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(Path::new(KOFU), dir, ADMIN, env).expect("start kofu serve")
}

async fn world(base: &str, seed: u64, towns: usize, residents: usize, kiosks: usize) -> World {
    let population = Population::generate(&mut Rng::new(seed), towns, residents);
    provision(Client::new(base).expect("client"), ADMIN, population, kiosks, &bundled()).await.expect("provision")
}

fn options(issuances: u64, seed: u64) -> RunOptions {
    RunOptions { issuances, seed, progress: true, ..RunOptions::default() }
}

fn database(dir: &Path) -> String {
    format!("sqlite://{}?mode=ro", dir.join("kofu.db").display())
}

/// Every key the kiosks were answered for is one issuance in the database,
/// the one they were told; and the database holds no other.
async fn assert_ledger_matches_database(dir: &Path, report: &Report) {
    let mut db = SqliteConnection::connect(&database(dir)).await.expect("open the database");
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM issuances").fetch_one(&mut db).await.expect("count").get(0);
    assert_eq!(count as usize, report.ledger.len(), "issuances in the database vs keys answered");
    for entry in &report.ledger {
        let ids: Vec<String> = sqlx::query("SELECT id FROM issuances WHERE idempotency_key = $1")
            .bind(&entry.key)
            .fetch_all(&mut db)
            .await
            .expect("look up a key")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec![entry.issuance.clone()], "key {} of kiosk {}", entry.key, entry.kiosk);
    }
    assert!(shared_answers(report).is_empty(), "{:?}", shared_answers(report));
}

/// Each municipality's issuance list, paged through its API, holds exactly
/// the issuances kiosks were answered with, outcome for outcome.
async fn assert_municipality_lists_match(client: &Client, towns: &[(String, String)], report: &Report) {
    let mut listed = std::collections::BTreeMap::new();
    for (code, token) in towns {
        let mut cursor = String::new();
        loop {
            let path = format!("/v1/municipalities/{code}/issuances?limit=1000{cursor}");
            let page = client.call(reqwest::Method::GET, &path, Some(token), None, &[]).await.expect("list");
            assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
            let page = page.json().expect("json");
            for row in page["issuances"].as_array().expect("issuances") {
                let id = row["id"].as_str().expect("id").to_owned();
                assert!(listed.insert(id, row["outcome"].as_str().expect("outcome").to_owned()).is_none());
            }
            match page["next"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
    }
    let answered: std::collections::BTreeMap<String, String> =
        report.ledger.iter().map(|e| (e.issuance.clone(), e.outcome.clone())).collect();
    assert_eq!(listed.len(), answered.len(), "listed vs answered");
    assert!(listed == answered, "the municipalities' lists differ from what kiosks were answered");
}

fn assert_audit_verifies(dir: &Path) {
    let (ok, text) = audit_verify(Path::new(KOFU), dir).expect("run kofu audit verify");
    assert!(ok, "kofu audit verify found problems:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_issuances_from_256_kiosks_with_no_misdelivery() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("data dir");
    let mut server = start(dir.path(), &[]);
    let world = world(&server.base_url(), 41, 4, 5_000, 256).await;
    let towns: Vec<(String, String)> =
        world.population.towns.iter().map(|t| t.code.clone()).zip(world.town_tokens.iter().cloned()).collect();
    let client = world.client.clone();
    let mut report = run(world, options(5_000, 42), Arc::new(Live::default())).await.expect("run");
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    assert!(report.clean(), "{}", report.render());
    assert!(report.answered >= 5_000, "{}", report.answered);
    assert!(report.issued > 2_500 && report.delivered == report.issued, "{}", report.render());
    // Every refusal the rules give for a status was met, and matched.
    for code in ["moved-out", "deceased", "seal-not-registered", "seal-cancelled", "tax-unpaid", "no-record"] {
        assert!(report.refused.get(code).is_some_and(|n| *n > 0), "no {code} refusal: {:?}", report.refused);
    }
    assert!(report.probes > 0 && report.repeated_keys > 0);
    assert_municipality_lists_match(&client, &towns, &report).await;
    server.stop().expect("graceful stop");
    assert_ledger_matches_database(dir.path(), &report).await;
    assert_audit_verifies(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_kill_9s_during_load_lose_and_duplicate_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("data dir");
    let server = start(dir.path(), &[]);
    let base = server.base_url();
    let world = world(&base, 51, 3, 1_500, 64).await;
    let server = Arc::new(Mutex::new(server));
    let live = Arc::new(Live::default());
    let total = 3_000;
    let killer = spawn_killer(Arc::clone(&server), Arc::clone(&live), total, 10);
    let mut report = run(world, options(total, 52), live).await.expect("run");
    assert_eq!(killer.await.expect("killer").expect("kills"), 10);
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    // The kills showed: requests were retried (no answer, then the same key).
    assert!(report.retries.values().sum::<u64>() > 0, "{}", report.render());
    assert!(report.clean(), "{}", report.render());
    server.lock().expect("server").stop().expect("graceful stop");
    assert_ledger_matches_database(dir.path(), &report).await;
    assert_audit_verifies(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_activated_under_load_fail_alone() {
    use kofu_tests::guests;
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("data dir");
    let mut server = start(dir.path(), &[]);
    let world = world(&server.base_url(), 61, 3, 1_500, 64).await;
    let hostile = [guests::INFINITE_LOOP, guests::MEMORY_BOMB, guests::PANIC, guests::BROKEN_RELEASE]
        .iter()
        .map(|p| kofu_tests::component(p))
        .collect();
    let options = RunOptions { hostile, hostile_at: 0.25, ..options(3_000, 62) };
    let mut report = run(world, options, Arc::new(Live::default())).await.expect("run");
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    assert!(report.clean(), "{}", report.render());
    assert!(report.hostile_failures > 0, "no hostile plugin was ever requested: {}", report.render());
    let failed: u64 = report.failed.values().sum();
    assert_eq!(failed, report.hostile_failures, "a failure outside the hostile plugins: {:?}", report.failed);
    // Every municipality kept issuing after the activation, the hostile one
    // included (its other kinds).
    assert!(report.issued_after_hostile.iter().all(|n| *n > 0), "{:?}", report.issued_after_hostile);
    server.stop().expect("graceful stop");
    assert_ledger_matches_database(dir.path(), &report).await;
    assert_audit_verifies(dir.path());
}

/// Scrape one counter's total from /metrics.
async fn metric(base: &str, name: &str) -> f64 {
    let client = Client::new(base).expect("client");
    let answer = client.call(reqwest::Method::GET, "/metrics", None, None, &[]).await.expect("metrics");
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    kofu_load::metrics::total(&text, name).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_storage_writes_abort_whole_issuances() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("data dir");
    let mut server = start(dir.path(), &[]);
    let base = server.base_url();
    let world = world(&base, 71, 2, 600, 32).await;
    // A fault in the storage layer itself: one audit append in four fails,
    // inside the transaction that records an issuance.
    let url = format!("sqlite://{}", dir.path().join("kofu.db").display());
    let mut db = SqliteConnection::connect(&url).await.expect("open the database");
    sqlx::query(
        "CREATE TRIGGER injected_storage_fault BEFORE INSERT ON audit_log WHEN abs(random()) % 4 = 0 \
         BEGIN SELECT RAISE(ABORT, 'injected storage fault'); END",
    )
    .execute(&mut db)
    .await
    .expect("inject the fault");
    let mut report = run(world, options(1_000, 72), Arc::new(Live::default())).await.expect("run");
    sqlx::query("DROP TRIGGER injected_storage_fault").execute(&mut db).await.expect("remove the fault");
    db.close().await.expect("close");
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    // Failed writes were answered 503 and retried with the same key...
    let storage_retries: u64 = report.retries.iter().filter(|(cause, _)| cause.contains("503")).map(|(_, n)| *n).sum();
    assert!(storage_retries > 0, "the fault never showed: {}", report.render());
    // ...each retry got one whole answer, and nothing half-recorded remains.
    assert!(report.clean(), "{}", report.render());
    assert!(metric(&base, "kofu_issuance_aborts_total").await > 0.0, "aborts are counted");
    server.stop().expect("graceful stop");
    assert_ledger_matches_database(dir.path(), &report).await;
    assert_audit_verifies(dir.path());
}

/// A small tmpfs mounted over `dir` (root only; CI runs as root).
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root: the full-disk campaign cannot run");
        Mount(dir.to_owned())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let outer = tempfile::tempdir().expect("mount point");
    let _mount = Mount::tmpfs(outer.path(), "48m");
    let dir = outer.path().join("data");
    std::fs::create_dir(&dir).expect("data dir");
    let mut server = start(&dir, &[]);
    let base = server.base_url();
    let first = world(&base, 81, 2, 300, 16).await;
    // Fill the disk but a little.
    let filler = outer.path().join("filler");
    let fill = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("dd if=/dev/zero of={} bs=64k 2>/dev/null; true", filler.display()))
        .status()
        .expect("fill the disk");
    assert!(fill.success());
    let full = RunOptions { retry_window: Duration::from_secs(2), ..options(400, 82) };
    let mut report = run(first, full, Arc::new(Live::default())).await.expect("run");
    println!("{}", report.render());
    assert_eq!(report.misdeliveries, 0);
    assert!(report.probe_leaks == 0 && report.key_mismatches == 0 && report.wrong_outcomes == 0);
    // Calls failed, and only as 503: the server said "unavailable", never 500.
    assert!(!report.errors.is_empty(), "the full disk never showed: {}", report.render());
    for cause in report.errors.keys() {
        assert!(cause.contains("503"), "not a 503: {cause}");
    }
    // Space again: the same server serves again, with nothing lost.
    std::fs::remove_file(&filler).expect("free the disk");
    let second = world(&base, 83, 1, 100, 8).await;
    let mut again = run(second, options(200, 84), Arc::new(Live::default())).await.expect("run");
    println!("{}", again.render());
    assert!(again.clean(), "{}", again.render());
    server.stop().expect("graceful stop");
    let mut db = SqliteConnection::connect(&database(&dir)).await.expect("open the database");
    let check: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut db).await.expect("check").get(0);
    assert_eq!(check, "ok");
    assert_audit_verifies(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_answers_503_and_writes_nowhere() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("data dir");
    let server = start(dir.path(), &[]);
    let base = server.base_url();
    let world = world(&base, 91, 1, 50, 4).await;
    for file in ["kofu.db", "kofu.db-wal", "kofu.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    let lost = RunOptions { retry_window: Duration::from_secs(1), ..options(20, 92) };
    let mut report = run(world, lost, Arc::new(Live::default())).await.expect("run");
    println!("{}", report.render());
    assert_eq!(report.answered, 0, "an issuance was answered with its database gone");
    assert!(!report.errors.is_empty());
    for cause in report.errors.keys() {
        assert!(cause.contains("503"), "not a 503: {cause}");
    }
    let ready = Client::new(&base).expect("client").call(reqwest::Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(ready.expect("readyz").status, 503);
    assert!(!dir.path().join("kofu.db").exists(), "a new empty database was created in the lost one's place");
}
