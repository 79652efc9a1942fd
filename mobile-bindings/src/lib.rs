//! The uniffi layer over sync-core's offline client, for the Android (Kotlin) and iOS (Swift) apps;
//! the Python bindings serve the tests. Proc-macros only (no UDL); bindings are generated in library
//! mode from the built library (see `docs/mobile.md` and `mobile-bindings/generate`).
//!
//! Conventions across the boundary:
//! - identifiers (actions, appointments, tasks, users) are UUID strings;
//! - calendar dates are `"YYYY-MM-DD"` strings, instants RFC 3339 UTC strings
//!   (`"2026-12-01T16:00:00.000Z"`), as in the REST API;
//! - in a patch, an absent field (`null`/`None`) leaves the value unchanged and an empty string
//!   clears an optional one (description, due date, company, offer URL, notes);
//! - every method blocks: call them from a background dispatcher or queue, never the UI thread;
//! - every failure is a [`MobileError`] with a French message, never a panic.
//!
//! sync-core stays free of uniffi: its closed enums are exposed as remote types (mirrored in
//! [`types`], checked by the compiler), its records are mirrored with string ids and dates.

uniffi::setup_scaffolding!();

mod client;
mod conversation;
mod error;
mod server_api;
mod types;

pub use client::{Connection, OfflineClient, PlanListener, TokenSource};
pub use conversation::{ImportantMessage, Message, MessageReference};
pub use error::{MobileError, error_message};
pub use server_api::{Me, ServerApi, Session, client_config};
pub use types::*;
