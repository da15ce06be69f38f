//! Check values of secrets kept outside the database. Hosts sharing a
//! database must hold the same PIN key; a host with another key would reject
//! every resident's PIN and lock their cards. The first host to start records
//! a check value (a MAC of a fixed text under the key, computed by the
//! server); every later start compares against it.

use crate::db;
use crate::{Millis, Store, StoreError, constant_time_eq};

impl Store {
    /// Record `value` as the check value of secret `name` if there is none
    /// yet; true when the recorded value is `value`. Concurrent first starts
    /// agree: the primary key lets exactly one value in.
    pub async fn check_key(&self, name: &str, value: &str, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        db::query("INSERT INTO key_checks (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .bind(now)
            .execute(&mut tx)
            .await?;
        let recorded: String = db::query("SELECT value FROM key_checks WHERE name = $1")
            .bind(name)
            .fetch_one(&mut tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(constant_time_eq(&recorded, value))
    }
}
