//! The certifier and the sandbox slots it runs in (`slots.rs`). All of the
//! pipeline's CPU-bound work (compiling, evaluating, rendering) runs on a
//! blocking thread, off the async workers, once an instance slot is free.

use std::sync::Arc;

use kofu_certify::Certifier;

use crate::error::IssueError;
use crate::slots::{Pool, PoolSettings, Tenant};

pub struct Sandboxes {
    certifier: Arc<Certifier>,
    /// The instance slots of the sandbox's pooling allocator
    /// (`Limits::max_concurrent`), in two pools: issuances, shared fairly
    /// among municipalities, and uploads with dry-runs.
    issuances: Arc<Pool>,
    uploads: Arc<Pool>,
}

impl Sandboxes {
    pub fn new(certifier: Arc<Certifier>, issuances: PoolSettings, uploads: PoolSettings) -> Sandboxes {
        Sandboxes { certifier, issuances: Pool::new(issuances), uploads: Pool::new(uploads) }
    }

    pub fn certifier(&self) -> &Arc<Certifier> {
        &self.certifier
    }

    pub fn issuance_pool(&self) -> &Pool {
        &self.issuances
    }

    pub fn upload_pool(&self) -> &Pool {
        &self.uploads
    }

    /// Both pools by name, as readiness and metrics report them.
    pub fn pools(&self) -> [(&'static str, &Pool); 2] {
        [("issuance", self.issuance_pool()), ("upload", self.upload_pool())]
    }

    /// Refuse new work and drop every waiter: shutting down.
    pub fn close(&self) {
        self.issuances.close();
        self.uploads.close();
    }

    /// Run `work` on a blocking thread once an instance slot for `tenant` is
    /// free: a municipality's issuances in the issuance pool, uploads and
    /// dry-runs in theirs. A full queue or a wait past its limit is
    /// [`IssueError::Busy`].
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        tenant: Tenant,
        work: impl FnOnce(&Certifier) -> T + Send + 'static,
    ) -> Result<T, IssueError> {
        let pool = match tenant {
            Tenant::Uploads => &self.uploads,
            Tenant::Municipality(_) => &self.issuances,
        };
        let permit = pool.acquire(tenant).await.map_err(IssueError::Busy)?;
        let certifier = Arc::clone(&self.certifier);
        tokio::task::spawn_blocking(move || {
            let result = work(&certifier);
            drop(permit);
            result
        })
        .await
        .map_err(|e| IssueError::Internal(format!("a sandbox task failed: {e}")))
    }
}
