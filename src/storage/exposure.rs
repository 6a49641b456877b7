//! Exposure warnings (issue 18): jobs, co-visit queries, warnings and the cases behind them,
//! exports, the per-venue opt-out and the retention of visits.
//!
//! A visit is `[entered_at, COALESCE(left_at, closes_at))`: one without an exit counts until
//! its automatic check-out. The overlap of two visits is computed in SQL with `CASE` (not
//! `LEAST`/`GREATEST`, which SQLite lacks), after an index range on
//! `checkins_venue (venue_id, entered_at)` narrowed the rows to the venue and the time.

use super::rows::{Rows, Val};
use super::{Conn, StoreError};

/// `COALESCE(left_at, closes_at)`: when a visit ends.
const END: &str = "COALESCE(c.left_at, c.closes_at)";

// ---------------------------------------------------------------- jobs

/// Queues one job of `kind` for every positive result among `pcr_ids` (in the feed's
/// transaction; the work itself runs later). A job already queued is not queued again.
pub async fn queue_jobs(
    conn: &mut Conn,
    pcr_ids: &[i64],
    kind: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut queued = 0;
    for chunk in pcr_ids.chunks(512) {
        let mut rows = Rows::new(1);
        for id in chunk {
            rows.push([Val::from(*id)]);
        }
        let sql = format!(
            "INSERT INTO exposure_jobs (pcr_id, kind, created_at)
             SELECT id, $1, $2 FROM pcr_results WHERE positive = 1 AND id IN ({})
             ON CONFLICT (pcr_id, kind) DO NOTHING",
            rows.list(3)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .bind(now_ms);
        queued += rows.bind(q).execute(&mut *conn).await?.rows_affected();
    }
    Ok(queued)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub pcr_id: i64,
    pub kind: String,
}

/// Jobs not done yet, oldest first (a job that failed `max_attempts` times waits for an
/// operator).
pub async fn due_jobs(
    conn: &mut Conn,
    limit: i64,
    max_attempts: i64,
) -> Result<Vec<JobRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, pcr_id, kind FROM exposure_jobs
         WHERE done_at IS NULL AND attempts < $1 ORDER BY id LIMIT $2",
    )
    .bind(max_attempts)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Marks a job done in the transaction that does its work: `false` when another worker did
/// it (on PostgreSQL the second claim waits for the first transaction and then sees it done).
pub async fn claim_job(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE exposure_jobs SET done_at = $2, attempts = attempts + 1
         WHERE id = $1 AND done_at IS NULL",
    )
    .bind(id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt (outside the rolled-back work).
pub async fn fail_job(conn: &mut Conn, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE exposure_jobs SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- cases

/// A PCR result as the exposure job reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub iin_hash: Vec<u8>,
    pub taken_at: i64,
    pub result_at: i64,
    pub positive: i64,
    pub withdrawn_at: Option<i64>,
    pub external_id: String,
}

const CASE_COLS: &str = "id, iin_hash, taken_at, result_at, positive, withdrawn_at, external_id";

pub async fn case(conn: &mut Conn, pcr_id: i64) -> Result<Option<CaseRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM pcr_results WHERE id = $1"
    )))
    .bind(pcr_id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn case_by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<CaseRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM pcr_results WHERE external_id = $1"
    )))
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- visits

/// One admitted visit of the positive person at a venue that takes part in warnings.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseVisit {
    pub id: i64,
    pub venue_id: i64,
    pub venue_name: String,
    pub region: String,
    pub max_stay_ms: i64,
    pub entered_at: i64,
    pub end_at: i64,
}

/// The admitted visits of a person (by account or, for guard-mode entries, by IIN hash)
/// that started before `to_ms` and may still have been going on at `from_ms` (started at
/// most `lookback_ms` earlier), at venues whose warnings are on. `person_id` -1 matches no
/// account.
pub async fn case_visits(
    conn: &mut Conn,
    person_id: Option<i64>,
    iin_hash: &[u8],
    from_ms: i64,
    to_ms: i64,
    lookback_ms: i64,
    current: &[u8],
) -> Result<Vec<CaseVisit>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.venue_id, v.name AS venue_name, v.region, v.max_stay_ms, c.entered_at,
                {END} AS end_at
         FROM checkins c JOIN venues v ON v.id = c.venue_id
         WHERE (c.person_id = $1 OR c.iin_hash IN ($2, $5))
           AND c.entered_at >= $3 AND c.entered_at < $4
           AND c.admitted = 1 AND v.exposure_off_at IS NULL
         ORDER BY c.entered_at, c.id"
    )))
    .bind(person_id.unwrap_or(-1))
    .bind(iin_hash)
    .bind(from_ms - lookback_ms)
    .bind(to_ms)
    .bind(current)
    .fetch_all(&mut *conn)
    .await?)
}

