//! The server side of the Automerge sync protocol for one document, without I/O.
//!
//! A [`DocumentSync`] holds the document (a plan, [`PlanSync`], or a conversation,
//! [`ConversationSync`]: any [`Reviewed`] kind) and one sync state per connected peer. Each incoming sync
//! message is applied, its new changes checked (their actors must belong to the sender), reviewed
//! by the rulebook and compensated; the caller stores [`Received::to_store`] and only then sends
//! the answers. Transports (WebSocket, HTTP) and storage live outside.

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};

use crate::conversation::ConversationDocument;
use crate::document::{DocumentError, PlanDocument};
use crate::rules::Author;
use crate::sync_message::{self, MessageError, MessageLimits};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("message de synchronisation illisible")]
    BadMessage,
    #[error("message de synchronisation refusé : {0}")]
    Refused(#[from] MessageError),
    #[error("trop de changements attendent des dépendances inconnues ({changes} changements, {bytes} octets)")]
    TooManyWaiting { changes: usize, bytes: usize },
    #[error("changements refusés par le document : {0}")]
    Rejected(String),
    #[error("des changements sont signés par un acteur d'un autre utilisateur")]
    ForeignActor,
    #[error(transparent)]
    Document(#[from] crate::document::DocumentError),
}

/// A kind of document the engine syncs: an Automerge document, the review of what a peer's
/// batch did to it, and the compensation of what the review refused.
pub trait Reviewed {
    type Review: Default + std::fmt::Debug;
    type Compensation: std::fmt::Debug;
    fn automerge_mut(&mut self) -> &mut AutoCommit;
    fn review(&mut self, before: &[ChangeHash], author: &Author, now: DateTime<Utc>) -> Self::Review;
    fn compensate(
        &mut self,
        review: &Self::Review,
        author: &Author,
        now: DateTime<Utc>,
    ) -> Result<Option<Self::Compensation>, DocumentError>;
}

impl Reviewed for PlanDocument {
    type Review = crate::review::Review;
    type Compensation = crate::review::Compensation;

    fn automerge_mut(&mut self) -> &mut AutoCommit {
        PlanDocument::automerge_mut(self)
    }

    fn review(&mut self, before: &[ChangeHash], author: &Author, now: DateTime<Utc>) -> Self::Review {
        crate::review::review(self, before, author, now)
    }

    fn compensate(
        &mut self,
        review: &Self::Review,
        author: &Author,
        now: DateTime<Utc>,
    ) -> Result<Option<Self::Compensation>, DocumentError> {
        crate::review::compensate(self, review, author, now)
    }
}

impl Reviewed for ConversationDocument {
    type Review = crate::conversation::ConversationReview;
    type Compensation = crate::conversation::Compensation;

    fn automerge_mut(&mut self) -> &mut AutoCommit {
        ConversationDocument::automerge_mut(self)
    }

    fn review(&mut self, before: &[ChangeHash], author: &Author, now: DateTime<Utc>) -> Self::Review {
        crate::conversation::review(self, before, author, now)
    }

    fn compensate(
        &mut self,
        review: &Self::Review,
        author: &Author,
        now: DateTime<Utc>,
    ) -> Result<Option<Self::Compensation>, DocumentError> {
        crate::conversation::compensate(self, review, author, now)
    }
}

/// What receiving one message did.
#[derive(Debug)]
pub struct Received<D: Reviewed = PlanDocument> {
    /// The rulebook's review of the new changes (empty when the message brought none).
    pub review: D::Review,
    pub compensation: Option<D::Compensation>,
    /// The changes the message brought (the peer's and the compensation), to append to storage
    /// before answering.
    pub to_store: Vec<u8>,
    /// The actors of the peer's new changes (to bind to the sender on first sight).
    pub new_actors: Vec<ActorId>,
}

impl<D: Reviewed> Default for Received<D> {
    fn default() -> Self {
        Received { review: D::Review::default(), compensation: None, to_store: Vec::new(), new_actors: Vec::new() }
    }
}

impl<D: Reviewed> Received<D> {
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
    /// The change chunks the message carried, when Automerge applied every one of them (nothing
    /// waits for a dependency): what to store, as the peer sent it, without re-encoding it.
    carried: Option<Vec<u8>>,
}

/// A sync state with nothing in it (its struct, its map entry and their allocations).
const PEER_STATE_BASE_BYTES: usize = 512;
/// A change hash a sync state holds (32 bytes, in a `Vec` or a `BTreeSet` node).
const HELD_HASH_BYTES: usize = 48;

/// What a plan accepts from its peers: each message, and the changes Automerge holds back while
/// their dependencies are missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncLimits {
    pub message: MessageLimits,
    /// Changes that may wait for their dependencies (a Bloom filter's false positive makes a peer
    /// withhold a change the server lacks; the next round asks for it).
    pub max_waiting_changes: usize,
    /// Their bytes.
    pub max_waiting_bytes: usize,
    /// Peers whose sync state is kept; past this, the least recently heard one is forgotten (it
    /// resynchronises from its heads). A peer id is the client's choice: without a bound, one
    /// user inventing ids could grow the plan's memory forever.
    pub max_peers: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            message: MessageLimits::default(),
            max_waiting_changes: 1_000,
            max_waiting_bytes: 1024 * 1024,
            max_peers: 64,
        }
    }
}

