//! The heart of Pass emploi's offline-first sync: each young person's plan as one Automerge
//! document, the rulebook that says who may change what, the compensation that undoes refused
//! offline edits field by field, and the domain events that projections and notifications consume.
//!
//! Nothing here does I/O: documents, edits and sync messages go in; changes, verdicts and events
//! come out. The same code runs on the server, on a phone and in deterministic tests.

pub mod backoff;
#[cfg(feature = "client")]
pub mod client;
pub mod conversation;
pub mod document;
pub mod edit;
pub mod effects;
pub mod engine;
pub mod events;
pub mod ids;
pub mod model;
pub mod node;
pub mod protocol;
pub mod review;
pub mod rules;
pub mod schema;
pub mod settle;
pub mod sync_message;

pub use document::{DocumentError, PlanDocument};
pub use edit::EditError;
pub use effects::{Effect, Target};
pub use events::{DomainEvent, EventKind};
pub use ids::DocumentId;
pub use model::Plan;
pub use review::Review;
pub use rules::{Author, Reason, RuleContext, Verdict};
