//! The document on the phone, its files, and what it knows of the server. The sync steps here are
//! transport-free: the WebSocket session and the HTTP one-shot both call them.

use std::path::Path;

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, ChangeHash};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::local_store::{LocalStore, Recovery, ReplicaState, StoreError, StoredDocument};
use crate::edit::{EditError, EditOutcome};
use crate::rules::Author;

/// Why a sync message could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("message de synchronisation illisible")]
    BadMessage,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One synced document on the phone (the plan by default; the conversation too).
pub struct Replica<D: StoredDocument = crate::PlanDocument> {
    doc: D,
    store: LocalStore,
    state: ReplicaState,
    actor: ActorId,
    /// The typed plan or conversation, rebuilt only after a change.
    view: Option<D::View>,
    pending: Option<usize>,
    /// Set when a save failed: the next save writes a whole snapshot (the incremental cursor has
    /// moved past the changes that did not reach the disk).
    needs_snapshot: bool,
    /// The server's heads changed since `state.json` was last written.
    state_dirty: bool,
}

impl<D: StoredDocument> Replica<D> {
    /// Opens the replica in `dir`, or starts it from `genesis` (the same first change as the
    /// server's, so the two never conflict on the root).
    pub fn open(
        dir: &Path,
        young_person_id: Uuid,
        genesis: impl FnOnce() -> Result<D, crate::document::DocumentError>,
    ) -> Result<(Replica<D>, Recovery), StoreError> {
        let (store, mut doc, state, recovery) = LocalStore::open(dir, young_person_id, genesis)?;
        let (state, actor) = match state {
            Some(state) => {
                let actor = hex_decode(&state.actor)
                    .map(|bytes| ActorId::from(bytes.as_slice()))
                    .ok_or_else(|| StoreError::State("acteur illisible".into()))?;
                (state, actor)
            }
            None => {
                let actor = ActorId::random();
                let state = ReplicaState {
                    young_person_id,
                    actor: actor.to_hex_string(),
                    server_heads: Vec::new(),
                    sync_state: String::new(),
                };
                store.write_state(&state)?;
                (state, actor)
            }
        };
        doc.set_actor(actor.clone());
        let replica =
            Replica { doc, store, state, actor, view: None, pending: None, needs_snapshot: false, state_dirty: false };
        Ok((replica, recovery))
    }

    pub fn edit(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        run: impl FnOnce(&mut D, &Author, DateTime<Utc>) -> Result<EditOutcome, EditError>,
    ) -> Result<Uuid, super::ClientError> {
        let outcome = run(&mut self.doc, author, now)?;
        if outcome.change.is_some() {
            self.changed();
            self.save()?;
        }
        Ok(outcome.id)
    }

    fn changed(&mut self) {
        self.view = None;
        self.pending = None;
    }

    /// Writes what is new to disk.
    pub fn save(&mut self) -> Result<(), StoreError> {
        let saved = if self.needs_snapshot {
            self.store.compact(&mut self.doc)
        } else {
            self.store.save(&mut self.doc).map(drop)
        };
        self.needs_snapshot = saved.is_err();
        saved
    }

    /// The typed plan or conversation.
    pub fn view(&mut self) -> &D::View {
        self.view.get_or_insert_with(|| self.doc.view())
    }

    /// How this installation names itself as a sync peer (WebSocket `join`, HTTP `X-Peer-Id`).
    pub fn peer_id(&self) -> String {
        format!("phone-{}", self.state.actor)
    }

    pub fn document(&self) -> &D {
        &self.doc
    }

    pub fn storage_bytes(&self) -> u64 {
        self.store.size()
    }

    /// Changes by this replica's actor that the server is not known to hold.
    pub fn pending_changes(&mut self) -> usize {
        if let Some(count) = self.pending {
            return count;
        }
        let claimed: Vec<ChangeHash> = self.state.server_heads.iter().filter_map(|h| h.parse().ok()).collect();
        let automerge = self.doc.automerge_mut();
        let known: Vec<ChangeHash> =
            claimed.into_iter().filter(|h| automerge.get_change_by_hash(h).is_some()).collect();
        let actor = &self.actor;
        let count = automerge.get_changes(&known).iter().filter(|c| c.actor_id() == actor).count();
        self.pending = Some(count);
        count
    }

    /// The sync state a new session starts from: only the heads both sides shared (what was in
    /// flight in an earlier session is forgotten, so it is sent again if it was lost).
    pub fn sync_state(&self) -> sync::State {
        hex_decode(&self.state.sync_state).and_then(|bytes| sync::State::decode(&bytes).ok()).unwrap_or_default()
    }

    /// The next message for the server, if there is something to say.
    pub fn generate(&mut self, state: &mut sync::State) -> Option<Vec<u8>> {
        self.doc.automerge_mut().sync().generate_sync_message(state).map(|m| m.encode())
    }

    /// Applies a message from the server and saves what it brought. Returns whether the document
    /// changed.
    pub fn receive(&mut self, state: &mut sync::State, bytes: &[u8]) -> Result<bool, ReceiveError> {
        let message = sync::Message::decode(bytes).map_err(|_| ReceiveError::BadMessage)?;
        let before = self.doc.automerge_mut().get_heads();
        self.doc.automerge_mut().sync().receive_sync_message(state, message).map_err(|_| ReceiveError::BadMessage)?;
        let changed = self.doc.automerge_mut().get_heads() != before;
        if changed {
            self.changed();
            self.save()?;
        }
        if let Some(theirs) = &state.their_heads {
            let theirs: Vec<String> = theirs.iter().map(ToString::to_string).collect();
            if theirs != self.state.server_heads {
                self.state.server_heads = theirs;
                self.pending = None;
                self.state_dirty = true;
            }
        }
        Ok(changed)
    }

    /// Keeps what this session learnt of the server (its heads, the shared heads) for the next.
    pub fn remember(&mut self, state: &sync::State) -> Result<(), StoreError> {
        let encoded = hex_encode(&state.encode());
        if encoded != self.state.sync_state || self.state_dirty {
            self.state.sync_state = encoded;
            self.store.write_state(&self.state)?;
            self.state_dirty = false;
        }
        Ok(())
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

impl Replica<crate::PlanDocument> {
    pub fn plan(&mut self) -> &crate::model::Plan {
        self.view()
    }
}
