//! Dependants (issue 18 item 4, data side): one record per dependant, links to adults from
//! authoritative sources (the civil registry's feed; school lists are read in place).

use super::{Conn, StoreError};

/// The dependant's record, created once however many adults link it: its id.
pub async fn upsert_member(
    conn: &mut Conn,
    iin_hash: &[u8],
    iin_enc: &[u8],
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO family_members (iin_hash, iin_enc, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (iin_hash) DO UPDATE SET iin_hash = excluded.iin_hash
         RETURNING id",
    )
    .bind(iin_hash)
    .bind(iin_enc)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A stored link: `(id, content hash, removed at)`.
pub async fn link_by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<(i64, Vec<u8>, Option<i64>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, content_hash, removed_at FROM family_links WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A new link; `None` when it exists already (same external id, or the adult and the
/// dependant are linked live under another one).
#[allow(clippy::too_many_arguments)]
pub async fn insert_link(
    conn: &mut Conn,
    adult_iin_hash: &[u8],
    member_id: i64,
    relation: &str,
    source: &str,
    external_id: &str,
    content_hash: &[u8],
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO family_links (adult_iin_hash, member_id, relation, source, external_id,
             content_hash, api_key_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(adult_iin_hash)
    .bind(member_id)
    .bind(relation)
    .bind(source)
    .bind(external_id)
    .bind(content_hash)
    .bind(api_key_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Removes a link at once; `false` when it was removed already.
pub async fn remove_link(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE family_links SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL")
            .bind(id)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A dependant of an adult: the sealed IIN, the relation and where the link comes from.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Dependant {
    pub iin_hash: Vec<u8>,
    pub iin_enc: Vec<u8>,
    pub relation: String,
    pub source: String,
    /// The link (`None` for a school list's pupil, which the list itself keeps).
    pub link_id: Option<i64>,
}

/// An adult's live dependants: the registry's links and the school lists' pupils whose
/// `parent_iin` is the adult's (each dependant once, the registry's link first).
///
/// `current` is the same hash in the current key version (`Vault::current_form`; equal to
/// `adult_iin_hash` outside a key rotation).
pub async fn dependants_of(
    conn: &mut Conn,
    adult_iin_hash: &[u8],
    current: &[u8],
) -> Result<Vec<Dependant>, StoreError> {
    let rows: Vec<Dependant> = sqlx::query_as(
        "SELECT m.iin_hash, m.iin_enc, l.relation, l.source, l.id AS link_id
         FROM family_links l
         JOIN family_members m ON m.id = l.member_id
         WHERE l.adult_iin_hash IN ($1, $2) AND l.removed_at IS NULL
         UNION ALL
         SELECT p.pupil_hash, p.pupil_enc, 'child', 'school', CAST(NULL AS BIGINT)
         FROM wallet_pupils p
         WHERE p.parent_iin_hash IN ($1, $2)
         ORDER BY 4, 5, 1",
    )
    .bind(adult_iin_hash)
    .bind(current)
    .fetch_all(&mut *conn)
    .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|d| seen.insert(d.iin_hash.clone()))
        .collect())
}

/// Whether an adult has any live dependant (the check-in asks "who is with you?" then).
pub async fn has_dependants(conn: &mut Conn, adult_iin_hash: &[u8]) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM family_links WHERE adult_iin_hash = $1 AND removed_at IS NULL
         UNION ALL
         SELECT 1 FROM wallet_pupils WHERE parent_iin_hash = $1
         LIMIT 1",
    )
    .bind(adult_iin_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// SQL that is true when the adult whose IIN hash is `column` has a live dependant (for
/// the check-in lane's conversation query: one statement for the whole batch).
pub const HAS_DEPENDANTS_SQL: &str = "(EXISTS (SELECT 1 FROM family_links fl
       WHERE fl.adult_iin_hash = p.iin_hash AND fl.removed_at IS NULL)
     OR EXISTS (SELECT 1 FROM wallet_pupils wp WHERE wp.parent_iin_hash = p.iin_hash))";

// ---------- adult relatives by consent ----------

/// An invitation to become an adult's dependant.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Invite {
    pub id: i64,
    pub adult_iin_hash: Vec<u8>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Stores a one-time invitation (only the code's keyed hash).
pub async fn create_invite(
    conn: &mut Conn,
    code_hash: &[u8],
    adult_iin_hash: &[u8],
    now_ms: i64,
    expires_at: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO family_invites (code_hash, adult_iin_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(code_hash)
    .bind(adult_iin_hash)
    .bind(now_ms)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// An adult's invitations still open at `now_ms` (a limit per day).
pub async fn open_invites(
    conn: &mut Conn,
    adult_iin_hash: &[u8],
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM family_invites
         WHERE adult_iin_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(adult_iin_hash)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// The invitation with this code hash.
pub async fn invite_by_code(
    conn: &mut Conn,
    code_hash: &[u8],
) -> Result<Option<Invite>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, adult_iin_hash, expires_at, used_at FROM family_invites WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Marks an invitation used (once): `false` when it was used already.
pub async fn use_invite(
    conn: &mut Conn,
    id: i64,
    link_id: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE family_invites SET used_at = $2, link_id = $3 WHERE id = $1 AND used_at IS NULL",
    )
    .bind(id)
    .bind(now_ms)
    .bind(link_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A live link by id: `(adult IIN hash, dependant IIN hash, source)`.
pub async fn live_link(
    conn: &mut Conn,
    id: i64,
) -> Result<Option<(Vec<u8>, Vec<u8>, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT l.adult_iin_hash, m.iin_hash, l.source FROM family_links l
         JOIN family_members m ON m.id = l.member_id
         WHERE l.id = $1 AND l.removed_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The live consent links in which this person is the dependant: `(link id, adult's sealed
/// IIN)` (the person may withdraw each).
pub async fn guardians_of(
    conn: &mut Conn,
    member_iin_hash: &[u8],
) -> Result<Vec<(i64, Option<Vec<u8>>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT l.id, (SELECT p.iin_enc FROM people p WHERE p.iin_hash = l.adult_iin_hash
                       ORDER BY p.id LIMIT 1)
         FROM family_links l JOIN family_members m ON m.id = l.member_id
         WHERE m.iin_hash = $1 AND l.removed_at IS NULL AND l.source = 'consent'
         ORDER BY l.id",
    )
    .bind(member_iin_hash)
    .fetch_all(&mut *conn)
    .await?)
}

/// A person deletes their account (`/forget`): every consent link they are part of (as the
/// adult or as the dependant) ends now and their open invitations expire. Links from
/// official records stay (they are the registry's). Returns the links ended.
pub async fn forget_consents(
    conn: &mut Conn,
    iin_hash: &[u8],
    now_ms: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE family_links SET removed_at = $2
         WHERE removed_at IS NULL AND source = 'consent'
           AND (adult_iin_hash = $1
                OR member_id IN (SELECT id FROM family_members WHERE iin_hash = $1))",
    )
    .bind(iin_hash)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE family_invites SET expires_at = $2
         WHERE adult_iin_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(iin_hash)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

// ---------- status notices for dependants ----------

/// The registered adults (people ids) linked live to a dependant whose identity binding the
/// registry confirmed: only they are told the dependant's colour.
pub async fn verified_adults_of(
    conn: &mut Conn,
    member_iin_hash: &[u8],
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT p.id FROM people p
         WHERE p.verified_at IS NOT NULL AND p.iin_hash IN (
             SELECT l.adult_iin_hash FROM family_links l
             JOIN family_members m ON m.id = l.member_id
             WHERE m.iin_hash = $1 AND l.removed_at IS NULL
             UNION
             SELECT w.parent_iin_hash FROM wallet_pupils w WHERE w.pupil_hash = $1)
         ORDER BY p.id",
    )
    .bind(member_iin_hash)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Of these IIN hashes, the dependants with verified adults: `(dependant hash, adult's
/// person id)`, in chunks of bounded statements.
pub async fn verified_adults_of_many(
    conn: &mut Conn,
    hashes: &[Vec<u8>],
) -> Result<Vec<(Vec<u8>, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let marks = marks.join(",");
        let sql = format!(
            "SELECT d.member, p.id FROM (
                 SELECT m.iin_hash AS member, l.adult_iin_hash AS adult FROM family_links l
                 JOIN family_members m ON m.id = l.member_id
                 WHERE m.iin_hash IN ({marks}) AND l.removed_at IS NULL
                 UNION
                 SELECT w.pupil_hash, w.parent_iin_hash FROM wallet_pupils w
                 WHERE w.pupil_hash IN ({marks})) d
             JOIN people p ON p.iin_hash = d.adult AND p.verified_at IS NOT NULL
             ORDER BY d.member, p.id"
        );
        let mut q = sqlx::query_as::<_, (Vec<u8>, i64)>(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            q = q.bind(h.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// A dependant's sealed IIN (from the family record or a school list).
pub async fn sealed_iin(conn: &mut Conn, iin_hash: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT iin_enc FROM family_members WHERE iin_hash = $1
         UNION ALL
         SELECT pupil_enc FROM wallet_pupils WHERE pupil_hash = $1
         LIMIT 1",
    )
    .bind(iin_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// A dependant's colour as last announced.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WatchRow {
    pub iin_hash: Vec<u8>,
    pub colour: String,
    pub since_at: Option<i64>,
    pub next_change_at: Option<i64>,
}

pub async fn watch_get(conn: &mut Conn, iin_hash: &[u8]) -> Result<Option<WatchRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT iin_hash, colour, since_at, next_change_at FROM family_watch WHERE iin_hash = $1",
    )
    .bind(iin_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn watch_put(conn: &mut Conn, row: &WatchRow, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO family_watch (iin_hash, colour, since_at, next_change_at, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (iin_hash) DO UPDATE SET colour = excluded.colour,
             since_at = excluded.since_at, next_change_at = excluded.next_change_at,
             updated_at = excluded.updated_at",
    )
    .bind(&row.iin_hash)
    .bind(&row.colour)
    .bind(row.since_at)
    .bind(row.next_change_at)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Dependants' watches due to change by `now_ms`.
pub async fn watch_due(
    conn: &mut Conn,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
        "SELECT iin_hash FROM family_watch WHERE next_change_at <= $1
         ORDER BY next_change_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The earliest due dependant watch.
pub async fn watch_next(conn: &mut Conn) -> Result<Option<i64>, StoreError> {
    let (next,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_change_at) FROM family_watch")
        .fetch_one(&mut *conn)
        .await?;
    Ok(next)
}
