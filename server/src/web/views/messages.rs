//! `/beneficiaires/{id}/messages`: the conversation of a young person with the advisers who follow
//! them (issue 13), for those who take part in it — the young person's advisers, definitive or
//! temporary; a supervisor who does not follow them gets the 404 page, as in the API.
//!
//! Newest first by pages of [`PAGE_SIZE`] (« Messages plus anciens »), each message with who wrote
//! it (« Vous », the young person's first name, « Conseiller … », « Message automatique » for the
//! service's own), when in the adviser's time zone, « modifié », « Message supprimé »; a form to
//! send, a page to edit or delete one's own message, « Marquer comme lu » (a reply marks read what
//! it answers: nothing is written on a GET), the « message important » (shown, pinned with its
//! dates, taken down) and a search (`?q=`, the store's full-text search). Every write is one typed
//! edit through `routes::conversations::edit`, the REST API's own path: the same rulebook, outbox
//! and hub (the page follows the conversation live, `live::conversation`).

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use sync_core::conversation::schema::limits;
use sync_core::conversation::{Important, Message, MessageKind, NewImportant, NewMessage};
use sync_core::model::{Person, Role};
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::conversations::{edit, participant};
use crate::routes::young_people::today_for;
use crate::state::AppState;
use crate::store::MessageRow;

use super::super::errors::{WebError, html};
use super::super::feedback::{self, FieldErrors, FormField, after_post, field};
use super::super::form::{Fields, Posted, WebPath};
use super::super::format::{self, timezone};
use super::super::page::{Crumb, Page, Section};
use super::super::session::WebUser;
use super::young_person::{Opened, open};

/// Messages per page, newest first.
pub const PAGE_SIZE: usize = 20;
/// Results of a search, newest first.
const SEARCH_RESULTS: i64 = 50;
/// The longest search, in characters (as the API's).
const SEARCH_MAX_CHARS: usize = 200;

const MESSAGE_FIELDS: [FormField; 1] = [field("text", "text", "Message")];
const IMPORTANT_FIELDS: [FormField; 3] = [
    field("text", "important_text", "Texte du message important"),
    field("starts_on", "starts_on", "Début de l'affichage"),
    field("ends_on", "ends_on", "Fin de l'affichage"),
];

/// The page of a young person's messages.
pub fn messages_path(young_person_id: Uuid) -> String {
    format!("/beneficiaires/{young_person_id}/messages")
}

/// The live stream of a young person's conversation.
pub fn stream_of(young_person_id: Uuid) -> String {
    format!("/flux/beneficiaires/{young_person_id}/messages")
}

/// The conversation the adviser may open: they take part in it (404 otherwise), with the young
/// person's names.
async fn open_conversation(state: &AppState, user: &WebUser, id: Uuid) -> Result<Opened, WebError> {
    participant(state, &user.user, id).await?;
    open(state, user, id).await
}

// ---- how messages read ------------------------------------------------------------------------

/// How the page names the authors of messages.
pub struct Names {
    reader: Uuid,
    first_name: String,
    staff: HashMap<Uuid, String>,
}

impl Names {
    /// The names of the advisers among `authors` (the young person's followers first, then anyone
    /// else who wrote: a former adviser).
    async fn load(
        state: &AppState,
        reader: &WebUser,
        young_person_id: Uuid,
        first_name: &str,
        authors: impl IntoIterator<Item = Person>,
    ) -> Result<Names, WebError> {
        let wanted: BTreeSet<Uuid> = authors
            .into_iter()
            .filter(|p| matches!(p.role, Role::Adviser | Role::Supervisor | Role::Admin) && p.id != reader.user.id)
            .map(|p| p.id)
            .collect();
        let mut staff = HashMap::new();
        if !wanted.is_empty() {
            for (member, _) in state.store.followers_named(young_person_id).await? {
                staff.insert(member.id, format!("{} {}", member.first_name, member.last_name));
            }
            for id in wanted {
                if staff.contains_key(&id) {
                    continue;
                }
                if let Some(user) = state.store.user_by_id(id).await? {
                    staff.insert(id, format!("{} {}", user.first_name, user.last_name));
                }
            }
        }
        Ok(Names { reader: reader.user.id, first_name: first_name.to_owned(), staff })
    }

