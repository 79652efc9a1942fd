#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests: replicas that edit concurrently and sync in any order converge; the server's
//! review and compensation always leave a plan the rulebook accepts and never undo an allowed edit.

use crate::common;

use automerge::sync::{State, SyncDoc};
use chrono::Duration;
use common::{action, appointment, t0, task};
use proptest::prelude::*;
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::model::{AppointmentResponse, QualificationCode};
use sync_core::node::Node;
use sync_core::review::{compensate, review};
use sync_core::schema::Collection;
use sync_core::{Author, PlanDocument, Target};
use uuid::Uuid;

/// A small pool of ids so that replicas often touch the same entities concurrently.
fn pool_id(i: u8) -> Uuid {
    Uuid::from_u128(0x5eed_0000 + u128::from(i % 4))
}

#[derive(Clone, Debug)]
enum Op {
    CreateAction(u8),
    Retitle(u8, String),
    Complete(u8),
    Reopen(u8),
    Cancel(u8),
    Comment(u8),
    Qualify(u8),
    Delete(u8),
    CreateTask(u8),
    CompleteTask(u8),
    Schedule(u8),
    Answer(u8),
    /// A hand-written forbidden edit, as a modified app could send: flips a qualification on.
    ForgeQualification(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::CreateAction),
        (0u8..4, "[a-z ]{1,12}").prop_map(|(i, t)| Op::Retitle(i, t)),
        (0u8..4).prop_map(Op::Complete),
        (0u8..4).prop_map(Op::Reopen),
        (0u8..4).prop_map(Op::Cancel),
        (0u8..4).prop_map(Op::Comment),
        (0u8..4).prop_map(Op::Qualify),
        (0u8..4).prop_map(Op::Delete),
        (0u8..4).prop_map(Op::CreateTask),
        (0u8..4).prop_map(Op::CompleteTask),
        (0u8..4).prop_map(Op::Schedule),
        (0u8..4).prop_map(Op::Answer),
        (0u8..4).prop_map(Op::ForgeQualification),
    ]
}

struct Replica {
    doc: PlanDocument,
    author: Author,
}

/// Applies `op` through the typed API (the local rulebook refuses what it must; that is fine) or,
/// for forged edits, by writing the document directly.
fn apply(r: &mut Replica, op: &Op, step: i64) {
    let now = t0() + Duration::minutes(step);
    let a = &r.author;
    let d = &mut r.doc;
    let _ = match op {
        Op::CreateAction(i) => {
            d.create_action(a, now, NewAction { id: Some(pool_id(*i)), ..action("Action") }).map(drop)
        }
        Op::Retitle(i, t) => d
            .update_action(a, now, pool_id(*i), ActionPatch { title: Some(t.clone()), ..ActionPatch::default() })
            .map(drop),
        Op::Complete(i) => d.complete_action(a, now, pool_id(*i)).map(drop),
        Op::Reopen(i) => d
            .update_action(
                a,
                now,
                pool_id(*i),
                ActionPatch { status: Some(sync_core::model::ActionStatus::InProgress), ..ActionPatch::default() },
            )
            .map(drop),
        Op::Cancel(i) => d.cancel_action(a, now, pool_id(*i)).map(drop),
        Op::Comment(i) => {
            d.add_comment(a, now, Collection::Actions, pool_id(*i), None, "Un commentaire".into()).map(drop)
        }
        Op::Qualify(i) => d.qualify_action(a, now, pool_id(*i), QualificationCode::Emploi, None).map(drop),
        Op::Delete(i) => d.delete_action(a, now, pool_id(*i)).map(drop),
        Op::CreateTask(i) => {
            d.create_task(a, now, sync_core::edit::NewTask { id: Some(pool_id(*i)), ..task("Démarche") }).map(drop)
        }
        Op::CompleteTask(i) => d.complete_task(a, now, pool_id(*i)).map(drop),
        Op::Schedule(i) => d
            .schedule_appointment(
                a,
                now,
                sync_core::edit::NewAppointment { id: Some(pool_id(*i)), ..appointment(now + Duration::days(3)) },
            )
            .map(drop),
        Op::Answer(i) => d.answer_appointment(a, now, pool_id(*i), AppointmentResponse::Accepted).map(drop),
        Op::ForgeQualification(i) => {
            let target = Target::Field {
                collection: Collection::Actions,
                id: pool_id(*i).to_string(),
                field: "qualification".into(),
            };
            let q = Node::map()
                .with("code", Node::from("SANTE"))
                .with("hours", Node::Int(2))
                .with("by", a.person().to_node())
                .with("at", Node::from("2026-03-02T10:00:00.000Z"));
            if d.write_target(&target, Some(&q)).is_ok() {
                d.commit("forged", now);
            } else {
                d.rollback();
            }
            Ok(())
        }
    };
}

/// Runs the automerge sync protocol between two replicas until neither has anything to say.
fn sync_pair(a: &mut PlanDocument, b: &mut PlanDocument, sa: &mut State, sb: &mut State) {
    for _ in 0..32 {
        let m1 = a.automerge_mut().sync().generate_sync_message(sa);
        if let Some(m) = &m1 {
            b.automerge_mut().sync().receive_sync_message(sb, m.clone()).unwrap();
        }
        let m2 = b.automerge_mut().sync().generate_sync_message(sb);
        if let Some(m) = &m2 {
            a.automerge_mut().sync().receive_sync_message(sa, m.clone()).unwrap();
        }
        if m1.is_none() && m2.is_none() {
            return;
        }
    }
    panic!("sync did not settle");
}

#[derive(Clone, Debug)]
enum Step {
    Edit(usize, Op),
    Sync(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0usize..3, op()).prop_map(|(r, o)| Step::Edit(r, o)),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Step::Sync(a, b)),
    ]
}

