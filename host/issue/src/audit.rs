//! Verifying the audit log: a chain's hashes and head, that every recorded
//! issuance has its audit entry (and every issuance entry its record), and
//! a sample of issued documents re-rendered from their recorded inputs,
//! hashes compared.
//!
//! [`verify_audit`] (`kofu audit verify`) checks every chain with a store
//! and a certifier alone, not a running server.
//! [`Issuer::verify_municipality_audit`] checks one municipality's, for its
//! own API call, re-rendering in this host's sandbox slots. Both run the
//! same checks below; only where a re-render runs differs ([`Rerenderer`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use kofu_certify::{Certificate, Certifier};
use kofu_store::{ChainReport, Issuance, Store, StoreError};
use serde::Serialize;

use crate::context::Issuer;
use crate::error::IssueError;
use crate::reproduce::{Comparison, RecordedInput, compare, rerender};
use crate::slots::Tenant;

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

    /// Every problem, the chain's first, in plain words.
    pub fn all_problems(&self) -> impl Iterator<Item = &String> {
        self.chain.problems.iter().chain(&self.problems)
    }
}

/// Verify the audit log of `store`, re-rendering up to `sample` issued
/// documents with `certifier`.
pub async fn verify_audit(store: &Store, certifier: &Arc<Certifier>, sample: i64) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport { chain: store.verify_chains().await?, ..AuditReport::default() };
    for municipality in store.municipalities().await? {
        cross_check(store, &municipality.code, &mut report).await?;
    }
    let sampled = store.issued_inputs(sample).await?;
    rerender_sample(&OwnCertifier { store, certifier }, sampled, &mut report).await?;
    Ok(report)
}

impl Issuer {
    /// Verify municipality `municipality`'s audit log as [`verify_audit`]
    /// does every one: its chain, its records against its entries, and up
    /// to `sample` of its issued documents re-rendered. A busy sandbox or
    /// the database failing is an error; anything wrong with the log is in
    /// the report.
    pub async fn verify_municipality_audit(&self, municipality: &str, sample: i64) -> Result<AuditReport, IssueError> {
        let mut report = AuditReport { chain: self.store.verify_chain(municipality).await?, ..AuditReport::default() };
        cross_check(&self.store, municipality, &mut report).await?;
        let sampled = self.store.issued_inputs_of(municipality, sample).await?;
        rerender_sample(&HostSlots { issuer: self }, sampled, &mut report).await?;
        self.metrics.audit_verification(municipality, report.ok());
        Ok(report)
    }
}

/// Every issuance recorded for `municipality` has its audit entry, and every
/// issuance entry of its chain names a recorded issuance.
async fn cross_check(store: &Store, municipality: &str, report: &mut AuditReport) -> Result<(), StoreError> {
    let recorded: BTreeSet<String> = store.issuance_ids(municipality).await?.into_iter().collect();
    let audited: BTreeSet<String> = store.audited_issuances(municipality).await?.into_iter().collect();
    report.issuances_checked += recorded.len() as u64;
    for missing in recorded.difference(&audited) {
        report
            .problems
            .push(format!("municipality {municipality}: issuance {missing} has no audit entry (entries were removed)"));
    }
    for unknown in audited.difference(&recorded) {
        report.problems.push(format!(
            "municipality {municipality}: the audit log names issuance {unknown}, which is not in the issuance records"
        ));
    }
    Ok(())
}

/// What came of re-rendering one sampled document.
enum Attempt {
    /// Re-rendered: compare it with the record.
    Rendered(Certificate),
    /// Re-rendering ran and could not make the document: why.
    Failed(String),
    /// Nothing to run: the plugin version is no longer stored.
    NoPlugin,
}

/// Where a sample's re-renders run. An `Err` stops the verification (the
/// database failed, no sandbox slot came): it says nothing about the log.
trait Rerenderer {
    type Error: From<StoreError>;

    async fn rerender(&self, issuance: &Issuance, recorded: RecordedInput) -> Result<Attempt, Self::Error>;
}

