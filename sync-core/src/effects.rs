//! Field-level effects: what a batch of changes did to the plan, entity by entity, field by field.

use std::collections::BTreeSet;

use automerge::{Patch, PatchAction, Prop};

use crate::node::Node;
use crate::schema::{Collection, fields};

/// Where an effect lands. Ordered so that effects come out in a stable order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A key of the document root other than the entity collections (`schema`, `young_person_id`,
    /// or a key the schema does not know), or a whole collection replaced by something else.
    Root { key: String },
    /// A whole entity: created, deleted, or replaced by a value that is not a map.
    Entity { collection: Collection, id: String },
    /// One field of an existing entity (`qualification` counts as one field).
    Field { collection: Collection, id: String, field: String },
    /// One comment of an action or a task: added, changed or removed.
    Comment { collection: Collection, id: String, comment_id: String },
}

impl Target {
    /// The entity this target belongs to, if any.
    pub fn entity(&self) -> Option<(Collection, &str)> {
        match self {
            Target::Root { .. } => None,
            Target::Entity { collection, id }
            | Target::Field { collection, id, .. }
            | Target::Comment { collection, id, .. } => Some((*collection, id)),
        }
    }
}

/// One effect of a batch: the value at `target` went from `before` to `after` (`None`: absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    pub target: Target,
    pub before: Option<Node>,
    pub after: Option<Node>,
}

impl Effect {
    pub fn is_creation(&self) -> bool {
        self.before.is_none() && self.after.is_some()
    }

    pub fn is_deletion(&self) -> bool {
        self.before.is_some() && self.after.is_none()
    }
}

/// What a batch touched, read from Automerge's patches: the entities (and root keys) to diff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub root_keys: BTreeSet<String>,
    pub whole_collections: BTreeSet<Collection>,
    pub entities: BTreeSet<(Collection, String)>,
}

impl Touched {
    pub fn from_patches(patches: &[Patch]) -> Self {
        let mut touched = Touched::default();
        for patch in patches {
            touched.add(patch);
        }
        touched
    }

    fn add(&mut self, patch: &Patch) {
        let action_key = match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key.clone()),
            PatchAction::Conflict { prop: Prop::Map(key) } => Some(key.clone()),
            _ => None,
        };
        let Some((_, Prop::Map(root_key))) = patch.path.first() else {
            // A patch on the root itself.
            if let Some(key) = action_key {
                match Collection::from_key(&key) {
                    Some(c) => {
                        self.whole_collections.insert(c);
                    }
                    None => {
                        self.root_keys.insert(key);
                    }
                }
            }
            return;
        };
        let Some(collection) = Collection::from_key(root_key) else {
            self.root_keys.insert(root_key.clone());
            return;
        };
        let entity_id = match patch.path.get(1) {
            Some((_, Prop::Map(id))) => Some(id.clone()),
            Some((_, Prop::Seq(_))) => None,
            None => action_key,
        };
        match entity_id {
            Some(id) => {
                self.entities.insert((collection, id));
            }
            None => {
                self.whole_collections.insert(collection);
            }
        }
    }
}

/// The effects on one entity between two versions of it.
pub fn diff_entity(collection: Collection, id: &str, before: Option<&Node>, after: Option<&Node>) -> Vec<Effect> {
    let entity = || Target::Entity { collection, id: id.to_owned() };
    let (b, a) = match (before.filter(|n| !n.is_null()), after.filter(|n| !n.is_null())) {
        (None, None) => return Vec::new(),
        (Some(b), Some(a)) if b.as_map().is_some() && a.as_map().is_some() => (b, a),
        (b, a) => {
            if b == a {
                return Vec::new();
            }
            return vec![Effect { target: entity(), before: b.cloned(), after: a.cloned() }];
        }
    };
    let mut effects = Vec::new();
    let keys: BTreeSet<&String> = b.as_map().into_iter().chain(a.as_map()).flat_map(|m| m.keys()).collect();
    for key in keys {
        let (bf, af) = (b.field(key), a.field(key));
        if bf == af {
            continue;
        }
        if key == fields::COMMENTS && collection.has_comments() {
            if let Some(comment_effects) = diff_comments(collection, id, bf, af) {
                effects.extend(comment_effects);
                continue;
            }
        }
        effects.push(Effect {
            target: Target::Field { collection, id: id.to_owned(), field: key.clone() },
            before: bf.cloned(),
            after: af.cloned(),
        });
    }
    effects
}

/// Per-comment effects, or `None` when either side is not a map (then the field as a whole changed).
fn diff_comments(collection: Collection, id: &str, before: Option<&Node>, after: Option<&Node>) -> Option<Vec<Effect>> {
    let empty = std::collections::BTreeMap::new();
    let b = match before {
        None => &empty,
        Some(n) => n.as_map()?,
    };
    let a = match after {
        None => &empty,
        Some(n) => n.as_map()?,
    };
    let ids: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    Some(
        ids.into_iter()
            .filter_map(|cid| {
                let (bc, ac) = (b.get(cid).filter(|n| !n.is_null()), a.get(cid).filter(|n| !n.is_null()));
                (bc != ac).then(|| Effect {
                    target: Target::Comment { collection, id: id.to_owned(), comment_id: cid.clone() },
                    before: bc.cloned(),
                    after: ac.cloned(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(title: &str) -> Node {
        Node::map().with("id", Node::from("a")).with("title", Node::from(title)).with("comments", Node::map())
    }

    #[test]
    fn a_field_change_is_one_effect() {
        let effects = diff_entity(Collection::Actions, "a", Some(&action("x")), Some(&action("y")));
        assert_eq!(effects.len(), 1);
        assert_eq!(
            effects[0].target,
            Target::Field { collection: Collection::Actions, id: "a".into(), field: "title".into() }
        );
    }

    #[test]
    fn a_new_comment_is_a_comment_effect() {
        let before = action("x");
        let after = action("x").with("comments", Node::map().with("c1", Node::map().with("text", Node::from("hi"))));
        let effects = diff_entity(Collection::Actions, "a", Some(&before), Some(&after));
        assert_eq!(effects.len(), 1);
        assert!(matches!(&effects[0].target, Target::Comment { comment_id, .. } if comment_id == "c1"));
        assert!(effects[0].is_creation());
    }

    #[test]
    fn creation_and_deletion_are_entity_effects() {
        let created = diff_entity(Collection::Tasks, "t", None, Some(&action("x")));
        assert!(created[0].is_creation());
        let deleted = diff_entity(Collection::Tasks, "t", Some(&action("x")), None);
        assert!(deleted[0].is_deletion());
        assert!(diff_entity(Collection::Tasks, "t", Some(&action("x")), Some(&action("x"))).is_empty());
    }
}
