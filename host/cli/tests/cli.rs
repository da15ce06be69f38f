//! The `kofu` binary as a plugin author uses it: `plugin check`,
//! `plugin render` and `demo`, with their exit codes and messages.

use std::path::Path;
use std::process::{Command, Output};

use kofu_tests::{fixtures_dir, guests, normalize, pdf_text};

fn kofu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kofu")).args(args).output().expect("run kofu")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `kofu plugin render PLUGIN --resident RESIDENT [EXTRA...] --out OUT`.
fn render(plugin: &str, resident: &str, extra: &[&str], out: &Path) -> Output {
    let mut args = vec!["plugin", "render", plugin, "--resident", resident];
    args.extend_from_slice(extra);
    args.extend(["--out", path(out)]);
    kofu(&args)
}

fn resident(stem: &str) -> String {
    fixtures_dir().join(format!("{stem}.json")).display().to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn check_prints_the_manifest() {
    let output = kofu(&["plugin", "check", guests::RESIDENCE]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in
        ["residence-certificate", "1.0.0", "住民票の写し", "--option include-household=<true|false>", "sha256:"]
            .into_iter()
            .chain(["contract: kofu:certificate@0.2.0", "pages:    at most 10 (declared by the manifest)"])
    {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let json = kofu(&["plugin", "check", "--json", guests::TAX]);
    assert!(json.status.success());
    assert!(stdout(&json).contains("\"kind\": \"tax-certificate\""), "{}", stdout(&json));
    assert!(stdout(&json).contains("\"max_pages\": 2"), "{}", stdout(&json));
    // A plugin of the published 0.1.0 contract still checks, with the
    // host's page limit.
    let old = kofu(&["plugin", "check", guests::CONTRACT_V0_1]);
    assert!(old.status.success(), "{}", stderr(&old));
    let text = stdout(&old);
    assert!(text.contains("contract: kofu:certificate@0.1.0"), "{text}");
    assert!(text.contains("pages:    at most 20 (the host's limit"), "{text}");
}

#[test]
fn check_rejects_a_component_for_another_world() {
    let output = kofu(&["plugin", "check", guests::OTHER_WORLD]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("does not implement the kofu:certificate/certificate world"), "{text}");
    assert!(text.contains("greet"), "{text}");
}

#[test]
fn check_names_forbidden_imports_and_missing_files() {
    let output = kofu(&["plugin", "check", guests::FORBIDDEN_IMPORT]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("wasi:sockets/"), "{}", stderr(&output));

    let output = kofu(&["plugin", "check", "/nonexistent/plugin.wasm"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read /nonexistent/plugin.wasm"), "{}", stderr(&output));
}

#[test]
fn render_writes_a_readable_deterministic_pdf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.pdf"), dir.path().join("b.pdf"));
    let yamada = resident("yamada-taro");
    for out in [&a, &b] {
        let output =
            render(guests::RESIDENCE, &yamada, &["--option", "include-household=true", "--date", "2025-11-21"], out);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("verification code"), "{}", stdout(&output));
        assert!(stderr(&output).contains("plugin log [info]"), "plugin logs are shown: {}", stderr(&output));
    }
    let (pdf_a, pdf_b) = (std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert_eq!(pdf_a, pdf_b, "two previews of the same input differ");
    let text = normalize(&pdf_text(&pdf_a, None));
    for name in ["山田太郎", "山田花子", "山田一郎", "山田さくら", "見本市桜町一丁目2番3号", "令和7年11月21日"]
    {
        assert!(text.contains(name), "{name} missing");
    }
    assert!(text.contains(&normalize(kofu_certify::PREVIEW_ISSUANCE_NUMBER)));
}

#[test]
fn render_with_an_issuance_number_is_not_a_preview() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("real.pdf");
    let output =
        render(guests::SEAL, &resident("yamada-taro"), &["--issuance", "2025-000123", "--date", "2025-11-21"], &out);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = normalize(&pdf_text(&std::fs::read(&out).expect("pdf"), None));
    assert!(text.contains("発行番号2025-000123"), "{text}");
    assert!(!text.contains(&normalize("見本（プレビュー）")));
}

#[test]
fn refusal_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("refused.pdf");
    let output = render(guests::RESIDENCE, &resident("takahashi-jiro"), &[], &out);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stdout(&output).contains("refused (moved-out)"), "{}", stdout(&output));
    assert!(!out.exists());
}

#[test]
fn plugin_failure_explains_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("loop.pdf");
    let output = render(guests::INFINITE_LOOP, &resident("yamada-taro"), &[], &out);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("plugin hostile-infinite-loop 0.1.0"), "{text}");
    assert!(text.contains("instruction budget"), "{text}");
    assert!(!out.exists());
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.pdf");
    let yamada = resident("yamada-taro");

    let output = render(guests::RESIDENCE, &yamada, &["--option", "colour=red"], &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown option `colour`"), "{}", stderr(&output));
    assert!(stderr(&output).contains("`include-household`"), "{}", stderr(&output));

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"name": "見本 花子", "favourite_colour": "red"}"#).expect("write");
    let output = render(guests::RESIDENCE, path(&broken), &[], &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a valid resident"), "{}", stderr(&output));

    let output = render(guests::RESIDENCE, &yamada, &["--date", "2025-02-30"], &out);
    assert_eq!(output.status.code(), Some(2), "clap reports usage errors with 2");
    assert!(stderr(&output).contains("YYYY-MM-DD"), "{}", stderr(&output));
    assert!(!out.exists());
}

