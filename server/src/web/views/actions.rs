//! An action of a young person's plan: create it, see it, edit it, change its status, comment it,
//! qualify it once done. Every post runs one typed edit through the API's write path.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::model::{Action, ActionCategory, ActionStatus, Comment, QualificationCode, Role};
use sync_core::schema::Collection;
use uuid::Uuid;

use crate::routes::plans::edit;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback::{self, FieldErrors, FormField, after_post, field};
use super::super::form::{Fields, Posted, WebPath};
use super::super::format::{self, Choice, choices, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::young_person::{Feedback, open, read_entity, stream_of};

const ACTION_FIELDS: [FormField; 6] = [
    field("title", "title", "Titre"),
    field("description", "description", "Description"),
    field("category", "category", "Catégorie"),
    field("due_date", "due_date", "Date d'échéance"),
    field("status", "status", "Statut"),
    field("qualification", "code", "Code de qualification"),
];

const COMMENT_FIELDS: [FormField; 1] = [field("text", "text", "Commentaire")];

/// The values of the action form (what was typed, or the action's).
pub struct ActionFields {
    pub title: String,
    pub description: String,
    pub due_date: String,
    pub categories: Vec<Choice>,
}

impl ActionFields {
    pub fn no_category(&self) -> bool {
        !self.categories.iter().any(|c| c.selected)
    }

    fn typed(fields: &Fields) -> Self {
        ActionFields {
            title: fields.get("title").to_owned(),
            description: fields.get("description").to_owned(),
            due_date: fields.get("due_date").to_owned(),
            categories: category_choices(Some(fields.get("category"))),
        }
    }

    fn of(action: &Action) -> Self {
        ActionFields {
            title: action.title.clone(),
            description: action.description.clone().unwrap_or_default(),
            due_date: action.due_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            categories: category_choices(Some(action.category.as_str())),
        }
    }
}

fn category_choices(current: Option<&str>) -> Vec<Choice> {
    choices(ActionCategory::ALL, ActionCategory::as_str, format::category, current)
}

/// Reads the typed fields into what an edit takes; the errors the form itself finds.
fn parse_fields(fields: &Fields, errors: &mut FieldErrors) -> (Option<ActionCategory>, Option<Option<NaiveDate>>) {
    let category = ActionCategory::parse(fields.get("category"));
    if category.is_none() {
        errors.add("category", "Choisissez une catégorie.");
    }
    let due = match fields.optional("due_date") {
        None => Some(None),
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(Some(d)),
            Err(_) => {
                errors.add("due_date", "Saisissez une date valide, au format jj/mm/aaaa.");
                None
            }
        },
    };
    (category, due)
}

fn plan_errors(e: crate::error::ApiError, fields: &[FormField]) -> Result<FieldErrors, WebError> {
    FieldErrors::from_api(&e, fields).ok_or_else(|| WebError::from(e))
}

// ---- creation ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/action_new.html")]
struct NewActionPage {
    page: Page,
    young_person_id: Uuid,
    name: String,
    new_id: Uuid,
    fields: ActionFields,
    errors: FieldErrors,
}

