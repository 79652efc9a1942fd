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
use crate::effects::{Effect, Target, Touched, diff_entity};
use crate::events::{DomainEvent, EventKind, entity_events, notice_reasons};
use crate::model::{Notice, Person, parse_uuid};
use crate::node::Node;
use crate::rules::{Author, Reason, RuleContext, Verdict, check_root};
use crate::schema::Collection;
use crate::settle::apply_effects;
pub use crate::settle::{EntityReview, settle_entity};

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

/// At most this many historical reads of an entity (changes × touched entities) to replay a batch
/// change by change; a larger batch is reviewed as one step (still never keeping a refused effect,
/// but a refused later edit of a field then takes an allowed earlier one of the same batch with it).
pub const MAX_REPLAY_READS: usize = 20_000;

/// Reviews every effect between `before` and the document's current heads, as written by `author`.
///
/// The batch's changes are replayed in causal order on the entity as the review has kept it: each
/// change's effects are settled ([`settle_entity`]) against what the earlier changes kept, so an
/// allowed edit is judged as its author made it, whatever refused edits the same batch holds.
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
    let steps = intermediate_heads(doc, before, entities.len());
    for (collection, id) in entities {
        let b = doc.entity_node(collection, &id, Some(before));
        let a = doc.entity_node(collection, &id, None);
        let versions = steps.iter().map(|heads| doc.entity_node(collection, &id, Some(heads)));
        let settled = replay_entity(&ctx, author, collection, &id, b.as_ref(), versions.chain([a.clone()]));
        let kept = reviewed_verdicts(collection, &id, b.as_ref(), a.as_ref(), &settled);
        out.events.extend(
            entity_events(collection, &id, b.as_ref(), settled.corrected.as_ref())
                .into_iter()
                .map(|kind| DomainEvent::new(ctx.young_person_id, by.clone(), kind)),
        );
        out.verdicts.extend(kept);
    }
    out
}

/// The heads after each change of the batch but the last, in causal order (Automerge keeps its
/// history in the order changes were applied, which respects their dependencies). Empty when the
/// batch is one change, or too large to replay (see [`MAX_REPLAY_READS`]).
fn intermediate_heads(doc: &mut PlanDocument, before: &[ChangeHash], entities: usize) -> Vec<Vec<ChangeHash>> {
    let changes: Vec<(ChangeHash, Vec<ChangeHash>)> =
        doc.automerge_mut().get_changes_meta(before).iter().map(|c| (c.hash, c.deps.clone())).collect();
    if changes.len() <= 1 || changes.len().saturating_mul(entities) > MAX_REPLAY_READS {
        return Vec::new();
    }
    let mut heads: BTreeSet<ChangeHash> = before.iter().copied().collect();
    let mut out = Vec::with_capacity(changes.len() - 1);
    for (hash, deps) in &changes[..changes.len() - 1] {
        for dep in deps {
            heads.remove(dep);
        }
        heads.insert(*hash);
        out.push(heads.iter().copied().collect());
    }
    out
}

/// Replays the successive `versions` of one entity (as the document holds it after each change)
/// on what the review has kept so far, one settled step per change.
fn replay_entity(
    ctx: &RuleContext,
    author: &Author,
    collection: Collection,
    id: &str,
    before: Option<&Node>,
    versions: impl Iterator<Item = Option<Node>>,
) -> Replayed {
    let mut kept = before.cloned();
    let mut seen = before.cloned();
    let mut refusals: Vec<Verdict> = Vec::new();
    for version in versions {
        if version == seen {
            continue;
        }
        let candidate = apply_effects(kept.clone(), &diff_entity(collection, id, seen.as_ref(), version.as_ref()));
        let step = settle_entity(ctx, author, collection, id, kept.as_ref(), candidate.as_ref());
        refusals.extend(step.refused().cloned());
        kept = step.corrected;
        seen = version;
    }
    Replayed { corrected: kept, refusals }
}

struct Replayed {
    corrected: Option<Node>,
    /// Every refusal of every step, in order.
    refusals: Vec<Verdict>,
}

/// The batch's verdicts on one entity once replayed: a refusal for each target the document holds
/// otherwise than the review kept (with the kept value to restore and the reason of the last
/// refusal there), then an allowed verdict for each effect kept.
fn reviewed_verdicts(
    collection: Collection,
    id: &str,
    before: Option<&Node>,
    after: Option<&Node>,
    replayed: &Replayed,
) -> Vec<Verdict> {
    let kept = replayed.corrected.as_ref();
    let reason_for = |target: &Target| {
        let on_target = replayed.refusals.iter().rev().find(|v| &v.effect.target == target);
        on_target.or(replayed.refusals.last()).and_then(|v| v.refusal.clone())
    };
    let mut verdicts: Vec<Verdict> = diff_entity(collection, id, after, kept)
        .into_iter()
        .map(|undo| Verdict {
            refusal: Some(
                reason_for(&undo.target).unwrap_or_else(|| Reason::Invalid { field: collection.key().into() }),
            ),
            effect: Effect { target: undo.target, before: undo.after, after: undo.before },
        })
        .collect();
    verdicts
        .extend(diff_entity(collection, id, before, kept).into_iter().map(|effect| Verdict { effect, refusal: None }));
    verdicts
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
