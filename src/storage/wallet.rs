//! Social Wallet storage: schools and suppliers, pupils with their eligibility decision,
//! offers, vouchers, meals, ratings, menus, the morning QR, the hash-chained
//! ledger, stored acts and the audit of refusals. Personal data only as keyed hash + sealed
//! value.

use super::{ChatRef, Conn, StoreError};

// ---------------------------------------------------------------- schools and suppliers

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SchoolRow {
    pub id: i64,
    pub bin: String,
    pub name: String,
    pub supplier_bin: Option<String>,
}

const SCHOOL_COLUMNS: &str = "id, bin, name, supplier_bin";

pub async fn school_by_bin(conn: &mut Conn, bin: &str) -> Result<Option<SchoolRow>, StoreError> {
    Ok(sqlx::query_as::<_, SchoolRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHOOL_COLUMNS} FROM wallet_schools WHERE bin = $1"
    )))
    .bind(bin)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn school(conn: &mut Conn, id: i64) -> Result<Option<SchoolRow>, StoreError> {
    Ok(sqlx::query_as::<_, SchoolRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHOOL_COLUMNS} FROM wallet_schools WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The school's id, creating it (named by its BIN) when the lists name it first.
pub async fn ensure_school(conn: &mut Conn, bin: &str, now_ms: i64) -> Result<i64, StoreError> {
    let created = sqlx::query(
        "INSERT INTO wallet_schools (bin, name, created_at) VALUES ($1, $1, $2)
         ON CONFLICT (bin) DO NOTHING",
    )
    .bind(bin)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    if created.rows_affected() == 1 {
        // Its canteen, the provider that redeems the school's meal vouchers.
        super::vouchers::ensure_provider(conn, "canteen", bin, now_ms).await?;
    }
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM wallet_schools WHERE bin = $1")
        .bind(bin)
        .fetch_one(&mut *conn)
        .await?;
    Ok(id)
}

/// Sets a school's name and supplier (creating the school when needed).
pub async fn set_school(
    conn: &mut Conn,
    bin: &str,
    name: &str,
    supplier_bin: Option<&str>,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let id = ensure_school(conn, bin, now_ms).await?;
    sqlx::query(
        "UPDATE wallet_schools SET name = $1, supplier_bin = COALESCE($2, supplier_bin)
         WHERE id = $3",
    )
    .bind(name)
    .bind(supplier_bin)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    super::vouchers::rename_provider(conn, "canteen", bin, name).await?;
    Ok(id)
}

pub async fn set_supplier(
    conn: &mut Conn,
    bin: &str,
    name: &str,
    unit_price: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_suppliers (bin, name, unit_price, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (bin) DO UPDATE SET name = $2, unit_price = $3, updated_at = $4",
    )
    .bind(bin)
    .bind(name)
    .bind(unit_price)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `(name, unit price in tiyn)` of a supplier.
pub async fn supplier(conn: &mut Conn, bin: &str) -> Result<Option<(String, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, unit_price FROM wallet_suppliers WHERE bin = $1")
            .bind(bin)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------- pupils

/// A validated row of a state list.
#[derive(Clone, PartialEq)]
pub struct NewPupil {
    pub school_year: i64,
    pub pupil_hash: Vec<u8>,
    pub pupil_enc: Vec<u8>,
    pub school_bin: String,
    pub grade: i64,
    pub parent_iin_hash: Vec<u8>,
    pub parent_iin_enc: Vec<u8>,
    pub parent_phone_hash: Vec<u8>,
    pub parent_phone_enc: Vec<u8>,
    pub social_assistance: bool,
    pub eligible: bool,
    pub rule: &'static str,
}

impl std::fmt::Debug for NewPupil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewPupil(grade {}, rule {})", self.grade, self.rule)
    }
}

/// What became of one pupil row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PupilWrite {
    Inserted,
    /// Already stored with the same content.
    Duplicate,
    /// Already stored for this school year with different content.
    Conflict,
}

