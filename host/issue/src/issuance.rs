//! One issuance, from a kiosk's request to a recorded outcome. The steps:
//!
//! 1. A retry (same kiosk, same `Idempotency-Key`) gets the recorded answer.
//! 2. The active version for the kind is read from the database, its plugin
//!    loaded (cached by content hash), the options resolved against the
//!    plugin's manifest.
//! 3. The subject and their household are read from the register.
//! 4. The plugin runs in a fresh sandbox and the host renders the PDF with a
//!    new random issuance number on every page.
//! 5. Before anything is stored, the PDF is read back independently: every
//!    page must carry this issuance's number, "n / N" and code.
//! 6. One transaction records the issuance and its audit entry — and only if
//!    the register rows evaluated are still current; otherwise it starts
//!    over from step 3. The PDF's hash is recorded, not its bytes: once the
//!    transaction has committed, this host holds them for the fetch
//!    (`documents`).
//!
//! Any error before step 6 commits leaves nothing behind; a plugin failure
//! is recorded as a failed issuance with its reason, nothing to deliver and
//! nothing charged.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kofu_certify::{Certified, CertifyError, RegisterIndex, Stamp};
use kofu_model::{Date, RequestContext, Resident};
use kofu_sandbox::{Plugin, Request};
use kofu_store::{
    Delivery, Issuance, NewIssuance, Outcome, Recorded, RegisterVersion, Session, Subject, hex, now_millis, random_id,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::HOST_BUILD;
use crate::context::Issuer;
use crate::documents::HeldDocument;
use crate::error::IssueError;
use crate::reproduce::RecordedInput;
use crate::slots::Tenant;

/// How often a changing register may send an issuance back to step 3.
const REGISTER_RETRIES: usize = 3;

/// The body of `POST /v1/kiosk/sessions/{session}/issuances`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub kind: String,
    #[serde(default)]
    pub options: BTreeMap<String, Value>,
}

