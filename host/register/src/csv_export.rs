//! The register written as a CSV import file: an export that a
//! municipality can read, edit and import again, and that the tests use to
//! hold the CSV import to the JSON one.

use kofu_model::{ResidencyState, SealState, Sex};

use crate::RegisterEntry;
use crate::csv::COLUMNS;
use crate::tax_list;

/// The register as a CSV import file, every column, with a BOM so that Excel
/// opens it as UTF-8. [`crate::parse_csv`] reads it back to the same entries.
pub fn to_csv(entries: &[RegisterEntry]) -> String {
    let mut out = String::from("\u{FEFF}");
    let header: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for entry in entries {
        let cells = row_cells(entry);
        let cells: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn row_cells(entry: &RegisterEntry) -> [String; 24] {
    let person = &entry.person;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let domicile = person.registered_domicile.as_ref();
    let seal = person.seal.as_ref();
    [
        entry.id.clone(),
        entry.household.clone(),
        entry.test.to_string(),
        person.name.clone(),
        person.name_kana.clone(),
        person.birth_date.to_string(),
        sex_name(person.sex).to_owned(),
        person.address.clone(),
        person.address_since.to_string(),
        person.resident_since.to_string(),
        text(&person.previous_address),
        person.household_head.clone(),
        person.relationship.clone(),
        domicile.map(|d| d.place.clone()).unwrap_or_default(),
        domicile.map(|d| d.head.clone()).unwrap_or_default(),
        text(&person.my_number),
        residency_name(person.residency.state).to_owned(),
        person.residency.since.map(|d| d.to_string()).unwrap_or_default(),
        person.residency.restricted.to_string(),
        seal.map(|s| s.number.clone()).unwrap_or_default(),
        seal.map(|s| s.registered_on.to_string()).unwrap_or_default(),
        seal.map(|s| s.impression.clone()).unwrap_or_default(),
        seal.map(|s| seal_state_name(s.state).to_owned()).unwrap_or_default(),
        tax_list::format(&person.tax),
    ]
}

// The values as JSON spells them; the round-trip tests hold them to the model's
// serde names.
fn sex_name(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

fn residency_name(state: ResidencyState) -> &'static str {
    match state {
        ResidencyState::Resident => "resident",
        ResidencyState::MovedOut => "moved-out",
        ResidencyState::Deceased => "deceased",
    }
}

fn seal_state_name(state: SealState) -> &'static str {
    match state {
        SealState::Active => "active",
        SealState::Cancelled => "cancelled",
    }
}

/// A cell quoted when it must be (RFC 4180).
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\r', '\n']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.to_owned() }
}

#[cfg(test)]
mod tests {
    use kofu_model::SealRegistration;

    use super::*;
    use crate::parse_csv;

    const HEADER: &str =
        "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
    const ROW: &str = "R-1,H-1,中村　健太,ナカムラ　ケンタ,2001-04-02,male,見本市本町一丁目1番1号,2024-04-01,2024-04-01,中村　健太,世帯主";

    #[test]
    fn an_export_reads_back_the_same() {
        let mut entries = parse_csv(format!("{HEADER}\n{ROW}\n").as_bytes()).unwrap();
        entries[0].person.address = "見本市本町一丁目1番1号, \"見本\"ハイツ".into();
        entries[0].person.seal = Some(SealRegistration {
            number: "第1号".into(),
            registered_on: entries[0].person.resident_since,
            impression: "中村".into(),
            state: SealState::Cancelled,
        });
        let text = to_csv(&entries);
        assert!(text.starts_with("\u{FEFF}id,household,test,"));
        assert_eq!(parse_csv(text.as_bytes()).unwrap(), entries);
    }
}
