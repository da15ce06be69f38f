//! A plugin project on disk: where it is, how it is built, which files
//! mean a rebuild. `plugin test` and `plugin watch` build through here;
//! `--wasm FILE` skips the build for a component made by another toolchain.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context, bail};

/// The Rust target a plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Build the Rust project in `dir` for [`TARGET`] in release mode, cargo's
/// messages passed through to the terminal, and return the component.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "{} has no Cargo.toml: give the plugin project's directory, or --wasm FILE for a component built \
             another way",
            dir.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--release", "--target", TARGET, "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run cargo in {}: is Rust installed (https://rustup.rs)?", dir.display()))?;
    if !output.status.success() {
        bail!(
            "the build failed (cargo's messages are above). If cargo says the target is not installed, run `rustup \
             target add {TARGET}`"
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut components = stdout.lines().filter_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        if message["reason"] != "compiler-artifact" {
            return None;
        }
        let is_cdylib = message["target"]["kind"].as_array()?.iter().any(|kind| kind == "cdylib");
        if !is_cdylib {
            return None;
        }
        message["filenames"]
            .as_array()?
            .iter()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"))
            .map(PathBuf::from)
    });
    components.next().with_context(|| {
        format!("the build made no component: the package in {} needs `[lib] crate-type = [\"cdylib\"]`", dir.display())
    })
}

/// The newest modification time among the files a rebuild depends on:
/// `Cargo.toml`, `src/`, `tests/` and `.cargo/` (not `target/` or `out/`).
pub fn last_change(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for watched in ["Cargo.toml", "src", "tests", ".cargo", "wit"] {
        newest = newest.max(newest_under(&dir.join(watched), 0));
    }
    newest
}

fn newest_under(path: &Path, depth: usize) -> SystemTime {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return SystemTime::UNIX_EPOCH;
    };
    let own = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    // Snapshots and drawings the cases write are outputs, not inputs.
    let is_output = path.file_name().is_some_and(|name| name == "snapshots");
    if !metadata.is_dir() || depth > 8 || is_output {
        return if is_output { SystemTime::UNIX_EPOCH } else { own };
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries.filter_map(Result::ok).map(|entry| newest_under(&entry.path(), depth + 1)).fold(own, SystemTime::max)
}
