//! Part 2, the sandbox alone: a fresh instance and one evaluation per
//! iteration (what every issuance pays), for each bundled plugin, on the
//! benchmark household's head.

use std::time::{Duration, Instant};

use anyhow::Context;
use kofu_certify::Certifier;
use kofu_sandbox::{Outcome, Request};

use crate::stats::Samples;

pub struct PluginTimes {
    pub name: &'static str,
    pub evaluations: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Whether it issued (true) or refused: the benchmark household is
    /// eligible for every bundled certificate, so a refusal is a setup bug.
    pub issued: bool,
}

pub fn measure(certifier: &Certifier, base: &Request, seconds: Duration) -> anyhow::Result<Vec<PluginTimes>> {
    let mut rows = Vec::new();
    for bundled in kofu_bundled::ALL {
        let plugin = certifier.sandbox().load(bundled.component).with_context(|| format!("load {}", bundled.name))?;
        // Each plugin with its own defaults; the residence plugin with the
        // household form, as everywhere else in the benchmark.
        let options = if bundled.name == "residence" {
            base.context.options.clone()
        } else {
            plugin.manifest().resolve_options(&[]).with_context(|| format!("{} default options", bundled.name))?
        };
        let mut context = base.context.clone();
        context.options = options;
        let request = Request { subject: std::sync::Arc::clone(&base.subject), context };
        let warm =
            certifier.sandbox().evaluate(&plugin, &request).with_context(|| format!("evaluate {}", bundled.name))?;
        let issued = matches!(warm.outcome, Outcome::Document(_));
        let mut samples = Samples::with_capacity(100_000);
        let started = Instant::now();
        while started.elapsed() < seconds {
            let one = Instant::now();
            let evaluation = certifier.sandbox().evaluate(&plugin, &request)?;
            samples.push(one.elapsed());
            std::hint::black_box(evaluation);
        }
        rows.push(PluginTimes {
            name: bundled.name,
            evaluations: samples.len(),
            p50_us: samples.percentile(50.0),
            p99_us: samples.percentile(99.0),
            issued,
        });
    }
    Ok(rows)
}
