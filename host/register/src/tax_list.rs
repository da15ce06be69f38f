//! The CSV `tax` cell: a person's tax years in one cell, as
//! `FY:item:assessed:paid` entries separated by `;`, e.g.
//! `2025:市民税・県民税:143700:143700;2024:市民税・県民税:120000:0`.
//! Entries of the same fiscal year merge into one year, in the order given.

use kofu_model::{TaxItem, TaxYear};

use crate::problems::{Reason, quote};

const EXAMPLE: &str = "2025:市民税・県民税:143700:143700";

/// Parse a `tax` cell; every malformed entry is reported.
pub(crate) fn parse(cell: &str) -> Result<Vec<TaxYear>, Vec<Reason>> {
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

fn parse_entry(part: &str) -> Result<(u16, TaxItem), Reason> {
    let quoted = quote(part);
    let malformed = || {
        Reason::new(
            format!(
                "`tax` entry {quoted} is not FY:item:assessed:paid (for example {EXAMPLE}); separate entries with `;`"
            ),
            format!(
                "`tax` の項目 {quoted} が 年度:税目:税額:納付額 の形ではありません（例: {EXAMPLE}）。項目と項目は `;` で区切ってください"
            ),
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
        _ => {
            return Err(Reason::new(
                format!("`tax` entry {quoted}: the fiscal year must be four digits, e.g. 2025"),
                format!("`tax` の項目 {quoted}: 年度は 4 桁の数字で書いてください（例: 2025）"),
            ));
        }
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(Reason::new(
            format!("`tax` entry {quoted}: the item name is empty, e.g. 市民税・県民税"),
            format!("`tax` の項目 {quoted}: 税目が空です（例: 市民税・県民税）"),
        ));
    }
    let amount = |text: &str| -> Result<u64, Reason> {
        let text = text.trim();
        match text.parse::<u64>() {
            Ok(yen) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(yen),
            _ => Err(Reason::new(
                format!(
                    "`tax` entry {quoted}: the amount {} must be whole yen in plain digits, without commas, ¥ or 円",
                    quote(text)
                ),
                format!(
                    "`tax` の項目 {quoted}: 金額 {} は円単位の数字だけで書いてください（カンマ、¥、円は付けません）",
                    quote(text)
                ),
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
        let english: Vec<&str> = problems.iter().map(|p| p.en.as_str()).collect();
        assert!(english[0].contains("plain digits"));
        assert!(english[1].contains("four digits"));
        assert!(english[2].contains("FY:item:assessed:paid"));
        assert!(english[3].contains("item name is empty"));
        assert!(english[4].contains("plain digits"));
        let japanese: Vec<&str> = problems.iter().map(|p| p.ja.as_str()).collect();
        assert!(japanese[0].contains("数字だけ") && japanese[1].contains("4 桁"), "{japanese:?}");
        assert!(japanese[2].contains("年度:税目:税額:納付額") && japanese[3].contains("税目が空"), "{japanese:?}");
    }

    #[test]
    fn empty_means_no_tax_years() {
        assert_eq!(parse(" ").unwrap(), vec![]);
        assert_eq!(format(&[]), "");
    }
}
