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

/// What [`take_place`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A place in the window was taken: its row id (give it back with [`leave_place`]).
    Taken(i64),
    /// The window is full: try again at this time (µs since the epoch).
    FullUntil(i64),
}

/// Takes a place in `channel`'s one-second window when fewer than `cap` messages hold one:
/// a message in flight (started within `lease_us`, no answer yet) or answered within the
/// last `window_us`. Run inside a transaction: the pace's row is locked first, so replicas
/// taking places at once are counted one after the other. Places older than a minute past
/// the lease are deleted.
pub async fn take_place(
    tx: &mut Conn,
    channel: &str,
    now_us: i64,
    cap: i64,
    window_us: i64,
    lease_us: i64,
) -> Result<Place, StoreError> {
    sqlx::query(
        "INSERT INTO send_pace (channel, next_at_us) VALUES ($1, $2)
         ON CONFLICT (channel) DO NOTHING",
    )
    .bind(channel)
    .bind(now_us)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT next_at_us FROM send_pace WHERE channel = $1 FOR UPDATE")
        .bind(channel)
        .fetch_one(&mut *tx)
        .await?;
    let (held, first_done): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(done_us) FROM send_window
         WHERE channel = $1 AND started_us > $2
           AND ((done_us IS NULL AND started_us > $3) OR done_us > $4)",
    )
    .bind(channel)
    .bind(now_us - lease_us - window_us)
    .bind(now_us - lease_us)
    .bind(now_us - window_us)
    .fetch_one(&mut *tx)
    .await?;
    if held >= cap {
        // The first answered place frees one second after its answer; with every place
        // still in flight, look again shortly.
        let until = first_done.map_or(now_us + 5_000, |d| d + window_us);
        return Ok(Place::FullUntil(until.max(now_us + 1)));
    }
    sqlx::query("DELETE FROM send_window WHERE channel = $1 AND started_us < $2")
        .bind(channel)
        .bind(now_us - lease_us - window_us - 60_000_000)
        .execute(&mut *tx)
        .await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO send_window (channel, started_us) VALUES ($1, $2) RETURNING id",
    )
    .bind(channel)
    .bind(now_us)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Place::Taken(id))
}

/// Records that the message holding place `id` was answered at `done_us`: its place frees
/// one window later.
pub async fn leave_place(conn: &mut Conn, id: i64, done_us: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE send_window SET done_us = $2 WHERE id = $1")
        .bind(id)
        .bind(done_us)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
