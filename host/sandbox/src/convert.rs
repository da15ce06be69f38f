//! Conversions between the WIT types the plugin sees and the host's model.

use kofu_model as model;

use crate::bindings::wit;

pub fn date(d: model::Date) -> wit::Date {
    wit::Date { year: d.year, month: d.month, day: d.day }
}

pub fn sex(s: model::Sex) -> wit::Sex {
    match s {
        model::Sex::Male => wit::Sex::Male,
        model::Sex::Female => wit::Sex::Female,
    }
}

pub fn residency(r: &model::Residency) -> wit::Residency {
    wit::Residency {
        state: match r.state {
            model::ResidencyState::Resident => wit::ResidencyState::Resident,
            model::ResidencyState::MovedOut => wit::ResidencyState::MovedOut,
            model::ResidencyState::Deceased => wit::ResidencyState::Deceased,
        },
        since: r.since.map(date),
        restricted: r.restricted,
    }
}

pub fn domicile(d: &model::RegisteredDomicile) -> wit::RegisteredDomicile {
    wit::RegisteredDomicile { place: d.place.clone(), head: d.head.clone() }
}

pub fn seal(s: &model::SealRegistration) -> wit::SealRegistration {
    wit::SealRegistration {
        number: s.number.clone(),
        registered_on: date(s.registered_on),
        impression: s.impression.clone(),
        state: match s.state {
            model::SealState::Active => wit::SealState::Active,
            model::SealState::Cancelled => wit::SealState::Cancelled,
        },
    }
}

pub fn tax_year(y: &model::TaxYear) -> wit::TaxYear {
    wit::TaxYear {
        fiscal_year: y.fiscal_year,
        items: y
            .items
            .iter()
            .map(|i| wit::TaxItem { name: i.name.clone(), assessed: i.assessed, paid: i.paid })
            .collect(),
    }
}

fn field(f: wit::Field) -> model::Field {
    use model::Field as M;
    use wit::Field as W;
    match f {
        W::Name => M::Name,
        W::NameKana => M::NameKana,
        W::BirthDate => M::BirthDate,
        W::Sex => M::Sex,
        W::Address => M::Address,
        W::AddressSince => M::AddressSince,
        W::ResidentSince => M::ResidentSince,
        W::PreviousAddress => M::PreviousAddress,
        W::HouseholdHead => M::HouseholdHead,
        W::Relationship => M::Relationship,
        W::RegisteredDomicile => M::RegisteredDomicile,
        W::MyNumber => M::MyNumber,
        W::Residency => M::Residency,
        W::SealRegistration => M::SealRegistration,
        W::TaxRecords => M::TaxRecords,
        W::Household => M::Household,
    }
}

fn option_value_from_wit(v: wit::OptionValue) -> model::OptionValue {
    match v {
        wit::OptionValue::Flag(b) => model::OptionValue::Flag(b),
        wit::OptionValue::Choice(s) => model::OptionValue::Choice(s),
        wit::OptionValue::Integer(i) => model::OptionValue::Integer(i),
    }
}

fn option_value_to_wit(v: &model::OptionValue) -> wit::OptionValue {
    match v {
        model::OptionValue::Flag(b) => wit::OptionValue::Flag(*b),
        model::OptionValue::Choice(s) => wit::OptionValue::Choice(s.clone()),
        model::OptionValue::Integer(i) => wit::OptionValue::Integer(*i),
    }
}

pub fn manifest(m: wit::Manifest) -> model::Manifest {
    model::Manifest {
        kind: m.kind,
        name_ja: m.name_ja,
        name_en: m.name_en,
        version: m.version,
        reads: m.reads.into_iter().map(field).collect(),
        options: m
            .options
            .into_iter()
            .map(|o| model::OptionSpec {
                key: o.key,
                label_ja: o.label_ja,
                label_en: o.label_en,
                kind: match o.kind {
                    wit::OptionKind::Flag => model::OptionKind::Flag,
                    wit::OptionKind::Choice(choices) => model::OptionKind::Choice {
                        choices: choices
                            .into_iter()
                            .map(|c| model::Choice { value: c.value, label_ja: c.label_ja, label_en: c.label_en })
                            .collect(),
                    },
                    wit::OptionKind::Integer(r) => model::OptionKind::Integer { min: r.min, max: r.max },
                },
                default: option_value_from_wit(o.default),
                unlocks: o.unlocks.into_iter().map(field).collect(),
            })
            .collect(),
        fee_yen: m.fee_yen,
    }
}

