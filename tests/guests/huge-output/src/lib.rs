//! Hostile guest: `render` returns a document far over any output cap.
//!
//! The paragraph holds about 4 MiB of text: small enough to build inside the
//! sandbox's memory, far too large for a certificate. Tests that the host
//! rejects it by its output limit (before laying it out).

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

/// "あ" is 3 bytes in UTF-8: this many make about 4 MiB.
const CHARACTERS: usize = (4 << 20) / 3;

struct HugeOutput;

impl Certificate for HugeOutput {
    fn manifest() -> Manifest {
        Manifest::new("hostile-huge-output", "巨大出力", "Huge output", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        Ok(DocumentBuilder::new("巨大出力")
            .paragraph("あ".repeat(CHARACTERS))
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(HugeOutput);
