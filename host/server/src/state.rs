//! What every request handler shares, behind accessors: the configuration,
//! the issuance pipeline (which holds the store), and the credentials'
//! keys.

use std::sync::Arc;

use kofu_issue::Issuer;
use kofu_store::Store;
use tokio_util::task::TaskTracker;

use crate::secrets::PinKey;
use kofu_config::Config;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    config: Config,
    issuer: Issuer,
    pin_key: PinKey,
    /// SHA-256 of the vendor operator's token, if one is configured.
    admin_token_hash: Option<String>,
    /// Issuances run as tasks of their own, so a kiosk that disconnects
    /// cannot cut one in half; shutdown waits for them.
    issuances: TaskTracker,
    /// The bundled plugins' listing, read from their manifests once.
    catalog: tokio::sync::OnceCell<Vec<crate::routes::catalog::CatalogEntry>>,
}

impl AppState {
    pub(crate) fn new(config: Config, issuer: Issuer, pin_key: PinKey, admin_token_hash: Option<String>) -> AppState {
        AppState(Arc::new(Shared {
            config,
            issuer,
            pin_key,
            admin_token_hash,
            issuances: TaskTracker::new(),
            catalog: tokio::sync::OnceCell::new(),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The issuance pipeline: issuing, delivering, re-rendering, plugin
    /// uploads and dry-runs, register changes.
    pub fn issuer(&self) -> &Issuer {
        &self.0.issuer
    }

    /// The store, for what is not the pipeline's: municipalities, tokens,
    /// kiosks, cards, sessions, plugin activations, the audit log's pages.
    pub(crate) fn store(&self) -> &Store {
        self.0.issuer.store()
    }

    pub(crate) fn pin_key(&self) -> &PinKey {
        &self.0.pin_key
    }

    pub(crate) fn admin_token_hash(&self) -> Option<&str> {
        self.0.admin_token_hash.as_deref()
    }

    pub(crate) fn issuances(&self) -> &TaskTracker {
        &self.0.issuances
    }

    pub(crate) fn catalog(&self) -> &tokio::sync::OnceCell<Vec<crate::routes::catalog::CatalogEntry>> {
        &self.0.catalog
    }
}
