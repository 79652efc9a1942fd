//! `POST /api/v1/sync/{document_id}`: one Automerge sync message in, the server's next one out.
//!
//! For phones syncing in the background, where a WebSocket cannot stay open. The peer names itself
//! with a stable `X-Peer-Id`, so its sync state (kept with the loaded plan or conversation) carries
//! over between requests; the same engine as the WebSocket serves it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::gateway::peer_key;
use super::target::Target;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;

pub const PEER_ID_HEADER: &str = "x-peer-id";

/// Applies one sync message; answers the next message (`application/octet-stream`) or 204.
#[utoipa::path(post, path = "/api/v1/sync/{document_id}", tag = "sync", security(("bearer" = [])),
    params(("document_id" = String, Path, description = "automerge-repo document id (base58check)"),
        ("X-Peer-Id" = String, Header, description = "stable id of the syncing peer")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "The server's next sync message", content_type = "application/octet-stream"),
        (status = 204, description = "In sync"), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn sync_over_http(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(document_id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let document_id: sync_core::DocumentId = document_id.parse().map_err(|_| ApiError::NotFound)?;
    let target = Target::resolve(&state, &document_id.to_string()).await?.ok_or(ApiError::NotFound)?;
    let author = target.access(&state, &user).await?;
    let peer = headers
        .get(PEER_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|p| !p.is_empty() && p.len() <= 128)
        .ok_or_else(|| ApiError::BadRequest("en-tête X-Peer-Id manquant ou invalide".into()))?;
    let key = peer_key(user.id, &format!("http/{peer}"));
    let reply = if body.is_empty() {
        target.generate(&state, &key).await?
    } else {
        target.receive(&state, &key, &author, &body).await?.reply
    };
    Ok(match reply {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}
