//! The conversation between a young person and the advisers who follow them: one Automerge
//! document per young person, beside their plan, with its own rulebook and the same
//! accept-then-compensate review.
//!
//! - [`document`]: creation, loading, reading and low-level writes;
//! - [`model`]: messages, read markers, the « message important », typed;
//! - [`rules`]: who may write what, as pure functions;
//! - [`review`]: the server's review of a merged batch, and its compensation;
//! - [`edit`]: the typed edits the phone and the web app make.

pub mod document;
pub mod edit;
pub mod model;
pub mod review;
pub mod rules;
pub mod schema;

pub use document::ConversationDocument;
pub use edit::{NewImportant, NewMessage};
pub use model::{Conversation, Important, Message, MessageKind, Reference, ReferenceKind};
pub use review::{Compensation, ConversationReview, compensate, review};
