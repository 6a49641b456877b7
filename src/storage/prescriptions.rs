//! Prescriptions at pharmacies (migration 0018): prescriptions and their items, dispensings
//! and disputes. Pharmacies and pharmacists are the voucher engine's providers and
//! operators (`storage::vouchers`); the ledger is `wallet_ledger`. Personal data only as
//! keyed hash + sealed value.

use super::{ChatRef, Conn, StoreError};

// ---------------------------------------------------------------- prescriptions

/// A validated prescription to store.
#[derive(Debug, Clone)]
pub struct NewPrescription {
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub patient_hash: Vec<u8>,
    pub patient_enc: Vec<u8>,
    pub representative_hash: Option<Vec<u8>>,
    pub representative_enc: Option<Vec<u8>>,
    pub prescriber: String,
    pub issued_on: String,
    pub expires_on: String,
    pub kind: &'static str,
    pub patient_share: i64,
    /// `(inn, form, quantity, unit)`.
    pub items: Vec<(String, String, i64, &'static str)>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PrescriptionRow {
    pub id: i64,
    pub external_id: String,
    pub patient_hash: Vec<u8>,
    pub patient_enc: Vec<u8>,
    pub representative_hash: Option<Vec<u8>>,
    pub prescriber: String,
    pub issued_on: String,
    pub expires_on: String,
    pub kind: String,
    pub patient_share: i64,
    pub withdrawn_at: Option<i64>,
    pub seq: i64,
}

const RX_COLUMNS: &str = "id, external_id, patient_hash, patient_enc, representative_hash, \
    prescriber, issued_on, expires_on, kind, patient_share, withdrawn_at, seq";

/// `(id, content_hash, withdrawn_at)` of the prescription with this external id.
pub async fn by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<(i64, Vec<u8>, Option<i64>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, content_hash, withdrawn_at FROM prescriptions WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Inserts a prescription with its items; `None` when its external id is already stored
/// (a simultaneous feed won).
pub async fn insert(
    conn: &mut Conn,
    p: &NewPrescription,
    source: &str,
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO prescriptions (external_id, content_hash, patient_hash, patient_enc,
             representative_hash, representative_enc, prescriber, issued_on, expires_on, kind,
             patient_share, source, api_key_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
    )
    .bind(&p.external_id)
    .bind(&p.content_hash)
    .bind(&p.patient_hash)
    .bind(&p.patient_enc)
    .bind(p.representative_hash.as_deref())
    .bind(p.representative_enc.as_deref())
    .bind(&p.prescriber)
    .bind(&p.issued_on)
    .bind(&p.expires_on)
    .bind(p.kind)
    .bind(p.patient_share)
    .bind(source)
    .bind(api_key_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id,)) = row else {
        return Ok(None);
    };
    for (line, (inn, form, quantity, unit)) in p.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO prescription_items (prescription_id, line, inn, form, quantity, unit)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(line as i64 + 1)
        .bind(inn)
        .bind(form)
        .bind(*quantity)
        .bind(*unit)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(id))
}

/// Withdraws a prescription; false when it already was.
pub async fn withdraw(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "UPDATE prescriptions SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<PrescriptionRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, PrescriptionRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {RX_COLUMNS} FROM prescriptions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

/// The prescriptions of a person as patient or representative, newest first.
pub async fn of_person(
    conn: &mut Conn,
    iin_hash: &[u8],
    limit: i64,
) -> Result<Vec<PrescriptionRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, PrescriptionRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {RX_COLUMNS} FROM prescriptions
         WHERE (patient_hash = $1 OR representative_hash = $1) AND withdrawn_at IS NULL
         ORDER BY issued_on DESC, id DESC LIMIT $2"
        )))
        .bind(iin_hash)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?,
    )
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub line: i64,
    pub inn: String,
    pub form: String,
    pub quantity: i64,
    pub unit: String,
    pub dispensed: i64,
}

impl ItemRow {
    pub fn left(&self) -> i64 {
        self.quantity - self.dispensed
    }
}

