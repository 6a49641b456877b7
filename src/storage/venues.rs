//! Venues, entrances, check-ins, staff, invites, regional alert chats, pending check-ins and
//! the check-in audit trail (migration 0004).

use super::rows::{Rows, Val};
use super::{ChatRef, Conn, StoreError, is_unique_violation};

// ---------------------------------------------------------------- keys

/// Key ids not revoked (the venue registry's token keys).
pub async fn live_key_ids(conn: &mut Conn) -> Result<Vec<u16>, StoreError> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT kid FROM qr_keys WHERE revoked_at IS NULL ORDER BY kid")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| u16::try_from(r.0).ok())
        .collect())
}

/// Adds a new key id (the highest, so new codes use it); returns it.
pub async fn rotate_key(conn: &mut Conn, now_ms: i64) -> Result<i64, StoreError> {
    let (kid,): (i64,) = sqlx::query_as(
        "INSERT INTO qr_keys (kid, created_at)
         SELECT COALESCE(MAX(kid), 0) + 1, $1 FROM qr_keys RETURNING kid",
    )
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(kid)
}

pub async fn revoke_key(conn: &mut Conn, kid: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE qr_keys SET revoked_at = $1 WHERE kid = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(kid)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- venues

#[derive(Debug, Clone)]
pub struct NewVenue<'a> {
    pub name: &'a str,
    pub bin: &'a str,
    pub address: &'a str,
    pub region: &'a str,
    pub category: &'a str,
    pub max_stay_ms: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VenueRow {
    pub id: i64,
    pub name: String,
    pub bin: String,
    pub address: String,
    pub region: String,
    pub category: String,
    pub max_stay_ms: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub suspended_until: Option<i64>,
    /// End of the test week of a venue created from a business application.
    pub test_until: Option<i64>,
}

const VENUE_COLS: &str = "id, name, bin, address, region, category, max_stay_ms, created_at, \
                          revoked_at, suspended_until, test_until";

pub async fn insert_venue(
    conn: &mut Conn,
    v: &NewVenue<'_>,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO venues (name, bin, address, region, category, max_stay_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(v.name)
    .bind(v.bin)
    .bind(v.address)
    .bind(v.region)
    .bind(v.category)
    .bind(v.max_stay_ms)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn venue(conn: &mut Conn, id: i64) -> Result<Option<VenueRow>, StoreError> {
    Ok(sqlx::query_as::<_, VenueRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VENUE_COLS} FROM venues WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn venue_by_bin(conn: &mut Conn, bin: &str) -> Result<Option<VenueRow>, StoreError> {
    Ok(sqlx::query_as::<_, VenueRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VENUE_COLS} FROM venues WHERE bin = $1 AND revoked_at IS NULL ORDER BY id LIMIT 1"
    )))
    .bind(bin)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn venues(conn: &mut Conn) -> Result<Vec<VenueRow>, StoreError> {
    Ok(sqlx::query_as::<_, VenueRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VENUE_COLS} FROM venues ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn revoke_venue(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE venues SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Suspends a venue until `until_ms` (`None` lifts a suspension).
pub async fn suspend_venue(
    conn: &mut Conn,
    id: i64,
    until_ms: Option<i64>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE venues SET suspended_until = $1 WHERE id = $2")
        .bind(until_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- entrances

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EntranceRow {
    pub id: i64,
    pub venue_id: i64,
    pub name: String,
    pub entry_code: String,
    pub exit_code: String,
    pub revoked_at: Option<i64>,
}

/// Inserts an entrance; `Ok(None)` when a short code collided (draw new ones and retry).
pub async fn insert_entrance(
    conn: &mut Conn,
    venue_id: i64,
    name: &str,
    entry_code: &str,
    exit_code: &str,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let res: Result<(i64,), sqlx::Error> = sqlx::query_as(
        "INSERT INTO entrances (venue_id, name, entry_code, exit_code, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(venue_id)
    .bind(name)
    .bind(entry_code)
    .bind(exit_code)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await;
    match res {
        Ok((id,)) => Ok(Some(id)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn entrances_of(conn: &mut Conn, venue_id: i64) -> Result<Vec<EntranceRow>, StoreError> {
    Ok(sqlx::query_as::<_, EntranceRow>(
        "SELECT id, venue_id, name, entry_code, exit_code, revoked_at FROM entrances
         WHERE venue_id = $1 ORDER BY id",
    )
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// `(entrance id, is exit)` of a canonical short code.
pub async fn entrance_by_code(
    conn: &mut Conn,
    code: &str,
) -> Result<Option<(i64, bool)>, StoreError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, CASE WHEN exit_code = $1 THEN 1 ELSE 0 END FROM entrances
         WHERE entry_code = $1 OR exit_code = $1",
    )
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, exit)| (id, exit == 1)))
}

/// An entrance with what a check-in needs of its venue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Door {
    pub entrance_id: i64,
    pub entrance_name: String,
    pub entrance_revoked_at: Option<i64>,
    pub venue_id: i64,
    pub venue_name: String,
    pub region: String,
    pub category: String,
    pub max_stay_ms: i64,
    pub venue_revoked_at: Option<i64>,
    pub suspended_until: Option<i64>,
    /// End of the venue's test week (business applications), if any.
    pub test_until: Option<i64>,
    /// 1 when the signing key id asked about is live (always 1 when none was asked).
    pub key_live: i64,
}

/// An entrance and its venue; with `kid`, also whether that signing key is live (one round
/// trip for both).
pub async fn door(
    conn: &mut Conn,
    entrance_id: i64,
    kid: Option<i64>,
) -> Result<Option<Door>, StoreError> {
    Ok(doors(conn, &[(entrance_id, kid)])
        .await?
        .pop()
        .map(|(_, d)| d))
}

/// [`door`] for many `(entrance, key id)` pairs in one statement: each found door with the
/// pair's key id (`None` when none was asked). Unknown entrances are absent.
pub async fn doors(
    conn: &mut Conn,
    asked: &[(i64, Option<i64>)],
) -> Result<Vec<(Option<i64>, Door)>, StoreError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(sqlx::FromRow)]
    struct Keyed {
        asked_kid: i64,
        #[sqlx(flatten)]
        door: Door,
    }
    let mut rows = Rows::new(2);
    for (entrance, kid) in asked {
        rows.push([Val::from(*entrance), Val::from(kid.unwrap_or(-1))]);
    }
    let sql = format!(
        "SELECT q.column2 AS asked_kid,
                e.id AS entrance_id, e.name AS entrance_name, e.revoked_at AS entrance_revoked_at,
                v.id AS venue_id, v.name AS venue_name, v.region, v.category, v.max_stay_ms,
                v.revoked_at AS venue_revoked_at, v.suspended_until, v.test_until,
                CASE WHEN q.column2 < 0 THEN 1 ELSE
                    (SELECT COUNT(*) FROM qr_keys k WHERE k.kid = q.column2 AND k.revoked_at IS NULL)
                END AS key_live
         FROM (VALUES {}) AS q
         JOIN entrances e ON e.id = q.column1 JOIN venues v ON v.id = e.venue_id",
        rows.placeholders(1)
    );
    let found: Vec<Keyed> = rows
        .bind_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|k| ((k.asked_kid >= 0).then_some(k.asked_kid), k.door))
        .collect())
}

// ---------------------------------------------------------------- check-ins

#[derive(Debug, Clone)]
pub struct NewCheckin<'a> {
    pub venue_id: i64,
    pub entrance_id: Option<i64>,
    pub person_id: Option<i64>,
    pub iin_hash: Option<&'a [u8]>,
    pub chat: Option<&'a ChatRef>,
    pub via: &'a str,
    pub colour: &'a str,
    pub admitted: bool,
    pub check_code: &'a str,
    pub entered_at: i64,
    pub closes_at: i64,
}

