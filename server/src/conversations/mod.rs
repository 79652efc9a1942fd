//! Loaded conversations: a per-conversation lock, a bounded cache, and the write path.
//!
//! A write takes the young person's conversation lock, loads the conversation (creating it, with
//! its genesis, on the first message), applies a typed edit with the caller's actor, and stores
//! the change with the projections of the messages it touched and the notifications it sends in
//! one transaction; only then is it acknowledged. The chunk is appended only if the stored
//! conversation still ends where the loaded one does: when another instance wrote in between, the
//! conversation is read again and the edit made again on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sync_core::conversation::ConversationDocument;
use sync_core::conversation::review::Touched;
use sync_core::conversation::schema::root;
use sync_core::edit::EditOutcome;
use sync_core::ids::DocumentId;
use sync_core::model::parse_instant;
use uuid::Uuid;

use crate::documents::Documents;
use crate::documents::footprint::loaded_plan;
use crate::error::{ApiError, ApiResult};
use crate::notifications::outbox::{self, Audience};
use crate::store::{ConversationWrite, DynStore, MessageRow, StoredChunk};

/// A conversation in memory, with the seq of its last stored chunk.
struct Loaded {
    id: String,
    doc: ConversationDocument,
    seq: i64,
    chunks: usize,
    saved_bytes: usize,
}

