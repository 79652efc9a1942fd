//! The plan as the apps see it: sync-core's closed enums as remote types, its records mirrored with
//! string ids, `"YYYY-MM-DD"` dates and RFC 3339 instants.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use crate::error::MobileError;
use sync_core::client::local_store::Recovery as CoreRecovery;
use sync_core::client::{Agenda as CoreAgenda, SyncReport as CoreSyncReport};
use sync_core::edit as core_edit;
use sync_core::model as core;

// ---- closed enums (remote: the compiler checks these lists against sync-core's) ------------------

pub use sync_core::client::Platform;
pub use sync_core::model::{
    ActionCategory, ActionStatus, AppointmentKind, AppointmentResponse, AppointmentStatus, Modality, Presence,
    QualificationCode, Role, TaskKind, TaskStatus,
};

#[uniffi::remote(Enum)]
pub enum Role {
    YoungPerson,
    Adviser,
    Supervisor,
    Admin,
    System,
}

#[uniffi::remote(Enum)]
pub enum ActionCategory {
    Emploi,
    ProjetProfessionnel,
    CultureSportLoisirs,
    Citoyennete,
    Formation,
    Logement,
    Sante,
}

#[uniffi::remote(Enum)]
pub enum ActionStatus {
    NotStarted,
    InProgress,
    Done,
    Canceled,
}

#[uniffi::remote(Enum)]
pub enum QualificationCode {
    Emploi,
    ProjetProfessionnel,
    CultureSportLoisirs,
    Citoyennete,
    Formation,
    Logement,
    Sante,
    NonSnp,
}

#[uniffi::remote(Enum)]
pub enum AppointmentKind {
    EntretienIndividuelConseiller,
    Atelier,
    InformationCollective,
    EntretienPartenaire,
    Visite,
    Prestation,
    ActiviteExterieure,
    Autre,
}

#[uniffi::remote(Enum)]
pub enum Modality {
    InPerson,
    Phone,
    Video,
}

#[uniffi::remote(Enum)]
pub enum AppointmentStatus {
    Scheduled,
    Canceled,
}

#[uniffi::remote(Enum)]
pub enum Presence {
    Present,
    Absent,
}

#[uniffi::remote(Enum)]
pub enum AppointmentResponse {
    Accepted,
    Declined,
}

#[uniffi::remote(Enum)]
pub enum TaskKind {
    Application,
    SpontaneousApplication,
    Networking,
    JobFair,
    TrainingSearch,
    ImmersionRequest,
    Other,
}

#[uniffi::remote(Enum)]
pub enum TaskStatus {
    ToDo,
    InProgress,
    Done,
    Canceled,
}

/// The phone's platform, for its push token.
#[uniffi::remote(Enum)]
pub enum Platform {
    Android,
    Ios,
}

// ---- conversions of scalars ----------------------------------------------------------------------

pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn opt_instant(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(instant)
}

pub(crate) fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_uuid(text: &str, what: &str) -> Result<Uuid, MobileError> {
    Uuid::parse_str(text.trim()).map_err(|_| MobileError::invalid(format!("{what} : identifiant invalide « {text} »")))
}

fn parse_opt_uuid(text: Option<String>, what: &str) -> Result<Option<Uuid>, MobileError> {
    text.map(|t| parse_uuid(&t, what)).transpose()
}

pub(crate) fn parse_date(text: &str, what: &str) -> Result<NaiveDate, MobileError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| MobileError::invalid(format!("{what} : date invalide « {text} » (attendu AAAA-MM-JJ)")))
}

fn parse_opt_date(text: Option<String>, what: &str) -> Result<Option<NaiveDate>, MobileError> {
    text.map(|t| parse_date(&t, what)).transpose()
}

/// A patch's optional text: absent = unchanged, empty = cleared.
fn patch_text(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| if v.is_empty() { None } else { Some(v) })
}

/// A patch's optional date: absent = unchanged, empty = cleared.
fn patch_date(value: Option<String>, what: &str) -> Result<Option<Option<NaiveDate>>, MobileError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(Some(None)),
        Some(v) => parse_date(&v, what).map(|d| Some(Some(d))),
    }
}

