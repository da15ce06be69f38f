//! The kofu sandbox: runs certificate plugins (WebAssembly components built
//! against `wit/certificate.wit`, `kofu:certificate@0.2.0`, or against the
//! published 0.1.0 in `wit/v0.1.0/`) with a fresh store and instance for every
//! evaluation, under the limits in [`Limits`].
//!
//! What a plugin can reach is decided here: the request's subject through a
//! capability checked on every call, bounded logs, and WASI with nothing
//! behind it (no files, network or environment; clocks and randomness are
//! virtual, so evaluations replay exactly). Any trap, limit or malformed
//! output is an [`EvaluationError`] naming the plugin, its version and the
//! cause; nothing comes out of a failed evaluation.

mod adapter;
mod bindings;
mod clock;
mod convert;
mod error;
mod lift;
mod limits;
mod log;
mod plugin;
mod sandbox;
mod state;
mod wasi;

pub use error::{EvaluationError, FailureCause, LoadError, Stage};
pub use limits::Limits;
pub use log::{LogEntry, LogLevel};
pub use plugin::{ContentHash, Contract, Plugin, PluginId};
pub use sandbox::{Evaluation, Outcome, Request, Sandbox};
pub use state::Read;
