//! Browser sessions of advisers and supervisors.
//!
//! A session is a token family of its own in `access_tokens`, stored as the SHA-256 of
//! `web:<cookie token>`: the cookie is never a bearer token of the API (nor the other way round),
//! and every revocation the API does applies to it — sign-out and `revoke_family`, and the
//! per-request access checks that follow a transfer. It lasts `--web-session-hours`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use sync_core::model::Role;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::auth::tokens::{hash_token, new_token};
use crate::state::AppState;
use crate::store::StoreResult;

use super::cookies::{self, SESSION_COOKIE};
use super::csrf;
use super::errors::WebError;

/// What the database keeps of a browser session's token.
fn stored_hash(token: &str) -> String {
    hash_token(&format!("web:{token}"))
}

/// Opens a session for `user_id`; answers the cookie's token.
pub async fn open(state: &AppState, user_id: Uuid) -> StoreResult<String> {
    let token = new_token();
    let expires = Utc::now() + Duration::hours(state.config.web.session_hours);
    state.store.insert_access_token(&stored_hash(&token), user_id, Uuid::new_v4(), expires).await?;
    Ok(token)
}

/// The signed-in adviser or supervisor of a page.
#[derive(Clone, Debug)]
pub struct WebUser {
    pub user: AuthUser,
    pub first_name: String,
    pub last_name: String,
    /// The token that the page's forms must send back.
    pub csrf: String,
    /// The cookie's token (to check a form's token against).
    pub(super) session_token: String,
}

impl WebUser {
    pub fn is_supervisor(&self) -> bool {
        self.user.role == Role::Supervisor
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether the session is still valid (not revoked, not expired).
    pub async fn still_valid(&self, state: &AppState) -> bool {
        matches!(
            state.store.access_token_owner(&stored_hash(&self.session_token), Utc::now()).await,
            Ok(Some(owner)) if owner.family_id == self.user.family_id
        )
    }

    /// Ends the session (sign-out).
    pub async fn revoke(&self, state: &AppState) -> StoreResult<()> {
        state.store.revoke_family(self.user.family_id, Utc::now()).await
    }
}

/// The session of a request, if it has a valid one (any role).
pub async fn current(state: &AppState, parts: &Parts) -> Result<Option<WebUser>, WebError> {
    let Some(token) = cookies::read(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(owner) = state.store.access_token_owner(&stored_hash(token), Utc::now()).await? else {
        return Ok(None);
    };
    let Some(account) = state.store.user_by_id(owner.user_id).await? else {
        return Ok(None);
    };
    if account.archived {
        return Ok(None);
    }
    Ok(Some(WebUser {
        user: AuthUser {
            id: owner.user_id,
            role: owner.role,
            structure_id: owner.structure_id,
            family_id: owner.family_id,
            timezone: owner.timezone,
        },
        first_name: account.first_name,
        last_name: account.last_name,
        csrf: csrf::token_for(token),
        session_token: token.to_owned(),
    }))
}

/// Where to come back to after signing in: the page asked for; for a form posted after the session
/// ended, the page the form was on (its `Referer`, when it is one of ours), since the post's own
/// URL cannot be opened.
pub fn requested_path(parts: &Parts) -> String {
    if parts.method == axum::http::Method::GET {
        return parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".to_owned());
    }
    let host = parts.headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok());
    parts
        .headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| {
            let rest = referer.strip_prefix("https://").or_else(|| referer.strip_prefix("http://"))?;
            let (referer_host, path) = rest.split_once('/')?;
            (Some(referer_host) == host).then(|| format!("/{path}"))
        })
        .unwrap_or_else(|| "/portefeuille".to_owned())
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match current(state, parts).await? {
            Some(user) if matches!(user.user.role, Role::Adviser | Role::Supervisor) => Ok(user),
            Some(_) => Err(WebError::Forbidden),
            None => Err(WebError::SignIn { next: requested_path(parts) }),
        }
    }
}
