#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Accept, then compensate: offline batches merged on the server, refused effects undone field by
//! field, everything allowed kept.

use crate::common;

use automerge::{ObjType, ROOT, ReadDoc, transaction::Transactable};
use common::{Fixture, action};
use sync_core::edit::ActionPatch;
use sync_core::model::QualificationCode;
use sync_core::node::Node;
use sync_core::review::{compensate, review};
use sync_core::schema::Collection;
use sync_core::{Author, EventKind, Target};

fn field(collection: Collection, id: uuid::Uuid, field: &str) -> Target {
    Target::Field { collection, id: id.to_string(), field: field.into() }
}

#[test]
fn an_edit_of_an_action_qualified_meanwhile_is_undone_and_the_rest_kept() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let adv = Author::adviser(f.adviser);
    let mut phone = f.doc.fork();

    // Offline on the phone: edit the done action (allowed there and then) and another one.
    let retitle = |title: &str| ActionPatch { title: Some(title.into()), ..ActionPatch::default() };
    phone.update_action(&yp, f.now, f.done_action, retitle("Inscription faite")).unwrap();
    phone.update_action(&yp, f.now, f.open_action, retitle("CV à jour")).unwrap();
    let created = phone.create_action(&yp, f.now, action("Appeler la mission locale")).unwrap().id;

    // Meanwhile the adviser qualifies the done action on the server.
    f.doc.qualify_action(&adv, f.now, f.done_action, QualificationCode::Emploi, None).unwrap();

    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    let refused: Vec<_> = r.refusals().map(|(t, reason)| (t.clone(), reason.code())).collect();
    assert_eq!(
        refused,
        vec![
            (field(Collection::Actions, f.done_action, "title"), "qualified"),
            (field(Collection::Actions, f.done_action, "updated_at"), "qualified"),
        ]
    );
    let compensation = compensate(&mut f.doc, &r, &yp, f.now).unwrap().expect("a compensation");
    assert!(compensation.notice.reasons.iter().all(|r| r.contains("qualifiée")));

    let plan = f.doc.plan();
    assert_eq!(plan.action(f.done_action).unwrap().title, "S'inscrire à France Travail");
    assert!(plan.action(f.done_action).unwrap().qualification.is_some());
    assert_eq!(plan.action(f.open_action).unwrap().title, "CV à jour");
    assert!(plan.action(created).is_some());
    assert_eq!(plan.notices.len(), 1);
    assert_eq!(plan.notices[0].for_user, f.young_person);
    assert!(
        r.events.iter().any(|e| matches!(e.kind, EventKind::ActionCreated { action_id, .. } if action_id == created))
    );

    // Once compensated, reviewing the same span again refuses nothing but the server's notice.
    let again = review(&mut f.doc, &before, &yp, f.now);
    assert!(again.refusals().all(|(t, _)| matches!(t.entity(), Some((Collection::Notices, _)))));

    // The phone gets the correction and converges.
    phone.automerge_mut().merge(f.doc.automerge_mut()).unwrap();
    assert_eq!(phone.plan(), f.doc.plan());
}

#[test]
fn forged_fields_written_by_hand_are_undone() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    // A modified app writes a qualification itself, an unknown field, and touches the root.
    let qualification = Node::map()
        .with("code", Node::from("EMPLOI"))
        .with("hours", Node::Int(3))
        .with(
            "by",
            Node::map().with("id", Node::from(f.young_person.to_string())).with("role", Node::from("young_person")),
        )
        .with("at", Node::from("2026-03-04T09:00:00.000Z"));
    phone.write_target(&field(Collection::Actions, f.done_action, "qualification"), Some(&qualification)).unwrap();
    phone.write_target(&field(Collection::Actions, f.open_action, "hacked"), Some(&Node::Bool(true))).unwrap();
    phone.write_target(&field(Collection::Actions, f.open_action, "reminder"), Some(&Node::Bool(false))).unwrap();
    phone.write_target(&Target::Root { key: "young_person_id".into() }, Some(&Node::from("someone else"))).unwrap();
    phone.commit("forged", f.now);

    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    let mut codes: Vec<_> = r.refusals().map(|(_, reason)| reason.code()).collect();
    codes.sort();
    assert_eq!(codes, vec!["not_allowed", "not_allowed", "unknown_field"]);
    compensate(&mut f.doc, &r, &yp, f.now).unwrap();

    let plan = f.doc.plan();
    assert_eq!(plan.young_person_id, Some(f.young_person));
    assert!(plan.action(f.done_action).unwrap().qualification.is_none());
    assert!(!plan.action(f.open_action).unwrap().reminder, "the allowed edit is kept");
    let open = f.doc.entity_node(Collection::Actions, &f.open_action.to_string(), None).unwrap();
    assert!(open.field("hacked").is_none());
}

