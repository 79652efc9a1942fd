//! The speed figures of issue 13's conversations, through the real server: a plain `main` (no
//! criterion): criterion gives no p99, and the latencies below are a distribution through sockets.
//!
//! The service is started on port 0 (`server::listener::serve`, the accept loop of `serve`) over a
//! fresh SQLite folder, or over a PostgreSQL database of its own when `CONVERSATIONS_DATABASE_URL`
//! names a server (created from that URL, analyzed after seeding, dropped at the end). One
//! structure, one adviser following 150 young people. Every conversation is written through
//! sync-core's typed edit API (`send_message`, `mark_read`) by the young person's and the adviser's
//! actors, deterministically (a xorshift64* gives texts, turns and times), then stored through the
//! store as the server leaves it after a compaction: one snapshot, with the projections of every
//! message and read marker.
//! - one young person has **10,000 messages** over two years;
//! - 139 have 10–200 messages over six months (times `CONVERSATIONS_PORTFOLIO_SCALE`), ending with
//!   whoever spoke last, so that some conversations are read and others end with messages the
//!   adviser has not read; 10 never wrote.
//!
//! Then, in order:
//! 1. sizes and opening of the 10,000-message conversation: its saved bytes, per message, the chunk
//!    one message adds; `ConversationDocument::load` of the snapshot, and of the snapshot followed
//!    by 63 one-message chunks (the most the server stores before it compacts); the server's first
//!    access (`state.conversations.read` after `forget`: the chunks read from the store, then
//!    loaded on a blocking thread); `doc.conversation()` and `GET …/conversation` (the first page);
//! 2. the unread counts of the portfolio, `GET /api/v1/conversations/unread` over HTTP and the
//!    store's `unread_counts` alone (checked against `Conversation::unread_for`);
//! 3. send → other side: the young person's phone and the adviser's browser are automerge-repo
//!    peers on `/sync` (WebSocket, each holding the 10,000 messages); the adviser sends with
//!    `POST …/conversation/messages` and the phone waits for the message to be in its replica;
//!    then the phone sends (a typed edit on its replica, then its sync message) and the browser
//!    waits for it. One send at a time, `CONVERSATIONS_PAUSE_MS` apart (the gateway allows 50
//!    frames a second per document and session); then `POST …/conversation/read`.
//!
//! Run with `cargo bench -p server --bench conversations`. Environment:
//! - `CONVERSATIONS_MESSAGES` (10000), `CONVERSATIONS_SENDS` (300 per direction, after 10
//!   warm-ups), `CONVERSATIONS_PAUSE_MS` (60), `CONVERSATIONS_UNREAD_RUNS` (1000),
//!   `CONVERSATIONS_LOAD_RUNS` (10), `CONVERSATIONS_PORTFOLIO_SCALE` (1);
//! - `CONVERSATIONS_DATABASE_URL` (unset: SQLite; e.g. `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `CONVERSATIONS_KEEP` (set: the SQLite folder or the PostgreSQL database is left for inspection).
//!
//! Figures: docs/performance.md, « Conversations (issue 13) ».
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, ChangeHash};
use chrono::{DateTime, SubsecRound, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server::auth::tokens::{hash_token, new_token};
use server::config::Config;
use server::demo::create_young_person;
use server::store::{self, ConversationWrite, DynStore, MessageRow, NewUser};
use server::{AppState, app};
use sqlx::{AssertSqlSafe, Connection};
use sync_core::conversation::{ConversationDocument, NewMessage};
use sync_core::model::Role;
use sync_core::protocol::{Frame, PROTOCOL_V1, PeerMetadata};
use sync_core::{Author, DocumentId};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// Young people in the portfolio (one of them with the long conversation).
const PORTFOLIO: usize = 150;
/// Of them, those who never wrote.
const SILENT: usize = 10;
/// One-message chunks the server stores before it compacts (`COMPACT_EVERY_CHUNKS` − 1).
const CHUNKS_BEFORE_COMPACTION: usize = 63;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

// ---- a deterministic conversation ---------------------------------------------------------------

/// xorshift64*: the same conversations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// The words of the messages (French chat between a young person and an adviser).
const VOCABULARY: &str = "\
    bonjour merci rendez-vous demain entretien CV lettre motivation formation stage mission locale atelier jeudi \
    lundi mardi mercredi vendredi samedi matin après-midi soir dossier inscription France Travail offre emploi \
    candidature envoyé reçu question réponse papiers allocation transport permis logement contrat alternance \
    employeur relance semaine prochaine d'accord parfait je vous on peut voir ça bien oui non peut-être avez-vous \
    pouvez-vous est-ce que j'ai j'aurais besoin aide pour le la les un une des du de au aux avec sans chez mon ma \
    mes votre vos notre nos leur il elle ils nous quand comment pourquoi combien où heure minutes retard \
    excusez-moi désolé super génial top bon courage félicitations boulanger vendeuse cuisine restauration \
    bâtiment maçon électricien plombier aide-soignant logistique préparateur commandes caristes magasinier agent \
    accueil sécurité nettoyage informatique développeur graphiste coiffure esthétique garde enfants animateur \
    BAFA CACES SST Pôle carte vitale mutuelle RIB attestation justificatif domicile identité passeport titre \
    séjour bus tram métro vélo scooter voiture trajet loin proche centre-ville Lyon Villeurbanne Vénissieux Bron \
    Vaulx-en-Velin Part-Dieu Perrache essai période salaire SMIC heures temps partiel plein CDD CDI intérim \
    agence signé refusé accepté attente nouvelles appelé rappeler téléphone mail message vu lu oublié pense \
    rappelle envoie regarde corrige modifie ajoute imprime scanne photo pièce jointe lien site application compte \
    mot passe";

static WORDS: LazyLock<Vec<&str>> = LazyLock::new(|| VOCABULARY.split_whitespace().collect());

/// A chat message: mostly a short sentence, sometimes a paragraph.
fn text(rng: &mut Rng) -> String {
    let words = if rng.below(10) == 0 { 30 + rng.below(50) } else { 3 + rng.below(15) };
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(if rng.below(9) == 0 { ',' } else { ' ' });
            if out.ends_with(',') {
                out.push(' ');
            }
        }
        match rng.below(25) {
            0 => out.push_str(&format!("{} h {:02}", 8 + rng.below(10), rng.below(4) * 15)),
            1 => out.push_str(&format!("{:02}/{:02}", 1 + rng.below(28), 1 + rng.below(12))),
            _ => out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]),
        }
    }
    out.push_str([".", " ?", " !", " :)"][rng.below(4) as usize]);
    out
}

