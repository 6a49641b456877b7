//! The send pace of a messenger shared by every replica (`send_pace`, one row per pace):
//! each send reserves the next free slot, one `interval` after the previous one.

use super::{Conn, StoreError};

/// Reserves the next slot of `channel`'s pace at or after `now_us`, `interval_us` after the
/// last one reserved: returns the slot's time (µs since the epoch). One statement, so
/// replicas reserving at once get distinct slots (the row's lock orders them).
pub async fn reserve(
    conn: &mut Conn,
    channel: &str,
    now_us: i64,
    interval_us: i64,
) -> Result<i64, StoreError> {
    let (next,): (i64,) = sqlx::query_as(
        "INSERT INTO send_pace (channel, next_at_us) VALUES ($1, $2)
         ON CONFLICT (channel) DO UPDATE SET next_at_us =
            CASE WHEN send_pace.next_at_us > $3 THEN send_pace.next_at_us + $4 ELSE $2 END
         RETURNING next_at_us",
    )
    .bind(channel)
    .bind(now_us + interval_us)
    .bind(now_us)
    .bind(interval_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(next - interval_us)
}
