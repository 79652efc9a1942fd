//! Accept, then compensate, for conversations: the server merges a participant's batch, reviews
//! every effect between the heads before and after, and one server-authored change puts back
//! exactly what the rulebook refuses, with a notice for the author.
//!
//! Messages are reviewed as one step from before to after the batch: each message has one author,
//! who alone may change it, so no allowed edit of a message depends on another author's change in
//! the same batch.

use std::collections::BTreeSet;

use automerge::{ChangeHash, Patch, PatchAction, Prop};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::document::ConversationDocument;
use super::model::Message;
use super::rules::{Effect, Target, Verdict, check, diff_value, settle_message};
use super::schema::root;
use crate::document::DocumentError;
use crate::events::{DomainEvent, EventKind};
use crate::model::{Notice, Person, parse_uuid};
use crate::node::Node;
use crate::rules::{Author, RuleContext};

/// What a batch touched, read from Automerge's patches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub root_keys: BTreeSet<String>,
    pub messages: BTreeSet<String>,
    pub read_markers: BTreeSet<String>,
    pub notices: BTreeSet<String>,
    pub important: bool,
}

impl Touched {
    pub fn from_patches(patches: &[Patch]) -> Self {
        let mut touched = Touched::default();
        for patch in patches {
            let action_key = match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key.clone()),
                PatchAction::Conflict { prop: Prop::Map(key) } => Some(key.clone()),
                _ => None,
            };
            let (root_key, entry) = match (patch.path.first(), patch.path.get(1)) {
                (None, _) => (action_key, None),
                (Some((_, Prop::Map(key))), Some((_, Prop::Map(entry)))) => (Some(key.clone()), Some(entry.clone())),
                (Some((_, Prop::Map(key))), None) => (Some(key.clone()), action_key),
                (Some((_, Prop::Map(key))), Some((_, Prop::Seq(_)))) => (Some(key.clone()), None),
                (Some((_, Prop::Seq(_))), _) => (None, None),
            };
            let Some(root_key) = root_key else { continue };
            let at_root = patch.path.is_empty();
            match (root_key.as_str(), entry) {
                (root::IMPORTANT, _) => touched.important = true,
                (root::MESSAGES, Some(id)) if !at_root => {
                    touched.messages.insert(id);
                }
                (root::READ_MARKERS, Some(user)) if !at_root => {
                    touched.read_markers.insert(user);
                }
                (root::NOTICES, Some(id)) if !at_root => {
                    touched.notices.insert(id);
                }
                _ => {
                    touched.root_keys.insert(root_key);
                }
            }
        }
        touched
    }
}

/// The outcome of reviewing one batch of a conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationReview {
    /// Every effect of the batch, allowed or refused.
    pub verdicts: Vec<Verdict>,
    /// The events of what was kept: messages sent, edited, deleted.
    pub events: Vec<DomainEvent>,
    pub touched: Touched,
}

impl ConversationReview {
    pub fn is_clean(&self) -> bool {
        self.verdicts.iter().all(Verdict::is_allowed)
    }

    pub fn refusals(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.is_allowed())
    }
}

/// Reviews every effect between `before` and the document's current heads, as written by `author`.
pub fn review(
    doc: &mut ConversationDocument,
    before: &[ChangeHash],
    author: &Author,
    now: DateTime<Utc>,
) -> ConversationReview {
    let after = doc.heads();
    let touched = Touched::from_patches(&doc.automerge_mut().diff(before, &after));
    // The owner as it was before the batch: a batch cannot make itself the owner.
    let owner = doc.root_value(root::YOUNG_PERSON_ID, Some(before)).as_ref().and_then(parse_uuid);
    let ctx = RuleContext { young_person_id: owner, now };
    let mut out = ConversationReview { touched: touched.clone(), ..ConversationReview::default() };
    let mut single = |target: Target, before: Option<Node>, after: Option<Node>| {
        if let Some(effect) = diff_value(target, before.as_ref(), after.as_ref()) {
            let refusal = check(&ctx, author, &effect, None, None).err();
            out.verdicts.push(Verdict { effect, refusal });
        }
    };
    for key in &touched.root_keys {
        single(Target::Root { key: key.clone() }, doc.root_value(key, Some(before)), doc.root_value(key, None));
    }
    if touched.important {
        single(Target::Important, doc.root_value(root::IMPORTANT, Some(before)), doc.root_value(root::IMPORTANT, None));
    }
    for user in &touched.read_markers {
        let (b, a) = (doc.entry(root::READ_MARKERS, user, Some(before)), doc.entry(root::READ_MARKERS, user, None));
        single(Target::ReadMarker { user: user.clone() }, b, a);
    }
    for id in &touched.notices {
        let (b, a) = (doc.entry(root::NOTICES, id, Some(before)), doc.entry(root::NOTICES, id, None));
        single(Target::Notice { id: id.clone() }, b, a);
    }
    for id in &touched.messages {
        let b = doc.entry(root::MESSAGES, id, Some(before));
        let a = doc.entry(root::MESSAGES, id, None);
        let (verdicts, kept) = settle_message(&ctx, author, id, b.as_ref(), a.as_ref());
        out.events.extend(
            message_events(b.as_ref(), kept.as_ref())
                .into_iter()
                .map(|kind| DomainEvent::new(owner, author.person(), kind)),
        );
        out.verdicts.extend(verdicts);
    }
    out
}

