//! The pipeline's Prometheus metrics, in the text exposition format (the
//! server's `/metrics` adds the sandbox pools' and the store's). Small and
//! dependency-free: a few labelled counters and latency histograms.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kofu_store::Outcome;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Counters(Mutex<BTreeMap<Labels, u64>>);

impl Counters {
    fn add(&self, labels: Labels) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(labels).or_insert(0) += 1;
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (labels, value) in map.iter() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

pub struct Metrics {
    issuances: Counters,
    pin_checks: Counters,
    unlocks: Counters,
    http: Counters,
    plugin_failures: Counters,
    aborts: Counters,
    rerenders: Counters,
    audit_verifications: Counters,
    pub(crate) sandbox: Histogram,
    pub(crate) render: Histogram,
    pub(crate) issuance: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            issuances: Counters::default(),
            pin_checks: Counters::default(),
            unlocks: Counters::default(),
            http: Counters::default(),
            plugin_failures: Counters::default(),
            aborts: Counters::default(),
            rerenders: Counters::default(),
            audit_verifications: Counters::default(),
            sandbox: Histogram::new(),
            render: Histogram::new(),
            issuance: Histogram::new(),
        }
    }
}

impl Metrics {
    // Labels stay bounded: a municipality is one the register holds (at
    // most the 1,700-odd of Japan), a kind one it has activated, a route
    // one of the router's templates.

    pub(crate) fn issuance_outcome(&self, municipality: &str, kind: &str, outcome: Outcome) {
        self.issuances.add(vec![
            ("kind", kind.to_owned()),
            ("municipality", municipality.to_owned()),
            ("outcome", outcome.as_str().to_owned()),
        ]);
    }

    pub(crate) fn plugin_failure(&self, municipality: &str, kind: &str, cause: &str) {
        self.plugin_failures.add(vec![
            ("cause", cause.to_owned()),
            ("kind", kind.to_owned()),
            ("municipality", municipality.to_owned()),
        ]);
    }

    /// A kiosk sign-in's PIN check: `opened`, `wrong`, `locked` (by this
    /// attempt) or `refused-locked` (locked before).
    pub fn pin_check(&self, municipality: &str, result: &'static str) {
        self.pin_checks.add(vec![("municipality", municipality.to_owned()), ("result", result.to_owned())]);
    }

    /// A municipality unlocked a card.
    pub fn card_unlock(&self, municipality: &str) {
        self.unlocks.add(vec![("municipality", municipality.to_owned())]);
    }

    /// An HTTP request answered: its route template (never the path, which
    /// may name a resident), method and status.
    pub fn http_request(&self, route: &str, method: &str, status: u16) {
        self.http.add(vec![("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())]);
    }

    /// An issuance abandoned before it was recorded (the database refused
    /// the write): nothing exists to fetch, so this counter and the log are
    /// where the reason lives.
    pub(crate) fn issuance_abort(&self, stage: &str) {
        self.aborts.add(vec![("stage", stage.to_owned())]);
    }

    /// A fetch re-rendered a document this host did not hold.
    pub(crate) fn rerender(&self, result: &str) {
        self.rerenders.add(vec![("result", result.to_owned())]);
    }

    /// A municipality verified its audit log through the API: `ok` or
    /// `problems`.
    pub(crate) fn audit_verification(&self, municipality: &str, ok: bool) {
        let result = if ok { "ok" } else { "problems" };
        self.audit_verifications.add(vec![("municipality", municipality.to_owned()), ("result", result.to_owned())]);
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        self.issuances.write(
            &mut out,
            "kofu_issuances_total",
            "Issuances recorded, by certificate kind, municipality and outcome.",
        );
        self.pin_checks.write(
            &mut out,
            "kofu_pin_checks_total",
            "Kiosk sign-ins by municipality and result: opened, wrong (a wrong PIN), locked (the card locked by \
             this attempt), refused-locked (a card locked before).",
        );
        self.unlocks.write(&mut out, "kofu_card_unlocks_total", "Cards unlocked by their municipality.");
        self.http.write(
            &mut out,
            "kofu_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
        );
        self.plugin_failures.write(
            &mut out,
            "kofu_plugin_failures_total",
            "Plugin evaluations that failed (trap, timeout, limit, invalid output), by kind, municipality and cause.",
        );
        self.aborts.write(
            &mut out,
            "kofu_issuance_aborts_total",
            "Issuances cut short, by stage: `record` (the database refused the write; nothing recorded), \
             `abandoned` (the host stopped first; recorded as failed, nothing charged).",
        );
        self.rerenders.write(
            &mut out,
            "kofu_document_rerenders_total",
            "Fetches of a document this host did not hold, re-rendered from the recorded input, by result \
             (identical: delivered; differs, failed, other-build: refused).",
        );
        self.audit_verifications.write(
            &mut out,
            "kofu_audit_verifications_total",
            "Audit verifications a municipality ran through the API, by municipality and result (ok, problems).",
        );
        self.sandbox.write(&mut out, "kofu_sandbox_seconds", "Time to evaluate a plugin in a fresh sandbox.");
        self.render.write(&mut out, "kofu_render_seconds", "Time to render a document to PDF.");
        self.issuance.write(&mut out, "kofu_issuance_seconds", "Time from request to recorded issuance.");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let metrics = Metrics::default();
        metrics.issuance_outcome("999997", "tax-certificate", Outcome::Issued);
        metrics.issuance_outcome("999997", "tax-certificate", Outcome::Issued);
        metrics.plugin_failure("999997", "x", "fuel \"exhausted\"");
        metrics.sandbox.observe(Duration::from_micros(70));
        metrics.sandbox.observe(Duration::from_millis(3));
        let text = metrics.render_text();
        let issued = "kofu_issuances_total{kind=\"tax-certificate\",municipality=\"999997\",outcome=\"issued\"} 2";
        assert!(text.contains(issued), "{text}");
        assert!(text.contains("cause=\"fuel \\\"exhausted\\\"\""), "{text}");
        assert!(text.contains("kofu_sandbox_seconds_bucket{le=\"0.0001\"} 1"), "{text}");
        assert!(text.contains("kofu_sandbox_seconds_bucket{le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("kofu_sandbox_seconds_count 2"), "{text}");
    }
}
