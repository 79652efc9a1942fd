//! `/beneficiaires/{id}`: a young person's file — identity, advisers, and their plan (actions,
//! appointments, job-search tasks), read from the plan's document (one load per page).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use sync_core::Plan;
use sync_core::model::{Action, ActionStatus, Appointment, AppointmentStatus, Task};
use uuid::Uuid;

use crate::routes::young_people::{plan_access, today_for};
use crate::state::AppState;

use super::super::form::WebPath;
use crate::store::PortfolioKind;

use super::super::errors::{WebError, html};
use super::super::feedback;
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;

pub struct ActionLine {
    pub href: String,
    pub id: Uuid,
    pub title: String,
    pub category: &'static str,
    pub status: &'static str,
    pub badge: &'static str,
    pub due: String,
    pub late: bool,
    pub qualified: bool,
    pub to_qualify: bool,
}

impl ActionLine {
    pub fn new(young_person_id: Uuid, a: &Action, today: NaiveDate) -> Self {
        let open = matches!(a.status, ActionStatus::NotStarted | ActionStatus::InProgress);
        ActionLine {
            href: format!("/beneficiaires/{young_person_id}/actions/{}", a.id),
            id: a.id,
            title: a.title.clone(),
            category: format::category(a.category),
            status: format::action_status(a.status),
            badge: format::action_status_badge(a.status),
            due: a.due_date.map(format::date).unwrap_or_else(|| "—".into()),
            late: open && a.due_date.is_some_and(|d| d < today),
            qualified: a.qualification.is_some(),
            to_qualify: a.status == ActionStatus::Done && a.qualification.is_none(),
        }
    }
}

pub struct AppointmentLine {
    pub href: String,
    pub id: Uuid,
    pub title: String,
    pub kind: &'static str,
    pub when: String,
    pub duration: i64,
    pub modality: &'static str,
    pub status: &'static str,
    pub response: &'static str,
    pub to_close: bool,
}

impl AppointmentLine {
    pub fn new(young_person_id: Uuid, a: &Appointment, tz: chrono_tz::Tz) -> Self {
        AppointmentLine {
            href: format!("/beneficiaires/{young_person_id}/rendez-vous/{}", a.id),
            id: a.id,
            title: a.title.clone(),
            kind: format::appointment_kind(a.kind),
            when: format::date_time(a.starts_at, tz),
            duration: a.duration_minutes,
            modality: format::modality(a.modality),
            status: format::appointment_status(a.status, a.presence),
            response: format::response(a.response),
            to_close: a.status == AppointmentStatus::Scheduled && a.presence.is_none() && a.starts_at <= Utc::now(),
        }
    }
}

pub struct TaskLine {
    pub href: String,
    pub id: Uuid,
    pub title: String,
    pub kind: &'static str,
    pub company: String,
    pub status: &'static str,
    pub due: String,
    pub comments: usize,
}

impl TaskLine {
    fn new(young_person_id: Uuid, t: &Task) -> Self {
        TaskLine {
            href: format!("/beneficiaires/{young_person_id}/demarches/{}", t.id),
            id: t.id,
            title: t.title.clone(),
            kind: format::task_kind(t.kind),
            company: t.company.clone().unwrap_or_else(|| "—".into()),
            status: format::task_status(t.status),
            due: t.due_date.map(format::date).unwrap_or_else(|| "—".into()),
            comments: t.comments.len(),
        }
    }
}

pub struct Follower {
    pub name: String,
    pub temporary: bool,
}

#[derive(Template)]
#[template(path = "web/young_person.html")]
struct FilePage {
    page: Page,
    id: Uuid,
    name: String,
    email: String,
    activated: bool,
    followers: Vec<Follower>,
    success: Option<&'static str>,
    actions: Vec<ActionLine>,
    appointments: Vec<AppointmentLine>,
    tasks: Vec<TaskLine>,
}

#[derive(Deserialize)]
pub struct Feedback {
    pub ok: Option<String>,
}

/// The young person the adviser may open, their plan and their followers' names (404 otherwise).
pub struct Opened {
    pub name: String,
    pub email: String,
    pub activated: bool,
    pub document_id: String,
    pub plan: Plan,
}

pub async fn open(state: &AppState, user: &WebUser, id: Uuid) -> Result<Opened, WebError> {
    let (access, _) = plan_access(state, &user.user, id).await?;
    let plan = state.documents.read(&access.document_id, |doc| doc.plan()).await?;
    let yp = access.young_person;
    Ok(Opened {
        name: format!("{} {}", yp.first_name, yp.last_name),
        email: yp.email,
        activated: yp.password_hash.is_some(),
        document_id: access.document_id,
        plan,
    })
}

/// The live stream of one young person's plan.
pub fn stream_of(id: Uuid) -> String {
    format!("/flux/beneficiaires/{id}")
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let opened = open(&state, &user, id).await?;
    let tz = timezone(&user.user.timezone);
    let today = today_for(&user.user.timezone, Utc::now());
    let mut followers = Vec::new();
    for (adviser, kind) in state.store.followers(id).await? {
        if let Some(account) = state.store.user_by_id(adviser).await? {
            followers.push(Follower {
                name: format!("{} {}", account.first_name, account.last_name),
                temporary: kind == PortfolioKind::Temporary,
            });
        }
    }
    let mut actions = opened.plan.actions.clone();
    // Open ones first, by due date; then done, then canceled.
    actions.sort_by_key(|a| {
        let rank = match a.status {
            ActionStatus::NotStarted | ActionStatus::InProgress => 0,
            ActionStatus::Done => 1,
            ActionStatus::Canceled => 2,
        };
        (rank, a.due_date.unwrap_or(NaiveDate::MAX), a.created_at)
    });
    let mut appointments = opened.plan.appointments.clone();
    appointments.sort_by_key(|a| std::cmp::Reverse(a.starts_at));
    let mut tasks = opened.plan.tasks.clone();
    tasks.sort_by_key(|t| (t.due_date.unwrap_or(NaiveDate::MAX), t.created_at));
    let page = FilePage {
        page: Page::new(&user, opened.name.clone(), Section::Portfolio).in_portfolio().live(stream_of(id)),
        id,
        name: opened.name,
        email: opened.email,
        activated: opened.activated,
        followers,
        success: feedback::success(feedback.ok.as_deref()),
        actions: actions.iter().map(|a| ActionLine::new(id, a, today)).collect(),
        appointments: appointments.iter().map(|a| AppointmentLine::new(id, a, tz)).collect(),
        tasks: tasks.iter().map(|t| TaskLine::new(id, t)).collect(),
    };
    Ok(html(StatusCode::OK, &page))
}