pub fn context(c: &model::RequestContext) -> wit::RequestContext {
    wit::RequestContext {
        issue_date: date(c.issue_date),
        municipality: wit::Municipality {
            code: c.municipality.code.clone(),
            name: c.municipality.name.clone(),
            mayor_title: c.municipality.mayor_title.clone(),
            mayor_name: c.municipality.mayor_name.clone(),
        },
        options: c
            .options
            .iter()
            .map(|o| wit::ChosenOption { key: o.key.clone(), value: option_value_to_wit(&o.value) })
            .collect(),
    }
}

pub fn refusal(r: wit::Refusal) -> model::Refusal {
    use model::RefusalCode as M;
    use wit::RefusalCode as W;
    model::Refusal {
        code: match r.code {
            W::MovedOut => M::MovedOut,
            W::Deceased => M::Deceased,
            W::AccessRestricted => M::AccessRestricted,
            W::SealNotRegistered => M::SealNotRegistered,
            W::SealCancelled => M::SealCancelled,
            W::TaxUnpaid => M::TaxUnpaid,
            W::NoRecord => M::NoRecord,
            W::NotPrintable => M::NotPrintable,
            W::Other => M::Other,
        },
        message_ja: r.message_ja,
        message_en: r.message_en,
    }
}

fn face(f: wit::Face) -> model::Face {
    match f {
        wit::Face::Mincho => model::Face::Mincho,
        wit::Face::Gothic => model::Face::Gothic,
    }
}

fn size(s: wit::TextSize) -> model::TextSize {
    match s {
        wit::TextSize::Small => model::TextSize::Small,
        wit::TextSize::Normal => model::TextSize::Normal,
        wit::TextSize::Large => model::TextSize::Large,
        wit::TextSize::Title => model::TextSize::Title,
    }
}

fn align(a: wit::Align) -> model::Align {
    match a {
        wit::Align::Left => model::Align::Left,
        wit::Align::Center => model::Align::Center,
        wit::Align::Right => model::Align::Right,
    }
}

fn text(t: wit::Text) -> model::Text {
    model::Text { content: t.content, face: face(t.face), size: size(t.size), align: align(t.align) }
}

fn block(b: wit::Block) -> model::Block {
    match b {
        wit::Block::Heading(t) => model::Block::Heading(text(t)),
        wit::Block::Paragraph(t) => model::Block::Paragraph(text(t)),
        wit::Block::KeyValues(rows) => {
            model::Block::KeyValues(rows.into_iter().map(|r| model::KeyValue { key: r.key, value: r.value }).collect())
        }
        wit::Block::Table(t) => model::Block::Table(model::Table {
            columns: t
                .columns
                .into_iter()
                .map(|c| model::Column { header: c.header, weight: c.weight, align: align(c.align) })
                .collect(),
            rows: t.rows,
        }),
        wit::Block::Rule => model::Block::Rule,
        wit::Block::Spacing(mm) => model::Block::Spacing(mm),
        wit::Block::SealImpression(s) => model::Block::SealImpression(s),
        wit::Block::PageBreak => model::Block::PageBreak,
    }
}

pub fn document(d: wit::Document) -> model::Document {
    model::Document {
        title: d.title,
        blocks: d.blocks.into_iter().map(block).collect(),
        certification: d.certification,
        signature: model::Signature {
            date_line: d.signature.date_line,
            title: d.signature.title,
            name: d.signature.name,
            seal: d.signature.seal,
        },
    }
}
