//! Storage: one [`Store`] trait, one implementation per database (SQLite, PostgreSQL).
//!
//! Both implementations share their SQL text where the two dialects agree (see `sql.rs`); each
//! has its own migrations folder. Instants are stored as Unix milliseconds, dates as
//! `YYYY-MM-DD` text and ids as UUID text, so the SQL is identical on both sides.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sync_core::model::Role;
use sync_core::schema::Collection;
use uuid::Uuid;

mod adviser_views;
mod announcements;
pub mod conversations;
pub mod group_commit;
mod lifecycle;
mod plan_writes;
mod postgres;
mod sql;
mod sqlite;

pub use adviser_views::{AdviserViews, AgendaLine, PendingAction, PortfolioLine, PortfolioScope, StaffMember};
pub use announcements::{PlanAnnouncement, PlanNews};
pub use conversations::{BroadcastList, ConversationStore, ConversationWrite, MessageRow, UnreadCount};
pub use lifecycle::{AccountRecord, ArchiveSummary, DocumentFingerprint, Erased, Erasure, Lifecycle, NewArchive};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Milliseconds since the Unix epoch, the storage form of every instant.
pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: Uuid,
    pub role: Role,
    pub email: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    pub structure_id: Option<Uuid>,
    pub activation_code_hash: Option<String>,
    pub activation_expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub role: Role,
    pub email: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    pub structure_id: Option<Uuid>,
    pub archived: bool,
}

/// The user behind a valid access token.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenOwner {
    pub user_id: Uuid,
    pub role: Role,
    pub structure_id: Option<Uuid>,
    pub family_id: Uuid,
    pub timezone: String,
    /// When the token stops being valid (a sync session ends at that instant).
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortfolioKind {
    Definitive,
    Temporary,
}

