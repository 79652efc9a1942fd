#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One row per operation of the product: for each role, allowed or refused with the reason code.

use crate::common;

use chrono::Duration;
use common::{Fixture, action, appointment, task};
use sync_core::edit::{ActionPatch, AppointmentPatch, TaskPatch};
use sync_core::model::{AppointmentResponse, Presence, QualificationCode, Role};
use sync_core::schema::Collection;
use sync_core::{Author, EditError};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    /// The young person whose plan it is.
    YoungPerson,
    /// Another young person.
    OtherYoungPerson,
    /// Their adviser.
    Adviser,
    /// An adviser who does not follow them.
    OtherAdviser,
    /// A supervisor of the structure (reads, does not write).
    Supervisor,
    Admin,
}

const EVERYONE: [Who; 6] =
    [Who::YoungPerson, Who::OtherYoungPerson, Who::Adviser, Who::OtherAdviser, Who::Supervisor, Who::Admin];

fn author(f: &Fixture, who: Who) -> Author {
    match who {
        Who::YoungPerson => Author::young_person(f.young_person),
        Who::OtherYoungPerson => Author::young_person(Uuid::new_v4()),
        Who::Adviser => Author::adviser(f.adviser),
        Who::OtherAdviser => Author::new(Uuid::new_v4(), Role::Adviser, false),
        Who::Supervisor => Author::new(Uuid::new_v4(), Role::Supervisor, false),
        Who::Admin => Author::new(Uuid::new_v4(), Role::Admin, false),
    }
}

type Op = fn(&mut Fixture, &Author) -> Result<(), EditError>;

/// The expected outcome of `op` for the young person and their adviser; everybody else gets
/// `no_access`.
struct Row {
    name: &'static str,
    op: Op,
    young_person: Result<(), &'static str>,
    adviser: Result<(), &'static str>,
}