pub async fn items(conn: &mut Conn, prescription_id: i64) -> Result<Vec<ItemRow>, StoreError> {
    Ok(sqlx::query_as::<_, ItemRow>(
        "SELECT id, line, inn, form, quantity, unit, dispensed FROM prescription_items
         WHERE prescription_id = $1 ORDER BY line",
    )
    .bind(prescription_id)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- dispensing

/// Takes the prescription's row (locked until commit on PostgreSQL) and its next sequence
/// number; `None` when it is withdrawn (or missing).
pub async fn reserve(conn: &mut Conn, prescription_id: i64) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE prescriptions SET seq = seq + 1 WHERE id = $1 AND withdrawn_at IS NULL
         RETURNING seq",
    )
    .bind(prescription_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Counts `quantity` more of an item as dispensed, only within what is left: false when
/// that would go beyond the prescribed quantity.
pub async fn take_item(
    conn: &mut Conn,
    prescription_id: i64,
    item_id: i64,
    quantity: i64,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "UPDATE prescription_items SET dispensed = dispensed + $1
         WHERE id = $2 AND prescription_id = $3 AND dispensed + $1 <= quantity",
    )
    .bind(quantity)
    .bind(item_id)
    .bind(prescription_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DispensingRow {
    pub id: i64,
    pub prescription_id: i64,
    pub seq: i64,
    pub provider_id: i64,
    pub pharmacy_bin: String,
    pub channel: String,
    pub chat_id: String,
    pub at: i64,
    pub day: String,
}

const DISP_COLUMNS: &str =
    "id, prescription_id, seq, provider_id, pharmacy_bin, channel, chat_id, at, day";

/// Stores a dispensing and its lines `(item id, quantity)`.
pub async fn insert_dispensing(
    conn: &mut Conn,
    d: &DispensingRow,
    lines: &[(i64, i64)],
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO dispensings (prescription_id, seq, provider_id, pharmacy_bin, channel,
             chat_id, at, day)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(d.prescription_id)
    .bind(d.seq)
    .bind(d.provider_id)
    .bind(&d.pharmacy_bin)
    .bind(&d.channel)
    .bind(&d.chat_id)
    .bind(d.at)
    .bind(&d.day)
    .fetch_one(&mut *conn)
    .await?;
    for (item_id, quantity) in lines {
        sqlx::query(
            "INSERT INTO dispensing_lines (dispensing_id, item_id, quantity) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(*item_id)
        .bind(*quantity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

pub async fn dispensing(conn: &mut Conn, id: i64) -> Result<Option<DispensingRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, DispensingRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {DISP_COLUMNS} FROM dispensings WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

pub async fn dispensings_of(
    conn: &mut Conn,
    prescription_id: i64,
) -> Result<Vec<DispensingRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, DispensingRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {DISP_COLUMNS} FROM dispensings WHERE prescription_id = $1 ORDER BY seq"
        )))
        .bind(prescription_id)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// Claims up to `limit` dispensings not chained yet (oldest first; on PostgreSQL their rows
/// stay locked until commit, so a concurrent pass skips or waits for them): marks them
/// `ledger_seq = 0` in this transaction. Returns how many.
pub async fn claim_unchained(conn: &mut Conn, limit: i64) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "UPDATE dispensings SET ledger_seq = 0 WHERE id IN
           (SELECT id FROM dispensings WHERE ledger_seq IS NULL ORDER BY id LIMIT $1)
         AND ledger_seq IS NULL",
    )
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

/// Claims one dispensing for chaining; false when it is chained (or being chained) already.
pub async fn claim_chain(conn: &mut Conn, id: i64) -> Result<bool, StoreError> {
    let r =
        sqlx::query("UPDATE dispensings SET ledger_seq = 0 WHERE id = $1 AND ledger_seq IS NULL")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// One line to chain: `(dispensing id, prescription id, pharmacy BIN, day, at, inn, form,
/// unit, quantity)`.
pub type ChainLine = (i64, i64, String, String, i64, String, String, String, i64);

/// The lines of the dispensings claimed in this transaction, in dispensing and line order.
pub async fn claimed_lines(conn: &mut Conn) -> Result<Vec<ChainLine>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.prescription_id, d.pharmacy_bin, d.day, d.at, i.inn, i.form, i.unit, l.quantity
         FROM dispensings d
         JOIN dispensing_lines l ON l.dispensing_id = d.id
         JOIN prescription_items i ON i.id = l.item_id
         WHERE d.ledger_seq = 0 ORDER BY d.id, i.line",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Records the ledger line by which the claimed dispensings are chained.
pub async fn set_claimed_chained(conn: &mut Conn, ledger_seq: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE dispensings SET ledger_seq = $1 WHERE ledger_seq = 0")
        .bind(ledger_seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `(dispensing_id, inn, form, unit, quantity)` of a dispensing's lines.
pub type LineRow = (i64, String, String, String, i64);

pub async fn lines_of(conn: &mut Conn, dispensing_id: i64) -> Result<Vec<LineRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT l.dispensing_id, i.inn, i.form, i.unit, l.quantity
         FROM dispensing_lines l JOIN prescription_items i ON i.id = l.item_id
         WHERE l.dispensing_id = $1 ORDER BY i.line",
    )
    .bind(dispensing_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// One line of a pharmacy's act, from the ledger's medicine redemptions: `(ledger seq, at,
/// day, prescription external id, kind, patient share, item, quantity, unit)`.
pub type ActLine = (i64, i64, String, String, String, i64, String, i64, String);

/// The medicine redemptions of a pharmacy in the ledger between two local days
/// (inclusive), with their prescriptions' external id, kind and share.
pub async fn act_lines(
    conn: &mut Conn,
    pharmacy_bin: &str,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<ActLine>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT l.seq, l.at, l.day, p.external_id, p.kind, p.patient_share, l.item, l.quantity,
                COALESCE(l.detail, '')
         FROM wallet_ledger l JOIN prescriptions p ON p.id = l.voucher_id
         WHERE l.version = 2 AND l.voucher_kind = 'medicine' AND l.kind = 'redemption'
           AND l.provider_bin = $1 AND l.day >= $2 AND l.day <= $3
         ORDER BY l.seq",
    )
    .bind(pharmacy_bin)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(&mut *conn)
    .await?)
}

/// The chats of the verified people whose IIN hash is one of these, with their language:
/// where a patient's notices go.
pub async fn verified_chats(
    conn: &mut Conn,
    iin_hash: &[u8],
) -> Result<Vec<(ChatRef, Option<String>)>, StoreError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.channel, c.chat_id, c.lang FROM conversations c JOIN people p ON p.id = c.person_id
         WHERE p.iin_hash = $1 AND p.verified_at IS NOT NULL ORDER BY c.channel, c.chat_id",
    )
    .bind(iin_hash)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, chat_id, lang)| (ChatRef { channel, chat_id }, lang))
        .collect())
}

