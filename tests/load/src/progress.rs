//! A progress bar on a terminal; a line every few seconds otherwise (CI logs).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::run::Live;

pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

pub fn start(live: &Arc<Live>, total: u64, enabled: bool) -> Progress {
    if !enabled {
        return Progress { bar: None, ticker: None };
    }
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let (live, shown) = (Arc::clone(live), bar.clone());
    let ticker = tokio::spawn(async move {
        let started = Instant::now();
        let mut last_line = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let answered = live.answered.load(Ordering::Relaxed);
            let message = format!(
                "misdeliveries {} · retries {} · errors {}",
                live.misdeliveries.load(Ordering::Relaxed),
                live.retries.load(Ordering::Relaxed),
                live.errors.load(Ordering::Relaxed)
            );
            match &shown {
                Some(bar) => {
                    bar.set_position(answered);
                    bar.set_message(message);
                }
                None if last_line.elapsed() >= Duration::from_secs(5) => {
                    last_line = Instant::now();
                    let rate = answered as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "[{:>5.0}s] {answered}/{total} issuances, {rate:.0}/s, {message}",
                        started.elapsed().as_secs_f64()
                    );
                }
                None => {}
            }
        }
    });
    Progress { bar, ticker: Some(ticker) }
}

impl Progress {
    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}
