//! SQLite, the embedded default: one file in WAL mode under the data directory.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use super::sql;
use super::{
    ActionRow, AppointmentRow, EventRow, NewNotification, NewUser, NotificationContext, NotificationRow, PlanAccess,
    PlanWrite, PortfolioKind, Projections, RefreshUse, ReminderClear, ReminderRow, StoreError, StoreResult, TaskRow,
    TokenOwner, User, YoungPersonSummary, from_millis, millis,
};

type Db = sqlx::Sqlite;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "pass-emploi.db";

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

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
        Ok(SqliteStore { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// One process serves an SQLite database: there is nobody to tell.
    async fn announce(&self, _origin: Uuid, _document_id: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn listen(&self, _changes: tokio::sync::mpsc::Sender<(Uuid, String)>) -> StoreResult<()> {
        Ok(())
    }
}

sql::impl_store!(SqliteStore, "sqlite");
