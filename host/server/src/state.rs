//! What every request handler shares.

use std::sync::Arc;

use kofu_certify::Certifier;
use kofu_store::Store;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::documents::HeldDocuments;
use crate::metrics::Metrics;
use crate::plugins::PluginCache;
use crate::register_index::RegisterIndexes;
use crate::secrets::PinKey;

/// The exact host build, recorded with every issuance.
pub const HOST_BUILD: &str = concat!("kofu ", env!("CARGO_PKG_VERSION"), " (", env!("KOFU_GIT_BUILD"), ")");

#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub certifier: Arc<Certifier>,
    pub plugins: PluginCache,
    /// Issued PDFs awaiting their fetch on this host.
    pub documents: HeldDocuments,
    pub pin_key: PinKey,
    /// SHA-256 of the vendor operator's token, if one is configured.
    pub admin_token_hash: Option<String>,
    pub metrics: Metrics,
    /// Issuances run as tasks of their own, so a kiosk that disconnects
    /// cannot cut one in half; shutdown waits for them.
    pub issuances: TaskTracker,
    /// One permit per instance slot of the sandbox's pooling allocator
    /// (`Limits::max_concurrent`): past it, requests wait for a slot instead
    /// of failing for lack of one.
    pub sandbox_slots: Arc<tokio::sync::Semaphore>,
    /// Each municipality's register, indexed for the binding check.
    pub register_indexes: RegisterIndexes,
}

impl Shared {
    /// Run sandbox work (compile, evaluate, render) on a blocking thread once
    /// an instance slot is free.
    pub async fn in_sandbox<T: Send + 'static>(
        &self,
        work: impl FnOnce(&kofu_certify::Certifier) -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let permit = Arc::clone(&self.sandbox_slots)
            .acquire_owned()
            .await
            .map_err(|_| crate::error::ApiError::Unavailable("the server is shutting down".into()))?;
        let certifier = Arc::clone(&self.certifier);
        tokio::task::spawn_blocking(move || {
            let result = work(&certifier);
            drop(permit);
            result
        })
        .await
        .map_err(|e| crate::error::ApiError::Internal(format!("a sandbox task failed: {e}")))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
