//! Compiled plugins, cached in memory by content hash. The database holds
//! the component bytes; each host compiles a version the first time it
//! serves it, so activating a version on one host takes effect on all of
//! them at their next request (the active version is read from the database
//! on every issuance).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kofu_sandbox::Plugin;

use crate::error::ApiError;
use crate::state::Shared;

#[derive(Default)]
pub struct PluginCache {
    compiled: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl PluginCache {
    /// The compiled plugin for a stored version.
    pub async fn get(&self, state: &Shared, municipality: &str, hash: &str) -> Result<Arc<Plugin>, ApiError> {
        if let Some(plugin) = self.lock().get(hash) {
            return Ok(Arc::clone(plugin));
        }
        let bytes = state
            .store
            .plugin_component(municipality, hash)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no plugin version {hash} in this municipality")))?;
        let plugin = compile(state, bytes).await?.map_err(|e| {
            // A stored version passed validation at upload; failing now means
            // the host changed underneath it.
            ApiError::Internal(format!("stored plugin {hash} no longer loads: {e}"))
        })?;
        if plugin.id().hash.to_hex() != hash {
            return Err(ApiError::Internal(format!("stored plugin {hash} does not match its content hash")));
        }
        self.lock().insert(hash.to_owned(), Arc::clone(&plugin));
        Ok(plugin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Plugin>>> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Validate and compile a component off the async runtime (compiling takes
/// tens to hundreds of milliseconds).
pub async fn compile(state: &Shared, bytes: Vec<u8>) -> Result<Result<Arc<Plugin>, kofu_sandbox::LoadError>, ApiError> {
    state.in_sandbox(move |certifier| certifier.sandbox().load(&bytes)).await
}
