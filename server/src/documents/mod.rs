//! Loaded plans: a per-document lock and a bounded cache (LRU by estimated memory, see
//! [`footprint`]).
//!
//! A write takes the document's lock, loads the plan if it is not cached, applies the edit, saves
//! the new changes incrementally and stores them with the projections and the events in one
//! transaction; only then is it acknowledged. If the transaction fails the cached plan is dropped,
//! so the next request reloads what the database holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::ActorId;
use chrono::{DateTime, Utc};
use sync_core::edit::EditOutcome;
use sync_core::effects::Touched;
use sync_core::engine::{PlanSync, SyncLimits};
use sync_core::model::Notice;
use sync_core::sync_message::MessageLimits;
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

use crate::config::SyncConfig;
use crate::error::{ApiError, ApiResult};
use crate::notifications::outbox::{self, Audience};
use crate::store::group_commit::GroupCommit;
use crate::store::{
    DynStore, EventRow, NotificationContext, PlanAnnouncement, PlanNews, PlanWrite, Projections, ReminderChanges,
    StoreError, StoredChunk,
};
use crate::sync::hub::{Hub, HubEvent};

pub(crate) mod footprint;
mod slot;
use slot::{Derive, NewChanges, Slot};

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
    hub: Arc<Hub>,
    instance_id: Uuid,
    max_document_bytes: usize,
    /// Chunks past which a write compacts the plan into one snapshot.
    compact_every_chunks: u32,
    /// What each loaded plan accepts from its sync peers.
    sync_limits: SyncLimits,
    budget: usize,
    lru: Mutex<Lru>,
    /// One Automerge actor per (user, server process), bound to the user in the database.
    actors: Mutex<HashMap<Uuid, ActorId>>,
    /// Actors of sync peers known to be bound to a user (a binding never moves to someone else):
    /// a message's actors are checked here before the database.
    bound_actors: Mutex<HashMap<ActorId, Uuid>>,
    /// The actor of this process's compensating changes (no user owns it; a peer may not use it).
    server_actor: ActorId,
    /// Set once `server_actor` is reserved in the database, before its first change: a peer may
    /// then not sign with it, on any instance, after this process is gone too.
    server_actor_reserved: tokio::sync::OnceCell<()>,
    /// Young people whose notification context changed here (a transfer, new preferences), and
    /// when: a context a slot read before is read again. Each plan's context is cached in its
    /// slot (evicted with it), trusted for [`CONTEXT_TTL`] (changes made on another instance).
    contexts_changed: Mutex<HashMap<Uuid, Instant>>,
    /// Every write goes through it (see [`GroupCommit`]).
    group_commit: std::sync::OnceLock<GroupCommit>,
}

/// Actor bindings remembered; past this the cache starts again (about 100 bytes each).
const MAX_CACHED_ACTORS: usize = 100_000;

/// How long a cached notification context is trusted.
const CONTEXT_TTL: Duration = Duration::from_secs(60);

