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
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, FieldError, Problem};
use crate::notifications::{Kind, centre, preferences};
use crate::state::AppState;
use crate::store::NotificationRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/{id}/read", post(mark_read))
        .route("/api/v1/me/notification-preferences", get(read_preferences).put(write_preferences))
}

/// The young person's whole preferences, as answered: every kind of [`Kind::YOUNG_PERSON`] with
/// whether it reaches their phone (documentation only; the JSON is a `BTreeMap<String, bool>`).
pub struct NotificationPreferences;

/// A change of preferences: any subset of the kinds of [`NotificationPreferences`], no other key.
pub struct NotificationPreferencesChange;

fn preferences_schema(every_kind_required: bool, description: &str) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for kind in Kind::YOUNG_PERSON {
        object = object.property(kind.as_str(), ObjectBuilder::new().schema_type(Type::Boolean));
        if every_kind_required {
            object = object.required(kind.as_str());
        }
    }
    RefOr::T(Schema::Object(object.build()))
}

impl PartialSchema for NotificationPreferences {
    fn schema() -> RefOr<Schema> {
        preferences_schema(true, "Every kind a young person can receive on their phone, and whether it is on.")
    }
}

impl ToSchema for NotificationPreferences {}

impl PartialSchema for NotificationPreferencesChange {
    fn schema() -> RefOr<Schema> {
        preferences_schema(false, "The kinds to turn on (`true`) or off (`false`); the others keep their value.")
    }
}

impl ToSchema for NotificationPreferencesChange {}

/// One entry of the centre.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `action_created`, `appointment_reminder_1d`, `action_completed`… (docs/notifications.md).
    #[schema(schema_with = notification_kind_schema)]
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Ids only (`young_person_id`, `action_id`, `appointment_id`…).
    #[schema(value_type = Object)]
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Every kind of notification, young people's and staff's.
fn notification_kind_schema() -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(Kind::ALL.iter().map(|k| k.as_str()))).build()
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
    responses((status = 200, body = NotificationPreferences), (status = 401, body = Problem),
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
    request_body = NotificationPreferencesChange,
    responses((status = 200, body = NotificationPreferences), (status = 401, body = Problem),
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
