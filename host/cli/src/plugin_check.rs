//! `kofu plugin check`: validate a component and print its manifest.

use std::path::Path;
use std::process::ExitCode;

use kofu_render::RenderOptions;
use kofu_sandbox::Limits;

use crate::report;

pub fn run(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let certifier = kofu_certify::Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = crate::inputs::load_plugin(&certifier, path)?;
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
