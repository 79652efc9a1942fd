//! Live updates of the pages that show plans and conversations: a server-sent event stream fed by
//! the sync hub.
//!
//! Every committed change of a plan — from a phone's sync, the API, another page, or another
//! instance through PostgreSQL NOTIFY — is published on the hub; a stream that follows that plan
//! sends `event: plan` with the young person's id, and the page fetches itself again. A
//! conversation's changes (a message sent, edited or deleted, a read marker moved, the « message
//! important ») are published on the hub under the conversation's document id: the streams that
//! follow it send the same `event: plan` (the page's script knows only that one: it fetches the
//! page again whatever changed). A stream ends when the session is revoked or expires, when the
//! process stops, and tells the page (`event: access`) when a transfer took one of its plans or
//! conversations away.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures_util::Stream;
use serde::Deserialize;
use sync_core::model::Role;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::routes::conversations::participant;
use crate::routes::young_people::{plan_access, today_for};
use crate::state::AppState;
use crate::sync::hub::HubEvent;

use super::errors::WebError;
use super::form::WebPath;
use super::session::WebUser;

/// How often a stream checks that its session is still valid (revocations on this instance and
/// announced by others end it at once; this catches expiry).
const SESSION_CHECK: Duration = Duration::from_secs(60);

/// What a stream follows of a young person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watched {
    Plan,
    Conversation,
}

/// The documents a stream follows: (young person, document, which of theirs).
type Followed = Vec<(Uuid, String, Watched)>;

#[derive(Deserialize)]
pub struct YoungPersonStream {
    /// `?messages=oui`: the conversation too (the file, which counts the unread messages).
    messages: Option<String>,
}

/// `/flux/beneficiaires/{id}`: one young person's plan; with `?messages=oui`, their conversation
/// too when the adviser takes part in it.
pub async fn young_person(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
    Query(query): Query<YoungPersonStream>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let (access, author) = plan_access(&state, &user.user, id).await?;
    let mut followed = vec![(id, access.document_id, Watched::Plan)];
    if query.messages.is_some() && author.follows_plan {
        followed.push((id, state.conversations.ensure(id).await?, Watched::Conversation));
    }
    Ok(stream(state, user, followed))
}

/// `/flux/beneficiaires/{id}/messages`: one young person's conversation, for those who take part
/// in it (404 otherwise). The conversation is made when it does not exist yet, as
/// `GET /api/v1/young-people/{id}` does: the first message then lands on the document the page
/// already follows.
pub async fn conversation(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    participant(&state, &user.user, id).await?;
    let document_id = state.conversations.ensure(id).await?;
    Ok(stream(state, user, vec![(id, document_id, Watched::Conversation)]))
}

/// `/flux/portefeuille`: every plan of the adviser's portfolio (a supervisor: their structure's).
pub async fn portfolio(
    State(state): State<AppState>,
    user: WebUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    let lines = match (user.user.role, user.user.structure_id) {
        (Role::Supervisor, Some(structure)) => state.store.structure_summaries(structure, today, now).await?,
        _ => state.store.portfolio_summaries(user.user.id, today, now).await?,
    };
    // The conversations of the young people the adviser follows (their unread badges); one not
    // made yet is followed from the next page load.
    let mine: HashSet<Uuid> = state.store.followed_young_people(user.user.id).await?.into_iter().collect();
    let mut followed: Followed = Vec::with_capacity(lines.len() + mine.len());
    for line in &lines {
        if mine.contains(&line.id) {
            if let Some(document_id) = state.store.conversation_of(line.id).await? {
                followed.push((line.id, document_id, Watched::Conversation));
            }
        }
    }
    followed.extend(lines.into_iter().filter_map(|l| l.plan_document_id.map(|d| (l.id, d, Watched::Plan))));
    Ok(stream(state, user, followed))
}

fn stream(state: AppState, user: WebUser, followed: Followed) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel::<Event>(64);
    let mut tasks = JoinSet::new();
    for (young_person_id, document_id, watched) in followed {
        let mut events = state.hub.subscribe(&document_id);
        let tx = tx.clone();
        let state = state.clone();
        let user = user.clone();
        tasks.spawn(async move {
            loop {
                let event = events.recv().await;
                let sent = match event {
                    Ok(HubEvent::Changed { .. }) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        tx.send(Event::default().event("plan").data(young_person_id.to_string())).await
                    }
                    Ok(HubEvent::AccessChanged) => {
                        let still = match watched {
                            Watched::Plan => plan_access(&state, &user.user, young_person_id).await.is_ok(),
                            Watched::Conversation => participant(&state, &user.user, young_person_id).await.is_ok(),
                        };
                        if still {
                            tx.send(Event::default().event("plan").data(young_person_id.to_string())).await
                        } else {
                            let _ = tx.send(Event::default().event("access").data(young_person_id.to_string())).await;
                            return;
                        }
                    }
                    Ok(HubEvent::Ephemeral { .. }) => Ok(()),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if sent.is_err() {
                    return;
                }
            }
        });
    }
    tasks.spawn(watch_session(state, user, tx.clone()));
    let _ = tx.try_send(Event::default().event("ready").data("ok"));
    drop(tx);
    let events = futures_util::stream::unfold((rx, tasks), |(mut rx, tasks)| async move {
        // The forwarding tasks live as long as the stream (a JoinSet aborts them when dropped).
        rx.recv().await.map(|event| (Ok(event), (rx, tasks)))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Ends the stream (by returning, which drops its sender) when the session is revoked, expires,
/// or the process stops.
async fn watch_session(state: AppState, user: WebUser, tx: mpsc::Sender<Event>) {
    if let Err(e) = state.hub.follow_revocations(&state.store).await {
        tracing::warn!(error = %e, "live stream: not following revocations");
    }
    let mut revocations = state.hub.revocations();
    let mut going_away = state.hub.going_away();
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.tick().await;
    loop {
        tokio::select! {
            revoked = revocations.recv() => match revoked {
                Ok(family) if family == user.user.family_id => break,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if !still_valid(&state, &user).await { break }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            changed = going_away.changed() => {
                let stopping = changed.is_err() || *going_away.borrow_and_update();
                if stopping { break }
            }
            _ = check.tick() => if !still_valid(&state, &user).await { break },
            _ = tx.closed() => return,
        }
    }
    let _ = tx.send(Event::default().event("access").data("session")).await;
    // Returning drops the last sender but the forwarders': they end with their plans' channels or
    // when the stream is dropped; the page reloads on `access` and meets the sign-in page.
}

async fn still_valid(state: &AppState, user: &WebUser) -> bool {
    user.still_valid(state).await
}
