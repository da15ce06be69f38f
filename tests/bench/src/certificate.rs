//! The one certificate every part of the benchmark produces: a residence
//! certificate (住民票の写し) in the household form, for a household of
//! three, made by the bundled residence plugin from the same register rows
//! the end-to-end part imports into the server.

use std::sync::Arc;

use anyhow::{Context, bail};
use kofu_certify::{Certifier, verification_code};
use kofu_load::population::Population;
use kofu_model::{Date, Document, Municipality, RequestContext};
use kofu_render::PageStamp;
use kofu_sandbox::{Outcome, Request};
use serde_json::json;

/// The residence plugin's kind, and the option that asks for the household.
pub const KIND: &str = "residence-certificate";
pub const HOUSEHOLD_OPTION: &str = "include-household";

/// A household head's request for the household form, and the document
/// the residence plugin makes of it.
pub struct BenchCertificate {
    pub request: Request,
    pub document: Document,
    pub stamp: PageStamp,
}

/// The request of the first household of `population` (which must have
/// three members), as the server would build it.
pub fn request(population: &Population, plugin: &kofu_sandbox::Plugin) -> anyhow::Result<Request> {
    let household = population.households.first().context("the population has no household")?;
    if household.members.len() != 3 {
        bail!("the benchmark's household has {} members, not 3", household.members.len());
    }
    let rows: Vec<_> = household.members.iter().map(|m| population.people[*m].register.clone()).collect();
    let entries = kofu_register::parse_json(json!({ "residents": rows }).to_string().as_bytes())
        .map_err(|e| anyhow::anyhow!("the generated register rows do not parse: {e:?}"))?;
    let resident = kofu_register::assemble(&entries[0], &entries);
    let town = &population.towns[household.town];
    let options = plugin
        .manifest()
        .resolve_options(&[(HOUSEHOLD_OPTION.to_owned(), "true".to_owned())])
        .context("the residence plugin's household option")?;
    Ok(Request {
        subject: Arc::new(resident),
        context: RequestContext {
            issue_date: Date::new(2026, 11, 21).context("date")?,
            municipality: Municipality {
                code: town.code.clone(),
                name: town.name.clone(),
                mayor_title: format!("{}長", town.name),
                mayor_name: town.mayor.clone(),
            },
            options,
        },
    })
}

/// Evaluate the residence plugin once and stamp it as the server would.
pub fn build(population: &Population, certifier: &Certifier) -> anyhow::Result<BenchCertificate> {
    let plugin = certifier.sandbox().load(kofu_bundled::RESIDENCE.component).context("load the residence plugin")?;
    let request = request(population, &plugin)?;
    let evaluation = certifier.sandbox().evaluate(&plugin, &request).context("evaluate the residence plugin")?;
    let Outcome::Document(document) = evaluation.outcome else {
        bail!("the residence plugin refused the benchmark's household: {:?}", evaluation.outcome)
    };
    let number = "7Q4M-2KXH-9TDA".to_owned();
    let code = verification_code(&number, &document.canonical_hash());
    let subject_name = request.subject.name.clone();
    let stamp = PageStamp { issuance_number: number, verification_code: code, subject_name, preview: false };
    Ok(BenchCertificate { request, document, stamp })
}
