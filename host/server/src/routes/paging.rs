//! What every list takes: a `limit` of 1 to [`MAX_PAGE`] rows, 100 unless
//! asked.

use crate::error::ApiError;

/// The most rows one page holds.
pub const MAX_PAGE: i64 = 1_000;

/// `limit` when the query does not say.
pub fn default_limit() -> i64 {
    100
}

/// Refuse a `limit` outside 1 to [`MAX_PAGE`].
pub fn check_limit(limit: i64) -> Result<(), ApiError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!("`limit` must be 1 to {MAX_PAGE}")))
    }
}
