//! `kofu plugin check`: validate a component and print its manifest.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, LoadError};

use crate::report;

pub fn run(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let certifier = kofu_certify::Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = match certifier.sandbox().load(&bytes) {
        Ok(plugin) => plugin,
        Err(LoadError::ManifestFailed(err)) => {
            eprint!("{}", report::evaluation_failure(&err));
            anyhow::bail!("{} is not a usable plugin: its manifest() call failed", path.display());
        }
        Err(err) => anyhow::bail!("{} is not a usable plugin: {err}", path.display()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(plugin.manifest())?);
    } else {
        println!("{}: a valid kofu certificate plugin", path.display());
        println!("hash:     {}", plugin.id().hash);
        println!("contract: kofu:certificate@{}", plugin.contract().version());
        print!("{}", report::manifest(plugin.manifest()));
        println!("{}", report::page_limit(plugin.manifest(), certifier.sandbox().limits().max_pages));
        println!("imports:  {}", plugin.imports().join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
