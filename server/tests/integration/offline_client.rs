//! sync-core's offline client against the real server on a loopback port: one-shot and live sync,
//! token refresh, a network cut mid-sync, a refused offline edit coming back as a notice.
//! The client's methods block, so the tests call them from blocking threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::sync_client::serve;
use common::{TestApp, TestDb, World, world};
use serde_json::json;
use sync_core::client::{ClientConfig, ClientError, Connection, OfflineClient, PlanListener, TokenSource};
use sync_core::edit::{ActionPatch, NewAction};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Tokens as an app keeps them: a current one, and a refresh that hands out `fresh`.
struct Tokens {
    current: Mutex<Option<String>>,
    fresh: Option<String>,
    refreshes: AtomicUsize,
}

impl Tokens {
    fn new(current: &str, fresh: Option<&str>) -> Arc<Tokens> {
        Arc::new(Tokens {
            current: Mutex::new(Some(current.to_owned())),
            fresh: fresh.map(str::to_owned),
            refreshes: AtomicUsize::new(0),
        })
    }
}

impl TokenSource for Tokens {
    fn access_token(&self) -> Option<String> {
        self.current.lock().unwrap().clone()
    }

    fn refresh_access_token(&self) -> Option<String> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let fresh = self.fresh.clone();
        *self.current.lock().unwrap() = fresh.clone();
        fresh
    }
}

#[derive(Default)]
struct Seen {
    changes: AtomicUsize,
    messages: AtomicUsize,
    connections: Mutex<Vec<Connection>>,
}

impl PlanListener for Seen {
    fn plan_changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    fn messages_changed(&self) {
        self.messages.fetch_add(1, Ordering::SeqCst);
    }

    fn connection_changed(&self, connection: Connection) {
        self.connections.lock().unwrap().push(connection);
    }
}

struct Setup {
    t: TestApp,
    w: World,
    addr: SocketAddr,
    y1_token: String,
    a_token: String,
    document_id: String,
    conversation_id: String,
    dirs: Vec<PathBuf>,
}

impl Setup {
    async fn new(db: &TestDb) -> Setup {
        let t = db.app().await;
        let w = world(&t).await;
        let addr = serve(t.state.clone()).await;
        let y1_token = t.token("y1@test.fr").await;
        let a_token = t.token("a@test.fr").await;
        let document_id = t.store.document_of(w.y1).await.unwrap().unwrap();
        let conversation_id = t.state.conversations.ensure(w.y1).await.unwrap();
        Setup { t, w, addr, y1_token, a_token, document_id, conversation_id, dirs: Vec::new() }
    }

    /// A phone of Y1 talking to `addr` (the server, or a proxy in front of it).
    fn phone(&mut self, addr: SocketAddr, tokens: Arc<Tokens>) -> OfflineClient {
        let dir = std::env::temp_dir().join(format!("pe-phone-{}", Uuid::new_v4().simple()));
        self.dirs.push(dir.clone());
        let config = ClientConfig {
            server_url: format!("http://{addr}"),
            data_dir: dir,
            young_person_id: self.w.y1,
            plan_document_id: self.document_id.clone(),
            conversation_document_id: Some(self.conversation_id.clone()),
            timezone: "Europe/Paris".into(),
        };
        OfflineClient::open(config, tokens).unwrap().0
    }

    fn tokens(&self) -> Arc<Tokens> {
        Tokens::new(&self.y1_token, None)
    }

    async fn adviser_plan(&self) -> serde_json::Value {
        let plan = self.t.get(&format!("/api/v1/young-people/{}/plan", self.w.y1), &self.a_token).await;
        assert_eq!(plan.status, StatusCode::OK);
        plan.body
    }

