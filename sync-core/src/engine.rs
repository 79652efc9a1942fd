//! The server side of the Automerge sync protocol for one plan, without I/O.
//!
//! A `PlanSync` holds the document and one sync state per connected peer. Each incoming sync
//! message is applied, its new changes checked (their actors must belong to the sender), reviewed
//! by the rulebook and compensated; the caller stores [`Received::to_store`] and only then sends
//! the answers. Transports (WebSocket, HTTP) and storage live outside.

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, ChangeHash};
use chrono::{DateTime, Utc};

use crate::document::PlanDocument;
use crate::review::{Compensation, Review, compensate, review};
use crate::rules::Author;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("message de synchronisation illisible")]
    BadMessage,
    #[error("changements refusés par le document : {0}")]
    Rejected(String),
    #[error("des changements sont signés par un acteur d'un autre utilisateur")]
    ForeignActor,
    #[error(transparent)]
    Document(#[from] crate::document::DocumentError),
}

/// What receiving one message did.
#[derive(Debug, Default)]
pub struct Received {
    /// The rulebook's review of the new changes (empty when the message brought none).
    pub review: Review,
    pub compensation: Option<Compensation>,
    /// The changes not yet saved (the peer's and the compensation: `save_incremental`), to append
    /// to storage before answering.
    pub to_store: Vec<u8>,
    /// The actors of the peer's new changes (to bind to the sender on first sight).
    pub new_actors: Vec<ActorId>,
}

impl Received {
    pub fn changed(&self) -> bool {
        !self.to_store.is_empty()
    }
}

/// A message applied but not yet reviewed (see [`PlanSync::apply`]).
#[derive(Debug)]
pub struct Applied {
    before: Vec<ChangeHash>,
    /// The actors of the new changes.
    pub new_actors: Vec<ActorId>,
}

/// One plan and the sync state of each peer that syncs it.
pub struct PlanSync {
    doc: PlanDocument,
    peers: HashMap<String, sync::State>,
}

impl PlanSync {
    pub fn new(doc: PlanDocument) -> Self {
        PlanSync { doc, peers: HashMap::new() }
    }

    pub fn document(&self) -> &PlanDocument {
        &self.doc
    }

    pub fn document_mut(&mut self) -> &mut PlanDocument {
        &mut self.doc
    }

    /// Forgets a peer (disconnected, or its sync state is to be rebuilt).
    pub fn remove_peer(&mut self, peer: &str) {
        self.peers.remove(peer);
    }

    /// Applies one sync message from `peer`, written by `author`. `actor_allowed` says whether an
    /// actor may sign changes for this author (bound to them, or never seen). On any error the
    /// document may hold the rejected changes: the caller must drop this `PlanSync` and reload it
    /// from storage.
    pub fn receive(
        &mut self,
        peer: &str,
        author: &Author,
        message: &[u8],
        now: DateTime<Utc>,
        mut actor_allowed: impl FnMut(&ActorId) -> bool,
    ) -> Result<Received, SyncError> {
        let applied = self.apply(peer, message)?;
        if applied.new_actors.iter().any(|a| !actor_allowed(a)) {
            return Err(SyncError::ForeignActor);
        }
        self.settle(applied, author, now)
    }

    /// First half of [`Self::receive`], for callers that check actors asynchronously: applies the
    /// message and says which actors signed the new changes.
    pub fn apply(&mut self, peer: &str, message: &[u8]) -> Result<Applied, SyncError> {
        let message = sync::Message::decode(message).map_err(|_| SyncError::BadMessage)?;
        let before = self.doc.heads();
        let state = self.peers.entry(peer.to_owned()).or_default();
        self.doc
            .automerge_mut()
            .sync()
            .receive_sync_message(state, message)
            .map_err(|e| SyncError::Rejected(e.to_string()))?;
        let new_actors = self.new_actors(&before);
        Ok(Applied { before, new_actors })
    }

    /// Second half of [`Self::receive`]: reviews and compensates what [`Self::apply`] merged.
    pub fn settle(&mut self, applied: Applied, author: &Author, now: DateTime<Utc>) -> Result<Received, SyncError> {
        let before = applied.before;
        if self.doc.heads() == before {
            return Ok(Received::default());
        }
        let review = review(&mut self.doc, &before, author, now);
        let compensation = compensate(&mut self.doc, &review, author, now)?;
        let to_store = self.doc.save_incremental();
        Ok(Received { review, compensation, to_store, new_actors: applied.new_actors })
    }

