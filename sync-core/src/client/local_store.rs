//! The plan on the phone's disk: crash-safe and cheap to reopen.
//!
//! In the directory the app gives:
//! - `plan-<generation>.snapshot`: a whole save of the document, written to a temporary file,
//!   flushed to disk, then renamed into place (a reader sees the old file or the new one, never
//!   half of one). A header carries its length and CRC-32.
//! - `plan-<generation>.log`: the changes saved after that snapshot, appended as framed records
//!   (`length`, `CRC-32`, Automerge change chunk) and flushed before an edit returns.
//! - `state.json`: the replica's identity and what it knows of the server (see [`ReplicaState`]),
//!   replaced atomically like a snapshot.
//!
//! Opening loads the newest snapshot that checks, then every log of that generation and later. A
//! torn or corrupt record (a write interrupted by a crash, a bad sector) ends its log: the rest of
//! that file is cut off and everything before it is kept. A corrupt newest snapshot falls back to
//! the previous generation, whose snapshot and log are kept until the next compaction for that
//! reason. Automerge ignores changes it already has, so replaying a record twice is harmless.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::ConversationDocument;
use crate::document::{DocumentError, PlanDocument};

const SNAPSHOT_MAGIC: &[u8; 8] = b"PEPLAN01";
const RECORD_HEADER: usize = 8;
/// A record longer than this cannot be ours: the length field itself is torn.
const MAX_RECORD: u32 = 64 * 1024 * 1024;
/// Compact when the log outgrows both this and half the snapshot.
const COMPACT_LOG_BYTES: u64 = 256 * 1024;
const STATE_FILE: &str = "state.json";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stockage local : {0}")]
    Io(#[from] io::Error),
    #[error("le stockage local est celui d'un autre jeune ({0})")]
    OtherYoungPerson(Uuid),
    #[error("état local illisible : {0}")]
    State(String),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// A document the phone keeps on disk and syncs: the plan, or the conversation.
pub trait StoredDocument: Sized + Send + 'static {
    /// What the screens read of it, rebuilt after each change.
    type View: Clone;
    fn load(bytes: &[u8]) -> Result<Self, DocumentError>;
    fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocumentError>;
    fn save(&mut self) -> Vec<u8>;
    fn save_incremental(&mut self) -> Vec<u8>;
    fn automerge_mut(&mut self) -> &mut automerge::AutoCommit;
    fn set_actor(&mut self, actor: automerge::ActorId);
    fn view(&self) -> Self::View;
}

macro_rules! stored_document {
    ($doc:ty, $view:ty, $read:ident) => {
        impl StoredDocument for $doc {
            type View = $view;
            fn load(bytes: &[u8]) -> Result<Self, DocumentError> {
                <$doc>::load(bytes)
            }
            fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocumentError> {
                <$doc>::load_incremental(self, bytes)
            }
            fn save(&mut self) -> Vec<u8> {
                <$doc>::save(self)
            }
            fn save_incremental(&mut self) -> Vec<u8> {
                <$doc>::save_incremental(self)
            }
            fn automerge_mut(&mut self) -> &mut automerge::AutoCommit {
                <$doc>::automerge_mut(self)
            }
            fn set_actor(&mut self, actor: automerge::ActorId) {
                <$doc>::set_actor(self, actor)
            }
            fn view(&self) -> $view {
                self.$read()
            }
        }
    };
}

stored_document!(PlanDocument, crate::model::Plan, plan);
stored_document!(ConversationDocument, crate::conversation::Conversation, conversation);

/// What the replica keeps besides the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub young_person_id: Uuid,
    /// This installation's Automerge actor (hex): its changes are signed with it, and the server
    /// binds it to the young person on first sight.
    pub actor: String,
    /// The heads the server was last known to hold (hex), to count what it does not have yet.
    pub server_heads: Vec<String>,
    /// The sync state with the server (`automerge::sync::State::encode`, hex): only the heads both
    /// sides share, so that the next sync starts from there instead of from the beginning.
    pub sync_state: String,
}

/// What opening found, for the app's diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes cut off torn or corrupt logs.
    pub truncated_bytes: u64,
    /// Snapshots that did not check and were set aside.
    pub corrupt_snapshots: u32,
}

/// The files of one replica.
pub struct LocalStore {
    dir: PathBuf,
    generation: u64,
    log: File,
    log_bytes: u64,
    snapshot_bytes: u64,
}