pub async fn new_form(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let opened = open(&state, &user, id).await?;
    let page = NewActionPage {
        page: Page::new(&user, "Créer une action", Section::Portfolio).in_file(id, &opened.name),
        young_person_id: id,
        name: opened.name,
        new_id: Uuid::new_v4(),
        fields: ActionFields {
            title: String::new(),
            description: String::new(),
            due_date: String::new(),
            categories: category_choices(None),
        },
        errors: FieldErrors::default(),
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn create(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let (category, due) = parse_fields(&fields, &mut errors);
    let new_id = Uuid::parse_str(fields.get("id")).unwrap_or_else(|_| Uuid::new_v4());
    if errors.is_empty() {
        let new = NewAction {
            id: Some(new_id),
            title: fields.get("title").trim().to_owned(),
            category,
            description: fields.optional("description"),
            due_date: due.flatten(),
            status: None,
            reminder: None,
        };
        match edit(&state, &user.user, id, Collection::Actions, |doc, a, now| {
            doc.create_action(a, now, new).map(|o| ((), o))
        })
        .await
        {
            Ok(_) => return Ok(Redirect::to(&format!("/beneficiaires/{id}?ok=action-creee")).into_response()),
            Err(e) => errors = plan_errors(e, &ACTION_FIELDS)?,
        }
    }
    let opened = open(&state, &user, id).await?;
    let page = NewActionPage {
        page: Page::new(&user, "Créer une action", Section::Portfolio).in_file(id, &opened.name),
        young_person_id: id,
        name: opened.name,
        new_id,
        fields: ActionFields::typed(&fields),
        errors,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ---- one action -------------------------------------------------------------------------------

pub struct CommentLine {
    pub author: String,
    pub at: String,
    pub text: String,
}

impl CommentLine {
    /// A comment as the adviser reads it: « Vous », the young person's name, or « Un conseiller ».
    pub fn new(comment: &Comment, reader: &WebUser, young_person_name: &str, tz: chrono_tz::Tz) -> Self {
        let author = if comment.author.id == reader.user.id {
            "Vous".to_owned()
        } else if comment.author.role == Role::YoungPerson {
            young_person_name.to_owned()
        } else {
            "Un conseiller".to_owned()
        };
        CommentLine { author, at: format::date_time(comment.at, tz), text: comment.text.clone() }
    }
}

#[derive(Template)]
#[template(path = "web/action.html")]
struct ActionPage {
    page: Page,
    young_person_id: Uuid,
    name: String,
    action_id: Uuid,
    title: String,
    description: String,
    category: &'static str,
    status: &'static str,
    badge: &'static str,
    due: String,
    created_by_young_person: bool,
    completed_at: String,
    comments: Vec<CommentLine>,
    qualification: Option<String>,
    locked: bool,
    can_qualify: bool,
    fields: ActionFields,
    statuses: Vec<Choice>,
    codes: Vec<Choice>,
    comment_text: String,
    qualification_comment: String,
    errors: FieldErrors,
    success: Option<&'static str>,
}

/// What the page shows when a form was refused: the typed values of that form.
#[derive(Default)]
struct Typed<'a> {
    edit: Option<&'a Fields>,
    comment: Option<&'a Fields>,
    qualification: Option<&'a Fields>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    young_person_id: Uuid,
    action_id: Uuid,
    typed: Typed<'_>,
    errors: FieldErrors,
    success: Option<&'static str>,
) -> Result<Response, WebError> {
    let opened = open(state, user, young_person_id).await?;
    let action = &read_entity(state, &opened, Collection::Actions, action_id, Action::from_node).await?;
    let tz = timezone(&user.user.timezone);
    let comments = action.comments.iter().map(|c| CommentLine::new(c, user, &opened.name, tz)).collect();
    let qualification = action.qualification.as_ref().map(|q| {
        let comment = q.comment.as_deref().map(|c| format!(" — {c}")).unwrap_or_default();
        format!("{} : {} h{comment}", format::qualification(q.code), q.hours)
    });
    let code_choices = {
        let current = typed.qualification.map(|f| f.get("code").to_owned());
        QualificationCode::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str(),
                label: code_label(*c),
                selected: current.as_deref() == Some(c.as_str()),
            })
            .collect()
    };
    let status_current = action.status.as_str();
    let page = ActionPage {
        page: Page::new(user, action.title.clone(), Section::Portfolio)
            .in_file(young_person_id, &opened.name)
            .live(stream_of(young_person_id)),
        young_person_id,
        name: opened.name.clone(),
        action_id,
        title: action.title.clone(),
        description: action.description.clone().unwrap_or_default(),
        category: format::category(action.category),
        status: format::action_status(action.status),
        badge: format::action_status_badge(action.status),
        due: action.due_date.map(format::date).unwrap_or_else(|| "Aucune".into()),
        created_by_young_person: action.created_by.role == Role::YoungPerson,
        completed_at: action.completed_at.map(|at| format::date_time(at, tz)).unwrap_or_default(),
        comments,
        qualification,
        locked: action.qualification.is_some(),
        can_qualify: action.status == ActionStatus::Done && action.qualification.is_none(),
        fields: typed.edit.map(ActionFields::typed).unwrap_or_else(|| ActionFields::of(action)),
        statuses: choices(ActionStatus::ALL, ActionStatus::as_str, format::action_status, Some(status_current)),
        codes: code_choices,
        comment_text: typed.comment.map(|f| f.get("text").to_owned()).unwrap_or_default(),
        qualification_comment: typed.qualification.map(|f| f.get("comment").to_owned()).unwrap_or_default(),
        errors,
        success,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &page))
}

impl ActionPage {
    fn comment_action(&self) -> String {
        format!("/beneficiaires/{}/actions/{}/commentaires", self.young_person_id, self.action_id)
    }
}

