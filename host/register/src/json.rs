//! The JSON import: `{"residents": [ {...}, ... ]}`, each resident one flat
//! object holding `id`, `household`, `test` and the fields of a resident
//! fixture (without its `household` list).
//!
//! Rows are read as raw key/value lists first, so that one bad row does not
//! hide the others and a key given twice is caught rather than silently
//! overwritten; only rows that pass are decoded into the wire struct.

use std::fmt;

use kofu_model::{Date, RegisteredDomicile, Residency, Resident, SealRegistration, Sex, TaxYear};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::RegisterEntry;
use crate::fields::Format;
use crate::import::{MAX_ROWS, finish, too_many_rows};
use crate::problems::{ImportError, Problems, Reason, RowProblem, detail_ja, quote};

/// One resident as the JSON import spells it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonResident {
    id: String,
    household: String,
    #[serde(default)]
    test: bool,
    name: String,
    name_kana: String,
    birth_date: Date,
    sex: Sex,
    address: String,
    address_since: Date,
    resident_since: Date,
    #[serde(default)]
    previous_address: Option<String>,
    household_head: String,
    relationship: String,
    #[serde(default)]
    registered_domicile: Option<RegisteredDomicile>,
    #[serde(default)]
    my_number: Option<String>,
    #[serde(default)]
    residency: Residency,
    #[serde(default)]
    seal: Option<SealRegistration>,
    #[serde(default)]
    tax: Vec<TaxYear>,
}

impl From<JsonResident> for RegisterEntry {
    fn from(row: JsonResident) -> RegisterEntry {
        RegisterEntry {
            id: row.id,
            household: row.household,
            test: row.test,
            person: Resident {
                name: row.name,
                name_kana: row.name_kana,
                birth_date: row.birth_date,
                sex: row.sex,
                address: row.address,
                address_since: row.address_since,
                resident_since: row.resident_since,
                previous_address: row.previous_address,
                household_head: row.household_head,
                relationship: row.relationship,
                registered_domicile: row.registered_domicile,
                my_number: row.my_number,
                residency: row.residency,
                seal: row.seal,
                tax: row.tax,
                household: Vec::new(),
            },
        }
    }
}

/// The fields of [`JsonResident`] and whether each is required; kept next to
/// it so that the diagnosis and the struct agree.
const FIELDS: [(&str, bool); 18] = [
    ("id", true),
    ("household", true),
    ("test", false),
    ("name", true),
    ("name_kana", true),
    ("birth_date", true),
    ("sex", true),
    ("address", true),
    ("address_since", true),
    ("resident_since", true),
    ("previous_address", false),
    ("household_head", true),
    ("relationship", true),
    ("registered_domicile", false),
    ("my_number", false),
    ("residency", false),
    ("seal", false),
    ("tax", false),
];

/// Whether `value` decodes as `field`'s type, and if not, why.
fn field_error(field: &str, value: &Value) -> Option<Reason> {
    fn check<T: DeserializeOwned>(value: &Value, ja: &str) -> Option<Reason> {
        T::deserialize(value).err().map(|err| Reason::new(err.to_string(), detail_ja(ja, &err)))
    }
    match field {
        "test" => check::<bool>(value, "true か false で書いてください"),
        "birth_date" | "address_since" | "resident_since" => {
            check::<Date>(value, "日付を \"YYYY-MM-DD\" の形の文字列（例: \"2025-11-21\"）で書いてください")
        }
        "sex" => check::<Sex>(value, "\"male\" か \"female\" で書いてください"),
        "previous_address" | "my_number" => check::<Option<String>>(value, "文字列で書くか、項目ごと省いてください"),
        "registered_domicile" => {
            check::<Option<RegisteredDomicile>>(value, "{\"place\": 本籍地, \"head\": 筆頭者} の形で書いてください")
        }
        "residency" => check::<Residency>(
            value,
            "{\"state\": \"resident\" / \"moved-out\" / \"deceased\", \"since\": 日付, \"restricted\": true / false} の形で書いてください",
        ),
        "seal" => check::<Option<SealRegistration>>(
            value,
            "{\"number\": 登録番号, \"registered_on\": 日付, \"impression\": 印影の文字, \"state\": \"active\" / \"cancelled\"} の形で書いてください",
        ),
        "tax" => check::<Vec<TaxYear>>(
            value,
            "年度ごとに {\"fiscal_year\": 年度, \"items\": [{\"name\": 税目, \"assessed\": 税額, \"paid\": 納付額}]} を並べたリストで書いてください",
        ),
        _ => check::<String>(value, "文字列で書いてください"),
    }
}

