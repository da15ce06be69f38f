//! A plugin upload: what the server does with the bytes of
//! `POST /v1/municipalities/{code}/plugins` (the server's `routes/plugins.rs`
//! → `Issuer::store_plugin` → kofu-issue's `plugins.rs` `compile` →
//! `Sandbox::precompile`), and what
//! another host does later with the stored artifact (`load_precompiled`).

use std::sync::{Arc, Mutex, MutexGuard};

use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_sandbox::{ContentHash, FailureCause, Limits, LoadError, Outcome, Plugin, Request, Sandbox};

/// Interfaces an accepted plugin may import (the sandbox's allow-list, by
/// package and interface prefix): nothing that reaches files, sockets or HTTP.
const ALLOWED_IMPORT_PREFIXES: [&str; 5] =
    ["kofu:certificate/", "wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/"];

/// The sandboxes keep every accepted plugin in their cache for the life of
/// the process; starting afresh after this many keeps a long fuzzing run's
/// memory flat.
const ACCEPTED_PER_SANDBOX: usize = 32;

struct Sandboxes {
    /// Validates and compiles uploads, as the uploading host does.
    uploads: Sandbox,
    /// Loads the compiled artifacts, as another host of the same build does.
    artifacts: Sandbox,
    accepted: usize,
}

static SANDBOXES: Mutex<Option<Sandboxes>> = Mutex::new(None);

fn sandboxes() -> MutexGuard<'static, Option<Sandboxes>> {
    // A property failure panics while the lock is held; the next input may
    // still use the sandboxes, which a panic never leaves half-changed.
    SANDBOXES.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn new_sandbox() -> Sandbox {
    Sandbox::new(Limits::default()).unwrap_or_else(|err| panic!("the fuzz harness cannot start a sandbox: {err}"))
}

/// Upload `data` as a plugin component. Properties:
/// - the upload is accepted or refused with an error, never a panic, and
///   refusing it again gives the same error (unless one of the two ran out
///   of wall-clock time: see `timed_out`);
/// - bytes over the size limit or without the WebAssembly magic are refused
///   for that reason;
/// - an accepted plugin is named by the SHA-256 of exactly these bytes, has
///   a valid manifest and imports only allowed interfaces; loading it again
///   gives the cached plugin, and its compiled artifact loads on another
///   sandbox as the same plugin;
/// - an accepted plugin evaluates to an outcome or an error, never a panic,
///   and any document it returns passed validation.
pub fn upload(data: &[u8]) {
    let mut guard = sandboxes();
    let sandboxes =
        guard.get_or_insert_with(|| Sandboxes { uploads: new_sandbox(), artifacts: new_sandbox(), accepted: 0 });
    match sandboxes.uploads.precompile(data) {
        Err(err) => refused(&sandboxes.uploads, data, &err),
        Ok((plugin, artifact)) => {
            accepted(sandboxes, data, &plugin, &artifact);
            sandboxes.accepted += 1;
            if sandboxes.accepted >= ACCEPTED_PER_SANDBOX {
                *guard = None;
            }
        }
    }
}

fn refused(sandbox: &Sandbox, data: &[u8], err: &LoadError) {
    let limit = sandbox.limits().component_bytes;
    if data.len() > limit {
        assert!(matches!(err, LoadError::TooLarge { .. }), "an upload over the size limit was refused with: {err}");
    } else if !data.starts_with(b"\0asm") {
        assert!(matches!(err, LoadError::NotAComponent { .. }), "bytes that are not wasm were refused with: {err}");
    }
    assert!(!matches!(err, LoadError::Engine(_)), "a well-formed sandbox reported an engine failure: {err}");
    if timed_out(err) {
        return;
    }
    let again = match sandbox.load(data) {
        Ok(plugin) => panic!("an upload refused with `{err}` was accepted the second time as {}", plugin.id()),
        Err(again) => again,
    };
    if !timed_out(&again) {
        assert_eq!(
            again.to_string(),
            err.to_string(),
            "the same upload was refused for another reason the second time"
        );
    }
}