impl Loaded {
    fn footprint(&self) -> usize {
        loaded_plan(self.saved_bytes, 0, 0)
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Loaded>>>;

struct Entry {
    slot: Slot,
    bytes: usize,
    last_used: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<Uuid, Entry>,
    clock: u64,
    bytes: usize,
}

/// Stored chunks past which a write saves the whole conversation as one snapshot.
const COMPACT_EVERY_CHUNKS: usize = 64;

/// Attempts of one write when other instances keep writing the same conversation.
const WRITE_ATTEMPTS: usize = 5;

pub struct Conversations {
    store: DynStore,
    documents: Arc<Documents>,
    budget: usize,
    lru: Mutex<Lru>,
}

impl Conversations {
    /// `documents` lends its actors (one per user and process, bound in the database, the same for
    /// both kinds of document).
    pub fn new(store: DynStore, documents: Arc<Documents>, budget_bytes: usize) -> Self {
        Conversations { store, documents, budget: budget_bytes, lru: Mutex::default() }
    }

    fn slot(&self, young_person_id: Uuid) -> Slot {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        lru.clock += 1;
        let clock = lru.clock;
        let entry = lru.entries.entry(young_person_id).or_insert_with(|| Entry {
            slot: Arc::default(),
            bytes: 0,
            last_used: clock,
        });
        entry.last_used = clock;
        entry.slot.clone()
    }

    /// Records a conversation's size and evicts the least recently used idle ones over budget.
    fn account(&self, young_person_id: Uuid, bytes: usize) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        let lru = &mut *lru;
        if let Some(entry) = lru.entries.get_mut(&young_person_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes) + bytes;
            entry.bytes = bytes;
        }
        while lru.bytes > self.budget {
            let victim = lru
                .entries
                .iter()
                .filter(|(id, e)| **id != young_person_id && Arc::strong_count(&e.slot) == 1)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(id, _)| *id);
            match victim.and_then(|id| lru.entries.remove(&id)) {
                Some(entry) => lru.bytes = lru.bytes.saturating_sub(entry.bytes),
                None => break,
            }
        }
    }

    /// Drops a conversation from the cache (an erased young person).
    pub fn forget(&self, young_person_id: Uuid) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = lru.entries.remove(&young_person_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes);
        }
    }

    /// Estimated memory of the conversations cached.
    pub fn cached_bytes(&self) -> usize {
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// Loads the stored conversation of `young_person_id` into `slot` if it is not there; with
    /// `create`, makes it (genesis) when it does not exist. `Ok(false)`: none exists.
    async fn ensure_loaded(&self, young_person_id: Uuid, slot: &mut Option<Loaded>, create: bool) -> ApiResult<bool> {
        if slot.is_some() {
            return Ok(true);
        }
        let id = match self.store.conversation_of(young_person_id).await? {
            Some(id) => id,
            None if create => self.ensure(young_person_id).await?,
            None => return Ok(false),
        };
        let chunks = self.store.load_conversation_chunks(&id, 0).await?;
        *slot = Some(load(id, chunks).await?);
        Ok(true)
    }

    /// The id of the young person's conversation, made (its genesis stored) when it does not exist
    /// yet: a phone may then sync it before the first message.
    pub async fn ensure(&self, young_person_id: Uuid) -> ApiResult<String> {
        if let Some(id) = self.store.conversation_of(young_person_id).await? {
            return Ok(id);
        }
        let mut genesis = ConversationDocument::genesis(young_person_id).map_err(ApiError::internal)?;
        let fresh = DocumentId::new_random().to_string();
        Ok(self.store.create_conversation(young_person_id, &fresh, &genesis.save(), Utc::now()).await?)
    }

    /// Reads the conversation of `young_person_id`; `None` when it does not exist yet.
    pub async fn read<T>(
        &self,
        young_person_id: Uuid,
        f: impl FnOnce(&str, &ConversationDocument) -> T,
    ) -> ApiResult<Option<T>> {
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        if !self.ensure_loaded(young_person_id, &mut guard, false).await? {
            return Ok(None);
        }
        let Some(loaded) = guard.as_ref() else { return Ok(None) };
        let out = f(&loaded.id, &loaded.doc);
        let footprint = loaded.footprint();
        drop(guard);
        self.account(young_person_id, footprint);
        Ok(Some(out))
    }

    /// Applies one edit by `user_id` to the conversation of `young_person_id` (created on the first
    /// one) and stores it; returns the edit's outcome and `read(doc, outcome)`.
    pub async fn write<R>(
        &self,
        young_person_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
        edit: impl Fn(&mut ConversationDocument) -> Result<EditOutcome, sync_core::EditError>,
        read: impl FnOnce(&ConversationDocument, &EditOutcome) -> R,
    ) -> ApiResult<(EditOutcome, R)> {
        let actor = self.documents.actor_for(user_id).await?;
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        for _ in 0..WRITE_ATTEMPTS {
            self.ensure_loaded(young_person_id, &mut guard, true).await?;
            let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
            loaded.doc.set_actor(actor.clone());
            loaded.doc.automerge_mut().update_diff_cursor();
            let before = loaded.doc.heads();
            let outcome = edit(&mut loaded.doc)?;
            if outcome.change.is_none() {
                let out = read(&loaded.doc, &outcome);
                return Ok((outcome, out));
            }
            let after = loaded.doc.heads();
            let touched = Touched::from_patches(&loaded.doc.automerge_mut().diff(&before, &after));
            let context = self.store.notification_context(young_person_id).await?;
            let audience = Audience::new(young_person_id, &context);
            let notifications = outbox::notifications_for_events(&outcome.events, &audience, now);
            let snapshot = loaded.chunks + 1 >= COMPACT_EVERY_CHUNKS;
            let chunk = if snapshot { loaded.doc.save() } else { loaded.doc.automerge_mut().save_after(&before) };
            let write = ConversationWrite {
                conversation_id: loaded.id.clone(),
                young_person_id,
                after_seq: loaded.seq,
                messages: message_rows(&loaded.doc, &touched),
                read_markers: read_markers(&loaded.doc, &touched),
                notifications,
                snapshot,
                chunk,
                at: now,
            };
            match self.store.commit_conversation_write(&write).await {
                Ok(Some(seq)) => {
                    loaded.seq = seq;
                    if snapshot {
                        loaded.chunks = 1;
                        loaded.saved_bytes = write.chunk.len();
                    } else {
                        loaded.chunks += 1;
                        loaded.saved_bytes += write.chunk.len();
                    }
                    let footprint = loaded.footprint();
                    let out = read(&loaded.doc, &outcome);
                    drop(guard);
                    self.account(young_person_id, footprint);
                    return Ok((outcome, out));
                }
                // Another instance wrote first: read the conversation again, edit again.
                Ok(None) => *guard = None,
                Err(e) => {
                    // The conversation in memory holds a change that is not stored.
                    *guard = None;
                    self.documents.forget_actor(user_id);
                    return Err(e.into());
                }
            }
        }
        Err(ApiError::Busy { retry_after_secs: 1 })
    }
}

/// Loads stored chunks (off the async workers: a long conversation takes a while).
async fn load(id: String, chunks: Vec<StoredChunk>) -> ApiResult<Loaded> {
    let seq = chunks.last().map_or(0, |c| c.seq);
    let count = chunks.len();
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
    let saved_bytes = bytes.len();
    let doc = tokio::task::spawn_blocking(move || ConversationDocument::load(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Loaded { id, doc, seq, chunks: count, saved_bytes })
}

/// The rows of the messages a write touched.
fn message_rows(doc: &ConversationDocument, touched: &Touched) -> Vec<MessageRow> {
    touched
        .messages
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .filter_map(|id| doc.message(id))
        .map(|m| MessageRow::from(&m))
        .collect()
}

/// The read markers a write moved.
fn read_markers(doc: &ConversationDocument, touched: &Touched) -> Vec<(Uuid, DateTime<Utc>)> {
    touched
        .read_markers
        .iter()
        .filter_map(|user| {
            let at = doc.entry(root::READ_MARKERS, user, None).as_ref().and_then(parse_instant)?;
            Some((Uuid::parse_str(user).ok()?, at))
        })
        .collect()
}