/// An idempotency key: 1–128 visible ASCII characters. Checked where it is
/// made, so a key the pipeline is given is always a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(key: impl Into<String>) -> Result<IdempotencyKey, IssueError> {
        let key = key.into();
        if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IssueError::InvalidKey);
        }
        Ok(IdempotencyKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fingerprint(request: &IssueRequest) -> String {
    let canonical = json!({ "kind": request.kind, "options": request.options }).to_string();
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// The options as `key=text` pairs, for [`kofu_model::Manifest::resolve_options`].
pub fn option_texts(options: &BTreeMap<String, Value>) -> Result<Vec<(String, String)>, IssueError> {
    options
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => {
                    return Err(IssueError::Invalid(format!(
                        "option `{key}` must be true/false, a number or a string"
                    )));
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}

/// A recorded answer for a retried key, if this is a faithful retry.
fn replay(existing: Issuance, session: &Session, print: &str) -> Result<Issuance, IssueError> {
    if existing.session != session.id {
        return Err(IssueError::Invalid(
            "this Idempotency-Key was already used in another session of this kiosk; use a new key for a new request"
                .into(),
        ));
    }
    if existing.request_fingerprint != print {
        return Err(IssueError::Invalid(
            "this Idempotency-Key was already used for a different request; use a new key for a new request".into(),
        ));
    }
    Ok(existing)
}

impl Issuer {
    /// Run one issuance to its recorded outcome.
    ///
    /// Once the host gives up waiting for it at shutdown
    /// ([`Issuer::abandon_in_flight`]), an issuance not yet recorded stops
    /// where it is and records itself as failed, reason `abandoned`: nothing
    /// delivered or charged, and the kiosk's retry with the same key gets
    /// that record on any host.
    pub async fn issue(
        &self,
        session: &Session,
        key: &IdempotencyKey,
        request: IssueRequest,
    ) -> Result<Issuance, IssueError> {
        let print = fingerprint(&request);
        let plugin_hash = OnceLock::new();
        let asking = Asking { session, key, fingerprint: &print, request: &request };
        tokio::select! {
            biased;
            result = self.issue_until_recorded(&asking, &plugin_hash) => result,
            () = self.abandon.cancelled() => self.record_abandoned(&asking, plugin_hash.get()).await,
        }
    }

    async fn issue_until_recorded(
        &self,
        asking: &Asking<'_>,
        plugin_hash: &OnceLock<String>,
    ) -> Result<Issuance, IssueError> {
        let Asking { session, key, fingerprint: print, request } = *asking;
        let started = Instant::now();
        if let Some(existing) = self.store.issuance_by_key(&session.kiosk, key.as_str()).await? {
            return replay(existing, session, print);
        }
        let active = self.store.active_plugin(&session.municipality, &request.kind).await?.ok_or_else(|| {
            IssueError::NotFound(format!(
                "your municipality does not issue `{}` at kiosks; list the available kinds with GET \
                 /v1/kiosk/sessions/{{session}}/certificates",
                request.kind
            ))
        })?;
        let hash = active.hash;
        let _ = plugin_hash.set(hash.clone());
        // The manifest is the loaded plugin's own, already parsed: the cache
        // holds plugins by content hash and checks each against it.
        let plugin = self.plugins.get(&self.store, &self.sandboxes, &session.municipality, &hash).await?;
        let manifest = plugin.manifest();
        let options = manifest
            .resolve_options(&option_texts(&request.options)?)
            .map_err(|e| IssueError::Invalid(e.to_string()))?;

        let register = self.registers.get(&self.store, &session.municipality).await?;
        // The fee the municipality set at activation, else the manifest's.
        let fee_yen = active.fee_yen.unwrap_or_else(|| i64::from(manifest.fee_yen));
        let asked = Asked { asking, plugin_hash: &hash, fee_yen };
        for _ in 0..REGISTER_RETRIES {
            let subject = self.store.subject(&session.municipality, &session.resident).await?.ok_or_else(|| {
                IssueError::Gone(
                    "the card's holder is no longer in the municipality's register; ask at the counter".into(),
                )
            })?;
            let resident = Arc::new(kofu_register::assemble(
                &subject.subject.entry,
                &subject.household.iter().map(|r| r.entry.clone()).collect::<Vec<_>>(),
            ));
            let now = now_millis();
            let issue_date = Date::in_japan_at((now / 1000) as u64);
            // The mayor in office on the issue date.
            let municipality = self
                .store
                .municipality_on(&session.municipality, issue_date)
                .await?
                .ok_or_else(|| IssueError::Internal(format!("municipality {} vanished", session.municipality)))?;
            let context = RequestContext { issue_date, municipality, options: options.clone() };
            let number = issuance_number()?;
            let evaluated =
                self.evaluate(&plugin, Arc::clone(&resident), context, number.clone(), Arc::clone(&register)).await?;
            let attempt = Attempt { subject: &subject, id: random_id(20)?, number: number.clone(), now, evaluated };
            let (new, pdf) = build_record(&asked, attempt);
            let audit = audit_data(&new);
            let seen: Vec<RegisterVersion> = subject
                .household
                .iter()
                .map(|r| RegisterVersion { id: r.entry.id.clone(), version: r.version })
                .collect();
            let recorded = self.store.record_issuance(&new, &subject.subject.entry.household, &seen, &audit).await;
            let recorded = recorded.map_err(|err| {
                // The transaction rolled back: no issuance, no audit entry,
                // nothing to fetch. A retry with the same key starts afresh.
                self.metrics.issuance_abort("record");
                tracing::error!(number = %number, session = %session.id, error = %err, "issuance aborted: recording failed");
                err
            })?;
            match recorded {
                Recorded::New { issuance, .. } => {
                    if let (Delivery::Ready, Some(pdf)) = (issuance.delivery, pdf) {
                        let subject_name = resident.name.clone();
                        self.documents.hold(&issuance.id, HeldDocument { pdf: pdf.into(), subject_name });
                    }
                    self.metrics.issuance_outcome(&issuance.municipality, &issuance.kind, issuance.outcome);
                    if let Some(code) = issuance.reason_code.as_deref().filter(|_| issuance.outcome == Outcome::Failed)
                    {
                        self.metrics.plugin_failure(&issuance.municipality, &issuance.kind, code);
                        tracing::warn!(
                            municipality = %issuance.municipality,
                            issuance = %issuance.id,
                            kind = %issuance.kind,
                            plugin = %issuance.plugin_hash,
                            cause = code,
                            "a plugin failed: issuance failed closed, nothing delivered or charged"
                        );
                    }
                    self.metrics.issuance.observe(started.elapsed());
                    tracing::info!(
                        issuance = %issuance.id,
                        kind = %issuance.kind,
                        outcome = %issuance.outcome,
                        reason = issuance.reason_code.as_deref().unwrap_or(""),
                        "issuance recorded"
                    );
                    return Ok(*issuance);
                }
                Recorded::Existing(existing) => return replay(*existing, session, print),
                Recorded::RegisterChanged => {
                    tracing::info!(number = %number, "the register changed during an issuance; evaluating again");
                }
            }
        }
        Err(IssueError::Conflict(
            "the resident's register record kept changing while the certificate was being made; nothing was issued \
             or charged — try again"
                .into(),
        ))
    }

    async fn evaluate(
        &self,
        plugin: &Arc<Plugin>,
        subject: Arc<Resident>,
        context: RequestContext,
        number: String,
        register: Arc<RegisterIndex>,
    ) -> Result<Evaluated, IssueError> {
        let plugin = Arc::clone(plugin);
        let tenant = Tenant::Municipality(context.municipality.code.clone());
        let evaluated = self
            .sandboxes
            .run(tenant, move |certifier| {
                // All of an issuance's CPU-bound work runs here, off the async
                // workers: the recorded input, evaluation, the host's checks,
                // rendering, the pre-delivery check and the PDF's hash.
                let input = RecordedInput::text(&subject, &context)
                    .map_err(|e| IssueError::Internal(format!("the issuance's input could not be recorded: {e}")))?;
                let started = Instant::now();
                let stamp = Stamp { issuance_number: number.clone(), preview: false };
                let result = certifier.certify_with(&plugin, &Request { subject, context }, &stamp, &register);
                let total = started.elapsed();
                let (render_time, pdf_hash) = match &result {
                    Ok(Certified::Issued { certificate, .. }) => {
                        (certificate.render_time(), Some(hex(&Sha256::digest(certificate.pdf()))))
                    }
                    _ => (Duration::ZERO, None),
                };
                Ok::<_, IssueError>(Evaluated {
                    result,
                    pdf_hash,
                    input,
                    sandbox_time: total.saturating_sub(render_time),
                    render_time,
                })
            })
            .await??;
        self.metrics.sandbox.observe(evaluated.sandbox_time);
        if evaluated.render_time > Duration::ZERO {
            self.metrics.render.observe(evaluated.render_time);
        }
        Ok(evaluated)
    }
}

/// What evaluating and rendering came to, with its timings.
struct Evaluated {
    result: Result<Certified, CertifyError>,
    /// The SHA-256 of the issued PDF, in hex.
    pdf_hash: Option<String>,
    /// The subject and context the plugin was given, as JSON: what the
    /// issuance records to re-render it from.
    input: String,
    sandbox_time: Duration,
    render_time: Duration,
}

/// What the kiosk asked for.
#[derive(Clone, Copy)]
struct Asking<'a> {
    session: &'a Session,
    key: &'a IdempotencyKey,
    fingerprint: &'a str,
    request: &'a IssueRequest,
}

/// What was asked, with the plugin chosen to answer it: the same for every
/// attempt of one issuance.
struct Asked<'a> {
    asking: &'a Asking<'a>,
    plugin_hash: &'a str,
    /// What the kiosk charges once it printed.
    fee_yen: i64,
}

/// One attempt at it: the register as read, the attempt's random
/// identifiers and time, and what evaluating came to.
struct Attempt<'a> {
    subject: &'a Subject,
    id: String,
    number: String,
    now: i64,
    evaluated: Evaluated,
}

