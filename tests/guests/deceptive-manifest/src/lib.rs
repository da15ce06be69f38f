//! Hostile guest: an option label with a right-to-left override, so that
//! "個人番号を記載しない" would display as if it said the opposite, and an
//! English name with an escape sequence that recolours a terminal.
//!
//! The host must refuse it at load, naming the field, and print the text
//! escaped.

use kofu_plugin_sdk::{
    Certificate, Document, Field, Manifest, OptionSpec, Refusal, Request, Subject, export_certificate,
};

struct Deceptive;

impl Certificate for Deceptive {
    fn manifest() -> Manifest {
        Manifest::new("hostile-deceptive-manifest", "住民票の写し", "Residence \u{1b}[31mcertificate", "0.1.0", 0)
            .reads(&[Field::Name])
            .option(OptionSpec::flag(
                "omit-my-number",
                "個人番号を記載\u{202E}いなし",
                "Omit the individual number",
                true,
            ))
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        unreachable!("the host never loads this plugin")
    }
}

export_certificate!(Deceptive);
