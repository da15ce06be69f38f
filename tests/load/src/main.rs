//! `kofu-load`: the load and misdelivery checker's command line.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kofu_load::campaign::{audit_verify, shared_answers, spawn_killer};
use kofu_load::client::Client;
use kofu_load::population::Population;
use kofu_load::rng::Rng;
use kofu_load::server::ServerProcess;
use kofu_load::setup::provision;
use kofu_load::{Live, RunOptions, run};

/// Drive a kofu server with many simulated kiosks and check every delivered
/// certificate against its requester with an independent text extraction.
///
/// Without --server it starts its own `kofu serve` on a fresh data
/// directory (the `kofu` binary next to this one, or --kofu).
#[derive(Parser)]
#[command(name = "kofu-load", version)]
struct Args {
    /// A running server to drive, e.g. http://127.0.0.1:8080 (needs --admin-token);
    /// several hosts of one database as http://a:8080,http://b:8080 (round-robin).
    #[arg(long)]
    server: Option<String>,
    /// The vendor admin token of --server [env KOFU_ADMIN_TOKEN].
    #[arg(long)]
    admin_token: Option<String>,
    /// The kofu binary to start when there is no --server.
    #[arg(long)]
    kofu: Option<PathBuf>,
    /// Data directory for the started server [default: a temporary one].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Concurrent simulated kiosks.
    #[arg(long, default_value_t = 256)]
    kiosks: usize,
    /// Residents (each with a card), in households of one to four.
    #[arg(long, default_value_t = 5_000)]
    residents: usize,
    /// Municipalities (1 to 8).
    #[arg(long, default_value_t = 4)]
    municipalities: usize,
    /// Issuance requests to make.
    #[arg(long, default_value_t = 5_000)]
    issuances: u64,
    /// Stop after this many seconds even if requests remain.
    #[arg(long)]
    duration: Option<u64>,
    /// Seed for the population and the kiosks' choices [default: random, printed].
    #[arg(long)]
    seed: Option<u64>,
    /// Concurrent pdftotext checks [default: the number of CPUs].
    #[arg(long)]
    checkers: Option<usize>,
    /// Kill the started server with SIGKILL this many times during the run, restarting it each time.
    #[arg(long, default_value_t = 0)]
    kill_9: u32,
    /// A component the first municipality activates a third of the way in (repeatable).
    #[arg(long)]
    hostile: Vec<PathBuf>,
    /// SQLite `synchronous` for the started server (FULL, NORMAL).
    #[arg(long)]
    sqlite_synchronous: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kofu-load: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(drive(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("kofu-load: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn drive(args: Args) -> anyhow::Result<bool> {
    let seed = args.seed.unwrap_or_else(Rng::fresh_seed);
    println!(
        "kofu-load: seed {seed}, {} kiosks, {} residents, {} municipalities, {} issuances",
        args.kiosks, args.residents, args.municipalities, args.issuances
    );
    let hostile = args
        .hostile
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut temp = None;
    let (base, admin, server) = match &args.server {
        Some(base) => {
            let admin = args
                .admin_token
                .clone()
                .or_else(|| std::env::var("KOFU_ADMIN_TOKEN").ok())
                .context("--server needs --admin-token (or KOFU_ADMIN_TOKEN)")?;
            anyhow::ensure!(args.kill_9 == 0, "--kill-9 needs a server this command starts: drop --server");
            (base.clone(), admin, None)
        }
        None => {
            let binary = match &args.kofu {
                Some(path) => path.clone(),
                None => std::env::current_exe()?.with_file_name("kofu"),
            };
            anyhow::ensure!(
                binary.exists(),
                "no kofu binary at {}: build it (cargo build --release -p kofu-cli) or pass --kofu",
                binary.display()
            );
            let data_dir = match &args.data_dir {
                Some(dir) => dir.clone(),
                None => temp.insert(tempfile::tempdir()?).path().to_owned(),
            };
            let admin = format!("kofu-load-{:016x}", Rng::fresh_seed());
            let mut env = vec![];
            if let Some(mode) = &args.sqlite_synchronous {
                env.push(("KOFU_SQLITE_SYNCHRONOUS", mode.as_str()));
            }
            let server = ServerProcess::start(&binary, &data_dir, &admin, &env)?;
            println!("kofu-load: started {} on {}", binary.display(), server.base_url());
            (server.base_url(), admin, Some((binary, Arc::new(Mutex::new(server)))))
        }
    };
    let mut rng = Rng::new(seed);
    let population = Population::generate(&mut rng, args.municipalities, args.residents);
    let bundled: Vec<Vec<u8>> = kofu_bundled::ALL.iter().map(|p| p.component.to_vec()).collect();
    let world = provision(Client::new(&base)?, &admin, population, args.kiosks, &bundled).await?;
    println!("kofu-load: provisioned; running");
    let options = RunOptions {
        issuances: args.issuances,
        duration: args.duration.map(Duration::from_secs),
        seed: rng.next_u64(),
        checkers: args.checkers.unwrap_or(RunOptions::default().checkers),
        hostile,
        progress: true,
        ..RunOptions::default()
    };
    let live = Arc::new(Live::default());
    let killer = match &server {
        Some((_, process)) if args.kill_9 > 0 => {
            Some(spawn_killer(Arc::clone(process), Arc::clone(&live), args.issuances, args.kill_9))
        }
        _ => None,
    };
    let mut report = run(world, options, live).await?;
    let mut clean = report.clean();
    if let Some(killer) = killer {
        let kills = killer.await??;
        println!("kills: {kills}");
    }
    println!("{}", report.render());
    let duplicates = shared_answers(&report);
    println!("issuances answered for more than one key: {}", duplicates.len());
    clean &= duplicates.is_empty();
    if let Some((binary, process)) = server {
        process.lock().map_err(|_| anyhow::anyhow!("server lock poisoned"))?.stop()?;
        let dir = args.data_dir.clone().or_else(|| temp.as_ref().map(|t| t.path().to_owned())).context("data dir")?;
        let (verified, text) = audit_verify(&binary, &dir)?;
        println!("kofu audit verify: {}", if verified { "ok" } else { "PROBLEMS" });
        if !verified {
            println!("{text}");
        }
        clean &= verified;
    }
    println!("kofu-load: {}", if clean { "CLEAN" } else { "PROBLEMS FOUND" });
    Ok(clean)
}
