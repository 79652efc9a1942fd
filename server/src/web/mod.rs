//! The advisers' web app: server-rendered pages in the State design system (DSFR), served by the
//! service itself on the same port as the API and the sync gateway.
//!
//! One file per view (`views/`), askama templates in `server/templates/web/`, our own script and
//! service worker in `server/web/static/`. Sessions (`session.rs`), cookies (`cookies.rs`) and
//! CSRF (`csrf.rs`, `form.rs`) apart. Every write goes through the same document path as the REST
//! API (`routes::plans::edit`, `routes::conversations::edit`): one rulebook, the same outbox and
//! the same live fan-out.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// What a page may load and where its forms may go: only this origin; no framing (clickjacking).
/// Inline styles are allowed for the design system's components; inline scripts are not.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod errors;
pub mod feedback;
pub mod form;
pub mod format;
pub mod live;
pub mod page;
pub mod session;
pub mod views;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(views::sign_in::show))
        .route("/connexion", post(views::sign_in::sign_in))
        .route("/deconnexion", post(views::sign_in::sign_out))
        .route("/portefeuille", get(views::portfolio::show))
        .route("/pilotage", get(views::pilotage::show))
        .route("/agenda", get(views::agenda::show))
        .route("/reaffectation", get(views::transfers::show).post(views::transfers::transfer))
        .route("/beneficiaires/nouveau", get(views::new_young_person::form).post(views::new_young_person::create))
        .route("/beneficiaires/{id}", get(views::young_person::show))
        .route("/beneficiaires/{id}/archiver", get(views::departures::archive_form).post(views::departures::archive))
        .route("/beneficiaires/{id}/supprimer", get(views::departures::delete_form).post(views::departures::delete))
        .route("/beneficiaires/{id}/export", get(views::departures::export))
        .route("/archives", get(views::archives::list))
        .route("/archives/{id}", get(views::archives::show))
        .route("/archives/{id}/export", get(views::archives::export))
        .route("/beneficiaires/{id}/actions/nouvelle", get(views::actions::new_form))
        .route("/beneficiaires/{id}/actions", post(views::actions::create))
        .route("/beneficiaires/{id}/actions/{action_id}", get(views::actions::show))
        .route("/beneficiaires/{id}/actions/{action_id}/modifier", post(views::actions::update))
        .route("/beneficiaires/{id}/actions/{action_id}/statut", post(views::actions::change_status))
        .route("/beneficiaires/{id}/actions/{action_id}/commentaires", post(views::actions::comment))
        .route("/beneficiaires/{id}/actions/{action_id}/qualification", post(views::actions::qualify))
        .route("/beneficiaires/{id}/rendez-vous/nouveau", get(views::appointments::new_form))
        .route("/beneficiaires/{id}/rendez-vous", post(views::appointments::create))
        .route("/beneficiaires/{id}/rendez-vous/{appointment_id}", get(views::appointments::show))
        .route("/beneficiaires/{id}/rendez-vous/{appointment_id}/modifier", post(views::appointments::update))
        .route("/beneficiaires/{id}/rendez-vous/{appointment_id}/annulation", post(views::appointments::cancel))
        .route("/beneficiaires/{id}/rendez-vous/{appointment_id}/cloture", post(views::appointments::close))
        .route("/beneficiaires/{id}/demarches/{task_id}", get(views::tasks::show))
        .route("/beneficiaires/{id}/demarches/{task_id}/commentaires", post(views::tasks::comment))
        .route("/beneficiaires/{id}/messages", get(views::messages::show).post(views::messages::send))
        .route("/beneficiaires/{id}/messages/lu", post(views::messages::mark_read))
        .route("/beneficiaires/{id}/messages/important", post(views::messages::pin))
        .route("/beneficiaires/{id}/messages/important/retrait", post(views::messages::unpin))
        .route("/beneficiaires/{id}/messages/{message_id}", get(views::messages::edit_form))
        .route("/beneficiaires/{id}/messages/{message_id}/modifier", post(views::messages::update))
        .route("/beneficiaires/{id}/messages/{message_id}/suppression", post(views::messages::delete))
        .route("/notifications", get(views::notifications::show))
        .route("/notifications/{id}/lue", post(views::notifications::mark_read))
        .route("/notifications/abonnement", post(views::notifications::subscribe))
        .route("/notifications/desabonnement", post(views::notifications::unsubscribe))
        .route("/flux/portefeuille", get(live::portfolio))
        .route("/flux/beneficiaires/{id}", get(live::young_person))
        .route("/flux/beneficiaires/{id}/messages", get(live::conversation))
        .merge(assets::router(state))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(axum::middleware::from_fn_with_state(state.clone(), errors::with_signed_in_layout))
        .layer(assets::compression())
}

/// What an unknown path answers: the 404 page to a browser (in the signed-in layout when it has a
/// session), the API's problem document to everyone else (and always under `/api/`).
pub async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !request.uri().path().starts_with("/api/") {
        let (head, _) = request.into_parts();
        errors::in_signed_in_layout(&state, &head, errors::WebError::NotFound.into_response()).await
    } else {
        ApiError::NotFound.into_response()
    }
}
