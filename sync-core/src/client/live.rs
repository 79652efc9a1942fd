//! The live session: a WebSocket to the gateway (`GET /sync`, automerge-repo protocol v1) kept
//! open while the app is in the foreground, reconnecting with backoff when it drops.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::{Connection, Shared, access_token};
use crate::DocumentId;
use crate::backoff::Backoff;
use crate::protocol::{Frame, PeerMetadata, TOKEN_ENDED_MESSAGE};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A ping from us this often keeps middleboxes from dropping an idle connection…
const PING_EVERY: Duration = Duration::from_secs(25);
/// …and a connection silent for this long (the server pings every 20 s) is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(70);

/// The running session loop.
pub(crate) struct LiveHandle {
    stop: watch::Sender<bool>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl LiveHandle {
    pub fn start(runtime: &tokio::runtime::Runtime, shared: Arc<Shared>) -> LiveHandle {
        let (stop, stopped) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let task = runtime.spawn(run(shared, stopped, wake.clone(), Backoff::default()));
        LiveHandle { stop, wake, task }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Ends the current wait between two attempts.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the session to leave and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    pub fn abort(self) {
        self.task.abort();
    }
}

/// How a session ended.
#[derive(Debug, PartialEq)]
enum Ended {
    Stopped,
    /// The network or the server went away; `online` if the session had been established.
    Lost {
        online: bool,
    },
    /// The server answered 401 to the token.
    Unauthorized,
    SignedOut,
    Refused(String),
}

async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>, wake: Arc<Notify>, backoff: Backoff) {
    let mut attempt = 0u32;
    let mut refresh = false;
    loop {
        shared.set_connection(Connection::Connecting);
        let ended = session(&shared, &mut stop, refresh).await;
        let refreshed = std::mem::take(&mut refresh);
        match ended {
            Ended::Stopped => return,
            Ended::Unauthorized if !refreshed => {
                refresh = true;
                continue;
            }
            Ended::Unauthorized | Ended::SignedOut => {
                shared.set_connection(Connection::SignedOut);
                return;
            }
            Ended::Lost { online } => {
                attempt = if online { 1 } else { attempt + 1 };
                shared.set_connection(Connection::Offline);
            }
            Ended::Refused(reason) => {
                // Not a network problem: do not insist.
                attempt = attempt.max(6) + 1;
                shared.set_connection(Connection::Refused(reason));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.random_delay(attempt)) => {}
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// `http(s)://host/…` → `ws(s)://host/…/sync`.
pub fn websocket_url(server_url: &str) -> String {
    let base = server_url.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    format!("{base}/sync")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(shared: &Shared, token: &str) -> Result<Socket, Ended> {
    let mut request = websocket_url(&shared.config.server_url)
        .into_client_request()
        .map_err(|e| Ended::Refused(format!("adresse du serveur invalide : {e}")))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Ended::SignedOut)?;
    request.headers_mut().insert(header::AUTHORIZATION, bearer);
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20)).read_buffer_size(16 * 1024);
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await
    {
        Err(_) => Err(Ended::Lost { online: false }),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) if response.status() == StatusCode::UNAUTHORIZED => {
            Err(Ended::Unauthorized)
        }
        Ok(Err(tungstenite::Error::Http(response))) if response.status() == StatusCode::FORBIDDEN => {
            Err(Ended::Refused("accès refusé".into()))
        }
        Ok(Err(_)) => Err(Ended::Lost { online: false }),
    }
}

async fn send(socket: &mut Socket, frame: &Frame) -> Result<(), Ended> {
    socket.send(Message::Binary(frame.encode().into())).await.map_err(|_| Ended::Lost { online: true })
}

/// One connection, from the handshake until it ends.
async fn session(shared: &Arc<Shared>, stop: &mut watch::Receiver<bool>, refresh: bool) -> Ended {
    let token = match access_token(shared, refresh).await {
        Ok(token) => token,
        Err(_) => return Ended::SignedOut,
    };
    let mut socket = match connect(shared, &token).await {
        Ok(socket) => socket,
        Err(ended) => return ended,
    };
    let peer_id = shared.replica().peer_id();
    let join = Frame::Join {
        sender_id: peer_id.clone(),
        metadata: PeerMetadata { storage_id: None, is_ephemeral: false },
        supported_protocol_versions: vec!["1".into()],
    };
    if let Err(ended) = send(&mut socket, &join).await {
        return ended;
    }
    let server_id = match tokio::time::timeout(CONNECT_TIMEOUT, next_frame(&mut socket)).await {
        Ok(Ok(Frame::Peer { sender_id, .. })) => sender_id,
        Ok(Ok(Frame::Error { message, .. })) => return ended_by(message),
        Ok(Err(ended)) => return ended,
        _ => return Ended::Lost { online: false },
    };
    shared.set_connection(Connection::Online);
    let conversation = shared.conversation.as_ref().map(|side| side.replica().sync_state());
    let mut link = Link { peer_id, server_id, state: shared.replica().sync_state(), conversation };
    let ended = exchange(shared, &mut socket, &mut link, stop).await;
    // Whatever ended the session, keep what it learnt of the server.
    let _ = shared.replica().remember(&link.state);
    if let (Some(side), Some(state)) = (&shared.conversation, &link.conversation) {
        let _ = side.replica().remember(state);
    }
    if ended == Ended::Stopped {
        let _ = send(&mut socket, &Frame::Leave { sender_id: link.peer_id.clone() }).await;
        let _ = socket.close(None).await;
    }
    ended
}

/// How an `error` frame from the server ends the session: an expired or revoked token is handled
/// like a 401 (refresh once, reconnect at once), anything else is a refusal.
fn ended_by(message: String) -> Ended {
    if message == TOKEN_ENDED_MESSAGE { Ended::Unauthorized } else { Ended::Refused(message) }
}

struct Link {
    peer_id: String,
    server_id: String,
    /// The plan's sync state.
    state: automerge::sync::State,
    /// The conversation's, while the server serves it.
    conversation: Option<automerge::sync::State>,
}

impl Link {
    fn sync_frame(&self, document_id: DocumentId, data: Vec<u8>) -> Frame {
        Frame::Sync { sender_id: self.peer_id.clone(), target_id: self.server_id.clone(), document_id, data }
    }