fn accepted(sandboxes: &Sandboxes, data: &[u8], plugin: &Arc<Plugin>, artifact: &[u8]) {
    let id = plugin.id();
    assert!(data.len() <= sandboxes.uploads.limits().component_bytes, "an upload over the size limit was accepted");
    assert_eq!(id.hash, ContentHash::of(data), "the plugin is not named by the hash of its bytes");
    let manifest = plugin.manifest();
    assert!(manifest.validate().is_ok(), "an accepted plugin has an invalid manifest: {manifest:?}");
    assert_eq!((&id.kind, &id.version), (&manifest.kind, &manifest.version), "the id does not match the manifest");
    for import in plugin.imports() {
        assert!(
            ALLOWED_IMPORT_PREFIXES.iter().any(|prefix| import.starts_with(prefix)),
            "an accepted plugin imports `{import}`"
        );
    }
    match sandboxes.uploads.load(data) {
        Ok(again) => assert!(Arc::ptr_eq(plugin, &again), "loading an accepted plugin again compiled it again"),
        Err(err) => panic!("an accepted plugin was refused the second time: {err}"),
    }
    // SAFETY: `artifact` is exactly what `precompile` produced for the
    // component with this hash, on an engine configured the same way, which
    // is the contract `load_precompiled` asks for (the server proves it with
    // a MAC).
    match unsafe { sandboxes.artifacts.load_precompiled(id.hash, artifact) } {
        Ok(other) => {
            assert_eq!(other.id(), id, "the artifact loads as another plugin");
            assert_eq!(other.manifest(), manifest, "the artifact loads with another manifest");
            assert_eq!(other.imports(), plugin.imports(), "the artifact loads with other imports");
        }
        Err(err) if timed_out(&err) => {}
        Err(err) => panic!("the artifact of an accepted plugin does not load on a host of the same build: {err}"),
    }
    evaluate(&sandboxes.uploads, plugin);
}

/// Whether loading failed on the wall clock: `manifest()` runs under the
/// evaluation time limit, so a busy machine (a fuzzer beside other builds)
/// can refuse what an idle one accepts. Only this refusal may differ between
/// two loads of the same bytes.
fn timed_out(err: &LoadError) -> bool {
    matches!(err, LoadError::ManifestFailed(failure) if matches!(failure.cause, FailureCause::Timeout { .. }))
}

/// Run an accepted plugin for the demo's first resident with the default
/// options, as a kiosk issuance would.
fn evaluate(sandbox: &Sandbox, plugin: &Plugin) {
    // Every option of a valid manifest has a valid default, so a request
    // that chooses nothing resolves.
    let options = plugin
        .manifest()
        .resolve_options(&[])
        .unwrap_or_else(|err| panic!("the defaults of an accepted plugin's options do not resolve: {err}"));
    let request = Request {
        subject: Arc::clone(subject()),
        context: RequestContext {
            issue_date: Date { year: 2025, month: 11, day: 21 },
            municipality: Municipality::preview(),
            options,
        },
    };
    if let Ok(evaluation) = sandbox.evaluate(plugin, &request)
        && let Outcome::Document(document) = evaluation.outcome
    {
        let validated = document.validate(sandbox.limits().output_bytes);
        assert!(validated.is_ok(), "the sandbox passed on a document that fails validation: {validated:?}");
    }
}

fn subject() -> &'static Arc<Resident> {
    static SUBJECT: std::sync::OnceLock<Arc<Resident>> = std::sync::OnceLock::new();
    SUBJECT.get_or_init(|| {
        let json = include_str!("../../fixtures/residents/yamada-taro.json");
        Arc::new(Resident::from_json(json).unwrap_or_else(|err| panic!("the subject fixture is invalid: {err}")))
    })
}
