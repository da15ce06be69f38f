//! Prints how long one plugin evaluation takes in a fresh sandbox (a new
//! store and instance, check, render, document validation), and one complete
//! certificate (evaluation and PDF), for each bundled plugin.
//!
//!     cargo run --release -p kofu-tests --example evaluate_loop [-- ITERATIONS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kofu_certify::{Certified, Certifier, Stamp};
use kofu_model::{Date, Municipality, RequestContext};
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Request};
use kofu_tests::{component, fixture, guests};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let certifier = Certifier::new(Limits::default(), RenderOptions::default()).expect("certifier");
    println!("{iterations} iterations per row, one thread; household of 4 (yamada-taro)");
    println!("{:<48} {:>10} {:>10} {:>10} {:>12}", "what", "p50 µs", "p99 µs", "mean µs", "fuel");
    for (name, path, options) in [
        ("residence (household form)", guests::RESIDENCE, vec![("include-household".to_owned(), "true".to_owned())]),
        ("seal", guests::SEAL, vec![]),
        ("tax", guests::TAX, vec![]),
    ] {
        let plugin = certifier.sandbox().load(&component(path)).expect("load");
        let options = plugin.manifest().resolve_options(&options).expect("options");
        let context = RequestContext {
            issue_date: Date::new(2025, 11, 21).expect("date"),
            municipality: Municipality::preview(),
            options,
        };
        let request = Request { subject: Arc::new(fixture("yamada-taro")), context };
        let mut fuel = 0;
        let mut evaluations: Vec<Duration> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let evaluation = certifier.sandbox().evaluate(&plugin, &request).expect("evaluate");
                fuel = evaluation.fuel_used;
                start.elapsed()
            })
            .collect();
        let mut certificates: Vec<Duration> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                match certifier.certify(&plugin, &request, &Stamp::preview()).expect("certify") {
                    Certified::Issued { .. } => start.elapsed(),
                    Certified::Refused { refusal, .. } => panic!("refused: {refusal:?}"),
                }
            })
            .collect();
        for (label, samples) in [("evaluate", &mut evaluations), ("evaluate + render PDF", &mut certificates)] {
            samples.sort();
            let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
            println!(
                "{:<48} {:>10.1} {:>10.1} {:>10.1} {:>12}",
                format!("{name}: {label}"),
                percentile(samples, 0.5),
                percentile(samples, 0.99),
                mean,
                fuel
            );
        }
    }
}
