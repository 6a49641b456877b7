//! The medical information system's prescriptions: `POST /api/v1/prescriptions` (scope
//! `prescriptions`) and `ashyq import prescriptions FILE.csv`, one validation and one write
//! path (docs/FEEDS.md, "Prescriptions").
//!
//! A prescription is validated whole: one bad medicine rejects it, nothing of it is
//! written. The same external id with the same content is a duplicate (nothing written);
//! with other content it is rejected. `"withdrawn": true` with an external id withdraws the
//! prescription at once; a withdrawn one cannot come back under the same id.

use super::PrescriptionError;
use crate::core::feeds::{MAX_BATCH, MAX_ID_CHARS, Rejection, Report, parse_items};
use crate::core::vouchers::VoucherKind;
use crate::core::vouchers::ledger::{self, Action, EntryV2};
use crate::core::{Core, CoreError};
use crate::crypto::{Field, Vault};
use crate::domain::{Iin, RxItem, RxKind};
use crate::storage::prescriptions::{self as store, NewPrescription};
use chrono::NaiveDate;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;

/// Age of majority: a younger patient's prescription names a representative.
pub const ADULT_AGE: u32 = 18;
/// Most medicines on one prescription.
pub const MAX_ITEMS: usize = 50;
/// Prescriptions per transaction of a CSV import.
pub const BATCH: usize = 1000;

/// One prescription as the medical information system posts it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionItem {
    pub external_id: String,
    #[serde(default)]
    pub withdrawn: bool,
    #[serde(default)]
    pub patient_iin: Option<String>,
    #[serde(default)]
    pub representative_iin: Option<String>,
    #[serde(default)]
    pub prescriber: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub issued_on: Option<String>,
    /// `YYYY-MM-DD`, the last day it may be dispensed.
    #[serde(default)]
    pub expires_on: Option<String>,
    /// `free` or `discounted`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Per cent the patient pays (discounted only).
    #[serde(default)]
    pub patient_share: Option<serde_json::Value>,
    #[serde(default)]
    pub items: Vec<MedicineItem>,
}

/// One medicine of a prescription.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicineItem {
    /// International non-proprietary name.
    pub inn: String,
    /// Form and strength (`tablets 500 mg`).
    pub form: String,
    /// A whole number above zero.
    pub quantity: serde_json::Value,
    /// `pieces`, `packs`, `ml` or `g`.
    pub unit: String,
}

/// What a valid item asks for.
#[derive(Debug, Clone)]
pub enum Validated {
    New(Box<NewPrescription>),
    Withdraw(String),
}

