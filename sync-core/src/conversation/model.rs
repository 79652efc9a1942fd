//! The typed conversation: messages, read markers, the « message important ».

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::{fields, root};
use crate::model::{FieldReader, Notice, Person, SchemaError, closed_enum, date_node, instant_node, parse_instant};
use crate::node::Node;

closed_enum!(
    /// Who speaks: a participant, or the service itself (« Votre conseiller est désormais … »).
    MessageKind {
        Message => "message",
        System => "system",
    }
);

closed_enum!(
    /// What of the plan a message may point to.
    ReferenceKind {
        Action => "action",
        Appointment => "appointment",
        Task => "task",
    }
);

/// An action, an appointment or a task of the young person's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reference {
    pub kind: ReferenceKind,
    pub id: Uuid,
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: Uuid,
    pub author: Person,
    pub sent_at: DateTime<Utc>,
    pub kind: MessageKind,
    /// `None` once deleted.
    pub text: Option<String>,
    pub reference: Option<Reference>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What a deleted message shows in place of its text.
pub const DELETED_TEXT: &str = "Message supprimé";

impl Message {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The text to show: the message's, or « Message supprimé ».
    pub fn shown_text(&self) -> &str {
        match (&self.text, self.is_deleted()) {
            (Some(text), false) => text,
            _ => DELETED_TEXT,
        }
    }

    /// The order of every replica: by `sent_at`, then by id.
    pub fn order_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.sent_at, self.id)
    }

    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        let reference = match node.field(fields::REFERENCE) {
            None => None,
            Some(n) => Some(Reference::from_node(n, &format!("{entity}/reference"))?),
        };
        let deleted_at = r.opt_instant(fields::DELETED_AT)?;
        // A deleted message has no text, even where an edit made concurrently with its deletion
        // wrote one back.
        let text = if deleted_at.is_some() { None } else { r.opt_string(fields::TEXT)? };
        Ok(Message {
            id: r.uuid(fields::ID)?,
            author: r.person(fields::AUTHOR)?,
            sent_at: r.instant(fields::SENT_AT)?,
            kind: r.enumerated(fields::KIND, MessageKind::parse)?,
            text,
            reference,
            edited_at: r.opt_instant(fields::EDITED_AT)?,
            deleted_at,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::AUTHOR, self.author.to_node())
            .with(fields::SENT_AT, instant_node(self.sent_at))
            .with(fields::KIND, Node::from(self.kind.as_str()))
            .with(fields::TEXT, self.text.as_deref().map(Node::from))
            .with(fields::REFERENCE, self.reference.map(|r| r.to_node()))
            .with(fields::EDITED_AT, self.edited_at.map(instant_node))
            .with(fields::DELETED_AT, self.deleted_at.map(instant_node))
    }
}

impl Reference {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        Ok(Reference { kind: r.enumerated(fields::KIND, ReferenceKind::parse)?, id: r.uuid(fields::ID)? })
    }

    pub fn to_node(self) -> Node {
        Node::map().with(fields::KIND, Node::from(self.kind.as_str())).with(fields::ID, Node::from(self.id.to_string()))
    }
}

/// The one pinned « message important » of an adviser, shown from `starts_on` to `ends_on`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Important {
    pub id: Uuid,
    pub author: Person,
    pub text: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// When it was pinned.
    pub at: DateTime<Utc>,
}

impl Important {
    /// Whether it shows on `day`.
    pub fn shows_on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }

    pub fn from_node(node: &Node) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, root::IMPORTANT.to_owned());
        let date = |field: &str| {
            r.opt_date(field)?.ok_or_else(|| SchemaError {
                entity: root::IMPORTANT.to_owned(),
                field: field.to_owned(),
                problem: "manquant".to_owned(),
            })
        };
        Ok(Important {
            id: r.uuid(fields::ID)?,
            author: r.person(fields::AUTHOR)?,
            text: r.string(fields::TEXT)?,
            starts_on: date(fields::STARTS_ON)?,
            ends_on: date(fields::ENDS_ON)?,
            at: r.instant(fields::AT)?,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::AUTHOR, self.author.to_node())
            .with(fields::TEXT, Node::from(self.text.as_str()))
            .with(fields::STARTS_ON, date_node(self.starts_on))
            .with(fields::ENDS_ON, date_node(self.ends_on))
            .with(fields::AT, instant_node(self.at))
    }
}

/// The whole conversation of one young person, as read from the document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub young_person_id: Option<Uuid>,
    /// Oldest first, by [`Message::order_key`].
    pub messages: Vec<Message>,
    /// Per participant, the `sent_at` of the last message they have read.
    pub read_markers: BTreeMap<Uuid, DateTime<Utc>>,
    pub important: Option<Important>,
    pub notices: Vec<Notice>,
    /// Entries that could not be read: left out above and reported here, never a panic.
    pub unreadable: Vec<SchemaError>,
}

