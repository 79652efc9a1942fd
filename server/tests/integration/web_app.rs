//! The advisers' web app, through its HTTP interface as a browser uses it: sign-in and the session
//! cookie, CSRF, pages that exist only for the right adviser, forms that write through the API's
//! write path and show the rulebook's refusals, and the live stream of a plan.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use std::time::Duration;
use tower::ServiceExt;
use uuid::Uuid;

use crate::common::{PASSWORD, TestApp, TestDb, world};

/// A browser: the session cookie it holds, and the last page it got.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    headers: axum::http::HeaderMap,
    html: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let at = self.html.find(r#"name="csrf" value=""#).expect("a form with a CSRF token");
        let rest = &self.html[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser { app, cookie: None }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = Request::builder().method(method).uri(path).header("accept", "text/html");
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", format!("pe_session={cookie}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match form {
            Some(fields) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in fields {
                    s.append_pair(k, v);
                }
                Body::from(s.finish())
            }
            None => Body::empty(),
        };
        let resp = self.app.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let location = header("location");
        let set_cookie = header("set-cookie");
        if let Some(sc) = &set_cookie {
            let value = sc.split(';').next().unwrap().trim_start_matches("pe_session=").to_owned();
            self.cookie = (!value.is_empty()).then_some(value);
        }
        let headers = resp.headers().clone();
        let html = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Page { status, location, set_cookie, headers, html }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[("sec-fetch-site", "same-origin")]).await
    }

    async fn sign_in(&mut self, email: &str) -> Page {
        let page = self.post("/connexion", &[("email", email), ("password", PASSWORD), ("suivant", "")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        page
    }
}

async fn plan_titles(t: &TestApp, token: &str, yp: Uuid) -> Vec<String> {
    let plan = t.get(&format!("/api/v1/young-people/{yp}/plan"), token).await;
    plan.body["actions"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
}

async fn sign_in_and_its_cookie(db: &TestDb) {
    let t = db.app().await;
    world(&t).await;
    let mut browser = Browser::new(&t);
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["Adresse électronique", "Mot de passe", "Se connecter", "Pass emploi — espace conseiller"] {
        assert!(page.html.contains(text), "the sign-in page lacks « {text} »");
    }
    // An unknown email and a wrong password: the same answer.
    let wrong = browser.post("/connexion", &[("email", "a@test.fr"), ("password", "pas le bon")]).await;
    let unknown = browser.post("/connexion", &[("email", "nobody@test.fr"), ("password", "pas le bon")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(wrong.html.replace("a@test.fr", ""), unknown.html.replace("nobody@test.fr", ""));
    assert!(wrong.html.contains("Adresse électronique ou mot de passe incorrect."));
    assert!(wrong.set_cookie.is_none() && unknown.set_cookie.is_none());
    // A young person and an admin are told the space is for advisers, with no session.
    for email in ["y1@test.fr", "admin@test.fr"] {
        let page = browser.post("/connexion", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{email}");
        assert!(page.html.contains("réservé aux conseillers"), "{email}");
        assert!(page.set_cookie.is_none(), "{email}");
    }
    let signed = browser.sign_in("a@test.fr").await;
    assert_eq!(signed.location.as_deref(), Some("/portefeuille"));
    let cookie = signed.set_cookie.unwrap();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "served over plain http here");
    let first = browser.cookie.clone().unwrap();
    // Signed in, `/` goes to the portfolio; a second sign-in gets a fresh session id.
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/portefeuille"));
    browser.sign_in("a@test.fr").await;
    assert_ne!(browser.cookie.as_deref(), Some(first.as_str()));
    // The session cookie is not an API bearer token.
    let api = t.get("/api/v1/me", &first).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

async fn a_missing_session_signs_in_then_comes_back(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    let path = format!("/beneficiaires/{}", w.y1);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let to = page.location.unwrap();
    assert_eq!(to, format!("/?suivant=%2Fbeneficiaires%2F{}", w.y1));
    assert!(browser.get(&to).await.html.contains(&format!(r#"name="suivant" value="{path}""#)));
    let signed =
        browser.post("/connexion", &[("email", "a@test.fr"), ("password", PASSWORD), ("suivant", &path)]).await;
    assert_eq!(signed.location.as_deref(), Some(path.as_str()));
    // A form posted after the session ended comes back to the form's page, not to the post's URL.
    let mut expired = Browser::new(&t);
    let posted = expired
        .send(
            Method::POST,
            &format!("{path}/actions"),
            Some(&[("csrf", "x"), ("title", "t")]),
            &[
                ("sec-fetch-site", "same-origin"),
                ("host", "127.0.0.1:8080"),
                ("referer", &format!("http://127.0.0.1:8080{path}/actions/nouvelle")),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location, Some(format!("/?suivant=%2Fbeneficiaires%2F{}%2Factions%2Fnouvelle", w.y1)));
    // Never to another site.
    let mut other = Browser::new(&t);
    let signed = other
        .post("/connexion", &[("email", "a@test.fr"), ("password", PASSWORD), ("suivant", "//evil.example/")])
        .await;
    assert_eq!(signed.location.as_deref(), Some("/portefeuille"));
}

fn action_form(csrf: &str) -> Vec<(&str, &str)> {
    vec![("csrf", csrf), ("title", "Forgée"), ("category", "EMPLOI")]
}

async fn forms_refuse_forgeries(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let token = t.token("a@test.fr").await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let form_page = browser.get(&format!("/beneficiaires/{}/actions/nouvelle", w.y1)).await;
    let csrf = form_page.csrf();
    let path = format!("/beneficiaires/{}/actions", w.y1);
    // From another site, even with the right token.
    let cross = browser.send(Method::POST, &path, Some(&action_form(&csrf)), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.html.contains("Accès refusé"));
    let origin = browser
        .send(
            Method::POST,
            &path,
            Some(&action_form(&csrf)),
            &[("origin", "http://evil.example"), ("host", "127.0.0.1")],
        )
        .await;
    assert_eq!(origin.status, StatusCode::FORBIDDEN);
    // From our own origin without the token, or with another session's.
    assert_eq!(browser.post(&path, &action_form("")).await.status, StatusCode::FORBIDDEN);
    let mut other = Browser::new(&t);
    other.sign_in("a@test.fr").await;
    let others = other.get("/portefeuille").await.csrf();
    assert_eq!(browser.post(&path, &action_form(&others)).await.status, StatusCode::FORBIDDEN);
    assert!(plan_titles(&t, &token, w.y1).await.is_empty(), "no forged action was written");
    // The real form writes through the API's path: the API reads it back.
    let ok = browser.post(&path, &action_form(&csrf)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html);
    assert_eq!(plan_titles(&t, &token, w.y1).await, vec!["Forgée".to_owned()]);
}

async fn sign_out_and_revocations_end_the_session(db: &TestDb) {
    let t = db.app().await;
    let _w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let cookie = browser.cookie.clone().unwrap();
    let csrf = browser.get("/portefeuille").await.csrf();
    let out = browser.post("/deconnexion", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    browser.cookie = Some(cookie);
    let after = browser.get("/portefeuille").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the old cookie opens nothing");
    assert_eq!(after.location.as_deref(), Some("/"));
    // The API's revocation of a family (refresh-token reuse, logout) ends a browser session too.
    let mut second = Browser::new(&t);
    second.sign_in("a@test.fr").await;
    assert_eq!(second.get("/portefeuille").await.status, StatusCode::OK);
    let owner = t
        .store
        .access_token_owner(
            &server::auth::tokens::hash_token(&format!("web:{}", second.cookie.clone().unwrap())),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    t.store.revoke_family(owner.family_id, chrono::Utc::now()).await.unwrap();
    assert_eq!(second.get("/portefeuille").await.status, StatusCode::SEE_OTHER);
}

async fn another_advisers_young_person_is_the_404_page(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    assert_eq!(browser.get(&format!("/beneficiaires/{}", w.y1)).await.status, StatusCode::OK);
    for path in [
        format!("/beneficiaires/{}", w.y2),
        format!("/beneficiaires/{}/actions/nouvelle", w.y2),
        format!("/beneficiaires/{}", Uuid::new_v4()),
        format!("/beneficiaires/{}/actions/{}", w.y1, Uuid::new_v4()),
        "/beneficiaires/pas-un-id".to_owned(),
        "/nulle-part".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.html.contains("Page introuvable"), "{path}");
        assert!(
            page.html.contains("Se déconnecter") && page.html.contains("Aller au menu"),
            "{path}: the signed-in layout"
        );
    }
    let signed_out = Browser::new(&t).get("/nulle-part").await;
    assert_eq!(signed_out.status, StatusCode::NOT_FOUND);
    assert!(!signed_out.html.contains("Se déconnecter"));
    // The API keeps its problem documents.
    let api = t.get(&format!("/api/v1/young-people/{}", w.y2), &t.token("a@test.fr").await).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.is_problem());
    // An adviser's page that only supervisors have.
    assert_eq!(browser.get("/reaffectation").await.status, StatusCode::FORBIDDEN);
}

async fn a_refused_form_says_why_and_keeps_what_was_typed(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let csrf = browser.get(&format!("/beneficiaires/{}/actions/nouvelle", w.y1)).await.csrf();
    let long_title = "t".repeat(201);
    let page = browser
        .post(
            &format!("/beneficiaires/{}/actions", w.y1),
            &[("csrf", &csrf), ("title", &long_title), ("description", "Garder ce texte"), ("category", "EMPLOI")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("« Titre » dépasse 200 caractères"), "{}", page.html);
    assert!(page.html.contains(r#"id="title-error""#), "the message is next to its field");
    assert!(page.html.contains("Garder ce texte") && page.html.contains(&long_title), "the form keeps what was typed");
    // A date the form cannot read.
    let page = browser
        .post(
            &format!("/beneficiaires/{}/actions", w.y1),
            &[("csrf", &csrf), ("title", "Bon titre"), ("category", "EMPLOI"), ("due_date", "32/13/2026")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(r#"id="due_date-error""#));
}

async fn an_action_is_created_completed_by_the_phone_and_qualified(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let young = t.token("y1@test.fr").await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let csrf = browser.get(&format!("/beneficiaires/{}/actions/nouvelle", w.y1)).await.csrf();
    let id = Uuid::new_v4().to_string();
    let fields = [("csrf", csrf.as_str()), ("id", &id), ("title", "Postuler chez Decathlon"), ("category", "EMPLOI")];
    let created = browser.post(&format!("/beneficiaires/{}/actions", w.y1), &fields).await;
    assert_eq!(created.location, Some(format!("/beneficiaires/{}?ok=action-creee", w.y1)));
    // A double submission (same form id) creates nothing more.
    browser.post(&format!("/beneficiaires/{}/actions", w.y1), &fields).await;
    assert_eq!(plan_titles(&t, &young, w.y1).await.len(), 1);
    let file = browser.get(&format!("/beneficiaires/{}?ok=action-creee", w.y1)).await;
    assert!(file.html.contains("Postuler chez Decathlon") && file.html.contains("a été créée"));
    let action_page = format!("/beneficiaires/{}/actions/{id}", w.y1);
    assert!(!browser.get(&action_page).await.html.contains("Qualifier l'action"), "not done yet");
    // The young person completes it (the API here; the browser tests use the phone's client).
    let done = t
        .call(
            Method::PATCH,
            &format!("/api/v1/young-people/{}/actions/{id}", w.y1),
            Some(&young),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let page = browser.get(&action_page).await;
    assert!(page.html.contains("Terminée") && page.html.contains("Qualifier l'action"));
    let qualified = browser
        .post(
            &format!("{action_page}/qualification"),
            &[("csrf", &page.csrf()), ("code", "EMPLOI"), ("comment", "CV envoyé")],
        )
        .await;
    assert_eq!(qualified.status, StatusCode::SEE_OTHER, "{}", qualified.html);
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &young).await;
    assert_eq!(plan.body["actions"][0]["qualification"]["hours"], 3);
    // Qualified: read-only, and the rulebook's refusal is shown in French.
    let page = browser.get(&action_page).await;
    assert!(page.html.contains("Qualifiée") && !page.html.contains("Changer le statut"));
    let refused =
        browser.post(&format!("{action_page}/statut"), &[("csrf", &page.csrf()), ("status", "in_progress")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("qualifiée"), "{}", refused.html);
}

async fn appointments_are_scheduled_in_the_advisers_time_zone(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let young = t.token("y1@test.fr").await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let csrf = browser.get(&format!("/beneficiaires/{}/rendez-vous/nouveau", w.y1)).await.csrf();
    let day = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive().format("%Y-%m-%d").to_string();
    let id = Uuid::new_v4().to_string();
    let page = browser
        .post(
            &format!("/beneficiaires/{}/rendez-vous", w.y1),
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("title", "Point mensuel"),
                ("kind", "ENTRETIEN_INDIVIDUEL_CONSEILLER"),
                ("date", &day),
                ("time", "09:30"),
                ("duration", "45"),
                ("modality", "in_person"),
                ("address", "12 rue de la République, Lyon"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &young).await;
    let starts: chrono::DateTime<chrono::Utc> =
        plan.body["appointments"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts.with_timezone(&chrono_tz::Europe::Paris).format("%H:%M").to_string(), "09:30");
    let detail = format!("/beneficiaires/{}/rendez-vous/{id}", w.y1);
    let page = browser.get(&detail).await;
    assert!(page.html.contains("09h30") && !page.html.contains("Clore le rendez-vous"), "not started: no closing");
    // Rescheduled, then canceled.
    let moved = browser
        .post(
            &format!("{detail}/modifier"),
            &[
                ("csrf", &page.csrf()),
                ("title", "Point mensuel"),
                ("kind", "ENTRETIEN_INDIVIDUEL_CONSEILLER"),
                ("date", &day),
                ("time", "14:00"),
                ("duration", "30"),
                ("modality", "phone"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    assert!(browser.get(&detail).await.html.contains("14h00"));
    let canceled = browser.post(&format!("{detail}/annulation"), &[("csrf", &page.csrf())]).await;
    assert_eq!(canceled.status, StatusCode::SEE_OTHER);
    let plan = t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &young).await;
    assert_eq!(plan.body["appointments"][0]["status"], "canceled");
    assert_eq!(plan.body["appointments"][0]["duration_minutes"], 30);
}

async fn the_live_stream_tells_of_a_phone_edit(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let young = t.token("y1@test.fr").await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    // Another adviser's plan has no stream.
    let req = |cookie: &str, path: String| {
        Request::builder().uri(path).header("cookie", format!("pe_session={cookie}")).body(Body::empty()).unwrap()
    };
    let cookie = browser.cookie.clone().unwrap();
    let refused = t.router.clone().oneshot(req(&cookie, format!("/flux/beneficiaires/{}", w.y2))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let resp = t.router.clone().oneshot(req(&cookie, format!("/flux/beneficiaires/{}", w.y1))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
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
    let created = t
        .post(
            &format!("/api/v1/young-people/{}/actions", w.y1),
            &young,
            json!({"title": "Depuis le téléphone", "category": "SANTE"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    while !seen.contains("event: plan") {
        next(&mut seen).await;
    }
    assert!(seen.contains(&format!("data: {}", w.y1)), "{seen}");
}

async fn a_supervisor_transfers_and_the_old_adviser_loses_the_file(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut adviser_a = Browser::new(&t);
    adviser_a.sign_in("a@test.fr").await;
    let file = format!("/beneficiaires/{}", w.y1);
    assert_eq!(adviser_a.get(&file).await.status, StatusCode::OK);
    let mut sup = Browser::new(&t);
    sup.sign_in("sup@test.fr").await;
    let page = sup.get("/reaffectation").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Y Un") && page.html.contains("Ad B"));
    let y1 = w.y1.to_string();
    let b = w.b.to_string();
    let done = sup
        .post("/reaffectation", &[("csrf", &page.csrf()), ("young_person", &y1), ("to", &b), ("kind", "definitive")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("1 jeune(s) réaffecté(s) définitivement à Ad B"), "{}", done.html);
    assert_eq!(adviser_a.get(&file).await.status, StatusCode::NOT_FOUND);
    let mut adviser_b = Browser::new(&t);
    adviser_b.sign_in("b@test.fr").await;
    assert_eq!(adviser_b.get(&file).await.status, StatusCode::OK);
    // Nothing chosen: said in French, nothing moved.
    let page = sup.get("/reaffectation").await;
    let refused = sup.post("/reaffectation", &[("csrf", &page.csrf()), ("to", &b)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("Choisissez au moins un jeune."));
}

/// The first `/archives/<id>` link of a page.
fn archive_link(html: &str) -> String {
    let at = html.find(r#"href="/archives/"#).expect("a link to an archive");
    let rest = &html[at + r#"href=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn an_adviser_archives_through_the_form(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    // Ad B follows Y Un too (temporarily): told in their notification centre.
    let sup = t.token("sup@test.fr").await;
    let moved = t
        .post("/api/v1/transfers", &sup, json!({"young_person_ids": [w.y1], "to_adviser_id": w.b, "kind": "temporary"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let file_path = format!("/beneficiaires/{}", w.y1);
    let file = browser.get(&file_path).await;
    assert!(file.html.contains("Archiver le bénéficiaire") && file.html.contains("Exporter les données"));
    assert!(!file.html.contains("Supprimer le compte"), "an activated account is not offered deletion");
    let form_path = format!("{file_path}/archiver");
    let form = browser.get(&form_path).await;
    assert_eq!(form.status, StatusCode::OK);
    for text in [
        "Motif",
        "Date de fin d'accompagnement",
        "Aujourd'hui si vide",
        "Commentaire",
        "« Autre »",
        "Formation",
        "ne peut plus se connecter",
        "2 ans",
    ] {
        assert!(form.html.contains(text), "the archive form lacks « {text} »");
    }
    assert!(!form.html.contains(r#"value="inactivity""#), "the retention pass's reason is not offered");
    // Without the CSRF token: refused, nothing archived.
    let forged = browser.post(&form_path, &[("reason", "training")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get(&file_path).await.status, StatusCode::OK, "nothing was archived");
    // « Autre » without a comment: the message next to its field, what was typed kept.
    let refused =
        browser.post(&form_path, &[("csrf", &form.csrf()), ("reason", "other"), ("ended_on", "1999-01-01")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    assert!(
        refused.html.contains(r#"id="comment-error""#) && refused.html.contains("Précisez le motif"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains(r#"id="ended_on-error""#), "{}", refused.html);
    assert!(refused.html.contains(r#"value="1999-01-01""#) && refused.html.contains(r#"value="other" selected"#));
    let blank = browser.post(&form_path, &[("csrf", &form.csrf()), ("reason", "")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.html.contains(r#"id="reason-error""#) && blank.html.contains("Choisissez le motif"));
    assert_eq!(browser.get(&file_path).await.status, StatusCode::OK, "nothing was archived");
    // Archived.
    let done = browser
        .post(
            &form_path,
            &[("csrf", &form.csrf()), ("reason", "training"), ("ended_on", ""), ("comment", "BTS en alternance")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let to = done.location.unwrap();
    assert!(to.starts_with("/portefeuille?ok=beneficiaire-archive&archive="), "{to}");
    let portfolio = browser.get(&to).await;
    assert!(portfolio.html.contains("Y Un a été archivé·e."), "{}", portfolio.html);
    assert!(!portfolio.html.contains(&file_path), "Y Un is still in the portfolio");
    assert_eq!(browser.get(&file_path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get(&form_path).await.status, StatusCode::NOT_FOUND);
    // A forged archive id names nobody.
    let other = browser.get(&format!("/portefeuille?ok=beneficiaire-archive&archive={}", Uuid::new_v4())).await;
    assert!(other.html.contains("Le bénéficiaire a été archivé.") && !other.html.contains("Y Un"));
    // The structure's archives list it; its page summarises the export.
    let archives = browser.get("/archives").await;
    assert_eq!(archives.status, StatusCode::OK);
    for text in ["Y Un", "y1@test.fr", "Formation", "Ad A", "Archivé par", "Supprimé le"] {
        assert!(archives.html.contains(text), "/archives lacks « {text} »");
    }
    let archive_path = archive_link(&archives.html);
    let archive = browser.get(&archive_path).await;
    assert_eq!(archive.status, StatusCode::OK);
    assert!(archive.html.contains("BTS en alternance") && archive.html.contains(r#"data-count="Actions""#));
    assert!(archive.html.contains(&format!(r#"href="{archive_path}/export""#)));
    let download = browser.get(&format!("{archive_path}/export")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers["content-type"], "application/json");
    let disposition = download.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with(r#"attachment; filename="export-y-un-"#), "{disposition}");
    let export: serde_json::Value = serde_json::from_str(&download.html).unwrap();
    assert_eq!(export["account"]["email"], "y1@test.fr");
    // The other follower is told, with no link to a file that is gone.
    let mut adviser_b = Browser::new(&t);
    adviser_b.sign_in("b@test.fr").await;
    let centre = adviser_b.get("/notifications").await;
    assert!(
        centre.html.contains("un bénéficiaire") && centre.html.contains("Le compte de Y Un a été archivé"),
        "{}",
        centre.html
    );
    assert!(!centre.html.contains(&file_path), "a link to the file that is gone: {}", centre.html);
    // Every adviser of the structure reads its archives.
    assert_eq!(adviser_b.get(&archive_path).await.status, StatusCode::OK);
}

async fn another_structures_archive_is_the_404_page(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let form_path = format!("/beneficiaires/{}/archiver", w.y1);
    let csrf = browser.get(&form_path).await.csrf();
    let done = browser.post(&form_path, &[("csrf", &csrf), ("reason", "moved")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let archive_path = archive_link(&browser.get("/archives").await.html);
    let mut elsewhere = Browser::new(&t);
    elsewhere.sign_in("sup2@test.fr").await;
    let list = elsewhere.get("/archives").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.html.contains("Y Un") && list.html.contains("Aucune archive"));
    for path in [
        archive_path.clone(),
        format!("{archive_path}/export"),
        format!("/archives/{}", Uuid::new_v4()),
        "/archives/pas-un-id".into(),
    ] {
        let page = elsewhere.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.html.contains("Page introuvable"), "{path}");
    }
    // Another adviser's young person: no form, no export, no deletion.
    for path in ["archiver", "export", "supprimer"] {
        let page = browser.get(&format!("/beneficiaires/{}/{path}", w.y2)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let csrf = browser.get("/portefeuille").await.csrf();
    let refused =
        browser.post(&format!("/beneficiaires/{}/archiver", w.y2), &[("csrf", &csrf), ("reason", "moved")]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let mut adviser_b = Browser::new(&t);
    adviser_b.sign_in("b@test.fr").await;
    assert_eq!(
        adviser_b.get(&format!("/beneficiaires/{}", w.y2)).await.status,
        StatusCode::OK,
        "Y Deux was not archived"
    );
}

async fn an_adviser_deletes_an_account_never_activated(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let csrf = browser.get("/beneficiaires/nouveau").await.csrf();
    let created = browser
        .post(
            "/beneficiaires/nouveau",
            &[("csrf", &csrf), ("first_name", "Nina"), ("last_name", "Jamais"), ("email", "nina@test.fr")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.html);
    let at = created.html.find(r#"href="/beneficiaires/"#).unwrap() + r#"href=""#.len();
    let file_path = created.html[at..at + created.html[at..].find('"').unwrap()].to_owned();
    let file = browser.get(&file_path).await;
    assert!(file.html.contains(&format!(r#"href="{file_path}/supprimer""#)), "{}", file.html);
    let confirm = browser.get(&format!("{file_path}/supprimer")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.html.contains("La suppression est définitive") && confirm.html.contains("nina@test.fr"));
    // Without the token: refused, nothing deleted.
    let forged = browser.post(&format!("{file_path}/supprimer"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get(&file_path).await.status, StatusCode::OK);
    let deleted = browser.post(&format!("{file_path}/supprimer"), &[("csrf", &confirm.csrf())]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.html);
    assert_eq!(deleted.location.as_deref(), Some("/portefeuille?ok=compte-supprime"));
    let portfolio = browser.get("/portefeuille?ok=compte-supprime").await;
    assert!(portfolio.html.contains("Le compte non activé a été supprimé") && !portfolio.html.contains(&file_path));
    assert_eq!(browser.get(&file_path).await.status, StatusCode::NOT_FOUND);
    assert!(!browser.get("/archives").await.html.contains("Nina"), "a deletion keeps no archive");
    // An activated account: the page says why, and so does a post.
    let activated = format!("/beneficiaires/{}/supprimer", w.y1);
    let page = browser.get(&activated).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("seul le jeune peut le supprimer") && !page.html.contains(r#"action="/beneficiaires/"#));
    let csrf = browser.get("/portefeuille").await.csrf();
    let refused = browser.post(&activated, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(refused.html.contains("seul le jeune peut le supprimer"));
    assert_eq!(browser.get(&format!("/beneficiaires/{}", w.y1)).await.status, StatusCode::OK);
}

async fn the_export_downloads_as_a_json_file(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("a@test.fr").await;
    let page = browser.get(&format!("/beneficiaires/{}/export", w.y1)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "application/json");
    let disposition = page.headers["content-disposition"].to_str().unwrap();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive().format("%Y-%m-%d");
    assert_eq!(disposition, format!(r#"attachment; filename="export-y-un-{today}.json""#));
    let export: serde_json::Value = serde_json::from_str(&page.html).expect("valid JSON");
    assert_eq!(export["format"], "pass-emploi.export.v1");
    assert_eq!(export["account"]["email"], "y1@test.fr");
    assert!(export["plan"]["content"]["actions"].is_array());
    assert_eq!(
        browser.get(&format!("/beneficiaires/{}", w.y1)).await.status,
        StatusCode::OK,
        "an export archives nothing"
    );
}

on_both_backends!(
    sign_in_and_its_cookie,
    a_missing_session_signs_in_then_comes_back,
    forms_refuse_forgeries,
    sign_out_and_revocations_end_the_session,
    another_advisers_young_person_is_the_404_page,
    a_refused_form_says_why_and_keeps_what_was_typed,
    an_action_is_created_completed_by_the_phone_and_qualified,
    appointments_are_scheduled_in_the_advisers_time_zone,
    the_live_stream_tells_of_a_phone_edit,
    a_supervisor_transfers_and_the_old_adviser_loses_the_file,
    an_adviser_archives_through_the_form,
    another_structures_archive_is_the_404_page,
    an_adviser_deletes_an_account_never_activated,
    the_export_downloads_as_a_json_file,
);
