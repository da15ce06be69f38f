//! What a run found, and the table it prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// One idempotency key and the one answer it got.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub kiosk: usize,
    pub key: String,
    pub issuance: String,
    pub outcome: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub elapsed: Duration,
    /// Issuance requests answered (issued + refused + failed).
    pub answered: u64,
    pub issued: u64,
    pub refused: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
    /// Delivered PDFs, and how many of them were checked.
    pub delivered: u64,
    pub checked: u64,
    pub misdeliveries: u64,
    pub incomplete: u64,
    pub unreadable: u64,
    /// Outcomes that differ from the published rules (e.g. a cancelled seal
    /// certified).
    pub wrong_outcomes: u64,
    /// Calls given up on, or answered with a status no step allows.
    pub errors: BTreeMap<String, u64>,
    /// Calls retried after no answer or a "try again" answer, by cause.
    pub retries: BTreeMap<String, u64>,
    /// Keys sent more than once (deliberate replays and retries), and those
    /// whose answers differed.
    pub repeated_keys: u64,
    pub key_mismatches: u64,
    /// Fetches by another kiosk, a stale session, after printing, or of a
    /// failed issuance; and how many of them got a document.
    pub probes: u64,
    pub probe_leaks: u64,
    /// Failed issuances by the reason the municipality's record gives.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Failed issuances whose reason the municipality cannot see.
    pub failures_unrecorded: u64,
    /// Issued per municipality after the hostile plugins were activated.
    pub issued_after_hostile: Vec<u64>,
    pub hostile_failures: u64,
    pub examples: Vec<String>,
    pub issue_latency_us: Vec<u32>,
    pub flow_latency_us: Vec<u32>,
    pub ledger: Vec<LedgerEntry>,
}

const MAX_EXAMPLES: usize = 20;

impl Report {
    pub fn example(&mut self, text: String) {
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(text);
        }
    }

    /// No misdelivery, no wrong outcome, no broken promise, no error.
    pub fn clean(&self) -> bool {
        self.misdeliveries == 0
            && self.incomplete == 0
            && self.unreadable == 0
            && self.wrong_outcomes == 0
            && self.errors.is_empty()
            && self.key_mismatches == 0
            && self.probe_leaks == 0
            && self.failures_unrecorded == 0
            && self.checked == self.delivered
    }

    pub fn throughput(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn render(&mut self) -> String {
        self.issue_latency_us.sort_unstable();
        self.flow_latency_us.sort_unstable();
        let mut out = String::new();
        let line = &mut out;
        let _ = writeln!(
            line,
            "issuances answered   {:>10}   in {:.1} s, {:.0}/s",
            self.answered,
            self.elapsed.as_secs_f64(),
            self.throughput()
        );
        let _ = writeln!(line, "  issued             {:>10}", self.issued);
        let refused: u64 = self.refused.values().sum();
        let _ = writeln!(line, "  refused            {:>10}", refused);
        for (reason, n) in &self.refused {
            let _ = writeln!(line, "    {reason:<22} {n:>8}");
        }
        let failed: u64 = self.failed.values().sum();
        let _ = writeln!(line, "  failed             {:>10}   (hostile plugins: {})", failed, self.hostile_failures);
        for (reason, n) in &self.failed {
            let _ = writeln!(line, "    {reason:<22} {n:>8}");
        }
        for (reason, n) in &self.failure_reasons {
            let _ = writeln!(line, "    recorded reason: {reason:<22} {n:>8}");
        }
        let _ = writeln!(line, "delivered PDFs       {:>10}   checked by pdftotext: {}", self.delivered, self.checked);
        let _ = writeln!(line, "MISDELIVERIES        {:>10}", self.misdeliveries);
        let _ = writeln!(line, "incomplete / unreadable {:>7} / {}", self.incomplete, self.unreadable);
        let _ = writeln!(line, "wrong outcomes       {:>10}", self.wrong_outcomes);
        let _ = writeln!(
            line,
            "repeated keys        {:>10}   answers differing: {}",
            self.repeated_keys, self.key_mismatches
        );
        let _ = writeln!(line, "foreign fetch probes {:>10}   documents leaked: {}", self.probes, self.probe_leaks);
        let _ = writeln!(line, "failures without a recorded reason {:>4}", self.failures_unrecorded);
        if !self.issued_after_hostile.is_empty() {
            let _ = writeln!(line, "issued per municipality after hostile activation: {:?}", self.issued_after_hostile);
        }
        let _ = writeln!(line, "retries              {:>10}", self.retries.values().sum::<u64>());
        for (cause, n) in &self.retries {
            let _ = writeln!(line, "    {cause:<22} {n:>8}");
        }
        let _ = writeln!(line, "errors               {:>10}", self.errors.values().sum::<u64>());
        for (cause, n) in &self.errors {
            let _ = writeln!(line, "    {cause:<40} {n:>8}");
        }
        let _ = writeln!(line, "latency (ms)             p50      p99     p999      max");
        for (label, values) in [("issuance request", &self.issue_latency_us), ("kiosk flow", &self.flow_latency_us)] {
            let _ = writeln!(
                line,
                "  {label:<18} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                percentile(values, 50.0),
                percentile(values, 99.0),
                percentile(values, 99.9),
                percentile(values, 100.0)
            );
        }
        for example in &self.examples {
            let _ = writeln!(line, "  ! {example}");
        }
        let _ = writeln!(line, "verdict: {}", if self.clean() { "CLEAN" } else { "PROBLEMS FOUND" });
        out
    }
}

/// The `p`th percentile of sorted microseconds, in milliseconds.
pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // The small subtraction keeps 99.9% of 1,000 at rank 999, not 1,000.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_rank() {
        let values: Vec<u32> = (1..=1000).map(|v| v * 1000).collect();
        assert_eq!(percentile(&values, 50.0), 500.0);
        assert_eq!(percentile(&values, 99.0), 990.0);
        assert_eq!(percentile(&values, 99.9), 999.0);
        assert_eq!(percentile(&values, 100.0), 1000.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn one_misdelivery_spoils_the_run() {
        let mut report = Report { answered: 10, issued: 10, delivered: 10, checked: 10, ..Report::default() };
        assert!(report.clean());
        report.misdeliveries = 1;
        assert!(!report.clean());
    }
}
