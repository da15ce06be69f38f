//! Conversions between the WIT types the plugin sees and the host's model.
//! What a plugin returns is lifted and converted in `lift.rs`.

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

pub(crate) fn field(f: wit::Field) -> model::Field {
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

fn option_value_to_wit(v: &model::OptionValue) -> wit::OptionValue {
    match v {
        model::OptionValue::Flag(b) => wit::OptionValue::Flag(*b),
        model::OptionValue::Choice(s) => wit::OptionValue::Choice(s.clone()),
        model::OptionValue::Integer(i) => wit::OptionValue::Integer(*i),
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

pub(crate) fn refusal_code(code: wit::RefusalCode) -> model::RefusalCode {
    use model::RefusalCode as M;
    use wit::RefusalCode as W;
    match code {
        W::MovedOut => M::MovedOut,
        W::Deceased => M::Deceased,
        W::AccessRestricted => M::AccessRestricted,
        W::SealNotRegistered => M::SealNotRegistered,
        W::SealCancelled => M::SealCancelled,
        W::TaxUnpaid => M::TaxUnpaid,
        W::NoRecord => M::NoRecord,
        W::NotPrintable => M::NotPrintable,
        W::Other => M::Other,
    }
}

pub(crate) fn face(f: wit::Face) -> model::Face {
    match f {
        wit::Face::Mincho => model::Face::Mincho,
        wit::Face::Gothic => model::Face::Gothic,
    }
}

pub(crate) fn size(s: wit::TextSize) -> model::TextSize {
    match s {
        wit::TextSize::Small => model::TextSize::Small,
        wit::TextSize::Normal => model::TextSize::Normal,
        wit::TextSize::Large => model::TextSize::Large,
        wit::TextSize::Title => model::TextSize::Title,
    }
}

pub(crate) fn align(a: wit::Align) -> model::Align {
    match a {
        wit::Align::Left => model::Align::Left,
        wit::Align::Center => model::Align::Center,
        wit::Align::Right => model::Align::Right,
    }
}
