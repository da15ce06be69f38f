//! Fuzz targets for the three places where kofu reads bytes it did not
//! write: a municipality's plugin upload ([`upload`]), a register import or
//! status change ([`register_import`]) and the document a plugin returns
//! ([`document`]).
//!
//! Each target takes any bytes and panics only when a property kofu relies
//! on fails: a crash inside kofu's code and a broken promise look the same to
//! the fuzzer. The `fuzz/` cargo-fuzz project calls these functions from
//! libFuzzer (`scripts/fuzz`); this crate's own test runs them over the seed
//! corpus and deterministic mutations of it, so they keep compiling and keep
//! passing with the rest of the suite.

mod document;
mod input;
pub mod mutate;
mod register;
mod upload;

pub use document::document;
pub use register::register_import;
pub use upload::upload;

/// The names of the targets, as the `fuzz/` project and the seed directories
/// (`fuzz/seeds/<name>`) spell them.
pub const TARGETS: [&str; 3] = ["upload", "register_import", "document"];
