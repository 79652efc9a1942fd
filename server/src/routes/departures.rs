//! A young person leaves (issue 14): archive, deletion, export, and the structure's archives.
//! The work is `crate::lifecycle`'s; these handlers check who may ask and finish locally.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problem};
use crate::lifecycle::export::Export;
use crate::lifecycle::{self, Actor, ArchiveReason, ArchiveRequest, Departed};
use crate::routes::young_people::{plan_access, today_for};
use crate::state::AppState;
use crate::store::ArchiveSummary;

/// The most archives one listing answers.
pub const ARCHIVES_PAGE: i64 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/archive-reasons", get(reasons))
        .route("/api/v1/young-people/{id}/archive", post(archive))
        .route("/api/v1/young-people/{id}/export", get(export_for_adviser))
        .route("/api/v1/archives", get(list_archives))
        .route("/api/v1/archives/{id}", get(read_archive))
}

#[derive(Serialize, ToSchema)]
pub struct ReasonView {
    pub code: ArchiveReason,
    pub label: String,
    /// « Autre » needs a comment.
    pub needs_comment: bool,
}

/// The reasons an adviser may give when archiving.
#[utoipa::path(get, path = "/api/v1/archive-reasons", tag = "departures", security(("bearer" = [])),
    responses((status = 200, body = Vec<ReasonView>), (status = 401, body = Problem)))]
pub async fn reasons(_user: AuthUser) -> Json<Vec<ReasonView>> {
    Json(
        ArchiveReason::CHOOSABLE
            .into_iter()
            .map(|r| ReasonView { code: r, label: r.label().to_owned(), needs_comment: r.needs_comment() })
            .collect(),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveBody {
    /// One of `GET /api/v1/archive-reasons` (not `inactivity`, the retention pass's).
    pub reason: ArchiveReason,
    /// When the accompaniment ended: between the account's creation and today (today if absent).
    pub ended_on: Option<NaiveDate>,
    /// Required with `other`; at most 2,000 characters.
    pub comment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Archived {
    pub archive_id: Uuid,
}

/// The young person's advisers only: every other caller gets the 404 of a plan out of reach.
pub(crate) async fn followed_by_caller(state: &AppState, user: &AuthUser, id: Uuid) -> ApiResult<()> {
    let (access, _) = plan_access(state, user, id).await?;
    if !access.follows || !matches!(user.role, Role::Adviser | Role::Supervisor) {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// What this instance does once a young person is gone (the others hear the store's announcement).
pub fn finish_departure(state: &AppState, young_person_id: Uuid, departed: &Departed) {
    state.documents.invalidate_notification_context(young_person_id);
    state.conversations.forget(young_person_id);
    if let Some(document_id) = &departed.document_id {
        state.documents.plan_gone(document_id);
    }
}

/// Archives a young person the caller follows: their account, tokens, devices, plan and pending
/// notifications go at once (open sessions end on every instance); their export is kept in an
/// archive that their structure reads for the archive period.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/archive", tag = "departures", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ArchiveBody,
    responses((status = 201, body = Archived), (status = 404, body = Problem, description = "Not a young person the caller follows"),
        (status = 422, body = Problem), (status = 503, body = Problem, description = "The plan kept changing; see `Retry-After`")))]
pub async fn archive(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ArchiveBody>,
) -> ApiResult<(StatusCode, Json<Archived>)> {
    followed_by_caller(&state, &user, id).await?;
    let now = Utc::now();
    let request = ArchiveRequest { reason: body.reason, ended_on: body.ended_on, comment: body.comment };
    let departed = lifecycle::archive(
        state.store.as_ref(),
        id,
        &request,
        Actor::Adviser(user.id),
        today_for(&user.timezone, now),
        now,
    )
    .await?;
    finish_departure(&state, id, &departed);
    let archive_id = departed.archive_id.ok_or_else(|| ApiError::internal("an archive without its id"))?;
    Ok((StatusCode::CREATED, Json(Archived { archive_id })))
}

/// Deletes an account of the caller's portfolio that was never activated (409 once activated:
/// archive it instead).
#[utoipa::path(delete, path = "/api/v1/young-people/{id}", tag = "departures", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "The account was activated")))]
pub async fn delete_never_activated(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    followed_by_caller(&state, &user, id).await?;
    let departed = lifecycle::delete(state.store.as_ref(), id, Actor::Adviser(user.id), Utc::now()).await?;
    finish_departure(&state, id, &departed);
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the service holds about a young person the caller follows (`docs/api.md`).
#[utoipa::path(get, path = "/api/v1/young-people/{id}/export", tag = "departures", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Export), (status = 404, body = Problem)))]
pub async fn export_for_adviser(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Export>> {
    followed_by_caller(&state, &user, id).await?;
    Ok(Json(lifecycle::export::export(state.store.as_ref(), id, Utc::now()).await?.0))
}

#[derive(Serialize, ToSchema)]
pub struct ArchiveLine {
    pub id: Uuid,
    pub young_person_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub reason: ArchiveReason,
    pub reason_label: String,
    pub ended_on: Option<NaiveDate>,
    pub comment: Option<String>,
    /// `None`: archived by the retention pass.
    pub archived_by: Option<Uuid>,
    pub archived_at: DateTime<Utc>,
    /// The archive is deleted at this instant.
    pub deleted_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ArchiveDetail {
    #[serde(flatten)]
    pub line: ArchiveLine,
    pub export: Export,
}

fn line(state: &AppState, a: ArchiveSummary) -> ArchiveLine {
    let reason = ArchiveReason::parse(&a.reason).unwrap_or(ArchiveReason::Other);
    let keep = chrono::Duration::days(state.config.retention.archive_days.max(1));
    ArchiveLine {
        id: a.id,
        young_person_id: a.young_person_id,
        first_name: a.first_name,
        last_name: a.last_name,
        email: a.email,
        reason,
        reason_label: reason.label().to_owned(),
        ended_on: a.ended_on,
        comment: a.comment,
        archived_by: a.archived_by,
        archived_at: a.archived_at,
        deleted_at: a.archived_at + keep,
    }
}

/// The structure whose archives the caller reads: advisers and supervisors of one.
pub fn archive_reader(user: &AuthUser) -> ApiResult<Uuid> {
    match (user.role, user.structure_id) {
        (Role::Adviser | Role::Supervisor, Some(structure)) => Ok(structure),
        _ => Err(ApiError::Forbidden),
    }
}

/// The archives of the caller's structure, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/archives", tag = "departures", security(("bearer" = [])),
    responses((status = 200, body = Vec<ArchiveLine>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_archives(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<ArchiveLine>>> {
    let structure = archive_reader(&user)?;
    let rows = state.store.archives_of_structure(structure, ARCHIVES_PAGE).await?;
    Ok(Json(rows.into_iter().map(|a| line(&state, a)).collect()))
}

/// One archive of the caller's structure with the export it froze.
pub async fn archive_detail(state: &AppState, user: &AuthUser, id: Uuid) -> ApiResult<ArchiveDetail> {
    let structure = archive_reader(user)?;
    let (summary, export) = state.store.archive_record(id).await?.ok_or(ApiError::NotFound)?;
    if summary.structure_id != Some(structure) {
        return Err(ApiError::NotFound);
    }
    let export: Export = serde_json::from_str(&export).map_err(ApiError::internal)?;
    Ok(ArchiveDetail { line: line(state, summary), export })
}

#[utoipa::path(get, path = "/api/v1/archives/{id}", tag = "departures", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ArchiveDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read_archive(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ArchiveDetail>> {
    Ok(Json(archive_detail(&state, &user, id).await?))
}
