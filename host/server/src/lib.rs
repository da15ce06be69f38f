//! The kofu issuance server. `kofu serve` calls [`serve`]; tests build the
//! same router with [`app`] over a [`Server`] and drive it without a socket.

pub mod audit_verify;
pub mod auth;
pub mod config;
pub mod demo;
pub mod documents;
pub mod error;
mod extract;
pub mod issuance;
pub mod metrics;
pub mod plugins;
pub mod register_index;
pub mod reproduce;
pub mod routes;
pub mod secrets;
mod serve;
pub mod slots;
pub mod state;
pub mod sweeper;

pub use config::Config;
pub use error::ApiError;
pub use routes::app;
pub use serve::{Server, StartError, bind, serve};
pub use state::{AppState, HOST_BUILD};
