//! Loaded conversations: a per-conversation lock, a bounded cache, the write path and the sync
//! path.
//!
//! A write (a REST edit, or a peer's sync message) takes the young person's conversation lock,
//! loads the conversation (creating it, with its genesis, when it does not exist), applies the
//! edit with the caller's actor (a peer's changes are reviewed by the conversation's rulebook and
//! compensated with the server's), and stores the change with the projections of the messages it
//! touched and the notifications it sends in one transaction; only then is it acknowledged. The
//! chunk is appended only if the stored conversation still ends where the loaded one does: when
//! another instance wrote in between, its chunks are folded in first and the rows derived again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sync_core::conversation::ConversationDocument;
use sync_core::conversation::review::Touched;
use sync_core::conversation::schema::root;
use sync_core::edit::EditOutcome;
use sync_core::engine::{ConversationSync, SyncLimits};
use sync_core::ids::DocumentId;
use sync_core::model::parse_instant;
use sync_core::{Author, DomainEvent};
use uuid::Uuid;

use crate::documents::footprint::loaded_plan;
use crate::documents::{Documents, SyncOutcome};
use crate::error::{ApiError, ApiResult};
use crate::notifications::outbox::{self, Audience};
use crate::store::{ConversationWrite, DynStore, MessageRow, PlanAnnouncement, PlanNews, StoredChunk};
use crate::sync::hub::HubEvent;

/// A conversation in memory with its peers, and the seq of its last stored chunk.
struct Loaded {
    id: String,
    sync: ConversationSync,
    seq: i64,
    chunks: usize,
    saved_bytes: usize,
}

impl Loaded {
    fn footprint(&self) -> usize {
        loaded_plan(self.saved_bytes, self.sync.waiting_bytes(), self.sync.peer_state_bytes())
    }

    fn doc(&mut self) -> &mut ConversationDocument {
        self.sync.document_mut()
    }
}

/// What a write brought, to store.
struct NewChanges<'a> {
    young_person_id: Uuid,
    touched: &'a Touched,
    chunk: Vec<u8>,
    events: &'a [DomainEvent],
    /// The sync peer whose message brought the changes (answered by the caller).
    answered: Option<&'a str>,
    now: DateTime<Utc>,
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
    /// The document id of each conversation loaded here, and whose it is (to catch up with
    /// another instance's announcement).
    ids: HashMap<String, Uuid>,
    clock: u64,
    bytes: usize,
}

/// Stored chunks past which a write saves the whole conversation as one snapshot.
const COMPACT_EVERY_CHUNKS: usize = 64;

/// Attempts of one commit when other instances keep writing the same conversation.
const WRITE_ATTEMPTS: usize = 5;

pub struct Conversations {
    store: DynStore,
    documents: Arc<Documents>,
    instance_id: Uuid,
    budget: usize,
    lru: Mutex<Lru>,
}