impl LocalStore {
    /// Opens the replica in `dir` (created if needed), or starts it from `genesis`.
    pub fn open<D: StoredDocument>(
        dir: &Path,
        young_person_id: Uuid,
        genesis: impl FnOnce() -> Result<D, DocumentError>,
    ) -> Result<(LocalStore, D, Option<ReplicaState>, Recovery), StoreError> {
        fs::create_dir_all(dir)?;
        let state = read_state(dir)?;
        if let Some(state) = &state
            && state.young_person_id != young_person_id
        {
            return Err(StoreError::OtherYoungPerson(state.young_person_id));
        }
        let mut recovery = Recovery::default();
        let mut snapshots = generations(dir, "snapshot")?;
        snapshots.sort_unstable_by(|a, b| b.cmp(a));
        let mut loaded = None;
        for generation in snapshots {
            let path = file(dir, generation, "snapshot");
            match read_snapshot(&path).and_then(|bytes| D::load(&bytes).ok()) {
                Some(doc) => {
                    loaded = Some((generation, doc, fs::metadata(&path)?.len()));
                    break;
                }
                None => {
                    recovery.corrupt_snapshots += 1;
                    fs::rename(&path, path.with_extension("corrupt"))?;
                }
            }
        }
        let (base, mut doc, snapshot_bytes) = match loaded {
            Some(found) => found,
            None => (0, genesis()?, 0),
        };
        let mut logs: Vec<u64> = generations(dir, "log")?.into_iter().filter(|g| *g >= base).collect();
        logs.sort_unstable();
        for generation in &logs {
            recovery.truncated_bytes += replay_log(&file(dir, *generation, "log"), &mut doc)?;
        }
        let generation = logs.last().copied().unwrap_or(base).max(base);
        let log = OpenOptions::new().create(true).append(true).open(file(dir, generation, "log"))?;
        let log_bytes = log.metadata()?.len();
        // Everything loaded counts as saved: the next `save_incremental` holds only new changes.
        doc.save_incremental();
        let mut store = LocalStore { dir: dir.to_owned(), generation, log, log_bytes, snapshot_bytes };
        if snapshot_bytes == 0 {
            store.compact(&mut doc)?;
        }
        Ok((store, doc, state, recovery))
    }

    /// Appends the changes made since the last save and flushes them to disk; compacts when the
    /// log has grown. Returns the bytes appended.
    pub fn save<D: StoredDocument>(&mut self, doc: &mut D) -> Result<usize, StoreError> {
        let chunk = doc.save_incremental();
        if chunk.is_empty() {
            return Ok(0);
        }
        let mut record = Vec::with_capacity(RECORD_HEADER + chunk.len());
        record.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&chunk).to_le_bytes());
        record.extend_from_slice(&chunk);
        self.log.write_all(&record)?;
        self.log.sync_data()?;
        self.log_bytes += record.len() as u64;
        if self.log_bytes > COMPACT_LOG_BYTES.max(self.snapshot_bytes / 2) {
            self.compact(doc)?;
        }
        Ok(record.len())
    }

    /// Writes a new snapshot generation and starts its log; keeps the previous generation as a
    /// fallback and removes the older ones.
    pub fn compact<D: StoredDocument>(&mut self, doc: &mut D) -> Result<(), StoreError> {
        let next = self.generation + 1;
        let bytes = doc.save();
        let mut framed = Vec::with_capacity(SNAPSHOT_MAGIC.len() + 8 + bytes.len());
        framed.extend_from_slice(SNAPSHOT_MAGIC);
        framed.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        framed.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        framed.extend_from_slice(&bytes);
        write_atomically(&self.dir, &file(&self.dir, next, "snapshot"), &framed)?;
        let log = OpenOptions::new().create(true).append(true).open(file(&self.dir, next, "log"))?;
        sync_dir(&self.dir)?;
        self.log = log;
        self.generation = next;
        self.log_bytes = 0;
        self.snapshot_bytes = framed.len() as u64;
        for kind in ["snapshot", "log"] {
            for old in generations(&self.dir, kind)? {
                if old + 1 < next {
                    fs::remove_file(file(&self.dir, old, kind))?;
                }
            }
        }
        Ok(())
    }

    pub fn write_state(&self, state: &ReplicaState) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(state).map_err(|e| StoreError::State(e.to_string()))?;
        write_atomically(&self.dir, &self.dir.join(STATE_FILE), &json)
    }

    /// Bytes on disk now (snapshot + log), for diagnostics and the benchmarks.
    pub fn size(&self) -> u64 {
        self.snapshot_bytes + self.log_bytes
    }

    /// Removes every file of the replica (after a logout); a folder that is not there is nothing
    /// to remove.
    pub fn wipe(dir: &Path) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let path = entry?.path();
            let ours = path.extension().is_some_and(|e| ["snapshot", "log", "corrupt", "tmp"].iter().any(|x| e == *x))
                || path.file_name().is_some_and(|n| n == STATE_FILE);
            if ours {
                fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

fn file(dir: &Path, generation: u64, kind: &str) -> PathBuf {
    dir.join(format!("plan-{generation:08}.{kind}"))
}

/// The generations of the files of one kind in `dir`.
fn generations(dir: &Path, kind: &str) -> Result<Vec<u64>, StoreError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let generation: Option<u64> = name
            .strip_prefix("plan-")
            .and_then(|rest| rest.strip_suffix(kind))
            .and_then(|rest| rest.strip_suffix('.'))
            .and_then(|digits| digits.parse().ok());
        found.extend(generation);
    }
    Ok(found)
}

