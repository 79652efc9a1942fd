//! The outbox drain benchmark (issue 6): N queued `mobile` notifications drain through the real
//! delivery workers and FCM client to the fake FCM on loopback; every one must arrive exactly once
//! (by notification id, hence by dedup key) and end `sent`. Prints throughput and the
//! enqueue-to-send latency (the fake's receipt time minus the row's `created_at`).
//!
//! ```sh
//! cargo run --release -p server --bin outbox-drain -- --database sqlite --count 100000
//! cargo run --release -p server --bin outbox-drain -- --database postgres://postgres@127.0.0.1:5432/postgres --count 100000
//! ```
//!
//! `--mode backlog` (default) queues everything, then starts the workers; `--mode live` starts the
//! workers, then enqueues at `--rate` rows per second. PostgreSQL: a scratch database is created
//! from the given URL and dropped afterwards. SQLite: a file in a temporary directory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use server::config::DeliveryConfig;
use server::notifications::delivery::{self, Settings, SystemClock};
use server::notifications::fcm::{FcmChannel, FcmClient};
use server::notifications::fcm_fake::FakeFcm;
use server::notifications::push::PushChannel;
use server::store::{self, DynStore, NewNotification, NewUser};
use sqlx::{AssertSqlSafe, Connection};
use sync_core::model::Role;
use uuid::Uuid;

const PRIVATE_KEY: &str = include_str!("../../tests/fixtures/fcm-test-key.pem");
const PUBLIC_KEY: &str = include_str!("../../tests/fixtures/fcm-test-key.pub.pem");

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Backlog,
    Live,
}

#[derive(Debug, Parser)]
#[command(about = "Drains N queued notifications to a fake FCM and measures it")]
struct Args {
    /// `sqlite` (a temporary file) or a postgres:// URL (a scratch database is made from it).
    #[arg(long, default_value = "sqlite")]
    database: String,
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Young people the notifications are spread over (one device each).
    #[arg(long, default_value_t = 1_000)]
    recipients: usize,
    #[arg(long, value_enum, default_value_t = Mode::Backlog)]
    mode: Mode,
    /// Rows per second enqueued in live mode.
    #[arg(long, default_value_t = 1_000)]
    rate: usize,
    /// Workers (PostgreSQL; SQLite always has one).
    #[arg(long)]
    workers: Option<usize>,
    #[arg(long, default_value_t = 50)]
    batch: i64,
    #[arg(long, default_value_t = 1_000)]
    poll_ms: u64,
    /// Gives up after this many seconds.
    #[arg(long, default_value_t = 1_800)]
    timeout_secs: u64,
}

struct Scratch {
    admin_url: Option<String>,
    name: Option<String>,
    dir: std::path::PathBuf,
}

impl Scratch {
    async fn open(database: &str) -> anyhow::Result<(Scratch, DynStore)> {
        let dir = std::env::temp_dir().join(format!("outbox-drain-{}", Uuid::new_v4().simple()));
        if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            let name = format!("outbox_drain_{}", Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(database).await.context("connecting to PostgreSQL")?;
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
            conn.close().await.ok();
            let (base, _) = database.rsplit_once('/').context("a postgres URL with a database name")?;
            let store = store::open(Some(&format!("{base}/{name}")), &dir).await?;
            Ok((Scratch { admin_url: Some(database.to_owned()), name: Some(name), dir }, store))
        } else if database == "sqlite" {
            let store = store::open(None, &dir).await?;
            Ok((Scratch { admin_url: None, name: None, dir }, store))
        } else {
            bail!("--database: `sqlite` or a postgres:// URL")
        }
    }

