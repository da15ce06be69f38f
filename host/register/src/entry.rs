//! One register row and the checks every row passes, whichever way it
//! arrived (JSON, CSV, a status change). The person's own rules are
//! `Resident::validate`'s; the rules here are the register's: ids, and the
//! fields `validate` leaves alone but a certificate prints.

use std::collections::HashSet;

use kofu_model::{Resident, ResidentError};
use serde::{Deserialize, Serialize};

use crate::fields::PATHS;
use crate::problems::{Reason, quote};

/// One person in a municipality's register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterEntry {
    /// The municipality's id for this person: 1–32 chars of [A-Za-z0-9_-].
    pub id: String,
    /// Household id, same charset; members of one household share it.
    pub household: String,
    /// A test resident: usable for plugin dry-runs, never for a kiosk card.
    pub test: bool,
    /// The person's record; `person.household` is always empty.
    pub person: Resident,
}

/// The longest id or household id.
pub const MAX_ID_CHARS: usize = 32;

/// Same as the model's limit on a resident's text fields.
const MAX_TEXT_CHARS: usize = 200;

/// Whether `id` is 1–32 characters of `A–Z a–z 0–9 _ -`: ids travel in URLs
/// and log lines, where anything else would need escaping.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A problem with one field of an entry, the field named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    pub field: Option<String>,
    pub reason: Reason,
}

impl FieldProblem {
    fn new(field: &str, en: String, ja: String) -> FieldProblem {
        FieldProblem { field: Some(field.to_owned()), reason: Reason::new(en, ja) }
    }
}

pub(crate) fn id_problem(field: &str, id: &str) -> Option<FieldProblem> {
    if is_valid_id(id) {
        return None;
    }
    let (what, what_ja) =
        if field == "id" { ("a person's id", "個人の id") } else { ("a household id", "世帯の id") };
    let quoted = quote(id);
    Some(FieldProblem::new(
        field,
        format!(
            "`{field}` {quoted} is not a valid id: {what} is 1 to {MAX_ID_CHARS} characters of A–Z, a–z, 0–9, `_` \
             and `-`"
        ),
        format!(
            "`{field}` {quoted} は id に使えません。{what_ja} は A–Z、a–z、0–9、`_`、`-` の 1〜{MAX_ID_CHARS} 文字です"
        ),
    ))
}

/// Every problem with `entry` on its own (not against other entries).
pub(crate) fn check_entry(entry: &RegisterEntry) -> Vec<FieldProblem> {
    let mut problems: Vec<FieldProblem> =
        [id_problem("id", &entry.id), id_problem("household", &entry.household)].into_iter().flatten().collect();
    let person = &entry.person;
    if !person.household.is_empty() {
        problems.push(FieldProblem::new(
            "household",
            "the person's record lists household members of its own; a register entry holds one person, and \
             members of a household share a `household` id instead"
                .to_owned(),
            "この人の記録に世帯員の一覧が入っています。登録の 1 件は 1 人で、同じ世帯の人は同じ `household` id を\
             持ちます"
                .to_owned(),
        ));
    }
    let mut texts: Vec<(&str, &str)> = Vec::new();
    if let Some(previous) = &person.previous_address {
        texts.push(("previous_address", previous));
    }
    if let Some(domicile) = &person.registered_domicile {
        texts.push(("registered_domicile.place", &domicile.place));
        texts.push(("registered_domicile.head", &domicile.head));
    }
    if let Some(seal) = &person.seal {
        texts.push(("seal.number", &seal.number));
        texts.push(("seal.impression", &seal.impression));
    }
    problems.extend(texts.into_iter().filter_map(|(field, text)| text_problem(field, text)));
    problems.extend(tax_problems(person));
    if let Err(err) = person.validate() {
        problems.push(from_resident_error(person, &err));
    }
    problems
}

/// The model's rule for text, applied to the fields it does not check.
fn text_problem(field: &str, text: &str) -> Option<FieldProblem> {
    if text.trim().is_empty() {
        return Some(FieldProblem::new(
            field,
            format!("`{field}` is empty: fill it in, or leave it out"),
            format!("`{field}` が空です。書き込むか、項目ごと省いてください"),
        ));
    }
    if text.chars().count() > MAX_TEXT_CHARS || text.chars().any(char::is_control) {
        return Some(FieldProblem::new(
            field,
            format!(
                "`{field}` is longer than {MAX_TEXT_CHARS} characters or holds control characters (such as a line \
                 break or a tab): shorten it and keep it on one line"
            ),
            too_long_ja(field),
        ));
    }
    None
}

