//! `/notifications`: the adviser's notification centre (unread first, mark read) and the button
//! that turns on the browser's notifications (a service worker subscribed with the server's VAPID
//! key through the same store and checks as `POST /api/v1/push/subscriptions`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use crate::notifications::centre;
use crate::notifications::webpush::BrowserSubscription;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback;
use super::super::form::{Posted, WebPath};
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::young_person::Feedback;

pub struct NotificationLine {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub at: String,
    pub unread: bool,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "web/notifications.html")]
struct NotificationsPage {
    page: Page,
    lines: Vec<NotificationLine>,
    unread: usize,
    vapid_key: String,
    success: Option<&'static str>,
}

/// The page a notification is about, from its payload's ids (the service worker does the same).
fn page_of(payload: &str) -> Option<String> {
    let data: Value = serde_json::from_str(payload).ok()?;
    let young_person = Uuid::parse_str(data.get("young_person_id")?.as_str()?).ok()?;
    let id_of = |key: &str| data.get(key).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
    let file = format!("/beneficiaires/{young_person}");
    Some(if let Some(action) = id_of("action_id") {
        format!("{file}/actions/{action}")
    } else if let Some(appointment) = id_of("appointment_id") {
        format!("{file}/rendez-vous/{appointment}")
    } else if let Some(task) = id_of("task_id") {
        format!("{file}/demarches/{task}")
    } else if id_of("message_id").is_some() {
        format!("{file}/messages")
    } else {
        file
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let tz = timezone(&user.user.timezone);
    let mut rows = centre::list(state.store.as_ref(), user.user.id, Utc::now()).await?;
    // Unread first, each group newest first (the centre lists newest first).
    rows.sort_by_key(|r| r.read_at.is_some());
    let lines: Vec<NotificationLine> = rows
        .into_iter()
        .map(|r| NotificationLine {
            id: r.id,
            href: page_of(&r.payload),
            title: r.title,
            body: r.body,
            at: format::date_time(r.created_at, tz),
            unread: r.read_at.is_none(),
        })
        .collect();
    let vapid_key = match state.web_push.keys(state.store.as_ref()).await {
        Ok(keys) => keys.public_key().to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "web app: no VAPID key");
            String::new()
        }
    };
    let page = NotificationsPage {
        page: Page::new(&user, "Notifications", Section::Notifications),
        unread: lines.iter().filter(|l| l.unread).count(),
        lines,
        vapid_key,
        success: feedback::success(feedback.ok.as_deref()),
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn mark_read(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, .. }: Posted,
) -> Result<Response, WebError> {
    if !centre::mark_read(state.store.as_ref(), id, user.user.id, Utc::now()).await? {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to("/notifications?ok=notification-lue").into_response())
}

/// `POST /notifications/abonnement` (from the page's script): the browser's subscription.
pub async fn subscribe(State(state): State<AppState>, Posted { user, fields }: Posted) -> Result<Response, WebError> {
    let Ok(subscription) = serde_json::from_str::<BrowserSubscription>(fields.get("subscription")) else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, "abonnement illisible").into_response());
    };
    match state.web_push.subscribe(state.store.as_ref(), user.user.id, &subscription, Utc::now()).await? {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(refused) => Ok((StatusCode::UNPROCESSABLE_ENTITY, refused.to_string()).into_response()),
    }
}

/// `POST /notifications/desabonnement` (the page's script, at sign-out): forgets this browser.
pub async fn unsubscribe(State(state): State<AppState>, Posted { user, fields }: Posted) -> Result<Response, WebError> {
    state.store.delete_push_subscription(user.user.id, fields.get("endpoint")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_opens_the_page_it_is_about() {
        let yp = "6f1c2a4e-0000-4000-8000-000000000001";
        let action = "6f1c2a4e-0000-4000-8000-000000000002";
        assert_eq!(
            page_of(&format!(r#"{{"young_person_id":"{yp}","action_id":"{action}"}}"#)).unwrap(),
            format!("/beneficiaires/{yp}/actions/{action}")
        );
        assert_eq!(page_of(&format!(r#"{{"young_person_id":"{yp}"}}"#)).unwrap(), format!("/beneficiaires/{yp}"));
        assert_eq!(
            page_of(&format!(r#"{{"young_person_id":"{yp}","message_id":"{action}"}}"#)).unwrap(),
            format!("/beneficiaires/{yp}/messages")
        );
        assert!(page_of("{}").is_none());
        assert!(page_of(r#"{"young_person_id":"../../etc"}"#).is_none());
    }
}
