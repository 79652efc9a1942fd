//! The HTTP API: one module per resource, merged in [`app`].

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

pub mod auth;
pub mod conversations;
pub mod departures;
pub mod devices;
pub mod me;
pub mod notifications;
pub mod openapi;
pub mod plans;
pub mod push;
pub mod system;
pub mod transfers;
pub mod young_people;

/// The whole service, shared by the binary and the tests.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(departures::router())
        .merge(devices::router())
        .merge(notifications::router())
        .merge(young_people::router())
        .merge(plans::router())
        .merge(conversations::router())
        .merge(push::router())
        .merge(transfers::router())
        .merge(system::router())
        .merge(crate::web::router(&state))
        .route("/sync", axum::routing::get(crate::sync::gateway::upgrade))
        .route(
            "/api/v1/sync/{document_id}",
            axum::routing::post(crate::sync::http::sync_over_http)
                .layer(DefaultBodyLimit::max(state.config.sync.max_frame_bytes)),
        )
        .fallback(crate::web::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
            use axum::response::IntoResponse;
            // Logged with its cause (ApiError::Internal logs its message); the client gets a 500.
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            ApiError::internal(format!("a handler panicked: {cause}")).into_response()
        }))
        // Every answer: never sniffed as another type, never kept by a cache (most carry a
        // caller's data or tokens; a handler may still set its own Cache-Control).
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .with_state(state)
}
