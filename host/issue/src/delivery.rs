//! The one delivery of an issued document, and what follows it: the kiosk's
//! confirmation that it printed (the fee is charged), or the purge of a
//! document never confirmed in time.
//!
//! The bytes are the ones this host held since it issued the document
//! (`documents.rs`), or a re-render from the recorded input that hashes to
//! the recorded PDF hash (`reproduce.rs`); either way their stamps are
//! checked again before they leave, and only the request that moves the
//! document from ready to fetched hands them out.

use std::time::Duration;

use bytes::Bytes;
use kofu_store::{Delivery, Issuance, Millis, Owner, Session, now_millis};
use serde_json::json;

use crate::HOST_BUILD;
use crate::context::Issuer;
use crate::documents::HeldDocument;
use crate::error::IssueError;
use crate::reproduce::{Comparison, RecordedInput, compare, rerender};
use crate::slots::Tenant;

impl Issuer {
    /// Issuance `id`, if it is one of `session`'s; to anyone else it does
    /// not exist.
    pub async fn issuance_of(&self, session: &Session, id: &str) -> Result<Issuance, IssueError> {
        owned(session, self.store.issuance(id).await?, id)
    }

    /// The PDF of issuance `id`, to `session` only, once.
    pub async fn fetch(&self, session: &Session, id: &str) -> Result<Bytes, IssueError> {
        let i = &self.issuance_of(session, id).await?;
        // The document's subject must be the session's resident: the recorded
        // issuance says so, independently of how it was looked up.
        if i.subject != session.resident || i.municipality != session.municipality {
            tracing::error!(issuance = %i.id, "an issuance's subject does not match its session; refusing delivery");
            return Err(IssueError::Internal("issuance subject mismatch".into()));
        }
        if i.void.is_some() {
            self.documents.forget(id);
            return Err(voided());
        }
        match i.delivery {
            Delivery::Ready => {}
            Delivery::None => {
                return Err(IssueError::NotFound(format!("issuance {id} has no document: it was {}", i.outcome)));
            }
            delivery => {
                self.documents.forget(id);
                return Err(not_deliverable(delivery));
            }
        }
        // Held by this host since it was issued, or re-rendered and identical
        // to the recorded PDF; checked again before the bytes leave.
        let held = self.document(i).await?;
        let pdf = held.pdf;
        let expected = kofu_render::PageStamp {
            issuance_number: i.number.clone(),
            verification_code: i.verification_code.clone().unwrap_or_default(),
            subject_name: held.subject_name,
            preview: false,
        };
        // Off the async workers, like rendering: the runtime's queues stay
        // short, and with them the wait of the next write for the batch lock.
        let checking = pdf.clone();
        let checked = tokio::task::spawn_blocking(move || kofu_render::check_stamps(&checking, &expected))
            .await
            .map_err(|e| IssueError::Internal(format!("the delivery check failed to run: {e}")))?;
        if let Err(err) = checked {
            tracing::error!(issuance = %i.id, %err, "a stored document failed the delivery check");
            return Err(IssueError::Internal("stored document failed the delivery check".into()));
        }
        // The one delivery: only the request that moves the document from ready
        // to fetched hands out the bytes. Another request for it — a retry, or
        // one racing this on another host — finds it fetched.
        let data = json!({ "kiosk": session.kiosk, "session": session.id });
        if !self.store.mark_fetched(id, &data, now_millis()).await? {
            self.documents.forget(id);
            let now = self.store.issuance(id).await?.ok_or_else(|| no_issuance(id))?;
            if now.void.is_some() {
                return Err(voided());
            }
            return Err(not_deliverable(now.delivery));
        }
        self.documents.forget(id);
        tracing::info!(issuance = %id, "document fetched and purged");
        Ok(pdf)
    }

    /// The kiosk printed issuance `id`'s document: charge the fee (and purge
    /// the bytes if it was never fetched). Returns the issuance as it is now;
    /// confirming again gives the same answer.
    pub async fn confirm_printed(&self, session: &Session, id: &str) -> Result<Issuance, IssueError> {
        // One conditional update checks that the issuance is this session's and
        // still ready or fetched; the issuance is read only to explain a no.
        let owner = Owner { session: &session.id, kiosk: &session.kiosk };
        let data = |i: &Issuance| json!({ "kiosk": i.kiosk, "session": i.session, "fee_charged": i.fee });
        let (changed, now) = self.store.mark_printed(id, owner, data, now_millis()).await?;
        let found = owned(session, now, id)?;
        if !changed {
            match found.delivery {
                // Confirmed before: the same answer again.
                Delivery::Printed => {}
                Delivery::Expired => {
                    return Err(IssueError::Gone("the document expired before it was confirmed printed".into()));
                }
                Delivery::None => {
                    return Err(IssueError::Conflict(format!(
                        "issuance {id} was {}: there is nothing to print",
                        found.outcome
                    )));
                }
                // Moved on by someone else between the update and the read.
                Delivery::Ready | Delivery::Fetched => {
                    return Err(IssueError::Conflict(format!(
                        "issuance {id} changed meanwhile; confirm printing again"
                    )));
                }
            }
        }
        self.documents.forget(id);
        tracing::info!(issuance = %id, "document printed and purged");
        Ok(found)
    }