struct Built {
    doc: ConversationDocument,
    messages: usize,
    changes: usize,
    rows: Vec<MessageRow>,
    markers: Vec<(Uuid, DateTime<Utc>)>,
    /// What `GET /conversations/unread` must answer for the adviser.
    adviser_unread: usize,
}

/// A conversation of `messages` messages over `span`, its last one at `end`: turns of 1–4
/// messages, and whoever takes the turn has read the other's messages first, four times out of five.
fn build(yp: Uuid, adviser: Uuid, messages: usize, seed: u64, end: DateTime<Utc>, span: chrono::Duration) -> Built {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let authors = [Author::young_person(yp), Author::adviser(adviser)];
    let actors = [ActorId::from(rng.uuid().as_bytes().as_slice()), ActorId::from(rng.uuid().as_bytes().as_slice())];
    // First the turns, with gaps in arbitrary units; then the gaps scaled to fit `span`.
    let mut events: Vec<(usize, u64, Option<NewMessage>)> = Vec::with_capacity(messages * 5 / 4);
    let mut side = rng.below(2) as usize;
    let mut turn_left = 0;
    for i in 0..messages {
        if turn_left == 0 {
            side = 1 - side;
            turn_left = 1 + rng.below(4);
            if i > 0 && rng.below(5) != 0 {
                events.push((side, 1 + rng.below(250), None));
            }
        }
        let new = NewMessage { id: Some(rng.uuid()), text: text(&mut rng), reference: None };
        events.push((side, 200 + rng.below(1_600), Some(new)));
        turn_left -= 1;
    }
    let units: u64 = events.iter().skip(1).map(|e| e.1).sum();
    let ms_per_unit = span.num_milliseconds() as f64 / units.max(1) as f64;
    let mut at = end - span;
    let mut doc = ConversationDocument::genesis(yp).expect("genesis");
    let mut last_sent = at;
    let mut changes = 1;
    for (i, (side, gap, message)) in events.into_iter().enumerate() {
        if i > 0 {
            at += chrono::Duration::milliseconds(((gap as f64 * ms_per_unit) as i64).max(1));
        }
        doc.set_actor(actors[side].clone());
        let outcome = match message {
            Some(new) => {
                last_sent = at;
                doc.send_message(&authors[side], at, new).expect("send")
            }
            None => doc.mark_read(&authors[side], at, last_sent).expect("mark read"),
        };
        changes += usize::from(outcome.change.is_some());
    }
    let conversation = doc.conversation();
    assert_eq!(conversation.messages.len(), messages);
    Built {
        rows: conversation.messages.iter().map(MessageRow::from).collect(),
        markers: conversation.read_markers.iter().map(|(u, at)| (*u, *at)).collect(),
        adviser_unread: conversation.unread_for(adviser),
        doc,
        messages,
        changes,
    }
}