impl Documents {
    pub fn new(store: DynStore, budget_bytes: usize, hub: Arc<Hub>, instance_id: Uuid, sync: &SyncConfig) -> Self {
        // A message may not inflate past what it could carry uncompressed.
        let message = MessageLimits { max_inflated_bytes: sync.max_frame_bytes, ..MessageLimits::default() };
        Documents {
            store,
            hub,
            instance_id,
            max_document_bytes: sync.max_document_bytes,
            compact_every_chunks: sync.compact_every_chunks,
            sync_limits: SyncLimits { message, ..SyncLimits::default() },
            budget: budget_bytes,
            lru: Mutex::default(),
            actors: Mutex::default(),
            bound_actors: Mutex::default(),
            server_actor: ActorId::random(),
            server_actor_reserved: tokio::sync::OnceCell::new(),
            contexts_changed: Mutex::default(),
            group_commit: std::sync::OnceLock::new(),
        }
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

    /// Accounts for a plan its slot no longer holds (dropped after a failed write: the next
    /// request reloads it). The slot itself stays: a second slot for the same plan would let two
    /// copies of it write with the same actors.
    fn unloaded(&self, document_id: &str) {
        self.account(document_id, 0);
    }

    /// Drops a document's slot from the cache (an erased plan).
    fn forget(&self, document_id: &str) {
        let mut lru = self.lru.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = lru.entries.remove(document_id) {
            lru.bytes = lru.bytes.saturating_sub(entry.bytes);
        }
    }

    /// The actor of this process's compensating changes.
    pub fn server_actor(&self) -> &ActorId {
        &self.server_actor
    }

    /// What each loaded document accepts from its sync peers (plans and conversations alike).
    pub(crate) fn sync_limits(&self) -> &SyncLimits {
        &self.sync_limits
    }

    /// The largest a document may grow by its peers' changes.
    pub(crate) fn max_document_bytes(&self) -> usize {
        self.max_document_bytes
    }

    /// Where every session of this process hears of changes.
    pub(crate) fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Estimated memory of the plans currently cached (see [`footprint`]).
    pub fn cached_bytes(&self) -> usize {
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    pub fn cached_documents(&self) -> usize {
        self.lru.lock().unwrap_or_else(|p| p.into_inner()).entries.len()
    }

    async fn ensure_loaded<'a>(&self, document_id: &str, slot: &'a mut Slot) -> ApiResult<&'a mut PlanSync> {
        if slot.doc.is_none() {
            let chunks = self.store.load_chunks(document_id, 0).await?;
            if chunks.is_empty() {
                return Err(ApiError::Internal(format!("document {document_id} has no chunks")));
            }
            *slot = Slot::default();
            slot.count_chunks(&chunks);
            let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
            // A two-year plan takes ~100 ms to load: off the async workers, which serve every
            // other session meanwhile.
            let doc = tokio::task::spawn_blocking(move || PlanDocument::load(&bytes))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
            slot.doc = Some(PlanSync::with_limits(doc, self.sync_limits.clone()));
        }
        slot.doc.as_mut().ok_or_else(|| ApiError::internal("document vanished"))
    }

    /// Folds the chunks other instances stored after the loaded plan's last one into it; true if
    /// there were any. A plan that is not loaded is left alone (it is read fresh when needed). On
    /// an error the plan is dropped.
    async fn catch_up(&self, document_id: &str, slot: &mut Slot) -> ApiResult<bool> {
        if slot.doc.is_none() {
            return Ok(false);
        }
        let folded = match self.store.load_chunks(document_id, slot.seq).await {
            Ok(chunks) => slot.fold(&chunks).map(|()| !chunks.is_empty()).map_err(ApiError::internal),
            Err(e) => Err(e.into()),
        };
        if folded.is_err() {
            slot.doc = None;
        }
        folded
    }

    /// Reads a loaded plan.
    pub async fn read<T>(&self, document_id: &str, f: impl FnOnce(&PlanDocument) -> T) -> ApiResult<T> {
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let doc = self.ensure_loaded(document_id, &mut guard).await?;
        let out = f(doc.document());
        let footprint = guard.footprint();
        drop(guard);
        self.account(document_id, footprint);
        Ok(out)
    }

    /// The Automerge actor of `user_id`'s writes in this process (bound to them in the database).
    pub(crate) async fn actor_for(&self, user_id: Uuid) -> ApiResult<ActorId> {
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
        let sync = self.ensure_loaded(document_id, &mut guard).await?;
        let doc = sync.document_mut();
        doc.set_actor(actor);
        // The diff below then reads the patches of this edit only (see `PlanSync::apply`).
        doc.automerge_mut().update_diff_cursor();
        let before = doc.heads();
        let (value, outcome) = edit(doc)?;
        if outcome.change.is_some() {
            let after = doc.heads();
            let touched = Touched::from_patches(&doc.automerge_mut().diff(&before, &after));
            let changes = doc.automerge_mut().save_after(&before);
            let new = NewChanges {
                young_person_id,
                touched: &touched,
                changes,
                events: &outcome.events,
                by_young_person: user_id == young_person_id,
                now,
            };
            let committed = self.commit(document_id, None, &mut guard, new).await;
            if committed.is_err() {
                self.forget_actor(user_id);
            }
            committed?;
        }
        let Some(sync) = guard.doc.as_ref() else {
            return Err(ApiError::internal("document vanished"));
        };
        let out = read(sync.document(), &value, &outcome);
        Ok((value, outcome, out))
    }

