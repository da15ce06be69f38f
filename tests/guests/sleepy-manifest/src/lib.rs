//! Hostile guest: `manifest()` sleeps for ever.
//!
//! Tests that an upload of it ends at the time limit of `manifest()`, with
//! reason `timeout`, rather than holding the upload (and its slot) open.

use std::time::Duration;

use kofu_plugin_sdk::{Certificate, Document, Manifest, Refusal, Request, Subject, export_certificate};

struct SleepyManifest;

impl Certificate for SleepyManifest {
    fn manifest() -> Manifest {
        loop {
            std::thread::sleep(Duration::MAX);
        }
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        Err(Refusal::new(kofu_plugin_sdk::RefusalCode::MovedOut, "never reached", "never reached"))
    }
}

export_certificate!(SleepyManifest);
