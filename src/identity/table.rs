//! The `table` registry: our own list of `(IIN, phone)` pairs from the mobile citizens
//! database, each number stored only as its keyed hash (`crypto::Vault::lookup_hash`), fed by
//! `ashyq identity import FILE.csv` and `POST /api/v1/identity`. A pair can be removed: a
//! number given up goes to someone else later.
//!
//! Answers: the pair is listed → `match`; the IIN or the number is listed, but not with each
//! other → `mismatch`; neither is listed → `unknown` (registration then waits and retries,
//! so a pair fed later still completes it).

use super::{IdentityRegistry, RegistryError, Verdict};
use crate::core::Core;
use crate::core::import::Progress;
use crate::crypto::{Field, Vault};
use crate::domain::{Iin, Phone};
use crate::storage::{Store, StoreError, identity};
use futures::future::BoxFuture;
use std::io::Read;

#[derive(Clone)]
pub struct TableRegistry {
    store: Store,
    vault: Vault,
}

impl std::fmt::Debug for TableRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TableRegistry")
    }
}

impl TableRegistry {
    pub fn new(store: Store, vault: Vault) -> Self {
        Self { store, vault }
    }
}

/// The verdict from what the table knows.
pub fn verdict(facts: identity::PairFacts) -> Verdict {
    if facts.pair {
        Verdict::Match
    } else if facts.iin_known || facts.phone_known {
        Verdict::Mismatch
    } else {
        Verdict::Unknown
    }
}

impl IdentityRegistry for TableRegistry {
    fn check<'a>(
        &'a self,
        iin: &'a Iin,
        phone: &'a Phone,
    ) -> BoxFuture<'a, Result<Verdict, RegistryError>> {
        Box::pin(async move {
            // Current and (while a key rotation runs) previous versions: a read only, as this
            // runs beside the event's transaction.
            let iin_hashes = self.vault.lookup_hashes(Field::Iin, &iin.expose());
            let phone_hashes = self.vault.lookup_hashes(Field::Phone, phone.expose());
            let mut conn = self
                .store
                .pool()
                .acquire()
                .await
                .map_err(StoreError::from)?;
            let facts = identity::pair_facts(&mut conn, &iin_hashes, &phone_hashes).await?;
            Ok(verdict(facts))
        })
    }

    fn kind(&self) -> &'static str {
        "table"
    }
}

/// One row or item, parsed: the IIN (any form `Iin::parse` reads) and the phone (any
/// common written form `Phone::parse` reads).
pub fn parse_pair(iin: &str, phone: &str) -> Result<(Iin, Phone), String> {
    let iin = Iin::parse(iin).map_err(|e| format!("iin: {e}"))?;
    let phone = Phone::parse(phone).map_err(|e| format!("phone: {e}"))?;
    Ok((iin, phone))
}

/// A bad row (CSV line number, or the item's index in a batch) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub index: usize,
    pub reason: String,
}

/// What a feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// New pairs stored.
    pub added: usize,
    /// Pairs already stored (nothing written).
    pub duplicates: usize,
    /// Pairs removed.
    pub removed: usize,
    /// Removals of pairs that were not stored.
    pub absent: usize,
    pub rejected: Vec<Rejection>,
}

/// What to do with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
}

