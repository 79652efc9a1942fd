//! The sync gateway end to end: real sockets, real protocol frames, both databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use automerge::ActorId;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use common::sync_client::{Peer, serve};
use common::{TestApp, TestDb, World, world};
use serde_json::json;
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::model::ActionStatus;
use sync_core::node::Node;
use sync_core::protocol::Frame;
use sync_core::schema::Collection;
use sync_core::{Author, DocumentId, PlanDocument, Target};
use uuid::Uuid;

const LIVE: Duration = Duration::from_secs(3);

async fn document_of(t: &TestApp, young_person: Uuid) -> DocumentId {
    t.store.document_of(young_person).await.unwrap().unwrap().parse().unwrap()
}

/// A phone of `young_person`: an empty replica (the same genesis) with an actor of its own.
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
    addr: std::net::SocketAddr,
    y1_doc: DocumentId,
    y1_token: String,
    a_token: String,
}

async fn setup(db: &TestDb) -> Setup {
    let t = db.app().await;
    let w = world(&t).await;
    let addr = serve(t.state.clone()).await;
    let y1_doc = document_of(&t, w.y1).await;
    let y1_token = t.token("y1@test.fr").await;
    let a_token = t.token("a@test.fr").await;
    Setup { t, w, addr, y1_doc, y1_token, a_token }
}

async fn phone_syncs_and_its_edits_reach_the_adviser(db: &TestDb) {
    let s = setup(db).await;
    let mut phone = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.sync().await;
    let yp = Author::young_person(s.w.y1);
    let created = phone.doc.create_action(&yp, Utc::now(), new_action("Préparer mon CV")).unwrap().id;
    phone.sync().await;
    let plan = s.t.get(&format!("/api/v1/young-people/{}/plan", s.w.y1), &s.a_token).await;
    assert_eq!(plan.status, StatusCode::OK);
    assert_eq!(plan.body["actions"][0]["id"], json!(created.to_string()));
    assert_eq!(plan.body["actions"][0]["title"], json!("Préparer mon CV"));

    // The projection and the event are stored, once, even when the same sync is replayed.
    let mut replay = Peer::connect(s.addr, &s.y1_token, "phone-replay", s.y1_doc, phone.doc.fork()).await;
    replay.sync().await;
    let events = s.t.store.events(s.w.y1).await.unwrap();
    let created_events = events.iter().filter(|e| e.dedup_key == format!("action_created:{created}")).count();
    assert_eq!(created_events, 1);
    assert_eq!(s.t.store.projections(s.w.y1).await.unwrap().actions.len(), 1);
}

async fn an_adviser_edit_over_rest_reaches_the_phone_live(db: &TestDb) {
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let mut phone = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let id = phone.doc.create_action(&yp, Utc::now(), new_action("Chercher un stage")).unwrap().id;
    phone.sync().await;
    let path = format!("/api/v1/young-people/{}/actions/{id}", s.w.y1);
    let r =
        s.t.call(Method::PATCH, &path, Some(&s.a_token), Some(json!({"title": "Chercher un stage en boulangerie"})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let arrived = phone
        .wait_until(LIVE, |p| p.doc.plan().action(id).is_some_and(|a| a.title == "Chercher un stage en boulangerie"))
        .await;
    assert!(arrived, "the adviser's edit did not arrive live");
}

async fn a_refused_edit_is_undone_and_the_author_told(db: &TestDb) {
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let mut phone = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let id = phone.doc.create_action(&yp, Utc::now(), new_action("Atelier CV")).unwrap().id;
    phone.doc.complete_action(&yp, Utc::now(), id).unwrap();
    phone.sync().await;
    // A modified app writes a qualification itself (only advisers qualify).
    let qualification = Node::map()
        .with("code", Node::from("EMPLOI"))
        .with("hours", Node::Int(3))
        .with("by", Author::young_person(s.w.y1).person().to_node())
        .with("at", Node::from("2026-03-02T10:00:00.000Z"));
    let target = Target::Field { collection: Collection::Actions, id: id.to_string(), field: "qualification".into() };
    phone.doc.write_target(&target, Some(&qualification)).unwrap();
    phone.doc.commit("forged", Utc::now());
    assert!(phone.doc.plan().action(id).unwrap().qualification.is_some());
    phone.sync().await;
    let undone = phone.wait_until(LIVE, |p| p.doc.plan().action(id).is_some_and(|a| a.qualification.is_none())).await;
    assert!(undone, "the forged qualification was not undone");
    assert!(!phone.ephemeral.is_empty(), "no notice was sent");
    let notices = phone.doc.plan().notices;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].for_user, s.w.y1);
    // The allowed part (creation, completion) is kept.
    assert_eq!(phone.doc.plan().action(id).unwrap().status, ActionStatus::Done);
}

