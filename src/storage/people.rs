use super::{Conn, StoreError, is_unique_violation};

/// A citizen as stored: only keyed hashes and sealed values, never plain IIN or phone.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub phone_hash: Vec<u8>,
    pub phone_enc: Vec<u8>,
    pub iin_hash: Option<Vec<u8>>,
    pub iin_enc: Option<Vec<u8>>,
    pub consent_at: i64,
    pub registered_at: Option<i64>,
    /// When the identity registry confirmed the IIN for the phone (migration 0012).
    pub verified_at: Option<i64>,
}

/// The IIN belongs to another registered person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IinConflict;

pub async fn insert(
    conn: &mut Conn,
    phone_hash: &[u8],
    phone_enc: &[u8],
    consent_at_ms: i64,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO people (phone_hash, phone_enc, consent_at, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(phone_hash)
    .bind(phone_enc)
    .bind(consent_at_ms)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<PersonRow>, StoreError> {
    Ok(sqlx::query_as::<_, PersonRow>(
        "SELECT id, phone_hash, phone_enc, iin_hash, iin_enc, consent_at, registered_at,
         verified_at FROM people WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn find_by_iin_hash(conn: &mut Conn, iin_hash: &[u8]) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM people WHERE iin_hash = $1")
        .bind(iin_hash)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.0))
}

pub async fn find_by_phone_hash(
    conn: &mut Conn,
    phone_hash: &[u8],
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM people WHERE phone_hash = $1 ORDER BY id")
            .bind(phone_hash)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Completes registration with the IIN. The UNIQUE index decides races.
pub async fn set_iin(
    conn: &mut Conn,
    id: i64,
    iin_hash: &[u8],
    iin_enc: &[u8],
    now_ms: i64,
) -> Result<Result<(), IinConflict>, StoreError> {
    if let Some(owner) = find_by_iin_hash(conn, iin_hash).await?
        && owner != id
    {
        return Ok(Err(IinConflict));
    }
    let res = sqlx::query(
        "UPDATE people SET iin_hash = $1, iin_enc = $2, registered_at = $3 WHERE id = $4",
    )
    .bind(iin_hash)
    .bind(iin_enc)
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await;
    match res {
        Ok(_) => Ok(Ok(())),
        Err(e) if is_unique_violation(&e) => Ok(Err(IinConflict)),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the person; conversations keep only their language.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET person_id = NULL WHERE person_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM people WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
