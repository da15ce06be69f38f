//! The issued documents this host holds until their one fetch.
//!
//! The database records an issuance's evaluated input and the hashes of its
//! document and PDF, never the PDF itself: writing some 60 KB into the WAL,
//! reading it back at the fetch and freeing it again would be the largest
//! cost of an issuance after rendering. The issuing host holds the bytes
//! here instead. A fetch that lands elsewhere (another host, this host after
//! a restart, or after the bytes were dropped to stay within
//! `document_memory_bytes`) re-renders the document from the recorded input
//! (rendering is deterministic, invariant 5) and hands it out only if it
//! hashes to the recorded PDF hash (`delivery.rs`). Anything else fails
//! closed.
//!
//! Holding is an optimisation, never the authority: who may fetch, and
//! whether the document is still ready, is always read from the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Issued PDFs by issuance id, within a byte budget; the oldest are dropped
/// first when it is reached.
pub struct HeldDocuments {
    limit: usize,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    bytes: usize,
    next: u64,
    by_id: HashMap<String, Entry>,
    /// Ids in the order they were held, oldest first.
    by_age: BTreeMap<u64, String>,
}

struct Entry {
    order: u64,
    since: Instant,
    document: HeldDocument,
}

/// An issued PDF, with the name its footer bands print: what the fetch's
/// stamp check compares the bytes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldDocument {
    pub(crate) pdf: Bytes,
    pub(crate) subject_name: String,
}

impl Held {
    fn remove(&mut self, id: &str) -> bool {
        let Some(entry) = self.by_id.remove(id) else { return false };
        self.by_age.remove(&entry.order);
        self.bytes -= entry.document.pdf.len();
        true
    }

    fn oldest(&self) -> Option<(&str, &Entry)> {
        let (_, id) = self.by_age.first_key_value()?;
        self.by_id.get(id).map(|entry| (id.as_str(), entry))
    }
}

impl HeldDocuments {
    /// Hold at most `limit` bytes of documents; 0 holds none, so every fetch
    /// re-renders.
    pub(crate) fn new(limit: usize) -> HeldDocuments {
        HeldDocuments { limit, held: Mutex::default() }
    }

    /// Hold issuance `id`'s PDF for its fetch.
    pub(crate) fn hold(&self, id: &str, document: HeldDocument) {
        self.hold_since(id, document, Instant::now());
    }

    fn hold_since(&self, id: &str, document: HeldDocument, since: Instant) {
        let len = document.pdf.len();
        if len > self.limit {
            return;
        }
        let mut held = self.lock();
        held.remove(id);
        while held.bytes + len > self.limit {
            let Some((oldest, _)) = held.oldest() else { break };
            let oldest = oldest.to_owned();
            held.remove(&oldest);
        }
        let order = held.next;
        held.next += 1;
        held.bytes += len;
        held.by_age.insert(order, id.to_owned());
        held.by_id.insert(id.to_owned(), Entry { order, since, document });
    }

    /// The held PDF of issuance `id`, if this host holds it.
    pub(crate) fn get(&self, id: &str) -> Option<HeldDocument> {
        self.lock().by_id.get(id).map(|entry| entry.document.clone())
    }

    /// Drop issuance `id`'s PDF: it was delivered, printed or expired.
    pub(crate) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Drop every PDF held longer than `age`: past the delivery time-to-live
    /// no host delivers it any more.
    pub(crate) fn forget_older_than(&self, age: Duration) -> usize {
        self.forget_held_before(Instant::now().checked_sub(age))
    }

    /// Drop every PDF held before `cutoff` (None: the clock cannot go back
    /// that far, so nothing is that old).
    fn forget_held_before(&self, cutoff: Option<Instant>) -> usize {
        let Some(cutoff) = cutoff else { return 0 };
        let mut held = self.lock();
        let mut dropped = 0;
        while let Some((id, entry)) = held.oldest() {
            if entry.since >= cutoff {
                break;
            }
            let id = id.to_owned();
            held.remove(&id);
            dropped += 1;
        }
        dropped
    }

    /// How many documents and bytes are held now.
    pub fn usage(&self) -> (usize, usize) {
        let held = self.lock();
        (held.by_id.len(), held.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf(len: usize, fill: u8) -> HeldDocument {
        HeldDocument { pdf: Bytes::from(vec![fill; len]), subject_name: "見本 太郎".into() }
    }

    #[test]
    fn holds_within_the_budget_dropping_the_oldest_first() {
        let held = HeldDocuments::new(100);
        held.hold("a", pdf(40, 1));
        held.hold("b", pdf(40, 2));
        assert_eq!(held.usage(), (2, 80));
        held.hold("c", pdf(40, 3));
        assert_eq!(held.get("a"), None, "the oldest made room");
        assert_eq!(held.get("b"), Some(pdf(40, 2)));
        assert_eq!(held.get("c"), Some(pdf(40, 3)));
        assert_eq!(held.usage(), (2, 80));
        held.hold("too-big", pdf(101, 4));
        assert_eq!(held.get("too-big"), None);
        assert_eq!(held.usage(), (2, 80), "a document larger than the budget evicts nothing");
    }

    #[test]
    fn forgetting_frees_its_bytes_and_only_its_own() {
        let held = HeldDocuments::new(100);
        held.hold("a", pdf(30, 1));
        held.hold("b", pdf(30, 2));
        held.forget("a");
        held.forget("unknown");
        assert_eq!(held.get("a"), None);
        assert_eq!(held.get("b"), Some(pdf(30, 2)));
        assert_eq!(held.usage(), (1, 30));
        // Holding the same id again replaces it rather than counting twice.
        held.hold("b", pdf(50, 5));
        assert_eq!(held.usage(), (1, 50));
        assert_eq!(held.get("b"), Some(pdf(50, 5)));
    }

    #[test]
    fn a_zero_budget_holds_nothing() {
        let held = HeldDocuments::new(0);
        held.hold("a", pdf(1, 1));
        assert_eq!(held.get("a"), None);
        assert_eq!(held.usage(), (0, 0));
    }

    #[test]
    fn old_documents_are_dropped_by_age() {
        let held = HeldDocuments::new(100);
        let start = Instant::now();
        held.hold_since("a", pdf(10, 1), start);
        held.hold_since("b", pdf(10, 2), start + Duration::from_secs(5));
        assert_eq!(held.forget_held_before(Some(start + Duration::from_secs(1))), 1);
        assert_eq!(held.get("a"), None);
        assert_eq!(held.get("b"), Some(pdf(10, 2)));
        assert_eq!(held.forget_held_before(None), 0);
        assert_eq!(held.forget_held_before(Some(start + Duration::from_secs(5))), 0, "held at the cutoff: kept");
        assert_eq!(held.forget_held_before(Some(start + Duration::from_secs(6))), 1);
        assert_eq!(held.usage(), (0, 0));
    }
}
