//! Compiled plugins. The database holds each version's component and, per
//! host build and host key, its native artifact with a MAC under that key;
//! each host keeps the plugins it has loaded in memory by content hash. A
//! cache miss loads the stored artifact (after checking its MAC) or compiles
//! the component and stores the artifact for the next host. Hosts sharing a
//! database hold the same key (the server refuses to start otherwise), so
//! they share artifacts; were keys ever to differ, each key would have its
//! own row instead of hosts rejecting each other's artifact and compiling
//! again on every start. Activating a version on one host takes effect on
//! all of them at their next request: the active version is read from the
//! database on every issuance, and the cache is keyed by content hash, never
//! by kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kofu_sandbox::{ContentHash, LoadError, Plugin};
use kofu_store::{constant_time_eq, now_millis};

use crate::error::ApiError;
use crate::secrets::unhex;
use crate::slots::Tenant;
use crate::state::{HOST_BUILD, Shared};

#[derive(Default)]
pub struct PluginCache {
    compiled: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl PluginCache {
    /// The loaded plugin for a stored version.
    pub async fn get(&self, state: &Shared, municipality: &str, hash: &str) -> Result<Arc<Plugin>, ApiError> {
        if let Some(plugin) = self.lock().get(hash) {
            return Ok(Arc::clone(plugin));
        }
        let plugin = match from_artifact(state, hash).await? {
            Some(plugin) => plugin,
            None => {
                let bytes = state.store.plugin_component(municipality, hash).await?.ok_or_else(|| {
                    ApiError::NotFound(format!("there is no plugin version {hash} in this municipality"))
                })?;
                compile(state, bytes).await?.map_err(|e| {
                    // A stored version passed validation at upload; failing
                    // now means the host changed underneath it.
                    ApiError::Internal(format!("stored plugin {hash} no longer loads: {e}"))
                })?
            }
        };
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

fn parse_hash(hex: &str) -> Option<ContentHash> {
    unhex(hex)?.try_into().ok().map(ContentHash)
}

/// Where this host's artifacts are stored: its build (native code is only
/// valid for the build that compiled it) and its key's public id.
fn artifact_slot(state: &Shared) -> String {
    format!("{HOST_BUILD} key {}", state.pin_key.key_id())
}

/// The plugin from its stored native artifact, if there is one this host
/// can trust and use.
async fn from_artifact(state: &Shared, hash: &str) -> Result<Option<Arc<Plugin>>, ApiError> {
    let slot = artifact_slot(state);
    let stored = match state.store.compiled_artifact(hash, &slot).await {
        Ok(stored) => stored,
        Err(kofu_store::StoreError::Corrupt(err)) => {
            tracing::error!(plugin = hash, %err, "a stored plugin artifact is unreadable; compiling from the component");
            None
        }
        Err(err) => return Err(err.into()),
    };
    let Some((artifact, mac)) = stored else { return Ok(None) };
    let Some(content_hash) = parse_hash(hash) else { return Ok(None) };
    if !constant_time_eq(&state.pin_key.artifact_mac(hash, &slot, &artifact), &mac) {
        tracing::error!(plugin = hash, "a stored plugin artifact fails its MAC check; compiling from the component");
        return Ok(None);
    }
    // SAFETY: the MAC, under a key outside the database, proves that a kofu
    // host of this build serialised this artifact for this content hash.
    let loaded = state
        .in_sandbox(Tenant::Uploads, move |c| unsafe { c.sandbox().load_precompiled(content_hash, &artifact) })
        .await?;
    match loaded {
        Ok(plugin) => Ok(Some(plugin)),
        Err(err) => {
            tracing::warn!(plugin = hash, %err, "a stored plugin artifact could not be used; compiling");
            Ok(None)
        }
    }
}

/// Longest an upload waits for its slot and compilation together.
const COMPILE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Validate and compile a component off the async runtime (compiling takes
/// tens to hundreds of milliseconds), and store its native artifact.
pub async fn compile(state: &Shared, bytes: Vec<u8>) -> Result<Result<Arc<Plugin>, LoadError>, ApiError> {
    let work = state.in_sandbox(Tenant::Uploads, move |certifier| certifier.sandbox().precompile(&bytes));
    // Cranelift cannot be interrupted; past the bound the request is
    // answered and the compilation finishes in its upload slot, into the
    // sandbox's cache, where a retry of the same bytes finds it.
    let compiled = tokio::time::timeout(COMPILE_WAIT, work).await.map_err(|_| ApiError::Busy {
        detail: format!(
            "compiling the component took longer than {} s; it goes on in the background: retry the same upload \
             after the time in Retry-After, and make the component smaller if this persists",
            COMPILE_WAIT.as_secs()
        ),
        retry_after: 30,
    })??;
    let (plugin, artifact) = match compiled {
        Ok(compiled) => compiled,
        Err(err) => return Ok(Err(err)),
    };
    let hash = plugin.id().hash.to_hex();
    let slot = artifact_slot(state);
    let mac = state.pin_key.artifact_mac(&hash, &slot, &artifact);
    if let Err(err) = state.store.store_compiled_artifact(&hash, &slot, &artifact, &mac, now_millis()).await {
        // Only a cache for later: the plugin itself is loaded.
        tracing::warn!(plugin = %hash, %err, "could not store the compiled plugin");
    }
    Ok(Ok(plugin))
}
