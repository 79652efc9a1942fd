//! The caller's own account.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sync_core::model::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me).delete(delete_me)).route("/api/v1/me/export", get(export_me))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    #[schema(value_type = sync_core::model::Role)]
    pub role: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// IANA time zone (the days of the agenda, the hours of reminders).
    pub timezone: String,
    /// Only for a young person: automerge-repo's base58check id of their plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_document_id: Option<String>,
    /// Only for a young person: automerge-repo's base58check id of their conversation with their
    /// advisers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_document_id: Option<String>,
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Me>> {
    let account = state.store.user_by_id(user.id).await?.ok_or(ApiError::Unauthorized)?;
    let young_person = account.role == Role::YoungPerson;
    let plan_document_id = if young_person { state.store.document_of(account.id).await? } else { None };
    let conversation_document_id =
        if young_person { Some(state.conversations.ensure(account.id).await?) } else { None };
    Ok(Json(Me {
        id: account.id,
        role: account.role.as_str().into(),
        email: account.email,
        first_name: account.first_name,
        last_name: account.last_name,
        timezone: account.timezone,
        plan_document_id,
        conversation_document_id,
    }))
}

/// Deletes the caller's own account (young people only) and everything the service holds about
/// them: plan, notifications, devices, tokens (open sessions end on every instance). Nothing is
/// archived. Their advisers are told in their notification centre.
#[utoipa::path(delete, path = "/api/v1/me", tag = "departures", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem, description = "Not a young person")))]
pub async fn delete_me(State(state): State<AppState>, user: AuthUser) -> ApiResult<axum::http::StatusCode> {
    if user.role != Role::YoungPerson {
        return Err(ApiError::Forbidden);
    }
    let departed = crate::lifecycle::delete(
        state.store.as_ref(),
        user.id,
        crate::lifecycle::Actor::YoungPerson,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| if matches!(e, ApiError::NotFound) { ApiError::Unauthorized } else { e })?;
    crate::routes::departures::finish_departure(&state, user.id, &departed);
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Everything the service holds about the caller (young people only), as JSON (`docs/api.md`).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "departures", security(("bearer" = [])),
    responses((status = 200, body = crate::lifecycle::export::Export), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Not a young person")))]
pub async fn export_me(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<crate::lifecycle::export::Export>> {
    if user.role != Role::YoungPerson {
        return Err(ApiError::Forbidden);
    }
    Ok(Json(crate::lifecycle::export::export(state.store.as_ref(), user.id, chrono::Utc::now()).await?.0))
}
