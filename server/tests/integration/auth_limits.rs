//! The credential endpoints under attack (issue 10, item 5): per-account lockout and per-address
//! limits (429 with `Retry-After`, the same for an unknown email), the activation code checked
//! before any argon2 work, and the bounded argon2 queue (503 with `Retry-After`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::{PASSWORD, Reply, TestApp, TestDb, world};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::AppState;
use server::auth::throttle::{Clock, Throttle};
use tower::ServiceExt;

/// A clock the test moves by hand.
struct ManualClock(Mutex<Instant>);

impl ManualClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

/// The app of `t` with its throttle on a manual clock.
fn with_manual_clock(t: TestApp) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
    let mut state = t.state.clone();
    state.throttle = Arc::new(Throttle::with_clock(state.config.auth_limits, clock.clone()));
    (TestApp { router: server::app(state.clone()), state, store: t.store }, clock)
}

/// A POST as the TCP peer `from` (what `into_make_service_with_connect_info` gives the handlers).
async fn post_from(t: &TestApp, from: &str, path: &str, body: Value) -> Reply {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

fn retry_after(r: &Reply) -> u64 {
    r.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap()
}

async fn wrong_passwords_lock_the_account_even_for_the_right_one(db: &TestDb) {
    let (t, clock) = with_manual_clock(db.app().await);
    world(&t).await;
    for i in 0..5 {
        let r = t.login("a@test.fr", "pas le bon mot de passe").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Locked: the right password too, and the email in another case.
    let locked = t.login("a@test.fr", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", locked.body);
    assert!(locked.is_problem());
    assert_eq!(locked.body["type"], "/problems/too-many-attempts");
    assert_eq!(locked.body["title"], "Trop de tentatives");
    assert_eq!(retry_after(&locked), 30);
    assert_eq!(t.login(" A@Test.FR", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);

    // An unknown email is throttled the same way, with the same answer.
    for _ in 0..5 {
        assert_eq!(t.login("personne@test.fr", "pas le bon mot de passe").await.status, StatusCode::UNAUTHORIZED);
    }
    let unknown = t.login("personne@test.fr", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(unknown.body, locked.body, "same body for an unknown email");
    assert_eq!(unknown.headers.get("retry-after"), locked.headers.get("retry-after"));
    assert_eq!(unknown.headers.get("content-type"), locked.headers.get("content-type"));

    // Once the lockout is over the right password works and forgets the failures…
    clock.advance(Duration::from_secs(31));
    assert_eq!(t.login("a@test.fr", PASSWORD).await.status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(t.login("a@test.fr", "pas le bon mot de passe").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(t.login("a@test.fr", PASSWORD).await.status, StatusCode::OK);
    // …while one more failure after a lockout locks again, twice as long.
    assert_eq!(t.login("personne@test.fr", "encore faux!").await.status, StatusCode::UNAUTHORIZED);
    let again = t.login("personne@test.fr", PASSWORD).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&again), 60);
}

async fn one_address_gets_a_bounded_number_of_attempts(db: &TestDb) {
    let (t, clock) = with_manual_clock(db.app().await);
    world(&t).await;
    let login = |email: String| json!({"email": email, "password": "pas le bon mot de passe"});
    // 30 attempts a minute from one address, on as many emails as it likes…
    for i in 0..30 {
        let r = post_from(&t, "198.51.100.7:40000", "/api/v1/auth/login", login(format!("n{i}@test.fr"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let refused = post_from(&t, "198.51.100.7:40001", "/api/v1/auth/login", login("a@test.fr".into())).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["type"], "/problems/too-many-attempts");
    assert_eq!(retry_after(&refused), 2);
    // …the activation shares the budget…
    let act = |i: usize| json!({"activation_code": format!("AAAA-BBBB-{i:04}"), "password": "un-mot-de-passe"});
    assert_eq!(
        post_from(&t, "198.51.100.7:1", "/api/v1/auth/activate", act(0)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …another address is not concerned, nor is the account…
    let right = json!({"email": "a@test.fr", "password": PASSWORD});
    assert_eq!(post_from(&t, "203.0.113.9:5000", "/api/v1/auth/login", right.clone()).await.status, StatusCode::OK);
    // …and the budget refills: one attempt every two seconds.
    clock.advance(Duration::from_secs(2));
    assert_eq!(post_from(&t, "198.51.100.7:40002", "/api/v1/auth/login", right).await.status, StatusCode::OK);
    // One IPv6 /64 is one address.
    for i in 0..30 {
        let from = format!("[2001:db8:1:2::{i:x}]:443");
        assert_eq!(
            post_from(&t, &from, "/api/v1/auth/activate", act(i)).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let v6 = post_from(&t, "[2001:db8:1:2:ffff::1]:443", "/api/v1/auth/activate", act(99)).await;
    assert_eq!(v6.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn failed_refreshes_are_throttled(db: &TestDb) {
    let (t, _clock) = with_manual_clock(db.app().await);
    world(&t).await;
    let pair = t.login("a@test.fr", PASSWORD).await;
    let refresh = pair.body["refresh_token"].as_str().unwrap().to_owned();
    // Good refreshes do not count against the address.
    let mut token = refresh;
    for _ in 0..40 {
        let r = post_from(&t, "198.51.100.8:1", "/api/v1/auth/refresh", json!({"refresh_token": token})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        token = r.body["refresh_token"].as_str().unwrap().to_owned();
    }
    // Invented ones do.
    for i in 0..30 {
        let r = post_from(&t, "198.51.100.8:1", "/api/v1/auth/refresh", json!({"refresh_token": format!("faux-{i}")}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = post_from(&t, "198.51.100.8:1", "/api/v1/auth/refresh", json!({"refresh_token": token})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
}

/// An app over the store of `t` whose argon2 queue never gives a permit.
async fn without_argon2_permits(db: &TestDb, t: &TestApp) -> TestApp {
    let mut config = db.config();
    config.argon2.max_concurrent = Some(0);
    config.argon2.queue_timeout_ms = 50;
    let state = AppState::new(t.store.clone(), config).unwrap();
    TestApp { router: server::app(state.clone()), state, store: t.store.clone() }
}

async fn a_wrong_activation_code_costs_no_argon2_work(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let a = t.token("a@test.fr").await;
    let created = t
        .post(
            "/api/v1/young-people",
            &a,
            json!({"first_name": "Inès", "last_name": "Benali", "email": "ines@exemple.fr"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let code = created.body["activation_code"].as_str().unwrap().to_owned();
    let busy = without_argon2_permits(db, &t).await;
    // No permit ever: a wrong code is answered without waiting for one (it is never hashed)…
    let wrong = busy
        .call(
            Method::POST,
            "/api/v1/auth/activate",
            None,
            Some(json!({"activation_code": "ZZZZ-ZZZZ-ZZZZ", "password": "un-mot-de-passe"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", wrong.body);
    assert_eq!(wrong.body["type"], "/problems/invalid-activation-code");
    // …while the right code needs the hash: 503, and the code is not spent.
    let body = json!({"activation_code": code, "password": "un-mot-de-passe"});
    let r = busy.call(Method::POST, "/api/v1/auth/activate", None, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.body["type"], "/problems/busy");
    let ok = t.call(Method::POST, "/api/v1/auth/activate", None, Some(body)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
}

async fn a_full_argon2_queue_answers_503_with_retry_after(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let busy = without_argon2_permits(db, &t).await;
    for email in ["a@test.fr", "personne@test.fr"] {
        let r = busy.login(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
        assert!(r.is_problem());
        assert_eq!(r.body["type"], "/problems/busy");
        assert_eq!(r.body["title"], "Service momentanément surchargé");
        assert!(r.body["detail"].as_str().unwrap().contains("réessayez"));
        assert_eq!(retry_after(&r), 1);
    }
    // A busy answer is not a failure: ten of them do not lock the account.
    for _ in 0..10 {
        assert_eq!(busy.login("a@test.fr", PASSWORD).await.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut state = t.state.clone();
    state.throttle = busy.state.throttle.clone();
    let shared = TestApp { router: server::app(state.clone()), state, store: t.store.clone() };
    assert_eq!(shared.login("a@test.fr", PASSWORD).await.status, StatusCode::OK);
}

on_both_backends!(
    wrong_passwords_lock_the_account_even_for_the_right_one,
    one_address_gets_a_bounded_number_of_attempts,
    failed_refreshes_are_throttled,
    a_wrong_activation_code_costs_no_argon2_work,
    a_full_argon2_queue_answers_503_with_retry_after,
);
