//! Kill -9 the server in the middle of a stream of syncs: after a restart every acknowledged
//! change is there and the phone converges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

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
    start_with(dir, &[])
}

fn start_with(dir: &std::path::Path, extra: &[String]) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pass-emploi-server"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
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

/// The ids of the actions the server holds in the young person's plan.
async fn stored_action_ids(server: &Running, token: &str, young_person: Uuid) -> Vec<String> {
    let plan: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/v1/young-people/{young_person}/plan", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    plan["actions"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

/// The first login of `role` the demo printed.
fn demo_login(server: &Running, role: &str) -> String {
    server
        .lines
        .iter()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(role)).then(|| words.next().map(str::to_owned)).flatten()
        })
        .expect("the demo prints its logins")
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
    let token = r["access_token"].as_str().unwrap_or_else(|| panic!("{email}: {r}")).to_owned();
    let me: serde_json::Value =
        http.get(format!("http://{addr}/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let id = me["id"].as_str().unwrap().parse().unwrap();
    // Empty for staff, who have no plan of their own.
    (token, id, me["plan_document_id"].as_str().unwrap_or_default().to_owned())
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
    let stored = stored_action_ids(&server, &token, young_person).await;
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

/// SIGTERM in the middle of a burst of writes (REST creations by the adviser, each pushed to the
/// young person's phone through a fake FCM): the process stops by itself, the live sync session
/// is closed with « going away » (1001), every acknowledged write is there after a restart, and no
/// push is left claimed by a worker that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_keeps_every_acknowledged_write() {
    const PRIVATE_KEY: &str = include_str!("../fixtures/fcm-test-key.pem");
    const PUBLIC_KEY: &str = include_str!("../fixtures/fcm-test-key.pub.pem");
    let fcm = server::notifications::fcm_fake::FakeFcm::start(
        PUBLIC_KEY.as_bytes(),
        "pass-emploi-test",
        "push@pass-emploi-test.iam.gserviceaccount.com",
        false,
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("pe-sigterm-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("fcm-key.json");
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "pass-emploi-test",
        "client_email": "push@pass-emploi-test.iam.gserviceaccount.com",
        "private_key": PRIVATE_KEY,
        "token_uri": fcm.token_uri(),
    });
    std::fs::write(&key, account.to_string()).unwrap();
    let extra = [
        "--fcm-credentials".to_owned(),
        key.display().to_string(),
        "--fcm-base-url".to_owned(),
        fcm.base_url(),
        "--delivery-poll-ms".to_owned(),
        "20".to_owned(),
    ];
    // A first start seeds the demo; the young person then moves where it is day now (pushes wait
    // out the quiet hours, 21:00–08:00 local), and the server starts again with a fake FCM.
    let mut seeding = start(&dir);
    let (token, young_person, document) = login(seeding.addr, &demo_login(&seeding, "young_person")).await;
    let (adviser_token, _, _) = login(seeding.addr, &demo_login(&seeding, "adviser")).await;
    // Stopped gracefully: killed, its push workers could leave rows claimed (the lease outlives
    // this test), and the check below is about the second server's stop.
    let _ = Command::new("kill").args(["-TERM", &seeding.child.id().to_string()]).status();
    let _ = seeding.child.wait();
    let zone = ["Europe/Paris", "Asia/Tokyo", "America/New_York", "Pacific/Honolulu", "Pacific/Kiritimati"]
        .into_iter()
        .find(|zone| {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            (9..20).contains(&chrono::Timelike::hour(&Utc::now().with_timezone(&tz)))
        })
        .unwrap();
    let url = format!("sqlite://{}", dir.join("pass-emploi.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET timezone = $1 WHERE id = $2")
        .bind(zone)
        .bind(young_person.to_string())
        .execute(&mut db)
        .await
        .unwrap();
    let mut server = start_with(&dir, &extra);
    let http = reqwest::Client::new();
    let device = serde_json::json!({"platform": "android", "token": "ok-sigterm"});
    let r = http.post(format!("http://{}/api/v1/devices", server.addr)).bearer_auth(&token).json(&device).send().await;
    assert!(r.unwrap().status().is_success());
    let mut phone = Peer::connect(server.addr, &token, "phone", document.parse().unwrap(), {
        let mut replica = PlanDocument::genesis(young_person).unwrap();
        replica.set_actor(ActorId::random());
        replica
    })
    .await;
    phone.sync().await;

    // Four writers create actions as fast as the server acknowledges them; SIGTERM after 1.5 s.
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, addr, token) = (http.clone(), server.addr, adviser_token.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let body = serde_json::json!({"title": format!("Action {w}-{i}"), "category": "EMPLOI"});
                let url = format!("http://{addr}/api/v1/young-people/{young_person}/actions");
                match http.post(url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        let created: serde_json::Value = r.json().await.unwrap();
                        acknowledged.push(created["id"].as_str().unwrap().to_owned());
                    }
                    Ok(r) if acknowledged.is_empty() && i == 0 => {
                        panic!("the first write was refused: {} {}", r.status(), r.text().await.unwrap_or_default())
                    }
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
    phone.read_until_closed(Duration::from_secs(15)).await;
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let status = tokio::task::spawn_blocking(move || server.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "the server did not stop by itself: {status}");
    assert_eq!(phone.close_code, Some(1001), "the session was not closed as going away");
    assert!(acknowledged.len() >= 4, "too few writes before SIGTERM: {}", acknowledged.len());
    assert!(fcm.received_count() > 0, "no push went out before SIGTERM");

    // Nothing is left claimed by the stopped workers.
    let (claimed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notifications WHERE claimed_by IS NOT NULL")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(claimed, 0, "pushes left claimed");
    drop(db);

    let mut server = start(&dir);
    let stored = stored_action_ids(&server, &token, young_person).await;
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged action {id} lost");
    }
    eprintln!("{} writes acknowledged before SIGTERM, {} pushes sent", acknowledged.len(), fcm.received_count());
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
