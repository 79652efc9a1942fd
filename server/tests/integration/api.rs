//! The REST API over a real store, on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use common::{PASSWORD, TestApp, TestDb, world};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    login_refresh_and_logout,
    activation_and_me,
    role_matrix,
    idempotent_creation_with_client_id,
    refused_edits_are_422_with_the_reason,
    bad_input_is_a_4xx_problem_naming_the_field,
    a_restart_loses_no_acknowledged_write,
    transfer_moves_the_plan,
    listing_counts_come_from_projections,
    concurrent_writes_to_one_plan_all_land,
    system_endpoints,
);

async fn login_refresh_and_logout(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let ok = t.login("A@test.fr ", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert_eq!(ok.body["user"]["role"], "adviser");
    let unknown = t.login("nobody@test.fr", PASSWORD).await;
    let wrong = t.login("a@test.fr", "not the password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body, wrong.body, "same body for unknown email and wrong password");
    assert!(unknown.is_problem());

    let access = ok.body["access_token"].as_str().unwrap().to_owned();
    let refresh = ok.body["refresh_token"].as_str().unwrap().to_owned();
    let r1 = t.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(r1.status, StatusCode::OK);
    let access2 = r1.body["access_token"].as_str().unwrap().to_owned();
    let refresh2 = r1.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    assert_eq!(t.get("/api/v1/me", &access2).await.status, StatusCode::OK);
    // The first refresh token comes back: the whole family is revoked.
    let reuse = t.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert!(reuse.is_problem());
    let after = t.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh2}))).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the rotated token died with its family");
    assert_eq!(t.get("/api/v1/me", &access2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", &access).await.status, StatusCode::UNAUTHORIZED);

    // Logout revokes the session, not the others.
    let s1 = t.token("a@test.fr").await;
    let s2 = t.token("a@test.fr").await;
    assert_eq!(t.call(Method::POST, "/api/v1/auth/logout", Some(&s1), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/api/v1/me", &s1).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", &s2).await.status, StatusCode::OK);
    let garbage = t.get("/api/v1/me", "not-a-token").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert!(garbage.is_problem());
}

async fn activation_and_me(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let a = t.token("a@test.fr").await;
    let created = t
        .post(
            "/api/v1/young-people",
            &a,
            json!({"first_name": "Inès", "last_name": "Benali", "email": "Ines.B@exemple.fr"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let code = created.body["activation_code"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    let doc_id = created.body["plan_document_id"].as_str().unwrap().to_owned();
    assert!(doc_id.parse::<sync_core::DocumentId>().is_ok());
    assert_eq!(t.login("ines.b@exemple.fr", "un-mot-de-passe").await.status, StatusCode::UNAUTHORIZED);
    let short = t
        .call(Method::POST, "/api/v1/auth/activate", None, Some(json!({"activation_code": code, "password": "court"})))
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.problem_fields(), ["password"]);
    let body = json!({"activation_code": code.to_lowercase(), "password": "un-mot-de-passe"});
    let act = t.call(Method::POST, "/api/v1/auth/activate", None, Some(body.clone())).await;
    assert_eq!(act.status, StatusCode::OK, "{:?}", act.body);
    assert_eq!(act.body["id"], id);
    let again = t.call(Method::POST, "/api/v1/auth/activate", None, Some(body)).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "one use only");
    let yp = t.token_with("ines.b@exemple.fr", "un-mot-de-passe").await;
    let me = t.get("/api/v1/me", &yp).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "young_person");
    assert_eq!(me.body["plan_document_id"], doc_id);
    assert_eq!(me.body["first_name"], "Inès");
    let me_a = t.get("/api/v1/me", &a).await;
    assert!(me_a.body.get("plan_document_id").is_none());
    let dup = t
        .post("/api/v1/young-people", &a, json!({"first_name": "X", "last_name": "Y", "email": "ines.b@exemple.fr"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let list = t.get("/api/v1/young-people", &a).await;
    assert!(list.body.as_array().unwrap().iter().any(|l| l["id"] == id));
}

trait TokenWith {
    async fn token_with(&self, email: &str, password: &str) -> String;
}

impl TokenWith for TestApp {
    async fn token_with(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status, StatusCode::OK);
        r.body["access_token"].as_str().unwrap().to_owned()
    }
}

fn new_action() -> Value {
    json!({"id": Uuid::new_v4(), "title": "Mettre à jour mon CV", "category": "EMPLOI", "due_date": "2030-01-15"})
}

fn new_appointment() -> Value {
    json!({"title": "Entretien", "kind": "ENTRETIEN_INDIVIDUEL_CONSEILLER",
           "starts_at": (Utc::now() + Duration::days(3)).to_rfc3339(), "duration_minutes": 30, "modality": "phone"})
}

async fn role_matrix(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("young person (own plan)", Some(t.token("y1@test.fr").await)),
        ("young person (another plan)", Some(t.token("y2@test.fr").await)),
        ("adviser (own portfolio)", Some(t.token("a@test.fr").await)),
        ("adviser (another portfolio)", Some(t.token("b@test.fr").await)),
        ("supervisor", Some(t.token("sup@test.fr").await)),
        ("supervisor (other structure)", Some(t.token("sup2@test.fr").await)),
        ("admin", Some(t.token("admin@test.fr").await)),
    ];
    // Fixtures on Y1's plan made by their adviser.
    let a = tokens[3].1.clone().unwrap();
    let y1 = w.y1;
    let action = t.post(&format!("/api/v1/young-people/{y1}/actions"), &a, new_action()).await;
    assert_eq!(action.status, StatusCode::CREATED);
    let action_id = action.body["id"].as_str().unwrap().to_owned();
    let appt = t.post(&format!("/api/v1/young-people/{y1}/appointments"), &a, new_appointment()).await;
    assert_eq!(appt.status, StatusCode::CREATED, "{:?}", appt.body);
    let appt_id = appt.body["id"].as_str().unwrap().to_owned();
    let y1_token = tokens[1].1.clone().unwrap();
    let task = t
        .post(
            &format!("/api/v1/young-people/{y1}/tasks"),
            &y1_token,
            json!({"kind": "APPLICATION", "title": "Candidature"}),
        )
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{:?}", task.body);
    let task_id = task.body["id"].as_str().unwrap().to_owned();

    let p = format!("/api/v1/young-people/{y1}");
    type Row = (Method, String, Option<Value>, [u16; 8]);
    // Columns: anonymous, Y1, Y2, A, B, supervisor, other supervisor, admin.
    let rows: Vec<Row> = vec![
        (Method::GET, "/api/v1/me".into(), None, [401, 200, 200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/young-people".into(), None, [401, 403, 403, 200, 200, 200, 200, 403]),
        (Method::GET, p.clone(), None, [401, 200, 404, 200, 404, 200, 404, 404]),
        (Method::GET, format!("{p}/plan"), None, [401, 200, 404, 200, 404, 200, 404, 404]),
        (
            Method::POST,
            format!("{p}/actions"),
            Some(json!({"title": "t", "category": "SANTE"})),
            [401, 201, 404, 201, 404, 403, 404, 404],
        ),
        (
            Method::PATCH,
            format!("{p}/actions/{action_id}"),
            Some(json!({"title": "Nouveau titre"})),
            [401, 200, 404, 200, 404, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("{p}/actions/{action_id}/comments"),
            Some(json!({"text": "Bravo"})),
            [401, 201, 404, 201, 404, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("{p}/actions/{action_id}/qualification"),
            Some(json!({"code": "EMPLOI"})),
            [401, 422, 404, 422, 404, 403, 404, 404],
        ),
        (Method::POST, format!("{p}/appointments"), Some(new_appointment()), [401, 422, 404, 201, 404, 403, 404, 404]),
        (
            Method::PATCH,
            format!("{p}/appointments/{appt_id}"),
            Some(json!({"duration_minutes": 45})),
            [401, 422, 404, 200, 404, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("{p}/appointments/{appt_id}/answer"),
            Some(json!({"response": "accepted"})),
            [401, 200, 404, 422, 404, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("{p}/appointments/{appt_id}/close"),
            Some(json!({"presence": "present"})),
            [401, 422, 404, 422, 404, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("{p}/tasks"),
            Some(json!({"kind": "NETWORKING", "title": "Salon"})),
            [401, 201, 404, 422, 404, 403, 404, 404],
        ),
        (
            Method::PATCH,
            format!("{p}/tasks/{task_id}"),
            Some(json!({"notes": "relancer"})),
            [401, 200, 404, 422, 404, 403, 404, 404],
        ),
        (Method::POST, format!("{p}/appointments/{appt_id}/cancel"), None, [401, 422, 404, 200, 404, 403, 404, 404]),
        (Method::POST, "/api/v1/young-people".into(), None, [401, 403, 403, 201, 201, 201, 201, 403]),
        (
            Method::POST,
            "/api/v1/transfers".into(),
            Some(json!({"young_person_ids": [w.y3], "to_adviser_id": w.b, "kind": "temporary"})),
            [401, 403, 403, 403, 403, 200, 422, 403],
        ),
        (Method::DELETE, format!("{p}/actions/{}", Uuid::new_v4()), None, [401, 404, 404, 404, 404, 404, 404, 404]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in rows {
        for (i, (who, token)) in tokens.iter().enumerate() {
            let body = if path == "/api/v1/young-people" && method == Method::POST {
                Some(json!({"first_name": "N", "last_name": "N", "email": format!("{}@n.fr", Uuid::new_v4())}))
            } else if path.ends_with("/actions") || path.ends_with("/appointments") {
                // A fresh id per caller so each creation is a real one.
                body.clone().map(|mut b| {
                    b["id"] = json!(Uuid::new_v4());
                    b
                })
            } else {
                body.clone()
            };
            let r = t.call(method.clone(), &path, token.as_deref(), body).await;
            if r.status.as_u16() != expected[i] {
                failures
                    .push(format!("{method} {path} as {who}: got {} expected {} ({})", r.status, expected[i], r.body));
            }
            if r.status.is_client_error() && !r.is_problem() {
                failures.push(format!("{method} {path} as {who}: {} is not a problem+json", r.status));
            }
        }
    }
    assert!(failures.is_empty(), "role matrix:\n{}", failures.join("\n"));
}

async fn idempotent_creation_with_client_id(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y = t.token("y1@test.fr").await;
    let body = new_action();
    let path = format!("/api/v1/young-people/{}/actions", w.y1);
    let first = t.post(&path, &y, body.clone()).await;
    let second = t.post(&path, &y, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(first.body, second.body);
    assert_eq!(first.body["id"], body["id"]);
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &y).await;
    assert_eq!(plan.body["actions"].as_array().unwrap().len(), 1);
    // Every field of the brief, instants in RFC 3339 UTC, dates as YYYY-MM-DD.
    let a = &plan.body["actions"][0];
    for field in [
        "id",
        "title",
        "description",
        "category",
        "status",
        "due_date",
        "completed_at",
        "created_by",
        "created_at",
        "updated_at",
        "reminder",
        "comments",
        "qualification",
    ] {
        assert!(a.get(field).is_some(), "action lacks {field}");
    }
    assert_eq!(a["due_date"], "2030-01-15");
    assert!(a["created_at"].as_str().unwrap().ends_with('Z'));
    let comment = json!({"id": Uuid::new_v4(), "text": "Je m'en occupe"});
    let c1 = t.post(&format!("{path}/{}/comments", body["id"].as_str().unwrap()), &y, comment.clone()).await;
    let c2 = t.post(&format!("{path}/{}/comments", body["id"].as_str().unwrap()), &y, comment).await;
    assert_eq!((c1.status, c2.status), (StatusCode::CREATED, StatusCode::OK));
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &y).await;
    assert_eq!(plan.body["actions"][0]["comments"].as_array().unwrap().len(), 1);
    let events = t.store.events(w.y1).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "action_created" || e.kind == "action_commented"), "{events:?}");
}

async fn refused_edits_are_422_with_the_reason(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y = t.token("y1@test.fr").await;
    let a = t.token("a@test.fr").await;
    let base = format!("/api/v1/young-people/{}/actions", w.y1);
    let action = t.post(&base, &a, new_action()).await;
    let id = action.body["id"].as_str().unwrap().to_owned();
    let not_done = t.post(&format!("{base}/{id}/qualification"), &a, json!({"code": "EMPLOI"})).await;
    assert_eq!(not_done.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_done.problem_codes().contains(&"qualify_not_done".to_owned()), "{:?}", not_done.body);
    let done = t.call(Method::PATCH, &format!("{base}/{id}"), Some(&y), Some(json!({"status": "done"}))).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body["completed_at"].is_string());
    let by_young = t.post(&format!("{base}/{id}/qualification"), &y, json!({"code": "EMPLOI"})).await;
    assert_eq!(by_young.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(by_young.body["type"], "/problems/edit-refused");
    assert!(!by_young.problem_codes().is_empty());
    let q = t.post(&format!("{base}/{id}/qualification"), &a, json!({"code": "FORMATION", "comment": "ok"})).await;
    assert_eq!(q.status, StatusCode::OK, "{:?}", q.body);
    assert_eq!(q.body["qualification"]["hours"], 3);
    let locked = t.call(Method::PATCH, &format!("{base}/{id}"), Some(&y), Some(json!({"title": "autre"}))).await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(locked.problem_codes().contains(&"qualified".to_owned()), "{:?}", locked.body);
    let too_long = t.post(&base, &y, json!({"title": "x".repeat(201), "category": "EMPLOI"})).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.problem_codes().contains(&"too_long".to_owned()));
    assert!(too_long.problem_fields().iter().any(|f| f.contains("title")), "{:?}", too_long.body);
    let missing =
        t.call(Method::PATCH, &format!("{base}/{}", Uuid::new_v4()), Some(&y), Some(json!({"title": "x"}))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn bad_input_is_a_4xx_problem_naming_the_field(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y = t.token("y1@test.fr").await;
    let base = format!("/api/v1/young-people/{}/actions", w.y1);
    let malformed = t.raw(Method::POST, &base, Some(&y), "application/json", b"{\"title\": ".to_vec()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.is_problem());
    let cases: Vec<(Value, &str)> = vec![
        (json!({"title": 12, "category": "EMPLOI"}), "title"),
        (json!({"title": "t", "category": "PLOMBERIE"}), "category"),
        (json!({"title": "t"}), "category"),
        (json!({"category": "EMPLOI"}), "title"),
        (json!({"title": "t", "category": "EMPLOI", "due_date": "2025-02-30"}), "due_date"),
        (json!({"title": "t", "category": "EMPLOI", "due_date": "15/01/2030"}), "due_date"),
        (json!({"title": "t", "category": "EMPLOI", "id": "not-a-uuid"}), "id"),
        (json!({"title": "t", "category": "EMPLOI", "colour": "red"}), "colour"),
        (json!({"title": "t", "category": "EMPLOI", "reminder": "yes"}), "reminder"),
    ];
    for (body, field) in cases {
        let r = t.post(&base, &y, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", r.body);
        assert!(r.is_problem());
        assert_eq!(r.problem_fields(), [field], "{body}: {:?}", r.body);
    }
    let a = t.token("a@test.fr").await;
    let bad_time = json!({"title": "RDV", "kind": "ATELIER", "starts_at": "2030-01-01 10:00", "duration_minutes": 30, "modality": "video"});
    let r = t.post(&format!("/api/v1/young-people/{}/appointments", w.y1), &a, bad_time).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), ["starts_at"]);
    let r = t
        .post(
            "/api/v1/transfers",
            &t.token("sup@test.fr").await,
            json!({"young_person_ids": ["x"], "to_adviser_id": w.a, "kind": "temporary"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), ["young_person_ids[0]"]);
    let huge = json!({"title": "t", "category": "EMPLOI", "description": "x".repeat(70 * 1024)});
    let r = t.post(&base, &y, huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.is_problem());
    let long_description = json!({"title": "t", "category": "EMPLOI", "description": "é".repeat(5001)});
    let r = t.post(&base, &y, long_description).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.problem_fields().iter().any(|f| f.contains("description")), "{:?}", r.body);
    let r = t.raw(Method::POST, &base, Some(&y), "text/plain", b"{}".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.is_problem());
    for path in ["/api/v1/young-people/not-a-uuid/plan", "/api/v1/young-people/123", "/api/v1/nothing-here"] {
        let r = t.call(Method::GET, path, Some(&y), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.is_problem());
    }
    let r = t.call(Method::PATCH, &format!("{base}/not-a-uuid"), Some(&y), Some(json!({"title": "x"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.raw(Method::POST, "/api/v1/auth/login", None, "application/json", b"{\"email\": ".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn a_restart_loses_no_acknowledged_write(db: &TestDb) {
    let action_id;
    let y1;
    {
        let t = db.app().await;
        let w = world(&t).await;
        y1 = w.y1;
        let y = t.token("y1@test.fr").await;
        let r = t.post(&format!("/api/v1/young-people/{y1}/actions"), &y, new_action()).await;
        assert_eq!(r.status, StatusCode::CREATED);
        action_id = r.body["id"].clone();
        // 70 more writes cross a compaction.
        for i in 0..70 {
            let r = t
                .call(
                    Method::PATCH,
                    &format!("/api/v1/young-people/{y1}/actions/{}", action_id.as_str().unwrap()),
                    Some(&y),
                    Some(json!({"title": format!("titre {i}")})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }
    let t = db.app().await;
    let y = t.token("y1@test.fr").await;
    let plan = t.get(&format!("/api/v1/young-people/{y1}/plan"), &y).await;
    assert_eq!(plan.body["actions"][0]["id"], action_id);
    assert_eq!(plan.body["actions"][0]["title"], "titre 69");
    let projections = t.store.projections(y1).await.unwrap();
    assert_eq!(projections.actions.len(), 1);
    assert_eq!(projections.actions[0].title, "titre 69");
}

async fn transfer_moves_the_plan(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let b = t.token("b@test.fr").await;
    let sup = t.token("sup@test.fr").await;
    let plan = format!("/api/v1/young-people/{}/plan", w.y1);
    assert_eq!(t.get(&plan, &a).await.status, StatusCode::OK);
    assert_eq!(t.get(&plan, &b).await.status, StatusCode::NOT_FOUND);
    let r = t
        .post(
            "/api/v1/transfers",
            &sup,
            json!({"young_person_ids": [w.y1], "to_adviser_id": w.b, "kind": "definitive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(t.get(&plan, &a).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&plan, &b).await.status, StatusCode::OK);
    let write = t.post(&format!("/api/v1/young-people/{}/actions", w.y1), &a, new_action()).await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.post(&format!("/api/v1/young-people/{}/actions", w.y1), &b, new_action()).await.status,
        StatusCode::CREATED
    );
    let list_a = t.get("/api/v1/young-people", &a).await;
    assert!(list_a.body.as_array().unwrap().is_empty());
    // Temporary: A follows Y2 as well as B.
    let r = t
        .post("/api/v1/transfers", &sup, json!({"young_person_ids": [w.y2], "to_adviser_id": w.a, "kind": "temporary"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.get(&format!("/api/v1/young-people/{}/plan", w.y2), &a).await.status, StatusCode::OK);
    assert_eq!(t.get(&format!("/api/v1/young-people/{}/plan", w.y2), &b).await.status, StatusCode::OK);
    // Other structure's adviser, or a young person of another structure: refused, nothing moved.
    let other = t
        .post(
            "/api/v1/transfers",
            &t.token("sup2@test.fr").await,
            json!({"young_person_ids": [w.y3], "to_adviser_id": w.other_sup, "kind": "definitive"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.get(&format!("/api/v1/young-people/{}/plan", w.y3), &b).await.status, StatusCode::OK);
}

async fn listing_counts_come_from_projections(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let base = format!("/api/v1/young-people/{}", w.y1);
    let yesterday = (Utc::now() - Duration::days(2)).date_naive().to_string();
    t.post(&format!("{base}/actions"), &a, json!({"title": "en retard", "category": "EMPLOI", "due_date": yesterday}))
        .await;
    t.post(&format!("{base}/actions"), &a, json!({"title": "à venir", "category": "EMPLOI", "due_date": "2099-01-01"}))
        .await;
    let done = t
        .post(
            &format!("{base}/actions"),
            &a,
            json!({"title": "fait", "category": "EMPLOI", "due_date": yesterday, "status": "done"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    let appt = t.post(&format!("{base}/appointments"), &a, new_appointment()).await;
    let list = t.get("/api/v1/young-people", &a).await;
    assert_eq!(list.status, StatusCode::OK);
    let line = list.body.as_array().unwrap().iter().find(|l| l["id"] == json!(w.y1)).unwrap().clone();
    assert_eq!(line["open_actions"], 2);
    assert_eq!(line["late_actions"], 1);
    assert_eq!(line["next_appointment_at"].as_str().map(|s| s.ends_with('Z')), Some(true));
    let starts: chrono::DateTime<Utc> = appt.body["starts_at"].as_str().unwrap().parse().unwrap();
    let listed: chrono::DateTime<Utc> = line["next_appointment_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts, listed);
    let sup = t.get("/api/v1/young-people", &t.token("sup@test.fr").await).await;
    assert_eq!(sup.body.as_array().unwrap().len(), 3);
}

async fn concurrent_writes_to_one_plan_all_land(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y = t.token("y1@test.fr").await;
    let a = t.token("a@test.fr").await;
    let path = format!("/api/v1/young-people/{}/actions", w.y1);
    let mut handles = Vec::new();
    for i in 0..20 {
        let app = TestApp { router: t.router.clone(), state: t.state.clone(), store: t.store.clone() };
        let token = if i % 2 == 0 { y.clone() } else { a.clone() };
        let path = path.clone();
        handles.push(tokio::spawn(async move {
            app.post(&path, &token, json!({"title": format!("action {i}"), "category": "EMPLOI"})).await.status
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &y).await;
    assert_eq!(plan.body["actions"].as_array().unwrap().len(), 20);
    assert_eq!(t.store.projections(w.y1).await.unwrap().actions.len(), 20);
}

async fn system_endpoints(db: &TestDb) {
    let t = db.app().await;
    let health = t.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["database_ok"], true);
    let expected = match db.backend {
        common::Backend::Sqlite => "sqlite",
        common::Backend::Postgres => "postgres",
    };
    assert_eq!(health.body["database"], expected);
    let doc = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/young-people/{id}/plan",
        "/api/v1/transfers",
        "/api/v1/young-people/{id}/appointments/{appointment_id}/close",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    let metrics = t.raw(Method::GET, "/metrics", None, "", Vec::new()).await;
    let text = metrics.body.as_str().unwrap().to_owned();
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"));
}

#[path = "../../../fuzz/inputs/corpus.rs"]
mod fuzz_corpus;
#[path = "../../../fuzz/inputs/rest.rs"]
mod fuzz_rest;

/// The `rest_bodies` fuzz target's corpus and reproducers, through the target's own function.
#[test]
fn rest_bodies_fuzz_corpus_replays() {
    let count = fuzz_corpus::replay("rest_bodies", fuzz_rest::one_body);
    assert!(count > 10, "the corpus is there ({count} inputs)");
}

/// The seed step of `scripts/fuzz`: one valid body of each kind.
#[test]
#[ignore = "writes fuzz/corpus/rest_bodies (scripts/fuzz seed)"]
fn rest_bodies_fuzz_seeds() {
    let seeds: Vec<Vec<u8>> = fuzz_rest::seed_bodies().into_iter().map(|b| b.as_bytes().to_vec()).collect();
    fuzz_corpus::write_seeds("rest_bodies", &seeds);
}
