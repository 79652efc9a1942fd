//! A young person's plan: read it, and edit it through sync-core's typed edits (each one an
//! Automerge change authored by the caller and checked by the rulebook).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sync_core::edit::{ActionPatch, AppointmentPatch, EditOutcome, NewAction, NewAppointment, NewTask, TaskPatch};
use sync_core::model::{
    Action, ActionCategory, ActionStatus, Appointment, AppointmentKind, AppointmentResponse, Comment, Modality,
    Presence, QualificationCode, Task, TaskKind, TaskStatus,
};
use sync_core::schema::Collection;
use sync_core::{Author, EditError, PlanDocument};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problem};
use crate::routes::young_people::plan_access;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/young-people/{id}/plan", get(read_plan))
        .route("/api/v1/young-people/{id}/actions", post(create_action))
        .route("/api/v1/young-people/{id}/actions/{action_id}", patch(update_action).delete(delete_action))
        .route("/api/v1/young-people/{id}/actions/{action_id}/comments", post(comment_action))
        .route("/api/v1/young-people/{id}/actions/{action_id}/qualification", post(qualify_action))
        .route("/api/v1/young-people/{id}/appointments", post(create_appointment))
        .route("/api/v1/young-people/{id}/appointments/{appointment_id}", patch(update_appointment))
        .route("/api/v1/young-people/{id}/appointments/{appointment_id}/cancel", post(cancel_appointment))
        .route("/api/v1/young-people/{id}/appointments/{appointment_id}/close", post(close_appointment))
        .route("/api/v1/young-people/{id}/appointments/{appointment_id}/answer", post(answer_appointment))
        .route("/api/v1/young-people/{id}/tasks", post(create_task))
        .route("/api/v1/young-people/{id}/tasks/{task_id}", patch(update_task))
}

/// `null` clears the field (`Some(None)`); an absent field changes nothing (`None`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

// ---- response shapes (sync-core's model, its schemas from its `openapi` feature; RFC 3339 UTC instants) ----

#[derive(Serialize, ToSchema)]
pub struct PlanView {
    pub actions: Vec<Action>,
    pub appointments: Vec<Appointment>,
    pub tasks: Vec<Task>,
}

/// The entity after an edit, as sync-core's model serializes it.
fn entity_json(doc: &PlanDocument, collection: Collection, id: Uuid) -> Option<Value> {
    let node = doc.entity_node(collection, &id.to_string(), None)?;
    let entity = format!("{}/{id}", collection.key());
    match collection {
        Collection::Actions => Action::from_node(&node, &entity).ok().and_then(|a| serde_json::to_value(a).ok()),
        Collection::Appointments => {
            Appointment::from_node(&node, &entity).ok().and_then(|a| serde_json::to_value(a).ok())
        }
        Collection::Tasks => Task::from_node(&node, &entity).ok().and_then(|t| serde_json::to_value(t).ok()),
        Collection::Notices => None,
    }
}

/// Runs one edit on the plan of `young_person_id` for the caller; answers the entity it touched.
/// The web app's forms write through here too: one write path, one rulebook.
pub(crate) async fn edit<T: Send>(
    state: &AppState,
    user: &AuthUser,
    young_person_id: Uuid,
    collection: Collection,
    f: impl FnOnce(&mut PlanDocument, &Author, DateTime<Utc>) -> Result<(T, EditOutcome), EditError>,
) -> ApiResult<(T, EditOutcome, Option<Value>)> {
    let (access, author) = plan_access(state, user, young_person_id).await?;
    let now = Utc::now();
    state
        .documents
        .write(
            &access.document_id,
            young_person_id,
            user.id,
            now,
            |doc| f(doc, &author, now),
            |doc, _, outcome| entity_json(doc, collection, outcome.id),
        )
        .await
}

fn unit(outcome: EditOutcome) -> ((), EditOutcome) {
    ((), outcome)
}

/// 201 for a creation, 200 when the same id existed already (a retried request).
fn created(outcome: &EditOutcome, entity: Option<Value>) -> ApiResult<(StatusCode, Json<Value>)> {
    let status = if outcome.change.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(entity.ok_or(ApiError::NotFound)?)))
}

fn updated(entity: Option<Value>) -> ApiResult<Json<Value>> {
    entity.map(Json).ok_or(ApiError::NotFound)
}

/// The whole plan.
#[utoipa::path(get, path = "/api/v1/young-people/{id}/plan", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PlanView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn read_plan(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PlanView>> {
    let (access, _) = plan_access(&state, &user, id).await?;
    let plan = state.documents.read(&access.document_id, |doc| doc.plan()).await?;
    if !plan.unreadable.is_empty() {
        tracing::warn!(young_person_id = %id, unreadable = plan.unreadable.len(), "plan has unreadable entities");
    }
    Ok(Json(PlanView { actions: plan.actions, appointments: plan.appointments, tasks: plan.tasks }))
}

