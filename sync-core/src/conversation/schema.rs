//! The layout of a conversation document.
//!
//! ```text
//! { schema: 1, kind: "conversation", young_person_id: "<uuid>",
//!   messages:     { "<uuid>": { id, author: {id, role}, sent_at, kind, text?, reference?: {kind, id},
//!                               edited_at?, deleted_at? } },
//!   read_markers: { "<user uuid>": "<instant>" },
//!   important?:   { id, author, text, starts_on, ends_on, at },
//!   notices:      { "<uuid>": { id, for_user, at, reasons: [..] } } }
//! ```
//! Messages live in a map keyed by the UUID their sender made (a retried send writes the same key),
//! so concurrent sends merge; the order is read from `sent_at`, then the id. A read marker is the
//! `sent_at` of the last message its participant has read. A deleted message keeps its entry
//! (author, `sent_at`, `deleted_at`) without its text.

/// The schema this version of sync-core writes for conversations.
pub const SCHEMA_VERSION: i64 = 1;

/// The value of the root `kind` key: what tells a conversation from a plan.
pub const KIND: &str = "conversation";

/// Root keys.
pub mod root {
    pub const SCHEMA: &str = "schema";
    pub const KIND: &str = "kind";
    pub const YOUNG_PERSON_ID: &str = "young_person_id";
    pub const MESSAGES: &str = "messages";
    pub const READ_MARKERS: &str = "read_markers";
    pub const IMPORTANT: &str = "important";
    pub const NOTICES: &str = "notices";

    /// The maps made at genesis.
    pub const MAPS: [&str; 3] = [MESSAGES, READ_MARKERS, NOTICES];
}

/// Field names of messages, references and the « message important ».
pub mod fields {
    pub const ID: &str = "id";
    pub const AUTHOR: &str = "author";
    pub const SENT_AT: &str = "sent_at";
    pub const KIND: &str = "kind";
    pub const TEXT: &str = "text";
    pub const REFERENCE: &str = "reference";
    pub const EDITED_AT: &str = "edited_at";
    pub const DELETED_AT: &str = "deleted_at";
    pub const STARTS_ON: &str = "starts_on";
    pub const ENDS_ON: &str = "ends_on";
    pub const AT: &str = "at";

    /// Every field a message may carry.
    pub const MESSAGE: [&str; 8] = [ID, AUTHOR, SENT_AT, KIND, TEXT, REFERENCE, EDITED_AT, DELETED_AT];
    /// The fields fixed when a message is sent.
    pub const MESSAGE_FIXED: [&str; 5] = [ID, AUTHOR, SENT_AT, KIND, REFERENCE];
    /// Every field of the « message important ».
    pub const IMPORTANT: [&str; 6] = [ID, AUTHOR, TEXT, STARTS_ON, ENDS_ON, AT];
}

/// Limits of the product brief.
pub mod limits {
    /// A message's text, in characters.
    pub const TEXT: usize = 5_000;
    /// How far in the future a `sent_at` (or an edit's, a read marker's instant) may lie: the
    /// phones' clocks drift.
    pub const CLOCK_SKEW_SECONDS: i64 = 5 * 60;
    /// The longest a « message important » stays pinned, in days.
    pub const IMPORTANT_DAYS: i64 = 366;
}
