//! Health-data feeds: PCR results and contacts from laboratories and epidemiologists, by
//! HTTP batch or CSV import. One validation and one write path for both.
//!
//! Per-item atomicity (domain: "nothing partial is written for a rejected item"): every
//! item is validated on its own; the good items of a batch are written in one transaction
//! and the bad ones are reported with their index (or CSV line) and reason. An item is
//! idempotent by its `external_id`: the same content again is counted as a duplicate and
//! writes nothing; the same id with other content is rejected. A PCR result sent again
//! with `"withdrawn": true` withdraws it (it then counts as never sent); a withdrawn result
//! cannot be reinstated.

use super::status::{Changes, on_records_changed};
use super::{Core, CoreError};
use crate::crypto::{Field, Vault};
use crate::domain::{Iin, IinError};
use crate::storage::health::{self, Existing, NewContact, NewPcr};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The largest batch one request may carry.
pub const MAX_BATCH: usize = 10_000;
/// Longest external id, laboratory name or case id.
pub const MAX_ID_CHARS: usize = 128;

/// One PCR result as a sender posts it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcrItem {
    pub iin: String,
    /// RFC 3339, when the sample was taken.
    pub taken_at: String,
    /// RFC 3339, when the result became known.
    pub result_at: String,
    /// `positive` or `negative`.
    pub result: String,
    pub lab: String,
    pub external_id: String,
    #[serde(default)]
    pub withdrawn: bool,
}

/// One close contact as a sender posts it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactItem {
    pub iin: String,
    /// `YYYY-MM-DD`, local date of the contact.
    pub contact_date: String,
    pub case_id: String,
    pub external_id: String,
}

/// A rejected item: where it was (batch index or CSV line), its external id when known,
/// and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rejection {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub reason: String,
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    pub accepted: usize,
    pub duplicates: usize,
    pub withdrawn: usize,
    pub rejected: Vec<Rejection>,
    /// Change notices queued for registered citizens.
    pub notices: usize,
}

impl Report {
    pub fn merge(&mut self, other: Report) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.withdrawn += other.withdrawn;
        self.rejected.extend(other.rejected);
        self.notices += other.notices;
    }
}

fn iin_reason(e: IinError) -> String {
    match e {
        IinError::WrongLength(n) => format!("invalid IIN: {n} digits instead of 12"),
        IinError::NotDigits => "invalid IIN: not only digits".into(),
        IinError::BadChecksum => "invalid IIN: wrong check digit".into(),
        IinError::ImpossibleDate => "invalid IIN: impossible birth date".into(),
    }
}

fn text_field(name: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("{name} is empty"));
    }
    if v.chars().count() > MAX_ID_CHARS {
        return Err(format!("{name} is longer than {MAX_ID_CHARS} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{name} contains control characters"));
    }
    Ok(v.to_string())
}

fn time_field(name: &str, value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| format!("{name} is not an RFC 3339 time with offset"))?
        .to_utc();
    if t > now {
        return Err(format!("{name} is in the future"));
    }
    Ok(t)
}

fn content_hash(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().to_vec()
}

/// Checks one PCR item and prepares its row.
pub fn validate_pcr(vault: &Vault, item: &PcrItem, now: DateTime<Utc>) -> Result<NewPcr, String> {
    let external_id = text_field("external_id", &item.external_id)?;
    let iin = Iin::parse(&item.iin).map_err(iin_reason)?;
    let taken = time_field("taken_at", &item.taken_at, now)?;
    let result = time_field("result_at", &item.result_at, now)?;
    if result < taken {
        return Err("result_at is before taken_at".into());
    }
    if crate::status::local_date(taken) < iin.birth_date() {
        return Err("taken_at is before the person's birth date".into());
    }
    let positive = match item.result.trim() {
        "positive" => true,
        "negative" => false,
        _ => return Err("result must be \"positive\" or \"negative\"".into()),
    };
    let lab = text_field("lab", &item.lab)?;
    let iin_hash = vault.lookup_hash(Field::Iin, &iin.expose());
    // The content hash names the IIN by its pinned hash: a resent item stays the same item
    // across key rotations.
    let hash = content_hash(&[
        &vault.pinned_hash(Field::Iin, &iin.expose()),
        &taken.timestamp_millis().to_be_bytes(),
        &result.timestamp_millis().to_be_bytes(),
        &[u8::from(positive)],
        lab.as_bytes(),
    ]);
    Ok(NewPcr {
        iin_hash,
        taken_at: taken.timestamp_millis(),
        result_at: result.timestamp_millis(),
        positive,
        lab,
        external_id,
        content_hash: hash,
        withdrawn: item.withdrawn,
    })
}

