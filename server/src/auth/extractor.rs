//! The authenticated caller, from `Authorization: Bearer <token>`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use sync_core::model::Role;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

use super::tokens::hash_token;

#[derive(Clone, Debug, PartialEq)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    pub structure_id: Option<Uuid>,
    /// The token family (one login session): logout revokes it.
    pub family_id: Uuid,
    pub timezone: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        user_from_token(state, token).await
    }
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The user an access token belongs to (401 when unknown, expired or revoked).
pub async fn user_from_token(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    token_session(state, token).await.map(|(user, _)| user)
}

/// The user an access token belongs to and when the token expires (a sync session ends then).
pub async fn token_session(state: &AppState, token: &str) -> Result<(AuthUser, DateTime<Utc>), ApiError> {
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::Unauthorized);
    }
    let owner = state.store.access_token_owner(&hash_token(token), Utc::now()).await?.ok_or(ApiError::Unauthorized)?;
    let user = AuthUser {
        id: owner.user_id,
        role: owner.role,
        structure_id: owner.structure_id,
        family_id: owner.family_id,
        timezone: owner.timezone,
    };
    Ok((user, owner.expires_at))
}

/// The client's address, for throttling: the TCP peer (served with
/// `into_make_service_with_connect_info`), or with `--trust-forwarded-for` the last address of the
/// last `X-Forwarded-For` header (the one the reverse proxy appended). `None` when neither is known
/// (in-process tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if state.config.auth_limits.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if forwarded.is_some() {
                return Ok(ClientAddr(forwarded));
            }
        }
        Ok(ClientAddr(peer))
    }
}