/// The body: `residents` and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    residents: Vec<RawRow>,
}

/// A row as sent: an object's key/value pairs in order (duplicates kept), or
/// what was sent instead of an object.
pub(crate) enum RawRow {
    Object(Vec<(String, Value)>),
    Other(Sent),
}

/// What was sent where an object belongs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sent {
    List,
    Text,
    Boolean,
    Number,
    Null,
}

impl Sent {
    pub(crate) fn en(self) -> &'static str {
        match self {
            Sent::List => "a list",
            Sent::Text => "a string",
            Sent::Boolean => "true or false",
            Sent::Number => "a number",
            Sent::Null => "null",
        }
    }

    pub(crate) fn ja(self) -> &'static str {
        match self {
            Sent::List => "リスト",
            Sent::Text => "文字列",
            Sent::Boolean => "true か false",
            Sent::Number => "数値",
            Sent::Null => "null",
        }
    }
}

impl<'de> Deserialize<'de> for RawRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawRow, D::Error> {
        deserializer.deserialize_any(RawRowVisitor)
    }
}

struct RawRowVisitor;

impl<'de> Visitor<'de> for RawRowVisitor {
    type Value = RawRow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a resident object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, Value>()? {
            pairs.push(pair);
        }
        Ok(RawRow::Object(pairs))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRow, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawRow::Other(Sent::List))
    }

    fn visit_str<E>(self, _: &str) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Text))
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Boolean))
    }

    fn visit_i64<E>(self, _: i64) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Number))
    }

    fn visit_u64<E>(self, _: u64) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Number))
    }

    fn visit_f64<E>(self, _: f64) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Number))
    }

    fn visit_unit<E>(self) -> Result<RawRow, E> {
        Ok(RawRow::Other(Sent::Null))
    }
}

/// Parse a JSON import. Returns every resident, or every problem found (up to
/// [`crate::MAX_PROBLEMS`]); nothing in between.
pub fn parse_json(body: &[u8]) -> Result<Vec<RegisterEntry>, ImportError> {
    let body: Body = serde_json::from_slice(body).map_err(|err| {
        ImportError::single(RowProblem::new(
            0,
            None,
            None,
            Reason::new(
                format!(
                    "the file is not a JSON import: {err}. It must be one object, {{\"residents\": [ ... ]}}, \
                     holding one object per resident, in UTF-8"
                ),
                detail_ja(
                    "ファイルが JSON の取り込みの形ではありません。UTF-8 で、一つのオブジェクト \
                     {\"residents\": [ ... ]} の中に住民 1 人につき一つのオブジェクトを書いてください",
                    &err,
                ),
            ),
        ))
    })?;
    if body.residents.len() > MAX_ROWS {
        return Err(too_many_rows(MAX_ROWS + 1, body.residents.len(), Format::Json));
    }
    let mut problems = Problems::default();
    let mut rows = Vec::with_capacity(body.residents.len());
    for (index, raw) in body.residents.into_iter().enumerate() {
        if problems.is_full() {
            break;
        }
        if let Some(entry) = decode_row(index + 1, raw, &mut problems) {
            rows.push((index + 1, entry));
        }
    }
    finish(rows, Format::Json, problems)
}

/// A key given twice in one object.
pub(crate) fn given_twice(key: &str) -> Reason {
    Reason::new(
        format!("`{key}` is given more than once: give each field once"),
        format!("`{key}` が 2 回以上書かれています。各項目は 1 回だけ書いてください"),
    )
}