impl Conversation {
    /// Reads a conversation from the root node of its document.
    pub fn from_root_node(node: &Node) -> Self {
        let mut out = Conversation {
            young_person_id: node.field(root::YOUNG_PERSON_ID).and_then(crate::model::parse_uuid),
            ..Conversation::default()
        };
        for (id, message) in node.field(root::MESSAGES).and_then(Node::as_map).into_iter().flatten() {
            match Message::from_node(message, &format!("{}/{id}", root::MESSAGES)) {
                Ok(m) => out.messages.push(m),
                Err(e) => out.unreadable.push(e),
            }
        }
        out.messages.sort_by_key(Message::order_key);
        for (user, at) in node.field(root::READ_MARKERS).and_then(Node::as_map).into_iter().flatten() {
            match (Uuid::parse_str(user), parse_instant(at)) {
                (Ok(user), Some(at)) => {
                    out.read_markers.insert(user, at);
                }
                _ => out.unreadable.push(SchemaError {
                    entity: format!("{}/{user}", root::READ_MARKERS),
                    field: root::READ_MARKERS.to_owned(),
                    problem: "n'est pas un instant RFC 3339".to_owned(),
                }),
            }
        }
        match node.field(root::IMPORTANT).map(Important::from_node) {
            Some(Ok(important)) => out.important = Some(important),
            Some(Err(e)) => out.unreadable.push(e),
            None => {}
        }
        for (id, notice) in node.field(root::NOTICES).and_then(Node::as_map).into_iter().flatten() {
            match Notice::from_node(notice, &format!("{}/{id}", root::NOTICES)) {
                Ok(n) => out.notices.push(n),
                Err(e) => out.unreadable.push(e),
            }
        }
        out.notices.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        out
    }

    pub fn message(&self, id: Uuid) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// The messages `user` has not read: sent by someone else, not deleted, after their marker.
    pub fn unread_for(&self, user: Uuid) -> usize {
        let marker = self.read_markers.get(&user).copied();
        self.messages
            .iter()
            .filter(|m| m.author.id != user && !m.is_deleted() && marker.is_none_or(|at| m.sent_at > at))
            .count()
    }

    /// A page of messages, newest first: at most `limit` of those strictly older than `before`
    /// (an order key from the previous page), or the newest ones.
    pub fn page(&self, before: Option<(DateTime<Utc>, Uuid)>, limit: usize) -> Vec<&Message> {
        let end = match before {
            Some(key) => self.messages.partition_point(|m| m.order_key() < key),
            None => self.messages.len(),
        };
        self.messages[..end].iter().rev().take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn message(at: &str, id: u128, author: Uuid) -> Message {
        Message {
            id: Uuid::from_u128(id),
            author: Person { id: author, role: Role::YoungPerson },
            sent_at: DateTime::parse_from_rfc3339(at).map(|d| d.with_timezone(&Utc)).expect("instant"),
            kind: MessageKind::Message,
            text: Some("Bonjour".into()),
            reference: Some(Reference { kind: ReferenceKind::Action, id: Uuid::from_u128(9) }),
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn a_message_round_trips_through_its_node() {
        let m = message("2026-12-01T10:00:00.000Z", 1, Uuid::from_u128(7));
        assert_eq!(Message::from_node(&m.to_node(), "m"), Ok(m));
    }

    #[test]
    fn messages_sort_by_sent_at_then_id_and_page_newest_first() {
        let me = Uuid::from_u128(7);
        let root = Node::map().with(
            root::MESSAGES,
            Node::map()
                .with("b", message("2026-12-01T10:00:00.000Z", 2, me).to_node())
                .with("a", message("2026-12-01T10:00:00.000Z", 1, me).to_node())
                .with("c", message("2026-12-01T09:00:00.000Z", 3, me).to_node()),
        );
        let c = Conversation::from_root_node(&root);
        let ids: Vec<u128> = c.messages.iter().map(|m| m.id.as_u128()).collect();
        assert_eq!(ids, [3, 1, 2]);
        let first: Vec<u128> = c.page(None, 2).iter().map(|m| m.id.as_u128()).collect();
        assert_eq!(first, [2, 1]);
        let next: Vec<u128> = c.page(Some(c.messages[1].order_key()), 2).iter().map(|m| m.id.as_u128()).collect();
        assert_eq!(next, [3]);
    }

    #[test]
    fn unread_counts_others_messages_after_the_marker() {
        let (me, other) = (Uuid::from_u128(7), Uuid::from_u128(8));
        let mut c = Conversation {
            messages: vec![
                message("2026-12-01T09:00:00.000Z", 1, other),
                message("2026-12-01T10:00:00.000Z", 2, me),
                message("2026-12-01T11:00:00.000Z", 3, other),
            ],
            ..Conversation::default()
        };
        assert_eq!(c.unread_for(me), 2);
        c.read_markers.insert(me, c.messages[0].sent_at);
        assert_eq!(c.unread_for(me), 1);
        c.messages[2].deleted_at = Some(c.messages[2].sent_at);
        assert_eq!(c.unread_for(me), 0);
    }
}