impl PortfolioKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PortfolioKind::Definitive => "definitive",
            PortfolioKind::Temporary => "temporary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "definitive" => Some(PortfolioKind::Definitive),
            "temporary" => Some(PortfolioKind::Temporary),
            _ => None,
        }
    }
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshUse {
    /// Valid and now spent: issue a new pair in the same family.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// Already spent: the whole family has just been revoked.
    Reused { family_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

/// A young person as the caller may see them, with the plan's document.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanAccess {
    pub young_person: User,
    pub document_id: String,
    /// Whether the caller follows this plan as an adviser (portfolio, definitive or temporary).
    pub follows: bool,
}

/// One line of an adviser's (or supervisor's) list, computed from the projections.
#[derive(Clone, Debug, PartialEq)]
pub struct YoungPersonSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub plan_document_id: Option<String>,
    pub open_actions: i64,
    pub late_actions: i64,
    pub next_appointment_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionRow {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    pub status: String,
    pub due_date: Option<NaiveDate>,
    pub completed_at: Option<DateTime<Utc>>,
    pub qualification_code: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the young person wants the "due in 3 days" reminder.
    pub reminder: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub title: String,
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub status: String,
    pub presence: Option<String>,
    pub response: Option<String>,
    pub adviser_id: Uuid,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskRow {
    pub id: Uuid,
    pub title: String,
    pub kind: String,
    pub status: String,
    pub due_date: Option<NaiveDate>,
}

/// The rows of one plan, replaced as a whole after each write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projections {
    pub actions: Vec<ActionRow>,
    pub appointments: Vec<AppointmentRow>,
    pub tasks: Vec<TaskRow>,
}

impl Projections {
    pub fn from_plan(plan: &sync_core::Plan) -> Self {
        Projections {
            actions: plan.actions.iter().map(ActionRow::from).collect(),
            appointments: plan.appointments.iter().map(AppointmentRow::from).collect(),
            tasks: plan.tasks.iter().map(TaskRow::from).collect(),
        }
    }

    /// The rows of some entities only (what one write touched); an entity that is gone or
    /// unreadable gets no row.
    pub fn for_entities(doc: &sync_core::PlanDocument, entities: &[(Collection, Uuid)]) -> Self {
        let mut out = Projections::default();
        for (collection, id) in entities {
            let key = id.to_string();
            let Some(node) = doc.entity_node(*collection, &key, None) else {
                continue;
            };
            let entity = format!("{}/{key}", collection.key());
            match collection {
                Collection::Actions => out
                    .actions
                    .extend(sync_core::model::Action::from_node(&node, &entity).ok().as_ref().map(ActionRow::from)),
                Collection::Appointments => out.appointments.extend(
                    sync_core::model::Appointment::from_node(&node, &entity).ok().as_ref().map(AppointmentRow::from),
                ),
                Collection::Tasks => {
                    out.tasks.extend(sync_core::model::Task::from_node(&node, &entity).ok().as_ref().map(TaskRow::from))
                }
                Collection::Notices => {}
            }
        }
        out
    }
}

impl From<&sync_core::model::Action> for ActionRow {
    fn from(a: &sync_core::model::Action) -> Self {
        ActionRow {
            id: a.id,
            title: a.title.clone(),
            category: a.category.as_str().to_owned(),
            status: a.status.as_str().to_owned(),
            due_date: a.due_date,
            completed_at: a.completed_at,
            qualification_code: a.qualification.as_ref().map(|q| q.code.as_str().to_owned()),
            created_by: a.created_by.id,
            created_at: a.created_at,
            updated_at: a.updated_at,
            reminder: a.reminder,
        }
    }
}

impl From<&sync_core::model::Appointment> for AppointmentRow {
    fn from(a: &sync_core::model::Appointment) -> Self {
        AppointmentRow {
            id: a.id,
            title: a.title.clone(),
            kind: a.kind.as_str().to_owned(),
            starts_at: a.starts_at,
            duration_minutes: a.duration_minutes,
            status: a.status.as_str().to_owned(),
            presence: a.presence.map(|p| p.as_str().to_owned()),
            response: a.response.map(|r| r.as_str().to_owned()),
            adviser_id: a.adviser_id,
        }
    }
}

impl From<&sync_core::model::Task> for TaskRow {
    fn from(t: &sync_core::model::Task) -> Self {
        TaskRow {
            id: t.id,
            title: t.title.clone(),
            kind: t.kind.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            due_date: t.due_date,
        }
    }
}

/// An outbox row.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub dedup_key: String,
    pub young_person_id: Option<Uuid>,
    pub kind: String,
    pub payload: String,
}

impl EventRow {
    pub fn from_event(event: &sync_core::DomainEvent) -> Self {
        let payload = serde_json::to_value(event).unwrap_or_default();
        let kind = payload.get("kind").and_then(|k| k.get("type")).and_then(|t| t.as_str()).unwrap_or("unknown");
        EventRow {
            dedup_key: event.dedup_key.clone(),
            young_person_id: event.young_person_id,
            kind: kind.to_owned(),
            payload: payload.to_string(),
        }
    }
}

/// One stored chunk of a document: a snapshot (every change up to it) or changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChunk {
    pub seq: i64,
    pub snapshot: bool,
    pub bytes: Vec<u8>,
}

/// Folds chunks another instance stored into the writer's plan and rebuilds the write from it
/// (snapshot, projections, reminders), while [`Store::commit_plan_write`] holds the plan's lock.
pub type CatchUp<'a> = dyn FnMut(Vec<StoredChunk>, &mut PlanWrite) -> StoreResult<()> + Send + 'a;