/// The record of one attempt, and the PDF to hold if it issued.
fn build_record(asked: &Asked<'_>, attempt: Attempt<'_>) -> (NewIssuance, Option<Vec<u8>>) {
    let Attempt { subject, id, number, now, evaluated } = attempt;
    let timings = json!({
        "sandbox_us": evaluated.sandbox_time.as_micros() as u64,
        "render_us": evaluated.render_time.as_micros() as u64,
    });
    let mut issuance = failed_record(asked.asking, asked.plugin_hash, Numbered { id, number: number.clone(), now });
    issuance.subject = subject.subject.entry.id.clone();
    issuance.timings = timings;
    let mut pdf = None;
    match evaluated.result {
        Ok(Certified::Issued { certificate, evaluation }) => {
            issuance.outcome = Outcome::Issued;
            issuance.fields_read = fields_read(&evaluation);
            issuance.document_hash = Some(hex(certificate.document_hash()));
            issuance.pdf_hash = evaluated.pdf_hash;
            issuance.verification_code = Some(certificate.verification_code().to_owned());
            issuance.pages = Some(i64::from(certificate.pages()));
            issuance.fee = Some(asked.fee_yen);
            issuance.delivery = Delivery::Ready;
            pdf = Some(certificate.into_pdf());
        }
        Ok(Certified::Refused { refusal, evaluation, host_reason }) => {
            issuance.outcome = Outcome::Refused;
            issuance.fields_read = fields_read(&evaluation);
            issuance.reason_code = Some(refusal.code.as_str().into());
            let mut reason = json!({ "ja": refusal.message_ja, "en": refusal.message_en });
            if let Some(host) = host_reason {
                reason["host"] = json!(host);
                tracing::warn!(number = %number, code = refusal.code.as_str(), %host, "the host refused a plugin's answer");
            }
            issuance.reason = Some(reason.to_string());
        }
        Err(err) => {
            issuance.outcome = Outcome::Failed;
            let (code, reason) = match &err {
                CertifyError::Evaluation(e) => {
                    issuance.fields_read = json!(e.fields_read.iter().map(|f| f.as_str()).collect::<Vec<_>>());
                    let mut reason = e.to_string();
                    if let Some(backtrace) = &e.backtrace {
                        reason.push_str("\nbacktrace:\n");
                        reason.push_str(backtrace);
                    }
                    (e.cause.slug().to_owned(), reason)
                }
                CertifyError::PreDeliveryCheck(e) => {
                    // The renderer produced a PDF whose pages do not all
                    // carry this issuance: never deliver it.
                    tracing::error!(number = %number, error = %e, "a rendered document failed the pre-delivery check");
                    ("pre-delivery-check".to_owned(), err.to_string())
                }
                CertifyError::Render(e) => ("render".to_owned(), e.to_string()),
                CertifyError::Load(e) => ("load".to_owned(), e.to_string()),
                CertifyError::Register(e) => ("register".to_owned(), e.to_string()),
            };
            issuance.reason_code = Some(code);
            issuance.reason = Some(reason);
        }
    }
    (NewIssuance { issuance, input: evaluated.input }, pdf)
}