/// Stores `built` as the server leaves a conversation after a compaction: its genesis (seq 1),
/// then one snapshot of everything with the rows of every message and marker (seq 2).
async fn store_conversation(store: &DynStore, yp: Uuid, built: &mut Built) -> anyhow::Result<String> {
    let now = Utc::now();
    let fresh = DocumentId::new_random().to_string();
    let mut genesis = ConversationDocument::genesis(yp)?;
    let id = store.create_conversation(yp, &fresh, &genesis.save(), now).await?;
    let write = ConversationWrite {
        conversation_id: id.clone(),
        young_person_id: yp,
        after_seq: 1,
        chunk: built.doc.save(),
        snapshot: true,
        messages: built.rows.clone(),
        read_markers: built.markers.clone(),
        notifications: Vec::new(),
        at: now,
    };
    store.commit_conversation_write(&write).await?.context("the seeded conversation was written meanwhile")?;
    Ok(id)
}

// ---- figures ------------------------------------------------------------------------------------

struct Stats {
    n: usize,
    median: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Nearest rank, in milliseconds.
fn stats(mut samples: Vec<Duration>) -> Stats {
    assert!(!samples.is_empty());
    samples.sort();
    let pick = |q: f64| {
        let rank = ((samples.len() as f64) * q).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1e3
    };
    Stats { n: samples.len(), median: pick(0.5), p90: pick(0.9), p99: pick(0.99), max: pick(1.0) }
}

fn row(name: &str, s: &Stats) {
    println!("| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |", s.n, s.median, s.p90, s.p99, s.max);
}

fn header(what: &str) {
    println!();
    println!("| {what} | n | median ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Stats {
    let samples = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    stats(samples)
}

// ---- a sync peer --------------------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum Command {
    /// Answers once the replica holds the message (at once if it does already).
    Expect { id: Uuid, seen: oneshot::Sender<Instant> },
    /// Sends a message as the peer's author: the typed edit on the replica, then the sync message.
    /// `sent`: when the frame was written and how long the edit took; `acked`: when the server's
    /// heads held the change.
    Send { id: Uuid, text: String, sent: oneshot::Sender<(Instant, Duration)>, acked: oneshot::Sender<Instant> },
    /// Answers once the server's heads are the replica's.
    Synced { done: oneshot::Sender<()> },
}

#[derive(Clone)]
struct PeerHandle(mpsc::UnboundedSender<Command>);

impl PeerHandle {
    fn expect(&self, id: Uuid) -> oneshot::Receiver<Instant> {
        let (seen, rx) = oneshot::channel();
        self.0.send(Command::Expect { id, seen }).expect("peer alive");
        rx
    }
}

struct Peer {
    ws: Ws,
    peer_id: String,
    server_id: String,
    document_id: DocumentId,
    doc: ConversationDocument,
    author: Author,
    state: sync::State,
    waiting: HashMap<Uuid, oneshot::Sender<Instant>>,
    acks: Vec<(ChangeHash, oneshot::Sender<Instant>)>,
    synced: Vec<oneshot::Sender<()>>,
}

/// Connects to `/sync`, joins, and runs the peer on its own task.
async fn spawn_peer(
    addr: SocketAddr,
    token: &str,
    peer_id: &str,
    document_id: DocumentId,
    doc: ConversationDocument,
    author: Author,
) -> anyhow::Result<PeerHandle> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token={token}")).await?;
    let join = Frame::Join {
        sender_id: peer_id.to_owned(),
        metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
        supported_protocol_versions: vec![PROTOCOL_V1.to_owned()],
    };
    ws.send(WsMessage::Binary(join.encode().into())).await?;
    let server_id = loop {
        match ws.next().await.context("closed before peer")?? {
            WsMessage::Binary(bytes) => match Frame::decode(&bytes)? {
                Frame::Peer { sender_id, .. } => break sender_id,
                other => bail!("expected peer, got {other:?}"),
            },
            _ => continue,
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let peer = Peer {
        ws,
        peer_id: peer_id.to_owned(),
        server_id,
        document_id,
        doc,
        author,
        state: sync::State::new(),
        waiting: HashMap::new(),
        acks: Vec::new(),
        synced: Vec::new(),
    };
    tokio::spawn(async move {
        if let Err(e) = peer.run(rx).await {
            eprintln!("peer failed: {e:#}");
            std::process::exit(1);
        }
    });
    Ok(PeerHandle(tx))
}

impl Peer {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    None => return Ok(()),
                    Some(Command::Expect { id, seen }) => {
                        if self.has(id) {
                            let _ = seen.send(Instant::now());
                        } else {
                            self.waiting.insert(id, seen);
                        }
                    }
                    Some(Command::Send { id, text, sent, acked }) => {
                        let start = Instant::now();
                        let new = NewMessage { id: Some(id), text, reference: None };
                        let outcome = self.doc.send_message(&self.author, Utc::now(), new)?;
                        let change = outcome.change.context("a new message makes a change")?;
                        let message = self.doc.automerge_mut().sync().generate_sync_message(&mut self.state);
                        let edit = start.elapsed();
                        let at = Instant::now();
                        if let Some(message) = message {
                            self.send_sync(message).await?;
                        }
                        let _ = sent.send((at, edit));
                        self.acks.push((change, acked));
                    }
                    Some(Command::Synced { done }) => {
                        self.synced.push(done);
                        self.answer().await?;
                        self.check_synced();
                    }
                },
                frame = self.ws.next() => {
                    let bytes = match frame {
                        None => bail!("{}: the server closed the socket", self.peer_id),
                        Some(frame) => match frame? {
                            WsMessage::Binary(bytes) => bytes,
                            WsMessage::Close(close) => bail!("{}: closed by the server: {close:?}", self.peer_id),
                            _ => continue,
                        },
                    };
                    match Frame::decode(&bytes)? {
                        Frame::Sync { data, document_id, .. } if document_id == self.document_id => {
                            let message = sync::Message::decode(&data)?;
                            self.doc.automerge_mut().sync().receive_sync_message(&mut self.state, message)?;
                            let now = Instant::now();
                            let arrived: Vec<Uuid> = self.waiting.keys().copied().filter(|id| self.has(*id)).collect();
                            for id in arrived {
                                if let Some(seen) = self.waiting.remove(&id) {
                                    let _ = seen.send(now);
                                }
                            }
                            let theirs = self.state.their_heads.clone().unwrap_or_default();
                            let (done, waiting): (Vec<_>, Vec<_>) =
                                std::mem::take(&mut self.acks).into_iter().partition(|(h, _)| theirs.contains(h));
                            self.acks = waiting;
                            for (_, acked) in done {
                                let _ = acked.send(now);
                            }
                            self.answer().await?;
                            self.check_synced();
                        }
                        Frame::Error { message, .. } => bail!("{}: error frame: {message}", self.peer_id),
                        Frame::DocUnavailable { .. } => bail!("{}: the conversation is unavailable", self.peer_id),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Sends the replica's next sync message, if it has one.
    async fn answer(&mut self) -> anyhow::Result<()> {
        let message = self.doc.automerge_mut().sync().generate_sync_message(&mut self.state);
        match message {
            Some(message) => self.send_sync(message).await,
            None => Ok(()),
        }
    }

    fn has(&self, id: Uuid) -> bool {
        self.doc.entry(sync_core::conversation::schema::root::MESSAGES, &id.to_string(), None).is_some()
    }

    fn check_synced(&mut self) {
        if self.synced.is_empty() {
            return;
        }
        let mut ours = self.doc.heads();
        let mut theirs = self.state.their_heads.clone().unwrap_or_default();
        ours.sort();
        theirs.sort();
        if ours == theirs {
            for done in self.synced.drain(..) {
                let _ = done.send(());
            }
        }
    }

    async fn send_sync(&mut self, message: sync::Message) -> anyhow::Result<()> {
        let frame = Frame::Sync {
            sender_id: self.peer_id.clone(),
            target_id: self.server_id.clone(),
            document_id: self.document_id,
            data: message.encode(),
        };
        self.ws.send(WsMessage::Binary(frame.encode().into())).await?;
        Ok(())
    }
}

// ---- the database ---------------------------------------------------------------------------------

/// A PostgreSQL database of the bench's own, created from the admin URL and dropped at the end.
struct OwnDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl OwnDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("bench_conversations_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.context("connect CONVERSATIONS_DATABASE_URL")?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
        conn.close().await.ok();
        let (base, _) = admin_url.rsplit_once('/').context("a URL with a database name")?;
        Ok(OwnDatabase { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name })
    }

    async fn drop_it(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
        }
    }
}

async fn access_token(store: &DynStore, user: Uuid) -> anyhow::Result<String> {
    let token = new_token();
    store
        .insert_access_token(&hash_token(&token), user, Uuid::new_v4(), Utc::now() + chrono::Duration::days(1))
        .await?;
    Ok(token)
}

// ---- the run --------------------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let messages = env_usize("CONVERSATIONS_MESSAGES", 10_000);
    let sends = env_usize("CONVERSATIONS_SENDS", 300);
    let pause = Duration::from_millis(env_usize("CONVERSATIONS_PAUSE_MS", 60) as u64);
    let unread_runs = env_usize("CONVERSATIONS_UNREAD_RUNS", 1_000);
    let load_runs = env_usize("CONVERSATIONS_LOAD_RUNS", 10);
    let scale = env_usize("CONVERSATIONS_PORTFOLIO_SCALE", 1).max(1);
    let warmup = 10;

