//! The notification centre: a recipient's `in_app` rows of the last 30 days, newest first, and
//! their read marks. Rows older than 30 days are removed by [`prune`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::CENTRE_RETENTION;
use crate::store::{NotificationRow, Store, StoreResult};

/// The most entries one listing answers.
pub const PAGE: i64 = 200;

pub async fn list(store: &dyn Store, recipient: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<NotificationRow>> {
    store.notification_centre(recipient, now - CENTRE_RETENTION, PAGE).await
}

/// Marks an entry read; false when it is not the recipient's (or does not exist).
pub async fn mark_read(store: &dyn Store, id: Uuid, recipient: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    store.mark_notification_read(id, recipient, now).await
}

/// Deletes every notification older than 30 days (centre entries and push rows alike) and the
/// settled reminders of the same age. Returns how many rows went. Meant for a daily job.
pub async fn prune(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<u64> {
    store.prune_notifications(now - CENTRE_RETENTION).await
}
