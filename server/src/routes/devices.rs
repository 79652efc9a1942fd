//! The young people's devices: the app registers its FCM registration token at each start (and
//! whenever FCM renews it), and removes it at logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, FieldError, Problem};
use crate::state::AppState;

/// The longest accepted token (FCM tokens are about 160 characters today).
pub const MAX_TOKEN_LEN: usize = 4096;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/devices", post(register)).route("/api/v1/devices/{token}", delete(unregister))
}

/// A device to register.
#[derive(Deserialize, ToSchema)]
pub struct NewDevice {
    /// `android` or `ios`.
    pub platform: String,
    /// The FCM registration token the app got from the Firebase SDK.
    pub token: String,
}

/// A registered device.
#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    pub platform: String,
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

fn invalid(field: &str, code: &str, message: &str) -> FieldError {
    FieldError { field: field.to_owned(), code: code.to_owned(), message: message.to_owned() }
}

/// The problems of a device registration, in French.
pub fn check(device: &NewDevice) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !matches!(device.platform.as_str(), "android" | "ios") {
        errors.push(invalid("platform", "invalid", "plateforme inconnue : « android » ou « ios » attendu"));
    }
    if device.token.is_empty() {
        errors.push(invalid("token", "missing", "le jeton de l'appareil est vide"));
    } else if device.token.len() > MAX_TOKEN_LEN {
        errors.push(invalid("token", "too_long", "le jeton de l'appareil est trop long (4096 caractères au plus)"));
    } else if !device.token.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        errors.push(invalid("token", "invalid", "le jeton de l'appareil contient des caractères non admis"));
    }
    errors
}

/// Registers the caller's device, or refreshes it (201 when new, 200 when already known). A token
/// registered by another account moves to the caller (the last account signed in on the phone).
/// Each account keeps its 10 most recently registered tokens (`--device-tokens-per-user`): a new
/// one replaces the least recently seen, so re-registering always works.
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    request_body = NewDevice,
    responses((status = 201, body = DeviceView, description = "Registered"),
        (status = 200, body = DeviceView, description = "Already known: refreshed"),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "Not a young person"),
        (status = 422, body = Problem, description = "Unknown platform, empty or oversized token")))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(device): ApiJson<NewDevice>,
) -> ApiResult<(StatusCode, Json<DeviceView>)> {
    if user.role != Role::YoungPerson {
        return Err(ApiError::Forbidden);
    }
    let errors = check(&device);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = Utc::now();
    let keep = state.config.delivery.device_tokens_per_user;
    let created = state.store.upsert_device_token_keeping(user.id, &device.platform, &device.token, now, keep).await?;
    let stored = state
        .store
        .device_tokens_of(user.id)
        .await?
        .into_iter()
        .find(|d| d.token == device.token)
        .ok_or_else(|| ApiError::internal("device token vanished after its upsert"))?;
    let view = DeviceView {
        platform: stored.platform,
        token: stored.token,
        created_at: stored.created_at,
        last_seen_at: stored.last_seen_at,
    };
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

/// Removes one of the caller's devices (at logout). 404 when the token is unknown or someone else's.
#[utoipa::path(delete, path = "/api/v1/devices/{token}", tag = "devices", security(("bearer" = [])),
    params(("token" = String, Path, description = "The FCM registration token")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn unregister(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::NotFound);
    }
    if state.store.delete_device_token(&token, Some(user.id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
