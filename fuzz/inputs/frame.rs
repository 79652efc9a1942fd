//! One input of the `frame` fuzz target, shared with its replay test
//! (`sync-core/tests/integration/protocol_fixtures.rs`): any bytes decode to a frame or an error, never a
//! panic, and a decoded frame re-encodes to bytes that decode to the same frame.

use sync_core::protocol::Frame;

pub fn one_frame(bytes: &[u8]) {
    if let Ok(frame) = Frame::decode(bytes) {
        let again = Frame::decode(&frame.encode());
        assert_eq!(again.as_ref(), Ok(&frame), "a decoded frame re-encodes to the same frame");
        let _ = frame.document_id();
    }
}
