//! Kill -9 the server in the middle of a stream of syncs: after a restart every acknowledged
//! change is there and the phone converges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use automerge::ActorId;
use chrono::Utc;
use common::sync_client::Peer;
use sync_core::edit::NewAction;
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

struct Running {
    child: Child,
    addr: std::net::SocketAddr,
    lines: Vec<String>,
}

/// Starts the real binary on `dir` and waits for "listening on http://…".
fn start(dir: &std::path::Path) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pass-emploi-server"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("listening on http://");
        lines.push(line);
        if done {
            break;
        }
    }
    Running { child, addr: format!("127.0.0.1:{port}").parse().unwrap(), lines }
}

async fn login(addr: std::net::SocketAddr, email: &str) -> (String, Uuid, String) {
    let http = reqwest::Client::new();
    let r: serde_json::Value = http
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"].as_str().unwrap().to_owned();
    let me: serde_json::Value =
        http.get(format!("http://{addr}/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let id = me["id"].as_str().unwrap().parse().unwrap();
    (token, id, me["plan_document_id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_a_kill_9() {
    let dir = std::env::temp_dir().join(format!("pe-crash-{}", Uuid::new_v4().simple()));
    let mut server = start(&dir);
    let email = server
        .lines
        .iter()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("young_person")).then(|| words.next().map(str::to_owned)).flatten()
        })
        .expect("the demo prints a young person's login");
    let (token, young_person, document) = login(server.addr, &email).await;
    let document = document.parse().unwrap();
    let yp = Author::young_person(young_person);

    // The phone starts from the server's plan.
    let mut replica = PlanDocument::genesis(young_person).unwrap();
    replica.set_actor(ActorId::random());
    let mut phone = Peer::connect(server.addr, &token, "phone", document, replica).await;
    phone.sync().await;

    // A stream of edits, each synced; the server is killed while it runs.
    let mut acknowledged = Vec::new();
    let mut pending = Vec::new();
    let killer_pid = server.child.id();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let _ = Command::new("kill").args(["-9", &killer_pid.to_string()]).status();
    });
    for i in 0.. {
        let new = NewAction { id: Some(Uuid::new_v4()), title: format!("Action {i}"), ..NewAction::default() };
        let outcome = phone.doc.create_action(&yp, Utc::now(), new).unwrap();
        pending.push((outcome.id, outcome.change.unwrap()));
        phone.sync_for(Duration::from_millis(100)).await;
        pending.retain(|(id, hash)| {
            let acked = phone.server_has(hash);
            if acked {
                acknowledged.push(*id);
            }
            !acked
        });
        if phone.closed || i > 2000 {
            break;
        }
    }
    killer.await.unwrap();
    let _ = server.child.wait();
    assert!(acknowledged.len() >= 3, "too few syncs before the kill: {}", acknowledged.len());

    // Restart on the same data: every acknowledged action is there; the phone converges.
    let mut server = start(&dir);
    let mut phone = Peer::connect(server.addr, &token, "phone", document, phone.doc.fork()).await;
    phone.sync().await;
    let http = reqwest::Client::new();
    let plan: serde_json::Value = http
        .get(format!("http://{}/api/v1/young-people/{young_person}/plan", server.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<String> =
        plan["actions"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    for id in &acknowledged {
        assert!(stored.contains(&id.to_string()), "acknowledged action {id} lost");
    }
    // Everything the phone made (acknowledged or not) is on the server after the resync: the
    // phone and the server hold the same plan.
    let mut on_phone: Vec<String> = phone.doc.plan().actions.iter().map(|a| a.id.to_string()).collect();
    let mut on_server = stored.clone();
    on_phone.sort();
    on_server.sort();
    assert_eq!(on_phone, on_server);
    eprintln!("{} actions acknowledged before the kill, {} in all", acknowledged.len(), stored.len());
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