/// Re-render each sampled document, one at a time, and compare it with its
/// record.
async fn rerender_sample<R: Rerenderer>(
    renderer: &R,
    sampled: Vec<(Issuance, String)>,
    report: &mut AuditReport,
) -> Result<(), R::Error> {
    for (issuance, input) in sampled {
        let place = format!("issuance {} ({})", issuance.id, issuance.number);
        let attempt = match RecordedInput::parse(&input) {
            Ok(recorded) => renderer.rerender(&issuance, recorded).await?,
            Err(why) => {
                report.problems.push(format!("{place}: {why}"));
                continue;
            }
        };
        match attempt {
            Attempt::NoPlugin => {
                report.problems.push(format!("{place}: plugin {} is no longer stored", issuance.plugin_hash));
            }
            Attempt::Failed(why) => {
                report.rerendered += 1;
                report.problems.push(format!("{place}: {why}"));
            }
            Attempt::Rendered(certificate) => {
                report.rerendered += 1;
                match compare(&issuance, &certificate) {
                    Comparison::Identical => {}
                    Comparison::SameDocumentOtherBuild => report.other_build += 1,
                    Comparison::Differs(why) => report.problems.push(format!("{place}: {why}")),
                }
            }
        }
    }
    Ok(())
}

/// `kofu audit verify`'s own certifier, with no server: each plugin loaded
/// from its stored component (the sandbox caches it by content hash).
struct OwnCertifier<'a> {
    store: &'a Store,
    certifier: &'a Arc<Certifier>,
}

impl Rerenderer for OwnCertifier<'_> {
    type Error = StoreError;

    async fn rerender(&self, issuance: &Issuance, recorded: RecordedInput) -> Result<Attempt, StoreError> {
        let Some(bytes) = self.store.plugin_component(&issuance.municipality, &issuance.plugin_hash).await? else {
            return Ok(Attempt::NoPlugin);
        };
        let certifier = Arc::clone(self.certifier);
        let number = issuance.number.clone();
        // Compiling and evaluating are CPU-bound: off the async workers.
        let result = tokio::task::spawn_blocking(move || {
            let plugin = certifier.sandbox().load(&bytes).map_err(|e| format!("could not be re-rendered: {e}"))?;
            rerender(&certifier, &plugin, recorded, number)
        })
        .await;
        Ok(match result {
            Ok(Ok(certificate)) => Attempt::Rendered(certificate),
            Ok(Err(why)) => Attempt::Failed(why),
            Err(e) => Attempt::Failed(format!("the re-render task failed: {e}")),
        })
    }
}

/// A serving host: plugins from its cache, each re-render in an upload
/// slot, as a dry-run is, so a verification never takes the issuance slots
/// kiosks are waiting for, and waits (or is refused busy) like any other
/// sandbox work instead of running beside it unbounded.
struct HostSlots<'a> {
    issuer: &'a Issuer,
}

impl Rerenderer for HostSlots<'_> {
    type Error = IssueError;

    async fn rerender(&self, issuance: &Issuance, recorded: RecordedInput) -> Result<Attempt, IssueError> {
        let Issuer { store, sandboxes, plugins, .. } = self.issuer;
        let plugin = match plugins.get(store, sandboxes, &issuance.municipality, &issuance.plugin_hash).await {
            Ok(plugin) => plugin,
            Err(IssueError::NotFound(_)) => return Ok(Attempt::NoPlugin),
            // A stored version that no longer loads is the log's problem.
            Err(IssueError::Internal(why)) => return Ok(Attempt::Failed(format!("could not be re-rendered: {why}"))),
            Err(err) => return Err(err),
        };
        let number = issuance.number.clone();
        let result =
            sandboxes.run(Tenant::Uploads, move |certifier| rerender(certifier, &plugin, recorded, number)).await;
        Ok(match result {
            Ok(Ok(certificate)) => Attempt::Rendered(certificate),
            Ok(Err(why)) => Attempt::Failed(why),
            Err(IssueError::Internal(why)) => Attempt::Failed(format!("the re-render task failed: {why}")),
            Err(err) => return Err(err),
        })
    }
}
