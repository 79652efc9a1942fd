//! `--phone-client js`: the phones are stock JavaScript automerge-repo repos in one node process
//! (`js-phones/phones.mjs`). The load generator writes the phones' URLs, document ids, young
//! person ids and initial plans to a JSON file, tells the driver each phase on its stdin
//! (`sync`, `observe`, `go`, `stop`) and turns the driver's stdout lines into the same events and
//! metrics as its own phones (`joined i`, `synced i <actor>`, `sent i <hash> <epoch ms> <changes>
//! <bytes>`, `cycle i <ms>`, `done i`, `notice i`, `fail <why>`). The observers stay Rust.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, UNIX_EPOCH};

use anyhow::{Context, bail};
use automerge::{ActorId, ChangeHash};

use crate::client::{Ctx, Event, Phase, Plan};
use crate::procfs::ProcStats;

pub struct JsPhones {
    child: Child,
    stdin: Option<ChildStdin>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        bail!("odd hex {s}");
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("bad hex")).collect()
}

impl JsPhones {
    pub fn spawn(
        args: &crate::Args,
        dir: &Path,
        ctx: &Arc<Ctx>,
        urls: &[String],
        plans: &[Arc<Plan>],
    ) -> anyhow::Result<Self> {
        let script = args.js_phones_dir.join("phones.mjs");
        if !args.js_phones_dir.join("node_modules/@automerge/automerge-repo-network-websocket").exists() {
            bail!("npm packages missing: run `npm ci` in {}", args.js_phones_dir.display());
        }
        let mut json = format!(
            "{{\"cycles\":{},\"edits\":{},\"thinkMs\":{},\"cycleTimeoutMs\":{},\"connectConcurrency\":{},\"phones\":[",
            ctx.cycles,
            ctx.edits,
            ctx.think.as_millis(),
            ctx.cycle_timeout.as_millis(),
            args.connect_concurrency
        );
        for (i, (url, plan)) in urls.iter().zip(plans).enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                "{{\"url\":\"{url}\",\"documentId\":\"{}\",\"youngPersonId\":\"{}\",\"initial\":\"{}\"}}",
                plan.document_id,
                plan.young_person_id,
                hex(&plan.initial)
            ));
        }
        json.push_str("]}");
        let config = dir.join(format!("js-phones-{}.json", std::process::id()));
        std::fs::write(&config, json)?;
        let log = std::fs::File::create(dir.join("js-phones.log"))?;
        let mut child = Command::new(&args.node)
            .arg(&script)
            .arg(&config)
            .current_dir(&args.js_phones_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {} {}", args.node.display(), script.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stdin = child.stdin.take();
        let ctx = ctx.clone();
        let plans: Vec<Arc<Plan>> = plans.to_vec();
        let log_path = dir.join("js-phones.log");
        std::thread::spawn(move || {
            let fail = |why: String| {
                let _ = ctx.events.send(Event::Failed(format!("JS phones: {why} (log: {})", log_path.display())));
            };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Err(e) = handle_line(&ctx, &plans, &line) {
                    fail(format!("{e:#}: {line}"));
                }
            }
            if *ctx.phase.borrow() != Phase::Stop {
                fail("the driver exited".into());
            }
        });
        Ok(JsPhones { child, stdin })
    }

    pub fn phase(&mut self, phase: Phase) -> anyhow::Result<()> {
        let word = match phase {
            Phase::Join => return Ok(()),
            Phase::InitialSync => "sync",
            Phase::Observe => "observe",
            Phase::Go => "go",
            Phase::Stop => "stop",
        };
        if let Some(stdin) = &mut self.stdin {
            writeln!(stdin, "{word}").context("telling the JS phones")?;
            stdin.flush()?;
        }
        Ok(())
    }

    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        Ok(ProcStats::read(self.child.id())?.cpu_seconds)
    }

    /// Waits for the driver to leave (after `stop`), killing it past `timeout`.
    pub fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
        self.stdin.take();
        let deadline = Instant::now() + timeout;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for JsPhones {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn handle_line(ctx: &Ctx, plans: &[Arc<Plan>], line: &str) -> anyhow::Result<()> {
    let mut words = line.split_whitespace();
    let kind = words.next().unwrap_or("");
    if kind == "fail" {
        bail!("{}", line.trim_start_matches("fail").trim());
    }
    if kind == "log" || kind.is_empty() {
        return Ok(());
    }
    let i: usize = words.next().context("no phone index")?.parse()?;
    let plan = plans.get(i).context("no such phone")?;
    let poisoned = || anyhow::anyhow!("poisoned");
    match kind {
        "joined" => drop(ctx.events.send(Event::Joined)),
        "synced" => {
            let actor = ActorId::from(unhex(words.next().context("no actor")?)?);
            plan.phone_actors.lock().map_err(|_| poisoned())?.push(actor);
            let _ = ctx.events.send(Event::Synced);
        }
        "sent" => {
            let hash: ChangeHash = words.next().context("no hash")?.parse()?;
            let at: f64 = words.next().context("no time")?.parse()?;
            let changes: u64 = words.next().context("no count")?.parse()?;
            let bytes: u64 = words.next().context("no bytes")?.parse()?;
            let at = UNIX_EPOCH + Duration::from_secs_f64(at / 1e3);
            plan.sent.lock().map_err(|_| poisoned())?.push((hash, at));
            ctx.metrics.changes.fetch_add(changes, Ordering::Relaxed);
            ctx.metrics.change_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        "cycle" => {
            let ms: f64 = words.next().context("no duration")?.parse()?;
            ctx.metrics.cycle_times.lock().map_err(|_| poisoned())?.push(Duration::from_secs_f64(ms / 1e3));
        }
        "done" => drop(ctx.events.send(Event::CyclesDone)),
        "notice" => drop(ctx.metrics.notices.fetch_add(1, Ordering::Relaxed)),
        "bytes" => {
            let up: u64 = words.next().context("no up")?.parse()?;
            let down: u64 = words.next().context("no down")?.parse()?;
            let frames: u64 = words.next().context("no frames")?.parse()?;
            ctx.metrics.phone_up.fetch_add(up, Ordering::Relaxed);
            ctx.metrics.phone_down.fetch_add(down, Ordering::Relaxed);
            ctx.metrics.frames.fetch_add(frames, Ordering::Relaxed);
        }
        other => bail!("unknown line kind {other}"),
    }
    Ok(())
}