    /// « Vous », the young person's first name, « Conseiller Prénom Nom », « Message automatique ».
    pub fn label(&self, author: &Person, kind: MessageKind) -> String {
        if kind == MessageKind::System || author.role == Role::System {
            "Message automatique".into()
        } else if author.id == self.reader {
            "Vous".into()
        } else if author.role == Role::YoungPerson {
            self.first_name.clone()
        } else {
            match self.staff.get(&author.id) {
                Some(name) => format!("Conseiller {name}"),
                None => "Un conseiller".into(),
            }
        }
    }
}

/// The read markers a message is shown against.
#[derive(Clone, Copy, Default)]
pub struct Markers {
    /// The reader's own: what is after it (and not theirs) is « Nouveau ».
    pub reader: Option<DateTime<Utc>>,
    /// The young person's: the reader's messages up to it are « Lu ».
    pub young_person: Option<DateTime<Utc>>,
}

pub struct MessageLine {
    pub id: Uuid,
    pub author: String,
    /// « 02/12/2026 à 14h30 », in the adviser's time zone.
    pub at: String,
    /// RFC 3339, for `<time datetime>`.
    pub datetime: String,
    /// The text, or « Message supprimé ».
    pub text: String,
    pub system: bool,
    pub mine: bool,
    pub from_young_person: bool,
    pub edited: bool,
    pub deleted: bool,
    /// Not read yet by the reader.
    pub unread: bool,
    /// One of the reader's, read by the young person.
    pub read_by_young_person: bool,
    /// The page to edit or delete it (the reader's own messages, not deleted).
    pub edit_href: Option<String>,
}

impl MessageLine {
    pub fn new(young_person_id: Uuid, m: &Message, names: &Names, markers: Markers, tz: chrono_tz::Tz) -> Self {
        let system = m.kind == MessageKind::System;
        let mine = !system && m.author.id == names.reader;
        let deleted = m.is_deleted();
        MessageLine {
            id: m.id,
            author: names.label(&m.author, m.kind),
            at: format::date_time(m.sent_at, tz),
            datetime: m.sent_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            text: m.shown_text().to_owned(),
            system,
            mine,
            from_young_person: !system && m.author.role == Role::YoungPerson,
            edited: m.edited_at.is_some() && !deleted,
            deleted,
            unread: m.author.id != names.reader && !deleted && markers.reader.is_none_or(|at| m.sent_at > at),
            read_by_young_person: mine && markers.young_person.is_some_and(|at| at >= m.sent_at),
            edit_href: (mine && !deleted).then(|| format!("{}/{}", messages_path(young_person_id), m.id)),
        }
    }
}

/// A search result as a message (the projection has what the page shows).
fn from_row(row: MessageRow) -> Message {
    Message {
        id: row.message_id,
        author: Person { id: row.author_id, role: row.author_role },
        sent_at: row.sent_at,
        kind: row.kind,
        text: row.text,
        reference: None,
        edited_at: row.edited_at,
        deleted_at: row.deleted_at,
    }
}

pub struct ImportantView {
    pub author: String,
    pub text: String,
    /// « du 02/12/2026 au 09/12/2026 »
    pub period: String,
    /// « Affiché aujourd'hui », « Programmé », « Terminé ».
    pub state: &'static str,
}

impl ImportantView {
    fn new(important: &Important, names: &Names, today: NaiveDate) -> Self {
        let state = if important.shows_on(today) {
            "Affiché aujourd'hui dans l'application"
        } else if today < important.starts_on {
            "Programmé"
        } else {
            "Terminé"
        };
        ImportantView {
            author: names.label(&important.author, MessageKind::Message),
            text: important.text.clone(),
            period: format!("du {} au {}", format::date(important.starts_on), format::date(important.ends_on)),
            state,
        }
    }
}

/// What the page reads of the conversation, in one pass over its document.
#[derive(Default)]
struct Snapshot {
    /// Newest first.
    messages: Vec<Message>,
    /// Older messages than the page's.
    more: bool,
    unread: usize,
    markers: Markers,
    important: Option<Important>,
    /// The `sent_at` of the newest message (what « Marquer comme lu » reads up to).
    newest: Option<DateTime<Utc>>,
}