// ---- the plan --------------------------------------------------------------------------------------

/// Someone who did something in the plan.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Person {
    pub id: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Comment {
    pub id: String,
    pub author: Person,
    /// RFC 3339.
    pub at: String,
    pub text: String,
}

/// The adviser's qualification of a done action (the action is then locked).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Qualification {
    pub code: QualificationCode,
    pub hours: i64,
    pub comment: Option<String>,
    pub by: Person,
    /// RFC 3339.
    pub at: String,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Action {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub category: ActionCategory,
    pub status: ActionStatus,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// RFC 3339, set when done.
    pub completed_at: Option<String>,
    pub created_by: Person,
    pub created_at: String,
    pub updated_at: String,
    pub reminder: bool,
    /// Oldest first.
    pub comments: Vec<Comment>,
    pub qualification: Option<Qualification>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Appointment {
    pub id: String,
    pub title: String,
    pub kind: AppointmentKind,
    /// RFC 3339.
    pub starts_at: String,
    pub duration_minutes: i64,
    pub modality: Modality,
    pub address: Option<String>,
    pub video_url: Option<String>,
    pub comment: Option<String>,
    pub adviser_id: String,
    pub adviser_present: bool,
    pub status: AppointmentStatus,
    pub presence: Option<Presence>,
    pub response: Option<AppointmentResponse>,
    pub created_at: String,
    pub updated_at: String,
}

/// A job-search task (application, networking, immersion…).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Task {
    pub id: String,
    pub kind: TaskKind,
    pub title: String,
    pub company: Option<String>,
    pub offer_url: Option<String>,
    pub status: TaskStatus,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    pub done_at: Option<String>,
    pub notes: Option<String>,
    pub created_by: Person,
    pub created_at: String,
    pub updated_at: String,
    /// The adviser's comments, oldest first.
    pub comments: Vec<Comment>,
}

/// Written by the server when it undid some of the young person's offline edits: one French
/// sentence per undone edit, to show once.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Notice {
    pub id: String,
    pub for_user: String,
    /// RFC 3339.
    pub at: String,
    pub reasons: Vec<String>,
}

/// The whole plan.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub appointments: Vec<Appointment>,
    pub tasks: Vec<Task>,
    pub notices: Vec<Notice>,
}

/// One day of the young person's plan, in their time zone.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Agenda {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Open actions due that day.
    pub actions_due: Vec<Action>,
    /// Open actions whose due date has passed.
    pub overdue_actions: Vec<Action>,
    /// Appointments (not canceled) starting that day, earliest first.
    pub appointments: Vec<Appointment>,
}

/// What one background sync did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub rounds: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Changes from elsewhere arrived (refresh the screens).
    pub plan_changed: bool,
    /// Messages from elsewhere arrived.
    pub messages_changed: bool,
    /// Local changes the server still does not hold (0 after a complete sync).
    pub pending_changes: u64,
}

/// What opening the local store had to repair (for diagnostics).
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct Recovery {
    /// Bytes cut off torn or corrupt logs.
    pub truncated_bytes: u64,
    /// Snapshots that did not check and were set aside.
    pub corrupt_snapshots: u32,
}

impl From<core::Person> for Person {
    fn from(p: core::Person) -> Self {
        Person { id: p.id.to_string(), role: p.role }
    }
}

impl From<core::Comment> for Comment {
    fn from(c: core::Comment) -> Self {
        Comment { id: c.id.to_string(), author: c.author.into(), at: instant(c.at), text: c.text }
    }
}

fn comments(list: Vec<core::Comment>) -> Vec<Comment> {
    list.into_iter().map(Comment::from).collect()
}

impl From<core::Qualification> for Qualification {
    fn from(q: core::Qualification) -> Self {
        Qualification { code: q.code, hours: q.hours, comment: q.comment, by: q.by.into(), at: instant(q.at) }
    }
}

impl From<core::Action> for Action {
    fn from(a: core::Action) -> Self {
        Action {
            id: a.id.to_string(),
            title: a.title,
            description: a.description,
            category: a.category,
            status: a.status,
            due_date: a.due_date.map(date),
            completed_at: opt_instant(a.completed_at),
            created_by: a.created_by.into(),
            created_at: instant(a.created_at),
            updated_at: instant(a.updated_at),
            reminder: a.reminder,
            comments: comments(a.comments),
            qualification: a.qualification.map(Qualification::from),
        }
    }
}

