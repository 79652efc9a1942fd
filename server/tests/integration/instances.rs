//! Several server instances on one PostgreSQL database: concurrent writers through REST and sync
//! on both lose nothing acknowledged, a compaction keeps what the other instance stored, and
//! what one instance does (an edit, a transfer) reaches the live sessions of the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use automerge::ActorId;
use axum::http::StatusCode;
use chrono::Utc;
use common::sync_client::{Peer, serve};
use common::{TestApp, TestDb, World, world};
use serde_json::{Value, json};
use server::config::Config;
use sync_core::edit::NewAction;
use sync_core::{Author, DocumentId, PlanDocument};
use uuid::Uuid;

const LIVE: Duration = Duration::from_secs(5);

/// One more instance on the test's database; it follows the others' announcements if `follow`.
async fn instance(db: &TestDb, config: Config, follow: bool) -> TestApp {
    let store = db.open().await;
    let state = server::AppState::new(store.clone(), config).unwrap();
    if follow {
        state.documents.clone().follow_other_instances().await.unwrap();
        state.conversations.clone().follow_other_instances().await.unwrap();
    }
    TestApp { router: server::app(state.clone()), state, store }
}

fn phone_replica(young_person: Uuid) -> PlanDocument {
    let mut doc = PlanDocument::genesis(young_person).unwrap();
    doc.set_actor(ActorId::random());
    doc
}

fn action_body(title: &str) -> Value {
    json!({"id": Uuid::new_v4(), "title": title, "category": "SANTE"})
}

async fn document_of(t: &TestApp, young_person: Uuid) -> DocumentId {
    t.store.document_of(young_person).await.unwrap().unwrap().parse().unwrap()
}

/// The action ids of the plan as stored, read by a fresh load of every chunk.
async fn stored_action_ids(db: &TestDb, document_id: &str) -> BTreeSet<String> {
    let store = db.open().await;
    let chunks = store.load_chunks(document_id, 0).await.unwrap();
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
    let doc = PlanDocument::load(&bytes).unwrap();
    doc.plan().actions.iter().map(|a| a.id.to_string()).collect()
}

