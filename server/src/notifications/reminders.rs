//! Reminders as rows, never as in-memory timers.
//!
//! - [`arm`] computes, from the projection rows a write produced, which pending reminders to
//!   delete and which to insert; `commit_plan_write` applies it in the change's transaction.
//!   An appointment's 7-day and 1-day reminders are keyed by its start time, so a moved
//!   appointment gets new ones (the old pending ones are deleted) and a canceled one none.
//!   An open action with a due date and its reminder on gets one at 09:00 local, 3 days before.
//! - [`due_weekly_nudges`] arms the Thursday 10:00 (local) nudge of every young person who created
//!   no action since Monday 00:00 (local), from `action_rows`.
//! - [`release_due_reminders`] turns due reminders into notification rows, each in its own
//!   transaction. A stale one — past its `expires_at` (the appointment has started, the day is
//!   over), or more than [`MAX_LATENESS`] late — is dropped, not sent.
//!
//! Every step is idempotent (dedup keys, `status = 'pending'` guards): a scheduler can run them
//! as often as it likes, from any instance, and a stuck run delays nothing but itself.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

use super::outbox::{Message, centre_row, local_when, push_row};
use super::quiet_hours::{local_instant, not_before};
use super::{Channel, Kind, zone};
use crate::store::{
    NewNotification, NewReminder, Projections, ReminderChanges, ReminderClear, ReminderRow, Store, StoreResult,
};

pub const APPOINTMENT_7D: &str = "appointment_7d";
pub const APPOINTMENT_1D: &str = "appointment_1d";
pub const ACTION_DUE_3D: &str = "action_due_3d";
pub const WEEKLY_NUDGE: &str = "weekly_nudge";

/// A reminder released later than this after its due time is dropped instead.
pub const MAX_LATENESS: Duration = Duration::hours(6);

/// How many reminders one [`release_due_reminders`] call handles at most.
pub const BATCH: i64 = 500;

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