// ---------------------------------------------------------------- disputes

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DisputeRow {
    pub id: i64,
    pub dispensing_id: i64,
    pub channel: String,
    pub chat_id: String,
    pub lang: String,
    pub status: String,
}

/// Opens a dispute; `None` when the dispensing already has one.
pub async fn open_dispute(
    conn: &mut Conn,
    dispensing_id: i64,
    chat: &ChatRef,
    lang: &str,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO prescription_disputes (dispensing_id, channel, chat_id, lang, status, opened_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $5)
         ON CONFLICT (dispensing_id) DO NOTHING RETURNING id",
    )
    .bind(dispensing_id)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(lang)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

pub async fn dispute(conn: &mut Conn, id: i64) -> Result<Option<DisputeRow>, StoreError> {
    Ok(sqlx::query_as::<_, DisputeRow>(
        "SELECT id, dispensing_id, channel, chat_id, lang, status FROM prescription_disputes WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The status of each disputed dispensing of a prescription: `(dispensing_id, status)`.
pub async fn disputes_of(
    conn: &mut Conn,
    prescription_id: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT x.dispensing_id, x.status FROM prescription_disputes x
         JOIN dispensings d ON d.id = x.dispensing_id WHERE d.prescription_id = $1",
    )
    .bind(prescription_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Moves a dispute from one of `from` to `to`; false when it was not in one of them.
pub async fn move_dispute(
    conn: &mut Conn,
    id: i64,
    from: &[&str],
    to: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let (a, b) = (
        from.first().copied().unwrap_or(""),
        from.get(1).copied().unwrap_or(""),
    );
    let r = sqlx::query(
        "UPDATE prescription_disputes SET status = $1, updated_at = $2
         WHERE id = $3 AND status IN ($4, $5)",
    )
    .bind(to)
    .bind(now_ms)
    .bind(id)
    .bind(a)
    .bind(b)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A pharmacy's name by its provider id (empty when it is gone).
pub async fn pharmacy_name(conn: &mut Conn, id: i64) -> Result<String, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM voucher_providers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.0).unwrap_or_default())
}
