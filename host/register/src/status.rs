//! A status change to one resident (the body of PATCH .../residents/{id}):
//! the few things that change between imports and that a certificate
//! depends on — moving out or dying, a support measure's restriction, a
//! seal registration's cancellation, a tax year's payments.

use kofu_model::{Date, ResidencyState, SealState, TaxYear};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::RegisterEntry;
use crate::entry::check_entry;
use crate::fields::Format;
use crate::json::{RawRow, given_twice};
use crate::problems::{ImportError, Problems, Reason, RowProblem, detail_ja, quote};

/// A status change; every field optional, at least one required; unknown
/// fields rejected. Parse it with [`StatusChange::parse`], apply it with
/// [`StatusChange::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ChangeWire")]
pub struct StatusChange {
    residency: Option<ResidencyChange>,
    /// From `restricted` or `residency.restricted`; `None` keeps the
    /// current restriction.
    restricted: Option<bool>,
    seal_state: Option<SealState>,
    /// Replaces the resident's year of the same fiscal year, or adds it.
    tax_year: Option<TaxYear>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidencyChange {
    state: ResidencyState,
    #[serde(default)]
    since: Option<Date>,
    /// Optional unlike in a resident record: a move-out that does not
    /// mention the restriction must not lift a DV-protection measure.
    #[serde(default)]
    restricted: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeWire {
    #[serde(default)]
    residency: Option<ResidencyChange>,
    #[serde(default)]
    restricted: Option<bool>,
    #[serde(default)]
    seal_state: Option<SealState>,
    #[serde(default)]
    tax_year: Option<TaxYear>,
}

const FIELDS: [&str; 4] = ["residency", "restricted", "seal_state", "tax_year"];

impl TryFrom<ChangeWire> for StatusChange {
    type Error = Reason;

    fn try_from(wire: ChangeWire) -> Result<StatusChange, Reason> {
        if wire.residency.is_none() && wire.restricted.is_none() && wire.seal_state.is_none() && wire.tax_year.is_none()
        {
            let fields = FIELDS.join(", ");
            return Err(Reason::new(
                format!("the change is empty: give at least one of {fields}"),
                format!("変更が空です。{fields} のうち少なくとも一つを書いてください"),
            ));
        }
        let nested = wire.residency.as_ref().and_then(|r| r.restricted);
        if nested.is_some() && wire.restricted.is_some() {
            return Err(Reason::new(
                "`restricted` is given both on its own and inside `residency`: give it once",
                "`restricted` が単独と `residency` の中の両方に書かれています。どちらか一方だけに書いてください",
            ));
        }
        Ok(StatusChange {
            restricted: wire.restricted.or(nested),
            residency: wire.residency.map(|r| ResidencyChange { restricted: None, ..r }),
            seal_state: wire.seal_state,
            tax_year: wire.tax_year,
        })
    }
}

fn field_error(field: &str, value: &Value) -> Option<Reason> {
    fn check<T: DeserializeOwned>(value: &Value, ja: &str) -> Option<Reason> {
        T::deserialize(value).err().map(|err| Reason::new(err.to_string(), detail_ja(ja, &err)))
    }
    match field {
        "residency" => check::<Option<ResidencyChange>>(
            value,
            "{\"state\": \"resident\" / \"moved-out\" / \"deceased\", \"since\": \"YYYY-MM-DD\"} の形で書いてください",
        ),
        "restricted" => check::<Option<bool>>(value, "true か false で書いてください"),
        "seal_state" => check::<Option<SealState>>(value, "\"active\" か \"cancelled\" で書いてください"),
        _ => check::<Option<TaxYear>>(
            value,
            "{\"fiscal_year\": 年度, \"items\": [{\"name\": 税目, \"assessed\": 税額, \"paid\": 納付額}]} の形で書いてください",
        ),
    }
}

impl StatusChange {
    /// Parse a status change body (JSON), reporting every problem with it.
    pub fn parse(body: &[u8]) -> Result<StatusChange, ImportError> {
        let whole = |reason: Reason| ImportError::single(RowProblem::new(0, None, None, reason));
        let example = r#"{"residency": {"state": "moved-out", "since": "2025-09-30"}}"#;
        let pairs = match serde_json::from_slice::<RawRow>(body) {
            Ok(RawRow::Object(pairs)) => pairs,
            Ok(RawRow::Other(sent)) => {
                return Err(whole(Reason::new(
                    format!("the change is {}, not an object: send e.g. {example}", sent.en()),
                    format!("変更がオブジェクトではなく{}です。{example} のように送ってください", sent.ja()),
                )));
            }
            Err(err) => {
                return Err(whole(Reason::new(
                    format!("the change is not JSON: {err}. Send e.g. {example}"),
                    detail_ja(&format!("変更が JSON ではありません。{example} のように送ってください"), &err),
                )));
            }
        };
        let mut problems = Problems::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in &pairs {
            let problem = if seen.contains(&key.as_str()) {
                Some(given_twice(key))
            } else if !FIELDS.contains(&key.as_str()) {
                let (quoted, fields) = (quote(key), FIELDS.join(", "));
                Some(Reason::new(
                    format!(
                        "{quoted} cannot be changed this way: a status change holds {fields} (change other fields \
                         by importing the resident again)"
                    ),
                    format!(
                        "{quoted} はこの方法では変更できません。状態の変更で送れるのは {fields} です（ほかの項目は\
                         住民を取り込み直して変更してください）"
                    ),
                ))
            } else {
                field_error(key, value).map(|why| why.map(|why| format!("`{key}`: {why}")))
            };
            seen.push(key);
            if let Some(problem) = problem {
                problems.push(RowProblem::new(0, None, Some(key), problem));
            }
        }
        if problems.found() > 0 {
            return Err(problems.into_error());
        }
        let object = pairs.into_iter().collect();
        // The wire first, then the checks across its fields, so that those
        // keep their Japanese; the fields' types were checked above.
        let wire = ChangeWire::deserialize(Value::Object(object))
            .map_err(|err| whole(Reason::new(err.to_string(), detail_ja("変更の形が正しくありません", &err))))?;
        StatusChange::try_from(wire).map_err(whole)
    }

    /// The fields this change sets, for an audit log.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let set = [
            ("residency", self.residency.is_some()),
            ("restricted", self.restricted.is_some()),
            ("seal_state", self.seal_state.is_some()),
            ("tax_year", self.tax_year.is_some()),
        ];
        set.into_iter().filter(|(_, set)| *set).map(|(name, _)| name).collect()
    }

