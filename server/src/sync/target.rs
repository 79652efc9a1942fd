//! What a synced document id names: a young person's plan or their conversation, who may sync it,
//! and which of [`Documents`](crate::documents::Documents) and
//! [`Conversations`](crate::conversations::Conversations) serves it. The WebSocket gateway and the
//! HTTP fallback go through here, so both kinds sync the same way.

use sync_core::Author;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::documents::SyncOutcome;
use crate::error::{ApiError, ApiResult};
use crate::routes::conversations::participant;
use crate::routes::young_people::plan_access;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plan,
    Conversation,
}

/// One synced document: its kind, its key (automerge-repo's id) and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub key: String,
    pub young_person_id: Uuid,
}

impl Target {
    /// The document behind `key`; `None` when there is none.
    pub async fn resolve(state: &AppState, key: &str) -> ApiResult<Option<Target>> {
        if let Some(young_person_id) = state.store.document_owner(key).await? {
            return Ok(Some(Target { kind: Kind::Plan, key: key.to_owned(), young_person_id }));
        }
        Ok(state.store.conversation_owner(key).await?.map(|young_person_id| Target {
            kind: Kind::Conversation,
            key: key.to_owned(),
            young_person_id,
        }))
    }

    /// How `user` writes to this document; `NotFound` when they may not read it (a supervisor
    /// reads the plans of their structure, never a conversation they do not take part in).
    pub async fn access(&self, state: &AppState, user: &AuthUser) -> ApiResult<Author> {
        match self.kind {
            Kind::Plan => plan_access(state, user, self.young_person_id).await.map(|(_, author)| author),
            Kind::Conversation => participant(state, user, self.young_person_id).await,
        }
    }

    pub async fn receive(
        &self,
        state: &AppState,
        peer_key: &str,
        author: &Author,
        message: &[u8],
    ) -> ApiResult<SyncOutcome> {
        match self.kind {
            Kind::Plan => {
                state.documents.sync_receive(&self.key, self.young_person_id, peer_key, author, message).await
            }
            Kind::Conversation => {
                state.conversations.sync_receive(self.young_person_id, peer_key, author, message).await
            }
        }
    }

    pub async fn generate(&self, state: &AppState, peer_key: &str) -> ApiResult<Option<Vec<u8>>> {
        match self.kind {
            Kind::Plan => state.documents.sync_generate(&self.key, peer_key).await,
            Kind::Conversation => state.conversations.sync_generate(self.young_person_id, peer_key).await,
        }
    }

    pub fn forget_peer(&self, state: &AppState, peer_key: &str) {
        match self.kind {
            Kind::Plan => state.documents.forget_peer(&self.key, peer_key),
            Kind::Conversation => state.conversations.forget_peer(self.young_person_id, peer_key),
        }
    }
}

/// Whether an access check's error means the access is gone (rather than a passing failure).
pub fn access_lost(result: &ApiResult<Author>) -> bool {
    matches!(result, Err(ApiError::NotFound | ApiError::Forbidden))
}