    /// The conversation's next message, if it has something to say.
    fn conversation_outgoing(&mut self, shared: &Shared) -> Option<(DocumentId, Vec<u8>)> {
        let (side, state) = (shared.conversation.as_ref()?, self.conversation.as_mut()?);
        side.replica().generate(state).map(|data| (side.document_id, data))
    }
}

/// Reads the next protocol frame (control frames are handled by the library).
async fn next_frame(socket: &mut Socket) -> Result<Frame, Ended> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                return Frame::decode(&bytes).map_err(|_| Ended::Refused("trame illisible du serveur".into()));
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(Ended::Lost { online: true }),
            Some(Ok(_)) => continue,
        }
    }
}

async fn exchange(
    shared: &Arc<Shared>,
    socket: &mut Socket,
    link: &mut Link,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = Instant::now();
    // Our first messages say what we have; the server answers with what we lack.
    let mut outgoing = shared.replica().generate(&mut link.state);
    let mut outgoing_conversation = link.conversation_outgoing(shared);
    loop {
        if let Some(data) = outgoing.take() {
            let frame = link.sync_frame(shared.document_id, data);
            if let Err(ended) = send(socket, &frame).await {
                return ended;
            }
        }
        if let Some((document_id, data)) = outgoing_conversation.take() {
            let frame = link.sync_frame(document_id, data);
            if let Err(ended) = send(socket, &frame).await {
                return ended;
            }
        }
        tokio::select! {
            message = socket.next() => {
                heard = Instant::now();
                let frame = match message {
                    Some(Ok(Message::Binary(bytes))) => match Frame::decode(&bytes) {
                        Ok(frame) => frame,
                        Err(_) => return Ended::Refused("trame illisible du serveur".into()),
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ended::Lost { online: true },
                    Some(Ok(_)) => continue,
                };
                match frame {
                    Frame::Sync { document_id, data, .. } if document_id == shared.document_id => {
                        let received = {
                            let mut replica = shared.replica();
                            let received = replica.receive(&mut link.state, &data);
                            if received.is_ok() {
                                outgoing = replica.generate(&mut link.state);
                                let _ = replica.remember(&link.state);
                            }
                            received
                        };
                        match received {
                            Ok(true) => shared.notify_plan_changed(),
                            Ok(false) => {}
                            Err(e) => return Ended::Refused(e.to_string()),
                        }
                    }
                    Frame::Sync { document_id, data, .. }
                        if Some(document_id) == shared.conversation.as_ref().map(|c| c.document_id) =>
                    {
                        let (Some(side), Some(state)) = (&shared.conversation, link.conversation.as_mut()) else {
                            continue;
                        };
                        let received = {
                            let mut replica = side.replica();
                            let received = replica.receive(state, &data);
                            if received.is_ok() {
                                outgoing_conversation = replica.generate(state).map(|d| (document_id, d));
                                let _ = replica.remember(state);
                            }
                            received
                        };
                        match received {
                            Ok(true) => shared.notify_messages_changed(),
                            Ok(false) => {}
                            Err(e) => return Ended::Refused(e.to_string()),
                        }
                    }
                    Frame::DocUnavailable { document_id, .. } if document_id == shared.document_id => {
                        return Ended::Refused("plan indisponible pour ce compte".into());
                    }
                    // A server without this conversation (or that took it away): the plan goes on.
                    Frame::DocUnavailable { document_id, .. }
                        if Some(document_id) == shared.conversation.as_ref().map(|c| c.document_id) =>
                    {
                        link.conversation = None;
                    }
                    Frame::Error { message, .. } => return ended_by(message),
                    // Notices also arrive as ephemeral messages; the stored notice comes with the
                    // next sync message, which is what the app reads.
                    _ => {}
                }
            }
            _ = shared.local_edits.notified() => {
                outgoing = shared.replica().generate(&mut link.state);
                outgoing_conversation = link.conversation_outgoing(shared);
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    return Ended::Lost { online: true };
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return Ended::Lost { online: true };
                }
            }
            _ = stop.changed() => return Ended::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::websocket_url;

    #[test]
    fn websocket_url_follows_the_scheme() {
        assert_eq!(websocket_url("https://api.pass-emploi.fr/"), "wss://api.pass-emploi.fr/sync");
        assert_eq!(websocket_url("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/sync");
    }
}
