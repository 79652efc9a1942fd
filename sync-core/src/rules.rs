//! The rulebook: who may change what in a plan, as pure functions over [`Node`]s.
//!
//! The phone runs it before committing an edit; the server runs it on every batch it receives.
//! Given an entity before and after a batch and the author, [`check_entity`] returns one
//! [`Verdict`] per field-level [`Effect`]: allowed, or refused with a [`Reason`].

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::effects::{Effect, Target, diff_entity};
use crate::model::{
    Action, ActionStatus, Appointment, AppointmentStatus, Notice, Person, Qualification, Role, Task, TaskStatus,
    parse_date, parse_instant, parse_uuid,
};
use crate::node::Node;
use crate::schema::{Collection, fields, limits, root};

/// Who writes, and whether they follow this plan as an adviser (portfolio or temporary transfer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub user_id: Uuid,
    pub role: Role,
    /// True when the author is the young person's adviser (their portfolio, or a temporary
    /// transfer). Only the server knows this; the phone of a young person leaves it false.
    pub follows_plan: bool,
}

impl Author {
    pub fn young_person(user_id: Uuid) -> Self {
        Self { user_id, role: Role::YoungPerson, follows_plan: false }
    }

    /// An adviser who follows the plan.
    pub fn adviser(user_id: Uuid) -> Self {
        Self { user_id, role: Role::Adviser, follows_plan: true }
    }

    pub fn new(user_id: Uuid, role: Role, follows_plan: bool) -> Self {
        Self { user_id, role, follows_plan }
    }

    /// The server itself: migrations, notices.
    pub fn system() -> Self {
        Self { user_id: Uuid::nil(), role: Role::System, follows_plan: false }
    }

    /// How the author appears in `created_by`, a comment's `author`, a qualification's `by`.
    pub fn person(&self) -> Person {
        Person { id: self.user_id, role: self.role }
    }

    /// What the author may do with the plan of `owner`.
    pub fn capacity(&self, owner: Option<Uuid>) -> Capacity {
        match self.role {
            Role::System => Capacity::System,
            Role::YoungPerson if owner == Some(self.user_id) => Capacity::YoungPerson,
            Role::Adviser | Role::Supervisor if self.follows_plan => Capacity::Adviser,
            Role::Supervisor => Capacity::Reader,
            _ => Capacity::None,
        }
    }
}

/// What an author is to one plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// The young person whose plan it is.
    YoungPerson,
    /// Their adviser.
    Adviser,
    /// A supervisor of the structure: reads, never writes.
    Reader,
    System,
    /// Anybody else: sees nothing, writes nothing.
    None,
}

/// The facts the rules need besides the entity itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleContext {
    /// The owner of the plan (the document's `young_person_id`).
    pub young_person_id: Option<Uuid>,
    /// The validating clock (the server's, or the phone's).
    pub now: DateTime<Utc>,
}

/// Why an effect is refused. `code()` is stable (APIs, tests); `Display` is the French text shown
/// to the author.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("vous n'avez pas accès à ce plan")]
    NoAccess,
    #[error("votre rôle ne permet pas de modifier « {field} »")]
    NotAllowed { field: String },
    #[error("l'action est qualifiée : elle ne peut plus être modifiée")]
    Qualified,
    #[error("le champ « {field} » ne peut pas être modifié")]
    Immutable { field: String },
    #[error("le champ « {field} » est obligatoire")]
    Missing { field: String },
    #[error("le champ « {field} » dépasse {max} caractères")]
    TooLong { field: String, max: usize },
    #[error("le champ « {field} » est vide")]
    Empty { field: String },
    #[error("le champ « {field} » n'a pas une valeur valide")]
    Invalid { field: String },
    #[error("le champ « {field} » n'existe pas")]
    UnknownField { field: String },
    #[error("la date de réalisation doit être renseignée exactement quand le statut est terminé")]
    CompletionMismatch,
    #[error("seul l'auteur peut supprimer cet élément")]
    NotCreator,
    #[error("une action terminée ou commentée ne peut pas être supprimée")]
    NotDeletable,
    #[error("cet élément ne peut pas être supprimé : annulez-le")]
    CancelInstead,
    #[error("l'auteur indiqué n'est pas vous")]
    WrongAuthor,
    #[error("seule une action terminée peut être qualifiée")]
    QualifyNotDone,
    #[error("le nombre d'heures ne correspond pas au code de qualification")]
    HoursMismatch,
    #[error("le rendez-vous doit avoir lieu entre un an avant et deux ans après sa création")]
    OutOfWindow,
    #[error("la présence ne peut être renseignée qu'une fois le rendez-vous commencé")]
    PresenceTooEarly,
    #[error("le rendez-vous est annulé")]
    AppointmentCanceled,
    #[error("seul l'auteur d'un message peut le modifier ou le supprimer")]
    NotAuthor,
    #[error("la date « {field} » est dans le futur")]
    InFuture { field: String },
    #[error("ce message est supprimé")]
    MessageDeleted,
    #[error("un message ne s'efface pas de la conversation : supprimez-le")]
    NotErasable,
    #[error("la période d'affichage doit finir après son début, dans l'année")]
    BadPeriod,
}

