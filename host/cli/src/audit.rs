//! `kofu audit verify`: check the audit log's hash chains and re-render a
//! sample of issued documents. Exits 1 on any problem, with a report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use kofu_certify::Certifier;
use kofu_render::RenderOptions;
use kofu_store::{Store, StoreOptions};

#[derive(Args)]
pub struct VerifyArgs {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/kofu.db; env KOFU_DATABASE_URL].
    #[arg(long)]
    pub db: Option<String>,
    /// Data directory, when --db is not given [default: ./kofu-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A TOML config file, for the sandbox limits and database.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How many issued documents to re-render and compare.
    #[arg(long, default_value_t = 100)]
    pub sample: i64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut config = kofu_config::Config::load(args.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(db) = &args.db {
        config.database_url = Some(db.clone());
    }
    let url = config.database_url();
    if url.starts_with("sqlite:") && config.database_url.is_none() && !config.data_dir.join("kofu.db").exists() {
        anyhow::bail!(
            "there is no database at {}; pass --db URL or --data-dir DIR of the server to verify",
            config.data_dir.join("kofu.db").display()
        );
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    let report = runtime.block_on(async {
        let store = Store::open(&StoreOptions::new(url.clone())).await?;
        let certifier = Arc::new(Certifier::new(config.limits.clone(), RenderOptions::default())?);
        let report = kofu_issue::verify_audit(&store, &certifier, args.sample).await?;
        store.close().await;
        anyhow::Ok(report)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "audit log: {} entries in {} chain(s) (each municipality's and the vendor's); {} issuance record(s) cross-checked; {} document(s) re-rendered{}",
            report.chain.entries,
            report.chain.chains,
            report.issuances_checked,
            report.rerendered,
            if report.other_build > 0 {
                format!(" ({} from another host build, compared by document hash)", report.other_build)
            } else {
                String::new()
            }
        );
        for problem in report.all_problems() {
            println!("PROBLEM: {problem}");
        }
        println!(
            "{}",
            if report.ok() { "verified: no problems found" } else { "FAILED: the audit log does not verify" }
        );
    }
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
