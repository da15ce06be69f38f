//! Prints how long one plugin evaluation takes in a fresh sandbox (a new
//! store and instance, check, render, document validation), the PDF and its
//! read-back alone, and one complete certificate as the server makes it
//! (`certify_with`: the host's policy, the evaluation, the binding check
//! against a register of 10,000 residents, the PDF and its read-back), for
//! each bundled plugin. The difference between the last and the sum of the
//! others is what the host's policy and binding checks cost.
//!
//!     cargo run --release -p kofu-tests --example evaluate_loop [-- ITERATIONS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kofu_certify::{Certified, Certifier, RegisterIndex, Stamp};
use kofu_model::{Date, Municipality, RequestContext};
use kofu_render::PageStamp;
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Outcome, Request};
use kofu_tests::{component, fixture, guests};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let certifier = Certifier::new(Limits::default(), RenderOptions::default()).expect("certifier");
    // A municipality's register: the fixtures and 10,000 more people.
    let mut residents: Vec<kofu_model::Resident> = kofu_tests::fixtures().into_iter().map(|(_, r)| r).collect();
    let template = fixture("nakamura-kenta");
    for i in 0..10_000 {
        let mut person = template.clone();
        person.name = format!("試験{i}　太郎");
        person.name_kana = format!("シケン{i}　タロウ");
        person.address = format!("見本市試験町{}丁目{}番{}号", i % 9 + 1, i % 50 + 1, i);
        residents.push(person);
    }
    let started = Instant::now();
    let register = RegisterIndex::build(residents.iter()).expect("index");
    println!("register of {} people indexed in {:.1} ms", register.residents(), started.elapsed().as_secs_f64() * 1e3);
    println!("{iterations} iterations per row, one thread; household of 4 (yamada-taro)");
    println!("{:<56} {:>10} {:>10} {:>10} {:>12}", "what", "p50 µs", "p99 µs", "mean µs", "fuel");
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
        let Outcome::Document(document) = certifier.sandbox().evaluate(&plugin, &request).expect("evaluate").outcome
        else {
            panic!("{name} refused")
        };
        let stamp = PageStamp {
            issuance_number: "TEST-0000-0001".into(),
            verification_code: "ABCD-EFGH-JKMN".into(),
            subject_name: request.subject.name.clone(),
            preview: false,
        };
        let mut renders: Vec<Duration> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let pdf = certifier.renderer().render(&document, &stamp).expect("render");
                kofu_render::check_stamps(&pdf.bytes, &stamp).expect("check");
                start.elapsed()
            })
            .collect();
        let stamp = Stamp { issuance_number: "TEST-0000-0001".into(), preview: false };
        let mut certificates: Vec<Duration> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                match certifier.certify_with(&plugin, &request, &stamp, &register).expect("certify") {
                    Certified::Issued { .. } => start.elapsed(),
                    Certified::Refused { refusal, .. } => panic!("refused: {refusal:?}"),
                }
            })
            .collect();
        for (label, samples) in [
            ("evaluate", &mut evaluations),
            ("render PDF + read it back", &mut renders),
            ("certify_with (all of it)", &mut certificates),
        ] {
            samples.sort();
            let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
            println!(
                "{:<56} {:>10.1} {:>10.1} {:>10.1} {:>12}",
                format!("{name}: {label}"),
                percentile(samples, 0.5),
                percentile(samples, 0.99),
                mean,
                fuel
            );
        }
    }
}