impl Reason {
    /// A stable identifier (used in problem types, notices and tests).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NoAccess => "no_access",
            Reason::NotAllowed { .. } => "not_allowed",
            Reason::Qualified => "qualified",
            Reason::Immutable { .. } => "immutable",
            Reason::Missing { .. } => "missing",
            Reason::TooLong { .. } => "too_long",
            Reason::Empty { .. } => "empty",
            Reason::Invalid { .. } => "invalid",
            Reason::UnknownField { .. } => "unknown_field",
            Reason::CompletionMismatch => "completion_mismatch",
            Reason::NotCreator => "not_creator",
            Reason::NotDeletable => "not_deletable",
            Reason::CancelInstead => "cancel_instead",
            Reason::WrongAuthor => "wrong_author",
            Reason::QualifyNotDone => "qualify_not_done",
            Reason::HoursMismatch => "hours_mismatch",
            Reason::OutOfWindow => "out_of_window",
            Reason::PresenceTooEarly => "presence_too_early",
            Reason::AppointmentCanceled => "appointment_canceled",
            Reason::NotAuthor => "not_author",
            Reason::InFuture { .. } => "in_future",
            Reason::MessageDeleted => "message_deleted",
            Reason::NotErasable => "not_erasable",
            Reason::BadPeriod => "bad_period",
        }
    }

    /// The field the reason is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Reason::NotAllowed { field }
            | Reason::Immutable { field }
            | Reason::Missing { field }
            | Reason::TooLong { field, .. }
            | Reason::Empty { field }
            | Reason::Invalid { field }
            | Reason::UnknownField { field }
            | Reason::InFuture { field } => Some(field),
            _ => None,
        }
    }
}

/// The verdict on one effect.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub effect: Effect,
    pub refusal: Option<Reason>,
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        self.refusal.is_none()
    }
}

type Check = Result<(), Reason>;

/// Checks every effect on one entity.
pub fn check_entity(
    ctx: &RuleContext,
    author: &Author,
    collection: Collection,
    id: &str,
    before: Option<&Node>,
    after: Option<&Node>,
) -> Vec<Verdict> {
    let capacity = author.capacity(ctx.young_person_id);
    diff_entity(collection, id, before, after)
        .into_iter()
        .map(|effect| {
            let refusal = EntityCheck { ctx, author, capacity, collection, id, before, after }.check(&effect).err();
            Verdict { effect, refusal }
        })
        .collect()
}

/// The other fields of the entity that the check of `field` reads (besides the before-state).
///
/// The review uses it to re-admit effects that were refused only together: a status refused
/// because of a refused qualification, a status and its completion date that are valid only as a
/// pair. Keep it in step with [`EntityCheck::validate_field`]; the rule-table test
/// `coupled_fields_name_every_field_a_check_reads` checks it.
pub fn coupled_fields(collection: Collection, field: &str) -> &'static [&'static str] {
    match (collection, field) {
        (Collection::Actions, fields::STATUS) => &[fields::COMPLETED_AT, fields::QUALIFICATION],
        (Collection::Actions, fields::COMPLETED_AT) => &[fields::STATUS, fields::QUALIFICATION],
        (Collection::Actions, fields::QUALIFICATION) => &[fields::STATUS, fields::COMPLETED_AT],
        (Collection::Tasks, fields::STATUS) => &[fields::DONE_AT],
        (Collection::Tasks, fields::DONE_AT) => &[fields::STATUS],
        (Collection::Appointments, fields::STARTS_AT) => &[fields::CREATED_AT, fields::PRESENCE],
        (Collection::Appointments, fields::PRESENCE) => &[fields::STARTS_AT],
        (Collection::Appointments, fields::RESPONSE) => &[fields::STATUS],
        (Collection::Appointments, fields::STATUS) => &[fields::RESPONSE],
        (Collection::Appointments, fields::CREATED_AT) => &[fields::STARTS_AT],
        _ => &[],
    }
}

