//! Hostile guest: `render` opens a network connection.
//!
//! Using `std::net` makes the component import `wasi:sockets`. Tests that the
//! host refuses to load (or link) a plugin importing anything beyond the
//! certificate world and the WASI it grants, rather than giving it a network.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct ForbiddenImport;

impl Certificate for ForbiddenImport {
    fn manifest() -> Manifest {
        Manifest::new("hostile-forbidden-import", "禁止インポート", "Forbidden import", "0.1.0", 0)
            .reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        // Port 9 (discard) on loopback: harmless even if it ever ran.
        let outcome = match std::net::TcpStream::connect("127.0.0.1:9") {
            Ok(_) => "connected",
            Err(_) => "refused",
        };
        Ok(DocumentBuilder::new("禁止インポート")
            .row("氏名", subject.name())
            .row("接続", outcome)
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(ForbiddenImport);