/// What may be waiting for dependencies: an upper bound, the changes of every message received
/// since Automerge's queue was last empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Waiting {
    changes: usize,
    bytes: usize,
}

/// Each peer's sync state, with when it was last used (a counter), at most `max` of them.
struct Peers {
    states: HashMap<String, (u64, sync::State)>,
    clock: u64,
    max: usize,
}

impl Peers {
    /// The sync state of `peer`, made (and the least recently used one forgotten) if need be.
    fn get(&mut self, peer: &str) -> &mut sync::State {
        self.clock += 1;
        let clock = self.clock;
        if !self.states.contains_key(peer) && self.states.len() >= self.max {
            let oldest = self.states.iter().min_by_key(|(_, (used, _))| *used).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.states.remove(&oldest);
            }
        }
        let (used, state) = self.states.entry(peer.to_owned()).or_insert_with(|| (clock, sync::State::new()));
        *used = clock;
        state
    }
}

/// One document and the sync state of each peer that syncs it.
pub struct DocumentSync<D> {
    doc: D,
    peers: Peers,
    limits: SyncLimits,
    waiting: Waiting,
}

/// A plan and its peers.
pub type PlanSync = DocumentSync<PlanDocument>;
/// A conversation and its peers.
pub type ConversationSync = DocumentSync<ConversationDocument>;

impl<D: Reviewed> DocumentSync<D> {
    pub fn new(doc: D) -> Self {
        Self::with_limits(doc, SyncLimits::default())
    }

    pub fn with_limits(doc: D, limits: SyncLimits) -> Self {
        let peers = Peers { states: HashMap::new(), clock: 0, max: limits.max_peers.max(1) };
        DocumentSync { doc, peers, limits, waiting: Waiting::default() }
    }

    /// Bytes of received changes that may still wait for their dependencies (never stored; count
    /// them in the plan's size).
    pub fn waiting_bytes(&self) -> usize {
        self.waiting.bytes
    }

    /// Peers with a sync state.
    pub fn peer_count(&self) -> usize {
        self.peers.states.len()
    }

    /// An estimate of the memory the peers' sync states hold: a fixed part each, plus the change
    /// hashes they keep (heads, needs, what was sent). The Bloom filter of each peer's last
    /// message is left out (Automerge does not say its size; the message limits bound it). For
    /// the server's cache accounting, not exact.
    pub fn peer_state_bytes(&self) -> usize {
        self.peers
            .states
            .iter()
            .map(|(key, (_, state))| {
                let hashes = state.shared_heads.len()
                    + state.last_sent_heads.len()
                    + state.their_heads.as_ref().map_or(0, Vec::len)
                    + state.their_need.as_ref().map_or(0, Vec::len)
                    + state.sent_hashes.len()
                    + state.their_have.iter().flatten().map(|have| have.last_sync.len()).sum::<usize>();
                PEER_STATE_BASE_BYTES + key.len() + hashes * HELD_HASH_BYTES
            })
            .sum()
    }

    pub fn document(&self) -> &D {
        &self.doc
    }

    pub fn document_mut(&mut self) -> &mut D {
        &mut self.doc
    }

