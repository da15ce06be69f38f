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
use std::time::Duration;

use kofu_sandbox::{ContentHash, LoadError, Plugin};
use kofu_store::{Store, StoreError, constant_time_eq, now_millis, unhex};

use crate::HOST_BUILD;
use crate::error::IssueError;
use crate::sandboxes::Sandboxes;
use crate::slots::Tenant;

/// The host key that vouches for compiled artifacts: only a host holding it
/// can make the MAC stored with one, so a host runs native code from the
/// database only if a kofu host compiled it. The server's PIN key is one.
pub trait ArtifactKey: Send + Sync {
    /// A short public name of the key, for keeping apart artifacts stored
    /// by hosts holding different keys.
    fn key_id(&self) -> String;

    /// The MAC stored with artifact `artifact` of content hash `hash`, in
    /// storage slot `slot`.
    fn artifact_mac(&self, hash: &str, slot: &str, artifact: &[u8]) -> String;
}

/// Longest an upload waits for its slot and compilation together.
const COMPILE_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct PluginCache {
    compiled: Mutex<HashMap<String, Arc<Plugin>>>,
    /// One load at a time per content hash: a burst of requests for a
    /// plugin this host has not loaded yet waits for one load instead of
    /// each taking an upload slot (and answering 503 when there is none).
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    key: Box<dyn ArtifactKey>,
    /// Where this host's artifacts are stored: its build (native code is
    /// only valid for the build that compiled it) and its key's public id.
    slot: String,
}

impl PluginCache {
    pub(crate) fn new(key: Box<dyn ArtifactKey>) -> PluginCache {
        let slot = format!("{HOST_BUILD} key {}", key.key_id());
        PluginCache { compiled: Mutex::default(), loading: Mutex::default(), key, slot }
    }

    /// The loaded plugin for a stored version.
    pub(crate) async fn get(
        &self,
        store: &Store,
        sandboxes: &Sandboxes,
        municipality: &str,
        hash: &str,
    ) -> Result<Arc<Plugin>, IssueError> {
        if let Some(plugin) = self.lock().get(hash) {
            return Ok(Arc::clone(plugin));
        }
        let gate = Arc::clone(self.lock_loading().entry(hash.to_owned()).or_default());
        let _loading = gate.lock().await;
        // Loaded by the request this one waited for?
        if let Some(plugin) = self.lock().get(hash) {
            return Ok(Arc::clone(plugin));
        }
        let loaded = self.load(store, sandboxes, municipality, hash).await;
        if let Ok(plugin) = &loaded {
            self.lock().insert(hash.to_owned(), Arc::clone(plugin));
        }
        // Requests already waiting at the gate find the plugin cached (or,
        // after a failed load, try again one by one); later ones never
        // reach it.
        self.lock_loading().remove(hash);
        loaded
    }

    async fn load(
        &self,
        store: &Store,
        sandboxes: &Sandboxes,
        municipality: &str,
        hash: &str,
    ) -> Result<Arc<Plugin>, IssueError> {
        let plugin = match self.load_artifact(store, sandboxes, hash).await? {
            Some(plugin) => plugin,
            None => {
                let bytes = store.plugin_component(municipality, hash).await?.ok_or_else(|| {
                    IssueError::NotFound(format!("there is no plugin version {hash} in this municipality"))
                })?;
                self.compile(store, sandboxes, bytes).await?.map_err(|e| {
                    // A stored version passed validation at upload; failing
                    // now means the host changed underneath it.
                    IssueError::Internal(format!("stored plugin {hash} no longer loads: {e}"))
                })?
            }
        };
        if plugin.id().hash.to_hex() != hash {
            return Err(IssueError::Internal(format!("stored plugin {hash} does not match its content hash")));
        }
        Ok(plugin)
    }

    /// The plugin from its stored native artifact, if there is one this host
    /// can trust and use.
    async fn load_artifact(
        &self,
        store: &Store,
        sandboxes: &Sandboxes,
        hash: &str,
    ) -> Result<Option<Arc<Plugin>>, IssueError> {
        let stored = match store.compiled_artifact(hash, &self.slot).await {
            Ok(stored) => stored,
            Err(StoreError::Corrupt(err)) => {
                tracing::error!(plugin = hash, %err, "a stored plugin artifact is unreadable; compiling from the component");
                None
            }
            Err(err) => return Err(err.into()),
        };
        let Some((artifact, mac)) = stored else { return Ok(None) };
        let Some(content_hash) = parse_hash(hash) else { return Ok(None) };
        if !constant_time_eq(&self.key.artifact_mac(hash, &self.slot, &artifact), &mac) {
            tracing::error!(
                plugin = hash,
                "a stored plugin artifact fails its MAC check; compiling from the component"
            );
            return Ok(None);
        }
        // SAFETY: the MAC, under a key outside the database, proves that a kofu
        // host of this build serialised this artifact for this content hash.
        let loaded = sandboxes
            .run(Tenant::Uploads, move |c| unsafe { c.sandbox().load_precompiled(content_hash, &artifact) })
            .await?;
        match loaded {
            Ok(plugin) => Ok(Some(plugin)),
            Err(err) => {
                tracing::warn!(plugin = hash, %err, "a stored plugin artifact could not be used; compiling");
                Ok(None)
            }
        }
    }

    /// Validate and compile a component off the async runtime (compiling
    /// takes tens to hundreds of milliseconds), and store its native
    /// artifact.
    pub(crate) async fn compile(
        &self,
        store: &Store,
        sandboxes: &Sandboxes,
        bytes: Vec<u8>,
    ) -> Result<Result<Arc<Plugin>, LoadError>, IssueError> {
        let work = sandboxes.run(Tenant::Uploads, move |certifier| certifier.sandbox().precompile(&bytes));
        // Cranelift cannot be interrupted; past the bound the request is
        // answered and the compilation finishes in its upload slot, into the
        // sandbox's cache, where a retry of the same bytes finds it.
        let compiled = tokio::time::timeout(COMPILE_WAIT, work)
            .await
            .map_err(|_| IssueError::CompileTimeout { secs: COMPILE_WAIT.as_secs() })??;
        let (plugin, artifact) = match compiled {
            Ok(compiled) => compiled,
            Err(err) => return Ok(Err(err)),
        };
        let hash = plugin.id().hash.to_hex();
        let mac = self.key.artifact_mac(&hash, &self.slot, &artifact);
        if let Err(err) = store.store_compiled_artifact(&hash, &self.slot, &artifact, &mac, now_millis()).await {
            // Only a cache for later: the plugin itself is loaded.
            tracing::warn!(plugin = %hash, %err, "could not store the compiled plugin");
        }
        Ok(Ok(plugin))
    }

    fn lock_loading(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.loading.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Plugin>>> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn parse_hash(hex: &str) -> Option<ContentHash> {
    unhex(hex)?.try_into().ok().map(ContentHash)
}