/// A visit that overlapped a positive person's visit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CoVisit {
    pub id: i64,
    pub person_id: Option<i64>,
    pub iin_hash: Option<Vec<u8>>,
    pub entered_at: i64,
    pub end_at: i64,
}

/// Admitted visits at `venue_id` overlapping `[from_ms, to_ms)` by at least `min_ms`, other
/// than the positive person's own (`person_id` -1 and an empty hash match nobody). A visit
/// lasts at most `longest_ms`, which bounds the index range.
#[allow(clippy::too_many_arguments)]
pub async fn co_visits(
    conn: &mut Conn,
    venue_id: i64,
    from_ms: i64,
    to_ms: i64,
    min_ms: i64,
    longest_ms: i64,
    person_id: Option<i64>,
    iin_hash: &[u8],
) -> Result<Vec<CoVisit>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.person_id, c.iin_hash, c.entered_at, {END} AS end_at
         FROM checkins c
         WHERE c.venue_id = $1 AND c.entered_at >= $2 AND c.entered_at <= $3
           AND c.admitted = 1
           AND (CASE WHEN {END} < $5 THEN {END} ELSE $5 END)
             - (CASE WHEN c.entered_at > $4 THEN c.entered_at ELSE $4 END) >= $6
           AND (c.person_id IS NULL OR c.person_id <> $7)
           AND (c.iin_hash IS NULL OR c.iin_hash <> $8)
         ORDER BY c.entered_at, c.id"
    )))
    .bind(venue_id)
    .bind(from_ms - longest_ms)
    .bind(to_ms - min_ms)
    .bind(from_ms)
    .bind(to_ms)
    .bind(min_ms)
    .bind(person_id.unwrap_or(-1))
    .bind(iin_hash)
    .fetch_all(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------- warnings

/// A warning to write: one co-visitor, venue and local day.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWarning {
    pub person_key: String,
    pub person_id: Option<i64>,
    pub iin_hash: Option<Vec<u8>>,
    pub venue_id: i64,
    pub day: String,
    pub visit_from: i64,
    pub visit_to: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WarningRow {
    pub id: i64,
    pub person_key: String,
    pub person_id: Option<i64>,
    pub venue_id: i64,
    pub day: String,
    pub visit_from: i64,
    pub visit_to: i64,
    pub generation: i64,
    pub corrected_at: Option<i64>,
    /// The visitor's IIN keyed hash when the visit had no account (a dependant checked in
    /// with an adult, or a guard-mode entry).
    pub iin_hash: Option<Vec<u8>>,
}

const WARNING_COLS: &str = "id, person_key, person_id, venue_id, day, visit_from, visit_to, generation, corrected_at, iin_hash";

/// Inserts the warnings that do not exist yet and returns every one of them, new or old
/// (a no-op update makes the upsert return existing rows too). Keys must be distinct.
pub async fn upsert_warnings(
    conn: &mut Conn,
    warnings: &[NewWarning],
    now_ms: i64,
) -> Result<Vec<WarningRow>, StoreError> {
    let mut out = Vec::with_capacity(warnings.len());
    for chunk in warnings.chunks(256) {
        let mut rows = Rows::new(7);
        for w in chunk {
            rows.push([
                Val::from(w.person_key.as_str()),
                Val::from(w.person_id),
                Val::from(w.iin_hash.as_deref()),
                Val::from(w.venue_id),
                Val::from(w.day.as_str()),
                Val::from(w.visit_from),
                Val::from(w.visit_to),
            ]);
        }
        let sql = format!(
            "INSERT INTO exposure_warnings (person_key, person_id, iin_hash, venue_id, day,
                 visit_from, visit_to, created_at)
             SELECT q.column1, q.column2, q.column3, q.column4, q.column5, q.column6, q.column7, $1
             FROM (VALUES {}) AS q WHERE q.column1 IS NOT NULL
             ON CONFLICT (person_key, venue_id, day) DO UPDATE SET person_key = excluded.person_key
             RETURNING {WARNING_COLS}",
            rows.placeholders(2)
        );
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now_ms);
        out.extend(rows.bind_as(q).fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// A positive case justifies a warning: `(warning id, pcr id, venue id, overlap from, to)`.
pub async fn insert_links(
    conn: &mut Conn,
    links: &[(i64, i64, i64, i64, i64)],
) -> Result<(), StoreError> {
    for chunk in links.chunks(256) {
        let mut rows = Rows::new(5);
        for (w, p, v, f, t) in chunk {
            rows.push([
                Val::from(*w),
                Val::from(*p),
                Val::from(*v),
                Val::from(*f),
                Val::from(*t),
            ]);
        }
        let sql = format!(
            "INSERT INTO exposure_links (warning_id, pcr_id, venue_id, overlap_from, overlap_to)
             SELECT q.column1, q.column2, q.column3, q.column4, q.column5
             FROM (VALUES {}) AS q WHERE q.column1 IS NOT NULL
             ON CONFLICT (warning_id, pcr_id) DO NOTHING",
            rows.placeholders(1)
        );
        rows.bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Of these warnings, takes those never sent or corrected since (a new case justifies them
/// again): their generation goes up by one and they are to be sent. Returns `(id, generation)`.
pub async fn activate(
    conn: &mut Conn,
    ids: &[i64],
    now_ms: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(512) {
        let mut rows = Rows::new(1);
        for id in chunk {
            rows.push([Val::from(*id)]);
        }
        let sql = format!(
            "UPDATE exposure_warnings
             SET generation = generation + 1, warned_at = $1, corrected_at = NULL
             WHERE id IN ({}) AND (generation = 0 OR corrected_at IS NOT NULL)
             RETURNING id, generation",
            rows.list(2)
        );
        let q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(now_ms);
        out.extend(rows.bind_as(q).fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The warnings a case justifies.
pub async fn warnings_of_case(conn: &mut Conn, pcr_id: i64) -> Result<Vec<WarningRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM exposure_warnings w
         WHERE w.id IN (SELECT l.warning_id FROM exposure_links l WHERE l.pcr_id = $1)
         ORDER BY w.id",
        cols = WARNING_COLS
            .split(", ")
            .map(|c| format!("w.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(pcr_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes a withdrawn case's links.
pub async fn unlink_case(conn: &mut Conn, pcr_id: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM exposure_links WHERE pcr_id = $1")
        .bind(pcr_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Of these warnings, marks corrected those that were sent and that no case justifies any
/// more; returns them (their correction is to be sent).
pub async fn orphan(
    conn: &mut Conn,
    ids: &[i64],
    now_ms: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(512) {
        let mut rows = Rows::new(1);
        for id in chunk {
            rows.push([Val::from(*id)]);
        }
        let sql = format!(
            "UPDATE exposure_warnings SET corrected_at = $1
             WHERE id IN ({}) AND generation > 0 AND corrected_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM exposure_links l
                               WHERE l.warning_id = exposure_warnings.id)
             RETURNING id, generation",
            rows.list(2)
        );
        let q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(now_ms);
        out.extend(rows.bind_as(q).fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The chats of these people with their languages: `(person id, channel, chat id, lang)`.
pub async fn chats_of_people(
    conn: &mut Conn,
    person_ids: &[i64],
) -> Result<Vec<(i64, String, String, Option<String>)>, StoreError> {
    let mut out = Vec::new();
    for chunk in person_ids.chunks(512) {
        let mut rows = Rows::new(1);
        for id in chunk {
            rows.push([Val::from(*id)]);
        }
        let sql = format!(
            "SELECT person_id, channel, chat_id, lang FROM conversations
             WHERE person_id IN ({}) ORDER BY person_id, channel, chat_id",
            rows.list(1)
        );
        out.extend(
            rows.bind_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(out)
}

/// An adult to tell about a dependant's visit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DependantAdult {
    pub person_id: i64,
    /// `child` or `relative` (a school list's pupil is a child).
    pub relation: String,
    /// How many of the dependant's visits at the venue between `from` and `to` this adult
    /// checked in (`checkins.group_of`).
    pub checked_in: i64,
}

/// The registry-verified adults linked live to a dependant (the registry's or a consent
/// link, or a school list's `parent_iin`), with whether each checked the dependant in at
/// `venue_id` for a visit that started between `from_ms` and `to_ms`. An adult linked twice
/// comes once per relation, ordered by person.
pub async fn dependant_adults(
    conn: &mut Conn,
    member_iin_hash: &[u8],
    venue_id: i64,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DependantAdult>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT p.id AS person_id, d.relation,
                (SELECT COUNT(*) FROM checkins c JOIN checkins a ON a.id = c.group_of
                 WHERE c.venue_id = $2 AND c.iin_hash = $1
                   AND c.entered_at >= $3 AND c.entered_at <= $4
                   AND a.person_id = p.id) AS checked_in
         FROM (SELECT l.adult_iin_hash AS adult, l.relation FROM family_links l
               JOIN family_members m ON m.id = l.member_id
               WHERE m.iin_hash = $1 AND l.removed_at IS NULL
               UNION
               SELECT w.parent_iin_hash, 'child' FROM wallet_pupils w
               WHERE w.pupil_hash = $1) d
         JOIN people p ON p.iin_hash = d.adult AND p.verified_at IS NOT NULL
         ORDER BY p.id, d.relation",
    )
    .bind(member_iin_hash)
    .bind(venue_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&mut *conn)
    .await?)
}

/// The registered person whose IIN binding the registry confirmed, with this IIN keyed hash:
/// a visitor recorded by hash only (an adult relative checked in with an adult) who has
/// their own account. An unconfirmed binding counts for nothing (it may be a typed IIN).
pub async fn verified_person_by_hash(
    conn: &mut Conn,
    iin_hash: &[u8],
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM people WHERE iin_hash = $1 AND verified_at IS NOT NULL
         ORDER BY id LIMIT 1",
    )
    .bind(iin_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// `(name, region)` of a venue.
pub async fn venue_name_region(
    conn: &mut Conn,
    venue_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, region FROM venues WHERE id = $1")
            .bind(venue_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------- export

/// One co-visitor of a case for the official contact list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ExportRow {
    pub warning_id: i64,
    pub person_id: Option<i64>,
    pub iin_enc: Option<Vec<u8>>,
    pub venue_id: i64,
    pub venue_name: String,
    pub day: String,
    pub visit_from: i64,
    pub visit_to: i64,
    pub overlap_from: i64,
    pub overlap_to: i64,
}

/// A visitor without an account (a dependant checked in with an adult) is listed with the
/// IIN sealed in the family record or the school list; a guard-mode visitor who is nobody's
/// dependant stays not recoverable.
pub async fn export_rows(conn: &mut Conn, pcr_id: i64) -> Result<Vec<ExportRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT w.id AS warning_id, w.person_id,
                COALESCE(p.iin_enc,
                    (SELECT m.iin_enc FROM family_members m WHERE m.iin_hash = w.iin_hash),
                    (SELECT wp.pupil_enc FROM wallet_pupils wp WHERE wp.pupil_hash = w.iin_hash
                     ORDER BY wp.id LIMIT 1)) AS iin_enc,
                w.venue_id, v.name AS venue_name,
                w.day, w.visit_from, w.visit_to, l.overlap_from, l.overlap_to
         FROM exposure_links l
         JOIN exposure_warnings w ON w.id = l.warning_id
         JOIN venues v ON v.id = w.venue_id
         LEFT JOIN people p ON p.id = w.person_id
         WHERE l.pcr_id = $1
         ORDER BY w.day, w.venue_id, w.id",
    )
    .bind(pcr_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The audit line of an export attempt.
#[allow(clippy::too_many_arguments)]
pub async fn audit_export(
    conn: &mut Conn,
    actor: &str,
    case_external_id: &str,
    pcr_id: Option<i64>,
    outcome: &str,
    rows_listed: i64,
    not_recoverable: i64,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO exposure_exports (at, actor, case_external_id, pcr_id, outcome, rows_listed,
             not_recoverable)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(now_ms)
    .bind(actor)
    .bind(case_external_id)
    .bind(pcr_id)
    .bind(outcome)
    .bind(rows_listed)
    .bind(not_recoverable)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- settings

/// Turns warnings at a venue off (`Some(now)`) or on (`None`); `false` when no such venue.
pub async fn set_venue_exposure_off(
    conn: &mut Conn,
    venue_id: i64,
    off_at: Option<i64>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE venues SET exposure_off_at = $2 WHERE id = $1")
        .bind(venue_id)
        .bind(off_at)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- retention

/// Deletes up to `limit` visits that started and ended before `before_ms`; how many.
pub async fn delete_visits_before(
    conn: &mut Conn,
    before_ms: i64,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM checkins WHERE id IN (
             SELECT c.id FROM checkins c WHERE c.entered_at < $1 AND {END} < $1 LIMIT $2)"
    )))
    .bind(before_ms)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Deletes warnings (and their links) about visits that ended before `before_ms`.
pub async fn delete_warnings_before(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    sqlx::query(
        "DELETE FROM exposure_links WHERE warning_id IN
             (SELECT id FROM exposure_warnings WHERE visit_to < $1)",
    )
    .bind(before_ms)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query("DELETE FROM exposure_warnings WHERE visit_to < $1")
            .bind(before_ms)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Deletes jobs done before `before_ms`.
pub async fn delete_jobs_before(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM exposure_jobs WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(before_ms)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Deletes check-in audit lines (the references sanitary alerts cite) and export audit
/// lines older than `before_ms`.
pub async fn delete_audit_before(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    let a = sqlx::query("DELETE FROM checkin_audit WHERE at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let b = sqlx::query("DELETE FROM exposure_exports WHERE at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(a + b)
}