/// The events of one message's change.
pub fn message_events(before: Option<&Node>, after: Option<&Node>) -> Vec<EventKind> {
    let read = |n: Option<&Node>| n.and_then(|n| Message::from_node(n, root::MESSAGES).ok());
    let (b, Some(a)) = (read(before), read(after)) else {
        return Vec::new();
    };
    match b {
        None if !a.is_deleted() => vec![EventKind::MessageSent { message_id: a.id, sent_at: a.sent_at }],
        None => Vec::new(),
        Some(b) if a.is_deleted() && !b.is_deleted() => vec![EventKind::MessageDeleted { message_id: a.id }],
        Some(b) if a.text != b.text && !a.is_deleted() => {
            vec![EventKind::MessageEdited { message_id: a.id, at: a.edited_at.unwrap_or(a.sent_at) }]
        }
        Some(_) => Vec::new(),
    }
}

/// What [`compensate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Compensation {
    pub change: Option<ChangeHash>,
    pub notice: Notice,
    pub event: DomainEvent,
}

/// Writes back every refused target's value from before the batch, plus a notice for the author,
/// as one change by the current actor of `doc` (the server's). Nothing when the review is clean.
pub fn compensate(
    doc: &mut ConversationDocument,
    review: &ConversationReview,
    author: &Author,
    now: DateTime<Utc>,
) -> Result<Option<Compensation>, DocumentError> {
    if review.is_clean() {
        return Ok(None);
    }
    // Root keys first (a map put back before its entries), then whole messages before their fields.
    let mut corrections: Vec<&Effect> = review.refusals().map(|v| &v.effect).collect();
    corrections.sort_by_key(|e| match e.target {
        Target::Root { .. } => 0,
        Target::Message { .. } => 1,
        _ => 2,
    });
    let reasons: Vec<String> = review
        .refusals()
        .filter_map(|v| v.refusal.as_ref().map(|reason| format!("{} : {reason}", target_label(&v.effect.target))))
        .collect();
    let notice = Notice { id: Uuid::new_v4(), for_user: author.user_id, at: now, reasons };
    let written = (|| {
        // A field effect only comes from a message present before and after the batch (a sending
        // or an erasure is one `Message` effect), so each field goes back into a message that is there.
        for effect in &corrections {
            doc.write_target(&effect.target, effect.before.as_ref())?;
        }
        doc.write_target(&Target::Notice { id: notice.id.to_string() }, Some(&notice.to_node()))
    })();
    if let Err(e) = written {
        doc.rollback();
        return Err(e);
    }
    let change = doc.commit("compensation", now);
    let event = DomainEvent::new(
        doc.young_person_id(),
        Person { id: author.user_id, role: author.role },
        EventKind::EditsUndone { notice_id: notice.id, reasons: notice.reasons.clone() },
    );
    Ok(Some(Compensation { change, notice, event }))
}

fn target_label(target: &Target) -> &'static str {
    match target {
        Target::Message { .. } | Target::MessageField { .. } => "Message",
        Target::ReadMarker { .. } => "Lecture",
        Target::Important => "Message important",
        Target::Root { .. } | Target::Notice { .. } => "Conversation",
    }
}
