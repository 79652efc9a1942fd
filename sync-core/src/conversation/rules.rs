//! The conversation's rulebook: who may write what, as pure functions over [`Node`]s.
//!
//! The young person and every adviser who follows them (portfolio or temporary transfer) take
//! part; supervisors and admins who do not follow them see nothing. Each participant sends
//! messages as themselves, edits and deletes only their own, and moves only their own read
//! marker; only an adviser pins the « message important »; only the server writes system
//! messages, notices and the root. No instant may lie in the future beyond
//! [`limits::CLOCK_SKEW_SECONDS`].

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::model::{Important, Message, MessageKind};
use super::schema::{fields, limits, root};
use crate::model::{Notice, parse_instant};
use crate::node::Node;
use crate::rules::{Author, Capacity, Reason, RuleContext, text};

/// Where an effect lands. Ordered so that effects come out in a stable order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A root key (`schema`, `kind`, `young_person_id`, a root map replaced, an unknown key).
    Root { key: String },
    /// A whole message: sent, erased, or replaced by something that is not a map.
    Message { id: String },
    /// One field of an existing message (`reference` counts as one field).
    MessageField { id: String, field: String },
    /// The read marker of one participant (keyed by their user id).
    ReadMarker { user: String },
    /// The « message important », as a whole.
    Important,
    /// A notice of undone edits (only the server writes them).
    Notice { id: String },
}

/// One effect: the value at `target` went from `before` to `after` (`None`: absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    pub target: Target,
    pub before: Option<Node>,
    pub after: Option<Node>,
}

/// The verdict on one effect.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub effect: Effect,
    pub refusal: Option<Reason>,
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        self.refusal.is_none()
    }
}

fn present(node: Option<&Node>) -> Option<&Node> {
    node.filter(|n| !n.is_null())
}

/// The effects on one message between two versions of it: the whole message when it appears,
/// disappears or is not a map on either side, else one effect per field that differs.
pub fn diff_message(id: &str, before: Option<&Node>, after: Option<&Node>) -> Vec<Effect> {
    let (b, a) = match (present(before), present(after)) {
        (None, None) => return Vec::new(),
        (Some(b), Some(a)) if b.as_map().is_some() && a.as_map().is_some() => (b, a),
        (b, a) if b == a => return Vec::new(),
        (b, a) => {
            return vec![Effect {
                target: Target::Message { id: id.to_owned() },
                before: b.cloned(),
                after: a.cloned(),
            }];
        }
    };
    let keys: BTreeSet<&String> = b.as_map().into_iter().chain(a.as_map()).flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .filter(|key| b.field(key) != a.field(key))
        .map(|key| Effect {
            target: Target::MessageField { id: id.to_owned(), field: key.clone() },
            before: b.field(key).cloned(),
            after: a.field(key).cloned(),
        })
        .collect()
}

/// The effect at a single-valued target, or nothing when it did not change.
pub fn diff_value(target: Target, before: Option<&Node>, after: Option<&Node>) -> Option<Effect> {
    let (b, a) = (present(before), present(after));
    (b != a).then(|| Effect { target, before: b.cloned(), after: a.cloned() })
}

