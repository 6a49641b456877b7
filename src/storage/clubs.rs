//! Club vouchers (migration 0026): the list rows with the parent's answer, and the sessions
//! attended. Providers (clubs) and the ledger are the voucher engine's.

use super::{ChatRef, Conn, StoreError};

/// A validated row of a club list.
#[derive(Clone, PartialEq)]
pub struct NewClubVoucher {
    pub club_bin: String,
    pub pupil_hash: Vec<u8>,
    pub pupil_enc: Vec<u8>,
    pub parent_iin_hash: Vec<u8>,
    pub parent_iin_enc: Vec<u8>,
    pub parent_phone_hash: Vec<u8>,
    pub parent_phone_enc: Vec<u8>,
    pub sessions_per_month: i64,
}

impl std::fmt::Debug for NewClubVoucher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NewClubVoucher(club {}, {} a month)",
            self.club_bin, self.sessions_per_month
        )
    }
}

/// What became of one list row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClubWrite {
    Inserted(i64),
    /// Already stored with the same content.
    Duplicate,
    /// Already stored for this club with different content.
    Conflict,
}

pub async fn insert_voucher(
    conn: &mut Conn,
    provider_id: i64,
    v: &NewClubVoucher,
    source: &str,
    now_ms: i64,
) -> Result<ClubWrite, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO club_vouchers (provider_id, pupil_hash, pupil_enc, parent_iin_hash,
            parent_iin_enc, parent_phone_hash, parent_phone_enc, sessions_per_month, source,
            imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (provider_id, pupil_hash) DO NOTHING RETURNING id",
    )
    .bind(provider_id)
    .bind(&v.pupil_hash)
    .bind(&v.pupil_enc)
    .bind(&v.parent_iin_hash)
    .bind(&v.parent_iin_enc)
    .bind(&v.parent_phone_hash)
    .bind(&v.parent_phone_enc)
    .bind(v.sessions_per_month)
    .bind(source)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id,)) = row {
        return Ok(ClubWrite::Inserted(id));
    }
    let stored: (Vec<u8>, Vec<u8>, i64) = sqlx::query_as(
        "SELECT parent_iin_hash, parent_phone_hash, sessions_per_month FROM club_vouchers
         WHERE provider_id = $1 AND pupil_hash = $2",
    )
    .bind(provider_id)
    .bind(&v.pupil_hash)
    .fetch_one(&mut *conn)
    .await?;
    Ok(
        if stored
            == (
                v.parent_iin_hash.clone(),
                v.parent_phone_hash.clone(),
                v.sessions_per_month,
            )
        {
            ClubWrite::Duplicate
        } else {
            ClubWrite::Conflict
        },
    )
}

/// A club voucher with its club.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClubVoucherRow {
    pub id: i64,
    pub provider_id: i64,
    pub club_bin: String,
    pub club_name: String,
    pub pupil_enc: Vec<u8>,
    pub parent_phone_hash: Vec<u8>,
    pub parent_iin_hash: Vec<u8>,
    pub sessions_per_month: i64,
    pub answer: Option<String>,
    pub channel: Option<String>,
    pub chat_id: Option<String>,
}

const SELECT: &str = "SELECT v.id, v.provider_id, p.bin AS club_bin, p.name AS club_name, \
     v.pupil_enc, v.parent_phone_hash, v.parent_iin_hash, v.sessions_per_month, v.answer, \
     v.channel, v.chat_id FROM club_vouchers v JOIN voucher_providers p ON p.id = v.provider_id";

pub async fn voucher(conn: &mut Conn, id: i64) -> Result<Option<ClubVoucherRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ClubVoucherRow>(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE v.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

/// The club vouchers of a parent: by the list's parent phone or (verified) IIN hash.
pub async fn vouchers_of_parent(
    conn: &mut Conn,
    phone_hash: &[u8],
    iin_hash: &[u8],
) -> Result<Vec<ClubVoucherRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ClubVoucherRow>(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE v.parent_phone_hash = $1 OR v.parent_iin_hash = $2 ORDER BY v.id"
        )))
        .bind(phone_hash)
        .bind(iin_hash)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// Records the parent's answer once (and the chat, for notices); `false` when answered.
pub async fn answer(
    conn: &mut Conn,
    id: i64,
    yes: bool,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE club_vouchers SET answer = $1, answered_at = $2, channel = $3, chat_id = $4
         WHERE id = $5 AND answer IS NULL",
    )
    .bind(if yes { "yes" } else { "no" })
    .bind(now_ms)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a session: the next number of the month while it stays within `limit`, at most
/// one a day. `None` when the UNIQUE constraints or the limit refuse it.
#[allow(clippy::too_many_arguments)]
pub async fn insert_session(
    conn: &mut Conn,
    voucher_id: i64,
    month: &str,
    day: &str,
    limit: i64,
    operator: &ChatRef,
    now_ms: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "INSERT INTO club_sessions (voucher_id, month, day, n, at, operator_channel,
            operator_chat_id)
         SELECT $1, $2, $3, COUNT(*) + 1, $4, $5, $6 FROM club_sessions
         WHERE voucher_id = $1 AND month = $2
         HAVING COUNT(*) < $7
         ON CONFLICT DO NOTHING RETURNING id, n",
    )
    .bind(voucher_id)
    .bind(month)
    .bind(day)
    .bind(now_ms)
    .bind(&operator.channel)
    .bind(&operator.chat_id)
    .bind(limit)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Sessions of a voucher in a month, and whether one was on `day` (its time).
pub async fn sessions_in(
    conn: &mut Conn,
    voucher_id: i64,
    month: &str,
    day: &str,
) -> Result<(i64, Option<i64>), StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM club_sessions WHERE voucher_id = $1 AND month = $2")
            .bind(voucher_id)
            .bind(month)
            .fetch_one(&mut *conn)
            .await?;
    let today: Option<(i64,)> =
        sqlx::query_as("SELECT at FROM club_sessions WHERE voucher_id = $1 AND day = $2")
            .bind(voucher_id)
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?;
    Ok((n, today.map(|t| t.0)))
}

/// Gives the club offer `id` the recipient's next short number (the `N` of `N#1`), in the
/// one numbering of the recipient's offers (meal offers' `wallet_offers.number` too).
/// `None` when the offer already has a number.
pub async fn number_offer(
    conn: &mut Conn,
    id: i64,
    to: &ChatRef,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE club_vouchers SET offer_channel = $1, offer_chat_id = $2,
             offer_number = (SELECT COALESCE(MAX(n), 0) + 1 FROM (
                SELECT number AS n FROM wallet_offers WHERE channel = $1 AND chat_id = $2
                UNION ALL
                SELECT offer_number AS n FROM club_vouchers
                WHERE offer_channel = $1 AND offer_chat_id = $2) AS numbers)
         WHERE id = $3 AND offer_number IS NULL RETURNING offer_number",
    )
    .bind(&to.channel)
    .bind(&to.chat_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// The club offer numbered `number` for the recipient `to`.
pub async fn offer_by_number(
    conn: &mut Conn,
    to: &ChatRef,
    number: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM club_vouchers
         WHERE offer_channel = $1 AND offer_chat_id = $2 AND offer_number = $3",
    )
    .bind(&to.channel)
    .bind(&to.chat_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}
