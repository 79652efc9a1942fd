//! The advisers' web app's read queries (`AdviserViews`), on SQLite and PostgreSQL. Every plan is
//! written through `Documents::write` at injected instants, so the projections are the real
//! ones; each expectation is written by hand from the data the test inserts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::{DateTime, NaiveDate, Utc};
use common::{TestApp, TestDb, edit, world};
use server::demo::{create_staff, create_young_person};
use server::store::{PortfolioKind, PortfolioLine, PortfolioScope};
use sync_core::Author;
use sync_core::edit::{NewAction, NewAppointment};
use sync_core::model::{AppointmentKind, Modality, Presence, QualificationCode, Role};
use uuid::Uuid;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn adviser(id: Uuid) -> Author {
    Author::new(id, Role::Adviser, true)
}

/// An action created by `by` at `at`.
async fn action(t: &TestApp, yp: Uuid, by: &Author, at: &str, due: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    let new = NewAction {
        id: Some(id),
        title: format!("Action {at}"),
        category: None,
        description: None,
        due_date: due.map(day),
        status: None,
        reminder: None,
    };
    edit(t, yp, by, utc(at), move |d, a, now| d.create_action(a, now, new)).await;
    id
}

async fn complete(t: &TestApp, yp: Uuid, by: &Author, at: &str, id: Uuid) {
    edit(t, yp, by, utc(at), move |d, a, now| d.complete_action(a, now, id)).await;
}

/// An appointment led by `by`, scheduled (written) at `at`, starting at `starts`.
async fn appointment(t: &TestApp, yp: Uuid, by: &Author, at: &str, starts: &str) -> Uuid {
    let id = Uuid::new_v4();
    let new = NewAppointment {
        id: Some(id),
        title: format!("Rendez-vous {starts}"),
        kind: AppointmentKind::EntretienIndividuelConseiller,
        starts_at: utc(starts),
        duration_minutes: 30,
        modality: Modality::InPerson,
        address: Some("12 rue de la République, 69002 Lyon".into()),
        video_url: None,
        comment: None,
        adviser_present: None,
    };
    edit(t, yp, by, utc(at), move |d, a, now| d.schedule_appointment(a, now, new)).await;
    id
}

async fn close(t: &TestApp, yp: Uuid, by: &Author, at: &str, id: Uuid, presence: Presence) {
    edit(t, yp, by, utc(at), move |d, a, now| d.close_appointment(a, now, id, presence)).await;
}

async fn cancel(t: &TestApp, yp: Uuid, by: &Author, at: &str, id: Uuid) {
    edit(t, yp, by, utc(at), move |d, a, now| d.cancel_appointment(a, now, id)).await;
}

