//! The read queries of the advisers' web app (portfolio, agenda, follow-up lists, staff), kept
//! out of the [`Store`](super::Store) trait, which has them as its supertrait: any `DynStore`
//! answers them (`use crate::store::AdviserViews` to call them).
//!
//! Each method is one SQL query over the projections (no per-row query), shared by both backends
//! like `sql.rs`: the macro below expands to one `impl AdviserViews` per backend.

use chrono::{DateTime, NaiveDate, Utc};
use sync_core::model::Role;
use uuid::Uuid;

use super::sql;
use super::{ActionRow, AppointmentRow, PortfolioKind, StoreError, StoreResult, from_millis};

/// Whose young people a portfolio lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortfolioScope {
    /// The young people an adviser follows (definitive or temporary link).
    Adviser(Uuid),
    /// Every young person of a structure (a supervisor's view).
    Structure(Uuid),
}

/// One line of the portfolio page.
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioLine {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The account has a password (the activation code was spent).
    pub activated: bool,
    /// Followed through a temporary link by the adviser of the scope (always false for a
    /// structure's scope).
    pub temporary: bool,
    /// Actions not started or in progress.
    pub open_actions: i64,
    /// Open actions whose due date is before `today`.
    pub late_actions: i64,
    /// Done actions not yet qualified.
    pub to_qualify: i64,
    /// The next scheduled (not canceled) appointment starting at `now` or later.
    pub next_appointment_at: Option<DateTime<Utc>>,
    /// The last time the young person themself changed their plan (`users.last_activity_at`, set
    /// by `commit_plan_write` when `PlanWrite::by_young_person`); `None` if they never did.
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// An appointment with whose it is.
#[derive(Clone, Debug, PartialEq)]
pub struct AgendaLine {
    pub young_person_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub appointment: AppointmentRow,
}

/// An action waiting for the adviser, with whose it is.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingAction {
    pub young_person_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub action: ActionRow,
}

/// An adviser or supervisor.
#[derive(Clone, Debug, PartialEq)]
pub struct StaffMember {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
}

