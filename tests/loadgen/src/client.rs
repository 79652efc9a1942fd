//! The simulated peers: phones that edit their plan offline then sync, and advisers' browsers that
//! observe plans. Both speak the automerge-repo network protocol v1 through sync-core's frame
//! codec and Automerge's sync protocol, one event loop per WebSocket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::model::ActionCategory;
use sync_core::protocol::{Frame, PROTOCOL_V1, PeerMetadata};
use sync_core::{Author, DocumentId, PlanDocument};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// What the conductor lets the peers do; only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Phones connect and join, nothing more (idle memory, joined only).
    Join,
    /// Phones sync their plan once (idle memory, plan synced).
    InitialSync,
    /// Observers request the plans; phones stay idle.
    Observe,
    /// Phones run their cycles.
    Go,
    /// Everybody leaves.
    Stop,
}

/// What a peer tells the conductor.
#[derive(Debug)]
pub enum Event {
    Joined,
    Synced,
    ObserverReady,
    CyclesDone,
    Failed(String),
}

/// Counters shared by every peer of one run.
#[derive(Default)]
pub struct Metrics {
    pub phone_up: AtomicU64,
    pub phone_down: AtomicU64,
    pub observer_up: AtomicU64,
    pub observer_down: AtomicU64,
    /// Frames, both ways, both roles.
    pub frames: AtomicU64,
    /// Raw bytes of the changes the phones made during their cycles.
    pub change_bytes: AtomicU64,
    pub changes: AtomicU64,
    /// Changes made by the phones that an observer applied during the cycles, summed over the
    /// observers (one phone edit seen by 3 observers counts 3).
    pub delivered: AtomicU64,
    /// Changes an observer applied during the cycles that no phone made: the server's
    /// compensations of refused edits (must stay 0).
    pub compensations: AtomicU64,
    /// `ephemeral` frames the phones received (the server's notices of undone edits; must stay 0).
    pub notices: AtomicU64,
    /// First sync frame of a cycle → the server has every head of the phone.
    pub cycle_times: Mutex<Vec<Duration>>,
}

impl Metrics {
    pub fn wire_bytes(&self) -> u64 {
        self.phone_up.load(Ordering::Relaxed)
            + self.phone_down.load(Ordering::Relaxed)
            + self.observer_up.load(Ordering::Relaxed)
            + self.observer_down.load(Ordering::Relaxed)
    }
}

/// One plan of the workload, shared by its phone and its observers.
pub struct Plan {
    pub young_person_id: Uuid,
    pub document_id: DocumentId,
    /// The plan as the phone holds it before the run (saved bytes): its genesis change (the same
    /// bytes wherever it is made) and `--history` changes.
    pub initial: Vec<u8>,
    /// The heads of `initial`: an observer is ready when it has them.
    pub heads: Vec<ChangeHash>,
    /// The actors the phone signs with; any other change reaching an observer during the cycles
    /// is the server's (a compensation).
    pub phone_actors: Mutex<Vec<ActorId>>,
    /// The last change of each cycle the phone sent, and when (wall clock, so that a phone in
    /// another process, `--phone-client js`, compares with the observers' clock).
    pub sent: Mutex<Vec<(ChangeHash, SystemTime)>>,
    /// Per observer of the plan: when each change reached it.
    pub arrivals: Vec<Mutex<HashMap<ChangeHash, SystemTime>>>,
}

impl Plan {
    pub fn new(
        young_person_id: Uuid,
        document_id: DocumentId,
        initial: Vec<u8>,
        observers: usize,
    ) -> anyhow::Result<Self> {
        let heads = PlanDocument::load(&initial)?.heads();
        Ok(Plan {
            young_person_id,
            document_id,
            initial,
            heads,
            phone_actors: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            arrivals: (0..observers).map(|_| Mutex::new(HashMap::new())).collect(),
        })
    }

    /// (sent, observer) pairs not arrived yet.
    pub fn outstanding(&self) -> usize {
        let sent = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        self.arrivals
            .iter()
            .map(|a| a.lock().map(|a| sent.iter().filter(|(h, _)| !a.contains_key(h)).count()).unwrap_or(0))
            .sum()
    }

