//! Domain events: what happened in a plan, read from an entity before and after a batch.
//!
//! Projections and notifications consume them. Each carries a `dedup_key` computed from the
//! document's content only (ids, values), never from the time of processing: replaying the same
//! sync yields the same keys, so a notification outbox can ignore what it has already queued.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{
    Action, ActionStatus, Appointment, AppointmentResponse, AppointmentStatus, Modality, Person, QualificationCode,
    Task, TaskStatus,
};
use crate::node::Node;
use crate::rules::Reason;
use crate::schema::Collection;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    ActionCreated {
        action_id: Uuid,
        title: String,
    },
    ActionCompleted {
        action_id: Uuid,
        title: String,
        at: DateTime<Utc>,
    },
    ActionCommented {
        action_id: Uuid,
        comment_id: Uuid,
    },
    ActionQualified {
        action_id: Uuid,
        code: QualificationCode,
    },
    AppointmentScheduled {
        appointment_id: Uuid,
        starts_at: DateTime<Utc>,
    },
    /// Date, duration or place changed; `at` is the appointment's `updated_at`.
    AppointmentRescheduled {
        appointment_id: Uuid,
        starts_at: DateTime<Utc>,
        duration_minutes: i64,
        modality: Modality,
        address: Option<String>,
        video_url: Option<String>,
        at: DateTime<Utc>,
    },
    AppointmentCanceled {
        appointment_id: Uuid,
    },
    AppointmentAnswered {
        appointment_id: Uuid,
        response: AppointmentResponse,
        at: DateTime<Utc>,
    },
    TaskCompleted {
        task_id: Uuid,
        title: String,
        at: DateTime<Utc>,
    },
    TaskCommented {
        task_id: Uuid,
        comment_id: Uuid,
    },
    /// A message of the conversation, sent (its text never travels in an event).
    MessageSent {
        message_id: Uuid,
        sent_at: DateTime<Utc>,
    },
    MessageEdited {
        message_id: Uuid,
        at: DateTime<Utc>,
    },
    MessageDeleted {
        message_id: Uuid,
    },
    /// Some of the author's edits were undone by the server.
    EditsUndone {
        notice_id: Uuid,
        reasons: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub young_person_id: Option<Uuid>,
    /// Who caused it.
    pub by: Person,
    pub kind: EventKind,
    /// Stable across replays of the same edit.
    pub dedup_key: String,
}

/// The events of one entity's change.
pub fn entity_events(collection: Collection, id: &str, before: Option<&Node>, after: Option<&Node>) -> Vec<EventKind> {
    let entity = format!("{}/{id}", collection.key());
    let mut out = Vec::new();
    match collection {
        Collection::Actions => {
            let b = before.and_then(|n| Action::from_node(n, &entity).ok());
            let Some(a) = after.and_then(|n| Action::from_node(n, &entity).ok()) else {
                return out;
            };
            if b.is_none() {
                out.push(EventKind::ActionCreated { action_id: a.id, title: a.title.clone() });
            }
            let was_done = b.as_ref().is_some_and(|b| b.status == ActionStatus::Done);
            if a.status == ActionStatus::Done && !was_done {
                if let Some(at) = a.completed_at {
                    out.push(EventKind::ActionCompleted { action_id: a.id, title: a.title.clone(), at });
                }
            }
            for c in &a.comments {
                if b.as_ref().is_none_or(|b| b.comments.iter().all(|old| old.id != c.id)) {
                    out.push(EventKind::ActionCommented { action_id: a.id, comment_id: c.id });
                }
            }
            if let (Some(q), true) = (&a.qualification, b.as_ref().is_none_or(|b| b.qualification.is_none())) {
                out.push(EventKind::ActionQualified { action_id: a.id, code: q.code });
            }
        }
        Collection::Appointments => {
            let b = before.and_then(|n| Appointment::from_node(n, &entity).ok());
            let Some(a) = after.and_then(|n| Appointment::from_node(n, &entity).ok()) else {
                return out;
            };
            match &b {
                None => out.push(EventKind::AppointmentScheduled { appointment_id: a.id, starts_at: a.starts_at }),
                Some(b) => {
                    if a.status == AppointmentStatus::Canceled && b.status != AppointmentStatus::Canceled {
                        out.push(EventKind::AppointmentCanceled { appointment_id: a.id });
                    } else if a.status == AppointmentStatus::Scheduled && place_and_time(b) != place_and_time(&a) {
                        out.push(EventKind::AppointmentRescheduled {
                            appointment_id: a.id,
                            starts_at: a.starts_at,
                            duration_minutes: a.duration_minutes,
                            modality: a.modality,
                            address: a.address.clone(),
                            video_url: a.video_url.clone(),
                            at: a.updated_at,
                        });
                    }
                    if let (Some(response), true) = (a.response, a.response != b.response) {
                        out.push(EventKind::AppointmentAnswered { appointment_id: a.id, response, at: a.updated_at });
                    }
                }
            }
        }
        Collection::Tasks => {
            let b = before.and_then(|n| Task::from_node(n, &entity).ok());
            let Some(a) = after.and_then(|n| Task::from_node(n, &entity).ok()) else {
                return out;
            };
            let was_done = b.as_ref().is_some_and(|b| b.status == TaskStatus::Done);
            if a.status == TaskStatus::Done && !was_done {
                if let Some(at) = a.done_at {
                    out.push(EventKind::TaskCompleted { task_id: a.id, title: a.title.clone(), at });
                }
            }
            for c in &a.comments {
                if b.as_ref().is_none_or(|b| b.comments.iter().all(|old| old.id != c.id)) {
                    out.push(EventKind::TaskCommented { task_id: a.id, comment_id: c.id });
                }
            }
        }
        Collection::Notices => {}
    }
    out
}

