//! A certificate of the resident's name and address: the smallest complete
//! kofu plugin. Change the manifest, `check` and `render`; run
//! `kofu plugin test` after each change.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, Request, Subject, era,
    export_certificate, require_resident,
};

struct NameCertificate;

impl Certificate for NameCertificate {
    fn manifest() -> Manifest {
        // kind, Japanese and English names, version, fee in yen.
        Manifest::new("name-certificate", "氏名証明書", "Name certificate", "0.1.0", 200)
            .max_pages(1)
            .reads(&[Field::Name, Field::Address, Field::BirthDate, Field::Residency])
            .option(
                OptionSpec::flag("include-birth-date", "生年月日を記載する", "Include the date of birth", false)
                    .unlocks(&[Field::BirthDate]),
            )
    }

    fn check(subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        // Refuses moved-out, deceased and restricted residents.
        require_resident(&subject.residency())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let mut document = DocumentBuilder::new("氏名証明書").row("氏名", subject.name()).row("住所", subject.address());
        if request.flag("include-birth-date") {
            document = document.row("生年月日", era::format_date_or_western(subject.birth_date()));
        }
        Ok(document
            .paragraph("以下余白")
            .certification("上記のとおり相違ないことを証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(NameCertificate);
