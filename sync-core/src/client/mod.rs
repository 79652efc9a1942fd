//! The offline client the phones embed (feature `client`): the young person's plan and their
//! conversation with their advisers kept on the device, edited offline through the rulebooks,
//! synced with the server when the network allows.
//!
//! - [`local_store`]: the crash-safe files of the replica.
//! - [`replica`]: the document, its store and what it knows of the server; the sync steps.
//! - [`live`]: the WebSocket session (automerge-repo protocol) with reconnection and backoff.
//! - [`one_shot`]: one sync over `POST /api/v1/sync/{document_id}`, for background fetch.
//! - [`rest`]: login, activation, refresh, logout, `/me` (and deleting the account), push token
//!   registration.
//! - [`queries`]: what the screens show.
//!
//! The public methods block (they are meant for the app's background threads and for foreign
//! bindings); the network runs on one small Tokio runtime shared by the process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::conversation::{ConversationDocument, Important, Message, NewMessage, Reference};
use crate::edit::{ActionPatch, EditError, EditOutcome, NewAction, NewTask, TaskPatch};
use crate::ids::DocumentId;
use crate::model::{Action, ActionStatus, Appointment, AppointmentResponse, Notice, Plan, Task};
use crate::rules::Author;
use crate::schema::Collection;

mod live;
pub mod local_store;
mod one_shot;
pub mod queries;
pub mod replica;
pub mod rest;

pub use local_store::{Recovery, StoreError};
pub use one_shot::SyncReport;
pub use queries::Agenda;
pub use rest::{Me, Platform, Rest, RestError, Session};

use live::LiveHandle;
use replica::Replica;

/// Everything that can go wrong, as the app sees it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The rulebook refused the edit; the message says why, in French.
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rest(#[from] RestError),
    /// The server refused to sync this plan (it is not the caller's, or the session was refused).
    #[error("synchronisation refusée : {0}")]
    SyncRefused(String),
    /// The server has no valid token for us any more: the app must log in again.
    #[error("session expirée : reconnectez-vous")]
    SignedOut,
    #[error("configuration invalide : {0}")]
    Config(String),
    #[error("des modifications ne sont pas encore envoyées au serveur ({0})")]
    PendingChanges(usize),
}

/// Where the replica lives and whose it is.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://…` (or `http://` for a local server); the WebSocket URL is derived from it.
    pub server_url: String,
    /// A folder of the app's own storage, kept across launches.
    pub data_dir: PathBuf,
    pub young_person_id: Uuid,
    /// From `GET /api/v1/me`.
    pub plan_document_id: String,
    /// From `GET /api/v1/me`; `None` keeps the client to the plan (a server without conversations).
    pub conversation_document_id: Option<String>,
    /// IANA zone, from `GET /api/v1/me`.
    pub timezone: String,
}

/// Supplies access tokens; implemented by the app, which keeps the session's tokens.
pub trait TokenSource: Send + Sync {
    /// The access token to use now (`None` when signed out).
    fn access_token(&self) -> Option<String>;
    /// Called when the server answered 401 to the current token: refresh it (for instance with
    /// [`Rest::refresh`] and the stored refresh token), keep the new pair, return the new access
    /// token; `None` when the session is over.
    fn refresh_access_token(&self) -> Option<String>;
}

/// The state of the live connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    Stopped,
    Connecting,
    Online,
    /// Waiting before the next attempt (the network is down, or the server is).
    Offline,
    /// The tokens were refused and could not be refreshed: log in again.
    SignedOut,
    /// The server refused this plan or this replica (the message says why).
    Refused(String),
}

/// Told when something changed that a screen shows.
pub trait PlanListener: Send + Sync {
    /// A sync brought changes from elsewhere (the adviser, another phone, a server correction).
    fn plan_changed(&self);
    fn connection_changed(&self, connection: Connection);
    /// A sync brought messages (or edits, deletions, read markers) from elsewhere.
    fn messages_changed(&self) {}
}

/// The folder of the conversation's replica, inside the client's.
const CONVERSATION_DIR: &str = "conversation";

/// The conversation's side of the client: its document and its replica.
pub(crate) struct ConversationSide {
    pub document_id: DocumentId,
    pub replica: Mutex<Replica<ConversationDocument>>,
}