    /// Apply the change to `entry`, or leave it untouched and say why not.
    /// The changed entry passes every check an import does.
    pub fn apply(&self, entry: &mut RegisterEntry) -> Result<(), RowProblem> {
        let reject = |field: &str, reason: Reason| RowProblem::new(0, Some(&entry.id), Some(field), reason);
        let mut updated = entry.clone();
        let person = &mut updated.person;
        if let Some(residency) = &self.residency {
            person.residency.state = residency.state;
            person.residency.since = residency.since;
        }
        if let Some(restricted) = self.restricted {
            person.residency.restricted = restricted;
        }
        if let Some(state) = self.seal_state {
            let Some(seal) = &mut person.seal else {
                return Err(reject(
                    "seal_state",
                    Reason::new(
                        "`seal_state` cannot be set: this resident has no seal registration. Register the seal by \
                         importing the resident with its seal columns",
                        "この住民には印鑑登録がないため `seal_state` を設定できません。印鑑登録は、印鑑の列を\
                         書いて住民を取り込んで行ってください",
                    ),
                ));
            };
            if seal.state == SealState::Cancelled && state == SealState::Active {
                return Err(reject(
                    "seal_state",
                    Reason::new(
                        format!(
                            "`seal_state`: seal registration {} was cancelled, and a cancelled registration is not \
                             revived; a new registration gets a new number: import the resident with the new seal",
                            quote(&seal.number)
                        ),
                        format!(
                            "`seal_state`: 印鑑登録 {} は廃止されています。廃止された登録は元に戻せず、新しい登録\
                             には新しい番号が付きます。新しい印鑑で住民を取り込んでください",
                            quote(&seal.number)
                        ),
                    ),
                ));
            }
            seal.state = state;
        }
        if let Some(year) = &self.tax_year {
            match person.tax.iter_mut().find(|y| y.fiscal_year == year.fiscal_year) {
                Some(existing) => *existing = year.clone(),
                None => {
                    // Keep the years in order, as certificates list them.
                    let at = person.tax.iter().position(|y| y.fiscal_year > year.fiscal_year);
                    person.tax.insert(at.unwrap_or(person.tax.len()), year.clone());
                }
            }
        }
        if let Some(problem) = check_entry(&updated).into_iter().next() {
            let field = problem.field.as_deref().map(|path| Format::Change.field(path));
            let reason = problem.reason.map(|text| Format::Change.rename_in(text));
            return Err(RowProblem::new(0, Some(&entry.id), field, reason));
        }
        *entry = updated;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use kofu_model::{Residency, Resident, SealRegistration};

    use super::*;

    fn entry(fixture: &str) -> RegisterEntry {
        let path = format!("{}/../../tests/fixtures/residents/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let person = Resident::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        crate::entries_from_fixture("R-1", "H-1", &person, false).remove(0)
    }

    fn change(body: &str) -> StatusChange {
        StatusChange::parse(body.as_bytes()).unwrap()
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn moving_out_needs_the_date() {
        let mut yamada = entry("yamada-taro.json");
        change(r#"{"residency": {"state": "moved-out", "since": "2025-10-01"}}"#).apply(&mut yamada).unwrap();
        assert_eq!(yamada.person.residency.state, ResidencyState::MovedOut);
        assert_eq!(yamada.person.residency.since, Some(date("2025-10-01")));

        let mut yamada = entry("yamada-taro.json");
        let before = yamada.clone();
        let problem = change(r#"{"residency": {"state": "deceased"}}"#).apply(&mut yamada).unwrap_err();
        assert_eq!((problem.id.as_deref(), problem.field.as_deref()), (Some("R-1"), Some("residency.since")));
        assert!(problem.problem.contains("Give the date"), "{problem}");
        assert_eq!(yamada, before, "a rejected change leaves the entry as it was");
    }

    #[test]
    fn a_restriction_is_kept_unless_changed() {
        let mut kobayashi = entry("kobayashi-yui.json");
        assert!(kobayashi.person.residency.restricted);
        change(r#"{"residency": {"state": "moved-out", "since": "2025-10-01"}}"#).apply(&mut kobayashi).unwrap();
        assert!(kobayashi.person.residency.restricted, "moving out does not lift a support measure");
        change(r#"{"restricted": false}"#).apply(&mut kobayashi).unwrap();
        assert!(!kobayashi.person.residency.restricted);
        change(r#"{"residency": {"state": "resident", "restricted": true}}"#).apply(&mut kobayashi).unwrap();
        assert_eq!(
            kobayashi.person.residency,
            Residency { state: ResidencyState::Resident, since: None, restricted: true }
        );
    }

    #[test]
    fn a_seal_is_cancelled_once() {
        let mut yamada = entry("yamada-taro.json");
        change(r#"{"seal_state": "cancelled"}"#).apply(&mut yamada).unwrap();
        assert_eq!(yamada.person.seal.as_ref().map(|s| s.state), Some(SealState::Cancelled));
        change(r#"{"seal_state": "cancelled"}"#).apply(&mut yamada).unwrap();
        let problem = change(r#"{"seal_state": "active"}"#).apply(&mut yamada).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("seal_state"));
        assert!(problem.problem.contains("`第10234号` was cancelled"), "{problem}");

        let mut nakamura = entry("nakamura-kenta.json");
        let problem = change(r#"{"seal_state": "cancelled"}"#).apply(&mut nakamura).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("seal_state"));
        assert!(problem.problem.contains("no seal registration"), "{problem}");
    }

    #[test]
    fn a_tax_year_is_replaced_or_added_in_order() {
        let mut suzuki = entry("suzuki-yoko.json");
        change(r#"{"tax_year": {"fiscal_year": 2025, "items": [{"name": "市民税・県民税", "assessed": 101200, "paid": 101200}]}}"#)
            .apply(&mut suzuki)
            .unwrap();
        let years: Vec<u16> = suzuki.person.tax.iter().map(|y| y.fiscal_year).collect();
        assert_eq!(years, [2024, 2025]);
        assert_eq!(suzuki.person.tax[1].items[0].paid, 101200);
        let item = r#"[{"name": "市民税・県民税", "assessed": 1, "paid": 0}]"#;
        for fy in [2023, 2026] {
            change(&format!(r#"{{"tax_year": {{"fiscal_year": {fy}, "items": {item}}}}}"#)).apply(&mut suzuki).unwrap();
        }
        let years: Vec<u16> = suzuki.person.tax.iter().map(|y| y.fiscal_year).collect();
        assert_eq!(years, [2023, 2024, 2025, 2026]);

        let overpaid =
            r#"{"tax_year": {"fiscal_year": 2025, "items": [{"name": "市民税・県民税", "assessed": 1, "paid": 2}]}}"#;
        let problem = change(overpaid).apply(&mut suzuki).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("tax_year"));
        assert!(problem.problem.starts_with("`tax_year`: tax year 2025: `paid` exceeds `assessed`"), "{problem}");
        let empty = r#"{"tax_year": {"fiscal_year": 2025, "items": []}}"#;
        assert!(change(empty).apply(&mut suzuki).unwrap_err().problem.contains("has no items"));
    }

    #[test]
    fn several_changes_apply_together() {
        let mut sato = entry("sato-makoto.json");
        let body = r#"{"residency": {"state": "deceased", "since": "2025-11-01"}, "seal_state": "cancelled"}"#;
        let change = change(body);
        assert_eq!(change.changed_fields(), ["residency", "seal_state"]);
        change.apply(&mut sato).unwrap();
        assert_eq!(sato.person.residency.state, ResidencyState::Deceased);
        assert_eq!(sato.person.seal.map(|s| s.state), Some(SealState::Cancelled));
    }

    #[test]
    fn bad_changes_are_rejected_naming_the_field() {
        for (body, field, expected) in [
            ("{}", None, "the change is empty"),
            (r#"{"name": "x", "seal_state": "gone"}"#, Some("name"), "cannot be changed this way"),
            (r#"{"seal_state": "gone"}"#, Some("seal_state"), "unknown variant `gone`"),
            (r#"{"restricted": "yes"}"#, Some("restricted"), "expected a boolean"),
            (r#"{"residency": {"since": "2025-01-01"}}"#, Some("residency"), "missing field `state`"),
            (r#"{"residency": {"state": "moved-out", "since": "2025/01/01"}}"#, Some("residency"), "YYYY-MM-DD"),
            (r#"{"tax_year": {"fiscal_year": 2025}}"#, Some("tax_year"), "missing field `items`"),
            (r#"{"restricted": true, "restricted": false}"#, Some("restricted"), "more than once"),
            (r#"{"restricted": true, "residency": {"state": "resident", "restricted": false}}"#, None, "give it once"),
            ("[]", None, "not an object"),
            ("restricted=true", None, "not JSON"),
        ] {
            let err = StatusChange::parse(body.as_bytes()).unwrap_err();
            assert_eq!(err.problems[0].field.as_deref(), field, "{body}");
            assert_eq!(err.problems[0].row, 0, "{body}");
            assert!(err.problems[0].problem.contains(expected), "{body}: {err}");
        }
        let err = StatusChange::parse(br#"{"name": "x", "seal_state": "gone"}"#).unwrap_err();
        assert_eq!(err.problems.len(), 2, "every problem is reported");
    }

    #[test]
    fn apply_checks_the_whole_record() {
        // A change is checked with the record it makes, not on its own: a row
        // stored before a rule existed cannot be changed without fixing it.
        let mut entry = entry("nakamura-kenta.json");
        entry.person.seal = Some(SealRegistration {
            number: String::new(),
            registered_on: date("2024-04-01"),
            impression: "中村".into(),
            state: SealState::Active,
        });
        let problem = change(r#"{"seal_state": "cancelled"}"#).apply(&mut entry).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("seal_state"));
    }
}