/// « Emploi (3 h) »: the hours each code counts, shown in the select.
fn code_label(code: QualificationCode) -> &'static str {
    match code {
        QualificationCode::Emploi => "Emploi (3 h)",
        QualificationCode::ProjetProfessionnel => "Projet professionnel (2 h)",
        QualificationCode::CultureSportLoisirs => "Culture, sport et loisirs (2 h)",
        QualificationCode::Citoyennete => "Citoyenneté (2 h)",
        QualificationCode::Formation => "Formation (3 h)",
        QualificationCode::Logement => "Logement (2 h)",
        QualificationCode::Sante => "Santé (2 h)",
        QualificationCode::NonSnp => "Non SNP (0 h)",
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, action_id)): WebPath<(Uuid, Uuid)>,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let success = feedback::success(feedback.ok.as_deref());
    render(&state, &user, id, action_id, Typed::default(), FieldErrors::default(), success).await
}

pub async fn update(
    State(state): State<AppState>,
    WebPath((id, action_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let (category, due) = parse_fields(&fields, &mut errors);
    if errors.is_empty() {
        let changes = ActionPatch {
            title: Some(fields.get("title").trim().to_owned()),
            description: Some(fields.optional("description")),
            category,
            status: None,
            due_date: due,
            reminder: None,
        };
        match edit(&state, &user.user, id, Collection::Actions, |doc, a, now| {
            doc.update_action(a, now, action_id, changes).map(|o| ((), o))
        })
        .await
        {
            Ok(_) => {
                return Ok(after_post(&fields, &format!("/beneficiaires/{id}/actions/{action_id}"), "action-modifiee"));
            }
            Err(e) => errors = plan_errors(e, &ACTION_FIELDS)?,
        }
    }
    render(&state, &user, id, action_id, Typed { edit: Some(&fields), ..Typed::default() }, errors, None).await
}

pub async fn change_status(
    State(state): State<AppState>,
    WebPath((id, action_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    match ActionStatus::parse(fields.get("status")) {
        None => errors.add("status", "Choisissez un statut."),
        Some(status) => {
            let changes = ActionPatch { status: Some(status), ..ActionPatch::default() };
            match edit(&state, &user.user, id, Collection::Actions, |doc, a, now| {
                doc.update_action(a, now, action_id, changes).map(|o| ((), o))
            })
            .await
            {
                Ok(_) => {
                    return Ok(after_post(
                        &fields,
                        &format!("/beneficiaires/{id}/actions/{action_id}"),
                        "statut-modifie",
                    ));
                }
                Err(e) => errors = plan_errors(e, &ACTION_FIELDS)?,
            }
        }
    }
    render(&state, &user, id, action_id, Typed::default(), errors, None).await
}

pub async fn comment(
    State(state): State<AppState>,
    WebPath((id, action_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let comment_id = Uuid::parse_str(fields.get("id")).ok();
    let text = fields.get("text").trim().to_owned();
    let errors = match edit(&state, &user.user, id, Collection::Actions, |doc, a, now| {
        doc.add_comment(a, now, Collection::Actions, action_id, comment_id, text)
    })
    .await
    {
        Ok(_) => {
            return Ok(after_post(&fields, &format!("/beneficiaires/{id}/actions/{action_id}"), "commentaire-ajoute"));
        }
        Err(e) => plan_errors(e, &COMMENT_FIELDS)?,
    };
    render(&state, &user, id, action_id, Typed { comment: Some(&fields), ..Typed::default() }, errors, None).await
}

pub async fn qualify(
    State(state): State<AppState>,
    WebPath((id, action_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    match QualificationCode::parse(fields.get("code")) {
        None => errors.add("code", "Choisissez un code de qualification."),
        Some(code) => {
            let comment = fields.optional("comment");
            match edit(&state, &user.user, id, Collection::Actions, |doc, a, now| {
                doc.qualify_action(a, now, action_id, code, comment).map(|o| ((), o))
            })
            .await
            {
                Ok(_) => {
                    return Ok(after_post(
                        &fields,
                        &format!("/beneficiaires/{id}/actions/{action_id}"),
                        "action-qualifiee",
                    ));
                }
                Err(e) => errors = plan_errors(e, &ACTION_FIELDS)?,
            }
        }
    }
    render(&state, &user, id, action_id, Typed { qualification: Some(&fields), ..Typed::default() }, errors, None).await
}
