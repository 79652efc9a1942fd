#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of the conversation: two phones of the young person and their adviser send,
//! edit, delete and read concurrently and sync in random orders; they end with the same heads and
//! the same messages in the same order. Through the server, whose review undoes forged writes,
//! every message sent is kept, with a text its author wrote, and no forged text survives.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::t0;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use sync_core::Author;
use sync_core::conversation::rules::Target;
use sync_core::conversation::{ConversationDocument, NewImportant, NewMessage, compensate, review};
use sync_core::model::instant_node;
use sync_core::node::Node;
use uuid::Uuid;

#[derive(Clone, Debug)]
enum Op {
    Send(String),
    /// Edit the k-th message this replica knows (refused by the typed API unless it is its own).
    Edit(usize, String),
    Delete(usize),
    MarkRead,
    Pin,
    /// Raw writes, as a modified app could send: rewrite the k-th message, whoever wrote it.
    Forge(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => "[a-zé ]{1,10}".prop_map(Op::Send),
        2 => (0usize..8, "[a-z]{1,8}").prop_map(|(k, t)| Op::Edit(k, t)),
        1 => (0usize..8).prop_map(Op::Delete),
        1 => Just(Op::MarkRead),
        1 => Just(Op::Pin),
        1 => (0usize..8).prop_map(Op::Forge),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Edit(usize, Op),
    /// Two replicas sync directly (the first property) or a replica syncs with the server.
    Sync(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..3, op()).prop_map(|(r, o)| Step::Edit(r, o)),
        2 => (0usize..3, 0usize..3).prop_map(|(a, b)| Step::Sync(a, b)),
    ]
}

const FORGED: &str = "FORGED";

struct Replica {
    doc: ConversationDocument,
    author: Author,
}

/// What the typed API accepted: per message, its author and every text they gave it.
#[derive(Default)]
struct Oracle {
    sent: BTreeMap<Uuid, (Uuid, BTreeSet<String>)>,
    deleted: BTreeSet<Uuid>,
    forged: usize,
}

fn replicas() -> (Vec<Replica>, ConversationDocument) {
    let young_person = Uuid::from_u128(1);
    let mut server = ConversationDocument::genesis(young_person).unwrap();
    let authors =
        [Author::young_person(young_person), Author::young_person(young_person), Author::adviser(Uuid::from_u128(2))];
    let reps = authors.into_iter().map(|author| Replica { doc: server.fork(), author }).collect();
    (reps, server)
}

fn at(n: usize) -> DateTime<Utc> {
    t0() + Duration::seconds(n as i64)
}

fn apply(rep: &mut Replica, op: &Op, now: DateTime<Utc>, oracle: &mut Oracle) {
    let known: Vec<Uuid> = rep.doc.conversation().messages.iter().map(|m| m.id).collect();
    let pick = |k: usize| (!known.is_empty()).then(|| known[k % known.len()]);
    match op {
        Op::Send(text) => {
            let new = NewMessage { id: Some(Uuid::new_v4()), text: text.clone(), reference: None };
            if let Ok(out) = rep.doc.send_message(&rep.author, now, new) {
                oracle.sent.insert(out.id, (rep.author.user_id, BTreeSet::from([text.clone()])));
            }
        }
        Op::Edit(k, text) => {
            if let Some(id) = pick(*k) {
                if rep.doc.edit_message(&rep.author, now, id, text).is_ok() {
                    oracle.sent.get_mut(&id).unwrap().1.insert(text.clone());
                }
            }
        }
        Op::Delete(k) => {
            if let Some(id) = pick(*k) {
                if rep.doc.delete_message(&rep.author, now, id).is_ok() {
                    oracle.deleted.insert(id);
                }
            }
        }
        Op::MarkRead => {
            let _ = rep.doc.mark_all_read(&rep.author, now);
        }
        Op::Pin => {
            let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
            let new = NewImportant { text: "Atelier".into(), starts_on: day, ends_on: day };
            let _ = rep.doc.pin_important(&rep.author, now, new);
        }
        Op::Forge(k) => {
            let mine = |id: &Uuid| oracle.sent.get(id).is_some_and(|(author, _)| *author == rep.author.user_id);
            let Some(id) = known.iter().filter(|id| !mine(id)).nth(*k % known.len().max(1)).copied() else {
                return;
            };
            let field = |f: &str| Target::MessageField { id: id.to_string(), field: f.into() };
            rep.doc.write_target(&field("text"), Some(&Node::from(FORGED))).unwrap();
            rep.doc.write_target(&field("edited_at"), Some(&instant_node(now))).unwrap();
            rep.doc.commit("forged", now);
            oracle.forged += 1;
        }
    }
}

