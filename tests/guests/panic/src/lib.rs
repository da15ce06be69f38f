//! Hostile guest: `render` panics.
//!
//! Tests that the host fails the issuance on the resulting trap and shows the
//! panic message, which the SDK's panic hook sends through `log.write`.

use kofu_plugin_sdk::{Certificate, Document, Field, Manifest, Refusal, Request, Subject, export_certificate};

struct Panic;

impl Certificate for Panic {
    fn manifest() -> Manifest {
        Manifest::new("hostile-panic", "パニック", "Panic", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        // Reads a field first, as a real template would: the issuance
        // records it although the render fails.
        std::hint::black_box(subject.name());
        panic!("template bug: 世帯主 is missing");
    }
}

export_certificate!(Panic);
