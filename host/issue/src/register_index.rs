//! Each municipality's [`RegisterIndex`], built from the register and kept
//! for the binding check of every issuance (`kofu_certify`): a plugin may
//! print no resident's data but what the host handed it.
//!
//! An index is rebuilt when this host changes the municipality's register
//! (import, status change) and otherwise at most [`MAX_AGE`] after it was
//! built, so a register change made through another host of the same
//! database is covered within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kofu_certify::RegisterIndex;
use kofu_model::Resident;
use kofu_store::Store;

use crate::error::IssueError;

/// How long an index serves before it is rebuilt from the register.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Residents read from the store per query while building.
const PAGE: i64 = 5_000;

#[derive(Default)]
pub(crate) struct RegisterIndexes {
    built: Mutex<HashMap<String, (Instant, Arc<RegisterIndex>)>>,
}

impl RegisterIndexes {
    /// The index of `municipality`'s register, built if missing or old.
    pub(crate) async fn get(&self, store: &Store, municipality: &str) -> Result<Arc<RegisterIndex>, IssueError> {
        if let Some((built, index)) = self.lock().get(municipality)
            && built.elapsed() < MAX_AGE
        {
            return Ok(Arc::clone(index));
        }
        let mut residents: Vec<Resident> = Vec::new();
        let mut after = -1;
        loop {
            let page = store.residents(municipality, after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let full = page.len() as i64 == PAGE;
            residents.extend(page.into_iter().map(|(_, stored)| stored.entry.person));
            if !full {
                break;
            }
        }
        let index = tokio::task::spawn_blocking(move || RegisterIndex::build(residents.iter()))
            .await
            .map_err(|e| IssueError::Internal(format!("indexing the register failed to run: {e}")))?
            .map_err(|e| IssueError::Internal(e.to_string()))?;
        let index = Arc::new(index);
        self.lock().insert(municipality.to_owned(), (Instant::now(), Arc::clone(&index)));
        Ok(index)
    }

    /// Drop `municipality`'s index after this host changed its register.
    pub(crate) fn forget(&self, municipality: &str) {
        self.lock().remove(municipality);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<RegisterIndex>)>> {
        self.built.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
