//! Guest SDK for kofu certificate plugins.
//!
//! A plugin is one municipality's certificate: its manifest (what it is, what
//! it reads, which options the resident may choose), its eligibility rules
//! (`check`) and its layout (`render`). It compiles to a WebAssembly component
//! for `wasm32-wasip2` that targets the `kofu:certificate/certificate` world
//! (`wit/certificate.wit`); the host runs it in a fresh sandbox per request.
//!
//! This crate holds the world's only bindings and gives plugin authors:
//!
//! - the [`Certificate`] trait and the [`export_certificate!`] macro, which
//!   export a plugin without touching the generated bindings;
//! - the WIT types under friendly names ([`Manifest`], [`Subject`],
//!   [`Document`], ...) and helpers to build them ([`Manifest::new`],
//!   [`OptionSpec::flag`], [`Refusal::new`], [`DocumentBuilder`]);
//! - [`Request`], typed access to the request's options;
//! - Japanese formatting: [`era`] (和暦 dates and fiscal years) and [`numbers`]
//!   (yen amounts, full-width digits);
//! - [`log`], diagnostics to the host, and a panic hook that reports a
//!   plugin's panic message through it.
//!
//! # Reading resident data
//!
//! The host owns the data. A [`Subject`]'s methods (`name()`, `address()`,
//! `my_number()`, `household()`, ...) return plain values, but the host
//! **traps** the plugin when it reads a field its manifest does not declare in
//! `reads`, or a field listed in an option's `unlocks` while that flag option
//! is not `true` in this request. So read only declared fields, and gated
//! fields only after checking their flag with [`Request::flag`].
//!
//! # A complete plugin
//!
//! ```no_run
//! use kofu_plugin_sdk::{
//!     era, export_certificate, Certificate, Document, DocumentBuilder, Field,
//!     Manifest, OptionSpec, Refusal, Request, Subject,
//! };
//!
//! struct NameCertificate;
//!
//! impl Certificate for NameCertificate {
//!     fn manifest() -> Manifest {
//!         Manifest::new("name-certificate", "氏名証明書", "Name certificate", "1.0.0", 200)
//!             .reads(&[Field::Name, Field::BirthDate, Field::Residency])
//!             .option(
//!                 OptionSpec::flag("include-birth-date", "生年月日を記載する", "Include the date of birth", false)
//!                     .unlocks(&[Field::BirthDate]),
//!             )
//!     }
//!
//!     fn check(subject: &Subject, _request: &Request) -> Result<(), Refusal> {
//!         // Moved out, deceased or under a support measure: refuse.
//!         kofu_plugin_sdk::require_resident(&subject.residency())
//!     }
//!
//!     fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
//!         let mut document = DocumentBuilder::new("氏名証明書").row("氏名", subject.name());
//!         // `birth-date` is gated: read it only when its flag is on.
//!         if request.flag("include-birth-date") {
//!             document = document.row("生年月日", era::format_date_or_western(subject.birth_date()));
//!         }
//!         kofu_plugin_sdk::log::info("rendered name certificate");
//!         Ok(document
//!             .paragraph("以下余白")
//!             .certification("上記のとおり相違ないことを証明する。")
//!             .signed_by(request)
//!             .build())
//!     }
//! }
//!
//! export_certificate!(NameCertificate);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the plugin
//! crate is a `cdylib` that depends on this crate only.
//!
//! The pure helpers ([`era`], [`numbers`], the builders) also compile for the
//! build machine, so their unit tests run with a plain `cargo test`. Calling
//! an imported function (any [`Subject`] method, [`log`]) off wasm32 panics.

#![warn(missing_docs)]

pub mod bindings;
mod builders;
mod document;
pub mod era;
mod export;
pub mod log;
pub mod numbers;
mod panic;
mod refusal;
mod request;

pub use bindings::kofu::certificate::resident::Subject;
/// A refusal to issue; build one with [`Refusal::new`] or [`refuse`].
pub use bindings::kofu::certificate::types::Refusal;
pub use bindings::kofu::certificate::types::{
    Align, Block, Choice, Column, Date, Document, Face, Field, IntegerRange, KeyValue, LogLevel, Manifest,
    Municipality, OptionKind, OptionSpec, OptionValue, RefusalCode, RegisteredDomicile, Residency, ResidencyState,
    SealRegistration, SealState, Sex, Signature, Table, TaxItem, TaxYear, Text, TextSize,
};
/// What the host tells the plugin about a request; plugins use [`Request`].
pub use bindings::kofu::certificate::types::{ChosenOption, RequestContext};

pub use builders::DEFAULT_MAX_PAGES;
pub use document::{DocumentBuilder, MAX_SEAL_CHARS, MAX_SPACING_MM, sex_label};
pub use export::Certificate;
pub use refusal::{refuse, require_resident};
pub use request::Request;

/// Glue for [`export_certificate!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{check, manifest, render};
}
