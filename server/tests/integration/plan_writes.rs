//! The store's plan writes on both databases: a group commit stores the writes whose plan did
//! not move on and skips the others; concurrent writes of several plans (grouped by the
//! committer) are all stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::http::StatusCode;
use chrono::Utc;
use common::{TestDb, world};
use serde_json::json;
use server::store::{PlanWrite, Projections, ReminderChanges};
use uuid::Uuid;

fn empty_write(document_id: String, young_person_id: Uuid, after_seq: i64, changes: Vec<u8>) -> PlanWrite {
    PlanWrite {
        document_id,
        after_seq,
        young_person_id,
        changes,
        snapshot: None,
        projections: Projections::default(),
        touched: Some(Vec::new()),
        events: Vec::new(),
        notifications: Vec::new(),
        reminders: ReminderChanges::default(),
        by_young_person: false,
        at: Utc::now(),
    }
}

async fn a_group_commit_skips_the_write_whose_plan_moved_on(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut docs = Vec::new();
    for yp in [w.y1, w.y2, w.y3] {
        docs.push((t.store.document_of(yp).await.unwrap().unwrap(), yp));
    }
    // Y2's plan gets a chunk first: a write that still believes its last chunk is the genesis is stale.
    let (doc2, y2) = docs[1].clone();
    let moved = t.store.commit_plan_writes(&[empty_write(doc2.clone(), y2, 1, vec![1])]).await.unwrap();
    assert_eq!(moved, vec![Some(2)]);
    let writes: Vec<PlanWrite> =
        docs.iter().map(|(doc, yp)| empty_write(doc.clone(), *yp, 1, doc.as_bytes().to_vec())).collect();
    assert_eq!(t.store.commit_plan_writes(&writes).await.unwrap(), vec![Some(2), None, Some(2)]);
    for (i, (doc, _)) in docs.iter().enumerate() {
        let chunks = t.store.load_chunks(doc, 1).await.unwrap();
        let expected: Vec<u8> = if i == 1 { vec![1] } else { doc.as_bytes().to_vec() };
        assert_eq!(chunks.iter().map(|c| (c.seq, c.bytes.clone())).collect::<Vec<_>>(), vec![(2, expected)]);
    }
}

async fn concurrent_writes_of_several_plans_are_all_stored(db: &TestDb) {
    let t = std::sync::Arc::new(db.app().await);
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let b = t.token("b@test.fr").await;
    let mut writers = Vec::new();
    for i in 0..60 {
        let (t, yp, token) = match i % 3 {
            0 => (t.clone(), w.y1, a.clone()),
            1 => (t.clone(), w.y2, b.clone()),
            _ => (t.clone(), w.y3, b.clone()),
        };
        writers.push(tokio::spawn(async move {
            let body = json!({"id": Uuid::new_v4(), "title": format!("Action {i}"), "category": "EMPLOI"});
            let r = t.post(&format!("/api/v1/young-people/{yp}/actions"), &token, body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for yp in [w.y1, w.y2, w.y3] {
        assert_eq!(t.store.projections(yp).await.unwrap().actions.len(), 20);
        let doc = t.store.document_of(yp).await.unwrap().unwrap();
        let chunks = t.store.load_chunks(&doc, 0).await.unwrap();
        let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
        assert_eq!(sync_core::PlanDocument::load(&bytes).unwrap().plan().actions.len(), 20);
    }
}

/// The plan cache counts what a loaded plan holds in memory (18 KiB at least, however few its
/// saved bytes), not its saved bytes: with 1 MiB, 80 new plans read and written in turn leave at
/// most 56 loaded, and each plan evicted then reloaded still holds what was written to it.
async fn the_plan_cache_counts_memory_and_evicts(db: &TestDb) {
    let t = db.app_with(|c| c.doc_cache_mib = 1).await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let mut young = Vec::new();
    for i in 0..80 {
        let email = format!("cache{i}@test.fr");
        let (yp, _) = server::demo::create_young_person(&t.state, &email, "Y", "Cache", w.structure, Some(w.a), None)
            .await
            .unwrap();
        young.push(yp);
    }
    for (i, yp) in young.iter().enumerate() {
        let body = json!({"id": Uuid::new_v4(), "title": format!("Action {i}"), "category": "EMPLOI"});
        let r = t.post(&format!("/api/v1/young-people/{yp}/actions"), &a, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert!(t.state.documents.cached_bytes() <= 1024 * 1024, "over budget after {} plans", i + 1);
    }
    let cached = t.state.documents.cached_documents();
    assert!((1..=56).contains(&cached), "{cached} plans cached in 1 MiB");
    // The first plans were evicted: read again, they hold their action.
    for (i, yp) in young.iter().enumerate().take(5) {
        let r = t.get(&format!("/api/v1/young-people/{yp}/plan"), &a).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["actions"][0]["title"], format!("Action {i}"), "{:?}", r.body);
    }
}

on_both_backends!(
    a_group_commit_skips_the_write_whose_plan_moved_on,
    concurrent_writes_of_several_plans_are_all_stored,
    the_plan_cache_counts_memory_and_evicts
);
