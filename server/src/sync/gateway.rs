//! `GET /sync`: a WebSocket speaking the automerge-repo network protocol "1".
//!
//! One session per socket. The token comes in `Authorization: Bearer` or `?token=`. A document the
//! caller may not read is answered `doc-unavailable`, exactly like one that does not exist.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde::Deserialize;
use sync_core::protocol::{Frame, PROTOCOL_V1, PeerMetadata};
use sync_core::{Author, DocumentId};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::hub::{HubEvent, SessionGuard};
use super::target::{Target, access_lost};
use super::{SERVER_PEER_PREFIX, impersonates_server, notice_payload, relayable_ephemeral, relayed_sender_id};
use crate::auth::AuthUser;
use crate::auth::extractor::token_session;
use crate::error::ApiError;
use crate::state::AppState;

/// Initial read buffer of a session.
const IDLE_BUFFER_BYTES: usize = 4 * 1024;

/// Longest peer id a client may `join` with (automerge-repo's are a few dozen characters).
const MAX_PEER_ID_CHARS: usize = 256;

/// The `error` frame of a session whose token expired or was revoked. The client takes a fresh
/// token (refreshing it) and reconnects.
pub const TOKEN_ENDED_MESSAGE: &str = sync_core::protocol::TOKEN_ENDED_MESSAGE;

#[derive(Deserialize)]
pub struct SyncQuery {
    token: Option<String>,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(token) = crate::auth::extractor::bearer(&headers).map(str::to_owned).or(query.token) else {
        return ApiError::Unauthorized.into_response();
    };
    let (user, expires_at) = match token_session(&state, &token).await {
        Ok(session) => session,
        Err(e) => return e.into_response(),
    };
    // Revocations from any instance end sessions at once; without the listener (the database
    // refused it) they end at their next periodic check.
    if let Err(e) = state.hub.follow_revocations(&state.store).await {
        tracing::warn!(error = %e, "sync: not following token revocations (periodic checks only)");
    }
    let limits = state.config.sync.clone();
    // Released when dropped: when the session ends, panics, or the upgrade never completes.
    let Some(guard) = state.hub.open_session(user.id, limits.sessions_per_user) else {
        return ApiError::TooManySessions.into_response();
    };
    // Small buffers: most sessions are idle phones, and memory per idle session is what limits how
    // many one instance holds (the read buffer grows for the rare large frame; writes go out at once).
    ws.max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .read_buffer_size(IDLE_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |mut socket| async move {
            let _guard: SessionGuard = guard;
            let user_id = user.id;
            let server_peer_id = server_peer_id(&state);
            let session = Session::new(state, user, token, expires_at);
            // A panic ends this session only: its links, sync states and count are released by
            // their `Drop`s while unwinding, and the peer is told.
            let ran = AssertUnwindSafe(session.run(&mut socket)).catch_unwind().await;
            if let Err(panic) = ran {
                tracing::error!(%user_id, cause = panic_cause(panic.as_ref()), "sync session panicked");
                let frame = Frame::Error {
                    sender_id: Some(server_peer_id),
                    target_id: None,
                    message: "erreur interne du serveur".into(),
                };
                let _ = socket.send(Message::Binary(frame.encode().into())).await;
                let _ = socket.send(Message::Close(None)).await;
                drain_until_closed(&mut socket).await;
            }
        })
}

/// This instance's peer id.
fn server_peer_id(state: &AppState) -> String {
    format!("{SERVER_PEER_PREFIX}{}", state.instance_id)
}

/// The message a panic was raised with.
fn panic_cause(panic: &(dyn std::any::Any + Send)) -> &str {
    panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str)).unwrap_or("?")
}