/// One acknowledged write of a plan: stored in one transaction.
#[derive(Clone, Debug)]
pub struct PlanWrite {
    pub document_id: String,
    /// The seq of the last chunk the writer's copy of the plan holds (see `CatchUp`).
    pub after_seq: i64,
    pub young_person_id: Uuid,
    /// The changes the write brought (a peer's chunks as received, or `save_after` the heads before it).
    pub changes: Vec<u8>,
    /// When set, a compacted snapshot that replaces every chunk (the changes are then in it).
    pub snapshot: Option<Vec<u8>>,
    pub projections: Projections,
    /// The entities whose rows `projections` replaces; `None`: every row of the plan.
    pub touched: Option<Vec<(Collection, Uuid)>>,
    pub events: Vec<EventRow>,
    /// The notification rows the events produce (insert-or-ignore by their dedup key).
    pub notifications: Vec<NewNotification>,
    /// The reminders to clear and (re)arm from the projections above.
    pub reminders: ReminderChanges,
    /// Whether the young person themself wrote these changes (a REST write or a sync of theirs):
    /// their last activity (`users.last_activity_at`) becomes `at` unless it is later already.
    pub by_young_person: bool,
    pub at: DateTime<Utc>,
}

/// A notification row to insert (see `crate::notifications`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub kind: String,
    /// "mobile", "web" or "in_app".
    pub channel: String,
    pub title: String,
    pub body: String,
    /// JSON text: ids only.
    pub payload: String,
    pub dedup_key: String,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// "pending" for a push to deliver, "sent" for a centre entry (stored is delivered).
    pub status: String,
}

/// A stored notification, as the centre and the tests read it.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRow {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub kind: String,
    pub channel: String,
    pub title: String,
    pub body: String,
    pub payload: String,
    pub dedup_key: String,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: String,
    pub attempts: i64,
    pub read_at: Option<DateTime<Utc>>,
}

/// A reminder row to insert.
#[derive(Clone, Debug, PartialEq)]
pub struct NewReminder {
    pub id: Uuid,
    pub young_person_id: Uuid,
    /// "appointment_7d", "appointment_1d", "action_due_3d" or "weekly_nudge".
    pub kind: String,
    pub entity_id: Uuid,
    pub due_at: DateTime<Utc>,
    /// After this instant the reminder is pointless (the appointment has started, the day is over).
    pub expires_at: DateTime<Utc>,
    pub dedup_key: String,
}

/// A stored reminder, with what releasing it needs to know about its young person.
#[derive(Clone, Debug, PartialEq)]
pub struct ReminderRow {
    pub id: String,
    pub young_person_id: Uuid,
    pub kind: String,
    pub entity_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub dedup_key: String,
    pub status: String,
    pub first_name: String,
    pub timezone: String,
}

/// Which pending reminders a write deletes before arming new ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ReminderClear {
    #[default]
    Nothing,
    /// Every pending entity reminder of the young person (the whole plan was re-projected).
    All,
    /// The pending reminders of these entities.
    Entities(Vec<Uuid>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReminderChanges {
    pub clear: ReminderClear,
    pub arm: Vec<NewReminder>,
}

/// What producing a plan's notifications needs to know, read before the write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotificationContext {
    pub first_name: String,
    pub timezone: String,
    /// Every adviser following the young person, with their time zone.
    pub followers: Vec<(Uuid, String)>,
    /// The kinds the young person turned off.
    pub disabled: Vec<String>,
}

// --- web push (issue 6) ---

/// A browser's push subscription (the `PushSubscription` it handed over), owned by one user.
#[derive(Clone, Debug, PartialEq)]
pub struct PushSubscriptionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The push service's URL for this browser (checked against the allowlist when stored).
    pub endpoint: String,
    /// The browser's P-256 key, base64url (65-byte uncompressed point).
    pub p256dh: String,
    /// The browser's authentication secret, base64url (16 bytes).
    pub auth: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The server's VAPID key pair as stored: base64url without padding.
#[derive(Clone, Debug, PartialEq)]
pub struct VapidKeyRow {
    /// The P-256 private scalar (32 bytes).
    pub private_key: String,
    /// The uncompressed public point (65 bytes), the browsers' `applicationServerKey`.
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

// --- end web push ---

/// Everything the store does. The advisers' web app's read queries are in the supertrait
/// [`AdviserViews`], the departures and the retention rules in [`Lifecycle`], the conversations in
/// [`ConversationStore`] (so a [`DynStore`]
/// answers them too; bring the trait into scope to call them).
#[async_trait::async_trait]
pub trait Store: AdviserViews + Lifecycle + ConversationStore + Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;

