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
use crate::slots::{Pool, Tenant};

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
    /// The instance slots of the sandbox's pooling allocator
    /// (`Limits::max_concurrent`), in two pools (`slots.rs`): issuances,
    /// shared fairly among municipalities, and uploads with dry-runs.
    pub issuance_slots: Arc<Pool>,
    pub upload_slots: Arc<Pool>,
    /// Each municipality's register, indexed for the binding check.
    pub register_indexes: RegisterIndexes,
}

impl Shared {
    /// Run sandbox work (compile, evaluate, render) on a blocking thread once
    /// an instance slot for `tenant` is free: a municipality's issuances in
    /// the issuance pool, uploads and dry-runs in theirs. A full queue or a
    /// wait past its limit is a 503 with `Retry-After`.
    pub async fn in_sandbox<T: Send + 'static>(
        &self,
        tenant: Tenant,
        work: impl FnOnce(&kofu_certify::Certifier) -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let pool = match tenant {
            Tenant::Uploads => &self.upload_slots,
            Tenant::Municipality(_) => &self.issuance_slots,
        };
        let permit = pool.acquire(tenant).await.map_err(crate::error::ApiError::busy)?;
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
