//! The conversation with the advisers as the apps see it: messages sent offline like the plan's
//! edits, read by pages (newest first), the unread count and the « message important ».

use sync_core::conversation as core;

use crate::client::OfflineClient;
use crate::error::MobileError;
use crate::types::{Person, date, instant, parse_uuid};

pub use sync_core::conversation::{MessageKind, ReferenceKind};

/// A participant's message or the service's own (« Votre conseiller est désormais … »).
#[uniffi::remote(Enum)]
pub enum MessageKind {
    Message,
    System,
}

/// What of the plan a message may point to.
#[uniffi::remote(Enum)]
pub enum ReferenceKind {
    Action,
    Appointment,
    Task,
}

/// An action, an appointment or a task of the plan.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MessageReference {
    pub kind: ReferenceKind,
    pub id: String,
}

/// One message.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Message {
    pub id: String,
    pub author: Person,
    /// RFC 3339.
    pub sent_at: String,
    pub kind: MessageKind,
    /// The text, or « Message supprimé ».
    pub text: String,
    pub reference: Option<MessageReference>,
    pub edited: bool,
    pub deleted: bool,
}

impl From<core::Message> for Message {
    fn from(m: core::Message) -> Self {
        Message {
            id: m.id.to_string(),
            author: m.author.clone().into(),
            sent_at: instant(m.sent_at),
            kind: m.kind,
            text: m.shown_text().to_owned(),
            reference: m.reference.map(|r| MessageReference { kind: r.kind, id: r.id.to_string() }),
            edited: m.edited_at.is_some() && !m.is_deleted(),
            deleted: m.is_deleted(),
        }
    }
}

/// The adviser's pinned « message important », shown from `starts_on` to `ends_on`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ImportantMessage {
    pub text: String,
    pub author: Person,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    pub ends_on: String,
}

impl From<core::Important> for ImportantMessage {
    fn from(i: core::Important) -> Self {
        ImportantMessage {
            text: i.text,
            author: i.author.into(),
            starts_on: date(i.starts_on),
            ends_on: date(i.ends_on),
        }
    }
}

/// At most this many messages per page.
const MAX_PAGE: u32 = 200;

#[uniffi::export]
impl OfflineClient {
    /// Sends a message to the advisers (offline too: saved before returning, it leaves with the
    /// next sync, exactly once). 1–5,000 characters. Returns its id.
    pub fn send_message(&self, text: String, reference: Option<MessageReference>) -> Result<String, MobileError> {
        let reference = reference
            .map(|r| parse_uuid(&r.id, "référence").map(|id| core::Reference { kind: r.kind, id }))
            .transpose()?;
        self.with(|c| c.send_message(text, reference)).map(|id| id.to_string())
    }

    /// Replaces the text of one of the young person's messages (it then says it was edited).
    pub fn edit_message(&self, id: String, text: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "message")?;
        self.with(|c| c.edit_message(id, text)).map(|id| id.to_string())
    }

    /// Deletes one of the young person's messages: « Message supprimé » shows in its place.
    pub fn delete_message(&self, id: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "message")?;
        self.with(|c| c.delete_message(id)).map(|id| id.to_string())
    }

    /// Marks every message read.
    pub fn mark_messages_read(&self) -> Result<(), MobileError> {
        self.with(|c| c.mark_messages_read())
    }

    /// A page of messages, newest first: at most `limit` (1–200) older than the message `before`
    /// (the last one of the previous page), or the newest ones.
    pub fn messages(&self, before: Option<String>, limit: u32) -> Result<Vec<Message>, MobileError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(MobileError::invalid("une page compte de 1 à 200 messages"));
        }
        let before = before.map(|b| parse_uuid(&b, "message")).transpose()?;
        self.with(|c| c.messages(before, limit as usize)).map(crate::types::list)
    }

    /// Messages from the advisers not read yet.
    pub fn unread_messages(&self) -> Result<u64, MobileError> {
        self.with(|c| c.unread_messages()).map(|n| n as u64)
    }

    /// The « message important », when it shows today.
    pub fn important_message(&self) -> Result<Option<ImportantMessage>, MobileError> {
        self.with(|c| c.important_message()).map(|i| i.map(Into::into))
    }
}
