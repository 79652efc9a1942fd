//! « Messages » through the web app's HTTP interface as a browser uses it, on SQLite (the store's
//! conversations are tested on both databases in `tests/integration/conversations.rs`): who sees
//! it, the forms and their refusals, the pages, the search, the « message important », the badges
//! and the live stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sync_core::model::Role;
use tower::ServiceExt;
use uuid::Uuid;

use crate::AppState;
use crate::config::Config;
use crate::demo::{create_staff, create_young_person};

const PASSWORD: &str = "mot-de-passe-test";

struct App {
    router: Router,
    dir: std::path::PathBuf,
    young: Uuid,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A structure with adviser A (who follows Y), adviser B and a supervisor (who do not).
async fn app() -> App {
    let dir = std::env::temp_dir().join(format!("pe-web-messages-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = crate::store::open(None, &dir).await.unwrap();
    let state = AppState::new(store.clone(), Config::for_tests(dir.clone(), None)).unwrap();
    let structure = Uuid::new_v4();
    store.create_structure(structure, "Mission Locale de Test", chrono::Utc::now()).await.unwrap();
    let a = create_staff(&state, Role::Adviser, "a@test.fr", "Ad", "A", Some(structure), PASSWORD).await.unwrap();
    create_staff(&state, Role::Adviser, "b@test.fr", "Ad", "B", Some(structure), PASSWORD).await.unwrap();
    create_staff(&state, Role::Supervisor, "sup@test.fr", "Su", "Per", Some(structure), PASSWORD).await.unwrap();
    let hash = state.passwords.hash(PASSWORD.into()).await.unwrap();
    let (young, _) =
        create_young_person(&state, "y@test.fr", "Yasmine", "Un", structure, Some(a), Some(hash)).await.unwrap();
    App { router: crate::app(state), dir, young }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let at = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[at..at + self.body[at..].find('"').unwrap()].to_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> (Reply, Option<String>) {
    let resp = router.clone().oneshot(request).await.unwrap();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (location, cookie) = (header("location"), header("set-cookie"));
    let status = resp.status();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (Reply { status, location, body }, cookie)
}

/// The REST API with a bearer token.
async fn api(app: &App, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
    send(&app.router, req.body(body).unwrap()).await.0
}

async fn token(app: &App, email: &str) -> String {
    let r =
        api(app, Method::POST, "/api/v1/auth/login", None, Some(json!({"email": email, "password": PASSWORD}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// A browser signed in as `email`.
struct Browser<'a> {
    app: &'a App,
    cookie: String,
}

impl<'a> Browser<'a> {
    async fn sign_in(app: &'a App, email: &str) -> Browser<'a> {
        let mut browser = Browser { app, cookie: String::new() };
        let (signed, cookie) =
            browser.request(Method::POST, "/connexion", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        browser.cookie = cookie.unwrap().split(';').next().unwrap().to_owned();
        browser
    }

    async fn request(&self, method: Method, path: &str, form: &[(&str, &str)]) -> (Reply, Option<String>) {
        let mut req = Request::builder().method(method.clone()).uri(path).header("accept", "text/html");
        if !self.cookie.is_empty() {
            req = req.header("cookie", &self.cookie);
        }
        let body = if method == Method::POST {
            req =
                req.header("content-type", "application/x-www-form-urlencoded").header("sec-fetch-site", "same-origin");
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                s.append_pair(k, v);
            }
            Body::from(s.finish())
        } else {
            Body::empty()
        };
        send(&self.app.router, req.body(body).unwrap()).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, &[]).await.0
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.request(Method::POST, path, form).await.0
    }
}

fn messages(app: &App) -> String {
    format!("/beneficiaires/{}/messages", app.young)
}

async fn young_sends(app: &App, token: &str, text: &str) -> Value {
    let path = format!("/api/v1/young-people/{}/conversation/messages", app.young);
    let sent = api(app, Method::POST, &path, Some(token), Some(json!({"text": text}))).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    sent.json()
}

async fn conversation(app: &App, token: &str) -> Value {
    let path = format!("/api/v1/young-people/{}/conversation?limit=200", app.young);
    api(app, Method::GET, &path, Some(token), None).await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adviser_reads_answers_edits_and_deletes() {
    let app = app().await;
    let young = token(&app, "y@test.fr").await;
    let adviser = token(&app, "a@test.fr").await;
    young_sends(&app, &young, "Bonjour, je cherche une alternance").await;
    let browser = Browser::sign_in(&app, "a@test.fr").await;

    // The badges: the portfolio's row and the file.
    let portfolio = browser.get("/portefeuille").await;
    assert!(
        portfolio.body.contains(r#"<span>1<span class="fr-sr-only"> message</span> non lu</span>"#),
        "{}",
        portfolio.body
    );
    let file = browser.get(&format!("/beneficiaires/{}", app.young)).await;
    assert!(file.body.contains("Ouvrir les messages") && file.body.contains("data-unread"), "{}", file.body);
    assert!(file.body.contains(&format!("/flux/beneficiaires/{}?messages=oui", app.young)));

    // The page: the young person's first name, « Nouveau », and nothing written by reading it.
    let page = browser.get(&messages(&app)).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in
        ["Messages avec Yasmine Un", "<strong>Yasmine</strong>", "Bonjour, je cherche une alternance", "Nouveau"]
    {
        assert!(page.body.contains(text), "the page lacks « {text} »: {}", page.body);
    }
    assert!(page.body.contains(&format!(r#"data-live-stream="/flux/beneficiaires/{}/messages""#, app.young)));
    assert_eq!(conversation(&app, &adviser).await["unread"], 1, "reading the page marked it read");
    let csrf = page.csrf();

    // Forgeries and refusals.
    let forged = browser.post(&messages(&app), &[("text", "Sans jeton")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let blank = browser.post(&messages(&app), &[("csrf", &csrf), ("text", "   ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.body.contains("Le champ « Message » est vide"), "{}", blank.body);
    let long = "é".repeat(5_001);
    let too_long = browser.post(&messages(&app), &[("csrf", &csrf), ("text", &long)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains("Le champ « Message » dépasse 5000 caractères"), "{}", too_long.body);
    assert!(too_long.body.contains(&long), "the typed text is kept");

    // The answer, sent twice with the same id (a double submission): one message, and what it
    // answers is read.
    let id = Uuid::new_v4().to_string();
    for _ in 0..2 {
        let sent = browser.post(&messages(&app), &[("csrf", &csrf), ("id", &id), ("text", "Venez jeudi à 10h")]).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        assert_eq!(sent.location.as_deref(), Some(format!("{}?ok=message-envoye", messages(&app)).as_str()));
    }
    let for_young = conversation(&app, &young).await;
    assert_eq!(for_young["messages"].as_array().unwrap().len(), 2);
    assert_eq!(for_young["messages"][0]["text"], "Venez jeudi à 10h");
    assert_eq!(conversation(&app, &adviser).await["unread"], 0);
    let page = browser.get(&format!("{}?ok=message-envoye", messages(&app))).await;
    assert!(page.body.contains("Votre message a été envoyé.") && page.body.contains("<strong>Vous</strong>"));
    assert!(!page.body.contains("Nouveau") && !page.body.contains("Marquer comme lu"), "{}", page.body);

    // Edit and delete one's own message; another's has no page.
    let mine = format!("{}/{id}", messages(&app));
    let theirs = for_young["messages"][1]["id"].as_str().unwrap();
    assert_eq!(browser.get(&format!("{}/{theirs}", messages(&app))).await.status, StatusCode::NOT_FOUND);
    let edit_page = browser.get(&mine).await;
    assert_eq!(edit_page.status, StatusCode::OK);
    assert!(edit_page.body.contains("Venez jeudi à 10h</textarea>"));
    let blank = browser.post(&format!("{mine}/modifier"), &[("csrf", &csrf), ("text", "")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    let edited = browser.post(&format!("{mine}/modifier"), &[("csrf", &csrf), ("text", "Venez jeudi à 11h")]).await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let page = browser.get(&messages(&app)).await;
    assert!(page.body.contains("Venez jeudi à 11h") && page.body.contains(">modifié</span>"), "{}", page.body);
    let refused = browser.post(&format!("{}/{theirs}/suppression", messages(&app)), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "another's message: {}", refused.body);
    let deleted = browser.post(&format!("{mine}/suppression"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let page = browser.get(&messages(&app)).await;
    assert!(page.body.contains("Message supprimé") && !page.body.contains("Venez jeudi à 11h"));
    assert_eq!(conversation(&app, &young).await["messages"][0]["deleted"], true);
    assert_eq!(browser.get(&mine).await.status, StatusCode::NOT_FOUND, "a deleted message has no edit page");

    // « Marquer comme lu », up to the newest message shown.
    young_sends(&app, &young, "Merci, à jeudi").await;
    let page = browser.get(&messages(&app)).await;
    assert!(page.body.contains("Marquer comme lu"));
    let at = page.body.find(r#"name="until" value=""#).unwrap() + r#"name="until" value=""#.len();
    let until = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let read = browser.post(&format!("{}/lu", messages(&app)), &[("csrf", &csrf), ("until", &until)]).await;
    assert_eq!(read.status, StatusCode::SEE_OTHER, "{}", read.body);
    assert_eq!(conversation(&app, &adviser).await["unread"], 0);
    assert!(!browser.get("/portefeuille").await.body.contains("data-unread"));

    // Search.
    let found = browser.get(&format!("{}?q=alternance", messages(&app))).await;
    assert!(found.body.contains("1 message trouvé") && found.body.contains("data-results"), "{}", found.body);
    let none = browser.get(&format!("{}?q=introuvable", messages(&app))).await;
    assert!(none.body.contains("Aucun message ne contient « introuvable »"), "{}", none.body);
    let long = browser.get(&format!("{}?q={}", messages(&app), "a".repeat(201))).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_the_important_message_and_who_may_see() {
    let app = app().await;
    let young = token(&app, "y@test.fr").await;
    for i in 0..25 {
        young_sends(&app, &young, &format!("Message numéro {i:02}")).await;
    }
    let browser = Browser::sign_in(&app, "a@test.fr").await;
    let page = browser.get(&messages(&app)).await;
    assert_eq!(page.body.matches("data-message=").count(), 20);
    assert!(page.body.contains("Message numéro 24") && !page.body.contains("Message numéro 04"));
    let at = page.body.find("?avant=").expect("« Messages plus anciens »");
    let older_path = format!("{}{}", messages(&app), &page.body[at..at + page.body[at..].find('"').unwrap()]);
    assert!(page.body.contains("Messages plus anciens"));
    let older = browser.get(&older_path).await;
    assert_eq!(older.body.matches("data-message=").count(), 5, "{}", older.body);
    assert!(older.body.contains("Message numéro 00") && older.body.contains("Revenir aux messages récents"));
    assert!(!older.body.contains("Messages plus anciens"));

    // The « message important »: a bad period next to its field, then pinned and taken down.
    let csrf = page.csrf();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let day = |d: i64| (today + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let important = format!("{}/important", messages(&app));
    let form = |text: &'static str, starts: String, ends: String| {
        vec![("csrf", csrf.clone()), ("important_text", text.to_owned()), ("starts_on", starts), ("ends_on", ends)]
    };
    let post = async |fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post(&important, &fields).await
    };
    let backwards = post(form("Atelier CV mardi", day(3), day(1))).await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(backwards.body.contains(r#"id="ends_on-error""#) && backwards.body.contains("Atelier CV mardi</textarea>"));
    let too_long = post(form("Atelier CV mardi", day(0), day(400))).await;
    assert!(too_long.body.contains("366 jours au plus"), "{}", too_long.body);
    let blank = post(form(" ", day(0), day(7))).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.body.contains("Le champ « Texte du message important » est vide"), "{}", blank.body);
    let pinned = post(form("Atelier CV mardi", day(0), day(7))).await;
    assert_eq!(pinned.status, StatusCode::SEE_OTHER, "{}", pinned.body);
    let page = browser.get(&messages(&app)).await;
    assert!(page.body.contains("data-important") && page.body.contains("Affiché aujourd"), "{}", page.body);
    assert_eq!(conversation(&app, &young).await["important"]["text"], "Atelier CV mardi");
    let down = browser.post(&format!("{important}/retrait"), &[("csrf", &csrf)]).await;
    assert_eq!(down.status, StatusCode::SEE_OTHER, "{}", down.body);
    assert!(!browser.get(&messages(&app)).await.body.contains("data-important"));
    assert!(conversation(&app, &young).await["important"].is_null());

    // A supervisor who does not follow Y reads the file, not the messages; adviser B reads neither.
    let sup = Browser::sign_in(&app, "sup@test.fr").await;
    let file = sup.get(&format!("/beneficiaires/{}", app.young)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(!file.body.contains("Ouvrir les messages") && !file.body.contains("?messages=oui"));
    let sup_csrf = file.csrf();
    let b = Browser::sign_in(&app, "b@test.fr").await;
    for browser in [&sup, &b] {
        for path in [messages(&app), older_path.clone(), format!("/flux/beneficiaires/{}/messages", app.young)] {
            assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    let intrusion = sup.post(&messages(&app), &[("csrf", &sup_csrf), ("text", "Intrus")]).await;
    assert_eq!(intrusion.status, StatusCode::NOT_FOUND);
    assert!(!conversation(&app, &young).await.to_string().contains("Intrus"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_tells_of_a_message() {
    let app = app().await;
    let young = token(&app, "y@test.fr").await;
    let browser = Browser::sign_in(&app, "a@test.fr").await;
    let req = Request::builder()
        .uri(format!("/flux/beneficiaires/{}/messages", app.young))
        .header("cookie", &browser.cookie)
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut seen = String::new();
    let mut next = async |seen: &mut String| {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("an event in time");
        if let Some(Ok(frame)) = frame {
            if let Some(data) = frame.data_ref() {
                seen.push_str(&String::from_utf8_lossy(data));
            }
        }
    };
    next(&mut seen).await;
    assert!(seen.contains("event: ready"), "{seen}");
    young_sends(&app, &young, "Je suis en bas").await;
    while !seen.contains("event: plan") {
        next(&mut seen).await;
    }
    assert!(seen.contains(&format!("data: {}", app.young)), "{seen}");
}