    /// Edit sent by a phone → change applied by each observer.
    pub fn latencies(&self) -> Vec<Duration> {
        let sent = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out = Vec::new();
        for a in &self.arrivals {
            let Ok(a) = a.lock() else { continue };
            for (h, at) in &sent {
                if let Some(got) = a.get(h) {
                    out.push(got.duration_since(*at).unwrap_or(Duration::ZERO));
                }
            }
        }
        out
    }
}

/// What every peer needs.
pub struct Ctx {
    pub metrics: Arc<Metrics>,
    pub phase: watch::Receiver<Phase>,
    pub events: mpsc::UnboundedSender<Event>,
    /// Limits the WebSocket handshakes in flight (a burst of 2,000 SYNs overflows accept queues).
    pub connecting: Arc<Semaphore>,
    pub cycles: usize,
    pub edits: usize,
    pub cycle_timeout: Duration,
    /// Pause between a phone's cycles (0: closed loop, as fast as the server answers).
    pub think: Duration,
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One joined WebSocket.
struct Link {
    ws: Ws,
    peer_id: String,
    server_id: String,
    up: &'static str,
}

#[derive(Clone, Copy)]
enum Role {
    Phone,
    Observer,
}

impl Role {
    fn counters(self, m: &Metrics) -> (&AtomicU64, &AtomicU64) {
        match self {
            Role::Phone => (&m.phone_up, &m.phone_down),
            Role::Observer => (&m.observer_up, &m.observer_down),
        }
    }
}

impl Link {
    async fn connect(ctx: &Ctx, url: &str, peer_id: String, role: Role) -> anyhow::Result<Link> {
        let permit = ctx.connecting.acquire().await?;
        let (ws, _) = tokio_tungstenite::connect_async(url).await.with_context(|| format!("connecting {peer_id}"))?;
        let mut link = Link { ws, peer_id, server_id: String::new(), up: "" };
        let join = Frame::Join {
            sender_id: link.peer_id.clone(),
            metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
            supported_protocol_versions: vec![PROTOCOL_V1.to_owned()],
        };
        link.send(ctx, role, &join).await?;
        let reply = tokio::time::timeout(Duration::from_secs(30), link.recv(ctx, role))
            .await
            .context("no peer frame within 30 s")??;
        drop(permit);
        match reply {
            Some(Frame::Peer { sender_id, .. }) => link.server_id = sender_id,
            Some(Frame::Error { message, .. }) => bail!("{}: error frame on join: {message}", link.peer_id),
            other => bail!("{}: expected peer, got {other:?}", link.peer_id),
        }
        link.up = "joined";
        Ok(link)
    }

    async fn send(&mut self, ctx: &Ctx, role: Role, frame: &Frame) -> anyhow::Result<()> {
        let bytes = frame.encode();
        role.counters(&ctx.metrics).0.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        ctx.metrics.frames.fetch_add(1, Ordering::Relaxed);
        self.ws.send(WsMessage::Binary(bytes.into())).await.with_context(|| format!("{}: send", self.peer_id))
    }

    /// The next frame; `None` when the server closed the socket.
    async fn recv(&mut self, ctx: &Ctx, role: Role) -> anyhow::Result<Option<Frame>> {
        loop {
            let Some(msg) = self.ws.next().await else { return Ok(None) };
            match msg.with_context(|| format!("{}: receive ({})", self.peer_id, self.up))? {
                WsMessage::Binary(bytes) => {
                    role.counters(&ctx.metrics).1.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    ctx.metrics.frames.fetch_add(1, Ordering::Relaxed);
                    return Frame::decode(&bytes).map(Some).with_context(|| format!("{}: bad frame", self.peer_id));
                }
                WsMessage::Close(_) => return Ok(None),
                _ => continue,
            }
        }
    }
}

/// One document kept in sync with the server.
struct DocSync {
    id: DocumentId,
    doc: PlanDocument,
    state: State,
    /// Sent a first message (as `request` when we start without the document).
    started: bool,
}

impl DocSync {
    fn new(id: DocumentId, doc: PlanDocument) -> Self {
        DocSync { id, doc, state: State::new(), started: false }
    }

