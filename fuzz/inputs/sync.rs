//! One input of the `plan_sync` fuzz target, shared with its replay test
//! (`sync-core/tests/integration/sync_fuzz.rs`): one sync message from a phone, handled as the server does
//! (`PlanSync::receive`, then `generate` for the answer), on a plan with an action, an appointment
//! and a task. An error, never a panic nor a hang; what an accepted message leaves to store loads
//! with the plan it was applied to.

use std::sync::OnceLock;

use automerge::ActorId;
use automerge::sync::{self, SyncDoc};
use chrono::{DateTime, Duration, Utc};
use sync_core::edit::{NewAction, NewAppointment, NewTask};
use sync_core::engine::PlanSync;
use sync_core::model::{ActionCategory, AppointmentKind, Modality, TaskKind};
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

pub const YOUNG_PERSON: Uuid = Uuid::from_u128(0x7a11);
pub const ADVISER: Uuid = Uuid::from_u128(0xad71);

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap_or_default()
}

/// The plan the server holds: the same bytes on every run (fixed ids, actors and times), so
/// that the corpus's messages keep meaning the same thing.
pub fn base_plan() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut doc = PlanDocument::genesis(YOUNG_PERSON).expect("genesis");
        doc.set_actor(ActorId::from(Uuid::from_u128(0x5e7e).as_bytes().as_slice()));
        let yp = Author::young_person(YOUNG_PERSON);
        let adv = Author::adviser(ADVISER);
        let now = t0();
        let action = NewAction {
            id: Some(Uuid::from_u128(1)),
            title: "Préparer mon CV".into(),
            category: Some(ActionCategory::Emploi),
            ..NewAction::default()
        };
        doc.create_action(&yp, now, action).expect("action");
        let appointment = NewAppointment {
            id: Some(Uuid::from_u128(2)),
            title: "Point mensuel".into(),
            kind: AppointmentKind::EntretienIndividuelConseiller,
            starts_at: now + Duration::days(3),
            duration_minutes: 45,
            modality: Modality::InPerson,
            address: Some("12 rue de la République, 69002 Lyon".into()),
            video_url: None,
            comment: None,
            adviser_present: None,
        };
        doc.schedule_appointment(&adv, now, appointment).expect("appointment");
        let task = NewTask {
            id: Some(Uuid::from_u128(3)),
            kind: TaskKind::Application,
            title: "Candidature vendeur".into(),
            company: Some("Boulangerie Martin".into()),
            offer_url: None,
            due_date: None,
            notes: None,
        };
        doc.create_task(&yp, now, task).expect("task");
        doc.save()
    })
}

/// The server's clock when the message arrives.
pub fn now() -> DateTime<Utc> {
    t0() + Duration::days(1)
}

pub fn one_sync_message(message: &[u8]) {
    let base = base_plan();
    let mut server = PlanSync::new(PlanDocument::load(base).expect("the base plan loads"));
    let author = Author::young_person(YOUNG_PERSON);
    match server.receive("phone", &author, message, now(), |_| true) {
        Ok(received) => {
            let _ = server.generate("phone");
            let _ = server.document().plan();
            if received.changed() {
                let mut stored = base.to_vec();
                stored.extend_from_slice(&received.to_store);
                let reloaded = PlanDocument::load(&stored).expect("what a sync stores loads with its plan");
                let _ = reloaded.plan();
            }
        }
        Err(_) => {
            // The server drops the plan and reloads it from storage, then answers the peer.
            let mut server = PlanSync::new(PlanDocument::load(base).expect("the base plan loads"));
            let _ = server.generate("phone");
        }
    }
}

/// Real messages of a phone syncing the base plan: its first (heads only), then each message of
/// the exchange while it sends offline edits of the young person (accepted and refused ones).
pub fn seed_messages() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let yp = Author::young_person(YOUNG_PERSON);
    for edits in 0..3u128 {
        let mut phone = PlanDocument::load(base_plan()).expect("base");
        phone.set_actor(ActorId::from(Uuid::from_u128(0x9407 + edits).as_bytes().as_slice()));
        if edits >= 1 {
            let action =
                NewAction { id: Some(Uuid::from_u128(10 + edits)), title: "Atelier".into(), ..NewAction::default() };
            let _ = phone.create_action(&yp, now(), action);
        }
        if edits >= 2 {
            let patch = sync_core::edit::TaskPatch { title: Some("Candidature caissier".into()), ..Default::default() };
            let _ = phone.update_task(&yp, now(), Uuid::from_u128(3), patch);
            let _ = phone.complete_action(&yp, now(), Uuid::from_u128(1));
        }
        let mut server = PlanSync::new(PlanDocument::load(base_plan()).expect("base"));
        let mut state = sync::State::new();
        for _ in 0..6 {
            let Some(up) = phone.automerge_mut().sync().generate_sync_message(&mut state) else { break };
            let up = up.encode();
            seeds.push(up.clone());
            if server.receive("phone", &yp, &up, now(), |_| true).is_err() {
                break;
            }
            if let Some(down) = server.generate("phone") {
                if let Ok(down) = sync::Message::decode(&down) {
                    let _ = phone.automerge_mut().sync().receive_sync_message(&mut state, down);
                }
            }
        }
    }
    // A phone that knows nothing of the plan (a fresh install), and an empty message.
    let mut fresh = automerge::AutoCommit::new();
    if let Some(m) = fresh.sync().generate_sync_message(&mut sync::State::new()) {
        seeds.push(m.encode());
    }
    seeds.dedup();
    seeds
}

/// Saved plans for the `document_load` target: the base plan, a genesis, a plan with offline
/// edits, and a snapshot followed by change chunks (what storage holds between compactions).
pub fn seed_documents() -> Vec<Vec<u8>> {
    let yp = Author::young_person(YOUNG_PERSON);
    let mut seeds = vec![base_plan().to_vec()];
    if let Ok(mut genesis) = PlanDocument::genesis(YOUNG_PERSON) {
        seeds.push(genesis.save());
    }
    let mut doc = PlanDocument::load(base_plan()).expect("base");
    let action = NewAction { id: Some(Uuid::from_u128(20)), title: "Atelier".into(), ..NewAction::default() };
    let _ = doc.create_action(&yp, now(), action);
    let _ = doc.add_comment(
        &yp,
        now(),
        sync_core::schema::Collection::Actions,
        Uuid::from_u128(1),
        Some(Uuid::from_u128(21)),
        "Fait".into(),
    );
    let mut chunks = base_plan().to_vec();
    chunks.extend_from_slice(&doc.save_incremental());
    seeds.push(chunks);
    seeds.push(doc.save());
    seeds
}
