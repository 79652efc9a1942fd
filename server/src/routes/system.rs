//! Health, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics)).route("/api/openapi.json", get(openapi))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub database_ok: bool,
    pub version: String,
}

/// Liveness and readiness: checks the database.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ok = state.store.ping().await.is_ok();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(Health {
            status: if ok { "ok" } else { "degraded" }.into(),
            database: state.store.backend().into(),
            database_ok: ok,
            version: env!("CARGO_PKG_VERSION").into(),
        }),
    )
}

/// Whether a request may read `/metrics`: always without `--metrics-token` (local use), otherwise
/// only with `Authorization: Bearer <token>`, compared in constant time (of the SHA-256 digests,
/// so neither the content nor the length of the token leaks through timing).
pub fn metrics_allowed(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else { return true };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
    else {
        return false;
    };
    let (a, b) = (Sha256::digest(expected.as_bytes()), Sha256::digest(given.trim().as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Prometheus text exposition; with `--metrics-token` set, only for `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", tag = "system", security((), ("bearer" = [])),
    responses((status = 200, content_type = "text/plain"),
        (status = 401, body = Problem, description = "`--metrics-token` is set and the request does not carry it")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<impl IntoResponse, ApiError> {
    if !metrics_allowed(state.config.metrics_token.as_deref(), &headers) {
        return Err(ApiError::Unauthorized);
    }
    let cached_bytes = state.documents.cached_bytes() as f64;
    let cached_docs = state.documents.cached_documents() as f64;
    let text = state.metrics.render(&[
        (
            "plan_cache_bytes",
            "Estimated memory of the plans held in memory (what --doc-cache-mib bounds).",
            cached_bytes,
        ),
        ("plan_cache_documents", "Plans held in memory.", cached_docs),
    ]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", responses((status = 200, body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    Json(crate::routes::openapi::ApiDoc::openapi())
}
