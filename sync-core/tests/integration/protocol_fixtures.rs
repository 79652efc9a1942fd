#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every frame of a real exchange between stock automerge-repo 2.5.6 peers decodes, and re-encodes
//! to a frame that decodes the same. Arbitrary bytes never panic the decoder.

use proptest::prelude::*;
use serde_json::Value;
use sync_core::protocol::Frame;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn stock_automerge_repo_frames_decode() {
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/automerge-repo-frames.json")).expect("fixture is JSON");
    let frames = fixture["frames"].as_array().unwrap();
    assert!(frames.len() > 20);
    for f in frames {
        let bytes = hex(f["hex"].as_str().unwrap());
        let expected = &f["decoded"];
        let frame = Frame::decode(&bytes).unwrap_or_else(|e| panic!("{expected}: {e}"));
        assert_eq!(frame.type_name(), expected["type"].as_str().unwrap());
        if let Some(doc) = expected["documentId"].as_str() {
            assert_eq!(frame.document_id().map(|d| d.to_string()).as_deref(), Some(doc));
        }
        match &frame {
            Frame::Join { sender_id, supported_protocol_versions, metadata } => {
                assert_eq!(sender_id, expected["senderId"].as_str().unwrap());
                assert_eq!(supported_protocol_versions, &vec!["1".to_owned()]);
                assert!(metadata.is_ephemeral);
            }
            Frame::Sync { data, target_id, .. } | Frame::Request { data, target_id, .. } => {
                assert_eq!(data.len() as u64, expected["data"]["bytes"].as_u64().unwrap());
                assert_eq!(target_id, expected["targetId"].as_str().unwrap());
            }
            Frame::Ephemeral { count, session_id, .. } => {
                assert_eq!(*count, expected["count"].as_u64().unwrap());
                assert_eq!(session_id, expected["sessionId"].as_str().unwrap());
            }
            _ => {}
        }
        assert_eq!(Frame::decode(&frame.encode()).as_ref(), Ok(&frame), "re-encoding {expected}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Frame::decode(&bytes);
    }

    #[test]
    fn mutated_real_frames_never_panic(index in 0usize..22, position in 0usize..400, byte in any::<u8>()) {
        let fixture: Value = serde_json::from_str(include_str!("../fixtures/automerge-repo-frames.json")).unwrap();
        let frames = fixture["frames"].as_array().unwrap();
        let mut bytes = hex(frames[index % frames.len()]["hex"].as_str().unwrap());
        let at = position % bytes.len();
        bytes[at] = byte;
        let _ = Frame::decode(&bytes);
        bytes.truncate(at);
        let _ = Frame::decode(&bytes);
    }
}

use crate::fuzz_corpus;
use crate::fuzz_frame;
use crate::fuzz_sync;

/// The `frame` fuzz target's corpus and reproducers, through the target's own function.
#[test]
fn frame_fuzz_corpus_replays() {
    let count = fuzz_corpus::replay("frame", fuzz_frame::one_frame);
    assert!(count > 10, "the corpus is there ({count} inputs)");
}

/// The seed step of `scripts/fuzz`: stock automerge-repo frames, and sync frames carrying real
/// sync messages.
#[test]
#[ignore = "writes fuzz/corpus/frame (scripts/fuzz seed)"]
fn frame_fuzz_seeds() {
    let fixture: Value = serde_json::from_str(include_str!("../fixtures/automerge-repo-frames.json")).unwrap();
    let mut seeds: Vec<Vec<u8>> =
        fixture["frames"].as_array().unwrap().iter().map(|f| hex(f["hex"].as_str().unwrap())).collect();
    let document_id = sync_core::DocumentId::from_uuid(uuid::Uuid::from_u128(0x7a11));
    for data in fuzz_sync::seed_messages().into_iter().take(4) {
        let frame = Frame::Sync { sender_id: "phone".into(), target_id: "server".into(), document_id, data };
        seeds.push(frame.encode());
    }
    fuzz_corpus::write_seeds("frame", &seeds);
}
