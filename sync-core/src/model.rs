//! The typed plan: actions, appointments, job-search tasks and the notices of undone edits.
//!
//! These types are what the server's REST API, the projections and the mobile client read. They
//! are built from [`Node`]s (see [`crate::schema`] for the keys) and turned back into nodes when an
//! entity is created.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::node::Node;
use crate::schema::fields;

/// Declares a closed enum stored as a string in the document and on the wire.
macro_rules! closed_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            // utoipa reads serde's `rename` only as a plain literal token, which a macro's `$text`
            // is not: its own `rename` says it again.
            $($(#[$vmeta])* #[serde(rename = $text)] #[cfg_attr(feature = "openapi", schema(rename = $text))] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in the document and on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the exact spelling of [`Self::as_str`].
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_enum;

closed_enum!(
    /// Who someone is in the service.
    Role {
        YoungPerson => "young_person",
        Adviser => "adviser",
        Supervisor => "supervisor",
        Admin => "admin",
        /// The server itself (compensating changes, notices, migrations).
        System => "system",
    }
);

closed_enum!(ActionCategory {
    Emploi => "EMPLOI",
    ProjetProfessionnel => "PROJET_PROFESSIONNEL",
    CultureSportLoisirs => "CULTURE_SPORT_LOISIRS",
    Citoyennete => "CITOYENNETE",
    Formation => "FORMATION",
    Logement => "LOGEMENT",
    Sante => "SANTE",
});

closed_enum!(ActionStatus {
    NotStarted => "not_started",
    InProgress => "in_progress",
    Done => "done",
    Canceled => "canceled",
});

closed_enum!(
    /// The qualification categories (SNP) of a done action.
    QualificationCode {
        Emploi => "EMPLOI",
        ProjetProfessionnel => "PROJET_PROFESSIONNEL",
        CultureSportLoisirs => "CULTURE_SPORT_LOISIRS",
        Citoyennete => "CITOYENNETE",
        Formation => "FORMATION",
        Logement => "LOGEMENT",
        Sante => "SANTE",
        NonSnp => "NON_SNP",
    }
);

impl QualificationCode {
    /// The hours a qualification counts, fixed by its code.
    pub fn hours(self) -> i64 {
        match self {
            QualificationCode::Emploi | QualificationCode::Formation => 3,
            QualificationCode::NonSnp => 0,
            _ => 2,
        }
    }
}

closed_enum!(AppointmentKind {
    EntretienIndividuelConseiller => "ENTRETIEN_INDIVIDUEL_CONSEILLER",
    Atelier => "ATELIER",
    InformationCollective => "INFORMATION_COLLECTIVE",
    EntretienPartenaire => "ENTRETIEN_PARTENAIRE",
    Visite => "VISITE",
    Prestation => "PRESTATION",
    ActiviteExterieure => "ACTIVITE_EXTERIEURE",
    Autre => "AUTRE",
});

closed_enum!(Modality {
    InPerson => "in_person",
    Phone => "phone",
    Video => "video",
});

closed_enum!(AppointmentStatus {
    Scheduled => "scheduled",
    Canceled => "canceled",
});

closed_enum!(Presence {
    Present => "present",
    Absent => "absent",
});

closed_enum!(AppointmentResponse {
    Accepted => "accepted",
    Declined => "declined",
});

closed_enum!(TaskKind {
    Application => "APPLICATION",
    SpontaneousApplication => "SPONTANEOUS_APPLICATION",
    Networking => "NETWORKING",
    JobFair => "JOB_FAIR",
    TrainingSearch => "TRAINING_SEARCH",
    ImmersionRequest => "IMMERSION_REQUEST",
    Other => "OTHER",
});

closed_enum!(TaskStatus {
    ToDo => "to_do",
    InProgress => "in_progress",
    Done => "done",
    Canceled => "canceled",
});

/// Someone who did something in the plan: `created_by`, a comment's author, a qualification's `by`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    pub id: Uuid,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: Uuid,
    pub author: Person,
    pub at: DateTime<Utc>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Qualification {
    pub code: QualificationCode,
    pub hours: i64,
    pub comment: Option<String>,
    pub by: Person,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Action {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub category: ActionCategory,
    pub status: ActionStatus,
    pub due_date: Option<NaiveDate>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Person,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub reminder: bool,
    /// Oldest first.
    pub comments: Vec<Comment>,
    pub qualification: Option<Qualification>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appointment {
    pub id: Uuid,
    pub title: String,
    pub kind: AppointmentKind,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub modality: Modality,
    pub address: Option<String>,
    pub video_url: Option<String>,
    pub comment: Option<String>,
    pub adviser_id: Uuid,
    pub adviser_present: bool,
    pub status: AppointmentStatus,
    pub presence: Option<Presence>,
    pub response: Option<AppointmentResponse>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: Uuid,
    pub kind: TaskKind,
    pub title: String,
    pub company: Option<String>,
    pub offer_url: Option<String>,
    pub status: TaskStatus,
    pub due_date: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub created_by: Person,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The adviser's comments, oldest first.
    pub comments: Vec<Comment>,
}

/// A notice written by the server when it undid some of an author's offline edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: Uuid,
    /// The author whose edits were undone.
    pub for_user: Uuid,
    pub at: DateTime<Utc>,
    /// One French sentence per undone edit.
    pub reasons: Vec<String>,
}

/// The whole plan of one young person, as read from the document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub young_person_id: Option<Uuid>,
    pub actions: Vec<Action>,
    pub appointments: Vec<Appointment>,
    pub tasks: Vec<Task>,
    pub notices: Vec<Notice>,
    /// Entities that could not be read (wrong types, missing fields): left out of the lists above
    /// and reported here, never a panic.
    pub unreadable: Vec<SchemaError>,
}

/// Why an entity of the document could not be read as its type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{entity}: champ « {field} » {problem}")]
pub struct SchemaError {
    /// `actions/<id>`, `appointments/<id>`…
    pub entity: String,
    pub field: String,
    pub problem: String,
}

// ---- reading fields ------------------------------------------------------------------------

/// Reads typed fields of one entity node, recording the first problem.
pub(crate) struct FieldReader<'a> {
    node: &'a Node,
    entity: String,
}

impl<'a> FieldReader<'a> {
    pub(crate) fn new(node: &'a Node, entity: String) -> Self {
        Self { node, entity }
    }

    fn error(&self, field: &str, problem: &str) -> SchemaError {
        SchemaError { entity: self.entity.clone(), field: field.to_owned(), problem: problem.to_owned() }
    }

    fn get(&self, field: &str) -> Result<&'a Node, SchemaError> {
        self.node.field(field).ok_or_else(|| self.error(field, "manquant"))
    }

    pub(crate) fn string(&self, field: &str) -> Result<String, SchemaError> {
        self.get(field)?.as_str().map(str::to_owned).ok_or_else(|| self.error(field, "n'est pas un texte"))
    }

    pub(crate) fn opt_string(&self, field: &str) -> Result<Option<String>, SchemaError> {
        match self.node.field(field) {
            None => Ok(None),
            Some(n) => n.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| self.error(field, "n'est pas un texte")),
        }
    }

    pub(crate) fn uuid(&self, field: &str) -> Result<Uuid, SchemaError> {
        parse_uuid(self.get(field)?).ok_or_else(|| self.error(field, "n'est pas un UUID"))
    }

    pub(crate) fn bool_or(&self, field: &str, default: bool) -> Result<bool, SchemaError> {
        match self.node.field(field) {
            None => Ok(default),
            Some(n) => n.as_bool().ok_or_else(|| self.error(field, "n'est pas un booléen")),
        }
    }

    pub(crate) fn int(&self, field: &str) -> Result<i64, SchemaError> {
        self.get(field)?.as_i64().ok_or_else(|| self.error(field, "n'est pas un entier"))
    }

    pub(crate) fn instant(&self, field: &str) -> Result<DateTime<Utc>, SchemaError> {
        parse_instant(self.get(field)?).ok_or_else(|| self.error(field, "n'est pas un instant RFC 3339"))
    }

    pub(crate) fn opt_instant(&self, field: &str) -> Result<Option<DateTime<Utc>>, SchemaError> {
        match self.node.field(field) {
            None => Ok(None),
            Some(n) => parse_instant(n).map(Some).ok_or_else(|| self.error(field, "n'est pas un instant RFC 3339")),
        }
    }

    pub(crate) fn opt_date(&self, field: &str) -> Result<Option<NaiveDate>, SchemaError> {
        match self.node.field(field) {
            None => Ok(None),
            Some(n) => parse_date(n).map(Some).ok_or_else(|| self.error(field, "n'est pas une date AAAA-MM-JJ")),
        }
    }

    pub(crate) fn enumerated<T>(&self, field: &str, parse: fn(&str) -> Option<T>) -> Result<T, SchemaError> {
        self.get(field)?.as_str().and_then(parse).ok_or_else(|| self.error(field, "n'a pas une valeur permise"))
    }

    pub(crate) fn opt_enumerated<T>(
        &self,
        field: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, SchemaError> {
        match self.node.field(field) {
            None => Ok(None),
            Some(n) => {
                n.as_str().and_then(parse).map(Some).ok_or_else(|| self.error(field, "n'a pas une valeur permise"))
            }
        }
    }

    pub(crate) fn person(&self, field: &str) -> Result<Person, SchemaError> {
        let node = self.get(field)?;
        let inner = FieldReader::new(node, format!("{}/{}", self.entity, field));
        Ok(Person { id: inner.uuid(fields::ID)?, role: inner.enumerated(fields::ROLE, Role::parse)? })
    }

    pub(crate) fn comments(&self) -> Result<Vec<Comment>, SchemaError> {
        let Some(node) = self.node.field(fields::COMMENTS) else {
            return Ok(Vec::new());
        };
        let map = node.as_map().ok_or_else(|| self.error(fields::COMMENTS, "n'est pas une table"))?;
        let mut comments = map
            .values()
            .map(|c| Comment::from_node(c, &format!("{}/comments", self.entity)))
            .collect::<Result<Vec<_>, _>>()?;
        comments.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        Ok(comments)
    }
}

