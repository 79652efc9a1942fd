//! Batches that mix allowed and refused edits: everything allowed is kept.
//!
//! The property's oracle does not use the review: it replays the batch's edits one at a time on
//! the before-state, keeping each effect the rulebook (`check_entity`) allows on the state built so
//! far and skipping the others. Wherever the oracle's plan differs from the before-state, the
//! reviewed plan holds the oracle's value; whatever else the review kept is an edit the rulebook
//! allows on the oracle's plan.

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;
use sync_core::model::{Comment, Person, Role, instant_node};
use sync_core::node::Node;
use sync_core::review::{compensate, review};
use sync_core::rules::check_entity;
use sync_core::schema::Collection;
use sync_core::{Author, PlanDocument, RuleContext, Target};
use uuid::Uuid;

use crate::common::Fixture;

fn field(collection: Collection, id: Uuid, name: &str) -> Target {
    Target::Field { collection, id: id.to_string(), field: name.into() }
}

fn young_persons_qualification(f: &Fixture) -> Node {
    Node::map()
        .with("code", Node::from("EMPLOI"))
        .with("hours", Node::Int(3))
        .with(
            "by",
            Node::map().with("id", Node::from(f.young_person.to_string())).with("role", Node::from("young_person")),
        )
        .with("at", instant_node(f.now))
}

/// Merges `phone` into the server's document, reviews and compensates as the young person.
fn merge_and_review(f: &mut Fixture, phone: &mut PlanDocument) -> sync_core::Review {
    let yp = Author::young_person(f.young_person);
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    compensate(&mut f.doc, &r, &yp, f.now).unwrap();
    r
}

#[test]
fn a_status_change_is_kept_when_a_later_edit_of_the_batch_writes_a_refused_qualification() {
    // The case seen with two stock JavaScript clients: offline, phone 2 sets the action in progress,
    // then writes a qualification (forbidden to a young person); both arrive in one batch.
    let mut f = Fixture::new();
    let mut phone = f.doc.fork();
    let status = field(Collection::Actions, f.open_action, "status");
    phone.write_target(&status, Some(&Node::from("in_progress"))).unwrap();
    phone.commit("in progress", f.now);
    let qualification = field(Collection::Actions, f.open_action, "qualification");
    phone.write_target(&qualification, Some(&young_persons_qualification(&f))).unwrap();
    phone.commit("qualify", f.now);

    let r = merge_and_review(&mut f, &mut phone);
    let refused: Vec<_> = r.refusals().map(|(t, reason)| (t.clone(), reason.code())).collect();
    assert_eq!(refused, vec![(qualification, "not_allowed")]);
    let action = f.doc.plan().action(f.open_action).unwrap().clone();
    assert_eq!(action.status.as_str(), "in_progress");
    assert!(action.qualification.is_none());
    let notice = &f.doc.plan().notices[0];
    assert_eq!(notice.reasons, vec!["Action : votre rôle ne permet pas de modifier « qualification »".to_owned()]);
}

#[test]
fn effects_refused_only_together_are_kept_when_they_come_in_one_change() {
    // A foreign client reopens a done action and qualifies it in one change: the reopening (status
    // and completion date, valid only as a pair) is allowed, the qualification is not.
    let mut f = Fixture::new();
    let mut phone = f.doc.fork();
    phone.write_target(&field(Collection::Actions, f.done_action, "status"), Some(&Node::from("in_progress"))).unwrap();
    phone.write_target(&field(Collection::Actions, f.done_action, "completed_at"), None).unwrap();
    let qualification = field(Collection::Actions, f.done_action, "qualification");
    phone.write_target(&qualification, Some(&young_persons_qualification(&f))).unwrap();
    phone.commit("reopen and qualify", f.now);

    let r = merge_and_review(&mut f, &mut phone);
    let refused: Vec<_> = r.refusals().map(|(t, reason)| (t.clone(), reason.code())).collect();
    assert_eq!(refused, vec![(qualification, "not_allowed")]);
    let action = f.doc.plan().action(f.done_action).unwrap().clone();
    assert_eq!(action.status.as_str(), "in_progress");
    assert!(action.completed_at.is_none());
    assert!(action.qualification.is_none());
}

