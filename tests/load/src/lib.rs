//! kofu-load: evidence that kofu delivers every certificate to its own
//! requester only, under load, faults and hostile plugins.
//!
//! It provisions municipalities, a register, cards and kiosks through the
//! public API of a running `kofu serve`, then drives many simulated kiosks
//! concurrently over HTTP. Every delivered PDF is read back by `pdftotext`
//! (poppler: nothing shared with kofu's renderer) and checked against the
//! population it generated: the requester's name (or an allowed household
//! member's) and no one else's, and this issuance's number on every page.
//! It shares no code with the server.

pub mod campaign;
pub mod check;
pub mod client;
pub mod metrics;
pub mod oracle;
pub mod population;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run;
pub mod server;
pub mod setup;

pub use report::Report;
pub use run::{Live, RunOptions, run};
