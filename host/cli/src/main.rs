//! `kofu`: the command line. Errors are reported in plain words with what to
//! do next; exit status 0 is success, 1 an error, 2 a usage error, 3 a
//! refusal (the plugin declined to issue).

mod audit;
mod cases;
mod demo;
mod inputs;
mod plugin_check;
mod plugin_export;
mod plugin_fixture;
mod plugin_new;
mod plugin_render;
mod plugin_test;
mod plugin_watch;
mod project;
mod report;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Every allocation of the command line and the server. jemalloc keeps
/// per-thread free lists, so the runtime's and the sandbox's threads do not
/// contend on one heap.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "kofu", version, about = "Issue municipal certificates from sandboxed plugins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with certificate plugins (WebAssembly components).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Render the demo certificates with the bundled plugins and demo residents.
    Demo(demo::DemoArgs),
    /// Run the issuance server.
    Serve(serve::ServeArgs),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every hash chain and re-render a sample of issued documents.
    Verify(audit::VerifyArgs),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Make a new plugin project that builds, passes its cases and renders with no edit.
    New(plugin_new::NewArgs),
    /// Build a plugin project and run every case in its tests/ folder.
    Test(plugin_test::TestArgs),
    /// Rebuild and re-run the cases on every change, writing the PDF and page images.
    Watch(plugin_watch::WatchArgs),
    /// Write a synthetic resident (or a register of them) as JSON, for cases and previews.
    Fixture(plugin_fixture::FixtureArgs),
    /// Validate a component against the certificate world and print its manifest.
    Check(CheckArgs),
    /// Render a certificate locally, with the production sandbox, limits and renderer.
    Render(plugin_render::RenderArgs),
    /// Write a bundled plugin (residence, seal, tax) to a file, to check it or upload it.
    Export(plugin_export::ExportArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The plugin component (.wasm).
    plugin: PathBuf,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

/// Exit status for a refusal: the command worked, but no certificate came out.
pub const EXIT_REFUSED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plugin(PluginCommand::New(args)) => plugin_new::run(&args),
        Command::Plugin(PluginCommand::Test(args)) => plugin_test::run(&args),
        Command::Plugin(PluginCommand::Watch(args)) => plugin_watch::run(&args),
        Command::Plugin(PluginCommand::Fixture(args)) => plugin_fixture::run(&args),
        Command::Plugin(PluginCommand::Check(args)) => plugin_check::run(&args.plugin, args.json),
        Command::Plugin(PluginCommand::Render(args)) => plugin_render::run(&args),
        Command::Plugin(PluginCommand::Export(args)) => plugin_export::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Serve(args) => serve::run(args),
        Command::Audit(AuditCommand::Verify(args)) => audit::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
