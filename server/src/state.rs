//! What every handler shares.

use std::sync::Arc;

use crate::auth::Passwords;
use crate::config::Config;
use crate::conversations::Conversations;
use crate::documents::Documents;
use crate::metrics::Metrics;
use crate::store::DynStore;
use crate::sync::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub config: Arc<Config>,
    pub passwords: Passwords,
    /// Per-account and per-address limits of the credential endpoints.
    pub throttle: Arc<crate::auth::throttle::Throttle>,
    pub documents: Arc<Documents>,
    /// The conversations between young people and their advisers (issue 13).
    pub conversations: Arc<Conversations>,
    pub metrics: Arc<Metrics>,
    pub hub: Arc<Hub>,
    /// This process, among the instances sharing one database.
    pub instance_id: uuid::Uuid,
    /// Web Push to the advisers' browsers (the `web` rows' channel; VAPID keys loaded on first use).
    pub web_push: Arc<crate::notifications::webpush::WebPushChannel>,
}

impl AppState {
    pub fn new(store: DynStore, config: Config) -> Result<Self, crate::auth::password::PasswordError> {
        let passwords = Passwords::new(config.argon2)?;
        let throttle = Arc::new(crate::auth::throttle::Throttle::new(config.auth_limits));
        let hub = Arc::new(Hub::new());
        let instance_id = uuid::Uuid::new_v4();
        let documents = Arc::new(Documents::new(
            store.clone(),
            config.doc_cache_mib.saturating_mul(1024 * 1024),
            hub.clone(),
            instance_id,
            &config.sync,
        ));
        // Conversations get a quarter of the documents' budget of their own.
        let conversations = Arc::new(Conversations::new(
            store.clone(),
            documents.clone(),
            instance_id,
            config.doc_cache_mib.saturating_mul(1024 * 1024) / 4,
        ));
        let metrics = Arc::new(Metrics::default());
        let web_push = Arc::new(crate::notifications::webpush::WebPushChannel::new(config.web_push.clone()));
        Ok(AppState {
            store,
            config: Arc::new(config),
            passwords,
            throttle,
            documents,
            conversations,
            metrics,
            hub,
            instance_id,
            web_push,
        })
    }
}
