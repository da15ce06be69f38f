//! The one table, and the same figures as JSON.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::certificate::BenchCertificate;
use crate::floor::Floor;
use crate::kiosks::Level;
use crate::peers::Peers;
use crate::sandbox::PluginTimes;

/// The bars of issue #6 (BRIEF §5), at the largest level.
const TARGET_PER_SECOND: f64 = 2_000.0;
const TARGET_P99_MS: f64 = 25.0;
const TARGET_OF_FLOOR: f64 = 0.5;
const TARGET_OF_TYPST: f64 = 10.0;

pub struct Report {
    pub title: String,
    pub floor: Option<Floor>,
    pub sandbox: Vec<PluginTimes>,
    pub peers: Option<Peers>,
    pub levels: Vec<Level>,
    /// The kiosk flow against a server without work (`transport.rs`).
    pub transport: Option<Level>,
}

impl Report {
    pub fn new(certificate: &BenchCertificate) -> Report {
        Report {
            title: format!(
                "{} (household form, {} members)",
                certificate.document.title,
                1 + certificate.request.subject.household.len()
            ),
            floor: None,
            sandbox: Vec::new(),
            peers: None,
            levels: Vec::new(),
            transport: None,
        }
    }

    /// The largest back-to-back level: the one the throughput targets are
    /// about.
    fn top(&self) -> Option<&Level> {
        self.levels.iter().filter(|l| l.offered.is_none()).max_by_key(|l| l.kiosks)
    }