/// The document bytes of a snapshot file, or `None` if it is torn or corrupt.
fn read_snapshot(path: &Path) -> Option<Vec<u8>> {
    let data = fs::read(path).ok()?;
    let rest = data.strip_prefix(SNAPSHOT_MAGIC.as_slice())?;
    let (header, bytes) = rest.split_at_checked(8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    (bytes.len() == len && crc32fast::hash(bytes) == crc).then(|| bytes.to_vec())
}

/// Loads every good record of a log into `doc`; cuts the file at the first bad one. Returns the
/// bytes cut off.
fn replay_log<D: StoredDocument>(path: &Path, doc: &mut D) -> Result<u64, StoreError> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut at = 0usize;
    while at < data.len() {
        let Some(record) = next_record(&data[at..]) else { break };
        if doc.load_incremental(record).is_err() {
            break;
        }
        at += RECORD_HEADER + record.len();
    }
    let cut = (data.len() - at) as u64;
    if cut > 0 {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(at as u64)?;
        file.sync_all()?;
    }
    Ok(cut)
}

fn next_record(data: &[u8]) -> Option<&[u8]> {
    let (header, rest) = data.split_at_checked(RECORD_HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let record = rest.get(..len as usize)?;
    (crc32fast::hash(record) == crc).then_some(record)
}

fn read_state(dir: &Path) -> Result<Option<ReplicaState>, StoreError> {
    match fs::read(dir.join(STATE_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::State(e.to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes `bytes` to a temporary file, flushes it, renames it over `path` and flushes the folder.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Makes a rename durable (a no-op where folders cannot be opened, as on Windows).
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    if let Ok(d) = File::open(dir) {
        d.sync_all().or_else(|e| if e.kind() == io::ErrorKind::InvalidInput { Ok(()) } else { Err(e) })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::edit::NewAction;
    use crate::rules::Author;

    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            Dir(std::env::temp_dir().join(format!("pe-store-{}", Uuid::new_v4().simple())))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn open(dir: &Path, yp: Uuid) -> (LocalStore, PlanDocument, Recovery) {
        let (store, doc, _, recovery) = LocalStore::open(dir, yp, || PlanDocument::genesis(yp)).unwrap();
        (store, doc, recovery)
    }

    fn titles(doc: &PlanDocument) -> Vec<String> {
        let mut t: Vec<String> = doc.plan().actions.into_iter().map(|a| a.title).collect();
        t.sort();
        t
    }

    fn add(store: &mut LocalStore, doc: &mut PlanDocument, yp: Uuid, title: &str) {
        add_described(store, doc, yp, title, None);
    }

    fn add_described(
        store: &mut LocalStore,
        doc: &mut PlanDocument,
        yp: Uuid,
        title: &str,
        description: Option<String>,
    ) {
        let new = NewAction { title: title.into(), description, ..Default::default() };
        doc.create_action(&Author::young_person(yp), chrono::Utc::now(), new).unwrap();
        store.save(doc).unwrap();
    }

    fn newest(dir: &Path, kind: &str) -> PathBuf {
        let g = generations(dir, kind).unwrap().into_iter().max().unwrap();
        file(dir, g, kind)
    }

    #[test]
    fn what_was_saved_is_there_after_reopening() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (mut store, mut doc, recovery) = open(&dir.0, yp);
        assert_eq!(recovery, Recovery::default());
        add(&mut store, &mut doc, yp, "a");
        add(&mut store, &mut doc, yp, "b");
        drop(store);
        let (_, doc, recovery) = open(&dir.0, yp);
        assert_eq!(titles(&doc), ["a", "b"]);
        assert_eq!(recovery, Recovery::default());
    }

    #[test]
    fn a_torn_last_record_is_cut_and_the_rest_kept() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (mut store, mut doc, _) = open(&dir.0, yp);
        add(&mut store, &mut doc, yp, "a");
        add(&mut store, &mut doc, yp, "b");
        drop(store);
        // A crash in the middle of appending the third record: header and half its bytes.
        let log = newest(&dir.0, "log");
        let full = fs::metadata(&log).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&100u32.to_le_bytes()).unwrap();
        f.write_all(&7u32.to_le_bytes()).unwrap();
        f.write_all(&[1u8; 40]).unwrap();
        drop(f);
        let (mut store, mut doc, recovery) = open(&dir.0, yp);
        assert_eq!(titles(&doc), ["a", "b"]);
        assert_eq!(recovery.truncated_bytes, 48);
        assert_eq!(fs::metadata(&log).unwrap().len(), full, "the torn tail is gone");
        // And the log goes on from there.
        add(&mut store, &mut doc, yp, "c");
        drop(store);
        assert_eq!(titles(&open(&dir.0, yp).1), ["a", "b", "c"]);
    }

    #[test]
    fn a_corrupt_record_ends_its_log_but_not_the_earlier_ones() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (mut store, mut doc, _) = open(&dir.0, yp);
        add(&mut store, &mut doc, yp, "a");
        add(&mut store, &mut doc, yp, "b");
        drop(store);
        // Flip a byte in the last record's payload: its CRC no longer matches.
        let log = newest(&dir.0, "log");
        let mut bytes = fs::read(&log).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&log, bytes).unwrap();
        let (_, doc, recovery) = open(&dir.0, yp);
        assert_eq!(titles(&doc), ["a"]);
        assert!(recovery.truncated_bytes > 0);
    }

    #[test]
    fn compaction_keeps_everything_and_a_corrupt_snapshot_falls_back_to_the_previous_one() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (mut store, mut doc, _) = open(&dir.0, yp);
        add(&mut store, &mut doc, yp, "before");
        store.compact(&mut doc).unwrap();
        add(&mut store, &mut doc, yp, "after");
        drop(store);
        assert_eq!(generations(&dir.0, "snapshot").unwrap().len(), 2, "the previous generation is kept");
        // The newest snapshot is damaged (a bad sector): open from the previous generation and
        // both logs.
        let snapshot = newest(&dir.0, "snapshot");
        let mut bytes = fs::read(&snapshot).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        fs::write(&snapshot, bytes).unwrap();
        let (mut store, mut doc, recovery) = open(&dir.0, yp);
        assert_eq!(recovery.corrupt_snapshots, 1);
        assert_eq!(titles(&doc), ["after", "before"]);
        // Compactions go on; old generations are removed.
        for i in 0..3 {
            add(&mut store, &mut doc, yp, &format!("x{i}"));
            store.compact(&mut doc).unwrap();
        }
        assert_eq!(generations(&dir.0, "snapshot").unwrap().len(), 2);
        drop(store);
        assert_eq!(titles(&open(&dir.0, yp).1).len(), 5);
    }

    #[test]
    fn the_log_compacts_itself_when_it_grows() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (mut store, mut doc, _) = open(&dir.0, yp);
        let first = generations(&dir.0, "snapshot").unwrap().into_iter().max().unwrap();
        for i in 0..200 {
            add_described(&mut store, &mut doc, yp, &format!("{i:03}"), Some(format!("{i}").repeat(1500)));
        }
        let last = generations(&dir.0, "snapshot").unwrap().into_iter().max().unwrap();
        assert!(last > first, "compacted");
        drop(store);
        assert_eq!(titles(&open(&dir.0, yp).1).len(), 200);
    }

    #[test]
    fn another_young_persons_store_is_refused() {
        let (dir, yp) = (Dir::new(), Uuid::new_v4());
        let (store, _, _) = open(&dir.0, yp);
        let state =
            ReplicaState { young_person_id: yp, actor: "00".into(), server_heads: vec![], sync_state: String::new() };
        store.write_state(&state).unwrap();
        drop(store);
        let other = Uuid::new_v4();
        assert!(matches!(
            LocalStore::open(&dir.0, other, || PlanDocument::genesis(other)),
            Err(StoreError::OtherYoungPerson(id)) if id == yp
        ));
    }
}
