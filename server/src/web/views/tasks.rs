//! A job-search task of a young person: the adviser reads it and comments it (the young person
//! owns their tasks and changes them from the phone).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sync_core::model::Task;
use sync_core::schema::Collection;
use uuid::Uuid;

use crate::routes::plans::edit;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback::{self, FieldErrors, field};
use super::super::form::{Fields, Posted, WebPath};
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::actions::CommentLine;
use super::young_person::{Feedback, open, read_entity, stream_of};

#[derive(Template)]
#[template(path = "web/task.html")]
struct TaskPage {
    page: Page,
    young_person_id: Uuid,
    task_id: Uuid,
    title: String,
    kind: &'static str,
    status: &'static str,
    company: String,
    offer_url: String,
    due: String,
    done_at: String,
    notes: String,
    comments: Vec<CommentLine>,
    comment_text: String,
    errors: FieldErrors,
    success: Option<&'static str>,
}

impl TaskPage {
    fn comment_action(&self) -> String {
        format!("/beneficiaires/{}/demarches/{}/commentaires", self.young_person_id, self.task_id)
    }
}

async fn render(
    state: &AppState,
    user: &WebUser,
    young_person_id: Uuid,
    task_id: Uuid,
    typed: Option<&Fields>,
    errors: FieldErrors,
    success: Option<&'static str>,
) -> Result<Response, WebError> {
    let opened = open(state, user, young_person_id).await?;
    let t = &read_entity(state, &opened, Collection::Tasks, task_id, Task::from_node).await?;
    let tz = timezone(&user.user.timezone);
    let comments = t.comments.iter().map(|c| CommentLine::new(c, user, &opened.name, tz)).collect();
    let page = TaskPage {
        page: Page::new(user, t.title.clone(), Section::Portfolio)
            .in_file(young_person_id, &opened.name)
            .live(stream_of(young_person_id)),
        young_person_id,
        task_id,
        title: t.title.clone(),
        kind: format::task_kind(t.kind),
        status: format::task_status(t.status),
        company: t.company.clone().unwrap_or_default(),
        offer_url: t.offer_url.clone().unwrap_or_default(),
        due: t.due_date.map(format::date).unwrap_or_else(|| "Aucune".into()),
        done_at: t.done_at.map(|at| format::date_time(at, tz)).unwrap_or_default(),
        notes: t.notes.clone().unwrap_or_default(),
        comments,
        comment_text: typed.map(|f| f.get("text").to_owned()).unwrap_or_default(),
        errors,
        success,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &page))
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, task_id)): WebPath<(Uuid, Uuid)>,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let success = feedback::success(feedback.ok.as_deref());
    render(&state, &user, id, task_id, None, FieldErrors::default(), success).await
}

pub async fn comment(
    State(state): State<AppState>,
    WebPath((id, task_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let text = fields.get("text").trim().to_owned();
    let result = edit(&state, &user.user, id, Collection::Tasks, |doc, a, now| {
        doc.add_comment(a, now, Collection::Tasks, task_id, None, text)
    })
    .await;
    let errors = match result {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/beneficiaires/{id}/demarches/{task_id}?ok=commentaire-ajoute")).into_response()
            );
        }
        Err(e) => {
            FieldErrors::from_api(&e, &[field("text", "text", "Commentaire")]).ok_or_else(|| WebError::from(e))?
        }
    };
    render(&state, &user, id, task_id, Some(&fields), errors, None).await
}
