use super::{Conn, StoreError};

/// A chat in one channel: `("telegram", "123456")`, `("terminal", "local")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChatRef {
    pub channel: String,
    pub chat_id: String,
}

impl ChatRef {
    pub fn new(channel: &str, chat_id: impl Into<String>) -> Self {
        Self {
            channel: channel.to_string(),
            chat_id: chat_id.into(),
        }
    }
}

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

/// [`load`] with the keyed hash of the person's IIN, in one round trip (the check-in path
/// needs both).
pub async fn load_with_iin(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Option<(ConversationRow, Option<Vec<u8>>)>, StoreError> {
    type Row = (Option<String>, String, Option<i64>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT c.lang, c.state, c.person_id, p.iin_hash FROM conversations c
         LEFT JOIN people p ON p.id = c.person_id
         WHERE c.channel = $1 AND c.chat_id = $2",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(lang, state, person_id, iin_hash)| {
        (
            ConversationRow {
                lang,
                state,
                person_id,
            },
            iin_hash,
        )
    }))
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
