//! The SQL both backends share. SQLite (3.35+) and PostgreSQL agree on `$n` parameters,
//! `ON CONFLICT`, `RETURNING` and correlated sub-queries, and the schema uses the same column
//! types (text, bigint, bytes) on both sides, so one text serves both. The macro below expands to
//! one `impl Store` per backend; sqlite.rs and postgres.rs hold what differs (connecting,
//! pragmas, migrations).

use chrono::NaiveDate;
use sync_core::model::Role;
use uuid::Uuid;

use super::{StoreError, StoreResult, User, YoungPersonSummary, from_millis};

pub(super) fn uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("uuid {text}")))
}

pub(super) fn opt_uuid(text: Option<String>) -> StoreResult<Option<Uuid>> {
    text.as_deref().map(uuid).transpose()
}

pub(super) fn role(text: &str) -> StoreResult<Role> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("role {text}")))
}

pub(super) fn date(text: Option<String>) -> StoreResult<Option<NaiveDate>> {
    text.map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {t}"))))
        .transpose()
}

pub(super) fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.format("%Y-%m-%d").to_string())
}

/// Maps a unique violation to `Conflict`.
pub(super) fn conflict(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Database(e),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn user_from_parts(
    id: String,
    role_text: String,
    email: String,
    password_hash: Option<String>,
    first_name: String,
    last_name: String,
    timezone: String,
    structure_id: Option<String>,
    archived_at: Option<i64>,
) -> StoreResult<User> {
    Ok(User {
        id: uuid(&id)?,
        role: role(&role_text)?,
        email,
        password_hash,
        first_name,
        last_name,
        timezone,
        structure_id: opt_uuid(structure_id)?,
        archived: archived_at.is_some(),
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn summary_from_parts(
    id: String,
    first_name: String,
    last_name: String,
    email: String,
    document_id: Option<String>,
    open_actions: i64,
    late_actions: i64,
    next_appointment_at: Option<i64>,
) -> StoreResult<YoungPersonSummary> {
    Ok(YoungPersonSummary {
        id: uuid(&id)?,
        first_name,
        last_name,
        email,
        plan_document_id: document_id,
        open_actions,
        late_actions,
        next_appointment_at: next_appointment_at.map(from_millis),
    })
}

// --- web push (issue 6) ---

/// A `push_subscriptions` row as read.
pub(super) type PushSubscriptionTuple = (String, String, String, String, String, i64, i64);

pub(super) fn push_subscription_from_tuple(t: PushSubscriptionTuple) -> StoreResult<super::PushSubscriptionRow> {
    Ok(super::PushSubscriptionRow {
        id: uuid(&t.0)?,
        user_id: uuid(&t.1)?,
        endpoint: t.2,
        p256dh: t.3,
        auth: t.4,
        created_at: from_millis(t.5),
        last_seen_at: from_millis(t.6),
    })
}

// --- end web push ---

/// The columns of a young person's line; `$2` = today (text date), `$3` = now (millis).
macro_rules! summary_select {
    () => {
        "SELECT u.id, u.first_name, u.last_name, u.email, d.id AS document_id, \
           (SELECT COUNT(*) FROM action_rows a WHERE a.young_person_id = u.id \
              AND a.status IN ('not_started', 'in_progress')) AS open_actions, \
           (SELECT COUNT(*) FROM action_rows a WHERE a.young_person_id = u.id \
              AND a.status IN ('not_started', 'in_progress') AND a.due_date < $2) AS late_actions, \
           (SELECT MIN(ap.starts_at) FROM appointment_rows ap WHERE ap.young_person_id = u.id \
              AND ap.status = 'scheduled' AND ap.starts_at >= $3) AS next_appointment_at \
         FROM users u LEFT JOIN documents d ON d.young_person_id = u.id "
    };
}
pub(super) use summary_select;

// --- delivery (issue 6) ---

/// Claims due push rows: `$1` channel, `$2` now, `$3` lease end, `$4` claim id, `$5` limit. The
/// two texts differ only by PostgreSQL's `FOR UPDATE SKIP LOCKED` (SQLite has one writer).
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE notifications SET claimed_until = $3, claimed_by = $4 \
             WHERE id IN (SELECT id FROM notifications \
               WHERE status = 'pending' AND channel = $1 AND not_before <= $2 AND next_attempt_at <= $2 \
                 AND claimed_until <= $2 \
               ORDER BY not_before, id LIMIT $5",
            $lock,
            ") RETURNING id, recipient_id, kind, channel, title, body, payload, dedup_key, created_at, not_before, \
               expires_at, status, attempts, read_at"
        )
    };
}
pub(super) const CLAIM_SQLITE: &str = claim_sql!("");
pub(super) const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

macro_rules! impl_store {
    ($store:ident, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_structure(&self, id: Uuid, name: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("INSERT INTO structures (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(id.to_string())
                    .bind(name)
                    .bind(millis(at))
                    .execute(&self.pool)
                    .await
                    .map_err(sql::conflict("structure"))?;
                Ok(())
            }

            async fn structure_by_name(&self, name: &str) -> StoreResult<Option<Uuid>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM structures WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id,)| sql::uuid(&id)).transpose()
            }

            async fn count_users(&self) -> StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
                Ok(n)
            }

            async fn create_user(&self, user: &NewUser, at: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                insert_user(&mut tx, user, at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_young_person(
                &self,
                user: &NewUser,
                adviser_id: Option<Uuid>,
                document_id: &str,
                snapshot: &[u8],
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                insert_user(&mut tx, user, at).await?;
                if let Some(adviser_id) = adviser_id {
                    sqlx::query(
                        "INSERT INTO portfolio (young_person_id, adviser_id, kind, since) \
                         VALUES ($1, $2, 'definitive', $3)",
                    )
                    .bind(user.id.to_string())
                    .bind(adviser_id.to_string())
                    .bind(millis(at))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("INSERT INTO documents (id, young_person_id, created_at) VALUES ($1, $2, $3)")
                    .bind(document_id)
                    .bind(user.id.to_string())
                    .bind(millis(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(sql::conflict("document"))?;
                sqlx::query(
                    "INSERT INTO document_chunks (document_id, seq, kind, bytes, created_at) \
                     VALUES ($1, 1, 'snapshot', $2, $3)",
                )
                .bind(document_id)
                .bind(snapshot.to_vec())
                .bind(millis(at))
                .execute(&mut *tx)
                .await?;
                // The genesis change is signed by the young person's id: nobody may sign with it again.
                sqlx::query("INSERT INTO reserved_actors (actor_id, reason, created_at) VALUES ($1, 'genesis', $2)")
                    .bind(user.id.simple().to_string())
                    .bind(millis(at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                let row: Option<UserTuple> = sqlx::query_as(
                    "SELECT id, role, email, password_hash, first_name, last_name, timezone, structure_id, archived_at \
                     FROM users WHERE email = $1",
                )
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
                row.map(user_from_tuple).transpose()
            }

            async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
                let row: Option<UserTuple> = sqlx::query_as(
                    "SELECT id, role, email, password_hash, first_name, last_name, timezone, structure_id, archived_at \
                     FROM users WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map(user_from_tuple).transpose()
            }

            async fn activation_code_valid(&self, code_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM users \
                     WHERE activation_code_hash = $1 AND activation_expires_at > $2 AND archived_at IS NULL",
                )
                .bind(code_hash)
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.is_some())
            }

            async fn activate(
                &self,
                code_hash: &str,
                password_hash: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<Uuid>> {
                let row: Option<(String,)> = sqlx::query_as(
                    "UPDATE users SET password_hash = $2, activation_code_hash = NULL, activation_expires_at = NULL \
                     WHERE activation_code_hash = $1 AND activation_expires_at > $3 AND archived_at IS NULL \
                     RETURNING id",
                )
                .bind(code_hash)
                .bind(password_hash)
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(id,)| sql::uuid(&id)).transpose()
            }

            async fn add_to_portfolio(
                &self,
                young_person_id: Uuid,
                adviser_id: Uuid,
                kind: PortfolioKind,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO portfolio (young_person_id, adviser_id, kind, since) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (young_person_id, adviser_id) DO UPDATE SET kind = excluded.kind",
                )
                .bind(young_person_id.to_string())
                .bind(adviser_id.to_string())
                .bind(kind.as_str())
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn transfer(
                &self,
                young_person_ids: &[Uuid],
                to_adviser_id: Uuid,
                kind: PortfolioKind,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                for id in young_person_ids {
                    if kind == PortfolioKind::Definitive {
                        sqlx::query("DELETE FROM portfolio WHERE young_person_id = $1 AND kind = 'definitive'")
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    // A temporary link never downgrades a definitive one; a definitive one upgrades.
                    let sql = match kind {
                        PortfolioKind::Definitive => {
                            "INSERT INTO portfolio (young_person_id, adviser_id, kind, since) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (young_person_id, adviser_id) DO UPDATE SET kind = excluded.kind, \
                             since = excluded.since"
                        }
                        PortfolioKind::Temporary => {
                            "INSERT INTO portfolio (young_person_id, adviser_id, kind, since) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (young_person_id, adviser_id) DO NOTHING"
                        }
                    };
                    sqlx::query(sql)
                        .bind(id.to_string())
                        .bind(to_adviser_id.to_string())
                        .bind(kind.as_str())
                        .bind(millis(at))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn followers(&self, young_person_id: Uuid) -> StoreResult<Vec<(Uuid, PortfolioKind)>> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT adviser_id, kind FROM portfolio WHERE young_person_id = $1 ORDER BY kind, adviser_id",
                )
                .bind(young_person_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(id, kind)| {
                        let kind = PortfolioKind::parse(&kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("portfolio kind {kind}")))?;
                        Ok((sql::uuid(&id)?, kind))
                    })
                    .collect()
            }

            async fn plan_access(&self, young_person_id: Uuid, caller: Uuid) -> StoreResult<Option<PlanAccess>> {
                let row: Option<AccessTuple> = sqlx::query_as(
                    "SELECT u.id, u.role, u.email, u.password_hash, u.first_name, u.last_name, u.timezone, \
                       u.structure_id, u.archived_at, d.id, \
                       (SELECT COUNT(*) FROM portfolio p WHERE p.young_person_id = u.id AND p.adviser_id = $2) \
                     FROM users u JOIN documents d ON d.young_person_id = u.id \
                     WHERE u.id = $1 AND u.role = 'young_person'",
                )
                .bind(young_person_id.to_string())
                .bind(caller.to_string())
                .fetch_optional(&self.pool)
                .await?;
                let Some((id, role, email, hash, first, last, tz, structure, archived, document_id, links)) = row
                else {
                    return Ok(None);
                };
                let young_person = user_from_tuple((id, role, email, hash, first, last, tz, structure, archived))?;
                Ok(Some(PlanAccess { young_person, document_id, follows: links > 0 }))
            }

            async fn document_of(&self, young_person_id: Uuid) -> StoreResult<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM documents WHERE young_person_id = $1")
                    .bind(young_person_id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(id,)| id))
            }

            async fn document_owner(&self, document_id: &str) -> StoreResult<Option<Uuid>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT young_person_id FROM documents WHERE id = $1")
                    .bind(document_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id,)| sql::uuid(&id)).transpose()
            }

            async fn announce_plan(&self, announcement: &PlanAnnouncement) -> StoreResult<()> {
                self.announce(announcement).await
            }

            async fn listen_plans(
                &self,
                announcements: tokio::sync::mpsc::Sender<PlanAnnouncement>,
            ) -> StoreResult<()> {
                self.listen(announcements).await
            }

            async fn portfolio_summaries(
                &self,
                adviser_id: Uuid,
                today: NaiveDate,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<YoungPersonSummary>> {
                let rows: Vec<SummaryTuple> = sqlx::query_as(concat!(
                    sql::summary_select!(),
                    "JOIN portfolio p ON p.young_person_id = u.id \
                     WHERE p.adviser_id = $1 AND u.archived_at IS NULL ORDER BY u.last_name, u.first_name, u.id"
                ))
                .bind(adviser_id.to_string())
                .bind(today.format("%Y-%m-%d").to_string())
                .bind(millis(now))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(summary_from_tuple).collect()
            }

            async fn structure_summaries(
                &self,
                structure_id: Uuid,
                today: NaiveDate,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<YoungPersonSummary>> {
                let rows: Vec<SummaryTuple> = sqlx::query_as(concat!(
                    sql::summary_select!(),
                    "WHERE u.structure_id = $1 AND u.role = 'young_person' AND u.archived_at IS NULL \
                     ORDER BY u.last_name, u.first_name, u.id"
                ))
                .bind(structure_id.to_string())
                .bind(today.format("%Y-%m-%d").to_string())
                .bind(millis(now))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(summary_from_tuple).collect()
            }

            async fn insert_access_token(
                &self,
                hash: &str,
                user_id: Uuid,
                family_id: Uuid,
                expires_at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO access_tokens (token_hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(user_id.to_string())
                .bind(family_id.to_string())
                .bind(millis(expires_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn insert_refresh_token(
                &self,
                hash: &str,
                user_id: Uuid,
                family_id: Uuid,
                expires_at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(user_id.to_string())
                .bind(family_id.to_string())
                .bind(millis(expires_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn access_token_owner(&self, hash: &str, now: DateTime<Utc>) -> StoreResult<Option<TokenOwner>> {
                let row: Option<(String, String, String, Option<String>, String, i64)> = sqlx::query_as(
                    "SELECT t.user_id, t.family_id, u.role, u.structure_id, u.timezone, t.expires_at \
                     FROM access_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL \
                       AND u.archived_at IS NULL",
                )
                .bind(hash)
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(user_id, family_id, role, structure_id, timezone, expires_at)| {
                    Ok(TokenOwner {
                        user_id: sql::uuid(&user_id)?,
                        role: sql::role(&role)?,
                        structure_id: sql::opt_uuid(structure_id)?,
                        family_id: sql::uuid(&family_id)?,
                        timezone,
                        expires_at: from_millis(expires_at),
                    })
                })
                .transpose()
            }

            async fn use_refresh_token(&self, hash: &str, now: DateTime<Utc>) -> StoreResult<RefreshUse> {
                let spent: Option<(String, String)> = sqlx::query_as(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                       AND user_id IN (SELECT id FROM users WHERE archived_at IS NULL) \
                     RETURNING user_id, family_id",
                )
                .bind(hash)
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await?;
                if let Some((user_id, family_id)) = spent {
                    return Ok(RefreshUse::Rotated {
                        user_id: sql::uuid(&user_id)?,
                        family_id: sql::uuid(&family_id)?,
                    });
                }
                let known: Option<(String, Option<i64>)> =
                    sqlx::query_as("SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = $1")
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?;
                match known {
                    Some((family_id, Some(_))) => {
                        let family_id = sql::uuid(&family_id)?;
                        self.revoke_family(family_id, now).await?;
                        Ok(RefreshUse::Reused { family_id })
                    }
                    _ => Ok(RefreshUse::Invalid),
                }
            }

            async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(family_id.to_string())
                    .bind(millis(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(family_id.to_string())
                    .bind(millis(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                // The tokens are revoked whatever happens next: a lost announcement only delays the
                // end of open sync sessions until they check their token again.
                if let Err(e) = self.announce_revocation(family_id).await {
                    tracing::warn!(error = %e, %family_id, "announcing a token revocation");
                }
                Ok(())
            }

            async fn listen_revocations(&self, revoked: tokio::sync::mpsc::Sender<Uuid>) -> StoreResult<()> {
                self.listen_revocations_impl(revoked).await
            }

            async fn bind_actor(&self, actor_hex: &str, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
                sqlx::query(
                    "INSERT INTO actor_bindings (actor_id, user_id, created_at) SELECT $1, $2, $3 \
                     WHERE NOT EXISTS (SELECT 1 FROM reserved_actors WHERE actor_id = $1) \
                     ON CONFLICT (actor_id) DO NOTHING",
                )
                .bind(actor_hex)
                .bind(user_id.to_string())
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                let owner: Option<(String,)> =
                    sqlx::query_as("SELECT user_id FROM actor_bindings WHERE actor_id = $1")
                        .bind(actor_hex)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(owner.is_some_and(|(owner,)| owner == user_id.to_string()))
            }

            async fn reserve_actor(&self, actor_hex: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                sqlx::query(
                    "INSERT INTO reserved_actors (actor_id, reason, created_at) \
                     SELECT $1, 'server', $2 WHERE NOT EXISTS (SELECT 1 FROM actor_bindings WHERE actor_id = $1) \
                     ON CONFLICT (actor_id) DO NOTHING",
                )
                .bind(actor_hex)
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                let reserved: Option<(String,)> =
                    sqlx::query_as("SELECT actor_id FROM reserved_actors WHERE actor_id = $1")
                        .bind(actor_hex)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(reserved.is_some())
            }

            async fn load_chunks(&self, document_id: &str, after_seq: i64) -> StoreResult<Vec<StoredChunk>> {
                let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, kind, bytes FROM document_chunks WHERE document_id = $1 AND seq > $2 ORDER BY seq",
                )
                .bind(document_id)
                .bind(after_seq)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, kind, bytes)| StoredChunk { seq, snapshot: kind == "snapshot", bytes })
                    .collect())
            }

            async fn commit_plan_write(
                &self,
                write: &mut PlanWrite,
                catch_up: &mut CatchUp<'_>,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let seq = plan_writes::claim_seq(&mut tx, write, catch_up).await?;
                plan_writes::write_rows(&mut tx, write, seq).await?;
                tx.commit().await?;
                Ok(seq)
            }

            async fn commit_plan_writes(&self, writes: &[PlanWrite]) -> StoreResult<Vec<Option<i64>>> {
                let mut tx = self.pool.begin().await?;
                let mut seqs = Vec::with_capacity(writes.len());
                for write in writes {
                    let seq = plan_writes::claim_next_seq(&mut tx, write).await?;
                    if let Some(seq) = seq {
                        plan_writes::write_rows(&mut tx, write, seq).await?;
                    }
                    seqs.push(seq);
                }
                tx.commit().await?;
                Ok(seqs)
            }

            async fn projections(&self, young_person_id: Uuid) -> StoreResult<Projections> {
                let yp = young_person_id.to_string();
                let actions: Vec<ActionTuple> = sqlx::query_as(
                    "SELECT id, title, category, status, due_date, completed_at, qualification_code, created_by, \
                       updated_at, created_at, reminder FROM action_rows WHERE young_person_id = $1 ORDER BY id",
                )
                .bind(&yp)
                .fetch_all(&self.pool)
                .await?;
                let appointments: Vec<AppointmentTuple> = sqlx::query_as(
                    "SELECT id, title, kind, starts_at, duration_minutes, status, presence, response, adviser_id \
                     FROM appointment_rows WHERE young_person_id = $1 ORDER BY id",
                )
                .bind(&yp)
                .fetch_all(&self.pool)
                .await?;
                let tasks: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, title, kind, status, due_date FROM task_rows WHERE young_person_id = $1 ORDER BY id",
                )
                .bind(&yp)
                .fetch_all(&self.pool)
                .await?;
                Ok(Projections {
                    actions: actions
                        .into_iter()
                        .map(|(id, title, category, status, due, completed, code, by, updated, created, reminder)| {
                            Ok(ActionRow {
                                id: sql::uuid(&id)?,
                                title,
                                category,
                                status,
                                due_date: sql::date(due)?,
                                completed_at: completed.map(from_millis),
                                qualification_code: code,
                                created_by: sql::uuid(&by)?,
                                updated_at: from_millis(updated),
                                created_at: from_millis(created),
                                reminder: reminder != 0,
                            })
                        })
                        .collect::<StoreResult<_>>()?,
                    appointments: appointments
                        .into_iter()
                        .map(|(id, title, kind, starts, duration, status, presence, response, adviser)| {
                            Ok(AppointmentRow {
                                id: sql::uuid(&id)?,
                                title,
                                kind,
                                starts_at: from_millis(starts),
                                duration_minutes: duration,
                                status,
                                presence,
                                response,
                                adviser_id: sql::uuid(&adviser)?,
                            })
                        })
                        .collect::<StoreResult<_>>()?,
                    tasks: tasks
                        .into_iter()
                        .map(|(id, title, kind, status, due)| {
                            Ok(TaskRow { id: sql::uuid(&id)?, title, kind, status, due_date: sql::date(due)? })
                        })
                        .collect::<StoreResult<_>>()?,
                })
            }

            async fn events(&self, young_person_id: Uuid) -> StoreResult<Vec<EventRow>> {
                let rows: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
                    "SELECT dedup_key, young_person_id, kind, payload FROM domain_events \
                     WHERE young_person_id = $1 ORDER BY id",
                )
                .bind(young_person_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(dedup_key, yp, kind, payload)| {
                        Ok(EventRow { dedup_key, young_person_id: sql::opt_uuid(yp)?, kind, payload })
                    })
                    .collect()
            }

            // --- web push (issue 6) ---

            async fn upsert_push_subscription(
                &self,
                subscription: &$crate::store::PushSubscriptionRow,
                keep: i64,
            ) -> StoreResult<bool> {
                let sub = subscription;
                let mut tx = self.pool.begin().await?;
                let (id,): (String,) = sqlx::query_as(
                    "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, \
                       auth = excluded.auth, last_seen_at = excluded.last_seen_at \
                     RETURNING id",
                )
                .bind(sub.id.to_string())
                .bind(sub.user_id.to_string())
                .bind(&sub.endpoint)
                .bind(&sub.p256dh)
                .bind(&sub.auth)
                .bind(millis(sub.created_at))
                .bind(millis(sub.last_seen_at))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN \
                       (SELECT id FROM push_subscriptions WHERE user_id = $1 \
                        ORDER BY last_seen_at DESC, created_at DESC, id LIMIT $2)",
                )
                .bind(sub.user_id.to_string())
                .bind(keep.max(1))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id == sub.id.to_string())
            }

            async fn push_subscriptions_of(
                &self,
                user_id: Uuid,
            ) -> StoreResult<Vec<$crate::store::PushSubscriptionRow>> {
                let rows: Vec<sql::PushSubscriptionTuple> = sqlx::query_as(
                    "SELECT id, user_id, endpoint, p256dh, auth, created_at, last_seen_at FROM push_subscriptions \
                     WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC, id",
                )
                .bind(user_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(sql::push_subscription_from_tuple).collect()
            }

            async fn delete_push_subscription(&self, user_id: Uuid, endpoint: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2")
                    .bind(endpoint)
                    .bind(user_id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_push_endpoint(&self, endpoint: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
                    .bind(endpoint)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_push_subscriptions(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM push_subscriptions WHERE last_seen_at < $1")
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn vapid_keys_get_or_insert(
                &self,
                candidate: &$crate::store::VapidKeyRow,
            ) -> StoreResult<$crate::store::VapidKeyRow> {
                sqlx::query(
                    "INSERT INTO vapid_keys (id, private_key, public_key, created_at) VALUES (1, $1, $2, $3) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&candidate.private_key)
                .bind(&candidate.public_key)
                .bind(millis(candidate.created_at))
                .execute(&self.pool)
                .await?;
                let (private_key, public_key, created_at): (String, String, i64) =
                    sqlx::query_as("SELECT private_key, public_key, created_at FROM vapid_keys WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await?;
                Ok($crate::store::VapidKeyRow { private_key, public_key, created_at: from_millis(created_at) })
            }

            // --- end web push ---

            async fn notification_context(&self, young_person_id: Uuid) -> StoreResult<NotificationContext> {
                let yp = young_person_id.to_string();
                let user: Option<(String, String)> =
                    sqlx::query_as("SELECT first_name, timezone FROM users WHERE id = $1")
                        .bind(&yp)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some((first_name, timezone)) = user else {
                    return Err(StoreError::NotFound(format!("user {yp}")));
                };
                let followers: Vec<(String, String)> = sqlx::query_as(
                    "SELECT u.id, u.timezone FROM portfolio p JOIN users u ON u.id = p.adviser_id \
                     WHERE p.young_person_id = $1 AND u.archived_at IS NULL ORDER BY u.id",
                )
                .bind(&yp)
                .fetch_all(&self.pool)
                .await?;
                let disabled: Vec<(String,)> = sqlx::query_as(
                    "SELECT kind FROM notification_preferences WHERE user_id = $1 AND enabled = 0 ORDER BY kind",
                )
                .bind(&yp)
                .fetch_all(&self.pool)
                .await?;
                Ok(NotificationContext {
                    first_name,
                    timezone,
                    followers: followers
                        .into_iter()
                        .map(|(id, tz)| Ok((sql::uuid(&id)?, tz)))
                        .collect::<StoreResult<_>>()?,
                    disabled: disabled.into_iter().map(|(k,)| k).collect(),
                })
            }

            async fn notification_preferences(&self, user_id: Uuid) -> StoreResult<Vec<(String, bool)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT kind, enabled FROM notification_preferences WHERE user_id = $1 ORDER BY kind",
                )
                .bind(user_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(k, e)| (k, e != 0)).collect())
            }

            async fn set_notification_preferences(
                &self,
                user_id: Uuid,
                prefs: &[(String, bool)],
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                for (kind, enabled) in prefs {
                    sqlx::query(
                        "INSERT INTO notification_preferences (user_id, kind, enabled, updated_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind) \
                         DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                    )
                    .bind(user_id.to_string())
                    .bind(kind)
                    .bind(i64::from(*enabled))
                    .bind(millis(at))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn notifications_of(&self, recipient_id: Uuid) -> StoreResult<Vec<NotificationRow>> {
                let rows: Vec<NotificationTuple> = sqlx::query_as(
                    "SELECT id, recipient_id, kind, channel, title, body, payload, dedup_key, created_at, \
                       not_before, expires_at, status, attempts, read_at \
                     FROM notifications WHERE recipient_id = $1 ORDER BY created_at DESC, dedup_key",
                )
                .bind(recipient_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(notification_from_tuple).collect()
            }

            async fn notification_centre(
                &self,
                recipient_id: Uuid,
                since: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<NotificationRow>> {
                let rows: Vec<NotificationTuple> = sqlx::query_as(
                    "SELECT id, recipient_id, kind, channel, title, body, payload, dedup_key, created_at, \
                       not_before, expires_at, status, attempts, read_at \
                     FROM notifications WHERE recipient_id = $1 AND channel = 'in_app' AND created_at >= $2 \
                     ORDER BY created_at DESC, id DESC LIMIT $3",
                )
                .bind(recipient_id.to_string())
                .bind(millis(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(notification_from_tuple).collect()
            }

            async fn mark_notification_read(
                &self,
                id: Uuid,
                recipient_id: Uuid,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE notifications SET read_at = COALESCE(read_at, $3) \
                     WHERE id = $1 AND recipient_id = $2 AND channel = 'in_app'",
                )
                .bind(id.to_string())
                .bind(recipient_id.to_string())
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                // Dead letters have their own period (`Lifecycle::delete_dead_letters_before`).
                let n = sqlx::query("DELETE FROM notifications WHERE created_at < $1 AND status <> 'dead'")
                    .bind(millis(before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let r = sqlx::query("DELETE FROM reminders WHERE status <> 'pending' AND settled_at < $1")
                    .bind(millis(before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n + r)
            }

            async fn reminders_of(&self, young_person_id: Uuid) -> StoreResult<Vec<ReminderRow>> {
                let rows: Vec<ReminderTuple> = sqlx::query_as(
                    "SELECT r.id, r.young_person_id, r.kind, r.entity_id, r.due_at, r.expires_at, r.dedup_key, \
                       r.status, u.first_name, u.timezone \
                     FROM reminders r JOIN users u ON u.id = r.young_person_id \
                     WHERE r.young_person_id = $1 ORDER BY r.due_at, r.kind",
                )
                .bind(young_person_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(reminder_from_tuple).collect()
            }

            async fn due_reminders(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ReminderRow>> {
                let rows: Vec<ReminderTuple> = sqlx::query_as(
                    "SELECT r.id, r.young_person_id, r.kind, r.entity_id, r.due_at, r.expires_at, r.dedup_key, \
                       r.status, u.first_name, u.timezone \
                     FROM reminders r JOIN users u ON u.id = r.young_person_id \
                     WHERE r.status = 'pending' AND r.due_at <= $1 ORDER BY r.due_at, r.id LIMIT $2",
                )
                .bind(millis(now))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(reminder_from_tuple).collect()
            }

            async fn settle_reminder(
                &self,
                id: &str,
                released: bool,
                notifications: &[NewNotification],
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE reminders SET status = $2, settled_at = $3 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(if released { "released" } else { "dropped" })
                .bind(millis(at))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if released {
                    insert_notifications(&mut tx, notifications).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn young_person_timezones(&self) -> StoreResult<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT DISTINCT timezone FROM users WHERE role = 'young_person' AND archived_at IS NULL \
                     ORDER BY timezone",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(tz,)| tz).collect())
            }

            async fn arm_weekly_nudges(
                &self,
                timezone: &str,
                week_start: DateTime<Utc>,
                due_at: DateTime<Utc>,
                expires_at: DateTime<Utc>,
                week_key: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let done = sqlx::query(
                    "INSERT INTO reminders (id, young_person_id, kind, entity_id, due_at, expires_at, dedup_key, \
                       status, created_at) \
                     SELECT 'weekly_nudge:' || u.id || ':' || $5, u.id, 'weekly_nudge', u.id, $3, $4, \
                       'weekly_nudge:' || u.id || ':' || $5, 'pending', $6 \
                     FROM users u \
                     WHERE u.role = 'young_person' AND u.archived_at IS NULL AND u.timezone = $1 \
                       AND NOT EXISTS (SELECT 1 FROM action_rows a WHERE a.young_person_id = u.id \
                         AND a.created_by = u.id AND a.created_at >= $2) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(timezone)
                .bind(millis(week_start))
                .bind(millis(due_at))
                .bind(millis(expires_at))
                .bind(week_key)
                .bind(millis(at))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            // --- delivery (issue 6) ---

            async fn upsert_device_token(
                &self,
                user_id: Uuid,
                platform: &str,
                token: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                // No cap: every token of the user is kept.
                $crate::store::Store::upsert_device_token_keeping(self, user_id, platform, token, at, i64::MAX).await
            }

            async fn upsert_device_token_keeping(
                &self,
                user_id: Uuid,
                platform: &str,
                token: &str,
                at: DateTime<Utc>,
                keep: i64,
            ) -> StoreResult<bool> {
                let id = Uuid::new_v4().to_string();
                let mut tx = self.pool.begin().await?;
                let (stored,): (String,) = sqlx::query_as(
                    "INSERT INTO device_tokens (id, user_id, platform, token, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) \
                     ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform, \
                       last_seen_at = excluded.last_seen_at \
                     RETURNING id",
                )
                .bind(&id)
                .bind(user_id.to_string())
                .bind(platform)
                .bind(token)
                .bind(millis(at))
                .fetch_one(&mut *tx)
                .await?;
                // The user keeps the token just registered and their `keep - 1` most recently seen others.
                sqlx::query(
                    "DELETE FROM device_tokens WHERE user_id = $1 AND token <> $2 AND id NOT IN \
                       (SELECT id FROM device_tokens WHERE user_id = $1 AND token <> $2 \
                        ORDER BY last_seen_at DESC, created_at DESC, id LIMIT $3)",
                )
                .bind(user_id.to_string())
                .bind(token)
                .bind(keep.max(1) - 1)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(stored == id)
            }

            async fn device_tokens_of(&self, user_id: Uuid) -> StoreResult<Vec<$crate::store::DeviceToken>> {
                let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT id, user_id, platform, token, created_at, last_seen_at FROM device_tokens \
                     WHERE user_id = $1 ORDER BY created_at, id",
                )
                .bind(user_id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|t| {
                        Ok($crate::store::DeviceToken {
                            id: sql::uuid(&t.0)?,
                            user_id: sql::uuid(&t.1)?,
                            platform: t.2,
                            token: t.3,
                            created_at: from_millis(t.4),
                            last_seen_at: from_millis(t.5),
                        })
                    })
                    .collect()
            }

            async fn delete_device_token(&self, token: &str, owner: Option<Uuid>) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM device_tokens WHERE token = $1 AND ($2 IS NULL OR user_id = $2)")
                    .bind(token)
                    .bind(owner.map(|o| o.to_string()))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_device_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM device_tokens WHERE last_seen_at < $1")
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn enqueue_notifications(&self, rows: &[NewNotification]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                insert_notifications(&mut tx, rows).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn claim_push_notifications(
                &self,
                channel: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                claim: Uuid,
                limit: i64,
            ) -> StoreResult<Vec<NotificationRow>> {
                let query = if $backend == "postgres" { sql::CLAIM_POSTGRES } else { sql::CLAIM_SQLITE };
                let rows: Vec<NotificationTuple> = sqlx::query_as(query)
                    .bind(channel)
                    .bind(millis(now))
                    .bind(millis(lease_until))
                    .bind(claim.to_string())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                let mut rows = rows.into_iter().map(notification_from_tuple).collect::<StoreResult<Vec<_>>>()?;
                rows.sort_by(|a, b| (a.not_before, a.id).cmp(&(b.not_before, b.id)));
                Ok(rows)
            }

            async fn settle_push_notification(
                &self,
                id: Uuid,
                claim: Uuid,
                outcome: &$crate::store::PushOutcome,
            ) -> StoreResult<bool> {
                use $crate::store::PushOutcome;
                // $3 status, $4 attempts added, $5 next_attempt_at (NULL: keep), $6 last_error, $7 sent_at.
                let (status, add, next, error, sent_at) = match outcome {
                    PushOutcome::Sent { at } => ("sent", 1_i64, None, None, Some(millis(*at))),
                    PushOutcome::Retry { next_attempt_at, error } => {
                        ("pending", 1, Some(millis(*next_attempt_at)), Some(error.as_str()), None)
                    }
                    PushOutcome::Dead { error } => ("dead", 1, None, Some(error.as_str()), None),
                    PushOutcome::Dropped { reason } => ("dropped", 0, None, Some(reason.as_str()), None),
                };
                let done = sqlx::query(
                    "UPDATE notifications SET status = $3, attempts = attempts + $4, \
                       next_attempt_at = COALESCE($5, next_attempt_at), last_error = $6, sent_at = $7, \
                       claimed_until = 0, claimed_by = NULL \
                     WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
                )
                .bind(id.to_string())
                .bind(claim.to_string())
                .bind(status)
                .bind(add)
                .bind(next)
                .bind(error)
                .bind(sent_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn drop_expired_notifications(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(
                    "UPDATE notifications SET status = 'dropped', last_error = 'expired' \
                     WHERE status = 'pending' AND channel IN ('mobile', 'web') AND expires_at <= $1 \
                       AND claimed_until <= $1",
                )
                .bind(millis(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn notification_delivery(&self, id: Uuid) -> StoreResult<Option<$crate::store::DeliveryState>> {
                let row: Option<(String, i64, i64, i64, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT status, attempts, next_attempt_at, claimed_until, last_error, sent_at \
                     FROM notifications WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|t| $crate::store::DeliveryState {
                    status: t.0,
                    attempts: t.1,
                    next_attempt_at: from_millis(t.2),
                    claimed_until: from_millis(t.3),
                    last_error: t.4,
                    sent_at: t.5.map(from_millis),
                }))
            }
        }

        type UserTuple = (String, String, String, Option<String>, String, String, String, Option<String>, Option<i64>);
        type AccessTuple =
            (String, String, String, Option<String>, String, String, String, Option<String>, Option<i64>, String, i64);
        type SummaryTuple = (String, String, String, String, Option<String>, i64, i64, Option<i64>);
        type ActionTuple =
            (String, String, String, String, Option<String>, Option<i64>, Option<String>, String, i64, i64, i64);
        type NotificationTuple = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            String,
            i64,
            Option<i64>,
        );
        type ReminderTuple = (String, String, String, String, i64, i64, String, String, String, String);

        fn notification_from_tuple(t: NotificationTuple) -> StoreResult<NotificationRow> {
            Ok(NotificationRow {
                id: sql::uuid(&t.0)?,
                recipient_id: sql::uuid(&t.1)?,
                kind: t.2,
                channel: t.3,
                title: t.4,
                body: t.5,
                payload: t.6,
                dedup_key: t.7,
                created_at: from_millis(t.8),
                not_before: from_millis(t.9),
                expires_at: from_millis(t.10),
                status: t.11,
                attempts: t.12,
                read_at: t.13.map(from_millis),
            })
        }

        fn reminder_from_tuple(t: ReminderTuple) -> StoreResult<ReminderRow> {
            Ok(ReminderRow {
                id: t.0,
                young_person_id: sql::uuid(&t.1)?,
                kind: t.2,
                entity_id: sql::uuid(&t.3)?,
                due_at: from_millis(t.4),
                expires_at: from_millis(t.5),
                dedup_key: t.6,
                status: t.7,
                first_name: t.8,
                timezone: t.9,
            })
        }

        async fn insert_notifications(
            tx: &mut sqlx::Transaction<'_, Db>,
            rows: &[NewNotification],
        ) -> StoreResult<()> {
            for n in rows {
                sqlx::query(
                    "INSERT INTO notifications (id, recipient_id, kind, channel, title, body, payload, dedup_key, \
                       created_at, not_before, expires_at, status, attempts) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(n.id.to_string())
                .bind(n.recipient_id.to_string())
                .bind(&n.kind)
                .bind(&n.channel)
                .bind(&n.title)
                .bind(&n.body)
                .bind(&n.payload)
                .bind(&n.dedup_key)
                .bind(millis(n.created_at))
                .bind(millis(n.not_before))
                .bind(millis(n.expires_at))
                .bind(&n.status)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }
        type AppointmentTuple = (String, String, String, i64, i64, String, Option<String>, Option<String>, String);

        fn user_from_tuple(t: UserTuple) -> StoreResult<User> {
            sql::user_from_parts(t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8)
        }

        fn summary_from_tuple(t: SummaryTuple) -> StoreResult<YoungPersonSummary> {
            sql::summary_from_parts(t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7)
        }

        async fn insert_user(tx: &mut sqlx::Transaction<'_, Db>, user: &NewUser, at: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO users (id, role, email, password_hash, first_name, last_name, timezone, structure_id, \
                   activation_code_hash, activation_expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(user.id.to_string())
            .bind(user.role.as_str())
            .bind(user.email.trim().to_lowercase())
            .bind(&user.password_hash)
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(&user.timezone)
            .bind(user.structure_id.map(|id| id.to_string()))
            .bind(&user.activation_code_hash)
            .bind(user.activation_expires_at.map(millis))
            .bind(millis(at))
            .execute(&mut **tx)
            .await
            .map_err(sql::conflict("email"))?;
            Ok(())
        }
    };
}
pub(super) use impl_store;
