//! Issue 14: a young person leaves (archive, their own deletion, an adviser's deletion of an
//! account never activated), the export, and the retention rules, on both databases.
//!
//! "Nothing refers to the person" is checked against every column of every table the database's
//! own catalogue lists, so a table added later is covered without touching this file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::OnceLock;
use std::time::Duration;

use automerge::ReadDoc;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use common::sync_client::{Peer, serve};
use common::{Backend, PASSWORD, TestApp, TestDb, World, edit, world};
use serde_json::{Value, json};
use server::lifecycle::retention::{self, Periods};
use server::store::{NewNotification, NewUser, PortfolioScope};
use server::sync::gateway::TOKEN_ENDED_MESSAGE;
use sync_core::edit::NewAction;
use sync_core::model::Role;
use sync_core::{Author, DocumentId, Plan, PlanDocument};
use uuid::Uuid;

#[allow(dead_code)]
#[path = "../../../sync-core/benches/fixture/mod.rs"]
mod fixture;

const LIVE: Duration = Duration::from_secs(4);

fn phone_replica(young_person: Uuid) -> PlanDocument {
    let mut doc = PlanDocument::genesis(young_person).unwrap();
    doc.set_actor(automerge::ActorId::random());
    doc
}

/// The test database opened beside the store, for what the store does not answer.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn open(db: &TestDb) -> Raw {
        match db.backend {
            Backend::Sqlite => Raw::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite:{}", db.dir.join("pass-emploi.db").display()))
                    .await
                    .unwrap(),
            ),
            Backend::Postgres => Raw::Postgres(sqlx::PgPool::connect(db.url.as_deref().unwrap()).await.unwrap()),
        }
    }

    /// `SELECT COUNT(*) …` with text parameters.
    async fn count(&self, query: String, params: &[&str]) -> i64 {
        let (n,): (i64,) = match self {
            Raw::Sqlite(pool) => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(query));
                for p in params {
                    q = q.bind(p.to_string());
                }
                q.fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(query));
                for p in params {
                    q = q.bind(p.to_string());
                }
                q.fetch_one(pool).await.unwrap()
            }
        };
        n
    }

    /// Every `(table, column)` of the schema, from the database's own catalogue.
    async fn columns(&self) -> Vec<(String, String)> {
        let columns: Vec<(String, String)> = match self {
            Raw::Sqlite(pool) => sqlx::query_as(
                "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
                 ORDER BY m.name, c.cid",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            Raw::Postgres(pool) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
                 ORDER BY table_name, ordinal_position",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        let tables: std::collections::BTreeSet<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
        assert!(tables.len() >= 20, "the catalogue lists the schema: {tables:?}");
        columns
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

/// Every `table.column` of the schema (the database's catalogue) holding `id` (either form) or
/// `email` somewhere in its text, with how many rows.
async fn rows_referring(db: &TestDb, id: Uuid, email: &str) -> Vec<String> {
    let patterns = [format!("%{id}%"), format!("%{}%", id.simple()), format!("%{email}%")];
    let params: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let raw = Raw::open(db).await;
    let mut found = Vec::new();
    for (table, column) in raw.columns().await {
        let query = format!(
            "SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE $1 \
             OR CAST(\"{column}\" AS TEXT) LIKE $2 OR CAST(\"{column}\" AS TEXT) LIKE $3"
        );
        let n = raw.count(query, &params).await;
        if n > 0 {
            found.push(format!("{table}.{column} ({n})"));
        }
    }
    raw.close().await;
    found
}

/// How many chunks the store holds for a document (snapshots and changes).
async fn chunks_of(t: &TestApp, document_id: &str) -> usize {
    t.store.load_chunks(document_id, 0).await.unwrap().len()
}

/// Y1 with something in every table that can refer to a young person: an action and a comment of
/// theirs (projections, events, reminders), a sign-in (tokens), a device, a preference, a centre
/// entry, and a notification row to their adviser about them.
async fn populate(t: &TestApp, w: &World) -> String {
    let token = t.token("y1@test.fr").await;
    let r = t.post("/api/v1/devices", &token, json!({"platform": "android", "token": "fcm-y1"})).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = t
        .call(Method::PUT, "/api/v1/me/notification-preferences", Some(&token), Some(json!({"action_created": false})))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let adviser = Author::adviser(w.a);
    let due = (Utc::now() + chrono::Duration::days(5)).date_naive();
    edit(t, w.y1, &adviser, Utc::now(), |d, a, now| {
        d.create_action(
            a,
            now,
            NewAction {
                id: Some(Uuid::new_v4()),
                title: "Préparer l'entretien".into(),
                due_date: Some(due),
                ..NewAction::default()
            },
        )
    })
    .await;
    let young = Author::young_person(w.y1);
    let action = edit(t, w.y1, &young, Utc::now(), |d, a, now| {
        d.create_action(a, now, NewAction { id: Some(Uuid::new_v4()), title: "Mon CV".into(), ..NewAction::default() })
    })
    .await
    .id;
    edit(t, w.y1, &young, Utc::now(), |d, a, now| {
        d.add_comment(a, now, sync_core::schema::Collection::Actions, action, None, "Fait !".into()).map(|(_, o)| o)
    })
    .await;
    token
}

async fn archive_erases_everything_but_the_archive_which_expires(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y1_token = populate(&t, &w).await;
    let document_id = t.store.document_of(w.y1).await.unwrap().unwrap();
    assert!(!rows_referring(db, w.y1, "y1@test.fr").await.is_empty(), "the oracle sees the person before");
    let a = t.token("a@test.fr").await;

    let r = t
        .post(
            &format!("/api/v1/young-people/{}/archive", w.y1),
            &a,
            json!({"reason": "durable_employment", "comment": "CDI chez un artisan"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let archive_id = r.body["archive_id"].as_str().unwrap().to_owned();

    // Only the archive refers to them.
    let left = rows_referring(db, w.y1, "y1@test.fr").await;
    assert!(left.iter().all(|c| c.starts_with("archives.")), "{left:?}");
    assert!(!left.is_empty(), "the archive keeps them");
    assert_eq!(chunks_of(&t, &document_id).await, 0);

    // Gone for them and for their adviser's lists.
    assert_eq!(t.get("/api/v1/me", &y1_token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.login("y1@test.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(&format!("/api/v1/young-people/{}", w.y1), &a).await.status, StatusCode::NOT_FOUND);
    let portfolio = t.store.portfolio_lines(PortfolioScope::Adviser(w.a), Utc::now().date_naive(), Utc::now()).await;
    assert!(portfolio.unwrap().iter().all(|l| l.id != w.y1));
    assert!(t.store.device_tokens_of(w.y1).await.unwrap().is_empty());

    // The structure reads the archive (the adviser and the supervisor), nobody else does.
    let list = t.get("/api/v1/archives", &a).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["reason"], "durable_employment");
    assert_eq!(list.body[0]["reason_label"], "Emploi durable (plus de 6 mois)");
    assert_eq!(list.body[0]["ended_on"], Utc::now().date_naive().to_string());
    let sup = t.token("sup@test.fr").await;
    let detail = t.get(&format!("/api/v1/archives/{archive_id}"), &sup).await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    let titles: Vec<&str> = detail.body["export"]["plan"]["content"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Préparer l'entretien") && titles.contains(&"Mon CV"), "{titles:?}");
    assert_eq!(detail.body["export"]["account"]["email"], "y1@test.fr");
    assert_eq!(detail.body["export"]["devices"][0]["token"], "fcm-y1");
    let other = t.token("sup2@test.fr").await;
    assert_eq!(t.get(&format!("/api/v1/archives/{archive_id}"), &other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/api/v1/archives", &other).await.body.as_array().unwrap().len(), 0);
    let y2 = t.token("y2@test.fr").await;
    assert_eq!(t.get("/api/v1/archives", &y2).await.status, StatusCode::FORBIDDEN);

    // The one who archived is not told (the other followers are: see the inactivity rule).
    assert!(
        t.get("/api/v1/notifications", &a)
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "young_person_left")
    );

    // Two years later the archive goes, and with it the last row that named them.
    let periods = Periods::default();
    let archived_at: DateTime<Utc> = list.body[0]["archived_at"].as_str().unwrap().parse().unwrap();
    let archive_id: Uuid = archive_id.parse().unwrap();
    let before = retention::run(t.store.as_ref(), &periods, archived_at + periods.archive - MINUTE).await;
    assert_eq!(before.archives, 0);
    assert!(t.store.archive_record(archive_id).await.unwrap().is_some());
    let after = retention::run(t.store.as_ref(), &periods, archived_at + periods.archive + MINUTE).await;
    assert_eq!(after.archives, 1);
    assert!(t.store.archive_record(archive_id).await.unwrap().is_none());
    assert_eq!(rows_referring(db, w.y1, "y1@test.fr").await, Vec::<String>::new());
}

async fn a_young_person_deletes_their_account_and_their_adviser_is_told(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y1_token = populate(&t, &w).await;
    let a = t.token("a@test.fr").await;
    assert_eq!(t.call(Method::DELETE, "/api/v1/me", Some(&a), None).await.status, StatusCode::FORBIDDEN);

    let document_id = t.store.document_of(w.y1).await.unwrap().unwrap();
    assert!(chunks_of(&t, &document_id).await > 0);
    let r = t.call(Method::DELETE, "/api/v1/me", Some(&y1_token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(rows_referring(db, w.y1, "y1@test.fr").await, Vec::<String>::new());
    assert_eq!(chunks_of(&t, &document_id).await, 0, "no chunk or snapshot of the plan is left");
    assert_eq!(t.call(Method::DELETE, "/api/v1/me", Some(&y1_token), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(&format!("/api/v1/young-people/{}", w.y1), &a).await.status, StatusCode::NOT_FOUND);
    let centre = t.get("/api/v1/notifications", &a).await;
    let left: Vec<&Value> =
        centre.body.as_array().unwrap().iter().filter(|n| n["kind"] == "young_person_left").collect();
    assert_eq!(left.len(), 1, "{:?}", centre.body);
    assert_eq!(left[0]["body"], "Y Un a supprimé son compte.");
    // Nobody else's data went with them.
    assert!(t.store.user_by_id(w.y2).await.unwrap().is_some());
    assert_eq!(t.login("y2@test.fr", PASSWORD).await.status, StatusCode::OK);
    // The email can open an account again.
    let r =
        t.post("/api/v1/young-people", &a, json!({"first_name": "Y", "last_name": "Un", "email": "y1@test.fr"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

async fn an_adviser_deletes_only_the_accounts_never_activated_of_their_portfolio(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let b = t.token("b@test.fr").await;
    let r = t
        .post("/api/v1/young-people", &a, json!({"first_name": "Jamais", "last_name": "Venu", "email": "jv@test.fr"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/api/v1/young-people/{id}");
    assert_eq!(t.call(Method::DELETE, &path, Some(&b), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.call(Method::DELETE, &path, Some(&a), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(rows_referring(db, id, "jv@test.fr").await, Vec::<String>::new());
    assert_eq!(t.call(Method::DELETE, &path, Some(&a), None).await.status, StatusCode::NOT_FOUND);
    // Y2 has a password: their adviser may archive them, not delete them.
    let r = t.call(Method::DELETE, &format!("/api/v1/young-people/{}", w.y2), Some(&b), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(t.store.user_by_id(w.y2).await.unwrap().is_some());
}

async fn archiving_checks_who_asks_and_what_they_say(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let path = format!("/api/v1/young-people/{}/archive", w.y1);
    let today = Utc::now().date_naive();
    for (body, field) in [
        (json!({"reason": "other"}), "comment"),
        (json!({"reason": "other", "comment": "   "}), "comment"),
        (json!({"reason": "inactivity"}), "reason"),
        (json!({"reason": "training", "ended_on": (today + chrono::Duration::days(2)).to_string()}), "ended_on"),
        (json!({"reason": "training", "ended_on": "2020-01-01"}), "ended_on"),
        (json!({"reason": "training", "comment": "x".repeat(2_001)}), "comment"),
    ] {
        let r = t.post(&path, &a, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", r.body);
        assert_eq!(r.problem_fields(), vec![field.to_owned()], "{body}");
    }
    assert_eq!(t.post(&path, &a, json!({"reason": "nope"})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Not their adviser, the young person themself, a supervisor who does not follow them.
    for who in ["b@test.fr", "y1@test.fr", "sup@test.fr", "sup2@test.fr"] {
        let token = t.token(who).await;
        assert_eq!(t.post(&path, &token, json!({"reason": "training"})).await.status, StatusCode::NOT_FOUND, "{who}");
    }
    assert!(t.store.user_by_id(w.y1).await.unwrap().is_some());
    let r = t
        .post(&path, &a, json!({"reason": "other", "comment": "Parti à l'étranger", "ended_on": today.to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(t.post(&path, &a, json!({"reason": "training"})).await.status, StatusCode::NOT_FOUND);
    let reasons = t.get("/api/v1/archive-reasons", &a).await;
    assert_eq!(reasons.body.as_array().unwrap().len(), 14);
    assert!(reasons.body.as_array().unwrap().iter().all(|r| r["code"] != "inactivity"));
}

/// Archiving ends the young person's sessions and takes the plan from every peer, on this
/// instance and on a second one sharing the database.
async fn archiving_ends_live_sessions_on_every_instance(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let addr = serve(t.state.clone()).await;
    let mut config = db.config();
    config.sync.revalidate_secs = 1;
    let other_store = db.open().await;
    let other_state = server::AppState::new(other_store, config).unwrap();
    other_state.documents.clone().follow_other_instances().await.unwrap();
    let other_addr = serve(other_state.clone()).await;
    t.state.documents.clone().follow_other_instances().await.unwrap();

    let doc: DocumentId = t.store.document_of(w.y1).await.unwrap().unwrap().parse().unwrap();
    let y1 = t.token("y1@test.fr").await;
    let a = t.token("a@test.fr").await;
    let mut phone = Peer::connect(addr, &y1, "phone", doc, phone_replica(w.y1)).await;
    let mut phone_elsewhere = Peer::connect(other_addr, &y1, "tablet", doc, phone_replica(w.y1)).await;
    let mut adviser_elsewhere = Peer::connect(other_addr, &a, "a-browser", doc, phone_replica(w.y1)).await;
    phone.sync().await;
    phone_elsewhere.sync().await;
    adviser_elsewhere.sync().await;
    assert!(adviser_elsewhere.unavailable.is_empty());

    let r = t.post(&format!("/api/v1/young-people/{}/archive", w.y1), &a, json!({"reason": "moved"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    for (name, peer) in [("here", &mut phone), ("elsewhere", &mut phone_elsewhere)] {
        peer.wait_until(LIVE, |p| p.error.is_some() && p.closed).await;
        assert_eq!(peer.error.as_deref(), Some(TOKEN_ENDED_MESSAGE), "{name}: the session outlived the archive");
    }
    assert!(
        adviser_elsewhere.wait_until(LIVE, |p| p.unavailable == vec![p.document_id]).await,
        "the adviser's session on the other instance still has the plan"
    );
    // HTTP sync too: the token is gone.
    let req = axum::http::Request::post(format!("/api/v1/sync/{doc}"))
        .header("authorization", format!("Bearer {y1}"))
        .header("x-peer-id", "phone")
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(server::app(other_state), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A new WebSocket session with it is refused before the upgrade, on both instances.
    for at in [addr, other_addr] {
        let refused = tokio_tungstenite::connect_async(format!("ws://{at}/sync?token={y1}")).await;
        assert!(
            matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
            "{refused:?}"
        );
    }
}

/// The two-year plan of the benches, built once for the whole test binary (it takes a while in
/// a debug build).
fn two_year_plan() -> &'static (Uuid, Vec<u8>) {
    static PLAN: OnceLock<(Uuid, Vec<u8>)> = OnceLock::new();
    PLAN.get_or_init(|| {
        let plan = fixture::two_year_plan(2024);
        (plan.sim.young_person.user_id, plan.doc.automerge().clone().save())
    })
}

/// What the raw document holds, read with Automerge alone (not the typed reader the export
/// uses): entities per collection and comments in all.
fn raw_counts(bytes: &[u8]) -> (usize, usize, usize, usize) {
    let doc = automerge::AutoCommit::load(bytes).unwrap();
    let mut counts = [0usize; 3];
    let mut comments = 0;
    for (i, collection) in ["actions", "appointments", "tasks"].into_iter().enumerate() {
        let Some((_, map)) = doc.get(automerge::ROOT, collection).unwrap() else { continue };
        for key in doc.keys(&map) {
            counts[i] += 1;
            let (_, entity) = doc.get(&map, &key).unwrap().unwrap();
            if let Some((_, list)) = doc.get(&entity, "comments").unwrap() {
                comments += doc.length(&list);
            }
        }
    }
    (counts[0], counts[1], counts[2], comments)
}

async fn the_export_of_the_two_year_plan_is_complete_and_reads_back(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let (id, bytes) = tokio::task::spawn_blocking(two_year_plan).await.unwrap().clone();
    let document_id = DocumentId::new_random().to_string();
    let user = NewUser {
        id,
        role: Role::YoungPerson,
        email: "deux.ans@test.fr".into(),
        password_hash: Some(t.state.passwords.hash(PASSWORD.into()).await.unwrap()),
        first_name: "Yasmine".into(),
        last_name: "Deux-Ans".into(),
        timezone: "Europe/Paris".into(),
        structure_id: Some(w.structure),
        activation_code_hash: None,
        activation_expires_at: None,
    };
    t.store.create_young_person(&user, Some(w.a), &document_id, &bytes, Utc::now()).await.unwrap();
    let (actions, appointments, tasks, comments) = raw_counts(&bytes);
    assert!(actions >= 400 && comments >= 1_000, "the fixture: {actions} actions, {comments} comments");

    let token = t.token("deux.ans@test.fr").await;
    let r = t.get("/api/v1/me/export", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["format"], "pass-emploi.export.v1");
    let plan: Plan =
        serde_json::from_value(r.body["plan"]["content"].clone()).expect("the export reads back as a Plan");
    assert_eq!((plan.actions.len(), plan.appointments.len(), plan.tasks.len()), (actions, appointments, tasks));
    let exported_comments: usize = plan.actions.iter().map(|a| a.comments.len()).sum::<usize>()
        + plan.tasks.iter().map(|t| t.comments.len()).sum::<usize>();
    assert_eq!(exported_comments, comments);
    // The adviser's copy is the same document; the young person's own export is refused to others.
    let a = t.token("a@test.fr").await;
    let by_adviser = t.get(&format!("/api/v1/young-people/{id}/export"), &a).await;
    assert_eq!(by_adviser.status, StatusCode::OK);
    assert_eq!(by_adviser.body["plan"], r.body["plan"]);
    assert_eq!(t.get("/api/v1/me/export", &a).await.status, StatusCode::FORBIDDEN);
    let b = t.token("b@test.fr").await;
    assert_eq!(t.get(&format!("/api/v1/young-people/{id}/export"), &b).await.status, StatusCode::NOT_FOUND);
}

// ---- the retention rules, each on both sides of its limit ----

const MINUTE: chrono::Duration = chrono::Duration::minutes(1);

async fn inactive_young_people_are_archived_after_the_period(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let periods = Periods::default();
    let signed_in = Utc::now() + chrono::Duration::days(1);
    t.store.record_sign_in(w.y1, signed_in).await.unwrap();
    for y in [w.y2, w.y3] {
        t.store.record_sign_in(y, signed_in + chrono::Duration::days(100)).await.unwrap();
    }
    let limit = signed_in + periods.inactive_account;
    assert_eq!(retention::run(t.store.as_ref(), &periods, limit - MINUTE).await.inactive_accounts, 0);
    assert!(t.store.user_by_id(w.y1).await.unwrap().is_some());
    let report = retention::run(t.store.as_ref(), &periods, limit + MINUTE).await;
    assert_eq!(report.inactive_accounts, 1);
    assert!(t.store.user_by_id(w.y1).await.unwrap().is_none());
    assert!(t.store.user_by_id(w.y2).await.unwrap().is_some());
    let archives = t.store.archives_of_structure(w.structure, 10).await.unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!((archives[0].reason.as_str(), archives[0].archived_by), ("inactivity", None));
    // Their adviser hears of it (nobody acted: every follower is told).
    let centre = t.store.notifications_of(w.a).await.unwrap();
    assert!(centre.iter().any(|n| n.kind == "young_person_left" && n.body.contains("Inactivité")), "{centre:?}");
    // Idempotent: the same pass again archives nobody else.
    assert_eq!(retention::run(t.store.as_ref(), &periods, limit + MINUTE).await.inactive_accounts, 0);
}

fn notification(recipient: Uuid, channel: &str, status: &str, at: DateTime<Utc>) -> NewNotification {
    NewNotification {
        id: Uuid::new_v4(),
        recipient_id: recipient,
        kind: "action_created".into(),
        channel: channel.into(),
        title: "t".into(),
        body: "b".into(),
        payload: "{}".into(),
        dedup_key: Uuid::new_v4().to_string(),
        created_at: at,
        not_before: at,
        expires_at: at + chrono::Duration::days(1),
        status: status.into(),
    }
}

async fn count(db: &TestDb, query: &str, id: Uuid) -> i64 {
    let raw = Raw::open(db).await;
    let n = raw.count(query.to_owned(), &[&id.to_string()]).await;
    raw.close().await;
    n
}

async fn notifications_dead_letters_and_devices_go_after_their_periods(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    // Distinct periods, so that each rule is seen on its own.
    let periods = Periods {
        notifications: chrono::Duration::days(30),
        dead_letters: chrono::Duration::days(10),
        device_tokens: chrono::Duration::days(60),
        ..Periods::default()
    };
    let at = Utc::now() + chrono::Duration::days(1);
    t.store
        .enqueue_notifications(&[
            notification(w.a, "in_app", "sent", at),
            notification(w.y2, "mobile", "dead", at),
            notification(w.y2, "mobile", "sent", at),
        ])
        .await
        .unwrap();
    t.store.upsert_device_token(w.y2, "android", "stale-token", at).await.unwrap();

    let dead = at + periods.dead_letters;
    let r = retention::run(t.store.as_ref(), &periods, dead - MINUTE).await;
    assert_eq!((r.dead_letters, r.notifications, r.devices), (0, 0, 0));
    let r = retention::run(t.store.as_ref(), &periods, dead + MINUTE).await;
    assert_eq!((r.dead_letters, r.notifications), (1, 0));
    assert_eq!(t.store.notifications_of(w.y2).await.unwrap().len(), 1);

    let centre = at + periods.notifications;
    assert_eq!(retention::run(t.store.as_ref(), &periods, centre - MINUTE).await.notifications, 0);
    assert_eq!(t.store.notifications_of(w.a).await.unwrap().len(), 1);
    assert_eq!(retention::run(t.store.as_ref(), &periods, centre + MINUTE).await.notifications, 2);
    assert!(t.store.notifications_of(w.a).await.unwrap().is_empty());
    assert!(t.store.notifications_of(w.y2).await.unwrap().is_empty());

    let devices = at + periods.device_tokens;
    assert_eq!(retention::run(t.store.as_ref(), &periods, devices - MINUTE).await.devices, 0);
    assert_eq!(t.store.device_tokens_of(w.y2).await.unwrap().len(), 1);
    assert_eq!(retention::run(t.store.as_ref(), &periods, devices + MINUTE).await.devices, 1);
    assert!(t.store.device_tokens_of(w.y2).await.unwrap().is_empty());
}

async fn activation_codes_and_token_families_go_at_their_expiry(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let periods = Periods::default();
    let a = t.token("a@test.fr").await;
    let r = t
        .post("/api/v1/young-people", &a, json!({"first_name": "N", "last_name": "Ouveau", "email": "n@test.fr"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let unused: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let r =
        t.post("/api/v1/young-people", &a, json!({"first_name": "S", "last_name": "Pent", "email": "s@test.fr"})).await;
    let spent: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let code = r.body["activation_code"].as_str().unwrap().to_owned();
    let r = t
        .call(Method::POST, "/api/v1/auth/activate", None, Some(json!({"activation_code": code, "password": PASSWORD})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    const CODES: &str = "SELECT COUNT(*) FROM users WHERE id = $1 AND activation_code_hash IS NOT NULL";

    // A spent code went with its activation; an unused one goes at its expiry (7 days).
    let now = Utc::now();
    assert_eq!((count(db, CODES, spent).await, count(db, CODES, unused).await), (0, 1));
    assert_eq!(retention::run(t.store.as_ref(), &periods, now).await.activation_codes, 0);
    let expiry = now + chrono::Duration::days(server::routes::young_people::ACTIVATION_TTL_DAYS);
    assert_eq!(retention::run(t.store.as_ref(), &periods, expiry - MINUTE).await.activation_codes, 0);
    assert_eq!(count(db, CODES, unused).await, 1);
    assert_eq!(retention::run(t.store.as_ref(), &periods, expiry + MINUTE).await.activation_codes, 1);
    assert_eq!(count(db, CODES, unused).await, 0);

    // Y2's sign-in: a family whose refresh token lives 30 days.
    let signed_in = Utc::now();
    let _ = t.token("y2@test.fr").await;
    const TOKENS: &str = "SELECT (SELECT COUNT(*) FROM access_tokens WHERE user_id = $1) \
         + (SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1)";
    assert_eq!(count(db, TOKENS, w.y2).await, 2);
    let expiry = signed_in + chrono::Duration::days(t.state.config.refresh_ttl_days);
    retention::run(t.store.as_ref(), &periods, expiry - MINUTE).await;
    assert_eq!(count(db, TOKENS, w.y2).await, 2, "a family with a live refresh token stays whole");
    let r = retention::run(t.store.as_ref(), &periods, expiry + MINUTE).await;
    assert!(r.token_families >= 2);
    assert_eq!(count(db, TOKENS, w.y2).await, 0);
}

on_both_backends!(
    archive_erases_everything_but_the_archive_which_expires,
    a_young_person_deletes_their_account_and_their_adviser_is_told,
    an_adviser_deletes_only_the_accounts_never_activated_of_their_portfolio,
    archiving_checks_who_asks_and_what_they_say,
    archiving_ends_live_sessions_on_every_instance,
    the_export_of_the_two_year_plan_is_complete_and_reads_back,
    inactive_young_people_are_archived_after_the_period,
    notifications_dead_letters_and_devices_go_after_their_periods,
    activation_codes_and_token_families_go_at_their_expiry,
);
