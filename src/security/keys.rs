//! Key rotation (docs/SECURITY.md, "Key rotation"; docs/OPERATIONS.md): `ashyq keys rotate`
//! makes a newer key version the one that writes, then re-hashes and re-seals every stored
//! value in batches while the service keeps serving, and retires the old version when
//! nothing is left under it.
//!
//! - Every stored keyed hash and sealed value carries its version (`crypto::Vault`), so rows of
//!   both versions coexist. The database says which version writes (`key_versions`); every
//!   process loads it at start ([`refresh`]) and again every [`REFRESH`] (`serve`).
//! - The rotation waits [`GRACE_MS`] after the switch before it rewrites anything (so every
//!   replica writes the new version first), then goes table by table in batches of [`BATCH`]
//!   rows, each batch in one transaction with its cursor (`key_rotation_progress`): a rotation
//!   that was stopped resumes at its last batch, and a rewritten row is never rewritten twice.
//! - Look-ups keep working meanwhile: before a look-up by a plain value, [`settle`] moves that
//!   value's rows in every look-up column from the previous to the current version, so the
//!   query by the current hash finds them all (records, bindings, vouchers, pairs alike);
//!   look-ups by a stored hash try both versions (`Vault::same_hash`). Sealed values open
//!   under either version.
//! - When every table is done, the rotation counts the rows still under an older version
//!   (written by a replica that had not yet seen the switch); any left, it passes again.
//!   None left, and [`GRACE_MS`] since the switch: the previous version is retired (no longer
//!   read; its secret stays in the key material only as the inner link of the hash chain).

use crate::crypto::{CryptoError, Field, KeyState, Vault};
use crate::storage::keys::{self as store, KeyedRow, SPECS, Spec};
use crate::storage::{Conn, Store, StoreError};
use std::time::Duration;

/// Rows rewritten per transaction.
pub const BATCH: i64 = 500;
/// How long after the switch the rotation starts rewriting, and the least time before the
/// old version is retired: every replica reloads the key state within [`REFRESH`].
pub const GRACE_MS: i64 = 30_000;
/// How often `serve` reloads the key state.
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(
        "no key version newer than {current} is configured: add one (`ashyq keys rotate` does so in the key file; with ASHYQ_SECRET_KEY, append ` N:<secret from ashyq keygen>` on every replica first)"
    )]
    NoNewVersion { current: u8 },
    #[error("{table}: a stored value cannot be moved to key version {to} ({why})")]
    BadValue {
        table: &'static str,
        to: u8,
        why: &'static str,
    },
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> Self {
        KeyError::Store(StoreError::Db(e))
    }
}

/// Loads the key state from the database into `vault`.
pub async fn refresh(store: &Store, vault: &Vault) -> Result<KeyState, KeyError> {
    let mut conn = store.pool().acquire().await?;
    let state = store::key_state(&mut conn).await?.unwrap_or_default();
    vault.set_state(state)?;
    Ok(state)
}

/// What [`start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// `to` writes from now on; `from` is still read until the rotation ends.
    New { from: u8, to: u8 },
    /// A rotation was already under way (it resumes where it stopped).
    Resumed { from: u8, to: u8 },
}

/// Makes the newest configured version the one that writes (or finds the rotation that is
/// under way).
pub async fn start(store: &Store, vault: &Vault, now_ms: i64) -> Result<Started, KeyError> {
    let state = refresh(store, vault).await?;
    if let Some(from) = state.previous {
        return Ok(Started::Resumed {
            from,
            to: state.current,
        });
    }
    let newest = vault.versions().last().copied().unwrap_or(1);
    if newest <= state.current {
        return Err(KeyError::NoNewVersion {
            current: state.current,
        });
    }
    let mut tx = store.begin().await?;
    store::activate(&mut tx, state.current, newest, now_ms).await?;
    tx.commit().await?;
    vault.set_state(KeyState {
        current: newest,
        previous: Some(state.current),
    })?;
    tracing::info!(
        from = state.current,
        to = newest,
        "keys: a new version writes; re-hashing and re-sealing in the background"
    );
    Ok(Started::New {
        from: state.current,
        to: newest,
    })
}

