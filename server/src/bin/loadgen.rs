//! A small load generator: starts the service in-process on port 0 over a seeded database
//! (one adviser with 150 young people, each with a realistic plan), then drives concurrent HTTP
//! clients and prints the median and p99 latency of login, portfolio listing, plan read and write.
//!
//! `cargo run --release -p server --bin loadgen -- [--clients 8] [--database-url postgres://…]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use server::config::{Argon2Config, Config};
use server::demo::{create_staff, create_young_person, populate_plan};
use server::{AppState, app, store};
use sync_core::model::Role;
use uuid::Uuid;

const PASSWORD: &str = "mot-de-passe-charge";

struct Args {
    clients: usize,
    young_people: usize,
    database_url: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { clients: 8, young_people: 150, database_url: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--clients" => out.clients = it.next().context("--clients N")?.parse()?,
            "--young-people" => out.young_people = it.next().context("--young-people N")?.parse()?,
            "--database-url" => out.database_url = Some(it.next().context("--database-url URL")?),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(out)
}

fn summary(name: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<28} n={:<5} median={:>8.2} ms  p99={:>8.2} ms  throughput={:>7.0}/s",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        samples.len() as f64 / wall.as_secs_f64()
    );
}

async fn drive<F, Fut>(clients: usize, per_client: usize, op: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                if let Err(e) = op(c * per_client + i).await {
                    eprintln!("request failed: {e}");
                }
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap_or_default());
    }
    (all, start.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let dir = std::env::temp_dir().join(format!("pe-loadgen-{}", Uuid::new_v4().simple()));
    let mut config = Config::for_tests(dir.clone(), args.database_url.clone());
    config.argon2 = Argon2Config::default(); // production (OWASP) parameters
    // Every client signs in as the same adviser at once: more concurrent sign-ins on one account
    // than the lockout lets through (auth::throttle), which is the point of the lockout, not of this tool.
    config.auth_limits.account_failures = u32::MAX;
    let store = store::open(args.database_url.as_deref(), &dir).await?;
    let state = AppState::new(store.clone(), config)?;
    println!("backend: {}  clients: {}  young people: {}", store.backend(), args.clients, args.young_people);

    let seed_start = Instant::now();
    let structure = Uuid::new_v4();
    let tag = Uuid::new_v4().simple().to_string();
    store.create_structure(structure, &format!("Charge {tag}"), chrono::Utc::now()).await?;
    let adviser_email = format!("conseiller-{tag}@charge.fr");
    let adviser =
        create_staff(&state, Role::Adviser, &adviser_email, "Con", "Seiller", Some(structure), PASSWORD).await?;
    let mut young = Vec::new();
    for i in 0..args.young_people {
        let (id, doc) = create_young_person(
            &state,
            &format!("jeune-{i}-{tag}@charge.fr"),
            "Jeune",
            &format!("N{i}"),
            structure,
            Some(adviser),
            None,
        )
        .await?;
        populate_plan(&state, id, &doc, adviser, i).await?;
        young.push(id);
    }
    println!("seeded in {:.1} s", seed_start.elapsed().as_secs_f64());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();

    let login_body = serde_json::json!({"email": adviser_email, "password": PASSWORD});
    let token: String = {
        let r: serde_json::Value =
            http.post(format!("{base}/api/v1/auth/login")).json(&login_body).send().await?.json().await?;
        r["access_token"].as_str().context("login")?.to_owned()
    };
    let young = Arc::new(young);

    let (h, b, lb) = (http.clone(), base.clone(), login_body.clone());
    let (s, w) = drive(args.clients, 25, move |_| {
        let (h, b, lb) = (h.clone(), b.clone(), lb.clone());
        async move {
            let r = h.post(format!("{b}/api/v1/auth/login")).json(&lb).send().await?;
            anyhow::ensure!(r.status() == 200, "login {}", r.status());
            Ok(())
        }
    })
    .await;
    summary("login (argon2id m=19MiB t=2)", s, w);

    let (h, b, t) = (http.clone(), base.clone(), token.clone());
    let (s, w) = drive(args.clients, 50, move |_| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let r = h.get(format!("{b}/api/v1/young-people")).bearer_auth(&t).send().await?;
            anyhow::ensure!(r.status() == 200, "list {}", r.status());
            let n = r.json::<serde_json::Value>().await?.as_array().map(Vec::len).unwrap_or(0);
            anyhow::ensure!(n >= 150, "listed {n}");
            Ok(())
        }
    })
    .await;
    summary("portfolio list (150)", s, w);

    let (h, b, t, y) = (http.clone(), base.clone(), token.clone(), young.clone());
    let (s, w) = drive(args.clients, 250, move |i| {
        let (h, b, t, y) = (h.clone(), b.clone(), t.clone(), y.clone());
        async move {
            let id = y[(i * 7919) % y.len()];
            let r = h.get(format!("{b}/api/v1/young-people/{id}/plan")).bearer_auth(&t).send().await?;
            anyhow::ensure!(r.status() == 200, "read {}", r.status());
            let _ = r.bytes().await?;
            Ok(())
        }
    })
    .await;
    summary("plan read", s, w);

    let (h, b, t, y) = (http.clone(), base.clone(), token.clone(), young.clone());
    let (s, w) = drive(args.clients, 125, move |i| {
        let (h, b, t, y) = (h.clone(), b.clone(), t.clone(), y.clone());
        async move {
            let id = y[(i * 31) % y.len()];
            let body = serde_json::json!({"title": format!("Action de charge {i}"), "category": "EMPLOI", "due_date": "2030-06-01"});
            let r = h.post(format!("{b}/api/v1/young-people/{id}/actions")).bearer_auth(&t).json(&body).send().await?;
            anyhow::ensure!(r.status() == 201, "write {}", r.status());
            Ok(())
        }
    })
    .await;
    summary("write (create action)", s, w);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
