//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use crate::routes::{auth, me, notifications, plans, push, system, transfers, young_people};

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

#[derive(OpenApi)]
#[openapi(
    info(title = "Pass emploi", description = "Accounts, portfolios and plans. Errors are RFC 9457 problems."),
    modifiers(&BearerAuth),
    paths(
        auth::login, auth::refresh, auth::logout, auth::activate,
        me::me,
        crate::routes::devices::register, crate::routes::devices::unregister,
        notifications::list, notifications::mark_read, notifications::read_preferences,
        notifications::write_preferences,
        young_people::list, young_people::create, young_people::show,
        plans::read_plan, plans::create_action, plans::update_action, plans::delete_action, plans::comment_action,
        plans::qualify_action, plans::create_appointment, plans::update_appointment, plans::cancel_appointment,
        plans::close_appointment, plans::answer_appointment, plans::create_task, plans::update_task,
        push::vapid_public_key, push::subscribe, push::unsubscribe,
        transfers::transfer,
        system::health, system::metrics, system::openapi,
    ),
    components(schemas(Problem, FieldError, notifications::NotificationView, push::VapidPublicKey,
        push::SubscriptionView, push::Unsubscribe, crate::notifications::webpush::BrowserSubscription,
        crate::notifications::webpush::BrowserKeys))
)]
pub struct ApiDoc;
