//! The notification centre and the young person's notification preferences.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sync_core::model::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, FieldError, Problem};
use crate::notifications::{centre, preferences};
use crate::state::AppState;
use crate::store::NotificationRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/{id}/read", post(mark_read))
        .route("/api/v1/me/notification-preferences", get(read_preferences).put(write_preferences))
}

/// One entry of the centre.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `action_created`, `appointment_reminder_1d`, `action_completed`… (docs/notifications.md).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Ids only (`young_person_id`, `action_id`, `appointment_id`…).
    #[schema(value_type = Object)]
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for NotificationView {
    fn from(n: NotificationRow) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            payload: serde_json::from_str(&n.payload).unwrap_or(Value::Null),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// The caller's notification centre: the last 30 days, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Vec<NotificationView>), (status = 401, body = Problem)))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<NotificationView>>> {
    let rows = centre::list(state.store.as_ref(), user.id, Utc::now()).await?;
    Ok(Json(rows.into_iter().map(NotificationView::from).collect()))
}

/// Marks one of the caller's entries read (idempotent: the first read time is kept).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem, description = "Unknown, or someone else's")))]
pub async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if centre::mark_read(state.store.as_ref(), id, user.id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

fn young_person_only(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::YoungPerson { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// Every kind a young person can receive on their phone, with whether it is on (default on).
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = BTreeMap<String, bool>), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Not a young person")))]
pub async fn read_preferences(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<BTreeMap<String, bool>>> {
    young_person_only(&user)?;
    Ok(Json(preferences::preferences(state.store.as_ref(), user.id).await?))
}

/// Turns kinds on or off; absent kinds keep their value. Answers every kind.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "notifications", security(("bearer" = [])),
    request_body = BTreeMap<String, bool>,
    responses((status = 200, body = BTreeMap<String, bool>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem, description = "Unknown kind")))]
pub async fn write_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<BTreeMap<String, bool>>,
) -> ApiResult<Json<BTreeMap<String, bool>>> {
    young_person_only(&user)?;
    let unknown = preferences::unknown_kinds(body.keys());
    if !unknown.is_empty() {
        return Err(ApiError::Validation(
            unknown
                .into_iter()
                .map(|k| FieldError {
                    field: k,
                    code: "invalid".into(),
                    message: "type de notification inconnu".into(),
                })
                .collect(),
        ));
    }
    let updated = preferences::update(state.store.as_ref(), user.id, &body, Utc::now()).await?;
    state.documents.invalidate_notification_context(user.id);
    Ok(Json(updated))
}
