//! A certificate's options (a manifest's `options`) as form inputs, and the
//! posted inputs back as the request's `options` object. Used by the
//! dry-run form and the kiosk simulator alike.

use maud::{Markup, html};
use serde_json::{Map, Value};

use super::form::Fields;
use super::page::{Lang, s};

/// The form field that carries option `key`.
fn field(key: &str) -> String {
    format!("opt.{key}")
}

fn label(lang: Lang, spec: &Value) -> String {
    match lang {
        Lang::Ja => s(spec, "label_ja"),
        Lang::En => s(spec, "label_en"),
    }
}

/// The inputs of `specs` (a manifest's option list), at their defaults.
pub fn inputs(lang: Lang, specs: &Value) -> Markup {
    html! {
        @for spec in specs.as_array().into_iter().flatten() {
            @let key = s(spec, "key");
            @let default = &spec["default"];
            @match s(&spec["kind"], "type").as_str() {
                "flag" => {
                    label.check {
                        input type="checkbox" name=(field(&key)) value="true" checked[default["flag"].as_bool() == Some(true)];
                        (label(lang, spec))
                    }
                }
                "choice" => {
                    label { (label(lang, spec))
                        select name=(field(&key)) {
                            @for choice in spec["kind"]["choices"].as_array().into_iter().flatten() {
                                @let value = s(choice, "value");
                                option value=(value) selected[default["choice"].as_str() == Some(value.as_str())] {
                                    (match lang { Lang::Ja => s(choice, "label_ja"), Lang::En => s(choice, "label_en") })
                                }
                            }
                        }
                    }
                }
                "integer" => {
                    label { (label(lang, spec))
                        input type="number" name=(field(&key)) min=(s(&spec["kind"], "min")) max=(s(&spec["kind"], "max"))
                            value=(s(default, "integer"));
                    }
                }
                _ => {}
            }
        }
    }
}

/// The request's `options` from the posted inputs of `specs`. A flag left
/// unchecked is sent as false; a number that is not one is sent as text, for
/// the API to refuse with its own message.
pub fn posted(specs: &Value, fields: &Fields) -> Value {
    let mut options = Map::new();
    for spec in specs.as_array().into_iter().flatten() {
        let key = s(spec, "key");
        let sent = fields.get(&field(&key));
        let value = match s(&spec["kind"], "type").as_str() {
            "flag" => Value::Bool(sent == "true"),
            "integer" if sent.is_empty() => continue,
            "integer" => sent.parse::<i64>().map_or_else(|_| Value::String(sent.to_owned()), Value::from),
            _ if sent.is_empty() => continue,
            _ => Value::String(sent.to_owned()),
        };
        options.insert(key, value);
    }
    Value::Object(options)
}
