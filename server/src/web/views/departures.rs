//! A young person leaves (issue 14), from their file: `/beneficiaires/{id}/archiver` (the form
//! and its post), `/beneficiaires/{id}/supprimer` (an account never activated: a confirmation,
//! then the post) and `/beneficiaires/{id}/export` (everything held about them, as a JSON file).
//! The work is `crate::lifecycle`'s, as for the REST API; only the young person's advisers may ask
//! (anyone else gets the 404 page).

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::lifecycle::{self, Actor, ArchiveReason, ArchiveRequest};
use crate::routes::departures::finish_departure;
use crate::routes::young_people::today_for;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback::{FieldErrors, FormField, field};
use super::super::form::{Fields, Posted, WebPath};
use super::super::format::{self, Choice};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::young_person::{Opened, open};

/// The lifecycle's field names and the form's labels.
const FIELDS: [FormField; 3] = [
    field("reason", "reason", "Motif"),
    field("ended_on", "ended_on", "Date de fin d'accompagnement"),
    field("comment", "comment", "Commentaire"),
];

/// The young person, if the adviser follows them (404 otherwise, as the REST API answers).
async fn followed(state: &AppState, user: &WebUser, id: Uuid) -> Result<Opened, WebError> {
    let opened = open(state, user, id).await?;
    if !opened.follows {
        return Err(WebError::NotFound);
    }
    Ok(opened)
}

#[derive(Template)]
#[template(path = "web/young_person_archive.html")]
struct ArchivePage {
    page: Page,
    id: Uuid,
    name: String,
    reasons: Vec<Choice>,
    no_reason: bool,
    ended_on: String,
    comment: String,
    max_comment: usize,
    today: String,
    kept_for: String,
    errors: FieldErrors,
}

fn archive_page(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    opened: &Opened,
    typed: Option<&Fields>,
    errors: FieldErrors,
) -> Response {
    let today = today_for(&user.user.timezone, Utc::now());
    let reason = typed.map(|f| f.get("reason")).filter(|r| !r.is_empty());
    let page = ArchivePage {
        page: Page::new(user, "Archiver le bénéficiaire", Section::Portfolio).in_file(id, &opened.name),
        id,
        name: opened.name.clone(),
        reasons: format::choices(&ArchiveReason::CHOOSABLE, ArchiveReason::as_str, ArchiveReason::label, reason),
        no_reason: reason.and_then(ArchiveReason::parse).is_none(),
        ended_on: typed.map(|f| f.get("ended_on").to_owned()).unwrap_or_default(),
        comment: typed.map(|f| f.get("comment").to_owned()).unwrap_or_default(),
        max_comment: lifecycle::MAX_COMMENT_CHARS,
        today: today.format("%Y-%m-%d").to_string(),
        kept_for: format::kept_for(state.config.retention.archive_days.max(1)),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    html(status, &page)
}

pub async fn archive_form(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let opened = followed(&state, &user, id).await?;
    Ok(archive_page(&state, &user, id, &opened, None, FieldErrors::default()))
}

pub async fn archive(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let opened = followed(&state, &user, id).await?;
    let mut errors = FieldErrors::default();
    let reason = ArchiveReason::parse(fields.get("reason")).filter(|r| ArchiveReason::CHOOSABLE.contains(r));
    if reason.is_none() {
        errors.add("reason", "Choisissez le motif de fin d'accompagnement.");
    }
    let ended_on = match fields.optional("ended_on") {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                errors.add("ended_on", "Saisissez une date valide, au format jj/mm/aaaa.");
                None
            }
        },
    };
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return Ok(archive_page(&state, &user, id, &opened, Some(&fields), errors));
    };
    let request = ArchiveRequest { reason, ended_on, comment: fields.optional("comment") };
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    match lifecycle::archive(state.store.as_ref(), id, &request, Actor::Adviser(user.user.id), today, now).await {
        Ok(departed) => {
            finish_departure(&state, id, &departed);
            let to = match departed.archive_id {
                Some(archive) => format!("/portefeuille?ok=beneficiaire-archive&archive={archive}"),
                None => "/portefeuille?ok=beneficiaire-archive".to_owned(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(ApiError::Busy { .. }) => {
            errors.add("", "Le dossier du jeune a changé pendant l'archivage. Vérifiez-le et recommencez.");
            Ok(archive_page(&state, &user, id, &opened, Some(&fields), errors))
        }
        Err(e) => {
            let errors = FieldErrors::from_api(&e, &FIELDS).ok_or_else(|| WebError::from(e))?;
            Ok(archive_page(&state, &user, id, &opened, Some(&fields), errors))
        }
    }
}

#[derive(Template)]
#[template(path = "web/young_person_delete.html")]
struct DeletePage {
    page: Page,
    id: Uuid,
    name: String,
    email: String,
    /// Why it cannot be deleted (an activated account), instead of the button.
    refused: Option<String>,
}

const ACTIVATED: &str = "Ce compte a été activé : seul le jeune peut le supprimer ; vous pouvez l'archiver.";

fn delete_page(user: &WebUser, id: Uuid, opened: &Opened, refused: Option<String>) -> Response {
    let status = if refused.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let page = DeletePage {
        page: Page::new(user, "Supprimer le compte", Section::Portfolio).in_file(id, &opened.name),
        id,
        name: opened.name.clone(),
        email: opened.email.clone(),
        refused,
    };
    html(status, &page)
}

pub async fn delete_form(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let opened = followed(&state, &user, id).await?;
    let refused = opened.activated.then(|| ACTIVATED.to_owned());
    Ok(delete_page(&user, id, &opened, refused))
}

pub async fn delete(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, .. }: Posted,
) -> Result<Response, WebError> {
    let opened = followed(&state, &user, id).await?;
    match lifecycle::delete(state.store.as_ref(), id, Actor::Adviser(user.user.id), Utc::now()).await {
        Ok(departed) => {
            finish_departure(&state, id, &departed);
            Ok(Redirect::to("/portefeuille?ok=compte-supprime").into_response())
        }
        Err(ApiError::Conflict(message)) => Ok(delete_page(&user, id, &opened, Some(message))),
        Err(e) => Err(e.into()),
    }
}

/// A JSON file to download: `Content-Disposition: attachment` with a plain ASCII name.
pub fn json_attachment(value: &impl Serialize, file_name: &str) -> Result<Response, WebError> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| WebError::Internal(format!("export: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

pub async fn export(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    followed(&state, &user, id).await?;
    let now = Utc::now();
    let (export, _) = lifecycle::export::export(state.store.as_ref(), id, now).await?;
    let name = format::export_file_name(
        &export.account.first_name,
        &export.account.last_name,
        today_for(&user.user.timezone, now),
    );
    json_attachment(&export, &name)
}