/// Checks one effect. For an effect on a message, `message_before` and `message_after` are the
/// whole message before and after (the checks of one field read the others).
pub fn check(
    ctx: &RuleContext,
    author: &Author,
    effect: &Effect,
    message_before: Option<&Node>,
    message_after: Option<&Node>,
) -> Result<(), Reason> {
    let check = Check { ctx, author };
    let capacity = author.capacity(ctx.young_person_id);
    if matches!(capacity, Capacity::None | Capacity::Reader) {
        return Err(Reason::NoAccess);
    }
    let after = present(effect.after.as_ref());
    match &effect.target {
        Target::Root { key } => check.root(key, after),
        Target::Notice { .. } => match (capacity, after) {
            (Capacity::System, Some(notice)) => {
                Notice::from_node(notice, root::NOTICES).map(|_| ()).map_err(|_| invalid(root::NOTICES))
            }
            (Capacity::System, None) => Ok(()),
            _ => Err(Reason::NotAllowed { field: root::NOTICES.to_owned() }),
        },
        Target::Important => {
            if !matches!(capacity, Capacity::Adviser | Capacity::System) {
                return Err(Reason::NotAllowed { field: root::IMPORTANT.to_owned() });
            }
            after.map_or(Ok(()), |node| check.important(node))
        }
        Target::ReadMarker { user } => {
            if *user != author.user_id.to_string() {
                return Err(Reason::WrongAuthor);
            }
            let at = after.and_then(parse_instant).ok_or_else(|| invalid(root::READ_MARKERS))?;
            check.not_in_future(root::READ_MARKERS, at)
        }
        Target::Message { id } => match (present(effect.before.as_ref()), after) {
            (None, Some(message)) => check.new_message(id, message),
            (Some(_), None) => Err(Reason::NotErasable),
            _ => Err(invalid(root::MESSAGES)),
        },
        Target::MessageField { field, .. } => {
            let (Some(before), Some(after_message)) = (present(message_before), present(message_after)) else {
                return Err(invalid(root::MESSAGES));
            };
            check.message_field(field, after, before, after_message)
        }
    }
}

fn invalid(field: &str) -> Reason {
    Reason::Invalid { field: field.to_owned() }
}

struct Check<'a> {
    ctx: &'a RuleContext,
    author: &'a Author,
}

