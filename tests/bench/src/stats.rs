//! Latency samples and their percentiles.

use std::time::Duration;

/// Latency samples, sorted once when read.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
    sorted: bool,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Samples {
        Samples { micros: Vec::with_capacity(n), sorted: true }
    }

    pub fn push(&mut self, d: Duration) {
        self.micros.push(d.as_micros() as u64);
        self.sorted = false;
    }

    pub fn extend(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// The nearest-rank percentile `p` (0–100) in microseconds; 0 when empty.
    pub fn percentile(&mut self, p: f64) -> u64 {
        if self.micros.is_empty() {
            return 0;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        // The tolerance keeps 99.9 % of 1000 at rank 999 despite rounding.
        let rank = ((p / 100.0) * self.micros.len() as f64 - 1e-9).ceil() as usize;
        self.micros[rank.clamp(1, self.micros.len()) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for us in (1..=1000).rev() {
            s.push(Duration::from_micros(us));
        }
        assert_eq!(s.percentile(50.0), 500);
        assert_eq!(s.percentile(99.0), 990);
        assert_eq!(s.percentile(99.9), 999);
        assert_eq!(s.percentile(100.0), 1000);
        assert_eq!(s.percentile(0.0), 1);
        assert_eq!(Samples::default().percentile(50.0), 0);
    }
}