/// The action ids of the plan as an instance serves it (`GET …/plan`).
async fn served_action_ids(t: &TestApp, young_person: Uuid, token: &str) -> BTreeSet<String> {
    let plan = t.get(&format!("/api/v1/young-people/{young_person}/plan"), token).await;
    assert_eq!(plan.status, StatusCode::OK, "{:?}", plan.body);
    plan.body["actions"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

/// 50 writers of one plan at once, half on each instance: 30 through REST (the adviser and the
/// young person), 20 phones through the WebSocket gateway, 3 writes each. Compaction every 8
/// chunks, so that compactions race with the other instance's writes.
async fn fifty_writers_on_two_instances_lose_nothing(db: &TestDb) {
    let mut config = db.config();
    config.sync.compact_every_chunks = 8;
    config.sync.sessions_per_user = 64;
    let a = Arc::new(instance(db, config.clone(), true).await);
    let b = Arc::new(instance(db, config, true).await);
    let w: World = world(&a).await;
    let (addr_a, addr_b) = (serve(a.state.clone()).await, serve(b.state.clone()).await);
    let doc = document_of(&a, w.y1).await;
    let adviser = a.token("a@test.fr").await;
    let young = a.token("y1@test.fr").await;

    let mut rest = Vec::new();
    for i in 0..30 {
        let t = if i % 2 == 0 { a.clone() } else { b.clone() };
        let token = if i % 3 == 0 { young.clone() } else { adviser.clone() };
        let path = format!("/api/v1/young-people/{}/actions", w.y1);
        rest.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for k in 0..3 {
                let r = t.post(&path, &token, action_body(&format!("REST {i}.{k}"))).await;
                assert_eq!(r.status, StatusCode::CREATED, "REST writer {i}, write {k}: {:?}", r.body);
                acknowledged.push(r.body["id"].as_str().unwrap().to_owned());
            }
            acknowledged
        }));
    }
    let mut phones = Vec::new();
    for i in 0..20 {
        let addr = if i % 2 == 0 { addr_a } else { addr_b };
        let token = young.clone();
        let young_person = w.y1;
        phones.push(tokio::spawn(async move {
            let mut phone = Peer::connect(addr, &token, &format!("phone-{i}"), doc, phone_replica(young_person)).await;
            phone.sync().await;
            let author = Author::young_person(young_person);
            let mut acknowledged = Vec::new();
            for k in 0..3 {
                let action =
                    NewAction { id: Some(Uuid::new_v4()), title: format!("Sync {i}.{k}"), ..NewAction::default() };
                let id = phone.doc.create_action(&author, Utc::now(), action).unwrap().id;
                let head = phone.doc.heads()[0];
                phone.sync().await;
                assert!(phone.error.is_none() && !phone.closed, "phone {i}: {:?}", phone.error);
                assert!(phone.server_has(&head), "phone {i}, write {k}: not acknowledged");
                acknowledged.push(id.to_string());
            }
            acknowledged
        }));
    }
    let mut expected = BTreeSet::new();
    for writer in rest.into_iter().chain(phones) {
        expected.extend(writer.await.unwrap());
    }
    assert_eq!(expected.len(), 150);

    // Every acknowledged action is stored, and both instances serve all of them.
    let stored = stored_action_ids(db, &doc.to_string()).await;
    let missing: Vec<_> = expected.difference(&stored).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    for (name, t) in [("A", &a), ("B", &b)] {
        let deadline = tokio::time::Instant::now() + LIVE;
        loop {
            let served = served_action_ids(t, w.y1, &adviser).await;
            if served == stored {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "instance {name} serves {} of {}",
                served.len(),
                stored.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The projections hold every action too (each instance wrote those it touched).
    assert_eq!(a.store.projections(w.y1).await.unwrap().actions.len(), 150);
}

/// Instance A holds the plan in memory and writes; B stores a chunk in between; A's next write
/// compacts. The snapshot folds B's chunk in first: nothing B stored is lost.
async fn a_compaction_keeps_what_the_other_instance_stored(db: &TestDb) {
    let mut config = db.config();
    // Genesis + 2 change chunks: the next write compacts.
    config.sync.compact_every_chunks = 4;
    // A does not follow announcements: it learns of B's chunk only from its own write's check.
    let a = instance(db, config.clone(), false).await;
    let b = instance(db, config, false).await;
    let w = world(&a).await;
    let doc = document_of(&a, w.y1).await.to_string();
    let adviser = a.token("a@test.fr").await;
    let path = format!("/api/v1/young-people/{}/actions", w.y1);
    let mut ids = BTreeSet::new();
    for (t, title) in [(&a, "Écrire mon CV"), (&b, "Appeler la mission locale"), (&a, "Postuler chez Decathlon")] {
        let r = t.post(&path, &adviser, action_body(title)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{title}: {:?}", r.body);
        ids.insert(r.body["id"].as_str().unwrap().to_owned());
    }
    let chunks = a.store.load_chunks(&doc, 0).await.unwrap();
    assert_eq!(chunks.len(), 1, "the third write should have compacted");
    assert!(chunks[0].snapshot);
    assert_eq!(stored_action_ids(db, &doc).await, ids, "the compaction lost a chunk of the other instance");
    // A caught up with B's write before compacting: it serves it, without any announcement.
    assert_eq!(served_action_ids(&a, w.y1, &adviser).await, ids);
    // And B, stale since, catches up at its next write.
    let r = b.post(&path, &adviser, action_body("Préparer l'entretien")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    ids.insert(r.body["id"].as_str().unwrap().to_owned());
    assert_eq!(stored_action_ids(db, &doc).await, ids);
    assert_eq!(served_action_ids(&b, w.y1, &adviser).await, ids);
}

/// The adviser watches the plan over a WebSocket on instance B; the young person writes through
/// REST and through a phone's sync on instance A: both reach the adviser live.
async fn an_edit_through_one_instance_is_seen_live_on_the_other(db: &TestDb) {
    let a = instance(db, db.config(), true).await;
    let b = instance(db, db.config(), true).await;
    let w = world(&a).await;
    let (addr_a, addr_b) = (serve(a.state.clone()).await, serve(b.state.clone()).await);
    let doc = document_of(&a, w.y1).await;
    let adviser_token = a.token("a@test.fr").await;
    let young = a.token("y1@test.fr").await;
    let mut adviser = Peer::connect(addr_b, &adviser_token, "a-browser", doc, phone_replica(w.y1)).await;
    adviser.sync().await;

    let r = a.post(&format!("/api/v1/young-people/{}/actions", w.y1), &young, action_body("Atelier CV")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    assert!(
        adviser.wait_until(LIVE, |p| p.doc.plan().action(id).is_some()).await,
        "a REST write on A did not reach the adviser on B"
    );

    let mut phone = Peer::connect(addr_a, &young, "phone", doc, phone_replica(w.y1)).await;
    phone.sync().await;
    let action = NewAction { id: Some(Uuid::new_v4()), title: "Forum de l'emploi".into(), ..NewAction::default() };
    let synced = phone.doc.create_action(&Author::young_person(w.y1), Utc::now(), action).unwrap().id;
    phone.sync().await;
    assert!(
        adviser.wait_until(LIVE, |p| p.doc.plan().action(synced).is_some()).await,
        "a phone's sync on A did not reach the adviser on B"
    );
}

/// A supervisor transfers the young person through instance A: the former adviser's session on
/// instance B loses the plan at once (not at its periodic check, 30 s by default).
async fn a_transfer_through_one_instance_reaches_sessions_on_the_other(db: &TestDb) {
    let a = instance(db, db.config(), true).await;
    let b = instance(db, db.config(), true).await;
    let w = world(&a).await;
    let addr_b = serve(b.state.clone()).await;
    let doc = document_of(&a, w.y1).await;
    let adviser_token = a.token("a@test.fr").await;
    let mut adviser = Peer::connect(addr_b, &adviser_token, "a-browser", doc, phone_replica(w.y1)).await;
    adviser.sync().await;
    assert!(adviser.unavailable.is_empty());
    let sup = a.token("sup@test.fr").await;
    let r = a
        .post(
            "/api/v1/transfers",
            &sup,
            json!({"young_person_ids": [w.y1], "to_adviser_id": w.b, "kind": "definitive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        adviser.wait_until(LIVE, |p| p.unavailable == vec![p.document_id]).await,
        "the session on the other instance still reads the plan"
    );
}

/// A message sent through instance A reaches the adviser's session on instance B live, and both
/// instances writing the same conversation lose nothing (the second folds the first's chunks in).
async fn a_message_through_one_instance_is_seen_live_on_the_other(db: &TestDb) {
    use sync_core::conversation::ConversationDocument;
    let a = instance(db, db.config(), true).await;
    let b = instance(db, db.config(), true).await;
    let w = world(&a).await;
    let addr_b = serve(b.state.clone()).await;
    let young = a.token("y1@test.fr").await;
    let adviser_token = a.token("a@test.fr").await;
    let me = a.get("/api/v1/me", &young).await;
    let doc: DocumentId = me.body["conversation_document_id"].as_str().unwrap().parse().unwrap();
    let mut replica = ConversationDocument::genesis(w.y1).unwrap();
    replica.set_actor(ActorId::random());
    let observer = PlanDocument::from_automerge(replica.into_automerge());
    let mut adviser = Peer::connect(addr_b, &adviser_token, "a-browser", doc, observer).await;
    adviser.sync().await;
    let read = |p: &Peer| ConversationDocument::from_automerge(p.doc.automerge().clone()).conversation();

    let path = format!("/api/v1/young-people/{}/conversation/messages", w.y1);
    // B loads the conversation first (its own write), then A writes: B must fold A's chunk in.
    assert_eq!(b.post(&path, &adviser_token, json!({"text": "Depuis B"})).await.status, StatusCode::CREATED);
    assert!(adviser.wait_until(LIVE, |p| read(p).messages.len() == 1).await);
    assert_eq!(a.post(&path, &young, json!({"text": "Depuis A"})).await.status, StatusCode::CREATED);
    assert!(
        adviser.wait_until(LIVE, |p| read(p).messages.len() == 2).await,
        "a message sent through A did not reach the adviser's session on B"
    );
    assert_eq!(b.post(&path, &adviser_token, json!({"text": "Encore B"})).await.status, StatusCode::CREATED);
    let served = a.get(&format!("/api/v1/young-people/{}/conversation", w.y1), &young).await;
    let texts: Vec<&str> =
        served.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Encore B", "Depuis A", "Depuis B"]);
}

on_postgres!(
    a_message_through_one_instance_is_seen_live_on_the_other,
    fifty_writers_on_two_instances_lose_nothing,
    a_compaction_keeps_what_the_other_instance_stored,
    an_edit_through_one_instance_is_seen_live_on_the_other,
    a_transfer_through_one_instance_reaches_sessions_on_the_other,
);