async fn plans_the_peer_may_not_read_are_unavailable(db: &TestDb) {
    let s = setup(db).await;
    let y2_doc = document_of(&s.t, s.w.y2).await;
    let unknown = DocumentId::new_random();
    let mut phone = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.request(y2_doc).await;
    phone.request(unknown).await;
    assert!(phone.wait_until(LIVE, |p| p.unavailable.len() == 2).await);
    assert_eq!(phone.unavailable, vec![y2_doc, unknown]);

    // Adviser B does not follow Y1: same answer, and nothing of Y1's plan arrives.
    let b_token = s.t.token("b@test.fr").await;
    let mut b = Peer::connect(s.addr, &b_token, "b-browser", s.y1_doc, phone_replica(s.w.y1)).await;
    b.sync().await;
    assert_eq!(b.unavailable, vec![s.y1_doc]);
    // An admin neither.
    let admin_token = s.t.token("admin@test.fr").await;
    let mut admin = Peer::connect(s.addr, &admin_token, "admin", s.y1_doc, phone_replica(s.w.y1)).await;
    admin.sync().await;
    assert_eq!(admin.unavailable, vec![s.y1_doc]);
}

async fn a_transfer_takes_effect_on_open_sessions(db: &TestDb) {
    let s = setup(db).await;
    let mut adviser = Peer::connect(s.addr, &s.a_token, "a-browser", s.y1_doc, phone_replica(s.w.y1)).await;
    adviser.sync().await;
    assert!(adviser.unavailable.is_empty());
    let sup_token = s.t.token("sup@test.fr").await;
    let r =
        s.t.post(
            "/api/v1/transfers",
            &sup_token,
            json!({"young_person_ids": [s.w.y1], "to_adviser_id": s.w.b, "kind": "definitive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(adviser.wait_until(LIVE, |p| p.unavailable == vec![p.document_id]).await, "still subscribed");
}

async fn ephemeral_messages_reach_only_readers(db: &TestDb) {
    let s = setup(db).await;
    let mut phone1 = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    let mut adviser = Peer::connect(s.addr, &s.a_token, "a-browser", s.y1_doc, phone_replica(s.w.y1)).await;
    phone1.sync().await;
    adviser.sync().await;
    let frame = Frame::Ephemeral {
        sender_id: "phone-1".into(),
        target_id: phone1.server_id.clone(),
        document_id: s.y1_doc,
        session_id: "s1".into(),
        count: 1,
        data: vec![0xa1, 0x61, 0x78, 0x01],
    };
    phone1.send_frame(&frame).await;
    assert!(adviser.wait_until(LIVE, |p| !p.ephemeral.is_empty()).await);
    assert_eq!(adviser.ephemeral[0], vec![0xa1, 0x61, 0x78, 0x01]);
}

/// One HTTP sync request of the young person's phone: the body (a sync message, or nothing) in,
/// the status and the answer out.
async fn http_sync(s: &Setup, peer: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    http_sync_as(&s.t, s.y1_doc, &s.y1_token, peer, body).await
}

pub(crate) async fn http_sync_as(
    t: &TestApp,
    doc: DocumentId,
    token: &str,
    peer: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let req = axum::http::Request::post(format!("/api/v1/sync/{doc}"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-peer-id", peer)
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(t.router.clone(), req).await.unwrap();
    let status = resp.status();
    (status, http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes().to_vec())
}

/// Sends `doc`'s changes since genesis in one sync message; the status of the answer.
async fn push_changes(t: &TestApp, plan: DocumentId, token: &str, doc: &mut PlanDocument) -> StatusCode {
    let changes: Vec<Vec<u8>> = doc.automerge_mut().get_changes(&[]).iter().map(|c| c.raw_bytes().to_vec()).collect();
    http_sync_as(t, plan, token, "reserved", crafted_message(None, &changes)).await.0
}

/// Nobody signs with a plan's genesis actor (the young person's id), nor with the actor of a
/// server process, even one that is gone: before, the first user to use either took it.
async fn reserved_actors_may_not_sign(db: &TestDb) {
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let genesis_actor = ActorId::from(s.w.y1.as_bytes().as_slice());
    for (token, author) in [(&s.a_token, Author::adviser(s.w.a)), (&s.y1_token, yp.clone())] {
        let mut doc = PlanDocument::genesis(s.w.y1).unwrap();
        doc.set_actor(genesis_actor.clone());
        doc.create_action(&author, Utc::now(), new_action("Signée par la création du plan")).unwrap();
        assert_eq!(push_changes(&s.t, s.y1_doc, token, &mut doc).await, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // This instance syncs once (its actor is reserved then); a second instance refuses the actor.
    http_sync_until_done(&s, "phone", &mut phone_replica(s.w.y1)).await;
    let server_actor = s.t.state.documents.server_actor().clone();
    let two = db.app().await;
    let mut doc = PlanDocument::genesis(s.w.y1).unwrap();
    doc.set_actor(server_actor);
    doc.create_action(&yp, Utc::now(), new_action("Signée par le serveur")).unwrap();
    assert_eq!(push_changes(&two, s.y1_doc, &s.y1_token, &mut doc).await, StatusCode::UNPROCESSABLE_ENTITY);
    // An actor of the phone's own is still bound on first sight.
    let mut phone = phone_replica(s.w.y1);
    phone.create_action(&yp, Utc::now(), new_action("Signée par le téléphone")).unwrap();
    assert_eq!(push_changes(&two, s.y1_doc, &s.y1_token, &mut phone).await, StatusCode::OK);
}

/// Syncs `doc` with the server over HTTP until neither side has anything to say.
async fn http_sync_until_done(s: &Setup, peer: &str, doc: &mut PlanDocument) {
    use automerge::sync::{self, SyncDoc};
    let mut state = sync::State::new();
    for _ in 0..20 {
        let body = doc.automerge_mut().sync().generate_sync_message(&mut state).map(|m| m.encode());
        let (status, bytes) = http_sync(s, peer, body.clone().unwrap_or_default()).await;
        if status == StatusCode::NO_CONTENT {
            if body.is_none() {
                return;
            }
            continue;
        }
        assert_eq!(status, StatusCode::OK);
        let message = sync::Message::decode(&bytes).unwrap();
        doc.automerge_mut().sync().receive_sync_message(&mut state, message).unwrap();
    }
    panic!("never in sync");
}

async fn the_http_fallback_syncs_with_the_same_engine(db: &TestDb) {
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let mut doc = phone_replica(s.w.y1);
    let id = doc.create_action(&yp, Utc::now(), new_action("Envoyer ma candidature")).unwrap().id;
    let path = format!("/api/v1/sync/{}", s.y1_doc);
    http_sync_until_done(&s, "phone-background", &mut doc).await;
    let plan = s.t.get(&format!("/api/v1/young-people/{}/plan", s.w.y1), &s.a_token).await;
    assert_eq!(plan.body["actions"][0]["id"], json!(id.to_string()));

    // No peer id: 400. Another young person's plan: 404, as if it did not exist.
    let r = s.t.raw(Method::POST, &path, Some(&s.y1_token), "application/octet-stream", vec![0x42]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let y2_path = format!("/api/v1/sync/{}", document_of(&s.t, s.w.y2).await);
    let r = s.t.raw(Method::POST, &y2_path, Some(&s.y1_token), "application/octet-stream", vec![0x42]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r =
        s.t.raw(Method::POST, "/api/v1/sync/not-a-document", Some(&s.y1_token), "application/octet-stream", vec![])
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            return out.push(byte);
        }
        out.push(byte | 0x80);
    }
}

/// A V1 sync message: no heads or needs, one `have` with `bloom` (or none), then `changes`.
fn crafted_message(bloom: Option<&[u8]>, changes: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![0x42, 0, 0];
    match bloom {
        Some(bloom) => {
            m.extend([1, 0]);
            leb(&mut m, bloom.len() as u64);
            m.extend(bloom);
        }
        None => m.push(0),
    }
    leb(&mut m, changes.len() as u64);
    for change in changes {
        leb(&mut m, change.len() as u64);
        m.extend(change);
    }
    m
}

/// The attacks of issue 10 through HTTP sync, by the young person on their own plan: a 15-byte
/// message whose Bloom filter asks for 2^32 − 1 probes (it aborted the process), one with zero
/// bits per entry (a panic that poisoned the peer's state), a compressed change of zeros that
/// inflates past the frame limit, and 1,001 changes that wait for a dependency that never comes.
/// Each is refused with 422, and the same peer then syncs honestly.
async fn hostile_sync_messages_are_refused_and_the_plan_still_syncs(db: &TestDb) {
    use std::io::Write;
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let probes = crafted_message(Some(&[0x01, 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff]), &[]);
    assert_eq!(probes.len(), 15);
    let zero_bits = crafted_message(Some(&[0x01, 0x00, 0x07]), &[]);
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 9 * 1024 * 1024]).unwrap();
    let zeros = encoder.finish().unwrap();
    let mut bomb = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    leb(&mut bomb, zeros.len() as u64);
    bomb.extend(zeros);
    let mut orphans_doc = phone_replica(s.w.y1);
    for i in 0..1002 {
        orphans_doc.create_action(&yp, Utc::now(), new_action(&format!("A{i}"))).unwrap();
    }
    // The first change after genesis is withheld: the 1,001 after it wait for it.
    let changes = orphans_doc.automerge_mut().get_changes(&[]);
    let orphans: Vec<Vec<u8>> = changes[2..].iter().map(|c| c.raw_bytes().to_vec()).collect();
    for hostile in [probes, zero_bits, crafted_message(None, &[bomb]), crafted_message(None, &orphans)] {
        let (status, body) = http_sync(&s, "phone", hostile).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&body));
        let (status, _) = http_sync(&s, "phone", Vec::new()).await;
        assert!(status == StatusCode::OK || status == StatusCode::NO_CONTENT, "{status}");
    }
    let stored: usize =
        s.t.store.load_chunks(&s.y1_doc.to_string(), 0).await.unwrap().iter().map(|c| c.bytes.len()).sum();
    assert!(stored < 64 * 1024, "the stored plan grew to {stored} bytes");

    let mut doc = phone_replica(s.w.y1);
    let id = doc.create_action(&yp, Utc::now(), new_action("Relancer l'entreprise")).unwrap().id;
    http_sync_until_done(&s, "phone", &mut doc).await;
    let plan = s.t.get(&format!("/api/v1/young-people/{}/plan", s.w.y1), &s.a_token).await;
    assert!(plan.body["actions"].as_array().unwrap().iter().any(|a| a["id"] == json!(id.to_string())));
}

async fn malformed_frames_and_foreign_actors_close_the_session(db: &TestDb) {
    let s = setup(db).await;
    // Garbage CBOR: an error frame, then the socket closes.
    let mut peer = Peer::connect(s.addr, &s.y1_token, "phone-1", s.y1_doc, phone_replica(s.w.y1)).await;
    peer.send_raw(vec![0xbf, 0x61]).await;
    peer.read_until_closed(LIVE).await;
    assert!(peer.closed);
    assert!(peer.error.is_some());

    // Pseudo-random frames (a small bounded fuzz run): each closes its session with an error frame
    // and the server keeps serving.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..16 {
        let mut bytes = Vec::new();
        for _ in 0..(8 + round * 7) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
        let mut peer =
            Peer::connect(s.addr, &s.y1_token, &format!("fuzz-{round}"), s.y1_doc, phone_replica(s.w.y1)).await;
        peer.send_raw(bytes).await;
        assert!(peer.wait_until(LIVE, |p| p.closed).await, "round {round}: the session stayed open");
    }

    // The adviser signs changes with an actor already bound to the young person: refused.
    let yp = Author::young_person(s.w.y1);
    let mut phone = Peer::connect(s.addr, &s.y1_token, "phone-2", s.y1_doc, phone_replica(s.w.y1)).await;
    phone.doc.create_action(&yp, Utc::now(), new_action("CV")).unwrap();
    phone.sync().await;
    let stolen = phone.doc.automerge().get_actor().clone();
    let mut forged = phone.doc.fork();
    forged.set_actor(stolen);
    let adviser = Author::adviser(s.w.a);
    // Continue the young person's actor sequence as the adviser.
    forged.create_action(&adviser, Utc::now(), new_action("Signée par un autre")).unwrap();
    let mut browser = Peer::connect(s.addr, &s.a_token, "a-browser", s.y1_doc, forged).await;
    browser.sync().await;
    browser.read_until_closed(LIVE).await;
    assert!(browser.closed, "the session stayed open");
    assert!(browser.error.as_deref().is_some_and(|e| e.contains("autre utilisateur")), "{:?}", browser.error);
    let plan = s.t.get(&format!("/api/v1/young-people/{}/plan", s.w.y1), &s.a_token).await;
    assert_eq!(plan.body["actions"].as_array().unwrap().len(), 1, "the forged change was stored");
}

async fn two_phones_and_the_adviser_converge_in_every_order(db: &TestDb) {
    let s = setup(db).await;
    let yp = Author::young_person(s.w.y1);
    let adv = Author::adviser(s.w.a);
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (round, order) in orders.iter().enumerate() {
        // Everyone starts from the server's plan with one shared action.
        let mut seed =
            Peer::connect(s.addr, &s.y1_token, &format!("seed-{round}"), s.y1_doc, phone_replica(s.w.y1)).await;
        let shared = seed.doc.create_action(&yp, Utc::now(), new_action("Action commune")).unwrap().id;
        seed.sync().await;
        let mut replicas: Vec<PlanDocument> = (0..3)
            .map(|_| {
                let mut d = seed.doc.fork();
                d.set_actor(ActorId::random());
                d
            })
            .collect();
        // Offline, concurrently on the same action: phone 1 retitles, phone 2 completes and
        // comments, the adviser comments and changes the due date; phone 2 also forges a
        // qualification (refused).
        let now = Utc::now();
        let retitle =
            ActionPatch { title: Some(format!("Titre du téléphone 1 ({round})")), ..ActionPatch::default() };
        replicas[0].update_action(&yp, now, shared, retitle).unwrap();
        replicas[1].complete_action(&yp, now, shared).unwrap();
        let (c_phone, _) =
            replicas[1].add_comment(&yp, now, Collection::Actions, shared, None, "Fait !".into()).unwrap();
        let forged = Node::map()
            .with("code", Node::from("SANTE"))
            .with("hours", Node::Int(2))
            .with("by", yp.person().to_node())
            .with("at", Node::from("2026-03-02T10:00:00.000Z"));
        let q_target =
            Target::Field { collection: Collection::Actions, id: shared.to_string(), field: "qualification".into() };
        replicas[1].write_target(&q_target, Some(&forged)).unwrap();
        replicas[1].commit("forged", now);
        let (c_adv, _) = replicas[2].add_comment(&adv, now, Collection::Actions, shared, None, "Bravo".into()).unwrap();
        let due = ActionPatch {
            due_date: Some(Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap())),
            ..Default::default()
        };
        replicas[2].update_action(&adv, now, shared, due).unwrap();

        let tokens = [&s.y1_token, &s.y1_token, &s.a_token];
        let mut peers = Vec::new();
        for (i, doc) in replicas.into_iter().enumerate() {
            peers.push(Some((i, doc)));
        }
        let mut connected = Vec::new();
        for &i in order {
            let (i, doc) = peers[i].take().unwrap();
            let mut p = Peer::connect(s.addr, tokens[i], &format!("r{round}-p{i}"), s.y1_doc, doc).await;
            p.sync().await;
            connected.push(p);
        }
        for p in &mut connected {
            p.sync().await;
        }
        let server_plan = s.t.state.documents.read(&s.y1_doc.to_string(), |d| d.plan()).await.unwrap();
        for p in &mut connected {
            assert!(p.wait_until(LIVE, |p| p.doc.plan() == server_plan).await, "order {order:?}: a replica diverged");
        }
        let action = server_plan.action(shared).unwrap();
        assert_eq!(action.title, format!("Titre du téléphone 1 ({round})"), "order {order:?}");
        assert_eq!(action.status, ActionStatus::Done);
        assert!(action.comments.iter().any(|c| c.id == c_phone) && action.comments.iter().any(|c| c.id == c_adv));
        assert_eq!(action.due_date, chrono::NaiveDate::from_ymd_opt(2026, 12, 24));
        assert!(action.qualification.is_none(), "order {order:?}: the forged qualification was kept");
    }
    // Each event was stored once.
    let events = s.t.store.events(s.w.y1).await.unwrap();
    let mut keys: Vec<_> = events.iter().map(|e| e.dedup_key.clone()).collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total);
}

