//! Health, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

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

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let cached_bytes = state.documents.cached_bytes() as f64;
    let cached_docs = state.documents.cached_documents() as f64;
    let text = state.metrics.render(&[
        ("plan_cache_bytes", "Saved bytes of the plans held in memory.", cached_bytes),
        ("plan_cache_documents", "Plans held in memory.", cached_docs),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", responses((status = 200, body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    Json(crate::routes::openapi::ApiDoc::openapi())
}