    /// Stores `new` (with the plan's projections) in one transaction, then tells every reader,
    /// here and on the other instances. When another instance stored a chunk of the plan first,
    /// its chunks are folded in and the write derived again. On failure the cached plan is
    /// dropped. `answered`: the sync peer whose message brought the changes, answered by the
    /// caller (its session need not generate a message of its own).
    async fn commit(
        &self,
        document_id: &str,
        answered: Option<&str>,
        slot: &mut Slot,
        new: NewChanges<'_>,
    ) -> ApiResult<()> {
        match self.try_commit(document_id, slot, new).await {
            Ok(seq) => {
                self.account(document_id, slot.footprint());
                self.hub.publish(document_id, HubEvent::Changed { answered: answered.map(Arc::from) });
                self.announce(document_id, PlanNews::Changed { seq });
                Ok(())
            }
            Err(e) => {
                // The plan in memory holds changes that are not stored: drop it.
                slot.doc = None;
                self.unloaded(document_id);
                Err(e)
            }
        }
    }

    async fn try_commit(&self, document_id: &str, slot: &mut Slot, new: NewChanges<'_>) -> ApiResult<i64> {
        let NewChanges { young_person_id, touched, changes, events, by_young_person, now } = new;
        // Notifications and reminders go in the same transaction as the change (issue 6).
        let context = self.notification_context(young_person_id, slot).await?;
        let audience = Audience::new(young_person_id, &context);
        let derive = Derive {
            // Only the entities this write touched get their rows replaced (reading the whole
            // plan on every write would cost more than the write itself on a two-year plan).
            entities: touched.whole_collections.is_empty().then(|| {
                touched.entities.iter().filter_map(|(c, id)| Uuid::parse_str(id).ok().map(|id| (*c, id))).collect()
            }),
            young_person_id,
            timezone: audience.timezone,
            now,
            compact_every_chunks: self.compact_every_chunks,
        };
        let mut write = PlanWrite {
            document_id: document_id.to_owned(),
            after_seq: slot.seq,
            young_person_id,
            changes,
            snapshot: None,
            projections: Projections::default(),
            touched: None,
            events: events.iter().map(EventRow::from_event).collect(),
            notifications: outbox::notifications_for_events(events, &audience, now),
            reminders: ReminderChanges::default(),
            by_young_person,
            at: now,
        };
        derive.apply(slot, &mut write)?;
        let (mut write, grouped) = self.group_commit().commit(write).await?;
        let seq = match grouped {
            Some(seq) => seq,
            None => {
                // Another instance stored a chunk of this plan since it was loaded here.
                let mut catch_up = |chunks: Vec<StoredChunk>, write: &mut PlanWrite| {
                    slot.fold(&chunks).map_err(|e| StoreError::Corrupt(format!("a chunk stored elsewhere: {e}")))?;
                    derive.apply(slot, write).map_err(|e| StoreError::Corrupt(e.to_string()))
                };
                self.store.commit_plan_write(&mut write, &mut catch_up).await?
            }
        };
        let stored = write.snapshot.as_ref().unwrap_or(&write.changes);
        slot.count(seq, write.snapshot.is_some(), stored.len());
        Ok(seq)
    }

    /// The committing task of this process, started with its first write.
    fn group_commit(&self) -> &GroupCommit {
        self.group_commit.get_or_init(|| GroupCommit::start(self.store.clone()))
    }

    /// Tells every instance, after the plan's lock is released: the readers there catch up.
    fn announce(&self, document_id: &str, news: PlanNews) {
        let store = self.store.clone();
        let announcement = PlanAnnouncement { origin: self.instance_id, document_id: document_id.to_owned(), news };
        tokio::spawn(async move {
            if let Err(e) = store.announce_plan(&announcement).await {
                tracing::warn!(error = %e, document_id = announcement.document_id, "could not announce to other instances");
            }
        });
    }

