//! The WebSocket sessions' edges (issue 10, items 6, 8 and 9): a session ends with its token
//! (logout, refresh-token reuse, expiry, on any instance), a panicking session releases what it
//! held, and no client passes for the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use automerge::ActorId;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use common::sync_client::{Peer, serve};
use common::{PASSWORD, TestApp, TestDb, World, edit, world};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use server::config::Config;
use server::sync::gateway::TOKEN_ENDED_MESSAGE;
use sync_core::edit::NewAction;
use sync_core::protocol::{Frame, PeerMetadata};
use sync_core::{Author, DocumentId, PlanDocument};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const LIVE: Duration = Duration::from_secs(3);

fn phone_replica(young_person: Uuid) -> PlanDocument {
    let mut doc = PlanDocument::genesis(young_person).unwrap();
    doc.set_actor(ActorId::random());
    doc
}

fn new_action(title: &str) -> NewAction {
    NewAction { id: Some(Uuid::new_v4()), title: title.into(), ..NewAction::default() }
}

struct Setup {
    t: TestApp,
    w: World,
    addr: SocketAddr,
    y1_doc: DocumentId,
}

async fn setup_with(db: &TestDb, tune: impl FnOnce(&mut Config)) -> Setup {
    let t = db.app_with(tune).await;
    let w = world(&t).await;
    let addr = serve(t.state.clone()).await;
    let y1_doc = t.store.document_of(w.y1).await.unwrap().unwrap().parse().unwrap();
    Setup { t, w, addr, y1_doc }
}

/// Whether the server ended `peer`'s session because of its token (error frame, then close).
async fn ended_by_token(peer: &mut Peer, wait: Duration) -> bool {
    peer.wait_until(wait, |p| p.error.is_some() && p.closed).await;
    peer.error.as_deref() == Some(TOKEN_ENDED_MESSAGE) && peer.closed
}

/// An adviser's edit of Y1's plan, through the path of every REST write.
async fn adviser_creates_an_action(s: &Setup, title: &str) -> Uuid {
    let adviser = Author::adviser(s.w.a);
    edit(&s.t, s.w.y1, &adviser, Utc::now(), |d, a, now| d.create_action(a, now, new_action(title))).await.id
}

// ---- item 6: a session ends with its token ----

