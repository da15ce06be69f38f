//! End-to-end tests of `kofu serve` through its real router: the kiosk
//! flow, idempotency, PIN lockout, sessions, register changes, plugin
//! rollback, the audit chain and its verification, the vendor's issuance
//! counts, authorization and bad input, and several hosts on one database.

mod authz;
mod binding;
mod capacity;
mod common;
mod console;
mod console_api;
mod documents;
mod flow;
mod hosts;
mod input;
mod lifecycle;
mod municipal;
mod openapi;
mod operations;
mod records;
mod retention;