    /// Forgets a peer (disconnected, or its sync state is to be rebuilt).
    pub fn remove_peer(&mut self, peer: &str) {
        self.peers.states.remove(peer);
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
    ) -> Result<Received<D>, SyncError> {
        let applied = self.apply(peer, message)?;
        if applied.new_actors.iter().any(|a| !actor_allowed(a)) {
            return Err(SyncError::ForeignActor);
        }
        self.settle(applied, author, now)
    }

    /// First half of [`Self::receive`], for callers that check actors asynchronously: applies the
    /// message and says which actors signed the new changes.
    ///
    /// The message is checked against the limits before Automerge reads it; changes whose
    /// dependencies are missing wait in Automerge's queue, bounded by the limits: past them, the
    /// message is refused (and the caller's reload empties the queue).
    pub fn apply(&mut self, peer: &str, message: &[u8]) -> Result<Applied, SyncError> {
        let summary = sync_message::check(message, &self.limits.message)?;
        let message = sync::Message::decode(message).map_err(|_| SyncError::BadMessage)?;
        let carried: Vec<u8> = message.changes.iter().flatten().copied().collect();
        // Changes of earlier messages held back for a dependency may be applied by this one: then
        // what it carried is not all it brought.
        let nothing_held = self.waiting == Waiting::default();
        // Automerge logs the patches of what this message applies, so that the review's diff
        // from `before` reads that log instead of scanning every op of the plan.
        self.doc.automerge_mut().update_diff_cursor();
        let before = self.doc.automerge_mut().get_heads();
        let state = self.peers.get(peer);
        self.doc
            .automerge_mut()
            .sync()
            .receive_sync_message(state, message)
            .map_err(|e| SyncError::Rejected(e.to_string()))?;
        let all_applied = summary.changes == 0 || self.count_waiting(summary)?;
        let new_actors = self.new_actors(&before);
        // Only chunks of the types the plan's own saves write are stored as they came.
        let carried = (nothing_held && all_applied && PlanDocument::is_plain_save(&carried)).then_some(carried);
        Ok(Applied { before, new_actors, carried })
    }

    /// Counts what may wait for dependencies after a message with changes; true when nothing does.
    fn count_waiting(&mut self, summary: sync_message::MessageSummary) -> Result<bool, SyncError> {
        if self.doc.automerge_mut().get_missing_deps(&[]).is_empty() {
            self.waiting = Waiting::default();
            return Ok(true);
        }
        self.waiting.changes = self.waiting.changes.saturating_add(summary.changes);
        self.waiting.bytes = self.waiting.bytes.saturating_add(summary.change_bytes);
        let Waiting { changes, bytes } = self.waiting;
        if changes > self.limits.max_waiting_changes || bytes > self.limits.max_waiting_bytes {
            return Err(SyncError::TooManyWaiting { changes, bytes });
        }
        Ok(false)
    }

    /// Second half of [`Self::receive`]: reviews and compensates what [`Self::apply`] merged.
    pub fn settle(&mut self, applied: Applied, author: &Author, now: DateTime<Utc>) -> Result<Received<D>, SyncError> {
        let before = applied.before;
        if self.doc.automerge_mut().get_heads() == before {
            return Ok(Received::default());
        }
        let review = self.doc.review(&before, author, now);
        let compensation = self.doc.compensate(&review, author, now)?;
        // The peer's chunks as received when they are all there is to store; otherwise (changes
        // held back, a compensation) the document saves what it gained since `before`. Either
        // way, nothing is encoded again from the whole document's columns.
        let to_store = match applied.carried {
            Some(carried) if compensation.is_none() && !carried.is_empty() => carried,
            _ => self.doc.automerge_mut().save_after(&before),
        };
        Ok(Received { review, compensation, to_store, new_actors: applied.new_actors })
    }

    /// The next message for `peer`, if it needs one.
    pub fn generate(&mut self, peer: &str) -> Option<Vec<u8>> {
        let state = self.peers.get(peer);
        self.doc.automerge_mut().sync().generate_sync_message(state).map(sync::Message::encode)
    }

