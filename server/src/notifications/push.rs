//! What the delivery workers ask of a push service: FCM HTTP v1 for the young people's phones
//! (`mobile` rows), Web Push for the advisers' browsers (`web` rows).
//!
//! One outbox row is one notification to one recipient on one channel. A channel finds the
//! recipient's targets itself (device tokens, browser subscriptions), sends to each, removes
//! the ones the push service says are gone, and reports one [`Delivery`] for the row.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Channel;
use crate::store::{NotificationRow, Store};

/// What came of one attempt to deliver one outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the push service for at least one of the recipient's targets. A target that
    /// failed transiently while another accepted is not retried: a second push to the accepted
    /// one would notify twice.
    Sent,
    /// The recipient has no device or subscription left: nothing to send to (the centre still
    /// holds the entry).
    NoTarget,
    /// Every target failed transiently (network, 429, 5xx): try again, not before `after` when
    /// the service said so (`Retry-After`).
    Retry { after: Option<Duration>, reason: String },
    /// The request itself can never succeed (a payload the service rejects, a broken account):
    /// the row goes to the dead letters at once.
    Failed { reason: String },
}

/// A push service, as the delivery workers see it.
#[async_trait::async_trait]
pub trait PushChannel: Send + Sync {
    /// The outbox rows this channel delivers.
    fn channel(&self) -> Channel;

    /// Sends one row to every target of its recipient.
    async fn deliver(&self, store: &dyn Store, notification: &NotificationRow, now: DateTime<Utc>) -> Delivery;
}
