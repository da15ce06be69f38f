//! `kofu plugin test`: build a plugin project and run every case in its
//! `tests/` folder through the production path, with a readable account of
//! each difference.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use kofu_certify::Certifier;
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Plugin};

use crate::{cases, project};

#[derive(Args)]
pub struct TestArgs {
    /// The plugin project (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Test this component instead of building the project.
    #[arg(long, value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// Run only the cases whose file name (without .toml) contains this.
    #[arg(long, value_name = "TEXT")]
    pub case: Option<String>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let wasm = match &args.wasm {
        Some(wasm) => wasm.clone(),
        None => project::build(&args.dir)?,
    };
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = load(&certifier, &wasm)?;
    let outcome = run_cases(&certifier, &plugin, &args.dir, args.case.as_deref())?;
    Ok(if outcome.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Load the component and say which it is.
pub fn load(certifier: &Certifier, wasm: &Path) -> anyhow::Result<Arc<Plugin>> {
    let plugin = crate::inputs::load_plugin(certifier, wasm)?;
    let manifest = plugin.manifest();
    println!("{} {} ({}, {})", manifest.kind, manifest.version, wasm.display(), plugin.id().hash);
    Ok(plugin)
}

pub struct Outcome {
    pub passed: usize,
    pub failed: usize,
    /// Each case's run, in order.
    pub runs: Vec<(cases::Case, cases::CaseRun)>,
}

/// Run the project's cases and print one line per case, with the
/// differences of each that failed.
pub fn run_cases(certifier: &Certifier, plugin: &Plugin, dir: &Path, filter: Option<&str>) -> anyhow::Result<Outcome> {
    let limits = certifier.sandbox().limits();
    let mut outcome = Outcome { passed: 0, failed: 0, runs: Vec::new() };
    let files = cases::case_files(dir)?;
    let width = files.iter().filter_map(|f| f.file_stem()).map(|s| s.len()).max().unwrap_or(0);
    for file in files {
        let name = file.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        if filter.is_some_and(|filter| !name.contains(filter)) {
            continue;
        }
        let case = cases::load(&file)?;
        let run = cases::run(certifier, plugin, &case, &dir.join("tests/snapshots"))?;
        let verdict = if run.passed() { "ok  " } else { "FAIL" };
        println!(
            "  {verdict}  {name:width$}  {}; fuel {} of {} ({:.1}%), {:.1} ms (the plugin may take {} ms)",
            run.summary,
            run.fuel_used,
            limits.fuel,
            run.fuel_used as f64 * 100.0 / limits.fuel.max(1) as f64,
            run.elapsed.as_secs_f64() * 1000.0,
            limits.wall_clock.as_millis()
        );
        if run.passed() {
            outcome.passed += 1;
        } else {
            outcome.failed += 1;
            print!("{}", run.logs);
            print!("{}", cases::describe(&case, &run));
        }
        outcome.runs.push((case, run));
    }
    let total = outcome.passed + outcome.failed;
    println!("{total} case{}: {} passed, {} failed", if total == 1 { "" } else { "s" }, outcome.passed, outcome.failed);
    Ok(outcome)
}
