//! SQLite, the embedded default: one file in WAL mode under the data directory.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use super::sql;
use super::{
    ActionRow, AppointmentRow, CatchUp, EventRow, NewNotification, NewUser, NotificationContext, NotificationRow,
    PlanAccess, PlanAnnouncement, PlanWrite, PortfolioKind, Projections, RefreshUse, ReminderClear, ReminderRow,
    StoreError, StoreResult, StoredChunk, TaskRow, TokenOwner, User, YoungPersonSummary, from_millis, millis,
};

type Db = sqlx::Sqlite;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "pass-emploi.db";

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Token revocations, for the sync sessions of this process (the only one on this file).
    revocations: tokio::sync::broadcast::Sender<Uuid>,
    /// Plan changes announced in this process (the writer ignores its own; an erasure announced
    /// by the retention pass reaches the loaded plans).
    plan_changes: tokio::sync::broadcast::Sender<PlanAnnouncement>,
}

/// Revocations a slow listener may fall behind by (it then only misses the immediacy: sessions
/// check their token again periodically).
const REVOCATIONS_CAPACITY: usize = 256;

impl SqliteStore {
    /// Opens (creating it if needed) `<dir>/pass-emploi.db` and migrates it.
    pub async fn open_dir(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Configuration(Box::new(e))))?;
        Self::connect_options(SqliteConnectOptions::new().filename(dir.join(DATABASE_FILE))).await
    }

    /// Opens a `sqlite:` URL.
    pub async fn connect_url(url: &str) -> StoreResult<Self> {
        Self::connect_options(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect_options(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            revocations: tokio::sync::broadcast::channel(REVOCATIONS_CAPACITY).0,
            plan_changes: tokio::sync::broadcast::channel(REVOCATIONS_CAPACITY).0,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// One process serves an SQLite database: the announcement stays inside it.
    async fn announce(&self, announcement: &PlanAnnouncement) -> StoreResult<()> {
        // No receiver (nobody follows the announcements) is not an error.
        let _ = self.plan_changes.send(announcement.clone());
        Ok(())
    }

    async fn listen(&self, announcements: tokio::sync::mpsc::Sender<PlanAnnouncement>) -> StoreResult<()> {
        forward(self.plan_changes.subscribe(), announcements, "plan announcements");
        Ok(())
    }

    async fn announce_revocation(&self, family_id: Uuid) -> StoreResult<()> {
        // No receiver (no listener yet) is not an error: nobody has a session to end.
        let _ = self.revocations.send(family_id);
        Ok(())
    }

    async fn listen_revocations_impl(&self, revoked: tokio::sync::mpsc::Sender<Uuid>) -> StoreResult<()> {
        forward(self.revocations.subscribe(), revoked, "token revocations");
        Ok(())
    }
}

/// Forwards an in-process announcement channel to a listener until it goes.
fn forward<T: Clone + Send + 'static>(
    mut rx: tokio::sync::broadcast::Receiver<T>,
    to: tokio::sync::mpsc::Sender<T>,
    what: &'static str,
) {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(item) => {
                    if to.send(item).await.is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, what, "announcements: listener lagging");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

sql::impl_store!(SqliteStore, "sqlite");
super::adviser_views::impl_adviser_views!(SqliteStore);
super::conversations::impl_conversation_store!(
    SqliteStore,
    search: "SELECT m.message_id, m.author_id, m.author_role, m.kind, m.sent_at, m.text, m.edited_at, m.deleted_at \
             FROM message_search s JOIN message_rows m \
               ON m.young_person_id = s.young_person_id AND m.message_id = s.message_id \
             WHERE s.young_person_id = $1 AND message_search MATCH $2 ORDER BY m.sent_at DESC LIMIT $3",
    prepare: super::conversations::fts5_query
);
// SQLite has no row locks: a write statement first takes the database's write lock.
super::lifecycle::impl_lifecycle!(
    SqliteStore,
    "UPDATE documents SET created_at = created_at WHERE young_person_id = $1 RETURNING id"
);

/// The SQL of a plan write (`super::plan_writes`), for this database.
mod plan_writes {
    use super::*;
    crate::store::plan_writes::plan_writes!();
}
