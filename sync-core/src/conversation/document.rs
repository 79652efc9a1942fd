//! One young person's conversation as an Automerge document: creation, loading, reading, writes.

use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value, transaction::CommitOptions,
    transaction::Transactable,
};
use uuid::Uuid;

use super::model::Conversation;
use super::rules::Target;
use super::schema::{KIND, SCHEMA_VERSION, root};
use crate::document::{DocumentError, check_chunk_types, guarded, load_error, node_at};
use crate::model::parse_uuid;
use crate::node::Node;

/// A conversation document.
#[derive(Debug)]
pub struct ConversationDocument {
    doc: AutoCommit,
}

impl ConversationDocument {
    /// The first change of every conversation: identical bytes wherever it is made (the phone
    /// offline, the server), so two replicas that create it never conflict on the root.
    pub fn genesis(young_person_id: Uuid) -> Result<Self, DocumentError> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(young_person_id.as_bytes().as_slice()));
        doc.put(ROOT, root::SCHEMA, SCHEMA_VERSION)?;
        doc.put(ROOT, root::KIND, KIND)?;
        doc.put(ROOT, root::YOUNG_PERSON_ID, young_person_id.to_string())?;
        for key in root::MAPS {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        doc.commit_with(CommitOptions::default().with_message("genesis").with_time(0));
        Ok(ConversationDocument { doc })
    }

    /// Loads saved bytes and checks that they hold a conversation this version can read.
    /// Malformed bytes are an error, never a panic.
    pub fn load(bytes: &[u8]) -> Result<Self, DocumentError> {
        check_chunk_types(bytes)?;
        let doc = guarded(|| AutoCommit::load(bytes).map_err(load_error))?;
        let document = ConversationDocument { doc };
        document.check_schema()?;
        Ok(document)
    }

    /// Refuses a document that is not a conversation, or one written by a newer sync-core.
    pub fn check_schema(&self) -> Result<i64, DocumentError> {
        if self.root_value(root::KIND, None).as_ref().and_then(Node::as_str) != Some(KIND) {
            return Err(DocumentError::BadSchema);
        }
        let found =
            self.root_value(root::SCHEMA, None).as_ref().and_then(Node::as_i64).ok_or(DocumentError::BadSchema)?;
        if found > SCHEMA_VERSION {
            return Err(DocumentError::FutureSchema { found, supported: SCHEMA_VERSION });
        }
        Ok(found)
    }

    pub fn from_automerge(doc: AutoCommit) -> Self {
        ConversationDocument { doc }
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    /// A copy with a new random actor, for a replica of its own.
    pub fn fork(&mut self) -> Self {
        ConversationDocument { doc: self.doc.fork() }
    }

    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted (changes waiting for their dependencies left out).
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save_with_options(automerge::SaveOptions { deflate: true, retain_orphans: false })
    }

    /// The changes made since the last `save` or `save_incremental`.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Adds saved bytes or changes from elsewhere; malformed bytes are an error, never a panic.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocumentError> {
        check_chunk_types(bytes)?;
        guarded(|| self.doc.load_incremental(bytes).map(|_| ()).map_err(load_error))
    }

    pub fn young_person_id(&self) -> Option<Uuid> {
        self.root_value(root::YOUNG_PERSON_ID, None).as_ref().and_then(parse_uuid)
    }

    /// A root value (at `heads`, or now).
    pub fn root_value(&self, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        self.value_at(&ROOT, key, heads)
    }

    /// An entry of one of the root maps (`messages`, `read_markers`, `notices`), at `heads` or now.
    pub fn entry(&self, map: &str, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        let obj = self.map_obj(map, heads)?;
        self.value_at(&obj, key, heads)
    }

    /// The keys of one of the root maps, at `heads` or now.
    pub fn entry_keys(&self, map: &str, heads: Option<&[ChangeHash]>) -> Vec<String> {
        let Some(obj) = self.map_obj(map, heads) else {
            return Vec::new();
        };
        match heads {
            Some(h) => self.doc.keys_at(&obj, h).collect(),
            None => self.doc.keys(&obj).collect(),
        }
    }

    /// The whole conversation, typed.
    pub fn conversation(&self) -> Conversation {
        let node = self.doc.hydrate(ROOT, None).map(Node::from_hydrated).unwrap_or_else(|_| Node::map());
        Conversation::from_root_node(&node)
    }

    /// One message, typed, without hydrating the rest of the document.
    pub fn message(&self, id: Uuid) -> Option<super::model::Message> {
        let node = self.entry(root::MESSAGES, &id.to_string(), None)?;
        super::model::Message::from_node(&node, root::MESSAGES).ok()
    }

    fn value_at(&self, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        node_at(&self.doc, obj, key, heads)
    }

    fn map_obj(&self, key: &str, heads: Option<&[ChangeHash]>) -> Option<ObjId> {
        let got = match heads {
            Some(h) => self.doc.get_at(ROOT, key, h),
            None => self.doc.get(ROOT, key),
        };
        match got.ok().flatten()? {
            (Value::Object(ObjType::Map), id) => Some(id),
            _ => None,
        }
    }

    /// Writes `value` at `target` (deleting when `None`), inside the current transaction.
    pub fn write_target(&mut self, target: &Target, value: Option<&Node>) -> Result<(), DocumentError> {
        let (obj, key) = match target {
            Target::Root { key } => (ROOT, key.as_str()),
            Target::Important => (ROOT, root::IMPORTANT),
            Target::Message { id } => (self.map_or_create(root::MESSAGES)?, id.as_str()),
            Target::ReadMarker { user } => (self.map_or_create(root::READ_MARKERS)?, user.as_str()),
            Target::Notice { id } => (self.map_or_create(root::NOTICES)?, id.as_str()),
            Target::MessageField { id, field } => {
                let messages = self.map_or_create(root::MESSAGES)?;
                let message = match self.doc.get(&messages, id.as_str()).ok().flatten() {
                    Some((Value::Object(ObjType::Map), obj)) => obj,
                    _ => return Err(DocumentError::MissingEntity(format!("{}/{id}", root::MESSAGES))),
                };
                (message, field.as_str())
            }
        };
        match value {
            Some(node) => node.write(&mut self.doc, &obj, key)?,
            None => {
                if self.doc.get(&obj, key).ok().flatten().is_some() {
                    self.doc.delete(&obj, key)?;
                }
            }
        }
        Ok(())
    }

    fn map_or_create(&mut self, key: &str) -> Result<ObjId, DocumentError> {
        match self.map_obj(key, None) {
            Some(obj) => Ok(obj),
            None => Ok(self.doc.put_object(ROOT, key, ObjType::Map)?),
        }
    }

    /// Commits the pending writes as one change.
    pub fn commit(&mut self, message: &str, at: chrono::DateTime<chrono::Utc>) -> Option<ChangeHash> {
        self.doc.commit_with(CommitOptions::default().with_message(message.to_owned()).with_time(at.timestamp()))
    }

    /// Drops the pending writes.
    pub fn rollback(&mut self) {
        self.doc.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlanDocument;

    #[test]
    fn genesis_is_the_same_change_everywhere_and_is_not_a_plan() {
        let id = Uuid::new_v4();
        let mut a = ConversationDocument::genesis(id).expect("genesis");
        let mut b = ConversationDocument::genesis(id).expect("genesis");
        assert_eq!(a.heads(), b.heads());
        assert_eq!(a.young_person_id(), Some(id));
        let saved = a.save();
        assert!(ConversationDocument::load(&saved).is_ok());
        let mut plan = PlanDocument::genesis(id).expect("plan");
        assert_ne!(plan.heads(), a.heads());
        assert!(matches!(ConversationDocument::load(&plan.save()), Err(DocumentError::BadSchema)));
        assert!(matches!(ConversationDocument::load(b"garbage"), Err(DocumentError::Load(_))));
    }
}
