//! A loaded plan's slot (the plan, its peers' sync states, what is stored of it) and what a
//! write derives from the plan before it is stored.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sync_core::DomainEvent;
use sync_core::effects::Touched;
use sync_core::engine::PlanSync;
use sync_core::schema::Collection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::notifications::reminders;
use crate::store::{NotificationContext, PlanWrite, Projections, StoredChunk};

use super::footprint;

#[derive(Default)]
pub(super) struct Slot {
    /// The loaded plan with the sync state of each peer syncing it.
    pub(super) doc: Option<PlanSync>,
    /// The seq of the last stored chunk folded into `doc`: the next write is stored only if the
    /// document's last chunk is still this one (see [`crate::store::Store::commit_plan_write`]).
    pub(super) seq: i64,
    /// The seq of the latest stored snapshot: `seq - snapshot_seq` change chunks follow it.
    pub(super) snapshot_seq: i64,
    /// Saved bytes stored for this document.
    pub(super) bytes: usize,
    /// The young person's notification context, read when this plan was last written (it goes
    /// with the plan when the cache evicts it).
    pub(super) context: Option<(Instant, Arc<NotificationContext>)>,
}

impl Slot {
    /// What the plan cache counts for this slot (see [`footprint`]).
    pub(super) fn footprint(&self) -> usize {
        let plan = self
            .doc
            .as_ref()
            .map_or(0, |sync| footprint::loaded_plan(self.bytes, sync.waiting_bytes(), sync.peer_state_bytes()));
        plan + self.context.as_ref().map_or(0, |(_, context)| footprint::context(context))
    }

    /// Counts the chunk `seq` (of `len` bytes) as stored after `self.seq`, folded in or written.
    pub(super) fn count(&mut self, seq: i64, snapshot: bool, len: usize) {
        self.seq = seq;
        if snapshot {
            self.snapshot_seq = seq;
            self.bytes = len;
        } else {
            self.bytes += len;
        }
    }

    /// Counts stored chunks (read after `self.seq`), in order.
    pub(super) fn count_chunks(&mut self, chunks: &[StoredChunk]) {
        chunks.iter().for_each(|c| self.count(c.seq, c.snapshot, c.bytes.len()));
    }

    /// Folds chunks stored elsewhere after `self.seq` into the loaded plan. On an error the plan
    /// may hold part of them: the caller drops it.
    pub(super) fn fold(&mut self, chunks: &[StoredChunk]) -> Result<(), sync_core::document::DocumentError> {
        let Some(sync) = self.doc.as_mut() else {
            return Ok(());
        };
        for chunk in chunks {
            sync.document_mut().load_incremental(&chunk.bytes)?;
        }
        self.count_chunks(chunks);
        Ok(())
    }
}

/// Changes just made to a loaded plan, to store (see [`super::Documents`]'s `commit`).
pub(super) struct NewChanges<'a> {
    pub(super) young_person_id: Uuid,
    /// What they touched (the projections to replace).
    pub(super) touched: &'a Touched,
    /// Their bytes, as stored.
    pub(super) changes: Vec<u8>,
    pub(super) events: &'a [DomainEvent],
    /// The young person wrote them: their last activity becomes `now`.
    pub(super) by_young_person: bool,
    pub(super) now: DateTime<Utc>,
}

/// What a write derives from the plan it stores: the snapshot when it compacts, the projections
/// of the touched entities, the reminders. Derived again when another instance's chunks are
/// folded in before the write is stored.
pub(super) struct Derive {
    /// The entities whose rows are replaced; `None`: every row of the plan.
    pub(super) entities: Option<Vec<(Collection, Uuid)>>,
    pub(super) young_person_id: Uuid,
    pub(super) timezone: chrono_tz::Tz,
    pub(super) now: DateTime<Utc>,
    pub(super) compact_every_chunks: u32,
}

impl Derive {
    pub(super) fn apply(&self, slot: &mut Slot, write: &mut PlanWrite) -> ApiResult<()> {
        let change_chunks = slot.seq - slot.snapshot_seq;
        let compact = change_chunks + 2 >= i64::from(self.compact_every_chunks);
        let Some(sync) = slot.doc.as_mut() else {
            return Err(ApiError::internal("document vanished"));
        };
        let doc = sync.document_mut();
        write.after_seq = slot.seq;
        write.snapshot = compact.then(|| doc.save());
        let projections = match &self.entities {
            Some(entities) => Projections::for_entities(doc, entities),
            None => Projections::from_plan(&doc.plan()),
        };
        let ids: Option<Vec<Uuid>> = self.entities.as_ref().map(|e| e.iter().map(|(_, id)| *id).collect());
        write.reminders = reminders::arm(self.young_person_id, self.timezone, &projections, ids.as_deref(), self.now);
        write.projections = projections;
        write.touched = self.entities.clone();
        Ok(())
    }
}
