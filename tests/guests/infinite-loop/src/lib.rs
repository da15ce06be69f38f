//! Hostile guest: `render` never returns.
//!
//! Tests that the host interrupts a plugin that spins (fuel or epoch
//! deadline), fails the issuance, and keeps serving.

use std::hint::black_box;

use kofu_plugin_sdk::{Certificate, Document, Field, Manifest, Refusal, Request, Subject, export_certificate};

struct InfiniteLoop;

impl Certificate for InfiniteLoop {
    fn manifest() -> Manifest {
        Manifest::new("hostile-infinite-loop", "無限ループ", "Infinite loop", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        let mut counter: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving the loop useless.
            counter = black_box(counter.wrapping_add(1));
        }
    }
}

export_certificate!(InfiniteLoop);