    /// Applies one sync message from `peer_key` (written by `author`), stores what it brought
    /// (with the compensation of refused edits) and returns the server's next message for that
    /// peer. Nothing is answered before the changes are committed.
    pub async fn sync_receive(
        &self,
        document_id: &str,
        young_person_id: Uuid,
        peer_key: &str,
        author: &Author,
        message: &[u8],
    ) -> ApiResult<SyncOutcome> {
        let now = Utc::now();
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let sync = self.ensure_loaded(document_id, &mut guard).await?;
        let refused = |guard: &mut Slot, reason: String| {
            // The plan may hold the refused changes: reload it from storage next time.
            guard.doc = None;
            self.unloaded(document_id);
            ApiError::SyncRefused(reason)
        };
        let applied = match sync.apply(peer_key, message) {
            Ok(applied) => applied,
            Err(e) => return Err(refused(&mut guard, e.to_string())),
        };
        match self.check_peer_actors(&applied.new_actors, author.user_id, now).await {
            Ok(None) => {}
            Ok(Some(reason)) => return Err(refused(&mut guard, reason)),
            Err(e) => {
                // The plan in memory holds the applied changes: drop it.
                guard.doc = None;
                self.unloaded(document_id);
                return Err(e);
            }
        }
        let Some(sync) = guard.doc.as_mut() else {
            return Err(ApiError::internal("document vanished"));
        };
        sync.document_mut().set_actor(self.server_actor.clone());
        let received = match sync.settle(applied, author, now) {
            Ok(received) => received,
            Err(e) => return Err(refused(&mut guard, e.to_string())),
        };
        // Changes waiting for their dependencies are held in memory: they count in the plan's size.
        let waiting = sync.waiting_bytes();
        if received.changed() {
            if guard.bytes + waiting + received.to_store.len() > self.max_document_bytes {
                return Err(refused(&mut guard, "le plan dépasserait la taille maximale".into()));
            }
            let mut events = received.review.events.clone();
            events.extend(received.compensation.as_ref().map(|c| c.event.clone()));
            let touched = received.review.touched.clone();
            let new = NewChanges {
                young_person_id,
                touched: &touched,
                changes: received.to_store,
                events: &events,
                // The young person's own sync counts as their activity, even when some of it was undone.
                by_young_person: author.user_id == young_person_id,
                now,
            };
            self.commit(document_id, Some(peer_key), &mut guard, new).await?;
        }
        let Some(sync) = guard.doc.as_mut() else {
            return Err(ApiError::internal("document vanished"));
        };
        let reply = sync.generate(peer_key);
        let footprint = guard.footprint();
        drop(guard);
        self.account(document_id, footprint);
        Ok(SyncOutcome { reply, notice: received.compensation.map(|c| c.notice) })
    }

    /// Binds a sync peer's actor to `user_id` (see [`crate::store::Store::bind_actor`]), asking
    /// the database only the first time.
    async fn bind_actor(&self, actor: &ActorId, user_id: Uuid, now: DateTime<Utc>) -> crate::store::StoreResult<bool> {
        if self.bound_actors.lock().unwrap_or_else(|p| p.into_inner()).get(actor) == Some(&user_id) {
            return Ok(true);
        }
        let bound = self.store.bind_actor(&actor.to_hex_string(), user_id, now).await?;
        if bound {
            let mut cache = self.bound_actors.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= MAX_CACHED_ACTORS {
                cache.clear();
            }
            cache.insert(actor.clone(), user_id);
        }
        Ok(bound)
    }

