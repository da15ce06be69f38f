//! Runs one fuzz target on the given files, outside libFuzzer: to replay a
//! crash (`fuzz/artifacts/<target>/crash-…`) under a debugger or with
//! `eprintln!`s, without the fuzz build.
//!
//! ```sh
//! cargo run --release -p kofu-fuzz-targets --example replay -- document fuzz/artifacts/document/crash-…
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let target: fn(&[u8]) = match args.next().as_deref() {
        Some("upload") => kofu_fuzz_targets::upload,
        Some("register_import") => kofu_fuzz_targets::register_import,
        Some("document") => kofu_fuzz_targets::document,
        _ => {
            eprintln!("usage: replay <{}> FILE...", kofu_fuzz_targets::TARGETS.join("|"));
            return ExitCode::FAILURE;
        }
    };
    for path in args {
        match std::fs::read(&path) {
            Ok(data) => {
                eprintln!("{path}: {} bytes", data.len());
                target(&data);
            }
            Err(err) => {
                eprintln!("{path}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("every input holds");
    ExitCode::SUCCESS
}
