//! Test guest: a faulty new release of `tax-certificate` (version 2.0.0)
//! whose template panics. A municipality activates it by mistake and rolls
//! back to the bundled 1.0.0.

use kofu_plugin_sdk::{Certificate, Document, Field, Manifest, Refusal, Request, Subject, export_certificate};

struct BrokenRelease;

impl Certificate for BrokenRelease {
    fn manifest() -> Manifest {
        Manifest::new("tax-certificate", "納税証明書", "Tax certificate", "2.0.0", 300).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        panic!("template bug in release 2.0.0");
    }
}

export_certificate!(BrokenRelease);