fn long(n: usize) -> String {
    "é".repeat(n)
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "create an action",
            op: |f, a| f.doc.create_action(a, f.now, action("Chercher un stage")).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "edit an action's title",
            op: |f, a| {
                let changes = ActionPatch { title: Some("Nouveau titre".into()), ..ActionPatch::default() };
                f.doc.update_action(a, f.now, f.open_action, changes).map(drop)
            },
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "complete an action",
            op: |f, a| f.doc.complete_action(a, f.now, f.open_action).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "cancel an action",
            op: |f, a| f.doc.cancel_action(a, f.now, f.open_action).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "delete an action the young person created",
            op: |f, a| f.doc.delete_action(a, f.now, f.open_action).map(drop),
            young_person: Ok(()),
            adviser: Err("not_creator"),
        },
        Row {
            name: "delete an action the adviser created",
            op: |f, a| f.doc.delete_action(a, f.now, f.adviser_action).map(drop),
            young_person: Err("not_creator"),
            adviser: Ok(()),
        },
        Row {
            name: "delete a done action",
            op: |f, a| f.doc.delete_action(a, f.now, f.done_action).map(drop),
            young_person: Err("not_deletable"),
            adviser: Err("not_creator"),
        },
        Row {
            name: "delete a commented action",
            op: |f, a| {
                let adviser = Author::adviser(f.adviser);
                f.doc.add_comment(&adviser, f.now, Collection::Actions, f.open_action, None, "Bravo".into()).unwrap();
                f.doc.delete_action(a, f.now, f.open_action).map(drop)
            },
            young_person: Err("not_deletable"),
            adviser: Err("not_creator"),
        },
        Row {
            name: "comment an action",
            op: |f, a| f.doc.add_comment(a, f.now, Collection::Actions, f.open_action, None, "Fait".into()).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "comment of more than 2,000 characters",
            op: |f, a| f.doc.add_comment(a, f.now, Collection::Actions, f.open_action, None, long(2001)).map(drop),
            young_person: Err("too_long"),
            adviser: Err("too_long"),
        },
        Row {
            name: "title of more than 200 characters",
            op: |f, a| f.doc.create_action(a, f.now, action(&long(201))).map(drop),
            young_person: Err("too_long"),
            adviser: Err("too_long"),
        },
        Row {
            name: "title of exactly 200 characters",
            op: |f, a| f.doc.create_action(a, f.now, action(&long(200))).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
        Row {
            name: "empty title",
            op: |f, a| f.doc.create_action(a, f.now, action("   ")).map(drop),
            young_person: Err("empty"),
            adviser: Err("empty"),
        },
        Row {
            name: "description of more than 5,000 characters",
            op: |f, a| {
                let changes = ActionPatch { description: Some(Some(long(5001))), ..ActionPatch::default() };
                f.doc.update_action(a, f.now, f.open_action, changes).map(drop)
            },
            young_person: Err("too_long"),
            adviser: Err("too_long"),
        },
        Row {
            name: "qualify a done action",
            op: |f, a| f.doc.qualify_action(a, f.now, f.done_action, QualificationCode::Emploi, None).map(drop),
            young_person: Err("not_allowed"),
            adviser: Ok(()),
        },
        Row {
            name: "qualify an open action",
            op: |f, a| f.doc.qualify_action(a, f.now, f.open_action, QualificationCode::Emploi, None).map(drop),
            young_person: Err("not_allowed"),
            adviser: Err("qualify_not_done"),
        },
        Row {
            name: "edit a qualified action",
            op: |f, a| {
                let changes = ActionPatch { title: Some("Autre".into()), ..ActionPatch::default() };
                f.doc.update_action(a, f.now, f.qualified_action, changes).map(drop)
            },
            young_person: Err("qualified"),
            adviser: Err("qualified"),
        },
        Row {
            name: "reopen a qualified action",
            op: |f, a| {
                let changes =
                    ActionPatch { status: Some(sync_core::model::ActionStatus::InProgress), ..ActionPatch::default() };
                f.doc.update_action(a, f.now, f.qualified_action, changes).map(drop)
            },
            young_person: Err("qualified"),
            adviser: Err("qualified"),
        },
        Row {
            name: "comment a qualified action",
            op: |f, a| {
                f.doc.add_comment(a, f.now, Collection::Actions, f.qualified_action, None, "Encore".into()).map(drop)
            },
            young_person: Err("qualified"),
            adviser: Err("qualified"),
        },
        Row {
            name: "re-qualify a qualified action",
            op: |f, a| f.doc.qualify_action(a, f.now, f.qualified_action, QualificationCode::Sante, None).map(drop),
            young_person: Err("qualified"),
            adviser: Err("qualified"),
        },
        Row {
            name: "schedule an appointment",
            op: |f, a| f.doc.schedule_appointment(a, f.now, appointment(f.now + Duration::days(3))).map(drop),
            young_person: Err("not_allowed"),
            adviser: Ok(()),
        },
        Row {
            name: "schedule an appointment three years ahead",
            op: |f, a| f.doc.schedule_appointment(a, f.now, appointment(f.now + Duration::days(3 * 365))).map(drop),
            young_person: Err("not_allowed"),
            adviser: Err("out_of_window"),
        },
        Row {
            name: "schedule an appointment two years back",
            op: |f, a| f.doc.schedule_appointment(a, f.now, appointment(f.now - Duration::days(2 * 365))).map(drop),
            young_person: Err("not_allowed"),
            adviser: Err("out_of_window"),
        },
        Row {
            name: "reschedule an appointment",
            op: |f, a| {
                let changes = AppointmentPatch { starts_at: Some(f.now + Duration::days(20)), ..Default::default() };
                f.doc.update_appointment(a, f.now, f.future_appointment, changes).map(drop)
            },
            young_person: Err("not_allowed"),
            adviser: Ok(()),
        },
        Row {
            name: "cancel an appointment",
            op: |f, a| f.doc.cancel_appointment(a, f.now, f.future_appointment).map(drop),
            young_person: Err("not_allowed"),
            adviser: Ok(()),
        },
        Row {
            name: "close an appointment that has started",
            op: |f, a| f.doc.close_appointment(a, f.now, f.past_appointment, Presence::Present).map(drop),
            young_person: Err("not_allowed"),
            adviser: Ok(()),
        },
        Row {
            name: "close an appointment before it starts",
            op: |f, a| f.doc.close_appointment(a, f.now, f.future_appointment, Presence::Absent).map(drop),
            young_person: Err("not_allowed"),
            adviser: Err("presence_too_early"),
        },
        Row {
            name: "answer an appointment",
            op: |f, a| {
                f.doc.answer_appointment(a, f.now, f.future_appointment, AppointmentResponse::Accepted).map(drop)
            },
            young_person: Ok(()),
            adviser: Err("not_allowed"),
        },
        Row {
            name: "answer a canceled appointment",
            op: |f, a| {
                f.doc.cancel_appointment(&Author::adviser(f.adviser), f.now, f.future_appointment).unwrap();
                f.doc.answer_appointment(a, f.now, f.future_appointment, AppointmentResponse::Declined).map(drop)
            },
            young_person: Err("appointment_canceled"),
            adviser: Err("not_allowed"),
        },
        Row {
            name: "create a job-search task",
            op: |f, a| f.doc.create_task(a, f.now, task("Relancer l'entreprise")).map(drop),
            young_person: Ok(()),
            adviser: Err("not_allowed"),
        },
        Row {
            name: "edit a job-search task",
            op: |f, a| {
                let changes = TaskPatch { notes: Some(Some("Appelé lundi".into())), ..TaskPatch::default() };
                f.doc.update_task(a, f.now, f.task, changes).map(drop)
            },
            young_person: Ok(()),
            adviser: Err("not_allowed"),
        },
        Row {
            name: "complete a job-search task",
            op: |f, a| f.doc.complete_task(a, f.now, f.task).map(drop),
            young_person: Ok(()),
            adviser: Err("not_allowed"),
        },
        Row {
            name: "comment a job-search task",
            op: |f, a| f.doc.add_comment(a, f.now, Collection::Tasks, f.task, None, "Bien joué".into()).map(drop),
            young_person: Ok(()),
            adviser: Ok(()),
        },
    ]
}

