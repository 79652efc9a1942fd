//! One young person's plan as an Automerge document: creation, loading, reading, low-level writes.

use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::CommitOptions,
    transaction::Transactable,
};
use uuid::Uuid;

use crate::effects::Target;
use crate::model::{Action, Appointment, Notice, Plan, Task, parse_uuid};
use crate::node::Node;
use crate::schema::{Collection, SCHEMA_VERSION, root};

/// Errors about the document as a whole.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("le document ne peut pas être lu : {0}")]
    Load(#[source] Box<automerge::AutomergeError>),
    #[error("le document suit le schéma {found}, plus récent que le schéma {supported} connu ici")]
    FutureSchema { found: i64, supported: i64 },
    #[error("le document n'a pas de schéma lisible")]
    BadSchema,
    #[error("l'élément {0} n'existe pas dans le document")]
    MissingEntity(String),
    #[error("écriture impossible : {0}")]
    Write(#[source] Box<automerge::AutomergeError>),
    /// A chunk type this project never writes (Automerge's bundles, unknown types): refused before
    /// Automerge parses it (its bundle decoder panicked on malformed columns, found by fuzzing).
    #[error("le document contient un bloc de type {0}, jamais écrit ici")]
    UnsupportedChunk(u8),
    /// Automerge panicked on these bytes: they are unreadable.
    #[error("le document ne peut pas être lu : Automerge a échoué ({0})")]
    Corrupt(String),
}

impl From<automerge::AutomergeError> for DocumentError {
    fn from(e: automerge::AutomergeError) -> Self {
        DocumentError::Write(Box::new(e))
    }
}

pub(crate) fn load_error(e: automerge::AutomergeError) -> DocumentError {
    DocumentError::Load(Box::new(e))
}

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunks `save` and `save_incremental` write: a document, a change, a deflated change.
const CHUNKS_WRITTEN: [u8; 3] = [0, 1, 2];

/// Refuses saved bytes holding a chunk `save`/`save_incremental` never write. Walks the chunk
/// headers (magic, checksum, type, LEB128 length); at the first header it cannot read it stops
/// and leaves the error to Automerge.
pub(crate) fn check_chunk_types(mut bytes: &[u8]) -> Result<(), DocumentError> {
    while bytes.len() >= 10 && bytes[..4] == CHUNK_MAGIC {
        let chunk_type = bytes[8];
        if !CHUNKS_WRITTEN.contains(&chunk_type) {
            return Err(DocumentError::UnsupportedChunk(chunk_type));
        }
        let mut len: u64 = 0;
        let mut at = 9;
        loop {
            let Some(&b) = bytes.get(at) else { return Ok(()) };
            if at - 9 >= 10 {
                return Ok(());
            }
            len |= u64::from(b & 0x7f) << (7 * (at - 9));
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let Some(end) = usize::try_from(len).ok().and_then(|len| at.checked_add(len)) else { return Ok(()) };
        let Some(rest) = bytes.get(end..) else { return Ok(()) };
        bytes = rest;
    }
    Ok(())
}

/// Runs one of Automerge's loads, a panic of Automerge on malformed bytes becoming an error (a
/// corrupt file or stored plan must not take down the server's task or the phone's app).
pub(crate) fn guarded<T>(load: impl FnOnce() -> Result<T, DocumentError>) -> Result<T, DocumentError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)).unwrap_or_else(|panic| {
        let cause = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(DocumentError::Corrupt(cause))
    })
}

/// The value at `key` of the map `obj` (at `heads`, or now), hydrated.
pub(crate) fn node_at(doc: &AutoCommit, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
    let got = match heads {
        Some(h) => doc.get_at(obj, key, h),
        None => doc.get(obj, key),
    };
    match got.ok().flatten()? {
        (Value::Scalar(s), _) => Some(Node::from_hydrated(automerge::hydrate::Value::Scalar(s.into_owned()))),
        (Value::Object(_), id) => doc.hydrate(&id, heads).ok().map(Node::from_hydrated),
    }
}

/// A plan document.
#[derive(Debug)]
pub struct PlanDocument {
    doc: AutoCommit,
}