#[test]
fn a_refused_later_edit_of_a_field_keeps_the_allowed_earlier_one() {
    let mut f = Fixture::new();
    let mut phone = f.doc.fork();
    let title = field(Collection::Actions, f.open_action, "title");
    phone.write_target(&title, Some(&Node::from("CV relu par ma sœur"))).unwrap();
    phone.commit("retitle", f.now);
    phone.write_target(&title, Some(&Node::from("x".repeat(201)))).unwrap();
    phone.commit("too long", f.now);

    let r = merge_and_review(&mut f, &mut phone);
    assert_eq!(r.refusals().map(|(_, reason)| reason.code()).collect::<Vec<_>>(), vec!["too_long"]);
    assert_eq!(f.doc.plan().action(f.open_action).unwrap().title, "CV relu par ma sœur");
    phone.automerge_mut().merge(f.doc.automerge_mut()).unwrap();
    assert_eq!(phone.plan(), f.doc.plan());
}

#[test]
fn a_deletion_after_a_comment_of_the_same_batch_is_refused_and_the_comment_kept() {
    // Judged as the young person made it: when they deleted it, the action had their comment.
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    phone
        .add_comment(&yp, f.now, sync_core::schema::Collection::Actions, f.open_action, None, "Fait ce matin".into())
        .unwrap();
    phone
        .write_target(&Target::Entity { collection: Collection::Actions, id: f.open_action.to_string() }, None)
        .unwrap();
    phone.commit("delete", f.now);

    let r = merge_and_review(&mut f, &mut phone);
    assert_eq!(r.refusals().map(|(_, reason)| reason.code()).collect::<Vec<_>>(), vec!["not_deletable"]);
    assert_eq!(f.doc.plan().action(f.open_action).unwrap().comments.len(), 1);
}

// ---- the property --------------------------------------------------------------------------------

