//! The pipeline's context: what its steps reach, and nothing else.

use kofu_certify::Certifier;
use kofu_store::Store;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::documents::HeldDocuments;
use crate::metrics::Metrics;
use crate::plugins::{ArtifactKey, PluginCache};
use crate::register_index::RegisterIndexes;
use crate::sandboxes::Sandboxes;

/// One host's issuance pipeline. The server holds one; every step of an
/// issuance, a delivery, a re-render or a dry-run is a method of it.
pub struct Issuer {
    pub(crate) store: Store,
    pub(crate) sandboxes: Sandboxes,
    pub(crate) plugins: PluginCache,
    /// Issued PDFs awaiting their fetch on this host.
    pub(crate) documents: HeldDocuments,
    /// Each municipality's register, indexed for the binding check.
    pub(crate) registers: RegisterIndexes,
    pub(crate) metrics: Metrics,
    /// Cancelled when the host stops waiting for in-flight issuances: each
    /// then records itself as failed (see `Issuer::issue`).
    pub(crate) abandon: CancellationToken,
}

/// What an [`Issuer`] is made of.
pub struct Setup {
    pub store: Store,
    pub sandboxes: Sandboxes,
    /// Memory for issued PDFs awaiting their fetch on this host; past it the
    /// oldest are dropped and a fetch re-renders them. 0 holds none.
    pub document_memory_bytes: usize,
    /// The host key under which compiled plugins are stored in the database.
    pub artifact_key: Box<dyn ArtifactKey>,
}

impl Issuer {
    pub fn new(setup: Setup) -> Issuer {
        Issuer {
            store: setup.store,
            sandboxes: setup.sandboxes,
            plugins: PluginCache::new(setup.artifact_key),
            documents: HeldDocuments::new(setup.document_memory_bytes),
            registers: RegisterIndexes::default(),
            metrics: Metrics::default(),
            abandon: CancellationToken::new(),
        }
    }

    /// Stop every issuance still in flight: each one not yet recorded
    /// records itself as failed with reason `abandoned`, nothing delivered
    /// or charged, and returns. Called once the shutdown grace is over.
    pub fn abandon_in_flight(&self) {
        self.abandon.cancel();
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn certifier(&self) -> &Arc<Certifier> {
        self.sandboxes.certifier()
    }

    pub fn sandboxes(&self) -> &Sandboxes {
        &self.sandboxes
    }

    pub fn documents(&self) -> &HeldDocuments {
        &self.documents
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
