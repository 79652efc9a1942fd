//! Transfers: a supervisor moves young people of their structure to another adviser.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::PortfolioKind;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/transfers", post(transfer))
}

pub const MAX_TRANSFER: usize = 500;

#[derive(Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Definitive,
    Temporary,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub young_person_ids: Vec<Uuid>,
    pub to_adviser_id: Uuid,
    pub kind: TransferKind,
}

#[derive(Serialize, ToSchema)]
pub struct Transferred {
    pub young_person_ids: Vec<Uuid>,
    pub to_adviser_id: Uuid,
    pub kind: TransferKind,
}

fn field_error(field: String, code: &str, message: &str) -> FieldError {
    FieldError { field, code: code.into(), message: message.into() }
}

/// Moves young people to an adviser of the same structure (supervisors only). All or nothing.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "young people", security(("bearer" = [])),
    request_body = TransferBody,
    responses((status = 200, body = Transferred), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<TransferBody>,
) -> ApiResult<Json<Transferred>> {
    Ok(Json(transfer_young_people(&state, &user, body).await?))
}

/// Moves young people to another adviser of the caller's structure (the API and the web app's
/// « Réaffectation » page); open sync sessions and live pages check their access again at once.
/// Posts the service's message « Votre conseiller est désormais … » in the young person's
/// conversation, once per young person, adviser, kind and day (a retried transfer posts nothing
/// more: the message's id follows from those).
async fn announce_in_conversation(
    state: &AppState,
    user: &AuthUser,
    young_person_id: Uuid,
    adviser_id: Uuid,
    kind: TransferKind,
    adviser_name: &str,
) -> ApiResult<()> {
    let now = Utc::now();
    let (text, kind_key) = match kind {
        TransferKind::Definitive => (format!("Votre conseiller est désormais {adviser_name}."), "definitive"),
        TransferKind::Temporary => (format!("Votre conseiller est temporairement {adviser_name}."), "temporary"),
    };
    let key = format!("transfer:{young_person_id}:{adviser_id}:{kind_key}:{}", now.date_naive());
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes());
    // Signed with the supervisor's actor, authored by the service (the rulebook's `System`).
    state
        .conversations
        .write(young_person_id, user.id, now, |doc| doc.post_system_message(id, now, &text), |_, _| ())
        .await?;
    Ok(())
}

pub async fn transfer_young_people(state: &AppState, user: &AuthUser, body: TransferBody) -> ApiResult<Transferred> {
    let structure = match (user.role, user.structure_id) {
        (Role::Supervisor, Some(s)) => s,
        _ => return Err(ApiError::Forbidden),
    };
    let mut errors = Vec::new();
    if body.young_person_ids.is_empty() || body.young_person_ids.len() > MAX_TRANSFER {
        errors.push(field_error("young_person_ids".into(), "invalid", "entre 1 et 500 jeunes"));
    }
    let target = state.store.user_by_id(body.to_adviser_id).await?;
    let target_name = target.as_ref().map(|t| format!("{} {}", t.first_name, t.last_name)).unwrap_or_default();
    let target_ok = target.is_some_and(|t| {
        !t.archived && matches!(t.role, Role::Adviser | Role::Supervisor) && t.structure_id == Some(structure)
    });
    if !target_ok {
        errors.push(field_error("to_adviser_id".into(), "not_found", "conseiller introuvable dans votre structure"));
    }
    for (i, id) in body.young_person_ids.iter().enumerate().take(MAX_TRANSFER) {
        let yp = state.store.user_by_id(*id).await?;
        let visible =
            yp.is_some_and(|y| !y.archived && y.role == Role::YoungPerson && y.structure_id == Some(structure));
        if !visible {
            errors.push(field_error(
                format!("young_person_ids[{i}]"),
                "not_found",
                "jeune introuvable dans votre structure",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let kind = match body.kind {
        TransferKind::Definitive => PortfolioKind::Definitive,
        TransferKind::Temporary => PortfolioKind::Temporary,
    };
    state.store.transfer(&body.young_person_ids, body.to_adviser_id, kind, Utc::now()).await?;
    // Open sync sessions check their access again at once, on every instance.
    for id in &body.young_person_ids {
        state.documents.invalidate_notification_context(*id);
        if let Some(document_id) = state.store.document_of(*id).await? {
            state.documents.access_changed(&document_id);
        }
        if let Some(conversation_id) = state.store.conversation_of(*id).await? {
            // The same announcement: each instance's sessions on that document check their access.
            state.documents.access_changed(&conversation_id);
        }
        announce_in_conversation(state, user, *id, body.to_adviser_id, body.kind, &target_name).await?;
    }
    Ok(Transferred { young_person_ids: body.young_person_ids, to_adviser_id: body.to_adviser_id, kind: body.kind })
}