/// What one [`step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No rotation under way.
    Idle,
    /// Too early after the switch (other replicas may still write the old version).
    Waiting,
    /// One batch of `table`: `changed` rows rewritten; `finished` when the table is done.
    Batch {
        table: &'static str,
        changed: usize,
        finished: bool,
    },
    /// Every table was passed but `left` rows are still under an older version: passing again.
    Again { left: i64 },
    /// Nothing is left under `version`: it is retired.
    Retired { version: u8 },
}

/// One batch of the rotation under way (in one transaction with its cursor).
pub async fn step(store: &Store, vault: &Vault, batch: i64, now_ms: i64) -> Result<Step, KeyError> {
    let state = vault.state();
    let Some(from) = state.previous else {
        return Ok(Step::Idle);
    };
    let to = state.current;
    let mut tx = store.begin().await?;
    let since = store::activated_at(&mut tx, to).await?.unwrap_or(now_ms);
    if now_ms - since < GRACE_MS {
        return Ok(Step::Waiting);
    }
    for spec in SPECS {
        let (cursor, changed_before, done) = store::progress(&mut tx, to, spec.table).await?;
        if done {
            continue;
        }
        let rows = store::batch(&mut tx, spec, cursor.as_deref(), batch).await?;
        let Some(last) = rows.last().map(|r| r.key.cursor()) else {
            store::save_progress(
                &mut tx,
                to,
                spec.table,
                cursor.as_deref(),
                changed_before,
                Some(now_ms),
            )
            .await?;
            tx.commit().await?;
            return Ok(Step::Batch {
                table: spec.table,
                changed: 0,
                finished: true,
            });
        };
        let mut changed = 0;
        for mut row in rows {
            if rewrite_row(vault, spec, &mut row, to)? {
                store::rewrite(&mut tx, spec, &row).await?;
                changed += 1;
            }
        }
        store::save_progress(
            &mut tx,
            to,
            spec.table,
            Some(&last),
            changed_before + changed as i64,
            None,
        )
        .await?;
        tx.commit().await?;
        return Ok(Step::Batch {
            table: spec.table,
            changed,
            finished: false,
        });
    }
    let mut left = 0;
    for spec in SPECS {
        left += store::remaining(&mut tx, spec, to).await?;
    }
    if left > 0 {
        for spec in SPECS {
            let (_, changed, _) = store::progress(&mut tx, to, spec.table).await?;
            store::save_progress(&mut tx, to, spec.table, None, changed, None).await?;
        }
        tx.commit().await?;
        tracing::info!(
            left,
            to,
            "keys: rows still under an older version, passing again"
        );
        return Ok(Step::Again { left });
    }
    store::retire(&mut tx, from, now_ms).await?;
    tx.commit().await?;
    vault.set_state(KeyState {
        current: to,
        previous: None,
    })?;
    tracing::info!(retired = from, current = to, "keys: rotation complete");
    Ok(Step::Retired { version: from })
}

/// Moves a row's values to version `to`; whether anything changed.
fn rewrite_row(vault: &Vault, spec: &Spec, row: &mut KeyedRow, to: u8) -> Result<bool, KeyError> {
    let bad = |why| KeyError::BadValue {
        table: spec.table,
        to,
        why,
    };
    let mut changed = false;
    for h in row.hashes.iter_mut().flatten() {
        match Vault::hash_version(h) {
            Some(v) if v == to => {}
            Some(_) => {
                *h = vault
                    .upgrade_hash(h, to)
                    .ok_or_else(|| bad("a hash newer than the rotation"))?;
                changed = true;
            }
            None => return Err(bad("not a keyed hash")),
        }
    }
    for (value, (_, field)) in row.sealed.iter_mut().zip(spec.sealed) {
        let Some(sealed) = value else { continue };
        if Vault::sealed_version(sealed) == Some(to) {
            continue;
        }
        let plain = vault
            .open(*field, sealed)
            .map_err(|_| bad("a sealed value that does not open"))?;
        *sealed = vault.seal(*field, &plain);
        changed = true;
    }
    Ok(changed)
}

