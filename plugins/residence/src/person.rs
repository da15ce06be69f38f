//! One person's entry on the certificate.

use kofu_plugin_sdk::{Subject, era, sex_label};

use crate::options::Options;

/// The labelled values of one person, in the order a 住民票 prints them.
/// Gated fields are read only when their option is on.
pub fn rows(person: &Subject, options: &Options) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("氏名", format!("{}（{}）", person.name(), person.name_kana())),
        ("生年月日", era::format_date_or_western(person.birth_date())),
        ("性別", sex_label(person.sex()).to_owned()),
    ];
    if options.relationship {
        rows.push(("続柄", person.relationship()));
    }
    rows.push(("住民となった年月日", era::format_date_or_western(person.resident_since())));
    rows.push(("住所を定めた年月日", era::format_date_or_western(person.address_since())));
    if let Some(previous) = person.previous_address() {
        rows.push(("前住所", previous));
    }
    // `&&` evaluates left first: a gated field is read only with its flag on.
    if options.domicile
        && let Some(domicile) = person.registered_domicile()
    {
        rows.push(("本籍", domicile.place));
        rows.push(("筆頭者", domicile.head));
    }
    if options.my_number
        && let Some(number) = person.my_number()
    {
        rows.push(("個人番号", number));
    }
    rows
}