    pub fn table(&mut self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "\nkofu benchmark — {}", self.title);
        let _ = writeln!(t, "machine: {}", machine());
        let _ = writeln!(t, "{}", "─".repeat(100));
        if let Some(f) = &self.floor {
            let _ = writeln!(
                t,
                "1 render floor, renderer alone, 1 thread    {:>9.0} docs/s   {:>6.1} µs/doc   {} page(s), {} bytes, {} documents",
                f.per_second,
                1e6 / f.per_second,
                f.pages,
                f.pdf_bytes,
                f.documents
            );
        }
        for p in &self.sandbox {
            let _ = writeln!(
                t,
                "2 sandbox, fresh instance + evaluate: {:<10} p50 {:>5} µs   p99 {:>5} µs   ({} evaluations{})",
                p.name,
                p.p50_us,
                p.p99_us,
                p.evaluations,
                if p.issued { "" } else { ", REFUSED" }
            );
        }
        if !self.levels.is_empty() {
            let _ = writeln!(
                t,
                "3 end to end, `kofu serve` + SQLite on loopback; one issuance = sign in, request, fetch, printed, sign out"
            );
            let _ = writeln!(
                t,
                "  {:>7} {:>12} {:>9} {:>9} {:>9} {:>13} {:>10} {:>14} {:>14} {:>12} {:>9} {:>9} {:>6} {:>7}",
                "kiosks",
                "issuances/s",
                "p50 ms",
                "p99 ms",
                "p999 ms",
                "request p99",
                "peak RSS",
                "server CPU/iss",
                "kiosks CPU/iss",
                "writes/fsync",
                "commit ms",
                "disk/iss",
                "idle",
                "errors"
            );
            for l in &mut self.levels {
                let errors: usize = l.errors.values().sum();
                let _ = writeln!(
                    t,
                    "  {:>7} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>10.2} ms {:>7} MiB {:>11} µs {:>11} µs {:>12} {:>9} {:>9} {:>6} {:>7}",
                    match l.offered {
                        Some(rate) => format!("{}@{rate:.0}/s", l.kiosks),
                        None => l.kiosks.to_string(),
                    },
                    l.per_second,
                    ms(l.flow.percentile(50.0)),
                    ms(l.flow.percentile(99.0)),
                    ms(l.flow.percentile(99.9)),
                    ms(l.issue.percentile(99.0)),
                    l.peak_rss_kib.map_or("?".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
                    l.server_cpu_us.map_or("?".into(), |us| format!("{us:.0}")),
                    l.client_cpu_us.map_or("?".into(), |us| format!("{us:.0}")),
                    l.writes_per_batch.map_or("?".into(), |w| format!("{w:.1}")),
                    l.commit_ms.map_or("?".into(), |c| format!("{c:.2}")),
                    l.written_per_issuance.map_or("?".into(), |b| format!("{:.0} KB", b / 1000.0)),
                    l.machine_idle.map_or("?".into(), |idle| format!("{:.0}%", idle * 100.0)),
                    errors
                );
                for (error, n) in &l.errors {
                    let _ = writeln!(t, "          {n} × {error}");
                }
            }
        }
        if let Some(p) = &self.peers {
            for (name, peer) in [("Typst", &p.typst), ("WeasyPrint", &p.weasyprint)] {
                let _ = writeln!(
                    t,
                    "4 {:<10} {:<8} 1 thread          {:>9.1} docs/s   {:>6.2} ms p50   {:>6.2} ms p99   {} page(s), {} bytes",
                    name, peer.version, peer.docs_per_s, peer.p50_ms, peer.p99_ms, peer.pages, peer.bytes
                );
            }
        }
        if let Some(l) = &mut self.transport {
            let _ = writeln!(
                t,
                "5 transport floor: the same {} kiosks and five calls, against a server that does no work (same HTTP stack)",
                l.kiosks
            );
            let _ = writeln!(
                t,
                "  {:>7} {:>12.0} {:>9.2} {:>9.2} {:>9.2}   server CPU/call-set {} µs, kiosks CPU/call-set {} µs, idle {}, errors {}",
                l.kiosks,
                l.per_second,
                ms(l.flow.percentile(50.0)),
                ms(l.flow.percentile(99.0)),
                ms(l.flow.percentile(99.9)),
                l.server_cpu_us.map_or("?".into(), |us| format!("{us:.0}")),
                l.client_cpu_us.map_or("?".into(), |us| format!("{us:.0}")),
                l.machine_idle.map_or("?".into(), |idle| format!("{:.0}%", idle * 100.0)),
                l.errors.values().sum::<usize>()
            );
            for (error, n) in &l.errors {
                let _ = writeln!(t, "          {n} × {error}");
            }
        }
        let _ = writeln!(t, "{}", "─".repeat(100));
        for (label, value, target) in self.ratios() {
            let verdict = match target {
                Some(target) if value >= target => format!("target ≥ {target}: met"),
                Some(target) => format!("target ≥ {target}: NOT met"),
                None => String::new(),
            };
            let _ = writeln!(t, "{label:<60} {value:>9.2}×   {verdict}");
        }
        let top_kiosks = self.top().map(|l| l.kiosks);
        if let Some(top) = self.levels.iter_mut().filter(|l| l.offered.is_none()).max_by_key(|l| l.kiosks) {
            let p99 = ms(top.flow.percentile(99.0));
            let _ = writeln!(
                t,
                "{:<60} {:>9.0}/s   target ≥ {TARGET_PER_SECOND}: {}",
                format!("end to end at {} kiosks", top.kiosks),
                top.per_second,
                met(top.per_second >= TARGET_PER_SECOND)
            );
            let _ = writeln!(
                t,
                "{:<60} {:>9.2} ms  target ≤ {TARGET_P99_MS} ms: {}",
                format!("p99 of a whole issuance at {} kiosks, back to back", top.kiosks),
                p99,
                met(p99 <= TARGET_P99_MS)
            );
        }
        for paced in self.levels.iter_mut().filter(|l| l.offered.is_some() && Some(l.kiosks) >= top_kiosks) {
            let p99 = ms(paced.flow.percentile(99.0));
            let _ = writeln!(
                t,
                "{:<60} {:>9.2} ms  target ≤ {TARGET_P99_MS} ms: {}",
                format!(
                    "p99 of a whole issuance at {} kiosks offering {:.0}/s",
                    paced.kiosks,
                    paced.offered.unwrap_or_default()
                ),
                p99,
                met(p99 <= TARGET_P99_MS)
            );
        }
        if let Some(ceiling) = self.ceiling() {
            let _ = writeln!(
                t,
                "(ceiling here: {} cores doing nothing but, per issuance, the five calls (the transport floor's CPU, \
                 server's and kiosks'), one render{}: {:.0}/s = {:.2}× the render floor; \
                 the stamp check and the durable records come on top)",
                ceiling.cores,
                if ceiling.with_sandbox { " and one sandbox evaluation (p50)" } else { "" },
                ceiling.per_second,
                ceiling.of_floor
            );
        }
        if let Some(kiosks) = top_kiosks {
            let _ = writeln!(
                t,
                "(back to back, {kiosks} kiosks wait {kiosks} ÷ throughput per issuance on average (Little's law): \
                 p99 ≤ {TARGET_P99_MS} ms there needs ≥ {:.0} issuances/s)",
                kiosks as f64 / (TARGET_P99_MS / 1000.0)
            );
        }
        t
    }

