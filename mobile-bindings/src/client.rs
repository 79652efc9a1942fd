//! `OfflineClient`: the young person's plan on the phone, with the app's callbacks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sync_core::client as core;

use crate::error::MobileError;
use crate::types::{
    ActionPatch, ActionStatus, Agenda, Appointment, AppointmentResponse, NewAction, NewTask, Notice, Plan, Platform,
    Recovery, SyncReport, Task, TaskPatch, list, parse_date, parse_uuid,
};

/// Where the plan lives on the phone and whose it is (see [`crate::client_config`] to build it
/// from `ServerApi.me`).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ClientConfig {
    /// `https://…` in production (`http://` only for a local server); the WebSocket URL is derived from it.
    pub server_url: String,
    /// A folder of the app's own storage, kept across launches (not a cache folder).
    pub data_dir: String,
    /// The young person's id (`Me.id`).
    pub young_person_id: String,
    /// `Me.plan_document_id`.
    pub plan_document_id: String,
    /// `Me.conversation_document_id`: the conversation with the advisers (`null`, the default:
    /// the plan only).
    #[uniffi(default = None)]
    pub conversation_document_id: Option<String>,
    /// IANA zone (`Me.timezone`), for the agenda's days.
    pub timezone: String,
}

/// Supplies the session's access tokens; implemented by the app, which keeps the tokens in the
/// platform's secure storage. Called from the library's background threads.
#[uniffi::export(callback_interface)]
pub trait TokenSource: Send + Sync {
    /// The access token to use now (`null` when signed out).
    fn access_token(&self) -> Result<Option<String>, MobileError>;
    /// The server answered 401 to the current token: refresh it (`ServerApi.refresh` with the stored
    /// refresh token), store the new pair, return the new access token; `null` when the session is over.
    fn refresh_access_token(&self) -> Result<Option<String>, MobileError>;
}

/// The state of the live connection.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Connection {
    Stopped,
    Connecting,
    Online,
    /// Waiting before the next attempt (no network, or the server is down).
    Offline,
    /// The tokens were refused and could not be refreshed: log in again.
    SignedOut,
    /// The server refused this plan or this phone (the message says why, in French).
    Refused {
        reason: String,
    },
}

impl From<core::Connection> for Connection {
    fn from(c: core::Connection) -> Self {
        match c {
            core::Connection::Stopped => Connection::Stopped,
            core::Connection::Connecting => Connection::Connecting,
            core::Connection::Online => Connection::Online,
            core::Connection::Offline => Connection::Offline,
            core::Connection::SignedOut => Connection::SignedOut,
            core::Connection::Refused(reason) => Connection::Refused { reason },
        }
    }
}

/// Told when something a screen shows changed. Called from the library's background threads:
/// hop to the main thread before touching the UI; an exception thrown here is ignored.
#[uniffi::export(callback_interface)]
pub trait PlanListener: Send + Sync {
    /// A sync brought changes from elsewhere (the adviser, another phone, a server correction).
    fn plan_changed(&self) -> Result<(), MobileError>;
    fn connection_changed(&self, connection: Connection) -> Result<(), MobileError>;
    /// A sync brought messages (or their edits, deletions, read markers) from elsewhere.
    fn messages_changed(&self) -> Result<(), MobileError>;
}

/// The app's callbacks as sync-core's traits; a failing callback counts as "no token" / is ignored.
struct Tokens(Box<dyn TokenSource>);

impl core::TokenSource for Tokens {
    fn access_token(&self) -> Option<String> {
        self.0.access_token().ok().flatten()
    }

    fn refresh_access_token(&self) -> Option<String> {
        self.0.refresh_access_token().ok().flatten()
    }
}

struct Listener(Box<dyn PlanListener>);

impl core::PlanListener for Listener {
    fn plan_changed(&self) {
        let _ = self.0.plan_changed();
    }

    fn connection_changed(&self, connection: core::Connection) {
        let _ = self.0.connection_changed(connection.into());
    }

    fn messages_changed(&self) {
        let _ = self.0.messages_changed();
    }
}

/// The young person's plan on the phone: edited offline through the rulebook (every edit is on
/// disk when the call returns), synced live over the WebSocket gateway while the app is open or
/// once over HTTP for background fetch. All methods block: call them off the main thread.
#[derive(uniffi::Object)]
pub struct OfflineClient {
    /// `None` once logged out. The lock is only held to clone the `Arc`, never during a call, so
    /// a listener may query the plan while another thread syncs, stops or logs out.
    inner: Mutex<Option<Arc<core::OfflineClient>>>,
    recovery: Recovery,
}

/// How long `logout` and `delete_account` wait for calls still running on other threads (a sync
/// has a 30 s timeout).
const LOGOUT_WAIT: Duration = Duration::from_secs(45);

