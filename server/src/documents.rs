//! Loaded plans: a per-document lock and a bounded cache (LRU by saved bytes).
//!
//! A write takes the document's lock, loads the plan if it is not cached, applies the edit, saves
//! the new changes incrementally and stores them with the projections and the events in one
//! transaction; only then is it acknowledged. If the transaction fails the cached plan is dropped,
//! so the next request reloads what the database holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use automerge::ActorId;
use chrono::{DateTime, Utc};
use sync_core::PlanDocument;
use sync_core::edit::EditOutcome;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::{DynStore, EventRow, PlanWrite, Projections};

/// Compact the change chunks into one snapshot when a document has this many.
pub const COMPACT_EVERY: usize = 64;

#[derive(Default)]
pub struct Slot {
    doc: Option<PlanDocument>,
    /// Chunks stored for this document (snapshot included).
    chunks: usize,
    /// Saved bytes stored for this document.
    bytes: usize,
}

struct Entry {
    slot: Arc<tokio::sync::Mutex<Slot>>,
    bytes: usize,
    last_used: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<String, Entry>,
    clock: u64,
    bytes: usize,
}

pub struct Documents {
    store: DynStore,
    budget: usize,
    lru: Mutex<Lru>,
    /// One Automerge actor per (user, server process), bound to the user in the database.
    actors: Mutex<HashMap<Uuid, ActorId>>,
}

impl Documents {
    pub fn new(store: DynStore, budget_bytes: usize) -> Self {
        Documents { store, budget: budget_bytes, lru: Mutex::default(), actors: Mutex::default() }
    }

    fn slot(&self, document_id: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        lru.clock += 1;
        let clock = lru.clock;
        let entry = lru.entries.entry(document_id.to_owned()).or_insert_with(|| Entry {
            slot: Arc::default(),
            bytes: 0,
            last_used: clock,
        });
        entry.last_used = clock;
        entry.slot.clone()
    }

    /// Records the size of a document and evicts the least recently used idle ones over budget.
    fn account(&self, document_id: &str, bytes: usize) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        let lru = &mut *lru;
        if let Some(entry) = lru.entries.get_mut(document_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes) + bytes;
            entry.bytes = bytes;
        }
        while lru.bytes > self.budget {
            // Only idle entries (nobody holds their lock) may go: a held one would let a second
            // loader race the first.
            let victim = lru
                .entries
                .iter()
                .filter(|(id, e)| id.as_str() != document_id && Arc::strong_count(&e.slot) == 1)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(id, _)| id.clone());
            match victim.and_then(|id| lru.entries.remove(&id)) {
                Some(entry) => lru.bytes = lru.bytes.saturating_sub(entry.bytes),
                None => break,
            }
        }
    }

    /// Drops a document from the cache (after a failed write).
    fn forget(&self, document_id: &str) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = lru.entries.remove(document_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes);
        }
    }

    /// Bytes of saved plans currently cached.
    pub fn cached_bytes(&self) -> usize {
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    pub fn cached_documents(&self) -> usize {
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).entries.len()
    }

    async fn ensure_loaded<'a>(&self, document_id: &str, slot: &'a mut Slot) -> ApiResult<&'a mut PlanDocument> {
        if slot.doc.is_none() {
            let chunks = self.store.load_document(document_id).await?;
            if chunks.is_empty() {
                return Err(ApiError::Internal(format!("document {document_id} has no chunks")));
            }
            let bytes: Vec<u8> = chunks.concat();
            let doc = PlanDocument::load(&bytes).map_err(ApiError::internal)?;
            slot.chunks = chunks.len();
            slot.bytes = bytes.len();
            slot.doc = Some(doc);
        }
        slot.doc.as_mut().ok_or_else(|| ApiError::internal("document vanished"))
    }

    /// Reads a loaded plan.
    pub async fn read<T>(&self, document_id: &str, f: impl FnOnce(&PlanDocument) -> T) -> ApiResult<T> {
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let doc = self.ensure_loaded(document_id, &mut guard).await?;
        let out = f(doc);
        let bytes = guard.bytes;
        drop(guard);
        self.account(document_id, bytes);
        Ok(out)
    }

    async fn actor_for(&self, user_id: Uuid) -> ApiResult<ActorId> {
        if let Some(actor) = self.actors.lock().unwrap_or_else(|p| p.into_inner()).get(&user_id) {
            return Ok(actor.clone());
        }
        let actor = ActorId::random();
        if !self.store.bind_actor(&actor.to_hex_string(), user_id, Utc::now()).await? {
            return Err(ApiError::internal("fresh actor id already bound"));
        }
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        Ok(actors.entry(user_id).or_insert(actor).clone())
    }

    /// Applies one edit by `user_id` and stores it; returns the edit's result and `read(doc)`.
    pub async fn write<T, R>(
        &self,
        document_id: &str,
        young_person_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
        edit: impl FnOnce(&mut PlanDocument) -> Result<(T, EditOutcome), sync_core::EditError>,
        read: impl FnOnce(&PlanDocument, &T, &EditOutcome) -> R,
    ) -> ApiResult<(T, EditOutcome, R)> {
        let actor = self.actor_for(user_id).await?;
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let doc = self.ensure_loaded(document_id, &mut guard).await?;
        doc.set_actor(actor);
        let (value, outcome) = edit(doc)?;
        if outcome.change.is_none() {
            let out = read(doc, &value, &outcome);
            return Ok((value, outcome, out));
        }
        let changes = doc.save_incremental();
        let compact = guard.chunks + 1 >= COMPACT_EVERY;
        let Some(doc) = guard.doc.as_mut() else {
            return Err(ApiError::internal("document vanished"));
        };
        let snapshot = compact.then(|| doc.save());
        let plan = doc.plan();
        let write = PlanWrite {
            document_id: document_id.to_owned(),
            young_person_id,
            changes: changes.clone(),
            snapshot: snapshot.clone(),
            projections: Projections::from_plan(&plan),
            events: outcome.events.iter().map(EventRow::from_event).collect(),
            at: now,
        };
        if let Err(e) = self.store.commit_plan_write(&write).await {
            guard.doc = None;
            drop(guard);
            self.forget(document_id);
            return Err(e.into());
        }
        let out = read(doc, &value, &outcome);
        match snapshot {
            Some(s) => {
                guard.chunks = 1;
                guard.bytes = s.len();
            }
            None => {
                guard.chunks += 1;
                guard.bytes += changes.len();
            }
        }
        let bytes = guard.bytes;
        drop(guard);
        self.account(document_id, bytes);
        Ok((value, outcome, out))
    }
}
