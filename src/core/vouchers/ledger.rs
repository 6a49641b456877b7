//! The one append-only ledger of every voucher kind.
//!
//! Every change (offer, consent, refusal, activation, redemption, revocation, a
//! prescription issued or withdrawn, a complaint, …) appends one entry in the transaction
//! of the change. An entry's hash is `SHA-256(previous hash || canonical line)`, the line
//! being every column but the hashes, so editing, inserting or deleting a row breaks the
//! chain where it happened; [`verify`] names the first such row.
//!
//! Two line versions share the chain:
//! - **version 1**, the meal kind's line, the same as before the engine (every row written
//!   before migration 0016 keeps it, and meals still write it):
//!   `v1|seq|at|action|voucher|offer|pupil|meal|school_bin|supplier_bin|day`;
//! - **version 2**, every other kind: the line names the kind and covers the engine's
//!   columns, text escaped (`\` → `\\`, `|` → `\|`) so no value can shift another:
//!   `v2|seq|at|kind|action|voucher|offer|subject|redemption|provider_bin|supplier_bin|day|item|quantity|amount|detail`.
//!
//! The head row (`wallet_ledger_head`) holds the last sequence number and hash: appends take
//! it with an UPDATE, which on PostgreSQL locks it until commit, so two transactions never
//! chain onto the same entry (SQLite's write transactions are serial already).

use super::VoucherKind;
use crate::storage::wallet::{self as store, LedgerRow};
use crate::storage::{Conn, StoreError};
use sha2::{Digest, Sha256};

/// What kind of change an entry records (the `kind` column, named "action" in version 2
/// lines since the voucher kind is named beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Offer,
    Consent,
    Refusal,
    Activation,
    Redemption,
    Revocation,
    /// A voucher created by a feed (a prescription issued).
    Issue,
    /// A feed withdrew a voucher (a prescription withdrawn).
    Withdrawal,
    /// The holder disputes a redemption ("I did not receive this").
    Complaint,
    /// The authority's decision on a complaint.
    Decision,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Offer,
        Action::Consent,
        Action::Refusal,
        Action::Activation,
        Action::Redemption,
        Action::Revocation,
        Action::Issue,
        Action::Withdrawal,
        Action::Complaint,
        Action::Decision,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Offer => "offer",
            Action::Consent => "consent",
            Action::Refusal => "refusal",
            Action::Activation => "activation",
            Action::Redemption => "redemption",
            Action::Revocation => "revocation",
            Action::Issue => "issue",
            Action::Withdrawal => "withdrawal",
            Action::Complaint => "complaint",
            Action::Decision => "decision",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One meal-kind change (a version-1 line).
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub voucher_id: Option<i64>,
    pub offer_id: Option<i64>,
    pub pupil_id: Option<i64>,
    pub meal_id: Option<i64>,
    pub school_bin: Option<&'a str>,
    pub supplier_bin: Option<&'a str>,
    pub day: Option<&'a str>,
}

/// One change of any other kind (a version-2 line). The kind's module decides what its ids
/// mean and documents it: e.g. for medicines `voucher_id` = the prescription,
/// `redemption_id` = the dispensing, `item` = the INN, form and strength, `quantity` in the
/// item's unit, `amount` = the patient's share in tiyn.
#[derive(Debug, Clone, Default)]
pub struct EntryV2<'a> {
    pub voucher_id: Option<i64>,
    pub offer_id: Option<i64>,
    /// Whom the voucher is for (a pupil, a patient's record): an id, never an IIN.
    pub subject_id: Option<i64>,
    /// The redemption's own row (a dispensing, a session).
    pub redemption_id: Option<i64>,
    /// Who redeemed: the provider's BIN.
    pub provider_bin: Option<&'a str>,
    /// Who is paid, when not the provider.
    pub supplier_bin: Option<&'a str>,
    /// The local day (`YYYY-MM-DD`, Almaty) the entry counts for in acts.
    pub day: Option<&'a str>,
    pub item: Option<&'a str>,
    pub quantity: Option<i64>,
    pub amount: Option<i64>,
    /// Anything else the kind must keep, short and without personal data.
    pub detail: Option<&'a str>,
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or(String::new(), ToString::to_string)
}

fn esc(v: &Option<String>) -> String {
    v.as_deref().map_or(String::new(), |s| {
        s.replace('\\', "\\\\").replace('|', "\\|")
    })
}

/// The line an entry's hash covers: every column except the hashes, in its version's form.
/// `None` for a version this build does not know (verification reports the row as edited).
pub fn canonical(row: &LedgerRow) -> Option<String> {
    match row.version {
        1 => Some(format!(
            "v1|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            row.seq,
            row.at,
            row.kind,
            opt(&row.voucher_id),
            opt(&row.offer_id),
            opt(&row.pupil_id),
            opt(&row.meal_id),
            opt(&row.school_bin),
            opt(&row.supplier_bin),
            opt(&row.day),
        )),
        2 => Some(format!(
            "v2|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            row.seq,
            row.at,
            esc(&row.voucher_kind),
            esc(&Some(row.kind.clone())),
            opt(&row.voucher_id),
            opt(&row.offer_id),
            opt(&row.subject_id),
            opt(&row.redemption_id),
            esc(&row.provider_bin),
            esc(&row.supplier_bin),
            esc(&row.day),
            esc(&row.item),
            opt(&row.quantity),
            opt(&row.amount),
            esc(&row.detail),
        )),
        _ => None,
    }
}

