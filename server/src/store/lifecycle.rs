//! What the store does when a young person leaves (archive, deletion) and what the retention pass
//! deletes when its periods run out (issue 14). A supertrait of [`Store`](super::Store), like
//! [`AdviserViews`](super::AdviserViews): `use crate::store::Lifecycle` to call it.
//!
//! The SQL is shared by both backends; the macro below expands to one `impl Lifecycle` per
//! backend, given the statement that locks the young person's plan for the erasure.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{NewNotification, StoreResult};

/// What the account row says beyond [`User`](super::User) (for the export).
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRecord {
    pub created_at: DateTime<Utc>,
    /// A password is set (the activation code was spent).
    pub activated: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub structure_name: Option<String>,
}

/// What the stored chunks of a plan are at one moment: `(count, highest seq, total bytes)`. Any
/// write changes it (a new chunk, or a compaction into one snapshot of another size).
pub type DocumentFingerprint = (i64, i64, i64);

/// An archive to write (see `crate::lifecycle`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewArchive {
    pub id: Uuid,
    pub structure_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The code of an `ArchiveReason`.
    pub reason: String,
    pub ended_on: Option<NaiveDate>,
    pub comment: Option<String>,
    /// `None`: the retention pass archived (inactivity).
    pub archived_by: Option<Uuid>,
    /// The export of the young person (JSON text).
    pub export: String,
}

/// One archive, as its structure lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchiveSummary {
    pub id: Uuid,
    pub young_person_id: Uuid,
    pub structure_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub reason: String,
    pub ended_on: Option<NaiveDate>,
    pub comment: Option<String>,
    pub archived_by: Option<Uuid>,
    pub archived_at: DateTime<Utc>,
}

