//! The notification rows a plan's domain events produce (the product brief's table).
//!
//! | event | to | rows |
//! |---|---|---|
//! | an adviser creates an action / comments an action | the young person | mobile + in_app |
//! | appointment scheduled, changed (date, duration, place), canceled | the young person | mobile + in_app |
//! | the young person completes an action or a task, comments one, answers an appointment | every follower | web + in_app |
//! | edits undone by the rules | their author | in_app |
//! | a message of the conversation, from an adviser | the young person | mobile + in_app |
//! | a message of the conversation, from the young person | every follower | web + in_app |
//!
//! A kind the young person turned off produces no `mobile` row; the `in_app` entry is still
//! written (the centre is the complete record; the preference silences the phone only).
//! Each row's dedup key is `<event dedup key>:<recipient>:<channel>`, inserted with
//! `ON CONFLICT DO NOTHING`: a replayed sync or a retried request never notifies twice.
//! Texts are short French, with ids in the payload and at most the young person's first name; a
//! message's text never travels in a notification.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use sync_core::DomainEvent;
use sync_core::events::EventKind;
use sync_core::model::Role;
use uuid::Uuid;

use super::{CENTRE_RETENTION, Channel, Kind, quiet_hours, zone};
use crate::store::{NewNotification, NotificationContext};

/// Who may be told about a plan's events.
#[derive(Clone, Debug)]
pub struct Audience {
    pub young_person_id: Uuid,
    pub first_name: String,
    pub timezone: Tz,
    /// The advisers following the young person, with their zones.
    pub advisers: Vec<(Uuid, Tz)>,
    /// The kinds the young person turned off.
    pub disabled: Vec<Kind>,
}

impl Audience {
    pub fn new(young_person_id: Uuid, ctx: &NotificationContext) -> Self {
        Audience {
            young_person_id,
            first_name: ctx.first_name.clone(),
            timezone: zone(&ctx.timezone),
            advisers: ctx.followers.iter().map(|(id, tz)| (*id, zone(tz))).collect(),
            disabled: ctx.disabled.iter().filter_map(|k| Kind::parse(k)).collect(),
        }
    }

    pub fn wants_push(&self, kind: Kind) -> bool {
        !self.disabled.contains(&kind)
    }
}

/// What one notification says, before it is addressed.
pub struct Message {
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub payload: Value,
    /// The push is pointless after this (an appointment's start).
    pub deadline: Option<DateTime<Utc>>,
}

/// A push row (`mobile` or `web`): pending, delayed by quiet hours, with the kind's TTL.
pub fn push_row(
    message: &Message,
    recipient: Uuid,
    tz: Tz,
    channel: Channel,
    dedup_base: &str,
    now: DateTime<Utc>,
) -> NewNotification {
    let not_before = quiet_hours::not_before(tz, now);
    let mut expires_at = not_before + message.kind.ttl();
    if let Some(deadline) = message.deadline {
        expires_at = expires_at.min(deadline);
    }
    row(message, recipient, channel, dedup_base, now, not_before, expires_at, "pending")
}

/// A centre row (`in_app`): stored is delivered.
pub fn centre_row(message: &Message, recipient: Uuid, dedup_base: &str, now: DateTime<Utc>) -> NewNotification {
    row(message, recipient, Channel::InApp, dedup_base, now, now, now + CENTRE_RETENTION, "sent")
}

#[allow(clippy::too_many_arguments)]
fn row(
    message: &Message,
    recipient: Uuid,
    channel: Channel,
    dedup_base: &str,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    status: &str,
) -> NewNotification {
    NewNotification {
        id: Uuid::new_v4(),
        recipient_id: recipient,
        kind: message.kind.as_str().to_owned(),
        channel: channel.as_str().to_owned(),
        title: message.title.clone(),
        body: message.body.clone(),
        payload: message.payload.to_string(),
        dedup_key: format!("{dedup_base}:{recipient}:{}", channel.as_str()),
        created_at: now,
        not_before,
        expires_at,
        status: status.to_owned(),
    }
}

/// "le 05/03 à 14h30", in the recipient's zone.
pub fn local_when(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("le %d/%m à %Hh%M").to_string()
}