/// The hash of a row after `prev_hash`; empty for an unknown version (never equal to a
/// stored hash).
pub fn hash_of(prev_hash: &[u8], row: &LedgerRow) -> Vec<u8> {
    let Some(line) = canonical(row) else {
        return Vec::new();
    };
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(line.as_bytes());
    h.finalize().to_vec()
}

async fn append_row(conn: &mut Conn, mut row: LedgerRow) -> Result<i64, StoreError> {
    let (seq, prev_hash) = store::ledger_reserve(conn).await?;
    row.seq = seq;
    row.prev_hash = prev_hash;
    row.hash = hash_of(&row.prev_hash, &row);
    store::ledger_insert(conn, &row).await?;
    Ok(seq)
}

/// Appends a meal-kind entry (version 1) in the caller's transaction; its sequence number.
pub async fn append(
    conn: &mut Conn,
    action: Action,
    entry: &Entry<'_>,
    now_ms: i64,
) -> Result<i64, StoreError> {
    append_row(
        conn,
        LedgerRow {
            at: now_ms,
            kind: action.as_str().to_string(),
            voucher_id: entry.voucher_id,
            offer_id: entry.offer_id,
            pupil_id: entry.pupil_id,
            meal_id: entry.meal_id,
            school_bin: entry.school_bin.map(str::to_string),
            supplier_bin: entry.supplier_bin.map(str::to_string),
            day: entry.day.map(str::to_string),
            version: 1,
            ..Default::default()
        },
    )
    .await
}

/// Appends an entry of `kind` (a version-2 line naming the kind) in the caller's
/// transaction; its sequence number. Append last in the transaction: on PostgreSQL the
/// head row stays locked until commit.
pub async fn append_v2(
    conn: &mut Conn,
    kind: VoucherKind,
    action: Action,
    entry: &EntryV2<'_>,
    now_ms: i64,
) -> Result<i64, StoreError> {
    append_row(conn, row_v2(kind, action, entry, now_ms)).await
}

/// The version-2 row of an entry (before its place in the chain is known).
pub fn row_v2(kind: VoucherKind, action: Action, entry: &EntryV2<'_>, now_ms: i64) -> LedgerRow {
    let s = |v: Option<&str>| v.map(str::to_string);
    LedgerRow {
        at: now_ms,
        kind: action.as_str().to_string(),
        voucher_id: entry.voucher_id,
        offer_id: entry.offer_id,
        version: 2,
        voucher_kind: Some(kind.as_str().to_string()),
        provider_bin: s(entry.provider_bin),
        supplier_bin: s(entry.supplier_bin),
        subject_id: entry.subject_id,
        redemption_id: entry.redemption_id,
        day: s(entry.day),
        item: s(entry.item),
        quantity: entry.quantity,
        amount: entry.amount,
        detail: s(entry.detail),
        ..Default::default()
    }
}

/// The voucher kind of a stored row (version-1 rows are meals).
pub fn kind_of(row: &LedgerRow) -> Option<VoucherKind> {
    match row.version {
        1 => Some(VoucherKind::Meal),
        _ => row.voucher_kind.as_deref().and_then(VoucherKind::parse),
    }
}

/// The first row where the chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", content = "seq", rename_all = "snake_case")]
pub enum Problem {
    /// The row's content no longer matches its hash (or it was re-hashed after an edit,
    /// so the next row no longer links to it).
    Edited(i64),
    /// A row that was not appended through the head.
    Inserted(i64),
    /// The row with this number is missing.
    Deleted(i64),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited(s) => write!(f, "row {s} was edited"),
            Problem::Inserted(s) => write!(f, "row {s} was inserted"),
            Problem::Deleted(s) => write!(f, "row {s} was deleted"),
        }
    }
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub entries: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// Entries per voucher kind (`meal`, `medicine`, `club`; `unknown` for a kind this
    /// build does not know), counted up to the first problem.
    pub by_kind: std::collections::BTreeMap<String, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_problem: Option<Problem>,
}

