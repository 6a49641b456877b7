//! Health records (PCR results, contacts), the feeds' API keys and the status watch.
//!
//! Records are keyed by the IIN's keyed hash, never by a person id, so a result may arrive
//! before its person registers. `external_id` is unique per kind; `content_hash` is what
//! tells a repeated item from a conflicting one.

use super::{ChatRef, Conn, StoreError};

/// A PCR result ready to be written (already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPcr {
    pub iin_hash: Vec<u8>,
    pub taken_at: i64,
    pub result_at: i64,
    pub positive: bool,
    pub lab: String,
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub withdrawn: bool,
}

/// A contact ready to be written (already validated). `contact_date` is `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub iin_hash: Vec<u8>,
    pub contact_date: String,
    pub case_id: String,
    pub external_id: String,
    pub content_hash: Vec<u8>,
}

/// A stored PCR result as the rules need it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PcrRow {
    pub id: i64,
    pub taken_at: i64,
    pub result_at: i64,
    pub positive: i64,
    pub withdrawn_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub contact_date: String,
}

/// What is stored under an external id.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Existing {
    pub id: i64,
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub withdrawn_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.split(',').any(|s| s.trim() == scope)
    }
}

// ---------- API keys ----------

pub async fn create_api_key(
    conn: &mut Conn,
    name: &str,
    key_hash: &[u8],
    scopes: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(name)
    .bind(key_hash)
    .bind(scopes)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// An active (not revoked) key by the hash of its secret.
pub async fn api_key_by_hash(
    conn: &mut Conn,
    key_hash: &[u8],
) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(sqlx::query_as::<_, ApiKeyRow>(
        "SELECT id, name, scopes, created_at, revoked_at FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn list_api_keys(conn: &mut Conn) -> Result<Vec<ApiKeyRow>, StoreError> {
    Ok(sqlx::query_as::<_, ApiKeyRow>(
        "SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Revokes a key by name; `false` when there is no active key of that name.
pub async fn revoke_api_key(conn: &mut Conn, name: &str, now_ms: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

// ---------- PCR results ----------

/// Inserts one result; `None` when its external id is already stored.
pub async fn insert_pcr(
    conn: &mut Conn,
    item: &NewPcr,
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO pcr_results (iin_hash, taken_at, result_at, positive, lab, external_id,
            content_hash, withdrawn_at, api_key_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
    )
    .bind(&item.iin_hash)
    .bind(item.taken_at)
    .bind(item.result_at)
    .bind(i64::from(item.positive))
    .bind(&item.lab)
    .bind(&item.external_id)
    .bind(&item.content_hash)
    .bind(item.withdrawn.then_some(now_ms))
    .bind(api_key_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Rows per multi-row INSERT: 10 values each stays far below PostgreSQL's 65 535 binds.
pub const BULK_ROWS: usize = 1000;

/// Inserts many results with multi-row `INSERT … ON CONFLICT DO NOTHING`; returns
/// `(id, external_id)` of the rows actually inserted (existing external ids are skipped).
pub async fn insert_pcr_many(
    conn: &mut Conn,
    items: &[NewPcr],
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut inserted = Vec::new();
    for chunk in items.chunks(BULK_ROWS) {
        let mut sql = String::from(
            "INSERT INTO pcr_results (iin_hash, taken_at, result_at, positive, lab, external_id,
                content_hash, withdrawn_at, api_key_id, created_at) VALUES ",
        );
        sql.push_str(&super::values_placeholders(chunk.len(), 10));
        sql.push_str(" ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id");
        let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
        for item in chunk {
            q = q
                .bind(item.iin_hash.clone())
                .bind(item.taken_at)
                .bind(item.result_at)
                .bind(i64::from(item.positive))
                .bind(item.lab.clone())
                .bind(item.external_id.clone())
                .bind(item.content_hash.clone())
                .bind(item.withdrawn.then_some(now_ms))
                .bind(api_key_id)
                .bind(now_ms);
        }
        inserted.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(inserted)
}

pub async fn pcr_by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<Existing>, StoreError> {
    Ok(sqlx::query_as::<_, Existing>(
        "SELECT id, external_id, content_hash, withdrawn_at FROM pcr_results
         WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// What is stored under each of these external ids (in any order).
pub async fn pcr_by_external_ids(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<Existing>, StoreError> {
    existing_many(conn, "pcr_results", "withdrawn_at", ids).await
}

/// Marks a result withdrawn (it then counts as never sent).
pub async fn withdraw_pcr(conn: &mut Conn, id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE pcr_results SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL")
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The iin hash a stored result belongs to.
pub async fn pcr_iin_hash(conn: &mut Conn, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT iin_hash FROM pcr_results WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.0))
}

pub async fn pcr_for(conn: &mut Conn, iin_hash: &[u8]) -> Result<Vec<PcrRow>, StoreError> {
    Ok(sqlx::query_as::<_, PcrRow>(
        "SELECT id, taken_at, result_at, positive, withdrawn_at FROM pcr_results
         WHERE iin_hash = $1 ORDER BY id",
    )
    .bind(iin_hash)
    .fetch_all(&mut *conn)
    .await?)
}

/// A person's PCR results and contacts in one round trip (the status look-up path).
pub async fn records_for(
    conn: &mut Conn,
    iin_hash: &[u8],
) -> Result<(Vec<PcrRow>, Vec<ContactRow>), StoreError> {
    records_for_either(conn, iin_hash, iin_hash).await
}

/// [`records_for`] under either of two hashes of one IIN (its current and its previous key
/// version while a rotation runs: `security::keys`).
pub async fn records_for_either(
    conn: &mut Conn,
    iin_hash: &[u8],
    other: &[u8],
) -> Result<(Vec<PcrRow>, Vec<ContactRow>), StoreError> {
    type Row = (i64, i64, i64, i64, i64, Option<i64>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT CAST(0 AS BIGINT) AS kind, id, taken_at, result_at, positive, withdrawn_at,
                CAST(NULL AS TEXT) AS contact_date
         FROM pcr_results WHERE iin_hash IN ($1, $2)
         UNION ALL
         SELECT CAST(1 AS BIGINT), id, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT),
                CAST(NULL AS BIGINT), contact_date
         FROM contacts WHERE iin_hash IN ($1, $2)",
    )
    .bind(iin_hash)
    .bind(other)
    .fetch_all(&mut *conn)
    .await?;
    let mut pcr = Vec::new();
    let mut contacts = Vec::new();
    for (kind, id, taken_at, result_at, positive, withdrawn_at, contact_date) in rows {
        if kind == 0 {
            pcr.push(PcrRow {
                id,
                taken_at,
                result_at,
                positive,
                withdrawn_at,
            });
        } else {
            contacts.push(ContactRow {
                id,
                contact_date: contact_date.unwrap_or_default(),
            });
        }
    }
    pcr.sort_by_key(|r| r.id);
    contacts.sort_by_key(|r| r.id);
    Ok((pcr, contacts))
}

// ---------- contacts ----------

/// Inserts one contact; `None` when its external id is already stored.
pub async fn insert_contact(
    conn: &mut Conn,
    item: &NewContact,
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO contacts (iin_hash, contact_date, case_id, external_id, content_hash,
            api_key_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
    )
    .bind(&item.iin_hash)
    .bind(&item.contact_date)
    .bind(&item.case_id)
    .bind(&item.external_id)
    .bind(&item.content_hash)
    .bind(api_key_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Multi-row insert of contacts, like [`insert_pcr_many`].
pub async fn insert_contacts_many(
    conn: &mut Conn,
    items: &[NewContact],
    api_key_id: Option<i64>,
    now_ms: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut inserted = Vec::new();
    for chunk in items.chunks(BULK_ROWS) {
        let mut sql = String::from(
            "INSERT INTO contacts (iin_hash, contact_date, case_id, external_id, content_hash,
                api_key_id, created_at) VALUES ",
        );
        sql.push_str(&super::values_placeholders(chunk.len(), 7));
        sql.push_str(" ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id");
        let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
        for item in chunk {
            q = q
                .bind(item.iin_hash.clone())
                .bind(item.contact_date.clone())
                .bind(item.case_id.clone())
                .bind(item.external_id.clone())
                .bind(item.content_hash.clone())
                .bind(api_key_id)
                .bind(now_ms);
        }
        inserted.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(inserted)
}

pub async fn contact_by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<Existing>, StoreError> {
    Ok(sqlx::query_as::<_, Existing>(
        "SELECT id, external_id, content_hash, CAST(NULL AS BIGINT) AS withdrawn_at FROM contacts
         WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn contacts_by_external_ids(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<Existing>, StoreError> {
    existing_many(conn, "contacts", "CAST(NULL AS BIGINT)", ids).await
}

pub async fn contacts_for(conn: &mut Conn, iin_hash: &[u8]) -> Result<Vec<ContactRow>, StoreError> {
    Ok(sqlx::query_as::<_, ContactRow>(
        "SELECT id, contact_date FROM contacts WHERE iin_hash = $1 ORDER BY id",
    )
    .bind(iin_hash)
    .fetch_all(&mut *conn)
    .await?)
}

async fn existing_many(
    conn: &mut Conn,
    table: &'static str,
    withdrawn: &'static str,
    ids: &[String],
) -> Result<Vec<Existing>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(BULK_ROWS) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, external_id, content_hash, {withdrawn} AS withdrawn_at FROM {table}
             WHERE external_id IN ({})",
            marks.join(",")
        );
        let mut q = sqlx::query_as::<_, Existing>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Registered people among these IIN hashes: `(person id, iin hash)`.
pub async fn people_by_iin_hashes(
    conn: &mut Conn,
    hashes: &[Vec<u8>],
) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(BULK_ROWS) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, iin_hash FROM people WHERE iin_hash IN ({})",
            marks.join(",")
        );
        let mut q = sqlx::query_as::<_, (i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            q = q.bind(h.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

// ---------- status watch ----------

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WatchRow {
    pub person_id: i64,
    pub colour: String,
    pub since_at: Option<i64>,
    pub next_change_at: Option<i64>,
}

pub async fn watch_get(conn: &mut Conn, person_id: i64) -> Result<Option<WatchRow>, StoreError> {
    Ok(sqlx::query_as::<_, WatchRow>(
        "SELECT person_id, colour, since_at, next_change_at FROM status_watch
         WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn watch_put(conn: &mut Conn, row: &WatchRow, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_watch (person_id, colour, since_at, next_change_at, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (person_id) DO UPDATE SET colour = excluded.colour,
            since_at = excluded.since_at, next_change_at = excluded.next_change_at,
            updated_at = excluded.updated_at",
    )
    .bind(row.person_id)
    .bind(&row.colour)
    .bind(row.since_at)
    .bind(row.next_change_at)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// People whose colour is due to change by itself at or before `now_ms`.
pub async fn watch_due(conn: &mut Conn, now_ms: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT person_id FROM status_watch WHERE next_change_at <= $1
         ORDER BY next_change_at, person_id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The earliest pending change, for the notifier's sleep.
pub async fn watch_next(conn: &mut Conn) -> Result<Option<i64>, StoreError> {
    let (next,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_change_at) FROM status_watch")
        .fetch_one(&mut *conn)
        .await?;
    Ok(next)
}

/// The chats of a registered person with their language: where notices go.
pub async fn chats_of_person(
    conn: &mut Conn,
    person_id: i64,
) -> Result<Vec<(ChatRef, Option<String>)>, StoreError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT channel, chat_id, lang FROM conversations WHERE person_id = $1
         ORDER BY channel, chat_id",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, chat_id, lang)| (ChatRef { channel, chat_id }, lang))
        .collect())
}

// ---------- change log (status caches) ----------

/// Length of an IIN keyed hash without its key version (`crypto::Vault::hash_body`): the
/// change log stores these back to back.
pub const HASH_LEN: usize = 32;

/// Records that the records of these IIN hashes changed, in the caller's transaction.
/// Takes the next sequence number from the one-row head, whose row lock is held until the
/// transaction ends, so readers see sequence numbers in commit order. Returns it.
pub async fn record_changes(
    conn: &mut Conn,
    hashes: &[Vec<u8>],
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (seq,): (i64,) =
        sqlx::query_as("UPDATE health_change_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
            .fetch_one(&mut *conn)
            .await?;
    let mut packed = Vec::with_capacity(hashes.len() * HASH_LEN);
    for h in hashes {
        let body = crate::crypto::Vault::hash_body(h);
        if body.len() == HASH_LEN {
            packed.extend_from_slice(body);
        }
    }
    sqlx::query("INSERT INTO health_changes (seq, at, hashes) VALUES ($1, $2, $3)")
        .bind(seq)
        .bind(now_ms)
        .bind(packed)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// The last sequence number handed out (0 before any change).
pub async fn change_head(conn: &mut Conn) -> Result<i64, StoreError> {
    let (seq,): (i64,) = sqlx::query_as("SELECT seq FROM health_change_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq)
}

/// Change-log entries after `seq`, oldest first: `(seq, hashes)` with the hashes unpacked.
pub async fn changes_since(
    conn: &mut Conn,
    seq: i64,
    limit: i64,
) -> Result<Vec<(i64, Vec<[u8; HASH_LEN]>)>, StoreError> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, hashes FROM health_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, packed)| {
            let hashes = packed
                .chunks_exact(HASH_LEN)
                .map(|c| c.try_into().expect("chunks of HASH_LEN"))
                .collect();
            (seq, hashes)
        })
        .collect())
}

/// Deletes change-log entries older than `before_ms` (every cache has read them by then).
pub async fn prune_changes(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM health_changes WHERE at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// One page of all PCR results ordered by IIN hash, for warming a status cache:
/// `(iin_hash, row)` for hashes after `after` (all when `None`), at most `limit` rows.
pub async fn pcr_page(
    conn: &mut Conn,
    after: Option<&[u8]>,
    limit: i64,
) -> Result<Vec<(Vec<u8>, PcrRow)>, StoreError> {
    type Row = (Vec<u8>, i64, i64, i64, i64, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT iin_hash, id, taken_at, result_at, positive, withdrawn_at FROM pcr_results
         WHERE iin_hash > $1 ORDER BY iin_hash LIMIT $2",
    )
    .bind(after.unwrap_or(&[]))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(h, id, taken_at, result_at, positive, withdrawn_at)| {
            (
                h,
                PcrRow {
                    id,
                    taken_at,
                    result_at,
                    positive,
                    withdrawn_at,
                },
            )
        })
        .collect())
}

/// One page of all contacts ordered by IIN hash, like [`pcr_page`].
pub async fn contact_page(
    conn: &mut Conn,
    after: Option<&[u8]>,
    limit: i64,
) -> Result<Vec<(Vec<u8>, ContactRow)>, StoreError> {
    let rows: Vec<(Vec<u8>, i64, String)> = sqlx::query_as(
        "SELECT iin_hash, id, contact_date FROM contacts
         WHERE iin_hash > $1 ORDER BY iin_hash LIMIT $2",
    )
    .bind(after.unwrap_or(&[]))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(h, id, contact_date)| (h, ContactRow { id, contact_date }))
        .collect())
}
