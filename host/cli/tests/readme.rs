//! docs/PLUGINS.md and the README as written: the guide's certificate is the
//! one `kofu plugin new` makes, its sample case runs and passes in a new
//! project, and the README's plugin section is the guide's three commands.
//! `tests/author.rs` walks the rest of the path.

mod support;

use std::path::Path;
use std::process::Command;

use support::KOFU;

fn code_blocks(markdown: &str, language: &str) -> Vec<String> {
    let fence = format!("```{language}\n");
    markdown.split(&fence).skip(1).filter_map(|rest| rest.split("```").next().map(str::to_owned)).collect()
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_guides_certificate_is_the_one_plugin_new_makes() {
    let guide = std::fs::read_to_string(root().join("docs/PLUGINS.md")).expect("docs/PLUGINS.md");
    let source = code_blocks(&guide, "rust").into_iter().next().expect("a rust block");
    let template = std::fs::read_to_string(root().join("host/cli/templates/rust/certificate.rs")).expect("template");
    assert_eq!(source, template);
    let commands = code_blocks(&guide, "sh").into_iter().next().expect("an sh block");
    let commands: Vec<&str> = commands.lines().map(|line| line.split('#').next().unwrap_or("").trim()).collect();
    assert_eq!(commands, ["kofu plugin new my-residence", "cd my-residence", "kofu plugin test"]);

    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme.split("## Writing a plugin").nth(1).expect("a plugin section in the README");
    let block = code_blocks(section, "sh").into_iter().next().expect("its commands");
    let lines: Vec<&str> = block.lines().map(|line| line.split("  #").next().unwrap_or("").trim()).collect();
    assert_eq!(
        lines,
        [
            "cargo build --release -p kofu && export PATH=\"$PWD/target/release:$PATH\"",
            "kofu plugin new my-residence --dir .. && cd ../my-residence",
            "kofu plugin test",
        ]
    );
}

#[test]
fn the_guides_sample_case_passes_in_a_new_project() {
    let guide = std::fs::read_to_string(root().join("docs/PLUGINS.md")).expect("docs/PLUGINS.md");
    let case = code_blocks(&guide, "toml").into_iter().next().expect("a toml block");
    let home = tempfile::tempdir().expect("a directory for the project");
    let made = Command::new(KOFU).args(["plugin", "new", "guide-case", "--dir"]).arg(home.path()).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let project = home.path().join("guide-case");
    std::fs::write(project.join("tests/guide.toml"), case).expect("the case");
    let run = Command::new(KOFU)
        .current_dir(&project)
        .args(["plugin", "test", "--case", "guide"])
        .env("CARGO_TARGET_DIR", root().join("target/guests"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("kofu plugin test");
    let report = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{report}");
    assert!(report.contains("1 case: 1 passed, 0 failed"), "{report}");
}
