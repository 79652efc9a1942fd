//! `/`: the sign-in page, the sign-in itself and the sign-out.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::model::Role;

use crate::auth::ClientAddr;
use crate::error::ApiError;
use crate::routes::auth::check_credentials;
use crate::state::AppState;

use super::super::cookies;
use super::super::errors::{WebError, html};
use super::super::form::{Posted, PublicForm};
use super::super::page::Page;
use super::super::session;

#[derive(Template)]
#[template(path = "web/sign_in.html")]
struct SignInPage {
    page: Page,
    next: String,
    email: String,
    alert: Option<&'static str>,
    expired: bool,
}

const WRONG_CREDENTIALS: &str = "Adresse électronique ou mot de passe incorrect.";
const NOT_FOR_YOU: &str = "Cet espace est réservé aux conseillers et aux superviseurs des Missions Locales. \
     Les jeunes suivent leur plan d'action dans l'application mobile Pass emploi.";
const TOO_MANY: &str = "Trop de tentatives de connexion : patientez quelques minutes avant de réessayer.";
const BUSY: &str = "Le service est momentanément surchargé : réessayez dans quelques secondes.";

/// Where to go after signing in: a path of this app only (never another site).
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 1024;
    if local && next != "/" { next } else { "/portefeuille" }
}

/// The sign-in page's URL, coming back to `next` afterwards.
pub fn sign_in_url(next: &str) -> String {
    let next = safe_next(next);
    if next == "/portefeuille" {
        "/".to_owned()
    } else {
        format!("/?suivant={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    suivant: Option<String>,
}

fn page(status: StatusCode, next: &str, email: &str, alert: Option<&'static str>, expired: bool) -> Response {
    let page = SignInPage {
        page: Page::public("Connexion"),
        next: safe_next(next).to_owned(),
        email: email.to_owned(),
        alert,
        expired,
    };
    html(status, &page)
}

/// `GET /`: the sign-in page, or the portfolio for a signed-in adviser.
pub async fn show(State(state): State<AppState>, Query(query): Query<NextQuery>, Head(parts): Head) -> Response {
    let next = query.suivant.unwrap_or_default();
    match session::current(&state, &parts).await {
        Ok(Some(user)) if matches!(user.user.role, Role::Adviser | Role::Supervisor) => {
            Redirect::to(safe_next(&next)).into_response()
        }
        Ok(_) => page(StatusCode::OK, &next, "", None, !next.is_empty()),
        Err(e) => e.into_response(),
    }
}

/// The request's head, as an extractor that never fails.
pub struct Head(Parts);

impl FromRequestParts<AppState> for Head {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Head(parts.clone()))
    }
}

/// `POST /connexion`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    PublicForm(fields): PublicForm,
) -> Response {
    let email = fields.get("email").trim().to_owned();
    let next = fields.get("suivant").to_owned();
    let user = match check_credentials(&state, client, &email, fields.get("password").to_owned()).await {
        Ok(user) => user,
        Err(ApiError::InvalidCredentials) => {
            return page(StatusCode::UNAUTHORIZED, &next, &email, Some(WRONG_CREDENTIALS), false);
        }
        Err(ApiError::TooManyAttempts { .. }) => {
            return page(StatusCode::TOO_MANY_REQUESTS, &next, &email, Some(TOO_MANY), false);
        }
        Err(ApiError::Busy { .. }) => return page(StatusCode::SERVICE_UNAVAILABLE, &next, &email, Some(BUSY), false),
        Err(e) => return WebError::from(e).into_response(),
    };
    if !matches!(user.role, Role::Adviser | Role::Supervisor) {
        return page(StatusCode::FORBIDDEN, &next, &email, Some(NOT_FOR_YOU), false);
    }
    let token = match session::open(&state, user.id).await {
        Ok(token) => token,
        Err(e) => return WebError::from(e).into_response(),
    };
    let secure =
        cookies::over_https(&headers, state.config.web.secure_cookies, state.config.auth_limits.trust_forwarded_for);
    let cookie = cookies::session(&token, state.config.web.session_hours * 3600, secure);
    ([(header::SET_COOKIE, cookie)], Redirect::to(safe_next(&next))).into_response()
}

/// `POST /deconnexion`: the session is revoked and its cookie removed.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Result<Response, WebError> {
    posted.user.revoke(&state).await?;
    let secure =
        cookies::over_https(&headers, state.config.web.secure_cookies, state.config.auth_limits.trust_forwarded_for);
    Ok(([(header::SET_COOKIE, cookies::cleared(secure))], Redirect::to("/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/beneficiaires/1"), "/beneficiaires/1");
        for elsewhere in ["https://evil.example/", "//evil.example", "/\\evil.example", "", "/"] {
            assert_eq!(safe_next(elsewhere), "/portefeuille", "{elsewhere}");
        }
        assert_eq!(sign_in_url("/agenda?semaine=2026-11-30"), "/?suivant=%2Fagenda%3Fsemaine%3D2026-11-30");
        assert_eq!(sign_in_url("/portefeuille"), "/");
    }
}
