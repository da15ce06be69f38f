//! A loaded plugin: its content hash, manifest, and pre-instantiated
//! component, ready for a fresh instance per evaluation.

use std::fmt;

use kofu_model::Manifest;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};

use crate::error::LoadError;
use crate::state::StoreState;

/// SHA-256 of a component's bytes: the identity of a plugin version.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Names a plugin in every error and log line: kind, version and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginId {
    pub kind: String,
    pub version: String,
    pub hash: ContentHash,
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}…)", self.kind, self.version, &self.hash.to_string()[..19])
    }
}

/// The published version of `kofu:certificate` a plugin was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// 0.1.0: no page maximum in the manifest (the host's limit applies).
    V0_1,
    /// 0.2.0, the current contract (`wit/certificate.wit`).
    V0_2,
}

impl Contract {
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }
}

/// Where the world's three functions are among the component's exports.
#[derive(Clone, Copy)]
pub(crate) struct Exports {
    pub manifest: ComponentExportIndex,
    pub check: ComponentExportIndex,
    pub render: ComponentExportIndex,
}

/// A validated, compiled plugin. Cheap to share; holds no per-request state.
pub struct Plugin {
    pub(crate) id: PluginId,
    pub(crate) manifest: Manifest,
    pub(crate) contract: Contract,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: Exports,
    pub(crate) imports: Vec<String>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The contract version the plugin was built against.
    pub fn contract(&self) -> Contract {
        self.contract
    }

    /// The interfaces the component imports, as declared in its binary.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }
}

/// Interfaces a plugin may import, without their version. Rust's standard
/// library for wasm32-wasip2 imports the `wasi:cli` and `wasi:io` ones to
/// start up and to print; clocks and randomness come in with `SystemTime`
/// and `HashMap`. The host grants them with nothing behind them: no
/// environment, no arguments, output discarded, and virtual clocks and
/// randomness. Filesystem, sockets and HTTP are not on the list: a plugin
/// that imports them is rejected when it is loaded.
const ALLOWED_IMPORTS: &[&str] = &[
    "kofu:certificate/types",
    "kofu:certificate/resident",
    "kofu:certificate/log",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Reject any import outside the allow-list, naming every one.
pub(crate) fn check_imports(engine: &Engine, component: &Component) -> Result<Vec<String>, LoadError> {
    let mut imports = Vec::new();
    let mut forbidden = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        // Type imports (e.g. the world's `use resident.{subject}`) only name
        // types of the allowed interfaces; they reach nothing by themselves.
        if matches!(item.ty, ComponentItem::Type(_) | ComponentItem::Resource(_)) {
            continue;
        }
        if ALLOWED_IMPORTS.contains(&unversioned(name)) {
            imports.push(name.to_owned());
        } else {
            forbidden.push(name.to_owned());
        }
    }
    if forbidden.is_empty() { Ok(imports) } else { Err(LoadError::ForbiddenImport { imports: forbidden }) }
}

/// The same check as [`check_imports`], on the component's bytes before
/// anything is compiled: a component with forbidden imports costs a parse,
/// not a compilation. Bytes that do not parse are left to the compiler,
/// whose error explains them, unless forbidden imports came before the
/// fault.
pub(crate) fn check_imports_before_compiling(bytes: &[u8]) -> Result<(), LoadError> {
    use wasmparser::{ComponentTypeRef, Parser, Payload};
    let mut forbidden = Vec::new();
    // Nested modules and components have imports of their own, satisfied
    // inside the component; only the outermost ones reach the host.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let Ok(import) = import else { break };
                    if matches!(import.ty, ComponentTypeRef::Type(_)) {
                        continue;
                    }
                    if !ALLOWED_IMPORTS.contains(&unversioned(import.name.name)) {
                        forbidden.push(import.name.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    if forbidden.is_empty() { Ok(()) } else { Err(LoadError::ForbiddenImport { imports: forbidden }) }
}

/// Link the component against the host's imports (those of every contract
/// version) and find the world's functions, or explain why it does not fit.
/// Their types are checked when the manifest is read.
pub(crate) fn link(
    engine: &Engine,
    linker: &Linker<StoreState>,
    component: &Component,
) -> Result<(InstancePre<StoreState>, Exports), LoadError> {
    let exports = || {
        let names: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, item)| match item.ty {
                ComponentItem::ComponentFunc(_) => format!("function `{name}`"),
                ComponentItem::ComponentInstance(_) => format!("interface `{name}`"),
                _ => format!("`{name}`"),
            })
            .collect();
        if names.is_empty() { "nothing".to_owned() } else { names.join(", ") }
    };
    let instance_pre = linker.instantiate_pre(component).map_err(|err| LoadError::WrongWorld {
        detail: format!("its imports do not match the world ({})", root_message(&err)),
    })?;
    let find = |name: &str| {
        component.get_export_index(None, name).ok_or_else(|| LoadError::WrongWorld {
            detail: format!(
                "it exports {}, but the world needs functions `manifest`, `check` and `render` (no `{name}`)",
                exports()
            ),
        })
    };
    let indices = Exports { manifest: find("manifest")?, check: find("check")?, render: find("render")? };
    Ok((instance_pre, indices))
}

/// Explain why bytes are not a component.
pub(crate) fn not_a_component(bytes: &[u8], err: &wasmtime::Error) -> LoadError {
    let detail = match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => "it is a core WebAssembly module, not a component".to_owned(),
        Some([0, b'a', b's', b'm', ..]) => format!("it could not be parsed: {}", root_message(err)),
        _ => "it does not start with the WebAssembly magic bytes".to_owned(),
    };
    LoadError::NotAComponent { detail }
}

pub(crate) fn root_message(err: &wasmtime::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