impl ConversationSide {
    pub fn replica(&self) -> MutexGuard<'_, Replica<ConversationDocument>> {
        self.replica.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The process's runtime for the network (two worker threads are plenty for one plan).
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, ClientError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // One TLS provider for the whole process (reqwest and the WebSocket use rustls); an
            // app that installed one already keeps its own.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("pass-emploi-sync")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ClientError::Config(format!("runtime : {e}")))
}

/// What the client's parts share.
pub(crate) struct Shared {
    pub config: ClientConfig,
    pub document_id: DocumentId,
    pub zone: Tz,
    pub author: Author,
    pub rest: Rest,
    pub tokens: Arc<dyn TokenSource>,
    pub replica: Mutex<Replica>,
    pub conversation: Option<ConversationSide>,
    pub listener: Mutex<Option<Arc<dyn PlanListener>>>,
    /// Woken after each local edit, so a live session sends it at once.
    pub local_edits: tokio::sync::Notify,
    pub connection: Mutex<Connection>,
}

impl Shared {
    pub fn replica(&self) -> MutexGuard<'_, Replica> {
        // A panic while holding the lock cannot leave the replica half-written (every write goes
        // through a commit or a rollback), so a poisoned lock is still usable.
        self.replica.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn listener(&self) -> Option<Arc<dyn PlanListener>> {
        self.listener.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn notify_plan_changed(&self) {
        if let Some(listener) = self.listener() {
            listener.plan_changed();
        }
    }

    pub fn notify_messages_changed(&self) {
        if let Some(listener) = self.listener() {
            listener.messages_changed();
        }
    }

    pub fn set_connection(&self, connection: Connection) {
        {
            let mut current = self.connection.lock().unwrap_or_else(|p| p.into_inner());
            if *current == connection {
                return;
            }
            *current = connection.clone();
        }
        if let Some(listener) = self.listener() {
            listener.connection_changed(connection);
        }
    }
}

/// The young person's plan on the phone.
pub struct OfflineClient {
    shared: Arc<Shared>,
    live: Mutex<Option<LiveHandle>>,
}

impl OfflineClient {
    /// Opens (or creates) the replica in `config.data_dir`. Returns what opening had to repair.
    pub fn open(config: ClientConfig, tokens: Arc<dyn TokenSource>) -> Result<(OfflineClient, Recovery), ClientError> {
        let document_id: DocumentId =
            config.plan_document_id.parse().map_err(|_| ClientError::Config("identifiant de plan invalide".into()))?;
        let zone: Tz = config
            .timezone
            .parse()
            .map_err(|_| ClientError::Config(format!("fuseau inconnu : {}", config.timezone)))?;
        let young_person_id = config.young_person_id;
        let (replica, recovery) =
            Replica::open(&config.data_dir, young_person_id, || crate::PlanDocument::genesis(young_person_id))?;
        let conversation = match &config.conversation_document_id {
            None => None,
            Some(id) => {
                let document_id: DocumentId =
                    id.parse().map_err(|_| ClientError::Config("identifiant de conversation invalide".into()))?;
                let (replica, _) = Replica::open(&config.data_dir.join(CONVERSATION_DIR), young_person_id, || {
                    ConversationDocument::genesis(young_person_id)
                })?;
                Some(ConversationSide { document_id, replica: Mutex::new(replica) })
            }
        };
        let shared = Shared {
            conversation,
            document_id,
            zone,
            author: Author::young_person(config.young_person_id),
            rest: Rest::new(&config.server_url)?,
            tokens,
            replica: Mutex::new(replica),
            listener: Mutex::new(None),
            local_edits: tokio::sync::Notify::new(),
            connection: Mutex::new(Connection::Stopped),
            config,
        };
        Ok((OfflineClient { shared: Arc::new(shared), live: Mutex::new(None) }, recovery))
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn PlanListener>>) {
        *self.shared.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    pub fn young_person_id(&self) -> Uuid {
        self.shared.config.young_person_id
    }

    // ---- edits ---------------------------------------------------------------------------------

    /// Runs one edit as the young person, saves it to disk before returning, and wakes the live
    /// session. Returns the id of the entity edited or created.
    fn edit(
        &self,
        run: impl FnOnce(&mut crate::PlanDocument, &Author, DateTime<Utc>) -> Result<EditOutcome, EditError>,
    ) -> Result<Uuid, ClientError> {
        let id = self.shared.replica().edit(&self.shared.author, Utc::now(), run)?;
        self.shared.local_edits.notify_one();
        Ok(id)
    }

    pub fn create_action(&self, new: NewAction) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.create_action(author, now, new))
    }

