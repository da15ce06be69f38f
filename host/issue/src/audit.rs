//! `kofu audit verify`: check every municipality's hash chain, check that
//! every recorded issuance has its audit entry, and re-render a sample of
//! issued documents from their recorded inputs, comparing hashes. It needs a
//! store and a certifier only, not a running server.

use std::collections::BTreeSet;
use std::sync::Arc;

use kofu_certify::Certifier;
use kofu_store::{ChainReport, Store, StoreError};
use serde::Serialize;

use crate::reproduce::{Comparison, RecordedInput, compare, rerender};

#[derive(Debug, Default, Serialize)]
pub struct AuditReport {
    pub chain: ChainReport,
    pub issuances_checked: u64,
    pub rerendered: u64,
    /// Re-renders compared by document hash only: they were issued by another
    /// host build, whose PDF bytes may legitimately differ.
    pub other_build: u64,
    /// Everything wrong, in plain words. Empty means the log verifies.
    pub problems: Vec<String>,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.chain.problems.is_empty()
    }
}

/// Verify the audit log of `store`, re-rendering up to `sample` issued
/// documents with `certifier`.
pub async fn verify_audit(store: &Store, certifier: &Arc<Certifier>, sample: i64) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport { chain: store.verify_chains().await?, ..AuditReport::default() };
    for municipality in store.municipalities().await? {
        let recorded: BTreeSet<String> = store.issuance_ids(&municipality.code).await?.into_iter().collect();
        let audited: BTreeSet<String> = store.audited_issuances(&municipality.code).await?.into_iter().collect();
        report.issuances_checked += recorded.len() as u64;
        for missing in recorded.difference(&audited) {
            report.problems.push(format!(
                "municipality {}: issuance {missing} has no audit entry (entries were removed)",
                municipality.code
            ));
        }
        for unknown in audited.difference(&recorded) {
            report.problems.push(format!(
                "municipality {}: the audit log names issuance {unknown}, which is not in the issuance records",
                municipality.code
            ));
        }
    }
    for (issuance, input) in store.issued_inputs(sample).await? {
        let place = format!("issuance {} ({})", issuance.id, issuance.number);
        let recorded = match RecordedInput::parse(&input) {
            Ok(recorded) => recorded,
            Err(why) => {
                report.problems.push(format!("{place}: {why}"));
                continue;
            }
        };
        let Some(bytes) = store.plugin_component(&issuance.municipality, &issuance.plugin_hash).await? else {
            report.problems.push(format!("{place}: plugin {} is no longer stored", issuance.plugin_hash));
            continue;
        };
        let certifier = Arc::clone(certifier);
        let number = issuance.number.clone();
        let result = tokio::task::spawn_blocking(move || {
            let plugin = certifier.sandbox().load(&bytes).map_err(|e| format!("could not be re-rendered: {e}"))?;
            rerender(&certifier, &plugin, recorded, number)
        })
        .await;
        report.rerendered += 1;
        let certificate = match result {
            Ok(Ok(certificate)) => certificate,
            Ok(Err(why)) => {
                report.problems.push(format!("{place}: {why}"));
                continue;
            }
            Err(e) => {
                report.problems.push(format!("{place}: the re-render task failed: {e}"));
                continue;
            }
        };
        match compare(&issuance, &certificate) {
            Comparison::Identical => {}
            Comparison::SameDocumentOtherBuild => report.other_build += 1,
            Comparison::Differs(why) => report.problems.push(format!("{place}: {why}")),
        }
    }
    Ok(report)
}