/// An issuance's random identifiers and its time.
struct Numbered {
    id: String,
    number: String,
    now: i64,
}

/// The record of what was asked, failed until something else is known:
/// nothing delivered, nothing charged. The subject is the card holder's.
fn failed_record(asking: &Asking<'_>, plugin_hash: &str, numbered: Numbered) -> Issuance {
    let Asking { session, key, fingerprint, request } = *asking;
    let Numbered { id, number, now } = numbered;
    Issuance {
        id,
        number,
        municipality: session.municipality.clone(),
        kiosk: session.kiosk.clone(),
        session: session.id.clone(),
        card: session.card.clone(),
        subject: session.resident.clone(),
        kind: request.kind.clone(),
        options: json!(request.options),
        idempotency_key: key.as_str().to_owned(),
        request_fingerprint: fingerprint.to_owned(),
        plugin_hash: plugin_hash.to_owned(),
        host_build: HOST_BUILD.to_owned(),
        issue_date: Date::in_japan_at((now / 1000) as u64).to_string(),
        outcome: Outcome::Failed,
        reason_code: None,
        reason: None,
        fields_read: json!([]),
        document_hash: None,
        pdf_hash: None,
        verification_code: None,
        pages: None,
        fee: None,
        delivery: Delivery::None,
        timings: json!({}),
        created_at: now,
        printed_at: None,
        purged_at: None,
        void: None,
    }
}