/// Runs the rotation under way to its end (or until `stop`), `on_batch` told of each step.
pub async fn run(
    store: &Store,
    vault: &Vault,
    batch: i64,
    now: impl Fn() -> i64,
    stop: Option<&tokio_util::sync::CancellationToken>,
    mut on_step: impl FnMut(&Step),
) -> Result<Step, KeyError> {
    loop {
        if stop.is_some_and(|s| s.is_cancelled()) {
            return Ok(Step::Waiting);
        }
        let s = step(store, vault, batch, now()).await?;
        on_step(&s);
        match s {
            Step::Idle | Step::Retired { .. } => return Ok(s),
            Step::Waiting => {
                let wait = std::time::Duration::from_secs(1);
                match stop {
                    Some(stop) => tokio::select! {
                        () = stop.cancelled() => return Ok(Step::Waiting),
                        () = tokio::time::sleep(wait) => {}
                    },
                    None => tokio::time::sleep(wait).await,
                }
            }
            _ => {}
        }
    }
}

/// Before a look-up by a plain value while a rotation runs: moves that value's hash in every
/// look-up column from the previous to the current version (a no-op otherwise).
pub async fn settle(
    conn: &mut Conn,
    vault: &Vault,
    field: Field,
    value: &str,
) -> Result<(), StoreError> {
    let state = vault.state();
    let Some(previous) = state.previous else {
        return Ok(());
    };
    let Ok(old) = vault.lookup_hash_at(field, value, previous) else {
        return Ok(());
    };
    let new = vault.lookup_hash(field, value);
    store::settle(conn, field, &old, &new).await?;
    Ok(())
}

/// [`settle`] for many plain values of one field, in one transaction of its own (before a
/// feed or an import writes rows found by these values).
pub async fn settle_many(
    store: &Store,
    vault: &Vault,
    field: Field,
    values: &[String],
) -> Result<(), StoreError> {
    if vault.state().previous.is_none() || values.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for v in values {
        settle(&mut tx, vault, field, v).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rows still under an older version than the current one, per table (all zero after a
/// completed rotation).
pub async fn remaining(store: &Store, vault: &Vault) -> Result<Vec<(&'static str, i64)>, KeyError> {
    let current = vault.state().current;
    let mut conn = store.pool().acquire().await?;
    let mut out = Vec::new();
    for spec in SPECS {
        let n = if current >= 2 {
            store::remaining(&mut conn, spec, current).await?
        } else {
            0
        };
        out.push((spec.table, n));
    }
    Ok(out)
}

/// `serve`'s loop on every replica: reloads the key state every [`REFRESH`].
pub async fn refresh_loop(store: Store, vault: Vault, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = refresh(&store, &vault).await {
                    tracing::warn!(error = %e, "keys: cannot reload the key state");
                }
            }
        }
    }
}

/// `serve`'s loop under the leader lock `keys`: carries a rotation under way on (one
/// started by `ashyq keys rotate` that was stopped, or still running elsewhere).
pub async fn rotation_loop(
    core: std::sync::Arc<crate::core::Core>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if core.vault.state().previous.is_none() {
                    continue;
                }
                let c = core.clone();
                let done = run(&core.store, &core.vault, BATCH, move || c.now_ms(), Some(&stop), |_| {}).await;
                if let Err(e) = done {
                    tracing::error!(error = %e, "keys: the rotation stopped");
                }
            }
        }
    }
}
