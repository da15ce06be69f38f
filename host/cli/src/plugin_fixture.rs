//! `kofu plugin fixture`: write a generated resident (or a population of
//! them) as fixture JSON, the format `kofu plugin render --resident`
//! reads. Plugin authors get the households they need to test (eight
//! members, 外字, a move out, unpaid taxes) without writing them by hand,
//! and the same seed gives the same resident on every machine.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kofu_fixtures::{MAX_MEMBERS, MAX_TAX_YEARS, Profile, Seal};
use kofu_model::Resident;

#[derive(Args)]
pub struct FixtureArgs {
    /// The seed: the same seed and options give the same resident.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Members of the household, the resident included.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_MEMBERS as i64))]
    members: u8,
    /// The resident has moved out of the city.
    #[arg(long)]
    moved_out: bool,
    /// Another member of the household is deceased (needs --members 2 or more).
    #[arg(long)]
    deceased_member: bool,
    /// A support measure (DV protection) restricts the resident's records.
    #[arg(long)]
    restricted: bool,
    /// The resident's seal registration: none, active or cancelled.
    #[arg(long, default_value_t = Seal::None, value_name = "STATE")]
    seal: Seal,
    /// Tax years of the resident, ending with the current fiscal year.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=MAX_TAX_YEARS as i64))]
    tax_years: u8,
    /// Names and addresses near the longest real ones.
    #[arg(long)]
    long_names: bool,
    /// Names written with 異体字 (髙, 﨑, 濵, 邊…) that the certificate fonts draw.
    #[arg(long)]
    gaiji: bool,
    /// Leave out the 個人番号 of every member.
    #[arg(long)]
    no_my_number: bool,
    /// Leave out the 本籍 and 筆頭者 of every member.
    #[arg(long)]
    no_domicile: bool,
    /// Where to write the JSON; standard output by default.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write N (at most 10,000) households of varied profiles as a JSON array instead, each
    /// resident the subject of their household.
    #[arg(
        long,
        value_name = "N",
        // A register larger than one import (10,000) is no use to a case.
        value_parser = clap::value_parser!(u16).range(1..=10_000),
        conflicts_with_all = [
            "members", "moved_out", "deceased_member", "restricted", "seal", "tax_years",
            "long_names", "gaiji", "no_my_number", "no_domicile",
        ]
    )]
    register: Option<u16>,
}

impl FixtureArgs {
    fn profile(&self) -> Profile {
        Profile {
            members: usize::from(self.members),
            moved_out: self.moved_out,
            deceased_member: self.deceased_member,
            restricted: self.restricted,
            seal: self.seal,
            tax_years: usize::from(self.tax_years),
            long_names: self.long_names,
            gaiji: self.gaiji,
            my_number: !self.no_my_number,
            domicile: !self.no_domicile,
        }
    }
}

pub fn run(args: &FixtureArgs) -> anyhow::Result<ExitCode> {
    let text = match args.register {
        Some(households) => {
            let residents = kofu_fixtures::register(args.seed, usize::from(households));
            for resident in &residents {
                parses_back(&kofu_fixtures::to_json(resident))?;
            }
            kofu_fixtures::to_json_array(&residents)
        }
        None => {
            let profile = args.profile();
            profile.check().map_err(anyhow::Error::msg)?;
            let text = kofu_fixtures::to_json(&kofu_fixtures::resident(args.seed, &profile));
            parses_back(&text)?;
            text
        }
    };
    match &args.out {
        Some(path) => std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to standard output")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What is written must be what `--resident` accepts.
fn parses_back(text: &str) -> anyhow::Result<()> {
    Resident::from_json(text).map(drop).context("the generated resident does not parse back (a bug in kofu-fixtures)")
}
