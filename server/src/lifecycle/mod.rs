//! A young person leaves: archived by their adviser (or by the retention pass after a long
//! inactivity), deleting their own account, or an adviser deleting an account never activated.
//!
//! Every departure is one erasure in the store ([`crate::store::Lifecycle::erase_young_person`]):
//! every row that refers to the young person goes in one transaction, their token families are
//! announced as revoked (their sessions end on every instance), and the plan's erasure is
//! announced as [`crate::store::PlanNews::Erased`]: every instance forgets the plan
//! and its sessions lose access ([`crate::documents::Documents::follow_other_instances`]). An
//! archive first freezes the young person's [`export`] into the archive row, which their
//! structure reads for the archive period; the erasure checks that the plan did not change since
//! it was read.
//! The advisers who followed the young person (but the one who acted) are told in their
//! notification centre; the entry names the young person but holds no id of theirs.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::{Erased, Erasure, NewArchive, NewNotification, PlanAnnouncement, PlanNews, Store};

pub mod export;
pub mod reasons;
pub mod retention;

pub use reasons::ArchiveReason;

/// The longest archive comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// How many times an erasure is tried again when the plan was written meanwhile.
const ATTEMPTS: usize = 5;

/// How long the departure's centre entry is kept before the centre's own retention.
const NOTICE_DAYS: i64 = 30;

/// What the adviser says when archiving.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchiveRequest {
    pub reason: ArchiveReason,
    /// When the accompaniment ended (between the account's creation and today); today if absent.
    pub ended_on: Option<NaiveDate>,
    pub comment: Option<String>,
}

/// Who makes a young person leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The young person themself.
    YoungPerson,
    /// One of their advisers.
    Adviser(Uuid),
    /// The retention pass.
    Retention,
}

impl Actor {
    fn user(self) -> Option<Uuid> {
        match self {
            Actor::Adviser(id) => Some(id),
            Actor::YoungPerson | Actor::Retention => None,
        }
    }
}

/// What happened, for the caller to finish locally (this instance's loaded plan).
#[derive(Clone, Debug, PartialEq)]
pub struct Departed {
    pub document_id: Option<String>,
    /// The archive written, if any.
    pub archive_id: Option<Uuid>,
}