/// Everything of a young person to delete, in one transaction.
#[derive(Clone, Debug)]
pub struct Erasure {
    pub young_person_id: Uuid,
    /// The plan's chunks as read to build the archive: when they changed since, nothing is
    /// deleted ([`Erased::Changed`]) and the caller reads them again. `None`: no check (nothing
    /// was read).
    pub read_at: Option<DocumentFingerprint>,
    /// Only an account whose activation code was never spent (an adviser's deletion).
    pub only_if_never_activated: bool,
    /// Written in the same transaction.
    pub archive: Option<NewArchive>,
    /// Written in the same transaction (the advisers told of the departure).
    pub notifications: Vec<NewNotification>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Erased {
    /// Gone. The token families were revoked and announced to every instance; `document_id`
    /// is the plan that no longer exists.
    Done { families: Vec<Uuid>, document_id: Option<String> },
    /// The plan was written after it was read: nothing deleted.
    Changed,
    /// No such young person.
    NotFound,
    /// `only_if_never_activated` and the account has a password: nothing deleted.
    Activated,
}

#[async_trait::async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    async fn account_record(&self, user_id: Uuid) -> StoreResult<Option<AccountRecord>>;
    async fn document_fingerprint(&self, document_id: &str) -> StoreResult<DocumentFingerprint>;
    /// Deletes every row that refers to the young person (account, portfolio links, tokens,
    /// actors, plan and its chunks, projections, events, notifications to them or naming them,
    /// reminders, preferences, devices, browser subscriptions, earlier archives), then writes
    /// `archive` and `notifications`; one transaction. The plan's row is locked first, so that a
    /// write committing meanwhile either lands before (then [`Erased::Changed`]) or fails.
    async fn erase_young_person(&self, erasure: &Erasure) -> StoreResult<Erased>;
    /// The archives of a structure, newest first.
    async fn archives_of_structure(&self, structure_id: Uuid, limit: i64) -> StoreResult<Vec<ArchiveSummary>>;
    /// One archive with its export.
    async fn archive_record(&self, id: Uuid) -> StoreResult<Option<(ArchiveSummary, String)>>;
    /// A password sign-in or a token refresh of `user_id` at `at`.
    async fn record_sign_in(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;

    // --- retention rules (crate::lifecycle::retention); each returns how many rows went ---

    /// Young people (not archived) whose last sign-in (or creation, if they never signed in)
    /// is before `before`, oldest first.
    async fn inactive_young_people(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Uuid>>;
    /// Deletes the archives written before `before`.
    async fn delete_archives_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Deletes the dead-letter push rows created before `before`.
    async fn delete_dead_letters_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Clears the activation codes spent (the account has a password) or expired at `now`.
    async fn clear_spent_activation_codes(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Deletes the token families (access and refresh tokens) whose every token expired by `now`.
    async fn delete_expired_token_families(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

pub(super) type ArchiveTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

macro_rules! archive_columns {
    () => {
        "id, young_person_id, structure_id, first_name, last_name, email, reason, ended_on, comment, archived_by, \
         archived_at"
    };
}

pub(super) const ARCHIVES_OF_STRUCTURE: &str = concat!(
    "SELECT ",
    archive_columns!(),
    " FROM archives WHERE structure_id = $1 ORDER BY archived_at DESC, id LIMIT $2"
);

/// An [`ArchiveTuple`] and the export.
pub(super) type ArchiveRecordTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
);

pub(super) const ARCHIVE_RECORD: &str = concat!("SELECT ", archive_columns!(), ", export FROM archives WHERE id = $1");

pub(super) fn archive_summary(t: ArchiveTuple) -> StoreResult<ArchiveSummary> {
    Ok(ArchiveSummary {
        id: super::sql::uuid(&t.0)?,
        young_person_id: super::sql::uuid(&t.1)?,
        structure_id: super::sql::opt_uuid(t.2)?,
        first_name: t.3,
        last_name: t.4,
        email: t.5,
        reason: t.6,
        ended_on: super::sql::date(t.7)?,
        comment: t.8,
        archived_by: super::sql::opt_uuid(t.9)?,
        archived_at: super::from_millis(t.10),
    })
}

/// The rows that refer to a young person, deleted in this order (`$1` = their id, `$2` = the
/// `LIKE` pattern of their id inside JSON payloads). Children before parents (foreign keys).
pub(super) const ERASE: &[&str] = &[
    "DELETE FROM document_chunks WHERE document_id IN (SELECT id FROM documents WHERE young_person_id = $1)",
    "DELETE FROM conversation_chunks WHERE conversation_id IN \
       (SELECT id FROM conversations WHERE young_person_id = $1)",
    "DELETE FROM conversations WHERE young_person_id = $1",
    "DELETE FROM message_rows WHERE young_person_id = $1",
    "DELETE FROM read_marker_rows WHERE young_person_id = $1",
    "DELETE FROM broadcast_list_members WHERE young_person_id = $1",
    "DELETE FROM documents WHERE young_person_id = $1",
    "DELETE FROM action_rows WHERE young_person_id = $1",
    "DELETE FROM appointment_rows WHERE young_person_id = $1",
    "DELETE FROM task_rows WHERE young_person_id = $1",
    "DELETE FROM domain_events WHERE young_person_id = $1 OR payload LIKE $2",
    "DELETE FROM notifications WHERE recipient_id = $1 OR payload LIKE $2",
    "DELETE FROM reminders WHERE young_person_id = $1",
    "DELETE FROM notification_preferences WHERE user_id = $1",
    "DELETE FROM device_tokens WHERE user_id = $1",
    "DELETE FROM push_subscriptions WHERE user_id = $1",
    "DELETE FROM access_tokens WHERE user_id = $1",
    "DELETE FROM refresh_tokens WHERE user_id = $1",
    "DELETE FROM actor_bindings WHERE user_id = $1",
    "DELETE FROM portfolio WHERE young_person_id = $1",
    "DELETE FROM archives WHERE young_person_id = $1",
    "DELETE FROM users WHERE id = $1",
];

/// `$1` = a document: its [`DocumentFingerprint`].
pub(super) const FINGERPRINT: &str = "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(MAX(seq), 0) AS BIGINT), \
       CAST(COALESCE(SUM(LENGTH(bytes)), 0) AS BIGINT) \
     FROM document_chunks WHERE document_id = $1";

/// `$1` = the young person: the token families to announce as revoked.
pub(super) const FAMILIES_OF: &str = "SELECT family_id FROM access_tokens WHERE user_id = $1 \
     UNION SELECT family_id FROM refresh_tokens WHERE user_id = $1";

/// `$1` = now (millis).
pub(super) const DELETE_EXPIRED_FAMILIES: &[&str] = &[
    "DELETE FROM access_tokens WHERE family_id IN (SELECT family_id FROM access_tokens GROUP BY family_id \
       HAVING MAX(expires_at) <= $1) \
       AND family_id NOT IN (SELECT family_id FROM refresh_tokens WHERE expires_at > $1)",
    "DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM refresh_tokens GROUP BY family_id \
       HAVING MAX(expires_at) <= $1) \
       AND family_id NOT IN (SELECT family_id FROM access_tokens WHERE expires_at > $1)",
];

macro_rules! impl_lifecycle {
    ($store:ident, $lock_plan:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Lifecycle for $store {
            async fn account_record(&self, user_id: Uuid) -> StoreResult<Option<$crate::store::AccountRecord>> {
                let row: Option<(i64, i64, Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
                    "SELECT u.created_at, CAST(CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT), \
                       u.last_sign_in_at, u.last_activity_at, s.name \
                     FROM users u LEFT JOIN structures s ON s.id = u.structure_id WHERE u.id = $1",
                )
                .bind(user_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(created, activated, sign_in, activity, structure_name)| $crate::store::AccountRecord {
                    created_at: from_millis(created),
                    activated: activated != 0,
                    last_sign_in_at: sign_in.map(from_millis),
                    last_activity_at: activity.map(from_millis),
                    structure_name,
                }))
            }

            async fn document_fingerprint(&self, document_id: &str) -> StoreResult<(i64, i64, i64)> {
                Ok(sqlx::query_as(super::lifecycle::FINGERPRINT)
                .bind(document_id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn erase_young_person(
                &self,
                erasure: &$crate::store::Erasure,
            ) -> StoreResult<$crate::store::Erased> {
                use $crate::store::Erased;
                let id = erasure.young_person_id.to_string();
                let mut tx = self.pool.begin().await?;
                // First the plan's lock: a write committing meanwhile waits for this transaction
                // (then fails: its plan is gone) or has committed already (then the check below).
                let document_id: Option<(String,)> =
                    sqlx::query_as($lock_plan).bind(&id).fetch_optional(&mut *tx).await?;
                let account: Option<(String, i64)> = sqlx::query_as(
                    "SELECT role, CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) \
                     FROM users WHERE id = $1",
                )
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
                match account {
                    Some((role, _)) if role != "young_person" => return Ok(Erased::NotFound),
                    None => return Ok(Erased::NotFound),
                    Some((_, activated)) if activated != 0 && erasure.only_if_never_activated => {
                        return Ok(Erased::Activated);
                    }
                    Some(_) => {}
                }
                if let (Some(expected), Some((document,))) = (erasure.read_at, &document_id) {
                    let now: (i64, i64, i64) = sqlx::query_as(super::lifecycle::FINGERPRINT)
                    .bind(document)
                    .fetch_one(&mut *tx)
                    .await?;
                    if now != expected {
                        return Ok(Erased::Changed);
                    }
                }
                let families: Vec<(String,)> =
                    sqlx::query_as(super::lifecycle::FAMILIES_OF).bind(&id).fetch_all(&mut *tx).await?;
                let pattern = format!("%{id}%");
                for statement in super::lifecycle::ERASE {
                    let query = sqlx::query(*statement).bind(&id);
                    let query = if statement.contains("$2") { query.bind(&pattern) } else { query };
                    query.execute(&mut *tx).await?;
                }
                // The plan's genesis actor (the young person's id without dashes) is reserved.
                sqlx::query("DELETE FROM reserved_actors WHERE actor_id = $1")
                    .bind(erasure.young_person_id.simple().to_string())
                    .execute(&mut *tx)
                    .await?;
                if let Some(a) = &erasure.archive {
                    sqlx::query(
                        "INSERT INTO archives (id, young_person_id, structure_id, first_name, last_name, email, \
                           reason, ended_on, comment, archived_by, archived_at, export) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(a.id.to_string())
                    .bind(&id)
                    .bind(a.structure_id.map(|s| s.to_string()))
                    .bind(&a.first_name)
                    .bind(&a.last_name)
                    .bind(&a.email)
                    .bind(&a.reason)
                    .bind(sql::date_text(a.ended_on))
                    .bind(&a.comment)
                    .bind(a.archived_by.map(|s| s.to_string()))
                    .bind(millis(erasure.at))
                    .bind(&a.export)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_notifications(&mut tx, &erasure.notifications).await?;
                tx.commit().await?;
                let mut revoked = Vec::with_capacity(families.len());
                for (family,) in families {
                    let family = sql::uuid(&family)?;
                    // The tokens are deleted whatever happens next: a lost announcement only delays
                    // the end of open sessions until they check their token again.
                    if let Err(e) = self.announce_revocation(family).await {
                        tracing::warn!(error = %e, %family, "announcing an erased account's revocation");
                    }
                    revoked.push(family);
                }
                Ok(Erased::Done { families: revoked, document_id: document_id.map(|(d,)| d) })
            }

            async fn archives_of_structure(
                &self,
                structure_id: Uuid,
                limit: i64,
            ) -> StoreResult<Vec<$crate::store::ArchiveSummary>> {
                let rows: Vec<super::lifecycle::ArchiveTuple> =
                    sqlx::query_as(super::lifecycle::ARCHIVES_OF_STRUCTURE).bind(structure_id.to_string()).bind(limit).fetch_all(&self.pool).await?;
                rows.into_iter().map(super::lifecycle::archive_summary).collect()
            }

            async fn archive_record(&self, id: Uuid) -> StoreResult<Option<($crate::store::ArchiveSummary, String)>> {
                let row: Option<super::lifecycle::ArchiveRecordTuple> =
                    sqlx::query_as(super::lifecycle::ARCHIVE_RECORD).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.map(|t| {
                    let summary =
                        super::lifecycle::archive_summary((t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8, t.9, t.10))?;
                    Ok((summary, t.11))
                })
                .transpose()
            }

            async fn record_sign_in(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET last_sign_in_at = $2 \
                     WHERE id = $1 AND (last_sign_in_at IS NULL OR last_sign_in_at < $2)",
                )
                .bind(user_id.to_string())
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn inactive_young_people(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Uuid>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT id FROM users WHERE role = 'young_person' AND archived_at IS NULL \
                       AND COALESCE(last_sign_in_at, created_at) < $1 \
                     ORDER BY COALESCE(last_sign_in_at, created_at), id LIMIT $2",
                )
                .bind(millis(before))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(|(id,)| sql::uuid(&id)).collect()
            }

            async fn delete_archives_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM archives WHERE archived_at < $1")
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn delete_dead_letters_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM notifications WHERE status = 'dead' AND created_at < $1")
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn clear_spent_activation_codes(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                Ok(sqlx::query(
                    "UPDATE users SET activation_code_hash = NULL, activation_expires_at = NULL \
                     WHERE activation_code_hash IS NOT NULL \
                       AND (password_hash IS NOT NULL OR activation_expires_at IS NULL OR activation_expires_at <= $1)",
                )
                .bind(millis(now))
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            async fn delete_expired_token_families(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                let mut deleted = 0;
                for statement in super::lifecycle::DELETE_EXPIRED_FAMILIES {
                    deleted += sqlx::query(*statement).bind(millis(now)).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(deleted)
            }
        }
    };
}
pub(super) use impl_lifecycle;