    async fn create_structure(&self, id: Uuid, name: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn structure_by_name(&self, name: &str) -> StoreResult<Option<Uuid>>;
    async fn count_users(&self) -> StoreResult<i64>;

    /// Creates a user; `Conflict` when the (lowercased) email is taken.
    async fn create_user(&self, user: &NewUser, at: DateTime<Utc>) -> StoreResult<()>;
    /// Creates a young person, their portfolio link (if an adviser is given) and their plan's first
    /// snapshot at once.
    async fn create_young_person(
        &self,
        user: &NewUser,
        adviser_id: Option<Uuid>,
        document_id: &str,
        snapshot: &[u8],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// Whether an activation code (its hash) is unspent and unexpired, for a user not archived: what
    /// [`Store::activate`] will check again, asked before the password is hashed.
    async fn activation_code_valid(&self, code_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Spends an activation code: sets the password. Returns the user, or `None` when the code is
    /// unknown, spent or expired.
    async fn activate(&self, code_hash: &str, password_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Uuid>>;

    async fn add_to_portfolio(
        &self,
        young_person_id: Uuid,
        adviser_id: Uuid,
        kind: PortfolioKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves young people to `to_adviser_id`: a definitive transfer replaces every definitive link;
    /// a temporary one adds a temporary link. All or nothing.
    async fn transfer(
        &self,
        young_person_ids: &[Uuid],
        to_adviser_id: Uuid,
        kind: PortfolioKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The advisers following a young person.
    async fn followers(&self, young_person_id: Uuid) -> StoreResult<Vec<(Uuid, PortfolioKind)>>;
    /// The young person and whether `caller` follows them; `None` if no such young person.
    async fn plan_access(&self, young_person_id: Uuid, caller: Uuid) -> StoreResult<Option<PlanAccess>>;
    async fn document_of(&self, young_person_id: Uuid) -> StoreResult<Option<String>>;
    /// The young person whose plan a document is; `None` for an unknown document.
    async fn document_owner(&self, document_id: &str) -> StoreResult<Option<Uuid>>;
    async fn portfolio_summaries(
        &self,
        adviser_id: Uuid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<YoungPersonSummary>>;
    async fn structure_summaries(
        &self,
        structure_id: Uuid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<YoungPersonSummary>>;

    async fn insert_access_token(
        &self,
        hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn insert_refresh_token(
        &self,
        hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn access_token_owner(&self, hash: &str, now: DateTime<Utc>) -> StoreResult<Option<TokenOwner>>;
    async fn use_refresh_token(&self, hash: &str, now: DateTime<Utc>) -> StoreResult<RefreshUse>;
    /// Revokes every access and refresh token of a family (logout, reuse), then announces it to
    /// every instance (this one included) through [`Store::listen_revocations`].
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Delivers the family id of every revocation announced by any instance to `revoked`, until the
    /// receiver is dropped (PostgreSQL: NOTIFY; SQLite: inside this process). Best effort: the
    /// sync sessions also check their token again periodically.
    async fn listen_revocations(&self, revoked: tokio::sync::mpsc::Sender<Uuid>) -> StoreResult<()>;

    /// Binds an Automerge actor to a user; false when it is bound to someone else or reserved (a
    /// plan's genesis actor, a server process's actor).
    async fn bind_actor(&self, actor_hex: &str, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Reserves a server process's actor, so that no user may sign with it; false when a user
    /// already holds it.
    async fn reserve_actor(&self, actor_hex: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Tells every server instance sharing the database (this one included) what happened to a
    /// plan: PostgreSQL NOTIFY, or inside this process for SQLite.
    async fn announce_plan(&self, announcement: &PlanAnnouncement) -> StoreResult<()>;

    /// Delivers every plan announcement of any instance to `announcements` until the receiver is
    /// dropped. Best effort: a missed one is caught up by the next write's compare-and-set.
    async fn listen_plans(&self, announcements: tokio::sync::mpsc::Sender<PlanAnnouncement>) -> StoreResult<()>;

    /// The stored chunks of a document after `after_seq`, in order (0: all of them, the latest
    /// snapshot first).
    async fn load_chunks(&self, document_id: &str, after_seq: i64) -> StoreResult<Vec<StoredChunk>>;
    /// Chunk, projections and events in one transaction, under the plan's row lock; returns the
    /// chunk's seq. When the document holds chunks after `write.after_seq` (another instance's),
    /// `catch_up` gets them first and rebuilds the write.
    async fn commit_plan_write(&self, write: &mut PlanWrite, catch_up: &mut CatchUp<'_>) -> StoreResult<i64>;
    /// Several plans' writes in one transaction (group commit; at most one write per plan).
    /// Each is stored if its plan's last chunk is still its `after_seq` (`Some(seq)`), skipped
    /// otherwise (`None`: store it alone, with [`Store::commit_plan_write`]). An error stores none.
    async fn commit_plan_writes(&self, writes: &[PlanWrite]) -> StoreResult<Vec<Option<i64>>>;
    async fn projections(&self, young_person_id: Uuid) -> StoreResult<Projections>;
    async fn events(&self, young_person_id: Uuid) -> StoreResult<Vec<EventRow>>;

    // --- web push (issue 6) ---
    // Browser subscriptions and the VAPID key pair; see crate::notifications::webpush.

    /// Stores a browser subscription for a user, or refreshes it (keys, `last_seen_at`, and its
    /// owner: an endpoint belongs to the last account that posted it), then keeps only the
    /// user's `keep` most recently seen subscriptions. True when the endpoint was new.
    async fn upsert_push_subscription(&self, subscription: &PushSubscriptionRow, keep: i64) -> StoreResult<bool>;
    /// A user's subscriptions, most recently seen first.
    async fn push_subscriptions_of(&self, user_id: Uuid) -> StoreResult<Vec<PushSubscriptionRow>>;
    /// Deletes a subscription by endpoint, only if it is `user_id`'s. False when there was none.
    async fn delete_push_subscription(&self, user_id: Uuid, endpoint: &str) -> StoreResult<bool>;
    /// Deletes a subscription by endpoint whoever owns it (the push service said it is gone).
    async fn delete_push_endpoint(&self, endpoint: &str) -> StoreResult<bool>;
    /// Deletes the subscriptions not seen since `before`; returns how many went.
    async fn prune_push_subscriptions(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Stores `candidate` as the VAPID key pair unless one is already stored (insert-or-ignore),
    /// then returns the stored one: instances racing on one database all get the same pair.
    async fn vapid_keys_get_or_insert(&self, candidate: &VapidKeyRow) -> StoreResult<VapidKeyRow>;

    // --- end web push ---

    // ---- notifications (see crate::notifications) ----

    async fn notification_context(&self, young_person_id: Uuid) -> StoreResult<NotificationContext>;
    /// The kinds stored for a user (`(kind, enabled)`); absent kinds are on.
    async fn notification_preferences(&self, user_id: Uuid) -> StoreResult<Vec<(String, bool)>>;
    async fn set_notification_preferences(
        &self,
        user_id: Uuid,
        prefs: &[(String, bool)],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Every notification row of a recipient (any channel), newest first.
    async fn notifications_of(&self, recipient_id: Uuid) -> StoreResult<Vec<NotificationRow>>;
    /// The recipient's centre: `in_app` rows created at or after `since`, newest first.
    async fn notification_centre(
        &self,
        recipient_id: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRow>>;
    /// Marks one of the recipient's centre entries read; false when it is not theirs or unknown.
    async fn mark_notification_read(&self, id: Uuid, recipient_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Deletes notifications created before `before` (dead letters apart: they have their own
    /// rule), and reminders settled before it.
    async fn prune_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Reminders of a young person (any status), by due time.
    async fn reminders_of(&self, young_person_id: Uuid) -> StoreResult<Vec<ReminderRow>>;
    /// Pending reminders due at `now` or before, oldest first.
    async fn due_reminders(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ReminderRow>>;
    /// Settles a pending reminder: released (its notifications inserted) or dropped, in one
    /// transaction. False when it was no longer pending (someone else settled it).
    async fn settle_reminder(
        &self,
        id: &str,
        released: bool,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The distinct time zones of active young people.
    async fn young_person_timezones(&self) -> StoreResult<Vec<String>>;
    /// Arms the week's nudge of every active young person in `timezone` who created no action
    /// since `week_start`; returns how many were armed.
    async fn arm_weekly_nudges(
        &self,
        timezone: &str,
        week_start: DateTime<Utc>,
        due_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        week_key: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // --- delivery (issue 6) ---
    // Device tokens (FCM) and the push outbox's workers; see crate::notifications::delivery.

    /// Registers a device token for a user, or refreshes it (`last_seen_at`, and its owner and
    /// platform: a token belongs to the last account that registered it). True when it was new.
    async fn upsert_device_token(
        &self,
        user_id: Uuid,
        platform: &str,
        token: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// [`Store::upsert_device_token`], then the user keeps this token and their `keep - 1` most
    /// recently seen others; older ones are deleted (one transaction). True when it was new.
    async fn upsert_device_token_keeping(
        &self,
        user_id: Uuid,
        platform: &str,
        token: &str,
        at: DateTime<Utc>,
        keep: i64,
    ) -> StoreResult<bool>;
    /// A user's device tokens, oldest first.
    async fn device_tokens_of(&self, user_id: Uuid) -> StoreResult<Vec<DeviceToken>>;
    /// Deletes a token (only if it is `owner`'s, when given). False when there was none.
    async fn delete_device_token(&self, token: &str, owner: Option<Uuid>) -> StoreResult<bool>;
    /// Deletes the tokens not seen since `before`; returns how many went.
    async fn prune_device_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts notification rows (insert-or-ignore by dedup key) outside of a plan write.
    async fn enqueue_notifications(&self, rows: &[NewNotification]) -> StoreResult<()>;
    /// Claims up to `limit` due push rows of a channel for the worker `claim`: pending, with
    /// `not_before`, `next_attempt_at` and any earlier lease passed at `now`. The rows are leased
    /// until `lease_until` (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so workers never share a row).
    async fn claim_push_notifications(
        &self,
        channel: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRow>>;
    /// Settles a claimed row. Does nothing (false) when the row is no longer pending under this
    /// claim (its lease ran out and another worker took it).
    async fn settle_push_notification(&self, id: Uuid, claim: Uuid, outcome: &PushOutcome) -> StoreResult<bool>;
    /// Marks `dropped` every pending push row past its `expires_at` that no worker holds.
    async fn drop_expired_notifications(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// The delivery bookkeeping of one row.
    async fn notification_delivery(&self, id: Uuid) -> StoreResult<Option<DeliveryState>>;
}

// --- delivery (issue 6) ---

/// A registered device (an FCM registration token).
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// "android" or "ios".
    pub platform: String,
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// How a worker settles a claimed push row.
#[derive(Clone, Debug, PartialEq)]
pub enum PushOutcome {
    /// Accepted by the push service: `sent`.
    Sent { at: DateTime<Utc> },
    /// Try again at `next_attempt_at` (one more attempt counted).
    Retry { next_attempt_at: DateTime<Utc>, error: String },
    /// Dead letter (one more attempt counted).
    Dead { error: String },
    /// Not sent and never will be: expired, or nobody to send to.
    Dropped { reason: String },
}

/// What the workers recorded on a row.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryState {
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store the configuration names and runs its migrations.
pub async fn open(database_url: Option<&str>, data_dir: &std::path::Path) -> StoreResult<DynStore> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PgStore::connect(url).await?))
        }
        Some(url) if url.starts_with("sqlite:") => Ok(Arc::new(SqliteStore::connect_url(url).await?)),
        _ => Ok(Arc::new(SqliteStore::open_dir(data_dir).await?)),
    }
}