impl OfflineClient {
    fn client(&self) -> Result<Arc<core::OfflineClient>, MobileError> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or(MobileError::SignedOut)
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&core::OfflineClient) -> Result<T, core::ClientError>,
    ) -> Result<T, MobileError> {
        let client = self.client()?;
        Ok(f(&client)?)
    }

    /// Takes the client out (new calls now fail with `SignedOut`) and waits for the calls still
    /// running on other threads, for sync-core's methods that consume it.
    fn take_client(&self) -> Result<core::OfflineClient, MobileError> {
        let client = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take().ok_or(MobileError::SignedOut)?;
        self.wait_for_sole_owner(client)
    }

    /// Waits (at most `LOGOUT_WAIT`) until `client`, already taken out, has no other owner; puts it
    /// back when the wait is over.
    fn wait_for_sole_owner(&self, mut client: Arc<core::OfflineClient>) -> Result<core::OfflineClient, MobileError> {
        let deadline = Instant::now() + LOGOUT_WAIT;
        loop {
            match Arc::try_unwrap(client) {
                Ok(owned) => return Ok(owned),
                Err(shared) if Instant::now() >= deadline => {
                    *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Some(shared);
                    return Err(MobileError::Internal { reason: "des opérations sont encore en cours".into() });
                }
                Err(shared) => {
                    client = shared;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

#[uniffi::export]
impl OfflineClient {
    /// Opens (or creates) the plan's local store in `config.data_dir`; cheap enough for every launch.
    #[uniffi::constructor]
    pub fn open(config: ClientConfig, tokens: Box<dyn TokenSource>) -> Result<Arc<Self>, MobileError> {
        if config.data_dir.trim().is_empty() {
            return Err(MobileError::invalid("dossier de données manquant"));
        }
        let config = core::ClientConfig {
            server_url: config.server_url,
            data_dir: PathBuf::from(config.data_dir),
            young_person_id: parse_uuid(&config.young_person_id, "jeune")?,
            plan_document_id: config.plan_document_id,
            conversation_document_id: config.conversation_document_id,
            timezone: config.timezone,
        };
        let (client, recovery) = core::OfflineClient::open(config, Arc::new(Tokens(tokens)))?;
        Ok(Arc::new(OfflineClient { inner: Mutex::new(Some(Arc::new(client))), recovery: recovery.into() }))
    }

    /// What opening had to repair (bytes cut off a torn log, snapshots set aside).
    pub fn recovery(&self) -> Recovery {
        self.recovery.clone()
    }

    /// Replaces the listener (`null` removes it).
    pub fn set_listener(&self, listener: Option<Box<dyn PlanListener>>) -> Result<(), MobileError> {
        let listener = listener.map(|l| Arc::new(Listener(l)) as Arc<dyn core::PlanListener>);
        self.with(|c| {
            c.set_listener(listener);
            Ok(())
        })
    }

    pub fn young_person_id(&self) -> Result<String, MobileError> {
        self.with(|c| Ok(c.young_person_id().to_string()))
    }

    // ---- edits (each returns the id of the entity edited or created) ----------------------------

    pub fn create_action(&self, action: NewAction) -> Result<String, MobileError> {
        let new = action.try_into()?;
        self.with(|c| c.create_action(new)).map(|id| id.to_string())
    }

    pub fn update_action(&self, id: String, patch: ActionPatch) -> Result<String, MobileError> {
        let (id, patch) = (parse_uuid(&id, "action")?, patch.try_into()?);
        self.with(|c| c.update_action(id, patch)).map(|id| id.to_string())
    }

    pub fn complete_action(&self, id: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "action")?;
        self.with(|c| c.complete_action(id)).map(|id| id.to_string())
    }

    pub fn cancel_action(&self, id: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "action")?;
        self.with(|c| c.cancel_action(id)).map(|id| id.to_string())
    }

    pub fn delete_action(&self, id: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "action")?;
        self.with(|c| c.delete_action(id)).map(|id| id.to_string())
    }

    /// Comments an action; returns the comment's id.
    pub fn comment_action(&self, action_id: String, text: String) -> Result<String, MobileError> {
        let id = parse_uuid(&action_id, "action")?;
        self.with(|c| c.comment_action(id, text)).map(|id| id.to_string())
    }

    pub fn answer_appointment(&self, id: String, response: AppointmentResponse) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "rendez-vous")?;
        self.with(|c| c.answer_appointment(id, response)).map(|id| id.to_string())
    }

    pub fn create_task(&self, task: NewTask) -> Result<String, MobileError> {
        let new = task.try_into()?;
        self.with(|c| c.create_task(new)).map(|id| id.to_string())
    }

    pub fn update_task(&self, id: String, patch: TaskPatch) -> Result<String, MobileError> {
        let (id, patch) = (parse_uuid(&id, "démarche")?, patch.try_into()?);
        self.with(|c| c.update_task(id, patch)).map(|id| id.to_string())
    }

    pub fn complete_task(&self, id: String) -> Result<String, MobileError> {
        let id = parse_uuid(&id, "démarche")?;
        self.with(|c| c.complete_task(id)).map(|id| id.to_string())
    }

    // ---- queries ---------------------------------------------------------------------------------

    /// The whole plan.
    pub fn plan(&self) -> Result<Plan, MobileError> {
        self.with(|c| Ok(c.plan().into()))
    }

    /// The young person's day: `day` (`YYYY-MM-DD`), or today in their time zone when `null`.
    #[uniffi::method(default(day = None))]
    pub fn agenda(&self, day: Option<String>) -> Result<Agenda, MobileError> {
        let day = day.map(|d| parse_date(&d, "jour")).transpose()?;
        self.with(|c| Ok(c.agenda(day).into()))
    }

    /// The actions with `status` (all when `null`): dated ones first by due date, then the others, newest first.
    #[uniffi::method(default(status = None))]
    pub fn actions(&self, status: Option<ActionStatus>) -> Result<Vec<crate::types::Action>, MobileError> {
        self.with(|c| Ok(list(c.actions(status))))
    }

    /// Scheduled appointments not yet over, earliest first.
    pub fn upcoming_appointments(&self) -> Result<Vec<Appointment>, MobileError> {
        self.with(|c| Ok(list(c.upcoming_appointments())))
    }

    /// Job-search tasks: open ones first by due date, then the others, newest first.
    pub fn tasks(&self) -> Result<Vec<Task>, MobileError> {
        self.with(|c| Ok(list(c.tasks())))
    }

    /// The notices of this young person's edits that the server undid, newest first.
    pub fn notices(&self) -> Result<Vec<Notice>, MobileError> {
        self.with(|c| Ok(list(c.notices())))
    }

    /// How many changes made on this phone the server is not known to hold yet.
    pub fn pending_changes(&self) -> Result<u64, MobileError> {
        self.with(|c| Ok(c.pending_changes() as u64))
    }

    /// Bytes of the plan's files on disk.
    pub fn storage_bytes(&self) -> Result<u64, MobileError> {
        self.with(|c| Ok(c.storage_bytes()))
    }

    // ---- sync ------------------------------------------------------------------------------------

    /// One full sync over HTTP (background fetch, or "pull to refresh"): returns once both sides
    /// hold the same changes.
    pub fn sync_now(&self) -> Result<SyncReport, MobileError> {
        self.with(|c| c.sync_now()).map(SyncReport::from)
    }

    /// Keeps a WebSocket session open while the app is in the foreground, reconnecting with
    /// backoff, until `stop_live`. Returns at once; the listener hears of the connection's state.
    pub fn start_live(&self) -> Result<(), MobileError> {
        self.with(|c| c.start_live())
    }

    /// Closes the live session (waits for it to end). Call it when the app goes to the background.
    pub fn stop_live(&self) -> Result<(), MobileError> {
        self.with(|c| {
            c.stop_live();
            Ok(())
        })
    }

    /// Skips the current backoff wait (call it when the platform says the network is back).
    pub fn reconnect_now(&self) -> Result<(), MobileError> {
        self.with(|c| {
            c.reconnect_now();
            Ok(())
        })
    }

    pub fn connection(&self) -> Connection {
        self.client().map(|c| c.connection().into()).unwrap_or(Connection::SignedOut)
    }

    // ---- account ---------------------------------------------------------------------------------

    /// Registers this phone's push token (FCM on Android, APNs on iOS) with the server.
    pub fn register_push_token(&self, platform: Platform, token: String) -> Result<(), MobileError> {
        self.with(|c| c.register_push_token(platform, &token))
    }

    /// Ends the session: refused with `PendingChanges` while changes are not on the server (unless
    /// `discard_pending`); revokes the tokens on the server when it can be reached; deletes the
    /// plan's files. Every later call fails with `SignedOut`.
    pub fn logout(&self, discard_pending: bool) -> Result<(), MobileError> {
        let client = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let Some(client) = inner.as_ref() else {
                return Err(MobileError::SignedOut);
            };
            // Checked here so that a refusal leaves the client usable (sync-core's logout consumes it).
            let pending = client.pending_changes();
            if pending > 0 && !discard_pending {
                return Err(MobileError::PendingChanges { count: pending as u64 });
            }
            inner.take().ok_or(MobileError::SignedOut)?
        };
        let owned = self.wait_for_sole_owner(client)?;
        Ok(owned.logout(discard_pending)?)
    }

    /// Deletes the young person's account on the server (the account, the plan, the sessions and
    /// the phones' push tokens), then the plan's files on this phone; changes not sent yet are
    /// discarded (their plan is gone). Every later call fails with `SignedOut`; the app then
    /// forgets the session's tokens. When the server cannot be reached (`Network`) or refuses
    /// (`Refused`, or `SignedOut` when the session is over), nothing is deleted: the account still
    /// exists, the client stays usable, and the app says so to the young person.
    pub fn delete_account(&self) -> Result<(), MobileError> {
        let owned = self.take_client()?;
        match owned.try_delete_account() {
            Ok(()) => Ok(()),
            Err(core::DeleteAccountError::NotDeleted { client, error }) => {
                *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(*client));
                Err(error.into())
            }
            Err(core::DeleteAccountError::Wipe(error)) => Err(error.into()),
        }
    }
}