async fn logout_ends_the_sessions_of_that_login_only(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let first = s.t.token("y1@test.fr").await;
    let second = s.t.token("y1@test.fr").await;
    let mut phone = Peer::connect(s.addr, &first, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let mut tablet = Peer::connect(s.addr, &second, "tablet-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    tablet.sync().await;

    let r = s.t.call(Method::POST, "/api/v1/auth/logout", Some(&first), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(ended_by_token(&mut phone, LIVE).await, "the session outlived its logout: {:?}", phone.error);

    // The other login of the same user keeps its session, and it still hears the plan.
    let id = adviser_creates_an_action(&s, "Après la déconnexion").await;
    assert!(tablet.wait_until(LIVE, |p| p.doc.plan().action(id).is_some()).await, "the other login's session ended");
    assert!(tablet.error.is_none() && !tablet.closed);
}

async fn refresh_token_reuse_ends_the_family_sessions(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let login = s.t.login("y1@test.fr", PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let mut phone = Peer::connect(s.addr, &access, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    let body = json!({"refresh_token": refresh});
    let rotated = s.t.call(Method::POST, "/api/v1/auth/refresh", None, Some(body.clone())).await;
    assert_eq!(rotated.status, StatusCode::OK);
    // A rotation keeps the session; presenting the spent token again revokes the whole family.
    assert!(!ended_by_token(&mut phone, Duration::from_millis(300)).await);
    let reused = s.t.call(Method::POST, "/api/v1/auth/refresh", None, Some(body)).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert!(ended_by_token(&mut phone, LIVE).await, "the session outlived its family: {:?}", phone.error);
}

async fn a_session_ends_when_its_token_expires(db: &TestDb) {
    let s = setup_with(db, |c| c.access_ttl_secs = 2).await;
    let token = s.t.token("y1@test.fr").await;
    let mut phone = Peer::connect(s.addr, &token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    assert!(ended_by_token(&mut phone, Duration::from_secs(5)).await, "the session outlived its token");
    let plan = s.t.get(&format!("/api/v1/young-people/{}/plan", s.w.y1), &token).await;
    assert_eq!(plan.status, StatusCode::UNAUTHORIZED);
}

async fn a_logout_on_another_instance_ends_the_session(db: &TestDb) {
    // Two instances on one database; the first checks its sessions' tokens every second (on
    // PostgreSQL the revocation is also announced to it at once).
    let s = setup_with(db, |c| c.sync.revalidate_secs = 1).await;
    let other = db.app().await;
    let token = s.t.token("y1@test.fr").await;
    let mut phone = Peer::connect(s.addr, &token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    let r = other.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(ended_by_token(&mut phone, Duration::from_secs(4)).await, "the session outlived a logout elsewhere");
}

// ---- item 8: a panicking session releases what it held ----

async fn panicking_sessions_release_their_counts_links_and_states(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let token = s.t.token("y1@test.fr").await;
    let limit = s.t.state.config.sync.sessions_per_user;
    for i in 0..=limit {
        let mut phone = Peer::connect(s.addr, &token, &format!("phone-{i}"), s.y1_doc, phone_replica(s.w.y1)).await;
        phone.sync().await;
        assert!(phone.unavailable.is_empty());
        let panic = Frame::Ephemeral {
            sender_id: phone.peer_id.clone(),
            target_id: phone.server_id.clone(),
            document_id: s.y1_doc,
            session_id: "s".into(),
            count: 1,
            data: server::sync::test_support::PANIC_PAYLOAD.to_vec(),
        };
        phone.send_frame(&panic).await;
        phone.read_until_closed(LIVE).await;
        assert!(phone.closed, "session {i} survived its panic");
        assert_eq!(phone.error.as_deref(), Some("erreur interne du serveur"));
    }
    // Everything the sessions held is released (the guards drop just after the last frame).
    let hub = &s.t.state.hub;
    let deadline = tokio::time::Instant::now() + LIVE;
    while (hub.sessions_of(s.w.y1) > 0 || hub.watched() > 0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hub.sessions_of(s.w.y1), 0, "session counts leaked");
    assert_eq!(hub.watched(), 0, "forwarding tasks leaked");

    // After more panics than the limit, the user still syncs, and live.
    let mut phone = Peer::connect(s.addr, &token, "phone-after", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    assert!(phone.error.is_none() && !phone.closed);
    let id = adviser_creates_an_action(&s, "Après les paniques").await;
    assert!(phone.wait_until(LIVE, |p| p.doc.plan().action(id).is_some()).await);
}

// ---- item 9: nobody passes for the server ----

/// Joins with `peer_id` and returns the first frame the server answers.
async fn first_answer_to_join(addr: SocketAddr, token: &str, peer_id: &str) -> Option<Frame> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token={token}")).await.unwrap();
    let join = Frame::Join {
        sender_id: peer_id.to_owned(),
        metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
        supported_protocol_versions: vec!["1".into()],
    };
    ws.send(Message::Binary(join.encode().into())).await.unwrap();
    loop {
        match tokio::time::timeout(LIVE, ws.next()).await.ok()?? {
            Ok(Message::Binary(bytes)) => return Frame::decode(&bytes).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn no_client_joins_with_a_server_peer_id(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let token = s.t.token("y1@test.fr").await;
    let phone = Peer::connect(s.addr, &token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let server_id = phone.server_id.clone();
    assert!(server_id.starts_with(server::sync::SERVER_PEER_PREFIX));
    let another_instance = format!("{}{}", server::sync::SERVER_PEER_PREFIX, Uuid::new_v4());
    for claimed in [server_id.clone(), another_instance, server_id.to_uppercase()] {
        match first_answer_to_join(s.addr, &token, &claimed).await {
            Some(Frame::Error { message, .. }) => assert!(message.contains("réservé au serveur"), "{message}"),
            other => panic!("joined as {claimed}: {other:?}"),
        }
    }
}

/// Reads `peer`'s frames for `wait`; the ephemeral ones as `(senderId, data)`.
async fn ephemerals_heard(peer: &mut Peer, wait: Duration) -> Vec<(String, Vec<u8>)> {
    let mut heard = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return heard;
        }
        match peer.next_frame(left).await {
            Some(Frame::Ephemeral { sender_id, data, .. }) => heard.push((sender_id, data)),
            Some(_) => {}
            None if peer.closed => return heard,
            None => {}
        }
    }
}

async fn relayed_ephemerals_name_their_authenticated_sender(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let y1_token = s.t.token("y1@test.fr").await;
    let a_token = s.t.token("a@test.fr").await;
    let mut phone = Peer::connect(s.addr, &y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let mut adviser = Peer::connect(s.addr, &a_token, "a-browser", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    adviser.sync().await;
    // The phone claims to be the server in the frame itself: the relay says who it really is.
    let presence = vec![0xa1, 0x61, 0x78, 0x01]; // {"x": 1}
    let frame = Frame::Ephemeral {
        sender_id: adviser.server_id.clone(),
        target_id: phone.server_id.clone(),
        document_id: s.y1_doc,
        session_id: "s1".into(),
        count: 1,
        data: presence.clone(),
    };
    phone.send_frame(&frame).await;
    let heard = ephemerals_heard(&mut adviser, Duration::from_secs(1)).await;
    assert_eq!(heard, vec![(format!("user:{}/phone-1", s.w.y1), presence)]);
}

async fn a_client_ephemeral_never_carries_a_notice(db: &TestDb) {
    let s = setup_with(db, |_| {}).await;
    let y1_token = s.t.token("y1@test.fr").await;
    let a_token = s.t.token("a@test.fr").await;
    let mut phone = Peer::connect(s.addr, &y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let mut adviser = Peer::connect(s.addr, &a_token, "a-browser", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    adviser.sync().await;
    // Exactly what the server sends when it undoes an edit.
    let notice = sync_core::model::Notice {
        id: Uuid::new_v4(),
        for_user: s.w.a,
        at: Utc::now(),
        reasons: vec!["Votre accès à ce plan va être retiré : confirmez votre mot de passe".into()],
    };
    let frame = Frame::Ephemeral {
        sender_id: phone.peer_id.clone(),
        target_id: phone.server_id.clone(),
        document_id: s.y1_doc,
        session_id: "s1".into(),
        count: 1,
        data: server::sync::notice_payload(&notice),
    };
    phone.send_frame(&frame).await;
    phone.read_until_closed(LIVE).await;
    assert!(phone.closed, "the forged notice was accepted");
    assert!(phone.error.as_deref().is_some_and(|m| m.contains("notice")), "{:?}", phone.error);
    assert_eq!(ephemerals_heard(&mut adviser, Duration::from_secs(1)).await, vec![]);
}

// ---- the phones' client: a session ended by its token reconnects with a fresh one ----

/// An app's tokens: the current access token, and the one a refresh hands out.
struct Tokens {
    current: std::sync::Mutex<Option<String>>,
    fresh: String,
    refreshes: std::sync::atomic::AtomicUsize,
}

impl sync_core::client::TokenSource for Tokens {
    fn access_token(&self) -> Option<String> {
        self.current.lock().unwrap().clone()
    }

    fn refresh_access_token(&self) -> Option<String> {
        self.refreshes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.current.lock().unwrap() = Some(self.fresh.clone());
        Some(self.fresh.clone())
    }
}

#[derive(Default)]
struct Connections(std::sync::Mutex<Vec<sync_core::client::Connection>>);

impl sync_core::client::PlanListener for Connections {
    fn plan_changed(&self) {}

    fn connection_changed(&self, connection: sync_core::client::Connection) {
        self.0.lock().unwrap().push(connection);
    }
}

/// Polls `done` for up to 10 s.
async fn wait(done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phones_client_reconnects_with_a_fresh_token_after_a_logout_elsewhere() {
    use std::sync::Arc;
    use sync_core::client::{ClientConfig, Connection, OfflineClient};
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let s = setup_with(&db, |_| {}).await;
    let revoked = s.t.token("y1@test.fr").await;
    let tokens = Arc::new(Tokens {
        current: std::sync::Mutex::new(Some(revoked.clone())),
        fresh: s.t.token("y1@test.fr").await,
        refreshes: Default::default(),
    });
    let dir = std::env::temp_dir().join(format!("pe-phone-{}", Uuid::new_v4().simple()));
    let config = ClientConfig {
        server_url: format!("http://{}", s.addr),
        data_dir: dir.clone(),
        young_person_id: s.w.y1,
        plan_document_id: s.y1_doc.to_string(),
        conversation_document_id: None,
        timezone: "Europe/Paris".into(),
    };
    let phone = Arc::new(OfflineClient::open(config, tokens.clone()).unwrap().0);
    let seen = Arc::new(Connections::default());
    phone.set_listener(Some(seen.clone()));
    let p = phone.clone();
    tokio::task::spawn_blocking(move || p.start_live()).await.unwrap().unwrap();
    let online = |n: usize| seen.0.lock().unwrap().iter().filter(|c| **c == Connection::Online).count() >= n;
    assert!(wait(|| online(1)).await, "never online");

    // The token is revoked (a logout on a stolen copy, say): the session ends, and the client
    // refreshes at once and is back online, without showing a refusal.
    let r = s.t.call(Method::POST, "/api/v1/auth/logout", Some(&revoked), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(wait(|| online(2)).await, "not back online: {:?}", seen.0.lock().unwrap());
    assert_eq!(tokens.refreshes.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(!seen.0.lock().unwrap().iter().any(|c| matches!(c, Connection::Refused(_))));
    let id = adviser_creates_an_action(&s, "Après la reconnexion").await;
    assert!(wait(|| phone.actions(None).iter().any(|a| a.id == id)).await, "the live session does not serve");

    let p = phone.clone();
    tokio::task::spawn_blocking(move || p.stop_live()).await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
    db.cleanup().await;
}

on_both_backends!(
    logout_ends_the_sessions_of_that_login_only,
    refresh_token_reuse_ends_the_family_sessions,
    a_session_ends_when_its_token_expires,
    a_logout_on_another_instance_ends_the_session,
    panicking_sessions_release_their_counts_links_and_states,
    no_client_joins_with_a_server_peer_id,
    relayed_ephemerals_name_their_authenticated_sender,
    a_client_ephemeral_never_carries_a_notice,
);