    /// The next message for the server, as a frame.
    fn outgoing(&mut self, link: &Link) -> Option<Frame> {
        let doc = self.doc.automerge_mut();
        let data = doc.sync().generate_sync_message(&mut self.state)?.encode();
        let empty = doc.get_heads().is_empty();
        let (sender_id, target_id, document_id) = (link.peer_id.clone(), link.server_id.clone(), self.id);
        let first = !self.started;
        self.started = true;
        Some(if first && empty {
            Frame::Request { sender_id, target_id, document_id, data }
        } else {
            Frame::Sync { sender_id, target_id, document_id, data }
        })
    }

    fn receive(&mut self, data: &[u8]) -> anyhow::Result<()> {
        let msg = Message::decode(data).context("bad sync message from the server")?;
        self.doc
            .automerge_mut()
            .sync()
            .receive_sync_message(&mut self.state, msg)
            .context("applying the server's sync message")
    }

    /// The server has told us it has every head we have.
    fn server_has_all(&mut self) -> bool {
        let heads = self.doc.heads();
        self.state.their_heads.as_ref().is_some_and(|theirs| heads.iter().all(|h| theirs.contains(h)))
    }
}

fn fail(ctx: &Ctx, e: anyhow::Error) {
    let _ = ctx.events.send(Event::Failed(format!("{e:#}")));
}

/// A phone: its own plan, `cycles` times `edits` offline edits then a sync until quiet.
pub async fn phone(ctx: Arc<Ctx>, index: usize, url: String, plan: Arc<Plan>) {
    if let Err(e) = run_phone(&ctx, index, &url, &plan).await {
        fail(&ctx, e);
    }
}

async fn run_phone(ctx: &Ctx, index: usize, url: &str, plan: &Plan) -> anyhow::Result<()> {
    let role = Role::Phone;
    let mut phase_rx = ctx.phase.clone();
    let mut link = Link::connect(ctx, url, format!("phone-{index}-{}", Uuid::new_v4().simple()), role).await?;
    let _ = ctx.events.send(Event::Joined);
    let mut initial = PlanDocument::load(&plan.initial)?;
    let actor = ActorId::random();
    initial.set_actor(actor.clone());
    plan.phone_actors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(actor);
    let author = Author::young_person(plan.young_person_id);
    let mut sync = DocSync::new(plan.document_id, initial);

    let mut initial = (false, false); // (sent, done)
    let mut cycle: Option<Instant> = None;
    // With a think time, phones start spread over one think time and pause ±50 % between cycles.
    let jitter = |base: Duration| base.mul_f64(0.5 + (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0);
    let mut next_at: Option<Instant> = None;
    let mut done = 0usize;
    let mut action: Option<Uuid> = None;
    let mut edit_no = 0u64;
    loop {
        let phase = *phase_rx.borrow_and_update();
        if phase == Phase::Stop {
            break;
        }
        if phase >= Phase::InitialSync && !initial.0 {
            initial.0 = true;
            if let Some(f) = sync.outgoing(&link) {
                link.send(ctx, role, &f).await?;
            }
        }
        if initial.0 && !initial.1 && sync.server_has_all() {
            initial.1 = true;
            let _ = ctx.events.send(Event::Synced);
        }
        if phase >= Phase::Go && initial.1 {
            if let Some(started) = cycle
                && sync.server_has_all()
            {
                ctx.metrics.cycle_times.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(started.elapsed());
                cycle = None;
                done += 1;
                if done == ctx.cycles {
                    let _ = ctx.events.send(Event::CyclesDone);
                }
            }
            if cycle.is_none() && next_at.is_none() && done < ctx.cycles && !ctx.think.is_zero() {
                let wait = if done == 0 {
                    ctx.think.mul_f64((Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0)
                } else {
                    jitter(ctx.think)
                };
                next_at = Some(Instant::now() + wait);
            }
            if cycle.is_none() && done < ctx.cycles && next_at.is_none_or(|t| Instant::now() >= t) {
                next_at = None;
                let before = sync.doc.heads();
                let last = offline_edits(ctx, &author, &mut sync.doc, &mut action, &mut edit_no)?;
                let new_changes = sync.doc.automerge_mut().get_changes(&before);
                let bytes: usize = new_changes.iter().map(|c| c.raw_bytes().len()).sum();
                ctx.metrics.change_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                ctx.metrics.changes.fetch_add(new_changes.len() as u64, Ordering::Relaxed);
                let now = Instant::now();
                if let Some(h) = last {
                    plan.sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push((h, SystemTime::now()));
                }
                cycle = Some(now);
                if let Some(f) = sync.outgoing(&link) {
                    link.send(ctx, role, &f).await?;
                }
            }
        }
        let deadline = cycle.map(|c| c + ctx.cycle_timeout);
        let wake = if cycle.is_none() { next_at } else { None };
        tokio::select! {
            frame = link.recv(ctx, role) => {
                let Some(frame) = frame? else {
                    if phase_rx.borrow().eq(&Phase::Stop) { break }
                    bail!("{}: the server closed the connection", link.peer_id)
                };
                handle(ctx, role, &mut link, frame, |id| (id == sync.id).then_some(&mut sync)).await?;
            }
            changed = phase_rx.changed() => changed?,
            _ = sleep_until(wake) => {}
            _ = sleep_until(deadline) => bail!("{}: cycle {done} not acknowledged within {:?}", link.peer_id, ctx.cycle_timeout),
        }
    }
    let _ = link.send(ctx, role, &Frame::Leave { sender_id: link.peer_id.clone() }).await;
    let _ = link.ws.close(None).await;
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// `k` offline edits in the layout the app writes: the first cycle's first edit creates an
/// action, the others edit it (title, description, due date in turn). Returns the last change.
fn offline_edits(
    ctx: &Ctx,
    author: &Author,
    doc: &mut PlanDocument,
    action: &mut Option<Uuid>,
    edit_no: &mut u64,
) -> anyhow::Result<Option<ChangeHash>> {
    let mut last = None;
    for _ in 0..ctx.edits {
        *edit_no += 1;
        let n = *edit_no;
        let now = Utc::now();
        let outcome = match *action {
            None => {
                let new = NewAction {
                    id: Some(Uuid::new_v4()),
                    title: "Postuler chez Décathlon Part-Dieu".into(),
                    category: Some(ActionCategory::Emploi),
                    description: Some("Envoyer le CV et la lettre de motivation".into()),
                    due_date: Some(now.date_naive() + chrono::Duration::days(7)),
                    status: None,
                    reminder: None,
                };
                let outcome = doc.create_action(author, now, new)?;
                *action = Some(outcome.id);
                outcome
            }
            Some(id) => {
                let patch = match n % 3 {
                    0 => ActionPatch {
                        title: Some(format!("Postuler chez Décathlon Part-Dieu ({n})")),
                        ..Default::default()
                    },
                    1 => ActionPatch {
                        description: Some(Some(format!("Relancer le magasin, essai n° {n}"))),
                        ..Default::default()
                    },
                    _ => ActionPatch {
                        due_date: Some(Some(now.date_naive() + chrono::Duration::days(7 + (n % 20) as i64))),
                        ..Default::default()
                    },
                };
                doc.update_action(author, now, id, patch)?
            }
        };
        last = outcome.change.or(last);
    }
    Ok(last)
}

/// Applies a frame from the server to the document it names and answers it.
async fn handle<'a>(
    ctx: &Ctx,
    role: Role,
    link: &mut Link,
    frame: Frame,
    doc_of: impl FnOnce(DocumentId) -> Option<&'a mut DocSync>,
) -> anyhow::Result<Option<DocumentId>> {
    match frame {
        Frame::Sync { document_id, data, .. } | Frame::Request { document_id, data, .. } => {
            let Some(d) = doc_of(document_id) else { return Ok(None) };
            d.receive(&data)?;
            if let Some(f) = d.outgoing(link) {
                link.send(ctx, role, &f).await?;
            }
            Ok(Some(document_id))
        }
        Frame::DocUnavailable { document_id, .. } => bail!("{}: doc-unavailable for {document_id}", link.peer_id),
        Frame::Ephemeral { .. } => {
            if matches!(role, Role::Phone) {
                ctx.metrics.notices.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None)
        }
        Frame::Error { message, .. } => bail!("{}: error frame: {message}", link.peer_id),
        _ => Ok(None),
    }
}

/// An adviser's browser: requests the plans of its portfolio and applies whatever comes. `slot`
/// tells the observers of one plan apart (`--observers`).
pub async fn observer(ctx: Arc<Ctx>, index: usize, slot: usize, url: String, plans: Vec<Arc<Plan>>) {
    if let Err(e) = run_observer(&ctx, index, slot, &url, plans).await {
        fail(&ctx, e);
    }
}

async fn run_observer(ctx: &Ctx, index: usize, slot: usize, url: &str, plans: Vec<Arc<Plan>>) -> anyhow::Result<()> {
    let role = Role::Observer;
    let mut phase_rx = ctx.phase.clone();
    let mut link = Link::connect(ctx, url, format!("adviser-{index}-{slot}-{}", Uuid::new_v4().simple()), role).await?;
    let mut docs: HashMap<DocumentId, (Arc<Plan>, DocSync)> = plans
        .into_iter()
        .map(|p| {
            (p.document_id, (p.clone(), DocSync::new(p.document_id, PlanDocument::from_automerge(AutoCommit::new()))))
        })
        .collect();
    let mut requested = false;
    let mut ready = false;
    loop {
        let phase = *phase_rx.borrow_and_update();
        if phase == Phase::Stop {
            break;
        }
        if phase >= Phase::Observe && !requested {
            requested = true;
            for (_, d) in docs.values_mut() {
                if let Some(f) = d.outgoing(&link) {
                    link.send(ctx, role, &f).await?;
                }
            }
        }
        if requested && !ready {
            ready = docs
                .values_mut()
                .all(|(p, d)| p.heads.iter().all(|h| d.doc.automerge_mut().get_change_by_hash(h).is_some()));
            if ready {
                let _ = ctx.events.send(Event::ObserverReady);
            }
        }
        tokio::select! {
            frame = link.recv(ctx, role) => {
                let Some(frame) = frame? else {
                    if phase_rx.borrow().eq(&Phase::Stop) { break }
                    bail!("{}: the server closed the connection", link.peer_id)
                };
                let before = match frame_document(&frame).and_then(|id| docs.get_mut(&id)) {
                    Some((_, d)) => Some(d.doc.heads()),
                    None => None,
                };
                let applied = handle(ctx, role, &mut link, frame, |id| docs.get_mut(&id).map(|(_, d)| d)).await?;
                if let (Some(before), Some((plan, d))) = (before, applied.and_then(|id| docs.get_mut(&id))) {
                    // The phase now, not when this turn of the loop began.
                    let cycles = *phase_rx.borrow() >= Phase::Go;
                    record_arrivals(ctx, plan, slot, d, &before, cycles)?;
                }
            }
            changed = phase_rx.changed() => changed?,
        }
    }
    let _ = link.send(ctx, role, &Frame::Leave { sender_id: link.peer_id.clone() }).await;
    let _ = link.ws.close(None).await;
    Ok(())
}

fn frame_document(frame: &Frame) -> Option<DocumentId> {
    match frame {
        Frame::Sync { document_id, .. } | Frame::Request { document_id, .. } => Some(*document_id),
        _ => None,
    }
}

/// Notes when each new change reached this observer; during the cycles, counts the phones'
/// changes (propagated edits) and anybody else's (compensations).
fn record_arrivals(
    ctx: &Ctx,
    plan: &Plan,
    slot: usize,
    d: &mut DocSync,
    before: &[ChangeHash],
    cycles: bool,
) -> anyhow::Result<()> {
    let doc = d.doc.automerge_mut();
    if !cycles || doc.get_heads() == before {
        return Ok(());
    }
    let now = SystemTime::now();
    let new: Vec<(ChangeHash, ActorId)> =
        doc.get_changes(before).iter().map(|c| (c.hash(), c.actor_id().clone())).collect();
    {
        let actors = plan.phone_actors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let mine = new.iter().filter(|(_, a)| actors.contains(a)).count() as u64;
        ctx.metrics.delivered.fetch_add(mine, Ordering::Relaxed);
        ctx.metrics.compensations.fetch_add(new.len() as u64 - mine, Ordering::Relaxed);
    }
    let mut arrivals = plan.arrivals[slot].lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    for (h, _) in new {
        arrivals.insert(h, now);
    }
    Ok(())
}
