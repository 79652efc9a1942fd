//! PostgreSQL, for several server instances sharing one database.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::sql;
use super::{
    ActionRow, AppointmentRow, CatchUp, EventRow, NewNotification, NewUser, NotificationContext, NotificationRow,
    PlanAccess, PlanAnnouncement, PlanWrite, PortfolioKind, Projections, RefreshUse, ReminderClear, ReminderRow,
    StoreError, StoreResult, StoredChunk, TaskRow, TokenOwner, User, YoungPersonSummary, from_millis, millis,
};

type Db = sqlx::Postgres;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn announce(&self, announcement: &PlanAnnouncement) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PLAN_CHANGES_CHANNEL)
            .bind(announcement.to_payload())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Listens on its own connection; reconnects (sqlx's listener does) until `announcements`
    /// closes. NOTIFY reaches the announcing instance's listener too.
    async fn listen(&self, announcements: tokio::sync::mpsc::Sender<PlanAnnouncement>) -> StoreResult<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(PLAN_CHANGES_CHANNEL).await?;
        tokio::spawn(async move {
            loop {
                let notification = match listener.recv().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "plan announcement listener: retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let Some(announcement) = PlanAnnouncement::parse(notification.payload()) else {
                    tracing::warn!(payload = notification.payload(), "unreadable plan announcement");
                    continue;
                };
                if announcements.send(announcement).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    async fn announce_revocation(&self, family_id: Uuid) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOCATIONS_CHANNEL)
            .bind(family_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every instance hears every revocation, its own included (NOTIFY reaches the sender's
    /// listener too): one path for all.
    async fn listen_revocations_impl(&self, revoked: tokio::sync::mpsc::Sender<Uuid>) -> StoreResult<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(REVOCATIONS_CHANNEL).await?;
        tokio::spawn(async move {
            loop {
                let notification = match listener.recv().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "token revocation listener: retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let Ok(family_id) = Uuid::parse_str(notification.payload()) else {
                    continue;
                };
                if revoked.send(family_id).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }
}

/// The NOTIFY channel on which instances announce revoked token families (payload: the family id).
const REVOCATIONS_CHANNEL: &str = "pass_emploi_token_revocations";

/// The NOTIFY channel on which instances announce committed plan changes.
const PLAN_CHANGES_CHANNEL: &str = "pass_emploi_plan_changes";

sql::impl_store!(PgStore, "postgres");
super::adviser_views::impl_adviser_views!(PgStore);
super::conversations::impl_conversation_store!(
    PgStore,
    search: "SELECT m.message_id, m.author_id, m.author_role, m.kind, m.sent_at, m.text, m.edited_at, m.deleted_at \
             FROM message_rows m \
             WHERE m.young_person_id = $1 AND m.search @@ plainto_tsquery('french', $2) \
             ORDER BY m.sent_at DESC LIMIT $3",
    prepare: |query: &str| query.to_owned()
);
// FOR UPDATE conflicts with the KEY SHARE lock a chunk's insert takes on its document's row.
super::lifecycle::impl_lifecycle!(PgStore, "SELECT id FROM documents WHERE young_person_id = $1 FOR UPDATE");

/// The SQL of a plan write (`super::plan_writes`), for this database.
mod plan_writes {
    use super::*;
    crate::store::plan_writes::plan_writes!();
}
