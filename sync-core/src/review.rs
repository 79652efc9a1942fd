//! Accept, then compensate: review a merged batch against the rulebook and undo what it refuses.
//!
//! A CRDT change cannot be refused without forking its author's history, so the server merges what
//! it receives, then [`review`]s every effect between the heads before and after the merge, and
//! [`compensate`]s: one server-authored change restores exactly the refused fields (and adds a
//! notice for the author). Everything allowed is kept.

use std::collections::BTreeSet;

use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::document::{DocumentError, PlanDocument};
use crate::effects::{Target, Touched};
use crate::events::{DomainEvent, EventKind, entity_events, notice_reasons};
use crate::model::{Notice, Person, parse_uuid};
use crate::node::Node;
use crate::rules::{Author, Reason, RuleContext, Verdict, check_entity, check_root};
use crate::schema::{Collection, fields};

/// The outcome of reviewing one batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Review {
    /// Every effect of the batch, allowed or refused.
    pub verdicts: Vec<Verdict>,
    /// The events of what was kept (refused effects produce none).
    pub events: Vec<DomainEvent>,
    /// What the batch touched (the compensation writes only there, plus a notice).
    pub touched: Touched,
}

impl Review {
    pub fn refusals(&self) -> impl Iterator<Item = (&Target, &Reason)> {
        self.verdicts.iter().filter_map(|v| v.refusal.as_ref().map(|r| (&v.effect.target, r)))
    }

    /// What compensation must write back: each refused target and the value it had before.
    pub fn corrections(&self) -> impl Iterator<Item = (&Target, Option<&Node>)> {
        self.verdicts.iter().filter(|v| !v.is_allowed()).map(|v| (&v.effect.target, v.effect.before.as_ref()))
    }

    pub fn is_clean(&self) -> bool {
        self.verdicts.iter().all(Verdict::is_allowed)
    }

    pub fn allowed(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.is_allowed())
    }
}

/// The review of one entity, settled: reverting the refused effects may make other effects
/// invalid (a kept field that relied on a reverted one), so checking repeats until nothing more is
/// refused. Each round only turns values back to what they were before, so it always ends.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityReview {
    /// Refused first (each with the value to restore in `effect.before`), then allowed.
    pub verdicts: Vec<Verdict>,
    /// The entity as it stands once corrected.
    pub corrected: Option<Node>,
}

pub fn settle_entity(
    ctx: &RuleContext,
    author: &Author,
    collection: Collection,
    id: &str,
    before: Option<&Node>,
    after: Option<&Node>,
) -> EntityReview {
    let mut current = after.cloned();
    let mut refused: Vec<Verdict> = Vec::new();
    loop {
        let verdicts = check_entity(ctx, author, collection, id, before, current.as_ref());
        let (allowed, newly_refused): (Vec<_>, Vec<_>) = verdicts.into_iter().partition(Verdict::is_allowed);
        if newly_refused.is_empty() {
            let mut verdicts = refused;
            verdicts.extend(allowed);
            return EntityReview { verdicts, corrected: current };
        }
        for verdict in newly_refused {
            current = revert(current, &verdict.effect.target, verdict.effect.before.as_ref());
            refused.push(verdict);
        }
    }
}

/// `entity` with `target` set back to `value`.
fn revert(entity: Option<Node>, target: &Target, value: Option<&Node>) -> Option<Node> {
    match target {
        Target::Root { .. } | Target::Entity { .. } => value.cloned(),
        Target::Field { field, .. } => entity.map(|e| e.with(field, value.cloned())),
        Target::Comment { comment_id, .. } => entity.map(|e| {
            let comments =
                e.field(fields::COMMENTS).filter(|c| c.as_map().is_some()).cloned().unwrap_or_else(Node::map);
            e.with(fields::COMMENTS, comments.with(comment_id, value.cloned()))
        }),
    }
}

