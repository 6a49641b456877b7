use super::rows::{Rows, Val};
use super::{Conn, StoreError};

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

/// [`load_with_iin`] for many chats in one statement; chats without a conversation are
/// absent from the answer.
pub async fn load_many_with_iin(
    conn: &mut Conn,
    chats: &[ChatRef],
) -> Result<Vec<(ChatRef, WithIin)>, StoreError> {
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
    );
    let sql = format!(
        "SELECT c.channel, c.chat_id, c.lang, c.state, c.person_id,
           CASE WHEN p.verified_at IS NOT NULL THEN p.iin_hash END
         FROM (VALUES {}) AS q
         JOIN conversations c ON c.channel = q.column1 AND c.chat_id = q.column2
         LEFT JOIN people p ON p.id = c.person_id",
        rows.placeholders(1)
    );
    let found: Vec<Row> = rows
        .bind_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|(channel, chat_id, lang, state, person_id, iin_hash)| {
            let row = ConversationRow {
                lang,
                state,
                person_id,
            };
            (ChatRef { channel, chat_id }, (row, iin_hash))
        })
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