    fn cleanup(&self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn action(title: &str) -> NewAction {
    NewAction { title: title.into(), ..NewAction::default() }
}

/// Generous: CI machines are busy, and a wait that ends early costs nothing.
const PATIENCE: usize = 300;

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..PATIENCE {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_reach_the_adviser_with_one_sync_and_adviser_edits_come_back() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let phone = Arc::new(s.phone(s.addr, s.tokens()));
    let seen = Arc::new(Seen::default());
    phone.set_listener(Some(seen.clone()));

    let p = phone.clone();
    let id = blocking(move || {
        let id = p.create_action(action("Préparer mon CV")).unwrap();
        p.update_action(id, ActionPatch { description: Some(Some("version courte".into())), ..Default::default() })
            .unwrap();
        id
    })
    .await;
    assert_eq!(phone.pending_changes(), 2);

    let p = phone.clone();
    let report = blocking(move || p.sync_now()).await.unwrap();
    assert_eq!(report.pending_changes, 0);
    assert_eq!(phone.pending_changes(), 0);
    let plan = s.adviser_plan().await;
    assert_eq!(plan["actions"][0]["id"], json!(id.to_string()));
    assert_eq!(plan["actions"][0]["description"], json!("version courte"));

    let path = format!("/api/v1/young-people/{}/actions/{id}/comments", s.w.y1);
    assert_eq!(s.t.post(&path, &s.a_token, json!({"text": "Bien joué"})).await.status, StatusCode::CREATED);
    let p = phone.clone();
    let report = blocking(move || p.sync_now()).await.unwrap();
    assert!(report.plan_changed);
    assert_eq!(seen.changes.load(Ordering::SeqCst), 1);
    assert_eq!(phone.actions(None)[0].comments[0].text, "Bien joué");

    // In sync: one more sync says so at once and moves nothing but its handshake.
    let p = phone.clone();
    let again = blocking(move || p.sync_now()).await.unwrap();
    assert!(!again.plan_changed && !again.messages_changed);
    // A handshake for the plan and one for the conversation.
    assert!(again.rounds <= 4, "{again:?}");
    s.cleanup();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_session_sends_local_edits_and_brings_the_advisers() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let phone = Arc::new(s.phone(s.addr, s.tokens()));
    let seen = Arc::new(Seen::default());
    phone.set_listener(Some(seen.clone()));
    let p = phone.clone();
    blocking(move || p.start_live()).await.unwrap();
    wait_for("online", || phone.connection() == Connection::Online).await;

    let path = format!("/api/v1/young-people/{}/actions", s.w.y1);
    let created = s.t.post(&path, &s.a_token, json!({"title": "Atelier CV", "category": "EMPLOI"})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    wait_for("the adviser's action", || phone.actions(None).len() == 1).await;
    assert!(seen.changes.load(Ordering::SeqCst) >= 1);

    let p = phone.clone();
    blocking(move || p.create_action(action("Appeler l'entreprise"))).await.unwrap();
    for _ in 0..PATIENCE {
        if s.adviser_plan().await["actions"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.adviser_plan().await["actions"].as_array().unwrap().len(), 2);
    wait_for("acknowledged", || phone.pending_changes() == 0).await;

    let p = phone.clone();
    blocking(move || p.stop_live()).await;
    assert_eq!(phone.connection(), Connection::Stopped);
    let connections = seen.connections.lock().unwrap().clone();
    assert_eq!(connections[..2], [Connection::Connecting, Connection::Online]);
    s.cleanup();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_refreshed_once_and_a_dead_session_signs_out() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let tokens = Tokens::new("expired", Some(&s.y1_token));
    let phone = Arc::new(s.phone(s.addr, tokens.clone()));
    let p = phone.clone();
    blocking(move || p.create_action(action("CV"))).await.unwrap();
    let p = phone.clone();
    blocking(move || p.sync_now()).await.unwrap();
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(phone.pending_changes(), 0);

    let dead = Tokens::new("expired", None);
    let other = Arc::new(s.phone(s.addr, dead.clone()));
    let o = other.clone();
    let err = blocking(move || o.sync_now()).await.unwrap_err();
    assert!(matches!(err, ClientError::SignedOut), "{err:?}");

    assert_eq!(dead.refreshes.load(Ordering::SeqCst), 1);

    // Live: the same, and the session ends signed out instead of retrying forever.
    let dead = Tokens::new("expired", None);
    let live = Arc::new(s.phone(s.addr, dead.clone()));
    let l = live.clone();
    blocking(move || l.start_live()).await.unwrap();
    wait_for("signed out", || live.connection() == Connection::SignedOut).await;
    assert_eq!(dead.refreshes.load(Ordering::SeqCst), 1);
    s.cleanup();
    db.cleanup().await;
}

/// A TCP relay in front of the server that can cut every connection, like a network that drops.
struct Relay {
    addr: SocketAddr,
    /// While set, answers from the server are swallowed and the connection cut.
    cut: Arc<AtomicBool>,
}

async fn relay(upstream: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let Ok(mut server) = TcpStream::connect(upstream).await else { continue };
            let flag = flag.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let up = tokio::io::copy(&mut client_read, &mut server_write);
                let down = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = server_read.read(&mut buf).await.unwrap_or(0);
                        if n == 0 || flag.load(Ordering::SeqCst) {
                            return;
                        }
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    Relay { addr, cut }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_cut_mid_sync_loses_nothing_and_the_next_sync_completes() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let relay = relay(s.addr).await;
    let phone = Arc::new(s.phone(relay.addr, s.tokens()));
    let path = format!("/api/v1/young-people/{}/actions", s.w.y1);
    assert_eq!(
        s.t.post(&path, &s.a_token, json!({"title": "Du serveur", "category": "EMPLOI"})).await.status,
        StatusCode::CREATED
    );
    let p = phone.clone();
    blocking(move || {
        for i in 0..5 {
            p.create_action(action(&format!("hors ligne {i}"))).unwrap();
        }
    })
    .await;

    // The server receives the phone's changes, but its answers are lost.
    relay.cut.store(true, Ordering::SeqCst);
    let p = phone.clone();
    assert!(blocking(move || p.sync_now()).await.is_err());
    assert_eq!(phone.actions(None).len(), 5, "nothing arrived");

    relay.cut.store(false, Ordering::SeqCst);
    let p = phone.clone();
    let report = blocking(move || p.sync_now()).await.unwrap();
    assert!(report.plan_changed);
    assert_eq!(report.pending_changes, 0);
    assert_eq!(phone.actions(None).len(), 6);
    assert_eq!(s.adviser_plan().await["actions"].as_array().unwrap().len(), 6);

    // Live: cut the session; the client goes offline, comes back, and the edit made meanwhile
    // reaches the server.
    let p = phone.clone();
    blocking(move || p.start_live()).await.unwrap();
    wait_for("online", || phone.connection() == Connection::Online).await;
    relay.cut.store(true, Ordering::SeqCst);
    let p = phone.clone();
    blocking(move || p.create_action(action("pendant la coupure"))).await.unwrap();
    wait_for("offline", || phone.connection() != Connection::Online).await;
    relay.cut.store(false, Ordering::SeqCst);
    phone.reconnect_now();
    wait_for("back online and acknowledged", || {
        phone.connection() == Connection::Online && phone.pending_changes() == 0
    })
    .await;
    assert_eq!(s.adviser_plan().await["actions"].as_array().unwrap().len(), 7);
    let p = phone.clone();
    blocking(move || p.stop_live()).await;
    s.cleanup();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_edit_of_a_qualified_action_comes_back_as_a_notice() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let phone = Arc::new(s.phone(s.addr, s.tokens()));
    let p = phone.clone();
    let id = blocking(move || {
        let id = p.create_action(action("Inscription au permis")).unwrap();
        p.complete_action(id).unwrap();
        p.sync_now().unwrap();
        id
    })
    .await;
    let path = format!("/api/v1/young-people/{}/actions/{id}/qualification", s.w.y1);
    assert_eq!(s.t.post(&path, &s.a_token, json!({"code": "FORMATION"})).await.status, StatusCode::OK);

    // Offline, the phone still sees the action unqualified and edits it; the server undoes it.
    let p = phone.clone();
    blocking(move || p.update_action(id, ActionPatch { title: Some("Permis B".into()), ..Default::default() }))
        .await
        .unwrap();
    let p = phone.clone();
    blocking(move || p.sync_now()).await.unwrap();
    assert_eq!(phone.actions(None)[0].title, "Inscription au permis");
    let notices = phone.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(!notices[0].reasons.is_empty());
    assert_eq!(s.adviser_plan().await["actions"][0]["title"], json!("Inscription au permis"));
    s.cleanup();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_registers_its_push_token() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let tokens = Tokens::new("expired", Some(&s.y1_token));
    let phone = Arc::new(s.phone(s.addr, tokens));
    let p = phone.clone();
    blocking(move || p.register_push_token(sync_core::client::Platform::Android, "fcm-token-123")).await.unwrap();
    let devices = s.t.store.device_tokens_of(s.w.y1).await.unwrap();
    assert_eq!(devices.len(), 1);
    s.cleanup();
    db.cleanup().await;
}

/// Two phones of the young person write offline, the adviser from the web: after their syncs all
/// hold the same messages in the same order, and each message sent offline arrived exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_offline_on_two_phones_converge_and_arrive_once() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let first = Arc::new(s.phone(s.addr, s.tokens()));
    let second = Arc::new(s.phone(s.addr, s.tokens()));
    let (p1, p2) = (first.clone(), second.clone());
    let (sent1, sent2) = blocking(move || {
        let a = p1.send_message("Envoyé du premier téléphone".into(), None).unwrap();
        let b = p2.send_message("Envoyé du second".into(), None).unwrap();
        p2.delete_message(b).unwrap();
        let b2 = p2.send_message("Finalement, ceci".into(), None).unwrap();
        (a, b2)
    })
    .await;
    assert_eq!(first.pending_changes(), 1);
    let path = format!("/api/v1/young-people/{}/conversation/messages", s.w.y1);
    assert_eq!(s.t.post(&path, &s.a_token, json!({"text": "Depuis le web"})).await.status, StatusCode::CREATED);

    for _ in 0..2 {
        for phone in [first.clone(), second.clone()] {
            let report = blocking(move || phone.sync_now()).await.unwrap();
            assert_eq!(report.pending_changes, 0);
        }
    }
    let (p1, p2) = (first.clone(), second.clone());
    let (on_first, on_second) =
        blocking(move || (p1.messages(None, 50).unwrap(), p2.messages(None, 50).unwrap())).await;
    assert_eq!(on_first, on_second);
    assert_eq!(on_first.len(), 4, "{on_first:?}");
    assert!(on_first.iter().any(|m| m.id == sent1) && on_first.iter().any(|m| m.id == sent2));
    assert_eq!(on_first.iter().filter(|m| m.is_deleted()).count(), 1);
    let read = s.t.get(&format!("/api/v1/young-people/{}/conversation", s.w.y1), &s.a_token).await;
    let ids: Vec<&str> = read.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().filter(|id| **id == sent1.to_string()).count(), 1, "sent once");
    assert_eq!(ids, on_first.iter().map(|m| m.id.to_string()).collect::<Vec<_>>(), "the same order everywhere");
    assert_eq!(first.unread_messages().unwrap(), 1, "the adviser's message");
    let p1 = first.clone();
    blocking(move || p1.mark_messages_read()).await.unwrap();
    assert_eq!(first.unread_messages().unwrap(), 0);
    s.cleanup();
    db.cleanup().await;
}

/// Live: the adviser's message reaches the phone without a sync call, and the listener hears it;
/// the phone's message goes out by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_come_and_go_live() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let mut s = Setup::new(&db).await;
    let phone = Arc::new(s.phone(s.addr, s.tokens()));
    let seen = Arc::new(Seen::default());
    phone.set_listener(Some(seen.clone()));
    let p = phone.clone();
    blocking(move || p.start_live()).await.unwrap();
    wait_for("online", || phone.connection() == Connection::Online).await;
    let path = format!("/api/v1/young-people/{}/conversation/messages", s.w.y1);
    assert_eq!(s.t.post(&path, &s.a_token, json!({"text": "Vous êtes là ?"})).await.status, StatusCode::CREATED);
    wait_for("the adviser's message", || phone.messages(None, 10).unwrap().len() == 1).await;
    assert!(seen.messages.load(Ordering::SeqCst) >= 1);
    let p = phone.clone();
    blocking(move || p.send_message("Oui !".into(), None)).await.unwrap();
    wait_for("acknowledged", || phone.pending_changes() == 0).await;
    let read = s.t.get(&format!("/api/v1/young-people/{}/conversation", s.w.y1), &s.a_token).await;
    assert_eq!(read.body["messages"][0]["text"], "Oui !");
    let p = phone.clone();
    blocking(move || p.stop_live()).await;
    s.cleanup();
    db.cleanup().await;
}