pub fn parse_uuid(node: &Node) -> Option<Uuid> {
    node.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

pub fn parse_instant(node: &Node) -> Option<DateTime<Utc>> {
    node.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc))
}

pub fn parse_date(node: &Node) -> Option<NaiveDate> {
    node.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// The document's spelling of an instant: RFC 3339, UTC, milliseconds.
pub fn instant_node(at: DateTime<Utc>) -> Node {
    Node::Str(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub fn date_node(date: NaiveDate) -> Node {
    Node::Str(date.format("%Y-%m-%d").to_string())
}

fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Node) -> Option<Node> {
    value.map(f)
}

// ---- entities to and from nodes ---------------------------------------------------------------

impl Person {
    pub fn to_node(&self) -> Node {
        Node::map().with(fields::ID, Node::from(self.id.to_string())).with(fields::ROLE, Node::from(self.role.as_str()))
    }
}

impl Comment {
    pub fn from_node(node: &Node, parent: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, parent.to_owned());
        Ok(Comment {
            id: r.uuid(fields::ID)?,
            author: r.person(fields::AUTHOR)?,
            at: r.instant(fields::AT)?,
            text: r.string(fields::TEXT)?,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::AUTHOR, self.author.to_node())
            .with(fields::AT, instant_node(self.at))
            .with(fields::TEXT, Node::from(self.text.as_str()))
    }
}

impl Qualification {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, format!("{entity}/qualification"));
        Ok(Qualification {
            code: r.enumerated(fields::CODE, QualificationCode::parse)?,
            hours: r.int(fields::HOURS)?,
            comment: r.opt_string(fields::COMMENT)?,
            by: r.person(fields::BY)?,
            at: r.instant(fields::AT)?,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::CODE, Node::from(self.code.as_str()))
            .with(fields::HOURS, Node::Int(self.hours))
            .with(fields::COMMENT, self.comment.clone().map(Node::from))
            .with(fields::BY, self.by.to_node())
            .with(fields::AT, instant_node(self.at))
    }
}

fn comments_node(comments: &[Comment]) -> Node {
    Node::Map(comments.iter().map(|c| (c.id.to_string(), c.to_node())).collect())
}

impl Action {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        Ok(Action {
            id: r.uuid(fields::ID)?,
            title: r.string(fields::TITLE)?,
            description: r.opt_string(fields::DESCRIPTION)?,
            category: r.enumerated(fields::CATEGORY, ActionCategory::parse)?,
            status: r.enumerated(fields::STATUS, ActionStatus::parse)?,
            due_date: r.opt_date(fields::DUE_DATE)?,
            completed_at: r.opt_instant(fields::COMPLETED_AT)?,
            created_by: r.person(fields::CREATED_BY)?,
            created_at: r.instant(fields::CREATED_AT)?,
            updated_at: r.instant(fields::UPDATED_AT)?,
            reminder: r.bool_or(fields::REMINDER, true)?,
            comments: r.comments()?,
            qualification: match node.field(fields::QUALIFICATION) {
                None => None,
                Some(q) => Some(Qualification::from_node(q, entity)?),
            },
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::TITLE, Node::from(self.title.as_str()))
            .with(fields::DESCRIPTION, self.description.clone().map(Node::from))
            .with(fields::CATEGORY, Node::from(self.category.as_str()))
            .with(fields::STATUS, Node::from(self.status.as_str()))
            .with(fields::DUE_DATE, opt(self.due_date, date_node))
            .with(fields::COMPLETED_AT, opt(self.completed_at, instant_node))
            .with(fields::CREATED_BY, self.created_by.to_node())
            .with(fields::CREATED_AT, instant_node(self.created_at))
            .with(fields::UPDATED_AT, instant_node(self.updated_at))
            .with(fields::REMINDER, Node::Bool(self.reminder))
            .with(fields::COMMENTS, comments_node(&self.comments))
            .with(fields::QUALIFICATION, self.qualification.as_ref().map(Qualification::to_node))
    }
}

impl Appointment {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        Ok(Appointment {
            id: r.uuid(fields::ID)?,
            title: r.string(fields::TITLE)?,
            kind: r.enumerated(fields::KIND, AppointmentKind::parse)?,
            starts_at: r.instant(fields::STARTS_AT)?,
            duration_minutes: r.int(fields::DURATION_MINUTES)?,
            modality: r.enumerated(fields::MODALITY, Modality::parse)?,
            address: r.opt_string(fields::ADDRESS)?,
            video_url: r.opt_string(fields::VIDEO_URL)?,
            comment: r.opt_string(fields::COMMENT)?,
            adviser_id: r.uuid(fields::ADVISER_ID)?,
            adviser_present: r.bool_or(fields::ADVISER_PRESENT, true)?,
            status: r.enumerated(fields::STATUS, AppointmentStatus::parse)?,
            presence: r.opt_enumerated(fields::PRESENCE, Presence::parse)?,
            response: r.opt_enumerated(fields::RESPONSE, AppointmentResponse::parse)?,
            created_at: r.instant(fields::CREATED_AT)?,
            updated_at: r.instant(fields::UPDATED_AT)?,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::TITLE, Node::from(self.title.as_str()))
            .with(fields::KIND, Node::from(self.kind.as_str()))
            .with(fields::STARTS_AT, instant_node(self.starts_at))
            .with(fields::DURATION_MINUTES, Node::Int(self.duration_minutes))
            .with(fields::MODALITY, Node::from(self.modality.as_str()))
            .with(fields::ADDRESS, self.address.clone().map(Node::from))
            .with(fields::VIDEO_URL, self.video_url.clone().map(Node::from))
            .with(fields::COMMENT, self.comment.clone().map(Node::from))
            .with(fields::ADVISER_ID, Node::from(self.adviser_id.to_string()))
            .with(fields::ADVISER_PRESENT, Node::Bool(self.adviser_present))
            .with(fields::STATUS, Node::from(self.status.as_str()))
            .with(fields::PRESENCE, self.presence.map(|p| Node::from(p.as_str())))
            .with(fields::RESPONSE, self.response.map(|p| Node::from(p.as_str())))
            .with(fields::CREATED_AT, instant_node(self.created_at))
            .with(fields::UPDATED_AT, instant_node(self.updated_at))
    }

    /// When the appointment ends.
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at + chrono::Duration::minutes(self.duration_minutes)
    }
}

