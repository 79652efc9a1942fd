//! Hardening at the edges (issue 10, items 4, 7 and part of 11): a bounded `/metrics` behind its
//! token, the security headers, device tokens capped per user, a `DATABASE_URL` password never
//! printed, `POST /young-people` telling nothing about accounts out of reach, and the listener's
//! timeouts, connection cap and accept loop, against a real server on a loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::sync_client::Peer;
use common::{Backend, TestApp, TestDb, world};
use serde_json::json;
use server::listener::{self, Accept, Limits};
use sync_core::PlanDocument;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn sqlite() -> TestDb {
    TestDb::new(Backend::Sqlite).await.unwrap()
}

// --- item 4: /metrics ---

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let db = sqlite().await;
    let t = db.app().await;
    for i in 0..50 {
        let method = Method::from_bytes(format!("INVENTED{i}{}", "X".repeat(200)).as_bytes()).unwrap();
        t.raw(method.clone(), "/health", None, "application/json", Vec::new()).await;
        t.raw(method, &format!("/nowhere-{i}"), None, "application/json", Vec::new()).await;
        t.raw(Method::GET, &format!("/nowhere-{i}"), None, "application/json", Vec::new()).await;
    }
    let scrape = t.raw(Method::GET, "/metrics", None, "application/json", Vec::new()).await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = scrape.body.as_str().unwrap();
    assert!(!text.contains("INVENTED"), "a method name became a label");
    assert!(!text.contains("nowhere"), "a raw path became a label");
    assert!(text.contains(r#"method="other",route="/health""#), "{text}");
    assert!(text.contains(r#"method="other",route="unmatched""#), "{text}");
    let series = text.lines().filter(|l| l.starts_with("http_requests_total{")).count();
    assert!(series <= 4, "{series} series for 3 kinds of requests:\n{text}");
    db.cleanup().await;
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let db = sqlite().await;
    let open = db.app().await;
    assert_eq!(open.raw(Method::GET, "/metrics", None, "", Vec::new()).await.status, StatusCode::OK);

    let t = db.app_with(|c| c.metrics_token = Some("jeton-de-supervision".into())).await;
    let anonymous = t.raw(Method::GET, "/metrics", None, "", Vec::new()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.is_problem());
    assert_eq!(anonymous.body["detail"], "authentification requise");
    assert_eq!(t.raw(Method::GET, "/metrics", Some("jeton-de-supervisio"), "", Vec::new()).await.status, 401);
    assert_eq!(t.raw(Method::GET, "/metrics", Some("jeton-de-supervision!"), "", Vec::new()).await.status, 401);
    let scrape = t.raw(Method::GET, "/metrics", Some("jeton-de-supervision"), "", Vec::new()).await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(scrape.body.as_str().unwrap().contains("plan_cache_bytes"));
    // Everything else is unchanged.
    assert_eq!(t.raw(Method::GET, "/health", None, "", Vec::new()).await.status, StatusCode::OK);
    db.cleanup().await;
}

// --- item 11 (d): security headers ---

#[tokio::test]
async fn every_answer_is_nosniff_and_not_stored() {
    let db = sqlite().await;
    let t = db.app().await;
    world(&t).await;
    let a = t.token("a@test.fr").await;
    let answers = [
        t.get("/api/v1/me", &a).await,
        t.get("/api/v1/young-people", &a).await,
        t.get("/api/v1/me", "not-a-token").await,
        t.get("/api/v1/nothing-here", &a).await,
        t.login("a@test.fr", common::PASSWORD).await,
        t.raw(Method::GET, "/health", None, "", Vec::new()).await,
    ];
    for (i, r) in answers.iter().enumerate() {
        assert_eq!(r.headers.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "#{i}");
        assert_eq!(r.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "#{i}");
    }
    db.cleanup().await;
}

// --- item 11 (a): device tokens per user ---

async fn device_tokens_are_capped(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y1 = t.token("y1@test.fr").await;
    let register = |token: String| {
        let t = &t;
        let y1 = &y1;
        async move {
            // Distinct milliseconds: "least recently seen" is then well defined.
            tokio::time::sleep(Duration::from_millis(3)).await;
            t.post("/api/v1/devices", y1, json!({"platform": "android", "token": token})).await.status
        }
    };
    for i in 0..10 {
        assert_eq!(register(format!("jeton-{i}")).await, StatusCode::CREATED);
    }
    // The phone of jeton-0 starts again: it is now the most recently seen.
    assert_eq!(register("jeton-0".into()).await, StatusCode::OK);
    // An eleventh replaces the least recently seen (jeton-1), and is kept itself.
    assert_eq!(register("jeton-10".into()).await, StatusCode::CREATED);
    let tokens: Vec<String> = t.store.device_tokens_of(w.y1).await.unwrap().into_iter().map(|d| d.token).collect();
    assert_eq!(tokens.len(), 10, "{tokens:?}");
    assert!(tokens.contains(&"jeton-0".to_owned()) && tokens.contains(&"jeton-10".to_owned()), "{tokens:?}");
    assert!(!tokens.contains(&"jeton-1".to_owned()), "{tokens:?}");
    // 300 registrations later the account still holds 10, and re-registering still works.
    for i in 0..40 {
        assert_eq!(register(format!("jeton-en-masse-{i}-{}", "x".repeat(1000))).await, StatusCode::CREATED);
    }
    assert_eq!(register("jeton-1".into()).await, StatusCode::CREATED);
    assert_eq!(t.store.device_tokens_of(w.y1).await.unwrap().len(), 10);
    // Another account is not affected.
    let y2 = t.token("y2@test.fr").await;
    let r = t.post("/api/v1/devices", &y2, json!({"platform": "ios", "token": "jeton-y2"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(t.store.device_tokens_of(w.y2).await.unwrap().len(), 1);
}

// --- item 11 (c): creating a young person tells nothing of accounts out of reach ---

async fn taken_emails_out_of_reach_read_the_same(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let a = t.token("a@test.fr").await;
    let sup = t.token("sup@test.fr").await;
    let create = |token: &str, email: &str| {
        let body = json!({"first_name": "Camille", "last_name": "Martin", "email": email});
        let token = token.to_owned();
        let t = &t;
        async move { t.post("/api/v1/young-people", &token, body).await }
    };
    // A's own young person: a 409, as before.
    let own = create(&a, "Y1@test.fr").await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{:?}", own.body);
    assert!(own.is_problem());
    // The supervisor sees every young person of the structure: a 409 too.
    assert_eq!(create(&sup, "y2@test.fr").await.status, StatusCode::CONFLICT);
    // Out of A's reach: B's young person, staff of this structure and of another, an admin.
    let mut answers = Vec::new();
    for email in ["y2@test.fr", "b@test.fr", "sup@test.fr", "sup2@test.fr", "admin@test.fr"] {
        let r = create(&a, email).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}: {:?}", r.body);
        assert!(r.is_problem());
        assert_eq!(r.problem_fields(), ["email"]);
        assert_eq!(r.problem_codes(), ["unavailable"]);
        answers.push(r.body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert!(answers[0]["detail"].as_str().unwrap().contains("ne peut pas être utilisée"));
    // A fresh address is created as ever.
    assert_eq!(create(&a, "nouvelle@test.fr").await.status, StatusCode::CREATED);
}

on_both_backends!(device_tokens_are_capped, taken_emails_out_of_reach_read_the_same);

// --- item 11 (b): the database password never printed ---

#[test]
fn the_database_password_is_redacted_everywhere() {
    use server::config::{Config, redact_url};
    for (url, shown) in [
        ("postgres://app@db/pe?password=hunter2", "postgres://app@db/pe?password=***"),
        ("postgres://app@db/pe?sslmode=require&password=hunter2", "postgres://app@db/pe?sslmode=require&password=***"),
        ("postgres://app@db/pe?sslpassword=hunter2&x=1", "postgres://app@db/pe?sslpassword=***&x=1"),
        ("postgres://app:hunter2@db:5432/pe", "postgres://app:***@db:5432/pe"),
        ("postgres://app:hun?ter2@db/pe", "postgres://app:***@db/pe"),
        ("postgres://app:hunter2@db/pe?password=hunter2", "postgres://app:***@db/pe?password=***"),
        ("postgres://db/pe", "postgres://db/pe"),
    ] {
        assert_eq!(redact_url(url), shown);
        let mut config = Config::for_tests("d".into(), Some(url.into()));
        config.metrics_token = Some("hunter2-metrics".into());
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("ter2"), "{printed}");
    }
}

#[test]
fn the_start_up_log_hides_the_database_password() {
    // A PostgreSQL that refuses the connection: the binary logs its configuration, fails, and
    // says what it was opening.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pass-emploi-server"))
        .arg("migrate")
        .env("DATABASE_URL", "postgres://app@127.0.0.1:1/pe?password=hunter2&sslmode=disable")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success());
    assert!(printed.contains("password=***"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}

// --- item 7: the listener ---

/// A real server on a loopback port, with `limits`.
async fn listen(db: &TestDb, limits: Limits) -> (SocketAddr, TestApp) {
    let t = db.app().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = t.router.clone();
    tokio::spawn(listener::serve(listener, router, limits, std::future::pending()));
    (addr, t)
}

fn limits(header_ms: u64, body_ms: u64, max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header_ms),
        body_timeout: Duration::from_millis(body_ms),
        max_connections,
    }
}

/// Reads until the server closes the connection: what it sent, or `None` if still open after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(wait, read).await.ok().map(|()| received)
}

/// Sends `GET /health` on a keep-alive connection and reads its whole answer; `None` if no answer
/// came within `wait`.
async fn health(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return Some(text);
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}

#[tokio::test]
async fn half_a_header_is_closed_after_the_header_timeout() {
    let db = sqlite().await;
    let (addr, _t) = listen(&db, limits(300, 10_000, 16)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ").await.unwrap();
    let closed = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the slow client still holds its connection");
    assert!(start.elapsed() >= Duration::from_millis(250), "closed before the timeout: {:?}", start.elapsed());
    // The server still serves everyone else.
    let mut client = TcpStream::connect(addr).await.unwrap();
    assert!(health(&mut client, Duration::from_secs(5)).await.unwrap().starts_with("HTTP/1.1 200"));
    db.cleanup().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let db = sqlite().await;
    let (addr, _t) = listen(&db, limits(300, 10_000, 16)).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let answer = health(&mut client, Duration::from_secs(5)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let rest = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert_eq!(rest, Some(Vec::new()), "the idle connection stayed open");
    db.cleanup().await;
}

#[tokio::test]
async fn an_unfinished_body_is_answered_408() {
    let db = sqlite().await;
    let (addr, _t) = listen(&db, limits(10_000, 300, 16)).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    client
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\": \"a@",
        )
        .await
        .unwrap();
    // One more byte now and then: a trickle does not push the deadline back.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = client.write_all(b"x").await;
    }
    let answer = read_until_closed(&mut client, Duration::from_secs(5)).await.expect("the request is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("pas arrivé à temps"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(3));
    db.cleanup().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_place() {
    let db = sqlite().await;
    let (addr, _t) = listen(&db, limits(10_000, 10_000, 2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        assert!(health(&mut c, Duration::from_secs(5)).await.is_some());
        held.push(c);
    }
    // The third is queued by the kernel, not served.
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert!(health(&mut third, Duration::from_millis(700)).await.is_none(), "served beyond the cap");
    // One of the two leaves: the third gets its answer.
    drop(held.remove(0));
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            let n = third.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read).await.expect("still waiting after a place was freed");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    db.cleanup().await;
}

#[tokio::test]
async fn websocket_sessions_work_and_count_among_the_connections() {
    let db = sqlite().await;
    let (addr, t) = listen(&db, limits(300, 10_000, 1)).await;
    let w = world(&t).await;
    let token = t.token("y1@test.fr").await;
    let doc = t.store.document_of(w.y1).await.unwrap().unwrap().parse().unwrap();
    let peer = Peer::connect(addr, &token, "phone-edges", doc, PlanDocument::genesis(w.y1).unwrap()).await;
    // The session outlives the header timeout (it is no longer HTTP) and holds the only place.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut other = TcpStream::connect(addr).await.unwrap();
    assert!(health(&mut other, Duration::from_millis(500)).await.is_none(), "served beyond the cap");
    drop(peer);
    let mut again = TcpStream::connect(addr).await.unwrap();
    drop(other);
    assert!(health(&mut again, Duration::from_secs(5)).await.is_some(), "the session's place was not given back");
    db.cleanup().await;
}

/// A listener whose first accepts fail as a process out of file descriptors does.
struct Exhausted {
    failures: usize,
    inner: TcpListener,
}

impl Accept for Exhausted {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(io::Error::from_raw_os_error(24)); // EMFILE
        }
        self.inner.accept().await
    }
}

#[tokio::test]
async fn descriptor_exhaustion_pauses_the_loop_and_it_goes_on() {
    let db = sqlite().await;
    let t = db.app().await;
    let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = inner.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(listener::serve(
        Exhausted { failures: 5, inner },
        t.router.clone(),
        limits(1_000, 1_000, 4),
        async {
            let _ = stopped.await;
        },
    ));
    let start = Instant::now();
    let mut client = TcpStream::connect(addr).await.unwrap();
    assert!(health(&mut client, Duration::from_secs(5)).await.is_some());
    let waited = start.elapsed();
    // Paused between retries (5 × 100 ms), but not for long.
    assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(3), "{waited:?}");
    // Shutting down: the loop stops accepting and returns once the open connection is closed.
    stop.send(()).unwrap();
    drop(client);
    tokio::time::timeout(Duration::from_secs(5), serving).await.expect("serve did not return").unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
    db.cleanup().await;
}