impl Conversations {
    /// `documents` lends its actors (one per user and process, bound in the database, the same for
    /// both kinds of document).
    pub fn new(store: DynStore, documents: Arc<Documents>, instance_id: Uuid, budget_bytes: usize) -> Self {
        Conversations { store, documents, instance_id, budget: budget_bytes, lru: Mutex::default() }
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
            let Some(victim) = victim else { break };
            if let Some(entry) = lru.entries.remove(&victim) {
                lru.bytes = lru.bytes.saturating_sub(entry.bytes);
            }
            lru.ids.retain(|_, young_person| *young_person != victim);
        }
    }

    /// Drops a conversation from the cache (an erased young person).
    pub fn forget(&self, young_person_id: Uuid) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = lru.entries.remove(&young_person_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes);
        }
        lru.ids.retain(|_, young_person| *young_person != young_person_id);
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
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).ids.insert(id.clone(), young_person_id);
        *slot = Some(load(id, chunks, self.documents.sync_limits().clone()).await?);
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
        let out = f(&loaded.id, loaded.sync.document());
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
        edit: impl FnOnce(&mut ConversationDocument) -> Result<EditOutcome, sync_core::EditError>,
        read: impl FnOnce(&ConversationDocument, &EditOutcome) -> R,
    ) -> ApiResult<(EditOutcome, R)> {
        let actor = self.documents.actor_for(user_id).await?;
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        self.ensure_loaded(young_person_id, &mut guard, true).await?;
        let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        let doc = loaded.doc();
        doc.set_actor(actor);
        doc.automerge_mut().update_diff_cursor();
        let before = doc.heads();
        let outcome = edit(doc)?;
        if outcome.change.is_some() {
            let after = doc.heads();
            let touched = Touched::from_patches(&doc.automerge_mut().diff(&before, &after));
            let chunk = doc.automerge_mut().save_after(&before);
            let new =
                NewChanges { young_person_id, touched: &touched, chunk, events: &outcome.events, answered: None, now };
            if let Err(e) = self.commit(&mut guard, new).await {
                // The change may be stored although the commit failed (a connection lost at
                // COMMIT): its actor and seq must never sign another change.
                self.documents.forget_actor(user_id);
                return Err(e);
            }
        }
        let loaded = guard.as_ref().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        let out = read(loaded.sync.document(), &outcome);
        let footprint = loaded.footprint();
        drop(guard);
        self.account(young_person_id, footprint);
        Ok((outcome, out))
    }

    /// Applies one sync message from `peer_key` (written by `author`) to the conversation of
    /// `young_person_id`, stores what it brought (with the compensation of refused edits) and
    /// returns the server's next message for that peer. Nothing is answered before the changes
    /// are committed.
    pub async fn sync_receive(
        &self,
        young_person_id: Uuid,
        peer_key: &str,
        author: &Author,
        message: &[u8],
    ) -> ApiResult<SyncOutcome> {
        let now = Utc::now();
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        // A synced conversation exists (its id named it): an erased one is not made again.
        if !self.ensure_loaded(young_person_id, &mut guard, false).await? {
            return Err(ApiError::NotFound);
        }
        // On any refusal the conversation may hold the refused changes: it is read again next time.
        let refused = |guard: &mut Option<Loaded>, reason: String| {
            *guard = None;
            ApiError::SyncRefused(reason)
        };
        let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        let applied = match loaded.sync.apply(peer_key, message) {
            Ok(applied) => applied,
            Err(e) => return Err(refused(&mut guard, e.to_string())),
        };
        match self.documents.check_peer_actors(&applied.new_actors, author.user_id, now).await {
            Ok(None) => {}
            Ok(Some(reason)) => return Err(refused(&mut guard, reason)),
            Err(e) => {
                *guard = None;
                return Err(e);
            }
        }
        let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        loaded.doc().set_actor(self.documents.server_actor().clone());
        let received = match loaded.sync.settle(applied, author, now) {
            Ok(received) => received,
            Err(e) => return Err(refused(&mut guard, e.to_string())),
        };
        if received.changed() {
            let size = loaded.saved_bytes + loaded.sync.waiting_bytes() + received.to_store.len();
            if size > self.documents.max_document_bytes() {
                return Err(refused(&mut guard, "la conversation dépasserait la taille maximale".into()));
            }
            let mut events = received.review.events.clone();
            events.extend(received.compensation.as_ref().map(|c| c.event.clone()));
            let new = NewChanges {
                young_person_id,
                touched: &received.review.touched,
                chunk: received.to_store,
                events: &events,
                answered: Some(peer_key),
                now,
            };
            self.commit(&mut guard, new).await?;
        }
        let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        let reply = loaded.sync.generate(peer_key);
        let footprint = loaded.footprint();
        drop(guard);
        self.account(young_person_id, footprint);
        Ok(SyncOutcome { reply, notice: received.compensation.map(|c| c.notice) })
    }

    /// The server's next sync message for `peer_key`, if it needs one.
    pub async fn sync_generate(&self, young_person_id: Uuid, peer_key: &str) -> ApiResult<Option<Vec<u8>>> {
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        if !self.ensure_loaded(young_person_id, &mut guard, false).await? {
            return Err(ApiError::NotFound);
        }
        let loaded = guard.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
        Ok(loaded.sync.generate(peer_key))
    }

    /// Forgets a disconnected peer's sync state (if the conversation is still loaded).
    pub fn forget_peer(&self, young_person_id: Uuid, peer_key: &str) {
        let slot = self.slot(young_person_id);
        if let Ok(mut guard) = slot.try_lock() {
            if let Some(loaded) = guard.as_mut() {
                loaded.sync.remove_peer(peer_key);
            }
        }
    }

    /// Stores `new` with the rows it changes, then tells the conversation's sessions. When another
    /// instance stored chunks first, they are folded in and the rows read again. On failure the
    /// conversation in memory, which holds changes that are not stored, is dropped.
    async fn commit(&self, slot: &mut Option<Loaded>, new: NewChanges<'_>) -> ApiResult<()> {
        let result = self.try_commit(slot, &new).await;
        if result.is_err() {
            *slot = None;
        }
        let (id, seq) = result?;
        self.documents.hub().publish(&id, HubEvent::Changed { answered: new.answered.map(Arc::from) });
        let store = self.store.clone();
        let announcement =
            PlanAnnouncement { origin: self.instance_id, document_id: id, news: PlanNews::Changed { seq } };
        tokio::spawn(async move {
            if let Err(e) = store.announce_plan(&announcement).await {
                tracing::warn!(error = %e, document_id = announcement.document_id, "could not announce to other instances");
            }
        });
        Ok(())
    }

    /// Follows what the other instances sharing the database announce: a conversation loaded here
    /// that another instance wrote folds the new chunks in, and its sessions hear of it.
    pub async fn follow_other_instances(self: Arc<Self>) -> ApiResult<()> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        self.store.listen_plans(tx).await?;
        tokio::spawn(async move {
            while let Some(PlanAnnouncement { origin, document_id, news }) = rx.recv().await {
                let PlanNews::Changed { seq } = news else { continue };
                if origin == self.instance_id {
                    continue;
                }
                let young_person = self.lru.lock().unwrap_or_else(|p| p.into_inner()).ids.get(&document_id).copied();
                if let Some(young_person_id) = young_person {
                    if let Err(e) = self.catch_up(young_person_id, seq).await {
                        tracing::warn!(error = %e, document_id, "catching up with a conversation changed elsewhere");
                    }
                    self.documents.hub().publish(&document_id, HubEvent::Changed { answered: None });
                }
            }
        });
        Ok(())
    }

    /// Folds into the loaded conversation the chunks stored after its own, up to `seq`; on an
    /// error the conversation is dropped (read again when next needed).
    async fn catch_up(&self, young_person_id: Uuid, seq: i64) -> ApiResult<()> {
        let slot = self.slot(young_person_id);
        let mut guard = slot.lock().await;
        let Some(loaded) = guard.as_mut() else { return Ok(()) };
        if loaded.seq >= seq {
            return Ok(());
        }
        let folded = fold(self.store.as_ref(), loaded).await;
        if folded.is_err() {
            *guard = None;
        }
        folded
    }

    async fn try_commit(&self, slot: &mut Option<Loaded>, new: &NewChanges<'_>) -> ApiResult<(String, i64)> {
        let context = self.store.notification_context(new.young_person_id).await?;
        let audience = Audience::new(new.young_person_id, &context);
        let notifications = outbox::notifications_for_events(new.events, &audience, new.now);
        for _ in 0..WRITE_ATTEMPTS {
            let loaded = slot.as_mut().ok_or_else(|| ApiError::internal("conversation vanished"))?;
            let snapshot = loaded.chunks + 1 >= COMPACT_EVERY_CHUNKS;
            let doc = loaded.sync.document_mut();
            let write = ConversationWrite {
                conversation_id: loaded.id.clone(),
                young_person_id: new.young_person_id,
                after_seq: loaded.seq,
                chunk: if snapshot { save_whole(doc) } else { new.chunk.clone() },
                snapshot,
                messages: message_rows(doc, new.touched),
                read_markers: read_markers(doc, new.touched),
                notifications: notifications.clone(),
                at: new.now,
            };
            if let Some(seq) = self.store.commit_conversation_write(&write).await? {
                loaded.seq = seq;
                if snapshot {
                    loaded.chunks = 1;
                    loaded.saved_bytes = write.chunk.len();
                } else {
                    loaded.chunks += 1;
                    loaded.saved_bytes += write.chunk.len();
                }
                return Ok((loaded.id.clone(), seq));
            }
            // Another instance wrote first: fold its chunks in, then try again.
            fold(self.store.as_ref(), loaded).await?;
        }
        Err(ApiError::Busy { retry_after_secs: 1 })
    }
}