/// A random issuance number, `XXXX-XXXX-XXXX`.
fn issuance_number() -> Result<String, IssueError> {
    let number = random_id(12)?;
    Ok(format!("{}-{}-{}", &number[0..4], &number[4..8], &number[8..12]))
}

impl Issuer {
    /// Record an issuance the host stopped before it was recorded: failed,
    /// reason `abandoned`, with the plugin chosen if one was.
    async fn record_abandoned(
        &self,
        asking: &Asking<'_>,
        plugin_hash: Option<&String>,
    ) -> Result<Issuance, IssueError> {
        let numbered = Numbered { id: random_id(20)?, number: issuance_number()?, now: now_millis() };
        let mut issuance = failed_record(asking, plugin_hash.map_or("", String::as_str), numbered);
        issuance.reason_code = Some(ABANDONED.to_owned());
        issuance.reason = Some(
            "the host stopped (shutdown) before this certificate was made and recorded; nothing was issued or \
             charged"
                .to_owned(),
        );
        let new = NewIssuance { issuance, input: String::new() };
        let recorded = self.store.record_abandoned(&new, &audit_data(&new)).await.map_err(|err| {
            tracing::error!(session = %asking.session.id, error = %err, "an abandoned issuance could not be recorded");
            err
        })?;
        match recorded {
            Recorded::New { issuance, .. } => {
                self.metrics.issuance_abort(ABANDONED);
                self.metrics.issuance_outcome(&issuance.municipality, &issuance.kind, issuance.outcome);
                tracing::warn!(
                    issuance = %issuance.id,
                    kind = %issuance.kind,
                    "issuance abandoned at shutdown: recorded as failed, nothing charged"
                );
                Ok(*issuance)
            }
            // Recorded by the work itself just before it was stopped, or by
            // another host: that record stands.
            Recorded::Existing(existing) => replay(*existing, asking.session, asking.fingerprint),
            Recorded::RegisterChanged => Err(IssueError::Internal("an abandoned issuance checks no register".into())),
        }
    }
}

/// The reason code of an issuance its host stopped before recording it.
pub const ABANDONED: &str = "abandoned";

/// The fields a plugin read, as recorded.
fn fields_read(evaluation: &kofu_sandbox::Evaluation) -> Value {
    json!(evaluation.fields_read.iter().map(|f| f.as_str()).collect::<Vec<_>>())
}

/// The audit entry's data: who asked, for whom, with what, and what came of
/// it. No document bytes and no register content beyond the subject's id;
/// the input is represented by its hash.
fn audit_data(new: &NewIssuance) -> Value {
    let i = &new.issuance;
    json!({
        "number": i.number,
        "kiosk": i.kiosk,
        "session": i.session,
        "card": i.card,
        "subject": i.subject,
        "kind": i.kind,
        "options": i.options,
        "plugin_hash": i.plugin_hash,
        "host_build": i.host_build,
        "issue_date": i.issue_date,
        "fields_read": i.fields_read,
        "outcome": i.outcome,
        "reason_code": i.reason_code,
        // The reason may hold a plugin's words (a refusal or panic message),
        // which may hold personal data: the chain, which is never erased,
        // keeps their digest; the issuance record keeps the words, where
        // retention can purge them.
        "reason_digest": i.reason.as_ref().map(|reason| hex(&Sha256::digest(reason.as_bytes()))),
        "document_hash": i.document_hash,
        "pdf_hash": i.pdf_hash,
        "verification_code": i.verification_code,
        "pages": i.pages,
        "fee": i.fee,
        "input_hash": hex(&Sha256::digest(new.input.as_bytes())),
        "timings": i.timings,
    })
}
