//! The sync gateway: plans and conversations kept in sync with phones and browsers over the
//! automerge-repo protocol (WebSocket `/sync`) and its HTTP fallback, with live fan-out to every
//! reader.

pub mod gateway;
pub mod http;
pub mod hub;
pub mod target;

use sync_core::model::Notice;

/// Every instance's own peer id starts with this (`pass-emploi-server-<instance>`); no client may
/// `join` with one.
pub const SERVER_PEER_PREFIX: &str = "pass-emploi-server-";

/// Whether a client's peer id would pass for a server's (any instance, any case).
pub fn impersonates_server(peer_id: &str) -> bool {
    let prefix = SERVER_PEER_PREFIX.as_bytes();
    let id = peer_id.trim_start().as_bytes();
    id.len() >= prefix.len() && id[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The `senderId` of an ephemeral message relayed from a client: who sent it, as authenticated
/// (`user:<uuid>/<peer id>`), never what the client claimed.
pub fn relayed_sender_id(user_id: uuid::Uuid, peer_id: &str) -> String {
    format!("user:{user_id}/{peer_id}")
}

/// Whether a client's ephemeral `data` may be relayed: well-formed CBOR (one item) that is not a
/// map with `type: "notice"` (server notices are the server's alone). Undecodable data is refused
/// too: what the readers' decoder would make of it is unknown.
pub fn relayable_ephemeral(data: &[u8]) -> bool {
    let mut d = minicbor::Decoder::new(data);
    let claims_notice = match d.datatype() {
        Ok(minicbor::data::Type::Map | minicbor::data::Type::MapIndef) => match map_has_notice_type(&mut d) {
            Ok(claims) => claims,
            Err(_) => return false,
        },
        Ok(minicbor::data::Type::Break | minicbor::data::Type::Unknown(_)) => return false,
        Ok(_) => {
            if d.skip().is_err() {
                return false;
            }
            false
        }
        Err(_) => return false,
    };
    !claims_notice && d.position() == data.len()
}

/// Reads a whole map; true when any `type` key holds the text `notice` (any case).
fn map_has_notice_type(d: &mut minicbor::Decoder<'_>) -> Result<bool, minicbor::decode::Error> {
    use minicbor::data::Type;
    let len = d.map()?;
    let mut claims = false;
    let mut read = 0u64;
    loop {
        match len {
            Some(n) if read >= n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        read += 1;
        let key_is_type = match d.datatype()? {
            Type::String => d.str()? == "type",
            Type::StringIndef => d.str_iter()?.collect::<Result<String, _>>()? == "type",
            _ => {
                d.skip()?;
                false
            }
        };
        if key_is_type {
            let value = match d.datatype()? {
                Type::String => Some(d.str()?.to_owned()),
                Type::StringIndef => Some(d.str_iter()?.collect::<Result<String, _>>()?),
                _ => {
                    d.skip()?;
                    None
                }
            };
            claims |= value.is_some_and(|v| v.trim().eq_ignore_ascii_case("notice"));
        } else {
            d.skip()?;
        }
    }
    Ok(claims)
}

/// A hidden way for the server's own tests to make a session panic (feature `test-support`,
/// enabled only by the crate's dev-dependency on itself; never in a shipped build).
#[cfg(feature = "test-support")]
pub mod test_support {
    /// The `data` of an ephemeral message that makes the receiving session panic.
    pub const PANIC_PAYLOAD: &[u8] = b"test-support: panic";
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(
        f: impl FnOnce(&mut minicbor::Encoder<Vec<u8>>) -> Result<(), minicbor::encode::Error<std::convert::Infallible>>,
    ) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        f(&mut e).unwrap_or_else(|_| unreachable!());
        e.into_writer()
    }

    #[test]
    fn server_peer_ids_are_reserved_in_any_case() {
        assert!(impersonates_server("pass-emploi-server-5f0c"));
        assert!(impersonates_server("  PASS-Emploi-Server-x"));
        assert!(!impersonates_server("phone-pass-emploi-server-"));
        assert!(!impersonates_server("pass-emploi-serv"));
        assert!(!impersonates_server("été"));
    }

    #[test]
    fn client_ephemerals_never_pass_for_notices() {
        let notice =
            Notice { id: uuid::Uuid::nil(), for_user: uuid::Uuid::nil(), at: chrono::Utc::now(), reasons: vec![] };
        assert!(!relayable_ephemeral(&notice_payload(&notice)));
        // Presence data, a bare value, a map whose `type` is something else: relayed.
        assert!(relayable_ephemeral(&cbor(|e| e.map(1)?.str("x")?.u8(1).map(|_| ()))));
        assert!(relayable_ephemeral(&cbor(|e| e.str("notice").map(|_| ()))));
        assert!(relayable_ephemeral(&cbor(|e| e.map(2)?.str("type")?.str("cursor")?.u8(3)?.str("type").map(|_| ()))));
        // `notice` however spelt, after another `type`, in an indefinite map or text.
        assert!(!relayable_ephemeral(&cbor(|e| e.map(1)?.str("type")?.str(" Notice").map(|_| ()))));
        assert!(!relayable_ephemeral(&cbor(|e| e
            .map(2)?
            .str("type")?
            .str("x")?
            .str("type")?
            .str("notice")
            .map(|_| ()))));
        assert!(!relayable_ephemeral(&cbor(|e| {
            e.begin_map()?.begin_str()?.str("ty")?.str("pe")?.end()?.str("notice")?.end().map(|_| ())
        })));
        // Not CBOR, truncated, or trailing bytes: refused.
        assert!(!relayable_ephemeral(b""));
        assert!(!relayable_ephemeral(&[0xa1, 0x64, b't']));
        assert!(!relayable_ephemeral(&[0x01, 0x02]));
        assert!(!relayable_ephemeral(&[0xff]));
    }
}
