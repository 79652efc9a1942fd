//! The automerge-repo network protocol, version "1": one CBOR map per frame.
//!
//! Decoding is lenient where stock JavaScript peers are loose (numbers as floats, fields as CBOR
//! `undefined`, document ids as text or bytes, unknown keys) and strict everywhere else: a
//! malformed frame is an error, never a panic.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::ids::DocumentId;

/// The only protocol version.
pub const PROTOCOL_V1: &str = "1";

/// The `message` of the `error` frame with which the server ends a session whose access token
/// expired or was revoked: the client refreshes its token and reconnects (or is signed out).
pub const TOKEN_ENDED_MESSAGE: &str = "session terminée : jeton expiré ou révoqué, reconnectez-vous";

/// `peerMetadata` of `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
}

/// One frame of the protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Join {
        sender_id: String,
        metadata: PeerMetadata,
        supported_protocol_versions: Vec<String>,
    },
    Peer {
        sender_id: String,
        target_id: String,
        metadata: PeerMetadata,
        selected_protocol_version: String,
    },
    Request {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    Sync {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    DocUnavailable {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
    },
    Ephemeral {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        session_id: String,
        count: u64,
        data: Vec<u8>,
    },
    Error {
        sender_id: Option<String>,
        target_id: Option<String>,
        message: String,
    },
    Leave {
        sender_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("trame CBOR mal formée : {0}")]
    Cbor(String),
    #[error("une trame doit être une table CBOR")]
    NotAMap,
    #[error("type de message inconnu : {0}")]
    UnknownType(String),
    #[error("champ « {0} » manquant")]
    Missing(&'static str),
    #[error("champ « {0} » mal formé")]
    Invalid(&'static str),
    #[error("données en trop après la trame")]
    TrailingBytes,
}

impl From<minicbor::decode::Error> for FrameError {
    fn from(e: minicbor::decode::Error) -> Self {
        FrameError::Cbor(e.to_string())
    }
}

impl Frame {
    pub fn type_name(&self) -> &'static str {
        match self {
            Frame::Join { .. } => "join",
            Frame::Peer { .. } => "peer",
            Frame::Request { .. } => "request",
            Frame::Sync { .. } => "sync",
            Frame::DocUnavailable { .. } => "doc-unavailable",
            Frame::Ephemeral { .. } => "ephemeral",
            Frame::Error { .. } => "error",
            Frame::Leave { .. } => "leave",
        }
    }

    /// The document a frame is about, if any.
    pub fn document_id(&self) -> Option<DocumentId> {
        match self {
            Frame::Request { document_id, .. }
            | Frame::Sync { document_id, .. }
            | Frame::DocUnavailable { document_id, .. }
            | Frame::Ephemeral { document_id, .. } => Some(*document_id),
            _ => None,
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        let mut d = Decoder::new(bytes);
        let fields = RawFields::read(&mut d, 0)?;
        if d.position() != bytes.len() {
            return Err(FrameError::TrailingBytes);
        }
        fields.into_frame()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing into a Vec cannot fail; the results are checked by the round-trip tests.
        let _ = self.encode_into(&mut e);
        e.into_writer()
    }

    fn encode_into(&self, e: &mut Encoder<Vec<u8>>) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        let doc = |id: &DocumentId| id.to_string();
        match self {
            Frame::Join { sender_id, metadata, supported_protocol_versions } => {
                e.map(4)?.str("type")?.str("join")?.str("senderId")?.str(sender_id)?;
                e.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                e.str("supportedProtocolVersions")?.array(supported_protocol_versions.len() as u64)?;
                for v in supported_protocol_versions {
                    e.str(v)?;
                }
            }
            Frame::Peer { sender_id, target_id, metadata, selected_protocol_version } => {
                e.map(5)?.str("type")?.str("peer")?.str("senderId")?.str(sender_id)?;
                e.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                e.str("selectedProtocolVersion")?.str(selected_protocol_version)?;
                e.str("targetId")?.str(target_id)?;
            }
            Frame::Request { sender_id, target_id, document_id, data }
            | Frame::Sync { sender_id, target_id, document_id, data } => {
                e.map(5)?.str("type")?.str(self.type_name())?;
                e.str("senderId")?.str(sender_id)?.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&doc(document_id))?.str("data")?.bytes(data)?;
            }
            Frame::DocUnavailable { sender_id, target_id, document_id } => {
                e.map(4)?.str("type")?.str("doc-unavailable")?;
                e.str("senderId")?.str(sender_id)?.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&doc(document_id))?;
            }
            Frame::Ephemeral { sender_id, target_id, document_id, session_id, count, data } => {
                e.map(7)?.str("type")?.str("ephemeral")?;
                e.str("senderId")?.str(sender_id)?.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&doc(document_id))?.str("sessionId")?.str(session_id)?;
                e.str("count")?.u64(*count)?.str("data")?.bytes(data)?;
            }
            Frame::Error { sender_id, target_id, message } => {
                let n = 2 + u64::from(sender_id.is_some()) + u64::from(target_id.is_some());
                e.map(n)?.str("type")?.str("error")?.str("message")?.str(message)?;
                if let Some(s) = sender_id {
                    e.str("senderId")?.str(s)?;
                }
                if let Some(t) = target_id {
                    e.str("targetId")?.str(t)?;
                }
            }
            Frame::Leave { sender_id } => {
                e.map(2)?.str("type")?.str("leave")?.str("senderId")?.str(sender_id)?;
            }
        }
        Ok(())
    }
}

