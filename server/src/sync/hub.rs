//! Live fan-out inside one server process: who is connected to which plan, and what they must hear.
//!
//! Every committed change of a plan (REST, WebSocket, HTTP sync, or another instance through
//! PostgreSQL NOTIFY) is published here; each connected session of that plan then generates its
//! own sync message. Ephemeral messages are relayed the same way, only to sessions that may read
//! the plan (a session subscribes only after its access was checked). Token revocations (logout,
//! refresh-token reuse), announced by the store on every instance, are published to every session
//! here, each ending when the family is its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, broadcast, mpsc, watch};
use uuid::Uuid;

use crate::store::{DynStore, StoreResult};

/// What a plan's subscribers hear.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// The plan changed: generate a sync message for your peer, unless you are `answered`, the
    /// peer (its key, see `gateway::peer_key`) whose message brought the change and which got
    /// its answer already.
    Changed { answered: Option<Arc<str>> },
    /// An ephemeral message from another session, to relay unchanged (but for `targetId`).
    Ephemeral { from_session: u64, sender_id: String, session_id: String, count: u64, data: Vec<u8> },
    /// Who may read the plan changed (a transfer): check your access again.
    AccessChanged,
}

/// Revocations a session may fall behind by; one that lags checks its token again.
const REVOCATIONS_CAPACITY: usize = 256;

/// Capacity of each plan's channel: a session that lags further behind resynchronises anyway
/// (a lagging receiver is told so and simply generates a fresh sync message).
const CHANNEL_CAPACITY: usize = 64;

pub struct Hub {
    channels: Mutex<HashMap<String, broadcast::Sender<HubEvent>>>,
    sessions_per_user: Mutex<HashMap<Uuid, usize>>,
    next_session: AtomicU64,
    /// Revoked token families (their sessions end).
    revocations: broadcast::Sender<Uuid>,
    /// Set once the store's revocation announcements are followed.
    following_revocations: OnceCell<()>,
    /// Set when the process stops: every session closes with « going away ».
    going_away: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            channels: Mutex::default(),
            sessions_per_user: Mutex::default(),
            next_session: AtomicU64::default(),
            revocations: broadcast::channel(REVOCATIONS_CAPACITY).0,
            following_revocations: OnceCell::new(),
            going_away: watch::channel(false).0,
        }
    }
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Follows the store's revocation announcements (from every instance), once per process; the
    /// gateway calls it before its first session. An error is returned (and retried on the next
    /// call): sessions then rely on their periodic check alone.
    pub async fn follow_revocations(self: &Arc<Self>, store: &DynStore) -> StoreResult<()> {
        self.following_revocations
            .get_or_try_init(|| async {
                let (tx, mut rx) = mpsc::channel::<Uuid>(REVOCATIONS_CAPACITY);
                store.listen_revocations(tx).await?;
                let hub = Arc::downgrade(self);
                tokio::spawn(async move {
                    while let Some(family_id) = rx.recv().await {
                        let Some(hub) = hub.upgrade() else { break };
                        hub.revoke(family_id);
                    }
                });
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Tells every session that the token family `family_id` is revoked.
    pub fn revoke(&self, family_id: Uuid) {
        // No receiver: no open session, nothing to end.
        let _ = self.revocations.send(family_id);
    }

    /// Revoked families, for one session.
    pub fn revocations(&self) -> broadcast::Receiver<Uuid> {
        self.revocations.subscribe()
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

    /// Counts a new session of `user` until the guard is dropped (however the session ends, a
    /// panic included); `None` when they already have `limit`.
    pub fn open_session(self: &Arc<Self>, user: Uuid, limit: usize) -> Option<SessionGuard> {
        let mut counts = self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(user).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(SessionGuard { hub: self.clone(), user })
    }

    /// Asks every session to close (the process is stopping).
    pub fn go_away(&self) {
        self.going_away.send_replace(true);
    }

    /// Becomes true when the process is stopping.
    pub fn going_away(&self) -> watch::Receiver<bool> {
        self.going_away.subscribe()
    }

    /// Sessions open in this process.
    pub fn open_sessions(&self) -> usize {
        self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }

    /// Asks every session to close and waits (up to `within`) until they have.
    pub async fn close_all_sessions(&self, within: std::time::Duration) {
        self.go_away();
        let deadline = tokio::time::Instant::now() + within;
        while self.open_sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Sessions `user` holds now.
    pub fn sessions_of(&self, user: Uuid) -> usize {
        self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner()).get(&user).copied().unwrap_or(0)
    }

    fn close_session(&self, user: Uuid) {
        let mut counts = self.sessions_per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&user);
            }
        }
    }
}

/// One counted session of a user: dropping it releases the count.
pub struct SessionGuard {
    hub: Arc<Hub>,
    user: Uuid,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.close_session(self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_hear_published_events_and_idle_channels_go() {
        let hub = Hub::new();
        let mut rx = hub.subscribe("doc");
        hub.publish("doc", HubEvent::Changed { answered: None });
        assert!(matches!(rx.try_recv(), Ok(HubEvent::Changed { .. })));
        drop(rx);
        hub.publish("doc", HubEvent::Changed { answered: None });
        assert_eq!(hub.watched(), 0);
    }

    #[test]
    fn sessions_per_user_are_bounded() {
        let hub = Arc::new(Hub::new());
        let user = Uuid::new_v4();
        let first = hub.open_session(user, 2);
        let second = hub.open_session(user, 2);
        assert!(first.is_some() && second.is_some());
        assert!(hub.open_session(user, 2).is_none());
        drop(first);
        assert_eq!(hub.sessions_of(user), 1);
        assert!(hub.open_session(user, 2).is_some());
        drop(second);
        assert_eq!(hub.sessions_of(user), 0);
    }
}
