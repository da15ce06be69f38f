//! The CSV `tax` cell: a person's tax years in one cell, as
//! `FY:item:assessed:paid` entries separated by `;`, e.g.
//! `2025:市民税・県民税:143700:143700;2024:市民税・県民税:120000:0`.
//! Entries of the same fiscal year merge into one year, in the order given.

use kofu_model::{TaxItem, TaxYear};

use crate::problems::quote;

const EXAMPLE: &str = "2025:市民税・県民税:143700:143700";

/// Parse a `tax` cell; every malformed entry is reported.
pub(crate) fn parse(cell: &str) -> Result<Vec<TaxYear>, Vec<String>> {
    let mut years: Vec<TaxYear> = Vec::new();
    let mut problems = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        match parse_entry(part) {
            Ok((fiscal_year, item)) => match years.iter_mut().find(|year| year.fiscal_year == fiscal_year) {
                Some(year) => year.items.push(item),
                None => years.push(TaxYear { fiscal_year, items: vec![item] }),
            },
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() { Ok(years) } else { Err(problems) }
}

fn parse_entry(part: &str) -> Result<(u16, TaxItem), String> {
    let malformed = || {
        format!(
            "`tax` entry {} is not FY:item:assessed:paid (for example {EXAMPLE}); separate entries with `;`",
            quote(part)
        )
    };
    // The year is the first part and the amounts the last two, so an item
    // name may itself hold a `:`.
    let (year, rest) = part.split_once(':').ok_or_else(malformed)?;
    let (rest, paid) = rest.rsplit_once(':').ok_or_else(malformed)?;
    let (name, assessed) = rest.rsplit_once(':').ok_or_else(malformed)?;
    let year = year.trim();
    let fiscal_year = match year.parse::<u16>() {
        Ok(fy) if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) => fy,
        _ => return Err(format!("`tax` entry {}: the fiscal year must be four digits, e.g. 2025", quote(part))),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`tax` entry {}: the item name is empty, e.g. 市民税・県民税", quote(part)));
    }
    let amount = |text: &str| -> Result<u64, String> {
        let text = text.trim();
        match text.parse::<u64>() {
            Ok(yen) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(yen),
            _ => Err(format!(
                "`tax` entry {}: the amount {} must be whole yen in plain digits, without commas, ¥ or 円",
                quote(part),
                quote(text)
            )),
        }
    };
    let item = TaxItem { name: name.to_owned(), assessed: amount(assessed)?, paid: amount(paid)? };
    Ok((fiscal_year, item))
}

/// The cell for `years`, read back the same by [`parse`].
pub(crate) fn format(years: &[TaxYear]) -> String {
    let entries: Vec<String> = years
        .iter()
        .flat_map(|year| {
            year.items.iter().map(|item| format!("{}:{}:{}:{}", year.fiscal_year, item.name, item.assessed, item.paid))
        })
        .collect();
    entries.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_of_one_year_merge_in_order() {
        let years = parse("2025:市民税・県民税:143700:143700; 2024:市民税・県民税:120000:0;2025:森林環境税:1000:1000;")
            .unwrap();
        assert_eq!(years.len(), 2);
        assert_eq!(years[0].fiscal_year, 2025);
        assert_eq!(years[0].items.len(), 2);
        assert_eq!(years[0].items[1], TaxItem { name: "森林環境税".into(), assessed: 1000, paid: 1000 });
        assert_eq!(years[1].items[0].paid, 0);
        assert_eq!(parse(&format(&years)).unwrap(), years);
    }

    #[test]
    fn a_name_may_hold_a_colon() {
        let years = parse("2025:税:その他:10:5").unwrap();
        assert_eq!(years[0].items[0].name, "税:その他");
    }

    #[test]
    fn every_bad_entry_is_reported() {
        let problems =
            parse("2025:市民税:143,700:0;25:市民税:1:1;2025:市民税:1;2025::1:1;2025:市民税:¥5:0").unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("plain digits"));
        assert!(problems[1].contains("four digits"));
        assert!(problems[2].contains("FY:item:assessed:paid"));
        assert!(problems[3].contains("item name is empty"));
        assert!(problems[4].contains("plain digits"));
    }

    #[test]
    fn empty_means_no_tax_years() {
        assert_eq!(parse(" ").unwrap(), vec![]);
        assert_eq!(format(&[]), "");
    }
}
