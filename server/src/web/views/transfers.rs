//! `/reaffectation` (supervisors): move young people of the structure to another adviser,
//! definitively or temporarily, through the same checks as `POST /api/v1/transfers`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::transfers::{TransferBody, TransferKind, transfer_young_people};
use crate::routes::young_people::today_for;
use crate::state::AppState;
use crate::store::{PortfolioScope, StaffMember};

use super::super::errors::{WebError, html};
use super::super::feedback::FieldErrors;
use super::super::form::{Fields, Posted};
use super::super::page::{Page, Section};
use super::super::session::WebUser;

pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub advisers: String,
    pub checked: bool,
}

pub struct AdviserChoice {
    pub id: Uuid,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "web/transfers.html")]
struct TransfersPage {
    page: Page,
    candidates: Vec<Candidate>,
    advisers: Vec<AdviserChoice>,
    temporary: bool,
    errors: FieldErrors,
    result: Option<String>,
}

fn staff_name(s: &StaffMember) -> String {
    format!("{} {}", s.first_name, s.last_name)
}

async fn render(
    state: &AppState,
    user: &WebUser,
    typed: Option<&Fields>,
    errors: FieldErrors,
    result: Option<String>,
) -> Result<Response, WebError> {
    let Some(structure) = user.user.structure_id.filter(|_| user.is_supervisor()) else {
        return Err(WebError::Forbidden);
    };
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    let staff = state.store.structure_staff(structure).await?;
    // Who follows whom: one portfolio query per adviser of the structure, not one per young person.
    let mut followed_by: HashMap<Uuid, Vec<String>> = HashMap::new();
    for member in &staff {
        for line in state.store.portfolio_lines(PortfolioScope::Adviser(member.id), today, now).await? {
            let mut name = staff_name(member);
            if line.temporary {
                name.push_str(" (temporaire)");
            }
            followed_by.entry(line.id).or_default().push(name);
        }
    }
    let checked: Vec<String> = typed.map(|f| f.all("young_person").map(str::to_owned).collect()).unwrap_or_default();
    let selected_adviser = typed.map(|f| f.get("to").to_owned()).unwrap_or_default();
    let candidates = state
        .store
        .portfolio_lines(PortfolioScope::Structure(structure), today, now)
        .await?
        .into_iter()
        .map(|l| Candidate {
            checked: checked.contains(&l.id.to_string()),
            advisers: followed_by.get(&l.id).map(|names| names.join(", ")).unwrap_or_else(|| "Aucun".into()),
            name: format!("{} {}", l.first_name, l.last_name),
            id: l.id,
        })
        .collect();
    let advisers = staff
        .iter()
        .map(|s| AdviserChoice { id: s.id, name: staff_name(s), selected: s.id.to_string() == selected_adviser })
        .collect();
    let page = TransfersPage {
        page: Page::new(user, "Réaffectation", Section::Transfers),
        candidates,
        advisers,
        temporary: typed.is_some_and(|f| f.get("kind") == "temporary"),
        errors,
        result,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &page))
}

pub async fn show(State(state): State<AppState>, user: WebUser) -> Result<Response, WebError> {
    render(&state, &user, None, FieldErrors::default(), None).await
}

pub async fn transfer(State(state): State<AppState>, Posted { user, fields }: Posted) -> Result<Response, WebError> {
    if !user.is_supervisor() {
        return Err(WebError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let ids: Vec<Uuid> = fields.all("young_person").filter_map(|v| Uuid::parse_str(v).ok()).collect();
    if ids.is_empty() {
        errors.add("young_person", "Choisissez au moins un jeune.");
    }
    let to = Uuid::parse_str(fields.get("to")).ok();
    if to.is_none() {
        errors.add("to", "Choisissez le conseiller destinataire.");
    }
    let kind = if fields.get("kind") == "temporary" { TransferKind::Temporary } else { TransferKind::Definitive };
    let (Some(to), true) = (to, errors.is_empty()) else {
        return render(&state, &user, Some(&fields), errors, None).await;
    };
    let count = ids.len();
    match transfer_young_people(&state, &user.user, TransferBody { young_person_ids: ids, to_adviser_id: to, kind })
        .await
    {
        Ok(_) => {
            let to_name = match state.store.user_by_id(to).await? {
                Some(u) => format!("{} {}", u.first_name, u.last_name),
                None => "le conseiller choisi".into(),
            };
            let how = if kind == TransferKind::Temporary { "temporairement" } else { "définitivement" };
            let result = format!("{count} jeune(s) réaffecté(s) {how} à {to_name}.");
            render(&state, &user, None, FieldErrors::default(), Some(result)).await
        }
        Err(ApiError::Validation(problems)) => {
            for p in problems {
                let field = if p.field == "to_adviser_id" { "to" } else { "young_person" };
                errors.add(field, p.message);
            }
            render(&state, &user, Some(&fields), errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}
