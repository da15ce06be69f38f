//! `kofu demo`: render the demo certificates with the bundled plugins for the
//! demo residents (the fixtures in tests/fixtures/residents), so a fresh
//! checkout shows what kofu prints. The issuance server builds on this.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use kofu_certify::{Certified, Certifier, Stamp};
use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Request};

#[derive(Args)]
pub struct DemoArgs {
    /// Directory for the demo PDFs.
    #[arg(long, default_value = "kofu-data/demo")]
    pub out_dir: PathBuf,
}

macro_rules! demo_resident {
    ($stem:literal) => {
        ($stem, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/residents/", $stem, ".json")))
    };
}

const RESIDENTS: [(&str, &str); 5] = [
    demo_resident!("yamada-taro"),
    demo_resident!("sato-makoto"),
    demo_resident!("suzuki-yoko"),
    demo_resident!("ito-misaki"),
    demo_resident!("takahashi-jiro"),
];

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let certifier = Certifier::new(Limits::default(), RenderOptions::default())?;
    let issue_date = Date::new(2025, 11, 21).context("demo date")?;
    let mut serial = 0;
    for bundled in kofu_bundled::ALL {
        let plugin = certifier.sandbox().load(bundled.component)?;
        for (stem, json) in RESIDENTS {
            let subject = Resident::from_json(json)?;
            let mut requested = Vec::new();
            if plugin.manifest().options.iter().any(|o| o.key == "include-household") {
                requested.push(("include-household".to_owned(), "true".to_owned()));
            }
            let options = plugin.manifest().resolve_options(&requested)?;
            let context = RequestContext { issue_date, municipality: Municipality::preview(), options };
            let request = Request { subject: Arc::new(subject), context };
            serial += 1;
            let stamp = Stamp { issuance_number: format!("DEMO-2025-{serial:06}"), preview: true };
            match certifier.certify(&plugin, &request, &stamp)? {
                Certified::Issued { certificate, .. } => {
                    let path = args.out_dir.join(format!("{}-{stem}.pdf", bundled.name));
                    std::fs::write(&path, certificate.pdf())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("{:<10} {:<16} issued   {}", bundled.name, stem, path.display());
                }
                Certified::Refused { refusal, .. } => {
                    println!(
                        "{:<10} {:<16} refused  {} ({})",
                        bundled.name,
                        stem,
                        refusal.message_ja,
                        refusal.code.as_str()
                    );
                }
            }
        }
    }
    println!(
        "\nThe PDFs are in {}. Preview a plugin of your own with `kofu plugin render` (see docs/PLUGINS.md).",
        args.out_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