/// One offline edit of the young person's phone, written raw (as a foreign client may), one change each.
#[derive(Clone, Debug)]
enum Edit {
    Status { action: usize, status: usize },
    Title { action: usize, title: usize },
    DueDate { action: usize, valid: bool },
    Qualify { action: usize },
    Delete { action: usize },
    Comment { action: usize, as_adviser: bool, long: bool },
    Answer { appointment: usize, answer: usize },
    AppointmentTitle { appointment: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let action = 0..4usize;
    let appointment = 0..3usize;
    prop_oneof![
        3 => (action.clone(), 0..4usize).prop_map(|(action, status)| Edit::Status { action, status }),
        3 => (action.clone(), 0..3usize).prop_map(|(action, title)| Edit::Title { action, title }),
        2 => (action.clone(), any::<bool>()).prop_map(|(action, valid)| Edit::DueDate { action, valid }),
        2 => action.clone().prop_map(|action| Edit::Qualify { action }),
        2 => action.clone().prop_map(|action| Edit::Delete { action }),
        2 => (action, any::<bool>(), any::<bool>())
            .prop_map(|(action, as_adviser, long)| Edit::Comment { action, as_adviser, long }),
        2 => (appointment.clone(), 0..3usize).prop_map(|(appointment, answer)| Edit::Answer { appointment, answer }),
        1 => appointment.prop_map(|appointment| Edit::AppointmentTitle { appointment }),
    ]
}

struct Plan {
    actions: [Uuid; 4],
    appointments: [Uuid; 3],
}

/// The fixture, plus a canceled appointment (answering it is refused).
fn setup() -> (Fixture, Plan) {
    let mut f = Fixture::new();
    let adv = Author::adviser(f.adviser);
    let canceled =
        f.doc.schedule_appointment(&adv, f.now, crate::common::appointment(f.now + Duration::days(3))).unwrap().id;
    f.doc.cancel_appointment(&adv, f.now, canceled).unwrap();
    let plan = Plan {
        actions: [f.open_action, f.done_action, f.qualified_action, f.adviser_action],
        appointments: [f.future_appointment, f.past_appointment, canceled],
    };
    (f, plan)
}

/// The writes of one edit: one target and its new value each.
fn writes(edit: &Edit, f: &Fixture, plan: &Plan, n: usize) -> Vec<(Target, Option<Node>)> {
    let a = |i: usize| plan.actions[i];
    let now = instant_node(f.now);
    match *edit {
        Edit::Status { action, status } => {
            let status = ["not_started", "in_progress", "done", "canceled"][status];
            let completed = (status == "done").then(|| now.clone());
            vec![
                (field(Collection::Actions, a(action), "status"), Some(Node::from(status))),
                (field(Collection::Actions, a(action), "completed_at"), completed),
                (field(Collection::Actions, a(action), "updated_at"), Some(now)),
            ]
        }
        Edit::Title { action, title } => {
            let title = [format!("Titre {n}"), " ".to_owned(), "t".repeat(201)][title].clone();
            vec![(field(Collection::Actions, a(action), "title"), Some(Node::from(title)))]
        }
        Edit::DueDate { action, valid } => {
            let date = if valid { format!("2026-04-{:02}", 1 + n % 28) } else { "demain".to_owned() };
            vec![(field(Collection::Actions, a(action), "due_date"), Some(Node::from(date)))]
        }
        Edit::Qualify { action } => {
            vec![(field(Collection::Actions, a(action), "qualification"), Some(young_persons_qualification(f)))]
        }
        Edit::Delete { action } => {
            vec![(Target::Entity { collection: Collection::Actions, id: a(action).to_string() }, None)]
        }
        Edit::Comment { action, as_adviser, long } => {
            let author = if as_adviser {
                Person { id: f.adviser, role: Role::Adviser }
            } else {
                Person { id: f.young_person, role: Role::YoungPerson }
            };
            let text = if long { "c".repeat(2001) } else { format!("Commentaire {n}") };
            let comment = Comment { id: Uuid::new_v4(), author, at: f.now, text };
            let target = Target::Comment {
                collection: Collection::Actions,
                id: a(action).to_string(),
                comment_id: comment.id.to_string(),
            };
            vec![(target, Some(comment.to_node()))]
        }
        Edit::Answer { appointment, answer } => {
            let answer = ["accepted", "declined", "peut-être"][answer];
            vec![(
                field(Collection::Appointments, plan.appointments[appointment], "response"),
                Some(Node::from(answer)),
            )]
        }
        Edit::AppointmentTitle { appointment } => vec![(
            field(Collection::Appointments, plan.appointments[appointment], "title"),
            Some(Node::from(format!("Renommé {n}"))),
        )],
    }
}

/// The value at `target` in `entity` (absent: `None`).
fn value_at(entity: Option<&Node>, target: &Target) -> Option<Node> {
    let entity = entity?;
    match target {
        Target::Root { .. } => None,
        Target::Entity { .. } => Some(entity.clone()),
        Target::Field { field, .. } => entity.field(field).cloned(),
        Target::Comment { comment_id, .. } => entity.field("comments").and_then(|c| c.field(comment_id)).cloned(),
    }
}

/// `entity` with `target` set to `value` (written here, not taken from the review).
fn put(entity: Option<Node>, target: &Target, value: Option<&Node>) -> Option<Node> {
    match target {
        Target::Root { .. } => entity,
        Target::Entity { .. } => value.cloned(),
        Target::Field { field, .. } => entity.map(|e| e.with(field, value.cloned())),
        Target::Comment { comment_id, .. } => entity.map(|e| {
            let comments = e.field("comments").cloned().unwrap_or_else(Node::map).with(comment_id, value.cloned());
            e.with("comments", comments)
        }),
    }
}

type Key = (Collection, String);

fn key(target: &Target) -> Key {
    let (collection, id) = target.entity().unwrap();
    (collection, id.to_owned())
}

/// The oracle: each edit in order on the state built so far, keeping what the rulebook allows.
fn oracle(
    before: &PlanDocument,
    batch: &[Vec<(Target, Option<Node>)>],
    ctx: &RuleContext,
    yp: &Author,
) -> BTreeMap<Key, Option<Node>> {
    let mut state: BTreeMap<Key, Option<Node>> = BTreeMap::new();
    for writes in batch {
        for (target, _) in writes {
            let k = key(target);
            state.entry(k.clone()).or_insert_with(|| before.entity_node(k.0, &k.1, None));
        }
        let mut per_entity: BTreeMap<Key, Vec<&(Target, Option<Node>)>> = BTreeMap::new();
        for w in writes {
            per_entity.entry(key(&w.0)).or_default().push(w);
        }
        for (k, ws) in per_entity {
            let current = state[&k].clone();
            let candidate = ws.iter().fold(current.clone(), |e, (t, v)| put(e, t, v.as_ref()));
            let verdicts = check_entity(ctx, yp, k.0, &k.1, current.as_ref(), candidate.as_ref());
            let kept = verdicts
                .iter()
                .filter(|v| v.is_allowed())
                .fold(current, |e, v| put(e, &v.effect.target, v.effect.after.as_ref()));
            state.insert(k, kept);
        }
    }
    state
}

fn check_batch(edits: &[Edit]) -> Result<(), TestCaseError> {
    let (mut f, plan) = setup();
    let yp = Author::young_person(f.young_person);
    let ctx = RuleContext { young_person_id: Some(f.young_person), now: f.now };
    let before_doc = f.doc.fork();
    let mut phone = f.doc.fork();
    let mut batch = Vec::new();
    for (n, edit) in edits.iter().enumerate() {
        let ws = writes(edit, &f, &plan, n);
        // An edit of an entity the phone no longer has is not made.
        if ws.iter().any(|(t, _)| {
            let (collection, id) = t.entity().unwrap();
            phone.entity_node(collection, id, None).is_none()
        }) {
            continue;
        }
        for (target, value) in &ws {
            phone.write_target(target, value.as_ref()).unwrap();
        }
        phone.commit("offline edit", f.now);
        batch.push(ws);
    }
    let expected = oracle(&before_doc, &batch, &ctx, &yp);
    merge_and_review(&mut f, &mut phone);

    for ((collection, id), kept) in &expected {
        let before = before_doc.entity_node(*collection, id, None);
        let reviewed = f.doc.entity_node(*collection, id, None);
        for effect in sync_core::effects::diff_entity(*collection, id, before.as_ref(), kept.as_ref()) {
            prop_assert_eq!(
                value_at(reviewed.as_ref(), &effect.target),
                effect.after.clone(),
                "the oracle kept {:?}; batch {:?}",
                effect.target,
                edits
            );
        }
        // Whatever the review kept beyond the oracle is an edit the rulebook allows on the oracle's plan.
        let verdicts = check_entity(&ctx, &yp, *collection, id, kept.as_ref(), reviewed.as_ref());
        prop_assert!(
            verdicts.iter().all(|v| v.is_allowed()),
            "the reviewed plan keeps more than the rulebook allows: {:?}; batch {:?}",
            verdicts.iter().filter(|v| !v.is_allowed()).collect::<Vec<_>>(),
            edits
        );
    }
    // The phone takes the compensation and converges.
    phone.automerge_mut().merge(f.doc.automerge_mut()).unwrap();
    prop_assert_eq!(phone.plan(), f.doc.plan());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_edit_the_rulebook_allows_in_order_is_kept(edits in prop::collection::vec(edit(), 1..10)) {
        check_batch(&edits)?;
    }
}
