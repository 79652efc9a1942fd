//! Young people: the adviser's list, creation of an account with its plan, one young person.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use sync_core::{Author, DocumentId, PlanDocument};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::auth::tokens::{hash_token, new_activation_code, normalize_activation_code};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::{NewUser, PlanAccess, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/young-people", get(list).post(create))
        .route("/api/v1/young-people/{id}", get(show).delete(crate::routes::departures::delete_never_activated))
}

/// Activation codes expire after this long.
pub const ACTIVATION_TTL_DAYS: i64 = 7;

/// What the caller may do with one young person's plan; every miss is a 404.
pub async fn plan_access(state: &AppState, user: &AuthUser, young_person_id: Uuid) -> ApiResult<(PlanAccess, Author)> {
    let access = state.store.plan_access(young_person_id, user.id).await?.ok_or(ApiError::NotFound)?;
    if access.young_person.archived {
        return Err(ApiError::NotFound);
    }
    let author = match user.role {
        Role::YoungPerson if young_person_id == user.id => Author::young_person(user.id),
        Role::Adviser if access.follows => Author::new(user.id, Role::Adviser, true),
        Role::Supervisor if access.follows => Author::new(user.id, Role::Supervisor, true),
        Role::Supervisor if user.structure_id.is_some() && user.structure_id == access.young_person.structure_id => {
            Author::new(user.id, Role::Supervisor, false)
        }
        _ => return Err(ApiError::NotFound),
    };
    Ok((access, author))
}

