//! The kofu issuance server: the HTTP API over the issuance pipeline
//! (`kofu_issue`). `kofu serve` calls [`serve`]; tests build the same router
//! with [`app`] over a [`Server`] and drive it without a socket.

mod access;
pub mod auth;
mod console;
pub mod demo;
pub mod error;
mod extract;
pub mod routes;
pub mod secrets;
mod serve;
pub mod state;
pub mod sweeper;

pub use console::preview::page_pngs;
pub use error::ApiError;
pub use kofu_config::{Config, ConfigError};
pub use routes::app;
pub use serve::{Server, StartError, bind, serve};
pub use state::AppState;