async fn snapshot(
    state: &AppState,
    reader: Uuid,
    young_person_id: Uuid,
    before: Option<Uuid>,
) -> Result<Snapshot, WebError> {
    let read = state
        .conversations
        .read(young_person_id, |_, doc| {
            let conversation = doc.conversation();
            let key = before.and_then(|b| conversation.message(b)).map(Message::order_key);
            let mut messages: Vec<Message> = conversation.page(key, PAGE_SIZE + 1).into_iter().cloned().collect();
            let more = messages.len() > PAGE_SIZE;
            messages.truncate(PAGE_SIZE);
            Snapshot {
                more,
                unread: conversation.unread_for(reader),
                markers: Markers {
                    reader: conversation.read_markers.get(&reader).copied(),
                    young_person: conversation.read_markers.get(&young_person_id).copied(),
                },
                newest: conversation.messages.last().map(|m| m.sent_at),
                important: conversation.important,
                messages,
            }
        })
        .await?;
    Ok(read.unwrap_or_default())
}

// ---- the page ---------------------------------------------------------------------------------

/// The values of the « message important » form.
pub struct ImportantFields {
    pub text: String,
    pub starts_on: String,
    pub ends_on: String,
}

#[derive(Template)]
#[template(path = "web/messages.html")]
struct MessagesPage {
    page: Page,
    id: Uuid,
    name: String,
    first_name: String,
    messages: Vec<MessageLine>,
    /// « Messages plus anciens »
    older: Option<String>,
    /// Back to the newest messages, from an older page.
    newest: Option<String>,
    unread: usize,
    /// The `until` of « Marquer comme lu ».
    read_until: String,
    important: Option<ImportantView>,
    search: String,
    /// The search's results, when one was asked.
    results: Option<Vec<MessageLine>>,
    /// The id of the message the form sends (a double submission sends one).
    new_id: Uuid,
    text: String,
    important_fields: ImportantFields,
    max_days: i64,
    errors: FieldErrors,
    success: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct MessagesQuery {
    /// A message id: the page of the messages before it.
    avant: Option<String>,
    /// A search.
    q: Option<String>,
    ok: Option<String>,
}

/// What the page shows when a form was refused: the typed values of that form.
#[derive(Default)]
struct Typed<'a> {
    message: Option<&'a Fields>,
    important: Option<&'a Fields>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    query: MessagesQuery,
    typed: Typed<'_>,
    mut errors: FieldErrors,
) -> Result<Response, WebError> {
    let opened = open_conversation(state, user, id).await?;
    let tz = timezone(&user.user.timezone);
    let today = today_for(&user.user.timezone, Utc::now());
    let before = query.avant.as_deref().and_then(|a| Uuid::parse_str(a).ok());
    let snapshot = snapshot(state, user.user.id, id, before).await?;

    let search: String = query.q.as_deref().unwrap_or_default().trim().to_owned();
    let rows = if search.is_empty() {
        None
    } else if search.chars().count() > SEARCH_MAX_CHARS {
        errors.add("q", format!("La recherche compte {SEARCH_MAX_CHARS} caractères au plus."));
        None
    } else {
        Some(
            state
                .store
                .search_messages(id, &search, SEARCH_RESULTS)
                .await?
                .into_iter()
                .map(from_row)
                .collect::<Vec<_>>(),
        )
    };

    let authors = snapshot
        .messages
        .iter()
        .chain(rows.iter().flatten())
        .map(|m| m.author.clone())
        .chain(snapshot.important.iter().map(|i| i.author.clone()));
    let names = Names::load(state, user, id, &opened.first_name, authors.collect::<Vec<_>>()).await?;
    let line = |m: &Message| MessageLine::new(id, m, &names, snapshot.markers, tz);

    let important_fields = match (typed.important, &snapshot.important) {
        (Some(fields), _) => ImportantFields {
            text: fields.get("important_text").to_owned(),
            starts_on: fields.get("starts_on").to_owned(),
            ends_on: fields.get("ends_on").to_owned(),
        },
        (None, Some(current)) => ImportantFields {
            text: current.text.clone(),
            starts_on: current.starts_on.format("%Y-%m-%d").to_string(),
            ends_on: current.ends_on.format("%Y-%m-%d").to_string(),
        },
        (None, None) => ImportantFields {
            text: String::new(),
            starts_on: today.format("%Y-%m-%d").to_string(),
            ends_on: String::new(),
        },
    };
    let path = messages_path(id);
    let page = Page::new(user, "Messages", Section::Portfolio).in_file(id, &opened.name).live(stream_of(id));
    let view = MessagesPage {
        page,
        id,
        messages: snapshot.messages.iter().map(line).collect(),
        older: snapshot.more.then(|| snapshot.messages.last().map(|m| format!("{path}?avant={}", m.id))).flatten(),
        newest: before.is_some().then(|| path.clone()),
        unread: snapshot.unread,
        read_until: snapshot.newest.map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true)).unwrap_or_default(),
        important: snapshot.important.as_ref().map(|i| ImportantView::new(i, &names, today)),
        results: rows.map(|rows| rows.iter().map(line).collect()),
        search,
        new_id: typed.message.and_then(|f| Uuid::parse_str(f.get("id")).ok()).unwrap_or_else(Uuid::new_v4),
        text: typed.message.map(|f| f.get("text").to_owned()).unwrap_or_default(),
        important_fields,
        max_days: limits::IMPORTANT_DAYS,
        success: feedback::success(query.ok.as_deref()),
        name: opened.name,
        first_name: opened.first_name,
        errors,
    };
    let status = if view.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &view))
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
    Query(query): Query<MessagesQuery>,
) -> Result<Response, WebError> {
    render(&state, &user, id, query, Typed::default(), FieldErrors::default()).await
}