/// Checks a change to a root key (`schema`, `young_person_id`, unknown keys, or a collection
/// replaced by something that is not a map): only the server writes those.
pub fn check_root(author: &Author, key: &str, before: Option<&Node>, after: Option<&Node>) -> Option<Verdict> {
    let (before, after) = (before.filter(|n| !n.is_null()), after.filter(|n| !n.is_null()));
    if before == after {
        return None;
    }
    let effect =
        Effect { target: Target::Root { key: key.to_owned() }, before: before.cloned(), after: after.cloned() };
    let refusal = if author.role != Role::System {
        Some(Reason::NotAllowed { field: key.to_owned() })
    } else if (Collection::from_key(key).is_some() && after.and_then(Node::as_map).is_none())
        || (key == root::SCHEMA && after.and_then(Node::as_i64).is_none())
    {
        Some(Reason::Invalid { field: key.to_owned() })
    } else {
        None
    };
    Some(Verdict { effect, refusal })
}

struct EntityCheck<'a> {
    ctx: &'a RuleContext,
    author: &'a Author,
    capacity: Capacity,
    collection: Collection,
    id: &'a str,
    before: Option<&'a Node>,
    after: Option<&'a Node>,
}

impl EntityCheck<'_> {
    fn check(&self, effect: &Effect) -> Check {
        if matches!(self.capacity, Capacity::None | Capacity::Reader) {
            return Err(Reason::NoAccess);
        }
        match &effect.target {
            Target::Root { key } => Err(Reason::NotAllowed { field: key.clone() }),
            Target::Entity { .. } => match (&effect.before, &effect.after) {
                (None, Some(after)) => self.check_creation(after),
                (Some(before), None) => self.check_deletion(before),
                _ => Err(Reason::Invalid { field: self.collection.key().to_owned() }),
            },
            Target::Field { field, .. } => self.check_field_change(field, effect),
            Target::Comment { comment_id, .. } => self.check_comment(comment_id, effect),
        }
    }

    // ---- who may do what --------------------------------------------------------------------

    fn may_create(&self) -> bool {
        match self.collection {
            Collection::Actions => matches!(self.capacity, Capacity::YoungPerson | Capacity::Adviser),
            Collection::Appointments => self.capacity == Capacity::Adviser,
            Collection::Tasks => self.capacity == Capacity::YoungPerson,
            Collection::Notices => self.capacity == Capacity::System,
        }
    }

    fn may_edit_field(&self, field: &str) -> bool {
        match (self.collection, self.capacity) {
            (Collection::Actions, Capacity::YoungPerson) => field != fields::QUALIFICATION,
            (Collection::Actions, Capacity::Adviser) => true,
            (Collection::Appointments, Capacity::Adviser) => field != fields::RESPONSE,
            (Collection::Appointments, Capacity::YoungPerson) => {
                field == fields::RESPONSE || field == fields::UPDATED_AT
            }
            (Collection::Tasks, Capacity::YoungPerson) => true,
            _ => false,
        }
    }

    fn is_qualified_before(&self) -> bool {
        self.collection == Collection::Actions && self.before.and_then(|b| b.field(fields::QUALIFICATION)).is_some()
    }

    // ---- creation and deletion -----------------------------------------------------------------

    fn check_creation(&self, after: &Node) -> Check {
        if !self.may_create() {
            return Err(Reason::NotAllowed { field: self.collection.key().to_owned() });
        }
        let map = after.as_map().ok_or_else(|| Reason::Invalid { field: self.collection.key().to_owned() })?;
        for (field, value) in map {
            self.validate_field(field, Some(value), after)?;
        }
        let entity = format!("{}/{}", self.collection.key(), self.id);
        let typed = |e: crate::model::SchemaError| {
            if e.problem == "manquant" {
                Reason::Missing { field: e.field }
            } else {
                Reason::Invalid { field: e.field }
            }
        };
        let me = self.author.person();
        match self.collection {
            Collection::Actions => {
                let action = Action::from_node(after, &entity).map_err(typed)?;
                if action.created_by != me || action.comments.iter().any(|c| c.author != me) {
                    return Err(Reason::WrongAuthor);
                }
                if action.qualification.is_some() {
                    return Err(Reason::NotAllowed { field: fields::QUALIFICATION.to_owned() });
                }
            }
            Collection::Appointments => {
                let appointment = Appointment::from_node(after, &entity).map_err(typed)?;
                if appointment.status != AppointmentStatus::Scheduled {
                    return Err(Reason::Invalid { field: fields::STATUS.to_owned() });
                }
                if appointment.response.is_some() {
                    return Err(Reason::NotAllowed { field: fields::RESPONSE.to_owned() });
                }
                if appointment.created_at > self.ctx.now + Duration::days(1) {
                    return Err(Reason::Invalid { field: fields::CREATED_AT.to_owned() });
                }
            }
            Collection::Tasks => {
                let task = Task::from_node(after, &entity).map_err(typed)?;
                if task.created_by != me || task.comments.iter().any(|c| c.author != me) {
                    return Err(Reason::WrongAuthor);
                }
            }
            Collection::Notices => {
                Notice::from_node(after, &entity).map_err(typed)?;
            }
        }
        Ok(())
    }

    fn check_deletion(&self, before: &Node) -> Check {
        match self.collection {
            Collection::Actions => {
                if !matches!(self.capacity, Capacity::YoungPerson | Capacity::Adviser) {
                    return Err(Reason::NotAllowed { field: self.collection.key().to_owned() });
                }
                let creator = before.field(fields::CREATED_BY).and_then(|p| p.field(fields::ID)).and_then(parse_uuid);
                if creator != Some(self.author.user_id) {
                    return Err(Reason::NotCreator);
                }
                let done = before.field(fields::STATUS).and_then(Node::as_str) == Some(ActionStatus::Done.as_str());
                let commented = before
                    .field(fields::COMMENTS)
                    .and_then(Node::as_map)
                    .is_some_and(|m| m.values().any(|c| !c.is_null()));
                if done || commented || self.is_qualified_before() {
                    return Err(Reason::NotDeletable);
                }
                Ok(())
            }
            _ => Err(Reason::CancelInstead),
        }
    }

    // ---- field changes ---------------------------------------------------------------------------

    fn check_field_change(&self, field: &str, effect: &Effect) -> Check {
        if self.is_qualified_before() {
            return Err(Reason::Qualified);
        }
        if !self.collection.known_fields().contains(&field) {
            return Err(Reason::UnknownField { field: field.to_owned() });
        }
        if matches!(field, fields::ID | fields::CREATED_BY | fields::CREATED_AT) {
            return Err(Reason::Immutable { field: field.to_owned() });
        }
        if !self.may_edit_field(field) {
            return Err(Reason::NotAllowed { field: field.to_owned() });
        }
        if self.collection == Collection::Appointments
            && self.before.and_then(|b| b.field(fields::STATUS)).and_then(Node::as_str)
                == Some(AppointmentStatus::Canceled.as_str())
        {
            return Err(Reason::AppointmentCanceled);
        }
        let after = self.after.ok_or_else(|| Reason::Invalid { field: field.to_owned() })?;
        if field == fields::COMMENTS {
            // The comments map itself was replaced by something that is not a map.
            return Err(Reason::Invalid { field: field.to_owned() });
        }
        self.validate_field(field, effect.after.as_ref(), after)
    }

    fn check_comment(&self, comment_id: &str, effect: &Effect) -> Check {
        if !matches!(self.capacity, Capacity::YoungPerson | Capacity::Adviser) {
            return Err(Reason::NotAllowed { field: fields::COMMENTS.to_owned() });
        }
        if self.is_qualified_before() {
            return Err(Reason::Qualified);
        }
        let (None, Some(comment)) = (&effect.before, &effect.after) else {
            return Err(Reason::Immutable { field: fields::COMMENTS.to_owned() });
        };
        let field = fields::COMMENTS.to_owned();
        let parsed = crate::model::Comment::from_node(comment, "comment").map_err(|_| Reason::Invalid { field })?;
        if parsed.id.to_string() != comment_id {
            return Err(Reason::Invalid { field: fields::ID.to_owned() });
        }
        if parsed.author != self.author.person() {
            return Err(Reason::WrongAuthor);
        }
        if let Some(map) = comment.as_map() {
            if let Some(extra) =
                map.keys().find(|k| ![fields::ID, fields::AUTHOR, fields::AT, fields::TEXT].contains(&k.as_str()))
            {
                return Err(Reason::UnknownField { field: extra.clone() });
            }
        }
        text(fields::TEXT, Some(comment.field(fields::TEXT).unwrap_or(&Node::Null)), true, limits::COMMENT)
    }

    // ---- values ----------------------------------------------------------------------------------

    /// Checks the value of one field in the context of the whole entity after the batch.
    fn validate_field(&self, field: &str, value: Option<&Node>, entity: &Node) -> Check {
        let value = value.filter(|n| !n.is_null());
        let invalid = || Reason::Invalid { field: field.to_owned() };
        use Collection::*;
        match (self.collection, field) {
            (_, fields::ID) => match value.and_then(parse_uuid) {
                Some(id) if id.to_string() == self.id => Ok(()),
                _ => Err(invalid()),
            },
            (Actions | Appointments | Tasks, fields::TITLE) => text(field, value, true, limits::TITLE),
            (Actions, fields::DESCRIPTION) | (Tasks, fields::NOTES) => text(field, value, false, limits::DESCRIPTION),
            (Appointments, fields::COMMENT) => text(field, value, false, limits::COMMENT),
            (Appointments, fields::ADDRESS) | (Tasks, fields::COMPANY) => text(field, value, false, limits::SHORT_TEXT),
            (Appointments, fields::VIDEO_URL) | (Tasks, fields::OFFER_URL) => {
                text(field, value, false, limits::URL)?;
                match value.and_then(Node::as_str) {
                    Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => Err(invalid()),
                    _ => Ok(()),
                }
            }
            (Actions, fields::CATEGORY) => enumerated(field, value, true, crate::model::ActionCategory::parse),
            (Actions, fields::STATUS | fields::COMPLETED_AT) => {
                enumerated(fields::STATUS, entity.field(fields::STATUS), true, ActionStatus::parse)?;
                optional(fields::COMPLETED_AT, entity.field(fields::COMPLETED_AT), parse_instant)?;
                let done = entity.field(fields::STATUS).and_then(Node::as_str) == Some(ActionStatus::Done.as_str());
                if done != entity.field(fields::COMPLETED_AT).is_some() {
                    return Err(Reason::CompletionMismatch);
                }
                if field == fields::STATUS && !done && entity.field(fields::QUALIFICATION).is_some() {
                    return Err(Reason::Qualified);
                }
                Ok(())
            }
            (Tasks, fields::STATUS | fields::DONE_AT) => {
                enumerated(fields::STATUS, entity.field(fields::STATUS), true, TaskStatus::parse)?;
                optional(fields::DONE_AT, entity.field(fields::DONE_AT), parse_instant)?;
                let done = entity.field(fields::STATUS).and_then(Node::as_str) == Some(TaskStatus::Done.as_str());
                if done != entity.field(fields::DONE_AT).is_some() {
                    return Err(Reason::CompletionMismatch);
                }
                Ok(())
            }
            (Actions | Tasks, fields::DUE_DATE) => optional(field, value, parse_date),
            (Actions | Tasks | Appointments, fields::CREATED_AT | fields::UPDATED_AT) | (Notices, fields::AT) => {
                required(field, value, parse_instant)
            }
            (Actions | Tasks, fields::CREATED_BY) => {
                let person = value.ok_or_else(|| Reason::Missing { field: field.to_owned() })?;
                let id = person.field(fields::ID).and_then(parse_uuid);
                let role = person.field(fields::ROLE).and_then(Node::as_str).and_then(Role::parse);
                if id.is_none() || role.is_none() { Err(invalid()) } else { Ok(()) }
            }
            (Actions, fields::REMINDER) | (Appointments, fields::ADVISER_PRESENT) => match value {
                None => Ok(()),
                Some(v) => v.as_bool().map(|_| ()).ok_or_else(invalid),
            },
            (Actions | Tasks, fields::COMMENTS) => match value {
                None => Ok(()),
                Some(v) => v.as_map().map(|_| ()).ok_or_else(invalid),
            },
            (Actions, fields::QUALIFICATION) => self.validate_qualification(value, entity),
            (Appointments, fields::KIND) => enumerated(field, value, true, crate::model::AppointmentKind::parse),
            (Tasks, fields::KIND) => enumerated(field, value, true, crate::model::TaskKind::parse),
            (Appointments, fields::MODALITY) => enumerated(field, value, true, crate::model::Modality::parse),
            (Appointments, fields::STATUS) => enumerated(field, value, true, AppointmentStatus::parse),
            (Appointments, fields::STARTS_AT) => {
                let starts_at = required(field, value, parse_instant)
                    .and_then(|_| value.and_then(parse_instant).ok_or_else(invalid))?;
                let created_at = entity.field(fields::CREATED_AT).and_then(parse_instant).unwrap_or(self.ctx.now);
                if starts_at < created_at - Duration::days(365) || starts_at > created_at + Duration::days(2 * 365) {
                    return Err(Reason::OutOfWindow);
                }
                Ok(())
            }
            (Appointments, fields::DURATION_MINUTES) => match value.and_then(Node::as_i64) {
                Some(m) if (1..=limits::MAX_DURATION_MINUTES).contains(&m) => Ok(()),
                _ => Err(invalid()),
            },
            (Appointments, fields::ADVISER_ID) | (Notices, fields::FOR_USER) => required(field, value, parse_uuid),
            (Appointments, fields::PRESENCE) => {
                optional(field, value, |n| n.as_str().and_then(crate::model::Presence::parse))?;
                if value.is_some() {
                    let starts_at = entity.field(fields::STARTS_AT).and_then(parse_instant);
                    if starts_at.is_none_or(|s| s > self.ctx.now) {
                        return Err(Reason::PresenceTooEarly);
                    }
                }
                Ok(())
            }
            (Appointments, fields::RESPONSE) => {
                optional(field, value, |n| n.as_str().and_then(crate::model::AppointmentResponse::parse))?;
                if entity.field(fields::STATUS).and_then(Node::as_str) != Some(AppointmentStatus::Scheduled.as_str()) {
                    return Err(Reason::AppointmentCanceled);
                }
                Ok(())
            }
            (Notices, fields::REASONS) => match value {
                Some(Node::List(items)) if items.iter().all(|i| i.as_str().is_some()) => Ok(()),
                _ => Err(invalid()),
            },
            _ => Err(Reason::UnknownField { field: field.to_owned() }),
        }
    }

    fn validate_qualification(&self, value: Option<&Node>, entity: &Node) -> Check {
        let field = || fields::QUALIFICATION.to_owned();
        let Some(value) = value else {
            return Ok(());
        };
        if self.capacity != Capacity::Adviser {
            return Err(Reason::NotAllowed { field: field() });
        }
        let q = Qualification::from_node(value, "action").map_err(|_| Reason::Invalid { field: field() })?;
        if let Some(map) = value.as_map() {
            let known = [fields::CODE, fields::HOURS, fields::COMMENT, fields::BY, fields::AT];
            if let Some(extra) = map.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(Reason::UnknownField { field: extra.clone() });
            }
        }
        if q.hours != q.code.hours() {
            return Err(Reason::HoursMismatch);
        }
        if q.by != self.author.person() {
            return Err(Reason::WrongAuthor);
        }
        text(fields::COMMENT, value.field(fields::COMMENT), false, limits::COMMENT)?;
        if entity.field(fields::STATUS).and_then(Node::as_str) != Some(ActionStatus::Done.as_str()) {
            return Err(Reason::QualifyNotDone);
        }
        Ok(())
    }
}