impl From<core::Appointment> for Appointment {
    fn from(a: core::Appointment) -> Self {
        Appointment {
            id: a.id.to_string(),
            title: a.title,
            kind: a.kind,
            starts_at: instant(a.starts_at),
            duration_minutes: a.duration_minutes,
            modality: a.modality,
            address: a.address,
            video_url: a.video_url,
            comment: a.comment,
            adviser_id: a.adviser_id.to_string(),
            adviser_present: a.adviser_present,
            status: a.status,
            presence: a.presence,
            response: a.response,
            created_at: instant(a.created_at),
            updated_at: instant(a.updated_at),
        }
    }
}

impl From<core::Task> for Task {
    fn from(t: core::Task) -> Self {
        Task {
            id: t.id.to_string(),
            kind: t.kind,
            title: t.title,
            company: t.company,
            offer_url: t.offer_url,
            status: t.status,
            due_date: t.due_date.map(date),
            done_at: opt_instant(t.done_at),
            notes: t.notes,
            created_by: t.created_by.into(),
            created_at: instant(t.created_at),
            updated_at: instant(t.updated_at),
            comments: comments(t.comments),
        }
    }
}

impl From<core::Notice> for Notice {
    fn from(n: core::Notice) -> Self {
        Notice { id: n.id.to_string(), for_user: n.for_user.to_string(), at: instant(n.at), reasons: n.reasons }
    }
}

pub(crate) fn list<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

impl From<core::Plan> for Plan {
    fn from(p: core::Plan) -> Self {
        Plan {
            actions: list(p.actions),
            appointments: list(p.appointments),
            tasks: list(p.tasks),
            notices: list(p.notices),
        }
    }
}

impl From<CoreAgenda> for Agenda {
    fn from(a: CoreAgenda) -> Self {
        Agenda {
            day: date(a.day),
            actions_due: list(a.actions_due),
            overdue_actions: list(a.overdue_actions),
            appointments: list(a.appointments),
        }
    }
}

impl From<CoreSyncReport> for SyncReport {
    fn from(r: CoreSyncReport) -> Self {
        SyncReport {
            rounds: r.rounds,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            plan_changed: r.plan_changed,
            messages_changed: r.messages_changed,
            pending_changes: r.pending_changes as u64,
        }
    }
}

impl From<CoreRecovery> for Recovery {
    fn from(r: CoreRecovery) -> Self {
        Recovery { truncated_bytes: r.truncated_bytes, corrupt_snapshots: r.corrupt_snapshots }
    }
}

// ---- edit inputs -----------------------------------------------------------------------------------

/// A new action. `id` (a UUID chosen by the app) makes a retried creation idempotent.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewAction {
    pub title: String,
    #[uniffi(default)]
    pub id: Option<String>,
    /// Default: `ProjetProfessionnel`.
    #[uniffi(default)]
    pub category: Option<ActionCategory>,
    #[uniffi(default)]
    pub description: Option<String>,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub due_date: Option<String>,
    /// Default: `NotStarted`.
    #[uniffi(default)]
    pub status: Option<ActionStatus>,
    /// Default: `true`.
    #[uniffi(default)]
    pub reminder: Option<bool>,
}

/// A partial update of an action: absent = unchanged; for `description` and `due_date`, an empty
/// string clears the value.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ActionPatch {
    #[uniffi(default)]
    pub title: Option<String>,
    #[uniffi(default)]
    pub description: Option<String>,
    #[uniffi(default)]
    pub category: Option<ActionCategory>,
    #[uniffi(default)]
    pub status: Option<ActionStatus>,
    /// `YYYY-MM-DD`, or `""` to clear.
    #[uniffi(default)]
    pub due_date: Option<String>,
    #[uniffi(default)]
    pub reminder: Option<bool>,
}

