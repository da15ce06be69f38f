//! `kofu plugin watch`: rebuild a plugin project whenever its sources or
//! cases change, run the cases, and write the chosen case's PDF and page
//! images, with the fuel and time it took against the limits.
//!
//! It polls modification times rather than subscribing to file events:
//! a project is a few dozen files, a poll every 300 ms costs nothing, and
//! it behaves the same on every file system (network mounts and editors
//! that replace files included).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Args;
use kofu_certify::Certifier;
use kofu_render::RenderOptions;
use kofu_sandbox::Limits;

use crate::{plugin_test, project};

const POLL: Duration = Duration::from_millis(300);

#[derive(Args)]
pub struct WatchArgs {
    /// The plugin project (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The case whose PDF and pages are written (default: the first).
    #[arg(long, value_name = "NAME")]
    pub case: Option<String>,
    /// Where the PDF and PNG files go (default: DIR/out).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("out"));
    let mut seen = None;
    loop {
        let changed = project::last_change(&args.dir);
        if seen != Some(changed) {
            // Wait for the editor to finish writing: a save is often several
            // writes in a row.
            std::thread::sleep(POLL);
            let settled = project::last_change(&args.dir);
            if settled != changed {
                continue;
            }
            seen = Some(settled);
            if let Err(err) = round(&args.dir, args.case.as_deref(), &out) {
                println!("error: {err:#}");
            }
            println!("watching {} for changes (Ctrl-C to stop)", args.dir.display());
        }
        std::thread::sleep(POLL);
    }
}

/// One rebuild: build, run every case, write the chosen case's files.
fn round(dir: &Path, chosen: Option<&str>, out: &Path) -> anyhow::Result<()> {
    println!("--- {} ---", clock(SystemTime::now()));
    let wasm = project::build(dir)?;
    // A sandbox per round: it keeps every component it compiled, and a long
    // session compiles hundreds.
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = plugin_test::load(&certifier, &wasm)?;
    let outcome = plugin_test::run_cases(&certifier, &plugin, dir, None)?;
    let picked = match chosen {
        Some(name) => outcome.runs.iter().find(|(case, _)| case.name == name),
        None => outcome.runs.first(),
    };
    let Some((case, run)) = picked else {
        anyhow::bail!("there is no case {}: the cases are tests/*.toml", chosen.unwrap_or("at all"));
    };
    let Some(pdf) = &run.pdf else {
        println!("{}: {}, so no PDF was written", case.name, run.summary);
        return Ok(());
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let pdf_path = out.join(format!("{}.pdf", case.name));
    std::fs::write(&pdf_path, pdf).with_context(|| format!("cannot write {}", pdf_path.display()))?;
    let pngs = kofu_server::page_pngs(pdf, usize::MAX).map_err(anyhow::Error::msg)?;
    for (index, png) in pngs.iter().enumerate() {
        let path = out.join(format!("{}-{}.png", case.name, index + 1));
        std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote {} and {} page image{}", pdf_path.display(), pngs.len(), if pngs.len() == 1 { "" } else { "s" });
    Ok(())
}

/// The time of day in UTC, hh:mm:ss, to tell one round from the next.
fn clock(at: SystemTime) -> String {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02} UTC", seconds / 3600, seconds / 60 % 60, seconds % 60)
}
