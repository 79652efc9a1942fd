//! Login, token refresh, logout and account activation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::auth::throttle::{Cost, email_key};
use crate::auth::tokens::{hash_token, new_token, normalize_activation_code};
use crate::auth::{AuthUser, ClientAddr};
use crate::error::{ApiError, ApiJson, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::RefreshUse;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/activate", post(activate))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserRef {
    pub id: Uuid,
    /// `young_person`, `adviser`, `supervisor` or `admin`.
    #[schema(value_type = sync_core::model::Role)]
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserRef,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    pub activation_code: String,
    /// Between `MIN_PASSWORD_CHARS` and `MAX_PASSWORD_CHARS` characters (8 and 256).
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

async fn issue_pair(state: &AppState, user: UserRef, family_id: Uuid) -> ApiResult<TokenPair> {
    let now = Utc::now();
    let access = new_token();
    let refresh = new_token();
    let ttl = state.config.access_ttl_secs;
    state.store.insert_access_token(&hash_token(&access), user.id, family_id, now + Duration::seconds(ttl)).await?;
    state
        .store
        .insert_refresh_token(
            &hash_token(&refresh),
            user.id,
            family_id,
            now + Duration::days(state.config.refresh_ttl_days),
        )
        .await?;
    Ok(TokenPair { access_token: access, token_type: "Bearer".into(), expires_in: ttl, refresh_token: refresh, user })
}

/// Logs in with an email and a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem, description = "Unknown email or wrong password: same body"),
        (status = 429, body = Problem, description = "Too many attempts on this email or from this address (the same for an unknown email); see `Retry-After`"),
        (status = 503, body = Problem, description = "Every password check is busy; see `Retry-After`")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<TokenPair>> {
    let user = check_credentials(&state, client, &body.email, body.password).await?;
    Ok(Json(issue_pair(&state, UserRef { id: user.id, role: user.role.as_str().into() }, Uuid::new_v4()).await?))
}

/// The account an email and a password open, for the API's login and the web app's sign-in:
/// throttled by the email as sent and by the client's address, and always one argon2
/// verification, so that an unknown email costs and answers what a wrong password does.
pub async fn check_credentials(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    email: &str,
    password: String,
) -> ApiResult<crate::store::User> {
    if email.len() > 320 || password.len() > 4 * MAX_PASSWORD_CHARS {
        return Err(ApiError::InvalidCredentials);
    }
    let attempt = state.throttle.begin(&email_key(email), client, Cost::Costly)?;
    let user = state.store.user_by_email(email).await?.filter(|u| !u.archived);
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = state.passwords.verify(password, hash).await?;
    match user {
        Some(u) if ok => {
            attempt.succeeded();
            // The retention pass archives young people who stop signing in.
            state.store.record_sign_in(u.id, Utc::now()).await?;
            Ok(u)
        }
        _ => {
            attempt.failed();
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Exchanges a refresh token for a new pair. A refresh token presented twice revokes its family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem),
        (status = 429, body = Problem, description = "Too many failed refreshes with this token or from this address; see `Retry-After`")))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    let token_hash = hash_token(&body.refresh_token);
    // Only failed refreshes count (against the token and the address): phones refresh often.
    let attempt = state.throttle.begin(&format!("refresh:{token_hash}"), client, Cost::Cheap)?;
    match state.store.use_refresh_token(&token_hash, Utc::now()).await? {
        RefreshUse::Rotated { user_id, family_id } => {
            let Some(user) = state.store.user_by_id(user_id).await? else {
                attempt.failed();
                return Err(ApiError::InvalidRefreshToken);
            };
            attempt.succeeded();
            // A phone that refreshes its tokens is in use, even if its password was typed long ago.
            state.store.record_sign_in(user.id, Utc::now()).await?;
            Ok(Json(issue_pair(&state, UserRef { id: user.id, role: user.role.as_str().into() }, family_id).await?))
        }
        RefreshUse::Reused { family_id } => {
            tracing::warn!(%family_id, "refresh token reused: family revoked");
            attempt.failed();
            Err(ApiError::InvalidRefreshToken)
        }
        RefreshUse::Invalid => {
            attempt.failed();
            Err(ApiError::InvalidRefreshToken)
        }
    }
}

/// Revokes the caller's session (its access and refresh tokens).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    state.store.revoke_family(user.family_id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Activated {
    pub id: Uuid,
    /// Always `young_person`.
    #[schema(value_type = sync_core::model::Role)]
    pub role: String,
}

pub fn check_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ApiError::Validation(vec![FieldError {
            field: "password".into(),
            code: if n < MIN_PASSWORD_CHARS { "too_short".into() } else { "too_long".into() },
            message: format!(
                "le mot de passe doit faire entre {MIN_PASSWORD_CHARS} et {MAX_PASSWORD_CHARS} caractères"
            ),
        }]));
    }
    Ok(())
}

/// Sets a young person's first password with their one-time activation code.
#[utoipa::path(post, path = "/api/v1/auth/activate", tag = "auth", request_body = ActivateBody,
    responses((status = 200, body = Activated), (status = 422, body = Problem),
        (status = 429, body = Problem, description = "Too many attempts from this address or with this code; see `Retry-After`"),
        (status = 503, body = Problem, description = "Every password hashing is busy; see `Retry-After`")))]
pub async fn activate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<ActivateBody>,
) -> ApiResult<Json<Activated>> {
    check_password(&body.password)?;
    let code = normalize_activation_code(&body.activation_code);
    if code.is_empty() || code.len() > 64 {
        return Err(ApiError::InvalidActivationCode);
    }
    let code_hash = hash_token(&code);
    let attempt = state.throttle.begin(&format!("activation:{code_hash}"), client, Cost::Costly)?;
    // The code first: a wrong, spent or expired code costs no argon2 work.
    if !state.store.activation_code_valid(&code_hash, Utc::now()).await? {
        attempt.failed();
        return Err(ApiError::InvalidActivationCode);
    }
    let hash = state.passwords.hash(body.password).await?;
    // Checked again as it is spent: two activations with one code, only one wins.
    let Some(id) = state.store.activate(&code_hash, &hash, Utc::now()).await? else {
        attempt.failed();
        return Err(ApiError::InvalidActivationCode);
    };
    attempt.succeeded();
    state.store.record_sign_in(id, Utc::now()).await?;
    Ok(Json(Activated { id, role: "young_person".into() }))
}
