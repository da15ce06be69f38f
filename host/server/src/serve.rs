//! Starting and stopping the server.

use std::sync::Arc;

use kofu_certify::Certifier;
use kofu_issue::{Issuer, PoolSettings, Sandboxes, Setup};
use kofu_render::RenderOptions;
use kofu_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::secrets::{PinKey, token_hash};
use crate::state::AppState;
use kofu_config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    PinKey(#[from] crate::secrets::PinKeyError),
    #[error(
        "the database {url} can be shared by several hosts, so the PIN key must be given explicitly: set \
         KOFU_PIN_KEY (or `pin_key` in the config file) to the same 64 hex digits on every host, e.g. from \
         `openssl rand -hex 32` once; a key file made per host would differ between hosts"
    )]
    PinKeyRequired { url: String },
    #[error(
        "this host's PIN key is not the one this database was set up with: every host of one database needs \
         the same KOFU_PIN_KEY (a host with another key would reject every resident's PIN and lock their cards)"
    )]
    PinKeyMismatch,
    #[error("cannot open the database: {0}")]
    Store(#[from] kofu_store::StoreError),
    #[error("cannot start the plugin sandbox or renderer: {0}")]
    Certifier(#[from] kofu_certify::CertifyError),
    #[error("cannot listen on {addr}: {source} (is another server running there? choose another with --listen)")]
    Listen { addr: String, source: std::io::Error },
    #[error("cannot set up the demo: {0}")]
    Demo(String),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// A configured server, ready to serve or to hand its router to tests.
pub struct Server {
    pub state: AppState,
}

impl Server {
    /// Open the data directory and database and build the shared state.
    pub async fn start(mut config: Config) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let mut options = StoreOptions::new(config.database_url());
        options.sqlite_synchronous = config.sqlite_synchronous.clone();
        let pin_key = match &config.pin_key {
            Some(hex) => PinKey::from_hex(hex)?,
            None if options.shared() => {
                return Err(StartError::PinKeyRequired { url: kofu_store::redact(&options.url) });
            }
            None => PinKey::load_or_create(&config.data_dir.join("secrets").join("pin.key"))?,
        };
        let store = Store::open(&options).await?;
        if !store.check_key("pin", &pin_key.check_value(), kofu_store::now_millis()).await? {
            store.close().await;
            return Err(StartError::PinKeyMismatch);
        }
        let certifier = Arc::new(Certifier::new(config.limits.clone(), RenderOptions::default())?);
        let admin_token_hash = config.admin_token.take().map(|t| token_hash(&t));
        let issuance_slots = PoolSettings {
            slots: config.issuance_slots(),
            share: config.sandbox_share,
            queue_depth: config.sandbox_queue_depth,
            queue_wait: config.sandbox_queue_wait,
        };
        let uploads = config.upload_slots.max(1);
        let upload_slots = PoolSettings {
            slots: uploads,
            share: uploads,
            queue_depth: config.sandbox_queue_depth,
            queue_wait: config.sandbox_queue_wait,
        };
        let issuer = Issuer::new(Setup {
            store,
            sandboxes: Sandboxes::new(certifier, issuance_slots, upload_slots),
            document_memory_bytes: config.document_memory_bytes,
            artifact_key: Box::new(pin_key.clone()),
        });
        Ok(Server { state: AppState::new(config, issuer, pin_key, admin_token_hash) })
    }

    pub fn router(&self) -> axum::Router {
        crate::routes::app(self.state.clone())
    }
}

/// Serve until SIGINT or SIGTERM, then stop taking requests, let in-flight
/// requests and issuances finish within `shutdown_grace`, and close the
/// database. Evaluations end by their time limit whatever the plugin does,
/// so the grace is normally not used up. Past it, every issuance not yet
/// recorded stops and records itself as failed (`abandoned`, nothing
/// charged), within [`ABANDON_WAIT`] more; the kiosk's retry with the same
/// key finds that record on any host. So the server exits within
/// `shutdown_grace` + `ABANDON_WAIT` of the signal.
pub async fn serve(server: Server, listener: TcpListener) -> Result<(), StartError> {
    let state = server.state.clone();
    let stop = CancellationToken::new();
    let sweeper = tokio::spawn(crate::sweeper::run(state.clone(), stop.clone()));
    let grace = state.config().shutdown_grace;
    let signalled = Arc::new(std::sync::OnceLock::new());
    let shutdown = {
        let stop = stop.clone();
        let signalled = Arc::clone(&signalled);
        async move {
            shutdown_signal().await;
            let _ = signalled.set(tokio::time::Instant::now() + grace);
            tracing::info!(grace_secs = grace.as_secs(), "shutting down: finishing in-flight requests");
            stop.cancel();
        }
    };
    let serving = axum::serve(listener, server.router()).with_graceful_shutdown(shutdown).into_future();
    let deadline = async {
        stop.cancelled().await;
        // Requests waiting for a slot answer 503 now instead of queueing.
        state.issuer().sandboxes().close();
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        result = serving => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "shutting down: requests still open after the grace period are dropped");
            Ok(())
        }
    };
    let deadline_at = signalled.get().copied().unwrap_or_else(|| tokio::time::Instant::now() + grace);
    stop.cancel();
    state.issuances().close();
    if tokio::time::timeout_at(deadline_at, state.issuances().wait()).await.is_err() {
        tracing::warn!(
            open = state.issuances().len(),
            "shutting down: issuances still running after the grace period are recorded as abandoned"
        );
        state.issuer().abandon_in_flight();
        if tokio::time::timeout(ABANDON_WAIT, state.issuances().wait()).await.is_err() {
            tracing::error!(
                open = state.issuances().len(),
                "shutting down: issuances that could not record themselves as abandoned are dropped unrecorded; \
                 nothing was charged for them"
            );
        }
    }
    let _ = sweeper.await;
    state.store().close().await;
    tracing::info!("stopped");
    result.map_err(StartError::Serve)
}

/// How long issuances abandoned at the end of the grace get to record
/// themselves as failed.
pub const ABANDON_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Bind the listen address from the configuration.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.listen.to_string(), source })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
