//! Live fan-out inside one server process: who is connected to which plan, and what they must hear.
//!
//! Every committed change of a plan (REST, WebSocket, HTTP sync, or another instance through
//! PostgreSQL NOTIFY) is published here; each connected session of that plan then generates its
//! own sync message. Ephemeral messages are relayed the same way, only to sessions that may read
//! the plan (a session subscribes only after its access was checked).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;
use uuid::Uuid;

/// What a plan's subscribers hear.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// The plan changed: generate a sync message for your peer.
    Changed,
    /// An ephemeral message from another session, to relay unchanged (but for `targetId`).
    Ephemeral { from_session: u64, sender_id: String, session_id: String, count: u64, data: Vec<u8> },
    /// Who may read the plan changed (a transfer): check your access again.
    AccessChanged,
}

/// Capacity of each plan's channel: a session that lags further behind resynchronises anyway
/// (a lagging receiver is told so and simply generates a fresh sync message).
const CHANNEL_CAPACITY: usize = 64;

#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, broadcast::Sender<HubEvent>>>,
    sessions_per_user: Mutex<HashMap<Uuid, usize>>,
    next_session: AtomicU64,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A process-unique id for a new session.
    pub fn session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    pub fn subscribe(&self, document_id: &str) -> broadcast::Receiver<HubEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.entry(document_id.to_owned()).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
    }

    /// Tells the plan's subscribers; forgets the channel when nobody listens any more.
    pub fn publish(&self, document_id: &str, event: HubEvent) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = channels.get(document_id) {
            if sender.send(event).is_err() {
                channels.remove(document_id);
            }
        }
    }

    /// Plans with at least one live subscriber.
    pub fn watched(&self) -> usize {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).values().filter(|s| s.receiver_count() > 0).count()
    }

    /// Counts a new session of `user`; `false` when they already have `limit`.
    pub fn open_session(&self, user: Uuid, limit: usize) -> bool {
        let mut counts = self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(user).or_default();
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }

    pub fn close_session(&self, user: Uuid) {
        let mut counts = self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_hear_published_events_and_idle_channels_go() {
        let hub = Hub::new();
        let mut rx = hub.subscribe("doc");
        hub.publish("doc", HubEvent::Changed);
        assert!(matches!(rx.try_recv(), Ok(HubEvent::Changed)));
        drop(rx);
        hub.publish("doc", HubEvent::Changed);
        assert_eq!(hub.watched(), 0);
    }

    #[test]
    fn sessions_per_user_are_bounded() {
        let hub = Hub::new();
        let user = Uuid::new_v4();
        assert!(hub.open_session(user, 2));
        assert!(hub.open_session(user, 2));
        assert!(!hub.open_session(user, 2));
        hub.close_session(user);
        assert!(hub.open_session(user, 2));
    }
}
