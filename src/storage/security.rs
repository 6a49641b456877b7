//! Storage of the security controls: failed attempts at typed codes (throttle and audit) and
//! the retention deletes (docs/SECURITY.md, "Retention").

use super::{ChatRef, Conn, StoreError};

/// Records one failed attempt of `chat` in `scope` (`venue_code`, `meal_code`).
pub async fn record_failure(
    conn: &mut Conn,
    scope: &str,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO attempt_failures (scope, channel, chat_id, at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(scope)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Failed attempts of `chat` in `scope` since `since_ms`.
pub async fn failures_since(
    conn: &mut Conn,
    scope: &str,
    chat: &ChatRef,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM attempt_failures
         WHERE scope = $1 AND channel = $2 AND chat_id = $3 AND at_ms >= $4",
    )
    .bind(scope)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// Deletes failed-attempt rows older than `before_ms`.
/// The time of the latest row of `chat` in `scope`.
pub async fn latest_failure(
    conn: &mut Conn,
    scope: &str,
    chat: &ChatRef,
) -> Result<Option<i64>, StoreError> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "SELECT MAX(at_ms) FROM attempt_failures
         WHERE scope = $1 AND channel = $2 AND chat_id = $3",
    )
    .bind(scope)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(at)
}

pub async fn prune_failures(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM attempt_failures WHERE at_ms < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes outbox rows sent, or given up, before `before_ms` (their payloads hold relayed
/// texts). Rows still waiting are never touched.
pub async fn prune_outbox(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    let sent = sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    let failed = sqlx::query("DELETE FROM outbox WHERE failed_at IS NOT NULL AND failed_at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    Ok(sent.rows_affected() + failed.rows_affected())
}

/// The outbox by channel, for the metrics.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxByChannel {
    pub channel: String,
    pub waiting: i64,
    pub oldest_waiting: Option<i64>,
    pub sent: i64,
    pub failed: i64,
}

/// Waiting, sent and failed outbox rows per channel, and the creation time of the oldest
/// waiting one.
pub async fn outbox_by_channel(pool: &sqlx::AnyPool) -> Result<Vec<OutboxByChannel>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT channel,
                CAST(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END)
                    AS BIGINT) AS waiting,
                MIN(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN created_at END)
                    AS oldest_waiting,
                CAST(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS sent,
                CAST(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS failed
         FROM outbox GROUP BY channel ORDER BY channel",
    )
    .fetch_all(pool)
    .await?)
}

/// Migration versions embedded in this binary that the database has not applied (successfully).
pub async fn pending_migrations(
    pool: &sqlx::AnyPool,
    migrator: &sqlx::migrate::Migrator,
) -> Result<Vec<i64>, StoreError> {
    let applied: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(pool)
            .await?;
    let applied: std::collections::HashSet<i64> = applied.into_iter().map(|r| r.0).collect();
    Ok(migrator
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// Audit lines of `action` at a venue since `since_ms` (guard-mode quotas per venue).
pub async fn venue_audit_count(
    conn: &mut Conn,
    venue_id: i64,
    action: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkin_audit WHERE venue_id = $1 AND action = $2 AND at >= $3",
    )
    .bind(venue_id)
    .bind(action)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// Active staff chats (any role) of a venue.
pub async fn active_staff(conn: &mut Conn, venue_id: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM venue_staff WHERE venue_id = $1 AND removed_at IS NULL",
    )
    .bind(venue_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// The venue of a usable (unused, unexpired) invite, without using it.
pub async fn invite_venue(
    conn: &mut Conn,
    token_hash: &[u8],
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT venue_id FROM venue_invites
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}
