//! 印鑑登録証明書 (seal registration certificate), as a municipality issues
//! it at convenience-store kiosks: the registered seal impression with the
//! registrant's particulars.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, MAX_SEAL_CHARS, Manifest, Refusal, RefusalCode, Request,
    SealRegistration, SealState, Subject, era, export_certificate, log, refuse, require_resident, sex_label,
};

const TITLE: &str = "印鑑登録証明書";

struct Seal;

/// The registration in force, or the refusal that says why there is none.
/// Both `check` and `render` use it: `render` may not assume `check` ran.
fn active_registration(subject: &Subject) -> Result<SealRegistration, Refusal> {
    let Some(registration) = subject.seal_registration() else {
        return refuse(
            RefusalCode::SealNotRegistered,
            "印鑑登録がされていないため、印鑑登録証明書を発行できません。窓口で印鑑登録の手続きをしてください。",
            "No seal is registered, so a seal registration certificate cannot be issued. Please register a \
             seal at the municipal office.",
        );
    };
    match registration.state {
        SealState::Active => Ok(registration),
        SealState::Cancelled => refuse(
            RefusalCode::SealCancelled,
            "印鑑登録が廃止されているため発行できません。",
            "The seal registration has been cancelled, so the certificate cannot be issued.",
        ),
    }
}

impl Certificate for Seal {
    fn manifest() -> Manifest {
        // One person, one seal: one page.
        Manifest::new("seal-registration-certificate", TITLE, "Seal registration certificate", "1.0.0", 300)
            .max_pages(1)
            .reads(&[
                Field::Name,
                Field::NameKana,
                Field::BirthDate,
                Field::Sex,
                Field::Address,
                Field::Residency,
                Field::SealRegistration,
            ])
    }

    fn check(subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        // Residency first: a moved-out or restricted resident is refused
        // without a word about their seal.
        require_resident(&subject.residency())?;
        active_registration(subject).map(|_| ())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let registration = active_registration(subject)?;
        if registration.impression.trim().is_empty() || registration.impression.chars().count() > MAX_SEAL_CHARS {
            // The kiosk draws the impression from its characters; one it
            // cannot draw must be certified from the original at the counter.
            return refuse(
                RefusalCode::NotPrintable,
                "登録されている印影をコンビニ交付で印刷できないため、窓口で申請してください。",
                "The registered seal impression cannot be printed at a convenience store. Please apply at the \
                 municipal office.",
            );
        }
        let document = DocumentBuilder::new(TITLE)
            .seal_impression(registration.impression)
            .spacing(4)
            .row("氏名", format!("{}（{}）", subject.name(), subject.name_kana()))
            .row("生年月日", era::format_date_or_western(subject.birth_date()))
            .row("性別", sex_label(subject.sex()))
            .row("住所", subject.address())
            .row("登録番号", registration.number)
            .spacing(2)
            .paragraph("以下余白")
            .certification("この写しは、登録されている印影と相違ないことを証明する。")
            .signed_by(request)
            .build();
        log::info("rendered seal registration certificate");
        Ok(document)
    }
}

export_certificate!(Seal);
