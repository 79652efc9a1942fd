//! The conversation between a young person and the advisers who follow them: read it (newest
//! first, by pages), send, edit, delete, mark read, pin the « message important », search, and
//! send one message to several young people. Every write is a typed edit of the conversation's
//! Automerge document, checked by its rulebook.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sync_core::conversation::{
    ConversationDocument, Important, Message, MessageKind, NewImportant, NewMessage, Reference,
};
use sync_core::edit::EditOutcome;
use sync_core::model::{Person, Role};
use sync_core::{Author, EditError};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Problem};
use crate::routes::young_people::{plan_access, today_for};
use crate::state::AppState;
use crate::store::MessageRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/young-people/{id}/conversation", get(read_conversation))
        .route("/api/v1/young-people/{id}/conversation/messages", post(send_message))
        .route(
            "/api/v1/young-people/{id}/conversation/messages/{message_id}",
            patch(edit_message).delete(delete_message),
        )
        .route("/api/v1/young-people/{id}/conversation/read", post(mark_read))
        .route("/api/v1/young-people/{id}/conversation/important", put(pin_important).delete(unpin_important))
        .route("/api/v1/young-people/{id}/conversation/search", get(search))
        .route("/api/v1/conversations/unread", get(unread))
        .route("/api/v1/conversations/broadcast", post(broadcast))
        .route("/api/v1/broadcast-lists", get(list_broadcast_lists).post(create_broadcast_list))
        .route("/api/v1/broadcast-lists/{id}", axum::routing::delete(delete_broadcast_list))
}

/// Who may take part in the conversation of `young_person_id`: the young person and every adviser
/// who follows them (portfolio or temporary transfer). A supervisor who does not follow them
/// reads their plan, never their conversation.
pub(crate) async fn participant(state: &AppState, user: &AuthUser, young_person_id: Uuid) -> ApiResult<Author> {
    let (_, author) = plan_access(state, user, young_person_id).await?;
    if author.role != Role::YoungPerson && !author.follows_plan {
        return Err(ApiError::NotFound);
    }
    Ok(author)
}

/// Runs one edit on the conversation of `young_person_id` for the caller.
pub(crate) async fn edit(
    state: &AppState,
    user: &AuthUser,
    young_person_id: Uuid,
    f: impl Fn(&mut ConversationDocument, &Author, DateTime<Utc>) -> Result<EditOutcome, EditError>,
) -> ApiResult<(EditOutcome, Option<MessageView>)> {
    let author = participant(state, user, young_person_id).await?;
    let now = Utc::now();
    state
        .conversations
        .write(
            young_person_id,
            user.id,
            now,
            |doc| f(doc, &author, now),
            |doc, outcome| doc.message(outcome.id).map(|m| MessageView::new(&m, user.id)),
        )
        .await
}

// ---- shapes -----------------------------------------------------------------------------------

/// One message as the screens show it.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub struct MessageView {
    pub id: Uuid,
    pub author: Person,
    /// RFC 3339 UTC.
    pub sent_at: DateTime<Utc>,
    pub kind: MessageKind,
    /// The text, or « Message supprimé ».
    pub text: String,
    pub reference: Option<Reference>,
    pub edited: bool,
    pub deleted: bool,
    /// Sent by the caller (who may edit and delete it).
    pub mine: bool,
}

impl MessageView {
    pub fn new(m: &Message, caller: Uuid) -> Self {
        MessageView {
            id: m.id,
            author: m.author.clone(),
            sent_at: m.sent_at,
            kind: m.kind,
            text: m.shown_text().to_owned(),
            reference: m.reference,
            edited: m.edited_at.is_some() && !m.is_deleted(),
            deleted: m.is_deleted(),
            mine: m.author.id == caller,
        }
    }