fn place_and_time(a: &Appointment) -> (DateTime<Utc>, i64, &str, Option<&str>, Option<&str>) {
    (a.starts_at, a.duration_minutes, a.modality.as_str(), a.address.as_deref(), a.video_url.as_deref())
}

impl DomainEvent {
    pub fn new(young_person_id: Option<Uuid>, by: Person, kind: EventKind) -> Self {
        let dedup_key = dedup_key(&kind);
        DomainEvent { young_person_id, by, kind, dedup_key }
    }
}

/// The stable key of an event: its kind, its entity, and the values that make it distinct.
pub fn dedup_key(kind: &EventKind) -> String {
    match kind {
        EventKind::ActionCreated { action_id, .. } => format!("action_created:{action_id}"),
        EventKind::ActionCompleted { action_id, at, .. } => {
            format!("action_completed:{action_id}:{}", at.timestamp_millis())
        }
        EventKind::ActionCommented { comment_id, .. } => format!("action_commented:{comment_id}"),
        EventKind::ActionQualified { action_id, .. } => format!("action_qualified:{action_id}"),
        EventKind::AppointmentScheduled { appointment_id, .. } => format!("appointment_scheduled:{appointment_id}"),
        EventKind::AppointmentRescheduled {
            appointment_id,
            starts_at,
            duration_minutes,
            modality,
            address,
            video_url,
            at,
        } => {
            // Each distinct new time and place, at each edit: a replay gives the same key, and two
            // edits never share one (not even within a millisecond, unless they set the same values).
            let place =
                fnv1a(&[modality.as_str(), address.as_deref().unwrap_or(""), video_url.as_deref().unwrap_or("")]);
            format!(
                "appointment_rescheduled:{appointment_id}:{}:{duration_minutes}:{place:016x}:{}",
                starts_at.timestamp_millis(),
                at.timestamp_millis()
            )
        }
        EventKind::AppointmentCanceled { appointment_id } => format!("appointment_canceled:{appointment_id}"),
        EventKind::AppointmentAnswered { appointment_id, response, at } => {
            format!("appointment_answered:{appointment_id}:{}:{}", response.as_str(), at.timestamp_millis())
        }
        EventKind::TaskCompleted { task_id, at, .. } => format!("task_completed:{task_id}:{}", at.timestamp_millis()),
        EventKind::TaskCommented { comment_id, .. } => format!("task_commented:{comment_id}"),
        EventKind::MessageSent { message_id, .. } => format!("message_sent:{message_id}"),
        EventKind::MessageEdited { message_id, at } => format!("message_edited:{message_id}:{}", at.timestamp_millis()),
        EventKind::MessageDeleted { message_id } => format!("message_deleted:{message_id}"),
        EventKind::EditsUndone { notice_id, .. } => format!("edits_undone:{notice_id}"),
    }
}

/// FNV-1a (64 bits) of some texts, separated: a short, stable digest for keys (not a security hash).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0x1f;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in part.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The French sentences of a notice, one per refused effect.
pub fn notice_reasons(refusals: &[(crate::effects::Target, Reason)]) -> Vec<String> {
    refusals
        .iter()
        .map(|(target, reason)| match target.entity() {
            Some((collection, _)) => format!("{} : {reason}", collection_label(collection)),
            None => reason.to_string(),
        })
        .collect()
}

fn collection_label(collection: Collection) -> &'static str {
    match collection {
        Collection::Actions => "Action",
        Collection::Appointments => "Rendez-vous",
        Collection::Tasks => "Démarche",
        Collection::Notices => "Notification",
    }
}
