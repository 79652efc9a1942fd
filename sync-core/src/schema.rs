//! The layout of a plan document: its keys, its collections, its schema version.
//!
//! ```text
//! { schema: 1, young_person_id: "<uuid>",
//!   actions:      { "<uuid>": { id, title, …, comments: { "<uuid>": {…} }, qualification?: {…} } },
//!   appointments: { "<uuid>": {…} },
//!   tasks:        { "<uuid>": { …, comments: {…} } },
//!   notices:      { "<uuid>": { id, for_user, at, reasons: [..] } } }
//! ```
//! Entities live in maps keyed by their UUID (never lists), so concurrent creations merge cleanly.
//! Instants are RFC 3339 strings in UTC, calendar dates `YYYY-MM-DD` strings.

/// The schema this version of sync-core writes. Older documents are migrated forward
/// ([`crate::document::PlanDocument::migrate`]); newer ones are refused with a clear error.
pub const SCHEMA_VERSION: i64 = 1;

/// Root keys.
pub mod root {
    pub const SCHEMA: &str = "schema";
    pub const YOUNG_PERSON_ID: &str = "young_person_id";
}

/// Field names of entities (shared between collections where the meaning is the same).
pub mod fields {
    pub const ID: &str = "id";
    pub const ROLE: &str = "role";
    pub const TITLE: &str = "title";
    pub const DESCRIPTION: &str = "description";
    pub const CATEGORY: &str = "category";
    pub const STATUS: &str = "status";
    pub const DUE_DATE: &str = "due_date";
    pub const COMPLETED_AT: &str = "completed_at";
    pub const CREATED_BY: &str = "created_by";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
    pub const REMINDER: &str = "reminder";
    pub const COMMENTS: &str = "comments";
    pub const QUALIFICATION: &str = "qualification";
    pub const AUTHOR: &str = "author";
    pub const AT: &str = "at";
    pub const TEXT: &str = "text";
    pub const CODE: &str = "code";
    pub const HOURS: &str = "hours";
    pub const COMMENT: &str = "comment";
    pub const BY: &str = "by";
    pub const KIND: &str = "kind";
    pub const STARTS_AT: &str = "starts_at";
    pub const DURATION_MINUTES: &str = "duration_minutes";
    pub const MODALITY: &str = "modality";
    pub const ADDRESS: &str = "address";
    pub const VIDEO_URL: &str = "video_url";
    pub const ADVISER_ID: &str = "adviser_id";
    pub const ADVISER_PRESENT: &str = "adviser_present";
    pub const PRESENCE: &str = "presence";
    pub const RESPONSE: &str = "response";
    pub const COMPANY: &str = "company";
    pub const OFFER_URL: &str = "offer_url";
    pub const DONE_AT: &str = "done_at";
    pub const NOTES: &str = "notes";
    pub const FOR_USER: &str = "for_user";
    pub const REASONS: &str = "reasons";
}

/// The entity collections of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    Actions,
    Appointments,
    Tasks,
    Notices,
}

impl Collection {
    pub const ALL: [Collection; 4] =
        [Collection::Actions, Collection::Appointments, Collection::Tasks, Collection::Notices];

    pub fn key(self) -> &'static str {
        match self {
            Collection::Actions => "actions",
            Collection::Appointments => "appointments",
            Collection::Tasks => "tasks",
            Collection::Notices => "notices",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The fields an entity of this collection may carry; anything else is refused by the rules.
    pub fn known_fields(self) -> &'static [&'static str] {
        use fields::*;
        match self {
            Collection::Actions => &[
                ID,
                TITLE,
                DESCRIPTION,
                CATEGORY,
                STATUS,
                DUE_DATE,
                COMPLETED_AT,
                CREATED_BY,
                CREATED_AT,
                UPDATED_AT,
                REMINDER,
                COMMENTS,
                QUALIFICATION,
            ],
            Collection::Appointments => &[
                ID,
                TITLE,
                KIND,
                STARTS_AT,
                DURATION_MINUTES,
                MODALITY,
                ADDRESS,
                VIDEO_URL,
                COMMENT,
                ADVISER_ID,
                ADVISER_PRESENT,
                STATUS,
                PRESENCE,
                RESPONSE,
                CREATED_AT,
                UPDATED_AT,
            ],
            Collection::Tasks => &[
                ID, KIND, TITLE, COMPANY, OFFER_URL, STATUS, DUE_DATE, DONE_AT, NOTES, CREATED_BY, CREATED_AT,
                UPDATED_AT, COMMENTS,
            ],
            Collection::Notices => &[ID, FOR_USER, AT, REASONS],
        }
    }

    /// Whether entities of this collection hold a `comments` map of their own.
    pub fn has_comments(self) -> bool {
        matches!(self, Collection::Actions | Collection::Tasks)
    }
}

/// Text limits of the product brief, in characters.
pub mod limits {
    pub const TITLE: usize = 200;
    pub const DESCRIPTION: usize = 5_000;
    pub const COMMENT: usize = 2_000;
    /// Free short texts (company, address).
    pub const SHORT_TEXT: usize = 500;
    pub const URL: usize = 2_000;
    /// Longest appointment: one working day.
    pub const MAX_DURATION_MINUTES: i64 = 12 * 60;
}