impl Validated {
    fn external_id(&self) -> &str {
        match self {
            Validated::New(p) => &p.external_id,
            Validated::Withdraw(id) => id,
        }
    }
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn date(name: &str, s: Option<&str>) -> Result<NaiveDate, String> {
    let s = s.map(str::trim).unwrap_or_default();
    if s.is_empty() {
        return Err(format!("{name} is missing"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{name} must be YYYY-MM-DD"))
}

/// Checks one prescription and prepares what is stored (hashes and sealed values only).
pub fn validate(
    vault: &Vault,
    item: &PrescriptionItem,
    today: NaiveDate,
) -> Result<Validated, String> {
    let external_id = item.external_id.trim();
    if external_id.is_empty() || external_id.chars().count() > MAX_ID_CHARS {
        return Err("external_id must be 1..=128 characters".into());
    }
    if external_id.chars().any(char::is_control) {
        return Err("external_id contains control characters".into());
    }
    if item.withdrawn {
        return Ok(Validated::Withdraw(external_id.to_string()));
    }
    let patient = Iin::parse(item.patient_iin.as_deref().unwrap_or_default())
        .map_err(|e| format!("patient_iin is not a valid IIN: {e}"))?;
    if patient.birth_date() > today {
        return Err("patient_iin has a birth date in the future".into());
    }
    let representative = match item
        .representative_iin
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(r) => {
            let r =
                Iin::parse(r).map_err(|e| format!("representative_iin is not a valid IIN: {e}"))?;
            if r.expose() == patient.expose() {
                return Err("representative_iin is the patient's own IIN".into());
            }
            if r.age_on(today) < ADULT_AGE {
                return Err("representative_iin is not an adult".into());
            }
            Some(r)
        }
        None => None,
    };
    if patient.age_on(today) < ADULT_AGE && representative.is_none() {
        return Err(
            "the patient is a minor: representative_iin (a parent or guardian) is required".into(),
        );
    }
    let prescriber: String = item
        .prescriber
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if prescriber.is_empty() || prescriber.chars().count() > crate::domain::MAX_NAME_CHARS {
        return Err("prescriber must be 1..=200 characters".into());
    }
    let issued = date("issued_on", item.issued_on.as_deref())?;
    let expires = date("expires_on", item.expires_on.as_deref())?;
    if issued > today {
        return Err("issued_on is in the future".into());
    }
    if expires < issued {
        return Err("expires_on is before issued_on".into());
    }
    let share = item.patient_share.as_ref().map(text);
    let kind = RxKind::parse(item.kind.as_deref().unwrap_or_default(), share.as_deref())
        .map_err(|e| e.to_string())?;
    if item.items.is_empty() {
        return Err("items: a prescription needs at least one medicine".into());
    }
    if item.items.len() > MAX_ITEMS {
        return Err(format!("items: at most {MAX_ITEMS} medicines"));
    }
    let mut items = Vec::with_capacity(item.items.len());
    for (n, m) in item.items.iter().enumerate() {
        let parsed = RxItem::parse(&m.inn, &m.form, &text(&m.quantity), &m.unit)
            .map_err(|e| format!("items[{n}]: {e}"))?;
        items.push((
            parsed.inn().to_string(),
            parsed.form().to_string(),
            parsed.quantity(),
            parsed.unit().as_str(),
        ));
    }
    let patient_hash = vault.lookup_hash(Field::Iin, &patient.expose());
    let representative_hash = representative
        .as_ref()
        .map(|r| vault.lookup_hash(Field::Iin, &r.expose()));
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    field(&patient_hash);
    field(representative_hash.as_deref().unwrap_or_default());
    field(prescriber.as_bytes());
    field(issued.to_string().as_bytes());
    field(expires.to_string().as_bytes());
    field(kind.as_str().as_bytes());
    field(&[kind.patient_share()]);
    for (inn, form, quantity, unit) in &items {
        field(inn.as_bytes());
        field(form.as_bytes());
        field(&quantity.to_be_bytes());
        field(unit.as_bytes());
    }
    let content_hash = h.finalize().to_vec();
    Ok(Validated::New(Box::new(NewPrescription {
        external_id: external_id.to_string(),
        content_hash,
        patient_enc: vault.seal(Field::Iin, &patient.expose()),
        patient_hash,
        representative_enc: representative
            .as_ref()
            .map(|r| vault.seal(Field::Iin, &r.expose())),
        representative_hash,
        prescriber,
        issued_on: issued.to_string(),
        expires_on: expires.to_string(),
        kind: kind.as_str(),
        patient_share: i64::from(kind.patient_share()),
        items,
    })))
}

/// The ledger's line of a prescription issued or withdrawn (no personal data: its id).
async fn entry(
    tx: &mut crate::storage::Tx,
    action: Action,
    prescription: i64,
    now: i64,
) -> Result<(), CoreError> {
    ledger::append_v2(
        tx,
        VoucherKind::Medicine,
        action,
        &EntryV2 {
            voucher_id: Some(prescription),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}

/// Writes validated prescriptions (`(index or line, item)`), [`BATCH`] per transaction.
pub async fn write(
    core: &Core,
    good: Vec<(usize, Validated)>,
    source: &str,
    api_key_id: Option<i64>,
    report: &mut Report,
) -> Result<(), CoreError> {
    for chunk in good.chunks(BATCH) {
        let now = core.now_ms();
        let mut tx = core.store.begin().await?;
        for (index, v) in chunk {
            let reject = |reason: &str| Rejection {
                index: *index,
                external_id: Some(v.external_id().to_string()),
                reason: reason.into(),
            };
            let existing = store::by_external_id(&mut tx, v.external_id()).await?;
            match (v, existing) {
                (Validated::Withdraw(_), None) => report
                    .rejected
                    .push(reject("no prescription with this external_id to withdraw")),
                (Validated::Withdraw(_), Some((_, _, Some(_)))) => report.duplicates += 1,
                (Validated::Withdraw(_), Some((id, _, None))) => {
                    store::withdraw(&mut tx, id, now).await?;
                    entry(&mut tx, Action::Withdrawal, id, now).await?;
                    report.withdrawn += 1;
                }
                (Validated::New(p), Some((_, hash, _))) if hash != p.content_hash => {
                    report.rejected.push(reject(
                        "external_id is already stored with different content",
                    ))
                }
                (Validated::New(_), Some((_, _, Some(_)))) => report.rejected.push(reject(
                    "this prescription was withdrawn; send it again under a new external_id",
                )),
                (Validated::New(_), Some(_)) => report.duplicates += 1,
                (Validated::New(p), None) => {
                    match store::insert(&mut tx, p, source, api_key_id, now).await? {
                        Some(id) => {
                            entry(&mut tx, Action::Issue, id, now).await?;
                            report.accepted += 1;
                        }
                        None => report.duplicates += 1,
                    }
                }
            }
        }
        tx.commit().await?;
    }
    report.rejected.sort_by_key(|r| r.index);
    Ok(())
}

/// A JSON batch (the HTTP feed): the good prescriptions written, the bad ones reported by
/// index. `withdrawn` counts withdrawals.
pub async fn ingest(
    core: &Core,
    raw: Vec<serde_json::Value>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let today = super::today(core);
    let mut report = Report::default();
    let mut good = Vec::new();
    for (index, parsed) in parse_items::<PrescriptionItem>(raw) {
        match parsed.and_then(|item| {
            validate(&core.vault, &item, today).map_err(|reason| Rejection {
                index,
                external_id: Some(item.external_id.clone()),
                reason,
            })
        }) {
            Ok(v) => good.push((index, v)),
            Err(r) => report.rejected.push(r),
        }
    }
    write(core, good, "http", api_key_id, &mut report).await?;
    Ok(report)
}

/// The CSV header: one row per medicine; the rows of one prescription share its
/// `external_id` and prescription columns. A withdrawal is a row with `withdrawn` = 1 and
/// the external id (other columns may be empty).
pub const COLUMNS: [&str; 13] = [
    "external_id",
    "patient_iin",
    "representative_iin",
    "prescriber",
    "issued_on",
    "expires_on",
    "kind",
    "patient_share",
    "inn",
    "form",
    "quantity",
    "unit",
    "withdrawn",
];

fn flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        other => Err(format!("withdrawn must be 1 or 0, not {other:?}")),
    }
}

type Grouped = (Vec<(usize, PrescriptionItem)>, Vec<Rejection>);

/// Reads the CSV into prescriptions (by first line), rejecting unreadable rows and
/// prescriptions whose rows disagree.
pub fn read_csv<R: Read>(input: R) -> Result<Grouped, PrescriptionError> {
    let (mut reader, positions) =
        crate::core::import::csv_with_columns(input, &COLUMNS).map_err(|e| match e {
            // The csv error as it reads, without `ImportError`'s "CSV:" prefix.
            crate::core::import::ImportError::Csv(e) => PrescriptionError::Import(e.to_string()),
            e => PrescriptionError::Import(e.to_string()),
        })?;
    let mut groups: Vec<(usize, PrescriptionItem, Option<String>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut rejected = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.len() != COLUMNS.len() {
                    rejected.push(Rejection {
                        index: line,
                        external_id: None,
                        reason: format!("{} columns instead of {}", record.len(), COLUMNS.len()),
                    });
                    continue;
                }
                let c = |i: usize| record.get(positions[i]).unwrap_or_default().to_string();
                let opt = |i: usize| Some(c(i)).filter(|s| !s.is_empty());
                let external_id = c(0);
                let withdrawn = flag(&c(12));
                let head = PrescriptionItem {
                    external_id: external_id.clone(),
                    withdrawn: *withdrawn.as_ref().unwrap_or(&false),
                    patient_iin: opt(1),
                    representative_iin: opt(2),
                    prescriber: opt(3),
                    issued_on: opt(4),
                    expires_on: opt(5),
                    kind: opt(6),
                    patient_share: opt(7).map(serde_json::Value::String),
                    items: Vec::new(),
                };
                let medicine = (!head.withdrawn || !c(8).is_empty()).then(|| MedicineItem {
                    inn: c(8),
                    form: c(9),
                    quantity: serde_json::Value::String(c(10)),
                    unit: c(11),
                });
                let at = *by_id.entry(external_id).or_insert_with(|| {
                    groups.push((line, head.clone(), None));
                    groups.len() - 1
                });
                let group = &mut groups[at];
                if let Err(e) = withdrawn {
                    group.2.get_or_insert(format!("line {line}: {e}"));
                }
                let same = |a: &PrescriptionItem, b: &PrescriptionItem| {
                    a.withdrawn == b.withdrawn
                        && a.patient_iin == b.patient_iin
                        && a.representative_iin == b.representative_iin
                        && a.prescriber == b.prescriber
                        && a.issued_on == b.issued_on
                        && a.expires_on == b.expires_on
                        && a.kind == b.kind
                        && a.patient_share == b.patient_share
                };
                if !same(&group.1, &head) {
                    group.2.get_or_insert(format!(
                        "line {line}: the rows of this external_id disagree on the prescription's columns"
                    ));
                }
                if let Some(m) = medicine {
                    group.1.items.push(m);
                }
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(PrescriptionError::Import(e.to_string()));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                rejected.push(Rejection {
                    index: line,
                    external_id: None,
                    reason: format!("unreadable row: {e}"),
                });
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (line, item, problem) in groups {
        match problem {
            Some(reason) => rejected.push(Rejection {
                index: line,
                external_id: Some(item.external_id),
                reason,
            }),
            None => out.push((line, item)),
        }
    }
    Ok((out, rejected))
}

/// Imports a CSV file. Rejections carry the first line of their prescription. Reading and
/// validating (keyed hashes, encryption) run on the blocking pool.
pub async fn import_csv<R: Read + Send + 'static>(
    core: &Core,
    input: R,
) -> Result<Report, PrescriptionError> {
    let vault = core.vault.clone();
    let today = super::today(core);
    let (good, mut rejected) = tokio::task::spawn_blocking(move || {
        let (items, mut rejected) = read_csv(input)?;
        let mut good = Vec::with_capacity(items.len());
        for (line, item) in items {
            match validate(&vault, &item, today) {
                Ok(v) => good.push((line, v)),
                Err(reason) => rejected.push(Rejection {
                    index: line,
                    external_id: Some(item.external_id),
                    reason,
                }),
            }
        }
        Ok::<_, PrescriptionError>((good, rejected))
    })
    .await
    .map_err(|e| PrescriptionError::Import(e.to_string()))??;
    let mut report = Report::default();
    report.rejected.append(&mut rejected);
    write(core, good, "csv", None, &mut report).await?;
    Ok(report)
}

/// The largest HTTP batch (the feeds' limit).
pub const MAX_ITEMS_PER_BATCH: usize = MAX_BATCH;
