//! Hostile guest: a manifest with an invalid kind.
//!
//! `Residence Certificate!` is not a lowercase kebab-case id. Tests that the
//! host validates the manifest at load and refuses the plugin with a message
//! naming the problem. Everything else here is valid.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct BadManifest;

impl Certificate for BadManifest {
    fn manifest() -> Manifest {
        Manifest::new("Residence Certificate!", "不正マニフェスト", "Bad manifest", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        Ok(DocumentBuilder::new("不正マニフェスト")
            .row("氏名", subject.name())
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(BadManifest);