impl Check<'_> {
    fn not_in_future(&self, field: &str, at: DateTime<Utc>) -> Result<(), Reason> {
        if at > self.ctx.now + Duration::seconds(limits::CLOCK_SKEW_SECONDS) {
            return Err(Reason::InFuture { field: field.to_owned() });
        }
        Ok(())
    }

    /// Only the server writes the root; the maps stay maps, the schema a number.
    fn root(&self, key: &str, after: Option<&Node>) -> Result<(), Reason> {
        if self.author.role != crate::model::Role::System {
            return Err(Reason::NotAllowed { field: key.to_owned() });
        }
        let valid = match key {
            root::SCHEMA => after.and_then(Node::as_i64).is_some(),
            root::MESSAGES | root::READ_MARKERS | root::NOTICES => after.and_then(Node::as_map).is_some(),
            _ => true,
        };
        if valid { Ok(()) } else { Err(invalid(key)) }
    }

    fn known_fields(&self, node: &Node, known: &[&str]) -> Result<(), Reason> {
        let map = node.as_map().ok_or_else(|| invalid(root::MESSAGES))?;
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(extra) => Err(Reason::UnknownField { field: extra.clone() }),
            None => Ok(()),
        }
    }

    fn new_message(&self, id: &str, node: &Node) -> Result<(), Reason> {
        self.known_fields(node, &fields::MESSAGE)?;
        let message = Message::from_node(node, root::MESSAGES).map_err(|e| {
            if e.problem == "manquant" {
                Reason::Missing { field: e.field }
            } else {
                Reason::Invalid { field: e.field }
            }
        })?;
        if message.id.to_string() != id {
            return Err(invalid(fields::ID));
        }
        if message.author != self.author.person() {
            return Err(Reason::WrongAuthor);
        }
        let expected_kind =
            if self.author.role == crate::model::Role::System { MessageKind::System } else { MessageKind::Message };
        if message.kind != expected_kind {
            return Err(invalid(fields::KIND));
        }
        self.not_in_future(fields::SENT_AT, message.sent_at)?;
        for (field, at) in [(fields::EDITED_AT, message.edited_at), (fields::DELETED_AT, message.deleted_at)] {
            if let Some(at) = at {
                self.after_sending(field, &message, at)?;
            }
        }
        if message.is_deleted() {
            if node.field(fields::TEXT).is_some() {
                return Err(invalid(fields::TEXT));
            }
            return Ok(());
        }
        text(fields::TEXT, node.field(fields::TEXT), true, limits::TEXT)
    }

    /// An edit's or a deletion's instant: after the sending, not in the future.
    fn after_sending(&self, field: &str, message: &Message, at: DateTime<Utc>) -> Result<(), Reason> {
        if at < message.sent_at {
            return Err(invalid(field));
        }
        self.not_in_future(field, at)
    }

    fn message_field(&self, field: &str, value: Option<&Node>, before: &Node, after: &Node) -> Result<(), Reason> {
        if !fields::MESSAGE.contains(&field) {
            return Err(Reason::UnknownField { field: field.to_owned() });
        }
        let message = Message::from_node(before, root::MESSAGES).map_err(|_| invalid(root::MESSAGES))?;
        if message.author.id != self.author.user_id || message.author.role != self.author.role {
            return Err(Reason::NotAuthor);
        }
        if message.kind == MessageKind::System || fields::MESSAGE_FIXED.contains(&field) {
            return Err(Reason::Immutable { field: field.to_owned() });
        }
        if message.is_deleted() {
            return Err(Reason::MessageDeleted);
        }
        let deleted_after = after.field(fields::DELETED_AT).is_some();
        match field {
            fields::TEXT => match value {
                Some(_) if deleted_after => Err(invalid(fields::TEXT)),
                Some(_) if after.field(fields::EDITED_AT).is_none() => {
                    Err(Reason::Missing { field: fields::EDITED_AT.to_owned() })
                }
                Some(_) => text(fields::TEXT, value, true, limits::TEXT),
                None if deleted_after => Ok(()),
                None => Err(Reason::Missing { field: fields::TEXT.to_owned() }),
            },
            fields::EDITED_AT | fields::DELETED_AT => {
                let at = value.and_then(parse_instant).ok_or_else(|| invalid(field))?;
                // A deletion stands even beside a text written back by a concurrent edit: the
                // message reads as deleted (see `Message::from_node`).
                self.after_sending(field, &message, at)
            }
            _ => Err(Reason::UnknownField { field: field.to_owned() }),
        }
    }

    fn important(&self, node: &Node) -> Result<(), Reason> {
        let field = || root::IMPORTANT.to_owned();
        self.known_fields(node, &fields::IMPORTANT)?;
        let important = Important::from_node(node).map_err(|e| {
            if e.problem == "manquant" {
                Reason::Missing { field: e.field }
            } else {
                Reason::Invalid { field: field() }
            }
        })?;
        if important.author != self.author.person() {
            return Err(Reason::WrongAuthor);
        }
        if important.ends_on < important.starts_on
            || (important.ends_on - important.starts_on).num_days() > limits::IMPORTANT_DAYS
        {
            return Err(Reason::BadPeriod);
        }
        self.not_in_future(fields::AT, important.at)?;
        text(fields::TEXT, node.field(fields::TEXT), true, limits::TEXT)
    }
}

/// Every effect of one message's step `before` → `after`, settled: the refused ones are put back
/// one round after another until what is left is allowed (a kept field never relies on a field put
/// back). Returns the verdicts (refused first, with the value to restore in `effect.before`) and
/// the message as kept.
pub fn settle_message(
    ctx: &RuleContext,
    author: &Author,
    id: &str,
    before: Option<&Node>,
    after: Option<&Node>,
) -> (Vec<Verdict>, Option<Node>) {
    let mut current = present(after).cloned();
    let mut refused: Vec<Verdict> = Vec::new();
    loop {
        let verdicts: Vec<Verdict> = diff_message(id, before, current.as_ref())
            .into_iter()
            .map(|effect| {
                let refusal = check(ctx, author, &effect, before, current.as_ref()).err();
                Verdict { effect, refusal }
            })
            .collect();
        if verdicts.iter().all(Verdict::is_allowed) {
            refused.extend(verdicts);
            return (refused, current);
        }
        for verdict in verdicts.into_iter().filter(|v| !v.is_allowed()) {
            current = match &verdict.effect.target {
                Target::MessageField { field, .. } => current.map(|m| m.with(field, verdict.effect.before.clone())),
                _ => verdict.effect.before.clone(),
            };
            refused.push(verdict);
        }
    }
}