    /// Checks the actors that signed a peer's new changes (in a plan or a conversation): each must
    /// be bound to `user_id`, or is bound to them now; none may be the server's. `Ok(Some(reason))`
    /// refuses the message. The server's own actor is reserved before it signs a compensation.
    pub(crate) async fn check_peer_actors(
        &self,
        actors: &[ActorId],
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<String>> {
        for actor in actors {
            if *actor == self.server_actor {
                return Ok(Some("changements signés par l'acteur du serveur".into()));
            }
            if !self.bind_actor(actor, user_id, now).await? {
                return Ok(Some("changements signés par l'acteur d'un autre utilisateur".into()));
            }
        }
        self.reserve_server_actor(now).await?;
        Ok(None)
    }

    async fn reserve_server_actor(&self, now: DateTime<Utc>) -> ApiResult<()> {
        self.server_actor_reserved
            .get_or_try_init(|| async {
                match self.store.reserve_actor(&self.server_actor.to_hex_string(), now).await? {
                    true => Ok(()),
                    false => Err(ApiError::internal("the server's fresh actor is bound to a user")),
                }
            })
            .await
            .map(|_| ())
    }

    /// The server's next sync message for `peer_key`, if it needs one.
    pub async fn sync_generate(&self, document_id: &str, peer_key: &str) -> ApiResult<Option<Vec<u8>>> {
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let sync = self.ensure_loaded(document_id, &mut guard).await?;
        Ok(sync.generate(peer_key))
    }

    /// The notification context of the plan in `slot`, cached there.
    async fn notification_context(
        &self,
        young_person_id: Uuid,
        slot: &mut Slot,
    ) -> ApiResult<Arc<NotificationContext>> {
        if let Some((read_at, context)) = &slot.context {
            let changed_at =
                self.contexts_changed.lock().unwrap_or_else(|p| p.into_inner()).get(&young_person_id).copied();
            if read_at.elapsed() < CONTEXT_TTL && changed_at.is_none_or(|changed| changed < *read_at) {
                return Ok(context.clone());
            }
        }
        let read_at = Instant::now();
        let context = Arc::new(self.store.notification_context(young_person_id).await?);
        slot.context = Some((read_at, context.clone()));
        Ok(context)
    }

    /// The notification context of a young person changed (a transfer, new preferences): the
    /// cached one is read again before the plan's next write.
    pub fn invalidate_notification_context(&self, young_person_id: Uuid) {
        let mut changed = self.contexts_changed.lock().unwrap_or_else(|p| p.into_inner());
        // Past the TTL every cached context is read again anyway.
        changed.retain(|_, at| at.elapsed() < CONTEXT_TTL);
        changed.insert(young_person_id, Instant::now());
    }

    /// A write of `user_id` may have been stored although it failed (a connection lost at COMMIT):
    /// its actor and seq must never sign another change, so the user gets a fresh actor.
    pub(crate) fn forget_actor(&self, user_id: Uuid) {
        self.actors.lock().unwrap_or_else(|p| p.into_inner()).remove(&user_id);
    }

    /// Forgets a disconnected peer's sync state (if the plan is still loaded).
    pub fn forget_peer(&self, document_id: &str, peer_key: &str) {
        let slot = self.slot(document_id);
        if let Ok(mut guard) = slot.try_lock() {
            if let Some(sync) = guard.doc.as_mut() {
                sync.remove_peer(peer_key);
            }
        }
    }

    /// Brings a loaded plan up to date after another instance stored its chunk `seq`, then tells
    /// the local readers. A plan that is not loaded will be read fresh when needed.
    pub async fn refresh(&self, document_id: &str, seq: i64) -> ApiResult<()> {
        let slot = self.slot(document_id);
        let mut guard = slot.lock().await;
        let loaded = guard.doc.is_some();
        if loaded && guard.seq >= seq {
            // Already folded in (a write here caught up with it first).
            return Ok(());
        }
        let caught_up = self.catch_up(document_id, &mut guard).await;
        let footprint = guard.footprint();
        drop(guard);
        self.account(document_id, footprint);
        self.hub.publish(document_id, HubEvent::Changed { answered: None });
        caught_up.map(|_| ())
    }

    /// Forgets an erased plan and tells its sessions to check their access (they lose it).
    pub fn plan_gone(&self, document_id: &str) {
        self.forget(document_id);
        self.hub.publish(document_id, HubEvent::AccessChanged);
    }

    /// Who may read the plan changed (a transfer): its sessions here and on every other instance
    /// check their access again.
    pub fn access_changed(&self, document_id: &str) {
        self.hub.publish(document_id, HubEvent::AccessChanged);
        self.announce(document_id, PlanNews::AccessChanged);
    }

    /// Follows what the instances sharing the database announce (PostgreSQL; on SQLite, this
    /// process's own announcements, erasures by the retention pass among them).
    pub async fn follow_other_instances(self: Arc<Self>) -> ApiResult<()> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        self.store.listen_plans(tx).await?;
        tokio::spawn(async move {
            while let Some(PlanAnnouncement { origin, document_id, news }) = rx.recv().await {
                match news {
                    // Every instance forgets an erased plan, the one that erased it included.
                    PlanNews::Erased => self.plan_gone(&document_id),
                    _ if origin == self.instance_id => {}
                    PlanNews::AccessChanged => self.hub.publish(&document_id, HubEvent::AccessChanged),
                    PlanNews::Changed { seq } => {
                        if let Err(e) = self.refresh(&document_id, seq).await {
                            tracing::warn!(error = %e, document_id, "catching up with a plan changed elsewhere");
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

/// What a sync message got back.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    /// The server's next message for the peer (none when in sync).
    pub reply: Option<Vec<u8>>,
    /// When some of the peer's edits were undone: the notice written in the plan.
    pub notice: Option<Notice>,
}
