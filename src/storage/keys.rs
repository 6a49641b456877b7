//! Storage of key versions and of the rotation's progress (migration 0024; docs/SECURITY.md,
//! "Key rotation"), and the list of every stored keyed hash and sealed value ([`SPECS`]):
//! the one place that knows which columns a rotation must rewrite.

use super::{Conn, StoreError};
use crate::crypto::{Field, KeyState};
use sqlx::Row;

/// How a table's rows are ordered and found again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCols {
    /// An integer column.
    Id(&'static str),
    /// A text column.
    Text(&'static str),
    /// `identity_pairs`: the pair `(iin_hash, phone_hash)` is the key (and is rewritten).
    Pair,
}

/// One table's keyed hashes and sealed values.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub table: &'static str,
    pub key: KeyCols,
    /// Keyed hash columns and what they hash.
    pub hashes: &'static [(&'static str, Field)],
    /// Sealed columns and what they hold.
    pub sealed: &'static [(&'static str, Field)],
}

/// Every table holding keyed hashes or sealed values, in the order a rotation passes them:
/// tables looked up by a hash stored elsewhere come before the tables holding that hash
/// (records and visits before the people whose bindings find them), so a stored hash is never
/// newer than the rows it finds, and a look-up by a stored hash finds them under the hash as
/// stored or its current form (`crypto::Vault::current_form`). A new such column must be
/// added here (`tests/it/keys.rs` compares this list with the schema).
pub const SPECS: &[Spec] = &[
    Spec {
        table: "checkins",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "checkin_audit",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "exposure_warnings",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "contacts",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "pcr_results",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "wallet_pupils",
        key: KeyCols::Id("id"),
        hashes: &[
            ("pupil_hash", Field::Iin),
            ("parent_iin_hash", Field::Iin),
            ("parent_phone_hash", Field::Phone),
        ],
        sealed: &[
            ("pupil_enc", Field::Iin),
            ("parent_iin_enc", Field::Iin),
            ("parent_phone_enc", Field::Phone),
        ],
    },
    Spec {
        table: "prescriptions",
        key: KeyCols::Id("id"),
        hashes: &[
            ("patient_hash", Field::Iin),
            ("representative_hash", Field::Iin),
        ],
        sealed: &[
            ("patient_enc", Field::Iin),
            ("representative_enc", Field::Iin),
        ],
    },
    Spec {
        table: "club_vouchers",
        key: KeyCols::Id("id"),
        hashes: &[
            ("pupil_hash", Field::Iin),
            ("parent_iin_hash", Field::Iin),
            ("parent_phone_hash", Field::Phone),
        ],
        sealed: &[
            ("pupil_enc", Field::Iin),
            ("parent_iin_enc", Field::Iin),
            ("parent_phone_enc", Field::Phone),
        ],
    },
    Spec {
        table: "family_links",
        key: KeyCols::Id("id"),
        hashes: &[("adult_iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "family_invites",
        key: KeyCols::Id("id"),
        // The code's keyed hash (of `family-invite:CODE`) and the inviting adult's IIN.
        hashes: &[("code_hash", Field::Iin), ("adult_iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "family_watch",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[],
    },
    Spec {
        table: "family_members",
        key: KeyCols::Id("id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[("iin_enc", Field::Iin)],
    },
    Spec {
        table: "identity_pairs",
        key: KeyCols::Pair,
        hashes: &[("iin_hash", Field::Iin), ("phone_hash", Field::Phone)],
        sealed: &[],
    },
    Spec {
        table: "identity_pending",
        key: KeyCols::Id("person_id"),
        hashes: &[("iin_hash", Field::Iin)],
        sealed: &[("iin_enc", Field::Iin)],
    },
    Spec {
        table: "sms_numbers",
        key: KeyCols::Text("chat_id"),
        hashes: &[],
        sealed: &[("phone_enc", Field::Phone)],
    },
    Spec {
        table: "people",
        key: KeyCols::Id("id"),
        hashes: &[("phone_hash", Field::Phone), ("iin_hash", Field::Iin)],
        sealed: &[("phone_enc", Field::Phone), ("iin_enc", Field::Iin)],
    },
];

/// The hash columns a look-up by a plain value goes through (indexed), settled to the
/// current version before such a look-up while a rotation runs (`security::keys::settle`).
pub const LOOKUP_COLUMNS: &[(&str, &str, Field)] = &[
    ("people", "iin_hash", Field::Iin),
    ("people", "phone_hash", Field::Phone),
    ("pcr_results", "iin_hash", Field::Iin),
    ("contacts", "iin_hash", Field::Iin),
    ("checkins", "iin_hash", Field::Iin),
    ("wallet_pupils", "pupil_hash", Field::Iin),
    ("wallet_pupils", "parent_iin_hash", Field::Iin),
    ("wallet_pupils", "parent_phone_hash", Field::Phone),
    ("family_members", "iin_hash", Field::Iin),
    ("family_links", "adult_iin_hash", Field::Iin),
    ("identity_pairs", "iin_hash", Field::Iin),
    ("identity_pairs", "phone_hash", Field::Phone),
];

// ---------------------------------------------------------------- versions

/// The key state recorded in the database (`None`: no rotation ever, version 1 writes).
pub async fn key_state(conn: &mut Conn) -> Result<Option<KeyState>, StoreError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT version, state FROM key_versions WHERE state IN ('current', 'previous')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let version = |s: &str| {
        rows.iter()
            .find(|(_, st)| st == s)
            .and_then(|(v, _)| u8::try_from(*v).ok())
    };
    Ok(version("current").map(|current| KeyState {
        current,
        previous: version("previous"),
    }))
}

/// Starts a rotation: `to` writes from now on, `from` is still read.
pub async fn activate(conn: &mut Conn, from: u8, to: u8, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO key_versions (version, state, created_at) VALUES ($1, 'previous', $2)
         ON CONFLICT (version) DO UPDATE SET state = 'previous'",
    )
    .bind(i64::from(from))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO key_versions (version, state, created_at) VALUES ($1, 'current', $2)
         ON CONFLICT (version) DO UPDATE SET state = 'current', retired_at = NULL",
    )
    .bind(i64::from(to))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// When `version` started writing.
pub async fn activated_at(conn: &mut Conn, version: u8) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT created_at FROM key_versions WHERE version = $1")
            .bind(i64::from(version))
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|r| r.0))
}

