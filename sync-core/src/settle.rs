//! One step of the review on one entity: the largest set of a change's effects that the rulebook
//! allows together.
//!
//! [`settle_entity`] first shrinks: it reverts every refused effect and checks again, until nothing
//! more is refused (a kept field never relies on a reverted one). Then it grows: an effect that was
//! refused only because of another refused effect (a status refused because the same change wrote
//! a forbidden qualification, a status and its completion date valid only as a pair) is tried
//! again, alone or with the refused effects on the fields its check reads
//! ([`crate::rules::coupled_fields`]), and kept when every effect kept so far is still allowed.
//! Shrinking only restores old values and growing only re-admits refused effects, each at most
//! once per round, so both end.

use crate::effects::{Effect, Target};
use crate::node::Node;
use crate::rules::{Author, RuleContext, Verdict, check_entity, coupled_fields};
use crate::schema::{Collection, fields};

/// The review of one entity, settled.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityReview {
    /// Refused first (each with the value to restore in `effect.before`), then allowed.
    pub verdicts: Vec<Verdict>,
    /// The entity as it stands once corrected.
    pub corrected: Option<Node>,
}

impl EntityReview {
    pub fn refused(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.is_allowed())
    }
}

/// The most effects of the step `before` → `after` the rulebook allows together, against `before`.
pub fn settle_entity(
    ctx: &RuleContext,
    author: &Author,
    collection: Collection,
    id: &str,
    before: Option<&Node>,
    after: Option<&Node>,
) -> EntityReview {
    let check = |entity: Option<&Node>| check_entity(ctx, author, collection, id, before, entity);
    // Shrink.
    let mut current = after.cloned();
    let mut refused: Vec<Verdict> = Vec::new();
    // The verdicts on `current`, all allowed, kept from the last check rather than checked again.
    let mut allowed = loop {
        let (allowed, newly_refused): (Vec<_>, Vec<_>) =
            check(current.as_ref()).into_iter().partition(Verdict::is_allowed);
        if newly_refused.is_empty() {
            break allowed;
        }
        for verdict in newly_refused {
            current = set_target(current, &verdict.effect.target, verdict.effect.before.as_ref());
            refused.push(verdict);
        }
    };
    // Grow.
    let mut grew = !refused.is_empty();
    while grew {
        grew = false;
        let mut i = 0;
        while i < refused.len() {
            let admitted = groups(&refused, i).into_iter().find_map(|group| {
                let trial = group.iter().fold(current.clone(), |entity, &j| {
                    let effect = &refused[j].effect;
                    set_target(entity, &effect.target, effect.after.as_ref())
                });
                let verdicts = check(trial.as_ref());
                verdicts.iter().all(Verdict::is_allowed).then_some((group, trial, verdicts))
            });
            match admitted {
                Some((mut group, trial, verdicts)) => {
                    current = trial;
                    allowed = verdicts;
                    group.sort_unstable_by(|a, b| b.cmp(a));
                    for j in group {
                        refused.remove(j);
                    }
                    grew = true;
                    i = 0;
                }
                None => i += 1,
            }
        }
    }
    let mut verdicts = refused;
    verdicts.extend(allowed);
    EntityReview { verdicts, corrected: current }
}

/// The sets of refused effects to try re-admitting with `refused[i]`: it alone, and with every
/// combination of the refused effects on the fields its check reads, the largest first.
fn groups(refused: &[Verdict], i: usize) -> Vec<Vec<usize>> {
    let coupled: Vec<usize> = match &refused[i].effect.target {
        Target::Field { collection, field, .. } => {
            let reads = coupled_fields(*collection, field);
            (0..refused.len())
                .filter(|&j| {
                    j != i
                        && matches!(&refused[j].effect.target, Target::Field { field: other, .. } if reads.contains(&other.as_str()))
                })
                .collect()
        }
        _ => Vec::new(),
    };
    // At most a handful of coupled fields exist (`coupled_fields`), so this stays small.
    let coupled = &coupled[..coupled.len().min(4)];
    let mut out: Vec<Vec<usize>> = (0..1u32 << coupled.len())
        .map(|mask| {
            let mut group = vec![i];
            group.extend(coupled.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, &j)| j));
            group
        })
        .collect();
    out.sort_by_key(|group| std::cmp::Reverse(group.len()));
    out
}

/// `entity` with `target` set to `value`.
pub(crate) fn set_target(entity: Option<Node>, target: &Target, value: Option<&Node>) -> Option<Node> {
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

/// `entity` with every effect's `after` applied.
pub(crate) fn apply_effects(entity: Option<Node>, effects: &[Effect]) -> Option<Node> {
    effects.iter().fold(entity, |entity, effect| set_target(entity, &effect.target, effect.after.as_ref()))
}