impl PlanDocument {
    /// The first change of every plan: identical bytes (hence the same change hash) wherever it is
    /// made, so two replicas that create the same young person's plan never conflict on the root.
    pub fn genesis(young_person_id: Uuid) -> Result<Self, DocumentError> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(young_person_id.as_bytes().as_slice()));
        doc.put(ROOT, root::SCHEMA, SCHEMA_VERSION)?;
        doc.put(ROOT, root::YOUNG_PERSON_ID, young_person_id.to_string())?;
        for collection in Collection::ALL {
            doc.put_object(ROOT, collection.key(), ObjType::Map)?;
        }
        doc.commit_with(CommitOptions::default().with_message("genesis").with_time(0));
        Ok(PlanDocument { doc })
    }

    /// Loads saved bytes (a snapshot, change chunks, or both concatenated) and checks the schema.
    /// Malformed bytes are an error, never a panic.
    pub fn load(bytes: &[u8]) -> Result<Self, DocumentError> {
        check_chunk_types(bytes)?;
        let doc = guarded(|| AutoCommit::load(bytes).map_err(load_error))?;
        let document = PlanDocument { doc };
        document.check_schema()?;
        Ok(document)
    }

    /// Wraps an Automerge document without checking it (see [`Self::check_schema`]).
    pub fn from_automerge(doc: AutoCommit) -> Self {
        PlanDocument { doc }
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
        PlanDocument { doc: self.doc.fork() }
    }

    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted. Changes still waiting for their dependencies are left out:
    /// they are not part of the plan, and a peer could fill storage with them.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save_with_options(automerge::SaveOptions { deflate: true, retain_orphans: false })
    }

    /// The changes made since the last `save` or `save_incremental`.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Adds saved bytes or changes from elsewhere. Malformed bytes are an error, never a panic;
    /// after an error the document may hold part of them (reload it).
    /// Whether `bytes` are chunks of the kinds this document's saves write (and its loads
    /// accept): a peer's change chunks may be stored as they came.
    pub fn is_plain_save(bytes: &[u8]) -> bool {
        check_chunk_types(bytes).is_ok()
    }

    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocumentError> {
        check_chunk_types(bytes)?;
        guarded(|| self.doc.load_incremental(bytes).map(|_| ()).map_err(load_error))
    }

    /// The schema version: 0 for documents made before versioning.
    pub fn schema_version(&self) -> Result<i64, DocumentError> {
        match self.root_value(root::SCHEMA, None) {
            None => Ok(0),
            Some(node) => node.as_i64().ok_or(DocumentError::BadSchema),
        }
    }

    /// Refuses documents written by a newer sync-core.
    pub fn check_schema(&self) -> Result<i64, DocumentError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(DocumentError::FutureSchema { found, supported: SCHEMA_VERSION });
        }
        Ok(found)
    }

    /// Brings an older document up to [`SCHEMA_VERSION`] in one change. Returns whether it changed.
    /// Version 0 (documents from before versioning) lacked some collections and the `schema` key.
    /// Only the server migrates, so two replicas never create the same collection concurrently.
    pub fn migrate(&mut self) -> Result<bool, DocumentError> {
        let found = self.check_schema()?;
        if found == SCHEMA_VERSION {
            return Ok(false);
        }
        for collection in Collection::ALL {
            if self.collection_obj(collection, None).is_none() {
                self.doc.put_object(ROOT, collection.key(), ObjType::Map)?;
            }
        }
        self.doc.put(ROOT, root::SCHEMA, SCHEMA_VERSION)?;
        self.doc.commit_with(CommitOptions::default().with_message(format!("migrate {found} -> {SCHEMA_VERSION}")));
        Ok(true)
    }

    pub fn young_person_id(&self) -> Option<Uuid> {
        self.root_value(root::YOUNG_PERSON_ID, None).as_ref().and_then(parse_uuid)
    }

    /// A root value (at `heads`, or now).
    pub fn root_value(&self, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        self.value_at(&ROOT, key, heads)
    }

    fn value_at(&self, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        node_at(&self.doc, obj, key, heads)
    }

    fn object_at(&self, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<(ObjId, ObjType)> {
        let got = match heads {
            Some(h) => self.doc.get_at(obj, key, h),
            None => self.doc.get(obj, key),
        };
        match got.ok().flatten()? {
            (Value::Object(t), id) => Some((id, t)),
            _ => None,
        }
    }

    fn collection_obj(&self, collection: Collection, heads: Option<&[ChangeHash]>) -> Option<ObjId> {
        match self.object_at(&ROOT, collection.key(), heads)? {
            (id, ObjType::Map) => Some(id),
            _ => None,
        }
    }

    /// One entity as a node (at `heads`, or now); `None` when absent.
    pub fn entity_node(&self, collection: Collection, id: &str, heads: Option<&[ChangeHash]>) -> Option<Node> {
        let obj = self.collection_obj(collection, heads)?;
        self.value_at(&obj, id, heads)
    }

    /// The ids of a collection's entities (at `heads`, or now).
    pub fn entity_ids(&self, collection: Collection, heads: Option<&[ChangeHash]>) -> Vec<String> {
        let Some(obj) = self.collection_obj(collection, heads) else {
            return Vec::new();
        };
        match heads {
            Some(h) => self.doc.keys_at(&obj, h).collect(),
            None => self.doc.keys(&obj).collect(),
        }
    }

    /// The whole plan, typed. Entities that cannot be read are reported in `Plan::unreadable`.
    pub fn plan(&self) -> Plan {
        let node = self.doc.hydrate(ROOT, None).map(Node::from_hydrated).unwrap_or_else(|_| Node::map());
        Plan::from_root_node(&node)
    }

    /// Writes `value` at `target` (deleting when `None`), inside the current transaction.
    pub fn write_target(&mut self, target: &Target, value: Option<&Node>) -> Result<(), DocumentError> {
        let (obj, key) = match target {
            Target::Root { key } => (ROOT, key.as_str()),
            Target::Entity { collection, id } => {
                let obj = match self.collection_obj(*collection, None) {
                    Some(obj) => obj,
                    None => self.doc.put_object(ROOT, collection.key(), ObjType::Map)?,
                };
                (obj, id.as_str())
            }
            Target::Field { collection, id, field } => (self.entity_obj(*collection, id)?, field.as_str()),
            Target::Comment { collection, id, comment_id } => {
                let entity = self.entity_obj(*collection, id)?;
                let comments = match self.object_at(&entity, crate::schema::fields::COMMENTS, None) {
                    Some((obj, ObjType::Map)) => obj,
                    _ => self.doc.put_object(&entity, crate::schema::fields::COMMENTS, ObjType::Map)?,
                };
                (comments, comment_id.as_str())
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

    fn entity_obj(&self, collection: Collection, id: &str) -> Result<ObjId, DocumentError> {
        self.collection_obj(collection, None)
            .and_then(|c| self.object_at(&c, id, None))
            .filter(|(_, t)| *t == ObjType::Map)
            .map(|(obj, _)| obj)
            .ok_or_else(|| DocumentError::MissingEntity(format!("{}/{id}", collection.key())))
    }

    /// Commits the pending writes as one change.
    pub fn commit(&mut self, message: &str, at: chrono::DateTime<chrono::Utc>) -> Option<ChangeHash> {
        self.doc.commit_with(CommitOptions::default().with_message(message.to_owned()).with_time(at.timestamp()))
    }

    /// Drops the pending writes.
    pub fn rollback(&mut self) {
        self.doc.rollback();
    }

    /// Writes a scalar at a root key (server-side bookkeeping only).
    pub fn put_root_scalar(&mut self, key: &str, value: ScalarValue) -> Result<(), DocumentError> {
        self.doc.put(ROOT, key, value)?;
        Ok(())
    }
}

impl Plan {
    /// Reads a plan from the root node of a document.
    pub fn from_root_node(root_node: &Node) -> Plan {
        let mut plan =
            Plan { young_person_id: root_node.field(root::YOUNG_PERSON_ID).and_then(parse_uuid), ..Plan::default() };
        for collection in Collection::ALL {
            let Some(entities) = root_node.field(collection.key()).and_then(Node::as_map) else {
                continue;
            };
            for (id, node) in entities {
                let entity = format!("{}/{id}", collection.key());
                let read = match collection {
                    Collection::Actions => Action::from_node(node, &entity).map(|a| plan.actions.push(a)),
                    Collection::Appointments => {
                        Appointment::from_node(node, &entity).map(|a| plan.appointments.push(a))
                    }
                    Collection::Tasks => Task::from_node(node, &entity).map(|t| plan.tasks.push(t)),
                    Collection::Notices => Notice::from_node(node, &entity).map(|n| plan.notices.push(n)),
                };
                if let Err(e) = read {
                    plan.unreadable.push(e);
                }
            }
        }
        plan.actions.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        plan.appointments.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
        plan.tasks.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        plan.notices.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_the_same_change_everywhere() {
        let id = Uuid::new_v4();
        let mut a = PlanDocument::genesis(id).expect("genesis");
        let mut b = PlanDocument::genesis(id).expect("genesis");
        assert_eq!(a.heads(), b.heads());
        assert_eq!(a.young_person_id(), Some(id));
        assert_eq!(a.schema_version().ok(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_future_schema_is_refused() {
        let mut doc = PlanDocument::genesis(Uuid::new_v4()).expect("genesis");
        let _ = doc.put_root_scalar(root::SCHEMA, ScalarValue::Int(SCHEMA_VERSION + 1));
        doc.commit("future", chrono::Utc::now());
        let bytes = doc.save();
        assert!(matches!(PlanDocument::load(&bytes), Err(DocumentError::FutureSchema { .. })));
    }

    #[test]
    fn chunks_never_written_are_refused_before_automerge_reads_them() {
        let mut doc = PlanDocument::genesis(Uuid::new_v4()).expect("genesis");
        let mut bytes = doc.save();
        assert!(PlanDocument::load(&bytes).is_ok());
        let mut bundle = bytes.clone();
        bundle[8] = 3;
        assert!(matches!(PlanDocument::load(&bundle), Err(DocumentError::UnsupportedChunk(3))));
        // A bundle after a valid snapshot, as in a stored plan followed by its chunks.
        bytes.extend_from_slice(&bundle);
        assert!(matches!(PlanDocument::load(&bytes), Err(DocumentError::UnsupportedChunk(3))));
        assert!(matches!(doc.load_incremental(&bundle), Err(DocumentError::UnsupportedChunk(3))));
    }

    #[test]
    fn garbage_bytes_are_a_load_error() {
        assert!(matches!(PlanDocument::load(b"not automerge"), Err(DocumentError::Load(_))));
    }
}
