//! `kofu serve`: run the issuance server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kofu_server::{Config, Server, bind, demo, serve};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env KOFU_LISTEN].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Data directory: database, PIN key, demo credentials [default: ./kofu-data; env KOFU_DATA_DIR].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/kofu.db; env KOFU_DATABASE_URL].
    #[arg(long)]
    pub db: Option<String>,
    /// A TOML config file (see docs/OPERATIONS.md, "Configuration").
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Set up a demo municipality, residents and kiosk, and write their
    /// credentials to demo-credentials.json in the data directory.
    #[arg(long)]
    pub demo: bool,
}

/// The configuration: file, then environment, then these flags.
pub fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(db) = &args.db {
        config.database_url = Some(db.clone());
    }
    Ok(config)
}

pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KOFU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = config(&args)?;
    init_logging(config.log_json);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    let result = runtime.block_on(async move {
        let admin_token = if args.demo { Some(demo::prepare_config(&mut config)?) } else { None };
        if config.admin_token.is_none() {
            tracing::warn!("no admin token configured (KOFU_ADMIN_TOKEN or admin_token): the vendor API is closed");
        }
        let listener = bind(&config).await?;
        let address = listener.local_addr().context("cannot read the listening address")?;
        let server = Server::start(config).await?;
        if let Some(admin_token) = admin_token {
            let path = demo::seed(&server.state, &admin_token, &format!("http://{address}")).await?;
            println!("demo credentials: {}", path.display());
        }
        println!("{} listening on http://{address}", kofu_issue::HOST_BUILD);
        serve(server, listener).await?;
        Ok(ExitCode::SUCCESS)
    });
    // `serve` has already waited out the shutdown grace; dropping the
    // runtime would wait without bound for blocking threads still running.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
