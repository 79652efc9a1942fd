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
    Router::new().route("/api/v1/me", get(me))
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
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Me>> {
    let account = state.store.user_by_id(user.id).await?.ok_or(ApiError::Unauthorized)?;
    let plan_document_id =
        if account.role == Role::YoungPerson { state.store.document_of(account.id).await? } else { None };
    Ok(Json(Me {
        id: account.id,
        role: account.role.as_str().into(),
        email: account.email,
        first_name: account.first_name,
        last_name: account.last_name,
        timezone: account.timezone,
        plan_document_id,
    }))
}
