//! Every problem an import or a status change reports is written in Japanese
//! as well as English, and the Japanese names the same fields and values, so
//! municipal staff reading the console's report can act on it unaided.
//!
//! The bad inputs below reach every place a problem is made: the file as a
//! whole, the CSV header, each kind of cell, the JSON rows and fields, the
//! register's own checks, the checks across rows, the model's rules passed
//! through, and status changes parsed and applied.

use kofu_register::{ImportError, RowProblem, StatusChange, parse_csv, parse_json};
use serde_json::{Value, json};

const HEADER: &str =
    "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
const ROW: &str = "R-1,H-1,中村　健太,ナカムラ　ケンタ,2001-04-02,male,見本市本町一丁目1番1号,2024-04-01,2024-04-01,中村　健太,世帯主";

fn csv(body: &str) -> ImportError {
    parse_csv(body.as_bytes()).expect_err(body)
}

fn json_rows(rows: Vec<Value>) -> ImportError {
    let body = json!({ "residents": rows }).to_string();
    parse_json(body.as_bytes()).expect_err(&body)
}

fn json_row(id: &str) -> Value {
    json!({
        "id": id, "household": "H-1", "name": "中村　健太", "name_kana": "ナカムラ　ケンタ",
        "birth_date": "2001-04-02", "sex": "male", "address": "見本市本町一丁目1番1号",
        "address_since": "2024-04-01", "resident_since": "2024-04-01",
        "household_head": "中村　健太", "relationship": "世帯主"
    })
}

fn with(mut row: Value, key: &str, value: Value) -> Value {
    row[key] = value;
    row
}

