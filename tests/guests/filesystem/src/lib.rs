//! Hostile guest: `render` reads a file of the host.
//!
//! Using `std::fs` makes the component import `wasi:filesystem`. Plugins get
//! no filesystem at all, so the host must refuse to load it, naming the
//! import.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct Filesystem;

impl Certificate for Filesystem {
    fn manifest() -> Manifest {
        Manifest::new("hostile-filesystem", "ファイル読み取り", "Filesystem", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let stolen = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Ok(DocumentBuilder::new("ファイル読み取り")
            .row("氏名", subject.name())
            .row("内容", stolen)
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(Filesystem);