/// Checks one contact item and prepares its row.
pub fn validate_contact(
    vault: &Vault,
    item: &ContactItem,
    now: DateTime<Utc>,
) -> Result<NewContact, String> {
    let external_id = text_field("external_id", &item.external_id)?;
    let iin = Iin::parse(&item.iin).map_err(iin_reason)?;
    let date = NaiveDate::parse_from_str(item.contact_date.trim(), "%Y-%m-%d")
        .map_err(|_| "contact_date is not a date YYYY-MM-DD".to_string())?;
    if date > crate::status::local_date(now) {
        return Err("contact_date is in the future".into());
    }
    if date < iin.birth_date() {
        return Err("contact_date is before the person's birth date".into());
    }
    let case_id = text_field("case_id", &item.case_id)?;
    let iin_hash = vault.lookup_hash(Field::Iin, &iin.expose());
    let contact_date = date.format("%Y-%m-%d").to_string();
    let hash = content_hash(&[
        &vault.pinned_hash(Field::Iin, &iin.expose()),
        contact_date.as_bytes(),
        case_id.as_bytes(),
    ]);
    Ok(NewContact {
        iin_hash,
        contact_date,
        case_id,
        external_id,
        content_hash: hash,
    })
}

/// Parses raw JSON items (from an HTTP batch): unknown fields, wrong types and missing
/// fields are rejected per item, naming the field.
pub fn parse_items<T: serde::de::DeserializeOwned>(
    raw: Vec<serde_json::Value>,
) -> Vec<(usize, Result<T, Rejection>)> {
    raw.into_iter()
        .enumerate()
        .map(|(index, v)| {
            let external_id = v
                .get("external_id")
                .and_then(|e| e.as_str())
                .map(str::to_string);
            let parsed = serde_json::from_value::<T>(v).map_err(|e| Rejection {
                index,
                external_id,
                reason: e.to_string(),
            });
            (index, parsed)
        })
        .collect()
}

/// Something that has an external id and a content hash.
trait Keyed {
    fn external_id(&self) -> &str;
    fn content_hash(&self) -> &[u8];
}

impl Keyed for NewPcr {
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn content_hash(&self) -> &[u8] {
        &self.content_hash
    }
}

impl Keyed for NewContact {
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn content_hash(&self) -> &[u8] {
        &self.content_hash
    }
}

/// Drops repeats inside one batch: the same content again is a duplicate, the same id
/// with other content is rejected.
fn dedupe_in_batch<T: Keyed>(items: Vec<(usize, T)>, report: &mut Report) -> Vec<(usize, T)> {
    let mut seen: HashMap<String, (usize, Vec<u8>)> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items {
        match seen.get(item.external_id()) {
            Some((_, hash)) if hash.as_slice() == item.content_hash() => report.duplicates += 1,
            Some((first, _)) => report.rejected.push(Rejection {
                index,
                external_id: Some(item.external_id().to_string()),
                reason: format!("external_id repeats item {first} with different content"),
            }),
            None => {
                seen.insert(
                    item.external_id().to_string(),
                    (index, item.content_hash().to_vec()),
                );
                out.push((index, item));
            }
        }
    }
    out
}

