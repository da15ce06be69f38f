//! The plugin walkthrough of docs/PLUGINS.md, run as written: its Cargo.toml
//! and lib.rs are built into a component at the path the guide names and
//! previewed with `kofu`. If the SDK or the CLI drifts from the guide, this
//! fails.

use std::path::Path;
use std::process::Command;

fn code_blocks(markdown: &str, language: &str) -> Vec<String> {
    let fence = format!("```{language}\n");
    markdown.split(&fence).skip(1).filter_map(|rest| rest.split("```").next().map(str::to_owned)).collect()
}

#[test]
fn plugin_guide_walkthrough_builds_and_previews() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("docs/PLUGINS.md")).expect("docs/PLUGINS.md");
    let manifest = code_blocks(&guide, "toml").into_iter().next().expect("a toml block");
    let source = code_blocks(&guide, "rust").into_iter().next().expect("a rust block");
    let commands = code_blocks(&guide, "sh").into_iter().next().expect("an sh block");
    assert!(
        commands.contains("--target-dir target/guests -p name-certificate")
            && commands.contains("WASM=target/guests/wasm32-wasip2/release/name_certificate.wasm"),
        "{commands}"
    );
    assert!(manifest.contains("kofu-plugin-sdk = { path = \"../sdk\" }"), "{manifest}");

    // The crate lives outside the workspace here, so point it at the SDK and
    // make it a workspace of its own.
    let sdk = root.join("plugins/sdk").canonicalize().expect("sdk path");
    let manifest =
        manifest.replace("path = \"../sdk\"", &format!("path = {:?}", sdk.display().to_string())) + "\n[workspace]\n";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::write(dir.path().join("src/lib.rs"), source).expect("lib.rs");

    let target_dir = root.join("target/guests");
    let build = Command::new(env!("CARGO"))
        .current_dir(dir.path())
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo build");
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let wasm = target_dir.join("wasm32-wasip2/release/name_certificate.wasm");

    let kofu = env!("CARGO_BIN_EXE_kofu");
    let check = Command::new(kofu).args(["plugin", "check"]).arg(&wasm).output().expect("check");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("kind:     name-certificate"));

    let out = dir.path().join("name.pdf");
    let fixture = root.join("tests/fixtures/residents/yamada-taro.json");
    let render = Command::new(kofu)
        .args(["plugin", "render"])
        .arg(&wasm)
        .arg("--resident")
        .arg(&fixture)
        .args(["--option", "include-birth-date=true", "--out"])
        .arg(&out)
        .output()
        .expect("render");
    assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
    let text = kofu_tests::normalize(&kofu_tests::pdf_text(&std::fs::read(&out).expect("pdf"), None));
    assert!(text.contains("氏名証明書") && text.contains("山田太郎") && text.contains("昭和53年6月14日"), "{text}");
}