/// The refusals of an edit next to the fields of `fields`; `Err` when it is not a refusal.
fn refusals(e: ApiError, fields: &[FormField]) -> Result<FieldErrors, WebError> {
    FieldErrors::from_api(&e, fields).ok_or_else(|| WebError::from(e))
}

/// Moves the adviser's read marker to `until` (never back); a failure is logged, not shown: the
/// write it follows went through.
async fn read_until(state: &AppState, user: &WebUser, id: Uuid, until: DateTime<Utc>) {
    if let Err(e) = edit(state, &user.user, id, |doc, a, now| doc.mark_read(a, now, until)).await {
        tracing::warn!(error = %e, young_person_id = %id, "web app: the reply did not mark the conversation read");
    }
}

/// `POST /beneficiaires/{id}/messages`: sends a message; what it answers is then read.
pub async fn send(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let new = NewMessage {
        id: Some(Uuid::parse_str(fields.get("id")).unwrap_or_else(|_| Uuid::new_v4())),
        text: fields.get("text").trim().to_owned(),
        reference: None,
    };
    let errors = match edit(&state, &user.user, id, |doc, a, now| doc.send_message(a, now, new.clone())).await {
        Ok((_, message)) => {
            if let Some(message) = message {
                read_until(&state, &user, id, message.sent_at).await;
            }
            return Ok(after_post(&fields, &messages_path(id), "message-envoye"));
        }
        Err(e) => refusals(e, &MESSAGE_FIELDS)?,
    };
    render(&state, &user, id, MessagesQuery::default(), Typed { message: Some(&fields), ..Typed::default() }, errors)
        .await
}

/// `POST /beneficiaires/{id}/messages/lu`: « Marquer comme lu », up to the newest message the page
/// showed (`until`), or every message.
pub async fn mark_read(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let until = DateTime::parse_from_rfc3339(fields.get("until")).ok().map(|at| at.with_timezone(&Utc));
    let result = edit(&state, &user.user, id, |doc, a, now| match until {
        Some(until) => doc.mark_read(a, now, until),
        None => doc.mark_all_read(a, now),
    })
    .await;
    match result {
        Ok(_) => Ok(after_post(&fields, &messages_path(id), "messages-lus")),
        Err(e) => {
            let errors = refusals(e, &[])?;
            render(&state, &user, id, MessagesQuery::default(), Typed::default(), errors).await
        }
    }
}

