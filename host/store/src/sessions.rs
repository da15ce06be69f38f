//! Kiosk sessions: opened by a card and PIN at one kiosk, bound to that
//! kiosk, closed by the kiosk or after an idle timeout.

use crate::db::{self, Row};
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
    pub close_reason: Option<CloseReason>,
}

/// Why a session was closed. Stored and serialised as [`CloseReason::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The kiosk closed it.
    Closed,
    /// Idle past the timeout.
    Expired,
    /// Its card was revoked.
    CardRevoked,
}

impl Serialize for CloseReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl CloseReason {
    /// The stored (and serialised) form.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Closed => "closed",
            CloseReason::Expired => "expired",
            CloseReason::CardRevoked => "card revoked",
        }
    }

    fn parse(text: &str) -> Result<CloseReason, StoreError> {
        Ok(match text {
            "closed" => CloseReason::Closed,
            "expired" => CloseReason::Expired,
            "card revoked" => CloseReason::CardRevoked,
            other => return Err(StoreError::corrupt("a session's close reason", other)),
        })
    }
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

fn session(row: &Row) -> Result<Session, StoreError> {
    let close_reason: Option<String> = row.try_get("close_reason")?;
    Ok(Session {
        id: row.try_get("id")?,
        kiosk: row.try_get("kiosk")?,
        card: row.try_get("card")?,
        municipality: row.try_get("municipality")?,
        resident: row.try_get("resident")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        closed_at: row.try_get("closed_at")?,
        close_reason: close_reason.as_deref().map(CloseReason::parse).transpose()?,
    })
}

/// A kiosk credential's kiosk and, read with it, one of its sessions.
#[derive(Debug, Clone)]
pub struct KioskSession {
    pub kiosk: String,
    /// The session asked for, if it exists and belongs to this kiosk; open
    /// or not (see [`Store::check_session`]).
    pub session: Option<Session>,
}

/// The calling kiosk by its credential, with the session it names: one read
/// instead of a credential lookup and a session lookup (every kiosk call
/// after sign-in needs both). Another kiosk's session is not joined.
pub(crate) const KIOSK_SESSION: &str = "SELECT k.id AS calling_kiosk, s.id, s.kiosk, s.card, s.municipality, s.resident, \
     s.created_at, s.last_seen_at, s.closed_at, s.close_reason \
     FROM kiosks k LEFT JOIN sessions s ON s.id = $2 AND s.kiosk = k.id \
     WHERE k.credential_hash = $1 AND k.revoked_at IS NULL";

/// Close every session idle since before a cutoff (the sweeper), as
/// [`CloseReason::Expired`].
pub(crate) const EXPIRE_IDLE: &str =
    "UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE closed_at IS NULL AND last_seen_at <= $3";

impl Store {
    /// The unrevoked kiosk whose credential hashes to `credential_hash`,
    /// with its session `session_id` if it has one by that id; `None` when
    /// no kiosk has this credential.
    pub async fn kiosk_session(
        &self,
        credential_hash: &str,
        session_id: &str,
    ) -> Result<Option<KioskSession>, StoreError> {
        let Some(row) = db::query(KIOSK_SESSION).bind(credential_hash).bind(session_id).fetch_optional(self).await?
        else {
            return Ok(None);
        };
        let kiosk: String = row.try_get("calling_kiosk")?;
        let joined: Option<String> = row.try_get("id")?;
        let session = joined.map(|_| session(&row)).transpose()?;
        Ok(Some(KioskSession { kiosk, session }))
    }

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
        let found = row.as_ref().map(session).transpose()?;
        self.check_session(kiosk, found, now, idle_ms).await
    }

    /// Whether `found` (a session as read just now) is an open session of
    /// `kiosk`; if so it is marked as seen now. A session idle for `idle_ms`
    /// or longer is closed as expired on the spot.
    pub async fn check_session(
        &self,
        kiosk: &str,
        found: Option<Session>,
        now: Millis,
        idle_ms: Millis,
    ) -> Result<Result<Session, SessionProblem>, StoreError> {
        let Some(mut found) = found else {
            return Ok(Err(SessionProblem::NotFound));
        };
        if found.kiosk != kiosk {
            return Ok(Err(SessionProblem::NotFound));
        }
        if found.closed_at.is_some() {
            return Ok(Err(if found.close_reason == Some(CloseReason::Expired) {
                SessionProblem::Expired
            } else {
                SessionProblem::Closed
            }));
        }
        if now - found.last_seen_at >= idle_ms {
            self.close_session(kiosk, &found.id, CloseReason::Expired, now).await?;
            return Ok(Err(SessionProblem::Expired));
        }
        if now - found.last_seen_at >= TOUCH_EVERY_MS {
            let statement = db::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(now)
                .bind(&found.id);
            self.write_one(statement).await?;
            found.last_seen_at = now;
        }
        Ok(Ok(found))
    }

    /// Close an open session; false when it was not open or not this kiosk's.
    pub async fn close_session(
        &self,
        kiosk: &str,
        id: &str,
        reason: CloseReason,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let statement = db::query(
            "UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE id = $3 AND kiosk = $4 AND closed_at IS NULL",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(id)
        .bind(kiosk);
        let done = self.write_one(statement).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Close every session idle since before `cutoff`; returns how many.
    pub async fn expire_idle_sessions(&self, cutoff: Millis, now: Millis) -> Result<u64, StoreError> {
        let statement = db::query(EXPIRE_IDLE).bind(now).bind(CloseReason::Expired.as_str()).bind(cutoff);
        let done = self.write_one(statement).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::CloseReason;

    /// The stored strings, which rows already hold, read back as their
    /// reasons and serialise as themselves.
    #[test]
    fn close_reasons_keep_their_stored_strings() {
        for (reason, text) in [
            (CloseReason::Closed, "closed"),
            (CloseReason::Expired, "expired"),
            (CloseReason::CardRevoked, "card revoked"),
        ] {
            assert_eq!(reason.as_str(), text);
            assert_eq!(CloseReason::parse(text).ok(), Some(reason));
            assert_eq!(serde_json::to_value(reason).ok(), Some(serde_json::json!(text)));
        }
        assert!(CloseReason::parse("idle").is_err());
    }
}
