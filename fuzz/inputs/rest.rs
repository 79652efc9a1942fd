//! One input of the `rest_bodies` fuzz target, shared with its replay test
//! (`server/tests/integration/api.rs`): the bytes of a request body, parsed as every JSON body the REST API
//! takes, with the same function as the handlers' extractor (`server::error::parse_json`, behind
//! `ApiJson`). A body is a value or a 400/422, never a panic. The plan bodies that parse are then
//! applied to a plan as their handlers do (the same conversion into sync-core's edit types), as
//! the young person and as the adviser: an edit or a refusal, never a panic, and the plan still
//! reads.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use server::error::{ApiError, ApiResult, parse_json};
use server::notifications::webpush::BrowserSubscription;
use server::routes::auth::{ActivateBody, LoginBody, RefreshBody};
use server::routes::devices::NewDevice;
use server::routes::plans::{
    ActionPatchBody, AnswerBody, AppointmentPatchBody, CloseBody, CommentBody, CreateActionBody, CreateAppointmentBody,
    CreateTaskBody, QualificationBody, TaskPatchBody,
};
use server::routes::push::Unsubscribe;
use server::routes::transfers::TransferBody;
use server::routes::young_people::NewYoungPerson;
use sync_core::edit::{ActionPatch, AppointmentPatch, NewAction, NewAppointment, NewTask, TaskPatch};
use sync_core::schema::Collection;
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

const YOUNG_PERSON: Uuid = Uuid::from_u128(0x7a11);
const ADVISER: Uuid = Uuid::from_u128(0xad71);
const ACTION: Uuid = Uuid::from_u128(1);
const APPOINTMENT: Uuid = Uuid::from_u128(2);
const TASK: Uuid = Uuid::from_u128(3);

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap_or_default()
}

/// A plan with one action (done), one appointment (started) and one task, the same on every run.
fn base_plan() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut doc = PlanDocument::genesis(YOUNG_PERSON).expect("genesis");
        let yp = Author::young_person(YOUNG_PERSON);
        let adv = Author::adviser(ADVISER);
        let now = t0();
        let action = NewAction { id: Some(ACTION), title: "Préparer mon CV".into(), ..NewAction::default() };
        doc.create_action(&yp, now, action).expect("action");
        doc.complete_action(&yp, now, ACTION).expect("done");
        let appointment = NewAppointment {
            id: Some(APPOINTMENT),
            title: "Point mensuel".into(),
            kind: sync_core::model::AppointmentKind::EntretienIndividuelConseiller,
            starts_at: now + Duration::hours(1),
            duration_minutes: 45,
            modality: sync_core::model::Modality::InPerson,
            address: Some("12 rue de la République, 69002 Lyon".into()),
            video_url: None,
            comment: None,
            adviser_present: None,
        };
        doc.schedule_appointment(&adv, now, appointment).expect("appointment");
        let task = NewTask {
            id: Some(TASK),
            kind: sync_core::model::TaskKind::Application,
            title: "Candidature vendeur".into(),
            company: None,
            offer_url: None,
            due_date: None,
            notes: None,
        };
        doc.create_task(&yp, now, task).expect("task");
        doc.save()
    })
}

/// Parses as `T`; an error must be one of the extractor's answers (400 or 422).
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let parsed: ApiResult<T> = parse_json(bytes);
    match parsed {
        Ok(value) => Some(value),
        Err(e) => {
            assert!(
                matches!(e, ApiError::BadRequest(_) | ApiError::Validation(_)),
                "a body that does not parse is a 400 or a 422, not {e:?}"
            );
            None
        }
    }
}

/// Applies `edit` to a fresh copy of the plan as the young person and as the adviser.
fn on_plan(mut edit: impl FnMut(&mut PlanDocument, &Author, DateTime<Utc>)) {
    for author in [Author::young_person(YOUNG_PERSON), Author::adviser(ADVISER)] {
        let mut doc = PlanDocument::load(base_plan()).expect("the base plan loads");
        edit(&mut doc, &author, t0() + Duration::hours(2));
        let _ = doc.plan();
    }
}

