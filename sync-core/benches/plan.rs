//! Speed of the plan document (issue 2, "Speed"): apply one edit, merge 200 offline edits from a
//! phone, load a two-year plan from its saved bytes, validate and compensate a batch of 200
//! changes. Figures and how to read them: docs/performance.md.
//!
//! Run with `cargo bench -p sync-core --bench plan`. Every bench uses the same two-year plan,
//! built from [`SEED`] through the typed edit API (see `fixture`).

mod fixture;

use std::hint::black_box;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ObjId, ROOT, ReadDoc, Value};
use chrono::Duration as Days;
use criterion::{BatchSize, Criterion};
use sync_core::PlanDocument;
use sync_core::edit::ActionPatch;
use sync_core::review::{compensate, review};

use fixture::{TwoYearPlan, copy};

const SEED: u64 = 2024;
/// Edits measured on one copy of the plan before a fresh copy is taken, so the history stays
/// between 5,000 and 5,500 changes however many iterations criterion asks for.
const CHUNK: u64 = 500;

fn main() {
    let started = Instant::now();
    let mut plan = fixture::two_year_plan(SEED);
    let built = started.elapsed();
    report_sizes(&mut plan, built);

    let mut c = Criterion::default().configure_from_args();
    apply_one_edit(&mut c, &plan);
    merge_offline_edits(&mut c, &plan);
    load_two_year_plan(&mut c, &mut plan);
    review_and_compensate(&mut c, &plan);
    c.final_summary();
}

/// The figures that are sizes, not times.
fn report_sizes(plan: &mut TwoYearPlan, built: Duration) {
    let doc = &mut plan.doc;
    let changes = fixture::change_count(doc);
    assert_eq!(changes, fixture::CHANGES, "one change per step");
    let ops: usize = doc.automerge_mut().get_changes(&[]).iter().map(|change| change.len()).sum();
    let saved = doc.save();
    let saved_nocompress = doc.automerge_mut().save_nocompress();
    let typed = doc.plan();
    let json = serde_json::to_vec(&typed).expect("the plan as JSON");
    let comments: usize = typed.actions.iter().map(|a| a.comments.len()).sum::<usize>()
        + typed.tasks.iter().map(|t| t.comments.len()).sum::<usize>();
    eprintln!(
        "two-year plan (seed {SEED}): {} actions ({} qualified), {} appointments, {} tasks, {comments} comments, \
         {changes} changes, {ops} operations, built in {built:.2?}",
        typed.actions.len(),
        typed.actions.iter().filter(|a| a.qualification.is_some()).count(),
        typed.appointments.len(),
        typed.tasks.len(),
    );
    eprintln!(
        "two-year plan sizes: save() {} bytes, save_nocompress() {} bytes, JSON of plan() {} bytes (ratio save/JSON {:.2})",
        saved.len(),
        saved_nocompress.len(),
        json.len(),
        saved.len() as f64 / json.len() as f64,
    );
    let mut offline = fixture::offline_phone(plan, SEED + 1, 200);
    let batch = offline.phone.automerge_mut().save_after(&offline.fork_heads);
    eprintln!("200 offline edits from a phone: {} bytes as change chunks (save_after)", batch.len());
}

/// 1. One edit on the two-year plan: through the typed API (read the entity, run the rulebook,
///    write, commit), as raw Automerge (put + commit), and as the server receiving one such change.
fn apply_one_edit(c: &mut Criterion, plan: &TwoYearPlan) {
    let mut group = c.benchmark_group("apply_one_edit");
    group.sample_size(50).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(5));
    let sim = &plan.sim;
    let targets: Vec<uuid::Uuid> = (0..50).map(|n| sim.unqualified_action(n)).collect();

    group.bench_function("update_action_title_typed_api", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut doc = copy(&plan.doc);
                doc.set_actor(sim.phone_actor.clone());
                let chunk = CHUNK.min(iters - done);
                let start = Instant::now();
                for k in 0..chunk {
                    let id = targets[k as usize % targets.len()];
                    let now = sim.now + Days::seconds(60 * (k as i64 + 1));
                    let patch =
                        ActionPatch { title: Some(format!("Relancer l'employeur n°{k}")), ..ActionPatch::default() };
                    black_box(doc.update_action(&sim.young_person, now, id, patch).expect("an allowed edit"));
                }
                total += start.elapsed();
                done += chunk;
            }
            total
        })
    });

    group.bench_function("put_title_raw_automerge", |b| {
        let actions = object(&plan.doc, &ROOT, "actions");
        let objs: Vec<ObjId> = targets.iter().map(|id| object(&plan.doc, &actions, &id.to_string())).collect();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut doc = copy(&plan.doc);
                doc.set_actor(sim.phone_actor.clone());
                let chunk = CHUNK.min(iters - done);
                let start = Instant::now();
                for k in 0..chunk {
                    let obj = &objs[k as usize % objs.len()];
                    doc.automerge_mut().put(obj, "title", format!("Relancer l'employeur n°{k}")).expect("put");
                    black_box(doc.commit("update action", sim.now + Days::seconds(60 * (k as i64 + 1))));
                }
                total += start.elapsed();
                done += chunk;
            }
            total
        })
    });

    // The phone makes CHUNK successive title edits; the server applies them one change at a time.
    let mut server = copy(&plan.doc);
    let fork_heads = server.heads();
    let mut phone = server.fork();
    phone.set_actor(sim.phone_actor.clone());
    for k in 0..CHUNK {
        let id = targets[k as usize % targets.len()];
        let now = sim.now + Days::seconds(60 * (k as i64 + 1));
        let patch = ActionPatch { title: Some(format!("Relancer l'employeur n°{k}")), ..ActionPatch::default() };
        phone.update_action(&sim.young_person, now, id, patch).expect("an allowed edit");
    }
    let received = phone.automerge_mut().get_changes(&fork_heads);
    assert_eq!(received.len() as u64, CHUNK);
    group.bench_function("apply_received_change", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut doc = copy(&server);
                let chunk = CHUNK.min(iters - done);
                let changes: Vec<_> = received[..chunk as usize].to_vec();
                let start = Instant::now();
                for change in changes {
                    doc.automerge_mut().apply_changes([change]).expect("apply");
                }
                total += start.elapsed();
                done += chunk;
            }
            total
        })
    });
    group.finish();
}