fn too_long_ja(field: &str) -> String {
    format!(
        "`{field}` が {MAX_TEXT_CHARS} 文字を超えているか、制御文字（改行やタブなど）を含んでいます。短くして 1 行に\
         収めてください"
    )
}

/// A tax certificate prints one block per fiscal year, so each year appears
/// once and has something to print.
fn tax_problems(person: &Resident) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for year in &person.tax {
        let fy = year.fiscal_year;
        if !(1868..=9999).contains(&fy) {
            problems.push(FieldProblem::new(
                "tax",
                format!("`tax`: fiscal year {fy} is not a year: write the four-digit year, e.g. 2025"),
                format!("`tax`: 年度 {fy} は年ではありません。4 桁の年で書いてください（例: 2025）"),
            ));
        }
        if !seen.insert(fy) {
            problems.push(FieldProblem::new(
                "tax",
                format!("`tax`: fiscal year {fy} is listed more than once: list each year once with all its items"),
                format!("`tax`: 年度 {fy} が 2 回以上あります。各年度は 1 回だけ、その年度の税目をすべて入れて書いてください"),
            ));
        }
        if year.items.is_empty() {
            problems.push(FieldProblem::new(
                "tax",
                format!("`tax`: fiscal year {fy} has no items: list what was assessed, or leave the year out"),
                format!("`tax`: 年度 {fy} に税目がありません。課税された税目を書くか、その年度を省いてください"),
            ));
        }
        for item in &year.items {
            // `;` separates the CSV tax list, and its reader trims white space
            // around an item name; banning both everywhere keeps every entry
            // writable as CSV and read back the same.
            let item_problem = text_problem("tax", &item.name).or_else(|| {
                if item.name.contains(';') {
                    Some(FieldProblem::new(
                        "tax",
                        format!("`tax`: fiscal year {fy}: an item name cannot contain `;`"),
                        format!("`tax`: 年度 {fy}: 税目の名前に `;` は使えません"),
                    ))
                } else if item.name.trim() != item.name {
                    Some(FieldProblem::new(
                        "tax",
                        format!("`tax`: fiscal year {fy}: an item name cannot start or end with a space"),
                        format!("`tax`: 年度 {fy}: 税目の名前の最初と最後に空白は置けません"),
                    ))
                } else {
                    None
                }
            });
            if let Some(mut problem) = item_problem {
                let quoted = quote(&item.name);
                problem.reason = Reason::new(
                    format!("{} (fiscal year {fy}, item {quoted})", problem.reason.en),
                    format!("{}（年度 {fy}、税目 {quoted}）", problem.reason.ja),
                );
                problems.push(problem);
            }
        }
    }
    problems
}

/// The model's message without its `resident `name`:` prefix (the row
/// already says who), the field it names, and what to do about it.
fn from_resident_error(person: &Resident, err: &ResidentError) -> FieldProblem {
    let message = err.to_string();
    let prefix = format!("resident `{}`: ", person.name);
    let problem = message.strip_prefix(&prefix).unwrap_or(&message).to_owned();
    let field = if problem.starts_with("tax year") {
        Some("tax".to_owned())
    } else {
        first_backticked(&problem).filter(|name| PATHS.contains(name)).map(str::to_owned)
    };
    let name = field.as_deref().unwrap_or("");
    let (hint, ja) = match field.as_deref() {
        _ if problem.contains(" is empty") => (". Fill it in.", format!("`{name}` が空です。書き込んでください")),
        _ if problem.contains("longer than") => (". Shorten it and keep it on one line.", too_long_ja(name)),
        Some("name_kana") => (
            ". Write the reading in full-width katakana, e.g. ヤマダ　タロウ.",
            "`name_kana` は読みを全角カタカナで書いてください（例: ヤマダ　タロウ）".to_owned(),
        ),
        Some("my_number") => (
            ". Check it against the resident's record. Spreadsheets drop leading zeros and write long numbers as \
             1.23E+11, so keep that column as text. Leave it out if the number is not on record.",
            "`my_number` は検査用数字の合った 12 桁の数字でなければなりません。住民の記録と照らし合わせてください。\
             表計算ソフトは先頭の 0 を落とし、長い数字を 1.23E+11 のように書き換えるので、その列は文字列のままに\
             してください。番号が記録にないときは省いてください"
                .to_owned(),
        ),
        Some("residency.since") => (
            ". Give the date the person moved out or died.",
            "状態が `resident` でないときは `residency.since` が必要です。転出した日または死亡した日を書いてください"
                .to_owned(),
        ),
        Some("tax") => {
            // The year is the first one the model found overpaid.
            let year = person.tax.iter().find(|year| year.items.iter().any(|item| item.paid > item.assessed));
            let year = year.map_or_else(String::new, |year| format!(" {} 年度", year.fiscal_year));
            (
                ". Correct the amounts.",
                format!("`tax`:{year}: 納付額 `paid` が税額 `assessed` を超えています。金額を直してください"),
            )
        }
        _ => ("", format!("住民の記録に誤りがあります（詳細: {problem}）")),
    };
    let en = match field.as_deref() {
        Some("tax") => format!("`tax`: {problem}{hint}"),
        _ => format!("{problem}{hint}"),
    };
    FieldProblem { field, reason: Reason::new(en, ja) }
}

