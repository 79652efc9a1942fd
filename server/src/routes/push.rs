//! Web Push for the advisers' browsers: the server's VAPID public key and the browsers'
//! subscriptions (see crate::notifications::webpush and docs/notifications.md).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult, FieldError, Problem};
use crate::notifications::webpush::{BrowserSubscription, SubscriptionRefused};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/push/vapid-public-key", get(vapid_public_key))
        .route("/api/v1/push/subscriptions", post(subscribe).delete(unsubscribe))
}

/// Advisers and supervisors follow young people from the web app: they are the ones notified
/// in their browsers.
fn staff_only(user: &AuthUser) -> ApiResult<()> {
    if matches!(user.role, Role::Adviser | Role::Supervisor) { Ok(()) } else { Err(ApiError::Forbidden) }
}

#[derive(Serialize, ToSchema)]
pub struct VapidPublicKey {
    /// The uncompressed P-256 point (65 bytes), base64url without padding: pass it, decoded, as
    /// `applicationServerKey` to `pushManager.subscribe`.
    pub public_key: String,
}

/// The server's VAPID public key, for `pushManager.subscribe({applicationServerKey})`.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "push", security(("bearer" = [])),
    responses((status = 200, body = VapidPublicKey), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Not an adviser or supervisor")))]
pub async fn vapid_public_key(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<VapidPublicKey>> {
    staff_only(&user)?;
    let keys = state.web_push.keys(state.store.as_ref()).await.map_err(ApiError::internal)?;
    Ok(Json(VapidPublicKey { public_key: keys.public_key().to_owned() }))
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

fn refused(r: SubscriptionRefused) -> ApiError {
    ApiError::Validation(vec![FieldError {
        field: r.field().to_owned(),
        code: "invalid".into(),
        message: r.to_string(),
    }])
}

/// Registers the caller's browser (its `PushSubscription.toJSON()`), or refreshes it: post it on
/// every visit so that it is not pruned as stale. The endpoint must be an allowed push service.
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    request_body = BrowserSubscription,
    responses((status = 201, body = SubscriptionView, description = "New"),
        (status = 200, body = SubscriptionView, description = "Already known: refreshed"),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "Not an adviser or supervisor"),
        (status = 422, body = Problem, description = "Endpoint not an allowed push service, or bad keys")))]
pub async fn subscribe(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<BrowserSubscription>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    staff_only(&user)?;
    let created = state.web_push.subscribe(state.store.as_ref(), user.id, &body, Utc::now()).await?.map_err(refused)?;
    let row = state
        .store
        .push_subscriptions_of(user.id)
        .await?
        .into_iter()
        .find(|s| s.endpoint == body.endpoint)
        .ok_or_else(|| ApiError::internal("a subscription just stored is missing"))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(SubscriptionView {
            id: row.id,
            endpoint: row.endpoint,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
        }),
    ))
}

/// The endpoint to forget; the whole `PushSubscription` JSON may be sent as well.
#[derive(Deserialize, ToSchema)]
pub struct Unsubscribe {
    pub endpoint: String,
}

/// Forgets one of the caller's browsers (on logout, or when the page unsubscribes). 204 whether
/// or not it was known.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    request_body = Unsubscribe,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<Unsubscribe>,
) -> ApiResult<StatusCode> {
    state.store.delete_push_subscription(user.id, &body.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}