fn encode_metadata(
    e: &mut Encoder<Vec<u8>>,
    m: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(1 + u64::from(m.storage_id.is_some()))?;
    if let Some(s) = &m.storage_id {
        e.str("storageId")?.str(s)?;
    }
    e.str("isEphemeral")?.bool(m.is_ephemeral)?;
    Ok(())
}

/// The fields of a frame, read in any order.
#[derive(Default)]
struct RawFields {
    kind: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<DocumentId>,
    data: Option<Vec<u8>>,
    session_id: Option<String>,
    count: Option<u64>,
    message: Option<String>,
    metadata: Option<PeerMetadata>,
    supported: Option<Vec<String>>,
    selected: Option<String>,
}

/// How deeply nested values may be before a frame is refused.
const MAX_DEPTH: usize = 16;

impl RawFields {
    fn read(d: &mut Decoder<'_>, depth: usize) -> Result<RawFields, FrameError> {
        let mut f = RawFields::default();
        for_each_entry(d, |d, key| {
            match key {
                "type" => f.kind = opt_str(d)?,
                "senderId" => f.sender_id = opt_str(d)?,
                "targetId" => f.target_id = opt_str(d)?,
                "sessionId" => f.session_id = opt_str(d)?,
                "message" => f.message = opt_str(d)?,
                "selectedProtocolVersion" => f.selected = opt_str(d)?,
                "documentId" => f.document_id = document_id(d)?,
                "data" => f.data = opt_bytes(d)?,
                "count" => f.count = number(d, "count")?,
                "peerMetadata" | "metadata" => f.metadata = metadata(d, depth + 1)?,
                "supportedProtocolVersions" => f.supported = string_array(d)?,
                _ => skip(d, depth + 1)?,
            }
            Ok(())
        })?;
        Ok(f)
    }

    fn into_frame(self) -> Result<Frame, FrameError> {
        let kind = self.kind.ok_or(FrameError::Missing("type"))?;
        let sender = || self.sender_id.clone().ok_or(FrameError::Missing("senderId"));
        let target = || self.target_id.clone().ok_or(FrameError::Missing("targetId"));
        let document = || self.document_id.ok_or(FrameError::Missing("documentId"));
        let data = || match &self.data {
            Some(d) if !d.is_empty() => Ok(d.clone()),
            Some(_) => Err(FrameError::Invalid("data")),
            None => Err(FrameError::Missing("data")),
        };
        Ok(match kind.as_str() {
            "join" => Frame::Join {
                sender_id: sender()?,
                metadata: self.metadata.clone().unwrap_or_default(),
                // Missing means "1" (the JS server does the same).
                supported_protocol_versions: self.supported.clone().unwrap_or_else(|| vec![PROTOCOL_V1.to_owned()]),
            },
            "peer" => Frame::Peer {
                sender_id: sender()?,
                target_id: target()?,
                metadata: self.metadata.clone().unwrap_or_default(),
                selected_protocol_version: self
                    .selected
                    .clone()
                    .ok_or(FrameError::Missing("selectedProtocolVersion"))?,
            },
            "request" => {
                Frame::Request { sender_id: sender()?, target_id: target()?, document_id: document()?, data: data()? }
            }
            "sync" => {
                Frame::Sync { sender_id: sender()?, target_id: target()?, document_id: document()?, data: data()? }
            }
            "doc-unavailable" => {
                Frame::DocUnavailable { sender_id: sender()?, target_id: target()?, document_id: document()? }
            }
            "ephemeral" => Frame::Ephemeral {
                sender_id: sender()?,
                target_id: target()?,
                document_id: document()?,
                session_id: self.session_id.clone().ok_or(FrameError::Missing("sessionId"))?,
                count: self.count.ok_or(FrameError::Missing("count"))?,
                data: data()?,
            },
            "error" => Frame::Error {
                sender_id: self.sender_id.clone(),
                target_id: self.target_id.clone(),
                message: self.message.clone().unwrap_or_default(),
            },
            "leave" => Frame::Leave { sender_id: sender()? },
            other => return Err(FrameError::UnknownType(other.chars().take(64).collect())),
        })
    }
}

/// Calls `f` with each key of the map at the decoder's position (definite or indefinite length).
fn for_each_entry(
    d: &mut Decoder<'_>,
    mut f: impl FnMut(&mut Decoder<'_>, &str) -> Result<(), FrameError>,
) -> Result<(), FrameError> {
    if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
        return Err(FrameError::NotAMap);
    }
    match d.map()? {
        Some(n) => {
            for _ in 0..n {
                let key = d.str()?.to_owned();
                f(d, &key)?;
            }
        }
        None => loop {
            if d.datatype()? == Type::Break {
                d.skip()?;
                break;
            }
            let key = d.str()?.to_owned();
            f(d, &key)?;
        },
    }
    Ok(())
}

