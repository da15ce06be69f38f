//! Kiosk sessions: opened by a card and PIN at one kiosk, bound to that
//! kiosk, closed by the kiosk or after an idle timeout.

use crate::db::{self, DbError, Row};
use serde::Serialize;

use crate::{Millis, Store, StoreError};

/// A session's last-seen time is written at most this often, so a burst of
/// requests in one session costs one write, not one each.
const TOUCH_EVERY_MS: Millis = 1_000;

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    pub kiosk: String,
    pub card: String,
    pub municipality: String,
    pub resident: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub closed_at: Option<Millis>,
    pub close_reason: Option<String>,
}

/// Why a session cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionProblem {
    /// No such session, or it belongs to another kiosk: the same answer, so
    /// that one kiosk learns nothing about another's sessions.
    NotFound,
    Closed,
    Expired,
}

fn session(row: &Row) -> Result<Session, DbError> {
    Ok(Session {
        id: row.try_get("id")?,
        kiosk: row.try_get("kiosk")?,
        card: row.try_get("card")?,
        municipality: row.try_get("municipality")?,
        resident: row.try_get("resident")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        closed_at: row.try_get("closed_at")?,
        close_reason: row.try_get("close_reason")?,
    })
}

impl Store {
    /// The open session `id` of `kiosk`, marked as seen now. A session idle
    /// for `idle_ms` or longer is closed as expired on the spot.
    pub async fn use_session(
        &self,
        kiosk: &str,
        id: &str,
        now: Millis,
        idle_ms: Millis,
    ) -> Result<Result<Session, SessionProblem>, StoreError> {
        let row = db::query("SELECT * FROM sessions WHERE id = $1").bind(id).fetch_optional(self).await?;
        let Some(mut found) = row.as_ref().map(session).transpose()? else {
            return Ok(Err(SessionProblem::NotFound));
        };
        if found.kiosk != kiosk {
            return Ok(Err(SessionProblem::NotFound));
        }
        if found.closed_at.is_some() {
            return Ok(Err(if found.close_reason.as_deref() == Some("expired") {
                SessionProblem::Expired
            } else {
                SessionProblem::Closed
            }));
        }
        if now - found.last_seen_at >= idle_ms {
            self.close_session(kiosk, id, "expired", now).await?;
            return Ok(Err(SessionProblem::Expired));
        }
        if now - found.last_seen_at >= TOUCH_EVERY_MS {
            let statement = db::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(now)
                .bind(id);
            self.write_one(statement).await?;
            found.last_seen_at = now;
        }
        Ok(Ok(found))
    }

    /// Close an open session; false when it was not open or not this kiosk's.
    pub async fn close_session(&self, kiosk: &str, id: &str, reason: &str, now: Millis) -> Result<bool, StoreError> {
        let statement = db::query(
            "UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE id = $3 AND kiosk = $4 AND closed_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        .bind(kiosk);
        let done = self.write_one(statement).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Close every session idle since before `cutoff`; returns how many.
    pub async fn expire_idle_sessions(&self, cutoff: Millis, now: Millis) -> Result<u64, StoreError> {
        let statement = db::query(
            "UPDATE sessions SET closed_at = $1, close_reason = 'expired' WHERE closed_at IS NULL AND last_seen_at <= $2",
        )
        .bind(now)
        .bind(cutoff);
        let done = self.write_one(statement).await?;
        Ok(done.rows_affected())
    }
}
