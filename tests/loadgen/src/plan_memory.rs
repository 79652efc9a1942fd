//! `--plan-memory`: what a loaded plan costs in memory against its saved bytes, the figure behind
//! the server's plan cache accounting (`server/src/documents/footprint.rs`). For each history
//! length, `copies` plans are built and saved to a file; a child process reads the file, then
//! loads every plan as the server does (one `PlanDocument::load` of its stored bytes) and keeps
//! them, and its RSS growth is divided among them (allocator overhead included, as in the server).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use sync_core::PlanDocument;
use uuid::Uuid;

use crate::procfs::ProcStats;

const HISTORIES: [usize; 5] = [0, 100, 1000, 5000, 20_000];

/// Plans loaded per history length: enough for the allocator's slack to average out.
fn copies(history: usize) -> usize {
    match history {
        0 => 20_000,
        h if h <= 100 => 5_000,
        h if h <= 1000 => 500,
        h if h <= 5000 => 100,
        _ => 25,
    }
}

pub fn run(dir: &Path) -> anyhow::Result<String> {
    let mut out = String::from(
        "Loaded plans in memory against their saved bytes (`sync-loadgen --plan-memory`: a fresh process reads the \
         saved plans, loads them all and keeps them; its RSS growth per plan)\n\n\
         | history (changes) | plans | saved bytes per plan | RSS per loaded plan (KiB) | memory / saved bytes |\n\
         |---|---|---|---|---|\n",
    );
    let file = dir.join(format!("plan-memory-{}.bin", Uuid::new_v4().simple()));
    for history in HISTORIES {
        let n = copies(history);
        let mut saved_total = 0usize;
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
            for i in 0..n {
                let saved = crate::history::build(Uuid::new_v4(), history, i as u64)?;
                saved_total += saved.len();
                w.write_all(&(saved.len() as u64).to_le_bytes())?;
                w.write_all(&saved)?;
            }
            w.flush()?;
        }
        let child = Command::new(std::env::current_exe()?).arg("--plan-memory-load").arg(&file).output()?;
        anyhow::ensure!(child.status.success(), "{}", String::from_utf8_lossy(&child.stderr));
        let growth: f64 = String::from_utf8(child.stdout)?.trim().parse().context("the child's RSS growth")?;
        let (saved, per_plan) = (saved_total as f64 / n as f64, growth / n as f64);
        out.push_str(&format!(
            "| {history} | {n} | {saved:.0} | {:.1} | {:.1} |\n",
            per_plan / 1024.0,
            per_plan / saved
        ));
    }
    let _ = std::fs::remove_file(&file);
    Ok(out)
}

/// The child: reads every saved plan of `file` (length-prefixed), then prints the RSS growth of
/// loading them all.
pub fn load_and_report(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let mut plans = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<8>() {
        let len = u64::from_le_bytes(*len) as usize;
        anyhow::ensure!(tail.len() >= len, "truncated file");
        plans.push(&tail[..len]);
        rest = &tail[len..];
    }
    let mut loaded = Vec::with_capacity(plans.len());
    let before = ProcStats::read(std::process::id())?.rss;
    for plan in plans {
        loaded.push(PlanDocument::load(plan)?);
    }
    let after = ProcStats::read(std::process::id())?.rss;
    println!("{}", after.saturating_sub(before));
    drop(loaded);
    Ok(())
}