    fn new_actors(&mut self, before: &[ChangeHash]) -> Vec<ActorId> {
        let mut actors: Vec<ActorId> =
            self.doc.automerge_mut().get_changes_meta(before).iter().map(|c| c.actor.clone().into_owned()).collect();
        actors.sort();
        actors.dedup();
        actors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{ActionPatch, NewAction};
    use crate::effects::Target;
    use crate::model::QualificationCode;
    use crate::node::Node;
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
            Err(SyncError::BadMessage | SyncError::Refused(_))
        ));
    }

    fn leb(out: &mut Vec<u8>, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                return out.push(byte);
            }
            out.push(byte | 0x80);
        }
    }

    /// A V1 sync message with no heads or needs, one `have` whose Bloom filter is `bloom`, and
    /// the given change chunks.
    fn message(bloom: Option<&[u8]>, changes: &[&[u8]]) -> Vec<u8> {
        let mut m = vec![0x42, 0, 0];
        match bloom {
            Some(bloom) => {
                m.extend([1, 0]);
                leb(&mut m, bloom.len() as u64);
                m.extend(bloom);
            }
            None => m.push(0),
        }
        leb(&mut m, changes.len() as u64);
        for change in changes {
            leb(&mut m, change.len() as u64);
            m.extend(*change);
        }
        m
    }

    fn filter(entries: u64, bits_per_entry: u64, probes: u64) -> Vec<u8> {
        let mut bloom = Vec::new();
        for value in [entries, bits_per_entry, probes] {
            leb(&mut bloom, value);
        }
        bloom.extend(std::iter::repeat_n(0xff, (entries * bits_per_entry).div_ceil(8) as usize));
        bloom
    }

    /// The attacks of issue 10 on a plan with some history: each is refused, and the plan still
    /// answers an honest peer afterwards. Before the checks, the first one aborted the process
    /// (16 GiB for the probes), the second burnt seconds of CPU, the third panicked.
    #[test]
    fn bloom_filters_that_would_exhaust_or_crash_automerge_are_refused() {
        let yp_id = Uuid::new_v4();
        let yp = Author::young_person(yp_id);
        let mut doc = PlanDocument::genesis(yp_id).expect("genesis");
        for i in 0..20 {
            doc.create_action(&yp, Utc::now(), NewAction { title: format!("A{i}"), ..Default::default() }).expect("ok");
        }
        let mut server = PlanSync::new(doc);
        for bloom in [filter(1, 10, u64::from(u32::MAX)), filter(1, 10, 1 << 24), filter(1, 0, 7), filter(0, 10, 7)] {
            let refused = server.receive("attacker", &yp, &message(Some(&bloom), &[]), Utc::now(), |_| true);
            assert!(matches!(refused, Err(SyncError::Refused(_))), "{refused:?}");
            // What would have used the filter: it never reached the peer's sync state.
            server.generate("attacker");
        }
        let mut many = vec![0x42, 0, 0];
        leb(&mut many, 400_000);
        many.extend(std::iter::repeat_n(0, 800_000));
        many.push(0);
        assert!(matches!(server.receive("attacker", &yp, &many, Utc::now(), |_| true), Err(SyncError::Refused(_))));

        let mut phone = PlanDocument::genesis(yp_id).expect("genesis");
        phone.set_actor(ActorId::random());
        exchange(&mut server, &mut phone, &mut sync::State::new(), &yp);
        assert_eq!(phone.plan().actions.len(), 20);
    }

    #[test]
    fn a_compressed_change_may_not_inflate_past_the_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 64 * 1024 * 1024]).expect("in memory");
        let zeros = encoder.finish().expect("in memory");
        let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
        leb(&mut chunk, zeros.len() as u64);
        chunk.extend(&zeros);
        let yp_id = Uuid::new_v4();
        let mut server = PlanSync::new(PlanDocument::genesis(yp_id).expect("genesis"));
        let received =
            server.receive("p", &Author::young_person(yp_id), &message(None, &[&chunk]), Utc::now(), |_| true);
        assert!(matches!(received, Err(SyncError::Refused(MessageError::TooLarge { .. }))), "{received:?}");
    }

    /// Changes whose dependencies never come: a few may wait (a Bloom filter's false positive),
    /// more are refused, and the compacted plan never holds them.
    #[test]
    fn changes_waiting_for_unknown_dependencies_are_bounded_and_never_saved() {
        let yp_id = Uuid::new_v4();
        let yp = Author::young_person(yp_id);
        let mut phone = PlanDocument::genesis(yp_id).expect("genesis");
        phone.set_actor(ActorId::random());
        for i in 0..6 {
            phone
                .create_action(&yp, Utc::now(), NewAction { title: format!("A{i}"), ..Default::default() })
                .expect("ok");
        }
        let changes = phone.automerge_mut().get_changes(&[]);
        // Genesis, then six changes in a chain: the first of them is withheld, the rest are orphans.
        let orphans: Vec<Vec<u8>> = changes[2..].iter().map(|c| c.raw_bytes().to_vec()).collect();
        let limits = SyncLimits { max_waiting_changes: 3, ..SyncLimits::default() };
        let mut server = PlanSync::with_limits(PlanDocument::genesis(yp_id).expect("genesis"), limits);
        for orphan in &orphans[..3] {
            let received = server.receive("p", &yp, &message(None, &[orphan]), Utc::now(), |_| true);
            assert!(!received.expect("may wait").changed());
        }
        assert!(server.waiting_bytes() > 0);
        let mut saved = PlanDocument::load(&server.document_mut().save()).expect("loads");
        assert!(saved.automerge_mut().get_missing_deps(&[]).is_empty(), "an orphan was saved");
        let refused = server.receive("p", &yp, &message(None, &[&orphans[3]]), Utc::now(), |_| true);
        assert!(matches!(refused, Err(SyncError::TooManyWaiting { changes: 4, .. })), "{refused:?}");
    }

    /// Storage as the server keeps it: its first save, then each message's `to_store` appended.
    fn stored_after(server: &mut PlanSync, storage: &mut Vec<u8>, received: Result<Received, SyncError>) {
        storage.extend(received.expect("applies").to_store);
        let mut reloaded = PlanDocument::load(storage).expect("storage loads");
        assert_eq!(reloaded.heads(), server.document_mut().heads(), "storage lacks what the server applied");
    }

    #[test]
    fn what_a_message_brings_is_stored_whole_held_back_changes_included() {
        let yp_id = Uuid::new_v4();
        let yp = Author::young_person(yp_id);
        let mut server = PlanSync::new(PlanDocument::genesis(yp_id).expect("genesis"));
        let mut storage = server.document_mut().save();
        let mut phone = PlanDocument::genesis(yp_id).expect("genesis");
        phone.set_actor(ActorId::random());
        for i in 0..5 {
            let action = NewAction { title: format!("A{i}"), ..Default::default() };
            phone.create_action(&yp, Utc::now(), action).expect("ok");
        }
        let changes: Vec<Vec<u8>> =
            phone.automerge_mut().get_changes(&[])[1..].iter().map(|c| c.raw_bytes().to_vec()).collect();
        // Two changes in one message, as a phone sends them: stored as they came.
        let received = server.receive("p", &yp, &message(None, &[&changes[0], &changes[1]]), Utc::now(), |_| true);
        stored_after(&mut server, &mut storage, received);
        // The fourth before the third: held back, nothing stored; then the third brings both.
        let held = server.receive("p", &yp, &message(None, &[&changes[3]]), Utc::now(), |_| true);
        assert!(!held.expect("may wait").changed());
        let received = server.receive("p", &yp, &message(None, &[&changes[2]]), Utc::now(), |_| true);
        stored_after(&mut server, &mut storage, received);
        // A refused edit: the peer's change and the compensation are both stored.
        phone.write_target(&Target::Root { key: "young_person_id".into() }, Some(&Node::from("x"))).expect("ok");
        phone.commit("forged", Utc::now());
        let forged = phone.automerge_mut().get_changes(&[]).last().map(|c| c.raw_bytes().to_vec()).expect("change");
        let received = server.receive("p", &yp, &message(None, &[&changes[4], &forged]), Utc::now(), |_| true);
        let received = received.expect("applies");
        assert!(received.compensation.is_some());
        stored_after(&mut server, &mut storage, Ok(received));
        assert_eq!(PlanDocument::load(&storage).expect("loads").plan().actions.len(), 5);
    }

    #[test]
    fn a_peer_that_invents_ids_keeps_a_bounded_number_of_sync_states() {
        let limits = SyncLimits { max_peers: 4, ..SyncLimits::default() };
        let mut server = PlanSync::with_limits(PlanDocument::genesis(Uuid::new_v4()).expect("genesis"), limits);
        for i in 0..100 {
            server.generate(&format!("peer-{i}"));
        }
        assert_eq!(server.peer_count(), 4);
        assert!(server.peer_state_bytes() >= 4 * PEER_STATE_BASE_BYTES);
    }
}
