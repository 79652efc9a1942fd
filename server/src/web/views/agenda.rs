//! `/agenda`: the adviser's appointments week by week, in the adviser's time zone, each with a link
//! to the young person (from the projections).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use sync_core::model::AppointmentKind;
use uuid::Uuid;

use crate::routes::young_people::today_for;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;

pub struct AgendaEntry {
    pub young_person_id: Uuid,
    pub name: String,
    pub appointment_id: Uuid,
    pub title: String,
    pub kind: &'static str,
    pub time: String,
    pub duration: i64,
    pub status: &'static str,
    pub canceled: bool,
}

pub struct Day {
    pub label: String,
    pub entries: Vec<AgendaEntry>,
}

#[derive(Template)]
#[template(path = "web/agenda.html")]
struct AgendaPage {
    page: Page,
    heading: String,
    previous: String,
    next: String,
    this_week: bool,
    days: Vec<Day>,
    count: usize,
}

#[derive(Deserialize)]
pub struct WeekQuery {
    semaine: Option<String>,
}

/// The Monday of the week holding `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<WeekQuery>,
) -> Result<Response, WebError> {
    let tz = timezone(&user.user.timezone);
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    let asked = query.semaine.as_deref().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    let monday = monday_of(asked.unwrap_or(today));
    let start_of = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN)).earliest().map(|at| at.with_timezone(&Utc))
    };
    let (Some(from), Some(to)) = (start_of(monday), start_of(monday + Duration::days(7))) else {
        return Err(WebError::NotFound);
    };
    let lines = state.store.adviser_appointments(user.user.id, from, to).await?;
    let count = lines.len();
    let mut days: Vec<Day> =
        (0..7).map(|i| Day { label: format::long_date(monday + Duration::days(i)), entries: Vec::new() }).collect();
    for line in lines {
        let local_day = line.appointment.starts_at.with_timezone(&tz).date_naive();
        let index = (local_day - monday).num_days();
        let Some(day) = usize::try_from(index).ok().and_then(|i| days.get_mut(i)) else { continue };
        let a = &line.appointment;
        let canceled = a.status == "canceled";
        day.entries.push(AgendaEntry {
            young_person_id: line.young_person_id,
            name: format!("{} {}", line.first_name, line.last_name),
            appointment_id: a.id,
            title: a.title.clone(),
            kind: AppointmentKind::parse(&a.kind).map(format::appointment_kind).unwrap_or("Rendez-vous"),
            time: format::time(a.starts_at, tz),
            duration: a.duration_minutes,
            status: match (canceled, a.presence.as_deref()) {
                (true, _) => "Annulé",
                (_, Some("present")) => "Présent",
                (_, Some("absent")) => "Absent",
                _ if a.starts_at <= now => "À clore",
                _ => "Prévu",
            },
            canceled,
        });
    }
    // Saturday and Sunday only when something is planned then.
    let weekend_empty = days[5].entries.is_empty() && days[6].entries.is_empty();
    if weekend_empty {
        days.truncate(5);
    }
    let week = |d: NaiveDate| format!("/agenda?semaine={}", d.format("%Y-%m-%d"));
    let page = AgendaPage {
        page: Page::new(&user, "Agenda", Section::Agenda),
        heading: format!("Semaine du {}", format::long_date(monday)),
        previous: week(monday - Duration::days(7)),
        next: week(monday + Duration::days(7)),
        this_week: monday == monday_of(today),
        days,
        count,
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(monday_of(wednesday), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(monday_of(sunday), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(monday_of(monday_of(sunday)), monday_of(sunday));
    }
}
