//! Speed and weight of the advisers' web app's two heaviest pages (issue 11): the portfolio
//! (`GET /portefeuille`, 150 rows) and a young person's file (`GET /beneficiaires/{id}`) of the
//! two-year plan the sync-core benches use. A plain `main` (no criterion): criterion gives no p99.
//!
//! The service runs in-process over a fresh SQLite folder (as the integration tests build it); one
//! structure, one adviser, 149 young people with the demo's realistic plans (`demo::populate_plan`:
//! six actions in various statuses, two appointments, two job-search tasks, ~14 edits each, through
//! `state.documents.write`, so the projections are real) and one young person with the two-year
//! plan of `sync-core/benches/fixture` (included below by path: the same generator, the same plan
//! byte for byte), stored through one `state.documents.write` that merges its 5,000 changes, so its
//! projections are computed by the server's own commit path. The adviser signs in through
//! `POST /connexion`; every page is then requested with `tower::ServiceExt::oneshot` and the
//! session cookie, `Accept: text/html`, body read to the end.
//!
//! At the end, the export and the archive of the two-year plan (issue 14).
//!
//! Run with `cargo bench -p server --bench web_pages`. Environment: `WEB_PAGES_WARMUP` (20),
//! `WEB_PAGES_RUNS` (500), `WEB_PAGES_EXPORT_RUNS` (20). Figures: docs/performance.md, « Advisers' web app (issue 11) ».
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The sync-core benches' fixture, shared by path (a bench cannot depend on another crate's benches).
#[allow(dead_code, unused_imports)]
#[path = "../../sync-core/benches/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use server::config::Config;
use server::demo::{create_staff, create_young_person, populate_plan};
use server::store::NewUser;
use server::{AppState, app, store};
use sync_core::DocumentId;
use sync_core::edit::EditOutcome;
use sync_core::model::Role;
use tower::ServiceExt;
use uuid::Uuid;

const PASSWORD: &str = "mot-de-passe-banc";
const ADVISER_EMAIL: &str = "conseillere.banc@ml-lyon.example.org";
/// Young people with the demo's plan; with the two-year one, the portfolio's rows.
const REALISTIC: usize = 149;

const FIRST: [&str; 20] = [
    "Inès", "Lucas", "Chloé", "Yanis", "Manon", "Théo", "Sarah", "Hugo", "Léa", "Nathan", "Camille", "Adam", "Jade",
    "Louis", "Emma", "Rayan", "Lina", "Noah", "Zoé", "Mehdi",
];
const LAST: [&str; 15] = [
    "Benali", "Martin", "Dubois", "Haddad", "Lefèvre", "Moreau", "Diallo", "Garcia", "Nguyen", "Petit", "Roux",
    "Fontaine", "Traoré", "Girard", "Mercier",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn get(router: &Router, path: &str, cookie: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("pe_session={cookie}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body)
}

struct Stats {
    median: f64,
    p90: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    // Nearest rank: the smallest sample at or above the quantile.
    let pick = |q: f64| {
        let rank = ((samples.len() as f64) * q).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1e3
    };
    Stats { median: pick(0.5), p90: pick(0.9), p99: pick(0.99), max: pick(1.0), n: samples.len() }
}

async fn measure(router: &Router, path: &str, cookie: &str, warmup: usize, runs: usize) -> (Stats, usize) {
    let (status, body) = get(router, path, cookie).await;
    assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&body));
    let bytes = body.len();
    for _ in 0..warmup {
        get(router, path, cookie).await;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let (status, body) = get(router, path, cookie).await;
        samples.push(start.elapsed());
        assert_eq!(status, StatusCode::OK);
        std::hint::black_box(body);
    }
    (stats(samples), bytes)
}