/// Writes parsed pairs in one transaction.
pub async fn write(
    core: &Core,
    pairs: &[(Op, Iin, Phone)],
    report: &mut Report,
) -> Result<(), StoreError> {
    if pairs.is_empty() {
        return Ok(());
    }
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    for (_, iin, phone) in pairs {
        crate::security::keys::settle(&mut tx, &core.vault, Field::Iin, &iin.expose()).await?;
        crate::security::keys::settle(&mut tx, &core.vault, Field::Phone, phone.expose()).await?;
    }
    // Additions in multi-row statements, removals one by one (rare).
    let adds: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .iter()
        .filter(|(op, ..)| *op == Op::Add)
        .map(|(_, iin, phone)| {
            (
                core.vault.lookup_hash(Field::Iin, &iin.expose()),
                core.vault.lookup_hash(Field::Phone, phone.expose()),
            )
        })
        .collect();
    for chunk in adds.chunks(identity::PAIRS_PER_STATEMENT) {
        let added = identity::add_pairs(&mut tx, chunk, now).await? as usize;
        report.added += added;
        report.duplicates += chunk.len() - added;
    }
    for (op, iin, phone) in pairs {
        let iin_hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
        let phone_hash = core.vault.lookup_hash(Field::Phone, phone.expose());
        match op {
            Op::Add => {}
            Op::Remove => {
                if identity::remove_pair(&mut tx, &iin_hash, &phone_hash).await? {
                    report.removed += 1;
                } else {
                    report.absent += 1;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Adds one pair (the terminal chat's demo pair, tests).
pub async fn add(core: &Core, iin: &Iin, phone: &Phone) -> Result<bool, StoreError> {
    let mut report = Report::default();
    write(core, &[(Op::Add, iin.clone(), phone.clone())], &mut report).await?;
    Ok(report.added == 1)
}

/// Removes one pair (a recycled number).
pub async fn remove(core: &Core, iin: &Iin, phone: &Phone) -> Result<bool, StoreError> {
    let mut report = Report::default();
    write(
        core,
        &[(Op::Remove, iin.clone(), phone.clone())],
        &mut report,
    )
    .await?;
    Ok(report.removed == 1)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    iin: String,
    phone: String,
    #[serde(default)]
    remove: bool,
}

/// `POST /api/v1/identity` items: `{"iin", "phone", "remove"?}`. Bad items are reported by
/// index; the good ones are written.
pub async fn ingest(core: &Core, items: Vec<serde_json::Value>) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut pairs = Vec::with_capacity(items.len());
    for (index, value) in items.into_iter().enumerate() {
        let parsed = serde_json::from_value::<Item>(value)
            .map_err(|e| format!("malformed item: {e}"))
            .and_then(|item| {
                let op = if item.remove { Op::Remove } else { Op::Add };
                parse_pair(&item.iin, &item.phone).map(|(i, p)| (op, i, p))
            });
        match parsed {
            Ok(pair) => pairs.push(pair),
            Err(reason) => report.rejected.push(Rejection { index, reason }),
        }
    }
    write(core, &pairs, &mut report).await?;
    Ok(report)
}

/// Rows per transaction of a CSV import.
pub const CSV_BATCH: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the header must be `iin,phone` (found `{0}`)")]
    Header(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `ashyq identity import FILE.csv`: columns `iin,phone`; idempotent (a pair already stored
/// is a duplicate); a bad row is reported with its line number and the others imported.
/// With `remove`, the file's pairs are removed instead.
pub async fn import_csv(
    core: &Core,
    reader: impl Read,
    remove: bool,
    progress: &dyn Progress,
) -> Result<Report, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let header: Vec<String> = csv.headers()?.iter().map(str::to_lowercase).collect();
    if header != ["iin", "phone"] {
        return Err(ImportError::Header(header.join(",")));
    }
    let op = if remove { Op::Remove } else { Op::Add };
    let mut report = Report::default();
    let mut batch = Vec::with_capacity(CSV_BATCH);
    let mut rows = 0u64;
    for record in csv.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        rows += 1;
        if record.len() != 2 {
            report.rejected.push(Rejection {
                index: line,
                reason: format!("expected 2 columns, found {}", record.len()),
            });
            continue;
        }
        match parse_pair(&record[0], &record[1]) {
            Ok((iin, phone)) => batch.push((op, iin, phone)),
            Err(reason) => report.rejected.push(Rejection {
                index: line,
                reason,
            }),
        }
        if batch.len() >= CSV_BATCH {
            write(core, &batch, &mut report).await?;
            batch.clear();
            let bytes = record.position().map_or(0, |p| p.byte());
            progress.update(bytes, rows);
        }
    }
    write(core, &batch, &mut report).await?;
    progress.update(csv.position().byte(), rows);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::identity::PairFacts;

    #[test]
    fn table_verdicts() {
        let f = |pair, iin_known, phone_known| PairFacts {
            pair,
            iin_known,
            phone_known,
        };
        assert_eq!(verdict(f(true, true, true)), Verdict::Match);
        assert_eq!(verdict(f(false, true, false)), Verdict::Mismatch);
        assert_eq!(verdict(f(false, false, true)), Verdict::Mismatch);
        assert_eq!(verdict(f(false, false, false)), Verdict::Unknown);
    }

    #[test]
    fn pairs_parse_common_forms_and_name_the_bad_column() {
        let (iin, phone) = parse_pair("900101 300017", "8 (701) 123-45-67").unwrap();
        assert_eq!(iin.expose(), "900101300017");
        assert_eq!(phone.expose(), "+77011234567");
        assert!(
            parse_pair("900101300018", "+77011234567")
                .unwrap_err()
                .starts_with("iin")
        );
        assert!(
            parse_pair("900101300017", "call me")
                .unwrap_err()
                .starts_with("phone")
        );
    }
}
