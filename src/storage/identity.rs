//! The identity registry's storage (migration 0012): the `table` registry's pairs,
//! registrations waiting for the registry, and the people's
//! `verified_at`. Only keyed hashes and sealed values, never a plain IIN or phone.

use super::rows::{Rows, Val};
use super::{ChatRef, Conn, StoreError};

/// What the pairs table knows about one `(IIN, phone)` question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairFacts {
    /// This very pair is listed.
    pub pair: bool,
    /// The IIN is listed with some phone.
    pub iin_known: bool,
    /// The phone is listed with some IIN.
    pub phone_known: bool,
}

/// Adds many pairs in one statement (at most [`PAIRS_PER_STATEMENT`]); returns how many
/// were new.
pub async fn add_pairs(
    conn: &mut Conn,
    pairs: &[(Vec<u8>, Vec<u8>)],
    now_ms: i64,
) -> Result<u64, StoreError> {
    if pairs.is_empty() {
        return Ok(0);
    }
    assert!(pairs.len() <= PAIRS_PER_STATEMENT, "split the pairs");
    let mut rows = Rows::new(2);
    for (iin, phone) in pairs {
        rows.push([
            Val::from(Some(iin.as_slice())),
            Val::from(Some(phone.as_slice())),
        ]);
    }
    let sql = format!(
        "INSERT INTO identity_pairs (iin_hash, phone_hash, created_at)
         SELECT q.column1, q.column2, $1 FROM (VALUES {}) AS q
         WHERE q.column1 IS NOT NULL
         ON CONFLICT (iin_hash, phone_hash) DO NOTHING",
        rows.placeholders(2)
    );
    let done = rows
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Pairs per multi-row insert (2 parameters each, padded to a power of two).
pub const PAIRS_PER_STATEMENT: usize = 1024;

/// Removes a pair (a recycled number); `false` when it was not there.
pub async fn remove_pair(
    conn: &mut Conn,
    iin_hash: &[u8],
    phone_hash: &[u8],
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM identity_pairs WHERE iin_hash = $1 AND phone_hash = $2")
        .bind(iin_hash)
        .bind(phone_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Each number is given by its hashes to try: the current key version's and, while a key
/// rotation runs, the previous one's (`Vault::lookup_hashes`; a pair may be half rewritten).
pub async fn pair_facts(
    conn: &mut Conn,
    iin_hashes: &[Vec<u8>],
    phone_hashes: &[Vec<u8>],
) -> Result<PairFacts, StoreError> {
    let two = |h: &[Vec<u8>]| {
        let first = h.first().cloned().unwrap_or_default();
        let second = h.get(1).cloned().unwrap_or_else(|| first.clone());
        (first, second)
    };
    let (i1, i2) = two(iin_hashes);
    let (p1, p2) = two(phone_hashes);
    let (pair, iin, phone): (i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT COUNT(*) FROM identity_pairs
             WHERE iin_hash IN ($1, $3) AND phone_hash IN ($2, $4)),
           (SELECT COUNT(*) FROM identity_pairs WHERE iin_hash IN ($1, $3)),
           (SELECT COUNT(*) FROM identity_pairs WHERE phone_hash IN ($2, $4))",
    )
    .bind(i1)
    .bind(p1)
    .bind(i2)
    .bind(p2)
    .fetch_one(&mut *conn)
    .await?;
    Ok(PairFacts {
        pair: pair > 0,
        iin_known: iin > 0,
        phone_known: phone > 0,
    })
}

pub async fn count_pairs(conn: &mut Conn) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM identity_pairs")
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

// ---------------------------------------------------------------- people

/// The person's IIN is confirmed by the registry for their phone.
pub async fn set_verified(conn: &mut Conn, person_id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE people SET verified_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(person_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the IIN from a person (the phone stays): the registration must be completed
/// again. Health records stay with the IIN; the status watch goes.
pub async fn unbind(conn: &mut Conn, person_id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE people SET iin_hash = NULL, iin_enc = NULL, registered_at = NULL,
         verified_at = NULL WHERE id = $1",
    )
    .bind(person_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM status_watch WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `verified_at` of a person (`None`: no such person or not verified).
pub async fn verified_at(conn: &mut Conn, person_id: i64) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT verified_at FROM people WHERE id = $1")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.and_then(|r| r.0))
}

/// The IIN hash of the person registered with this phone hash whose binding the identity
/// registry confirmed (`verified_at`); the most recently verified when several.
pub async fn verified_iin_of_phone(
    conn: &mut Conn,
    phone_hash: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT iin_hash FROM people
         WHERE phone_hash = $1 AND verified_at IS NOT NULL AND iin_hash IS NOT NULL
         ORDER BY verified_at DESC, id DESC LIMIT 1",
    )
    .bind(phone_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// The chats of a person (to tell them the binding moved).
pub async fn chats_of(conn: &mut Conn, person_id: i64) -> Result<Vec<ChatRef>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, chat_id FROM conversations WHERE person_id = $1 ORDER BY channel, chat_id",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, chat_id)| ChatRef { channel, chat_id })
        .collect())
}

// ---------------------------------------------------------------- pending

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingRow {
    pub person_id: i64,
    pub iin_hash: Vec<u8>,
    pub iin_enc: Vec<u8>,
    pub channel: String,
    pub chat_id: String,
    pub tries: i64,
    pub next_at: i64,
    pub deadline_at: i64,
    pub created_at: i64,
}

impl PendingRow {
    pub fn chat(&self) -> ChatRef {
        ChatRef::new(&self.channel, &self.chat_id)
    }
}

/// Stores (or restarts) the person's pending check.
pub async fn put_pending(conn: &mut Conn, row: &PendingRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO identity_pending (person_id, iin_hash, iin_enc, channel, chat_id, tries,
           next_at, deadline_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (person_id) DO UPDATE SET iin_hash = excluded.iin_hash,
           iin_enc = excluded.iin_enc, channel = excluded.channel, chat_id = excluded.chat_id,
           tries = excluded.tries, next_at = excluded.next_at,
           deadline_at = excluded.deadline_at, created_at = excluded.created_at",
    )
    .bind(row.person_id)
    .bind(&row.iin_hash)
    .bind(&row.iin_enc)
    .bind(&row.channel)
    .bind(&row.chat_id)
    .bind(row.tries)
    .bind(row.next_at)
    .bind(row.deadline_at)
    .bind(row.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const PENDING_SELECT: &str = "SELECT person_id, iin_hash, iin_enc, channel, chat_id, tries, \
     next_at, deadline_at, created_at FROM identity_pending";

pub async fn pending(conn: &mut Conn, person_id: i64) -> Result<Option<PendingRow>, StoreError> {
    Ok(sqlx::query_as::<_, PendingRow>(sqlx::AssertSqlSafe(format!(
        "{PENDING_SELECT} WHERE person_id = $1"
    )))
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Pending checks due at `now_ms`, oldest first.
pub async fn pending_due(
    conn: &mut Conn,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<PendingRow>, StoreError> {
    Ok(sqlx::query_as::<_, PendingRow>(sqlx::AssertSqlSafe(format!(
        "{PENDING_SELECT} WHERE next_at <= $1 ORDER BY next_at, person_id LIMIT $2"
    )))
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn delete_pending(conn: &mut Conn, person_id: i64) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("DELETE FROM identity_pending WHERE person_id = $1")
            .bind(person_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Moves a pending check to its next try.
pub async fn reschedule(
    conn: &mut Conn,
    person_id: i64,
    tries: i64,
    next_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE identity_pending SET tries = $1, next_at = $2 WHERE person_id = $3")
        .bind(tries)
        .bind(next_at)
        .bind(person_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- vouchers

/// The parent's phone on the list for a pupil: `(keyed hash, sealed value)`.
pub async fn parent_phone_of_pupil(
    conn: &mut Conn,
    pupil_id: i64,
) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT parent_phone_hash, parent_phone_enc FROM wallet_pupils WHERE id = $1",
    )
    .bind(pupil_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether the chat's person is the pupil's parent on the list: by the registered person's
/// phone, or by their IIN when the identity registry confirmed it. The hashes are compared
/// here rather than joined in SQL: while a key rotation runs, the two rows may hold them
/// under different key versions (`Vault::same_hash`).
pub async fn chat_is_parent(
    conn: &mut Conn,
    vault: &crate::crypto::Vault,
    chat: &ChatRef,
    pupil_id: i64,
) -> Result<bool, StoreError> {
    type Row = (Vec<u8>, Option<Vec<u8>>, Option<i64>, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.phone_hash, p.iin_hash, p.verified_at, w.parent_phone_hash, w.parent_iin_hash
         FROM conversations c
         JOIN people p ON p.id = c.person_id
         JOIN wallet_pupils w ON w.id = $3
         WHERE c.channel = $1 AND c.chat_id = $2 AND p.registered_at IS NOT NULL",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(pupil_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .any(|(phone, iin, verified, parent_phone, parent_iin)| {
            vault.same_hash(phone, parent_phone)
                || (verified.is_some()
                    && iin.as_ref().is_some_and(|i| vault.same_hash(i, parent_iin)))
        }))
}

/// Sends a voucher's meal notices to another chat.
pub async fn move_voucher_chat(conn: &mut Conn, id: i64, chat: &ChatRef) -> Result<(), StoreError> {
    sqlx::query("UPDATE wallet_vouchers SET channel = $1, chat_id = $2 WHERE id = $3")
        .bind(&chat.channel)
        .bind(&chat.chat_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
