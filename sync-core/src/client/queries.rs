//! What the app's screens show, read from the plan: pure functions of the plan, the young
//! person's time zone and the time.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::model::{Action, ActionStatus, Appointment, AppointmentStatus, Notice, Plan, Task, TaskStatus};

/// One day of the young person's plan, in their time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Agenda {
    pub day: NaiveDate,
    /// Open actions due that day.
    pub actions_due: Vec<Action>,
    /// Open actions whose due date has passed.
    pub overdue_actions: Vec<Action>,
    /// Appointments (not canceled) starting that day, earliest first.
    pub appointments: Vec<Appointment>,
}

pub fn is_open(action: &Action) -> bool {
    matches!(action.status, ActionStatus::NotStarted | ActionStatus::InProgress)
}

/// The local day of `now` in `tz`.
pub fn local_day(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

pub fn agenda(plan: &Plan, tz: Tz, day: NaiveDate) -> Agenda {
    let open = || plan.actions.iter().filter(|a| is_open(a));
    let mut actions_due: Vec<Action> = open().filter(|a| a.due_date == Some(day)).cloned().collect();
    actions_due.sort_by_key(|a| a.created_at);
    let mut overdue_actions: Vec<Action> = open().filter(|a| a.due_date.is_some_and(|d| d < day)).cloned().collect();
    overdue_actions.sort_by(|a, b| a.due_date.cmp(&b.due_date).then(a.created_at.cmp(&b.created_at)));
    let mut appointments: Vec<Appointment> = plan
        .appointments
        .iter()
        .filter(|a| a.status == AppointmentStatus::Scheduled && local_day(tz, a.starts_at) == day)
        .cloned()
        .collect();
    appointments.sort_by_key(|a| a.starts_at);
    Agenda { day, actions_due, overdue_actions, appointments }
}

/// The actions with `status` (all of them when `None`): dated ones first by due date, then the
/// others, newest first.
pub fn actions(plan: &Plan, status: Option<ActionStatus>) -> Vec<Action> {
    let mut found: Vec<Action> =
        plan.actions.iter().filter(|a| status.is_none_or(|s| a.status == s)).cloned().collect();
    found.sort_by(|a, b| match (a.due_date, b.due_date) {
        (Some(x), Some(y)) => x.cmp(&y).then(a.created_at.cmp(&b.created_at)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.created_at.cmp(&a.created_at),
    });
    found
}

/// Scheduled appointments not yet over, earliest first.
pub fn upcoming_appointments(plan: &Plan, now: DateTime<Utc>) -> Vec<Appointment> {
    let mut found: Vec<Appointment> = plan
        .appointments
        .iter()
        .filter(|a| {
            a.status == AppointmentStatus::Scheduled
                && a.starts_at + chrono::Duration::minutes(a.duration_minutes) > now
        })
        .cloned()
        .collect();
    found.sort_by_key(|a| a.starts_at);
    found
}

/// The job-search tasks: open ones first (by due date), then done and canceled ones, newest first.
pub fn tasks(plan: &Plan) -> Vec<Task> {
    let open = |t: &Task| matches!(t.status, TaskStatus::ToDo | TaskStatus::InProgress);
    let mut found = plan.tasks.clone();
    found.sort_by(|a, b| {
        open(b).cmp(&open(a)).then_with(|| {
            if open(a) {
                a.due_date.unwrap_or(NaiveDate::MAX).cmp(&b.due_date.unwrap_or(NaiveDate::MAX))
            } else {
                b.updated_at.cmp(&a.updated_at)
            }
        })
    });
    found
}

/// The notices of edits by `user` that the server undid, newest first.
pub fn notices(plan: &Plan, user: Uuid) -> Vec<Notice> {
    let mut found: Vec<Notice> = plan.notices.iter().filter(|n| n.for_user == user).cloned().collect();
    found.sort_by_key(|n| std::cmp::Reverse(n.at));
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::edit::{NewAction, NewAppointment};
    use crate::model::{AppointmentKind, Modality};
    use crate::rules::Author;
    use crate::{PlanDocument, model::Role};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_agenda_follows_the_young_persons_day_not_utcs() {
        let yp = Uuid::new_v4();
        let adviser = Author { user_id: Uuid::new_v4(), role: Role::Adviser, follows_plan: true };
        let mut doc = PlanDocument::genesis(yp).unwrap();
        let now = utc("2026-03-01T08:00:00Z");
        let new = |title: &str, at: &str| NewAppointment {
            id: None,
            title: title.into(),
            kind: AppointmentKind::EntretienIndividuelConseiller,
            starts_at: utc(at),
            duration_minutes: 30,
            modality: Modality::InPerson,
            address: Some("12 rue de la Paix".into()),
            video_url: None,
            comment: None,
            adviser_present: None,
        };
        // 23:30 UTC on 4 March is 10:30 on 5 March in Nouméa (UTC+11).
        doc.schedule_appointment(&adviser, now, new("late", "2026-03-04T23:30:00Z")).unwrap();
        doc.schedule_appointment(&adviser, now, new("early", "2026-03-05T01:00:00Z")).unwrap();
        doc.create_action(
            &adviser,
            now,
            NewAction { title: "CV".into(), due_date: NaiveDate::from_ymd_opt(2026, 3, 5), ..Default::default() },
        )
        .unwrap();
        let plan = doc.plan();
        let day = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();

        let noumea = agenda(&plan, chrono_tz::Pacific::Noumea, day);
        let titles: Vec<&str> = noumea.appointments.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["late", "early"]);
        assert_eq!(noumea.actions_due.len(), 1);

        let paris = agenda(&plan, chrono_tz::Europe::Paris, day);
        let titles: Vec<&str> = paris.appointments.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["late", "early"], "00:30 and 02:00 in Paris");
        let cayenne = agenda(&plan, chrono_tz::America::Cayenne, day);
        let titles: Vec<&str> = cayenne.appointments.iter().map(|a| a.title.as_str()).collect();
        assert!(titles.is_empty(), "20:30 and 22:00 on the 4th in Cayenne: {titles:?}");

        let later = agenda(&plan, chrono_tz::Europe::Paris, day.succ_opt().unwrap());
        assert_eq!(later.overdue_actions.len(), 1);
        assert!(later.actions_due.is_empty());
        assert_eq!(upcoming_appointments(&plan, utc("2026-03-04T23:45:00Z")).len(), 2, "the first is under way");
        assert_eq!(upcoming_appointments(&plan, utc("2026-03-05T00:01:00Z")).len(), 1);
    }
}