#[async_trait::async_trait]
pub trait AdviserViews: Send + Sync + 'static {
    /// The young people of `scope`, not archived, by last name, first name, id.
    async fn portfolio_lines(
        &self,
        scope: PortfolioScope,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PortfolioLine>>;
    /// The appointments led by `adviser_id` (canceled ones included) starting in `[from, to)`, of
    /// the young people in their portfolio (any link) and not archived, by start.
    async fn adviser_appointments(
        &self,
        adviser_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AgendaLine>>;
    /// The appointments (whoever leads them) of the adviser's portfolio young people that have
    /// started by `now`, are still scheduled and have no presence recorded, by start.
    async fn appointments_to_close(&self, adviser_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<AgendaLine>>;
    /// The done, unqualified actions of the adviser's portfolio young people, oldest completed
    /// first.
    async fn actions_to_qualify(&self, adviser_id: Uuid) -> StoreResult<Vec<PendingAction>>;
    /// The advisers and supervisors of a structure, not archived, by last name, first name, id.
    async fn structure_staff(&self, structure_id: Uuid) -> StoreResult<Vec<StaffMember>>;
    /// Who follows a young person (not archived): definitive links first, then by name.
    async fn followers_named(&self, young_person_id: Uuid) -> StoreResult<Vec<(StaffMember, PortfolioKind)>>;
}

/// The columns of a portfolio line; `$1` = the adviser or the structure, `$2` = today (text
/// date), `$3` = now (millis). `$temporary` is the `temporary` column's expression.
macro_rules! portfolio_select {
    ($temporary:literal) => {
        concat!(
            "SELECT u.id, u.first_name, u.last_name, u.email, \
               CAST(CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS activated, ",
            $temporary,
            " AS temporary, \
               (SELECT COUNT(*) FROM action_rows a WHERE a.young_person_id = u.id \
                  AND a.status IN ('not_started', 'in_progress')) AS open_actions, \
               (SELECT COUNT(*) FROM action_rows a WHERE a.young_person_id = u.id \
                  AND a.status IN ('not_started', 'in_progress') AND a.due_date < $2) AS late_actions, \
               (SELECT COUNT(*) FROM action_rows a WHERE a.young_person_id = u.id \
                  AND a.status = 'done' AND a.qualification_code IS NULL) AS to_qualify, \
               (SELECT MIN(ap.starts_at) FROM appointment_rows ap WHERE ap.young_person_id = u.id \
                  AND ap.status = 'scheduled' AND ap.starts_at >= $3) AS next_appointment_at, \
               u.last_activity_at \
             FROM users u "
        )
    };
}

pub(super) const PORTFOLIO_OF_ADVISER: &str = concat!(
    portfolio_select!("CAST(CASE WHEN p.kind = 'temporary' THEN 1 ELSE 0 END AS BIGINT)"),
    "JOIN portfolio p ON p.young_person_id = u.id \
     WHERE p.adviser_id = $1 AND u.role = 'young_person' AND u.archived_at IS NULL \
     ORDER BY u.last_name, u.first_name, u.id"
);

pub(super) const PORTFOLIO_OF_STRUCTURE: &str = concat!(
    portfolio_select!("CAST(0 AS BIGINT)"),
    "WHERE u.structure_id = $1 AND u.role = 'young_person' AND u.archived_at IS NULL \
     ORDER BY u.last_name, u.first_name, u.id"
);

/// The appointment columns after the young person's three, from `appointment_rows ap`.
macro_rules! agenda_select {
    () => {
        "SELECT u.id, u.first_name, u.last_name, ap.id, ap.title, ap.kind, ap.starts_at, ap.duration_minutes, \
           ap.status, ap.presence, ap.response, ap.adviser_id \
         FROM appointment_rows ap JOIN users u ON u.id = ap.young_person_id \
           JOIN portfolio p ON p.young_person_id = u.id AND p.adviser_id = $1 "
    };
}

/// `$1` adviser, `$2` from, `$3` to (millis).
pub(super) const ADVISER_APPOINTMENTS: &str = concat!(
    agenda_select!(),
    "WHERE ap.adviser_id = $1 AND u.archived_at IS NULL AND ap.starts_at >= $2 AND ap.starts_at < $3 \
     ORDER BY ap.starts_at, ap.id"
);

/// `$1` adviser, `$2` now (millis).
pub(super) const APPOINTMENTS_TO_CLOSE: &str = concat!(
    agenda_select!(),
    "WHERE u.archived_at IS NULL AND ap.status = 'scheduled' AND ap.presence IS NULL AND ap.starts_at <= $2 \
     ORDER BY ap.starts_at, ap.id"
);

/// `$1` adviser.
pub(super) const ACTIONS_TO_QUALIFY: &str = "SELECT u.id, u.first_name, u.last_name, a.id, a.title, a.category, \
       a.status, a.due_date, a.completed_at, a.qualification_code, a.created_by, a.updated_at, a.created_at, a.reminder \
     FROM action_rows a JOIN users u ON u.id = a.young_person_id \
       JOIN portfolio p ON p.young_person_id = u.id AND p.adviser_id = $1 \
     WHERE u.archived_at IS NULL AND a.status = 'done' AND a.qualification_code IS NULL \
     ORDER BY COALESCE(a.completed_at, a.updated_at), a.id";

/// `$1` structure.
pub(super) const STRUCTURE_STAFF: &str = "SELECT id, first_name, last_name, email, role FROM users \
     WHERE structure_id = $1 AND role IN ('adviser', 'supervisor') AND archived_at IS NULL \
     ORDER BY last_name, first_name, id";

/// `$1` young person.
pub(super) const FOLLOWERS_NAMED: &str = "SELECT u.id, u.first_name, u.last_name, u.email, u.role, p.kind \
     FROM portfolio p JOIN users u ON u.id = p.adviser_id \
     WHERE p.young_person_id = $1 AND u.archived_at IS NULL \
     ORDER BY CASE WHEN p.kind = 'definitive' THEN 0 ELSE 1 END, u.last_name, u.first_name, u.id";

pub(super) type PortfolioTuple = (String, String, String, String, i64, i64, i64, i64, i64, Option<i64>, Option<i64>);
pub(super) type AgendaTuple =
    (String, String, String, String, String, String, i64, i64, String, Option<String>, Option<String>, String);
pub(super) type PendingTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);
pub(super) type StaffTuple = (String, String, String, String, String);

pub(super) fn portfolio_line(t: PortfolioTuple) -> StoreResult<PortfolioLine> {
    Ok(PortfolioLine {
        id: sql::uuid(&t.0)?,
        first_name: t.1,
        last_name: t.2,
        email: t.3,
        activated: t.4 != 0,
        temporary: t.5 != 0,
        open_actions: t.6,
        late_actions: t.7,
        to_qualify: t.8,
        next_appointment_at: t.9.map(from_millis),
        last_activity_at: t.10.map(from_millis),
    })
}

pub(super) fn agenda_line(t: AgendaTuple) -> StoreResult<AgendaLine> {
    Ok(AgendaLine {
        young_person_id: sql::uuid(&t.0)?,
        first_name: t.1,
        last_name: t.2,
        appointment: AppointmentRow {
            id: sql::uuid(&t.3)?,
            title: t.4,
            kind: t.5,
            starts_at: from_millis(t.6),
            duration_minutes: t.7,
            status: t.8,
            presence: t.9,
            response: t.10,
            adviser_id: sql::uuid(&t.11)?,
        },
    })
}

pub(super) fn pending_action(t: PendingTuple) -> StoreResult<PendingAction> {
    Ok(PendingAction {
        young_person_id: sql::uuid(&t.0)?,
        first_name: t.1,
        last_name: t.2,
        action: ActionRow {
            id: sql::uuid(&t.3)?,
            title: t.4,
            category: t.5,
            status: t.6,
            due_date: sql::date(t.7)?,
            completed_at: t.8.map(from_millis),
            qualification_code: t.9,
            created_by: sql::uuid(&t.10)?,
            updated_at: from_millis(t.11),
            created_at: from_millis(t.12),
            reminder: t.13 != 0,
        },
    })
}

pub(super) fn staff_member(t: StaffTuple) -> StoreResult<StaffMember> {
    Ok(StaffMember { id: sql::uuid(&t.0)?, first_name: t.1, last_name: t.2, email: t.3, role: sql::role(&t.4)? })
}

pub(super) fn portfolio_kind(text: &str) -> StoreResult<PortfolioKind> {
    PortfolioKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("portfolio kind {text}")))
}

