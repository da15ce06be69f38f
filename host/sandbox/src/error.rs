use std::fmt;
use std::time::Duration;

use kofu_model::{DocumentError, Field, ManifestError};

use crate::log::LogEntry;
use crate::plugin::PluginId;

/// Why a component could not be loaded as a certificate plugin. Each message
/// says what is wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the component is {size} bytes, over the limit of {limit} bytes: build it with --release and strip debug info"
    )]
    TooLarge { size: usize, limit: usize },
    #[error(
        "this is not a WebAssembly component ({detail}); build the plugin with `cargo build --release --target wasm32-wasip2`"
    )]
    NotAComponent { detail: String },
    #[error(
        "the component imports {}, which kofu plugins may not use: plugins get no filesystem, network, HTTP or environment; \
         remove the code that needs it (allowed: kofu:certificate/* and the WASI interfaces Rust's standard library needs to start)",
        .imports.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    )]
    ForbiddenImport { imports: Vec<String> },
    #[error(
        "the component does not implement the kofu:certificate/certificate world (0.2.0, or 0.1.0): {detail}; \
         build it against the WIT in wit/ (the kofu-plugin-sdk crate does this for you)"
    )]
    WrongWorld { detail: String },
    #[error("the plugin's manifest is invalid: {0}")]
    InvalidManifest(#[from] ManifestError),
    #[error("the plugin failed while describing itself: {0}")]
    ManifestFailed(Box<EvaluationError>),
    #[error("the sandbox could not be set up: {0}")]
    Engine(String),
}

/// The stage of an evaluation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Manifest,
    Check,
    Render,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Manifest => "manifest()",
            Stage::Check => "check()",
            Stage::Render => "render()",
        })
    }
}

/// What went wrong inside the sandbox. Every cause fails the evaluation
/// closed: no document comes out of a failed evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureCause {
    /// The instruction budget ran out (usually an endless loop).
    FuelExhausted { budget: u64 },
    /// The wall-clock budget ran out.
    Timeout { limit: Duration },
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit { limit: usize },
    /// The WebAssembly stack overflowed (usually unbounded recursion).
    StackOverflow,
    /// The plugin panicked; the message comes from the SDK's panic hook.
    Panic { message: Option<String> },
    /// The plugin read a field its manifest does not declare, or a field
    /// behind an option the request did not choose.
    UndeclaredField { field: Field, declared_but_locked: bool },
    /// What the plugin returned (a document, a refusal, its manifest) is
    /// over its limit; `size` is how far the host read before it stopped.
    OutputTooLarge { size: usize, limit: usize },
    /// The returned document breaks the document model's rules.
    MalformedDocument(DocumentError),
    /// The plugin asked the host to copy or make more bytes in one call
    /// than the host takes (checked before anything is copied).
    HostCallTooLarge { call: &'static str, size: u64, limit: u64 },
    /// Any other trap.
    Trap { message: String },
}

impl FailureCause {
    /// A short stable name for metrics, logs and audit records.
    pub fn slug(&self) -> &'static str {
        match self {
            FailureCause::FuelExhausted { .. } => "fuel-exhausted",
            FailureCause::Timeout { .. } => "timeout",
            FailureCause::MemoryLimit { .. } => "memory-limit",
            FailureCause::StackOverflow => "stack-overflow",
            FailureCause::Panic { .. } => "panic",
            FailureCause::UndeclaredField { .. } => "undeclared-field",
            FailureCause::OutputTooLarge { .. } => "output-too-large",
            FailureCause::MalformedDocument(_) => "malformed-document",
            FailureCause::HostCallTooLarge { .. } => "host-call-too-large",
            FailureCause::Trap { .. } => "trap",
        }
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::FuelExhausted { budget } => write!(
                f,
                "it used its whole instruction budget of {budget} fuel; look for an endless loop, or do less work per certificate"
            ),
            FailureCause::Timeout { limit } => write!(
                f,
                "it ran longer than the time limit of {} ms (time asked for in sleeps or polls counts too); \
                 look for an endless loop, a sleep or a very slow computation",
                limit.as_millis()
            ),
            FailureCause::MemoryLimit { limit } => write!(
                f,
                "it tried to use more than its memory limit of {} MiB; look for data that grows without bound",
                limit >> 20
            ),
            FailureCause::StackOverflow => f.write_str("its stack overflowed; look for recursion without an end"),
            FailureCause::Panic { message: Some(message) } => write!(f, "it panicked: {message}"),
            FailureCause::Panic { message: None } => {
                f.write_str("it aborted (a panic or an explicit abort, with no message)")
            }
            FailureCause::UndeclaredField { field, declared_but_locked: false } => write!(
                f,
                "it read the field `{field}`, which its manifest does not declare; add `{field}` to the manifest's `reads`"
            ),
            FailureCause::UndeclaredField { field, declared_but_locked: true } => write!(
                f,
                "it read the field `{field}`, which is only readable when the option unlocking it is chosen; check the option before reading the field"
            ),
            FailureCause::OutputTooLarge { size, limit } => {
                write!(
                    f,
                    "it returned more than the output limit of {limit} bytes (the host stopped reading at {size}); \
                     a certificate's text is a few kilobytes: look for a loop that repeats blocks, rows or text"
                )
            }
            FailureCause::MalformedDocument(error) => write!(f, "it returned a malformed document: {error}"),
            FailureCause::HostCallTooLarge { call, size, limit } => write!(
                f,
                "it passed {size} bytes to `{call}`, over the host's limit of {limit} bytes per call; pass less at a time"
            ),
            FailureCause::Trap { message } => write!(f, "it trapped: {message}"),
        }
    }
}

/// A failed evaluation: which plugin, where, why, and what it logged.
#[derive(Debug, Clone)]
pub struct EvaluationError {
    pub plugin: PluginId,
    pub stage: Stage,
    pub cause: FailureCause,
    /// The WebAssembly backtrace at the trap, when there is one.
    pub backtrace: Option<String>,
    /// What the plugin logged before it failed.
    pub logs: Vec<LogEntry>,
    /// The fields it read before it failed: recorded with the issuance like
    /// those of an evaluation that completed.
    pub fields_read: Vec<kofu_model::Field>,
}

impl fmt::Display for EvaluationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin {} failed in {}: {}", self.plugin, self.stage, self.cause)
    }
}

impl std::error::Error for EvaluationError {}
