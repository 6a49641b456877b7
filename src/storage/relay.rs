//! The generic relay maps adapters keep: a topic the core named (`topic_key`) to the
//! messenger's thread in one chat, and a message an adapter posted to its topic (so a reply
//! to it in a chat without topics finds the ticket).

use super::{ChatRef, Conn, StoreError};

/// The stored thread of a topic: `Some(Some(id))` a thread, `Some(None)` the chat has no
/// topics (messages go to the chat itself), `None` not created yet.
pub async fn thread_of(
    conn: &mut Conn,
    chat: &ChatRef,
    key: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT thread_id FROM relay_topics WHERE channel = $1 AND chat_id = $2 AND topic_key = $3",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

pub async fn set_thread(
    conn: &mut Conn,
    chat: &ChatRef,
    key: &str,
    thread: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO relay_topics (channel, chat_id, topic_key, thread_id, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (channel, chat_id, topic_key) DO UPDATE SET
            thread_id = excluded.thread_id, created_at = excluded.created_at",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(key)
    .bind(thread)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets a topic's thread (it was deleted in the messenger).
pub async fn forget_thread(conn: &mut Conn, chat: &ChatRef, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM relay_topics WHERE channel = $1 AND chat_id = $2 AND topic_key = $3")
        .bind(&chat.channel)
        .bind(&chat.chat_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The topic a thread belongs to.
pub async fn topic_of_thread(
    conn: &mut Conn,
    chat: &ChatRef,
    thread: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT topic_key FROM relay_topics WHERE channel = $1 AND chat_id = $2 AND thread_id = $3
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(thread)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

pub async fn link(
    conn: &mut Conn,
    chat: &ChatRef,
    message_id: &str,
    key: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO relay_links (channel, chat_id, message_id, topic_key, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, chat_id, message_id) DO NOTHING",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(message_id)
    .bind(key)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The topic of a message an adapter posted.
pub async fn topic_of_message(
    conn: &mut Conn,
    chat: &ChatRef,
    message_id: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT topic_key FROM relay_links WHERE channel = $1 AND chat_id = $2 AND message_id = $3",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}