impl Task {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        Ok(Task {
            id: r.uuid(fields::ID)?,
            kind: r.enumerated(fields::KIND, TaskKind::parse)?,
            title: r.string(fields::TITLE)?,
            company: r.opt_string(fields::COMPANY)?,
            offer_url: r.opt_string(fields::OFFER_URL)?,
            status: r.enumerated(fields::STATUS, TaskStatus::parse)?,
            due_date: r.opt_date(fields::DUE_DATE)?,
            done_at: r.opt_instant(fields::DONE_AT)?,
            notes: r.opt_string(fields::NOTES)?,
            created_by: r.person(fields::CREATED_BY)?,
            created_at: r.instant(fields::CREATED_AT)?,
            updated_at: r.instant(fields::UPDATED_AT)?,
            comments: r.comments()?,
        })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::KIND, Node::from(self.kind.as_str()))
            .with(fields::TITLE, Node::from(self.title.as_str()))
            .with(fields::COMPANY, self.company.clone().map(Node::from))
            .with(fields::OFFER_URL, self.offer_url.clone().map(Node::from))
            .with(fields::STATUS, Node::from(self.status.as_str()))
            .with(fields::DUE_DATE, opt(self.due_date, date_node))
            .with(fields::DONE_AT, opt(self.done_at, instant_node))
            .with(fields::NOTES, self.notes.clone().map(Node::from))
            .with(fields::CREATED_BY, self.created_by.to_node())
            .with(fields::CREATED_AT, instant_node(self.created_at))
            .with(fields::UPDATED_AT, instant_node(self.updated_at))
            .with(fields::COMMENTS, comments_node(&self.comments))
    }
}