/// A plan this session may read, and the task that forwards its hub events. Dropping it (the
/// session ends, panics, or loses access) stops the task and forgets the peer's sync state.
struct Link {
    /// The frames this document's peer may send (`--sync-messages-per-second`, bursts of twice that).
    bucket: TokenBucket,
    target: Target,
    author: Author,
    forward: JoinHandle<()>,
    state: AppState,
    peer_key: String,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.forward.abort();
        self.target.forget_peer(&self.state, &self.peer_key);
    }
}

struct Session {
    state: AppState,
    user: AuthUser,
    /// The access token the session was opened with, checked again periodically.
    token: String,
    /// When that token expires: the session ends then.
    expires_at: DateTime<Utc>,
    id: u64,
    server_peer_id: String,
    /// The client's `senderId`, once it has joined.
    peer_id: Option<String>,
    links: HashMap<DocumentId, Link>,
    events_tx: mpsc::Sender<(DocumentId, HubEvent)>,
    events_rx: mpsc::Receiver<(DocumentId, HubEvent)>,
    /// Ephemeral messages this server sends (notices) are counted per session.
    ephemeral_count: u64,
    bucket: TokenBucket,
}

/// Why a session ends.
enum End {
    /// The peer left or the socket closed.
    Closed,
    /// A protocol or limit error, sent to the peer in an `error` frame first.
    Error(String),
    /// The process is stopping: a « going away » close.
    GoingAway,
}

impl Session {
    fn new(state: AppState, user: AuthUser, token: String, expires_at: DateTime<Utc>) -> Self {
        let (events_tx, events_rx) = mpsc::channel(256);
        let id = state.hub.session_id();
        let limits = &state.config.sync;
        let bucket =
            TokenBucket::new(limits.messages_per_second, limits.messages_per_second * 2.0 + PORTFOLIO_OPENING_FRAMES);
        Session {
            server_peer_id: server_peer_id(&state),
            state,
            user,
            token,
            expires_at,
            id,
            peer_id: None,
            links: HashMap::new(),
            events_tx,
            events_rx,
            ephemeral_count: 0,
            bucket,
        }
    }

