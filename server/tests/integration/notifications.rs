//! Notifications (issue 6, first part): outbox rows from events, preferences, quiet hours and
//! DST, reminders as rows, the centre. Every clock is injected (`now` passed explicitly).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{TestApp, TestDb, edit, world};
use serde_json::json;
use server::notifications::{centre, reminders};
use server::store::{NotificationRow, PlanWrite, Projections, ReminderChanges};
use sync_core::edit::{ActionPatch, AppointmentPatch, NewAction, NewAppointment, NewTask};
use sync_core::model::{AppointmentKind, AppointmentResponse, Modality, Person, Role, TaskKind};
use sync_core::schema::Collection;
use sync_core::{Author, DomainEvent, EventKind, PlanDocument};
use uuid::Uuid;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn adviser(id: Uuid) -> Author {
    Author::new(id, Role::Adviser, true)
}

fn new_action(due: Option<NaiveDate>) -> NewAction {
    NewAction {
        id: None,
        title: "Mettre à jour mon CV".into(),
        category: None,
        description: None,
        due_date: due,
        status: None,
        reminder: None,
    }
}

fn new_appointment(starts_at: DateTime<Utc>) -> NewAppointment {
    NewAppointment {
        id: None,
        title: "Entretien confidentiel".into(),
        kind: AppointmentKind::EntretienIndividuelConseiller,
        starts_at,
        duration_minutes: 30,
        modality: Modality::Phone,
        address: None,
        video_url: None,
        comment: None,
        adviser_present: None,
    }
}

/// `(kind, channel)` of a recipient's rows, sorted.
async fn rows(t: &TestApp, who: Uuid) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        t.store.notifications_of(who).await.unwrap().into_iter().map(|n| (n.kind, n.channel)).collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(k, c)| ((*k).to_owned(), (*c).to_owned())).collect();
    v.sort();
    v
}

async fn kind_rows(t: &TestApp, who: Uuid, kind: &str) -> Vec<NotificationRow> {
    t.store.notifications_of(who).await.unwrap().into_iter().filter(|n| n.kind == kind).collect()
}

