//! One sync over HTTP (`POST /api/v1/sync/{document_id}`), for background fetch where a
//! WebSocket cannot stay open: messages go back and forth until neither side has anything to say.

use std::sync::{Arc, Mutex, MutexGuard};

use super::local_store::StoredDocument;
use super::replica::Replica;
use super::rest::expect_success;
use super::{ClientError, Shared, access_token};
use crate::client::rest::RestError;
use crate::ids::DocumentId;

/// Enough rounds for any real exchange (a sync converges in a handful); a bound all the same.
const MAX_ROUNDS: u32 = 64;

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Changes from elsewhere arrived.
    pub plan_changed: bool,
    /// Messages (or their edits, deletions, read markers) from elsewhere arrived.
    pub messages_changed: bool,
    /// Local changes the server still does not hold (0 after a complete sync).
    pub pending_changes: usize,
}

pub(crate) async fn sync(shared: &Arc<Shared>) -> Result<SyncReport, ClientError> {
    let mut report = SyncReport::default();
    report.plan_changed = sync_document(shared, shared.document_id, &shared.replica, &mut report).await?;
    if let Some(side) = &shared.conversation {
        report.messages_changed = sync_document(shared, side.document_id, &side.replica, &mut report).await?;
    }
    let conversation = shared.conversation.as_ref().map_or(0, |c| c.replica().pending_changes());
    report.pending_changes = shared.replica().pending_changes() + conversation;
    if report.plan_changed {
        shared.notify_plan_changed();
    }
    if report.messages_changed {
        shared.notify_messages_changed();
    }
    Ok(report)
}

fn lock<D: StoredDocument>(replica: &Mutex<Replica<D>>) -> MutexGuard<'_, Replica<D>> {
    replica.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Syncs one document until neither side has anything to say; whether it changed.
async fn sync_document<D: StoredDocument>(
    shared: &Arc<Shared>,
    document_id: DocumentId,
    replica: &Mutex<Replica<D>>,
    report: &mut SyncReport,
) -> Result<bool, ClientError> {
    let url = format!("{}/api/v1/sync/{document_id}", shared.rest.base());
    let peer = lock(replica).peer_id();
    let mut state = lock(replica).sync_state();
    // The server keeps a sync state per peer between requests; a reset makes it forget what it
    // believes it sent us before, in case that answer was lost with the network.
    state.needs_reset = true;
    let mut token = access_token(shared, false).await?;
    let mut refreshed = false;
    let mut changed_any = false;
    let mut quiet_server = false;
    let mut rounds = 0;
    while rounds < MAX_ROUNDS {
        let outgoing = lock(replica).generate(&mut state);
        if outgoing.is_none() && quiet_server {
            break;
        }
        let body = outgoing.clone().unwrap_or_default();
        rounds += 1;
        report.rounds += 1;
        report.bytes_sent += body.len() as u64;
        let response = shared
            .rest
            .http()
            .post(&url)
            .bearer_auth(&token)
            .header("x-peer-id", &peer)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| RestError::Network(e.to_string()))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
            token = access_token(shared, true).await?;
            refreshed = true;
            // The message never arrived: start over from what both sides are known to share.
            state = lock(replica).sync_state();
            state.needs_reset = true;
            continue;
        }
        let response = expect_success(response).await.map_err(|e| match e {
            RestError::Unauthorized(_) => ClientError::SignedOut,
            RestError::Refused { status: 403 | 404, detail } => ClientError::SyncRefused(detail),
            other => other.into(),
        })?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            quiet_server = true;
            if outgoing.is_none() {
                break;
            }
            continue;
        }
        quiet_server = false;
        let bytes = response.bytes().await.map_err(|e| RestError::Network(e.to_string()))?;
        report.bytes_received += bytes.len() as u64;
        let changed = lock(replica).receive(&mut state, &bytes).map_err(|e| match e {
            super::replica::ReceiveError::Store(e) => ClientError::Store(e),
            other => ClientError::SyncRefused(other.to_string()),
        })?;
        changed_any |= changed;
    }
    lock(replica).remember(&state)?;
    Ok(changed_any)
}