/// The tests' store has no archiving operation: set it in the database directly.
async fn archive(db: &TestDb, user: Uuid) {
    use sqlx::Connection;
    let sql = "UPDATE users SET archived_at = $1 WHERE id = $2";
    let at = utc("2026-03-01T00:00:00Z").timestamp_millis();
    match &db.url {
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).bind(at).bind(user.to_string()).execute(&mut c).await.unwrap();
        }
        None => {
            let url = format!("sqlite:{}", db.dir.join("pass-emploi.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sql).bind(at).bind(user.to_string()).execute(&mut c).await.unwrap();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    id: Uuid,
    last: &str,
    email: &str,
    activated: bool,
    temporary: bool,
    (open, late, to_qualify): (i64, i64, i64),
    next: Option<&str>,
    activity: Option<&str>,
) -> PortfolioLine {
    PortfolioLine {
        id,
        first_name: "Y".into(),
        last_name: last.into(),
        email: email.into(),
        activated,
        temporary,
        open_actions: open,
        late_actions: late,
        to_qualify,
        next_appointment_at: next.map(utc),
        last_activity_at: activity.map(utc),
    }
}

/// The whole picture of a Mission Locale on Wednesday 2026-03-04 at 10:00 UTC.
///
/// - Y Un (A's): 4 open actions (due yesterday: late; due today, due tomorrow in progress, no
///   due date: not late), a canceled one due long ago, two done and unqualified (completed on
///   03-02 08:00 and 03-03 08:00), one done and qualified; appointments by A: 03-01 09:00 closed,
///   03-02 09:00 closed (the window's first instant), 03-02 14:00 canceled, 03-03 09:00 not
///   closed, 03-04 10:30 canceled, 03-05 09:00 (next), 03-09 09:00 (the window's end).
/// - Y Deux (B's, followed temporarily by A): one done unqualified action (03-01 10:00); B's
///   appointments 03-03 14:00 (not closed) and 03-04 14:00; A's at 03-04 10:00 (= now).
/// - Y Trois (B's): nothing. Y Quatre (A's): never activated, nothing.
/// - Y Cinq: A's until moved to B; a done unqualified action (03-02 12:00), A's appointment on
///   03-05 14:00 (which A no longer sees).
/// - Y Six (A's, archived): a done unqualified action, a past appointment of A's not closed.
/// - Y Sept: another structure's.
async fn portfolio_agenda_and_follow_up(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let (a, b) = (adviser(w.a), adviser(w.b));
    let (yp1, yp2) = (Author::young_person(w.y1), Author::young_person(w.y2));
    let now = utc("2026-03-04T10:00:00Z");
    let today = day("2026-03-04");
    let s = &t.state;
    let hash = Some(s.passwords.hash(common::PASSWORD.into()).await.unwrap());
    let (y4, _) = create_young_person(s, "y4@test.fr", "Y", "Quatre", w.structure, Some(w.a), None).await.unwrap();
    let (y5, _) =
        create_young_person(s, "y5@test.fr", "Y", "Cinq", w.structure, Some(w.a), hash.clone()).await.unwrap();
    let (y6, _) = create_young_person(s, "y6@test.fr", "Y", "Six", w.structure, Some(w.a), hash.clone()).await.unwrap();
    let other = t.store.structure_by_name("Mission Locale d'ailleurs").await.unwrap().unwrap();
    let (y7, _) = create_young_person(s, "y7@test.fr", "Y", "Sept", other, None, hash).await.unwrap();

    // Y Un's actions.
    action(&t, w.y1, &a, "2026-02-27T09:00:00Z", Some("2026-03-03")).await;
    action(&t, w.y1, &a, "2026-02-27T09:01:00Z", Some("2026-03-04")).await;
    let tomorrow = action(&t, w.y1, &a, "2026-02-27T09:02:00Z", Some("2026-03-05")).await;
    action(&t, w.y1, &yp1, "2026-02-27T09:03:00Z", None).await;
    let canceled = action(&t, w.y1, &a, "2026-02-27T09:04:00Z", Some("2026-02-01")).await;
    edit(&t, w.y1, &a, utc("2026-02-27T09:05:00Z"), move |d, a, now| d.cancel_action(a, now, canceled)).await;
    let done1 = action(&t, w.y1, &a, "2026-02-27T09:06:00Z", Some("2026-03-02")).await;
    let done2 = action(&t, w.y1, &a, "2026-02-27T09:07:00Z", Some("2026-03-03")).await;
    let qualified = action(&t, w.y1, &a, "2026-02-27T09:08:00Z", Some("2026-03-01")).await;
    complete(&t, w.y1, &yp1, "2026-03-01T12:00:00Z", qualified).await;
    complete(&t, w.y1, &yp1, "2026-03-02T08:00:00Z", done1).await;
    complete(&t, w.y1, &yp1, "2026-03-03T08:00:00Z", done2).await;
    // Written after, at an earlier instant: the last activity stays 03-03 08:00.
    edit(&t, w.y1, &yp1, utc("2026-03-01T15:00:00Z"), move |d, a, now| {
        d.update_action(
            a,
            now,
            tomorrow,
            sync_core::edit::ActionPatch {
                status: Some(sync_core::model::ActionStatus::InProgress),
                ..Default::default()
            },
        )
    })
    .await;
    edit(&t, w.y1, &a, utc("2026-03-04T09:00:00Z"), move |d, a, now| {
        d.qualify_action(a, now, qualified, QualificationCode::Emploi, None)
    })
    .await;

    // Y Un's appointments, all A's.
    let p0 = appointment(&t, w.y1, &a, "2026-02-26T09:00:00Z", "2026-03-01T09:00:00Z").await;
    let p1 = appointment(&t, w.y1, &a, "2026-02-26T09:01:00Z", "2026-03-02T09:00:00Z").await;
    let c0 = appointment(&t, w.y1, &a, "2026-02-26T09:02:00Z", "2026-03-02T14:00:00Z").await;
    let p2 = appointment(&t, w.y1, &a, "2026-02-26T09:03:00Z", "2026-03-03T09:00:00Z").await;
    let c1 = appointment(&t, w.y1, &a, "2026-02-26T09:04:00Z", "2026-03-04T10:30:00Z").await;
    let n1 = appointment(&t, w.y1, &a, "2026-02-26T09:05:00Z", "2026-03-05T09:00:00Z").await;
    appointment(&t, w.y1, &a, "2026-02-26T09:06:00Z", "2026-03-09T09:00:00Z").await;
    cancel(&t, w.y1, &a, "2026-02-27T10:00:00Z", c0).await;
    cancel(&t, w.y1, &a, "2026-02-27T10:01:00Z", c1).await;
    close(&t, w.y1, &a, "2026-03-01T10:00:00Z", p0, Presence::Absent).await;
    close(&t, w.y1, &a, "2026-03-02T10:00:00Z", p1, Presence::Present).await;

    // Y Deux: B's, and A's for a while.
    t.store.transfer(&[w.y2], w.a, PortfolioKind::Temporary, utc("2026-02-25T09:00:00Z")).await.unwrap();
    let y2_done = action(&t, w.y2, &b, "2026-02-26T09:00:00Z", None).await;
    complete(&t, w.y2, &yp2, "2026-03-01T10:00:00Z", y2_done).await;
    let y2a = appointment(&t, w.y2, &b, "2026-02-26T10:00:00Z", "2026-03-03T14:00:00Z").await;
    let y2b = appointment(&t, w.y2, &a, "2026-02-26T10:01:00Z", "2026-03-04T10:00:00Z").await;
    let y2c = appointment(&t, w.y2, &b, "2026-02-26T10:02:00Z", "2026-03-04T14:00:00Z").await;

    // Y Cinq: A's appointment and done action, then moved to B for good.
    let yp5 = Author::young_person(y5);
    let y5_done = action(&t, y5, &a, "2026-02-26T11:00:00Z", None).await;
    complete(&t, y5, &yp5, "2026-03-02T12:00:00Z", y5_done).await;
    appointment(&t, y5, &a, "2026-02-26T11:01:00Z", "2026-03-05T14:00:00Z").await;
    t.store.transfer(&[y5], w.b, PortfolioKind::Definitive, utc("2026-03-03T09:00:00Z")).await.unwrap();

    // Y Six: archived with work pending; Y Sept: elsewhere, with a late action.
    let y6_done = action(&t, y6, &a, "2026-02-26T12:00:00Z", None).await;
    complete(&t, y6, &Author::young_person(y6), "2026-02-26T12:01:00Z", y6_done).await;
    appointment(&t, y6, &a, "2026-02-26T12:02:00Z", "2026-03-03T10:00:00Z").await;
    archive(db, y6).await;
    action(&t, y7, &Author::young_person(y7), "2026-02-26T13:00:00Z", Some("2026-03-01")).await;

    // --- portfolios ---
    let y1_line = line(
        w.y1,
        "Un",
        "y1@test.fr",
        true,
        false,
        (4, 1, 2),
        Some("2026-03-05T09:00:00Z"),
        Some("2026-03-03T08:00:00Z"),
    );
    let y4_line = line(y4, "Quatre", "y4@test.fr", false, false, (0, 0, 0), None, None);
    let y2_line = |temporary| {
        line(
            w.y2,
            "Deux",
            "y2@test.fr",
            true,
            temporary,
            (0, 0, 1),
            Some("2026-03-04T10:00:00Z"),
            Some("2026-03-01T10:00:00Z"),
        )
    };
    let y3_line = line(w.y3, "Trois", "y3@test.fr", true, false, (0, 0, 0), None, None);
    let y5_line = line(
        y5,
        "Cinq",
        "y5@test.fr",
        true,
        false,
        (0, 0, 1),
        Some("2026-03-05T14:00:00Z"),
        Some("2026-03-02T12:00:00Z"),
    );
    assert_eq!(
        t.store.portfolio_lines(PortfolioScope::Adviser(w.a), today, now).await.unwrap(),
        vec![y2_line(true), y4_line.clone(), y1_line.clone()]
    );
    assert_eq!(
        t.store.portfolio_lines(PortfolioScope::Adviser(w.b), today, now).await.unwrap(),
        vec![y5_line.clone(), y2_line(false), y3_line.clone()]
    );
    assert_eq!(
        t.store.portfolio_lines(PortfolioScope::Structure(w.structure), today, now).await.unwrap(),
        vec![y5_line, y2_line(false), y4_line, y3_line, y1_line]
    );
    // The day after, the action due today is late too; after 09:00 on 03-05, the next is 03-09.
    let later = t.store.portfolio_lines(PortfolioScope::Adviser(w.a), day("2026-03-05"), utc("2026-03-05T09:00:01Z"));
    let later = later.await.unwrap();
    assert_eq!((later[2].late_actions, later[2].next_appointment_at), (2, Some(utc("2026-03-09T09:00:00Z"))));
    assert!(t.store.portfolio_lines(PortfolioScope::Adviser(w.sup), today, now).await.unwrap().is_empty());

    // --- agenda: [03-02 09:00, 03-09 09:00) ---
    let ids = |lines: Vec<server::store::AgendaLine>| -> Vec<(Uuid, Uuid)> {
        lines.into_iter().map(|l| (l.young_person_id, l.appointment.id)).collect()
    };
    let (from, to) = (utc("2026-03-02T09:00:00Z"), utc("2026-03-09T09:00:00Z"));
    let agenda_a = t.store.adviser_appointments(w.a, from, to).await.unwrap();
    assert_eq!(ids(agenda_a.clone()), vec![(w.y1, p1), (w.y1, c0), (w.y1, p2), (w.y2, y2b), (w.y1, c1), (w.y1, n1)]);
    let c0_line = &agenda_a[1];
    assert_eq!((c0_line.first_name.as_str(), c0_line.last_name.as_str()), ("Y", "Un"));
    assert_eq!(c0_line.appointment.status, "canceled");
    assert_eq!(c0_line.appointment.starts_at, utc("2026-03-02T14:00:00Z"));
    assert_eq!(c0_line.appointment.adviser_id, w.a);
    assert_eq!(agenda_a[0].appointment.presence.as_deref(), Some("present"));
    assert_eq!(ids(t.store.adviser_appointments(w.b, from, to).await.unwrap()), vec![(w.y2, y2a), (w.y2, y2c)]);
    assert_eq!(t.store.adviser_appointments(w.a, to, utc("2026-03-09T09:00:00.001Z")).await.unwrap().len(), 1);

    // --- to close at 10:00 on 03-04 ---
    assert_eq!(ids(t.store.appointments_to_close(w.a, now).await.unwrap()), vec![(w.y1, p2), (w.y2, y2a), (w.y2, y2b)]);
    assert_eq!(ids(t.store.appointments_to_close(w.b, now).await.unwrap()), vec![(w.y2, y2a), (w.y2, y2b)]);
    let just_before = utc("2026-03-04T09:59:59.999Z");
    assert_eq!(ids(t.store.appointments_to_close(w.a, just_before).await.unwrap()), vec![(w.y1, p2), (w.y2, y2a)]);

    // --- actions to qualify ---
    let pending = |list: Vec<server::store::PendingAction>| -> Vec<(Uuid, Uuid, Option<DateTime<Utc>>)> {
        list.into_iter().map(|p| (p.young_person_id, p.action.id, p.action.completed_at)).collect()
    };
    let for_a = t.store.actions_to_qualify(w.a).await.unwrap();
    assert_eq!(for_a[0].last_name, "Deux");
    assert_eq!(for_a[0].action.status, "done");
    assert_eq!(for_a[0].action.qualification_code, None);
    assert_eq!(
        pending(for_a),
        vec![
            (w.y2, y2_done, Some(utc("2026-03-01T10:00:00Z"))),
            (w.y1, done1, Some(utc("2026-03-02T08:00:00Z"))),
            (w.y1, done2, Some(utc("2026-03-03T08:00:00Z"))),
        ]
    );
    assert_eq!(
        pending(t.store.actions_to_qualify(w.b).await.unwrap()),
        vec![(w.y2, y2_done, Some(utc("2026-03-01T10:00:00Z"))), (y5, y5_done, Some(utc("2026-03-02T12:00:00Z")))]
    );

    // --- followers ---
    let followers = |list: Vec<(server::store::StaffMember, PortfolioKind)>| -> Vec<(Uuid, String, PortfolioKind)> {
        list.into_iter().map(|(m, k)| (m.id, m.last_name, k)).collect()
    };
    assert_eq!(
        followers(t.store.followers_named(w.y2).await.unwrap()),
        vec![(w.b, "B".into(), PortfolioKind::Definitive), (w.a, "A".into(), PortfolioKind::Temporary)]
    );
    assert_eq!(
        followers(t.store.followers_named(y5).await.unwrap()),
        vec![(w.b, "B".into(), PortfolioKind::Definitive)]
    );
    assert!(t.store.followers_named(y7).await.unwrap().is_empty());
}

/// The advisers and supervisors of a structure: not its young people, not another structure's
/// staff, not the archived, not the admin.
async fn staff_of_a_structure(db: &TestDb) {
    use server::store::StaffMember;
    let t = db.app().await;
    let w = world(&t).await;
    let gone = create_staff(&t.state, Role::Adviser, "z@test.fr", "Ad", "Z", Some(w.structure), common::PASSWORD)
        .await
        .unwrap();
    archive(db, gone).await;
    let member = |id, last: &str, email: &str, first: &str, role| StaffMember {
        id,
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        role,
    };
    assert_eq!(
        t.store.structure_staff(w.structure).await.unwrap(),
        vec![
            member(w.a, "A", "a@test.fr", "Ad", Role::Adviser),
            member(w.b, "B", "b@test.fr", "Ad", Role::Adviser),
            member(w.sup, "Per", "sup@test.fr", "Su", Role::Supervisor),
        ]
    );
    let other = t.store.structure_by_name("Mission Locale d'ailleurs").await.unwrap().unwrap();
    assert_eq!(
        t.store.structure_staff(other).await.unwrap(),
        vec![member(w.other_sup, "Two", "sup2@test.fr", "Su", Role::Supervisor)]
    );
    // An archived follower is not named.
    t.store.add_to_portfolio(w.y1, gone, PortfolioKind::Temporary, Utc::now()).await.unwrap();
    let named: Vec<Uuid> = t.store.followers_named(w.y1).await.unwrap().into_iter().map(|(m, _)| m.id).collect();
    assert_eq!(named, vec![w.a]);
}

/// The last activity of the first young person of an adviser's portfolio.
async fn activity(t: &TestApp, adviser: Uuid) -> Option<DateTime<Utc>> {
    let lines = t.store.portfolio_lines(PortfolioScope::Adviser(adviser), day("2026-03-04"), Utc::now()).await.unwrap();
    lines[0].last_activity_at
}

/// The last activity is the young person's own last write: REST or sync, never the adviser's.
async fn last_activity_is_the_young_persons_own(db: &TestDb) {
    use common::sync_client::{Peer, serve};
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    let yp = Author::young_person(w.y1);
    assert_eq!(activity(&t, w.a).await, None);
    action(&t, w.y1, &a, "2026-03-02T09:00:00Z", None).await;
    assert_eq!(activity(&t, w.a).await, None);
    let own = action(&t, w.y1, &yp, "2026-03-02T10:00:00Z", None).await;
    assert_eq!(activity(&t, w.a).await, Some(utc("2026-03-02T10:00:00Z")));
    edit(&t, w.y1, &a, utc("2026-03-03T09:00:00Z"), move |d, a, now| {
        d.add_comment(a, now, sync_core::schema::Collection::Actions, own, None, "Bien joué".into()).map(|(_, o)| o)
    })
    .await;
    assert_eq!(activity(&t, w.a).await, Some(utc("2026-03-02T10:00:00Z")));
    // Another young person's writes are theirs only.
    action(&t, w.y2, &Author::young_person(w.y2), "2026-03-03T10:00:00Z", None).await;
    assert_eq!(activity(&t, w.a).await, Some(utc("2026-03-02T10:00:00Z")));

    // The phone's sync (the server's clock).
    let addr = serve(t.state.clone()).await;
    let doc_id: sync_core::DocumentId = t.store.document_of(w.y1).await.unwrap().unwrap().parse().unwrap();
    let token = t.token("y1@test.fr").await;
    let mut replica = sync_core::PlanDocument::genesis(w.y1).unwrap();
    replica.set_actor(automerge::ActorId::random());
    let mut phone = Peer::connect(addr, &token, "phone-1", doc_id, replica).await;
    phone.sync().await;
    // Stored to the millisecond.
    let before = Utc::now() - chrono::Duration::milliseconds(1);
    let new = NewAction {
        id: None,
        title: "Appeler la boulangerie".into(),
        category: None,
        description: None,
        due_date: None,
        status: None,
        reminder: None,
    };
    phone.doc.create_action(&yp, Utc::now(), new).unwrap();
    phone.sync().await;
    let synced = activity(&t, w.a).await.unwrap();
    assert!(synced >= before && synced <= Utc::now(), "{synced} {before}");
}

/// 150 young people with a full plan each: one query, fast.
async fn portfolio_of_150(db: &TestDb) {
    use server::store::{ActionRow, AppointmentRow, PlanWrite, Projections, ReminderChanges};
    let t = db.app().await;
    let w = world(&t).await;
    let at = utc("2026-03-01T09:00:00Z");
    for i in 0..150 {
        let email = format!("p{i:03}@test.fr");
        let (id, document_id) =
            create_young_person(&t.state, &email, "P", &format!("N{i:03}"), w.structure, Some(w.a), None)
                .await
                .unwrap();
        let act = |status: &str, due: Option<&str>| ActionRow {
            id: Uuid::new_v4(),
            title: "Action".into(),
            category: "EMPLOI".into(),
            status: status.into(),
            due_date: due.map(day),
            completed_at: None,
            qualification_code: None,
            created_by: w.a,
            created_at: at,
            updated_at: at,
            reminder: true,
        };
        let apt = |starts: &str, status: &str| AppointmentRow {
            id: Uuid::new_v4(),
            title: "Entretien".into(),
            kind: "ATELIER".into(),
            starts_at: utc(starts),
            duration_minutes: 30,
            status: status.into(),
            presence: None,
            response: None,
            adviser_id: w.a,
        };
        let projections = Projections {
            actions: vec![
                act("not_started", Some("2026-03-01")),
                act("in_progress", Some("2026-03-10")),
                act("done", None),
                act("done", None),
                act("canceled", Some("2026-02-01")),
            ],
            appointments: vec![
                apt("2026-03-02T09:00:00Z", "scheduled"),
                apt("2026-03-05T09:00:00Z", "canceled"),
                apt("2026-03-06T09:00:00Z", "scheduled"),
            ],
            tasks: Vec::new(),
        };
        let mut write = PlanWrite {
            document_id,
            // The genesis snapshot is the plan's first chunk.
            after_seq: 1,
            young_person_id: id,
            changes: Vec::new(),
            snapshot: None,
            projections,
            touched: None,
            events: Vec::new(),
            notifications: Vec::new(),
            reminders: ReminderChanges::default(),
            by_young_person: i % 2 == 0,
            at,
        };
        t.store.commit_plan_write(&mut write, &mut |_, _| panic!("nobody else writes")).await.unwrap();
    }
    let started = std::time::Instant::now();
    let lines = t.store.portfolio_lines(PortfolioScope::Adviser(w.a), day("2026-03-04"), utc("2026-03-04T10:00:00Z"));
    let lines = lines.await.unwrap();
    let took = started.elapsed();
    eprintln!("portfolio_lines of 151 young people on {}: {took:?}", t.store.backend());
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    assert_eq!(lines.len(), 151);
    assert_eq!(lines[0].last_name, "N000");
    assert_eq!(
        (lines[0].open_actions, lines[0].late_actions, lines[0].to_qualify, lines[0].next_appointment_at),
        (2, 1, 2, Some(utc("2026-03-06T09:00:00Z")))
    );
    assert_eq!((lines[0].last_activity_at, lines[1].last_activity_at), (Some(at), None));
    assert!(!lines[0].activated);
    assert_eq!(lines[150].last_name, "Un");
}

on_both_backends!(
    portfolio_agenda_and_follow_up,
    staff_of_a_structure,
    last_activity_is_the_young_persons_own,
    portfolio_of_150,
);
