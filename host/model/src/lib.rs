//! Host-side data shared by the sandbox, the renderer and the CLI: residents,
//! plugin manifests and options, the request context, refusals and the
//! document model. Everything here is plain data with validation; nothing here
//! runs plugins or writes PDFs.

mod context;
mod date;
mod document;
mod instant;
mod manifest;
mod refusal;
mod resident;
pub mod text;

pub use context::{Municipality, RequestContext, code_check_digit, is_local_government_code};
pub use date::{Date, DateError};
pub use document::{
    Align, Block, CONTENT_ITEM_BYTES, Column, Document, DocumentError, Face, KeyValue, Signature, Table, Text, TextSize,
};
pub use instant::{parse_instant, rfc3339_in_japan, start_of_day_in_japan};
pub use manifest::{
    Choice, ChosenOption, Field, FieldAccess, MAX_FEE_YEN, Manifest, ManifestError, OptionError, OptionKind,
    OptionSpec, OptionValue, is_valid_kind,
};
pub use refusal::{Refusal, RefusalCode};
pub use resident::{
    HEAD_OF_HOUSEHOLD, RegisteredDomicile, Residency, ResidencyState, Resident, ResidentError, SealRegistration,
    SealState, Sex, TaxItem, TaxYear, is_valid_my_number,
};
