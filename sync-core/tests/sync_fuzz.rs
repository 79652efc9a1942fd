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