/// The rows one event produces.
pub fn notifications_for_event(event: &DomainEvent, audience: &Audience, now: DateTime<Utc>) -> Vec<NewNotification> {
    let yp = audience.young_person_id;
    let by_young_person = event.by.id == yp || event.by.role == Role::YoungPerson;
    let first = &audience.first_name;
    let tz = audience.timezone;
    let to_young_person = |kind: Kind, title: &str, body: String, payload: Value, deadline| {
        let m = Message { kind, title: title.to_owned(), body, payload, deadline };
        let mut rows = Vec::with_capacity(2);
        if audience.wants_push(kind) {
            rows.push(push_row(&m, yp, tz, Channel::Mobile, &event.dedup_key, now));
        }
        rows.push(centre_row(&m, yp, &event.dedup_key, now));
        rows
    };
    let to_advisers = |kind: Kind, title: &str, body: String, payload: Value| {
        let m = Message { kind, title: title.to_owned(), body, payload, deadline: None };
        let mut rows = Vec::with_capacity(2 * audience.advisers.len());
        for (adviser, adviser_tz) in &audience.advisers {
            rows.push(push_row(&m, *adviser, *adviser_tz, Channel::Web, &event.dedup_key, now));
            rows.push(centre_row(&m, *adviser, &event.dedup_key, now));
        }
        rows
    };
    match &event.kind {
        EventKind::ActionCreated { action_id, .. } if !by_young_person => to_young_person(
            Kind::ActionCreated,
            "Nouvelle action",
            "Votre conseiller a ajouté une action à votre plan.".into(),
            json!({"young_person_id": yp, "action_id": action_id}),
            None,
        ),
        EventKind::ActionCommented { action_id, comment_id } => {
            let payload = json!({"young_person_id": yp, "action_id": action_id, "comment_id": comment_id});
            if by_young_person {
                to_advisers(
                    Kind::CommentAdded,
                    "Nouveau commentaire",
                    format!("{first} a commenté une action."),
                    payload,
                )
            } else {
                to_young_person(
                    Kind::ActionCommented,
                    "Nouveau commentaire",
                    "Votre conseiller a commenté une de vos actions.".into(),
                    payload,
                    None,
                )
            }
        }
        EventKind::AppointmentScheduled { appointment_id, starts_at } if !by_young_person => to_young_person(
            Kind::AppointmentScheduled,
            "Nouveau rendez-vous",
            format!("Un rendez-vous est prévu {}.", local_when(tz, *starts_at)),
            json!({"young_person_id": yp, "appointment_id": appointment_id}),
            Some(*starts_at),
        ),
        EventKind::AppointmentRescheduled { appointment_id, starts_at, .. } if !by_young_person => to_young_person(
            Kind::AppointmentRescheduled,
            "Rendez-vous modifié",
            format!("Votre rendez-vous a changé : il est prévu {}.", local_when(tz, *starts_at)),
            json!({"young_person_id": yp, "appointment_id": appointment_id}),
            Some(*starts_at),
        ),
        EventKind::AppointmentCanceled { appointment_id } if !by_young_person => to_young_person(
            Kind::AppointmentCanceled,
            "Rendez-vous annulé",
            "Un de vos rendez-vous a été annulé.".into(),
            json!({"young_person_id": yp, "appointment_id": appointment_id}),
            None,
        ),
        EventKind::ActionCompleted { action_id, .. } if by_young_person => to_advisers(
            Kind::ActionCompleted,
            "Action terminée",
            format!("{first} a terminé une action."),
            json!({"young_person_id": yp, "action_id": action_id}),
        ),
        EventKind::TaskCompleted { task_id, .. } if by_young_person => to_advisers(
            Kind::TaskCompleted,
            "Démarche terminée",
            format!("{first} a terminé une démarche."),
            json!({"young_person_id": yp, "task_id": task_id}),
        ),
        EventKind::TaskCommented { task_id, comment_id } if by_young_person => to_advisers(
            Kind::CommentAdded,
            "Nouveau commentaire",
            format!("{first} a commenté une démarche."),
            json!({"young_person_id": yp, "task_id": task_id, "comment_id": comment_id}),
        ),
        EventKind::AppointmentAnswered { appointment_id, response, .. } if by_young_person => to_advisers(
            Kind::AppointmentAnswered,
            "Réponse à un rendez-vous",
            format!("{first} a répondu à un rendez-vous."),
            json!({"young_person_id": yp, "appointment_id": appointment_id, "response": response.as_str()}),
        ),
        // The service's own messages (a transfer) are told by the transfer's notifications.
        EventKind::MessageSent { message_id, .. } if event.by.role != Role::System => {
            let payload = json!({"young_person_id": yp, "message_id": message_id});
            if by_young_person {
                to_advisers(Kind::Messages, "Nouveau message", format!("Nouveau message de {first}"), payload)
            } else {
                to_young_person(
                    Kind::Messages,
                    "Nouveau message",
                    "Nouveau message de votre conseiller".into(),
                    payload,
                    None,
                )
            }
        }
        EventKind::EditsUndone { notice_id, .. } => {
            let m = Message {
                kind: Kind::EditsUndone,
                title: "Modification annulée".into(),
                body: "Certaines de vos modifications hors ligne n'ont pas pu être appliquées.".into(),
                payload: json!({"young_person_id": yp, "notice_id": notice_id}),
                deadline: None,
            };
            vec![centre_row(&m, event.by.id, &event.dedup_key, now)]
        }
        // Qualification, an adviser completing or commenting a task, a young person creating
        // their own action or editing an appointment: nobody is told.
        _ => Vec::new(),
    }
}

/// The rows of a write's events.
pub fn notifications_for_events(
    events: &[DomainEvent],
    audience: &Audience,
    now: DateTime<Utc>,
) -> Vec<NewNotification> {
    events.iter().flat_map(|e| notifications_for_event(e, audience, now)).collect()
}
