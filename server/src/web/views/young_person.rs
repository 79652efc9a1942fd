//! `/beneficiaires/{id}`: a young person's file — identity, advisers, and their plan (actions,
//! appointments, job-search tasks), drawn from the projections: no plan is loaded, so a two-year
//! plan's file costs a few SQL rows, not a walk of its document. Open entries are all listed; done,
//! canceled and past ones the 20 most recent, and every one with `?historique=tout`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sync_core::model::{
    ActionCategory, ActionStatus, AppointmentKind, AppointmentResponse, AppointmentStatus, Presence, SchemaError,
    TaskKind, TaskStatus,
};
use sync_core::node::Node;
use sync_core::schema::Collection;
use uuid::Uuid;

use crate::routes::young_people::{plan_access, today_for};
use crate::state::AppState;

use super::super::form::WebPath;
use crate::store::{ActionRow, AppointmentRow, PortfolioKind, TaskRow};

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
    /// A line of the file's list, from the action's projection row.
    pub fn new(young_person_id: Uuid, a: &ActionRow, today: NaiveDate) -> Self {
        let status = ActionStatus::parse(&a.status).unwrap_or(ActionStatus::NotStarted);
        let category = ActionCategory::parse(&a.category);
        let open = matches!(status, ActionStatus::NotStarted | ActionStatus::InProgress);
        ActionLine {
            href: format!("/beneficiaires/{young_person_id}/actions/{}", a.id),
            id: a.id,
            title: a.title.clone(),
            category: category.map(format::category).unwrap_or("—"),
            status: format::action_status(status),
            badge: format::action_status_badge(status),
            due: a.due_date.map(format::date).unwrap_or_else(|| "—".into()),
            late: open && a.due_date.is_some_and(|d| d < today),
            qualified: a.qualification_code.is_some(),
            to_qualify: status == ActionStatus::Done && a.qualification_code.is_none(),
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
    pub status: &'static str,
    pub response: &'static str,
    pub to_close: bool,
}

impl AppointmentLine {
    pub fn new(young_person_id: Uuid, a: &AppointmentRow, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Self {
        let status = AppointmentStatus::parse(&a.status).unwrap_or(AppointmentStatus::Scheduled);
        let presence = a.presence.as_deref().and_then(Presence::parse);
        AppointmentLine {
            href: format!("/beneficiaires/{young_person_id}/rendez-vous/{}", a.id),
            id: a.id,
            title: a.title.clone(),
            kind: AppointmentKind::parse(&a.kind).map(format::appointment_kind).unwrap_or("Rendez-vous"),
            when: format::date_time(a.starts_at, tz),
            duration: a.duration_minutes,
            status: format::appointment_status(status, presence),
            response: format::response(a.response.as_deref().and_then(AppointmentResponse::parse)),
            to_close: status == AppointmentStatus::Scheduled && presence.is_none() && a.starts_at <= now,
        }
    }
}

pub struct TaskLine {
    pub href: String,
    pub id: Uuid,
    pub title: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub due: String,
}

impl TaskLine {
    fn new(young_person_id: Uuid, t: &TaskRow) -> Self {
        TaskLine {
            href: format!("/beneficiaires/{young_person_id}/demarches/{}", t.id),
            id: t.id,
            title: t.title.clone(),
            kind: TaskKind::parse(&t.kind).map(format::task_kind).unwrap_or("Démarche"),
            status: TaskStatus::parse(&t.status).map(format::task_status).unwrap_or("—"),
            due: t.due_date.map(format::date).unwrap_or_else(|| "—".into()),
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
    /// The adviser follows them: archive, export, delete, and their « Messages ».
    follows: bool,
    /// Messages of the conversation the adviser has not read (when they take part in it).
    unread: i64,
    followers: Vec<Follower>,
    success: Option<&'static str>,
    actions: Vec<ActionLine>,
    appointments: Vec<AppointmentLine>,
    tasks: Vec<TaskLine>,
    /// Done or canceled entries left out of the lists (all are shown with `?historique=tout`).
    hidden: usize,
    history_link: String,
}

#[derive(Deserialize)]
pub struct Feedback {
    pub ok: Option<String>,
}

#[derive(Deserialize)]
pub struct FileQuery {
    ok: Option<String>,
    historique: Option<String>,
}

/// Done, canceled or past entries each list shows by default, the most recent first.
const RECENT_HISTORY: usize = 20;

/// The young person the adviser may open (404 otherwise), without their plan.
pub struct Opened {
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub activated: bool,
    pub document_id: String,
    /// The adviser follows them (a supervisor of the structure may open a file they do not follow).
    pub follows: bool,
}

pub async fn open(state: &AppState, user: &WebUser, id: Uuid) -> Result<Opened, WebError> {
    let (access, _) = plan_access(state, &user.user, id).await?;
    let yp = access.young_person;
    Ok(Opened {
        name: format!("{} {}", yp.first_name, yp.last_name),
        first_name: yp.first_name,
        email: yp.email,
        activated: yp.password_hash.is_some(),
        document_id: access.document_id,
        follows: access.follows,
    })
}

/// One entity of the plan, read from the document (not the whole plan); 404 when it is not there.
pub async fn read_entity<T: Send>(
    state: &AppState,
    opened: &Opened,
    collection: Collection,
    id: Uuid,
    parse: fn(&Node, &str) -> Result<T, SchemaError>,
) -> Result<T, WebError> {
    let entity = format!("{}/{id}", collection.key());
    let found = state
        .documents
        .read(&opened.document_id, |doc| {
            doc.entity_node(collection, &id.to_string(), None).map(|node| parse(&node, &entity))
        })
        .await?;
    match found {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(WebError::Internal(format!("unreadable {entity}: {e}"))),
        None => Err(WebError::NotFound),
    }
}

/// The live stream of one young person's plan.
pub fn stream_of(id: Uuid) -> String {
    format!("/flux/beneficiaires/{id}")
}

/// The live stream of one young person's plan and conversation (their file, which counts the
/// unread messages).
pub fn file_stream_of(id: Uuid) -> String {
    format!("/flux/beneficiaires/{id}?messages=oui")
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
    Query(query): Query<FileQuery>,
) -> Result<Response, WebError> {
    let opened = open(&state, &user, id).await?;
    let tz = timezone(&user.user.timezone);
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    let followers = state
        .store
        .followers_named(id)
        .await?
        .into_iter()
        .map(|(adviser, kind)| Follower {
            name: format!("{} {}", adviser.first_name, adviser.last_name),
            temporary: kind == PortfolioKind::Temporary,
        })
        .collect();
    // From the projections: no plan is loaded to draw the file.
    let rows = state.store.projections(id).await?;
    let keep = if query.historique.as_deref() == Some("tout") { usize::MAX } else { RECENT_HISTORY };
    let mut hidden = 0;
    let (mut open_actions, mut closed_actions): (Vec<_>, Vec<_>) =
        rows.actions.iter().partition(|a| matches!(a.status.as_str(), "not_started" | "in_progress"));
    open_actions.sort_by_key(|a| (a.due_date.unwrap_or(NaiveDate::MAX), a.created_at));
    closed_actions.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
    hidden += closed_actions.len().saturating_sub(keep);
    let actions = open_actions.into_iter().chain(closed_actions.into_iter().take(keep));
    let (mut upcoming, mut past): (Vec<_>, Vec<_>) = rows.appointments.iter().partition(|a| a.starts_at > now);
    upcoming.sort_by_key(|a| a.starts_at);
    past.sort_by_key(|a| std::cmp::Reverse(a.starts_at));
    hidden += past.len().saturating_sub(keep);
    let appointments = upcoming.into_iter().chain(past.into_iter().take(keep));
    let (mut open_tasks, mut closed_tasks): (Vec<_>, Vec<_>) =
        rows.tasks.iter().partition(|t| matches!(t.status.as_str(), "to_do" | "in_progress"));
    open_tasks.sort_by_key(|t| t.due_date.unwrap_or(NaiveDate::MAX));
    closed_tasks.sort_by_key(|t| std::cmp::Reverse(t.due_date));
    hidden += closed_tasks.len().saturating_sub(keep);
    let tasks = open_tasks.into_iter().chain(closed_tasks.into_iter().take(keep));
    // Only those who take part in the conversation see it (a supervisor who does not follow them
    // reads their plan, not their messages).
    let unread = if opened.follows {
        state.store.unread_counts(user.user.id, &[id]).await?.first().map_or(0, |c| c.unread)
    } else {
        0
    };
    let stream = if opened.follows { file_stream_of(id) } else { stream_of(id) };
    let page = FilePage {
        page: Page::new(&user, opened.name.clone(), Section::Portfolio).in_portfolio().live(stream),
        id,
        name: opened.name,
        email: opened.email,
        activated: opened.activated,
        follows: opened.follows,
        unread,
        followers,
        success: feedback::success(query.ok.as_deref()),
        actions: actions.map(|a| ActionLine::new(id, a, today)).collect(),
        appointments: appointments.map(|a| AppointmentLine::new(id, a, tz, now)).collect(),
        tasks: tasks.map(|t| TaskLine::new(id, t)).collect(),
        hidden,
        history_link: format!("/beneficiaires/{id}?historique=tout"),
    };
    Ok(html(StatusCode::OK, &page))
}
