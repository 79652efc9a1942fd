//! One sync over HTTP (`POST /api/v1/sync/{document_id}`), for background fetch where a
//! WebSocket cannot stay open: messages go back and forth until neither side has anything to say.

use std::sync::Arc;

use super::rest::expect_success;
use super::{ClientError, Shared, access_token};
use crate::client::rest::RestError;

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
    /// Local changes the server still does not hold (0 after a complete sync).
    pub pending_changes: usize,
}

pub(crate) async fn sync(shared: &Arc<Shared>) -> Result<SyncReport, ClientError> {
    let url = format!("{}/api/v1/sync/{}", shared.rest.base(), shared.document_id);
    let peer = shared.replica().peer_id();
    let mut state = shared.replica().sync_state();
    // The server keeps a sync state per peer between requests; a reset makes it forget what it
    // believes it sent us before, in case that answer was lost with the network.
    state.needs_reset = true;
    let mut token = access_token(shared, false).await?;
    let mut refreshed = false;
    let mut report = SyncReport::default();
    let mut quiet_server = false;
    while report.rounds < MAX_ROUNDS {
        let outgoing = shared.replica().generate(&mut state);
        if outgoing.is_none() && quiet_server {
            break;
        }
        let body = outgoing.clone().unwrap_or_default();
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
            state = shared.replica().sync_state();
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
        let changed = shared.replica().receive(&mut state, &bytes).map_err(|e| match e {
            super::replica::ReceiveError::Store(e) => ClientError::Store(e),
            other => ClientError::SyncRefused(other.to_string()),
        })?;
        report.plan_changed |= changed;
    }
    let pending = {
        let mut replica = shared.replica();
        replica.remember(&state)?;
        replica.pending_changes()
    };
    report.pending_changes = pending;
    if report.plan_changed {
        shared.notify_plan_changed();
    }
    Ok(report)
}
