//! The test harness: a fresh store per test on SQLite (temp dir) and on PostgreSQL (a database of
//! its own, created from TEST_DATABASE_URL and dropped after), and an HTTP client over the app.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::config::Config;
use server::store::{self, DynStore};
use server::{AppState, app};
use sqlx::{AssertSqlSafe, Connection};
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub backend: Backend,
    pub dir: PathBuf,
    pub url: Option<String>,
    admin_url: Option<String>,
    db_name: Option<String>,
}

impl TestDb {
    /// `None` (after saying so loudly) when PostgreSQL is asked for and TEST_DATABASE_URL is unset;
    /// with `CI` set, an unset URL or an unreachable server fails the test instead.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = std::env::temp_dir().join(format!("pe-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => Some(TestDb { backend, dir, url: None, admin_url: None, db_name: None }),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    // In CI a skipped backend would pass unseen: there, PostgreSQL is required.
                    assert!(std::env::var_os("CI").is_none(), "CI is set but TEST_DATABASE_URL is not");
                    eprintln!("SKIPPED: PostgreSQL tests (TEST_DATABASE_URL unset)");
                    return None;
                };
                let name = format!("test_{}", Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect TEST_DATABASE_URL");
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
                conn.close().await.ok();
                let (base, _) = admin_url.rsplit_once('/').expect("URL with a database name");
                let url = format!("{base}/{name}");
                Some(TestDb { backend, dir, url: Some(url), admin_url: Some(admin_url), db_name: Some(name) })
            }
        }
    }

    pub async fn open(&self) -> DynStore {
        store::open(self.url.as_deref(), &self.dir).await.expect("open store")
    }

    pub fn config(&self) -> Config {
        Config::for_tests(self.dir.clone(), self.url.clone())
    }

    pub async fn app(&self) -> TestApp {
        self.app_with(|_| {}).await
    }

    /// An app on this database whose configuration `tune` adjusted.
    pub async fn app_with(&self, tune: impl FnOnce(&mut Config)) -> TestApp {
        let store = self.open().await;
        let mut config = self.config();
        tune(&mut config);
        let state = AppState::new(store.clone(), config).unwrap();
        TestApp { router: app(state.clone()), state, store }
    }

    /// Drops the PostgreSQL database and the temp dir.
    pub async fn cleanup(self) {
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.db_name) {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs each named `async fn(TestDb)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await.unwrap();
                super::$name(&db).await;
                db.cleanup().await;
            })+
        }
        $crate::on_postgres!($($name),+);
    };
}

/// Runs each named `async fn(TestDb)` on PostgreSQL only (what needs several instances sharing
/// one database; an SQLite file serves one process).
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await else { return };
                super::$name(&db).await;
                db.cleanup().await;
            })+
        }
    };
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: DynStore,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn problem_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|es| es.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn problem_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|es| es.iter().map(|e| e["code"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn is_problem(&self) -> bool {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/problem+json")
            && self.body["status"].as_u64() == Some(u64::from(self.status.as_u16()))
            && self.body["type"].as_str().is_some_and(|t| t.starts_with("/problems/"))
    }
}

impl TestApp {
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if !body.is_empty() {
            req = req.header("content-type", content_type);
        }
        let resp = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        self.raw(method, path, token, "application/json", bytes).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await
    }

    pub async fn token(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }
}

pub const PASSWORD: &str = "mot-de-passe-test";

/// A structure with a supervisor, advisers A and B, young people Y1 (A's), Y2 and Y3 (B's),
/// an admin, and a supervisor of another structure.
pub struct World {
    pub structure: Uuid,
    pub sup: Uuid,
    pub a: Uuid,
    pub b: Uuid,
    pub y1: Uuid,
    pub y2: Uuid,
    pub y3: Uuid,
    pub admin: Uuid,
    pub other_sup: Uuid,
}

pub async fn world(t: &TestApp) -> World {
    use server::demo::{create_staff, create_young_person};
    use sync_core::model::Role;
    let s = &t.state;
    let structure = Uuid::new_v4();
    t.store.create_structure(structure, "Mission Locale de Test", chrono::Utc::now()).await.unwrap();
    let other = Uuid::new_v4();
    t.store.create_structure(other, "Mission Locale d'ailleurs", chrono::Utc::now()).await.unwrap();
    let sup = create_staff(s, Role::Supervisor, "sup@test.fr", "Su", "Per", Some(structure), PASSWORD).await.unwrap();
    let a = create_staff(s, Role::Adviser, "a@test.fr", "Ad", "A", Some(structure), PASSWORD).await.unwrap();
    let b = create_staff(s, Role::Adviser, "b@test.fr", "Ad", "B", Some(structure), PASSWORD).await.unwrap();
    let admin = create_staff(s, Role::Admin, "admin@test.fr", "Ad", "Min", None, PASSWORD).await.unwrap();
    let other_sup =
        create_staff(s, Role::Supervisor, "sup2@test.fr", "Su", "Two", Some(other), PASSWORD).await.unwrap();
    let hash = s.passwords.hash(PASSWORD.into()).await.unwrap();
    let (y1, _) =
        create_young_person(s, "y1@test.fr", "Y", "Un", structure, Some(a), Some(hash.clone())).await.unwrap();
    let (y2, _) =
        create_young_person(s, "y2@test.fr", "Y", "Deux", structure, Some(b), Some(hash.clone())).await.unwrap();
    let (y3, _) = create_young_person(s, "y3@test.fr", "Y", "Trois", structure, Some(b), Some(hash)).await.unwrap();
    World { structure, sup, a, b, y1, y2, y3, admin, other_sup }
}
/// One edit through `Documents::write` (the path of every REST write) at an injected `now`.
pub async fn edit(
    t: &TestApp,
    yp: Uuid,
    author: &sync_core::Author,
    now: chrono::DateTime<chrono::Utc>,
    f: impl FnOnce(
        &mut sync_core::PlanDocument,
        &sync_core::Author,
        chrono::DateTime<chrono::Utc>,
    ) -> Result<sync_core::edit::EditOutcome, sync_core::EditError>,
) -> sync_core::edit::EditOutcome {
    let doc = t.store.document_of(yp).await.unwrap().unwrap();
    let (_, outcome, _) = t
        .state
        .documents
        .write(&doc, yp, author.user_id, now, |d| f(d, author, now).map(|o| ((), o)), |_, _, _| ())
        .await
        .unwrap();
    outcome
}

pub mod sync_client;
