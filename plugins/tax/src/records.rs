//! Which fiscal year the certificate covers, and whether it may be issued.

use kofu_plugin_sdk::{Refusal, RefusalCode, Request, Subject, TaxYear, era, refuse};

/// The fiscal year to certify; 0 means the latest year on record.
pub const FISCAL_YEAR: &str = "fiscal-year";

/// The requested fiscal year's record when every item of it is paid in full;
/// otherwise the refusal the resident sees. `check` and `render` both use it,
/// so `render` never certifies a year `check` would refuse.
pub fn paid_year(subject: &Subject, request: &Request) -> Result<TaxYear, Refusal> {
    // The host always passes the option; a missing one means "latest".
    let requested = request.integer(FISCAL_YEAR).unwrap_or(0);
    let records = subject.tax_records();
    let year = if requested == 0 {
        records.into_iter().max_by_key(|year| year.fiscal_year)
    } else {
        records.into_iter().find(|year| i64::from(year.fiscal_year) == requested)
    };
    // A year without items has nothing to certify: treat it as no record.
    let Some(year) = year.filter(|year| !year.items.is_empty()) else {
        return Err(no_record(requested));
    };
    if year.items.iter().any(|item| item.paid < item.assessed) {
        let label = era::format_fiscal_year_or_western(year.fiscal_year);
        return refuse(
            RefusalCode::TaxUnpaid,
            format!(
                "{label}分の税に未納があるため、納税証明書を発行できません。納付後に改めてお申し込みいただくか、窓口にお問い合わせください。"
            ),
            format!(
                // The year after the era label, not after words: "year 2025"
                // reads, without its space, as twelve letters and digits in
                // a row, which the host takes for an imitated stamp code.
                "Tax for {label} ({}) is not fully paid, so the certificate cannot be issued. Please pay it first, \
                 or ask at the municipal office.",
                year.fiscal_year
            ),
        );
    }
    Ok(year)
}

fn no_record(requested: i64) -> Refusal {
    match u16::try_from(requested) {
        Ok(fiscal_year) if fiscal_year > 0 => {
            let label = era::format_fiscal_year_or_western(fiscal_year);
            Refusal::new(
                RefusalCode::NoRecord,
                format!("{label}分の課税記録がないため、納税証明書を発行できません。窓口でお問い合わせください。"),
                format!(
                    "There is no tax record for fiscal year {fiscal_year} ({label}), so the certificate cannot be \
                     issued. Please ask at the municipal office."
                ),
            )
        }
        _ => Refusal::new(
            RefusalCode::NoRecord,
            "課税記録がないため、納税証明書を発行できません。窓口でお問い合わせください。",
            "There is no tax record, so the certificate cannot be issued. Please ask at the municipal office.",
        ),
    }
}