/// Inserts a check-in unless its check code was already used at the venue on its local
/// date: `None` then (draw another code and retry). A UNIQUE index (venue, local date, code)
/// decides, so two concurrent check-ins can never both take one code.
pub async fn insert_checkin(
    conn: &mut Conn,
    c: &NewCheckin<'_>,
) -> Result<Option<i64>, StoreError> {
    Ok(insert_checkins(conn, std::slice::from_ref(c))
        .await?
        .pop()
        .map(|r| r.0))
}

/// [`insert_checkin`] for many check-ins in one statement: `(id, venue_id, check_code)` of
/// each row inserted. A row whose code was taken is absent: draw another code for it and
/// retry. Codes must differ between rows of one venue in one call.
pub async fn insert_checkins(
    conn: &mut Conn,
    checkins: &[NewCheckin<'_>],
) -> Result<Vec<(i64, i64, String)>, StoreError> {
    if checkins.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Rows::new(13);
    for c in checkins {
        rows.push([
            Val::from(c.venue_id),
            Val::from(c.entrance_id),
            Val::from(c.person_id),
            Val::from(c.iin_hash),
            Val::from(c.chat.map(|ch| ch.channel.as_str())),
            Val::from(c.chat.map(|ch| ch.chat_id.as_str())),
            Val::from(c.via),
            Val::from(c.colour),
            Val::from(i64::from(c.admitted)),
            Val::from(c.check_code),
            Val::from(c.entered_at),
            Val::from(c.closes_at),
            Val::from(code_day(c.entered_at)),
        ]);
    }
    // `WHERE` keeps SQLite from reading `ON CONFLICT` as part of the `SELECT`'s join.
    let sql = format!(
        "INSERT INTO checkins (venue_id, entrance_id, person_id, iin_hash, channel, chat_id, via,
            colour, admitted, check_code, entered_at, closes_at, code_day)
         SELECT q.column1, q.column2, q.column3, q.column4, q.column5, q.column6, q.column7,
                q.column8, q.column9, q.column10, q.column11, q.column12, q.column13
         FROM (VALUES {}) AS q
         WHERE q.column1 IS NOT NULL
         ON CONFLICT DO NOTHING
         RETURNING id, venue_id, check_code",
        rows.placeholders(1)
    );
    let q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    Ok(rows.bind_as(q).fetch_all(&mut *conn).await?)
}

