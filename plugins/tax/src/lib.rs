//! 納税証明書 (tax payment certificate), as a municipality issues it at
//! convenience-store kiosks: the local taxes of one fiscal year, issued only
//! when every item of that year is paid in full.

mod records;

use kofu_plugin_sdk::{
    Align, Certificate, Column, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, Request, Subject, era,
    export_certificate, log, numbers::format_yen, require_resident,
};

use records::{FISCAL_YEAR, paid_year};

const TITLE: &str = "納税証明書";

struct Tax;

impl Certificate for Tax {
    fn manifest() -> Manifest {
        // One fiscal year's items: one page, two with a long list of items.
        Manifest::new("tax-certificate", TITLE, "Tax payment certificate", "1.0.0", 300)
            .max_pages(2)
            .reads(&[Field::Name, Field::Address, Field::Residency, Field::TaxRecords])
            .option(OptionSpec::integer(
                FISCAL_YEAR,
                "年度（0は最新の年度）",
                "Fiscal year (0 for the latest on record)",
                0,
                2099,
                0,
            ))
    }

    fn check(subject: &Subject, request: &Request) -> Result<(), Refusal> {
        require_resident(&subject.residency())?;
        paid_year(subject, request).map(|_| ())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let year = paid_year(subject, request)?;
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(year.items.len() + 1);
        let (mut assessed, mut paid) = (0u64, 0u64);
        for item in &year.items {
            assessed = assessed.saturating_add(item.assessed);
            paid = paid.saturating_add(item.paid);
            rows.push(vec![
                item.name.clone(),
                format_yen(item.assessed),
                format_yen(item.paid),
                format_yen(item.assessed.saturating_sub(item.paid)),
            ]);
        }
        if year.items.len() > 1 {
            rows.push(vec![
                "合計".to_owned(),
                format_yen(assessed),
                format_yen(paid),
                format_yen(assessed.saturating_sub(paid)),
            ]);
        }
        let columns = vec![
            Column::new("税目", 3, Align::Left),
            Column::new("税額", 2, Align::Right),
            Column::new("納付済額", 2, Align::Right),
            Column::new("未納額", 2, Align::Right),
        ];
        let document = DocumentBuilder::new(TITLE)
            .row("氏名", subject.name())
            .row("住所", subject.address())
            .spacing(4)
            .heading(format!("{}分", era::format_fiscal_year_or_western(year.fiscal_year)))
            .table(columns, rows)
            .spacing(2)
            .paragraph("以下余白")
            .certification("上記のとおり納付済であることを証明する。")
            .signed_by(request)
            .build();
        log::info(&format!("rendered tax certificate, {} items", year.items.len()));
        Ok(document)
    }
}

export_certificate!(Tax);