pub async fn insert_pupil(
    conn: &mut Conn,
    p: &NewPupil,
    source: &str,
    now_ms: i64,
) -> Result<PupilWrite, StoreError> {
    let school_id = ensure_school(conn, &p.school_bin, now_ms).await?;
    let done = sqlx::query(
        "INSERT INTO wallet_pupils (school_year, pupil_hash, pupil_enc, school_id, grade,
            parent_iin_hash, parent_iin_enc, parent_phone_hash, parent_phone_enc,
            social_assistance, eligible, rule, source, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (pupil_hash, school_year) DO NOTHING",
    )
    .bind(p.school_year)
    .bind(&p.pupil_hash)
    .bind(&p.pupil_enc)
    .bind(school_id)
    .bind(p.grade)
    .bind(&p.parent_iin_hash)
    .bind(&p.parent_iin_enc)
    .bind(&p.parent_phone_hash)
    .bind(&p.parent_phone_enc)
    .bind(i64::from(p.social_assistance))
    .bind(i64::from(p.eligible))
    .bind(p.rule)
    .bind(source)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(PupilWrite::Inserted);
    }
    let stored: (i64, i64, Vec<u8>, Vec<u8>, i64) = sqlx::query_as(
        "SELECT school_id, grade, parent_iin_hash, parent_phone_hash, social_assistance
         FROM wallet_pupils WHERE pupil_hash = $1 AND school_year = $2",
    )
    .bind(&p.pupil_hash)
    .bind(p.school_year)
    .fetch_one(&mut *conn)
    .await?;
    let same = stored
        == (
            school_id,
            p.grade,
            p.parent_iin_hash.clone(),
            p.parent_phone_hash.clone(),
            i64::from(p.social_assistance),
        );
    Ok(if same {
        PupilWrite::Duplicate
    } else {
        PupilWrite::Conflict
    })
}

/// A pupil as the offer campaign and the vouchers need it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PupilRow {
    pub id: i64,
    pub school_year: i64,
    pub pupil_enc: Vec<u8>,
    pub school_id: i64,
    pub grade: i64,
    pub parent_phone_hash: Vec<u8>,
    pub parent_phone_enc: Vec<u8>,
    pub eligible: i64,
    pub rule: String,
}

const PUPIL_COLUMNS: &str = "p.id, p.school_year, p.pupil_enc, p.school_id, p.grade, \
     p.parent_phone_hash, p.parent_phone_enc, p.eligible, p.rule";

pub async fn pupil(conn: &mut Conn, id: i64) -> Result<Option<PupilRow>, StoreError> {
    Ok(sqlx::query_as::<_, PupilRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {PUPIL_COLUMNS} FROM wallet_pupils p WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Eligible pupils of a school year without an offer yet (all schools when `school_id` is
/// `None`), lowest id first.
pub async fn pupils_to_offer(
    conn: &mut Conn,
    school_year: i64,
    school_id: Option<i64>,
    limit: i64,
) -> Result<Vec<PupilRow>, StoreError> {
    Ok(sqlx::query_as::<_, PupilRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {PUPIL_COLUMNS} FROM wallet_pupils p
         WHERE p.school_year = $1 AND p.eligible = 1 AND ($2 = 0 OR p.school_id = $3)
           AND NOT EXISTS (SELECT 1 FROM wallet_offers o WHERE o.pupil_id = p.id)
         ORDER BY p.id LIMIT $4"
    )))
    .bind(school_year)
    .bind(i64::from(school_id.is_some()))
    .bind(school_id.unwrap_or(0))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn count_to_offer(
    conn: &mut Conn,
    school_year: i64,
    school_id: Option<i64>,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM wallet_pupils p
         WHERE p.school_year = $1 AND p.eligible = 1 AND ($2 = 0 OR p.school_id = $3)
           AND NOT EXISTS (SELECT 1 FROM wallet_offers o WHERE o.pupil_id = p.id)",
    )
    .bind(school_year)
    .bind(i64::from(school_id.is_some()))
    .bind(school_id.unwrap_or(0))
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// The most recent chat of a registered person with this phone hash, with its language.
pub async fn chat_of_phone(
    conn: &mut Conn,
    phone_hash: &[u8],
) -> Result<Option<(ChatRef, Option<String>)>, StoreError> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.channel, c.chat_id, c.lang FROM people p
         JOIN conversations c ON c.person_id = p.id
         WHERE p.phone_hash = $1 AND p.registered_at IS NOT NULL
         ORDER BY c.updated_at DESC LIMIT 1",
    )
    .bind(phone_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(channel, chat_id, lang)| (ChatRef { channel, chat_id }, lang)))
}