    fn from_row(row: MessageRow, caller: Uuid) -> Self {
        let deleted = row.deleted_at.is_some();
        MessageView {
            id: row.message_id,
            author: Person { id: row.author_id, role: row.author_role },
            sent_at: row.sent_at,
            kind: row.kind,
            text: row.text.filter(|_| !deleted).unwrap_or_else(|| sync_core::conversation::model::DELETED_TEXT.into()),
            reference: None,
            edited: row.edited_at.is_some() && !deleted,
            deleted,
            mine: row.author_id == caller,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReadMarkerView {
    pub user_id: Uuid,
    /// The `sent_at` of the last message this participant has read.
    pub read_until: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    /// automerge-repo's base58check id of the conversation's document; `null` before its first
    /// message.
    pub document_id: Option<String>,
    /// Newest first: at most `limit`, older than `before` when given.
    pub messages: Vec<MessageView>,
    /// The `before` of the next (older) page; `null` on the last page.
    pub next_before: Option<Uuid>,
    /// Messages the caller has not read.
    pub unread: usize,
    pub read_markers: Vec<ReadMarkerView>,
    /// The « message important », when it shows today (in the caller's time zone).
    pub important: Option<Important>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// A message id: the page holds the messages before it.
    pub before: Option<Uuid>,
    /// 1–200 (50 when absent).
    pub limit: Option<usize>,
}

/// The conversation, newest messages first.
#[utoipa::path(get, path = "/api/v1/young-people/{id}/conversation", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = ConversationView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn read_conversation(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<ConversationView>> {
    participant(&state, &user, id).await?;
    let limit = page.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "entre 1 et 200"));
    }
    let today = today_for(&user.timezone, Utc::now());
    let view = state
        .conversations
        .read(id, |document_id, doc| {
            let conversation = doc.conversation();
            let before = page.before.and_then(|b| conversation.message(b)).map(Message::order_key);
            let messages: Vec<MessageView> =
                conversation.page(before, limit + 1).into_iter().map(|m| MessageView::new(m, user.id)).collect();
            let more = messages.len() > limit;
            let messages: Vec<MessageView> = messages.into_iter().take(limit).collect();
            ConversationView {
                document_id: Some(document_id.to_owned()),
                next_before: if more { messages.last().map(|m| m.id) } else { None },
                messages,
                unread: conversation.unread_for(user.id),
                read_markers: conversation
                    .read_markers
                    .iter()
                    .map(|(user_id, read_until)| ReadMarkerView { user_id: *user_id, read_until: *read_until })
                    .collect(),
                important: conversation.important.filter(|i| i.shows_on(today)),
            }
        })
        .await?;
    Ok(Json(view.unwrap_or(ConversationView {
        document_id: None,
        messages: Vec::new(),
        next_before: None,
        unread: 0,
        read_markers: Vec::new(),
        important: None,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageBody {
    /// Chosen by the sender: the same request sent twice sends one message.
    pub id: Option<Uuid>,
    /// 1–5,000 characters.
    pub text: String,
    /// An action, an appointment or a task of the young person's plan.
    pub reference: Option<Reference>,
}

fn sent(outcome: &EditOutcome, message: Option<MessageView>) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let status = if outcome.change.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(message.ok_or(ApiError::NotFound)?)))
}

/// Sends a message as the caller.
#[utoipa::path(post, path = "/api/v1/young-people/{id}/conversation/messages", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SendMessageBody,
    responses((status = 201, body = MessageView, description = "Sent"), (status = 200, body = MessageView, description = "Already sent with this id (a retried request)"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn send_message(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SendMessageBody>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let new = NewMessage { id: Some(body.id.unwrap_or_else(Uuid::new_v4)), text: body.text, reference: body.reference };
    let (outcome, message) = edit(&state, &user, id, |doc, a, now| doc.send_message(a, now, new.clone())).await?;
    sent(&outcome, message)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageBody {
    pub text: String,
}

/// Replaces the text of one of the caller's messages (it then says it was edited).
#[utoipa::path(patch, path = "/api/v1/young-people/{id}/conversation/messages/{message_id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("message_id" = Uuid, Path)), request_body = EditMessageBody,
    responses((status = 200, body = MessageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_message(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, message_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<EditMessageBody>,
) -> ApiResult<Json<MessageView>> {
    let (_, message) = edit(&state, &user, id, |doc, a, now| doc.edit_message(a, now, message_id, &body.text)).await?;
    message.map(Json).ok_or(ApiError::NotFound)
}

/// Deletes one of the caller's messages: « Message supprimé » shows in its place.
#[utoipa::path(delete, path = "/api/v1/young-people/{id}/conversation/messages/{message_id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("message_id" = Uuid, Path)),
    responses((status = 200, body = MessageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn delete_message(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, message_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<MessageView>> {
    let (_, message) = edit(&state, &user, id, |doc, a, now| doc.delete_message(a, now, message_id)).await?;
    message.map(Json).ok_or(ApiError::NotFound)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MarkReadBody {
    /// The `sent_at` of the last message read; every message when absent.
    pub until: Option<DateTime<Utc>>,
}

/// Moves the caller's read marker forward (never back).
#[utoipa::path(post, path = "/api/v1/young-people/{id}/conversation/read", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = MarkReadBody,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MarkReadBody>,
) -> ApiResult<StatusCode> {
    edit(&state, &user, id, |doc, a, now| match body.until {
        Some(until) => doc.mark_read(a, now, until),
        None => doc.mark_all_read(a, now),
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportantBody {
    pub text: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Pins the « message important » (advisers), in place of the one before.
#[utoipa::path(put, path = "/api/v1/young-people/{id}/conversation/important", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ImportantBody,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn pin_important(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ImportantBody>,
) -> ApiResult<StatusCode> {
    let new = NewImportant { text: body.text, starts_on: body.starts_on, ends_on: body.ends_on };
    edit(&state, &user, id, |doc, a, now| doc.pin_important(a, now, new.clone())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the « message important » down (advisers).
#[utoipa::path(delete, path = "/api/v1/young-people/{id}/conversation/important", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unpin_important(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    edit(&state, &user, id, |doc, a, now| doc.unpin_important(a, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find (French: « entretiens » finds « entretien » on PostgreSQL).
    pub q: String,
}

/// Searches the messages of one young person (their advisers), newest first, at most 50.
#[utoipa::path(get, path = "/api/v1/young-people/{id}/conversation/search", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path), SearchQuery),
    responses((status = 200, body = Vec<MessageView>), (status = 403, body = Problem, description = "Not an adviser"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let author = participant(&state, &user, id).await?;
    if author.role == Role::YoungPerson {
        return Err(ApiError::Forbidden);
    }
    if query.q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "200 caractères au plus"));
    }
    let rows = state.store.search_messages(id, &query.q, 50).await?;
    Ok(Json(rows.into_iter().map(|r| MessageView::from_row(r, user.id)).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct UnreadLine {
    pub young_person_id: Uuid,
    pub unread: i64,
}

/// Unread messages per conversation: an adviser's portfolio (only the young people with unread
/// messages), or a young person's own.
#[utoipa::path(get, path = "/api/v1/conversations/unread", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnreadLine>)))]
pub async fn unread(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<UnreadLine>>> {
    let young_people: Vec<Uuid> = match user.role {
        Role::YoungPerson => vec![user.id],
        _ => state.store.followed_young_people(user.id).await?,
    };
    let counts = state.store.unread_counts(user.id, &young_people).await?;
    Ok(Json(counts.into_iter().map(|c| UnreadLine { young_person_id: c.young_person_id, unread: c.unread }).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    /// Chosen by the sender: the same broadcast sent twice sends each copy once.
    pub id: Uuid,
    /// 1–150 young people the caller follows (a selection) …
    pub young_person_ids: Option<Vec<Uuid>>,
    /// … or one of the caller's saved lists (exactly one of the two).
    pub list_id: Option<Uuid>,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastResult {
    /// Each copy sent: the young person and the id of their copy.
    pub sent: Vec<BroadcastCopy>,
    /// The young people the caller does not follow (nothing was sent to them).
    pub not_followed: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastCopy {
    pub young_person_id: Uuid,
    pub message_id: Uuid,
}

/// Sends one message to several young people (advisers): each conversation gets its own copy.
#[utoipa::path(post, path = "/api/v1/conversations/broadcast", tag = "conversations", security(("bearer" = [])),
    request_body = BroadcastBody,
    responses((status = 200, body = BroadcastResult), (status = 403, body = Problem, description = "Not an adviser"),
        (status = 422, body = Problem)))]
pub async fn broadcast(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<BroadcastBody>,
) -> ApiResult<Json<BroadcastResult>> {
    staff_only(&user)?;
    let mut young_people = match (&body.young_person_ids, body.list_id) {
        (Some(selection), None) => selection.clone(),
        (None, Some(list)) => {
            state
                .store
                .broadcast_lists(user.id)
                .await?
                .into_iter()
                .find(|l| l.id == list)
                .ok_or_else(|| ApiError::invalid("list_id", "liste de diffusion introuvable"))?
                .young_person_ids
        }
        _ => {
            return Err(ApiError::invalid("young_person_ids", "une sélection ou une liste de diffusion, pas les deux"));
        }
    };
    young_people.sort();
    young_people.dedup();
    if young_people.is_empty() || young_people.len() > 150 {
        return Err(ApiError::invalid("young_person_ids", "entre 1 et 150 bénéficiaires"));
    }
    let mut result = BroadcastResult { sent: Vec::new(), not_followed: Vec::new() };
    for young_person_id in young_people {
        // The copy's id follows from the broadcast's: a retried broadcast sends nothing twice.
        let message_id = Uuid::new_v5(&body.id, young_person_id.as_bytes());
        let new = NewMessage { id: Some(message_id), text: body.text.clone(), reference: None };
        match edit(&state, &user, young_person_id, |doc, a, now| doc.send_message(a, now, new.clone())).await {
            Ok(_) => result.sent.push(BroadcastCopy { young_person_id, message_id }),
            Err(ApiError::NotFound) => result.not_followed.push(young_person_id),
            Err(e) => return Err(e),
        }
    }
    Ok(Json(result))
}

// ---- saved broadcast lists ---------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct BroadcastListView {
    pub id: Uuid,
    pub title: String,
    pub young_person_ids: Vec<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastListBody {
    pub id: Option<Uuid>,
    /// 1–100 characters.
    pub title: String,
    /// 1–150 young people the caller follows.
    pub young_person_ids: Vec<Uuid>,
}

fn staff_only(user: &AuthUser) -> ApiResult<()> {
    if matches!(user.role, Role::Adviser | Role::Supervisor) { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// The caller's saved broadcast lists (advisers), by title.
#[utoipa::path(get, path = "/api/v1/broadcast-lists", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Vec<BroadcastListView>), (status = 403, body = Problem, description = "Not an adviser")))]
pub async fn list_broadcast_lists(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<BroadcastListView>>> {
    staff_only(&user)?;
    let lists = state.store.broadcast_lists(user.id).await?;
    Ok(Json(
        lists
            .into_iter()
            .map(|l| BroadcastListView { id: l.id, title: l.title, young_person_ids: l.young_person_ids })
            .collect(),
    ))
}

/// Saves a broadcast list of young people the caller follows.
#[utoipa::path(post, path = "/api/v1/broadcast-lists", tag = "conversations", security(("bearer" = [])),
    request_body = BroadcastListBody,
    responses((status = 201, body = BroadcastListView), (status = 403, body = Problem, description = "Not an adviser"),
        (status = 409, body = Problem, description = "A list with this id exists"), (status = 422, body = Problem)))]
pub async fn create_broadcast_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<BroadcastListBody>,
) -> ApiResult<(StatusCode, Json<BroadcastListView>)> {
    staff_only(&user)?;
    let title = body.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(ApiError::invalid("title", "entre 1 et 100 caractères"));
    }
    let mut young_people = body.young_person_ids;
    young_people.sort();
    young_people.dedup();
    if young_people.is_empty() || young_people.len() > 150 {
        return Err(ApiError::invalid("young_person_ids", "entre 1 et 150 bénéficiaires"));
    }
    let followed = state.store.followed_young_people(user.id).await?;
    if young_people.iter().any(|id| !followed.contains(id)) {
        return Err(ApiError::invalid("young_person_ids", "seulement des bénéficiaires de votre portefeuille"));
    }
    let list =
        crate::store::BroadcastList { id: body.id.unwrap_or_else(Uuid::new_v4), title, young_person_ids: young_people };
    state.store.create_broadcast_list(user.id, &list, Utc::now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(BroadcastListView { id: list.id, title: list.title, young_person_ids: list.young_person_ids }),
    ))
}

/// Deletes one of the caller's broadcast lists (the messages sent with it stay).
#[utoipa::path(delete, path = "/api/v1/broadcast-lists/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, description = "Not an adviser"), (status = 404, body = Problem)))]
pub async fn delete_broadcast_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    staff_only(&user)?;
    if state.store.delete_broadcast_list(user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