fn merge(into: &mut ConversationDocument, from: &mut ConversationDocument) {
    into.automerge_mut().merge(from.automerge_mut()).unwrap();
}

/// The replica's changes go to the server, which reviews them as its author and compensates;
/// then the server's changes come back.
fn sync_with_server(server: &mut ConversationDocument, rep: &mut Replica, now: DateTime<Utc>) {
    let before = server.heads();
    merge(server, &mut rep.doc);
    let reviewed = review(server, &before, &rep.author, now);
    compensate(server, &reviewed, &rep.author, now).unwrap();
    merge(&mut rep.doc, server);
}

fn same_everywhere(docs: &mut [&mut ConversationDocument]) -> Result<(), TestCaseError> {
    let heads = docs[0].heads();
    let messages = docs[0].conversation().messages;
    for doc in docs.iter_mut().skip(1) {
        prop_assert_eq!(doc.heads(), heads.clone());
        prop_assert_eq!(doc.conversation().messages, messages.clone());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Without the server: whatever the order of edits and pairwise syncs, a final exchange leaves
    /// the same heads and the same messages, in the same order, everywhere.
    #[test]
    fn replicas_converge_in_any_order(steps in prop::collection::vec(step(), 1..40)) {
        let (mut reps, _) = replicas();
        let mut oracle = Oracle::default();
        for (n, s) in steps.iter().enumerate() {
            match s {
                Step::Edit(r, op) => apply(&mut reps[*r], op, at(n), &mut oracle),
                Step::Sync(a, b) if a != b => {
                    let (lo, hi) = if a < b { (*a, *b) } else { (*b, *a) };
                    let (left, right) = reps.split_at_mut(hi);
                    merge(&mut left[lo].doc, &mut right[0].doc);
                    merge(&mut right[0].doc, &mut left[lo].doc);
                }
                Step::Sync(..) => {}
            }
        }
        for _ in 0..2 {
            for (lo, hi) in [(0, 1), (0, 2), (1, 2)] {
                let (left, right) = reps.split_at_mut(hi);
                merge(&mut left[lo].doc, &mut right[0].doc);
                merge(&mut right[0].doc, &mut left[lo].doc);
            }
        }
        let [a, b, c] = &mut reps[..] else { unreachable!() };
        same_everywhere(&mut [&mut a.doc, &mut b.doc, &mut c.doc])?;
        let messages = a.doc.conversation().messages;
        let mut sorted = messages.clone();
        sorted.sort_by_key(|m| m.order_key());
        prop_assert_eq!(messages, sorted);
    }

    /// Through the server: every message sent is kept with its author and a text they wrote (or
    /// deleted, when they deleted it), and no forged text survives.
    #[test]
    fn the_server_keeps_every_allowed_message_and_undoes_forgeries(steps in prop::collection::vec(step(), 1..40)) {
        let (mut reps, mut server) = replicas();
        let mut oracle = Oracle::default();
        for (n, s) in steps.iter().enumerate() {
            match s {
                Step::Edit(r, op) => apply(&mut reps[*r], op, at(n), &mut oracle),
                Step::Sync(r, _) => sync_with_server(&mut server, &mut reps[*r], at(n)),
            }
        }
        let end = at(steps.len() + 1);
        for _ in 0..2 {
            for rep in reps.iter_mut() {
                sync_with_server(&mut server, rep, end);
            }
        }
        let [a, b, c] = &mut reps[..] else { unreachable!() };
        same_everywhere(&mut [&mut server, &mut a.doc, &mut b.doc, &mut c.doc])?;
        let conversation = server.conversation();
        prop_assert!(conversation.unreadable.is_empty(), "{:?}", conversation.unreadable);
        prop_assert_eq!(conversation.messages.len(), oracle.sent.len());
        for message in &conversation.messages {
            let (author, texts) = oracle.sent.get(&message.id).expect("only messages sent through the typed API");
            prop_assert_eq!(message.author.id, *author);
            if oracle.deleted.contains(&message.id) {
                prop_assert!(message.is_deleted());
                prop_assert_eq!(message.shown_text(), "Message supprimé");
            } else {
                let text = message.text.as_deref().unwrap_or_default();
                prop_assert!(texts.contains(text), "text {:?} is none of {:?}", text, texts);
            }
        }
        // Without forgeries nothing is undone, except an edit made on one phone to a message
        // its author deleted on the other (the deletion stands).
        if oracle.forged == 0 && oracle.deleted.is_empty() {
            prop_assert!(conversation.notices.is_empty(), "{:?}", conversation.notices);
        }
    }
}