// ---- actions ----------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActionBody {
    /// Chosen by the client: the same request sent twice creates one action.
    pub id: Option<Uuid>,
    pub title: String,
    pub category: ActionCategory,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub status: Option<ActionStatus>,
    pub reminder: Option<bool>,
}

/// Creates an action.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/actions", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateActionBody,
    responses((status = 201, body = Action, description = "Created"), (status = 200, body = Action, description = "Already created with this id (a retried request)"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_action(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateActionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewAction {
        id: body.id,
        title: body.title,
        category: Some(body.category),
        description: body.description,
        due_date: body.due_date,
        status: body.status,
        reminder: body.reminder,
    };
    let ((), outcome, entity) =
        edit(&state, &user, id, Collection::Actions, |doc, a, now| doc.create_action(a, now, new).map(unit)).await?;
    created(&outcome, entity)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionPatchBody {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub category: Option<ActionCategory>,
    pub status: Option<ActionStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    pub reminder: Option<bool>,
}

/// Changes an action (absent fields are kept; `null` clears an optional one).
#[utoipa::path(patch, path = "/api/v1/young-people/{id}/actions/{action_id}", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("action_id" = Uuid, Path)), request_body = ActionPatchBody,
    responses((status = 200, body = Action), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_action(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, action_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<ActionPatchBody>,
) -> ApiResult<Json<Value>> {
    let changes = ActionPatch {
        title: body.title,
        description: body.description,
        category: body.category,
        status: body.status,
        due_date: body.due_date,
        reminder: body.reminder,
    };
    let ((), _, entity) = edit(&state, &user, id, Collection::Actions, |doc, a, now| {
        doc.update_action(a, now, action_id, changes).map(unit)
    })
    .await?;
    updated(entity)
}

/// Deletes an action (the rulebook allows it only in some cases; otherwise cancel it).
#[utoipa::path(delete, path = "/api/v1/young-people/{id}/actions/{action_id}", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("action_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn delete_action(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, action_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    edit(&state, &user, id, Collection::Actions, |doc, a, now| doc.delete_action(a, now, action_id).map(unit)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Chosen by the client for an idempotent retry.
    pub id: Option<Uuid>,
    pub text: String,
}

/// Comments an action; answers the comment.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/actions/{action_id}/comments", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("action_id" = Uuid, Path)), request_body = CommentBody,
    responses((status = 201, body = Comment, description = "Created"), (status = 200, body = Comment, description = "Already created with this id (a retried request)"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn comment_action(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, action_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<CommentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (comment_id, outcome, entity) = edit(&state, &user, id, Collection::Actions, |doc, a, now| {
        doc.add_comment(a, now, Collection::Actions, action_id, body.id, body.text)
    })
    .await?;
    let comment = entity
        .as_ref()
        .and_then(|e| e.get("comments"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("id").and_then(Value::as_str) == Some(&comment_id.to_string())))
        .cloned();
    created(&outcome, comment)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationBody {
    pub code: QualificationCode,
    pub comment: Option<String>,
}

/// Qualifies a done action (advisers); the action is then read-only.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/actions/{action_id}/qualification", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("action_id" = Uuid, Path)), request_body = QualificationBody,
    responses((status = 200, body = Action), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn qualify_action(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, action_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<QualificationBody>,
) -> ApiResult<Json<Value>> {
    let ((), _, entity) = edit(&state, &user, id, Collection::Actions, |doc, a, now| {
        doc.qualify_action(a, now, action_id, body.code, body.comment).map(unit)
    })
    .await?;
    updated(entity)
}

// ---- appointments -----------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppointmentBody {
    pub id: Option<Uuid>,
    pub title: String,
    pub kind: AppointmentKind,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub modality: Modality,
    pub address: Option<String>,
    pub video_url: Option<String>,
    pub comment: Option<String>,
    pub adviser_present: Option<bool>,
}

/// Schedules an appointment (advisers).
#[utoipa::path(post, path = "/api/v1/young-people/{id}/appointments", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateAppointmentBody,
    responses((status = 201, body = Appointment, description = "Created"), (status = 200, body = Appointment, description = "Already created with this id (a retried request)"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateAppointmentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewAppointment {
        id: body.id,
        title: body.title,
        kind: body.kind,
        starts_at: body.starts_at,
        duration_minutes: body.duration_minutes,
        modality: body.modality,
        address: body.address,
        video_url: body.video_url,
        comment: body.comment,
        adviser_present: body.adviser_present,
    };
    let ((), outcome, entity) = edit(&state, &user, id, Collection::Appointments, |doc, a, now| {
        doc.schedule_appointment(a, now, new).map(unit)
    })
    .await?;
    created(&outcome, entity)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPatchBody {
    pub title: Option<String>,
    pub kind: Option<AppointmentKind>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub modality: Option<Modality>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub video_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub comment: Option<Option<String>>,
    pub adviser_present: Option<bool>,
}

/// Changes an appointment (advisers).
#[utoipa::path(patch, path = "/api/v1/young-people/{id}/appointments/{appointment_id}", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("appointment_id" = Uuid, Path)), request_body = AppointmentPatchBody,
    responses((status = 200, body = Appointment), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, appointment_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<AppointmentPatchBody>,
) -> ApiResult<Json<Value>> {
    let changes = AppointmentPatch {
        title: body.title,
        kind: body.kind,
        starts_at: body.starts_at,
        duration_minutes: body.duration_minutes,
        modality: body.modality,
        address: body.address,
        video_url: body.video_url,
        comment: body.comment,
        adviser_present: body.adviser_present,
    };
    let ((), _, entity) = edit(&state, &user, id, Collection::Appointments, |doc, a, now| {
        doc.update_appointment(a, now, appointment_id, changes).map(unit)
    })
    .await?;
    updated(entity)
}

/// Cancels an appointment (advisers).
#[utoipa::path(post, path = "/api/v1/young-people/{id}/appointments/{appointment_id}/cancel", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("appointment_id" = Uuid, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, appointment_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let ((), _, entity) = edit(&state, &user, id, Collection::Appointments, |doc, a, now| {
        doc.cancel_appointment(a, now, appointment_id).map(unit)
    })
    .await?;
    updated(entity)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    pub presence: Presence,
}

/// Records whether the young person came (advisers, once the appointment has started).
#[utoipa::path(post, path = "/api/v1/young-people/{id}/appointments/{appointment_id}/close", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("appointment_id" = Uuid, Path)), request_body = CloseBody,
    responses((status = 200, body = Appointment), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn close_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, appointment_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<CloseBody>,
) -> ApiResult<Json<Value>> {
    let ((), _, entity) = edit(&state, &user, id, Collection::Appointments, |doc, a, now| {
        doc.close_appointment(a, now, appointment_id, body.presence).map(unit)
    })
    .await?;
    updated(entity)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub response: AppointmentResponse,
}

/// The young person's answer to an appointment.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/appointments/{appointment_id}/answer", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("appointment_id" = Uuid, Path)), request_body = AnswerBody,
    responses((status = 200, body = Appointment), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn answer_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, appointment_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> ApiResult<Json<Value>> {
    let ((), _, entity) = edit(&state, &user, id, Collection::Appointments, |doc, a, now| {
        doc.answer_appointment(a, now, appointment_id, body.response).map(unit)
    })
    .await?;
    updated(entity)
}

// ---- job-search tasks -------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskBody {
    pub id: Option<Uuid>,
    pub kind: TaskKind,
    pub title: String,
    pub company: Option<String>,
    pub offer_url: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Creates a job-search task (the young person).
#[utoipa::path(post, path = "/api/v1/young-people/{id}/tasks", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateTaskBody,
    responses((status = 201, body = Task, description = "Created"), (status = 200, body = Task, description = "Already created with this id (a retried request)"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_task(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateTaskBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewTask {
        id: body.id,
        kind: body.kind,
        title: body.title,
        company: body.company,
        offer_url: body.offer_url,
        due_date: body.due_date,
        notes: body.notes,
    };
    let ((), outcome, entity) =
        edit(&state, &user, id, Collection::Tasks, |doc, a, now| doc.create_task(a, now, new).map(unit)).await?;
    created(&outcome, entity)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TaskPatchBody {
    pub kind: Option<TaskKind>,
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub offer_url: Option<Option<String>>,
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// Changes a job-search task.
#[utoipa::path(patch, path = "/api/v1/young-people/{id}/tasks/{task_id}", tag = "plans", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("task_id" = Uuid, Path)), request_body = TaskPatchBody,
    responses((status = 200, body = Task), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_task(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, task_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<TaskPatchBody>,
) -> ApiResult<Json<Value>> {
    let changes = TaskPatch {
        kind: body.kind,
        title: body.title,
        company: body.company,
        offer_url: body.offer_url,
        status: body.status,
        due_date: body.due_date,
        notes: body.notes,
    };
    let ((), _, entity) =
        edit(&state, &user, id, Collection::Tasks, |doc, a, now| doc.update_task(a, now, task_id, changes).map(unit))
            .await?;
    updated(entity)
}