#[test]
fn a_comment_by_someone_else_is_undone() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    // The phone writes a comment claiming to be from the adviser.
    let comment = sync_core::model::Comment {
        id: uuid::Uuid::new_v4(),
        author: sync_core::model::Person { id: f.adviser, role: sync_core::model::Role::Adviser },
        at: f.now,
        text: "Validé par votre conseiller".into(),
    };
    let target = Target::Comment {
        collection: Collection::Actions,
        id: f.open_action.to_string(),
        comment_id: comment.id.to_string(),
    };
    phone.write_target(&target, Some(&comment.to_node())).unwrap();
    phone.commit("forged comment", f.now);
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    assert_eq!(r.refusals().map(|(_, reason)| reason.code()).collect::<Vec<_>>(), vec!["wrong_author"]);
    assert!(r.events.is_empty(), "an undone comment notifies nobody");
    compensate(&mut f.doc, &r, &yp, f.now).unwrap();
    assert!(f.doc.plan().action(f.open_action).unwrap().comments.is_empty());
}

#[test]
fn strings_written_as_text_objects_read_like_scalars() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    // What JavaScript automerge 3 writes for `action.title = "…"`: a text object.
    let doc = phone.automerge_mut();
    let (_, actions) = doc.get(ROOT, "actions").unwrap().unwrap();
    let (_, action) = doc.get(&actions, f.open_action.to_string()).unwrap().unwrap();
    let title = doc.put_object(&action, "title", ObjType::Text).unwrap();
    doc.splice_text(&title, 0, 0, "Écrit en texte").unwrap();
    doc.commit();

    assert_eq!(phone.plan().action(f.open_action).unwrap().title, "Écrit en texte");
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    assert!(r.is_clean(), "{:?}", r.refusals().collect::<Vec<_>>());
    assert_eq!(f.doc.plan().action(f.open_action).unwrap().title, "Écrit en texte");

    // A refused text edit is restored as it was (here: a text object on a qualified action).
    let mut phone = f.doc.fork();
    let doc = phone.automerge_mut();
    let (_, actions) = doc.get(ROOT, "actions").unwrap().unwrap();
    let (_, action) = doc.get(&actions, f.qualified_action.to_string()).unwrap().unwrap();
    let title = doc.put_object(&action, "title", ObjType::Text).unwrap();
    doc.splice_text(&title, 0, 0, "Interdit").unwrap();
    doc.commit();
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let r = review(&mut f.doc, &before, &yp, f.now);
    compensate(&mut f.doc, &r, &yp, f.now).unwrap();
    assert_eq!(f.doc.plan().action(f.qualified_action).unwrap().title, "Atelier numérique");
    let text_title = f.doc.automerge().get(&action, "title").unwrap().map(|(v, _)| v.is_str());
    assert_eq!(text_title, Some(true), "restored as the scalar it was");
}

#[test]
fn a_young_person_deleting_an_appointment_gets_it_back() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    let target = Target::Entity { collection: Collection::Appointments, id: f.future_appointment.to_string() };
    phone.write_target(&target, None).unwrap();
    phone.commit("delete", f.now);
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    assert!(f.doc.plan().appointment(f.future_appointment).is_none());
    let r = review(&mut f.doc, &before, &yp, f.now);
    assert_eq!(r.refusals().map(|(_, reason)| reason.code()).collect::<Vec<_>>(), vec!["cancel_instead"]);
    compensate(&mut f.doc, &r, &yp, f.now).unwrap();
    assert!(f.doc.plan().appointment(f.future_appointment).is_some());
}

#[test]
fn events_carry_stable_dedup_keys() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let mut phone = f.doc.fork();
    phone.complete_action(&yp, f.now, f.open_action).unwrap();
    let before = f.doc.heads();
    f.doc.automerge_mut().merge(phone.automerge_mut()).unwrap();
    let first = review(&mut f.doc, &before, &yp, f.now);
    // The same batch replayed (e.g. a sync retried) gives the same keys.
    let replay = review(&mut f.doc, &before, &yp, f.now);
    let keys = |r: &sync_core::Review| r.events.iter().map(|e| e.dedup_key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&first), keys(&replay));
    assert_eq!(first.events.len(), 1);
    assert!(first.events[0].dedup_key.starts_with(&format!("action_completed:{}", f.open_action)));
}