/// Writes validated PCR results in one transaction (multi-row inserts), classifies the
/// ones already stored, and queues change notices. `items` carry their batch index or line.
pub async fn write_pcr(
    core: &Core,
    items: Vec<(usize, NewPcr)>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let mut report = Report::default();
    let items = dedupe_in_batch(items, &mut report);
    if items.is_empty() {
        return Ok(report);
    }
    let now_ms = core.now_ms();
    let mut tx = core.store.begin().await?;
    let rows: Vec<NewPcr> = items.iter().map(|(_, i)| i.clone()).collect();
    let inserted = health::insert_pcr_many(&mut tx, &rows, api_key_id, now_ms).await?;
    let mut changes = Changes::default();
    let inserted_ids: HashMap<&str, i64> =
        inserted.iter().map(|(id, e)| (e.as_str(), *id)).collect();
    let mut rest = Vec::new();
    for (index, item) in &items {
        match inserted_ids.get(item.external_id.as_str()) {
            Some(id) => {
                report.accepted += 1;
                changes.new_pcr.insert(*id);
                changes.iin_hashes.push(item.iin_hash.clone());
            }
            None => rest.push((*index, item)),
        }
    }
    if !rest.is_empty() {
        let ids: Vec<String> = rest.iter().map(|(_, i)| i.external_id.clone()).collect();
        let existing: HashMap<String, Existing> = health::pcr_by_external_ids(&mut tx, &ids)
            .await?
            .into_iter()
            .map(|e| (e.external_id.clone(), e))
            .collect();
        for (index, item) in rest {
            let Some(old) = existing.get(&item.external_id) else {
                // Inserted by a concurrent batch between our insert and this read: the
                // unique index kept one copy; treat it as a duplicate.
                report.duplicates += 1;
                continue;
            };
            if old.content_hash != item.content_hash {
                report.rejected.push(Rejection {
                    index,
                    external_id: Some(item.external_id.clone()),
                    reason: "external_id is already stored with different content".into(),
                });
            } else if item.withdrawn && old.withdrawn_at.is_none() {
                health::withdraw_pcr(&mut tx, old.id, now_ms).await?;
                report.withdrawn += 1;
                changes.withdrawn_pcr.insert(old.id);
                changes.iin_hashes.push(item.iin_hash.clone());
            } else if !item.withdrawn && old.withdrawn_at.is_some() {
                report.rejected.push(Rejection {
                    index,
                    external_id: Some(item.external_id.clone()),
                    reason: "this result was withdrawn and cannot be reinstated; send it under a new external_id".into(),
                });
            } else {
                report.duplicates += 1;
            }
        }
    }
    report.notices = on_records_changed(core, &mut tx, &changes).await?;
    super::exposure::queue(&mut tx, &changes.new_pcr, &changes.withdrawn_pcr, now_ms).await?;
    if !changes.iin_hashes.is_empty() {
        health::record_changes(&mut tx, &changes.iin_hashes, now_ms).await?;
    }
    tx.commit().await?;
    core.invalidate_statuses(&changes.iin_hashes);
    if report.notices > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(report)
}

/// Writes validated contacts in one transaction, like [`write_pcr`].
pub async fn write_contacts(
    core: &Core,
    items: Vec<(usize, NewContact)>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let mut report = Report::default();
    let items = dedupe_in_batch(items, &mut report);
    if items.is_empty() {
        return Ok(report);
    }
    let now_ms = core.now_ms();
    let mut tx = core.store.begin().await?;
    let rows: Vec<NewContact> = items.iter().map(|(_, i)| i.clone()).collect();
    let inserted = health::insert_contacts_many(&mut tx, &rows, api_key_id, now_ms).await?;
    let mut changes = Changes::default();
    let inserted_ids: HashMap<&str, i64> =
        inserted.iter().map(|(id, e)| (e.as_str(), *id)).collect();
    let mut rest = Vec::new();
    for (index, item) in &items {
        match inserted_ids.get(item.external_id.as_str()) {
            Some(id) => {
                report.accepted += 1;
                changes.new_contacts.insert(*id);
                changes.iin_hashes.push(item.iin_hash.clone());
            }
            None => rest.push((*index, item)),
        }
    }
    if !rest.is_empty() {
        let ids: Vec<String> = rest.iter().map(|(_, i)| i.external_id.clone()).collect();
        let existing: HashMap<String, Vec<u8>> = health::contacts_by_external_ids(&mut tx, &ids)
            .await?
            .into_iter()
            .map(|e| (e.external_id, e.content_hash))
            .collect();
        for (index, item) in rest {
            match existing.get(&item.external_id) {
                Some(hash) if *hash != item.content_hash => report.rejected.push(Rejection {
                    index,
                    external_id: Some(item.external_id.clone()),
                    reason: "external_id is already stored with different content".into(),
                }),
                _ => report.duplicates += 1,
            }
        }
    }
    report.notices = on_records_changed(core, &mut tx, &changes).await?;
    if !changes.iin_hashes.is_empty() {
        health::record_changes(&mut tx, &changes.iin_hashes, now_ms).await?;
    }
    tx.commit().await?;
    core.invalidate_statuses(&changes.iin_hashes);
    if report.notices > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(report)
}

/// While a key rotation runs: moves the rows of these IINs (as sent; invalid ones are
/// skipped) to the current key version before their new records are written, so the people
/// they belong to are found by the records' hashes (`security::keys::settle`).
pub async fn settle_iins(core: &Core, raw: &[String]) -> Result<(), CoreError> {
    if core.vault.state().previous.is_none() {
        return Ok(());
    }
    let iins: Vec<String> = raw
        .iter()
        .filter_map(|r| Iin::parse(r).ok())
        .map(|i| i.expose())
        .collect();
    crate::security::keys::settle_many(&core.store, &core.vault, Field::Iin, &iins).await?;
    Ok(())
}