pub fn one_body(bytes: &[u8]) {
    let _ = parse::<LoginBody>(bytes);
    let _ = parse::<RefreshBody>(bytes);
    let _ = parse::<ActivateBody>(bytes);
    let _ = parse::<NewDevice>(bytes);
    let _ = parse::<BrowserSubscription>(bytes);
    let _ = parse::<Unsubscribe>(bytes);
    let _ = parse::<TransferBody>(bytes);
    let _ = parse::<NewYoungPerson>(bytes);
    let _ = parse::<BTreeMap<String, bool>>(bytes);
    if let Some(body) = parse::<CreateActionBody>(bytes) {
        let new = NewAction {
            id: body.id,
            title: body.title,
            category: Some(body.category),
            description: body.description,
            due_date: body.due_date,
            status: body.status,
            reminder: body.reminder,
        };
        on_plan(|doc, a, now| drop(doc.create_action(a, now, new.clone())));
    }
    if let Some(body) = parse::<ActionPatchBody>(bytes) {
        let changes = ActionPatch {
            title: body.title,
            description: body.description,
            category: body.category,
            status: body.status,
            due_date: body.due_date,
            reminder: body.reminder,
        };
        on_plan(|doc, a, now| drop(doc.update_action(a, now, ACTION, changes.clone())));
    }
    if let Some(body) = parse::<CommentBody>(bytes) {
        on_plan(|doc, a, now| drop(doc.add_comment(a, now, Collection::Actions, ACTION, body.id, body.text.clone())));
    }
    if let Some(body) = parse::<QualificationBody>(bytes) {
        on_plan(|doc, a, now| drop(doc.qualify_action(a, now, ACTION, body.code, body.comment.clone())));
    }
    if let Some(body) = parse::<CreateAppointmentBody>(bytes) {
        let new = NewAppointment {
            id: body.id,
            title: body.title,
            kind: body.kind,
            starts_at: body.starts_at,
            duration_minutes: body.duration_minutes,
            modality: body.modality,
            address: body.address,
            video_url: body.video_url,
            comment: body.comment,
            adviser_present: body.adviser_present,
        };
        on_plan(|doc, a, now| drop(doc.schedule_appointment(a, now, new.clone())));
    }
    if let Some(body) = parse::<AppointmentPatchBody>(bytes) {
        let changes = AppointmentPatch {
            title: body.title,
            kind: body.kind,
            starts_at: body.starts_at,
            duration_minutes: body.duration_minutes,
            modality: body.modality,
            address: body.address,
            video_url: body.video_url,
            comment: body.comment,
            adviser_present: body.adviser_present,
        };
        on_plan(|doc, a, now| drop(doc.update_appointment(a, now, APPOINTMENT, changes.clone())));
    }
    if let Some(body) = parse::<CloseBody>(bytes) {
        on_plan(|doc, a, now| drop(doc.close_appointment(a, now, APPOINTMENT, body.presence)));
    }
    if let Some(body) = parse::<AnswerBody>(bytes) {
        on_plan(|doc, a, now| drop(doc.answer_appointment(a, now, APPOINTMENT, body.response)));
    }
    if let Some(body) = parse::<CreateTaskBody>(bytes) {
        let new = NewTask {
            id: body.id,
            kind: body.kind,
            title: body.title,
            company: body.company,
            offer_url: body.offer_url,
            due_date: body.due_date,
            notes: body.notes,
        };
        on_plan(|doc, a, now| drop(doc.create_task(a, now, new.clone())));
    }
    if let Some(body) = parse::<TaskPatchBody>(bytes) {
        let changes = TaskPatch {
            kind: body.kind,
            title: body.title,
            company: body.company,
            offer_url: body.offer_url,
            status: body.status,
            due_date: body.due_date,
            notes: body.notes,
        };
        on_plan(|doc, a, now| drop(doc.update_task(a, now, TASK, changes.clone())));
    }
}

/// Valid bodies of each kind, for the corpus.
pub fn seed_bodies() -> Vec<&'static str> {
    vec![
        r#"{"email":"lea@example.org","password":"correct horse battery"}"#,
        r#"{"refresh_token":"abc"}"#,
        r#"{"activation_code":"ABCD-1234","password":"correct horse battery"}"#,
        r#"{"platform":"android","token":"fcm-token"}"#,
        r#"{"endpoint":"https://fcm.googleapis.com/fcm/send/x","expirationTime":null,"keys":{"p256dh":"BNc","auth":"tBH"}}"#,
        r#"{"young_person_ids":["00000000-0000-0000-0000-000000007a11"],"to_adviser_id":"00000000-0000-0000-0000-00000000ad71","kind":"temporary"}"#,
        r#"{"first_name":"Léa","last_name":"Martin","email":"lea@example.org","timezone":"Europe/Paris"}"#,
        r#"{"action_created":true,"appointment_scheduled":false}"#,
        r#"{"id":"00000000-0000-0000-0000-000000000010","title":"CV","category":"EMPLOI","description":"d","due_date":"2026-03-20","status":"in_progress","reminder":true}"#,
        r#"{"title":"CV 2","description":null,"status":"done","due_date":null}"#,
        r#"{"id":"00000000-0000-0000-0000-000000000011","text":"Bravo"}"#,
        r#"{"code":"EMPLOI","comment":"ok"}"#,
        r#"{"title":"Point","kind":"ENTRETIEN_INDIVIDUEL_CONSEILLER","starts_at":"2026-03-10T09:00:00Z","duration_minutes":45,"modality":"video","video_url":"https://visio.example/x","adviser_present":true}"#,
        r#"{"starts_at":"2026-03-11T09:00:00Z","duration_minutes":30,"address":null,"comment":"salle 2"}"#,
        r#"{"presence":"present"}"#,
        r#"{"response":"accepted"}"#,
        r#"{"kind":"APPLICATION","title":"Vendeur","company":"Boulangerie","offer_url":"https://example.org/o","due_date":"2026-04-01","notes":"n"}"#,
        r#"{"status":"done","notes":null}"#,
    ]
}