/// The first `/static/app/<hash>/app.js` URL in a page.
fn app_js_url(html: &str) -> String {
    html.match_indices("/static/app/")
        .map(|(start, _)| &html[start..start + html[start..].find('"').expect("a quoted URL")])
        .find(|url| url.ends_with("/app.js"))
        .expect("the page links our script")
        .to_owned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let warmup = env_usize("WEB_PAGES_WARMUP", 20);
    let runs = env_usize("WEB_PAGES_RUNS", 500);
    let dir = std::env::temp_dir().join(format!("pe-bench-web-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let store = store::open(None, &dir).await?;
    let state = AppState::new(store.clone(), Config::for_tests(dir.clone(), None))?;
    let router = app(state.clone());

    let seed_start = Instant::now();
    let structure = Uuid::new_v4();
    store.create_structure(structure, "Mission Locale du banc d'essai", Utc::now()).await?;
    let adviser =
        create_staff(&state, Role::Adviser, ADVISER_EMAIL, "Claire", "Banc", Some(structure), PASSWORD).await?;
    for i in 0..REALISTIC {
        let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len() + i) % LAST.len()]);
        let email = format!("jeune{i}@exemple.fr");
        let (id, document_id) =
            create_young_person(&state, &email, first, last, structure, Some(adviser), None).await?;
        populate_plan(&state, id, &document_id, adviser, i).await?;
    }
    let seeded_realistic = seed_start.elapsed();

    // The two-year plan: its young person's id is the fixture's (the plan's genesis is made from
    // it, byte for byte the one the server would make), then its 5,000 changes in one write.
    let start = Instant::now();
    let plan = fixture::two_year_plan(2024);
    let built = start.elapsed();
    let long_id = plan.sim.young_person.user_id;
    let document_id = DocumentId::new_random().to_string();
    let mut genesis = sync_core::PlanDocument::genesis(long_id)?;
    let user = NewUser {
        id: long_id,
        role: Role::YoungPerson,
        email: "deux.ans@exemple.fr".into(),
        password_hash: None,
        first_name: "Yasmine".into(),
        last_name: "Deux-Ans".into(),
        timezone: "Europe/Paris".into(),
        structure_id: Some(structure),
        activation_code_hash: None,
        activation_expires_at: None,
    };
    store.create_young_person(&user, Some(adviser), &document_id, &genesis.save(), Utc::now()).await?;
    let mut history = plan.doc.automerge().clone();
    let start = Instant::now();
    state
        .documents
        .write(
            &document_id,
            long_id,
            adviser,
            Utc::now(),
            move |doc| {
                doc.automerge_mut().merge(&mut history).expect("merge the two-year plan");
                let change = doc.heads().first().copied();
                Ok(((), EditOutcome { id: long_id, change, events: Vec::new() }))
            },
            |_, _, _| (),
        )
        .await
        .map_err(|e| anyhow::anyhow!("storing the two-year plan: {e}"))?;
    let stored = start.elapsed();
    let (actions, appointments, tasks) = state
        .documents
        .read(&document_id, |d| {
            let p = d.plan();
            (p.actions.len(), p.appointments.len(), p.tasks.len())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Sign in as a browser does.
    let form = format!(
        "email={}&password={PASSWORD}",
        form_urlencoded::byte_serialize(ADVISER_EMAIL.as_bytes()).collect::<String>()
    );
    let req = Request::builder()
        .method("POST")
        .uri("/connexion")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header(header::ACCEPT, "text/html")
        .body(Body::from(form))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_redirection(), "sign-in answered {}", res.status());
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pe_session="))
        .and_then(|v| v.split(';').next())
        .expect("a pe_session cookie")
        .to_owned();

    println!(
        "web_pages: SQLite in {}, {warmup} warm-up + {runs} measured requests per page, one at a time",
        dir.display()
    );
    println!(
        "seeded {REALISTIC} realistic plans in {:.1} s; two-year plan built in {:.1} s ({actions} actions, {appointments} appointments, {tasks} tasks), stored through one write in {:.1} s",
        seeded_realistic.as_secs_f64(),
        built.as_secs_f64(),
        stored.as_secs_f64()
    );

    let (_, portfolio_html) = get(&router, "/portefeuille", &cookie).await;
    let portfolio_text = String::from_utf8_lossy(&portfolio_html).into_owned();
    let rows = portfolio_text.matches("<tr data-young-person=").count();
    let js_url = app_js_url(&portfolio_text);

    let file_path = format!("/beneficiaires/{long_id}");
    let (portfolio, portfolio_bytes) = measure(&router, "/portefeuille", &cookie, warmup, runs).await;
    let (file, file_bytes) = measure(&router, &file_path, &cookie, warmup, runs).await;
    let (_, file_html) = get(&router, &file_path, &cookie).await;
    let file_js = app_js_url(&String::from_utf8_lossy(&file_html));
    let (js_status, js) = get(&router, &js_url, &cookie).await;
    assert_eq!(js_status, StatusCode::OK, "{js_url}");
    let (sw_status, sw) = get(&router, "/sw.js", &cookie).await;
    assert_eq!(sw_status, StatusCode::OK, "/sw.js");

    println!();
    println!("| page | n | median ms | p90 ms | p99 ms | max ms | HTML bytes |");
    println!("|---|---|---|---|---|---|---|");
    for (name, s, bytes) in [
        (format!("GET /portefeuille ({rows} rows)"), &portfolio, portfolio_bytes),
        ("GET /beneficiaires/{id} (two-year plan)".to_owned(), &file, file_bytes),
    ] {
        println!("| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {bytes} |", s.n, s.median, s.p90, s.p99, s.max);
    }
    println!();
    println!("| our script and service worker | bytes (uncompressed) |");
    println!("|---|---|");
    println!(
        "| {js_url} (both pages: {}) | {} |",
        if file_js == js_url { "same URL" } else { "different URLs" },
        js.len()
    );
    println!("| /sw.js | {} |", sw.len());
    println!();
    println!("target: portfolio p99 <= 50 ms: {}", if portfolio.p99 <= 50.0 { "met" } else { "NOT met" });

    // Issue 14: the export of the two-year plan (what `GET /me/export` answers and an archive
    // freezes), then archiving it once (export + the erasure's transaction).
    let export_runs = env_usize("WEB_PAGES_EXPORT_RUNS", 20);
    let mut times = Vec::with_capacity(export_runs);
    let mut export_bytes = 0;
    for _ in 0..export_runs {
        let start = Instant::now();
        let (export, _) = server::lifecycle::export::export(state.store.as_ref(), long_id, Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        export_bytes = serde_json::to_vec(&export)?.len();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let request = server::lifecycle::ArchiveRequest {
        reason: server::lifecycle::ArchiveReason::Training,
        ended_on: None,
        comment: None,
    };
    let start = Instant::now();
    server::lifecycle::archive(
        state.store.as_ref(),
        long_id,
        &request,
        server::lifecycle::Actor::Adviser(adviser),
        Utc::now().date_naive(),
        Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let archived = start.elapsed().as_secs_f64() * 1e3;
    println!();
    println!("| two-year plan (issue 14) | n | median ms | max ms | JSON bytes |");
    println!("|---|---|---|---|---|");
    println!(
        "| export (`lifecycle::export::export`) | {export_runs} | {:.1} | {:.1} | {export_bytes} |",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    println!("| archive (export + erasure) | 1 | {archived:.1} | {archived:.1} | |");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
