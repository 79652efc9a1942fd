//! What the store keeps of the conversations (issue 13): each one's Automerge chunks, and the
//! projections of its messages and read markers that the search and the unread counts read. A
//! supertrait of [`Store`](super::Store): `use crate::store::ConversationStore` to call it.
//!
//! The SQL is shared by both backends; the macro below expands to one `impl ConversationStore`
//! per backend, given what differs: the full-text search (SQLite FTS5, kept in step with the rows
//! by triggers; PostgreSQL a generated `tsvector` with the `french` configuration).

use chrono::{DateTime, Utc};
use sync_core::conversation::{Message, MessageKind};
use sync_core::model::Role;
use uuid::Uuid;

use super::{NewNotification, StoreResult, StoredChunk};

/// The projection of one message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub message_id: Uuid,
    pub author_id: Uuid,
    pub author_role: Role,
    pub kind: MessageKind,
    pub sent_at: DateTime<Utc>,
    /// `None` once deleted.
    pub text: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<&Message> for MessageRow {
    fn from(m: &Message) -> Self {
        MessageRow {
            message_id: m.id,
            author_id: m.author.id,
            author_role: m.author.role,
            kind: m.kind,
            sent_at: m.sent_at,
            text: m.text.clone(),
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// One acknowledged change of a conversation: its chunk, the projections it changes and the
/// notifications it sends, written in one transaction.
#[derive(Clone, Debug)]
pub struct ConversationWrite {
    pub conversation_id: String,
    pub young_person_id: Uuid,
    /// The seq of the last chunk the writer had loaded: the write lands only if it is still the
    /// last (otherwise another instance wrote in between, and the writer catches up and retries).
    pub after_seq: i64,
    pub chunk: Vec<u8>,
    /// The chunk holds the whole conversation: it replaces every chunk up to `after_seq`.
    pub snapshot: bool,
    pub messages: Vec<MessageRow>,
    pub read_markers: Vec<(Uuid, DateTime<Utc>)>,
    pub notifications: Vec<NewNotification>,
    pub at: DateTime<Utc>,
}

/// An adviser's saved broadcast list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastList {
    pub id: Uuid,
    pub title: String,
    pub young_person_ids: Vec<Uuid>,
}

/// How many unread messages a reader has in one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnreadCount {
    pub young_person_id: Uuid,
    pub unread: i64,
}

#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync {
    /// The conversation of a young person; `None` before its first message.
    async fn conversation_of(&self, young_person_id: Uuid) -> StoreResult<Option<String>>;
    /// The young person whose conversation a document is; `None` for an unknown document.
    async fn conversation_owner(&self, conversation_id: &str) -> StoreResult<Option<Uuid>>;
    /// Stores a new conversation with its first snapshot (seq 1) unless the young person has one
    /// already; returns the id stored (the other one when another writer came first).
    async fn create_conversation(
        &self,
        young_person_id: Uuid,
        conversation_id: &str,
        genesis: &[u8],
        at: DateTime<Utc>,
    ) -> StoreResult<String>;
    async fn load_conversation_chunks(&self, conversation_id: &str, after_seq: i64) -> StoreResult<Vec<StoredChunk>>;
    /// Appends the write's chunk as `after_seq + 1` with its rows; `None` (nothing written) when
    /// the conversation's last chunk is no longer `after_seq`.
    async fn commit_conversation_write(&self, write: &ConversationWrite) -> StoreResult<Option<i64>>;
    /// The messages of one conversation whose text matches `query` (French full text), newest
    /// first.
    async fn search_messages(&self, young_person_id: Uuid, query: &str, limit: i64) -> StoreResult<Vec<MessageRow>>;
    /// The young people whose conversation `adviser` takes part in: their portfolio, definitive
    /// and temporary.
    async fn followed_young_people(&self, adviser: Uuid) -> StoreResult<Vec<Uuid>>;
    /// Saves a broadcast list of `adviser`'s (its members as given; the caller checks them).
    async fn create_broadcast_list(&self, adviser: Uuid, list: &BroadcastList, at: DateTime<Utc>) -> StoreResult<()>;
    /// `adviser`'s broadcast lists, by title.
    async fn broadcast_lists(&self, adviser: Uuid) -> StoreResult<Vec<BroadcastList>>;
    /// Deletes one of `adviser`'s lists; false when they have none with that id.
    async fn delete_broadcast_list(&self, adviser: Uuid, id: Uuid) -> StoreResult<bool>;
    /// For each of `young_people` with unread messages, how many `reader` has not read: sent by
    /// somebody else (system messages included), not deleted, after the reader's marker.
    async fn unread_counts(&self, reader: Uuid, young_people: &[Uuid]) -> StoreResult<Vec<UnreadCount>>;
}

/// The words of a search, each quoted for FTS5 and matched as a prefix (SQLite has no French
/// stemmer: « entretien » finds « entretiens », not the other way round). Empty when the query
/// has no word.
pub fn fts5_query(query: &str) -> String {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) type MessageTuple = (String, String, String, String, i64, Option<String>, Option<i64>, Option<i64>);