on_both_backends!(
    phone_syncs_and_its_edits_reach_the_adviser,
    an_adviser_edit_over_rest_reaches_the_phone_live,
    a_refused_edit_is_undone_and_the_author_told,
    plans_the_peer_may_not_read_are_unavailable,
    a_transfer_takes_effect_on_open_sessions,
    ephemeral_messages_reach_only_readers,
    the_http_fallback_syncs_with_the_same_engine,
    hostile_sync_messages_are_refused_and_the_plan_still_syncs,
    reserved_actors_may_not_sign,
    malformed_frames_and_foreign_actors_close_the_session,
    two_phones_and_the_adviser_converge_in_every_order,
);

/// Two server instances on one PostgreSQL: a change through one reaches a peer on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_instance_reaches_a_peer_on_another() {
    let Some(db) = TestDb::new(common::Backend::Postgres).await else { return };
    let one = db.app().await;
    let w = world(&one).await;
    let two = db.app().await;
    two.state.documents.clone().follow_other_instances().await.unwrap();
    let addr_two = serve(two.state.clone()).await;
    let y1_doc = document_of(&one, w.y1).await;
    let y1_token = one.token("y1@test.fr").await;
    let a_token = one.token("a@test.fr").await;
    let yp = Author::young_person(w.y1);
    let mut phone = Peer::connect(addr_two, &y1_token, "phone-on-two", y1_doc, phone_replica(w.y1)).await;
    let id = phone.doc.create_action(&yp, Utc::now(), new_action("Sur l'instance deux")).unwrap().id;
    phone.sync().await;
    let path = format!("/api/v1/young-people/{}/actions/{id}", w.y1);
    let r = one.call(Method::PATCH, &path, Some(&a_token), Some(json!({"title": "Modifiée sur l'instance un"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let arrived = phone
        .wait_until(LIVE, |p| p.doc.plan().action(id).is_some_and(|a| a.title == "Modifiée sur l'instance un"))
        .await;
    assert!(arrived, "the change on instance one did not reach the peer on instance two");
    db.cleanup().await;
}

/// Sessions per user and frames per second are bounded, with clear errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_limits_are_enforced() {
    let db = TestDb::new(common::Backend::Sqlite).await.unwrap();
    let store = db.open().await;
    let mut config = db.config();
    config.sync.sessions_per_user = 2;
    config.sync.messages_per_second = 2.0;
    let state = server::AppState::new(store.clone(), config).unwrap();
    let t = TestApp { router: server::app(state.clone()), state: state.clone(), store };
    let w = world(&t).await;
    let addr = serve(state).await;
    let doc = document_of(&t, w.y1).await;
    let token = t.token("y1@test.fr").await;

    let mut first = Peer::connect(addr, &token, "p1", doc, phone_replica(w.y1)).await;
    let mut second = Peer::connect(addr, &token, "p2", doc, phone_replica(w.y1)).await;
    let third = tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token={token}")).await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a third session was accepted: {:?}", other.map(|(_, r)| r.status())),
    }
    // Opening a portfolio at once is allowed (a request per plan, beyond twice the rate)...
    for _ in 0..300 {
        first.request(DocumentId::new_random()).await;
    }
    assert!(first.wait_until(LIVE, |p| p.unavailable.len() == 300 || p.closed).await);
    assert!(!first.closed, "{:?}", first.error);
    // ... but not much more: an error frame, then the session is closed.
    for _ in 0..30 {
        first.request(DocumentId::new_random()).await;
    }
    first.read_until_closed(LIVE).await;
    assert!(first.closed);
    assert!(first.error.as_deref().is_some_and(|e| e.contains("trop de messages")), "{:?}", first.error);
    // A linked plan's frames beyond twice the rate end the session too.
    second.sync().await;
    for _ in 0..8 {
        second.request(doc).await;
    }
    second.read_until_closed(LIVE).await;
    assert!(second.closed);
    assert!(second.error.as_deref().is_some_and(|e| e.contains("trop de messages")), "{:?}", second.error);
    // A bad token is refused before the upgrade.
    let bad = tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token=nope")).await;
    assert!(matches!(bad, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401));
    db.cleanup().await;
}