    /// Purge the documents issued more than `ttl` before `now` and never
    /// confirmed printed, in the database and in this host's memory.
    pub async fn expire_undelivered(&self, now: Millis, ttl: Duration) {
        match self.store.expire_undelivered(now - ttl.as_millis() as Millis, now).await {
            Ok(purged) => {
                for issuance in &purged {
                    self.documents.forget(&issuance.id);
                    tracing::info!(issuance = %issuance.id, "purged a document never confirmed printed");
                }
            }
            Err(err) => tracing::warn!(%err, "could not purge undelivered documents"),
        }
        // Expired by another host's sweep, or never fetched: past the
        // time-to-live no host delivers them.
        self.documents.forget_older_than(ttl);
    }

    /// The bytes to deliver for a ready issuance: the ones this host holds,
    /// or a re-render that hashes to the recorded PDF hash.
    async fn document(&self, issuance: &Issuance) -> Result<HeldDocument, IssueError> {
        if let Some(document) = self.documents.get(&issuance.id) {
            return Ok(document);
        }
        let result = self.reproduce(issuance).await;
        self.metrics.rerender(match &result {
            Ok(_) => "identical",
            Err(Failed::OtherBuild) => "other-build",
            Err(Failed::Error(_)) => "failed",
            Err(Failed::Differs(_)) => "differs",
        });
        result.map_err(|failed| match failed {
            Failed::OtherBuild => IssueError::OtherBuild,
            Failed::Differs(why) => {
                tracing::error!(issuance = %issuance.id, %why, "a document could not be reproduced; refusing delivery");
                IssueError::Internal(format!("issuance {}: {why}", issuance.id))
            }
            Failed::Error(err) => err,
        })
    }

    /// Issuance `issuance`'s PDF, re-rendered and identical to the recorded
    /// one, or why not.
    async fn reproduce(&self, issuance: &Issuance) -> Result<HeldDocument, Failed> {
        if issuance.host_build != HOST_BUILD {
            // Another build may render other bytes than the recorded PDF hash:
            // only a host of that build (the issuing one, normally) delivers it.
            tracing::warn!(issuance = %issuance.id, build = %issuance.host_build, "a document of another host build was asked for here");
            return Err(Failed::OtherBuild);
        }
        let input = self
            .store
            .issuance_input(&issuance.id)
            .await
            .map_err(IssueError::from)?
            .ok_or_else(|| Failed::Differs("it has no recorded input".into()))?;
        let recorded = RecordedInput::parse(&input).map_err(Failed::Differs)?;
        let subject_name = recorded.subject.name.clone();
        let plugin =
            self.plugins.get(&self.store, &self.sandboxes, &issuance.municipality, &issuance.plugin_hash).await?;
        let number = issuance.number.clone();
        let certificate = self
            .sandboxes
            .run(Tenant::Municipality(issuance.municipality.clone()), move |certifier| {
                rerender(certifier, &plugin, recorded, number)
            })
            .await?
            .map_err(Failed::Differs)?;
        match compare(issuance, &certificate) {
            Comparison::Identical => {
                tracing::info!(issuance = %issuance.id, "document re-rendered identical to the recorded one");
                Ok(HeldDocument { pdf: certificate.into_pdf().into(), subject_name })
            }
            Comparison::SameDocumentOtherBuild => Err(Failed::OtherBuild),
            Comparison::Differs(why) => Err(Failed::Differs(why.into())),
        }
    }
}

/// Why a document could not be reproduced here.
enum Failed {
    OtherBuild,
    /// The re-render is not the recorded document, or could not be made.
    Differs(String),
    Error(IssueError),
}

impl From<IssueError> for Failed {
    fn from(err: IssueError) -> Failed {
        Failed::Error(err)
    }
}

/// `found`, if it is issuance `id` of `session`; to anyone else it does not
/// exist.
fn owned(session: &Session, found: Option<Issuance>, id: &str) -> Result<Issuance, IssueError> {
    match found {
        Some(i) if i.session == session.id && i.kiosk == session.kiosk => Ok(i),
        _ => Err(no_issuance(id)),
    }
}

fn no_issuance(id: &str) -> IssueError {
    IssueError::NotFound(format!("this session has no issuance {id}"))
}

/// Why a document that was issued cannot be fetched (any more).
fn voided() -> IssueError {
    IssueError::Gone(
        "the municipality voided this certificate, so it is not delivered; nothing is charged — ask at the counter"
            .into(),
    )
}

fn not_deliverable(delivery: Delivery) -> IssueError {
    match delivery {
        Delivery::Printed => IssueError::Gone("the document was printed and its bytes purged".into()),
        Delivery::Expired => {
            IssueError::Gone("the document was not printed in time and was purged; request it again".into())
        }
        _ => IssueError::Gone(
            "the document was already fetched: it is delivered once, and its bytes were purged as they left. If it \
             did not print, request the certificate again (nothing is charged until printing is confirmed)"
                .into(),
        ),
    }
}
