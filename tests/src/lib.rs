//! Shared test support: guest component paths (built by `build.rs`), the
//! resident fixtures, and (re-exported) the independent PDF text reader.

use std::path::{Path, PathBuf};

use kofu_model::Resident;

/// Paths of the guest components, built from source by `build.rs`.
pub mod guests {
    pub const RESIDENCE: &str = env!("KOFU_GUEST_PLUGIN_RESIDENCE");
    pub const SEAL: &str = env!("KOFU_GUEST_PLUGIN_SEAL");
    pub const TAX: &str = env!("KOFU_GUEST_PLUGIN_TAX");
    pub const INFINITE_LOOP: &str = env!("KOFU_GUEST_HOSTILE_INFINITE_LOOP");
    pub const MEMORY_BOMB: &str = env!("KOFU_GUEST_HOSTILE_MEMORY_BOMB");
    pub const DEEP_RECURSION: &str = env!("KOFU_GUEST_HOSTILE_DEEP_RECURSION");
    pub const HUGE_OUTPUT: &str = env!("KOFU_GUEST_HOSTILE_HUGE_OUTPUT");
    pub const PANIC: &str = env!("KOFU_GUEST_HOSTILE_PANIC");
    pub const UNDECLARED_FIELD: &str = env!("KOFU_GUEST_HOSTILE_UNDECLARED_FIELD");
    pub const FORBIDDEN_IMPORT: &str = env!("KOFU_GUEST_HOSTILE_FORBIDDEN_IMPORT");
    pub const MALFORMED_DOCUMENT: &str = env!("KOFU_GUEST_HOSTILE_MALFORMED_DOCUMENT");
    pub const BAD_MANIFEST: &str = env!("KOFU_GUEST_HOSTILE_BAD_MANIFEST");
    pub const OTHER_WORLD: &str = env!("KOFU_GUEST_HOSTILE_OTHER_WORLD");
    pub const FILESYSTEM: &str = env!("KOFU_GUEST_HOSTILE_FILESYSTEM");
    pub const LOCKED_FIELD: &str = env!("KOFU_GUEST_HOSTILE_LOCKED_FIELD");
    pub const BROKEN_RELEASE: &str = env!("KOFU_GUEST_HOSTILE_BROKEN_RELEASE");
    pub const ENVIRONMENT_PROBE: &str = env!("KOFU_GUEST_PROBE_ENVIRONMENT");
    pub const FORGER: &str = env!("KOFU_GUEST_HOSTILE_FORGER");
    pub const DECEPTIVE_MANIFEST: &str = env!("KOFU_GUEST_HOSTILE_DECEPTIVE_MANIFEST");
    pub const HOST_CALLS: &str = env!("KOFU_GUEST_HOSTILE_HOST_CALLS");
    pub const SLEEPY_MANIFEST: &str = env!("KOFU_GUEST_HOSTILE_SLEEPY_MANIFEST");
    pub const CONTRACT_V0_1: &str = env!("KOFU_GUEST_PROBE_CONTRACT_V0_1");
    pub const ALIASING_DOCUMENT: &str = env!("KOFU_GUEST_HOSTILE_ALIASING_DOCUMENT");
}

/// Read a guest component's bytes.
pub fn component(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("cannot read guest component {path}: {err}"))
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/residents")
}

/// Every resident fixture, by file stem, in name order.
pub fn fixtures() -> Vec<(String, Resident)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("fixture text");
            let resident = Resident::from_json(&text).unwrap_or_else(|err| panic!("{stem}: {err}"));
            (stem, resident)
        })
        .collect()
}

pub fn fixture(stem: &str) -> Resident {
    fixtures().into_iter().find(|(name, _)| name == stem).unwrap_or_else(|| panic!("no fixture named {stem}")).1
}

pub use kofu_pdf_check::{normalize, pdf_text};

/// The strings that identify a fixture's household in a document: every
/// member's name, and the address.
pub fn identifying_strings(resident: &Resident) -> Vec<String> {
    let mut strings = vec![normalize(&resident.name), normalize(&resident.address)];
    strings.extend(resident.household.iter().map(|member| normalize(&member.name)));
    strings
}
