//! Reading the server's `/metrics` text (Prometheus exposition format).

/// The sum of every sample of series `name`, with or without labels; None
/// if the text has no sample of it.
pub fn total(text: &str, name: &str) -> Option<f64> {
    let mut samples = text.lines().filter(|line| !line.starts_with('#')).filter_map(|line| {
        let rest = line.strip_prefix(name)?;
        // The name must end here: `name{…} v` or `name v`, not `name_more v`.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        rest.rsplit(' ').next()?.trim().parse::<f64>().ok()
    });
    let first = samples.next()?;
    Some(samples.fold(first, |sum, value| sum + value))
}

#[cfg(test)]
mod tests {
    use super::total;

    #[test]
    fn a_series_total_sums_its_labelled_samples_and_no_other_series() {
        let text = "# HELP kofu_issuance_aborts_total Issuances abandoned.\n\
                    # TYPE kofu_issuance_aborts_total counter\n\
                    kofu_issuance_aborts_total{stage=\"record\"} 3\n\
                    kofu_issuance_aborts_total{stage=\"print\"} 2\n\
                    kofu_store_commit_seconds_total 0.375\n\
                    kofu_store_commit_seconds_total_other 9\n";
        assert_eq!(total(text, "kofu_issuance_aborts_total"), Some(5.0));
        assert_eq!(total(text, "kofu_store_commit_seconds_total"), Some(0.375));
        assert_eq!(total(text, "kofu_store_write_batches_total"), None);
    }
}
