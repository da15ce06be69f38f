//! What can go wrong in the pipeline, in words a caller can pass on. The
//! server maps each variant to one HTTP answer (its `ApiError`); every
//! message is the detail it sends, except [`IssueError::Internal`]'s and
//! [`IssueError::Store`]'s, which the server words itself.

use kofu_sandbox::LoadError;
use kofu_store::StoreError;

use crate::slots::Busy;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// An `Idempotency-Key` that is not 1 to 128 visible ASCII characters.
    #[error(
        "the Idempotency-Key header must be 1 to 128 visible ASCII characters; send a new random value (e.g. a \
         UUID) for each new request and the same value when retrying it"
    )]
    InvalidKey,
    /// The request cannot be carried out as it stands: its options, a key
    /// reused for another request, a resident record that does not parse.
    #[error("{0}")]
    Invalid(String),
    /// Not for this caller: a dry-run of a resident who is not a test
    /// resident.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// It was there and is not any more: the card's holder left the
    /// register, the document was delivered or purged.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Conflict(String),
    /// An uploaded component that does not validate.
    #[error("the component was not accepted: {0}")]
    NotAccepted(LoadError),
    /// No sandbox slot was had: the queue is full, the wait ran out, or the
    /// host is shutting down.
    #[error("no sandbox slot: {0:?}")]
    Busy(Busy),
    /// Compiling an upload outlasted its bound; it goes on in the background.
    #[error(
        "compiling the component took longer than {secs} s; it goes on in the background: retry the same upload \
         after the time in Retry-After, and make the component smaller if this persists"
    )]
    CompileTimeout { secs: u64 },
    /// A document made by another host build, which alone can re-render it.
    #[error(
        "the document was made by another version of the server and only a server of that version can deliver \
         it; try again shortly, and if it still fails request the certificate again (nothing is charged until \
         printing is confirmed)"
    )]
    OtherBuild,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen; the cause is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}
