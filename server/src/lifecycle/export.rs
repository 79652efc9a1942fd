//! Everything the service holds about one young person, as one JSON document (`docs/api.md`,
//! « Export »): what `GET /api/v1/me/export` answers and what an archive keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sync_core::{Plan, PlanDocument};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::{DocumentFingerprint, Store};

/// The value of [`Export::format`]; a later shape gets a new one.
pub const FORMAT: &str = "pass-emploi.export.v1";

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Export {
    /// `pass-emploi.export.v1`.
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub account: ExportedAccount,
    /// The advisers who follow (or followed, for an archive) the young person.
    pub advisers: Vec<ExportedAdviser>,
    pub plan: ExportedPlan,
    /// The conversation with their advisers; absent when it was never opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ExportedConversation>,
    /// Every notification row addressed to them: pushes (whatever became of them) and centre entries.
    pub notifications: Vec<ExportedNotification>,
    /// The kinds they turned off or on (absent kinds are on).
    pub notification_preferences: Vec<ExportedPreference>,
    pub devices: Vec<ExportedDevice>,
    pub browser_subscriptions: Vec<ExportedSubscription>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedAccount {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    pub structure: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The activation code was spent (a password is set).
    pub activated: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// The last time they changed their plan themself.
    pub last_activity_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedAdviser {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// `definitive` or `temporary`.
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedPlan {
    /// automerge-repo's id of the plan's document.
    pub document_id: Option<String>,
    /// The plan as the API reads it (`GET /api/v1/young-people/{id}/plan`): every action with its
    /// comments and qualification, appointment, task and notice.
    #[schema(value_type = Object)]
    pub content: Plan,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedConversation {
    /// automerge-repo's id of the conversation's document.
    pub document_id: String,
    /// Every message (oldest first; a deleted one without its text), the read markers and the
    /// « message important », as sync-core's `Conversation` reads them.
    #[schema(value_type = Object)]
    pub content: sync_core::conversation::Conversation,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedNotification {
    pub id: Uuid,
    pub kind: String,
    /// `mobile`, `web` or `in_app` (the notification centre).
    pub channel: String,
    pub title: String,
    pub body: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedPreference {
    pub kind: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedDevice {
    /// `android` or `ios`.
    pub platform: String,
    /// The push registration token the phone gave.
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedSubscription {
    /// The push service's URL for that browser.
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The export of a young person at `now`, with the fingerprint of the plan's chunks it was read
/// from (an archive checks it did not change before deleting them). `NotFound` for anyone else.
pub async fn export(
    store: &dyn Store,
    young_person_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<(Export, Option<DocumentFingerprint>)> {
    let user = store.user_by_id(young_person_id).await?.ok_or(ApiError::NotFound)?;
    if user.role != sync_core::model::Role::YoungPerson {
        return Err(ApiError::NotFound);
    }
    let record = store.account_record(young_person_id).await?.ok_or(ApiError::NotFound)?;
    let document_id = store.document_of(young_person_id).await?;
    let (content, fingerprint) = match &document_id {
        Some(document_id) => {
            let fingerprint = store.document_fingerprint(document_id).await?;
            let chunks = store.load_chunks(document_id, 0).await?;
            // Loading and reading a long plan takes a few hundred milliseconds: off the workers.
            let plan = tokio::task::spawn_blocking(move || -> ApiResult<Plan> {
                let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
                let doc = PlanDocument::load(&bytes).map_err(ApiError::internal)?;
                Ok(doc.plan())
            })
            .await
            .map_err(ApiError::internal)??;
            (plan, Some(fingerprint))
        }
        None => (Plan::default(), None),
    };
    let conversation = match store.conversation_of(young_person_id).await? {
        Some(document_id) => {
            let chunks = store.load_conversation_chunks(&document_id, 0).await?;
            let content = tokio::task::spawn_blocking(move || -> ApiResult<sync_core::conversation::Conversation> {
                let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.bytes).collect();
                let doc = sync_core::conversation::ConversationDocument::load(&bytes).map_err(ApiError::internal)?;
                Ok(doc.conversation())
            })
            .await
            .map_err(ApiError::internal)??;
            Some(ExportedConversation { document_id, content })
        }
        None => None,
    };
    let advisers = store
        .followers_named(young_person_id)
        .await?
        .into_iter()
        .map(|(member, kind)| ExportedAdviser {
            id: member.id,
            first_name: member.first_name,
            last_name: member.last_name,
            email: member.email,
            kind: kind.as_str().to_owned(),
        })
        .collect();
    let notifications = store
        .notifications_of(young_person_id)
        .await?
        .into_iter()
        .map(|n| ExportedNotification {
            id: n.id,
            kind: n.kind,
            channel: n.channel,
            title: n.title,
            body: n.body,
            status: n.status,
            created_at: n.created_at,
            read_at: n.read_at,
        })
        .collect();
    let notification_preferences = store
        .notification_preferences(young_person_id)
        .await?
        .into_iter()
        .map(|(kind, enabled)| ExportedPreference { kind, enabled })
        .collect();
    let devices = store
        .device_tokens_of(young_person_id)
        .await?
        .into_iter()
        .map(|d| ExportedDevice {
            platform: d.platform,
            token: d.token,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
        })
        .collect();
    let browser_subscriptions = store
        .push_subscriptions_of(young_person_id)
        .await?
        .into_iter()
        .map(|s| ExportedSubscription { endpoint: s.endpoint, created_at: s.created_at, last_seen_at: s.last_seen_at })
        .collect();
    let export = Export {
        format: FORMAT.to_owned(),
        exported_at: now,
        account: ExportedAccount {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            timezone: user.timezone,
            structure: record.structure_name,
            created_at: record.created_at,
            activated: record.activated,
            last_sign_in_at: record.last_sign_in_at,
            last_activity_at: record.last_activity_at,
        },
        advisers,
        plan: ExportedPlan { document_id, content },
        conversation,
        notifications,
        notification_preferences,
        devices,
        browser_subscriptions,
    };
    Ok((export, fingerprint))
}