fn is_absent(d: &mut Decoder<'_>) -> Result<bool, FrameError> {
    Ok(match d.datatype()? {
        Type::Undefined | Type::Null => {
            d.skip()?;
            true
        }
        _ => false,
    })
}

fn opt_str(d: &mut Decoder<'_>) -> Result<Option<String>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::String => Ok(Some(d.str()?.to_owned())),
        Type::StringIndef => {
            let mut s = String::new();
            for part in d.str_iter()? {
                s.push_str(part?);
            }
            Ok(Some(s))
        }
        _ => Err(FrameError::Invalid("string")),
    }
}

fn opt_bytes(d: &mut Decoder<'_>) -> Result<Option<Vec<u8>>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::Bytes => Ok(Some(d.bytes()?.to_vec())),
        Type::BytesIndef => {
            let mut out = Vec::new();
            for part in d.bytes_iter()? {
                out.extend_from_slice(part?);
            }
            Ok(Some(out))
        }
        _ => Err(FrameError::Invalid("data")),
    }
}

fn document_id(d: &mut Decoder<'_>) -> Result<Option<DocumentId>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::Bytes => DocumentId::from_bytes(d.bytes()?).map(Some).map_err(|_| FrameError::Invalid("documentId")),
        Type::String => d.str()?.parse().map(Some).map_err(|_| FrameError::Invalid("documentId")),
        _ => Err(FrameError::Invalid("documentId")),
    }
}

/// An unsigned integer, also when a JavaScript encoder wrote it as a float.
fn number(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<u64>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    let invalid = FrameError::Invalid(field);
    match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(Some(d.u64()?)),
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64()?;
            if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9.007_199_254_740_992e15 {
                Ok(Some(f as u64))
            } else {
                Err(invalid)
            }
        }
        _ => Err(invalid),
    }
}

fn metadata(d: &mut Decoder<'_>, depth: usize) -> Result<Option<PeerMetadata>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    let mut m = PeerMetadata::default();
    for_each_entry(d, |d, key| {
        match key {
            "storageId" => m.storage_id = opt_str(d)?,
            "isEphemeral" => {
                m.is_ephemeral = match d.datatype()? {
                    Type::Bool => d.bool()?,
                    _ => {
                        skip(d, depth + 1)?;
                        false
                    }
                }
            }
            _ => skip(d, depth + 1)?,
        }
        Ok(())
    })?;
    Ok(Some(m))
}

fn string_array(d: &mut Decoder<'_>) -> Result<Option<Vec<String>>, FrameError> {
    if is_absent(d)? {
        return Ok(None);
    }
    let mut out = Vec::new();
    match d.array()? {
        Some(n) => {
            for _ in 0..n.min(64) {
                out.extend(opt_str(d)?);
            }
            if n > 64 {
                return Err(FrameError::Invalid("supportedProtocolVersions"));
            }
        }
        None => loop {
            if d.datatype()? == Type::Break {
                d.skip()?;
                break;
            }
            if out.len() >= 64 {
                return Err(FrameError::Invalid("supportedProtocolVersions"));
            }
            out.extend(opt_str(d)?);
        },
    }
    Ok(Some(out))
}

/// Skips a value, refusing pathological nesting.
fn skip(d: &mut Decoder<'_>, depth: usize) -> Result<(), FrameError> {
    if depth > MAX_DEPTH {
        return Err(FrameError::Invalid("nesting"));
    }
    d.skip()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips() {
        let frame = Frame::Sync {
            sender_id: "phone".into(),
            target_id: "server".into(),
            document_id: DocumentId::new_random(),
            data: vec![0x42, 1, 2],
        };
        assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
    }

    #[test]
    fn counts_written_as_floats_are_read() {
        let mut e = Encoder::new(Vec::new());
        let id = DocumentId::new_random();
        e.map(7).unwrap();
        e.str("type").unwrap().str("ephemeral").unwrap();
        e.str("senderId").unwrap().str("a").unwrap().str("targetId").unwrap().str("b").unwrap();
        e.str("documentId").unwrap().bytes(id.as_bytes()).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("count").unwrap().f64(3.0).unwrap();
        e.str("data").unwrap().bytes(&[1]).unwrap();
        let frame = Frame::decode(&e.into_writer()).unwrap();
        assert!(matches!(frame, Frame::Ephemeral { count: 3, document_id, .. } if document_id == id));
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert!(Frame::decode(&[]).is_err());
        assert_eq!(Frame::decode(&[0x01]), Err(FrameError::NotAMap));
        assert!(Frame::decode(&[0xa1, 0x64, b't', b'y', b'p', b'e']).is_err());
        let mut e = Encoder::new(Vec::new());
        e.map(1).unwrap().str("type").unwrap().str("gossip").unwrap();
        assert_eq!(Frame::decode(&e.into_writer()), Err(FrameError::UnknownType("gossip".into())));
    }
}