fn parse_date(fields: &Fields, name: &str, missing: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match fields.optional(name) {
        None => {
            errors.add(name, missing);
            None
        }
        Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().or_else(|| {
            errors.add(name, "Saisissez une date valide, au format jj/mm/aaaa.");
            None
        }),
    }
}

/// `POST /beneficiaires/{id}/messages/important`: pins the « message important » in place of the
/// one before.
pub async fn pin(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let starts_on = parse_date(&fields, "starts_on", "Saisissez le premier jour de l'affichage.", &mut errors);
    let ends_on = parse_date(&fields, "ends_on", "Saisissez le dernier jour de l'affichage.", &mut errors);
    if let (Some(starts_on), Some(ends_on)) = (starts_on, ends_on) {
        if ends_on < starts_on {
            errors.add("ends_on", "La fin de l'affichage doit être le jour de son début ou après.");
        } else if (ends_on - starts_on).num_days() > limits::IMPORTANT_DAYS {
            errors.add("ends_on", format!("L'affichage dure {} jours au plus.", limits::IMPORTANT_DAYS));
        }
        if errors.is_empty() {
            let new = NewImportant { text: fields.get("important_text").trim().to_owned(), starts_on, ends_on };
            match edit(&state, &user.user, id, |doc, a, now| doc.pin_important(a, now, new.clone())).await {
                Ok(_) => return Ok(after_post(&fields, &messages_path(id), "important-epingle")),
                Err(e) => errors = refusals(e, &IMPORTANT_FIELDS)?,
            }
        }
    }
    render(&state, &user, id, MessagesQuery::default(), Typed { important: Some(&fields), ..Typed::default() }, errors)
        .await
}

/// `POST /beneficiaires/{id}/messages/important/retrait`: takes the « message important » down.
pub async fn unpin(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    match edit(&state, &user.user, id, |doc, a, now| doc.unpin_important(a, now)).await {
        Ok(_) => Ok(after_post(&fields, &messages_path(id), "important-retire")),
        Err(e) => {
            let errors = refusals(e, &IMPORTANT_FIELDS)?;
            render(&state, &user, id, MessagesQuery::default(), Typed::default(), errors).await
        }
    }
}

// ---- one's own message ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/message.html")]
struct MessagePage {
    page: Page,
    id: Uuid,
    message_id: Uuid,
    first_name: String,
    line: MessageLine,
    text: String,
    errors: FieldErrors,
}

/// The page of one of the adviser's own messages (404 for another's, a deleted one, a system one).
async fn render_message(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    message_id: Uuid,
    typed: Option<&Fields>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let opened = open_conversation(state, user, id).await?;
    let found = state.conversations.read(id, |_, doc| doc.message(message_id)).await?.flatten();
    let message = found
        .filter(|m| m.author.id == user.user.id && m.kind == MessageKind::Message && !m.is_deleted())
        .ok_or(WebError::NotFound)?;
    let names = Names::load(state, user, id, &opened.first_name, []).await?;
    let tz = timezone(&user.user.timezone);
    let mut page = Page::new(user, "Modifier votre message", Section::Portfolio).in_file(id, &opened.name);
    page.crumbs.push(Crumb { href: messages_path(id), label: "Messages".into() });
    let view = MessagePage {
        page,
        id,
        message_id,
        first_name: opened.first_name,
        text: typed.map(|f| f.get("text").to_owned()).unwrap_or_else(|| message.shown_text().to_owned()),
        line: MessageLine::new(id, &message, &names, Markers::default(), tz),
        errors,
    };
    let status = if view.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &view))
}

pub async fn edit_form(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, message_id)): WebPath<(Uuid, Uuid)>,
) -> Result<Response, WebError> {
    render_message(&state, &user, id, message_id, None, FieldErrors::default()).await
}