/// The local date (Astana time, UTC+5) of an instant, as days since 1970-01-01: the day a
/// check code is unique in at its venue (`checkins.code_day`, migration 0013).
pub fn code_day(at_ms: i64) -> i64 {
    (at_ms + 5 * 3_600_000).div_euclid(86_400_000)
}

/// A check-in with the names a reply shows.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CheckinView {
    pub id: i64,
    pub venue_id: i64,
    pub venue_name: String,
    pub region: String,
    pub category: String,
    pub entrance_id: Option<i64>,
    pub entrance_name: Option<String>,
    pub person_id: Option<i64>,
    pub channel: Option<String>,
    pub chat_id: Option<String>,
    pub via: String,
    pub colour: String,
    pub admitted: i64,
    pub check_code: String,
    pub entered_at: i64,
    pub closes_at: i64,
    pub left_at: Option<i64>,
}

impl CheckinView {
    /// An admitted visit not yet ended.
    pub fn is_open(&self) -> bool {
        self.admitted == 1 && self.left_at.is_none()
    }
}

const VIEW: &str = "SELECT c.id, c.venue_id, v.name AS venue_name, v.region, v.category,
        c.entrance_id, e.name AS entrance_name, c.person_id, c.channel, c.chat_id, c.via,
        c.colour, c.admitted, c.check_code, c.entered_at, c.closes_at, c.left_at
    FROM checkins c JOIN venues v ON v.id = c.venue_id
    LEFT JOIN entrances e ON e.id = c.entrance_id";

