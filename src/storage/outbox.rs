//! The durable outbox table.

use super::{ChatRef, Conn, StoreError};

/// After this many failed attempts a message is given up (and stays for inspection).
pub const MAX_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub chat_id: String,
    pub payload: String,
    pub attempts: i64,
}

/// Queues a message. With a `dedupe_key`, a second message with the same key is dropped
/// (`false`), so a cause processed twice notifies once.
pub async fn enqueue(
    conn: &mut Conn,
    to: &ChatRef,
    payload: &str,
    dedupe_key: Option<&str>,
    not_before_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (channel, chat_id, payload, dedupe_key, created_at, not_before)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&to.channel)
    .bind(&to.chat_id)
    .bind(payload)
    .bind(dedupe_key)
    .bind(now_ms)
    .bind(not_before_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues one message to every active staff chat of a venue in one statement, each in its
/// chat's language: `payloads` are the message rendered for kk, ru and en (a chat without a
/// known language gets ru). The dedupe key of each row is `dedupe_prefix` followed by the
/// staff row's id. `skip` (a chat that needs no copy, like the guard who caused the entry)
/// gets none. An outbox row's destination is its `channel` and `chat_id`: these payloads
/// carry `to: Sender`, which the workers do not read. Returns how many rows were queued.
pub async fn enqueue_to_staff(
    conn: &mut Conn,
    venue_id: i64,
    payloads: [&str; 3],
    dedupe_prefix: &str,
    skip: Option<&ChatRef>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (channel, chat_id, payload, dedupe_key, created_at, not_before)
         SELECT s.channel, s.chat_id,
                CASE c.lang WHEN 'kk' THEN $2 WHEN 'en' THEN $4 ELSE $3 END,
                $5 || CAST(s.id AS TEXT), $6, $6
         FROM venue_staff s
         LEFT JOIN conversations c ON c.channel = s.channel AND c.chat_id = s.chat_id
         WHERE s.venue_id = $1 AND s.removed_at IS NULL
           AND NOT (s.channel = $7 AND s.chat_id = $8)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(venue_id)
    .bind(payloads[0])
    .bind(payloads[1])
    .bind(payloads[2])
    .bind(dedupe_prefix)
    .bind(now_ms)
    .bind(skip.map_or("", |c| c.channel.as_str()))
    .bind(skip.map_or("", |c| c.chat_id.as_str()))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Messages of one channel due now, oldest first.
pub async fn due(
    conn: &mut Conn,
    channel: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(sqlx::query_as::<_, OutboxRow>(
        "SELECT id, channel, chat_id, payload, attempts FROM outbox
         WHERE channel = $1 AND sent_at IS NULL AND failed_at IS NULL AND not_before <= $2
         ORDER BY not_before, id LIMIT $3",
    )
    .bind(channel)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Messages due for one chat (the terminal shows its own user's notices).
pub async fn due_for_chat(
    conn: &mut Conn,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(sqlx::query_as::<_, OutboxRow>(
        "SELECT id, channel, chat_id, payload, attempts FROM outbox
         WHERE channel = $1 AND chat_id = $2 AND sent_at IS NULL AND failed_at IS NULL
           AND not_before <= $3
         ORDER BY not_before, id",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_sent(conn: &mut Conn, id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at_ms`, or given up when `retry_at_ms` is
/// `None` or the attempts are exhausted.
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    now_ms: i64,
    error: &str,
    retry_at_ms: Option<i64>,
) -> Result<(), StoreError> {
    let give_up = retry_at_ms.is_none();
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1,
            not_before = $2,
            failed_at = CASE WHEN $3 = 1 OR attempts + 1 >= $4 THEN $5 ELSE NULL END
         WHERE id = $6",
    )
    .bind(error)
    .bind(retry_at_ms.unwrap_or(now_ms))
    .bind(i64::from(give_up))
    .bind(MAX_ATTEMPTS)
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `(pending, sent, failed)` counts, for health and tests.
pub async fn counts(conn: &mut Conn) -> Result<(i64, i64, i64), StoreError> {
    let row: (i64, i64, i64) = sqlx::query_as(
        "SELECT
            COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
         FROM outbox",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row)
}