/// Validates and writes a JSON batch of PCR results (the HTTP feed).
pub async fn ingest_pcr(
    core: &Core,
    raw: Vec<serde_json::Value>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let now = core.clock.now();
    let mut rejected = Vec::new();
    let mut good = Vec::new();
    let mut raw_iins = Vec::new();
    for (index, parsed) in parse_items::<PcrItem>(raw) {
        match parsed.and_then(|item| {
            raw_iins.push(item.iin.clone());
            validate_pcr(&core.vault, &item, now).map_err(|reason| Rejection {
                index,
                external_id: Some(item.external_id.clone()),
                reason,
            })
        }) {
            Ok(row) => good.push((index, row)),
            Err(r) => rejected.push(r),
        }
    }
    settle_iins(core, &raw_iins).await?;
    let mut report = write_pcr(core, good, api_key_id).await?;
    rejected.append(&mut report.rejected);
    rejected.sort_by_key(|r| r.index);
    report.rejected = rejected;
    Ok(report)
}

/// Validates and writes a JSON batch of contacts (the HTTP feed).
pub async fn ingest_contacts(
    core: &Core,
    raw: Vec<serde_json::Value>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let now = core.clock.now();
    let mut rejected = Vec::new();
    let mut good = Vec::new();
    let mut raw_iins = Vec::new();
    for (index, parsed) in parse_items::<ContactItem>(raw) {
        match parsed.and_then(|item| {
            raw_iins.push(item.iin.clone());
            validate_contact(&core.vault, &item, now).map_err(|reason| Rejection {
                index,
                external_id: Some(item.external_id.clone()),
                reason,
            })
        }) {
            Ok(row) => good.push((index, row)),
            Err(r) => rejected.push(r),
        }
    }
    settle_iins(core, &raw_iins).await?;
    let mut report = write_contacts(core, good, api_key_id).await?;
    rejected.append(&mut report.rejected);
    rejected.sort_by_key(|r| r.index);
    report.rejected = rejected;
    Ok(report)
}

// ---------- API keys ----------

/// Scopes an API key may carry. Later feeds add theirs here.
pub const SCOPES: &[&str] = &[
    "pcr",
    "contacts",
    "occupancy",
    "pupils",
    "clubs",
    "identity",
    "family",
    "prescriptions",
];

/// A new API key: the secret (shown once) and what is stored.
pub struct NewApiKey {
    pub id: i64,
    pub secret: String,
}

/// SHA-256 of a key's secret: the secret is 256 random bits, so a plain hash suffices.
pub fn api_key_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("unknown scope {0:?} (known: {known}, occupancy:<region>)", known = SCOPES.join(", "))]
    UnknownScope(String),
    #[error("give at least one scope")]
    NoScope,
    #[error("a key named {0:?} already exists")]
    NameTaken(String),
    #[error("the name must be 1..=64 printable characters")]
    BadName,
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Creates an API key; only its hash is stored.
pub async fn create_api_key(
    core: &Core,
    name: &str,
    scopes: &[String],
) -> Result<NewApiKey, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiKeyError::BadName);
    }
    let mut set = Vec::new();
    for s in scopes.iter().flat_map(|s| s.split(',')) {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        // `occupancy:<region>`: occupancy of one region only (like an authority's chat).
        let s = match s.strip_prefix("occupancy:").map(str::trim) {
            Some(region) if !region.is_empty() && !region.contains(',') => {
                format!(
                    "occupancy:{}",
                    crate::core::venues::admin::region_key(region)
                )
            }
            _ if SCOPES.contains(&s) => s.to_string(),
            _ => return Err(ApiKeyError::UnknownScope(s.to_string())),
        };
        if !set.contains(&s) {
            set.push(s);
        }
    }
    if set.is_empty() {
        return Err(ApiKeyError::NoScope);
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = format!("ashyq_{}", hex::encode(bytes));
    let mut tx = core.store.begin().await.map_err(CoreError::from)?;
    let id = match health::create_api_key(
        &mut tx,
        name,
        &api_key_hash(&secret),
        &set.join(","),
        core.now_ms(),
    )
    .await
    {
        Ok(id) => id,
        Err(crate::storage::StoreError::Db(e))
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            return Err(ApiKeyError::NameTaken(name.to_string()));
        }
        Err(e) => return Err(CoreError::from(e).into()),
    };
    tx.commit().await.map_err(CoreError::from)?;
    Ok(NewApiKey { id, secret })
}

/// The active key with this secret.
pub async fn authenticate(
    core: &Core,
    secret: &str,
) -> Result<Option<health::ApiKeyRow>, CoreError> {
    let mut conn = core.store.pool().acquire().await?;
    Ok(health::api_key_by_hash(&mut conn, &api_key_hash(secret)).await?)
}