/// `POST /beneficiaires/{id}/messages/{message_id}/modifier`: replaces the text of one's own
/// message (it then says « modifié »).
pub async fn update(
    State(state): State<AppState>,
    WebPath((id, message_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let text = fields.get("text").trim().to_owned();
    let errors = match edit(&state, &user.user, id, |doc, a, now| doc.edit_message(a, now, message_id, &text)).await {
        Ok(_) => return Ok(after_post(&fields, &messages_path(id), "message-modifie")),
        Err(e) => refusals(e, &MESSAGE_FIELDS)?,
    };
    render_message(&state, &user, id, message_id, Some(&fields), errors).await
}

/// `POST /beneficiaires/{id}/messages/{message_id}/suppression`: deletes one's own message;
/// « Message supprimé » shows in its place.
pub async fn delete(
    State(state): State<AppState>,
    WebPath((id, message_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    match edit(&state, &user.user, id, |doc, a, now| doc.delete_message(a, now, message_id)).await {
        Ok(_) => Ok(after_post(&fields, &messages_path(id), "message-supprime")),
        Err(e) => {
            let errors = refusals(e, &MESSAGE_FIELDS)?;
            render_message(&state, &user, id, message_id, None, errors).await
        }
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod through_http;

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn names(reader: Uuid) -> Names {
        let adviser = Uuid::from_u128(7);
        Names { reader, first_name: "Inès".into(), staff: HashMap::from([(adviser, "Julie Lambert".to_owned())]) }
    }

    fn message(author: Person, kind: MessageKind, minute: u32) -> Message {
        Message {
            id: Uuid::from_u128(u128::from(minute)),
            author,
            sent_at: Utc.with_ymd_and_hms(2026, 12, 2, 13, minute, 0).unwrap(),
            kind,
            text: Some("Bonjour".into()),
            reference: None,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn authors_read_as_the_adviser_says_them() {
        let me = Uuid::from_u128(1);
        let young = Uuid::from_u128(2);
        let names = names(me);
        let label = |id, role, kind| names.label(&Person { id, role }, kind);
        assert_eq!(label(me, Role::Adviser, MessageKind::Message), "Vous");
        assert_eq!(label(young, Role::YoungPerson, MessageKind::Message), "Inès");
        assert_eq!(label(Uuid::from_u128(7), Role::Adviser, MessageKind::Message), "Conseiller Julie Lambert");
        assert_eq!(label(Uuid::from_u128(9), Role::Adviser, MessageKind::Message), "Un conseiller");
        assert_eq!(label(Uuid::nil(), Role::System, MessageKind::System), "Message automatique");
    }

    #[test]
    fn a_line_says_new_edited_deleted_and_read() {
        let me = Uuid::from_u128(1);
        let young = Person { id: Uuid::from_u128(2), role: Role::YoungPerson };
        let names = names(me);
        let paris = chrono_tz::Europe::Paris;
        let theirs = message(young.clone(), MessageKind::Message, 10);
        let markers = Markers { reader: Some(theirs.sent_at - chrono::Duration::minutes(1)), young_person: None };
        let line = MessageLine::new(young.id, &theirs, &names, markers, paris);
        assert_eq!((line.author.as_str(), line.at.as_str()), ("Inès", "02/12/2026 à 14h10"));
        assert!(line.unread && line.from_young_person && !line.mine && line.edit_href.is_none());
        let read = Markers { reader: Some(theirs.sent_at), young_person: None };
        assert!(!MessageLine::new(young.id, &theirs, &names, read, paris).unread);

        let mut mine = message(Person { id: me, role: Role::Adviser }, MessageKind::Message, 20);
        mine.edited_at = Some(mine.sent_at);
        let seen = Markers { reader: None, young_person: Some(mine.sent_at) };
        let line = MessageLine::new(young.id, &mine, &names, seen, paris);
        assert!(line.mine && line.edited && line.read_by_young_person && !line.unread);
        assert_eq!(line.edit_href, Some(format!("/beneficiaires/{}/messages/{}", young.id, mine.id)));

        mine.deleted_at = Some(mine.sent_at);
        mine.text = None;
        let line = MessageLine::new(young.id, &mine, &names, seen, paris);
        assert_eq!(line.text, "Message supprimé");
        assert!(line.deleted && !line.edited && line.edit_href.is_none());

        let system = message(Person { id: Uuid::nil(), role: Role::System }, MessageKind::System, 30);
        let line = MessageLine::new(young.id, &system, &names, Markers::default(), paris);
        assert!(line.system && !line.mine && line.unread && line.edit_href.is_none());
    }
}
