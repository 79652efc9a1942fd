//! A minimal automerge-repo peer for the tests: joins over a real WebSocket, syncs one plan with
//! the Automerge sync protocol, records notices and `doc-unavailable`s.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use futures_util::{SinkExt, StreamExt};
use sync_core::protocol::{Frame, PeerMetadata};
use sync_core::{DocumentId, PlanDocument};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// A real server on a loopback port, serving `app`.
pub async fn serve(state: server::AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, server::app(state)).await.unwrap();
    });
    addr
}

pub struct Peer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub peer_id: String,
    pub server_id: String,
    pub document_id: DocumentId,
    pub doc: PlanDocument,
    state: sync::State,
    pub unavailable: Vec<DocumentId>,
    /// `data` of each ephemeral message received.
    pub ephemeral: Vec<Vec<u8>>,
    /// The `message` of an `error` frame, if the server sent one.
    pub error: Option<String>,
    pub closed: bool,
    /// The code of the server's close frame, if it sent one.
    pub close_code: Option<u16>,
}

impl Peer {
    /// Connects and joins; `doc` is the peer's local replica (a copy of the plan, or empty genesis).
    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        peer_id: &str,
        document_id: DocumentId,
        doc: PlanDocument,
    ) -> Peer {
        let url = format!("ws://{addr}/sync?token={token}");
        let (ws, _) = connect_async(url).await.expect("websocket upgrade");
        let mut peer = Peer {
            ws,
            peer_id: peer_id.to_owned(),
            server_id: String::new(),
            document_id,
            doc,
            state: sync::State::new(),
            unavailable: Vec::new(),
            ephemeral: Vec::new(),
            error: None,
            closed: false,
            close_code: None,
        };
        let join = Frame::Join {
            sender_id: peer_id.to_owned(),
            metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
            supported_protocol_versions: vec!["1".into()],
        };
        peer.send_frame(&join).await;
        match peer.next_frame(Duration::from_secs(5)).await {
            Some(Frame::Peer { sender_id, .. }) => peer.server_id = sender_id,
            other => panic!("expected peer, got {other:?}"),
        }
        peer
    }

    pub async fn send_frame(&mut self, frame: &Frame) {
        self.send_raw(frame.encode()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        if self.ws.send(Message::Binary(bytes.into())).await.is_err() {
            self.closed = true;
        }
    }

    /// The next protocol frame (pings are answered by the library), or `None` after `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    return None;
                }
                Ok(Some(Ok(Message::Binary(bytes)))) => return Some(Frame::decode(&bytes).expect("valid frame")),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.closed = true;
                    self.close_code = frame.map(|f| u16::from(f.code));
                    return None;
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    fn handle(&mut self, frame: Frame) {
        match frame {
            Frame::Sync { data, document_id, .. } if document_id == self.document_id => {
                let message = sync::Message::decode(&data).expect("sync message");
                self.doc.automerge_mut().sync().receive_sync_message(&mut self.state, message).expect("applies");
            }
            Frame::DocUnavailable { document_id, .. } => self.unavailable.push(document_id),
            Frame::Ephemeral { data, .. } => self.ephemeral.push(data),
            Frame::Error { message, .. } => self.error = Some(message),
            _ => {}
        }
    }

    /// Sends the peer's next sync message, if it has one; says whether it sent one.
    async fn send_next_sync(&mut self) -> bool {
        let Some(message) = self.doc.automerge_mut().sync().generate_sync_message(&mut self.state) else {
            return false;
        };
        let frame = Frame::Sync {
            sender_id: self.peer_id.clone(),
            target_id: self.server_id.clone(),
            document_id: self.document_id,
            data: message.encode(),
        };
        self.send_frame(&frame).await;
        true
    }

    /// Exchanges sync messages until neither side has anything to say for `quiet`.
    pub async fn sync(&mut self) {
        self.sync_for(Duration::from_millis(300)).await;
    }

    pub async fn sync_for(&mut self, quiet: Duration) {
        for _ in 0..200 {
            let outgoing = self.send_next_sync().await;
            match self.next_frame(quiet).await {
                Some(frame) => self.handle(frame),
                None if !outgoing || self.closed => return,
                None => {}
            }
        }
    }

    /// Reads frames until `done(self)` holds, for at most `wait`; true when it held.
    pub async fn wait_until(&mut self, wait: Duration, done: impl Fn(&Peer) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.next_frame(left).await {
                Some(frame) => self.handle(frame),
                None if self.closed => return done(self),
                None => {}
            }
            // Answer what the server sent, as a real peer would.
            self.send_next_sync().await;
        }
        true
    }

    /// Whether the server said (in its last sync message) that it holds the change `hash`.
    pub fn server_has(&mut self, hash: &automerge::ChangeHash) -> bool {
        let Some(theirs) = self.state.their_heads.clone() else {
            return false;
        };
        !self.doc.automerge_mut().get_changes(&theirs).iter().any(|c| c.hash() == *hash)
    }

    /// Reads (and handles) every frame until the server closes the socket or `wait` passes.
    pub async fn read_until_closed(&mut self, wait: Duration) {
        while let Some(frame) = self.next_frame(wait).await {
            self.handle(frame);
        }
    }

    /// Asks for another document; the answer is recorded by `handle`.
    pub async fn request(&mut self, document_id: DocumentId) {
        let mut empty = automerge::AutoCommit::new();
        let mut state = sync::State::new();
        let data = empty.sync().generate_sync_message(&mut state).map(|m| m.encode()).unwrap_or_default();
        let frame =
            Frame::Request { sender_id: self.peer_id.clone(), target_id: self.server_id.clone(), document_id, data };
        self.send_frame(&frame).await;
    }
}
