//! The one error the apps see, with a French message for each case.

use sync_core::EditError;
use sync_core::client::{ClientError, RestError, StoreError};

/// Why a call failed. `toString()` / `description` / `str()` give the French message to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum MobileError {
    /// The rulebook or the server refused (the message says why).
    #[error("{reason}")]
    Refused { reason: String },
    /// The action, appointment or task does not exist (or not any more).
    #[error("{reason}")]
    NotFound { reason: String },
    /// The server could not be reached, or answered something unexpected: try again later.
    #[error("{reason}")]
    Network { reason: String },
    /// The session is over (tokens refused and not renewable, or the client was logged out): log in again.
    #[error("session expirée : reconnectez-vous")]
    SignedOut,
    /// The files of the plan on the phone could not be read or written.
    #[error("{reason}")]
    Storage { reason: String },
    /// Logging out would lose changes the server does not have yet.
    #[error("{count} modification(s) pas encore envoyée(s) au serveur")]
    PendingChanges { count: u64 },
    /// An argument the app passed is not valid (an id, a date, a time zone, a URL…).
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// Something that should not happen (an exception thrown by the app's callback, no runtime).
    #[error("erreur interne : {reason}")]
    Internal { reason: String },
}

impl MobileError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        MobileError::InvalidInput { reason: message.into() }
    }
}

/// An exception thrown by one of the app's callbacks (TokenSource, PlanListener).
impl From<uniffi::UnexpectedUniFFICallbackError> for MobileError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        MobileError::Internal { reason: e.reason }
    }
}

impl From<EditError> for MobileError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotFound(_) => MobileError::NotFound { reason: e.to_string() },
            EditError::Refused(_) => MobileError::Refused { reason: e.to_string() },
            EditError::Document(_) => MobileError::Storage { reason: e.to_string() },
        }
    }
}

impl From<StoreError> for MobileError {
    fn from(e: StoreError) -> Self {
        MobileError::Storage { reason: e.to_string() }
    }
}

/// A REST failure of a call made with a session (401 means the session is over).
impl From<RestError> for MobileError {
    fn from(e: RestError) -> Self {
        match e {
            RestError::Network(_) | RestError::BadResponse(_) => MobileError::Network { reason: e.to_string() },
            RestError::Unauthorized(_) => MobileError::SignedOut,
            RestError::Refused { detail, .. } => MobileError::Refused { reason: detail },
        }
    }
}

impl From<ClientError> for MobileError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Edit(e) => e.into(),
            ClientError::Store(e) => e.into(),
            ClientError::Rest(e) => e.into(),
            ClientError::SyncRefused(_) => MobileError::Refused { reason: e.to_string() },
            ClientError::SignedOut => MobileError::SignedOut,
            ClientError::Config(_) => MobileError::InvalidInput { reason: e.to_string() },
            ClientError::PendingChanges(count) => MobileError::PendingChanges { count: count as u64 },
        }
    }
}

/// The French message of an error, to show as is (Kotlin's `toString()` and Python's `str()` give
/// it too; Swift's generated error type does not).
#[uniffi::export]
pub fn error_message(error: MobileError) -> String {
    error.to_string()
}