async fn product_table(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    // B follows Y1 temporarily: the young person's acts reach every follower.
    t.store.add_to_portfolio(w.y1, w.b, server::store::PortfolioKind::Temporary, Utc::now()).await.unwrap();
    let (a, yp) = (adviser(w.a), Author::young_person(w.y1));
    let now = utc("2026-03-02T10:00:00Z"); // Monday 11:00 in Paris.

    // An adviser creates an action → the young person (mobile + centre); nobody else.
    let action = edit(&t, w.y1, &a, now, |d, au, n| d.create_action(au, n, new_action(None))).await.id;
    assert_eq!(rows(&t, w.y1).await, pairs(&[("action_created", "in_app"), ("action_created", "mobile")]));
    assert!(rows(&t, w.a).await.is_empty() && rows(&t, w.b).await.is_empty());

    // The adviser comments it → the young person.
    edit(&t, w.y1, &a, now, |d, au, n| {
        d.add_comment(au, n, Collection::Actions, action, None, "Bravo".into()).map(|(_, o)| o)
    })
    .await;
    assert_eq!(kind_rows(&t, w.y1, "action_commented").await.len(), 2);

    // The young person comments, completes the action, creates their own action → the advisers.
    edit(&t, w.y1, &yp, now, |d, au, n| {
        d.add_comment(au, n, Collection::Actions, action, None, "Merci".into()).map(|(_, o)| o)
    })
    .await;
    edit(&t, w.y1, &yp, now, |d, au, n| d.complete_action(au, n, action)).await;
    edit(&t, w.y1, &yp, now, |d, au, n| d.create_action(au, n, new_action(None))).await;
    for adviser_id in [w.a, w.b] {
        assert_eq!(
            rows(&t, adviser_id).await,
            pairs(&[
                ("action_completed", "in_app"),
                ("action_completed", "web"),
                ("comment_added", "in_app"),
                ("comment_added", "web"),
            ])
        );
    }

    // Appointments: scheduled, moved, answered (→ advisers), canceled.
    let start = utc("2026-03-20T09:00:00Z");
    let appt = edit(&t, w.y1, &a, now, |d, au, n| d.schedule_appointment(au, n, new_appointment(start))).await.id;
    let moved = AppointmentPatch { starts_at: Some(start + Duration::days(1)), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_appointment(au, n, appt, moved)).await;
    assert_eq!(kind_rows(&t, w.y1, "appointment_rescheduled").await.len(), 2);
    let longer = AppointmentPatch { duration_minutes: Some(60), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_appointment(au, n, appt, longer)).await;
    edit(&t, w.y1, &yp, now, |d, au, n| d.answer_appointment(au, n, appt, AppointmentResponse::Accepted)).await;
    edit(&t, w.y1, &a, now, |d, au, n| d.cancel_appointment(au, n, appt)).await;
    assert_eq!(kind_rows(&t, w.y1, "appointment_scheduled").await.len(), 2);
    // Then a changed duration at the same start: a change of its own, told again (the key holds the
    // new time and place and the appointment's `updated_at`: the same when a sync is replayed).
    assert_eq!(kind_rows(&t, w.y1, "appointment_rescheduled").await.len(), 4);
    assert_eq!(kind_rows(&t, w.y1, "appointment_canceled").await.len(), 2);
    assert_eq!(kind_rows(&t, w.a, "appointment_answered").await.len(), 2);
    assert_eq!(kind_rows(&t, w.b, "appointment_answered").await.len(), 2);

    // The young person completes a task → the advisers.
    let task = edit(&t, w.y1, &yp, now, |d, au, n| {
        d.create_task(
            au,
            n,
            NewTask {
                id: None,
                kind: TaskKind::Application,
                title: "Candidature".into(),
                company: Some("Entreprise secrète".into()),
                offer_url: None,
                due_date: None,
                notes: None,
            },
        )
    })
    .await
    .id;
    edit(&t, w.y1, &yp, now, |d, au, n| d.complete_task(au, n, task)).await;
    assert_eq!(kind_rows(&t, w.a, "task_completed").await.len(), 2);

    // Y2 and Y3 (another adviser's) hear nothing of it; nothing personal in any text.
    assert!(rows(&t, w.y2).await.is_empty());
    let mut all = t.store.notifications_of(w.y1).await.unwrap();
    all.extend(t.store.notifications_of(w.a).await.unwrap());
    for n in &all {
        for secret in ["CV", "Entretien", "secrète", "Candidature", "Bravo", "Merci", "y1@test.fr", "Un."] {
            assert!(!n.title.contains(secret) && !n.body.contains(secret), "{secret} in {n:?}");
        }
        assert!(n.dedup_key.ends_with(&format!(":{}:{}", n.recipient_id, n.channel)));
        let expected = if n.channel == "in_app" { "sent" } else { "pending" };
        assert_eq!(n.status, expected);
    }
    // The adviser's texts name the young person by first name only.
    assert_eq!(kind_rows(&t, w.a, "action_completed").await[0].body, "Y a terminé une action.");
}

async fn edits_undone_goes_to_the_author_in_app_only(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let now = utc("2026-03-02T10:00:00Z");
    let doc = t.store.document_of(w.y1).await.unwrap().unwrap();
    let event = DomainEvent::new(
        Some(w.y1),
        Person { id: w.y1, role: Role::YoungPerson },
        EventKind::EditsUndone { notice_id: Uuid::new_v4(), reasons: vec!["Action : déjà qualifiée".into()] },
    );
    let ctx = t.store.notification_context(w.y1).await.unwrap();
    let audience = server::notifications::outbox::Audience::new(w.y1, &ctx);
    // The same event committed twice (a replayed sync re-derives the same keys): one row.
    for after_seq in 1..3 {
        let mut write = PlanWrite {
            document_id: doc.clone(),
            after_seq,
            young_person_id: w.y1,
            changes: Vec::new(),
            snapshot: None,
            projections: Projections::default(),
            touched: Some(Vec::new()),
            events: vec![server::store::EventRow::from_event(&event)],
            notifications: server::notifications::outbox::notifications_for_events(
                std::slice::from_ref(&event),
                &audience,
                now,
            ),
            reminders: ReminderChanges::default(),
            by_young_person: false,
            at: now,
        };
        let stored = t.store.commit_plan_write(&mut write, &mut |_, _| panic!("nobody else writes")).await.unwrap();
        assert_eq!(stored, after_seq + 1);
    }
    assert_eq!(rows(&t, w.y1).await, pairs(&[("edits_undone", "in_app")]));
    assert!(rows(&t, w.a).await.is_empty());
}

