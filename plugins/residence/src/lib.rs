//! 住民票の写し (residence certificate), as a municipality issues it at
//! convenience-store kiosks.
//!
//! Two forms: the individual form lists the subject only; the household form
//! (`include-household`) lists every member of the subject's household who is
//! still a resident, in register order. The head of household, relationships,
//! registered domicile and individual number appear only when the resident
//! chooses them, and each is readable only then: the host traps a read of a
//! field whose option is off.

mod options;
mod person;

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, RefusalCode, Request, ResidencyState,
    Subject, export_certificate, log, refuse, require_resident,
};

use options::{INCLUDE_DOMICILE, INCLUDE_HOUSEHOLD, INCLUDE_MY_NUMBER, INCLUDE_RELATIONSHIP, Options};

const TITLE: &str = "住民票の写し";

/// Pages of the longest household form the kiosk prints: more members than
/// that go to the counter (`too-many-pages`).
const MAX_PAGES: u16 = 10;

struct Residence;

impl Certificate for Residence {
    fn manifest() -> Manifest {
        Manifest::new("residence-certificate", TITLE, "Residence certificate", "1.0.0", 300)
            // A household form lists each member in a block of rows.
            .max_pages(MAX_PAGES)
            .reads(&[
                Field::Name,
                Field::NameKana,
                Field::BirthDate,
                Field::Sex,
                Field::Address,
                Field::AddressSince,
                Field::ResidentSince,
                Field::PreviousAddress,
                Field::HouseholdHead,
                Field::Relationship,
                Field::RegisteredDomicile,
                Field::MyNumber,
                Field::Residency,
                Field::Household,
            ])
            .option(
                OptionSpec::flag(INCLUDE_HOUSEHOLD, "世帯全員を記載する", "List every member of the household", false)
                    .unlocks(&[Field::Household]),
            )
            .option(
                OptionSpec::flag(
                    INCLUDE_RELATIONSHIP,
                    "世帯主・続柄を記載する",
                    "Include the head of household and relationships",
                    true,
                )
                .unlocks(&[Field::HouseholdHead, Field::Relationship]),
            )
            .option(
                OptionSpec::flag(
                    INCLUDE_DOMICILE,
                    "本籍・筆頭者を記載する",
                    "Include the registered domicile and its head",
                    false,
                )
                .unlocks(&[Field::RegisteredDomicile]),
            )
            .option(
                OptionSpec::flag(
                    INCLUDE_MY_NUMBER,
                    "個人番号を記載する",
                    "Include the individual number (My Number)",
                    false,
                )
                .unlocks(&[Field::MyNumber]),
            )
    }

    fn check(subject: &Subject, request: &Request) -> Result<(), Refusal> {
        require_resident(&subject.residency())?;
        if Options::of(request).household {
            // The household form prints the other members' records too, so a
            // support measure on any member keeps it away from kiosks. The
            // refusal is the same as for the subject: it names no one.
            if subject.household().iter().any(|member| member.residency().restricted) {
                return Err(Refusal::access_restricted());
            }
        }
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let options = Options::of(request);
        // `household()` is readable only with `include-household` on, so the
        // individual form never calls it.
        let household = if options.household { subject.household() } else { Vec::new() };
        let listed: Vec<&Subject> = if options.household {
            // Members who moved out or died stay in the register but are not
            // listed on a copy of the current household.
            household.iter().filter(|m| m.residency().state == ResidencyState::Resident).collect()
        } else {
            vec![subject]
        };
        if listed.is_empty() {
            return refuse(
                RefusalCode::NoRecord,
                "記載できる世帯員がいないため、発行できません。窓口でお問い合わせください。",
                "No member of the household can be listed. Please ask at the municipal office.",
            );
        }

        let mut document =
            DocumentBuilder::new(if options.household { "住民票の写し（世帯全員）" } else { TITLE })
                .row("住所", subject.address());
        if options.relationship {
            document = document.row("世帯主", subject.household_head());
        }
        for person in &listed {
            document = document.spacing(4).key_values(person::rows(person, &options));
        }
        let certification = if options.household {
            "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
        } else {
            "この写しは、住民票の原本と相違ないことを証明する。"
        };
        let document =
            document.spacing(2).paragraph("以下余白").certification(certification).signed_by(request).build();

        if options.household {
            log::info(&format!("rendered household form, {} members", listed.len()));
        } else {
            log::info("rendered individual form");
        }
        Ok(document)
    }
}

export_certificate!(Residence);