    pub fn update_action(&self, id: Uuid, patch: ActionPatch) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.update_action(author, now, id, patch))
    }

    pub fn complete_action(&self, id: Uuid) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.complete_action(author, now, id))
    }

    pub fn cancel_action(&self, id: Uuid) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.cancel_action(author, now, id))
    }

    pub fn delete_action(&self, id: Uuid) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.delete_action(author, now, id))
    }

    /// Comments an action; returns the comment's id.
    pub fn comment_action(&self, action_id: Uuid, text: String) -> Result<Uuid, ClientError> {
        let mut comment_id = None;
        self.edit(|doc, author, now| {
            let (id, outcome) = doc.add_comment(author, now, Collection::Actions, action_id, None, text)?;
            comment_id = Some(id);
            Ok(outcome)
        })?;
        comment_id.ok_or_else(|| ClientError::Config("commentaire sans identifiant".into()))
    }

    pub fn answer_appointment(&self, id: Uuid, response: AppointmentResponse) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.answer_appointment(author, now, id, response))
    }

    pub fn create_task(&self, new: NewTask) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.create_task(author, now, new))
    }

    pub fn update_task(&self, id: Uuid, patch: TaskPatch) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.update_task(author, now, id, patch))
    }

    pub fn complete_task(&self, id: Uuid) -> Result<Uuid, ClientError> {
        self.edit(|doc, author, now| doc.complete_task(author, now, id))
    }

    // ---- the conversation ----------------------------------------------------------------------

    fn conversation(&self) -> Result<&ConversationSide, ClientError> {
        self.shared
            .conversation
            .as_ref()
            .ok_or_else(|| ClientError::Config("pas de conversation pour ce compte".into()))
    }

    /// Runs one edit of the conversation as the young person, saved before returning.
    fn edit_conversation(
        &self,
        run: impl FnOnce(&mut ConversationDocument, &Author, DateTime<Utc>) -> Result<EditOutcome, EditError>,
    ) -> Result<Uuid, ClientError> {
        let id = self.conversation()?.replica().edit(&self.shared.author, Utc::now(), run)?;
        self.shared.local_edits.notify_one();
        Ok(id)
    }

    /// Sends a message (offline too: it leaves with the next sync, once). Returns its id.
    pub fn send_message(&self, text: String, reference: Option<Reference>) -> Result<Uuid, ClientError> {
        let new = NewMessage { id: Some(Uuid::new_v4()), text, reference };
        self.edit_conversation(|doc, author, now| doc.send_message(author, now, new))
    }

    pub fn edit_message(&self, id: Uuid, text: String) -> Result<Uuid, ClientError> {
        self.edit_conversation(|doc, author, now| doc.edit_message(author, now, id, &text))
    }

    pub fn delete_message(&self, id: Uuid) -> Result<Uuid, ClientError> {
        self.edit_conversation(|doc, author, now| doc.delete_message(author, now, id))
    }

    /// Marks every message read.
    pub fn mark_messages_read(&self) -> Result<(), ClientError> {
        self.edit_conversation(|doc, author, now| doc.mark_all_read(author, now)).map(drop)
    }

    /// A page of messages, newest first: at most `limit` older than the message `before`.
    pub fn messages(&self, before: Option<Uuid>, limit: usize) -> Result<Vec<Message>, ClientError> {
        let side = self.conversation()?;
        let mut replica = side.replica();
        let conversation = replica.view();
        let before = before.and_then(|id| conversation.message(id)).map(Message::order_key);
        Ok(conversation.page(before, limit).into_iter().cloned().collect())
    }

    /// Messages the young person has not read.
    pub fn unread_messages(&self) -> Result<usize, ClientError> {
        Ok(self.conversation()?.replica().view().unread_for(self.shared.config.young_person_id))
    }

    /// The adviser's « message important », when it shows today.
    pub fn important_message(&self) -> Result<Option<Important>, ClientError> {
        let today = queries::local_day(self.shared.zone, Utc::now());
        Ok(self.conversation()?.replica().view().important.clone().filter(|i| i.shows_on(today)))
    }

    // ---- queries -------------------------------------------------------------------------------

    pub fn plan(&self) -> Plan {
        self.shared.replica().plan().clone()
    }

    /// The young person's day (`day`, or today in their zone).
    pub fn agenda(&self, day: Option<NaiveDate>) -> Agenda {
        let day = day.unwrap_or_else(|| queries::local_day(self.shared.zone, Utc::now()));
        queries::agenda(self.shared.replica().plan(), self.shared.zone, day)
    }

    pub fn actions(&self, status: Option<ActionStatus>) -> Vec<Action> {
        queries::actions(self.shared.replica().plan(), status)
    }

    pub fn upcoming_appointments(&self) -> Vec<Appointment> {
        queries::upcoming_appointments(self.shared.replica().plan(), Utc::now())
    }

    pub fn tasks(&self) -> Vec<Task> {
        queries::tasks(self.shared.replica().plan())
    }

    /// The notices of this young person's edits that the server undid, newest first.
    pub fn notices(&self) -> Vec<Notice> {
        queries::notices(self.shared.replica().plan(), self.shared.config.young_person_id)
    }

    /// How many changes made on this phone (plan and conversation) the server is not known to
    /// hold yet.
    pub fn pending_changes(&self) -> usize {
        let conversation = self.shared.conversation.as_ref().map_or(0, |c| c.replica().pending_changes());
        self.shared.replica().pending_changes() + conversation
    }

    /// Bytes of the replicas on disk.
    pub fn storage_bytes(&self) -> u64 {
        let conversation = self.shared.conversation.as_ref().map_or(0, |c| c.replica().storage_bytes());
        self.shared.replica().storage_bytes() + conversation
    }

    // ---- sync ----------------------------------------------------------------------------------

    /// One full sync over HTTP (background fetch): returns when both sides hold the same changes.
    pub fn sync_now(&self) -> Result<SyncReport, ClientError> {
        let shared = self.shared.clone();
        runtime()?.block_on(one_shot::sync(&shared))
    }

    /// Keeps a WebSocket session open (reconnecting with backoff) until [`Self::stop_live`].
    pub fn start_live(&self) -> Result<(), ClientError> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|l| !l.is_finished()) {
            return Ok(());
        }
        *live = Some(LiveHandle::start(runtime()?, self.shared.clone()));
        Ok(())
    }

    /// Closes the live session (waits for it to end).
    pub fn stop_live(&self) {
        let handle = self.live.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Some(handle), Ok(rt)) = (handle, runtime()) {
            rt.block_on(handle.stop());
        }
        self.shared.set_connection(Connection::Stopped);
    }

    /// Skips the current backoff wait (the app saw the network come back).
    pub fn reconnect_now(&self) {
        if let Some(handle) = self.live.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            handle.wake();
        }
    }

    pub fn connection(&self) -> Connection {
        self.shared.connection.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    // ---- account -------------------------------------------------------------------------------

    /// Registers this phone's push token (`POST /api/v1/devices`).
    pub fn register_push_token(&self, platform: Platform, token: &str) -> Result<(), ClientError> {
        let shared = self.shared.clone();
        runtime()?.block_on(with_fresh_token(&shared, |access| {
            let rest = shared.rest.clone();
            let token = token.to_owned();
            async move { rest.register_device(&access, platform, &token).await }
        }))
    }

    /// Ends the session: refuses while changes are not on the server (unless `discard_pending`),
    /// revokes the tokens on the server when it can be reached, and deletes the replica's files.
    pub fn logout(self, discard_pending: bool) -> Result<(), ClientError> {
        self.stop_live();
        let pending = self.pending_changes();
        if pending > 0 && !discard_pending {
            return Err(ClientError::PendingChanges(pending));
        }
        if let Some(access) = self.shared.tokens.access_token() {
            let rest = self.shared.rest.clone();
            // Offline, the tokens expire on their own; the local data goes regardless.
            let _ = runtime()?.block_on(async move { rest.logout(&access).await });
        }
        let dir = self.shared.config.data_dir.clone();
        drop(self);
        wipe(&dir)?;
        Ok(())
    }

    /// Deletes the young person's account on the server (`DELETE /api/v1/me`: the account, the
    /// plan, the sessions and the devices), then the replica's files as [`Self::logout`] does.
    ///
    /// Unlike logout, the server call is not best effort: when the server cannot be reached, or
    /// refuses (403: not a young person; any other refusal), or the token is refused again after
    /// a refresh ([`ClientError::SignedOut`]), the error is returned and nothing local is touched:
    /// the account still exists, and the young person must not believe otherwise. Changes not on
    /// the server yet ([`Self::pending_changes`]) are discarded without asking: the plan they
    /// belong to is gone. If the answer to a deletion the server did carry out is lost on the way
    /// (a network error), a retry ends in [`ClientError::SignedOut`] (the tokens are gone too).
    ///
    /// See [`Self::try_delete_account`] to get the client back when the account was not deleted.
    pub fn delete_account(self) -> Result<(), ClientError> {
        self.try_delete_account().map_err(|e| match e {
            DeleteAccountError::NotDeleted { error, .. } => error,
            DeleteAccountError::Wipe(e) => e.into(),
        })
    }

    /// [`Self::delete_account`], giving the client back, untouched, when the account still exists.
    pub fn try_delete_account(self) -> Result<(), DeleteAccountError> {
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(error) => return Err(DeleteAccountError::NotDeleted { client: Box::new(self), error }),
        };
        let shared = self.shared.clone();
        let deleted = rt.block_on(with_fresh_token(&shared, |access| {
            let rest = shared.rest.clone();
            async move { rest.delete_account(&access).await }
        }));
        if let Err(error) = deleted {
            return Err(DeleteAccountError::NotDeleted { client: Box::new(self), error });
        }
        // The account is gone: the live session (if any) must not write to the files any more.
        self.stop_live();
        let dir = self.shared.config.data_dir.clone();
        drop(shared);
        drop(self);
        wipe(&dir).map_err(DeleteAccountError::Wipe)
    }
}