macro_rules! impl_adviser_views {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl $crate::store::AdviserViews for $store {
            async fn portfolio_lines(
                &self,
                scope: $crate::store::PortfolioScope,
                today: NaiveDate,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<$crate::store::PortfolioLine>> {
                use $crate::store::PortfolioScope;
                let (query, id) = match scope {
                    PortfolioScope::Adviser(id) => (super::adviser_views::PORTFOLIO_OF_ADVISER, id),
                    PortfolioScope::Structure(id) => (super::adviser_views::PORTFOLIO_OF_STRUCTURE, id),
                };
                let rows: Vec<super::adviser_views::PortfolioTuple> = sqlx::query_as(query)
                    .bind(id.to_string())
                    .bind(today.format("%Y-%m-%d").to_string())
                    .bind(millis(now))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(super::adviser_views::portfolio_line).collect()
            }

            async fn adviser_appointments(
                &self,
                adviser_id: Uuid,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> StoreResult<Vec<$crate::store::AgendaLine>> {
                let rows: Vec<super::adviser_views::AgendaTuple> =
                    sqlx::query_as(super::adviser_views::ADVISER_APPOINTMENTS)
                        .bind(adviser_id.to_string())
                        .bind(millis(from))
                        .bind(millis(to))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(super::adviser_views::agenda_line).collect()
            }

            async fn appointments_to_close(
                &self,
                adviser_id: Uuid,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<$crate::store::AgendaLine>> {
                let rows: Vec<super::adviser_views::AgendaTuple> =
                    sqlx::query_as(super::adviser_views::APPOINTMENTS_TO_CLOSE)
                        .bind(adviser_id.to_string())
                        .bind(millis(now))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(super::adviser_views::agenda_line).collect()
            }

            async fn actions_to_qualify(&self, adviser_id: Uuid) -> StoreResult<Vec<$crate::store::PendingAction>> {
                let rows: Vec<super::adviser_views::PendingTuple> =
                    sqlx::query_as(super::adviser_views::ACTIONS_TO_QUALIFY)
                        .bind(adviser_id.to_string())
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(super::adviser_views::pending_action).collect()
            }

            async fn structure_staff(&self, structure_id: Uuid) -> StoreResult<Vec<$crate::store::StaffMember>> {
                let rows: Vec<super::adviser_views::StaffTuple> = sqlx::query_as(super::adviser_views::STRUCTURE_STAFF)
                    .bind(structure_id.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(super::adviser_views::staff_member).collect()
            }

            async fn followers_named(
                &self,
                young_person_id: Uuid,
            ) -> StoreResult<Vec<($crate::store::StaffMember, PortfolioKind)>> {
                let rows: Vec<(String, String, String, String, String, String)> =
                    sqlx::query_as(super::adviser_views::FOLLOWERS_NAMED)
                        .bind(young_person_id.to_string())
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, first, last, email, role, kind)| {
                        let member = super::adviser_views::staff_member((id, first, last, email, role))?;
                        Ok((member, super::adviser_views::portfolio_kind(&kind)?))
                    })
                    .collect()
            }
        }
    };
}
pub(super) use impl_adviser_views;