#[test]
fn demo_renders_the_demo_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = kofu(&["demo", "--out-dir", path(dir.path())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let pdf = std::fs::read(dir.path().join("residence-yamada-taro.pdf")).expect("demo pdf");
    assert!(normalize(&pdf_text(&pdf, None)).contains("山田太郎"));
    assert!(stdout(&output).contains("refused"), "the demo shows refusals too");
}

#[test]
fn render_refuses_a_misleading_certificate_with_the_hosts_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("forged.pdf");
    let register = fixtures_dir().display().to_string();
    let cases = [
        ("footer", "stamp-imitation", "発行番号"),
        ("other-person", "foreign-personal-data", "did not hand"),
        ("page-bomb", "too-many-pages", "20 pages"),
        ("no-glyph", "not-printable", "U+1F600"),
    ];
    for (attack, code, why) in cases {
        let option = format!("attack={attack}");
        let output =
            render(guests::FORGER, &resident("yamada-taro"), &["--option", &option, "--register", &register], &out);
        assert_eq!(output.status.code(), Some(3), "{attack}: {}{}", stdout(&output), stderr(&output));
        let text = stdout(&output);
        assert!(text.contains(&format!("refused ({code})")), "{attack}: {text}");
        assert!(text.contains("refused by the host") && text.contains(why), "{attack}: {text}");
        assert!(!out.exists(), "{attack}: no PDF may be written");
    }
    // A resident under a support measure: the host's refusal, whatever the plugin does.
    let output = render(guests::FORGER, &resident("kobayashi-yui"), &["--option", "attack=skip-checks"], &out);
    assert!(stdout(&output).contains("refused (access-restricted)"), "{}", stdout(&output));
}

#[test]
fn untrusted_text_is_printed_escaped() {
    let output = kofu(&["plugin", "check", guests::DECEPTIVE_MANIFEST]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("U+001B") && text.contains("\\u{001B}"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202E}'), "raw control text reached the terminal: {text:?}");
}

#[test]
fn export_writes_a_bundled_plugin_that_checks() {
    let listed = kofu(&["plugin", "export"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let names: Vec<String> = stdout(&listed).lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect();
    assert_eq!(names, ["residence", "seal", "tax"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tax.wasm");
    let exported = kofu(&["plugin", "export", "tax", "-o", path(&out)]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let hash = stdout(&listed).lines().find(|l| l.starts_with("tax\t")).unwrap().split('\t').nth(1).unwrap().to_owned();
    assert!(stdout(&exported).contains(&hash), "{}", stdout(&exported));
    let check = kofu(&["plugin", "check", path(&out)]);
    assert!(check.status.success() && stdout(&check).contains("kind:     tax-certificate"), "{}", stdout(&check));
    let unknown = kofu(&["plugin", "export", "passport"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no bundled plugin `passport`") && stderr(&unknown).contains("residence"));
}

#[test]
fn fixture_writes_a_generated_resident_a_plugin_renders() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated.json");
    let args = ["plugin", "fixture", "--seed", "5", "--members", "3", "--seal", "active", "--gaiji", "-o", path(&file)];
    let written = kofu(&args);
    assert!(written.status.success(), "{}", stderr(&written));
    let text = std::fs::read_to_string(&file).unwrap();
    let generated = kofu_model::Resident::from_json(&text).expect("a valid resident");
    assert_eq!(generated.household.len(), 2);
    assert!(generated.seal.is_some());
    let again = kofu(&["plugin", "fixture", "--seed", "5", "--members", "3", "--seal", "active", "--gaiji"]);
    assert_eq!(stdout(&again), text, "the same seed and options give the same resident");

    let out = dir.path().join("generated.pdf");
    let rendered = render(guests::RESIDENCE, path(&file), &["--option", "include-household=true"], &out);
    assert!(rendered.status.success(), "{}{}", stdout(&rendered), stderr(&rendered));
    let pdf = normalize(&pdf_text(&std::fs::read(&out).unwrap(), None));
    assert!(pdf.contains(&normalize(&generated.name)), "{pdf}");

    let refused = kofu(&["plugin", "fixture", "--members", "0"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}