/// The reminder changes of a write: `touched` as in `PlanWrite` (`None`: the whole plan).
pub fn arm(
    young_person_id: Uuid,
    tz: Tz,
    projections: &Projections,
    touched: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> ReminderChanges {
    let clear = match touched {
        None => ReminderClear::All,
        Some([]) => ReminderClear::Nothing,
        Some(ids) => ReminderClear::Entities(ids.to_vec()),
    };
    let mut arm = Vec::new();
    let mut push = |kind: &str, entity_id: Uuid, due_at: DateTime<Utc>, expires_at: DateTime<Utc>, key: String| {
        if due_at > now && expires_at > due_at {
            arm.push(NewReminder {
                id: Uuid::new_v4(),
                young_person_id,
                kind: kind.to_owned(),
                entity_id,
                due_at,
                expires_at,
                dedup_key: format!("{kind}:{entity_id}:{key}"),
            });
        }
    };
    for a in &projections.appointments {
        if a.status != "scheduled" {
            continue;
        }
        let start = a.starts_at.timestamp_millis();
        push(APPOINTMENT_7D, a.id, a.starts_at - Duration::days(7), a.starts_at, start.to_string());
        push(APPOINTMENT_1D, a.id, a.starts_at - Duration::days(1), a.starts_at, start.to_string());
    }
    for a in &projections.actions {
        let open = a.status == "not_started" || a.status == "in_progress";
        let (true, true, Some(due)) = (open, a.reminder, a.due_date) else {
            continue;
        };
        let due_at = local_instant(tz, due - Duration::days(3), time(9, 0));
        // Pointless once the due date is over.
        let expires_at = local_instant(tz, due + Duration::days(1), time(0, 0));
        push(ACTION_DUE_3D, a.id, due_at, expires_at, due.format("%Y-%m-%d").to_string());
    }
    ReminderChanges { clear, arm }
}

/// Arms this week's nudges where it is Thursday between 10:00 and 21:00 local. Returns how many
/// were armed (a young person already nudged this week is not armed again).
pub async fn due_weekly_nudges(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<u64> {
    let mut armed = 0;
    for name in store.young_person_timezones().await? {
        let Ok(tz) = name.parse::<Tz>() else {
            tracing::warn!(timezone = %name, "weekly nudge: unknown time zone");
            continue;
        };
        let local = now.with_timezone(&tz);
        let today = local.date_naive();
        if today.weekday() != Weekday::Thu {
            continue;
        }
        let due_at = local_instant(tz, today, time(10, 0));
        let expires_at = local_instant(tz, today, time(21, 0));
        if now < due_at || now >= expires_at {
            continue;
        }
        let week_start = local_instant(tz, today - Duration::days(3), time(0, 0));
        let week = today.iso_week();
        let week_key = format!("{}-W{:02}", week.year(), week.week());
        armed += store.arm_weekly_nudges(&name, week_start, due_at, expires_at, &week_key, now).await?;
    }
    Ok(armed)
}

/// What releasing due reminders did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    pub released: u64,
    pub dropped: u64,
}

/// The message of a reminder.
fn message(r: &ReminderRow, tz: Tz) -> Option<Message> {
    let yp = r.young_person_id;
    let m = match r.kind.as_str() {
        APPOINTMENT_7D => Message {
            kind: Kind::AppointmentReminder7d,
            title: "Rappel de rendez-vous".into(),
            body: format!("Vous avez un rendez-vous dans 7 jours, {}.", local_when(tz, r.expires_at)),
            payload: json!({"young_person_id": yp, "appointment_id": r.entity_id}),
            deadline: Some(r.expires_at),
        },
        APPOINTMENT_1D => Message {
            kind: Kind::AppointmentReminder1d,
            title: "Rendez-vous demain".into(),
            body: format!("N'oubliez pas votre rendez-vous {}.", local_when(tz, r.expires_at)),
            payload: json!({"young_person_id": yp, "appointment_id": r.entity_id}),
            deadline: Some(r.expires_at),
        },
        ACTION_DUE_3D => Message {
            kind: Kind::ActionDueSoon,
            title: "Action à terminer".into(),
            body: "Une de vos actions arrive à échéance dans 3 jours.".into(),
            payload: json!({"young_person_id": yp, "action_id": r.entity_id}),
            deadline: Some(r.expires_at),
        },
        WEEKLY_NUDGE => Message {
            kind: Kind::WeeklyNudge,
            title: "Votre plan cette semaine".into(),
            body: format!("{}, vous n'avez pas encore ajouté d'action cette semaine.", r.first_name),
            payload: json!({"young_person_id": yp}),
            deadline: Some(r.expires_at),
        },
        _ => return None,
    };
    Some(m)
}

/// The notification rows of a due reminder, or `None` when it is stale and must be dropped.
pub fn release(r: &ReminderRow, disabled: &[Kind], now: DateTime<Utc>) -> Option<Vec<NewNotification>> {
    let tz = zone(&r.timezone);
    let message = message(r, tz)?;
    let goes_out = not_before(tz, now);
    if now > r.due_at + MAX_LATENESS || goes_out >= r.expires_at {
        return None;
    }
    let mut rows = Vec::with_capacity(2);
    if !disabled.contains(&message.kind) {
        rows.push(push_row(&message, r.young_person_id, tz, Channel::Mobile, &r.dedup_key, now));
    }
    // The nudge is a push only (the product table); every other reminder also goes to the centre.
    if message.kind != Kind::WeeklyNudge {
        rows.push(centre_row(&message, r.young_person_id, &r.dedup_key, now));
    }
    Some(rows)
}

/// Releases the reminders due at `now` (at most [`BATCH`]): each becomes its notification rows, or
/// is dropped when stale, in its own transaction.
pub async fn release_due_reminders(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<Released> {
    let mut out = Released::default();
    for r in store.due_reminders(now, BATCH).await? {
        let disabled: Vec<Kind> = store
            .notification_preferences(r.young_person_id)
            .await?
            .into_iter()
            .filter(|(_, enabled)| !enabled)
            .filter_map(|(k, _)| Kind::parse(&k))
            .collect();
        match release(&r, &disabled, now) {
            Some(rows) => {
                if store.settle_reminder(&r.id, true, &rows, now).await? {
                    out.released += 1;
                }
            }
            None => {
                if store.settle_reminder(&r.id, false, &[], now).await? {
                    out.dropped += 1;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ActionRow, AppointmentRow};
    use chrono::NaiveDate;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn action(due: Option<NaiveDate>, status: &str, reminder: bool) -> ActionRow {
        ActionRow {
            id: Uuid::new_v4(),
            title: "t".into(),
            category: "EMPLOI".into(),
            status: status.into(),
            due_date: due,
            completed_at: None,
            qualification_code: None,
            created_by: Uuid::new_v4(),
            created_at: utc("2026-01-01T00:00:00Z"),
            updated_at: utc("2026-01-01T00:00:00Z"),
            reminder,
        }
    }

    #[test]
    fn action_reminder_is_at_nine_local_three_days_before_across_dst() {
        let yp = Uuid::new_v4();
        let now = utc("2026-03-01T00:00:00Z");
        // Due Tuesday 31 March: reminder Saturday 28 March 09:00 Paris, still winter (UTC+1).
        let p = Projections {
            actions: vec![action(NaiveDate::from_ymd_opt(2026, 3, 31), "not_started", true)],
            ..Default::default()
        };
        let c = arm(yp, chrono_tz::Europe::Paris, &p, None, now);
        assert_eq!(c.clear, ReminderClear::All);
        assert_eq!(c.arm.len(), 1);
        assert_eq!(c.arm[0].due_at, utc("2026-03-28T08:00:00Z"));
        assert_eq!(c.arm[0].expires_at, utc("2026-03-31T22:00:00Z"), "midnight after the due date, summer time");
        // Due 1 April: reminder Sunday 29 March 09:00, summer time (UTC+2) since 02:00 that night.
        let p = Projections {
            actions: vec![action(NaiveDate::from_ymd_opt(2026, 4, 1), "in_progress", true)],
            ..Default::default()
        };
        assert_eq!(arm(yp, chrono_tz::Europe::Paris, &p, None, now).arm[0].due_at, utc("2026-03-29T07:00:00Z"));
        // Nouméa (UTC+11): 09:00 local on 29 March is 22:00 UTC on the 28th.
        assert_eq!(arm(yp, chrono_tz::Pacific::Noumea, &p, None, now).arm[0].due_at, utc("2026-03-28T22:00:00Z"));
    }

    #[test]
    fn done_off_or_undated_actions_get_no_reminder() {
        let due = NaiveDate::from_ymd_opt(2026, 4, 1);
        let p = Projections {
            actions: vec![
                action(due, "done", true),
                action(due, "not_started", false),
                action(None, "not_started", true),
            ],
            ..Default::default()
        };
        let c = arm(Uuid::new_v4(), chrono_tz::Europe::Paris, &p, Some(&[]), utc("2026-03-01T00:00:00Z"));
        assert!(c.arm.is_empty());
        assert_eq!(c.clear, ReminderClear::Nothing);
    }

    #[test]
    fn appointment_reminders_only_in_the_future() {
        let start = utc("2026-03-10T09:00:00Z");
        let appt = AppointmentRow {
            id: Uuid::new_v4(),
            title: "t".into(),
            kind: "ENTRETIEN_INDIVIDUEL_CONSEILLER".into(),
            starts_at: start,
            duration_minutes: 30,
            status: "scheduled".into(),
            presence: None,
            response: None,
            adviser_id: Uuid::new_v4(),
        };
        let p = Projections { appointments: vec![appt.clone()], ..Default::default() };
        let touched = [appt.id];
        // Scheduled 5 days ahead: the 7-day reminder is already past, only the 1-day one.
        let c = arm(Uuid::new_v4(), chrono_tz::Europe::Paris, &p, Some(&touched), utc("2026-03-05T09:00:00Z"));
        assert_eq!(c.clear, ReminderClear::Entities(vec![appt.id]));
        assert_eq!(c.arm.len(), 1);
        assert_eq!(c.arm[0].kind, APPOINTMENT_1D);
        assert_eq!(c.arm[0].due_at, utc("2026-03-09T09:00:00Z"));
        assert_eq!(c.arm[0].expires_at, start);
        // Canceled: nothing armed, the old ones cleared.
        let canceled = Projections {
            appointments: vec![AppointmentRow { status: "canceled".into(), ..appt.clone() }],
            ..Default::default()
        };
        let c = arm(Uuid::new_v4(), chrono_tz::Europe::Paris, &canceled, Some(&touched), utc("2026-03-01T09:00:00Z"));
        assert!(c.arm.is_empty());
        assert_eq!(c.clear, ReminderClear::Entities(vec![appt.id]));
    }
}
