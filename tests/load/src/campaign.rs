//! The fault campaigns' pieces: killing the server at set points of a run,
//! and the checks made afterwards against the ledger of answers and the
//! server's own audit verification.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::report::Report;
use crate::run::Live;
use crate::server::ServerProcess;

/// Kill the server with SIGKILL `kills` times, evenly spread over `total`
/// answered requests, starting it again each time. Returns the kills made.
pub fn spawn_killer(
    server: Arc<Mutex<ServerProcess>>,
    live: Arc<Live>,
    total: u64,
    kills: u32,
) -> tokio::task::JoinHandle<anyhow::Result<u32>> {
    tokio::task::spawn_blocking(move || {
        let mut made = 0;
        for n in 1..=u64::from(kills) {
            let at = total * n / (u64::from(kills) + 1);
            while live.answered.load(Ordering::SeqCst) < at {
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut server = server.lock().map_err(|_| anyhow::anyhow!("server lock poisoned"))?;
            server.kill9()?;
            made += 1;
            eprintln!("kill -9 #{made} at {} answered; restarting", live.answered.load(Ordering::SeqCst));
            server.restart()?;
        }
        Ok(made)
    })
}

/// Issuances answered for more than one key: a duplicate by definition,
/// since every key is one request.
pub fn shared_answers(report: &Report) -> Vec<String> {
    let mut by_issuance: HashMap<&str, usize> = HashMap::new();
    for entry in &report.ledger {
        *by_issuance.entry(entry.issuance.as_str()).or_default() += 1;
    }
    by_issuance.into_iter().filter(|(_, n)| *n > 1).map(|(id, n)| format!("{id} answered {n} keys")).collect()
}

/// `kofu audit verify` on the data directory: exit status and report.
pub fn audit_verify(binary: &Path, data_dir: &Path) -> anyhow::Result<(bool, String)> {
    let mut command = Command::new(binary);
    command.args(["audit", "verify", "--sample", "50", "--data-dir"]).arg(data_dir);
    verify(command)
}

/// `kofu audit verify` on a database URL (several hosts, one database).
pub fn audit_verify_db(binary: &Path, url: &str) -> anyhow::Result<(bool, String)> {
    let mut command = Command::new(binary);
    command.args(["audit", "verify", "--sample", "50", "--db", url]);
    verify(command)
}

fn verify(mut command: Command) -> anyhow::Result<(bool, String)> {
    let output = command.output().context("cannot run kofu audit verify")?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}