fn replicas(young_person: Uuid, adviser: Uuid) -> Vec<Replica> {
    let genesis = || PlanDocument::genesis(young_person).unwrap();
    let mut out = vec![
        Replica { doc: genesis(), author: Author::young_person(young_person) },
        Replica { doc: genesis(), author: Author::young_person(young_person) },
        Replica { doc: genesis(), author: Author::adviser(adviser) },
    ];
    for r in &mut out {
        r.doc.set_actor(automerge::ActorId::random());
    }
    out
}

/// One sync of a replica with the server: merge, review, compensate, then check the properties.
fn sync_with_server(
    server: &mut PlanDocument,
    replica: &mut Replica,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), TestCaseError> {
    let before = server.heads();
    server.automerge_mut().merge(replica.doc.automerge_mut()).unwrap();
    let r = review(server, &before, &replica.author, now);
    compensate(server, &r, &replica.author, now).unwrap();

    let again = review(server, &before, &replica.author, now);
    for (target, reason) in again.refusals() {
        prop_assert!(
            matches!(target.entity(), Some((Collection::Notices, _))),
            "still refused after compensation: {:?} {:?}",
            target,
            reason
        );
    }
    for verdict in r.allowed() {
        let kept = match &verdict.effect.target {
            Target::Root { key } => server.root_value(key, None),
            Target::Entity { collection, id } => server.entity_node(*collection, id, None),
            Target::Field { collection, id, field } => {
                server.entity_node(*collection, id, None).and_then(|e| e.field(field).cloned())
            }
            Target::Comment { collection, id, comment_id } => server
                .entity_node(*collection, id, None)
                .and_then(|e| e.field("comments").and_then(|c| c.field(comment_id)).cloned()),
        };
        prop_assert_eq!(kept.filter(|n| !n.is_null()), verdict.effect.after.clone(), "allowed effect lost");
    }
    replica.doc.automerge_mut().merge(server.automerge_mut()).unwrap();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Two phones of the young person and the adviser edit and sync in random orders and
    /// partitions; after a final exchange they all hold the same heads and the same plan.
    #[test]
    fn replicas_converge(steps in proptest::collection::vec(step(), 1..40)) {
        let (young_person, adviser) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut reps = replicas(young_person, adviser);
        let mut states: Vec<Vec<State>> = (0..3).map(|_| (0..3).map(|_| State::new()).collect()).collect();
        for (n, s) in steps.iter().enumerate() {
            match s {
                Step::Edit(r, op) => apply(&mut reps[*r], op, n as i64),
                Step::Sync(a, b) if a != b => {
                    let (lo, hi) = if a < b { (*a, *b) } else { (*b, *a) };
                    let (left, right) = reps.split_at_mut(hi);
                    let mut s_lo = std::mem::take(&mut states[lo][hi]);
                    let mut s_hi = std::mem::take(&mut states[hi][lo]);
                    sync_pair(&mut left[lo].doc, &mut right[0].doc, &mut s_lo, &mut s_hi);
                    states[lo][hi] = s_lo;
                    states[hi][lo] = s_hi;
                }
                Step::Sync(..) => {}
            }
        }
        // Heal every partition.
        for _ in 0..2 {
            for (a, b) in [(0, 1), (1, 2), (0, 2)] {
                let (left, right) = reps.split_at_mut(b);
                let mut s_a = std::mem::take(&mut states[a][b]);
                let mut s_b = std::mem::take(&mut states[b][a]);
                sync_pair(&mut left[a].doc, &mut right[0].doc, &mut s_a, &mut s_b);
                states[a][b] = s_a;
                states[b][a] = s_b;
            }
        }
        let heads: Vec<_> = reps.iter_mut().map(|r| { let mut h = r.doc.heads(); h.sort(); h }).collect();
        prop_assert_eq!(&heads[0], &heads[1]);
        prop_assert_eq!(&heads[1], &heads[2]);
        let plans: Vec<_> = reps.iter().map(|r| r.doc.plan()).collect();
        prop_assert_eq!(&plans[0], &plans[1]);
        prop_assert_eq!(&plans[1], &plans[2]);
    }

    /// Star topology, as in production: each replica works offline, then syncs with the server,
    /// which reviews and compensates. After every compensation the rulebook accepts the plan (only
    /// the server's own notice remains as an effect), every allowed effect is still there, and
    /// all replicas converge with the server.
    #[test]
    fn compensation_always_yields_an_accepted_plan(
        rounds in proptest::collection::vec((proptest::collection::vec((0usize..3, op()), 0..8), 0usize..3), 1..6)
    ) {
        let (young_person, adviser) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut reps = replicas(young_person, adviser);
        let mut server = PlanDocument::genesis(young_person).unwrap();
        server.set_actor(automerge::ActorId::random());
        let mut step = 0i64;
        for (edits, syncing) in &rounds {
            for (r, op) in edits {
                step += 1;
                apply(&mut reps[*r], op, step);
            }
            let now = t0() + Duration::minutes(step);
            sync_with_server(&mut server, &mut reps[*syncing], now)?;
        }
        // Everyone comes online once more: then all hold the server's plan.
        let now = t0() + Duration::minutes(step + 1);
        for r in &mut reps {
            sync_with_server(&mut server, r, now)?;
        }
        for r in &mut reps {
            r.doc.automerge_mut().merge(server.automerge_mut()).unwrap();
        }
        let plan = server.plan();
        for r in &reps {
            prop_assert_eq!(&r.doc.plan(), &plan);
        }
        prop_assert!(plan.unreadable.is_empty(), "{:?}", plan.unreadable);
    }
}