fn object(doc: &PlanDocument, parent: &ObjId, key: &str) -> ObjId {
    match doc.automerge().get(parent, key) {
        Ok(Some((Value::Object(_), id))) => id,
        other => panic!("{key} is not an object: {other:?}"),
    }
}

/// 2. The server takes in 200 edits a phone made offline (fork → 200 edits → merge).
fn merge_offline_edits(c: &mut Criterion, plan: &TwoYearPlan) {
    let mut group = c.benchmark_group("merge_200_offline_edits");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    let offline = fixture::offline_phone(plan, SEED + 1, 200);
    let mut phone = copy(&offline.phone);
    let bytes = phone.automerge_mut().save_after(&offline.fork_heads);
    let mut check = copy(&offline.server);
    check.automerge_mut().merge(phone.automerge_mut()).expect("merge");
    assert_eq!(check.heads(), phone.heads(), "the server has all of the phone's edits");
    assert_eq!(fixture::change_count(&mut check), fixture::CHANGES + 200);

    group.bench_function("merge_replica", |b| {
        b.iter_batched(
            || (copy(&offline.server), copy(&offline.phone)),
            |(mut server, mut phone)| {
                black_box(server.automerge_mut().merge(phone.automerge_mut()).expect("merge"));
                (server, phone)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("load_incremental_bytes", |b| {
        b.iter_batched(
            || copy(&offline.server),
            |mut server| {
                server.load_incremental(black_box(&bytes)).expect("load_incremental");
                server
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// 3. Load the two-year plan from `save()` bytes (and, for reference, read it as a typed `Plan`).
fn load_two_year_plan(c: &mut Criterion, plan: &mut TwoYearPlan) {
    let mut group = c.benchmark_group("load_two_year_plan");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    let bytes = plan.doc.save();
    group.bench_function("load_saved_bytes", |b| {
        b.iter_with_large_drop(|| PlanDocument::load(black_box(&bytes)).expect("load"))
    });
    let loaded = PlanDocument::load(&bytes).expect("load");
    group.bench_function("read_typed_plan", |b| b.iter_with_large_drop(|| loaded.plan()));
    group.finish();
}

/// 4. Review a merged batch of 200 phone changes (some refused) and write the compensation.
fn review_and_compensate(c: &mut Criterion, plan: &TwoYearPlan) {
    let mut group = c.benchmark_group("review_200_changes");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    let batch = fixture::review_batch(plan, SEED + 2, 200, 10, 10);

    let mut doc = copy(&batch.merged);
    let verdicts = review(&mut doc, &batch.before, &batch.author, batch.now);
    let refusals = verdicts.refusals().count();
    let compensation = compensate(&mut doc, &verdicts, &batch.author, batch.now).expect("compensate");
    eprintln!(
        "review batch: {} effects, {refusals} refused, {} corrections, {} events; compensation {}",
        verdicts.verdicts.len(),
        verdicts.corrections().count(),
        verdicts.events.len(),
        if compensation.is_some() { "written" } else { "none" },
    );
    assert!(refusals > 0, "the batch must contain refused edits");

    group.bench_function("review_and_compensate", |b| {
        b.iter_batched(
            || copy(&batch.merged),
            |mut doc| {
                let verdicts = review(&mut doc, &batch.before, &batch.author, batch.now);
                let written = compensate(&mut doc, &verdicts, &batch.author, batch.now).expect("compensate");
                (doc, verdicts, written)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("review_only", |b| {
        b.iter_batched(
            || copy(&batch.merged),
            |mut doc| {
                let verdicts = review(&mut doc, &batch.before, &batch.author, batch.now);
                (doc, verdicts)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}
