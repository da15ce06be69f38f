//! `kofu plugin export`: write a bundled plugin's component to a file, for
//! a municipality to check, keep or upload without building it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kofu_sandbox::ContentHash;

#[derive(Args)]
pub struct ExportArgs {
    /// The bundled plugin's name (`residence`, `seal`, `tax`); without it,
    /// the list of names.
    name: Option<String>,
    /// Where to write the component; `NAME.wasm` in the current directory
    /// by default.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = &args.name else {
        for plugin in kofu_bundled::ALL {
            println!("{}\t{}", plugin.name, ContentHash::of(plugin.component));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(plugin) = kofu_bundled::ALL.into_iter().find(|p| p.name == name) else {
        let names: Vec<&str> = kofu_bundled::ALL.iter().map(|p| p.name).collect();
        anyhow::bail!("there is no bundled plugin `{name}`; the bundled ones are {}", names.join(", "));
    };
    let path = args.output.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.wasm")));
    std::fs::write(&path, plugin.component).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}: {} bytes, hash {}", path.display(), plugin.component.len(), ContentHash::of(plugin.component));
    Ok(ExitCode::SUCCESS)
}
