//! Web Push (issue 6): the test plays the browser (its own P-256 key and auth secret), subscribes
//! through the REST API, and a fake RFC 8030 push service on loopback receives what the server
//! sends. The payload is decrypted here with an independent RFC 8291 implementation (p256 ECDH,
//! hkdf, aes-gcm; checked against the RFC's Appendix A example), the VAPID JWT is verified
//! against the server's public key, and each answer of the push service takes its path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use common::{TestApp, TestDb, edit, world};
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::{Value, json};
use server::notifications::push::{Delivery, PushChannel};
use server::notifications::webpush::WebPushChannel;
use server::store::NotificationRow;
use server::{AppState, app};
use sha2::{Digest as _, Sha256};
use sync_core::Author;
use sync_core::edit::NewAction;
use uuid::Uuid;

const SUBJECT: &str = "mailto:equipe-tests@pass-emploi.example";

// ---------------------------------------------------------------------------------------------
// The browser's side of RFC 8291, written independently of the server's (web-push-native).

/// Decrypts an aes128gcm push message body (one record) as a browser does.
fn rfc8291_decrypt(body: &[u8], ua_secret: &p256::SecretKey, auth: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than the header".into());
    }
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    let idlen = usize::from(body[20]);
    if idlen != 65 || body.len() < 21 + idlen {
        return Err(format!("keyid of {idlen} bytes"));
    }
    let as_public_bytes = &body[21..21 + idlen];
    let ciphertext = &body[21 + idlen..];
    if ciphertext.len() > rs {
        return Err("more than one record".into());
    }
    let as_public = p256::PublicKey::from_sec1_bytes(as_public_bytes).map_err(|e| e.to_string())?;
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), as_public.as_affine());
    let ua_public = ua_secret.public_key().to_encoded_point(false);

    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_public.as_bytes());
    key_info.extend_from_slice(as_public_bytes);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes().as_slice())
        .expand(&key_info, &mut ikm)
        .map_err(|e| e.to_string())?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|e| e.to_string())?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
    let mut plain = cipher.decrypt(Nonce::from_slice(&nonce), ciphertext).map_err(|e| e.to_string())?;
    // The last record ends with the delimiter 0x02 and optional zero padding.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    if plain.pop() != Some(2) {
        return Err("no last-record delimiter".into());
    }
    Ok(plain)
}

#[test]
fn rfc8291_appendix_a_example_decrypts() {
    let ua_private = B64.decode("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94").unwrap();
    let ua_secret = p256::SecretKey::from_slice(&ua_private).unwrap();
    assert_eq!(
        B64.encode(ua_secret.public_key().to_encoded_point(false).as_bytes()),
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    );
    let auth = B64.decode("BTBZMqHH6r4Tts7J_aSIgg").unwrap();
    let body = B64
        .decode(concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
            "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
            "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        ))
        .unwrap();
    let plain = rfc8291_decrypt(&body, &ua_secret, &auth).unwrap();
    assert_eq!(plain, b"When I grow up, I want to be a watermelon");
    // A flipped byte is refused (the tag).
    let mut bad = body.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(rfc8291_decrypt(&bad, &ua_secret, &auth).is_err());
}

/// A browser profile: its key pair and auth secret, subscribed at `endpoint`.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
    endpoint: String,
}

impl Browser {
    fn new(endpoint: String) -> Self {
        let mut auth = [0u8; 16];
        aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut OsRng, &mut auth);
        Browser { secret: p256::SecretKey::random(&mut OsRng), auth, endpoint }
    }

    /// `PushSubscription.toJSON()`.
    fn json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": B64.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": B64.encode(self.auth),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The fake push service (RFC 8030): answers by the last path segment's prefix.

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Fake {
    received: Arc<Mutex<Vec<Received>>>,
}

