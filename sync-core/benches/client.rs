//! Speed of the phone's offline client (issue 5, "Speed and size"): cold open of a two-year plan
//! from the local store, one edit saved to disk, and a full sync after a week offline (50 edits on
//! the phone, 20 by the adviser on the server) against the server's own sync engine (review and
//! compensation included), with the bytes each way. Figures: docs/performance.md.
//!
//! Run with `cargo bench -p sync-core --features client --bench client`.

// The fixture is shared with the `plan` bench, which uses more of it.
#[allow(dead_code)]
mod fixture;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::sync;
use chrono::Duration as Days;
use criterion::{BatchSize, Criterion};
use sync_core::PlanDocument;
use sync_core::client::local_store::LocalStore;
use sync_core::client::replica::Replica;
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::engine::PlanSync;
use sync_core::schema::Collection;
use uuid::Uuid;

use fixture::{TwoYearPlan, copy};

const SEED: u64 = 2024;

fn main() {
    let plan = fixture::two_year_plan(SEED);
    let mut c = Criterion::default().configure_from_args();
    let dir = Dir::new("open");
    let young_person = seed_store(&dir.0, &plan.doc);
    cold_open(&mut c, &dir.0, young_person);
    edit_and_save(&mut c, &dir.0, young_person);
    week_offline_sync(&mut c, &plan);
    c.final_summary();
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        Dir(std::env::temp_dir().join(format!("pe-bench-{name}-{}", Uuid::new_v4().simple())))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `doc` as the replica's first snapshot; returns the young person.
fn seed_store(dir: &Path, doc: &PlanDocument) -> Uuid {
    let young_person = doc.young_person_id().expect("the plan names its young person");
    LocalStore::open(dir, young_person, || Ok(copy(doc))).expect("seed the store");
    young_person
}

fn cold_open(c: &mut Criterion, dir: &Path, young_person: Uuid) {
    let (mut replica, _) = Replica::open(dir, young_person, || PlanDocument::genesis(young_person)).expect("open");
    eprintln!("two-year plan on disk: {} bytes", replica.storage_bytes());
    assert_eq!(replica.plan().actions.len(), fixture::ACTIONS);
    drop(replica);
    let mut group = c.benchmark_group("client_cold_open");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    group.bench_function("open", |b| {
        b.iter(|| black_box(Replica::open(dir, young_person, || PlanDocument::genesis(young_person)).expect("open")))
    });
    group.bench_function("open_and_agenda", |b| {
        b.iter(|| {
            let (mut replica, _) =
                Replica::open(dir, young_person, || PlanDocument::genesis(young_person)).expect("open");
            black_box(replica.plan().actions.len())
        })
    });
    group.finish();
}

fn edit_and_save(c: &mut Criterion, dir: &Path, young_person: Uuid) {
    let (mut replica, _) = Replica::open(dir, young_person, || PlanDocument::genesis(young_person)).expect("open");
    let author = sync_core::Author::young_person(young_person);
    let ids = replica.document().entity_ids(Collection::Actions, None);
    let mut n = 0u64;
    let mut group = c.benchmark_group("client_edit");
    group.sample_size(50).measurement_time(Duration::from_secs(8));
    group.bench_function("edit_and_save_to_disk", |b| {
        b.iter(|| {
            n += 1;
            let id: Uuid = ids[(n as usize) % ids.len()].parse().expect("uuid");
            let patch = ActionPatch { description: Some(Some(format!("note {n}"))), ..Default::default() };
            // Some actions are locked (qualified): a refusal is measured too, it costs the same check.
            black_box(
                replica.edit(&author, chrono::Utc::now(), |doc, a, now| doc.update_action(a, now, id, patch)).ok(),
            )
        })
    });
    group.finish();
}

/// The phone and the server after a week apart.
struct Week {
    phone: PlanDocument,
    server: PlanDocument,
    shared: Vec<automerge::ChangeHash>,
    author: sync_core::Author,
}

fn week_apart(plan: &TwoYearPlan) -> Week {
    let offline = fixture::offline_phone(plan, SEED + 7, 50);
    let mut server = offline.server;
    let adviser = plan.sim.adviser.clone();
    server.set_actor(plan.sim.adviser_actor.clone());
    let mut now = plan.sim.now + Days::days(1);
    let actions = server.entity_ids(Collection::Actions, None);
    for i in 0..20 {
        now += Days::hours(6);
        if i % 2 == 0 {
            let new = NewAction { title: format!("Action du conseiller {i}"), ..Default::default() };
            server.create_action(&adviser, now, new).expect("adviser creates");
        } else {
            // The first action from here that still takes comments (qualified ones are locked).
            let commented = (0..actions.len()).any(|k| {
                let id: Uuid = actions[(i * 7 + k) % actions.len()].parse().expect("uuid");
                server.add_comment(&adviser, now, Collection::Actions, id, None, format!("Commentaire {i}")).is_ok()
            });
            assert!(commented, "an action open to comments");
        }
    }
    Week { phone: offline.phone, server, shared: offline.fork_heads, author: plan.sim.young_person.clone() }
}

/// One full sync: the phone (from the heads it shared with the server a week ago) against the
/// server's engine, until neither says anything. Returns (rounds, bytes up, bytes down).
fn sync_once(
    phone: &mut PlanDocument,
    server: &mut PlanSync,
    shared: &[automerge::ChangeHash],
    author: &sync_core::Author,
) -> (u32, usize, usize) {
    use automerge::sync::SyncDoc;
    let mut state = sync::State::new();
    state.shared_heads = shared.to_vec();
    let (mut rounds, mut up, mut down) = (0, 0, 0);
    loop {
        let outgoing = phone.automerge_mut().sync().generate_sync_message(&mut state).map(|m| m.encode());
        if let Some(message) = &outgoing {
            up += message.len();
            server.receive("phone", author, message, chrono::Utc::now(), |_| true).expect("server applies");
        }
        let reply = server.generate("phone");
        if let Some(message) = &reply {
            down += message.len();
            let decoded = sync::Message::decode(message).expect("a message");
            phone.automerge_mut().sync().receive_sync_message(&mut state, decoded).expect("phone applies");
        }
        rounds += 1;
        if outgoing.is_none() && reply.is_none() {
            return (rounds, up, down);
        }
    }
}

fn week_offline_sync(c: &mut Criterion, plan: &TwoYearPlan) {
    let week = week_apart(plan);
    let (mut phone, mut server) = (copy(&week.phone), PlanSync::new(copy(&week.server)));
    let (rounds, up, down) = sync_once(&mut phone, &mut server, &week.shared, &week.author);
    assert_eq!(phone.heads(), server.document_mut().heads(), "converged");
    eprintln!("a week offline (50 phone edits, 20 adviser edits): {rounds} rounds, {up} bytes up, {down} bytes down");
    let mut group = c.benchmark_group("client_week_offline");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("full_sync", |b| {
        b.iter_batched(
            || (copy(&week.phone), PlanSync::new(copy(&week.server))),
            |(mut phone, mut server)| black_box(sync_once(&mut phone, &mut server, &week.shared, &week.author)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}
