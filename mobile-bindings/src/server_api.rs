//! `ServerApi`: the REST calls outside sync (login, activation, refresh, logout, who am I, push token).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use sync_core::client::{self as core, RestError};

use crate::client::ClientConfig;
use crate::error::MobileError;
use crate::types::{Platform, Role};

/// The tokens of a session. Keep them in the platform's secure storage (Keystore, Keychain),
/// never in the plan's folder.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Session {
    pub access_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user_id: String,
    pub role: String,
}

impl From<core::Session> for Session {
    fn from(s: core::Session) -> Self {
        Session {
            access_token: s.access_token,
            expires_in: s.expires_in,
            refresh_token: s.refresh_token,
            user_id: s.user.id.to_string(),
            role: s.user.role,
        }
    }
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Me {
    pub id: String,
    /// `None` for a role this version does not know.
    pub role: Option<Role>,
    pub first_name: String,
    /// The young person's plan; absent for staff.
    pub plan_document_id: Option<String>,
    /// The young person's conversation with their advisers; absent for staff.
    pub conversation_document_id: Option<String>,
    /// IANA zone of the agenda's days.
    pub timezone: Option<String>,
}

impl From<core::Me> for Me {
    fn from(m: core::Me) -> Self {
        Me {
            id: m.id.to_string(),
            role: Role::parse(&m.role),
            first_name: m.first_name,
            plan_document_id: m.plan_document_id,
            conversation_document_id: m.conversation_document_id,
            timezone: m.timezone,
        }
    }
}

/// The configuration of a young person's `OfflineClient`, from `ServerApi.me`.
#[uniffi::export]
pub fn client_config(server_url: String, data_dir: String, me: Me) -> Result<ClientConfig, MobileError> {
    let plan_document_id = me.plan_document_id.ok_or_else(|| MobileError::invalid("ce compte n'a pas de plan"))?;
    Ok(ClientConfig {
        server_url,
        data_dir,
        young_person_id: me.id,
        plan_document_id,
        conversation_document_id: me.conversation_document_id,
        timezone: me.timezone.unwrap_or_else(|| "Europe/Paris".to_owned()),
    })
}

/// The runtime of the REST calls (one worker; the calls are short). Kept for the whole process so
/// that the HTTP connection pool stays usable between calls.
fn runtime() -> Result<&'static tokio::runtime::Runtime, MobileError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pass-emploi-rest")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| MobileError::Internal { reason: format!("runtime : {e}") })
}

fn block_on<T>(call: impl Future<Output = Result<T, RestError>>) -> Result<T, MobileError> {
    Ok(runtime()?.block_on(call)?)
}

/// Calls made without a session, or to open one: a 401 is a refusal (wrong credentials), not an
/// expired session.
fn block_on_credentials<T>(call: impl Future<Output = Result<T, RestError>>) -> Result<T, MobileError> {
    runtime()?.block_on(call).map_err(|e| match e {
        RestError::Unauthorized(message) => MobileError::Refused { reason: message },
        other => other.into(),
    })
}

/// The REST side of one server. All methods block: call them off the main thread.
#[derive(uniffi::Object)]
pub struct ServerApi {
    rest: core::Rest,
}

#[uniffi::export]
impl ServerApi {
    /// `server_url`: `https://…` in production.
    #[uniffi::constructor]
    pub fn new(server_url: String) -> Result<Arc<Self>, MobileError> {
        if !(server_url.starts_with("https://") || server_url.starts_with("http://")) {
            return Err(MobileError::invalid(format!("adresse du serveur invalide : « {server_url} »")));
        }
        let rest = core::Rest::new(&server_url)?;
        Ok(Arc::new(ServerApi { rest }))
    }

    /// Logs in with an email and password. Wrong credentials: `Refused`.
    pub fn login(&self, email: String, password: String) -> Result<Session, MobileError> {
        block_on_credentials(self.rest.login(&email, &password)).map(Session::from)
    }

    /// A new pair of tokens. A refresh token used twice revokes the whole session: `SignedOut`.
    pub fn refresh(&self, refresh_token: String) -> Result<Session, MobileError> {
        block_on(self.rest.refresh(&refresh_token)).map(Session::from)
    }

    /// Sets the first password with the activation code the adviser gave.
    pub fn activate(&self, activation_code: String, password: String) -> Result<(), MobileError> {
        block_on_credentials(self.rest.activate(&activation_code, &password))
    }

    /// Revokes the session's tokens on the server (`OfflineClient.logout` does it too).
    pub fn logout(&self, access_token: String) -> Result<(), MobileError> {
        block_on(self.rest.logout(&access_token))
    }

    pub fn me(&self, access_token: String) -> Result<Me, MobileError> {
        block_on(self.rest.me(&access_token)).map(Me::from)
    }

    /// Registers this phone's push token (without an open `OfflineClient`).
    pub fn register_device(&self, access_token: String, platform: Platform, token: String) -> Result<(), MobileError> {
        block_on(self.rest.register_device(&access_token, platform, &token))
    }
}