pub async fn checkin(conn: &mut Conn, id: i64) -> Result<Option<CheckinView>, StoreError> {
    Ok(
        sqlx::query_as::<_, CheckinView>(sqlx::AssertSqlSafe(format!("{VIEW} WHERE c.id = $1")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// In one query: the person's open visits and their latest attempt at `entrance_id` since
/// `since_ms`, newest first.
pub async fn person_visits(
    conn: &mut Conn,
    person_id: i64,
    entrance_id: i64,
    since_ms: i64,
) -> Result<Vec<CheckinView>, StoreError> {
    persons_visits(conn, &[(person_id, entrance_id)], since_ms).await
}

/// For each `(person, entrance)`: the person's open visits and their latest attempt at that
/// entrance since `since_ms` (the repeat check), newest first, in one statement.
pub async fn persons_visits(
    conn: &mut Conn,
    asked: &[(i64, i64)],
    since_ms: i64,
) -> Result<Vec<CheckinView>, StoreError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let mut persons = Rows::new(1);
    let mut pairs = Rows::new(2);
    for (person, entrance) in asked {
        persons.push([Val::from(*person)]);
        pairs.push([Val::from(*person), Val::from(*entrance)]);
    }
    // Two arms, each an index probe per person (checkins_person_open, checkins_person);
    // written as one OR, PostgreSQL read every open visit in the country. A visit in both
    // arms comes twice and is kept once; the order is set here, not in SQL.
    let list = persons.list(2);
    let values = pairs.placeholders(2 + persons.padded_len());
    let sql = format!(
        "{VIEW} WHERE c.person_id IN ({list}) AND c.admitted = 1 AND c.left_at IS NULL
         UNION ALL
         {VIEW} JOIN (VALUES {values}) AS q ON c.id =
            (SELECT o.id FROM checkins o
             WHERE o.person_id = q.column1 AND o.entrance_id = q.column2 AND o.entered_at >= $1
             ORDER BY o.entered_at DESC, o.id DESC LIMIT 1)"
    );
    let q = sqlx::query_as::<_, CheckinView>(sqlx::AssertSqlSafe(sql)).bind(since_ms);
    let mut visits = pairs
        .bind_as(persons.bind_as(q))
        .fetch_all(&mut *conn)
        .await?;
    visits.sort_by_key(|v| std::cmp::Reverse((v.entered_at, v.id)));
    visits.dedup_by_key(|v| v.id);
    Ok(visits)
}

/// Open visits of a person (normally at most one).
pub async fn open_visits(conn: &mut Conn, person_id: i64) -> Result<Vec<CheckinView>, StoreError> {
    Ok(
        sqlx::query_as::<_, CheckinView>(sqlx::AssertSqlSafe(format!(
            "{VIEW} WHERE c.person_id = $1 AND c.admitted = 1 AND c.left_at IS NULL ORDER BY c.id"
        )))
        .bind(person_id)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// Closes an open visit; `false` when it was already closed.
pub async fn close_visit(
    conn: &mut Conn,
    id: i64,
    at_ms: i64,
    how: &str,
) -> Result<bool, StoreError> {
    Ok(close_visits(conn, &[id], at_ms, how).await? == 1)
}

/// Closes these visits (those still open) in one statement; returns how many it closed.
pub async fn close_visits(
    conn: &mut Conn,
    ids: &[i64],
    at_ms: i64,
    how: &str,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut rows = Rows::new(1);
    for id in ids {
        rows.push([Val::from(*id)]);
    }
    let sql = format!(
        "UPDATE checkins SET left_at = $1, left_how = $2
         WHERE left_at IS NULL AND id IN ({})",
        rows.list(3)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at_ms).bind(how);
    Ok(rows.bind(q).execute(&mut *conn).await?.rows_affected())
}

/// Open visits that reach their maximum stay by `by_ms`, with no reminder sent yet.
pub async fn due_reminders(
    conn: &mut Conn,
    by_ms: i64,
    limit: i64,
) -> Result<Vec<CheckinView>, StoreError> {
    Ok(
        sqlx::query_as::<_, CheckinView>(sqlx::AssertSqlSafe(format!(
            "{VIEW} WHERE c.admitted = 1 AND c.left_at IS NULL AND c.reminded_at IS NULL
           AND c.closes_at <= $1 ORDER BY c.closes_at, c.id LIMIT $2"
        )))
        .bind(by_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?,
    )
}

pub async fn mark_reminded(conn: &mut Conn, id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE checkins SET reminded_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Open visits past their maximum stay at `now_ms`.
pub async fn due_closes(
    conn: &mut Conn,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<CheckinView>, StoreError> {
    Ok(
        sqlx::query_as::<_, CheckinView>(sqlx::AssertSqlSafe(format!(
            "{VIEW} WHERE c.admitted = 1 AND c.left_at IS NULL AND c.closes_at <= $1
         ORDER BY c.closes_at, c.id LIMIT $2"
        )))
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// People inside a venue now.
pub async fn occupancy(conn: &mut Conn, venue_id: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkins WHERE venue_id = $1 AND admitted = 1 AND left_at IS NULL",
    )
    .bind(venue_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

// ---------------------------------------------------------------- staff and invites

/// Venues where a chat is staff, most recently added first: `(venue id, name, role)`.
pub async fn staff_venues(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT v.id, v.name, s.role FROM venue_staff s JOIN venues v ON v.id = s.venue_id
         WHERE s.channel = $1 AND s.chat_id = $2 AND s.removed_at IS NULL
           AND v.revoked_at IS NULL
         ORDER BY s.added_at DESC, s.id DESC",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Adds a chat to a venue's staff (again a no-op when it already is).
pub async fn add_staff(
    conn: &mut Conn,
    venue_id: i64,
    chat: &ChatRef,
    person_id: Option<i64>,
    role: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let existing: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM venue_staff WHERE venue_id = $1 AND channel = $2 AND chat_id = $3
         AND removed_at IS NULL",
    )
    .bind(venue_id)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_optional(&mut *conn)
    .await?;
    if existing.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO venue_staff (venue_id, channel, chat_id, person_id, role, added_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(venue_id)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(person_id)
    .bind(role)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_invite(
    conn: &mut Conn,
    venue_id: i64,
    role: &str,
    token_hash: &[u8],
    now_ms: i64,
    expires_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO venue_invites (venue_id, role, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(venue_id)
    .bind(role)
    .bind(token_hash)
    .bind(now_ms)
    .bind(expires_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Uses an invite once: `(venue id, role)` when it was unused and unexpired.
pub async fn take_invite(
    conn: &mut Conn,
    token_hash: &[u8],
    chat: &ChatRef,
    now_ms: i64,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "UPDATE venue_invites SET used_at = $1, used_channel = $2, used_chat_id = $3
         WHERE token_hash = $4 AND used_at IS NULL AND expires_at > $1
         RETURNING venue_id, role",
    )
    .bind(now_ms)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- regions

pub async fn set_alert_chat(
    conn: &mut Conn,
    region: &str,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO region_alerts (region, channel, chat_id, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (region) DO UPDATE SET channel = $2, chat_id = $3, updated_at = $4",
    )
    .bind(region)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The alert chat of a region with its conversation language, if known.
pub async fn alert_chat(
    conn: &mut Conn,
    region: &str,
) -> Result<Option<(ChatRef, Option<String>)>, StoreError> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT r.channel, r.chat_id, c.lang FROM region_alerts r
         LEFT JOIN conversations c ON c.channel = r.channel AND c.chat_id = r.chat_id
         WHERE r.region = $1",
    )
    .bind(region)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(ch, id, lang)| (ChatRef::new(&ch, id), lang)))
}

// ---------------------------------------------------------------- pending

pub async fn set_pending(
    conn: &mut Conn,
    chat: &ChatRef,
    entrance_id: i64,
    kind: &str,
    via: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pending_checkins (channel, chat_id, entrance_id, kind, via, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (channel, chat_id) DO UPDATE
           SET entrance_id = $3, kind = $4, via = $5, created_at = $6",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(entrance_id)
    .bind(kind)
    .bind(via)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes the chat's pending check-in: `(entrance id, kind, via, created at)`.
pub async fn take_pending(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Option<(i64, String, String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "DELETE FROM pending_checkins WHERE channel = $1 AND chat_id = $2
         RETURNING entrance_id, kind, via, created_at",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_optional(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- audit

#[derive(Debug, Clone, Default)]
pub struct AuditLine<'a> {
    pub action: &'a str,
    pub outcome: &'a str,
    pub venue_id: Option<i64>,
    pub entrance_id: Option<i64>,
    pub checkin_id: Option<i64>,
    pub chat: Option<&'a ChatRef>,
    pub person_id: Option<i64>,
    pub iin_hash: Option<&'a [u8]>,
}

pub async fn audit(conn: &mut Conn, line: &AuditLine<'_>, now_ms: i64) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO checkin_audit (at, action, outcome, venue_id, entrance_id, checkin_id,
            channel, chat_id, person_id, iin_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(now_ms)
    .bind(line.action)
    .bind(line.outcome)
    .bind(line.venue_id)
    .bind(line.entrance_id)
    .bind(line.checkin_id)
    .bind(line.chat.map(|c| c.channel.as_str()))
    .bind(line.chat.map(|c| c.chat_id.as_str()))
    .bind(line.person_id)
    .bind(line.iin_hash)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// How many audit lines of `action` a chat produced since `since_ms`.
pub async fn count_audit(
    conn: &mut Conn,
    chat: &ChatRef,
    action: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkin_audit
         WHERE channel = $1 AND chat_id = $2 AND action = $3 AND at >= $4",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(action)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

// ---------------------------------------------------------------- businesses' venues

/// Sets the owner and the end of the test week of a venue created from an application.
pub async fn start_test_mode(
    conn: &mut Conn,
    venue_id: i64,
    owner_person_id: Option<i64>,
    test_until: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE venues SET owner_person_id = $1, test_until = $2 WHERE id = $3")
        .bind(owner_person_id)
        .bind(test_until)
        .bind(venue_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Until when a venue is in test mode (`None`: live from the start).
pub async fn test_until(conn: &mut Conn, venue_id: i64) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT test_until FROM venues WHERE id = $1")
        .bind(venue_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(|r| r.0))
}

/// Marks a check-in as made during its venue's test week.
pub async fn mark_checkin_test(conn: &mut Conn, checkin_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE checkins SET test = 1 WHERE id = $1")
        .bind(checkin_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a dependant's check-in as part of the adult's group check-in `adult_checkin`.
pub async fn set_group_of(
    conn: &mut Conn,
    checkin_id: i64,
    adult_checkin: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE checkins SET group_of = $2 WHERE id = $1")
        .bind(checkin_id)
        .bind(adult_checkin)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The open visits of a group check-in's dependants (closed when the adult leaves).
pub async fn open_group_visits(
    conn: &mut Conn,
    adult_checkin: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM checkins WHERE group_of = $1 AND admitted = 1 AND left_at IS NULL
         ORDER BY id",
    )
    .bind(adult_checkin)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A dependant's open visits from earlier group check-ins (closed by a new admitted entry,
/// as an adult's own are).
pub async fn open_group_visits_of(
    conn: &mut Conn,
    iin_hash: &[u8],
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM checkins WHERE iin_hash = $1 AND group_of IS NOT NULL
           AND admitted = 1 AND left_at IS NULL ORDER BY id",
    )
    .bind(iin_hash)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Venues whose test week ended by `now_ms` and whose owner was not told yet:
/// `(venue id, name)`.
pub async fn due_live_notices(
    conn: &mut Conn,
    now_ms: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, name FROM venues
         WHERE test_until IS NOT NULL AND test_until <= $1 AND live_notice_at IS NULL
         ORDER BY id LIMIT 500",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_live_notice(
    conn: &mut Conn,
    venue_id: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE venues SET live_notice_at = $1 WHERE id = $2 AND live_notice_at IS NULL",
    )
    .bind(now_ms)
    .bind(venue_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Venues a chat owns (active `owner` staff), newest first: `(venue id, name)`.
pub async fn owned_venues(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT v.id, v.name FROM venue_staff s JOIN venues v ON v.id = s.venue_id
         WHERE s.channel = $1 AND s.chat_id = $2 AND s.removed_at IS NULL AND s.role = 'owner'
           AND v.revoked_at IS NULL
         ORDER BY v.id DESC",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Active staff of a venue: `(staff id, role, added at)`; no chat ids leave this module's
/// callers for display.
pub async fn staff_members(
    conn: &mut Conn,
    venue_id: i64,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, role, added_at FROM venue_staff
         WHERE venue_id = $1 AND removed_at IS NULL ORDER BY id",
    )
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes a staff member (never an owner) of a venue: its chat, when it was removed.
pub async fn remove_staff(
    conn: &mut Conn,
    venue_id: i64,
    staff_id: i64,
    now_ms: i64,
) -> Result<Option<ChatRef>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE venue_staff SET removed_at = $1
         WHERE id = $2 AND venue_id = $3 AND role = 'staff' AND removed_at IS NULL
         RETURNING channel, chat_id",
    )
    .bind(now_ms)
    .bind(staff_id)
    .bind(venue_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(ch, id)| ChatRef::new(&ch, id)))
}

/// The one way to revoke an entrance: its codes stop working, its history (check-ins)
/// stays, and its name is freed for a replacement (renamed `name~id`). Returns the name.
pub async fn revoke_entrance(
    conn: &mut Conn,
    venue_id: i64,
    entrance_id: i64,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM entrances WHERE id = $1 AND venue_id = $2 AND revoked_at IS NULL",
    )
    .bind(entrance_id)
    .bind(venue_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name,)) = row else {
        return Ok(None);
    };
    sqlx::query("UPDATE entrances SET revoked_at = $1, name = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(format!("{name}~{entrance_id}"))
        .bind(entrance_id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(name))
}

/// Owner chats of a venue with their conversation language.
pub async fn owner_chats(
    conn: &mut Conn,
    venue_id: i64,
) -> Result<Vec<(ChatRef, Option<String>)>, StoreError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT s.channel, s.chat_id, c.lang FROM venue_staff s
         LEFT JOIN conversations c ON c.channel = s.channel AND c.chat_id = s.chat_id
         WHERE s.venue_id = $1 AND s.removed_at IS NULL AND s.role = 'owner' ORDER BY s.id",
    )
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(ch, id, lang)| (ChatRef::new(&ch, id), lang))
        .collect())
}

/// Extends a venue's suspension to `until_ms` (never shortens one already longer).
pub async fn extend_suspension(
    conn: &mut Conn,
    venue_id: i64,
    until_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE venues SET suspended_until = $1
         WHERE id = $2 AND (suspended_until IS NULL OR suspended_until < $1)",
    )
    .bind(until_ms)
    .bind(venue_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
