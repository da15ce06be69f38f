//! `kofu plugin render`: a local preview through the production path.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use kofu_certify::{Certified, Certifier, CertifyError, RegisterIndex, Stamp};
use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Request};

use crate::{EXIT_REFUSED, report};

#[derive(Args)]
pub struct RenderArgs {
    /// The plugin component (.wasm).
    pub plugin: PathBuf,
    /// The resident, as JSON (see tests/fixtures/residents/ and docs/PLUGINS.md).
    #[arg(long, value_name = "FILE")]
    pub resident: PathBuf,
    /// An option for this request, as key=value; repeat for several.
    #[arg(long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Issuance number to stamp. Without it, a fixed preview number is used
    /// and every page is marked as a preview.
    #[arg(long)]
    pub issuance: Option<String>,
    /// Issue date, YYYY-MM-DD (default: today in Japan).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<Date>,
    /// The municipality as JSON: code, name, mayor_title, mayor_name
    /// (default: the fictional 見本市).
    #[arg(long, value_name = "FILE")]
    pub municipality: Option<PathBuf>,
    /// The municipality's register, for the check that the certificate
    /// prints no one else's data: a JSON file of residents (an array, or one
    /// resident) or a directory of them (default: the resident's household
    /// alone).
    #[arg(long, value_name = "FILE|DIR")]
    pub register: Option<PathBuf>,
    /// Where to write the PDF.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.plugin).with_context(|| format!("cannot read {}", args.plugin.display()))?;
    let subject = read_resident(&args.resident)?;
    let municipality = match &args.municipality {
        Some(path) => read_municipality(path)?,
        None => Municipality::preview(),
    };
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = certifier
        .sandbox()
        .load(&bytes)
        .with_context(|| format!("{} is not a usable plugin", args.plugin.display()))?;
    let options = parse_options(&args.options)?;
    let options = plugin.manifest().resolve_options(&options)?;
    let issue_date = args.date.unwrap_or_else(today_in_japan);
    let request = Request { subject: Arc::new(subject), context: RequestContext { issue_date, municipality, options } };
    let stamp = match &args.issuance {
        Some(number) => Stamp { issuance_number: validate_number(number)?, preview: false },
        None => Stamp::preview(),
    };
    let register = match &args.register {
        Some(path) => read_register(path, &request.subject)?,
        None => RegisterIndex::build([request.subject.as_ref()])?,
    };
    match certifier.certify_with(&plugin, &request, &stamp, &register) {
        Ok(Certified::Issued { certificate, evaluation }) => {
            std::fs::write(&args.out, certificate.pdf())
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            eprint!("{}", report::logs(&evaluation.logs));
            println!(
                "{} {} for {}: {} ({} page{}, {} bytes)",
                plugin.manifest().kind,
                plugin.manifest().version,
                report::shown(&request.subject.name),
                args.out.display(),
                certificate.pages(),
                if certificate.pages() == 1 { "" } else { "s" },
                certificate.pdf().len()
            );
            println!("issuance {}, verification code {}", stamp.issuance_number, certificate.verification_code());
            let reads: Vec<&str> = evaluation.fields_read.iter().map(|f| f.as_str()).collect();
            println!("fields read: {}", reads.join(", "));
            println!("fuel used: {} of {}", evaluation.fuel_used, certifier.sandbox().limits().fuel);
            Ok(ExitCode::SUCCESS)
        }
        Ok(Certified::Refused { refusal, evaluation, host_reason }) => {
            eprint!("{}", report::logs(&evaluation.logs));
            println!("refused ({}): {}", refusal.code.as_str(), report::shown(&refusal.message_ja));
            println!("  {}", report::shown(&refusal.message_en));
            if let Some(why) = host_reason {
                println!("refused by the host, not the plugin: {why}");
            }
            println!("no PDF was written");
            Ok(ExitCode::from(EXIT_REFUSED))
        }
        Err(CertifyError::Evaluation(err)) => {
            eprint!("{}", report::evaluation_failure(&err));
            bail!("no PDF was written: the plugin failed (see above)")
        }
        Err(err) => bail!("no PDF was written: {err}"),
    }
}

/// The register a preview checks against: the residents in `path`, and
/// the subject.
fn read_register(path: &Path, subject: &Resident) -> anyhow::Result<RegisterIndex> {
    let mut residents = vec![subject.clone()];
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the directory {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        if text.trim_start().starts_with('[') {
            let values: Vec<serde_json::Value> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON array of residents", file.display()))?;
            for value in values {
                residents.push(
                    Resident::from_json(&value.to_string())
                        .with_context(|| format!("{} holds an invalid resident", file.display()))?,
                );
            }
        } else {
            residents.push(read_resident(&file)?);
        }
    }
    Ok(RegisterIndex::build(residents.iter())?)
}

pub fn read_resident(path: &Path) -> anyhow::Result<Resident> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Resident::from_json(&text).with_context(|| format!("{} is not a valid resident", path.display()))
}

fn read_municipality(path: &Path) -> anyhow::Result<Municipality> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!("{} is not a municipality: give code, name, mayor_title and mayor_name", path.display())
    })
}

fn parse_options(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => bail!("--option `{pair}` is not key=value, e.g. --option include-household=true"),
        })
        .collect()
}

fn validate_number(number: &str) -> anyhow::Result<String> {
    let ok = (1..=40).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        bail!("--issuance `{number}` must be 1 to 40 letters, digits or hyphens");
    }
    Ok(number.to_owned())
}

fn today_in_japan() -> Date {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Date::in_japan_at(seconds)
}
