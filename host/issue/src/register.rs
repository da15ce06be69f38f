//! Register changes made through this host. Each also drops the
//! municipality's index of the binding check, so that this host's next
//! issuance checks against the register as changed (other hosts rebuild
//! theirs within `register_index::MAX_AGE`).

use kofu_register::{RegisterEntry, StatusChange};
use kofu_store::{ImportSummary, RegisterImport, StatusChangeBy, StoreError, StoredResident, now_millis};

use crate::context::Issuer;

impl Issuer {
    /// Bulk import, as of now: all rows or none.
    pub async fn import_residents(
        &self,
        municipality: &str,
        entries: &[RegisterEntry],
        import: &RegisterImport<'_>,
    ) -> Result<ImportSummary, StoreError> {
        let summary = self.store.import_residents(municipality, entries, import, now_millis()).await?;
        self.registers.forget(municipality);
        Ok(summary)
    }

    /// A status change of resident `id`, as of now: effective for the next
    /// issuance.
    pub async fn change_status(
        &self,
        municipality: &str,
        id: &str,
        change: &StatusChange,
        by: &StatusChangeBy<'_>,
    ) -> Result<StoredResident, StoreError> {
        let updated = self.store.change_status(municipality, id, change, by, now_millis()).await?;
        self.registers.forget(municipality);
        Ok(updated)
    }
}
