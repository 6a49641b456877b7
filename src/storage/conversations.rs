use super::rows::{Rows, Val};
use super::{Backend, Conn, StoreError};
use sha2::{Digest, Sha256};

/// The neutral chat address (`crate::domain::ChatRef`), stored as `(channel, chat_id)` columns.
pub use crate::domain::ChatRef;

/// One row of `conversations`: the language, the persisted state (JSON) and the person.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConversationRow {
    pub lang: Option<String>,
    pub state: String,
    pub person_id: Option<i64>,
}

pub async fn load(conn: &mut Conn, chat: &ChatRef) -> Result<Option<ConversationRow>, StoreError> {
    Ok(sqlx::query_as::<_, ConversationRow>(
        "SELECT lang, state, person_id FROM conversations WHERE channel = $1 AND chat_id = $2",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A conversation with the keyed hash of its person's IIN (the check-in path needs both);
/// the hash only when the identity registry confirmed it (`people.verified_at`).
pub type WithIin = (ConversationRow, Option<Vec<u8>>);

/// [`load`] with the keyed hash of the person's IIN, in one round trip.
pub async fn load_with_iin(conn: &mut Conn, chat: &ChatRef) -> Result<Option<WithIin>, StoreError> {
    Ok(load_many_with_iin(conn, std::slice::from_ref(chat))
        .await?
        .pop()
        .map(|(_, row)| row))
}

/// [`load_with_iin`] inside the event's transaction, holding the conversation until the
/// transaction ends, so two updates of one chat handled at once (two replicas) run one after
/// the other and the conversation never forks. On PostgreSQL the row is read `FOR UPDATE`;
/// a chat without a row yet is serialised by a transaction advisory lock keyed on the chat
/// (the first 8 bytes of SHA-256 of `ashyq-conversation:channel:chat_id`) and read again,
/// so two first messages of a new chat do not both start it. SQLite runs one process whose
/// write transactions already run one at a time (`BEGIN IMMEDIATE`).
pub async fn lock_with_iin(
    conn: &mut Conn,
    backend: Backend,
    chat: &ChatRef,
) -> Result<Option<WithIin>, StoreError> {
    let chats = std::slice::from_ref(chat);
    if let Some((_, row)) = lock_many_with_iin(conn, backend, chats).await?.pop() {
        return Ok(Some(row));
    }
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(chat_lock_key(chat))
            .execute(&mut *conn)
            .await?;
        let again = lock_many_with_iin(conn, backend, chats).await?.pop();
        return Ok(again.map(|(_, row)| row));
    }
    Ok(None)
}

/// The transaction advisory lock key of a chat without a conversation row yet.
pub fn chat_lock_key(chat: &ChatRef) -> i64 {
    let digest =
        Sha256::digest(format!("ashyq-conversation:{}:{}", chat.channel, chat.chat_id).as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// [`load_many_with_iin`] holding the conversations found until the transaction ends
/// (PostgreSQL: `FOR UPDATE OF c`, locked in the order of `(channel, chat_id)`, so two
/// batches of overlapping chats cannot deadlock).
pub async fn lock_many_with_iin(
    conn: &mut Conn,
    backend: Backend,
    chats: &[ChatRef],
) -> Result<Vec<(ChatRef, WithIin)>, StoreError> {
    Ok(
        select_many(conn, chats, false, backend == Backend::Postgres)
            .await?
            .into_iter()
            .map(|(chat, row, _)| (chat, row))
            .collect(),
    )
}

/// [`load_with_iin`] for many chats in one statement; chats without a conversation are
/// absent from the answer.
pub async fn load_many_with_iin(
    conn: &mut Conn,
    chats: &[ChatRef],
) -> Result<Vec<(ChatRef, WithIin)>, StoreError> {
    Ok(select_many(conn, chats, false, false)
        .await?
        .into_iter()
        .map(|(chat, row, _)| (chat, row))
        .collect())
}

/// [`lock_many_with_iin`] and, in the same statement, whether each verified person has a
/// live dependant (the check-in lane leaves those chats to the group check-in).
pub async fn lock_many_for_lane(
    conn: &mut Conn,
    backend: Backend,
    chats: &[ChatRef],
) -> Result<Vec<(ChatRef, WithIin, bool)>, StoreError> {
    select_many(conn, chats, true, backend == Backend::Postgres).await
}

async fn select_many(
    conn: &mut Conn,
    chats: &[ChatRef],
    dependants: bool,
    for_update: bool,
) -> Result<Vec<(ChatRef, WithIin, bool)>, StoreError> {
    if chats.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Rows::new(2);
    for chat in chats {
        rows.push([
            Val::from(chat.channel.as_str()),
            Val::from(chat.chat_id.as_str()),
        ]);
    }
    type Row = (
        String,
        String,
        Option<String>,
        String,
        Option<i64>,
        Option<Vec<u8>>,
        i64,
    );
    let has = if dependants {
        format!(
            "CASE WHEN p.verified_at IS NOT NULL AND {} THEN 1 ELSE 0 END",
            super::family::HAS_DEPENDANTS_SQL
        )
    } else {
        "0".to_string()
    };
    let sql = format!(
        "SELECT c.channel, c.chat_id, c.lang, c.state, c.person_id,
           CASE WHEN p.verified_at IS NOT NULL THEN p.iin_hash END,
           CAST({has} AS BIGINT)
         FROM (VALUES {}) AS q
         JOIN conversations c ON c.channel = q.column1 AND c.chat_id = q.column2
         LEFT JOIN people p ON p.id = c.person_id{}",
        rows.placeholders(1),
        if for_update {
            "\n         ORDER BY c.channel, c.chat_id FOR UPDATE OF c"
        } else {
            ""
        }
    );
    let found: Vec<Row> = rows
        .bind_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *conn)
        .await?;
    Ok(found
        .into_iter()
        .map(
            |(channel, chat_id, lang, state, person_id, iin_hash, has)| {
                let row = ConversationRow {
                    lang,
                    state,
                    person_id,
                };
                (ChatRef { channel, chat_id }, (row, iin_hash), has != 0)
            },
        )
        .collect())
}

pub async fn save(
    conn: &mut Conn,
    chat: &ChatRef,
    row: &ConversationRow,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO conversations (channel, chat_id, lang, state, person_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (channel, chat_id) DO UPDATE SET
            lang = excluded.lang, state = excluded.state,
            person_id = excluded.person_id, updated_at = excluded.updated_at",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(&row.lang)
    .bind(&row.state)
    .bind(row.person_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, chat: &ChatRef) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM conversations WHERE channel = $1 AND chat_id = $2")
        .bind(&chat.channel)
        .bind(&chat.chat_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl super::Store {
    /// Reads a conversation outside any transaction (dialogue storage, health checks).
    pub async fn conversation(
        &self,
        chat: &ChatRef,
    ) -> Result<Option<ConversationRow>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load(&mut conn, chat).await
    }
}
