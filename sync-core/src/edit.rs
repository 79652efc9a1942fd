//! The typed edit API: every operation of the product on a plan, checked by the rulebook before
//! anything is committed. A refused edit leaves the document untouched and says why.

use automerge::ChangeHash;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::document::{DocumentError, PlanDocument};
use crate::events::{DomainEvent, entity_events};
use crate::model::{
    Action, ActionCategory, ActionStatus, Appointment, AppointmentKind, AppointmentResponse, AppointmentStatus,
    Comment, Modality, Presence, Qualification, QualificationCode, Task, TaskKind, TaskStatus, date_node, instant_node,
};
use crate::node::Node;
use crate::rules::{Author, Reason, RuleContext, check_entity};
use crate::schema::{Collection, fields};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{0} introuvable")]
    NotFound(String),
    #[error("modification refusée : {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; "))]
    Refused(Vec<Reason>),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// What an accepted edit did.
#[derive(Clone, Debug, PartialEq)]
pub struct EditOutcome {
    /// The entity edited (or created).
    pub id: Uuid,
    /// The change committed; `None` when there was nothing to change (a repeated creation).
    pub change: Option<ChangeHash>,
    pub events: Vec<DomainEvent>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewAction {
    /// Chosen by the client so that a retried creation is idempotent.
    pub id: Option<Uuid>,
    pub title: String,
    pub category: Option<ActionCategory>,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub status: Option<ActionStatus>,
    pub reminder: Option<bool>,
}

/// A partial update; `Some(None)` clears an optional field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionPatch {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<ActionCategory>,
    pub status: Option<ActionStatus>,
    pub due_date: Option<Option<NaiveDate>>,
    pub reminder: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAppointment {
    pub id: Option<Uuid>,
    pub title: String,
    pub kind: AppointmentKind,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub modality: Modality,
    pub address: Option<String>,
    pub video_url: Option<String>,
    pub comment: Option<String>,
    pub adviser_present: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppointmentPatch {
    pub title: Option<String>,
    pub kind: Option<AppointmentKind>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub modality: Option<Modality>,
    pub address: Option<Option<String>>,
    pub video_url: Option<Option<String>>,
    pub comment: Option<Option<String>>,
    pub adviser_present: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    pub id: Option<Uuid>,
    pub kind: TaskKind,
    pub title: String,
    pub company: Option<String>,
    pub offer_url: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskPatch {
    pub kind: Option<TaskKind>,
    pub title: Option<String>,
    pub company: Option<Option<String>>,
    pub offer_url: Option<Option<String>>,
    pub status: Option<TaskStatus>,
    pub due_date: Option<Option<NaiveDate>>,
    pub notes: Option<Option<String>>,
}

/// Sets `field` from an `Option<Option<T>>` patch value.
fn patch_opt<T>(node: Node, field: &str, value: Option<Option<T>>, to_node: impl Fn(T) -> Node) -> Node {
    match value {
        None => node,
        Some(v) => node.with(field, v.map(to_node)),
    }
}

fn patch<T>(node: Node, field: &str, value: Option<T>, to_node: impl Fn(T) -> Node) -> Node {
    match value {
        None => node,
        Some(v) => node.with(field, to_node(v)),
    }
}

impl PlanDocument {
    /// Runs one edit: `update` turns the entity's current node into the new one; the rulebook
    /// checks every effect; if all are allowed they are written as one change.
    fn edit(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        collection: Collection,
        id: Uuid,
        message: &str,
        update: impl FnOnce(Option<Node>) -> Result<Option<Node>, EditError>,
    ) -> Result<EditOutcome, EditError> {
        let key = id.to_string();
        let before = self.entity_node(collection, &key, None);
        let after = update(before.clone())?;
        let ctx = RuleContext { young_person_id: self.young_person_id(), now };
        let verdicts = check_entity(&ctx, author, collection, &key, before.as_ref(), after.as_ref());
        let refusals: Vec<Reason> = verdicts.iter().filter_map(|v| v.refusal.clone()).collect();
        if !refusals.is_empty() {
            return Err(EditError::Refused(refusals));
        }
        if verdicts.is_empty() {
            return Ok(EditOutcome { id, change: None, events: Vec::new() });
        }
        let written = verdicts.iter().try_for_each(|v| self.write_target(&v.effect.target, v.effect.after.as_ref()));
        if let Err(e) = written {
            self.rollback();
            return Err(e.into());
        }
        let change = self.commit(message, now);
        let events = entity_events(collection, &key, before.as_ref(), after.as_ref())
            .into_iter()
            .map(|kind| DomainEvent::new(ctx.young_person_id, author.person(), kind))
            .collect();
        Ok(EditOutcome { id, change, events })
    }

    /// Changes an existing entity.
    fn update_existing(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        collection: Collection,
        id: Uuid,
        message: &str,
        update: impl FnOnce(Node) -> Result<Node, EditError>,
    ) -> Result<EditOutcome, EditError> {
        let entity = format!("{}/{id}", collection.key());
        self.edit(author, now, collection, id, message, |before| {
            let before = before.ok_or(EditError::NotFound(entity))?;
            update(before).map(Some)
        })
    }

    /// Creates an entity unless one with this id exists already (a retried creation).
    fn create(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        collection: Collection,
        id: Uuid,
        message: &str,
        node: Node,
    ) -> Result<EditOutcome, EditError> {
        self.edit(author, now, collection, id, message, |before| Ok(Some(before.unwrap_or(node))))
    }

    // ---- actions -----------------------------------------------------------------------------

    pub fn create_action(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        new: NewAction,
    ) -> Result<EditOutcome, EditError> {
        let id = new.id.unwrap_or_else(Uuid::new_v4);
        let status = new.status.unwrap_or(ActionStatus::NotStarted);
        let action = Action {
            id,
            title: new.title,
            description: new.description,
            category: new.category.unwrap_or(ActionCategory::ProjetProfessionnel),
            status,
            due_date: new.due_date,
            completed_at: (status == ActionStatus::Done).then_some(now),
            created_by: author.person(),
            created_at: now,
            updated_at: now,
            reminder: new.reminder.unwrap_or(true),
            comments: Vec::new(),
            qualification: None,
        };
        self.create(author, now, Collection::Actions, id, "create action", action.to_node())
    }

    pub fn update_action(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        changes: ActionPatch,
    ) -> Result<EditOutcome, EditError> {
        self.update_existing(author, now, Collection::Actions, id, "update action", |node| {
            let mut node = patch(node, fields::TITLE, changes.title, Node::from);
            node = patch_opt(node, fields::DESCRIPTION, changes.description, Node::from);
            node = patch(node, fields::CATEGORY, changes.category, |c| Node::from(c.as_str()));
            node = patch_opt(node, fields::DUE_DATE, changes.due_date, date_node);
            node = patch(node, fields::REMINDER, changes.reminder, Node::from);
            if let Some(status) = changes.status {
                let was = node.field(fields::STATUS).and_then(Node::as_str).and_then(ActionStatus::parse);
                if was != Some(status) {
                    let completed_at = (status == ActionStatus::Done).then(|| instant_node(now));
                    node =
                        node.with(fields::STATUS, Node::from(status.as_str())).with(fields::COMPLETED_AT, completed_at);
                }
            }
            Ok(node.with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    pub fn complete_action(&mut self, author: &Author, now: DateTime<Utc>, id: Uuid) -> Result<EditOutcome, EditError> {
        let changes = ActionPatch { status: Some(ActionStatus::Done), ..ActionPatch::default() };
        self.update_action(author, now, id, changes)
    }

    pub fn cancel_action(&mut self, author: &Author, now: DateTime<Utc>, id: Uuid) -> Result<EditOutcome, EditError> {
        let changes = ActionPatch { status: Some(ActionStatus::Canceled), ..ActionPatch::default() };
        self.update_action(author, now, id, changes)
    }

    pub fn delete_action(&mut self, author: &Author, now: DateTime<Utc>, id: Uuid) -> Result<EditOutcome, EditError> {
        let entity = format!("actions/{id}");
        self.edit(author, now, Collection::Actions, id, "delete action", |before| match before {
            None => Err(EditError::NotFound(entity)),
            Some(_) => Ok(None),
        })
    }

    /// Adds a comment to an action (`collection` Actions) or a task (Tasks). Returns the comment's id.
    pub fn add_comment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        collection: Collection,
        id: Uuid,
        comment_id: Option<Uuid>,
        text: String,
    ) -> Result<(Uuid, EditOutcome), EditError> {
        let comment = Comment { id: comment_id.unwrap_or_else(Uuid::new_v4), author: author.person(), at: now, text };
        let comment_id = comment.id;
        let outcome = self.update_existing(author, now, collection, id, "comment", |node| {
            let comments = node.field(fields::COMMENTS).cloned().unwrap_or_else(Node::map);
            if comments.field(&comment_id.to_string()).is_some() {
                return Ok(node); // a retried comment
            }
            Ok(node.with(fields::COMMENTS, comments.with(&comment_id.to_string(), comment.to_node())))
        })?;
        Ok((comment_id, outcome))
    }

    pub fn qualify_action(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        code: QualificationCode,
        comment: Option<String>,
    ) -> Result<EditOutcome, EditError> {
        let qualification = Qualification { code, hours: code.hours(), comment, by: author.person(), at: now };
        self.update_existing(author, now, Collection::Actions, id, "qualify action", |node| {
            Ok(node.with(fields::QUALIFICATION, qualification.to_node()))
        })
    }

    // ---- appointments ------------------------------------------------------------------------

    pub fn schedule_appointment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        new: NewAppointment,
    ) -> Result<EditOutcome, EditError> {
        let id = new.id.unwrap_or_else(Uuid::new_v4);
        let appointment = Appointment {
            id,
            title: new.title,
            kind: new.kind,
            starts_at: new.starts_at,
            duration_minutes: new.duration_minutes,
            modality: new.modality,
            address: new.address,
            video_url: new.video_url,
            comment: new.comment,
            adviser_id: author.user_id,
            adviser_present: new.adviser_present.unwrap_or(true),
            status: AppointmentStatus::Scheduled,
            presence: None,
            response: None,
            created_at: now,
            updated_at: now,
        };
        self.create(author, now, Collection::Appointments, id, "schedule appointment", appointment.to_node())
    }

    pub fn update_appointment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        changes: AppointmentPatch,
    ) -> Result<EditOutcome, EditError> {
        self.update_existing(author, now, Collection::Appointments, id, "update appointment", |node| {
            let mut node = patch(node, fields::TITLE, changes.title, Node::from);
            node = patch(node, fields::KIND, changes.kind, |k| Node::from(k.as_str()));
            node = patch(node, fields::STARTS_AT, changes.starts_at, instant_node);
            node = patch(node, fields::DURATION_MINUTES, changes.duration_minutes, Node::Int);
            node = patch(node, fields::MODALITY, changes.modality, |m| Node::from(m.as_str()));
            node = patch_opt(node, fields::ADDRESS, changes.address, Node::from);
            node = patch_opt(node, fields::VIDEO_URL, changes.video_url, Node::from);
            node = patch_opt(node, fields::COMMENT, changes.comment, Node::from);
            node = patch(node, fields::ADVISER_PRESENT, changes.adviser_present, Node::from);
            Ok(node.with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    pub fn cancel_appointment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
    ) -> Result<EditOutcome, EditError> {
        self.update_existing(author, now, Collection::Appointments, id, "cancel appointment", |node| {
            Ok(node
                .with(fields::STATUS, Node::from(AppointmentStatus::Canceled.as_str()))
                .with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    /// Records whether the young person came (once the appointment has started).
    pub fn close_appointment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        presence: Presence,
    ) -> Result<EditOutcome, EditError> {
        self.update_existing(author, now, Collection::Appointments, id, "close appointment", |node| {
            Ok(node.with(fields::PRESENCE, Node::from(presence.as_str())).with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    pub fn answer_appointment(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        response: AppointmentResponse,
    ) -> Result<EditOutcome, EditError> {
        // Answering is the young person's act even when the answer is already the same (the
        // rulebook only sees effects, and an identical answer has none on `response`).
        match author.capacity(self.young_person_id()) {
            crate::rules::Capacity::YoungPerson => {}
            crate::rules::Capacity::Adviser | crate::rules::Capacity::System => {
                return Err(EditError::Refused(vec![Reason::NotAllowed { field: fields::RESPONSE.to_owned() }]));
            }
            _ => return Err(EditError::Refused(vec![Reason::NoAccess])),
        }
        self.update_existing(author, now, Collection::Appointments, id, "answer appointment", |node| {
            Ok(node.with(fields::RESPONSE, Node::from(response.as_str())).with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    // ---- job-search tasks ------------------------------------------------------------------------

    pub fn create_task(&mut self, author: &Author, now: DateTime<Utc>, new: NewTask) -> Result<EditOutcome, EditError> {
        let id = new.id.unwrap_or_else(Uuid::new_v4);
        let task = Task {
            id,
            kind: new.kind,
            title: new.title,
            company: new.company,
            offer_url: new.offer_url,
            status: TaskStatus::ToDo,
            due_date: new.due_date,
            done_at: None,
            notes: new.notes,
            created_by: author.person(),
            created_at: now,
            updated_at: now,
            comments: Vec::new(),
        };
        self.create(author, now, Collection::Tasks, id, "create task", task.to_node())
    }

    pub fn update_task(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        id: Uuid,
        changes: TaskPatch,
    ) -> Result<EditOutcome, EditError> {
        self.update_existing(author, now, Collection::Tasks, id, "update task", |node| {
            let mut node = patch(node, fields::KIND, changes.kind, |k| Node::from(k.as_str()));
            node = patch(node, fields::TITLE, changes.title, Node::from);
            node = patch_opt(node, fields::COMPANY, changes.company, Node::from);
            node = patch_opt(node, fields::OFFER_URL, changes.offer_url, Node::from);
            node = patch_opt(node, fields::DUE_DATE, changes.due_date, date_node);
            node = patch_opt(node, fields::NOTES, changes.notes, Node::from);
            if let Some(status) = changes.status {
                let was = node.field(fields::STATUS).and_then(Node::as_str).and_then(TaskStatus::parse);
                if was != Some(status) {
                    let done_at = (status == TaskStatus::Done).then(|| instant_node(now));
                    node = node.with(fields::STATUS, Node::from(status.as_str())).with(fields::DONE_AT, done_at);
                }
            }
            Ok(node.with(fields::UPDATED_AT, instant_node(now)))
        })
    }

    pub fn complete_task(&mut self, author: &Author, now: DateTime<Utc>, id: Uuid) -> Result<EditOutcome, EditError> {
        let changes = TaskPatch { status: Some(TaskStatus::Done), ..TaskPatch::default() };
        self.update_task(author, now, id, changes)
    }
}
