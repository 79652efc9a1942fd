//! PostgreSQL, for several server instances sharing one database.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use super::sql;
use super::{
    ActionRow, AppointmentRow, EventRow, NewUser, PlanAccess, PlanWrite, PortfolioKind, Projections, RefreshUse,
    StoreError, StoreResult, TaskRow, TokenOwner, User, YoungPersonSummary, from_millis, millis,
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
}

sql::impl_store!(PgStore, "postgres");