impl Fake {
    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

async fn fake_push(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    fake.received.lock().unwrap().push(Received { path: format!("/push/{id}"), headers, body: body.to_vec() });
    let prefix = id.split('-').next().unwrap_or("");
    match prefix {
        "ok" => (StatusCode::CREATED, [("location", format!("/m/{}", Uuid::new_v4()))]).into_response(),
        "accepted" => StatusCode::ACCEPTED.into_response(),
        "gone404" => StatusCode::NOT_FOUND.into_response(),
        "gone410" => StatusCode::GONE.into_response(),
        "busy" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "7")]).into_response(),
        "down" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "later" => (StatusCode::BAD_GATEWAY, [("retry-after", "30")]).into_response(),
        "big" => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        "bad" => (StatusCode::BAD_REQUEST, r#"{"reason":"BadJwtToken"}"#).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::CREATED.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the fake on 127.0.0.1:0; returns it and its base URL.
async fn start_fake() -> (Fake, String) {
    let fake = Fake::default();
    let router = axum::Router::new().route("/push/{id}", axum::routing::post(fake_push)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (fake, format!("http://{addr}"))
}

// ---------------------------------------------------------------------------------------------
// The app, configured as in tests: the loopback fake is on the allowlist.

async fn app_with_loopback(db: &TestDb) -> TestApp {
    let store = db.open().await;
    let mut config = db.config();
    config.web_push.allowed_hosts.push("127.0.0.1".into());
    config.web_push.subject = SUBJECT.into();
    config.web_push.timeout_secs = 1;
    let state = AppState::new(store.clone(), config).unwrap();
    TestApp { router: app(state.clone()), state, store }
}

async fn subscribe(t: &TestApp, token: &str, browser: &Browser) -> common::Reply {
    t.post("/api/v1/push/subscriptions", token, browser.json()).await
}

/// The young person completes an action: a `web` row for their adviser.
async fn action_completed_row(t: &TestApp, yp: Uuid, adviser: Uuid) -> NotificationRow {
    let author = Author::young_person(yp);
    let now = Utc::now();
    let new = NewAction {
        id: None,
        title: "Déposer ma candidature".into(),
        category: None,
        description: None,
        due_date: None,
        status: None,
        reminder: None,
    };
    let action = edit(t, yp, &author, now, |d, au, n| d.create_action(au, n, new)).await.id;
    edit(t, yp, &author, now, |d, au, n| d.complete_action(au, n, action)).await;
    t.store
        .notifications_of(adviser)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.channel == "web" && n.kind == "action_completed")
        .expect("a web row for the adviser")
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>`: the key is the server's, the ES256 signature
/// verifies with it, `aud` is the push service's origin, `sub` the configured contact, `exp`
/// within 24 hours. Returns the claims.
fn check_vapid(r: &Received, server_key: &str, origin: &str) -> Value {
    let auth = header(r, "authorization");
    let rest = auth.strip_prefix("vapid ").unwrap_or_else(|| panic!("not a vapid header: {auth}"));
    let mut token = "";
    let mut key = "";
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = t;
        } else if let Some(k) = part.strip_prefix("k=") {
            key = k;
        }
    }
    assert_eq!(key, server_key, "k= is the server's VAPID public key");
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let (header_b64, claims_b64) = signing_input.split_once('.').unwrap();
    let jwt_header: Value = serde_json::from_slice(&B64.decode(header_b64).unwrap()).unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(key).unwrap()).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
    verifying.verify(signing_input.as_bytes(), &signature).expect("the JWT verifies with the server's key");
    let claims: Value = serde_json::from_slice(&B64.decode(claims_b64).unwrap()).unwrap();
    assert_eq!(claims["aud"], origin);
    assert_eq!(claims["sub"], SUBJECT);
    let exp = claims["exp"].as_i64().unwrap();
    let now = Utc::now().timestamp();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp} within 24 h of {now}");
    claims
}

fn expected_topic(dedup_key: &str) -> String {
    let mut t = B64.encode(Sha256::digest(dedup_key.as_bytes()));
    t.truncate(32);
    t
}

// ---------------------------------------------------------------------------------------------

async fn a_browser_decrypts_what_the_server_sent(db: &TestDb) {
    let t = app_with_loopback(db).await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let (fake, base) = start_fake().await;

    let key = t.get("/api/v1/push/vapid-public-key", &token).await;
    assert_eq!(key.status, StatusCode::OK, "{:?}", key.body);
    let server_key = key.body["public_key"].as_str().unwrap().to_owned();
    let raw = B64.decode(&server_key).unwrap();
    assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");

    let browser = Browser::new(format!("{base}/push/ok-{}", Uuid::new_v4()));
    let r = subscribe(&t, &token, &browser).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["endpoint"], browser.endpoint.as_str());
    // Posted again on the next visit: refreshed, not doubled.
    let again = subscribe(&t, &token, &browser).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["id"], r.body["id"]);
    assert_eq!(t.store.push_subscriptions_of(w.a).await.unwrap().len(), 1);

    let row = action_completed_row(&t, w.y1, w.a).await;
    let now = Utc::now();
    assert_eq!(t.state.web_push.deliver(t.store.as_ref(), &row, now).await, Delivery::Sent);
    assert_eq!(t.state.web_push.channel(), server::notifications::Channel::Web);

    let got = fake.take();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(header(req, "content-encoding"), "aes128gcm");
    assert_eq!(header(req, "content-type"), "application/octet-stream");
    let ttl: i64 = header(req, "ttl").parse().unwrap();
    let expected_ttl = (row.expires_at - now).num_seconds();
    assert!((expected_ttl - 2..=expected_ttl).contains(&ttl), "TTL {ttl} runs to expires_at ({expected_ttl})");
    assert_eq!(header(req, "urgency"), "low", "a completed action is not urgent");
    assert_eq!(header(req, "topic"), expected_topic(&row.dedup_key));
    assert!(header(req, "topic").len() <= 32);
    check_vapid(req, &server_key, &base);

    let plain = rfc8291_decrypt(&req.body, &browser.secret, &browser.auth).unwrap();
    let message: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(message["id"], row.id.to_string());
    assert_eq!(message["kind"], "action_completed");
    assert_eq!(message["title"], row.title.as_str());
    assert_eq!(message["body"], row.body.as_str());
    assert_eq!(message["data"], serde_json::from_str::<Value>(&row.payload).unwrap());
    // Ids only: not the action's title.
    assert!(!String::from_utf8_lossy(&plain).contains("candidature"), "{}", String::from_utf8_lossy(&plain));
    assert!(!row.title.is_empty() && !row.body.is_empty());

    // A 202 counts as sent too, and one accepted browser is enough.
    let second = Browser::new(format!("{base}/push/accepted-{}", Uuid::new_v4()));
    assert_eq!(subscribe(&t, &token, &second).await.status, StatusCode::CREATED);
    let down = Browser::new(format!("{base}/push/down-{}", Uuid::new_v4()));
    assert_eq!(subscribe(&t, &token, &down).await.status, StatusCode::CREATED);
    assert_eq!(t.state.web_push.deliver(t.store.as_ref(), &row, Utc::now()).await, Delivery::Sent);
    let got = fake.take();
    assert_eq!(got.len(), 3, "each of the adviser's browsers is tried");
    for req in &got {
        // The same row keeps its topic: a retry replaces an undelivered copy.
        assert_eq!(header(req, "topic"), expected_topic(&row.dedup_key));
    }
    let second_req = got.iter().find(|r| r.path.contains("accepted")).unwrap();
    let plain = rfc8291_decrypt(&second_req.body, &second.secret, &second.auth).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap()["id"], row.id.to_string());
    // Nobody else's browser was asked: the other adviser has no subscription.
    let other = t.store.notifications_of(w.b).await.unwrap();
    assert!(other.is_empty());
}

async fn gone_subscriptions_are_deleted(db: &TestDb) {
    let t = app_with_loopback(db).await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let (fake, base) = start_fake().await;
    let row = action_completed_row(&t, w.y1, w.a).await;

    // Nobody subscribed yet.
    assert_eq!(t.state.web_push.deliver(t.store.as_ref(), &row, Utc::now()).await, Delivery::NoTarget);
    assert!(fake.take().is_empty());

    let b404 = Browser::new(format!("{base}/push/gone404-{}", Uuid::new_v4()));
    let b410 = Browser::new(format!("{base}/push/gone410-{}", Uuid::new_v4()));
    for b in [&b404, &b410] {
        assert_eq!(subscribe(&t, &token, b).await.status, StatusCode::CREATED);
    }
    assert_eq!(t.state.web_push.deliver(t.store.as_ref(), &row, Utc::now()).await, Delivery::NoTarget);
    assert_eq!(fake.take().len(), 2);
    assert!(t.store.push_subscriptions_of(w.a).await.unwrap().is_empty(), "404 and 410 delete the subscription");

    // Gone next to a live one: sent, and only the gone one deleted.
    let live = Browser::new(format!("{base}/push/ok-{}", Uuid::new_v4()));
    let dead = Browser::new(format!("{base}/push/gone410-{}", Uuid::new_v4()));
    for b in [&live, &dead] {
        assert_eq!(subscribe(&t, &token, b).await.status, StatusCode::CREATED);
    }
    assert_eq!(t.state.web_push.deliver(t.store.as_ref(), &row, Utc::now()).await, Delivery::Sent);
    let left: Vec<String> = t.store.push_subscriptions_of(w.a).await.unwrap().into_iter().map(|s| s.endpoint).collect();
    assert_eq!(left, vec![live.endpoint.clone()]);

    // An endpoint that the configuration no longer allows is dropped at send time, unsent.
    let mut config = t.state.config.web_push.clone();
    config.allowed_hosts.retain(|h| h != "127.0.0.1");
    let strict = WebPushChannel::new(config);
    fake.take();
    assert_eq!(strict.deliver(t.store.as_ref(), &row, Utc::now()).await, Delivery::NoTarget);
    assert!(fake.take().is_empty());
    assert!(t.store.push_subscriptions_of(w.a).await.unwrap().is_empty());

    // An expired row is never sent.
    let live = Browser::new(format!("{base}/push/ok-{}", Uuid::new_v4()));
    assert_eq!(subscribe(&t, &token, &live).await.status, StatusCode::CREATED);
    let late = row.expires_at + chrono::Duration::seconds(1);
    assert!(matches!(t.state.web_push.deliver(t.store.as_ref(), &row, late).await, Delivery::Failed { .. }));
    assert!(fake.take().is_empty());

    // Stale ones are pruned.
    let pruned = server::notifications::webpush::prune_stale(t.store.as_ref(), Utc::now() + chrono::Duration::days(61))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert!(t.store.push_subscriptions_of(w.a).await.unwrap().is_empty());
}

async fn busy_and_failing_services_are_retried(db: &TestDb) {
    let t = app_with_loopback(db).await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let (fake, base) = start_fake().await;
    let row = action_completed_row(&t, w.y1, w.a).await;

    let only = |prefix: &str| Browser::new(format!("{base}/push/{prefix}-{}", Uuid::new_v4()));
    let (t, token) = (&t, token.as_str());
    let deliver_to = |browser: Browser| {
        let row = row.clone();
        async move {
            for s in t.store.push_subscriptions_of(w.a).await.unwrap() {
                t.store.delete_push_endpoint(&s.endpoint).await.unwrap();
            }
            assert_eq!(subscribe(t, token, &browser).await.status, StatusCode::CREATED);
            t.state.web_push.deliver(t.store.as_ref(), &row, Utc::now()).await
        }
    };

    // 429 with Retry-After: retried after it.
    match deliver_to(only("busy")).await {
        Delivery::Retry { after, reason } => {
            assert_eq!(after, Some(Duration::from_secs(7)));
            assert!(reason.contains("429"), "{reason}");
        }
        other => panic!("429: {other:?}"),
    }
    // 503 without Retry-After, 502 with one.
    assert!(matches!(deliver_to(only("down")).await, Delivery::Retry { after: None, .. }));
    assert!(matches!(
        deliver_to(only("later")).await,
        Delivery::Retry { after: Some(d), .. } if d == Duration::from_secs(30)
    ));
    // No answer within the timeout (1 s here): retried.
    let started = std::time::Instant::now();
    assert!(matches!(deliver_to(only("slow")).await, Delivery::Retry { after: None, .. }));
    assert!(started.elapsed() < Duration::from_secs(4));
    // 413 and 400: never retried (the request itself is wrong).
    match deliver_to(only("big")).await {
        Delivery::Failed { reason } => assert!(reason.contains("413"), "{reason}"),
        other => panic!("413: {other:?}"),
    }
    match deliver_to(only("bad")).await {
        Delivery::Failed { reason } => assert!(reason.contains("BadJwtToken"), "{reason}"),
        other => panic!("400: {other:?}"),
    }
    // Those failures keep the subscription.
    assert_eq!(t.store.push_subscriptions_of(w.a).await.unwrap().len(), 1);
    // A service that does not even listen: retried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gone_host = Browser::new(format!("http://{closed}/push/ok-1"));
    assert!(matches!(deliver_to(gone_host).await, Delivery::Retry { .. }));
    assert!(fake.take().len() >= 6);
}

async fn subscriptions_are_checked(db: &TestDb) {
    let t = app_with_loopback(db).await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let base = "http://127.0.0.1:9";

    // A push service that is not on the allowlist: refused in French, naming the field.
    let foreign = Browser::new("https://push.evil.example/subscription/1".into());
    let r = subscribe(&t, &token, &foreign).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.is_problem());
    assert_eq!(r.problem_fields(), vec!["endpoint"]);
    assert!(r.body["detail"].as_str().unwrap().contains("service de notification non autorisé"), "{:?}", r.body);
    // An allowed host, but not over https; an internal address; another port.
    for endpoint in [
        "http://fcm.googleapis.com/fcm/send/x",
        "https://169.254.169.254/latest/meta-data",
        "https://fcm.googleapis.com:8080/fcm/send/x",
        "http://127.0.0.2:9/push/ok",
        "javascript:alert(1)",
    ] {
        let r = subscribe(&t, &token, &Browser::new(endpoint.into())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{endpoint}: {:?}", r.body);
        assert_eq!(r.problem_fields(), vec!["endpoint"]);
    }
    // A real push service's endpoint is accepted (nothing is sent here).
    let fcm = Browser::new("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b".into());
    assert_eq!(subscribe(&t, &token, &fcm).await.status, StatusCode::CREATED);

    // Key lengths.
    let browser = Browser::new(format!("{base}/push/ok-1"));
    let mut body = browser.json();
    body["keys"]["p256dh"] = json!(B64.encode([4u8; 33]));
    let r = t.post("/api/v1/push/subscriptions", &token, body).await;
    assert_eq!((r.status, r.problem_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["keys.p256dh".to_owned()]));
    let mut body = browser.json();
    body["keys"]["p256dh"] = json!(B64.encode([4u8; 65])); // 65 bytes, but not a point of the curve
    let r = t.post("/api/v1/push/subscriptions", &token, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut body = browser.json();
    body["keys"]["auth"] = json!(B64.encode([1u8; 8]));
    let r = t.post("/api/v1/push/subscriptions", &token, body).await;
    assert_eq!((r.status, r.problem_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["keys.auth".to_owned()]));
    let mut body = browser.json();
    body["keys"].as_object_mut().unwrap().remove("auth");
    let r = t.post("/api/v1/push/subscriptions", &token, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Padded base64url and the standard alphabet are read too.
    let mut body = browser.json();
    let padded = format!("{}=", body["keys"]["p256dh"].as_str().unwrap());
    body["keys"]["p256dh"] = json!(padded);
    assert_eq!(t.post("/api/v1/push/subscriptions", &token, body).await.status, StatusCode::CREATED);

    // Roles: young people have no web push; anonymous callers get a 401.
    let yp_token = t.token("y1@test.fr").await;
    assert_eq!(subscribe(&t, &yp_token, &browser).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/push/vapid-public-key", &yp_token).await.status, StatusCode::FORBIDDEN);
    let anon = t.call(Method::GET, "/api/v1/push/vapid-public-key", None, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let sup_token = t.token("sup@test.fr").await;
    assert_eq!(t.get("/api/v1/push/vapid-public-key", &sup_token).await.status, StatusCode::OK);

    // DELETE forgets the caller's own browser only.
    let b_token = t.token("b@test.fr").await;
    let del = |tok: String, endpoint: String| {
        let t = &t;
        async move {
            t.call(Method::DELETE, "/api/v1/push/subscriptions", Some(&tok), Some(json!({ "endpoint": endpoint })))
                .await
        }
    };
    assert_eq!(del(b_token.clone(), browser.endpoint.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.store.push_subscriptions_of(w.a).await.unwrap().len(), 2, "B cannot remove A's browser");
    assert_eq!(del(token.clone(), browser.endpoint.clone()).await.status, StatusCode::NO_CONTENT);
    let left: Vec<String> = t.store.push_subscriptions_of(w.a).await.unwrap().into_iter().map(|s| s.endpoint).collect();
    assert_eq!(left, vec![fcm.endpoint.clone()]);
    assert_eq!(del(token.clone(), browser.endpoint.clone()).await.status, StatusCode::NO_CONTENT, "idempotent");

    // The same browser, now used by B: it moves to B.
    assert_eq!(subscribe(&t, &b_token, &fcm).await.status, StatusCode::OK);
    assert!(t.store.push_subscriptions_of(w.a).await.unwrap().is_empty());
    assert_eq!(t.store.push_subscriptions_of(w.b).await.unwrap().len(), 1);

    // At most `subscriptions_per_user` browsers each: the least recently seen go.
    for i in 0..12 {
        let b = Browser::new(format!("{base}/push/ok-{i}"));
        assert_eq!(subscribe(&t, &token, &b).await.status, StatusCode::CREATED);
    }
    let kept = t.store.push_subscriptions_of(w.a).await.unwrap();
    assert_eq!(kept.len(), 10);
    assert!(kept.iter().all(|s| s.endpoint != format!("{base}/push/ok-0")));
}

async fn vapid_keys_are_kept(db: &TestDb) {
    // Two instances start at once on an empty database: one pair for both.
    let (s1, s2) = (db.open().await, db.open().await);
    let (c1, c2) = (WebPushChannel::new(db.config().web_push), WebPushChannel::new(db.config().web_push));
    let (k1, k2) = tokio::join!(c1.keys(s1.as_ref()), c2.keys(s2.as_ref()));
    let (k1, k2) = (k1.unwrap(), k2.unwrap());
    assert_eq!(k1.public_key(), k2.public_key());

    let t = db.app().await;
    world(&t).await;
    let token = t.token("a@test.fr").await;
    let first = t.get("/api/v1/push/vapid-public-key", &token).await.body["public_key"].clone();
    assert_eq!(first, k1.public_key());
    // A restart (a new process on the same database) signs with the same key.
    drop(t);
    let t = db.app().await;
    let token = t.token("a@test.fr").await;
    assert_eq!(t.get("/api/v1/push/vapid-public-key", &token).await.body["public_key"], first);
}

/// A clock standing still at one instant (the row's `not_before`, whatever the hour of the run:
/// the adviser's quiet hours would otherwise hold the row until 08:00).
struct At(DateTime<Utc>);

impl server::notifications::delivery::Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

async fn the_delivery_workers_send_web_rows(db: &TestDb) {
    use server::notifications::delivery;
    let t = app_with_loopback(db).await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let (fake, base) = start_fake().await;
    let browser = Browser::new(format!("{base}/push/ok-{}", Uuid::new_v4()));
    assert_eq!(subscribe(&t, &token, &browser).await.status, StatusCode::CREATED);
    let row = action_completed_row(&t, w.y1, w.a).await;
    assert_eq!(row.status, "pending");

    // What `serve` does: the workers get the Web Push channel.
    let mut settings = delivery::Settings::new(&t.state.config.delivery, t.store.backend());
    settings.poll = Duration::from_millis(50);
    let channels: Vec<Arc<dyn PushChannel>> = vec![t.state.web_push.clone()];
    let clock = Arc::new(At(row.not_before + chrono::Duration::seconds(1)));
    let running = delivery::start(t.store.clone(), channels, settings, clock);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let state = loop {
        let state = t.store.notification_delivery(row.id).await.unwrap().unwrap();
        if state.status != "pending" || std::time::Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.stop().await;
    assert_eq!(state.status, "sent", "{state:?}");
    let got = fake.take();
    assert_eq!(got.len(), 1, "sent once");
    let plain = rfc8291_decrypt(&got[0].body, &browser.secret, &browser.auth).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap()["id"], row.id.to_string());
}

on_both_backends!(
    a_browser_decrypts_what_the_server_sent,
    gone_subscriptions_are_deleted,
    busy_and_failing_services_are_retried,
    subscriptions_are_checked,
    vapid_keys_are_kept,
    the_delivery_workers_send_web_rows,
);
