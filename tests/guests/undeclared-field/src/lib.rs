//! Hostile guest: `render` reads a field its manifest does not declare.
//!
//! The manifest reads only `name`; render asks for `my_number()` and prints
//! it. Tests that the host traps the read (fail closed) so the number never
//! reaches a document.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct UndeclaredField;

impl Certificate for UndeclaredField {
    fn manifest() -> Manifest {
        Manifest::new("hostile-undeclared-field", "未宣言項目", "Undeclared field", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let number = subject.my_number().unwrap_or_default();
        Ok(DocumentBuilder::new("未宣言項目")
            .row("氏名", subject.name())
            .row("個人番号", number)
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(UndeclaredField);
