#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
//! A plan with one entity in each interesting state, shared by the rule and review tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sync_core::edit::{NewAction, NewAppointment, NewTask};
use sync_core::model::{ActionCategory, AppointmentKind, Modality, QualificationCode, TaskKind};
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

pub struct Fixture {
    pub doc: PlanDocument,
    pub young_person: Uuid,
    pub adviser: Uuid,
    /// Not started, created by the young person.
    pub open_action: Uuid,
    /// Done, created by the young person, not qualified.
    pub done_action: Uuid,
    /// Done and qualified by the adviser.
    pub qualified_action: Uuid,
    /// Created by the adviser.
    pub adviser_action: Uuid,
    pub future_appointment: Uuid,
    pub past_appointment: Uuid,
    pub task: Uuid,
    /// The clock when the fixture is done.
    pub now: DateTime<Utc>,
}

pub fn action(title: &str) -> NewAction {
    NewAction { title: title.into(), category: Some(ActionCategory::Emploi), ..NewAction::default() }
}

pub fn appointment(starts_at: DateTime<Utc>) -> NewAppointment {
    NewAppointment {
        id: None,
        title: "Point mensuel".into(),
        kind: AppointmentKind::EntretienIndividuelConseiller,
        starts_at,
        duration_minutes: 45,
        modality: Modality::InPerson,
        address: Some("12 rue de la République, 69002 Lyon".into()),
        video_url: None,
        comment: None,
        adviser_present: None,
    }
}

pub fn task(title: &str) -> NewTask {
    NewTask {
        id: None,
        kind: TaskKind::Application,
        title: title.into(),
        company: Some("Boulangerie Martin".into()),
        offer_url: None,
        due_date: None,
        notes: None,
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let young_person = Uuid::new_v4();
        let adviser = Uuid::new_v4();
        let yp = Author::young_person(young_person);
        let adv = Author::adviser(adviser);
        let mut doc = PlanDocument::genesis(young_person).unwrap();
        let now = t0();
        let open_action = doc.create_action(&yp, now, action("Préparer mon CV")).unwrap().id;
        let done_action = doc.create_action(&yp, now, action("S'inscrire à France Travail")).unwrap().id;
        doc.complete_action(&yp, now, done_action).unwrap();
        let qualified_action = doc.create_action(&yp, now, action("Atelier numérique")).unwrap().id;
        doc.complete_action(&yp, now, qualified_action).unwrap();
        doc.qualify_action(&adv, now, qualified_action, QualificationCode::Formation, None).unwrap();
        let adviser_action = doc.create_action(&adv, now, action("Prendre rendez-vous avec la CAF")).unwrap().id;
        let future_appointment = doc.schedule_appointment(&adv, now, appointment(now + Duration::days(10))).unwrap().id;
        let past_appointment = doc.schedule_appointment(&adv, now, appointment(now + Duration::days(1))).unwrap().id;
        let task = doc.create_task(&yp, now, task("Candidature vendeur")).unwrap().id;
        Fixture {
            doc,
            young_person,
            adviser,
            open_action,
            done_action,
            qualified_action,
            adviser_action,
            future_appointment,
            past_appointment,
            task,
            // Two days later: the "past" appointment has started.
            now: now + Duration::days(2),
        }
    }
}
