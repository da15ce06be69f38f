//! Builds kofu's guest crates (plugins and test guests) for wasm32-wasip2
//! from a build script, in a target directory of their own so the outer
//! cargo's lock is never contended, and hands back the component paths.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target every kofu plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";

#[derive(Debug)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// The workspace root, found from this crate's own location.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where guest components land: `<target>/guests`, beside the host's target.
pub fn guest_target_dir() -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("guests")
}

/// Build `packages` (workspace package names) in release mode for
/// wasm32-wasip2 and return each package's component path, in order.
/// Tells cargo to rerun the calling build script when guest sources change.
pub fn build(packages: &[&str]) -> Result<Vec<PathBuf>, BuildError> {
    let root = workspace_root();
    for watched in ["wit", "plugins", "tests/guests", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target_installed()?;
    let target_dir = guest_target_dir();
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--release", "--locked", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The outer build's flags and settings are for the host, not for guests.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_BUILD_")
            || key == "CARGO_TARGET_DIR"
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            command.env_remove(key.as_ref());
        }
    }
    let output = command
        .output()
        .map_err(|err| BuildError(format!("could not run cargo to build the guest components: {err}")))?;
    if !output.status.success() {
        return Err(BuildError(format!(
            "building the guest components failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let out = target_dir.join(TARGET).join("release");
    packages
        .iter()
        .map(|package| {
            let path = out.join(format!("{}.wasm", package.replace('-', "_")));
            if path.is_file() {
                Ok(path)
            } else {
                Err(BuildError(format!("cargo built `{package}` but {} is missing", path.display())))
            }
        })
        .collect()
}

fn ensure_target_installed() -> Result<(), BuildError> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .map_err(|err| BuildError(format!("could not run rustc: {err}")))?;
    let path = String::from_utf8_lossy(&libdir.stdout).trim().to_owned();
    if libdir.status.success() && Path::new(&path).is_dir() {
        Ok(())
    } else {
        Err(BuildError(format!(
            "the Rust target {TARGET} is not installed, and kofu's plugins are built for it: \
             run `rustup target add {TARGET}` (scripts/test and scripts/demo do this for you)"
        )))
    }
}