fn outcome(result: Result<(), EditError>) -> Result<(), String> {
    match result {
        Ok(()) => Ok(()),
        Err(EditError::Refused(reasons)) => Err(reasons.first().map(|r| r.code().to_owned()).unwrap_or_default()),
        Err(other) => Err(format!("unexpected error: {other}")),
    }
}

#[test]
fn every_role_and_operation() {
    let mut failures = Vec::new();
    for row in rows() {
        for who in EVERYONE {
            let mut fixture = Fixture::new();
            let before = fixture.doc.heads();
            let a = author(&fixture, who);
            let expected = match who {
                Who::YoungPerson => row.young_person.map_err(str::to_owned),
                Who::Adviser => row.adviser.map_err(str::to_owned),
                _ => Err("no_access".to_owned()),
            };
            let got = outcome((row.op)(&mut fixture, &a));
            if got != expected {
                failures.push(format!("{} by {who:?}: expected {expected:?}, got {got:?}", row.name));
            }
            if got.is_err() && row.name != "answer a canceled appointment" && row.name != "delete a commented action" {
                assert_eq!(fixture.doc.heads(), before, "{}: a refused edit must not change the document", row.name);
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn creating_twice_with_the_same_id_creates_one_entity() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let id = Uuid::new_v4();
    let first = f.doc.create_action(&yp, f.now, sync_core::edit::NewAction { id: Some(id), ..action("CV") }).unwrap();
    let heads = f.doc.heads();
    let again = f.doc.create_action(&yp, f.now, sync_core::edit::NewAction { id: Some(id), ..action("CV") }).unwrap();
    assert!(first.change.is_some());
    assert_eq!(again.change, None);
    assert_eq!(f.doc.heads(), heads);
    assert_eq!(f.doc.plan().actions.iter().filter(|a| a.id == id).count(), 1);
}

#[test]
fn a_refusal_names_the_field_and_reads_in_french() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    let Err(EditError::Refused(reasons)) = f.doc.create_action(&yp, f.now, action(&"x".repeat(201))) else {
        panic!("expected a refusal");
    };
    assert_eq!(reasons[0].field(), Some("title"));
    assert_eq!(reasons[0].to_string(), "le champ « title » dépasse 200 caractères");
}

#[test]
fn completing_sets_completed_at_and_reopening_clears_it() {
    let mut f = Fixture::new();
    let yp = Author::young_person(f.young_person);
    f.doc.complete_action(&yp, f.now, f.open_action).unwrap();
    let done = f.doc.plan().action(f.open_action).cloned().unwrap();
    assert_eq!(done.completed_at, Some(f.now));
    let changes = ActionPatch { status: Some(sync_core::model::ActionStatus::InProgress), ..ActionPatch::default() };
    f.doc.update_action(&yp, f.now, f.open_action, changes).unwrap();
    assert_eq!(f.doc.plan().action(f.open_action).unwrap().completed_at, None);
}

/// `coupled_fields` names every other field the check of a field reads: changing any field it does
/// not name never changes that field's verdict. Checked over the fixture's entities, both writers,
/// and a pool of values of every shape the schema uses.
#[test]
fn coupled_fields_name_every_field_a_check_reads() {
    use sync_core::model::instant_node;
    use sync_core::node::Node;
    use sync_core::rules::{RuleContext, check_entity, coupled_fields};

    let f = Fixture::new();
    let ctx = RuleContext { young_person_id: Some(f.young_person), now: f.now };
    let adviser_qualification = Node::map()
        .with("code", Node::from("EMPLOI"))
        .with("hours", Node::Int(3))
        .with("by", Node::map().with("id", Node::from(f.adviser.to_string())).with("role", Node::from("adviser")))
        .with("at", instant_node(f.now));
    let values: Vec<Option<Node>> = vec![
        None,
        Some(Node::from("done")),
        Some(Node::from("in_progress")),
        Some(Node::from("scheduled")),
        Some(Node::from("canceled")),
        Some(Node::from("accepted")),
        Some(Node::from("present")),
        Some(instant_node(f.now - Duration::days(1))),
        Some(instant_node(f.now + Duration::days(30))),
        Some(instant_node(f.now - Duration::days(800))),
        Some(Node::from("2026-04-01")),
        Some(Node::Int(45)),
        Some(Node::Bool(true)),
        Some(adviser_qualification),
    ];
    let contexts: Vec<Option<Node>> = values.iter().step_by(3).cloned().collect();
    let entities = [
        (Collection::Actions, f.open_action),
        (Collection::Actions, f.done_action),
        (Collection::Actions, f.qualified_action),
        (Collection::Appointments, f.future_appointment),
        (Collection::Appointments, f.past_appointment),
        (Collection::Tasks, f.task),
    ];
    let verdict_on = |author: &Author, collection, id: &str, before: &Node, after: &Node, field: &str| {
        check_entity(&ctx, author, collection, id, Some(before), Some(after))
            .into_iter()
            .find(|v| matches!(&v.effect.target, sync_core::Target::Field { field: f, .. } if f == field))
            .map(|v| v.refusal.map(|r| r.code()))
    };
    let mut compared = 0;
    for author in [Author::young_person(f.young_person), Author::adviser(f.adviser)] {
        for (collection, id) in entities {
            let id = id.to_string();
            let before = f.doc.entity_node(collection, &id, None).unwrap();
            let known = collection.known_fields();
            for &field in known.iter().filter(|&&k| !matches!(k, "id" | "comments" | "created_by" | "created_at")) {
                for value in &values {
                    let after = before.clone().with(field, value.clone());
                    let alone = verdict_on(&author, collection, &id, &before, &after, field);
                    for &other in
                        known.iter().filter(|&&o| o != field && !coupled_fields(collection, field).contains(&o))
                    {
                        for context in &contexts {
                            let with_other = after.clone().with(other, context.clone());
                            let together = verdict_on(&author, collection, &id, &before, &with_other, field);
                            assert_eq!(
                                alone, together,
                                "{collection:?}.{field} = {value:?}: its verdict changed with {other} = {context:?}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(compared > 10_000, "only {compared} comparisons");
}