    async fn drop_all(self) {
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.name) {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn row(recipient: Uuid, now: DateTime<Utc>) -> NewNotification {
    let id = Uuid::new_v4();
    NewNotification {
        id,
        recipient_id: recipient,
        kind: "action_created".into(),
        channel: "mobile".into(),
        title: "Nouvelle action".into(),
        body: "Votre conseiller a ajouté une action à votre plan.".into(),
        payload: format!(r#"{{"young_person_id":"{recipient}","action_id":"{}"}}"#, Uuid::new_v4()),
        dedup_key: format!("drain:{id}:{recipient}:mobile"),
        created_at: now,
        not_before: now,
        expires_at: now + chrono::Duration::days(7),
        status: "pending".into(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (scratch, store) = Scratch::open(&args.database).await?;
    let result = run(&args, store.clone()).await;
    drop(store);
    scratch.drop_all().await;
    result
}

async fn run(args: &Args, store: DynStore) -> anyhow::Result<()> {
    let backend = store.backend();
    // Recipients, one device each.
    let t = Utc::now();
    let mut recipients = Vec::with_capacity(args.recipients);
    for i in 0..args.recipients.max(1) {
        let id = Uuid::new_v4();
        let user = NewUser {
            id,
            role: Role::YoungPerson,
            email: format!("jeune{i}@drain.test"),
            password_hash: None,
            first_name: "Camille".into(),
            last_name: "Test".into(),
            timezone: "Europe/Paris".into(),
            structure_id: None,
            activation_code_hash: None,
            activation_expires_at: None,
        };
        store.create_user(&user, t).await?;
        store.upsert_device_token(id, "android", &format!("ok-device-{i}"), t).await?;
        recipients.push(id);
    }

    let fake = FakeFcm::start(PUBLIC_KEY.as_bytes(), "pass-emploi-drain", "fcm@pass-emploi-drain.test", false)
        .await
        .map_err(|e| anyhow::anyhow!("fake FCM: {e}"))?;
    let client = FcmClient::new(fake.service_account(PRIVATE_KEY), &fake.base_url(), None, Duration::from_secs(10))?;
    let channel: Arc<dyn PushChannel> = Arc::new(FcmChannel::new(client));
    let config = DeliveryConfig {
        workers: args.workers,
        batch: args.batch,
        poll_ms: args.poll_ms,
        scheduler_secs: 3600,
        ..DeliveryConfig::default()
    };
    let settings = Settings::new(&config, backend);
    let workers = settings.workers;

    let mut created: HashMap<String, DateTime<Utc>> = HashMap::with_capacity(args.count);
    let enqueue = |store: DynStore, n: usize, offset: usize| {
        let recipients = recipients.clone();
        async move {
            let now = Utc::now();
            let rows: Vec<NewNotification> =
                (0..n).map(|i| row(recipients[(offset + i) % recipients.len()], now)).collect();
            store.enqueue_notifications(&rows).await.map(|()| rows)
        }
    };

    let chunk = 1_000;
    let (started, enqueue_secs, running) = match args.mode {
        Mode::Backlog => {
            let t0 = Instant::now();
            let mut done = 0;
            while done < args.count {
                let n = chunk.min(args.count - done);
                for r in enqueue(store.clone(), n, done).await? {
                    created.insert(r.id.to_string(), r.created_at);
                }
                done += n;
            }
            let enqueue_secs = t0.elapsed().as_secs_f64();
            let started = Instant::now();
            let running = delivery::start(store.clone(), vec![channel], settings, Arc::new(SystemClock));
            (started, enqueue_secs, running)
        }
        Mode::Live => {
            let started = Instant::now();
            let running = delivery::start(store.clone(), vec![channel], settings, Arc::new(SystemClock));
            let per_tick = (args.rate / 10).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut done = 0;
            while done < args.count {
                tick.tick().await;
                let n = per_tick.min(args.count - done);
                for r in enqueue(store.clone(), n, done).await? {
                    created.insert(r.id.to_string(), r.created_at);
                }
                done += n;
            }
            (started, started.elapsed().as_secs_f64(), running)
        }
    };

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while fake.received_count() < args.count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drain_secs = started.elapsed().as_secs_f64();
    running.stop().await;

    // Exactly once: every id received once, nothing else; every row `sent` after one attempt.
    let received = fake.received();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(received.len());
    for r in &received {
        *seen.entry(r.notification_id.as_str()).or_default() += 1;
    }
    let duplicates = seen.values().filter(|n| **n > 1).count();
    let missing = created.keys().filter(|id| !seen.contains_key(id.as_str())).count();
    let unknown = seen.keys().filter(|id| !created.contains_key(**id)).count();
    let mut not_sent = 0;
    for r in &recipients {
        not_sent += store
            .notifications_of(*r)
            .await?
            .iter()
            .filter(|n| n.channel == "mobile" && (n.status != "sent" || n.attempts != 1))
            .count();
    }

    let mut latencies: Vec<f64> = received
        .iter()
        .filter_map(|r| {
            created.get(&r.notification_id).map(|c| (r.at - *c).num_microseconds().unwrap_or(0) as f64 / 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let last = received.iter().map(|r| r.at).max();
    let first_created = created.values().min().copied();
    let span = match (first_created, last) {
        (Some(a), Some(b)) if args.mode == Mode::Live => (b - a).num_milliseconds() as f64 / 1e3,
        _ => drain_secs,
    };
    println!(
        "backend={backend} mode={:?} count={} recipients={} workers={workers} batch={} poll_ms={}",
        args.mode, args.count, args.recipients, args.batch, args.poll_ms
    );
    println!("enqueue: {enqueue_secs:.1} s ({:.0} rows/s)", args.count as f64 / enqueue_secs.max(1e-9));
    println!(
        "drain: {} received in {span:.1} s: {:.0} notifications/s; FCM token requests: {}",
        received.len(),
        received.len() as f64 / span.max(1e-9),
        fake.token_requests()
    );
    println!(
        "enqueue-to-send latency: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!(
        "exactly once: duplicates={duplicates} missing={missing} unknown={unknown} rows not sent once={not_sent} problems={}",
        fake.problems().len()
    );
    if duplicates + missing + unknown + not_sent > 0 || !fake.problems().is_empty() {
        bail!("the drain did not deliver every notification exactly once");
    }
    Ok(())
}