pub(crate) fn text(field: &str, value: Option<&Node>, required: bool, max: usize) -> Result<(), Reason> {
    match value.filter(|n| !n.is_null()) {
        None if required => Err(Reason::Missing { field: field.to_owned() }),
        None => Ok(()),
        Some(node) => {
            let s = node.as_str().ok_or_else(|| Reason::Invalid { field: field.to_owned() })?;
            if required && s.trim().is_empty() {
                return Err(Reason::Empty { field: field.to_owned() });
            }
            if s.chars().count() > max {
                return Err(Reason::TooLong { field: field.to_owned(), max });
            }
            Ok(())
        }
    }
}

fn enumerated<T>(field: &str, value: Option<&Node>, required: bool, parse: fn(&str) -> Option<T>) -> Check {
    match value.filter(|n| !n.is_null()) {
        None if required => Err(Reason::Missing { field: field.to_owned() }),
        None => Ok(()),
        Some(n) => n.as_str().and_then(parse).map(|_| ()).ok_or_else(|| Reason::Invalid { field: field.to_owned() }),
    }
}

fn optional<T>(field: &str, value: Option<&Node>, parse: impl Fn(&Node) -> Option<T>) -> Check {
    match value.filter(|n| !n.is_null()) {
        None => Ok(()),
        Some(n) => parse(n).map(|_| ()).ok_or_else(|| Reason::Invalid { field: field.to_owned() }),
    }
}

fn required<T>(field: &str, value: Option<&Node>, parse: impl Fn(&Node) -> Option<T>) -> Check {
    match value.filter(|n| !n.is_null()) {
        None => Err(Reason::Missing { field: field.to_owned() }),
        Some(n) => parse(n).map(|_| ()).ok_or_else(|| Reason::Invalid { field: field.to_owned() }),
    }
}