/// Removes the replicas' files: the plan's, then the conversation's and its folder.
fn wipe(dir: &std::path::Path) -> Result<(), StoreError> {
    local_store::LocalStore::wipe(dir)?;
    let conversation = dir.join(CONVERSATION_DIR);
    local_store::LocalStore::wipe(&conversation)?;
    match std::fs::remove_dir(&conversation) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Why [`OfflineClient::try_delete_account`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The account still exists (the server could not be reached, or refused, or the session is
    /// over): the client and its files are as they were.
    #[error("{error}")]
    NotDeleted { client: Box<OfflineClient>, error: ClientError },
    /// The account is deleted on the server, but the files on the phone could not all be removed.
    #[error(transparent)]
    Wipe(StoreError),
}

impl std::fmt::Debug for OfflineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineClient").field("data_dir", &self.shared.config.data_dir).finish_non_exhaustive()
    }
}

impl Drop for OfflineClient {
    fn drop(&mut self) {
        if let Some(handle) = self.live.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            handle.abort();
        }
    }
}

/// Runs a REST call with the current access token; after a 401, once more with a refreshed one.
pub(crate) async fn with_fresh_token<T, F, Fut>(shared: &Arc<Shared>, call: F) -> Result<T, ClientError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, RestError>>,
{
    let token = access_token(shared, false).await?;
    match call(token).await {
        Err(RestError::Unauthorized(_)) => {
            let token = access_token(shared, true).await?;
            call(token).await.map_err(|e| match e {
                RestError::Unauthorized(_) => ClientError::SignedOut,
                other => other.into(),
            })
        }
        other => other.map_err(Into::into),
    }
}

/// The current access token, or a refreshed one; the app's callbacks may block (they may do
/// network I/O themselves), so they run off the runtime's workers.
pub(crate) async fn access_token(shared: &Arc<Shared>, refresh: bool) -> Result<String, ClientError> {
    let tokens = shared.tokens.clone();
    let token =
        tokio::task::spawn_blocking(
            move || {
                if refresh { tokens.refresh_access_token() } else { tokens.access_token() }
            },
        )
        .await
        .map_err(|_| ClientError::SignedOut)?;
    token.ok_or(ClientError::SignedOut)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