/// Ends a rotation: `version` is no longer read.
pub async fn retire(conn: &mut Conn, version: u8, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE key_versions SET state = 'retired', retired_at = $1 WHERE version = $2")
        .bind(now_ms)
        .bind(i64::from(version))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- progress

/// A table's progress in the rotation towards `version`: `(cursor, rows changed, done)`.
pub async fn progress(
    conn: &mut Conn,
    version: u8,
    table: &str,
) -> Result<(Option<String>, i64, bool), StoreError> {
    let row: Option<(Option<String>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT cursor_key, rows_changed, done_at FROM key_rotation_progress
         WHERE version = $1 AND table_name = $2",
    )
    .bind(i64::from(version))
    .bind(table)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map_or((None, 0, false), |(c, n, d)| (c, n, d.is_some())))
}

pub async fn save_progress(
    conn: &mut Conn,
    version: u8,
    table: &str,
    cursor: Option<&str>,
    rows_changed: i64,
    done_at: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO key_rotation_progress (version, table_name, cursor_key, rows_changed, done_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (version, table_name) DO UPDATE SET cursor_key = excluded.cursor_key,
            rows_changed = excluded.rows_changed, done_at = excluded.done_at",
    )
    .bind(i64::from(version))
    .bind(table)
    .bind(cursor)
    .bind(rows_changed)
    .bind(done_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- rows

/// One row's key, hash and sealed columns (in the order of its [`Spec`]).
#[derive(Debug, Clone)]
pub struct KeyedRow {
    pub key: RowKey,
    pub hashes: Vec<Option<Vec<u8>>>,
    pub sealed: Vec<Option<Vec<u8>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    Id(i64),
    Text(String),
    /// `identity_pairs`: the pair as stored, and the row's `created_at`.
    Pair(Vec<u8>, Vec<u8>, i64),
}

impl RowKey {
    /// The cursor saved after this row.
    pub fn cursor(&self) -> String {
        match self {
            RowKey::Id(id) => id.to_string(),
            RowKey::Text(t) => t.clone(),
            RowKey::Pair(a, b, _) => format!("{}:{}", hex::encode(a), hex::encode(b)),
        }
    }
}

fn columns(spec: &Spec) -> Vec<&'static str> {
    spec.hashes
        .iter()
        .chain(spec.sealed)
        .map(|(c, _)| *c)
        .collect()
}

/// The next `limit` rows of `spec.table` after `cursor` (from the start when `None`).
pub async fn batch(
    conn: &mut Conn,
    spec: &Spec,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<KeyedRow>, StoreError> {
    let cols = columns(spec).join(", ");
    let n_hash = spec.hashes.len();
    let n_all = n_hash + spec.sealed.len();
    let rows = match spec.key {
        KeyCols::Id(k) => {
            let after = cursor
                .and_then(|c| c.parse::<i64>().ok())
                .unwrap_or(i64::MIN);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {k}, {cols} FROM {t} WHERE {k} > $1 ORDER BY {k} LIMIT $2",
                t = spec.table
            )))
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        KeyCols::Text(k) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {k}, {cols} FROM {t} WHERE {k} > $1 ORDER BY {k} LIMIT $2",
                t = spec.table
            )))
            .bind(cursor.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        KeyCols::Pair => {
            let (a, b) = cursor
                .and_then(|c| c.split_once(':'))
                .and_then(|(a, b)| Some((hex::decode(a).ok()?, hex::decode(b).ok()?)))
                .unwrap_or_default();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT created_at, {cols} FROM {t}
                 WHERE iin_hash > $1 OR (iin_hash = $1 AND phone_hash > $2)
                 ORDER BY iin_hash, phone_hash LIMIT $3",
                t = spec.table
            )))
            .bind(a)
            .bind(b)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut vals = Vec::with_capacity(n_all);
        for i in 0..n_all {
            vals.push(r.try_get::<Option<Vec<u8>>, _>(i + 1)?);
        }
        let key = match spec.key {
            KeyCols::Id(_) => RowKey::Id(r.try_get::<i64, _>(0)?),
            KeyCols::Text(_) => RowKey::Text(r.try_get::<String, _>(0)?),
            KeyCols::Pair => RowKey::Pair(
                vals[0].clone().unwrap_or_default(),
                vals[1].clone().unwrap_or_default(),
                r.try_get::<i64, _>(0)?,
            ),
        };
        let sealed = vals.split_off(n_hash);
        out.push(KeyedRow {
            key,
            hashes: vals,
            sealed,
        });
    }
    Ok(out)
}

