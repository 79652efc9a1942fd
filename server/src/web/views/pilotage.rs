//! `/pilotage`: « Activités à qualifier ou émarger » across the portfolio — the done actions to
//! qualify and the past appointments to close, each with its form in place (from the projections).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use sync_core::model::QualificationCode;
use uuid::Uuid;

use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback;
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::young_person::Feedback;

pub struct ToQualify {
    pub young_person_id: Uuid,
    pub name: String,
    pub action_id: Uuid,
    pub title: String,
    pub category: String,
    pub completed: String,
    pub suggested: &'static str,
}

pub struct ToClose {
    pub young_person_id: Uuid,
    pub name: String,
    pub appointment_id: Uuid,
    pub title: String,
    pub when: String,
}

pub struct CodeChoice {
    pub value: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "web/pilotage.html")]
struct PilotagePage {
    page: Page,
    actions: Vec<ToQualify>,
    appointments: Vec<ToClose>,
    codes: Vec<CodeChoice>,
    success: Option<&'static str>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let tz = timezone(&user.user.timezone);
    let now = Utc::now();
    let actions = state
        .store
        .actions_to_qualify(user.user.id)
        .await?
        .into_iter()
        .map(|p| {
            let category = sync_core::model::ActionCategory::parse(&p.action.category);
            ToQualify {
                young_person_id: p.young_person_id,
                name: format!("{} {}", p.first_name, p.last_name),
                action_id: p.action.id,
                title: p.action.title,
                category: category.map(format::category).unwrap_or("—").to_owned(),
                completed: p.action.completed_at.map(|at| format::date_time(at, tz)).unwrap_or_default(),
                // The action's own category is the usual code.
                suggested: category
                    .and_then(|c| QualificationCode::parse(c.as_str()))
                    .map(|c| c.as_str())
                    .unwrap_or(""),
            }
        })
        .collect();
    let appointments = state
        .store
        .appointments_to_close(user.user.id, now)
        .await?
        .into_iter()
        .map(|l| ToClose {
            young_person_id: l.young_person_id,
            name: format!("{} {}", l.first_name, l.last_name),
            appointment_id: l.appointment.id,
            title: l.appointment.title,
            when: format::date_time(l.appointment.starts_at, tz),
        })
        .collect();
    let codes = QualificationCode::ALL
        .iter()
        .map(|c| CodeChoice { value: c.as_str(), label: format!("{} ({} h)", format::qualification(*c), c.hours()) })
        .collect();
    let page = PilotagePage {
        page: Page::new(&user, "Pilotage", Section::Pilotage).live("/flux/portefeuille"),
        actions,
        appointments,
        codes,
        success: feedback::success(feedback.ok.as_deref()),
    };
    Ok(html(StatusCode::OK, &page))
}
