//! Document ids in automerge-repo's spelling: the base58check encoding of a UUID's 16 bytes.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The id of one plan document, as automerge-repo peers name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(Uuid);

impl DocumentId {
    pub fn new_random() -> Self {
        DocumentId(Uuid::new_v4())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        DocumentId(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The raw 16 bytes (what binary document ids on the wire carry).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DocumentIdError> {
        Uuid::from_slice(bytes).map(DocumentId).map_err(|_| DocumentIdError::Length)
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0.as_bytes()).with_check().into_string())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentIdError {
    #[error("identifiant de document mal formé (base58check attendu)")]
    Encoding,
    #[error("un identifiant de document fait 16 octets")]
    Length,
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // automerge-repo URLs carry the id after "automerge:".
        let s = s.strip_prefix("automerge:").unwrap_or(s);
        let bytes = bs58::decode(s).with_check(None).into_vec().map_err(|_| DocumentIdError::Encoding)?;
        DocumentId::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_base58check() {
        let id = DocumentId::new_random();
        let text = id.to_string();
        assert_eq!(text.parse::<DocumentId>(), Ok(id));
        assert_eq!(format!("automerge:{text}").parse::<DocumentId>(), Ok(id));
    }

    #[test]
    fn rejects_a_corrupted_checksum() {
        let mut text = DocumentId::new_random().to_string();
        let last = text.pop().map(|c| if c == '2' { '3' } else { '2' });
        text.extend(last);
        assert!(text.parse::<DocumentId>().is_err());
        assert_eq!("0OIl".parse::<DocumentId>(), Err(DocumentIdError::Encoding));
    }

    #[test]
    fn reads_an_id_made_by_automerge_repo() {
        // From a real exchange between stock automerge-repo 2.5.6 peers.
        let id: DocumentId = "2j9knpCseyhnK8izDmLpGP5WMdZQ".parse().expect("valid id");
        assert_eq!(id.to_string(), "2j9knpCseyhnK8izDmLpGP5WMdZQ");
    }
}