    async fn run(mut self, socket: &mut WebSocket) {
        let limits = self.state.config.sync.clone();
        let mut ping = tokio::time::interval(Duration::from_secs(limits.ping_secs.max(1)));
        let idle_timeout = Duration::from_secs(limits.idle_secs.max(1));
        let revalidate_every = Duration::from_secs(limits.revalidate_secs.max(1));
        let mut revalidate = tokio::time::interval_at(tokio::time::Instant::now() + revalidate_every, revalidate_every);
        let mut revocations = self.state.hub.revocations();
        let mut going_away = self.state.hub.going_away();
        let left = (self.expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        let expiry = tokio::time::sleep(left);
        tokio::pin!(expiry);
        let mut last_seen = Instant::now();
        let end = loop {
            tokio::select! {
                incoming = socket.recv() => {
                    last_seen = Instant::now();
                    match incoming {
                        Some(Ok(Message::Binary(bytes))) => {
                            match self.on_frame(&bytes, socket).await {
                                Ok(None) => {}
                                Ok(Some(end)) => break end,
                                Err(e) => break End::Error(e),
                            }
                        }
                        Some(Ok(Message::Text(_))) => break End::Error("trames binaires CBOR attendues".into()),
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Closed,
                        Some(Ok(_)) => {}
                    }
                }
                Some((document, event)) = self.events_rx.recv() => {
                    if let Err(e) = self.on_hub_event(document, event, socket).await {
                        break End::Error(e);
                    }
                }
                () = &mut expiry => break End::Error(TOKEN_ENDED_MESSAGE.into()),
                true = async { going_away.wait_for(|stopping| *stopping).await.is_ok() } => break End::GoingAway,
                revoked = revocations.recv() => {
                    let ended = match revoked {
                        Ok(family_id) => family_id == self.user.family_id,
                        // Fell behind: the family may have been among those missed.
                        Err(broadcast::error::RecvError::Lagged(_)) => !self.token_still_valid().await,
                        Err(broadcast::error::RecvError::Closed) => false,
                    };
                    if ended {
                        break End::Error(TOKEN_ENDED_MESSAGE.into());
                    }
                }
                _ = revalidate.tick() => {
                    if !self.token_still_valid().await {
                        break End::Error(TOKEN_ENDED_MESSAGE.into());
                    }
                    if let Err(e) = self.recheck_links(socket).await {
                        break End::Error(e);
                    }
                }
                _ = ping.tick() => {
                    if last_seen.elapsed() > idle_timeout {
                        break End::Error("session inactive".into());
                    }
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break End::Closed;
                    }
                }
            }
        };
        match end {
            End::Error(message) => {
                let frame = Frame::Error {
                    sender_id: Some(self.server_peer_id.clone()),
                    target_id: self.peer_id.clone(),
                    message,
                };
                let _ = socket.send(Message::Binary(frame.encode().into())).await;
                let _ = socket.send(Message::Close(None)).await;
                drain_until_closed(socket).await;
            }
            End::GoingAway => {
                // 1001: the client reconnects (to this instance once restarted, or another).
                let frame = CloseFrame { code: close_code::AWAY, reason: "le serveur redémarre".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
            }
            End::Closed => {}
        }
        // The links (forwarding tasks, sync states) go with `self`, here or while unwinding.
    }

    /// Whether the session's token is still valid (not revoked, not expired, account not
    /// archived). A database error keeps the session: the expiry still bounds it.
    async fn token_still_valid(&self) -> bool {
        match token_session(&self.state, &self.token).await {
            Ok((user, _)) => user.id == self.user.id && user.family_id == self.user.family_id,
            Err(ApiError::Internal(cause)) => {
                tracing::warn!(error = %cause, "sync session: checking the token again");
                true
            }
            Err(_) => false,
        }
    }

    /// Checks the access to every linked document again (a transfer served by another instance).
    async fn recheck_links(&mut self, socket: &mut WebSocket) -> Result<(), String> {
        let linked: Vec<(DocumentId, Target)> = self.links.iter().map(|(id, l)| (*id, l.target.clone())).collect();
        for (document_id, target) in linked {
            if access_lost(&target.access(&self.state, &self.user).await) {
                self.unlink(document_id, socket).await?;
            }
        }
        Ok(())
    }

    /// Forgets a plan the session lost access to and tells the peer.
    async fn unlink(&mut self, document_id: DocumentId, socket: &mut WebSocket) -> Result<(), String> {
        self.links.remove(&document_id);
        let Some(peer) = self.peer_id.clone() else {
            return Ok(());
        };
        let frame = Frame::DocUnavailable { sender_id: self.server_peer_id.clone(), target_id: peer, document_id };
        self.send(socket, frame).await
    }

    async fn send(&self, socket: &mut WebSocket, frame: Frame) -> Result<(), String> {
        socket.send(Message::Binary(frame.encode().into())).await.map_err(|_| "envoi impossible".to_owned())
    }

    /// Handles one frame; `Ok(Some(_))` ends the session.
    async fn on_frame(&mut self, bytes: &[u8], socket: &mut WebSocket) -> Result<Option<End>, String> {
        let frame = Frame::decode(bytes).map_err(|e| e.to_string())?;
        // Each linked plan has its own allowance (an adviser's socket carries a whole portfolio);
        // everything else, opening a plan included, draws on the session's.
        let bucket = match frame_document(&frame).and_then(|d| self.links.get_mut(&d)) {
            Some(link) => &mut link.bucket,
            None => &mut self.bucket,
        };
        if !bucket.take() {
            return Err("trop de messages : ralentissez".into());
        }
        let Some(peer) = self.peer_id.clone() else {
            let Frame::Join { sender_id, supported_protocol_versions, .. } = frame else {
                return Err("le premier message doit être « join »".into());
            };
            if !supported_protocol_versions.iter().any(|v| v == PROTOCOL_V1) {
                return Err("unsupported protocol version".into());
            }
            if impersonates_server(&sender_id) {
                return Err("identifiant de pair réservé au serveur".into());
            }
            if sender_id.is_empty() || sender_id.chars().count() > MAX_PEER_ID_CHARS {
                return Err("identifiant de pair vide ou trop long".into());
            }
            self.peer_id = Some(sender_id.clone());
            let reply = Frame::Peer {
                sender_id: self.server_peer_id.clone(),
                target_id: sender_id,
                metadata: PeerMetadata { storage_id: None, is_ephemeral: false },
                selected_protocol_version: PROTOCOL_V1.to_owned(),
            };
            self.send(socket, reply).await?;
            return Ok(None);
        };
        match frame {
            Frame::Sync { document_id, data, .. } | Frame::Request { document_id, data, .. } => {
                self.on_sync(&peer, document_id, &data, socket).await?;
            }
            Frame::Ephemeral { document_id, session_id, count, data, .. } => {
                if self.link(document_id).await.is_some() {
                    #[cfg(feature = "test-support")]
                    if data == super::test_support::PANIC_PAYLOAD {
                        panic!("test-support: a session panics on request");
                    }
                    // Readers must be able to tell a client's message from the server's notices.
                    if !relayable_ephemeral(&data) {
                        return Err(
                            "message éphémère refusé : CBOR invalide ou type « notice » réservé au serveur".into()
                        );
                    }
                    let sender_id = relayed_sender_id(self.user.id, &peer);
                    let event = HubEvent::Ephemeral { from_session: self.id, sender_id, session_id, count, data };
                    self.state.hub.publish(&document_id.to_string(), event);
                }
            }
            Frame::Leave { .. } => return Ok(Some(End::Closed)),
            Frame::Join { .. } => return Err("« join » déjà reçu".into()),
            Frame::Error { .. } => return Ok(Some(End::Closed)),
            Frame::DocUnavailable { .. } | Frame::Peer { .. } => {}
        }
        Ok(None)
    }

    async fn on_sync(
        &mut self,
        peer: &str,
        document_id: DocumentId,
        data: &[u8],
        socket: &mut WebSocket,
    ) -> Result<(), String> {
        let Some((target, author)) = self.link(document_id).await else {
            let frame = Frame::DocUnavailable {
                sender_id: self.server_peer_id.clone(),
                target_id: peer.to_owned(),
                document_id,
            };
            return self.send(socket, frame).await;
        };
        let key = peer_key(self.user.id, peer);
        let outcome = target.receive(&self.state, &key, &author, data).await.map_err(|e| sync_error_message(&e))?;
        if let Some(data) = outcome.reply {
            let frame =
                Frame::Sync { sender_id: self.server_peer_id.clone(), target_id: peer.to_owned(), document_id, data };
            self.send(socket, frame).await?;
        }
        if let Some(notice) = outcome.notice {
            self.ephemeral_count += 1;
            let frame = Frame::Ephemeral {
                sender_id: self.server_peer_id.clone(),
                target_id: peer.to_owned(),
                document_id,
                session_id: format!("server-{}", self.id),
                count: self.ephemeral_count,
                data: notice_payload(&notice),
            };
            self.send(socket, frame).await?;
        }
        Ok(())
    }

    /// The plan or conversation behind `document_id` if this session may read it (checked once,
    /// then linked).
    async fn link(&mut self, document_id: DocumentId) -> Option<(Target, Author)> {
        if let Some(link) = self.links.get(&document_id) {
            return Some((link.target.clone(), link.author.clone()));
        }
        let peer = self.peer_id.clone()?;
        // A new plan is an access-sensitive moment: the token is checked again first (a revoked
        // token ends the session at its next check or announcement; here it links nothing).
        if !self.token_still_valid().await {
            return None;
        }
        let document_key = document_id.to_string();
        let target = Target::resolve(&self.state, &document_key).await.ok().flatten()?;
        let author = target.access(&self.state, &self.user).await.ok()?;
        let mut rx = self.state.hub.subscribe(&document_key);
        let tx = self.events_tx.clone();
        let forward = tokio::spawn(async move {
            loop {
                let event = match rx.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => HubEvent::Changed { answered: None },
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if tx.send((document_id, event)).await.is_err() {
                    break;
                }
            }
        });
        let rate = self.state.config.sync.messages_per_second;
        let link = Link {
            bucket: TokenBucket::new(rate, rate * 2.0),
            target: target.clone(),
            author: author.clone(),
            forward,
            state: self.state.clone(),
            peer_key: peer_key(self.user.id, &peer),
        };
        self.links.insert(document_id, link);
        Some((target, author))
    }

    async fn on_hub_event(
        &mut self,
        document_id: DocumentId,
        event: HubEvent,
        socket: &mut WebSocket,
    ) -> Result<(), String> {
        let Some(peer) = self.peer_id.clone() else {
            return Ok(());
        };
        match event {
            HubEvent::Changed { answered } => {
                let Some(link) = self.links.get(&document_id) else {
                    return Ok(());
                };
                let key = peer_key(self.user.id, &peer);
                if answered.as_deref() == Some(key.as_str()) {
                    return Ok(());
                }
                let message = link.target.generate(&self.state, &key).await.map_err(|e| sync_error_message(&e))?;
                if let Some(data) = message {
                    let frame =
                        Frame::Sync { sender_id: self.server_peer_id.clone(), target_id: peer, document_id, data };
                    self.send(socket, frame).await?;
                }
            }
            HubEvent::Ephemeral { from_session, sender_id, session_id, count, data } => {
                if from_session != self.id && self.links.contains_key(&document_id) {
                    let frame = Frame::Ephemeral { sender_id, target_id: peer, document_id, session_id, count, data };
                    self.send(socket, frame).await?;
                }
            }
            HubEvent::AccessChanged => {
                let Some(link) = self.links.get(&document_id) else {
                    return Ok(());
                };
                if link.target.access(&self.state, &self.user).await.is_err() {
                    self.unlink(document_id, socket).await?;
                }
            }
        }
        Ok(())
    }
}

/// Sync states are kept per authenticated user and peer id: a peer id is chosen by the client and
/// proves nothing, so two users never share one.
pub fn peer_key(user_id: Uuid, peer_id: &str) -> String {
    format!("{user_id}/{peer_id}")
}

/// The text of the `error` frame; an internal error is logged with its cause and sent generic.
fn sync_error_message(e: &ApiError) -> String {
    match e {
        ApiError::Internal(cause) => {
            tracing::error!(error = %cause, "sync session: internal error");
            "erreur interne du serveur".to_owned()
        }
        other => other.to_string(),
    }
}

/// Frames a session may send at once on top of its burst, to open a portfolio: an adviser follows
/// up to 150 young people and opens each plan with a request and a first sync.
const PORTFOLIO_OPENING_FRAMES: f64 = 320.0;

/// The plan a frame is about, if any.
fn frame_document(frame: &Frame) -> Option<DocumentId> {
    match frame {
        Frame::Sync { document_id, .. } | Frame::Request { document_id, .. } | Frame::Ephemeral { document_id, .. } => {
            Some(*document_id)
        }
        _ => None,
    }
}

/// A token bucket: `rate` messages per second on average, bursts up to `burst`.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: f64) -> Self {
        TokenBucket { rate, burst, tokens: burst, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The closing handshake: reads (and drops) what the peer still sends until its close, for at most
/// a second. Dropping the socket with unread frames makes the kernel reset the connection, and the
/// peer can lose the error frame sent just before.
async fn drain_until_closed(socket: &mut WebSocket) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_refuses() {
        let mut bucket = TokenBucket::new(1.0, 3.0);
        assert!(bucket.take() && bucket.take() && bucket.take());
        assert!(!bucket.take());
    }
}
