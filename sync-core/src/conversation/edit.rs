//! The typed edit API of a conversation: send, edit, delete, mark read, pin. Every edit is checked
//! by the conversation's rulebook before anything is committed; a refused edit leaves the document
//! untouched and says why.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::document::ConversationDocument;
use super::model::{Important, Message, MessageKind, Reference};
use super::review::message_events;
use super::rules::{Effect, Target, check, diff_message, diff_value};
use super::schema::{fields, root};
use crate::edit::{EditError, EditOutcome};
use crate::events::DomainEvent;
use crate::model::instant_node;
use crate::node::Node;
use crate::rules::{Author, Reason, RuleContext};

/// A message to send.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Made by the sender, so that a retried send never duplicates.
    pub id: Option<Uuid>,
    pub text: String,
    pub reference: Option<Reference>,
}

/// A « message important » to pin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewImportant {
    pub text: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl ConversationDocument {
    /// Checks `effects` and commits them as one change when every one is allowed.
    fn commit_effects(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        effects: Vec<Effect>,
        message: (Option<&Node>, Option<&Node>),
        summary: &str,
    ) -> Result<EditOutcome, EditError> {
        let ctx = RuleContext { young_person_id: self.young_person_id(), now };
        let refusals: Vec<Reason> =
            effects.iter().filter_map(|e| check(&ctx, author, e, message.0, message.1).err()).collect();
        if !refusals.is_empty() {
            return Err(EditError::Refused(refusals));
        }
        if effects.is_empty() {
            return Ok(EditOutcome { id, change: None, events: Vec::new() });
        }
        let written = effects.iter().try_for_each(|e| self.write_target(&e.target, e.after.as_ref()));
        if let Err(e) = written {
            self.rollback();
            return Err(e.into());
        }
        let change = self.commit(summary, now);
        let events = message_events(message.0, message.1)
            .into_iter()
            .map(|kind| DomainEvent::new(ctx.young_person_id, author.person(), kind))
            .collect();
        Ok(EditOutcome { id, change, events })
    }

    /// Writes a whole new message, unless one with this id exists already (a retried send).
    fn send(&mut self, author: &Author, now: DateTime<Utc>, message: Message) -> Result<EditOutcome, EditError> {
        let key = message.id.to_string();
        if self.entry(root::MESSAGES, &key, None).is_some() {
            return Ok(EditOutcome { id: message.id, change: None, events: Vec::new() });
        }
        let node = message.to_node();
        let effects = diff_message(&key, None, Some(&node));
        self.commit_effects(author, now, message.id, effects, (None, Some(&node)), "message")
    }

    /// Sends a message as `author`, at `now`.
    pub fn send_message(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        new: NewMessage,
    ) -> Result<EditOutcome, EditError> {
        let message = Message {
            id: new.id.unwrap_or_else(Uuid::new_v4),
            author: author.person(),
            sent_at: now,
            kind: MessageKind::Message,
            text: Some(new.text),
            reference: new.reference,
            edited_at: None,
            deleted_at: None,
        };
        self.send(author, now, message)
    }

    /// The server's own message (« Votre conseiller est désormais … »), with an id the caller
    /// derives from what it announces, so that posting it again changes nothing.
    pub fn post_system_message(&mut self, id: Uuid, now: DateTime<Utc>, text: &str) -> Result<EditOutcome, EditError> {
        let author = Author::system();
        let message = Message {
            id,
            author: author.person(),
            sent_at: now,
            kind: MessageKind::System,
            text: Some(text.to_owned()),
            reference: None,
            edited_at: None,
            deleted_at: None,
        };
        self.send(&author, now, message)
    }

    /// Changes one existing message's fields with `update`.
    fn update_message(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        summary: &str,
        update: impl FnOnce(Node) -> Node,
    ) -> Result<EditOutcome, EditError> {
        let key = id.to_string();
        let before =
            self.entry(root::MESSAGES, &key, None).ok_or_else(|| EditError::NotFound(format!("message {id}")))?;
        let after = update(before.clone());
        let effects = diff_message(&key, Some(&before), Some(&after));
        self.commit_effects(author, now, id, effects, (Some(&before), Some(&after)), summary)
    }

    /// Replaces the text of one's own message; it then says it was edited.
    pub fn edit_message(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        text: &str,
    ) -> Result<EditOutcome, EditError> {
        self.update_message(author, now, id, "edit message", |m| {
            m.with(fields::TEXT, Node::from(text)).with(fields::EDITED_AT, instant_node(now))
        })
    }

    /// Deletes one's own message: its text goes, « Message supprimé » shows in its place.
    pub fn delete_message(&mut self, author: &Author, now: DateTime<Utc>, id: Uuid) -> Result<EditOutcome, EditError> {
        self.update_message(author, now, id, "delete message", |m| {
            m.with(fields::TEXT, None).with(fields::DELETED_AT, instant_node(now))
        })
    }

    /// Moves `author`'s read marker to `until` (the `sent_at` of the last message read); a marker
    /// never moves back.
    pub fn mark_read(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<EditOutcome, EditError> {
        let user = author.user_id.to_string();
        let before = self.entry(root::READ_MARKERS, &user, None);
        let current = before.as_ref().and_then(crate::model::parse_instant);
        let effects = match current {
            Some(at) if at >= until => Vec::new(),
            _ => diff_value(Target::ReadMarker { user }, before.as_ref(), Some(&instant_node(until)))
                .into_iter()
                .collect(),
        };
        self.commit_effects(author, now, author.user_id, effects, (None, None), "read")
    }

    /// Marks every message read, up to the newest.
    pub fn mark_all_read(&mut self, author: &Author, now: DateTime<Utc>) -> Result<EditOutcome, EditError> {
        let newest = self.conversation().messages.last().map(|m| m.sent_at);
        match newest {
            Some(until) => self.mark_read(author, now, until),
            None => Ok(EditOutcome { id: author.user_id, change: None, events: Vec::new() }),
        }
    }

    /// Pins a « message important » (an adviser), replacing the one pinned before.
    pub fn pin_important(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        new: NewImportant,
    ) -> Result<EditOutcome, EditError> {
        let important = Important {
            id: Uuid::new_v4(),
            author: author.person(),
            text: new.text,
            starts_on: new.starts_on,
            ends_on: new.ends_on,
            at: now,
        };
        let before = self.root_value(root::IMPORTANT, None);
        let effects = diff_value(Target::Important, before.as_ref(), Some(&important.to_node())).into_iter().collect();
        self.commit_effects(author, now, important.id, effects, (None, None), "pin important")
    }

    /// Takes the « message important » down.
    pub fn unpin_important(&mut self, author: &Author, now: DateTime<Utc>) -> Result<EditOutcome, EditError> {
        let before = self.root_value(root::IMPORTANT, None);
        let id = before.as_ref().and_then(|n| Important::from_node(n).ok()).map_or(Uuid::nil(), |i| i.id);
        let effects = diff_value(Target::Important, before.as_ref(), None).into_iter().collect();
        self.commit_effects(author, now, id, effects, (None, None), "unpin important")
    }
}
