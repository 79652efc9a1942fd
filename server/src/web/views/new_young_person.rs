//! `/beneficiaires/nouveau`: « Créer un compte bénéficiaire ». The account is created in the
//! adviser's portfolio with its plan; the one-time activation code is shown once, with what to
//! tell the young person.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::error::ApiError;
use crate::routes::young_people::{ACTIVATION_TTL_DAYS, NewYoungPerson, create_young_person};
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback::{FieldErrors, FormField, field};
use super::super::form::Posted;
use super::super::page::{Page, Section};
use super::super::session::WebUser;

const FIELDS: [FormField; 3] = [
    field("first_name", "first_name", "Prénom"),
    field("last_name", "last_name", "Nom"),
    field("email", "email", "Adresse électronique"),
];

#[derive(Template)]
#[template(path = "web/young_person_new.html")]
struct NewPage {
    page: Page,
    first_name: String,
    last_name: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "web/young_person_created.html")]
struct CreatedPage {
    page: Page,
    id: String,
    name: String,
    email: String,
    code: String,
    days: i64,
}

pub async fn form(user: WebUser) -> Result<Response, WebError> {
    let page = NewPage {
        page: Page::new(&user, "Créer un compte bénéficiaire", Section::Portfolio).in_portfolio(),
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn create(State(state): State<AppState>, Posted { user, fields }: Posted) -> Result<Response, WebError> {
    let body = NewYoungPerson {
        first_name: fields.get("first_name").to_owned(),
        last_name: fields.get("last_name").to_owned(),
        email: fields.get("email").to_owned(),
        timezone: Some(user.user.timezone.clone()),
    };
    let errors = match create_young_person(&state, &user.user, body).await {
        Ok(created) => {
            let page = CreatedPage {
                page: Page::new(&user, "Compte bénéficiaire créé", Section::Portfolio),
                id: created.id.to_string(),
                name: format!("{} {}", fields.get("first_name").trim(), fields.get("last_name").trim()),
                email: fields.get("email").trim().to_lowercase(),
                code: created.activation_code,
                days: ACTIVATION_TTL_DAYS,
            };
            return Ok(html(StatusCode::CREATED, &page));
        }
        Err(ApiError::Conflict(message)) => {
            let mut errors = FieldErrors::default();
            errors.add("email", message);
            errors
        }
        Err(e) => FieldErrors::from_api(&e, &FIELDS).ok_or_else(|| WebError::from(e))?,
    };
    let page = NewPage {
        page: Page::new(&user, "Créer un compte bénéficiaire", Section::Portfolio).in_portfolio(),
        first_name: fields.get("first_name").to_owned(),
        last_name: fields.get("last_name").to_owned(),
        email: fields.get("email").to_owned(),
        errors,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