/// Today in the caller's time zone.
pub fn today_for(timezone: &str, now: DateTime<Utc>) -> NaiveDate {
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => now.with_timezone(&tz).date_naive(),
        Err(_) => now.with_timezone(&chrono_tz::Europe::Paris).date_naive(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct YoungPersonLine {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub plan_document_id: Option<String>,
    /// Actions not started or in progress.
    pub open_actions: i64,
    /// Open actions whose due date is before today (in the caller's time zone).
    pub late_actions: i64,
    /// The start of the next scheduled appointment, RFC 3339 UTC.
    pub next_appointment_at: Option<DateTime<Utc>>,
}

/// An adviser's portfolio (a supervisor: their structure's young people), from the projections.
#[utoipa::path(get, path = "/api/v1/young-people", tag = "young people", security(("bearer" = [])),
    responses((status = 200, body = Vec<YoungPersonLine>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<YoungPersonLine>>> {
    let now = Utc::now();
    let today = today_for(&user.timezone, now);
    let rows = match (user.role, user.structure_id) {
        (Role::Adviser, _) => state.store.portfolio_summaries(user.id, today, now).await?,
        (Role::Supervisor, Some(structure)) => state.store.structure_summaries(structure, today, now).await?,
        _ => return Err(ApiError::Forbidden),
    };
    Ok(Json(
        rows.into_iter()
            .map(|r| YoungPersonLine {
                id: r.id,
                first_name: r.first_name,
                last_name: r.last_name,
                email: r.email,
                plan_document_id: r.plan_document_id,
                open_actions: r.open_actions,
                late_actions: r.late_actions,
                next_appointment_at: r.next_appointment_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewYoungPerson {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// IANA time zone, `Europe/Paris` by default.
    pub timezone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedYoungPerson {
    pub id: Uuid,
    pub plan_document_id: String,
    /// One use, valid 7 days: the young person sets their password with it.
    pub activation_code: String,
}

fn text_field(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors
            .push(FieldError { field: field.into(), code: "empty".into(), message: format!("« {field} » est vide") });
    } else if value.chars().count() > max {
        errors.push(FieldError {
            field: field.into(),
            code: "too_long".into(),
            message: format!("« {field} » dépasse {max} caractères"),
        });
    }
}

/// Creates a young person in the caller's structure and portfolio, with their plan. An email
/// already in use is a 409 only when it is a young person the caller can already see; any other
/// account's email is a 422 on `email` (code `unavailable`), the same whoever holds it.
#[utoipa::path(post, path = "/api/v1/young-people", tag = "young people", security(("bearer" = [])),
    request_body = NewYoungPerson,
    responses((status = 201, body = CreatedYoungPerson),
        (status = 403, body = Problem, description = "Not an adviser or supervisor"),
        (status = 409, body = Problem, description = "A young person the caller can see has this email"),
        (status = 422, body = Problem, description = "Invalid input, or an email that cannot be used")))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<NewYoungPerson>,
) -> ApiResult<(StatusCode, Json<CreatedYoungPerson>)> {
    Ok((StatusCode::CREATED, Json(create_young_person(&state, &user, body).await?)))
}

/// Creates a young person's account and plan in the caller's structure and portfolio (the API's
/// `POST /young-people` and the web app's form).
pub async fn create_young_person(
    state: &AppState,
    user: &AuthUser,
    body: NewYoungPerson,
) -> ApiResult<CreatedYoungPerson> {
    if !matches!(user.role, Role::Adviser | Role::Supervisor) {
        return Err(ApiError::Forbidden);
    }
    let mut errors = Vec::new();
    text_field(&mut errors, "first_name", &body.first_name, 100);
    text_field(&mut errors, "last_name", &body.last_name, 100);
    let email = body.email.trim().to_lowercase();
    let at = email.find('@');
    if email.len() > 254
        || !matches!(at, Some(i) if i > 0 && i + 1 < email.len())
        || email.contains(char::is_whitespace)
    {
        errors.push(FieldError {
            field: "email".into(),
            code: "invalid".into(),
            message: "adresse e-mail invalide".into(),
        });
    }
    let timezone = body.timezone.unwrap_or_else(|| "Europe/Paris".into());
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(FieldError {
            field: "timezone".into(),
            code: "invalid".into(),
            message: "fuseau horaire IANA inconnu".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = Utc::now();
    let id = Uuid::new_v4();
    let code = new_activation_code();
    let mut doc = PlanDocument::genesis(id).map_err(ApiError::internal)?;
    let snapshot = doc.save();
    let document_id = DocumentId::new_random().to_string();
    let new = NewUser {
        id,
        role: Role::YoungPerson,
        email,
        password_hash: None,
        first_name: body.first_name.trim().to_owned(),
        last_name: body.last_name.trim().to_owned(),
        timezone,
        structure_id: user.structure_id,
        activation_code_hash: Some(hash_token(&normalize_activation_code(&code))),
        activation_expires_at: Some(now + Duration::days(ACTIVATION_TTL_DAYS)),
    };
    match state.store.create_young_person(&new, Some(user.id), &document_id, &snapshot, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(what)) if what == "email" => return Err(email_taken(state, user, &new.email).await),
        Err(e) => return Err(e.into()),
    }
    Ok(CreatedYoungPerson { id, plan_document_id: document_id, activation_code: code })
}

/// The answer to a creation whose email already has an account. Only a young person the caller
/// could already open is named as such (409); every other account (staff, another structure or
/// portfolio, archived) gets the same 422, so the answer tells nothing about who holds it.
async fn email_taken(state: &AppState, user: &AuthUser, email: &str) -> ApiError {
    let visible = match state.store.user_by_email(email).await {
        Ok(Some(existing)) if existing.role == Role::YoungPerson => plan_access(state, user, existing.id).await.is_ok(),
        Ok(_) => false,
        Err(e) => return e.into(),
    };
    if visible {
        ApiError::Conflict("ce jeune a déjà un compte : retrouvez-le dans votre portefeuille".into())
    } else {
        ApiError::Validation(vec![FieldError {
            field: "email".into(),
            code: "unavailable".into(),
            message: "cette adresse e-mail ne peut pas être utilisée pour un nouveau compte".into(),
        }])
    }
}

#[derive(Serialize, ToSchema)]
pub struct FollowingAdviser {
    pub id: Uuid,
    /// `definitive` or `temporary`.
    #[schema(value_type = crate::routes::transfers::TransferKind)]
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct YoungPersonDetail {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub timezone: String,
    pub plan_document_id: String,
    /// Their conversation's document (automerge-repo id), for those who take part in it: the
    /// young person and the advisers who follow them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_document_id: Option<String>,
    /// Whether they have set their password.
    pub activated: bool,
    pub advisers: Vec<FollowingAdviser>,
}

/// One young person the caller may see.
#[utoipa::path(get, path = "/api/v1/young-people/{id}", tag = "young people", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = YoungPersonDetail), (status = 404, body = Problem)))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<YoungPersonDetail>> {
    let (access, author) = plan_access(&state, &user, id).await?;
    let conversation_document_id = if author.role == Role::YoungPerson || author.follows_plan {
        Some(state.conversations.ensure(id).await?)
    } else {
        None
    };
    let advisers = state
        .store
        .followers(id)
        .await?
        .into_iter()
        .map(|(id, kind)| FollowingAdviser { id, kind: kind.as_str().into() })
        .collect();
    let yp = access.young_person;
    Ok(Json(YoungPersonDetail {
        id: yp.id,
        first_name: yp.first_name,
        last_name: yp.last_name,
        email: yp.email,
        timezone: yp.timezone,
        plan_document_id: access.document_id,
        conversation_document_id,
        activated: yp.password_hash.is_some(),
        advisers,
    }))
}
