//! Business applications, the test week, business roles (monitoring groups, authorities),
//! violations and suspensions (migration 0008).

use super::{ChatRef, Conn, StoreError};

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    pub chat: &'a ChatRef,
    pub person_id: Option<i64>,
    pub lang: &'a str,
    pub bin: &'a str,
    pub legal_name: &'a str,
    pub address: &'a str,
    pub address_key: &'a str,
    pub lat_e6: Option<i64>,
    pub lon_e6: Option<i64>,
    pub region: &'a str,
    pub oked: &'a str,
    pub category: &'a str,
    pub association: Option<&'a str>,
    pub entrances: i64,
    pub max_stay_ms: i64,
    pub status: &'a str,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ApplicationRow {
    pub id: i64,
    pub channel: String,
    pub chat_id: String,
    pub person_id: Option<i64>,
    pub lang: String,
    pub bin: String,
    pub legal_name: String,
    pub address: String,
    pub lat_e6: Option<i64>,
    pub lon_e6: Option<i64>,
    pub region: String,
    pub oked: String,
    pub category: String,
    pub association: Option<String>,
    pub entrances: i64,
    pub max_stay_ms: i64,
    pub status: String,
    pub created_at: i64,
    pub preapproved_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub venue_id: Option<i64>,
}

impl ApplicationRow {
    pub fn chat(&self) -> ChatRef {
        ChatRef::new(&self.channel, self.chat_id.clone())
    }
}

const APP_COLS: &str = "id, channel, chat_id, person_id, lang, bin, legal_name, address, lat_e6, \
    lon_e6, region, oked, category, association, entrances, max_stay_ms, status, created_at, \
    preapproved_at, decided_at, decided_by, reason, venue_id";

/// Whether a live (not rejected) application exists for this BIN and address.
pub async fn live_application(
    conn: &mut Conn,
    bin: &str,
    address_key: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM business_applications
         WHERE bin = $1 AND address_key = $2 AND status <> 'rejected'",
    )
    .bind(bin)
    .bind(address_key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Inserts an application; `None` when a live one exists for the same BIN and address.
pub async fn insert_application(
    conn: &mut Conn,
    a: &NewApplication<'_>,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO business_applications (channel, chat_id, person_id, lang, bin, legal_name,
            address, address_key, lat_e6, lon_e6, region, oked, category, association,
            entrances, max_stay_ms, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (bin, address_key) WHERE status <> 'rejected' DO NOTHING
         RETURNING id",
    )
    .bind(&a.chat.channel)
    .bind(&a.chat.chat_id)
    .bind(a.person_id)
    .bind(a.lang)
    .bind(a.bin)
    .bind(a.legal_name)
    .bind(a.address)
    .bind(a.address_key)
    .bind(a.lat_e6)
    .bind(a.lon_e6)
    .bind(a.region)
    .bind(a.oked)
    .bind(a.category)
    .bind(a.association)
    .bind(a.entrances)
    .bind(a.max_stay_ms)
    .bind(a.status)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

pub async fn application(conn: &mut Conn, id: i64) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ApplicationRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLS} FROM business_applications WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

/// Applications, oldest first; only those in `status` when given.
pub async fn applications(
    conn: &mut Conn,
    status: Option<&str>,
) -> Result<Vec<ApplicationRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ApplicationRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLS} FROM business_applications
         WHERE $1 = '' OR status = $1 ORDER BY id"
        )))
        .bind(status.unwrap_or(""))
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// Applications of a BIN (a venue's history), oldest first.
pub async fn applications_of_bin(
    conn: &mut Conn,
    bin: &str,
) -> Result<Vec<ApplicationRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ApplicationRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLS} FROM business_applications WHERE bin = $1 ORDER BY id"
        )))
        .bind(bin)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// Moves an application from `from` to `to` (once: `false` when it was not in `from`).