fn first_backticked(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once('`')?;
    let (name, _) = rest.split_once('`')?;
    Some(name)
}

#[cfg(test)]
mod tests {
    use kofu_model::{SealRegistration, SealState, TaxItem, TaxYear};

    use super::*;

    pub(crate) fn sample() -> RegisterEntry {
        let person =
            Resident::from_json(include_str!("../../../tests/fixtures/residents/nakamura-kenta.json")).unwrap();
        RegisterEntry { id: "R-0001".into(), household: "H-0001".into(), test: false, person }
    }

    fn fields(entry: &RegisterEntry) -> Vec<Option<String>> {
        check_entry(entry).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn ids_are_short_and_url_safe() {
        for good in ["a", "R-0001", "x_Y-9", &"a".repeat(32)] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", "a b", "山田", "a/b", "a.b", &"a".repeat(33)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_valid_entry_has_no_problems() {
        assert_eq!(check_entry(&sample()), vec![]);
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut entry = sample();
        entry.id = "R 1".into();
        entry.household = String::new();
        entry.person.previous_address = Some("a\nb".into());
        entry.person.name_kana = "なかむら".into();
        assert_eq!(
            fields(&entry),
            [Some("id"), Some("household"), Some("previous_address"), Some("name_kana")].map(|f| f.map(String::from))
        );
        let problems = check_entry(&entry);
        assert!(problems[3].reason.en.starts_with("`name_kana` must be written in katakana"), "{problems:?}");
        assert!(problems[3].reason.en.contains("ヤマダ"), "{problems:?}");
        assert!(problems[3].reason.ja.contains("全角カタカナ"), "{problems:?}");
    }

    #[test]
    fn model_errors_map_to_their_fields() {
        let mut entry = sample();
        entry.person.my_number = Some("123456789012".into());
        assert_eq!(fields(&entry), [Some("my_number".to_owned())]);
        let mut entry = sample();
        entry.person.residency.state = kofu_model::ResidencyState::Deceased;
        assert_eq!(fields(&entry), [Some("residency.since".to_owned())]);
        let mut entry = sample();
        entry.person.tax[0].items[0].paid = entry.person.tax[0].items[0].assessed + 1;
        let problems = check_entry(&entry);
        assert_eq!(problems[0].field.as_deref(), Some("tax"));
        assert!(problems[0].reason.en.starts_with("`tax`: tax year 2025: `paid` exceeds `assessed`"), "{problems:?}");
        assert!(problems[0].reason.ja.starts_with("`tax`: 2025 年度: 納付額"), "{problems:?}");
    }

    #[test]
    fn tax_years_are_unique_and_not_empty() {
        let mut entry = sample();
        let item = TaxItem { name: "市民税;県民税".into(), assessed: 1, paid: 0 };
        entry.person.tax.push(TaxYear { fiscal_year: 2025, items: vec![item] });
        entry.person.tax.push(TaxYear { fiscal_year: 25, items: vec![] });
        let problems: Vec<String> = check_entry(&entry).into_iter().map(|p| p.reason.en).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("listed more than once"));
        assert!(problems[1].contains("cannot contain `;`"));
        assert!(problems[2].contains("not a year"));
        assert!(problems[3].contains("has no items"));

        let mut entry = sample();
        entry.person.tax[0].items[0].name = "市民税　".into();
        let problems: Vec<String> = check_entry(&entry).into_iter().map(|p| p.reason.en).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("cannot start or end with a space"), "{problems:?}");
    }

    #[test]
    fn seal_texts_are_checked() {
        let mut entry = sample();
        entry.person.seal = Some(SealRegistration {
            number: " ".into(),
            registered_on: entry.person.resident_since,
            impression: "中村".into(),
            state: SealState::Active,
        });
        assert_eq!(fields(&entry), [Some("seal.number".to_owned())]);
    }
}
