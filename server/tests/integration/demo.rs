//! `serve --demo`'s Mission Locale: seeded once, quickly, and shaped like a real week (the web
//! app's portfolio, agenda and follow-up lists all have rows).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc, Weekday};
use common::TestDb;
use server::store::PortfolioScope;
use sync_core::model::Role;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn seeded_week(db: &TestDb) {
    check_week(db, None).await;
}

/// The eve of the spring DST change, a Saturday: the week is over, the next one starts Monday.
async fn seeded_on_a_saturday(db: &TestDb) {
    check_week(db, Some(utc("2026-03-28T15:00:00Z"))).await;
}

/// Monday at 7:00 in Paris, before office hours: the whole week is ahead.
async fn seeded_on_a_monday_morning(db: &TestDb) {
    check_week(db, Some(utc("2026-10-26T06:00:00Z"))).await;
}

/// Friday evening: the week is behind, only next week is ahead.
async fn seeded_on_a_friday_evening(db: &TestDb) {
    check_week(db, Some(utc("2026-12-04T18:30:00Z"))).await;
}

/// Seeds at `at` (the real clock when `None`) and checks the week the web app will show.
async fn check_week(db: &TestDb, at: Option<DateTime<Utc>>) {
    let t = db.app().await;
    let started = std::time::Instant::now();
    let logins = match at {
        Some(at) => server::demo::seed_at(&t.state, at).await,
        None => server::demo::seed(&t.state).await,
    };
    let logins = logins.unwrap().expect("an empty database is seeded");
    eprintln!("demo seed on {}: {:?}", t.store.backend(), started.elapsed());
    assert!(server::demo::seed(&t.state).await.unwrap().is_none(), "seeded once only");

    let roles: Vec<Role> = logins.iter().map(|l| l.role).collect();
    assert_eq!(roles.iter().filter(|r| **r == Role::Supervisor).count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == Role::Adviser).count(), 2);
    assert_eq!(roles.iter().filter(|r| **r == Role::YoungPerson).count(), 12);
    let email = |who: &str| logins.iter().find(|l| l.email.starts_with(who)).unwrap().id;
    let (karim, julie) = (email("karim."), email("julie."));
    let structure = t.store.user_by_id(karim).await.unwrap().unwrap().structure_id.unwrap();
    // One young person left: the structure reads his archive, with his plan in it.
    let archives = t.store.archives_of_structure(structure, 10).await.unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!((archives[0].reason.as_str(), archives[0].archived_by), ("training", Some(karim)));
    let (_, export) = t.store.archive_record(archives[0].id).await.unwrap().unwrap();
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert!(export["plan"]["content"]["actions"].as_array().is_some_and(|a| !a.is_empty()));

    let now = at.unwrap_or_else(Utc::now);
    let paris = chrono_tz::Europe::Paris;
    let today = now.with_timezone(&paris).date_naive();
    let lines_k = t.store.portfolio_lines(PortfolioScope::Adviser(karim), today, now).await.unwrap();
    let lines_j = t.store.portfolio_lines(PortfolioScope::Adviser(julie), today, now).await.unwrap();
    assert_eq!((lines_k.len(), lines_j.len()), (7, 7));
    // Rayan Girard was created by Karim and never activated; Léa Nguyen is Karim's, followed by
    // Julie for a while.
    let rayan = lines_k.iter().find(|l| l.last_name == "Girard").unwrap();
    assert!(!rayan.activated && rayan.last_activity_at.is_none() && !rayan.temporary);
    let lea = lines_j.iter().find(|l| l.last_name == "Nguyen").unwrap();
    assert!(lea.temporary && lea.activated);
    assert_eq!(lines_j.iter().filter(|l| l.temporary).count(), 1);
    assert!(lines_k.iter().all(|l| !l.temporary));
    // The scripts' first young person of each adviser (by name) can sign in, and is not shared.
    assert!(lines_k[0].activated && !lines_k[0].temporary && lines_j[0].activated && !lines_j[0].temporary);

    let all = t.store.portfolio_lines(PortfolioScope::Structure(structure), today, now).await.unwrap();
    assert_eq!(all.len(), 13);
    let idle = |l: &&server::store::PortfolioLine| l.last_activity_at.is_some_and(|at| now - at > Duration::days(10));
    let fresh = |l: &&server::store::PortfolioLine| l.last_activity_at.is_some_and(|at| now - at < Duration::hours(6));
    assert!(all.iter().filter(idle).count() >= 2, "{all:#?}");
    assert!(all.iter().filter(fresh).count() >= 2, "{all:#?}");
    assert!(all.iter().filter(|l| l.late_actions > 0).count() >= 3);
    assert!(all.iter().filter(|l| l.to_qualify > 0).count() >= 3);
    assert!(all.iter().filter(|l| l.next_appointment_at.is_some()).count() >= 10);

    // The advisers write in their working hours (weekdays, 8:30–18:00).
    for line in &all {
        for action in t.store.projections(line.id).await.unwrap().actions {
            if action.created_by == line.id {
                continue;
            }
            let at = action.created_at.with_timezone(&paris);
            let minutes = at.hour() * 60 + at.minute();
            assert!(!matches!(at.weekday(), Weekday::Sat | Weekday::Sun), "{at}");
            assert!((8 * 60 + 30..=18 * 60).contains(&minutes), "{at}");
        }
    }

    for adviser in [karim, julie] {
        assert!(!t.store.appointments_to_close(adviser, now).await.unwrap().is_empty());
        assert!(!t.store.actions_to_qualify(adviser).await.unwrap().is_empty());
        // This week's and next week's agenda both have appointments.
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let at = |day: chrono::NaiveDate| {
            day.and_time(NaiveTime::MIN).and_local_timezone(paris).earliest().unwrap().with_timezone(&Utc)
        };
        let (this_week, next_week, after) =
            (at(monday), at(monday + Duration::days(7)), at(monday + Duration::days(14)));
        assert!(!t.store.adviser_appointments(adviser, this_week, next_week).await.unwrap().is_empty());
        assert!(!t.store.adviser_appointments(adviser, next_week, after).await.unwrap().is_empty());
        // Every appointment is on a weekday, on the quarter hour, within office hours.
        let agenda = t.store.adviser_appointments(adviser, now - Duration::days(60), now + Duration::days(60));
        let agenda = agenda.await.unwrap();
        assert!(agenda.iter().any(|l| l.appointment.status == "scheduled" && l.appointment.starts_at > now));
        assert!(agenda.iter().any(|l| l.appointment.presence.is_some()));
        for line in agenda {
            let a = &line.appointment;
            let start = a.starts_at.with_timezone(&paris);
            let end = start + Duration::minutes(a.duration_minutes);
            assert!(!matches!(start.weekday(), Weekday::Sat | Weekday::Sun), "{start}");
            assert_eq!((start.minute() % 15, start.second()), (0, 0), "{start}");
            let (from, to) = (start.time(), end.time());
            let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
            let morning = from >= hm(9, 0) && to <= hm(12, 0);
            let afternoon = from >= hm(13, 30) && to <= hm(17, 30);
            assert!(morning || afternoon, "{start} – {end}");
        }
    }
}

on_both_backends!(seeded_week, seeded_on_a_saturday, seeded_on_a_monday_morning, seeded_on_a_friday_evening);