pub async fn transition(
    conn: &mut Conn,
    id: i64,
    from: &str,
    to: &str,
    by: &str,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let preapproval = i64::from(from == "association" && to == "pending");
    let done = sqlx::query(
        "UPDATE business_applications
         SET status = $1,
             preapproved_at = CASE WHEN $2 = 1 THEN $3 ELSE preapproved_at END,
             decided_at = CASE WHEN $2 = 1 THEN decided_at ELSE $3 END,
             decided_by = $4, reason = $5
         WHERE id = $6 AND status = $7",
    )
    .bind(to)
    .bind(preapproval)
    .bind(now_ms)
    .bind(by)
    .bind(reason)
    .bind(id)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_application_venue(
    conn: &mut Conn,
    id: i64,
    venue_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE business_applications SET venue_id = $1 WHERE id = $2")
        .bind(venue_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- venues of businesses

/// Admitted and refused attempts at a venue since `since_ms` (test ones included).
pub async fn attempt_counts(
    conn: &mut Conn,
    venue_id: i64,
    since_ms: i64,
) -> Result<(i64, i64), StoreError> {
    let (admitted, total): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(CASE WHEN admitted = 1 THEN 1 END), COUNT(*) FROM checkins
         WHERE venue_id = $1 AND entered_at >= $2",
    )
    .bind(venue_id)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok((admitted, total - admitted))
}

/// Entry times of admitted visits at a venue since `since_ms` (nothing else).
pub async fn entry_times(
    conn: &mut Conn,
    venue_id: i64,
    since_ms: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT entered_at FROM checkins WHERE venue_id = $1 AND admitted = 1 AND entered_at >= $2",
    )
    .bind(venue_id)
    .bind(since_ms)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// One venue of a region with how many are inside now.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Occupancy {
    pub venue_id: i64,
    pub name: String,
    pub address: String,
    pub region: String,
    pub category: String,
    pub inside_now: i64,
    pub test_until: Option<i64>,
    pub suspended_until: Option<i64>,
}

/// Occupancy of every active venue of a region (every region with `None`).
pub async fn occupancy_by_region(
    conn: &mut Conn,
    region: Option<&str>,
) -> Result<Vec<Occupancy>, StoreError> {
    Ok(sqlx::query_as::<_, Occupancy>(
        "SELECT v.id AS venue_id, v.name, v.address, v.region, v.category,
                (SELECT COUNT(*) FROM checkins c
                 WHERE c.venue_id = v.id AND c.admitted = 1 AND c.left_at IS NULL) AS inside_now,
                v.test_until, v.suspended_until
         FROM venues v WHERE v.revoked_at IS NULL AND ($1 = '' OR v.region = $1)
         ORDER BY v.region, v.name, v.id",
    )
    .bind(region.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- roles

pub const ROLES: [&str; 2] = ["monitor", "authority"];

/// Grants a role to a chat (again: updates its region).
pub async fn grant_role(
    conn: &mut Conn,
    role: &str,
    chat: &ChatRef,
    region: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE business_roles SET removed_at = $1
         WHERE role = $2 AND channel = $3 AND chat_id = $4 AND removed_at IS NULL",
    )
    .bind(now_ms)
    .bind(role)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO business_roles (role, channel, chat_id, region, added_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(role)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(region)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn revoke_role(
    conn: &mut Conn,
    role: &str,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE business_roles SET removed_at = $1
         WHERE role = $2 AND channel = $3 AND chat_id = $4 AND removed_at IS NULL",
    )
    .bind(now_ms)
    .bind(role)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The chat's active role: `Some(region)` (the region may be `None`: every region).
pub async fn role_of(
    conn: &mut Conn,
    role: &str,
    chat: &ChatRef,
) -> Result<Option<Option<String>>, StoreError> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT region FROM business_roles
         WHERE role = $1 AND channel = $2 AND chat_id = $3 AND removed_at IS NULL",
    )
    .bind(role)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Active roles: `(role, channel, chat id, region)`.
pub async fn roles(
    conn: &mut Conn,
) -> Result<Vec<(String, String, String, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT role, channel, chat_id, region FROM business_roles
         WHERE removed_at IS NULL ORDER BY role, id",
    )
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- violations

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ViolationRow {
    pub id: i64,
    pub venue_id: i64,
    pub note: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct SuspensionRow {
    pub id: i64,
    pub venue_id: i64,
    pub violation_id: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub end_notice_at: Option<i64>,
}

pub async fn violation_count(conn: &mut Conn, venue_id: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM venue_violations WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

pub async fn insert_violation(
    conn: &mut Conn,
    venue_id: i64,
    by: &ChatRef,
    note: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO venue_violations (venue_id, channel, chat_id, note, at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(venue_id)
    .bind(&by.channel)
    .bind(&by.chat_id)
    .bind(note)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Records a suspension (the venue's `suspended_until` is extended by
/// [`super::venues::extend_suspension`] in the same transaction).
pub async fn insert_suspension(
    conn: &mut Conn,
    venue_id: i64,
    violation_id: Option<i64>,
    starts_at: i64,
    ends_at: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO venue_suspensions (venue_id, violation_id, starts_at, ends_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(venue_id)
    .bind(violation_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn violations_of(
    conn: &mut Conn,
    venue_id: i64,
) -> Result<Vec<ViolationRow>, StoreError> {
    Ok(sqlx::query_as::<_, ViolationRow>(
        "SELECT id, venue_id, note, at FROM venue_violations WHERE venue_id = $1 ORDER BY id",
    )
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn suspensions_of(
    conn: &mut Conn,
    venue_id: i64,
) -> Result<Vec<SuspensionRow>, StoreError> {
    Ok(sqlx::query_as::<_, SuspensionRow>(
        "SELECT id, venue_id, violation_id, starts_at, ends_at, end_notice_at
         FROM venue_suspensions WHERE venue_id = $1 ORDER BY id",
    )
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Suspensions that ended by `now_ms` (and are not overtaken by a later one still running),
/// whose owner was not told yet: `(suspension id, venue id, venue name)`.
pub async fn due_suspension_ends(
    conn: &mut Conn,
    now_ms: i64,
) -> Result<Vec<(i64, i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.id, v.id, v.name FROM venue_suspensions s JOIN venues v ON v.id = s.venue_id
         WHERE s.end_notice_at IS NULL AND s.ends_at <= $1
           AND (v.suspended_until IS NULL OR v.suspended_until <= $1)
         ORDER BY s.id LIMIT 500",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_suspension_notice(
    conn: &mut Conn,
    id: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE venue_suspensions SET end_notice_at = $1 WHERE id = $2 AND end_notice_at IS NULL",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