impl Notice {
    pub fn from_node(node: &Node, entity: &str) -> Result<Self, SchemaError> {
        let r = FieldReader::new(node, entity.to_owned());
        let reasons = match node.field(fields::REASONS) {
            Some(Node::List(items)) => items.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect(),
            Some(_) => return Err(r.error(fields::REASONS, "n'est pas une liste")),
            None => Vec::new(),
        };
        Ok(Notice { id: r.uuid(fields::ID)?, for_user: r.uuid(fields::FOR_USER)?, at: r.instant(fields::AT)?, reasons })
    }

    pub fn to_node(&self) -> Node {
        Node::map()
            .with(fields::ID, Node::from(self.id.to_string()))
            .with(fields::FOR_USER, Node::from(self.for_user.to_string()))
            .with(fields::AT, instant_node(self.at))
            .with(fields::REASONS, Node::List(self.reasons.iter().map(|r| Node::from(r.as_str())).collect()))
    }
}

impl Plan {
    pub fn action(&self, id: Uuid) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    pub fn appointment(&self, id: Uuid) -> Option<&Appointment> {
        self.appointments.iter().find(|a| a.id == id)
    }

    pub fn task(&self, id: Uuid) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualification_hours_follow_the_code() {
        assert_eq!(QualificationCode::Emploi.hours(), 3);
        assert_eq!(QualificationCode::Formation.hours(), 3);
        assert_eq!(QualificationCode::Sante.hours(), 2);
        assert_eq!(QualificationCode::NonSnp.hours(), 0);
    }

    #[test]
    fn enums_round_trip_their_spelling() {
        for c in ActionCategory::ALL {
            assert_eq!(ActionCategory::parse(c.as_str()), Some(*c));
        }
        assert_eq!(ActionStatus::parse("DONE"), None);
    }
}