/// Reviews every effect between `before` and the document's current heads, as written by `author`.
pub fn review(doc: &mut PlanDocument, before: &[ChangeHash], author: &Author, now: DateTime<Utc>) -> Review {
    let after = doc.heads();
    let touched = Touched::from_patches(&doc.automerge_mut().diff(before, &after));
    let mut out = Review { touched: touched.clone(), ..Review::default() };
    // The owner as it was before the batch: a batch cannot make itself the owner.
    let owner = doc.root_value(crate::schema::root::YOUNG_PERSON_ID, Some(before)).as_ref().and_then(parse_uuid);
    let ctx = RuleContext { young_person_id: owner, now };
    let by = author.person();

    for key in &touched.root_keys {
        let verdict =
            check_root(author, key, doc.root_value(key, Some(before)).as_ref(), doc.root_value(key, None).as_ref());
        out.verdicts.extend(verdict);
    }
    let mut entities: BTreeSet<(Collection, String)> = touched.entities;
    for collection in touched.whole_collections {
        let (b, a) = (doc.root_value(collection.key(), Some(before)), doc.root_value(collection.key(), None));
        if a.as_ref().and_then(Node::as_map).is_none() || b.as_ref().and_then(Node::as_map).is_none() {
            // The collection itself was replaced or removed: only the server may do that.
            out.verdicts.extend(check_root(author, collection.key(), b.as_ref(), a.as_ref()));
            continue;
        }
        for id in doc.entity_ids(collection, Some(before)).into_iter().chain(doc.entity_ids(collection, None)) {
            entities.insert((collection, id));
        }
    }
    for (collection, id) in entities {
        let (b, a) = (doc.entity_node(collection, &id, Some(before)), doc.entity_node(collection, &id, None));
        let settled = settle_entity(&ctx, author, collection, &id, b.as_ref(), a.as_ref());
        out.events.extend(
            entity_events(collection, &id, b.as_ref(), settled.corrected.as_ref())
                .into_iter()
                .map(|kind| DomainEvent::new(ctx.young_person_id, by.clone(), kind)),
        );
        out.verdicts.extend(settled.verdicts);
    }
    out
}

/// What [`compensate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Compensation {
    pub change: Option<ChangeHash>,
    pub notice: Notice,
    pub event: DomainEvent,
}

/// Writes the review's corrections, plus a notice for the author, as one change by the current
/// actor of `doc` (the server's). Nothing is written when the review is clean.
pub fn compensate(
    doc: &mut PlanDocument,
    review: &Review,
    author: &Author,
    now: DateTime<Utc>,
) -> Result<Option<Compensation>, DocumentError> {
    if review.is_clean() {
        return Ok(None);
    }
    // Root keys first: a collection put back must exist before entities are written into it.
    let mut corrections: Vec<(&Target, Option<&Node>)> = review.corrections().collect();
    corrections.sort_by_key(|(target, _)| !matches!(target, Target::Root { .. }));
    let result = (|| {
        for (target, value) in &corrections {
            doc.write_target(target, *value)?;
        }
        let refusals: Vec<(Target, Reason)> = review.refusals().map(|(t, r)| (t.clone(), r.clone())).collect();
        let notice =
            Notice { id: Uuid::new_v4(), for_user: author.user_id, at: now, reasons: notice_reasons(&refusals) };
        doc.write_target(
            &Target::Entity { collection: Collection::Notices, id: notice.id.to_string() },
            Some(&notice.to_node()),
        )?;
        Ok::<_, DocumentError>(notice)
    })();
    let notice = match result {
        Ok(notice) => notice,
        Err(e) => {
            doc.rollback();
            return Err(e);
        }
    };
    let change = doc.commit("compensation", now);
    let event = DomainEvent::new(
        doc.young_person_id(),
        Person { id: author.user_id, role: author.role },
        EventKind::EditsUndone { notice_id: notice.id, reasons: notice.reasons.clone() },
    );
    Ok(Some(Compensation { change, notice, event }))
}
