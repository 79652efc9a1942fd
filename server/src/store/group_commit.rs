//! Group commit: plan writes that arrive while a transaction runs go together in the next one.
//!
//! Every write of a plan is queued to one task per process, which takes whatever is waiting (up
//! to [`MAX_BATCH`] writes of distinct plans) and stores it in one transaction: one `BEGIN` and
//! one `COMMIT` (one WAL flush on PostgreSQL) for all of them, and no contention between the
//! writers for SQLite's single write lock. A lone write waits for nobody. A write whose plan
//! another instance changed meanwhile comes back unstored, for the caller to store alone after
//! catching up ([`super::Store::commit_plan_write`]).

use tokio::sync::{mpsc, oneshot};

use super::{DynStore, PlanWrite, StoreError, StoreResult};

/// Writes one transaction holds at most.
pub const MAX_BATCH: usize = 64;

/// Writes waiting for the committer; a writer past this waits to queue.
const QUEUE: usize = 1024;

/// What became of a queued write: stored as chunk `Some(seq)`, or not stored (`None`) because
/// the plan moved on; the write comes back either way.
type Reply = (PlanWrite, StoreResult<Option<i64>>);

struct Pending {
    write: PlanWrite,
    reply: oneshot::Sender<Reply>,
}

/// The handle of the committing task; the task ends when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the committing task (inside a Tokio runtime).
    pub fn start(store: DynStore) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, pending));
        GroupCommit { queue }
    }

    /// Stores `write` with whatever other writes are waiting; see [`Reply`].
    pub async fn commit(&self, write: PlanWrite) -> StoreResult<(PlanWrite, Option<i64>)> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = self.queue.send(Pending { write, reply }).await {
            return Ok((pending.write, None));
        }
        let (write, stored) = answer.await.map_err(|_| StoreError::Corrupt("the committer stopped".into()))?;
        stored.map(|seq| (write, seq))
    }
}

async fn run(store: DynStore, mut pending: mpsc::Receiver<Pending>) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // One order for every instance: two batches never wait on each other's row locks.
        batch.sort_by(|a, b| a.write.document_id.cmp(&b.write.document_id));
        let (writes, replies): (Vec<PlanWrite>, Vec<_>) = batch.into_iter().map(|p| (p.write, p.reply)).unzip();
        match store.commit_plan_writes(&writes).await {
            Ok(seqs) => {
                for ((write, reply), seq) in writes.into_iter().zip(replies).zip(seqs) {
                    let _ = reply.send((write, Ok(seq)));
                }
            }
            Err(e) if writes.len() == 1 => {
                if let (Some(write), Some(reply)) = (writes.into_iter().next(), replies.into_iter().next()) {
                    let _ = reply.send((write, Err(e)));
                }
            }
            Err(e) => {
                // One write may be at fault: each is tried alone, so only it fails.
                tracing::warn!(error = %e, writes = writes.len(), "a group commit failed; storing its writes one by one");
                for (write, reply) in writes.into_iter().zip(replies) {
                    let stored = store.commit_plan_writes(std::slice::from_ref(&write)).await;
                    let _ = reply.send((write, stored.map(|seqs| seqs.first().copied().flatten())));
                }
            }
        }
    }
}