/// Remembers the sealed number of an SMS chat (no-op when known).
pub async fn put_sms_number(
    conn: &mut Conn,
    chat_id: &str,
    phone_enc: &[u8],
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sms_numbers (chat_id, phone_enc, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_id) DO NOTHING",
    )
    .bind(chat_id)
    .bind(phone_enc)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn sms_number(conn: &mut Conn, chat_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT phone_enc FROM sms_numbers WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|r| r.0))
}

// ---------------------------------------------------------------- offers

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OfferRow {
    pub id: i64,
    pub pupil_id: i64,
    pub number: i64,
    pub channel: String,
    pub chat_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub answer: Option<String>,
}

/// Creates the offer of a pupil with the next short number of the recipient (one numbering
/// with club offers by SMS, `clubs::number_offer`); `None` when the
/// pupil already has one.
pub async fn insert_offer(
    conn: &mut Conn,
    pupil_id: i64,
    to: &ChatRef,
    now_ms: i64,
    expires_ms: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "INSERT INTO wallet_offers (pupil_id, number, channel, chat_id, created_at, expires_at)
         SELECT $1, (SELECT COALESCE(MAX(n), 0) + 1 FROM (
                SELECT number AS n FROM wallet_offers WHERE channel = $2 AND chat_id = $3
                UNION ALL
                SELECT offer_number AS n FROM club_vouchers
                WHERE offer_channel = $2 AND offer_chat_id = $3) AS numbers),
             $2, $3, $4, $5
         WHERE TRUE
         ON CONFLICT (pupil_id) DO NOTHING RETURNING id, number",
    )
    .bind(pupil_id)
    .bind(&to.channel)
    .bind(&to.chat_id)
    .bind(now_ms)
    .bind(expires_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

pub async fn offer_by_number(
    conn: &mut Conn,
    to: &ChatRef,
    number: i64,
) -> Result<Option<OfferRow>, StoreError> {
    Ok(sqlx::query_as::<_, OfferRow>(
        "SELECT id, pupil_id, number, channel, chat_id, created_at, expires_at, answer
         FROM wallet_offers WHERE channel = $1 AND chat_id = $2 AND number = $3",
    )
    .bind(&to.channel)
    .bind(&to.chat_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records the answer once; `false` when the offer was already answered.
pub async fn answer_offer(
    conn: &mut Conn,
    offer_id: i64,
    answer: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE wallet_offers SET answer = $1, answered_at = $2 WHERE id = $3 AND answer IS NULL",
    )
    .bind(answer)
    .bind(now_ms)
    .bind(offer_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- vouchers

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VoucherRow {
    pub id: i64,
    pub pupil_id: i64,
    pub school_id: i64,
    pub channel: String,
    pub chat_id: String,
    pub opened_at: i64,
    pub valid_until: i64,
    pub activated_at: Option<i64>,
    pub generation: i64,
    pub revoked_at: Option<i64>,
    pub grade: i64,
    pub pupil_enc: Vec<u8>,
    pub school_bin: String,
    pub school_name: String,
    pub supplier_bin: Option<String>,
    /// The parent asked for the QR each school morning.
    pub morning_qr: i64,
}

const VOUCHER_SELECT: &str = "SELECT v.id, v.pupil_id, v.school_id, v.channel, v.chat_id, \
     v.opened_at, v.valid_until, v.activated_at, v.generation, v.revoked_at, p.grade, \
     p.pupil_enc, s.bin AS school_bin, s.name AS school_name, s.supplier_bin, v.morning_qr \
     FROM wallet_vouchers v JOIN wallet_pupils p ON p.id = v.pupil_id \
     JOIN wallet_schools s ON s.id = v.school_id";

pub async fn insert_voucher(
    conn: &mut Conn,
    offer: &OfferRow,
    school_id: i64,
    now_ms: i64,
    valid_until: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO wallet_vouchers (pupil_id, offer_id, school_id, channel, chat_id,
            opened_at, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(offer.pupil_id)
    .bind(offer.id)
    .bind(school_id)
    .bind(&offer.channel)
    .bind(&offer.chat_id)
    .bind(now_ms)
    .bind(valid_until)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn voucher(conn: &mut Conn, id: i64) -> Result<Option<VoucherRow>, StoreError> {
    Ok(sqlx::query_as::<_, VoucherRow>(sqlx::AssertSqlSafe(format!(
        "{VOUCHER_SELECT} WHERE v.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The vouchers a registered parent may see: the pupils whose parent has this phone or
/// IIN hash, or vouchers already activated in this chat.
/// Only by the list's parent phone or parent IIN: a chat that activated a voucher keeps no
/// access of its own once its person no longer matches (issue 15 item 3).
/// Each hash is given as stored and in its current key version (`Vault::current_form`; the
/// same twice outside a key rotation).
pub async fn vouchers_of_parent(
    conn: &mut Conn,
    phone_hash: (&[u8], &[u8]),
    iin_hash: (&[u8], &[u8]),
) -> Result<Vec<VoucherRow>, StoreError> {
    Ok(sqlx::query_as::<_, VoucherRow>(sqlx::AssertSqlSafe(format!(
        "{VOUCHER_SELECT} WHERE p.parent_phone_hash IN ($1, $3) OR p.parent_iin_hash IN ($2, $4)
         ORDER BY v.id"
    )))
    .bind(phone_hash.0)
    .bind(iin_hash.0)
    .bind(phone_hash.1)
    .bind(iin_hash.1)
    .fetch_all(&mut *conn)
    .await?)
}

/// Activates a voucher in a chat (its notices go there from now on).
pub async fn activate_voucher(
    conn: &mut Conn,
    id: i64,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE wallet_vouchers SET activated_at = $1, channel = $2, chat_id = $3
         WHERE id = $4 AND activated_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A new QR generation: every earlier code of the voucher stops working.
pub async fn reissue_voucher(conn: &mut Conn, id: i64) -> Result<i64, StoreError> {
    let (generation,): (i64,) = sqlx::query_as(
        "UPDATE wallet_vouchers SET generation = generation + 1 WHERE id = $1 RETURNING generation",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(generation)
}

/// Revokes a voucher for good; `false` when it already was.
pub async fn revoke_voucher(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE wallet_vouchers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- meals, menus, ratings

/// Records a meal; `None` when the pupil already ate that day (the UNIQUE constraint
/// decides, also between simultaneous redemptions).
#[allow(clippy::too_many_arguments)]
pub async fn insert_meal(
    conn: &mut Conn,
    voucher_id: i64,
    pupil_id: i64,
    school_id: i64,
    day: &str,
    operator: &ChatRef,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO wallet_meals (voucher_id, pupil_id, school_id, day, served_at,
            operator_channel, operator_chat_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (pupil_id, day) DO NOTHING RETURNING id",
    )
    .bind(voucher_id)
    .bind(pupil_id)
    .bind(school_id)
    .bind(day)
    .bind(now_ms)
    .bind(&operator.channel)
    .bind(&operator.chat_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// When the pupil ate that day, if they did.
pub async fn meal_time(
    conn: &mut Conn,
    pupil_id: i64,
    day: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT served_at FROM wallet_meals WHERE pupil_id = $1 AND day = $2")
            .bind(pupil_id)
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|r| r.0))
}

/// A meal with its school, menu and rating, for parents.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MealView {
    pub id: i64,
    pub voucher_id: i64,
    pub day: String,
    pub served_at: i64,
    pub school_name: String,
    pub menu: Option<String>,
    pub rating: Option<i64>,
    pub channel: String,
    pub chat_id: String,
}

const MEAL_SELECT: &str = "SELECT m.id, m.voucher_id, m.day, m.served_at, s.name AS school_name, \
     mn.text AS menu, r.rating, v.channel, v.chat_id FROM wallet_meals m \
     JOIN wallet_vouchers v ON v.id = m.voucher_id \
     JOIN wallet_schools s ON s.id = m.school_id \
     LEFT JOIN wallet_menus mn ON mn.school_id = m.school_id AND mn.day = m.day \
     LEFT JOIN wallet_ratings r ON r.meal_id = m.id";

pub async fn meal(conn: &mut Conn, id: i64) -> Result<Option<MealView>, StoreError> {
    Ok(sqlx::query_as::<_, MealView>(sqlx::AssertSqlSafe(format!(
        "{MEAL_SELECT} WHERE m.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Meals of the vouchers activated in a chat, days from `from_day` to `to_day` inclusive.
pub async fn meals_of_chat(
    conn: &mut Conn,
    chat: &ChatRef,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<MealView>, StoreError> {
    Ok(sqlx::query_as::<_, MealView>(sqlx::AssertSqlSafe(format!(
        "{MEAL_SELECT} WHERE v.channel = $1 AND v.chat_id = $2 AND m.day >= $3 AND m.day <= $4
         ORDER BY m.served_at, m.id"
    )))
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(&mut *conn)
    .await?)
}

/// Records a rating once; `false` when the meal was already rated.
pub async fn rate_meal(
    conn: &mut Conn,
    meal_id: i64,
    rating: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO wallet_ratings (meal_id, rating, rated_at) VALUES ($1, $2, $3)
         ON CONFLICT (meal_id) DO NOTHING",
    )
    .bind(meal_id)
    .bind(rating)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn comment_meal(conn: &mut Conn, meal_id: i64, comment: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE wallet_ratings SET comment = $1 WHERE meal_id = $2 AND comment IS NULL")
        .bind(comment)
        .bind(meal_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `(rating, comment)` of a meal.
pub async fn rating(
    conn: &mut Conn,
    meal_id: i64,
) -> Result<Option<(i64, Option<String>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT rating, comment FROM wallet_ratings WHERE meal_id = $1")
            .bind(meal_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn set_menu(
    conn: &mut Conn,
    school_id: i64,
    day: &str,
    text: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_menus (school_id, day, text, set_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (school_id, day) DO UPDATE SET text = $3, set_at = $4",
    )
    .bind(school_id)
    .bind(day)
    .bind(text)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn menu(
    conn: &mut Conn,
    school_id: i64,
    day: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT text FROM wallet_menus WHERE school_id = $1 AND day = $2")
            .bind(school_id)
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|r| r.0))
}

// ---------------------------------------------------------------- canteens

// A school's canteen is a provider of kind `canteen` of the voucher engine
// (`storage::vouchers`, migration 0017), found by the school's BIN; its operators and
// invites are the engine's.

/// The canteen provider of a school (created with the school, named like it).
pub async fn canteen_provider(
    conn: &mut Conn,
    school: &SchoolRow,
    now_ms: i64,
) -> Result<i64, StoreError> {
    super::vouchers::ensure_provider(conn, "canteen", &school.bin, now_ms).await
}

/// The schools where a chat is a canteen operator, most recently joined first.
pub async fn canteen_schools(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Vec<SchoolRow>, StoreError> {
    Ok(sqlx::query_as::<_, SchoolRow>(
        "SELECT s.id, s.bin, s.name, s.supplier_bin FROM provider_staff c
         JOIN voucher_providers p ON p.id = c.provider_id AND p.kind = 'canteen'
         JOIN wallet_schools s ON s.bin = p.bin
         WHERE c.channel = $1 AND c.chat_id = $2 AND c.removed_at IS NULL
         ORDER BY c.added_at DESC, c.id DESC",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- the morning QR

/// Sets a voucher's morning-QR opt-in.
pub async fn set_morning_qr(conn: &mut Conn, id: i64, on: bool) -> Result<(), StoreError> {
    sqlx::query("UPDATE wallet_vouchers SET morning_qr = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Active opted-in vouchers not yet given their morning QR on `day`, lowest id first.
pub async fn morning_due(
    conn: &mut Conn,
    day: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<VoucherRow>, StoreError> {
    Ok(sqlx::query_as::<_, VoucherRow>(sqlx::AssertSqlSafe(format!(
        "{VOUCHER_SELECT} WHERE v.morning_qr = 1 AND v.activated_at IS NOT NULL
           AND v.revoked_at IS NULL AND v.valid_until > $1
           AND (v.morning_sent_day IS NULL OR v.morning_sent_day <> $2)
         ORDER BY v.id LIMIT $3"
    )))
    .bind(now_ms)
    .bind(day)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Claims a voucher's morning QR of `day` once: `false` when it was already claimed.
pub async fn claim_morning(conn: &mut Conn, id: i64, day: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE wallet_vouchers SET morning_sent_day = $1
         WHERE id = $2 AND (morning_sent_day IS NULL OR morning_sent_day <> $1)",
    )
    .bind(day)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- audit

/// One refused (or notable) action.
#[derive(Debug, Clone, Default)]
pub struct Audit<'a> {
    pub action: &'a str,
    pub outcome: &'a str,
    pub chat: Option<&'a ChatRef>,
    pub offer_id: Option<i64>,
    pub voucher_id: Option<i64>,
    pub school_id: Option<i64>,
}

pub async fn audit(conn: &mut Conn, a: &Audit<'_>, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_audit (at, action, outcome, channel, chat_id, offer_id, voucher_id,
            school_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(now_ms)
    .bind(a.action)
    .bind(a.outcome)
    .bind(a.chat.map(|c| c.channel.clone()))
    .bind(a.chat.map(|c| c.chat_id.clone()))
    .bind(a.offer_id)
    .bind(a.voucher_id)
    .bind(a.school_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- ledger

/// One ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub voucher_id: Option<i64>,
    pub offer_id: Option<i64>,
    pub pupil_id: Option<i64>,
    pub meal_id: Option<i64>,
    pub school_bin: Option<String>,
    pub supplier_bin: Option<String>,
    pub day: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// 1: the meal kind's line (every row before the engine, and meals since); 2: a line
    /// that names the voucher kind and covers the columns below (migration 0016).
    pub version: i64,
    pub voucher_kind: Option<String>,
    pub provider_bin: Option<String>,
    pub subject_id: Option<i64>,
    pub redemption_id: Option<i64>,
    pub item: Option<String>,
    pub quantity: Option<i64>,
    pub amount: Option<i64>,
    pub detail: Option<String>,
}

/// Takes the next sequence number and the previous hash. On PostgreSQL the UPDATE locks
/// the one head row until the transaction ends, so appends are serialised and the chain
/// never forks; SQLite's write transactions are serial anyway.
pub async fn ledger_reserve(conn: &mut Conn) -> Result<(i64, Vec<u8>), StoreError> {
    Ok(sqlx::query_as(
        "UPDATE wallet_ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn ledger_insert(conn: &mut Conn, row: &LedgerRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_ledger (seq, at, kind, voucher_id, offer_id, pupil_id, meal_id,
            school_bin, supplier_bin, day, prev_hash, hash, version, voucher_kind,
            provider_bin, subject_id, redemption_id, item, quantity, amount, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21)",
    )
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.kind)
    .bind(row.voucher_id)
    .bind(row.offer_id)
    .bind(row.pupil_id)
    .bind(row.meal_id)
    .bind(&row.school_bin)
    .bind(&row.supplier_bin)
    .bind(&row.day)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .bind(row.version)
    .bind(&row.voucher_kind)
    .bind(&row.provider_bin)
    .bind(row.subject_id)
    .bind(row.redemption_id)
    .bind(&row.item)
    .bind(row.quantity)
    .bind(row.amount)
    .bind(&row.detail)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE wallet_ledger_head SET hash = $1 WHERE id = 1")
        .bind(&row.hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const LEDGER_COLUMNS: &str = "seq, at, kind, voucher_id, offer_id, pupil_id, meal_id, \
     school_bin, supplier_bin, day, prev_hash, hash, version, voucher_kind, provider_bin, \
     subject_id, redemption_id, item, quantity, amount, detail";

/// Entries with `seq > after`, in order, at most `limit`.
pub async fn ledger_page(
    conn: &mut Conn,
    after: i64,
    limit: i64,
) -> Result<Vec<LedgerRow>, StoreError> {
    Ok(sqlx::query_as::<_, LedgerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LEDGER_COLUMNS} FROM wallet_ledger WHERE seq > $1 ORDER BY seq LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// `(seq, hash)` of the head.
pub async fn ledger_head(conn: &mut Conn) -> Result<(i64, Vec<u8>), StoreError> {
    Ok(
        sqlx::query_as("SELECT seq, hash FROM wallet_ledger_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Redemptions of a supplier in a month (`YYYY-MM`): `(school_bin, day, meals)`.
pub async fn ledger_meals_by_school_day(
    conn: &mut Conn,
    supplier_bin: &str,
    month: &str,
    up_to_seq: i64,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT school_bin, day, COUNT(*) FROM wallet_ledger
         WHERE kind = 'redemption' AND supplier_bin = $1 AND day >= $2 AND day <= $3
           AND seq <= $4 AND COALESCE(voucher_kind, 'meal') = 'meal'
         GROUP BY school_bin, day ORDER BY school_bin, day",
    )
    .bind(supplier_bin)
    .bind(format!("{month}-01"))
    .bind(format!("{month}-31"))
    .bind(up_to_seq)
    .fetch_all(&mut *conn)
    .await?)
}

/// Entries of one voucher kind, action and provider with `from_day <= day <= to_day` and
/// `seq <= up_to_seq`, in order: what a kind's act is computed from. Meal entries (version
/// 1) have no `voucher_kind` and count as `meal`.
pub async fn ledger_entries_of(
    conn: &mut Conn,
    voucher_kind: &str,
    action: &str,
    provider_bin: &str,
    days: (&str, &str),
    up_to_seq: i64,
) -> Result<Vec<LedgerRow>, StoreError> {
    Ok(sqlx::query_as::<_, LedgerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LEDGER_COLUMNS} FROM wallet_ledger
         WHERE COALESCE(voucher_kind, 'meal') = $1 AND kind = $2
           AND COALESCE(provider_bin, school_bin) = $3 AND day >= $4 AND day <= $5
           AND seq <= $6
         ORDER BY seq"
    )))
    .bind(voucher_kind)
    .bind(action)
    .bind(provider_bin)
    .bind(days.0)
    .bind(days.1)
    .bind(up_to_seq)
    .fetch_all(&mut *conn)
    .await?)
}

/// Entries with `from_ms <= at < to_ms`, in order, at most `limit` after `after_seq` (the
/// audit export pages through them).
pub async fn ledger_between(
    conn: &mut Conn,
    from_ms: i64,
    to_ms: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<LedgerRow>, StoreError> {
    Ok(sqlx::query_as::<_, LedgerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LEDGER_COLUMNS} FROM wallet_ledger
         WHERE at >= $1 AND at < $2 AND seq > $3 ORDER BY seq LIMIT $4"
    )))
    .bind(from_ms)
    .bind(to_ms)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

impl Default for LedgerRow {
    /// An empty version-1 row (the version is never 0).
    fn default() -> Self {
        Self {
            seq: 0,
            at: 0,
            kind: String::new(),
            voucher_id: None,
            offer_id: None,
            pupil_id: None,
            meal_id: None,
            school_bin: None,
            supplier_bin: None,
            day: None,
            prev_hash: Vec::new(),
            hash: Vec::new(),
            version: 1,
            voucher_kind: None,
            provider_bin: None,
            subject_id: None,
            redemption_id: None,
            item: None,
            quantity: None,
            amount: None,
            detail: None,
        }
    }
}

// ---------------------------------------------------------------- the audit export

/// A ledger entry with the chats that acted in it, for the audit export: the canteen
/// operator of a meal, the recipient of an offer, the chat of a voucher.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerActorRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub version: i64,
    pub voucher_kind: Option<String>,
    pub voucher_id: Option<i64>,
    pub offer_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub redemption_id: Option<i64>,
    pub provider_bin: Option<String>,
    pub supplier_bin: Option<String>,
    pub day: Option<String>,
    pub item: Option<String>,
    pub quantity: Option<i64>,
    pub amount: Option<i64>,
    pub meal_channel: Option<String>,
    pub meal_chat: Option<String>,
    pub offer_channel: Option<String>,
    pub offer_chat: Option<String>,
    pub voucher_channel: Option<String>,
    pub voucher_chat: Option<String>,
}

/// Ledger entries with `from_ms <= at < to_ms` after `after_seq`, at most `limit`, with
/// their actors (meal kind: joined from meals, offers, vouchers).
pub async fn ledger_actors_between(
    conn: &mut Conn,
    from_ms: i64,
    to_ms: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<LedgerActorRow>, StoreError> {
    Ok(sqlx::query_as::<_, LedgerActorRow>(
        "SELECT l.seq, l.at, l.kind, l.version, l.voucher_kind, l.voucher_id, l.offer_id,
            COALESCE(l.subject_id, l.pupil_id) AS subject_id,
            COALESCE(l.redemption_id, l.meal_id) AS redemption_id,
            COALESCE(l.provider_bin, l.school_bin) AS provider_bin, l.supplier_bin, l.day,
            l.item, l.quantity, l.amount,
            m.operator_channel AS meal_channel, m.operator_chat_id AS meal_chat,
            o.channel AS offer_channel, o.chat_id AS offer_chat,
            v.channel AS voucher_channel, v.chat_id AS voucher_chat
         FROM wallet_ledger l
         LEFT JOIN wallet_meals m ON l.version = 1 AND m.id = l.meal_id
         LEFT JOIN wallet_offers o ON l.version = 1 AND o.id = l.offer_id
         LEFT JOIN wallet_vouchers v ON l.version = 1 AND v.id = l.voucher_id
         WHERE l.at >= $1 AND l.at < $2 AND l.seq > $3
         ORDER BY l.seq LIMIT $4",
    )
    .bind(from_ms)
    .bind(to_ms)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A line of `wallet_audit` (refusals and other notable actions).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub outcome: String,
    pub channel: Option<String>,
    pub chat_id: Option<String>,
    pub offer_id: Option<i64>,
    pub voucher_id: Option<i64>,
    pub school_bin: Option<String>,
}

/// Audit lines with `from_ms <= at < to_ms` after `after_id`, at most `limit`.
pub async fn audit_between(
    conn: &mut Conn,
    from_ms: i64,
    to_ms: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(sqlx::query_as::<_, AuditRow>(
        "SELECT a.id, a.at, a.action, a.outcome, a.channel, a.chat_id, a.offer_id,
            a.voucher_id, s.bin AS school_bin
         FROM wallet_audit a LEFT JOIN wallet_schools s ON s.id = a.school_id
         WHERE a.at >= $1 AND a.at < $2 AND a.id > $3
         ORDER BY a.id LIMIT $4",
    )
    .bind(from_ms)
    .bind(to_ms)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- acts

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActRow {
    pub csv: String,
    pub html: String,
    pub sha256: Vec<u8>,
    pub ledger_seq: i64,
    pub created_at: i64,
}

pub async fn act(
    conn: &mut Conn,
    supplier_bin: &str,
    month: &str,
) -> Result<Option<ActRow>, StoreError> {
    Ok(sqlx::query_as::<_, ActRow>(
        "SELECT csv, html, sha256, ledger_seq, created_at FROM wallet_acts
         WHERE supplier_bin = $1 AND month = $2",
    )
    .bind(supplier_bin)
    .bind(month)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Stores an act once; a concurrent first store wins and this one is dropped.
pub async fn store_act(
    conn: &mut Conn,
    supplier_bin: &str,
    month: &str,
    act: &ActRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_acts (supplier_bin, month, csv, html, sha256, ledger_seq, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (supplier_bin, month) DO NOTHING",
    )
    .bind(supplier_bin)
    .bind(month)
    .bind(&act.csv)
    .bind(&act.html)
    .bind(&act.sha256)
    .bind(act.ledger_seq)
    .bind(act.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
