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

on_both_backends!(
    a_group_commit_skips_the_write_whose_plan_moved_on,
    concurrent_writes_of_several_plans_are_all_stored
);
