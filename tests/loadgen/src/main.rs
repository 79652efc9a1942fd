//! `sync-loadgen`: N phones, each with its own plan and K observing adviser connections, doing
//! sync cycles of k offline edits against our sync gateway and against the stock
//! `@automerge/automerge-repo-sync-server`, one after the other on the same machine; prints a
//! markdown table of both and the ratio. Other modes: `--idle-only` (memory of idle connected
//! phones), `--touch-plans N` (ours only: RSS while N stored plans are touched in turn).
//!
//! ```text
//! cargo build --release -p server -p loadgen
//! target/release/sync-loadgen --phones 1000 --cycles 3 --edits 5
//! ```

mod client;
mod history;
mod jsphones;
mod plan_memory;
mod procfs;
mod report;
mod seed;
mod touch;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use client::{Ctx, Event, Metrics, Phase, Plan};
use procfs::{ServerProcess, free_addr};
use report::{mib, ms, pinning, table};
use sync_core::DocumentId;
use tokio::sync::{Semaphore, mpsc, watch};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    Stock,
    Ours,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Stock => "stock automerge-repo-sync-server",
            Target::Ours => "pass-emploi gateway",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhoneClient {
    /// sync-core's frame codec and Automerge (Rust), in this process.
    Rust,
    /// Stock npm `@automerge/automerge-repo` 2.5 repos, driven by `js-phones/phones.mjs` (node).
    Js,
}

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator for the sync gateway, side by side with the stock automerge-repo sync server")]
struct Args {
    /// Phones, each with its own plan.
    #[arg(long, default_value_t = 1000)]
    phones: usize,
    /// Sync cycles per phone.
    #[arg(long, default_value_t = 3)]
    cycles: usize,
    /// Offline edits per cycle.
    #[arg(long, default_value_t = 5)]
    edits: usize,
    /// Plans per adviser; each adviser observes its portfolio over one WebSocket.
    #[arg(long, default_value_t = 1)]
    portfolio: usize,
    /// Observer connections per portfolio, each its own WebSocket. On our server they are the
    /// plans' adviser K times (the same token; `--sync-sessions-per-user` is lifted to K + 8).
    #[arg(long, default_value_t = 1)]
    observers: usize,
    /// Changes of history each plan holds before the cycles (sync-core's edit API, deterministic):
    /// stored by the seeding on our server, uploaded by the phone before "go" on the stock one.
    #[arg(long, default_value_t = 0)]
    history: usize,
    /// Who the phones are.
    #[arg(long, value_enum, default_value = "rust")]
    phone_client: PhoneClient,
    /// The folder of the JS phones' driver and npm packages (`--phone-client js`).
    #[arg(long, default_value = "tests/loadgen/js-phones")]
    js_phones_dir: PathBuf,
    /// Runs each server under `taskset -c LIST` (`compare` pins the load generator to the other core).
    #[arg(long)]
    server_cpus: Option<String>,
    /// Memory only: the phones join and sync their plan once, then the run stops (no observers, no cycles).
    #[arg(long)]
    idle_only: bool,
    /// Ours only: seeds this many small plans and touches each in turn through the REST API (read the
    /// plan, create an action, as its adviser), sampling the server's RSS.
    #[arg(long)]
    touch_plans: Option<usize>,
    /// In this process only: the memory of loaded plans against their saved bytes, by history length.
    #[arg(long)]
    plan_memory: bool,
    /// `--plan-memory`'s child process: loads the plans saved in this file and prints its RSS growth.
    #[arg(long, hide = true)]
    plan_memory_load: Option<PathBuf>,
    /// Touch mode: plans between two RSS samples.
    #[arg(long, default_value_t = 5000)]
    sample_every: usize,
    /// Touch mode: read only (no action created).
    #[arg(long)]
    touch_read_only: bool,
    /// Our server's plan cache (`--doc-cache-mib`); its default (256) otherwise.
    #[arg(long)]
    doc_cache_mib: Option<usize>,
    /// One more argument for our server's `serve` (repeat for several), e.g. `--ours-arg=--sync-messages-per-second=500`.
    #[arg(long = "ours-arg", allow_hyphen_values = true)]
    ours_args: Vec<String>,
    /// Servers to run, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "stock,ours")]
    servers: Vec<Target>,
    /// Our server's binary.
    #[arg(long, default_value = "target/release/pass-emploi-server")]
    ours_bin: PathBuf,
    /// PostgreSQL for our server (SQLite in a temporary directory otherwise).
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    database_url: Option<String>,
    /// The folder where the stock server's npm packages are installed.
    #[arg(long, default_value = "tests/loadgen/stock-server")]
    stock_dir: PathBuf,
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Pause between a phone's cycles, in ms (±50 %); 0 runs a closed loop at saturation.
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
    /// Joining, first sync and observers' loading each fail the run past this; 0: 120 s + 50 ms per
    /// phone (the stock server takes its 10,000 phones' first syncs at ~75 per second on one core).
    #[arg(long, default_value_t = 0)]
    setup_timeout_secs: u64,
    /// A cycle not acknowledged by then fails the run.
    #[arg(long, default_value_t = 60)]
    cycle_timeout_secs: u64,
    /// Where the servers keep their data and logs (a fresh temporary folder otherwise).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// What one run measured.
#[derive(Debug, Default)]
struct Figures {
    cycles: usize,
    /// GO → every phone acknowledged by the server.
    wall: Duration,
    /// GO → every observer has every change.
    wall_observed: Duration,
    latency_p50: Duration,
    latency_p99: Duration,
    latency_max: Duration,
    cycle_p50: Duration,
    cycle_p99: Duration,
    cpu_seconds: f64,
    /// The load generator's own CPU over the same span (with the JS phones' node process).
    loadgen_cpu_seconds: f64,
    /// Phone changes applied by observers, summed over observers.
    delivered: u64,
    compensations: u64,
    notices: u64,
    frames: u64,
    peak_rss: u64,
    rss_start: u64,
    rss_joined: u64,
    rss_synced: u64,
    wire_bytes: u64,
    phone_up: u64,
    observer_down: u64,
    change_bytes: u64,
    changes: u64,
    phones: usize,
}

impl Figures {
    fn throughput(&self) -> f64 {
        self.cycles as f64 / self.wall.as_secs_f64()
    }
    fn idle_joined_per_phone(&self) -> f64 {
        self.rss_joined.saturating_sub(self.rss_start) as f64 / self.phones as f64
    }
    fn idle_synced_per_phone(&self) -> f64 {
        self.rss_synced.saturating_sub(self.rss_start) as f64 / self.phones as f64
    }
    /// Server CPU / (edits made by phones × observers that received them), µs.
    fn cpu_per_propagated_edit_us(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.delivered.max(1) as f64
    }
}

fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * q).round() as usize]
}

