//! What every request handler shares.

use std::sync::Arc;

use kofu_certify::Certifier;
use kofu_store::Store;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::plugins::PluginCache;
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
    pub pin_key: PinKey,
    /// SHA-256 of the vendor operator's token, if one is configured.
    pub admin_token_hash: Option<String>,
    pub metrics: Metrics,
    /// Issuances run as tasks of their own, so a kiosk that disconnects
    /// cannot cut one in half; shutdown waits for them.
    pub issuances: TaskTracker,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