    /// The next message for `peer`, if it needs one.
    pub fn generate(&mut self, peer: &str) -> Option<Vec<u8>> {
        let state = self.peers.entry(peer.to_owned()).or_default();
        self.doc.automerge_mut().sync().generate_sync_message(state).map(sync::Message::encode)
    }

    fn new_actors(&mut self, before: &[ChangeHash]) -> Vec<ActorId> {
        let mut actors: Vec<ActorId> =
            self.doc.automerge_mut().get_changes(before).iter().map(|c| c.actor_id().clone()).collect();
        actors.sort();
        actors.dedup();
        actors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{ActionPatch, NewAction};
    use crate::model::QualificationCode;
    use uuid::Uuid;

    fn exchange(server: &mut PlanSync, phone: &mut PlanDocument, state: &mut sync::State, author: &Author) -> usize {
        let mut refusals = 0;
        for _ in 0..16 {
            let up = phone.automerge_mut().sync().generate_sync_message(state);
            if let Some(m) = &up {
                let received = server.receive("phone", author, &m.clone().encode(), Utc::now(), |_| true);
                refusals += received.map(|r| r.review.refusals().count()).unwrap_or(0);
            }
            let down = server.generate("phone");
            if let Some(bytes) = &down {
                let m = sync::Message::decode(bytes).expect("valid");
                phone.automerge_mut().sync().receive_sync_message(state, m).expect("applies");
            }
            if up.is_none() && down.is_none() {
                break;
            }
        }
        refusals
    }

    #[test]
    fn a_phone_syncs_and_its_refused_edit_comes_back_undone() {
        let (yp_id, adv_id) = (Uuid::new_v4(), Uuid::new_v4());
        let (yp, adv) = (Author::young_person(yp_id), Author::adviser(adv_id));
        let mut server_doc = PlanDocument::genesis(yp_id).expect("genesis");
        let action = server_doc.create_action(&yp, Utc::now(), NewAction { title: "CV".into(), ..Default::default() });
        let action = action.expect("created").id;
        server_doc.complete_action(&yp, Utc::now(), action).expect("done");
        let mut phone = PlanDocument::genesis(yp_id).expect("genesis");
        phone.set_actor(ActorId::random());
        let mut server = PlanSync::new(server_doc);
        let mut state = sync::State::new();
        assert_eq!(exchange(&mut server, &mut phone, &mut state, &yp), 0);
        assert_eq!(phone.plan().actions.len(), 1);

        // Offline: the phone retitles; meanwhile the adviser qualifies on the server.
        let retitle = ActionPatch { title: Some("Autre".into()), ..ActionPatch::default() };
        phone.update_action(&yp, Utc::now(), action, retitle).expect("allowed offline");
        server.document_mut().qualify_action(&adv, Utc::now(), action, QualificationCode::Emploi, None).expect("ok");

        assert!(exchange(&mut server, &mut phone, &mut state, &yp) > 0);
        assert_eq!(phone.plan().action(action).map(|a| a.title.as_str()), Some("CV"));
        assert_eq!(phone.plan(), server.document().plan());
        assert_eq!(phone.plan().notices.len(), 1);
    }

    #[test]
    fn changes_signed_by_a_foreign_actor_are_refused() {
        let yp_id = Uuid::new_v4();
        let yp = Author::young_person(yp_id);
        let mut phone = PlanDocument::genesis(yp_id).expect("genesis");
        phone.set_actor(ActorId::random());
        phone.create_action(&yp, Utc::now(), NewAction { title: "CV".into(), ..Default::default() }).expect("ok");
        let mut server = PlanSync::new(PlanDocument::genesis(yp_id).expect("genesis"));
        let mut state = sync::State::new();
        let mut result = Ok(Received::default());
        for _ in 0..4 {
            if let Some(m) = phone.automerge_mut().sync().generate_sync_message(&mut state) {
                result = server.receive("phone", &yp, &m.encode(), Utc::now(), |_| false);
                if result.is_err() {
                    break;
                }
            }
            if let Some(bytes) = server.generate("phone") {
                let m = sync::Message::decode(&bytes).expect("valid");
                phone.automerge_mut().sync().receive_sync_message(&mut state, m).expect("applies");
            }
        }
        assert!(matches!(result, Err(SyncError::ForeignActor)));
    }

    #[test]
    fn garbage_is_a_bad_message() {
        let mut server = PlanSync::new(PlanDocument::genesis(Uuid::new_v4()).expect("genesis"));
        let author = Author::young_person(Uuid::new_v4());
        assert!(matches!(
            server.receive("p", &author, b"\x42garbage", Utc::now(), |_| true),
            Err(SyncError::BadMessage)
        ));
    }
}
