//! The issuance pipeline, out of HTTP. Everything between a kiosk's request
//! and a recorded, delivered certificate happens here, through one context,
//! [`Issuer`]: the store, the certifier in its sandbox slots, the loaded
//! plugins, the register indexes of the binding check, the issued documents
//! this host holds, and the issuance metrics. The server authenticates,
//! parses and answers; it maps every [`IssueError`] to one HTTP answer.
//!
//! - [`Issuer::issue`] (`issuance.rs`): one issuance, from the request to the
//!   recorded outcome and its audit entry.
//! - [`Issuer::fetch`] and [`Issuer::confirm_printed`] (`delivery.rs`): the
//!   one delivery of a document, checked against its stamps before it leaves.
//! - `reproduce.rs`: re-rendering a document from its recorded input, for a
//!   fetch on a host that does not hold it and for the audit checks
//!   (`audit.rs`): [`verify_audit`] (`kofu audit verify`), which needs only
//!   a store and a certifier, and [`Issuer::verify_municipality_audit`], one
//!   municipality's, in this host's sandbox slots.
//! - [`Issuer::store_plugin`] and [`Issuer::dry_run`] (`versions.rs`): a
//!   municipality's plugin versions, uploaded and previewed.

mod audit;
mod context;
mod delivery;
mod documents;
mod error;
mod issuance;
mod metrics;
mod plugins;
mod register;
mod register_index;
mod reproduce;
mod sandboxes;
mod slots;
mod versions;

pub use audit::{AuditReport, verify_audit};
pub use context::{Issuer, Setup};
pub use documents::HeldDocuments;
pub use error::IssueError;
pub use issuance::{IdempotencyKey, IssueRequest, option_texts};
pub use metrics::Metrics;
pub use plugins::ArtifactKey;
pub use sandboxes::Sandboxes;
pub use slots::{Busy, Pool, PoolSettings, PoolStatus, Tenant};
pub use versions::{Activate, DryRun, MAX_FEE_YEN};

/// The exact host build, recorded with every issuance: a document is
/// re-rendered byte for byte only by the build that made it.
pub const HOST_BUILD: &str = concat!("kofu ", env!("CARGO_PKG_VERSION"), " (", env!("KOFU_GIT_BUILD"), ")");
