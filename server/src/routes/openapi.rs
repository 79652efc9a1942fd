//! The OpenAPI document, generated from the handlers' annotations.
//!
//! What every handler shares is added here rather than repeated on each one (see [`Problems`]): the
//! problems its extractors answer (401 from the bearer token, 400/408/413/415/422 from a JSON body,
//! 404 from a path id), and the media type of every error, `application/problem+json`.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use crate::routes::{auth, conversations, me, notifications, plans, push, system, transfers, young_people};

/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("opaque").build()),
        );
    }
}

/// Documents the problems every operation may answer because of how it reads its request, and
/// serves every `Problem` as `application/problem+json` (what [`crate::error::ApiError`] sends).
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                complete(operation);
            }
        }
    }
}

/// Whether an operation requires a bearer token (`/metrics` makes it optional: its 401 is its own).
fn requires_bearer(operation: &Operation) -> bool {
    let Some(requirements) = &operation.security else { return false };
    let requirements = serde_json::to_value(requirements).unwrap_or_default();
    let requirements = requirements.as_array().map(Vec::as_slice).unwrap_or_default();
    !requirements.is_empty() && requirements.iter().all(|r| r.get("bearer").is_some())
}

fn complete(operation: &mut Operation) {
    let mut common: Vec<(&str, &str)> = Vec::new();
    if requires_bearer(operation) {
        common.push(("401", "Missing, malformed, expired or revoked access token"));
    }
    if operation.request_body.is_some() {
        common.extend([
            ("400", "The body is not JSON"),
            ("408", "The body did not arrive whole in time (`--http-body-timeout-secs`)"),
            ("413", "The body is over the limit (`--body-limit`)"),
            ("415", "The body is not `application/json`"),
            ("422", "The body does not have the documented shape (the problem names the field)"),
        ]);
    }
    let path_ids =
        operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    if path_ids {
        common.push(("404", "Unknown, out of the caller's reach, or not an id: the same answer"));
    }
    for (status, description) in common {
        let response = operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            ResponseBuilder::new()
                .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
                .build()
                .into()
        });
        // A handler's own description wins (it says more); an answer it listed without one gets this.
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = description.to_owned();
            }
        }
    }
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else { continue };
        let content = std::mem::take(&mut response.content);
        response.content = content
            .into_iter()
            .map(|(media_type, content)| {
                if media_type == "application/json" && is_problem(&content) {
                    (PROBLEM_JSON.to_owned(), content)
                } else {
                    (media_type, content)
                }
            })
            .collect();
    }
}

fn is_problem(content: &RefOr<Content>) -> bool {
    matches!(content, RefOr::T(Content { schema: Some(RefOr::Ref(r)), .. }) if r.ref_location == "#/components/schemas/Problem")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Pass emploi", description = "Accounts, portfolios, plans and conversations. Errors are RFC 9457 problems, \
        served as `application/problem+json`."),
    modifiers(&BearerAuth, &Problems),
    paths(
        auth::login, auth::refresh, auth::logout, auth::activate,
        me::me, me::delete_me, me::export_me,
        crate::routes::departures::reasons, crate::routes::departures::archive,
        crate::routes::departures::delete_never_activated, crate::routes::departures::export_for_adviser,
        crate::routes::departures::list_archives, crate::routes::departures::read_archive,
        crate::routes::devices::register, crate::routes::devices::unregister,
        notifications::list, notifications::mark_read, notifications::read_preferences,
        notifications::write_preferences,
        young_people::list, young_people::create, young_people::show,
        plans::read_plan, plans::create_action, plans::update_action, plans::delete_action, plans::comment_action,
        plans::qualify_action, plans::create_appointment, plans::update_appointment, plans::cancel_appointment,
        plans::close_appointment, plans::answer_appointment, plans::create_task, plans::update_task,
        conversations::read_conversation, conversations::send_message, conversations::edit_message,
        conversations::delete_message, conversations::mark_read, conversations::pin_important,
        conversations::unpin_important, conversations::search, conversations::unread, conversations::broadcast,
        conversations::list_broadcast_lists, conversations::create_broadcast_list, conversations::delete_broadcast_list,
        push::vapid_public_key, push::subscribe, push::unsubscribe,
        transfers::transfer,
        system::health, system::metrics, system::openapi,
    ),
    components(schemas(Problem, FieldError, notifications::NotificationView, push::VapidPublicKey,
        push::SubscriptionView, push::Unsubscribe, crate::notifications::webpush::BrowserSubscription,
        crate::notifications::webpush::BrowserKeys))
)]
pub struct ApiDoc;
