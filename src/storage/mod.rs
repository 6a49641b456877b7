//! The one storage module. Every query is written once, with `$1..$N` placeholders and
//! SQL that SQLite and PostgreSQL both run, over sqlx's `Any` driver; DDL lives per backend
//! in `migrations/sqlite` and `migrations/postgres` with equal version numbers.
//!
//! Functions take `&mut AnyConnection` so callers compose them inside one transaction
//! (`&mut *tx`); a confirmation is sent only after that transaction commits.

pub mod business;
pub mod clubs;
pub mod conversations;
pub mod exposure;
pub mod family;
pub mod health;
pub mod identity;
pub mod keys;
pub mod outbox;
pub mod pace;
pub mod people;
pub mod prescriptions;
pub mod relay;
pub mod rows;
pub mod security;
pub mod support;
pub mod venues;
pub mod vouchers;
pub mod wallet;

pub use conversations::{ChatRef, ConversationRow};
pub use people::{IinConflict, PersonRow};

use rows::{Rows, Val};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Conn = sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (use sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored conversation state is unreadable: {0}")]
    State(#[from] serde_json::Error),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects (creating a SQLite file when missing) without migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or(StoreError::UnsupportedUrl)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Self { pool, backend })
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The migrations embedded for this backend (for `/readyz`).
    pub fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so two writers queue on `busy_timeout` instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Liveness for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Records that an inbound update was processed; `false` when it already was
/// (Telegram may deliver an update twice).
pub async fn mark_update(
    conn: &mut Conn,
    channel: &str,
    key: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    Ok(!mark_updates(conn, &[(channel, key)], now_ms)
        .await?
        .is_empty())
}

/// [`mark_update`] for many updates in one statement: returns the `(channel, key)` pairs
/// that were new (the others were processed before).
pub async fn mark_updates(
    conn: &mut Conn,
    updates: &[(&str, &str)],
    now_ms: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Rows::new(2);
    for (channel, key) in updates {
        rows.push([Val::from(*channel), Val::from(*key)]);
    }
    let sql = format!(
        "INSERT INTO processed_updates (channel, update_key, processed_at)
         SELECT q.column1, q.column2, $1 FROM (VALUES {}) AS q WHERE q.column1 IS NOT NULL
         ON CONFLICT (channel, update_key) DO NOTHING
         RETURNING channel, update_key",
        rows.placeholders(2)
    );
    let q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now_ms);
    Ok(rows.bind_as(q).fetch_all(&mut *conn).await?)
}

/// Keeps the replies of processed updates (sealed by the caller) with their ids, in the
/// event's transaction: a redelivery of an update whose reply never left gets it again
/// ([`update_replies`]). One statement for many updates.
pub async fn keep_replies(
    conn: &mut Conn,
    updates: &[(&str, &str, Vec<u8>)],
) -> Result<(), StoreError> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut rows = Rows::new(3);
    for (channel, key, sealed) in updates {
        rows.push([
            Val::from(*channel),
            Val::from(*key),
            Val::Bytes(Some(sealed.clone())),
        ]);
    }
    let sql = format!(
        "UPDATE processed_updates SET replies = q.column3
         FROM (VALUES {}) AS q
         WHERE q.column1 IS NOT NULL
           AND processed_updates.channel = q.column1 AND processed_updates.update_key = q.column2",
        rows.placeholders(1)
    );
    rows.bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The replies kept with a processed update (sealed), if any.
pub async fn update_replies(
    conn: &mut Conn,
    channel: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
        "SELECT replies FROM processed_updates WHERE channel = $1 AND update_key = $2",
    )
    .bind(channel)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(|(r,)| r))
}

/// The replies of a processed update were sent: they are no longer kept.
pub async fn forget_replies(conn: &mut Conn, channel: &str, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE processed_updates SET replies = NULL
         WHERE channel = $1 AND update_key = $2 AND replies IS NOT NULL",
    )
    .bind(channel)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets update ids older than `before_ms`; Telegram redelivers only recent updates.
pub async fn prune_updates(conn: &mut Conn, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM processed_updates WHERE processed_at < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The `VALUES` list of a multi-row insert: `($1,$2),($3,$4)` for 2 rows of 2 columns.
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for col in 0..columns {
            if col > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&(row * columns + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_placeholders_number_every_row() {
        assert_eq!(super::values_placeholders(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(super::values_placeholders(1, 1), "($1)");
        assert_eq!(super::values_placeholders(0, 4), "");
    }
}