/// Writes a row's rewritten hash and sealed columns back.
pub async fn rewrite(conn: &mut Conn, spec: &Spec, row: &KeyedRow) -> Result<(), StoreError> {
    let cols = columns(spec);
    let values: Vec<&Option<Vec<u8>>> = row.hashes.iter().chain(&row.sealed).collect();
    match &row.key {
        RowKey::Pair(old_iin, old_phone, created_at) => {
            // The key itself changes: delete the old pair, add the new one (already there
            // when an import added it under the new version meanwhile).
            sqlx::query("DELETE FROM identity_pairs WHERE iin_hash = $1 AND phone_hash = $2")
                .bind(old_iin)
                .bind(old_phone)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO identity_pairs (iin_hash, phone_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (iin_hash, phone_hash) DO NOTHING",
            )
            .bind(values[0].clone().unwrap_or_default())
            .bind(values[1].clone().unwrap_or_default())
            .bind(created_at)
            .execute(&mut *conn)
            .await?;
        }
        key => {
            let set: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ${}", i + 1))
                .collect();
            let k = match spec.key {
                KeyCols::Id(k) | KeyCols::Text(k) => k,
                KeyCols::Pair => "iin_hash",
            };
            let sql = format!(
                "UPDATE {} SET {} WHERE {k} = ${}",
                spec.table,
                set.join(", "),
                cols.len() + 1
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in values {
                q = q.bind(v.clone());
            }
            q = match key {
                RowKey::Id(id) => q.bind(*id),
                RowKey::Text(t) => q.bind(t.clone()),
                RowKey::Pair(..) => unreachable!("handled above"),
            };
            q.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Rows of `spec.table` with a hash or sealed value not under `version` (≥ 2).
pub async fn remaining(conn: &mut Conn, spec: &Spec, version: u8) -> Result<i64, StoreError> {
    let mut preds: Vec<String> = spec
        .hashes
        .iter()
        .map(|(c, _)| {
            format!("({c} IS NOT NULL AND NOT (length({c}) = 33 AND substr({c}, 1, 1) = $1))")
        })
        .collect();
    preds.extend(
        spec.sealed
            .iter()
            .map(|(c, _)| format!("({c} IS NOT NULL AND substr({c}, 1, 1) <> $1)")),
    );
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        spec.table,
        preds.join(" OR ")
    )))
    .bind(vec![version])
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// Moves every look-up column of `field` holding `old` to `new` (the same value's hash
/// under the previous and the current version).
pub async fn settle(
    conn: &mut Conn,
    field: Field,
    old: &[u8],
    new: &[u8],
) -> Result<u64, StoreError> {
    let mut changed = 0;
    for (table, col, f) in LOOKUP_COLUMNS {
        if *f != field {
            continue;
        }
        if *table == "identity_pairs" {
            // The pair is the key: drop old rows whose new form already exists.
            let other = if *col == "iin_hash" {
                "phone_hash"
            } else {
                "iin_hash"
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM identity_pairs WHERE {col} = $1 AND EXISTS
                   (SELECT 1 FROM identity_pairs x WHERE x.{col} = $2 AND x.{other} = identity_pairs.{other})"
            )))
            .bind(old)
            .bind(new)
            .execute(&mut *conn)
            .await?;
        }
        changed += sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {col} = $1 WHERE {col} = $2"
        )))
        .bind(new)
        .bind(old)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(changed)
}
