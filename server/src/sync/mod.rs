//! The sync gateway: plans kept in sync with phones and browsers over the automerge-repo protocol
//! (WebSocket `/sync`) and its HTTP fallback, with live fan-out to every reader.

pub mod gateway;
pub mod http;
pub mod hub;

use sync_core::model::Notice;

/// The `data` of the ephemeral message that tells an author some of their edits were undone:
/// CBOR `{type: "notice", id, reasons: [..]}` (what automerge-repo clients decode).
pub fn notice_payload(notice: &Notice) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    let written = (|| {
        e.map(3)?.str("type")?.str("notice")?.str("id")?.str(&notice.id.to_string())?;
        e.str("reasons")?.array(notice.reasons.len() as u64)?;
        for reason in &notice.reasons {
            e.str(reason)?;
        }
        Ok::<_, minicbor::encode::Error<std::convert::Infallible>>(())
    })();
    debug_assert!(written.is_ok(), "writing CBOR into a Vec cannot fail");
    e.into_writer()
}