/// A new job-search task. `id` (a UUID chosen by the app) makes a retried creation idempotent.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewTask {
    pub kind: TaskKind,
    pub title: String,
    #[uniffi(default)]
    pub id: Option<String>,
    #[uniffi(default)]
    pub company: Option<String>,
    #[uniffi(default)]
    pub offer_url: Option<String>,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub due_date: Option<String>,
    #[uniffi(default)]
    pub notes: Option<String>,
}

/// A partial update of a task: absent = unchanged; for `company`, `offer_url`, `due_date` and
/// `notes`, an empty string clears the value.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct TaskPatch {
    #[uniffi(default)]
    pub kind: Option<TaskKind>,
    #[uniffi(default)]
    pub title: Option<String>,
    #[uniffi(default)]
    pub company: Option<String>,
    #[uniffi(default)]
    pub offer_url: Option<String>,
    #[uniffi(default)]
    pub status: Option<TaskStatus>,
    /// `YYYY-MM-DD`, or `""` to clear.
    #[uniffi(default)]
    pub due_date: Option<String>,
    #[uniffi(default)]
    pub notes: Option<String>,
}

impl TryFrom<NewAction> for core_edit::NewAction {
    type Error = MobileError;
    fn try_from(n: NewAction) -> Result<Self, MobileError> {
        Ok(core_edit::NewAction {
            id: parse_opt_uuid(n.id, "action")?,
            title: n.title,
            category: n.category,
            description: n.description,
            due_date: parse_opt_date(n.due_date, "échéance")?,
            status: n.status,
            reminder: n.reminder,
        })
    }
}

impl TryFrom<ActionPatch> for core_edit::ActionPatch {
    type Error = MobileError;
    fn try_from(p: ActionPatch) -> Result<Self, MobileError> {
        Ok(core_edit::ActionPatch {
            title: p.title,
            description: patch_text(p.description),
            category: p.category,
            status: p.status,
            due_date: patch_date(p.due_date, "échéance")?,
            reminder: p.reminder,
        })
    }
}

impl TryFrom<NewTask> for core_edit::NewTask {
    type Error = MobileError;
    fn try_from(n: NewTask) -> Result<Self, MobileError> {
        Ok(core_edit::NewTask {
            id: parse_opt_uuid(n.id, "démarche")?,
            kind: n.kind,
            title: n.title,
            company: n.company,
            offer_url: n.offer_url,
            due_date: parse_opt_date(n.due_date, "échéance")?,
            notes: n.notes,
        })
    }
}

impl TryFrom<TaskPatch> for core_edit::TaskPatch {
    type Error = MobileError;
    fn try_from(p: TaskPatch) -> Result<Self, MobileError> {
        Ok(core_edit::TaskPatch {
            kind: p.kind,
            title: p.title,
            company: patch_text(p.company),
            offer_url: patch_text(p.offer_url),
            status: p.status,
            due_date: patch_date(p.due_date, "échéance")?,
            notes: patch_text(p.notes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_clears_with_an_empty_string_and_keeps_with_none() {
        let patch =
            ActionPatch { description: Some(String::new()), due_date: Some("2026-12-05".into()), ..Default::default() };
        let core: core_edit::ActionPatch = patch.try_into().unwrap();
        assert_eq!(core.description, Some(None));
        assert_eq!(core.due_date, Some(NaiveDate::from_ymd_opt(2026, 12, 5)));
        assert_eq!(core.title, None);
        let cleared: core_edit::TaskPatch =
            TaskPatch { due_date: Some(String::new()), ..Default::default() }.try_into().unwrap();
        assert_eq!(cleared.due_date, Some(None));
    }

    #[test]
    fn bad_dates_and_ids_are_invalid_input_in_french() {
        let new = NewAction {
            title: "CV".into(),
            id: None,
            category: None,
            description: None,
            due_date: Some("05/12/2026".into()),
            status: None,
            reminder: None,
        };
        let err = core_edit::NewAction::try_from(new).unwrap_err();
        assert!(matches!(&err, MobileError::InvalidInput { reason } if reason.contains("AAAA-MM-JJ")), "{err}");
        assert!(matches!(parse_uuid("pas-un-uuid", "action"), Err(MobileError::InvalidInput { .. })));
    }
}
