//! The durable outbox table.

use super::rows::{Rows, Val};
use super::{Backend, ChatRef, Conn, StoreError};

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

/// One line of a venue's staff feed, for [`enqueue_to_staff_many`].
#[derive(Debug, Clone)]
pub struct StaffLine<'a> {
    pub venue_id: i64,
    /// The message for kk, ru and en (a chat without a known language gets ru).
    pub payloads: [&'a str; 3],
    /// Each row's dedupe key is this followed by the staff row's id.
    pub dedupe_prefix: &'a str,
    /// A chat that needs no copy (like the guard who caused the entry).
    pub skip: Option<&'a ChatRef>,
}

/// Queues one message to every active staff chat of a venue in one statement, each in its
/// chat's language (see [`StaffLine`]). An outbox row's destination is its `channel` and
/// `chat_id`: these payloads carry `to: Sender`, which the workers do not read. Returns how
/// many rows were queued.
pub async fn enqueue_to_staff(
    conn: &mut Conn,
    venue_id: i64,
    payloads: [&str; 3],
    dedupe_prefix: &str,
    skip: Option<&ChatRef>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let line = StaffLine {
        venue_id,
        payloads,
        dedupe_prefix,
        skip,
    };
    enqueue_to_staff_many(conn, &[line], now_ms).await
}

/// [`enqueue_to_staff`] for the lines of many check-ins (of one or many venues) in one
/// statement.
pub async fn enqueue_to_staff_many(
    conn: &mut Conn,
    lines: &[StaffLine<'_>],
    now_ms: i64,
) -> Result<u64, StoreError> {
    if lines.is_empty() {
        return Ok(0);
    }
    let mut rows = Rows::new(7);
    for l in lines {
        rows.push([
            Val::from(l.venue_id),
            Val::from(l.payloads[0]),
            Val::from(l.payloads[1]),
            Val::from(l.payloads[2]),
            Val::from(l.dedupe_prefix),
            Val::from(l.skip.map_or("", |c| c.channel.as_str())),
            Val::from(l.skip.map_or("", |c| c.chat_id.as_str())),
        ]);
    }
    let sql = format!(
        "INSERT INTO outbox (channel, chat_id, payload, dedupe_key, created_at, not_before)
         SELECT s.channel, s.chat_id,
                CASE c.lang WHEN 'kk' THEN q.column2 WHEN 'en' THEN q.column4 ELSE q.column3 END,
                q.column5 || CAST(s.id AS TEXT), $1, $1
         FROM (VALUES {}) AS q
         JOIN venue_staff s ON s.venue_id = q.column1
         LEFT JOIN conversations c ON c.channel = s.channel AND c.chat_id = s.chat_id
         WHERE s.removed_at IS NULL AND NOT (s.channel = q.column6 AND s.chat_id = q.column7)
         ON CONFLICT (dedupe_key) DO NOTHING",
        rows.placeholders(2)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms);
    Ok(rows.bind(q).execute(&mut *conn).await?.rows_affected())
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

/// Claims the messages of one channel due now for one worker, oldest first (by id).
///
/// On PostgreSQL, where several replicas run workers on one database, the rows are locked
/// with `FOR UPDATE SKIP LOCKED` (a row another worker is claiming at this instant is
/// skipped, never waited for) and leased: their `not_before` moves to `now + lease`, so no
/// other worker sees them as due until the claimer marks them sent or failed, releases them
/// ([`release`]) or dies, after which they are due again when the lease runs out. This is
/// the one query written per backend. SQLite runs one process with one worker per channel
/// and reads the due rows without a claim (as [`due`]).
pub async fn claim(
    conn: &mut Conn,
    backend: Backend,
    channel: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    if backend == Backend::Sqlite {
        return due(conn, channel, now_ms, limit).await;
    }
    let mut rows = sqlx::query_as::<_, OutboxRow>(
        "UPDATE outbox SET not_before = $1
         WHERE id IN (
             SELECT id FROM outbox
             WHERE channel = $2 AND sent_at IS NULL AND failed_at IS NULL AND not_before <= $3
             ORDER BY not_before, id LIMIT $4
             FOR UPDATE SKIP LOCKED)
         RETURNING id, channel, chat_id, payload, attempts",
    )
    .bind(now_ms + lease_ms)
    .bind(channel)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Extends the lease of claimed rows that are still unsent (a worker busy with a long batch).
pub async fn extend_lease(conn: &mut Conn, ids: &[i64], until_ms: i64) -> Result<(), StoreError> {
    for_unsent(conn, ids, until_ms).await
}

/// Gives claimed but unsent rows back: due again at `due_ms` (a worker that stops, or the
/// later rows of a chat whose earlier row failed).
pub async fn release(conn: &mut Conn, ids: &[i64], due_ms: i64) -> Result<(), StoreError> {
    for_unsent(conn, ids, due_ms).await
}

async fn for_unsent(conn: &mut Conn, ids: &[i64], not_before_ms: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut rows = Rows::new(1);
    for id in ids {
        rows.push([Val::from(*id)]);
    }
    let sql = format!(
        "UPDATE outbox SET not_before = $1
         WHERE id IN (SELECT q.column1 FROM (VALUES {}) AS q)
           AND sent_at IS NULL AND failed_at IS NULL",
        rows.placeholders(2)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(not_before_ms);
    rows.bind(q).execute(&mut *conn).await?;
    Ok(())
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
