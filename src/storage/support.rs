//! Support tickets, bans and the per-user flood window.

use super::{ChatRef, Conn, StoreError};

/// One ticket. The user is identified only by their chat; no message content is stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub channel: String,
    pub chat_id: String,
    pub category: String,
    pub lang: String,
    pub opened_at: i64,
    pub first_response_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub assignee: Option<String>,
    pub rating: Option<i64>,
    pub user_messages: i64,
    pub operator_messages: i64,
    pub off_hours_notice_at: Option<i64>,
}

impl TicketRow {
    pub fn user(&self) -> ChatRef {
        ChatRef::new(&self.channel, self.chat_id.clone())
    }

    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

const COLUMNS: &str = "id, channel, chat_id, category, lang, opened_at, first_response_at, \
     closed_at, assignee, rating, user_messages, operator_messages, off_hours_notice_at";

pub async fn open(
    conn: &mut Conn,
    user: &ChatRef,
    category: &str,
    lang: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO support_tickets (channel, chat_id, category, lang, opened_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&user.channel)
    .bind(&user.chat_id)
    .bind(category)
    .bind(lang)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<TicketRow>, StoreError> {
    Ok(sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM support_tickets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The user's most recent ticket.
pub async fn latest(conn: &mut Conn, user: &ChatRef) -> Result<Option<TicketRow>, StoreError> {
    Ok(sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM support_tickets WHERE channel = $1 AND chat_id = $2
         ORDER BY id DESC LIMIT 1"
    )))
    .bind(&user.channel)
    .bind(&user.chat_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// How many tickets the user opened in all.
pub async fn count_for(conn: &mut Conn, user: &ChatRef) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM support_tickets WHERE channel = $1 AND chat_id = $2")
            .bind(&user.channel)
            .bind(&user.chat_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n)
}

/// Closes an open ticket; `false` when it was already closed.
pub async fn close(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_tickets SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Reopens a closed ticket (its rating, if any, is kept until a new one is given).
pub async fn reopen(conn: &mut Conn, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_tickets SET closed_at = NULL WHERE id = $1 AND closed_at IS NOT NULL",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn assign(conn: &mut Conn, id: i64, assignee: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE support_tickets SET assignee = $1 WHERE id = $2")
        .bind(assignee)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a 1–5 rating of a closed ticket; `false` when it is open.
pub async fn rate(conn: &mut Conn, id: i64, rating: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_tickets SET rating = $1 WHERE id = $2 AND closed_at IS NOT NULL",
    )
    .bind(rating)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_user_message(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE support_tickets SET user_messages = user_messages + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Counts an operator's message; the first one is the ticket's first response.
pub async fn count_operator_message(
    conn: &mut Conn,
    id: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE support_tickets SET operator_messages = operator_messages + 1,
            first_response_at = COALESCE(first_response_at, $1)
         WHERE id = $2",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_off_hours_notice(conn: &mut Conn, id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE support_tickets SET off_hours_notice_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn ban(conn: &mut Conn, user: &ChatRef, until_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO support_bans (channel, chat_id, until_at) VALUES ($1, $2, $3)
         ON CONFLICT (channel, chat_id) DO UPDATE SET until_at = excluded.until_at",
    )
    .bind(&user.channel)
    .bind(&user.chat_id)
    .bind(until_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn unban(conn: &mut Conn, user: &ChatRef) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM support_bans WHERE channel = $1 AND chat_id = $2")
        .bind(&user.channel)
        .bind(&user.chat_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Until when the user is banned, if they are at `now_ms`.
pub async fn banned_until(
    conn: &mut Conn,
    user: &ChatRef,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT until_at FROM support_bans WHERE channel = $1 AND chat_id = $2 AND until_at > $3",
    )
    .bind(&user.channel)
    .bind(&user.chat_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Counts one message in the user's fixed window starting at `window_start_ms` and returns
/// how many messages that window holds now.
pub async fn flood_hit(
    conn: &mut Conn,
    user: &ChatRef,
    window_start_ms: i64,
) -> Result<i64, StoreError> {
    let (hits,): (i64,) = sqlx::query_as(
        "INSERT INTO support_flood (channel, chat_id, window_start, hits) VALUES ($1, $2, $3, 1)
         ON CONFLICT (channel, chat_id) DO UPDATE SET
            hits = CASE WHEN support_flood.window_start = excluded.window_start
                        THEN support_flood.hits + 1 ELSE 1 END,
            window_start = excluded.window_start
         RETURNING hits",
    )
    .bind(&user.channel)
    .bind(&user.chat_id)
    .bind(window_start_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(hits)
}

/// The raw figures `ashyq support stats` summarises.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StatsRow {
    pub opened_at: i64,
    pub first_response_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub rating: Option<i64>,
}

pub async fn all_for_stats(conn: &mut Conn) -> Result<Vec<StatsRow>, StoreError> {
    Ok(sqlx::query_as::<_, StatsRow>(
        "SELECT opened_at, first_response_at, closed_at, rating FROM support_tickets ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?)
}
