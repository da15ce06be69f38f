use crate::db::DbError;

/// What went wrong in the store. `Unavailable` means the database could not
/// be reached or refused the write (disk full, locked, gone): callers answer
/// 503 and change nothing. On PostgreSQL that includes a lock wait past
/// `lock_timeout`, a deadlock or serialization failure, a connection lost
/// mid-transaction and a server shutting down: the transaction was rolled
/// back, so a retry (for an issuance: with the same idempotency key, on any
/// host) is safe. Races the store expects (a duplicate key, a lost history
/// number) are handled where they happen, not here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn unavailable(err: &DbError) -> StoreError {
        StoreError::Unavailable(err.to_string())
    }

    pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{what}: {err}"))
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> StoreError {
        match &err {
            DbError::RowNotFound | DbError::Sqlx(sqlx::Error::RowNotFound) => {
                StoreError::NotFound("no such record".into())
            }
            DbError::Decode { .. }
            | DbError::Sqlx(
                sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_),
            )
            | DbError::Sqlite(
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::InvalidColumnName(_),
            ) => StoreError::corrupt("a row could not be read", &err),
            DbError::Sqlx(_) | DbError::Sqlite(_) | DbError::Unusable(_) => StoreError::Unavailable(err.to_string()),
        }
    }
}
