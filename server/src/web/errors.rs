//! What a page answers when it cannot show what was asked: the sign-in page for a missing or
//! expired session, and the 403, 404 and 500 pages, in the design system's style.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sync_core::model::Role;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

use super::page::{Page, Section};
use super::session::{self, WebUser};

#[derive(Debug)]
pub enum WebError {
    /// No valid session: sign in, then come back to `next`.
    SignIn {
        next: String,
    },
    /// Signed in, but not allowed here (a supervisor's page, a young person's session).
    Forbidden,
    /// A form from another site, or without the session's token.
    CrossSite,
    /// Unknown, or not the caller's: the same page for both, exactly as the API answers.
    NotFound,
    /// A body that is not a form.
    BadForm,
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::from(ApiError::from(e))
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound => WebError::NotFound,
            ApiError::Forbidden => WebError::Forbidden,
            ApiError::Unauthorized => WebError::SignIn { next: "/portefeuille".into() },
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    page: Page,
    heading: &'static str,
    message: &'static str,
}

impl WebError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            WebError::SignIn { .. } => (StatusCode::SEE_OTHER, "", ""),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Accès refusé",
                "Vous n'avez pas accès à cette page. Si vous pensez que c'est une erreur, contactez votre superviseur.",
            ),
            WebError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Accès refusé",
                "Ce formulaire n'a pas été envoyé depuis une page de votre espace, ou votre session a changé. Rechargez la page et recommencez.",
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page introuvable",
                "La page que vous cherchez n'existe pas, ou vous n'y avez pas accès. Vérifiez l'adresse, ou revenez à votre portefeuille.",
            ),
            WebError::BadForm => (
                StatusCode::BAD_REQUEST,
                "Formulaire illisible",
                "Le formulaire envoyé n'a pas pu être lu. Rechargez la page et recommencez.",
            ),
            WebError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur inattendue",
                "Une erreur est survenue de notre côté. Réessayez dans quelques instants ; si elle persiste, signalez-la à votre support.",
            ),
        }
    }
}

/// Renders a template into an HTML response, or the 500 page when the template fails.
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

/// What an error page says; kept on the response so that [`with_signed_in_layout`] can draw it
/// again inside the signed-in layout (navigation, name, sign-out) when the browser has a session.
#[derive(Clone, Copy, Debug)]
pub struct ErrorPageInfo {
    status: StatusCode,
    heading: &'static str,
    message: &'static str,
}

fn error_page(info: ErrorPageInfo, user: Option<&WebUser>) -> Response {
    let page = match user {
        Some(user) => Page::new(user, info.heading, Section::None),
        None => Page::public(info.heading),
    };
    let mut response = match (ErrorPage { page, heading: info.heading, message: info.message }).render() {
        Ok(body) => (info.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(_) => (info.status, info.heading).into_response(),
    };
    response.extensions_mut().insert(info);
    response
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SignIn { next } = &self {
            return Redirect::to(&super::views::sign_in::sign_in_url(next)).into_response();
        }
        if let WebError::Internal(message) = &self {
            tracing::error!(error = %message, "web app: internal error");
        }
        let (status, heading, message) = self.parts();
        error_page(ErrorPageInfo { status, heading, message }, None)
    }
}

/// Middleware of the web app: an error page answered to a signed-in adviser is drawn in their
/// layout (an extractor that failed, such as a path id, has no session to draw it with).
pub async fn with_signed_in_layout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let head = parts.clone();
    let response = next.run(Request::from_parts(parts, body)).await;
    in_signed_in_layout(&state, &head, response).await
}

/// The error page of `response` drawn again in the signed-in layout, when the request has a session.
pub async fn in_signed_in_layout(state: &AppState, head: &Parts, response: Response) -> Response {
    let Some(info) = response.extensions().get::<ErrorPageInfo>().copied() else {
        return response;
    };
    match session::current(state, head).await {
        Ok(Some(user)) if matches!(user.user.role, Role::Adviser | Role::Supervisor) => error_page(info, Some(&user)),
        _ => response,
    }
}
