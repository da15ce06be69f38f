//! The examples in docs/REGISTER.md are what the code accepts (and, for the
//! error example, what it says), so the municipality's documentation cannot
//! drift from the import.

use kofu_register::{StatusChange, parse_csv, parse_json};

fn doc() -> String {
    let path = format!("{}/../../docs/REGISTER.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The code block after `<!-- example: {name} -->`.
fn example(doc: &str, name: &str) -> String {
    let marker = format!("<!-- example: {name} -->");
    let start = doc.find(&marker).unwrap_or_else(|| panic!("no example {name}"));
    let rest = &doc[start + marker.len()..];
    let body = &rest[rest.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

#[test]
fn the_json_and_csv_examples_are_the_same_register() {
    let doc = doc();
    let from_json = parse_json(example(&doc, "import-json").as_bytes()).unwrap_or_else(|e| panic!("{}", e.report()));
    let from_csv = parse_csv(example(&doc, "import-csv").as_bytes()).unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(from_json, from_csv);
    assert_eq!(from_json.len(), 4);
    assert!(from_json[3].test);
    assert_eq!(from_json[1].person.tax[0].items.len(), 2);
    let minimal = parse_csv(example(&doc, "import-csv-minimal").as_bytes()).unwrap();
    assert_eq!(minimal[0].person.name, from_json[2].person.name);
}

#[test]
fn the_error_example_is_what_the_import_says() {
    let doc = doc();
    let csv = example(&doc, "import-csv")
        .replace("1980-09-03", "1980/9/3")
        .replace("moved-out,2025-09-30", "moved-out,")
        .replace("T-0001,", "R-0001,");
    let err = parse_csv(csv.as_bytes()).unwrap_err();
    let start = doc.find("```text\n").unwrap() + "```text\n".len();
    let shown = &doc[start..start + doc[start..].find("```").unwrap()];
    assert_eq!(shown.trim_end(), err.report());
    assert_eq!(example(&doc, "import-error-ja").trim_end(), err.problems[2].problem_ja);
}

#[test]
fn the_status_change_examples_apply() {
    let doc = doc();
    let register = parse_json(example(&doc, "import-json").as_bytes()).unwrap();
    for name in ["change-moved-out", "change-deceased", "change-restricted", "change-tax-year"] {
        let change = StatusChange::parse(example(&doc, name).as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut yamada = register[0].clone();
        change.apply(&mut yamada).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_ne!(yamada, register[0], "{name} changes something");
    }
}