    /// The most issuances per second this machine could give if an issuance
    /// cost only the transport floor's CPU (the server's and the kiosks'),
    /// one render and, where measured, one evaluation of the residence
    /// plugin, every core busy: an upper bound on end to end.
    fn ceiling(&self) -> Option<Ceiling> {
        let transport = self.transport.as_ref()?;
        let cores = std::thread::available_parallelism().ok()?.get();
        let evaluation_us = self.sandbox.iter().find(|p| p.name == "residence").map(|p| p.p50_us as f64);
        Ceiling::of(
            transport.server_cpu_us? + transport.client_cpu_us?,
            evaluation_us,
            self.floor.as_ref()?.per_second,
            cores,
        )
    }

    /// (label, ratio, target) for every ratio the figures allow.
    fn ratios(&self) -> Vec<(String, f64, Option<f64>)> {
        let mut ratios = Vec::new();
        let floor = self.floor.as_ref().map(|f| f.per_second);
        let top = self.top().map(|l| (l.kiosks, l.per_second));
        if let (Some(floor), Some((kiosks, e2e))) = (floor, top) {
            ratios.push((
                format!("end to end ({kiosks} kiosks, 2 cores) ÷ render floor (1 thread)"),
                e2e / floor,
                Some(TARGET_OF_FLOOR),
            ));
        }
        if let Some(transport) = &self.transport {
            if let Some(floor) = floor {
                ratios.push((
                    format!("transport floor ({} kiosks, no work) ÷ render floor (1 thread)", transport.kiosks),
                    transport.per_second / floor,
                    None,
                ));
            }
            if let Some((kiosks, e2e)) = top {
                ratios.push((
                    format!("end to end ({kiosks} kiosks) ÷ transport floor ({} kiosks)", transport.kiosks),
                    e2e / transport.per_second,
                    None,
                ));
            }
        }
        if let Some(p) = &self.peers {
            for (name, peer) in [("Typst", &p.typst), ("WeasyPrint", &p.weasyprint)] {
                if let Some((kiosks, e2e)) = top {
                    let target = (name == "Typst").then_some(TARGET_OF_TYPST);
                    ratios.push((
                        format!("kofu end to end ({kiosks} kiosks) ÷ {name} render alone"),
                        e2e / peer.docs_per_s,
                        target,
                    ));
                }
                if let Some(floor) = floor {
                    ratios.push((
                        format!("kofu render floor ÷ {name} render alone (1 thread each)"),
                        floor / peer.docs_per_s,
                        None,
                    ));
                }
            }
        }
        ratios
    }

    pub fn json(&mut self) -> Value {
        let levels: Vec<Value> = self.levels.iter_mut().map(level_json).collect();
        json!({
            "certificate": self.title,
            "machine": machine(),
            "floor_docs_per_s": self.floor.as_ref().map(|f| f.per_second),
            "sandbox": self.sandbox.iter().map(|p| json!({ "plugin": p.name, "p50_us": p.p50_us, "p99_us": p.p99_us })).collect::<Vec<_>>(),
            "end_to_end": levels,
            // The same fields as a level's; its "issuances" are flows
            // answered by a server that does no work.
            "transport_floor": self.transport.as_mut().map(level_json),
            "peers": self.peers.as_ref().map(|p| json!({
                "typst": { "version": p.typst.version, "docs": p.typst.docs, "docs_per_s": p.typst.docs_per_s },
                "weasyprint": { "version": p.weasyprint.version, "docs": p.weasyprint.docs, "docs_per_s": p.weasyprint.docs_per_s },
            })),
            "ceiling_per_s": self.ceiling().map(|c| c.per_second),
            "ratios": self.ratios().into_iter().map(|(label, value, _)| json!({ "what": label, "ratio": value })).collect::<Vec<_>>(),
        })
    }
}