    let dir = std::env::temp_dir().join(format!("pe-bench-conversations-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let own = match std::env::var("CONVERSATIONS_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => Some(OwnDatabase::create(&admin).await?),
        _ => None,
    };
    let url = own.as_ref().map(|d| d.url.clone());
    let store = store::open(url.as_deref(), &dir).await?;
    let config = Config::for_tests(dir.clone(), url.clone());
    let limits = server::listener::Limits::from_config(&config.http);
    let state = AppState::new(store.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = app(state.clone());
    tokio::spawn(server::listener::serve(listener, router, limits, std::future::pending()));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");

    // ---- seeding ----
    let seed_start = Instant::now();
    // Whole milliseconds, as the projections keep instants.
    let now = Utc::now().trunc_subsecs(3);
    let structure = Uuid::new_v4();
    store.create_structure(structure, "Mission Locale du banc des conversations", now).await?;
    let adviser = Uuid::new_v4();
    let staff = NewUser {
        id: adviser,
        role: Role::Adviser,
        email: "conseillere.conversations@ml-lyon.example.org".into(),
        password_hash: None,
        first_name: "Claire".into(),
        last_name: "Banc".into(),
        timezone: "Europe/Paris".into(),
        structure_id: Some(structure),
        activation_code_hash: None,
        activation_expires_at: None,
    };
    store.create_user(&staff, now).await?;
    let mut young_people = Vec::with_capacity(PORTFOLIO);
    for i in 0..PORTFOLIO {
        let email = format!("jeune{i}@exemple.fr");
        let (id, _) =
            create_young_person(&state, &email, "Jeune", &format!("N°{i}"), structure, Some(adviser), None).await?;
        young_people.push(id);
    }
    let long_yp = young_people[0];
    let mut expected: HashMap<Uuid, usize> = HashMap::new();
    let mut portfolio_messages = 0;
    for (i, yp) in young_people.iter().enumerate().skip(1 + SILENT) {
        let count = (10 + (i * 7919 % 191)) * scale;
        let mut built =
            build(*yp, adviser, count, i as u64, now - chrono::Duration::minutes(10), chrono::Duration::days(180));
        portfolio_messages += built.messages;
        store_conversation(&store, *yp, &mut built).await?;
        if built.adviser_unread > 0 {
            expected.insert(*yp, built.adviser_unread);
        }
    }
    let seeded_portfolio = seed_start.elapsed();

    let start = Instant::now();
    let mut long =
        build(long_yp, adviser, messages, 2024, now - chrono::Duration::hours(1), chrono::Duration::days(730));
    let built_long = start.elapsed();
    let conversation_id = store_conversation(&store, long_yp, &mut long).await?;
    if long.adviser_unread > 0 {
        expected.insert(long_yp, long.adviser_unread);
    }
    let document_id: DocumentId = conversation_id.parse()?;
    if let Some(own) = &own {
        // The statistics autovacuum would gather (the test server runs with autovacuum off).
        let mut conn = sqlx::PgConnection::connect(&own.url).await?;
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
        conn.close().await.ok();
    }
    let adviser_token = access_token(&store, adviser).await?;
    let phone_token = access_token(&store, long_yp).await?;

    println!(
        "conversations bench: {} in {}; {PORTFOLIO} young people ({SILENT} silent, {portfolio_messages} messages in {} \
         conversations of {}–{}) seeded in {:.1} s; the long conversation ({messages} messages, {} changes) built \
         through the typed API in {:.1} s",
        if own.is_some() { "PostgreSQL" } else { "SQLite" },
        dir.display(),
        PORTFOLIO - 1 - SILENT,
        10 * scale,
        200 * scale,
        seeded_portfolio.as_secs_f64(),
        long.changes,
        built_long.as_secs_f64(),
    );

    // ---- 1. sizes and opening ----
    let snapshot = long.doc.save();
    let uncompressed = long.doc.automerge_mut().save_nocompress();
    let mut fork = long.doc.fork();
    let young = Author::young_person(long_yp);
    let mut one_message_chunks = Vec::new();
    let mut with_chunks = snapshot.clone();
    let mut rng = Rng(7);
    for _ in 0..CHUNKS_BEFORE_COMPACTION {
        let before = fork.heads();
        let new = NewMessage { id: Some(rng.uuid()), text: text(&mut rng), reference: None };
        fork.send_message(&young, Utc::now(), new)?;
        let chunk = fork.automerge_mut().save_after(&before);
        with_chunks.extend_from_slice(&chunk);
        one_message_chunks.push(chunk.len());
    }
    one_message_chunks.sort_unstable();
    let texts: Vec<&str> = long.rows.iter().filter_map(|r| r.text.as_deref()).collect();
    let text_bytes: usize = texts.iter().map(|t| t.len()).sum();
    let deflated_texts = {
        use std::io::Write;
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(texts.join("\n").as_bytes())?;
        deflate.finish()?.len()
    };

    println!();
    println!("| the {messages}-message conversation | bytes | per message |");
    println!("|---|---|---|");
    let per = |b: usize| b as f64 / messages as f64;
    println!(
        "| `save()` (compressed snapshot, what the store holds after a compaction) | {} | {:.0} |",
        snapshot.len(),
        per(snapshot.len())
    );
    println!("| `save_nocompress()` | {} | {:.0} |", uncompressed.len(), per(uncompressed.len()));
    println!("| the texts alone (UTF-8) | {text_bytes} | {:.0} |", per(text_bytes));
    println!(
        "| the texts alone, deflated together (a floor for any compressed store) | {deflated_texts} | {:.0} |",
        per(deflated_texts)
    );
    println!(
        "| one message's chunk (`save_after`, what a write appends), median of {} [min–max] | {} [{}–{}] | |",
        one_message_chunks.len(),
        one_message_chunks[one_message_chunks.len() / 2],
        one_message_chunks[0],
        one_message_chunks[one_message_chunks.len() - 1]
    );

    header("opening the conversation");
    let load = time(load_runs, || ConversationDocument::load(&snapshot).expect("load"));
    row(&format!("`ConversationDocument::load` of the snapshot ({} bytes)", snapshot.len()), &load);
    let load_chunks = time(load_runs, || ConversationDocument::load(&with_chunks).expect("load"));
    row(&format!("`load` of the snapshot + {CHUNKS_BEFORE_COMPACTION} one-message chunks"), &load_chunks);
    let mut cold = Vec::with_capacity(load_runs);
    for _ in 0..load_runs.max(1) {
        state.conversations.forget(long_yp);
        let start = Instant::now();
        let owner = state
            .conversations
            .read(long_yp, |_, doc| doc.young_person_id())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        cold.push(start.elapsed());
        assert_eq!(owner, Some(Some(long_yp)));
    }
    row("server's first access: store read + load (`conversations.read` after `forget`)", &stats(cold));
    let chunks_read = {
        let mut samples = Vec::with_capacity(load_runs);
        for _ in 0..load_runs.max(1) {
            let start = Instant::now();
            std::hint::black_box(store.load_conversation_chunks(&conversation_id, 0).await?);
            samples.push(start.elapsed());
        }
        stats(samples)
    };
    row("of which the store's `load_conversation_chunks`", &chunks_read);
    let hydrate = time(load_runs, || long.doc.conversation());
    row("`doc.conversation()` (typed read of every message)", &hydrate);
    let save = time(load_runs, || long.doc.save());
    row("`doc.save()` (the compaction a write does every 64 chunks)", &save);
    let page_url = format!("{base}/api/v1/young-people/{long_yp}/conversation");
    let mut page = Vec::with_capacity(load_runs * 5);
    for i in 0..(load_runs * 5 + 2) {
        let start = Instant::now();
        let res = http.get(&page_url).bearer_auth(&adviser_token).send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if i >= 2 {
            page.push(start.elapsed());
        }
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(50));
    }
    row("`GET /api/v1/young-people/{id}/conversation` (first page of 50, loaded)", &stats(page));

    // ---- 2. unread counts ----
    let unread_url = format!("{base}/api/v1/conversations/unread");
    let answer: Value = http.get(&unread_url).bearer_auth(&adviser_token).send().await?.json().await?;
    let got: HashMap<Uuid, usize> = answer
        .as_array()
        .context("an array")?
        .iter()
        .map(|l| (l["young_person_id"].as_str().unwrap().parse().unwrap(), l["unread"].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(got, expected, "the unread counts match Conversation::unread_for");
    let unread_messages: usize = got.values().sum();
    for _ in 0..50 {
        http.get(&unread_url).bearer_auth(&adviser_token).send().await?.bytes().await?;
    }
    // Interleaved, so that a slower moment of the machine weighs on the three alike; on a spawned
    // task, as the server's handlers run (the `main` future is polled on its own thread).
    let followed = store.followed_young_people(adviser).await?;
    assert_eq!(followed.len(), PORTFOLIO);
    let (over_http, by_followed, by_store) = {
        let (http, store, url, token) = (http.clone(), store.clone(), unread_url.clone(), adviser_token.clone());
        tokio::spawn(async move {
            let mut over_http = Vec::with_capacity(unread_runs);
            let mut by_followed = Vec::with_capacity(unread_runs);
            let mut by_store = Vec::with_capacity(unread_runs);
            for _ in 0..unread_runs {
                let start = Instant::now();
                let res = http.get(&url).bearer_auth(&token).send().await?;
                assert_eq!(res.status(), 200);
                std::hint::black_box(res.bytes().await?);
                over_http.push(start.elapsed());
                let start = Instant::now();
                std::hint::black_box(store.followed_young_people(adviser).await?);
                by_followed.push(start.elapsed());
                let start = Instant::now();
                std::hint::black_box(store.unread_counts(adviser, &followed).await?);
                by_store.push(start.elapsed());
            }
            anyhow::Ok((over_http, by_followed, by_store))
        })
        .await??
    };
    header(&format!(
        "unread counts, {PORTFOLIO}-person portfolio ({} with unread, {unread_messages} unread messages, {} messages in all)",
        got.len(),
        portfolio_messages + messages
    ));
    let over_http = stats(over_http);
    row("`GET /api/v1/conversations/unread` over HTTP (keep-alive)", &over_http);
    row("of which `store.followed_young_people`", &stats(by_followed));
    row("of which `store.unread_counts` (150 ids)", &stats(by_store));
    println!();
    println!("target: unread counts p99 <= 20 ms: {}", if over_http.p99 <= 20.0 { "met" } else { "NOT met" });

    // ---- 3. send → other side ----
    let phone_doc = long.doc.fork();
    let browser_doc = long.doc.fork();
    drop(long);
    let phone = spawn_peer(addr, &phone_token, "phone-bench", document_id, phone_doc, young.clone()).await?;
    let browser =
        spawn_peer(addr, &adviser_token, "browser-bench", document_id, browser_doc, Author::adviser(adviser)).await?;
    for peer in [&phone, &browser] {
        let (done, rx) = oneshot::channel();
        peer.0.send(Command::Synced { done }).expect("peer alive");
        tokio::time::timeout(Duration::from_secs(60), rx).await.context("initial sync")??;
    }
    let wait = Duration::from_secs(30);
    let mut rng = Rng(11);

    // The adviser posts; the phone waits for it.
    let post_url = format!("{base}/api/v1/young-people/{long_yp}/conversation/messages");
    let (mut to_phone, mut posted) = (Vec::with_capacity(sends), Vec::with_capacity(sends));
    // Every send is one write of the conversation, loaded once above with one stored chunk: the
    // server compacts it (saves the whole document) at its 63rd write, then every 63 writes.
    let mut writes: Vec<(Duration, &str)> = Vec::new();
    for i in 0..warmup + sends {
        let id = rng.uuid();
        let seen = phone.expect(id);
        let start = Instant::now();
        let res = http
            .post(&post_url)
            .bearer_auth(&adviser_token)
            .json(&json!({"id": id, "text": text(&mut rng)}))
            .send()
            .await?;
        let status = res.status();
        let body = res.bytes().await?;
        let answered = start.elapsed();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let at = tokio::time::timeout(wait, seen).await.context("the phone never got the message")??;
        if i >= warmup {
            posted.push(answered);
            to_phone.push(at.saturating_duration_since(start));
        }
        writes.push((at.saturating_duration_since(start), "adviser"));
        tokio::time::sleep(pause).await;
    }

    // The phone sends; the adviser's browser waits for it.
    let (mut to_browser, mut acked, mut edits) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warmup + sends {
        let id = rng.uuid();
        let seen = browser.expect(id);
        let (sent_tx, sent_rx) = oneshot::channel();
        let (acked_tx, acked_rx) = oneshot::channel();
        phone.0.send(Command::Send { id, text: text(&mut rng), sent: sent_tx, acked: acked_tx }).expect("peer alive");
        let (sent, edit) = sent_rx.await?;
        let ack = tokio::time::timeout(wait, acked_rx).await.context("the server never acknowledged")??;
        let at = tokio::time::timeout(wait, seen).await.context("the browser never got the message")??;
        writes.push((at.saturating_duration_since(sent), "phone"));
        if i >= warmup {
            to_browser.push(at.saturating_duration_since(sent));
            acked.push(ack.saturating_duration_since(sent));
            edits.push(edit);
        }
        tokio::time::sleep(pause).await;
    }

    header(&format!(
        "send → other side, conversation of {messages}+ messages, one at a time, {} ms apart",
        pause.as_millis()
    ));
    row("adviser `POST …/conversation/messages` → in the phone's replica (WebSocket)", &stats(to_phone));
    row("of which the POST's answer (201)", &stats(posted));
    row("phone's sync message → in the adviser's browser replica (WebSocket)", &stats(to_browser));
    row("of which phone's sync message → the server's heads hold it (committed)", &stats(acked));
    row("phone's typed edit + `generate_sync_message` (before sending, not counted above)", &stats(edits));

    let mut slowest: Vec<(usize, Duration, &str)> =
        writes.iter().enumerate().map(|(i, (d, w))| (i + 1, *d, *w)).collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.1));
    println!();
    println!(
        "slowest sends (write n° since the load, a compaction at every multiple of {}): {}",
        CHUNKS_BEFORE_COMPACTION,
        slowest
            .iter()
            .take(12)
            .map(|(n, d, who)| format!("n°{n} {who} {:.1} ms", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Marking everything read: the first moves the adviser's marker past the phone's messages, the
    // others change nothing (the edit still reads the whole conversation to find the newest).
    let read_url = format!("{base}/api/v1/young-people/{long_yp}/conversation/read");
    let mut marks = Vec::with_capacity(load_runs);
    for _ in 0..load_runs.max(1) {
        let start = Instant::now();
        let res = http.post(&read_url).bearer_auth(&adviser_token).json(&json!({})).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        marks.push(start.elapsed());
        assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    }
    header("marking the conversation read");
    row("`POST …/conversation/read` with `{}` (mark all read), the adviser", &stats(marks));

    // What the sends left in the store: one chunk per message, a snapshot every 64.
    let chunks = store.load_conversation_chunks(&conversation_id, 0).await?;
    let mut sizes: Vec<usize> = chunks.iter().filter(|c| !c.snapshot).map(|c| c.bytes.len()).collect();
    sizes.sort_unstable();
    let stored_snapshot = chunks.iter().find(|c| c.snapshot).map_or(0, |c| c.bytes.len());
    let total = messages + 2 * (warmup + sends);
    println!();
    println!(
        "stored after the sends ({total} messages): snapshot {stored_snapshot} bytes ({:.0} per message) + {} change \
         chunks (median {} bytes, min {}, max {})",
        stored_snapshot as f64 / total as f64,
        sizes.len(),
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        sizes.first().copied().unwrap_or(0),
        sizes.last().copied().unwrap_or(0),
    );

    drop((phone, browser));
    if std::env::var_os("CONVERSATIONS_KEEP").is_some() {
        println!("kept: {} {}", dir.display(), own.as_ref().map_or("", |d| d.url.as_str()));
        return Ok(());
    }
    if let Some(own) = own {
        // The pool is still open (the server's state holds it): the drop forces its connections out.
        own.drop_it().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