/// The whole conversation saved, for a compaction: a long one takes tens of milliseconds, so the
/// worker thread lets the runtime move its other tasks elsewhere meanwhile.
fn save_whole(doc: &mut ConversationDocument) -> Vec<u8> {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| doc.save()),
        _ => doc.save(),
    }
}

/// Folds the chunks stored after the loaded conversation's last one into it.
async fn fold(store: &dyn crate::store::Store, loaded: &mut Loaded) -> ApiResult<()> {
    let chunks = store.load_conversation_chunks(&loaded.id, loaded.seq).await?;
    let Some(last) = chunks.last().map(|c| c.seq) else { return Ok(()) };
    for chunk in &chunks {
        loaded.sync.document_mut().load_incremental(&chunk.bytes).map_err(ApiError::internal)?;
        loaded.saved_bytes += chunk.bytes.len();
    }
    loaded.chunks += chunks.len();
    loaded.seq = last;
    Ok(())
}

/// Loads stored chunks (off the async workers: a long conversation takes a while).
async fn load(id: String, chunks: Vec<StoredChunk>, limits: SyncLimits) -> ApiResult<Loaded> {
    let seq = chunks.last().map_or(0, |c| c.seq);
    let count = chunks.len();
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
    let saved_bytes = bytes.len();
    let doc = tokio::task::spawn_blocking(move || ConversationDocument::load(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Loaded { id, sync: ConversationSync::with_limits(doc, limits), seq, chunks: count, saved_bytes })
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
