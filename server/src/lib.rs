//! The Pass emploi service: accounts, structures and portfolios, the storage of every plan
//! document (SQLite or PostgreSQL) and the REST API whose every write goes through sync-core's
//! rulebook.

pub mod auth;
pub mod config;
pub mod conversations;
pub mod demo;
pub mod documents;
pub mod error;
pub mod lifecycle;
pub mod listener;
pub mod metrics;
pub mod notifications;
pub mod routes;
pub mod state;
pub mod store;
pub mod sync;
pub mod web;

pub use routes::app;
pub use state::AppState;
