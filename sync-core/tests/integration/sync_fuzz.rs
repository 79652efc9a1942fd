#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The sync handler fed arbitrary and mutated sync messages: an error, never a panic, and a
//! refused message leaves the plan readable.

use automerge::sync::{self, SyncDoc};
use chrono::Utc;
use proptest::prelude::*;
use sync_core::edit::NewAction;
use sync_core::engine::PlanSync;
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

/// A real first sync message from a phone that made one edit.
fn real_message() -> Vec<u8> {
    let young_person = Uuid::from_u128(7);
    let mut phone = PlanDocument::genesis(young_person).unwrap();
    phone.set_actor(automerge::ActorId::random());
    let author = Author::young_person(young_person);
    phone.create_action(&author, Utc::now(), NewAction { title: "CV".into(), ..NewAction::default() }).unwrap();
    let mut state = sync::State::new();
    // Skip the first (heads-only) message: the second one carries changes once the server answered.
    let mut server = PlanDocument::genesis(young_person).unwrap();
    let mut server_state = sync::State::new();
    let first = phone.automerge_mut().sync().generate_sync_message(&mut state).unwrap();
    server.automerge_mut().sync().receive_sync_message(&mut server_state, first).unwrap();
    let answer = server.automerge_mut().sync().generate_sync_message(&mut server_state).unwrap();
    phone.automerge_mut().sync().receive_sync_message(&mut state, answer).unwrap();
    phone.automerge_mut().sync().generate_sync_message(&mut state).unwrap().encode()
}

fn engine() -> (PlanSync, Author) {
    let young_person = Uuid::from_u128(7);
    (PlanSync::new(PlanDocument::genesis(young_person).unwrap()), Author::young_person(young_person))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (mut sync, author) = engine();
        let _ = sync.receive("peer", &author, &bytes, Utc::now(), |_| true);
        let _ = sync.document().plan();
    }

    #[test]
    fn mutated_real_messages_never_panic(position in 0usize..4096, byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = real_message();
        let at = position % bytes.len();
        bytes[at] = byte;
        if cut {
            bytes.truncate(at);
        }
        let (mut sync, author) = engine();
        let _ = sync.receive("peer", &author, &bytes, Utc::now(), |_| true);
        let _ = sync.generate("peer");
        let _ = sync.document().plan();
    }
}

#[test]
fn the_unmutated_message_is_accepted() {
    let (mut sync, author) = engine();
    let received = sync.receive("peer", &author, &real_message(), Utc::now(), |_| true).unwrap();
    assert!(received.changed());
    assert_eq!(sync.document().plan().actions.len(), 1);
}

/// Honest peers are never refused by the message checks: a phone back from a long offline spell
/// sends its whole document (a V2 message, deflated columns) and compressed changes; every message
/// either side writes passes `sync_message::check`, and the two converge.
#[test]
fn what_automerge_writes_passes_the_message_checks() {
    use sync_core::sync_message::{MessageLimits, check};
    let young_person = Uuid::from_u128(7);
    let author = Author::young_person(young_person);
    let mut phone = PlanDocument::genesis(young_person).unwrap();
    phone.set_actor(automerge::ActorId::random());
    let long = "Préparer l'entretien avec la mission locale et relire le CV ".repeat(12);
    for i in 0..60 {
        let action =
            NewAction { title: format!("Action {i}"), description: Some(long.clone()), ..NewAction::default() };
        phone.create_action(&author, Utc::now(), action).unwrap();
    }
    let (mut server, _) = engine();
    let mut state = sync::State::new();
    let limits = MessageLimits::default();
    let (mut biggest, mut whole_documents) = (0, 0);
    // A chunk header: the magic bytes, a checksum, then the chunk type (0: a whole document).
    let is_document = |w: &[u8]| w[..4] == [0x85, 0x6f, 0x4a, 0x83] && w[8] == 0;
    for _ in 0..16 {
        let up = phone.automerge_mut().sync().generate_sync_message(&mut state).map(sync::Message::encode);
        if let Some(bytes) = &up {
            let summary = check(bytes, &limits).expect("the phone's message passes");
            biggest = biggest.max(summary.change_bytes);
            whole_documents += bytes.windows(9).filter(|w| is_document(w)).count();
            server.receive("phone", &author, bytes, Utc::now(), |_| true).expect("accepted");
        }
        let down = server.generate("phone");
        if let Some(bytes) = &down {
            check(bytes, &limits).expect("the server's message passes");
            phone
                .automerge_mut()
                .sync()
                .receive_sync_message(&mut state, sync::Message::decode(bytes).unwrap())
                .unwrap();
        }
        if up.is_none() && down.is_none() {
            break;
        }
    }
    assert_eq!(server.document().plan().actions.len(), 60);
    assert_eq!(server.document().plan(), phone.plan());
    assert!(whole_documents > 0, "the phone sent its whole document");
    assert!(biggest > 30_000, "the whole document went up inflated ({biggest} bytes)");
}

use crate::fuzz_corpus;
use crate::fuzz_sync;

/// The `plan_sync` fuzz target's corpus and reproducers, through the target's own function.
#[test]
fn plan_sync_fuzz_corpus_replays() {
    let count = fuzz_corpus::replay("plan_sync", fuzz_sync::one_sync_message);
    assert!(count > 5, "the corpus is there ({count} inputs)");
}

/// The seeds themselves pass (they are real messages of a phone's exchange with the server).
#[test]
fn plan_sync_fuzz_seeds_are_accepted() {
    let seeds = fuzz_sync::seed_messages();
    assert!(seeds.len() > 5);
    for seed in &seeds {
        fuzz_sync::one_sync_message(seed);
    }
}

/// The seed step of `scripts/fuzz`: real sync messages, and saved plans for `document_load`.
#[test]
#[ignore = "writes fuzz/corpus/plan_sync and fuzz/corpus/document_load (scripts/fuzz seed)"]
fn plan_sync_and_document_load_fuzz_seeds() {
    fuzz_corpus::write_seeds("plan_sync", &fuzz_sync::seed_messages());
    fuzz_corpus::write_seeds("document_load", &fuzz_sync::seed_documents());
}
