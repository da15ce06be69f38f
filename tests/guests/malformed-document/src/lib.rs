//! Hostile guest: `render` returns a structurally invalid document.
//!
//! Its table has 2 columns but a row of 3 cells. Tests that the host
//! validates documents and names the faulty block instead of rendering
//! garbage or panicking in the layout.

use kofu_plugin_sdk::{
    Align, Certificate, Column, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject,
    export_certificate,
};

struct MalformedDocument;

impl Certificate for MalformedDocument {
    fn manifest() -> Manifest {
        Manifest::new("hostile-malformed-document", "不正文書", "Malformed document", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        Ok(DocumentBuilder::new("不正文書")
            .table(
                vec![Column::new("項目", 1, Align::Left), Column::new("内容", 2, Align::Left)],
                vec![vec!["氏名".to_owned(), subject.name(), "余分なセル".to_owned()]],
            )
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(MalformedDocument);
