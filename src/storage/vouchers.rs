//! The voucher engine's storage (migration 0016): providers (organisations with a BIN and a
//! kind: canteen, pharmacy, club), their operators and one-time operator invites. The
//! ledger every kind appends to is `wallet_ledger` (its home is `storage::wallet`).

use super::{ChatRef, Conn, StoreError};

/// A provider: who may redeem vouchers of a kind.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: i64,
    /// `canteen`, `pharmacy`, `club` (`core::vouchers::ProviderKind`).
    pub kind: String,
    pub bin: String,
    pub name: String,
}

const PROVIDER_COLUMNS: &str = "p.id, p.kind, p.bin, p.name";

/// Creates the provider or renames it; its id.
pub async fn set_provider(
    conn: &mut Conn,
    kind: &str,
    bin: &str,
    name: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO voucher_providers (kind, bin, name, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, bin) DO UPDATE SET name = $3",
    )
    .bind(kind)
    .bind(bin)
    .bind(name)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let (id,): (i64,) =
        sqlx::query_as("SELECT id FROM voucher_providers WHERE kind = $1 AND bin = $2")
            .bind(kind)
            .bind(bin)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}

/// The provider's id, creating it named by its BIN when it is not known yet (a name set
/// earlier stays).
pub async fn ensure_provider(
    conn: &mut Conn,
    kind: &str,
    bin: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO voucher_providers (kind, bin, name, created_at) VALUES ($1, $2, $2, $3)
         ON CONFLICT (kind, bin) DO NOTHING",
    )
    .bind(kind)
    .bind(bin)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let (id,): (i64,) =
        sqlx::query_as("SELECT id FROM voucher_providers WHERE kind = $1 AND bin = $2")
            .bind(kind)
            .bind(bin)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}

/// Renames a provider (a canteen follows its school's name).
pub async fn rename_provider(
    conn: &mut Conn,
    kind: &str,
    bin: &str,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE voucher_providers SET name = $1 WHERE kind = $2 AND bin = $3")
        .bind(name)
        .bind(kind)
        .bind(bin)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn provider_by_bin(
    conn: &mut Conn,
    kind: &str,
    bin: &str,
) -> Result<Option<ProviderRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ProviderRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {PROVIDER_COLUMNS} FROM voucher_providers p WHERE p.kind = $1 AND p.bin = $2"
        )))
        .bind(kind)
        .bind(bin)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

pub async fn provider(conn: &mut Conn, id: i64) -> Result<Option<ProviderRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ProviderRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {PROVIDER_COLUMNS} FROM voucher_providers p WHERE p.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

pub async fn insert_invite(
    conn: &mut Conn,
    provider_id: i64,
    token_hash: &[u8],
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_invites (provider_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(provider_id)
    .bind(token_hash)
    .bind(now_ms)
    .bind(expires_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses an invite once: its provider when it was unused and unexpired (a second use, by
/// anyone, finds nothing).
pub async fn take_invite(
    conn: &mut Conn,
    token_hash: &[u8],
    chat: &ChatRef,
    now_ms: i64,
) -> Result<Option<ProviderRow>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE provider_invites SET used_at = $1, used_channel = $2, used_chat_id = $3
         WHERE token_hash = $4 AND used_at IS NULL AND expires_at > $1
         RETURNING provider_id",
    )
    .bind(now_ms)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some((id,)) => provider(conn, id).await,
        None => Ok(None),
    }
}

/// Makes a chat an operator of a provider (again, if it was removed).
pub async fn add_staff(
    conn: &mut Conn,
    provider_id: i64,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_staff (provider_id, channel, chat_id, added_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider_id, channel, chat_id) DO UPDATE SET removed_at = NULL",
    )
    .bind(provider_id)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a chat's seat at a provider; `false` when it had none.
pub async fn remove_staff(
    conn: &mut Conn,
    provider_id: i64,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE provider_staff SET removed_at = $1
         WHERE provider_id = $2 AND channel = $3 AND chat_id = $4 AND removed_at IS NULL",
    )
    .bind(now_ms)
    .bind(provider_id)
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The providers of `kind` where a chat is an operator, most recently joined first.
pub async fn providers_of_chat(
    conn: &mut Conn,
    kind: &str,
    chat: &ChatRef,
) -> Result<Vec<ProviderRow>, StoreError> {
    Ok(
        sqlx::query_as::<_, ProviderRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {PROVIDER_COLUMNS} FROM provider_staff s
         JOIN voucher_providers p ON p.id = s.provider_id
         WHERE p.kind = $1 AND s.channel = $2 AND s.chat_id = $3 AND s.removed_at IS NULL
         ORDER BY s.added_at DESC, s.id DESC"
        )))
        .bind(kind)
        .bind(&chat.channel)
        .bind(&chat.chat_id)
        .fetch_all(&mut *conn)
        .await?,
    )
}

/// The provider kinds a chat operates for (distinct, sorted): what the router asks before
/// deciding whose a presented code is.
pub async fn kinds_of_chat(conn: &mut Conn, chat: &ChatRef) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT p.kind FROM provider_staff s
         JOIN voucher_providers p ON p.id = s.provider_id
         WHERE s.channel = $1 AND s.chat_id = $2 AND s.removed_at IS NULL
         ORDER BY p.kind",
    )
    .bind(&chat.channel)
    .bind(&chat.chat_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
