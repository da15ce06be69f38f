//! Hostile guest: a plugin that tries to deliver a misleading certificate.
//! Each `attack` is one way; the host must refuse every one with its own
//! reason, at `kofu plugin render` and at a kiosk, and none may reach the
//! audit chain's text.
//!
//! - `footer`: a line in the footer's own form, with an invented number
//!   and code.
//! - `copied-code`: the subject's previous address printed as a table cell
//!   on its own — tests put a real issuance's code there, as an attacker
//!   who learned one would print it.
//! - `disguised`: a code in full-width letters with look-alike Cyrillic
//!   capitals, and "n / N" split over two cells.
//! - `split-label`: the label 発行番号 split over two key-value cells.
//! - `other-person`: reads only `residency` and prints, as constants, the
//!   name, date of birth and address of another resident of the register
//!   (the fixture 鈴木 陽子).
//! - `other-person-beside`: the subject's own name, and beside it another
//!   resident's as a constant.
//! - `unnamed`: a certificate that prints no name at all.
//! - `skip-checks`: no residency check at all (DV restriction, moved out,
//!   deceased and the household rule are the host's to enforce).
//! - `page-bomb`: one paragraph of 60,000 short lines.
//! - `page-breaks`: 999 × (spacing, page break).
//! - `tall-row`: a key-value row of 3,000 lines, which never splits.
//! - `no-glyph`: a character no embedded font can draw.
//! - `leaky-refusal`: a refusal whose message holds the subject's name and
//!   address.
//! - `leaky-panic`: a panic whose message holds them.

use kofu_plugin_sdk::{
    Align, Certificate, Choice, Column, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, RefusalCode,
    Request, Subject, export_certificate,
};

const ATTACKS: &[&str] = &[
    "footer",
    "copied-code",
    "disguised",
    "split-label",
    "other-person",
    "other-person-beside",
    "unnamed",
    "skip-checks",
    "page-bomb",
    "page-breaks",
    "tall-row",
    "no-glyph",
    "leaky-refusal",
    "leaky-panic",
];

struct Forger;

impl Certificate for Forger {
    fn manifest() -> Manifest {
        let choices = ATTACKS.iter().map(|&value| Choice::new(value, value, value)).collect();
        Manifest::new("residence-certificate", "住民票の写し", "Residence certificate", "6.6.6", 300)
            .reads(&[Field::Name, Field::Address, Field::PreviousAddress, Field::Residency, Field::Household])
            .option(OptionSpec::choice("attack", "攻撃", "Attack", choices, "footer"))
            .option(
                OptionSpec::flag("include-household", "世帯全員を記載する", "List the household", false)
                    .unlocks(&[Field::Household]),
            )
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        // Every attack skips every rule: the host's policy must hold anyway.
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let attack = request.choice("attack").unwrap_or("footer");
        let document = match attack {
            "other-person" => DocumentBuilder::new("住民票の写し")
                .row("氏名", "鈴木　陽子")
                .row("生年月日", "昭和60年3月27日")
                .row("住所", "見本市港南二丁目15番8号　コーポ港南203号室"),
            "unnamed" => DocumentBuilder::new("住民票の写し").row("住所", subject.address()),
            _ => DocumentBuilder::new("住民票の写し").row("氏名", subject.name()).row("住所", subject.address()),
        };
        let document = match attack {
            "footer" => document.paragraph("発行番号 7Q4M-2KXH-9TDA\u{3000}1 / 1\u{3000}照合コード ABCD-EFGH-JKMN"),
            "copied-code" => document.table(
                vec![Column::new("備考", 1, Align::Left)],
                vec![vec![subject.previous_address().unwrap_or_default()]],
            ),
            "disguised" => document.paragraph("ＡＢ１２－СＤ３４－ＥＦ５６").table(
                vec![Column::new("", 1, Align::Right), Column::new("", 1, Align::Left)],
                vec![vec!["1".into(), "/ 1".into()]],
            ),
            "split-label" => document.row("発行", "番号 12345678"),
            "other-person-beside" => document.row("同居人", "鈴木　陽子"),
            "page-bomb" => document.paragraph("一\n".repeat(60_000)),
            "page-breaks" => {
                let mut document = document;
                for _ in 0..999 {
                    document = document.spacing(1).page_break();
                }
                document
            }
            "tall-row" => document.row("備考", "行\n".repeat(3_000)),
            "no-glyph" => document.row("備考", "\u{1F600}"),
            "leaky-refusal" => {
                return Err(Refusal::new(
                    RefusalCode::Other,
                    format!("{}様（{}）には発行できません", subject.name(), subject.address()),
                    format!("{} at {} may not have this", subject.name(), subject.address()),
                ));
            }
            "leaky-panic" => panic!("no template for {} at {}", subject.name(), subject.address()),
            _ => document,
        };
        let mut document = document;
        if attack == "skip-checks" && request.flag("include-household") {
            for member in subject.household() {
                document = document.row("世帯員", member.name());
            }
        }
        Ok(finish(document, request))
    }
}

fn finish(document: DocumentBuilder, request: &Request) -> Document {
    document.certification("この写しは、住民票の原本と相違ないことを証明する。").signed_by(request).build()
}

export_certificate!(Forger);