pub(super) fn message_from_tuple(t: MessageTuple) -> StoreResult<MessageRow> {
    use super::{StoreError, from_millis, sql};
    Ok(MessageRow {
        message_id: sql::uuid(&t.0)?,
        author_id: sql::uuid(&t.1)?,
        author_role: sql::role(&t.2)?,
        kind: MessageKind::parse(&t.3).ok_or_else(|| StoreError::Corrupt(format!("message kind {}", t.3)))?,
        sent_at: from_millis(t.4),
        text: t.5,
        edited_at: t.6.map(from_millis),
        deleted_at: t.7.map(from_millis),
    })
}

/// `impl ConversationStore for $store`. `$search` selects the [`MessageTuple`] columns of the
/// messages of `$1` (young person) matching `$2` (the query, as `$prepare` makes it), newest
/// first, `LIMIT $3`.
macro_rules! impl_conversation_store {
    ($store:ty, search: $search:expr, prepare: $prepare:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::ConversationStore for $store {
            async fn conversation_of(&self, young_person_id: Uuid) -> StoreResult<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM conversations WHERE young_person_id = $1")
                    .bind(young_person_id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(id,)| id))
            }

            async fn conversation_owner(&self, conversation_id: &str) -> StoreResult<Option<Uuid>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT young_person_id FROM conversations WHERE id = $1")
                    .bind(conversation_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id,)| sql::uuid(&id)).transpose()
            }

            async fn create_conversation(
                &self,
                young_person_id: Uuid,
                conversation_id: &str,
                genesis: &[u8],
                at: DateTime<Utc>,
            ) -> StoreResult<String> {
                let mut tx = self.pool.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO conversations (id, young_person_id, created_at, last_seq) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (young_person_id) DO NOTHING",
                )
                .bind(conversation_id)
                .bind(young_person_id.to_string())
                .bind(millis(at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    let (id,): (String,) = sqlx::query_as("SELECT id FROM conversations WHERE young_person_id = $1")
                        .bind(young_person_id.to_string())
                        .fetch_one(&mut *tx)
                        .await?;
                    return Ok(id);
                }
                sqlx::query(
                    "INSERT INTO conversation_chunks (conversation_id, seq, kind, bytes, created_at) \
                     VALUES ($1, 1, 'snapshot', $2, $3)",
                )
                .bind(conversation_id)
                .bind(genesis)
                .bind(millis(at))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(conversation_id.to_owned())
            }

            async fn load_conversation_chunks(
                &self,
                conversation_id: &str,
                after_seq: i64,
            ) -> StoreResult<Vec<StoredChunk>> {
                let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, kind, bytes FROM conversation_chunks WHERE conversation_id = $1 AND seq > $2 \
                     ORDER BY seq",
                )
                .bind(conversation_id)
                .bind(after_seq)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, kind, bytes)| StoredChunk { seq, snapshot: kind == "snapshot", bytes })
                    .collect())
            }

            async fn commit_conversation_write(
                &self,
                write: &$crate::store::ConversationWrite,
            ) -> StoreResult<Option<i64>> {
                let mut tx = self.pool.begin().await?;
                // Takes the conversation's row lock (PostgreSQL) or the database's write lock
                // (SQLite) until the transaction ends.
                let claimed: Option<(i64,)> = sqlx::query_as(
                    "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 AND last_seq = $2 \
                     RETURNING last_seq",
                )
                .bind(&write.conversation_id)
                .bind(write.after_seq)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((seq,)) = claimed else {
                    return Ok(None);
                };
                if write.snapshot {
                    sqlx::query("DELETE FROM conversation_chunks WHERE conversation_id = $1 AND seq <= $2")
                        .bind(&write.conversation_id)
                        .bind(write.after_seq)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO conversation_chunks (conversation_id, seq, kind, bytes, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&write.conversation_id)
                .bind(seq)
                .bind(if write.snapshot { "snapshot" } else { "changes" })
                .bind(&write.chunk)
                .bind(millis(write.at))
                .execute(&mut *tx)
                .await?;
                let young_person = write.young_person_id.to_string();
                for m in &write.messages {
                    sqlx::query(
                        "INSERT INTO message_rows (young_person_id, message_id, author_id, author_role, kind, \
                           sent_at, text, edited_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (young_person_id, message_id) DO UPDATE SET text = excluded.text, \
                           edited_at = excluded.edited_at, deleted_at = excluded.deleted_at",
                    )
                    .bind(&young_person)
                    .bind(m.message_id.to_string())
                    .bind(m.author_id.to_string())
                    .bind(m.author_role.as_str())
                    .bind(m.kind.as_str())
                    .bind(millis(m.sent_at))
                    .bind(&m.text)
                    .bind(m.edited_at.map(millis))
                    .bind(m.deleted_at.map(millis))
                    .execute(&mut *tx)
                    .await?;
                }
                for (user, at) in &write.read_markers {
                    sqlx::query(
                        "INSERT INTO read_marker_rows (young_person_id, user_id, read_until) VALUES ($1, $2, $3) \
                         ON CONFLICT (young_person_id, user_id) DO UPDATE SET read_until = excluded.read_until",
                    )
                    .bind(&young_person)
                    .bind(user.to_string())
                    .bind(millis(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                insert_notifications(&mut tx, &write.notifications).await?;
                tx.commit().await?;
                Ok(Some(seq))
            }

            async fn search_messages(
                &self,
                young_person_id: Uuid,
                query: &str,
                limit: i64,
            ) -> StoreResult<Vec<$crate::store::MessageRow>> {
                let prepare: fn(&str) -> String = $prepare;
                let prepared = prepare(query);
                if prepared.trim().is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<$crate::store::conversations::MessageTuple> = sqlx::query_as($search)
                    .bind(young_person_id.to_string())
                    .bind(prepared)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::conversations::message_from_tuple).collect()
            }

            async fn followed_young_people(&self, adviser: Uuid) -> StoreResult<Vec<Uuid>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT p.young_person_id FROM portfolio p JOIN users u ON u.id = p.young_person_id \
                     WHERE p.adviser_id = $1 AND u.archived_at IS NULL ORDER BY p.young_person_id",
                )
                .bind(adviser.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(|(id,)| sql::uuid(&id)).collect()
            }

            async fn create_broadcast_list(
                &self,
                adviser: Uuid,
                list: &$crate::store::conversations::BroadcastList,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO broadcast_lists (id, adviser_id, title, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(list.id.to_string())
                    .bind(adviser.to_string())
                    .bind(&list.title)
                    .bind(millis(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(sql::conflict("broadcast list"))?;
                for young_person in &list.young_person_ids {
                    sqlx::query(
                        "INSERT INTO broadcast_list_members (list_id, young_person_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(list.id.to_string())
                    .bind(young_person.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn broadcast_lists(
                &self,
                adviser: Uuid,
            ) -> StoreResult<Vec<$crate::store::conversations::BroadcastList>> {
                let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT l.id, l.title, m.young_person_id FROM broadcast_lists l \
                     LEFT JOIN broadcast_list_members m ON m.list_id = l.id \
                     WHERE l.adviser_id = $1 ORDER BY l.title, l.id, m.young_person_id",
                )
                .bind(adviser.to_string())
                .fetch_all(&self.pool)
                .await?;
                let mut lists: Vec<$crate::store::conversations::BroadcastList> = Vec::new();
                for (id, title, member) in rows {
                    let id = sql::uuid(&id)?;
                    if lists.last().is_none_or(|l| l.id != id) {
                        lists.push($crate::store::conversations::BroadcastList {
                            id,
                            title,
                            young_person_ids: Vec::new(),
                        });
                    }
                    if let (Some(member), Some(list)) = (member, lists.last_mut()) {
                        list.young_person_ids.push(sql::uuid(&member)?);
                    }
                }
                Ok(lists)
            }

            async fn delete_broadcast_list(&self, adviser: Uuid, id: Uuid) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let owned: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM broadcast_lists WHERE id = $1 AND adviser_id = $2")
                        .bind(id.to_string())
                        .bind(adviser.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                if owned.is_none() {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM broadcast_list_members WHERE list_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM broadcast_lists WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn unread_counts(
                &self,
                reader: Uuid,
                young_people: &[Uuid],
            ) -> StoreResult<Vec<$crate::store::UnreadCount>> {
                let mut out = Vec::new();
                for ids in young_people.chunks(500) {
                    // From the young people and the reader's marker, so that the marker bounds the
                    // range read in the (young_person_id, sent_at) index: only unread rows are read.
                    let mut query = sqlx::QueryBuilder::<Db>::new("WITH p(id) AS (VALUES ");
                    let mut list = query.separated(", ");
                    for id in ids {
                        list.push("(");
                        list.push_bind_unseparated(id.to_string());
                        list.push_unseparated(")");
                    }
                    query.push(
                        ") SELECT m.young_person_id, CAST(COUNT(*) AS BIGINT) FROM p \
                         LEFT JOIN read_marker_rows r ON r.young_person_id = p.id AND r.user_id = ",
                    );
                    query.push_bind(reader.to_string());
                    query.push(
                        " CROSS JOIN message_rows m WHERE m.young_person_id = p.id \
                         AND m.sent_at > COALESCE(r.read_until, -1) AND m.deleted_at IS NULL AND m.author_id <> ",
                    );
                    query.push_bind(reader.to_string());
                    query.push(" GROUP BY m.young_person_id");
                    let rows: Vec<(String, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
                    for (id, unread) in rows {
                        out.push($crate::store::UnreadCount { young_person_id: sql::uuid(&id)?, unread });
                    }
                }
                Ok(out)
            }
        }
    };
}
pub(crate) use impl_conversation_store;

#[cfg(test)]
mod tests {
    use super::fts5_query;

    #[test]
    fn a_search_becomes_quoted_prefixes() {
        assert_eq!(fts5_query("entretien d'embauche"), "\"entretien\"* \"d\"* \"embauche\"*");
        assert_eq!(fts5_query("\" OR * NEAR("), "\"OR\"* \"NEAR\"*");
        assert_eq!(fts5_query("  ,;  "), "");
    }
}
