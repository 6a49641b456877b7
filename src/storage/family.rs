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
        "SELECT m.iin_hash, m.iin_enc, l.relation, l.source FROM family_links l
         JOIN family_members m ON m.id = l.member_id
         WHERE l.adult_iin_hash IN ($1, $2) AND l.removed_at IS NULL
         UNION ALL
         SELECT p.pupil_hash, p.pupil_enc, 'child', 'school' FROM wallet_pupils p
         WHERE p.parent_iin_hash IN ($1, $2)",
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