/// Every problem of every bad input, with what was sent.
fn corpus() -> Vec<(String, RowProblem)> {
    let full_header = format!(
        "{HEADER},test,residency_state,residency_since,restricted,seal_number,seal_registered_on,seal_impression,\
         domicile_place,domicile_head,my_number,tax"
    );
    let blank = ",,,,,,,,,,,";
    let mut errors: Vec<(String, ImportError)> = vec![
        ("empty CSV".into(), csv("")),
        ("Shift_JIS header".into(), parse_csv(b"id,\x8e\x81\x96\xbc\n").unwrap_err()),
        ("bad header".into(), csv(&format!("{},name,,gender\n", HEADER.replace(",sex", "")))),
        ("short row".into(), csv(&format!("{HEADER}\nR-1,H-1\n"))),
        ("unterminated quote".into(), csv(&format!("{HEADER}\n\"R-1,H-1\n"))),
        (
            "bad cells".into(),
            csv(&format!(
                "{full_header}\n{},yes,gone,,1,第1号,,,本籍,,12345,\"2025:市民税:1,000:0;25:x:1:1;2025::1:1;2025:x\"\n",
                ROW.replace("2001-04-02", "2001/4/2").replace("male", "男").replace("中村　健太,ナカ", ",ナカ")
            )),
        ),
        (
            "model rules".into(),
            csv(&format!(
                "{full_header}\n{}\n{}\n{}\n{}\n",
                format_args!("{},,moved-out{}", ROW.replace("ナカムラ　ケンタ", "なかむら"), &blank[2..]),
                format_args!("{},,,,,,,,,,123456789012,2025:市民税:1:2", ROW.replace("R-1", "R 2")),
                format_args!("{}{blank}", ROW.replace("R-1", "R-3").replace("見本市", &"長".repeat(201))),
                // The id of the first row again, as a test resident in a real household.
                format_args!("{ROW},true{}", &blank[1..]),
            )),
        ),
        ("not a JSON import".into(), parse_json(b"[1]").unwrap_err()),
        ("too many residents".into(), {
            let body = format!(r#"{{"residents": [{}]}}"#, vec!["{}"; kofu_register::MAX_ROWS + 1].join(","));
            parse_json(body.as_bytes()).unwrap_err()
        }),
        (
            "bad JSON rows".into(),
            json_rows(vec![
                json!("R-1"),
                json!(null),
                with(json_row("R-2"), "birth_date", json!("2001/04/02")),
                with(json_row("R-3"), "sex", json!("男")),
                with(json_row("R-4"), "test", json!("yes")),
                with(json_row("R-5"), "gender", json!("male")),
                with(json_row("R-6"), "residency", json!({"state": "moved-out", "sinse": "2025-01-01"})),
                with(json_row("R-7"), "seal", json!({"number": 1})),
                with(json_row("R-8"), "registered_domicile", json!("本籍")),
                with(json_row("R-9"), "tax", json!([{"fiscal_year": 25, "items": []}])),
                with(json_row("R-10"), "previous_address", json!(" ")),
                with(json_row("R-11"), "household", json!("H 1")),
                with(json_row("R-12"), "my_number", json!(123)),
                {
                    let mut row = json_row("R-13");
                    row.as_object_mut().unwrap().remove("address");
                    row
                },
                with(
                    json_row("R-14"),
                    "tax",
                    json!([
                        {"fiscal_year": 2025, "items": [{"name": "市民税;県民税", "assessed": 1, "paid": 0}]},
                        {"fiscal_year": 2025, "items": [{"name": " 市民税", "assessed": 1, "paid": 0}]}
                    ]),
                ),
                json_row("R-2"),
                with(json_row("R-15"), "test", json!(true)),
            ]),
        ),
        ("too many in a household".into(), json_rows((0..=64).map(|n| json_row(&format!("M-{n}"))).collect())),
    ];
    let twice = json_row("R-1").to_string().replace(r#""sex":"male""#, r#""sex":"male","sex":"female""#);
    errors.push(("a key twice".into(), parse_json(format!(r#"{{"residents": [{twice}]}}"#).as_bytes()).unwrap_err()));
    for body in [
        "{}",
        "[]",
        "restricted=true",
        r#"{"name": "x", "seal_state": "gone", "restricted": "yes"}"#,
        r#"{"residency": {"since": "2025-01-01"}, "tax_year": {"fiscal_year": 2025}}"#,
        r#"{"restricted": true, "residency": {"state": "resident", "restricted": false}}"#,
        r#"{"restricted": true, "restricted": false}"#,
    ] {
        errors.push((body.to_owned(), StatusChange::parse(body.as_bytes()).unwrap_err()));
    }
    let mut problems: Vec<(String, RowProblem)> =
        errors.into_iter().flat_map(|(sent, err)| err.problems.into_iter().map(move |p| (sent.clone(), p))).collect();

    let register = parse_json(json!({ "residents": [json_row("R-1")] }).to_string().as_bytes()).unwrap();
    for body in [
        r#"{"seal_state": "cancelled"}"#,
        r#"{"residency": {"state": "deceased"}}"#,
        r#"{"tax_year": {"fiscal_year": 2025, "items": [{"name": "市民税", "assessed": 1, "paid": 2}]}}"#,
    ] {
        let mut entry = register[0].clone();
        let problem = StatusChange::parse(body.as_bytes()).unwrap().apply(&mut entry).unwrap_err();
        problems.push((body.to_owned(), problem));
    }
    let sealed = format!(
        "{HEADER},seal_number,seal_registered_on,seal_impression,seal_state\n{ROW},第1号,2024-04-01,中村,cancelled\n"
    );
    let mut entry = parse_csv(sealed.as_bytes()).unwrap().remove(0);
    let problem = StatusChange::parse(br#"{"seal_state": "active"}"#).unwrap().apply(&mut entry).unwrap_err();
    problems.push(("revive a cancelled seal".into(), problem));
    problems
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}')
}

/// The backticked names and values of a text, e.g. `birth_date` or `R-1`.
fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_problem_has_its_japanese_naming_the_same_fields_and_values() {
    let problems = corpus();
    let mut failures = Vec::new();
    for (sent, problem) in &problems {
        let (en, ja) = (&problem.problem, &problem.problem_ja);
        if !ja.chars().any(is_japanese) || ja == en {
            failures.push(format!("{sent}: no Japanese for {en:?}: {ja:?}"));
            continue;
        }
        for name in quoted(en) {
            if !ja.contains(&format!("`{name}`")) {
                failures.push(format!("{sent}: `{name}` of {en:?} is missing from {ja:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} problems:\n{}", failures.len(), problems.len(), failures.join("\n"));
    // The corpus reaches the places problems are made (59 texts when this
    // was written); a change that stopped it from doing so would leave texts
    // untested.
    let distinct: std::collections::BTreeSet<String> = problems
        .iter()
        .map(|(_, p)| p.problem_ja.split(['`', '（', '。']).filter(|part| part.chars().any(is_japanese)).collect())
        .collect();
    assert!(distinct.len() >= 55, "only {} distinct Japanese problems:\n{distinct:#?}", distinct.len());
}

#[test]
fn the_japanese_of_a_csv_report_reads_by_line() {
    let body = format!("{HEADER}\n{ROW}\n{ROW}\n");
    let err = csv(&body);
    let problem = &err.problems[0];
    assert_eq!((problem.row, problem.field.as_deref()), (3, Some("id")));
    assert!(problem.problem_ja.contains("2 行目ですでに使われています"), "{}", problem.problem_ja);
    let err = json_rows(vec![json_row("R-1"), json_row("R-1")]);
    assert!(err.problems[0].problem_ja.contains("1 件目ですでに使われています"), "{}", err.problems[0].problem_ja);
}