/// Archives a young person (see the module's documentation). `today` is the day in the actor's
/// time zone, for the end date's check.
pub async fn archive(
    store: &dyn Store,
    young_person_id: Uuid,
    request: &ArchiveRequest,
    actor: Actor,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Departed> {
    let comment = request.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let user = store.user_by_id(young_person_id).await?.ok_or(ApiError::NotFound)?;
    let record = store.account_record(young_person_id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = Vec::new();
    if request.reason == ArchiveReason::Inactivity && actor != Actor::Retention {
        errors.push(field_error("reason", "invalid", "Ce motif est réservé à l'archivage automatique."));
    }
    if request.reason.needs_comment() && comment.is_none() {
        errors.push(field_error("comment", "missing", "Précisez le motif dans le commentaire."));
    }
    if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        errors.push(field_error(
            "comment",
            "too_long",
            &format!("Le commentaire ne doit pas dépasser {MAX_COMMENT_CHARS} caractères."),
        ));
    }
    if let Some(ended_on) = request.ended_on {
        let created_on = record.created_at.with_timezone(&tz_of(&user.timezone)).date_naive();
        if ended_on < created_on || ended_on > today {
            errors.push(field_error(
                "ended_on",
                "invalid",
                "La date de fin d'accompagnement doit être entre la création du compte et aujourd'hui.",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let what =
        format!("Le compte de {} {} a été archivé ({}).", user.first_name, user.last_name, request.reason.label());
    let notifications = departure_notices(store, young_person_id, actor, &what, now).await?;
    for _ in 0..ATTEMPTS {
        let (export, read_at) = export::export(store, young_person_id, now).await?;
        let archive = NewArchive {
            id: Uuid::new_v4(),
            structure_id: user.structure_id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            reason: request.reason.as_str().to_owned(),
            ended_on: Some(request.ended_on.unwrap_or(today)),
            comment: comment.clone(),
            archived_by: actor.user(),
            export: serde_json::to_string(&export).map_err(ApiError::internal)?,
        };
        let archive_id = archive.id;
        let erasure = Erasure {
            young_person_id,
            read_at,
            only_if_never_activated: false,
            archive: Some(archive),
            notifications: notifications.clone(),
            at: now,
        };
        match store.erase_young_person(&erasure).await? {
            Erased::Done { document_id, .. } => {
                announce_gone(store, document_id.as_deref()).await;
                tracing::info!(%young_person_id, reason = request.reason.as_str(), "young person archived");
                return Ok(Departed { document_id, archive_id: Some(archive_id) });
            }
            Erased::Changed => continue,
            Erased::NotFound | Erased::Activated => return Err(ApiError::NotFound),
        }
    }
    Err(ApiError::Busy { retry_after_secs: 1 })
}

/// Deletes a young person's account and everything of theirs, without an archive: asked by the
/// young person, or by an adviser for an account never activated (`Conflict` otherwise).
pub async fn delete(store: &dyn Store, young_person_id: Uuid, actor: Actor, now: DateTime<Utc>) -> ApiResult<Departed> {
    let user = store.user_by_id(young_person_id).await?.ok_or(ApiError::NotFound)?;
    let what = match actor {
        Actor::YoungPerson => format!("{} {} a supprimé son compte.", user.first_name, user.last_name),
        _ => format!("Le compte non activé de {} {} a été supprimé.", user.first_name, user.last_name),
    };
    let notifications = departure_notices(store, young_person_id, actor, &what, now).await?;
    let erasure = Erasure {
        young_person_id,
        read_at: None,
        only_if_never_activated: matches!(actor, Actor::Adviser(_)),
        archive: None,
        notifications,
        at: now,
    };
    match store.erase_young_person(&erasure).await? {
        Erased::Done { document_id, .. } => {
            announce_gone(store, document_id.as_deref()).await;
            tracing::info!(%young_person_id, ?actor, "young person deleted");
            Ok(Departed { document_id, archive_id: None })
        }
        Erased::Activated => Err(ApiError::Conflict(
            "Ce compte a été activé : seul le jeune peut le supprimer ; vous pouvez l'archiver.".into(),
        )),
        Erased::NotFound | Erased::Changed => Err(ApiError::NotFound),
    }
}

/// The centre entries telling the followers (but the actor) that the young person left.
async fn departure_notices(
    store: &dyn Store,
    young_person_id: Uuid,
    actor: Actor,
    what: &str,
    now: DateTime<Utc>,
) -> ApiResult<Vec<NewNotification>> {
    let departure = Uuid::new_v4();
    Ok(store
        .followers_named(young_person_id)
        .await?
        .into_iter()
        .filter(|(adviser, _)| Some(adviser.id) != actor.user())
        .map(|(adviser, _)| NewNotification {
            id: Uuid::new_v4(),
            recipient_id: adviser.id,
            kind: "young_person_left".into(),
            channel: "in_app".into(),
            title: "Départ d'un bénéficiaire".into(),
            body: what.to_owned(),
            // Ids only, and none of the young person's: nothing of theirs is left to point at.
            payload: "{}".into(),
            dedup_key: format!("left:{departure}:{}", adviser.id),
            created_at: now,
            not_before: now,
            expires_at: now + chrono::Duration::days(NOTICE_DAYS),
            status: "sent".into(),
        })
        .collect())
}

/// Every instance (this one included) forgets the erased plan; best effort, like the plan
/// changes: a session that misses it loses the plan at its next access check.
async fn announce_gone(store: &dyn Store, document_id: Option<&str>) {
    if let Some(document_id) = document_id {
        let announcement =
            PlanAnnouncement { origin: Uuid::nil(), document_id: document_id.to_owned(), news: PlanNews::Erased };
        if let Err(e) = store.announce_plan(&announcement).await {
            tracing::warn!(error = %e, document_id, "announcing an erased plan");
        }
    }
}

fn field_error(field: &str, code: &str, message: &str) -> FieldError {
    FieldError { field: field.to_owned(), code: code.to_owned(), message: message.to_owned() }
}

fn tz_of(timezone: &str) -> chrono_tz::Tz {
    timezone.parse().unwrap_or(chrono_tz::Europe::Paris)
}