/// A level's figures as JSON (a transport-floor level's too).
fn level_json(l: &mut Level) -> Value {
    json!({
        "kiosks": l.kiosks,
        "offered_per_s": l.offered,
        "issuances": l.issuances,
        "issuances_per_s": l.per_second,
        "flow_ms": { "p50": ms(l.flow.percentile(50.0)), "p99": ms(l.flow.percentile(99.0)), "p999": ms(l.flow.percentile(99.9)) },
        "request_ms": { "p50": ms(l.issue.percentile(50.0)), "p99": ms(l.issue.percentile(99.0)) },
        "peak_rss_kib": l.peak_rss_kib,
        "server_cpu_us_per_issuance": l.server_cpu_us,
        "kiosks_cpu_us_per_issuance": l.client_cpu_us,
        "writes_per_fsync": l.writes_per_batch,
        "commit_ms_per_fsync": l.commit_ms,
        "machine_idle_share": l.machine_idle,
        "disk_bytes_written_per_issuance": l.written_per_issuance,
        "errors": l.errors,
    })
}

/// An upper bound on end to end: every core busy with nothing but the
/// five calls, one render and (where measured) one sandbox evaluation per
/// issuance.
#[derive(Debug, PartialEq)]
struct Ceiling {
    cores: usize,
    with_sandbox: bool,
    per_second: f64,
    of_floor: f64,
}

impl Ceiling {
    /// From the CPU the five calls take (server and kiosks, µs per flow),
    /// a sandbox evaluation's time (µs), and the render floor (documents
    /// per second on one core).
    fn of(calls_cpu_us: f64, evaluation_us: Option<f64>, floor_per_second: f64, cores: usize) -> Option<Ceiling> {
        if !(calls_cpu_us > 0.0 && floor_per_second > 0.0) {
            return None;
        }
        let per_issuance_us = calls_cpu_us + evaluation_us.unwrap_or(0.0) + 1e6 / floor_per_second;
        let per_second = cores as f64 * 1e6 / per_issuance_us;
        Some(Ceiling {
            cores,
            with_sandbox: evaluation_us.is_some(),
            per_second,
            of_floor: per_second / floor_per_second,
        })
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

/// CPU model, cores, memory and kernel, as Linux reports them.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("?".into(), |kib| format!("{:.0}", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, {memory_gib} GiB, Linux {}", kernel.trim())
}

#[cfg(test)]
mod tests {
    use super::Ceiling;

    #[test]
    fn the_ceiling_is_the_cores_over_the_calls_the_evaluation_and_one_render() {
        // 150 µs of calls and a 50 µs render (20,000/s) on 2 cores: 200 µs
        // an issuance, 10,000/s, half the floor.
        let ceiling = Ceiling::of(150.0, None, 20_000.0, 2).unwrap();
        assert!((ceiling.per_second - 10_000.0).abs() < 1e-6, "{ceiling:?}");
        assert!((ceiling.of_floor - 0.5).abs() < 1e-9, "{ceiling:?}");
        assert!(!ceiling.with_sandbox);
        // With a 50 µs evaluation: 250 µs, 8,000/s.
        let with_sandbox = Ceiling::of(150.0, Some(50.0), 20_000.0, 2).unwrap();
        assert!((with_sandbox.per_second - 8_000.0).abs() < 1e-6, "{with_sandbox:?}");
        assert!(with_sandbox.with_sandbox);
        // Dearer calls, a lower ceiling.
        assert!(Ceiling::of(300.0, None, 20_000.0, 2).unwrap().per_second < ceiling.per_second);
        // No figures, no ceiling.
        assert_eq!(Ceiling::of(0.0, None, 20_000.0, 2), None);
        assert_eq!(Ceiling::of(150.0, None, 0.0, 2), None);
    }
}
