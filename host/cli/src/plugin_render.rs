//! `kofu plugin render`: a local preview through the production path.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use kofu_certify::{Certified, Certifier, CertifyError, RegisterIndex, Stamp};
use kofu_model::{Date, Municipality, RequestContext};
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Request};

use crate::inputs::{load_plugin, parse_options, read_municipality, read_register, read_resident, today_in_japan};
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
    let subject = read_resident(&args.resident)?;
    let municipality = match &args.municipality {
        Some(path) => read_municipality(path)?,
        None => Municipality::preview(),
    };
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let plugin = load_plugin(&certifier, &args.plugin)?;
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

fn validate_number(number: &str) -> anyhow::Result<String> {
    let ok = (1..=40).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        bail!("--issuance `{number}` must be 1 to 40 letters, digits or hyphens");
    }
    Ok(number.to_owned())
}