/// Walks the whole chain, every kind and both line versions, and names the first edited,
/// inserted or deleted row.
pub async fn verify(conn: &mut Conn) -> Result<Verification, StoreError> {
    let (head_seq, head_hash) = store::ledger_head(conn).await?;
    let mut prev_hash = vec![0u8; 32];
    let mut prev_seq = 0i64;
    let mut entries = 0i64;
    let mut by_kind = std::collections::BTreeMap::<String, i64>::new();
    let mut problem = None;
    'pages: loop {
        let page = store::ledger_page(conn, prev_seq, 1000).await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            entries += 1;
            if row.seq > head_seq {
                problem = Some(Problem::Inserted(row.seq));
                break 'pages;
            }
            if row.seq != prev_seq + 1 {
                problem = Some(Problem::Deleted(prev_seq + 1));
                break 'pages;
            }
            if hash_of(&row.prev_hash, &row) != row.hash {
                problem = Some(Problem::Edited(row.seq));
                break 'pages;
            }
            if row.prev_hash != prev_hash {
                // The row is intact but does not link to its predecessor: the predecessor
                // was altered and re-hashed (or this row's link was rewritten).
                problem = Some(Problem::Edited(if prev_seq == 0 {
                    row.seq
                } else {
                    prev_seq
                }));
                break 'pages;
            }
            let name = kind_of(&row).map_or("unknown", VoucherKind::as_str);
            *by_kind.entry(name.to_string()).or_default() += 1;
            prev_hash = row.hash;
            prev_seq = row.seq;
        }
    }
    if problem.is_none() {
        if prev_seq < head_seq {
            problem = Some(Problem::Deleted(prev_seq + 1));
        } else if prev_seq > 0 && prev_hash != head_hash {
            problem = Some(Problem::Edited(prev_seq));
        }
    }
    Ok(Verification {
        entries,
        head_seq,
        head_hash: hex::encode(&head_hash),
        by_kind,
        first_problem: problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meal_row() -> LedgerRow {
        LedgerRow {
            seq: 3,
            at: 1000,
            kind: "redemption".into(),
            voucher_id: Some(7),
            meal_id: Some(9),
            school_bin: Some("210540012341".into()),
            day: Some("2026-11-23".into()),
            ..Default::default()
        }
    }

    #[test]
    fn version_one_lines_are_the_meal_lines_of_before_the_engine() {
        let row = meal_row();
        assert_eq!(
            canonical(&row).unwrap(),
            "v1|3|1000|redemption|7|||9|210540012341||2026-11-23"
        );
        // The engine's columns are not part of a version-1 line: rows written before
        // migration 0016 (where they are NULL) hash as they always did.
        let a = hash_of(&[0u8; 32], &row);
        assert_ne!(a, hash_of(&[1u8; 32], &row));
        let edited = LedgerRow {
            meal_id: Some(10),
            ..row.clone()
        };
        assert_ne!(a, hash_of(&[0u8; 32], &edited));
        assert_eq!(kind_of(&row), Some(VoucherKind::Meal));
    }

    #[test]
    fn version_two_lines_name_the_kind_and_cover_every_column() {
        let entry = EntryV2 {
            voucher_id: Some(5),
            subject_id: Some(11),
            redemption_id: Some(40),
            provider_bin: Some("180340021791"),
            day: Some("2026-12-01"),
            item: Some("Amoxicillin|500 mg"),
            quantity: Some(2),
            amount: Some(0),
            ..Default::default()
        };
        let mut row = row_v2(VoucherKind::Medicine, Action::Redemption, &entry, 1000);
        row.seq = 4;
        assert_eq!(
            canonical(&row).unwrap(),
            "v2|4|1000|medicine|redemption|5||11|40|180340021791||2026-12-01|Amoxicillin\\|500 mg|2|0|"
        );
        assert_eq!(kind_of(&row), Some(VoucherKind::Medicine));
        let h = hash_of(&[0u8; 32], &row);
        // Each column is covered: the kind, the quantity, the provider, the item.
        for edited in [
            LedgerRow {
                voucher_kind: Some("club".into()),
                ..row.clone()
            },
            LedgerRow {
                quantity: Some(3),
                ..row.clone()
            },
            LedgerRow {
                provider_bin: Some("180340021792".into()),
                ..row.clone()
            },
            LedgerRow {
                item: Some("Amoxicillin".into()),
                detail: Some("500 mg".into()),
                ..row.clone()
            },
            // The same row read as version 1 is a different line.
            LedgerRow {
                version: 1,
                ..row.clone()
            },
        ] {
            assert_ne!(hash_of(&[0u8; 32], &edited), h, "{edited:?}");
        }
        // An unknown version never matches a stored hash.
        let future = LedgerRow {
            version: 3,
            ..row.clone()
        };
        assert!(canonical(&future).is_none());
        assert!(hash_of(&[0u8; 32], &future).is_empty());
    }

    #[test]
    fn escaping_keeps_values_from_shifting_into_each_other() {
        let a = LedgerRow {
            version: 2,
            voucher_kind: Some("club".into()),
            item: Some("a|".into()),
            detail: Some("b".into()),
            ..Default::default()
        };
        let b = LedgerRow {
            item: Some("a".into()),
            detail: Some("|b".into()),
            ..a.clone()
        };
        assert_ne!(canonical(&a), canonical(&b));
        assert!(
            Action::ALL
                .iter()
                .all(|x| Action::parse(x.as_str()) == Some(*x))
        );
    }
}
