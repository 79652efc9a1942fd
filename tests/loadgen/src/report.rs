//! The markdown tables a run prints.

use std::time::Duration;

use crate::{Args, Figures, PhoneClient, Target};

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

pub(crate) fn pinning(args: &Args) -> String {
    match &args.server_cpus {
        Some(cpus) => format!("servers pinned to CPU {cpus}, load generator to the others (taskset)"),
        None => "not pinned".into(),
    }
}

fn idle_table(args: &Args, results: &[(Target, Figures)]) -> String {
    let mut out = format!(
        "{} idle connected {:?} phones (joined, then each plan synced once), history {} changes, {}\n\n",
        args.phones,
        args.phone_client,
        args.history,
        pinning(args)
    );
    out.push_str("| server | RSS before (MiB) | RSS joined (MiB) | RSS synced (MiB) | per idle joined phone (KiB) | per idle phone, plan synced (KiB) |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (t, f) in results {
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            t.name(),
            mib(f.rss_start),
            mib(f.rss_joined),
            mib(f.rss_synced),
            f.idle_joined_per_phone() / 1024.0,
            f.idle_synced_per_phone() / 1024.0
        ));
    }
    out
}

pub(crate) fn table(args: &Args, results: &[(Target, Figures)]) -> String {
    let mut out = String::new();
    let header: Vec<&str> = results.iter().map(|(t, _)| t.name()).collect();
    let both = results.len() == 2 && results[0].0 == Target::Stock && results[1].0 == Target::Ours;
    if args.idle_only {
        return idle_table(args, results);
    }
    out.push_str(&format!(
        "{} {} phones (one plan each) + {} observer connection(s) ({} per portfolio of {}), history {} changes, {} cycles × {} offline edits, think time {} ms, {}\n\n",
        args.phones,
        match args.phone_client {
            PhoneClient::Rust => "Rust",
            PhoneClient::Js => "stock JS (automerge-repo 2.5)",
        },
        args.phones.div_ceil(args.portfolio.max(1)) * args.observers,
        args.observers,
        args.portfolio,
        args.history,
        args.cycles,
        args.edits,
        args.think_ms,
        pinning(args)
    ));
    out.push_str(&format!("| metric | {} |", header.join(" | ")));
    if both {
        out.push_str(" ours / stock |");
    }
    out.push('\n');
    out.push_str(&format!("|---|{}", "---|".repeat(results.len() + usize::from(both))));
    out.push('\n');
    type Row = (&'static str, fn(&Figures) -> f64, fn(f64) -> String);
    let rows: [Row; 22] = [
        ("sync cycles per second", Figures::throughput, |v| format!("{v:.0}")),
        ("wall time of the cycles (s)", |f| f.wall.as_secs_f64(), |v| format!("{v:.2}")),
        ("… until every observer has every change (s)", |f| f.wall_observed.as_secs_f64(), |v| format!("{v:.2}")),
        ("edit → observer latency p50 (ms)", |f| ms(f.latency_p50), |v| format!("{v:.1}")),
        ("edit → observer latency p99 (ms)", |f| ms(f.latency_p99), |v| format!("{v:.1}")),
        ("edit → observer latency max (ms)", |f| ms(f.latency_max), |v| format!("{v:.1}")),
        ("cycle (send → server has it) p50 (ms)", |f| ms(f.cycle_p50), |v| format!("{v:.1}")),
        ("cycle (send → server has it) p99 (ms)", |f| ms(f.cycle_p99), |v| format!("{v:.1}")),
        ("server CPU during the cycles (s)", |f| f.cpu_seconds, |v| format!("{v:.2}")),
        ("server CPU per cycle (ms)", |f| f.cpu_seconds * 1e3 / f.cycles as f64, |v| format!("{v:.2}")),
        ("load generator CPU, same span (s)", |f| f.loadgen_cpu_seconds, |v| format!("{v:.2}")),
        (
            "propagated edits (phone edits × observers that received them)",
            |f| f.delivered as f64,
            |v| format!("{v:.0}"),
        ),
        ("**server CPU per propagated edit (µs)**", Figures::cpu_per_propagated_edit_us, |v| format!("{v:.0}")),
        (
            "load generator CPU per propagated edit (µs)",
            |f| f.loadgen_cpu_seconds * 1e6 / f.delivered.max(1) as f64,
            |v| format!("{v:.0}"),
        ),
        ("compensations seen by observers (must be 0)", |f| f.compensations as f64, |v| format!("{v:.0}")),
        ("notices received by phones (must be 0)", |f| f.notices as f64, |v| format!("{v:.0}")),
        (
            "frames per cycle (both ways, phone + observer)",
            |f| f.frames as f64 / f.cycles as f64,
            |v| format!("{v:.1}"),
        ),
        ("server peak RSS (MiB)", |f| mib(f.peak_rss), |v| format!("{v:.1}")),
        ("RSS per idle joined phone (KiB)", |f| f.idle_joined_per_phone() / 1024.0, |v| format!("{v:.1}")),
        ("RSS per idle phone, plan synced (KiB)", |f| f.idle_synced_per_phone() / 1024.0, |v| format!("{v:.1}")),
        (
            "bytes on the wire / bytes of changes",
            |f| f.wire_bytes as f64 / f.change_bytes.max(1) as f64,
            |v| format!("{v:.2}"),
        ),
        (
            "phone upload / bytes of changes",
            |f| f.phone_up as f64 / f.change_bytes.max(1) as f64,
            |v| format!("{v:.2}"),
        ),
    ];
    for (name, get, fmt) in rows {
        let values: Vec<f64> = results.iter().map(|(_, f)| get(f)).collect();
        out.push_str(&format!("| {name} | {} |", values.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(" | ")));
        if both {
            let ratio = values[1] / values[0];
            out.push_str(&format!(" {} |", if ratio.is_finite() { format!("{ratio:.2}") } else { "–".into() }));
        }
        out.push('\n');
    }
    if let Some((_, f)) = results.first() {
        out.push_str(&format!(
            "\nChanges made: {} ({} bytes, {:.0} bytes each); wire bytes are CBOR frames (no WebSocket/TCP headers).\n",
            f.changes,
            f.change_bytes,
            f.change_bytes as f64 / f.changes.max(1) as f64
        ));
    }
    for (t, f) in results {
        out.push_str(&format!(
            "{}: {} wire bytes, of which phone upload {} and observer download {}.\n",
            t.name(),
            f.wire_bytes,
            f.phone_up,
            f.observer_down
        ));
    }
    out
}
