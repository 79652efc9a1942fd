//! What every handler shares.

use std::sync::Arc;

use crate::auth::Passwords;
use crate::config::Config;
use crate::documents::Documents;
use crate::metrics::Metrics;
use crate::store::DynStore;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub config: Arc<Config>,
    pub passwords: Passwords,
    pub documents: Arc<Documents>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(store: DynStore, config: Config) -> Result<Self, crate::auth::password::PasswordError> {
        let passwords = Passwords::new(config.argon2)?;
        let documents = Arc::new(Documents::new(store.clone(), config.doc_cache_mib.saturating_mul(1024 * 1024)));
        Ok(AppState { store, config: Arc::new(config), passwords, documents, metrics: Arc::new(Metrics::default()) })
    }
}
