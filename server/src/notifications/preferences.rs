//! Per-kind preferences of a young person: which kinds reach their phone.
//!
//! Every kind of [`Kind::YOUNG_PERSON`] is on by default; only the stored differences live in
//! `notification_preferences`. A kind turned off produces no `mobile` row; its centre entry is
//! still written, so the young person can read in the app what their phone was not told.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Kind;
use crate::store::{Store, StoreResult};

/// Every young-person kind with whether it is on, in a stable order.
pub async fn preferences(store: &dyn Store, user_id: Uuid) -> StoreResult<BTreeMap<String, bool>> {
    let mut out: BTreeMap<String, bool> = Kind::YOUNG_PERSON.iter().map(|k| (k.as_str().to_owned(), true)).collect();
    for (kind, enabled) in store.notification_preferences(user_id).await? {
        if let Some(slot) = out.get_mut(&kind) {
            *slot = enabled;
        }
    }
    Ok(out)
}

/// The kinds of a request that are not young-person kinds (for a 422).
pub fn unknown_kinds<'a>(requested: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    requested
        .into_iter()
        .filter(|k| !Kind::parse(k).is_some_and(|kind| Kind::YOUNG_PERSON.contains(&kind)))
        .cloned()
        .collect()
}

/// Stores the given kinds (the absent ones keep their value) and answers the whole map.
pub async fn update(
    store: &dyn Store,
    user_id: Uuid,
    changes: &BTreeMap<String, bool>,
    at: DateTime<Utc>,
) -> StoreResult<BTreeMap<String, bool>> {
    let rows: Vec<(String, bool)> = changes.iter().map(|(k, v)| (k.clone(), *v)).collect();
    store.set_notification_preferences(user_id, &rows, at).await?;
    preferences(store, user_id).await
}