fn decode_row(row: usize, raw: RawRow, problems: &mut Problems) -> Option<RegisterEntry> {
    let pairs = match raw {
        RawRow::Object(pairs) => pairs,
        RawRow::Other(sent) => {
            problems.push(RowProblem::new(
                row,
                None,
                None,
                Reason::new(
                    format!(
                        "resident {row} is {}, not an object: write each resident as {{\"id\": ..., ...}}",
                        sent.en()
                    ),
                    format!(
                        "{row} 件目の住民がオブジェクトではなく{}です。住民はそれぞれ {{\"id\": ..., ...}} の形で\
                         書いてください",
                        sent.ja()
                    ),
                ),
            ));
            return None;
        }
    };
    let id = pairs.iter().find(|(key, _)| key == "id").and_then(|(_, value)| value.as_str()).map(str::to_owned);
    let id = id.as_deref();
    let before = problems.found();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        if seen.contains(&key.as_str()) {
            problems.push(RowProblem::new(row, id, Some(key), given_twice(key)));
            continue;
        }
        seen.push(key);
        if !FIELDS.iter().any(|(name, _)| name == key) {
            let known = FIELDS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
            let quoted = quote(key);
            problems.push(RowProblem::new(
                row,
                id,
                Some(key),
                Reason::new(
                    format!("{quoted} is not a resident field: the fields are {known}"),
                    format!("{quoted} は住民の項目ではありません。項目は {known} です"),
                ),
            ));
        } else if let Some(why) = field_error(key, value) {
            problems.push(RowProblem::new(row, id, Some(key), why.map(|why| format!("`{key}`: {why}"))));
        }
    }
    for (name, required) in FIELDS {
        if required && !seen.contains(&name) {
            problems.push(RowProblem::new(
                row,
                id,
                Some(name),
                Reason::new(
                    format!("`{name}` is missing: every resident needs it"),
                    format!("`{name}` がありません。すべての住民に必要です"),
                ),
            ));
        }
    }
    if problems.found() != before {
        return None;
    }
    let object: Map<String, Value> = pairs.into_iter().collect();
    match serde_json::from_value::<JsonResident>(Value::Object(object)) {
        Ok(resident) => Some(resident.into()),
        Err(err) => {
            // The diagnosis above covers every field; this is a backstop.
            let reason = Reason::new(
                format!("the resident does not match the format: {err}"),
                detail_ja("住民の記録の形が正しくありません", &err),
            );
            problems.push(RowProblem::new(row, id, None, reason));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(id: &str) -> Value {
        json!({
            "id": id,
            "household": "H-1",
            "name": "中村　健太",
            "name_kana": "ナカムラ　ケンタ",
            "birth_date": "2001-04-02",
            "sex": "male",
            "address": "見本市本町一丁目1番1号",
            "address_since": "2024-04-01",
            "resident_since": "2024-04-01",
            "household_head": "中村　健太",
            "relationship": "世帯主"
        })
    }

    fn import(rows: Vec<Value>) -> Result<Vec<RegisterEntry>, ImportError> {
        parse_json(json!({ "residents": rows }).to_string().as_bytes())
    }

    /// (row, id, field) of each problem.
    fn wheres(err: &ImportError) -> Vec<(usize, Option<&str>, Option<&str>)> {
        err.problems.iter().map(|p| (p.row, p.id.as_deref(), p.field.as_deref())).collect()
    }

    #[test]
    fn a_minimal_row_takes_the_defaults() {
        let entries = import(vec![row("R-1")]).unwrap();
        let entry = &entries[0];
        assert_eq!((entry.id.as_str(), entry.household.as_str(), entry.test), ("R-1", "H-1", false));
        assert_eq!(entry.person.residency, Residency::default());
        assert!(entry.person.seal.is_none() && entry.person.tax.is_empty() && entry.person.household.is_empty());
        assert_eq!(import(vec![]).unwrap(), vec![]);
    }

    #[test]
    fn every_problem_of_every_row_is_reported_with_row_id_and_field() {
        let mut bad_fields = row("R-2");
        bad_fields["birth_date"] = json!("2001/04/02");
        bad_fields["sex"] = json!("男");
        bad_fields["test"] = json!("yes");
        bad_fields["nickname"] = json!("ケン");
        bad_fields.as_object_mut().unwrap().remove("address");
        let mut bad_person = row("R-3");
        bad_person["name_kana"] = json!("なかむら");
        let mut bad_id = row("R 4");
        bad_id["household"] = json!("世帯1");
        let err = import(vec![row("R-1"), bad_fields, bad_person, bad_id, json!("R-5"), row("R-1")]).unwrap_err();
        assert_eq!(
            wheres(&err),
            [
                (2, Some("R-2"), Some("birth_date")),
                (2, Some("R-2"), Some("nickname")),
                (2, Some("R-2"), Some("sex")),
                (2, Some("R-2"), Some("test")),
                (2, Some("R-2"), Some("address")),
                (5, None, None),
                (3, Some("R-3"), Some("name_kana")),
                (4, Some("R 4"), Some("id")),
                (4, Some("R 4"), Some("household")),
                (6, Some("R-1"), Some("id")),
            ]
        );
        let text: Vec<&str> = err.problems.iter().map(|p| p.problem.as_str()).collect();
        assert!(text[0].contains("YYYY-MM-DD"), "{}", text[0]);
        // json! sorts keys, so problems come in key order.
        assert!(text[1].contains("not a resident field") && text[1].contains("registered_domicile"), "{}", text[1]);
        assert!(text[2].contains("`male` or `female`"), "{}", text[2]);
        assert!(text[3].contains("expected a boolean"), "{}", text[3]);
        assert!(text[4].contains("`address` is missing"), "{}", text[4]);
        assert!(text[5].contains("resident 5 is a string, not an object"), "{}", text[5]);
        assert!(text[6].contains("katakana"), "{}", text[6]);
        assert!(text[9].contains("already used on row 1"), "{}", text[9]);
    }

    #[test]
    fn a_field_given_twice_is_rejected() {
        let text = row("R-1").to_string().replace(r#""sex":"male""#, r#""sex":"male","sex":"female""#);
        let err = parse_json(format!(r#"{{"residents": [{text}]}}"#).as_bytes()).unwrap_err();
        assert_eq!(wheres(&err), [(1, Some("R-1"), Some("sex"))]);
        assert!(err.problems[0].problem.contains("more than once"));
    }

    #[test]
    fn nested_objects_reject_unknown_fields() {
        let mut bad = row("R-1");
        bad["residency"] = json!({ "state": "moved-out", "sinse": "2025-01-01" });
        let err = import(vec![bad]).unwrap_err();
        assert_eq!(wheres(&err), [(1, Some("R-1"), Some("residency"))]);
        assert!(err.problems[0].problem.contains("unknown field `sinse`"), "{err}");
    }

    #[test]
    fn a_household_is_all_test_or_all_real() {
        let mut test = row("R-2");
        test["test"] = json!(true);
        let err = import(vec![row("R-1"), test]).unwrap_err();
        assert_eq!(wheres(&err), [(2, Some("R-2"), Some("test"))]);
        assert!(err.problems[0].problem.contains("a test resident in household `H-1`, whose row 1 is a real"));
    }

    #[test]
    fn households_have_at_most_64_members() {
        let rows: Vec<Value> = (1..=MAX_HOUSEHOLD + 1).map(|n| row(&format!("R-{n}"))).collect();
        let err = import(rows).unwrap_err();
        assert_eq!(wheres(&err), [(65, Some("R-65"), Some("household"))]);
        let rows: Vec<Value> = (1..=MAX_HOUSEHOLD).map(|n| row(&format!("R-{n}"))).collect();
        assert_eq!(import(rows).unwrap().len(), MAX_HOUSEHOLD);
    }

    const MAX_HOUSEHOLD: usize = crate::MAX_HOUSEHOLD_MEMBERS;

    #[test]
    fn the_file_as_a_whole_must_be_an_import() {
        for (body, expected) in [
            ("", "not a JSON import"),
            ("[1]", "not a JSON import"),
            (r#"{"residents": [], "municipality": "x"}"#, "unknown field `municipality`"),
            (r#"{"people": []}"#, "unknown field `people`"),
            (r#"{"residents": [{"id": "a",}]}"#, "line 1 column"),
        ] {
            let err = parse_json(body.as_bytes()).unwrap_err();
            assert_eq!(wheres(&err), [(0, None, None)], "{body}");
            assert!(err.problems[0].problem.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn more_than_10000_rows_are_rejected() {
        let body = format!(r#"{{"residents": [{}]}}"#, vec!["{}"; MAX_ROWS + 1].join(","));
        let err = parse_json(body.as_bytes()).unwrap_err();
        assert_eq!(wheres(&err), [(MAX_ROWS + 1, None, None)]);
        assert!(err.problems[0].problem.contains("10001 residents, more than the 10000"), "{err}");
    }

    #[test]
    fn problems_stop_at_the_cap() {
        let rows: Vec<Value> = (0..MAX_ROWS).map(|_| json!({})).collect();
        let err = import(rows).unwrap_err();
        assert_eq!(err.problems.len(), crate::MAX_PROBLEMS);
    }
}