async fn a_retried_rest_request_notifies_once(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = t.token("a@test.fr").await;
    let body = json!({"id": Uuid::new_v4(), "title": "Mettre à jour mon CV", "category": "EMPLOI"});
    let path = format!("/api/v1/young-people/{}/actions", w.y1);
    assert_eq!(t.post(&path, &a, body.clone()).await.status, StatusCode::CREATED);
    assert_eq!(t.post(&path, &a, body).await.status, StatusCode::OK);
    assert_eq!(rows(&t, w.y1).await, pairs(&[("action_created", "in_app"), ("action_created", "mobile")]));
}

async fn preferences_api_and_effect(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let y = t.token("y1@test.fr").await;
    let path = "/api/v1/me/notification-preferences";
    let r = t.get(path, &y).await;
    assert_eq!(r.status, StatusCode::OK);
    let all: BTreeMap<String, bool> = serde_json::from_value(r.body).unwrap();
    assert_eq!(all.len(), 10);
    assert!(all.values().all(|on| *on));
    assert!(all.contains_key("action_created") && all.contains_key("weekly_nudge") && all.contains_key("messages"));

    let r = t.call(Method::PUT, path, Some(&y), Some(json!({"action_created": false}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["action_created"], false);
    assert_eq!(r.body["appointment_scheduled"], true);
    assert_eq!(t.get(path, &y).await.body["action_created"], false);

    let r = t.call(Method::PUT, path, Some(&y), Some(json!({"no_such_kind": false}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.is_problem());
    assert_eq!(r.problem_fields(), vec!["no_such_kind"]);
    let r = t.call(Method::PUT, path, Some(&y), Some(json!({"action_created": "non"}))).await;
    assert!(r.status.is_client_error());
    let adviser_token = t.token("a@test.fr").await;
    assert_eq!(t.get(path, &adviser_token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.call(Method::GET, path, None, None).await.status, StatusCode::UNAUTHORIZED);

    // A kind turned off: no push, but the centre entry is written.
    let now = utc("2026-03-02T10:00:00Z");
    edit(&t, w.y1, &adviser(w.a), now, |d, au, n| d.create_action(au, n, new_action(None))).await;
    assert_eq!(rows(&t, w.y1).await, pairs(&[("action_created", "in_app")]));
    // Other kinds still push.
    edit(&t, w.y1, &adviser(w.a), now, |d, au, n| {
        d.schedule_appointment(au, n, new_appointment(utc("2026-03-04T09:00:00Z")))
    })
    .await;
    assert_eq!(kind_rows(&t, w.y1, "appointment_scheduled").await.len(), 2);
}

async fn quiet_hours_delay_pushes_across_dst(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    // Saturday 28 March 2026, 22:30 in Paris (UTC+1): the night of the spring change. The push
    // waits until 08:00 Sunday, which is already summer time (UTC+2): 06:00 UTC.
    edit(&t, w.y1, &a, utc("2026-03-28T21:30:00Z"), |d, au, n| d.create_action(au, n, new_action(None))).await;
    let push = &kind_rows(&t, w.y1, "action_created").await;
    let mobile = push.iter().find(|n| n.channel == "mobile").unwrap();
    assert_eq!(mobile.created_at, utc("2026-03-28T21:30:00Z"));
    assert_eq!(mobile.not_before, utc("2026-03-29T06:00:00Z"));
    assert_eq!(mobile.expires_at, mobile.not_before + Duration::days(7));
    // The centre entry is there at once.
    let centre_row = push.iter().find(|n| n.channel == "in_app").unwrap();
    assert_eq!(centre_row.not_before, centre_row.created_at);

    // Saturday 24 October, 23:00 in Paris (UTC+2), before the autumn change: 08:00 Sunday is
    // winter time, 07:00 UTC.
    edit(&t, w.y1, &a, utc("2026-10-24T21:00:00Z"), |d, au, n| {
        d.schedule_appointment(au, n, new_appointment(utc("2026-11-10T09:00:00Z")))
    })
    .await;
    let mobile = kind_rows(&t, w.y1, "appointment_scheduled").await.into_iter().find(|n| n.channel == "mobile");
    assert_eq!(mobile.unwrap().not_before, utc("2026-10-25T07:00:00Z"));

    // The adviser's web push follows the adviser's zone; by day it goes at once.
    let yp = Author::young_person(w.y1);
    let action =
        edit(&t, w.y1, &yp, utc("2026-03-30T12:00:00Z"), |d, au, n| d.create_action(au, n, new_action(None))).await.id;
    edit(&t, w.y1, &yp, utc("2026-03-30T12:00:00Z"), |d, au, n| d.complete_action(au, n, action)).await;
    let web = kind_rows(&t, w.a, "action_completed").await.into_iter().find(|n| n.channel == "web").unwrap();
    assert_eq!(web.not_before, utc("2026-03-30T12:00:00Z"));
}

async fn overseas_time_zones(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    // A young person in Nouméa (UTC+11): 10:00 UTC is 21:00 there.
    let hash = t.state.passwords.hash(common::PASSWORD.into()).await.unwrap();
    let (yn, _) =
        server::demo::create_young_person(&t.state, "nc@test.fr", "Nc", "Nou", w.structure, Some(w.a), Some(hash))
            .await
            .unwrap();
    set_timezone(db, yn, "Pacific/Noumea").await;
    edit(&t, yn, &adviser(w.a), utc("2026-06-15T10:00:00Z"), |d, au, n| d.create_action(au, n, new_action(None))).await;
    let mobile = kind_rows(&t, yn, "action_created").await.into_iter().find(|n| n.channel == "mobile").unwrap();
    assert_eq!(mobile.not_before, utc("2026-06-15T21:00:00Z"));

    // Due on 20 June: reminder at 09:00 Nouméa on the 17th = 22:00 UTC on the 16th.
    edit(&t, yn, &adviser(w.a), utc("2026-06-15T10:00:00Z"), |d, au, n| {
        d.create_action(au, n, new_action(NaiveDate::from_ymd_opt(2026, 6, 20)))
    })
    .await;
    let r = t.store.reminders_of(yn).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, "action_due_3d");
    assert_eq!(r[0].due_at, utc("2026-06-16T22:00:00Z"));

    // Thursday 18 June 10:30 in Nouméa is Wednesday 23:30 UTC (01:30 Thursday in Paris): only the
    // young person in Nouméa is nudged, at 10:00 their time.
    let armed = reminders::due_weekly_nudges(t.store.as_ref(), utc("2026-06-17T23:30:00Z")).await.unwrap();
    assert_eq!(armed, 1);
    let nudge: Vec<_> =
        t.store.reminders_of(yn).await.unwrap().into_iter().filter(|r| r.kind == "weekly_nudge").collect();
    assert_eq!(nudge[0].due_at, utc("2026-06-17T23:00:00Z"));
    assert!(t.store.reminders_of(w.y1).await.unwrap().is_empty());
}

/// The tests' store has no "change time zone" operation: set it in the database directly.
async fn set_timezone(db: &TestDb, user: Uuid, tz: &str) {
    use sqlx::Connection;
    let sql = "UPDATE users SET timezone = $1 WHERE id = $2";
    match &db.url {
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).bind(tz).bind(user.to_string()).execute(&mut c).await.unwrap();
        }
        None => {
            let url = format!("sqlite:{}", db.dir.join("pass-emploi.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sql).bind(tz).bind(user.to_string()).execute(&mut c).await.unwrap();
        }
    }
}

async fn appointment_reminders_rearm_and_drop(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    let now = utc("2026-03-01T10:00:00Z");
    let start = utc("2026-03-20T09:00:00Z");
    let appt = edit(&t, w.y1, &a, now, |d, au, n| d.schedule_appointment(au, n, new_appointment(start))).await.id;
    let pending = |r: Vec<server::store::ReminderRow>| -> Vec<(String, DateTime<Utc>)> {
        r.into_iter().filter(|r| r.status == "pending").map(|r| (r.kind, r.due_at)).collect()
    };
    assert_eq!(
        pending(t.store.reminders_of(w.y1).await.unwrap()),
        vec![
            ("appointment_7d".into(), start - Duration::days(7)),
            ("appointment_1d".into(), start - Duration::days(1))
        ]
    );
    // Another edit of the appointment that does not move it: the same reminders, not doubled.
    edit(&t, w.y1, &Author::young_person(w.y1), now, |d, au, n| {
        d.answer_appointment(au, n, appt, AppointmentResponse::Accepted)
    })
    .await;
    assert_eq!(t.store.reminders_of(w.y1).await.unwrap().len(), 2);

    // Moved by a week: re-armed at the new time, the old ones gone.
    let new_start = start + Duration::days(7);
    let moved = AppointmentPatch { starts_at: Some(new_start), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_appointment(au, n, appt, moved)).await;
    assert_eq!(
        pending(t.store.reminders_of(w.y1).await.unwrap()),
        vec![
            ("appointment_7d".into(), new_start - Duration::days(7)),
            ("appointment_1d".into(), new_start - Duration::days(1))
        ]
    );
    assert_eq!(t.store.reminders_of(w.y1).await.unwrap().len(), 2);

    // Canceled: dropped.
    edit(&t, w.y1, &a, now, |d, au, n| d.cancel_appointment(au, n, appt)).await;
    assert!(t.store.reminders_of(w.y1).await.unwrap().is_empty());
    // Nothing is released for it later.
    let released = reminders::release_due_reminders(t.store.as_ref(), new_start).await.unwrap();
    assert_eq!(released, reminders::Released::default());
}

async fn action_reminders_follow_the_action(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    let now = utc("2026-03-01T10:00:00Z");
    let action =
        edit(&t, w.y1, &a, now, |d, au, n| d.create_action(au, n, new_action(NaiveDate::from_ymd_opt(2026, 3, 20))))
            .await
            .id;
    let due = |r: Vec<server::store::ReminderRow>| r.into_iter().map(|r| (r.kind, r.due_at)).collect::<Vec<_>>();
    // 17 March 09:00 Paris (UTC+1).
    assert_eq!(
        due(t.store.reminders_of(w.y1).await.unwrap()),
        vec![("action_due_3d".into(), utc("2026-03-17T08:00:00Z"))]
    );
    // The due date moves into summer time: 09:00 Paris is 07:00 UTC.
    let later = ActionPatch { due_date: Some(NaiveDate::from_ymd_opt(2026, 4, 10)), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_action(au, n, action, later)).await;
    assert_eq!(
        due(t.store.reminders_of(w.y1).await.unwrap()),
        vec![("action_due_3d".into(), utc("2026-04-07T07:00:00Z"))]
    );
    // Reminder off: dropped; on again: back.
    let off = ActionPatch { reminder: Some(false), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_action(au, n, action, off)).await;
    assert!(t.store.reminders_of(w.y1).await.unwrap().is_empty());
    let on = ActionPatch { reminder: Some(true), ..Default::default() };
    edit(&t, w.y1, &a, now, |d, au, n| d.update_action(au, n, action, on)).await;
    assert_eq!(t.store.reminders_of(w.y1).await.unwrap().len(), 1);
    // Done: dropped.
    edit(&t, w.y1, &Author::young_person(w.y1), now, |d, au, n| d.complete_action(au, n, action)).await;
    assert!(t.store.reminders_of(w.y1).await.unwrap().is_empty());
}

async fn release_sends_due_and_drops_stale_reminders(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    let now = utc("2026-03-01T10:00:00Z");
    // Appointment at 07:30 Paris on 10 March: the 1-day reminder is due at 07:30 the day before,
    // in quiet hours; it waits until 08:00, before the appointment.
    let early = utc("2026-03-10T06:30:00Z");
    edit(&t, w.y1, &a, now, |d, au, n| d.schedule_appointment(au, n, new_appointment(early))).await;
    // Not due yet: nothing happens.
    let r = reminders::release_due_reminders(t.store.as_ref(), utc("2026-03-02T00:00:00Z")).await.unwrap();
    assert_eq!(r, reminders::Released::default());
    // The 7-day one (3 March 06:30 UTC) is released on time.
    let r = reminders::release_due_reminders(t.store.as_ref(), utc("2026-03-03T06:31:00Z")).await.unwrap();
    assert_eq!(r, reminders::Released { released: 1, dropped: 0 });
    let seven = kind_rows(&t, w.y1, "appointment_reminder_7d").await;
    assert_eq!(seven.len(), 2);
    let mobile = seven.iter().find(|n| n.channel == "mobile").unwrap();
    assert_eq!(mobile.not_before, utc("2026-03-03T07:00:00Z"), "07:31 Paris is quiet: 08:00");
    assert!(mobile.expires_at <= early);
    assert_eq!(mobile.body, "Vous avez un rendez-vous dans 7 jours, le 10/03 à 07h30.");
    // Released twice? No: it is no longer pending.
    let r = reminders::release_due_reminders(t.store.as_ref(), utc("2026-03-03T06:32:00Z")).await.unwrap();
    assert_eq!(r, reminders::Released::default());

    // The scheduler was stuck: the 1-day reminder (due 9 March 06:30 UTC) comes up 7 hours late:
    // dropped, not sent late.
    let r = reminders::release_due_reminders(t.store.as_ref(), utc("2026-03-09T13:30:00Z")).await.unwrap();
    assert_eq!(r, reminders::Released { released: 0, dropped: 1 });
    assert!(kind_rows(&t, w.y1, "appointment_reminder_1d").await.is_empty());
    assert!(t.store.reminders_of(w.y1).await.unwrap().iter().all(|r| r.status != "pending"));

    // An appointment starting soon after its reminder's time: released after the start → dropped.
    let soon = utc("2026-03-12T09:00:00Z");
    edit(&t, w.y1, &a, now, |d, au, n| d.schedule_appointment(au, n, new_appointment(soon))).await;
    let r = reminders::release_due_reminders(t.store.as_ref(), soon + Duration::minutes(1)).await.unwrap();
    // Its 7-day reminder (5 March) is days late, its 1-day one is past the start: both dropped.
    assert_eq!(r, reminders::Released { released: 0, dropped: 2 });

    // A turned-off kind: the reminder is released to the centre only.
    let y = t.token("y1@test.fr").await;
    t.call(Method::PUT, "/api/v1/me/notification-preferences", Some(&y), Some(json!({"action_due_soon": false}))).await;
    edit(&t, w.y1, &a, now, |d, au, n| d.create_action(au, n, new_action(NaiveDate::from_ymd_opt(2026, 3, 20)))).await;
    let r = reminders::release_due_reminders(t.store.as_ref(), utc("2026-03-17T08:00:00Z")).await.unwrap();
    assert_eq!(r, reminders::Released { released: 1, dropped: 0 });
    assert_eq!(
        kind_rows(&t, w.y1, "action_due_soon").await.into_iter().map(|n| n.channel).collect::<Vec<_>>(),
        vec!["in_app"]
    );
}

async fn weekly_nudge(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    // Y2 created an action on Tuesday 3 March; Y1 created one the week before; Y3 none.
    edit(&t, w.y2, &Author::young_person(w.y2), utc("2026-03-03T09:00:00Z"), |d, au, n| {
        d.create_action(au, n, new_action(None))
    })
    .await;
    edit(&t, w.y1, &Author::young_person(w.y1), utc("2026-02-27T09:00:00Z"), |d, au, n| {
        d.create_action(au, n, new_action(None))
    })
    .await;
    // An action the adviser created does not count as the young person's.
    edit(&t, w.y3, &adviser(w.b), utc("2026-03-03T09:00:00Z"), |d, au, n| d.create_action(au, n, new_action(None)))
        .await;
    // Wednesday, and Thursday before 10:00 Paris: nothing.
    assert_eq!(reminders::due_weekly_nudges(t.store.as_ref(), utc("2026-03-04T12:00:00Z")).await.unwrap(), 0);
    assert_eq!(reminders::due_weekly_nudges(t.store.as_ref(), utc("2026-03-05T08:59:00Z")).await.unwrap(), 0);
    // Thursday 10:30 Paris: Y1 and Y3, once.
    let thursday = utc("2026-03-05T09:30:00Z");
    assert_eq!(reminders::due_weekly_nudges(t.store.as_ref(), thursday).await.unwrap(), 2);
    assert_eq!(reminders::due_weekly_nudges(t.store.as_ref(), thursday + Duration::hours(1)).await.unwrap(), 0);
    assert!(t.store.reminders_of(w.y2).await.unwrap().is_empty());
    let nudge = t.store.reminders_of(w.y1).await.unwrap();
    assert_eq!(nudge[0].kind, "weekly_nudge");
    assert_eq!(nudge[0].due_at, utc("2026-03-05T09:00:00Z"));
    // Released as a push only, with the first name.
    let r = reminders::release_due_reminders(t.store.as_ref(), thursday).await.unwrap();
    assert_eq!(r, reminders::Released { released: 2, dropped: 0 });
    let rows_y1 = kind_rows(&t, w.y1, "weekly_nudge").await;
    assert_eq!(rows_y1.len(), 1);
    assert_eq!(rows_y1[0].channel, "mobile");
    assert_eq!(rows_y1[0].body, "Y, vous n'avez pas encore ajouté d'action cette semaine.");
    assert!(rows_y1[0].expires_at <= utc("2026-03-05T20:00:00Z"), "never after 21:00 Paris");
}

async fn centre_api_and_access(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let a = adviser(w.a);
    let now = Utc::now();
    edit(&t, w.y1, &a, now - Duration::minutes(2), |d, au, n| d.create_action(au, n, new_action(None))).await;
    edit(&t, w.y1, &a, now - Duration::minutes(1), |d, au, n| {
        d.schedule_appointment(au, n, new_appointment(now + Duration::days(3)))
    })
    .await;
    // An entry older than 30 days is not listed.
    edit(&t, w.y1, &a, now - Duration::days(31), |d, au, n| d.create_action(au, n, new_action(None))).await;

    let y = t.token("y1@test.fr").await;
    let r = t.get("/api/v1/notifications", &y).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["kind"], "appointment_scheduled");
    assert_eq!(list[1]["kind"], "action_created");
    assert!(list[0]["read_at"].is_null());
    assert!(list[0]["payload"]["appointment_id"].is_string());
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // Someone else's entry is a 404, for anybody else.
    for other in ["y2@test.fr", "a@test.fr", "sup@test.fr"] {
        let token = t.token(other).await;
        let r = t.post(&format!("/api/v1/notifications/{id}/read"), &token, json!({})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{other}");
        assert!(t.get("/api/v1/notifications", &token).await.body.as_array().unwrap().is_empty());
    }
    let r = t.call(Method::POST, &format!("/api/v1/notifications/{}/read", Uuid::new_v4()), Some(&y), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.call(Method::POST, "/api/v1/notifications/not-a-uuid/read", Some(&y), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.call(Method::GET, "/api/v1/notifications", None, None).await.status, StatusCode::UNAUTHORIZED);

    // Read by its owner; reading again keeps the first time.
    let r = t.call(Method::POST, &format!("/api/v1/notifications/{id}/read"), Some(&y), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let first = t.get("/api/v1/notifications", &y).await.body[0]["read_at"].clone();
    assert!(first.is_string());
    t.call(Method::POST, &format!("/api/v1/notifications/{id}/read"), Some(&y), None).await;
    assert_eq!(t.get("/api/v1/notifications", &y).await.body[0]["read_at"], first);

    // The 31-day-old rows are pruned; the recent ones stay.
    let before = t.store.notifications_of(w.y1).await.unwrap().len();
    assert_eq!(centre::prune(t.store.as_ref(), now).await.unwrap(), 2);
    assert_eq!(t.store.notifications_of(w.y1).await.unwrap().len(), before - 2);
    // 30 days on, everything goes.
    centre::prune(t.store.as_ref(), now + Duration::days(31)).await.unwrap();
    assert!(t.store.notifications_of(w.y1).await.unwrap().is_empty());
}

/// The same through the WebSocket sync: a phone's offline edits notify the adviser once, even
/// when a second session replays them; an edit undone by the rules tells its author in the centre.
async fn over_sync_replayed_and_undone(db: &TestDb) {
    use common::sync_client::{Peer, serve};
    use sync_core::node::Node;
    let t = db.app().await;
    let w = world(&t).await;
    let addr = serve(t.state.clone()).await;
    let doc_id: sync_core::DocumentId = t.store.document_of(w.y1).await.unwrap().unwrap().parse().unwrap();
    let token = t.token("y1@test.fr").await;
    let mut replica = PlanDocument::genesis(w.y1).unwrap();
    replica.set_actor(automerge::ActorId::random());
    let mut phone = Peer::connect(addr, &token, "phone-1", doc_id, replica).await;
    phone.sync().await;
    let yp = Author::young_person(w.y1);
    let new = NewAction { id: Some(Uuid::new_v4()), ..new_action(None) };
    let id = phone.doc.create_action(&yp, Utc::now(), new).unwrap().id;
    phone.doc.complete_action(&yp, Utc::now(), id).unwrap();
    phone.sync().await;
    assert_eq!(rows(&t, w.a).await, pairs(&[("action_completed", "in_app"), ("action_completed", "web")]));
    // Nothing for the young person's own new action.
    assert!(rows(&t, w.y1).await.is_empty());

    let mut replay = Peer::connect(addr, &token, "phone-replay", doc_id, phone.doc.fork()).await;
    replay.sync().await;
    assert_eq!(rows(&t, w.a).await.len(), 2);

    // A forged qualification (only advisers qualify) is undone: its author gets a centre entry,
    // no push; the adviser hears nothing of it.
    let qualification = Node::map()
        .with("code", Node::from("EMPLOI"))
        .with("hours", Node::Int(3))
        .with("by", yp.person().to_node())
        .with("at", Node::from("2026-03-02T10:00:00.000Z"));
    let target =
        sync_core::Target::Field { collection: Collection::Actions, id: id.to_string(), field: "qualification".into() };
    phone.doc.write_target(&target, Some(&qualification)).unwrap();
    phone.doc.commit("forged", Utc::now());
    phone.sync().await;
    let undone = phone
        .wait_until(std::time::Duration::from_secs(3), |p| {
            p.doc.plan().action(id).is_some_and(|a| a.qualification.is_none())
        })
        .await;
    assert!(undone);
    assert_eq!(rows(&t, w.y1).await, pairs(&[("edits_undone", "in_app")]));
    assert_eq!(rows(&t, w.a).await.len(), 2);
}

on_both_backends!(
    product_table,
    over_sync_replayed_and_undone,
    edits_undone_goes_to_the_author_in_app_only,
    a_retried_rest_request_notifies_once,
    preferences_api_and_effect,
    quiet_hours_delay_pushes_across_dst,
    overseas_time_zones,
    appointment_reminders_rearm_and_drop,
    action_reminders_follow_the_action,
    release_sends_due_and_drops_stale_reminders,
    weekly_nudge,
    centre_api_and_access,
);
