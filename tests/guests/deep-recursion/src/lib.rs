//! Hostile guest: `render` recurses until the stack overflows.
//!
//! Tests that the host turns a guest stack overflow (wasm call stack or the
//! shadow stack in linear memory, whichever runs out first) into a failed
//! issuance rather than a crash.

use std::hint::black_box;

use kofu_plugin_sdk::{Certificate, Document, Field, Manifest, Refusal, Request, Subject, export_certificate};

/// Never returns in practice. The call is not in tail position (its result
/// is combined with a local afterwards), so no frame is reused, and the
/// black_box'd exit condition keeps rustc from calling the recursion
/// unconditional and the optimiser from folding it.
#[inline(never)]
fn dive(depth: u64) -> u64 {
    let frame = black_box([depth; 16]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    black_box(dive(depth + 1)).wrapping_add(frame[depth as usize % 16])
}

struct DeepRecursion;

impl Certificate for DeepRecursion {
    fn manifest() -> Manifest {
        Manifest::new("hostile-deep-recursion", "無限再帰", "Deep recursion", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        let depth = dive(0);
        // Unreachable in practice; a document only to satisfy the signature.
        Err(Refusal::new(kofu_plugin_sdk::RefusalCode::Other, format!("深さ{depth}"), format!("depth {depth}")))
    }
}

export_certificate!(DeepRecursion);
