//! The plugin author's path, as a new author walks it: `kofu plugin new`
//! makes a project that passes its cases with no edit; a change that breaks
//! a case fails `kofu plugin test` with a diff that says what and where;
//! once fixed, the component is uploaded to a running server, dry-run on the
//! test resident, activated and issued at a kiosk — the PDF the resident
//! gets is the author's.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;
use support::{KOFU, Running, http, json_of, start_demo as start, stop};

/// Built components and the SDK's compiled dependencies are shared with
/// kofu's own guest build, so the test compiles only the new crate.
fn guest_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/guests")
}

fn kofu(dir: &Path, args: &[&str]) -> Output {
    Command::new(KOFU)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", guest_target())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run kofu")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn a_new_plugin_is_tested_changed_fixed_and_issued_at_a_kiosk() {
    let home = tempfile::tempdir().expect("a directory for the project");
    let made = kofu(home.path(), &["plugin", "new", "my-residence"]);
    assert!(made.status.success(), "{}", text(&made));
    assert!(text(&made).contains("kofu plugin test"), "it says what to do next: {}", text(&made));
    let project = home.path().join("my-residence");
    for file in ["Cargo.toml", ".cargo/config.toml", "README.md", "src/lib.rs", "tests/issued.toml"] {
        assert!(project.join(file).is_file(), "{file}");
    }
    assert_eq!(std::fs::read_to_string(project.join("README.md")).unwrap().lines().count(), 5);
    let again = kofu(home.path(), &["plugin", "new", "my-residence"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // No edit: it builds and passes.
    let passed = kofu(&project, &["plugin", "test"]);
    let report = text(&passed);
    assert!(passed.status.success(), "{report}");
    assert!(report.contains("2 cases: 2 passed, 0 failed"), "{report}");
    assert!(report.contains("ok    issued") && report.contains("fuel "), "{report}");
    assert!(report.contains("refused (moved-out)"), "{report}");

    // The author wants a trial edition's title, and says so in the case first.
    let case = project.join("tests/issued.toml");
    let written = std::fs::read_to_string(&case).unwrap();
    std::fs::write(&case, written.replace("contains = [\"住民票の写し\"", "contains = [\"住民票の写し（試行版）\""))
        .unwrap();
    let failed = kofu(&project, &["plugin", "test"]);
    let report = text(&failed);
    assert_eq!(failed.status.code(), Some(1), "{report}");
    assert!(report.contains("FAIL  issued"), "{report}");
    assert!(report.contains("the document lacks    「住民票の写し（試行版）」"), "the diff names the text: {report}");
    assert!(
        report.contains("the document reads:") && report.contains("| 住民票の写し"),
        "and shows the page: {report}"
    );
    assert!(report.contains("1 passed, 1 failed"), "{report}");

    // The fix, in the source.
    let lib = project.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    assert!(source.contains("const TITLE: &str = \"住民票の写し\";"));
    std::fs::write(&lib, source.replace("\"住民票の写し\";", "\"住民票の写し（試行版）\";")).unwrap();
    let fixed = kofu(&project, &["plugin", "test"]);
    assert!(fixed.status.success(), "{}", text(&fixed));
    let wasm = guest_target().join("wasm32-wasip2/release/my_residence.wasm");
    let component = std::fs::read(&wasm).expect("the component");

    // At the municipality: upload, dry-run on the test resident, activate.
    let data = tempfile::tempdir().unwrap();
    let (mut server, base) = start(data.path());
    let credentials = support::demo_credentials(data.path());
    let code = credentials["municipality"]["code"].as_str().unwrap();
    let staff = credentials["municipality"]["token"].as_str().unwrap();
    let m = format!("/v1/municipalities/{code}");
    let hash = support::upload(&base, &credentials, &component);
    let dry_run = http(
        &base,
        "POST",
        &format!("{m}/plugins/{hash}/dry-run"),
        Some(staff),
        &[("Accept", "application/json")],
        Some(json!({ "resident_id": credentials["test_residents"][0] })),
    );
    assert_eq!(dry_run.0, 200, "{}", String::from_utf8_lossy(&dry_run.1));
    assert_eq!(json_of(&dry_run)["outcome"], "issued", "{}", json_of(&dry_run));
    let activated = http(&base, "POST", &format!("{m}/plugins/{hash}/activate"), Some(staff), &[], Some(json!({})));
    assert_eq!(activated.0, 200, "{}", String::from_utf8_lossy(&activated.1));

    // At a kiosk: the resident's certificate is the author's version.
    let (kiosk, session) = support::open_session(&base, &credentials);
    let kiosk = kiosk.as_str();
    let issued = http(
        &base,
        "POST",
        &format!("/v1/kiosk/sessions/{session}/issuances"),
        Some(kiosk),
        &[("Idempotency-Key", "author-1")],
        Some(json!({ "kind": "residence-certificate" })),
    );
    assert_eq!(issued.0, 201, "{}", String::from_utf8_lossy(&issued.1));
    let issuance = json_of(&issued);
    assert_eq!(issuance["outcome"], "issued", "{issuance}");
    let document = http(&base, "GET", issuance["document"].as_str().unwrap(), Some(kiosk), &[], None);
    assert_eq!(document.0, 200);
    let pages = kofu_render::page_texts(&document.1).expect("the PDF's text");
    assert!(pages[0].contains("住民票の写し（試行版）"), "{}", pages[0]);
    stop(&mut server);
}

#[test]
fn watch_rebuilds_on_a_change_and_writes_the_pdf_and_pages() {
    let home = tempfile::tempdir().expect("a directory for the project");
    let made = kofu(home.path(), &["plugin", "new", "watched-name", "--kind", "name-certificate"]);
    assert!(made.status.success(), "{}", text(&made));
    let project = home.path().join("watched-name");
    let mut watch = Running(
        Command::new(KOFU)
            .current_dir(&project)
            .args(["plugin", "watch"])
            .env("CARGO_TARGET_DIR", guest_target())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kofu plugin watch"),
    );
    let mut lines = BufReader::new(watch.0.stdout.take().expect("stdout")).lines();
    let mut round = |until: &str| -> String {
        let mut seen = String::new();
        for line in lines.by_ref() {
            let line = line.expect("a line");
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with(until) {
                return seen;
            }
        }
        panic!("watch stopped before {until:?}:\n{seen}");
    };
    let first = round("watching ");
    assert!(first.contains("2 cases: 2 passed, 0 failed"), "{first}");
    assert!(first.contains("wrote ") && first.contains("1 page image"), "{first}");
    assert!(first.contains("fuel ") && first.contains("the plugin may take 1000 ms"), "{first}");
    let pdf = project.join("out/issued.pdf");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    assert!(std::fs::read(project.join("out/issued-1.png")).unwrap().starts_with(b"\x89PNG"));

    let lib = project.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, source.replace(".paragraph(\"以下余白\")", ".paragraph(\"以下余白\").paragraph(\"改訂\")"))
        .unwrap();
    let second = round("watching ");
    assert!(second.contains("2 cases: 2 passed"), "{second}");
    let pages = kofu_render::page_texts(&std::fs::read(&pdf).unwrap()).unwrap();
    assert!(pages[0].contains("改訂"), "the PDF is the new build's: {}", pages[0]);
    drop(watch);
}