/// The server under test, started and ready.
struct Started {
    process: ServerProcess,
    phone_urls: Vec<String>,
    observer_urls: Vec<String>,
    plans: Vec<Arc<Plan>>,
    portfolios: Vec<Vec<usize>>,
}

/// A server's command, under `taskset -c` when asked.
fn server_command(args: &Args, program: &Path) -> Command {
    match &args.server_cpus {
        Some(cpus) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(cpus).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Every plan's first bytes: genesis, then `--history` changes.
fn initial_plans(args: &Args) -> anyhow::Result<Vec<(Uuid, Vec<u8>)>> {
    let ids: Vec<Uuid> = (0..args.phones).map(|_| Uuid::new_v4()).collect();
    let t = Instant::now();
    let bytes = history::build_all(&ids, args.history)?;
    if args.history > 0 {
        let total: usize = bytes.iter().map(Vec::len).sum();
        eprintln!(
            "  {} plans × {} changes of history made in {:.1} s ({:.0} KiB saved each)",
            ids.len(),
            args.history,
            t.elapsed().as_secs_f64(),
            total as f64 / 1024.0 / ids.len().max(1) as f64
        );
    }
    Ok(ids.into_iter().zip(bytes).collect())
}

/// Our server's `serve` command with the workload's limits lifted.
fn ours_command(args: &Args, data: &Path, addr: std::net::SocketAddr, connections: usize, dir: &Path) -> Command {
    let mut cmd = server_command(args, &args.ours_bin);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(data)
        .arg("--listen")
        .arg(addr.to_string())
        // Every phone and every observer holds a socket: the deployment's connection cap
        // (768 by default) is lifted to what the workload needs, as the stock server has none.
        .arg("--http-max-connections")
        .arg((connections + 64).to_string())
        // `--observers K`: the adviser holds K sessions (8 by default).
        .arg("--sync-sessions-per-user")
        .arg((args.observers + 8).to_string())
        .env("RUST_LOG", std::env::var("LOADGEN_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
        .current_dir(dir);
    if let Some(mib) = args.doc_cache_mib {
        cmd.arg("--doc-cache-mib").arg(mib.to_string());
    }
    cmd.args(&args.ours_args);
    match &args.database_url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    cmd
}

async fn start(target: Target, args: &Args, dir: &std::path::Path) -> anyhow::Result<Started> {
    let addr = free_addr()?;
    let data = dir.join(match target {
        Target::Stock => "stock-data",
        Target::Ours => "ours-data",
    });
    std::fs::create_dir_all(&data)?;
    let log = dir.join(match target {
        Target::Stock => "stock.log",
        Target::Ours => "ours.log",
    });
    let observers = if args.idle_only { 0 } else { args.observers };
    let young = initial_plans(args)?;
    match target {
        Target::Stock => {
            let entry = args.stock_dir.join("node_modules/@automerge/automerge-repo-sync-server/src/index.js");
            if !entry.exists() {
                bail!("{} missing: run `npm ci` in {}", entry.display(), args.stock_dir.display());
            }
            let mut cmd = server_command(args, &args.node);
            cmd.arg(&entry).env("PORT", addr.port().to_string()).env("DATA_DIR", &data).current_dir(dir);
            let process = ServerProcess::spawn(cmd, addr, &log)?;
            let plans: Vec<Arc<Plan>> = young
                .into_iter()
                .map(|(id, bytes)| Plan::new(id, DocumentId::new_random(), bytes, observers).map(Arc::new))
                .collect::<anyhow::Result<_>>()?;
            let portfolios: Vec<Vec<usize>> = (0..args.phones)
                .step_by(args.portfolio)
                .map(|s| (s..(s + args.portfolio).min(args.phones)).collect())
                .collect();
            let url = format!("ws://{addr}/");
            Ok(Started {
                process,
                phone_urls: vec![url.clone(); args.phones],
                observer_urls: vec![url; portfolios.len()],
                plans,
                portfolios,
            })
        }
        Target::Ours => {
            if !args.ours_bin.exists() {
                bail!("{} missing: cargo build --release -p server", args.ours_bin.display());
            }
            let t = Instant::now();
            let (seeded, advisers) =
                seed::seed(args.database_url.as_deref(), &data, young.clone(), args.portfolio, true).await?;
            eprintln!("  seeded {} young people in {:.1} s", seeded.len(), t.elapsed().as_secs_f64());
            let connections = args.phones + advisers.len() * observers;
            let cmd = ours_command(args, &data, addr, connections, dir);
            let process = ServerProcess::spawn(cmd, addr, &log)?;
            let url = |token: &str| format!("ws://{addr}/sync?token={token}");
            Ok(Started {
                process,
                phone_urls: seeded.iter().map(|s| url(&s.token)).collect(),
                observer_urls: advisers.iter().map(|a| url(&a.token)).collect(),
                plans: seeded
                    .iter()
                    .zip(young)
                    .map(|(s, (_, bytes))| Plan::new(s.young_person_id, s.document_id, bytes, observers).map(Arc::new))
                    .collect::<anyhow::Result<_>>()?,
                portfolios: advisers.into_iter().map(|a| a.plans).collect(),
            })
        }
    }
}

/// Waits for `n` events of one kind; any failure ends the run.
async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<Event>,
    n: usize,
    what: &str,
    matches: impl Fn(&Event) -> bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = 0;
    while seen < n {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .with_context(|| format!("{what}: {seen}/{n} after {timeout:?}"))?
            .context("every peer is gone")?;
        match ev {
            Event::Failed(e) => bail!("{what}: {e}"),
            ev if matches(&ev) => seen += 1,
            _ => {}
        }
    }
    Ok(())
}

async fn run(target: Target, args: &Args, dir: &std::path::Path) -> anyhow::Result<Figures> {
    eprintln!(
        "== {} ({} phones ({:?}) × {} cycles × {} edits, history {}, {} observer(s) per portfolio of {})",
        target.name(),
        args.phones,
        args.phone_client,
        args.cycles,
        args.edits,
        args.history,
        args.observers,
        args.portfolio
    );
    let started = start(target, args, dir).await?;
    let server = &started.process;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_start = server.stats()?.rss;

    let metrics = Arc::new(Metrics::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Join);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let ctx = Arc::new(Ctx {
        metrics: metrics.clone(),
        phase: phase_rx,
        events: events_tx,
        connecting: Arc::new(Semaphore::new(args.connect_concurrency.max(1))),
        cycles: args.cycles,
        edits: args.edits,
        cycle_timeout: Duration::from_secs(args.cycle_timeout_secs),
        think: Duration::from_millis(args.think_ms),
    });
    let setup = match args.setup_timeout_secs {
        0 => Duration::from_secs(120 + args.phones as u64 / 20 + (args.history as u64 * args.phones as u64) / 2000),
        s => Duration::from_secs(s),
    };
    let mut tasks = Vec::new();
    let mut js = None;
    match args.phone_client {
        PhoneClient::Rust => {
            for (i, (url, plan)) in started.phone_urls.iter().zip(&started.plans).enumerate() {
                tasks.push(tokio::spawn(client::phone(ctx.clone(), i, url.clone(), plan.clone())));
            }
        }
        PhoneClient::Js => {
            js = Some(jsphones::JsPhones::spawn(args, dir, &ctx, &started.phone_urls, &started.plans)?);
        }
    }
    let js_phase = |js: &mut Option<jsphones::JsPhones>, phase: Phase| -> anyhow::Result<()> {
        if let Some(js) = js {
            js.phase(phase)?;
        }
        Ok(())
    };
    wait_for(&mut events, args.phones, "phones joining", |e| matches!(e, Event::Joined), setup).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_joined = server.stats()?.rss;
    eprintln!("  {} phones joined", args.phones);

    phase_tx.send(Phase::InitialSync)?;
    js_phase(&mut js, Phase::InitialSync)?;
    wait_for(&mut events, args.phones, "first sync of the plans", |e| matches!(e, Event::Synced), setup).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_synced = server.stats()?.rss;
    eprintln!("  {} plans synced", args.phones);
    if args.idle_only {
        phase_tx.send(Phase::Stop)?;
        js_phase(&mut js, Phase::Stop)?;
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        let figures = Figures { rss_start, rss_joined, rss_synced, phones: args.phones, ..Figures::default() };
        eprintln!(
            "  RSS per idle phone: {:.1} KiB joined, {:.1} KiB synced",
            figures.idle_joined_per_phone() / 1024.0,
            figures.idle_synced_per_phone() / 1024.0
        );
        return Ok(figures);
    }

    phase_tx.send(Phase::Observe)?;
    js_phase(&mut js, Phase::Observe)?;
    let mut observers = 0;
    for (i, (url, portfolio)) in started.observer_urls.iter().zip(&started.portfolios).enumerate() {
        let plans: Vec<Arc<Plan>> = portfolio.iter().map(|&p| started.plans[p].clone()).collect();
        if plans.is_empty() {
            continue;
        }
        for slot in 0..args.observers {
            tasks.push(tokio::spawn(client::observer(ctx.clone(), i, slot, url.clone(), plans.clone())));
            observers += 1;
        }
    }
    wait_for(&mut events, observers, "observers loading the plans", |e| matches!(e, Event::ObserverReady), setup)
        .await?;
    eprintln!("  {observers} observers ready");

    let before = server.stats()?;
    let self_before = procfs::ProcStats::read(std::process::id())?;
    let js_before = js.as_ref().map(|j| j.cpu_seconds()).transpose()?.unwrap_or(0.0);
    let frames_before = metrics.frames.load(Ordering::Relaxed);
    let bytes_before = (metrics.wire_bytes(), metrics.phone_up.load(Ordering::Relaxed));
    let observer_down_before = metrics.observer_down.load(Ordering::Relaxed);
    let go = Instant::now();
    phase_tx.send(Phase::Go)?;
    js_phase(&mut js, Phase::Go)?;
    let run_timeout = Duration::from_secs(args.cycle_timeout_secs * (args.cycles as u64 + 1));
    wait_for(&mut events, args.phones, "cycles", |e| matches!(e, Event::CyclesDone), run_timeout).await?;
    let wall = go.elapsed();
    // Then every observer must have every change.
    let deadline = Instant::now() + Duration::from_secs(args.cycle_timeout_secs);
    loop {
        let outstanding: usize = started.plans.iter().map(|p| p.outstanding()).sum();
        if outstanding == 0 {
            break;
        }
        if let Ok(Event::Failed(e)) = events.try_recv() {
            bail!("observing: {e}");
        }
        if Instant::now() > deadline {
            bail!("{outstanding} changes never reached their observer");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall_observed = go.elapsed();
    let after = server.stats()?;
    let self_after = procfs::ProcStats::read(std::process::id())?;
    let js_after = js.as_ref().map(|j| j.cpu_seconds()).transpose()?.unwrap_or(0.0);
    let frames = metrics.frames.load(Ordering::Relaxed) - frames_before;
    let wire_bytes = metrics.wire_bytes() - bytes_before.0;
    let phone_up = metrics.phone_up.load(Ordering::Relaxed) - bytes_before.1;
    let observer_down = metrics.observer_down.load(Ordering::Relaxed) - observer_down_before;
    // A compensation or a notice may trail the last acknowledgement a little.
    tokio::time::sleep(Duration::from_millis(300)).await;
    phase_tx.send(Phase::Stop)?;
    js_phase(&mut js, Phase::Stop)?;
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    if let Some(js) = js.take() {
        js.finish(Duration::from_secs(10))?;
    }
    while let Ok(ev) = events.try_recv() {
        if let Event::Failed(e) = ev {
            eprintln!("  after the run: {e}");
        }
    }
    let mut latencies: Vec<Duration> = started.plans.iter().flat_map(|p| p.latencies()).collect();
    let mut cycle_times = std::mem::take(&mut *metrics.cycle_times.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let figures = Figures {
        cycles: args.phones * args.cycles,
        wall,
        wall_observed,
        latency_p50: quantile(&mut latencies, 0.5),
        latency_p99: quantile(&mut latencies, 0.99),
        latency_max: quantile(&mut latencies, 1.0),
        cycle_p50: quantile(&mut cycle_times, 0.5),
        cycle_p99: quantile(&mut cycle_times, 0.99),
        cpu_seconds: after.cpu_seconds - before.cpu_seconds,
        loadgen_cpu_seconds: self_after.cpu_seconds - self_before.cpu_seconds + js_after - js_before,
        delivered: metrics.delivered.load(Ordering::Relaxed),
        compensations: metrics.compensations.load(Ordering::Relaxed),
        notices: metrics.notices.load(Ordering::Relaxed),
        frames,
        peak_rss: after.peak_rss,
        rss_start,
        rss_joined,
        rss_synced,
        wire_bytes,
        phone_up,
        observer_down,
        change_bytes: metrics.change_bytes.load(Ordering::Relaxed),
        changes: metrics.changes.load(Ordering::Relaxed),
        phones: args.phones,
    };
    eprintln!(
        "  {:.0} cycles/s, latency p50 {:.1} ms p99 {:.1} ms, cpu {:.2} s, {:.0} µs per propagated edit ({} propagated, {} compensations, {} notices)",
        figures.throughput(),
        ms(figures.latency_p50),
        ms(figures.latency_p99),
        figures.cpu_seconds,
        figures.cpu_per_propagated_edit_us(),
        figures.delivered,
        figures.compensations,
        figures.notices
    );
    Ok(figures)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.phones == 0 || args.portfolio == 0 || args.cycles == 0 || args.observers == 0 {
        bail!("--phones, --portfolio, --observers and --cycles must be at least 1");
    }
    let dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("sync-loadgen-{}", Uuid::new_v4().simple())),
    };
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let args = Args {
        ours_bin: std::path::absolute(&args.ours_bin)?,
        stock_dir: std::path::absolute(&args.stock_dir)?,
        js_phones_dir: std::path::absolute(&args.js_phones_dir)?,
        ..args
    };
    if let Some(file) = &args.plan_memory_load {
        return plan_memory::load_and_report(file);
    }
    if args.plan_memory {
        println!("{}", plan_memory::run(&std::env::temp_dir())?);
        return Ok(());
    }
    if let Some(n) = args.touch_plans {
        let report = touch::run(&args, n, &dir).await?;
        println!("{report}");
        if args.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Ok(());
    }
    let mut results = Vec::new();
    for &target in &args.servers {
        let figures = run(target, &args, &dir).await.with_context(|| format!("{} run", target.name()))?;
        results.push((target, figures));
    }
    println!("{}", table(&args, &results));
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
