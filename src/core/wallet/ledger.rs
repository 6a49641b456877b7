//! The append-only ledger of the Social Wallet and the monthly acts built from it.
//!
//! Every change (offer, consent, refusal, activation, redemption, revocation) appends one
//! entry in the transaction of the change. An entry's hash is
//! `SHA-256(previous hash || canonical line)`, the canonical line being every column but the
//! hashes, so editing, inserting or deleting a row breaks the chain where it happened;
//! [`verify`] names the first such row. The head row (`wallet_ledger_head`) holds the last
//! sequence number and hash: appends take it with an UPDATE, which on PostgreSQL locks it
//! until commit, so two transactions never chain onto the same entry.

use super::WalletError;
use crate::core::Core;
use crate::domain::Lang;
use crate::i18n::{Msg, tenge};
use crate::storage::wallet::{self as store, ActRow, LedgerRow};
use crate::storage::{Conn, StoreError};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// What kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Offer,
    Consent,
    Refusal,
    Activation,
    Redemption,
    Revocation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Offer => "offer",
            Kind::Consent => "consent",
            Kind::Refusal => "refusal",
            Kind::Activation => "activation",
            Kind::Redemption => "redemption",
            Kind::Revocation => "revocation",
        }
    }
}

/// One change to record.
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

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or(String::new(), ToString::to_string)
}

/// The line an entry's hash covers: every column except the hashes.
pub fn canonical(row: &LedgerRow) -> String {
    format!(
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
    )
}

pub fn hash_of(prev_hash: &[u8], row: &LedgerRow) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical(row).as_bytes());
    h.finalize().to_vec()
}

/// Appends an entry in the caller's transaction; returns its sequence number.
pub async fn append(
    conn: &mut Conn,
    kind: Kind,
    entry: &Entry<'_>,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (seq, prev_hash) = store::ledger_reserve(conn).await?;
    let mut row = LedgerRow {
        seq,
        at: now_ms,
        kind: kind.as_str().to_string(),
        voucher_id: entry.voucher_id,
        offer_id: entry.offer_id,
        pupil_id: entry.pupil_id,
        meal_id: entry.meal_id,
        school_bin: entry.school_bin.map(str::to_string),
        supplier_bin: entry.supplier_bin.map(str::to_string),
        day: entry.day.map(str::to_string),
        prev_hash,
        hash: Vec::new(),
    };
    row.hash = hash_of(&row.prev_hash, &row);
    store::ledger_insert(conn, &row).await?;
    Ok(seq)
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_problem: Option<Problem>,
}

/// Walks the whole chain and names the first edited, inserted or deleted row.
pub async fn verify(conn: &mut Conn) -> Result<Verification, StoreError> {
    let (head_seq, head_hash) = store::ledger_head(conn).await?;
    let mut prev_hash = vec![0u8; 32];
    let mut prev_seq = 0i64;
    let mut entries = 0i64;
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
        first_problem: problem,
    })
}

// ---------------------------------------------------------------- acts

/// A monthly act of completed work for one supplier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Act {
    pub supplier_bin: String,
    pub month: String,
    /// The month is over: the act was stored (now or earlier) and never changes.
    pub closed: bool,
    /// Read back from storage (generated earlier).
    pub from_storage: bool,
    pub meals: i64,
    pub total_tiyn: i64,
    pub sha256: String,
    pub ledger_seq: i64,
    #[serde(skip)]
    pub csv: String,
    #[serde(skip)]
    pub html: String,
}

/// `YYYY-MM` → its first day.
pub fn parse_month(month: &str) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d").ok()?;
    (format!("{:04}-{:02}", d.year(), d.month()) == month.trim()).then_some(d)
}

fn money(tiyn: i64) -> String {
    format!("{}.{:02}", tiyn / 100, tiyn % 100)
}

/// A text in Kazakh, then in Russian, joined by `sep`: the act is bilingual.
fn both(core: &Core, msg: Msg, sep: &str) -> String {
    format!(
        "{}{sep}{}",
        core.texts.render(Lang::Kk, &msg),
        core.texts.render(Lang::Ru, &msg)
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn act_hash(csv: &str, html: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(csv.as_bytes());
    h.update([0u8]);
    h.update(html.as_bytes());
    h.finalize().to_vec()
}

/// The act of `supplier_bin` for `month` (`YYYY-MM`), from the redemptions in the ledger.
/// A closed month's act is stored the first time and read back ever after (its hash checked),
/// so it never comes out different. The ledger is verified first: no act from a broken chain.
pub async fn act(core: &Core, supplier_bin: &str, month: &str) -> Result<Act, WalletError> {
    let first = parse_month(month).ok_or(WalletError::BadMonth)?;
    let month = format!("{:04}-{:02}", first.year(), first.month());
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or(WalletError::BadMonth)?;
    let today = super::today(core);
    let closed = today >= next;
    let mut tx = core.store.begin().await?;
    if let Some(stored) = store::act(&mut tx, supplier_bin, &month).await? {
        tx.rollback().await?;
        if act_hash(&stored.csv, &stored.html) != stored.sha256 {
            return Err(WalletError::ActAltered);
        }
        let (meals, total) = totals_of(&stored.csv);
        return Ok(Act {
            supplier_bin: supplier_bin.to_string(),
            month,
            closed: true,
            from_storage: true,
            meals,
            total_tiyn: total,
            sha256: hex::encode(&stored.sha256),
            ledger_seq: stored.ledger_seq,
            csv: stored.csv,
            html: stored.html,
        });
    }
    let check = verify(&mut tx).await?;
    if let Some(p) = check.first_problem {
        return Err(WalletError::LedgerBroken(p));
    }
    let (name, price) = store::supplier(&mut tx, supplier_bin)
        .await?
        .ok_or_else(|| WalletError::NoSupplier(supplier_bin.to_string()))?;
    let rows =
        store::ledger_meals_by_school_day(&mut tx, supplier_bin, &month, check.head_seq).await?;
    let mut schools = std::collections::BTreeMap::new();
    for (bin, _, _) in &rows {
        if !schools.contains_key(bin) {
            let school = store::school_by_bin(&mut tx, bin).await?;
            schools.insert(bin.clone(), school.map_or(bin.clone(), |s| s.name));
        }
    }
    // The CSV stays machine-readable (plain numbers, ISO days); the HTML is the document
    // people read, in Kazakh and Russian, money as `12 345,67 ₸`, days with month names.
    let t = |key: &'static str| both(core, Msg::new(key), "<br>");
    let mut csv = String::from("school_bin,school,day,meals,unit_price,amount\n");
    let mut body = String::new();
    let (mut meals, mut total) = (0i64, 0i64);
    for (bin, day, n) in &rows {
        let amount = n * price;
        meals += n;
        total += amount;
        let school = &schools[bin];
        let _ = writeln!(
            csv,
            "{bin},{},{day},{n},{},{}",
            csv_field(school),
            money(price),
            money(amount)
        );
        let shown_day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(|d| both(core, Msg::new("act-day").date("day", d), "<br>"))
            .unwrap_or_else(|_| html_escape(day));
        let _ = writeln!(
            body,
            "<tr><td>{bin}</td><td>{}</td><td>{shown_day}</td><td>{n}</td><td>{}</td><td>{}</td></tr>",
            html_escape(school),
            tenge(price),
            tenge(amount)
        );
    }
    let _ = writeln!(csv, "TOTAL,,,{meals},{},{}", money(price), money(total));
    let status = if closed { "final" } else { "draft" };
    let para = |msg: Msg| both(core, msg, "<br>\n");
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"kk\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n<p>{}</p>\n<p>{}</p>\n<p>{}</p>\n<table border=\"1\">\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n{body}<tr><th colspan=\"3\">{}</th><th>{meals}</th><th>{}</th><th>{}</th></tr>\n</table>\n</body></html>\n",
        both(core, Msg::new("act-title"), " / "),
        t("act-title"),
        para(Msg::new("act-period").month("month", first)),
        para(
            Msg::new("act-supplier")
                .arg("name", html_escape(&name))
                .arg("bin", supplier_bin.to_string())
        ),
        para(Msg::new("act-status").arg("status", status)),
        para(Msg::new("act-ledger").num("seq", check.head_seq)),
        t("act-col-school-bin"),
        t("act-col-school"),
        t("act-col-day"),
        t("act-col-meals"),
        t("act-col-price"),
        t("act-col-amount"),
        t("act-total"),
        tenge(price),
        tenge(total)
    );
    let sha = act_hash(&csv, &html);
    if closed {
        let row = ActRow {
            csv: csv.clone(),
            html: html.clone(),
            sha256: sha.clone(),
            ledger_seq: check.head_seq,
            created_at: core.now_ms(),
        };
        store::store_act(&mut tx, supplier_bin, &month, &row).await?;
        // A concurrent first store wins: return what is stored.
        let stored = store::act(&mut tx, supplier_bin, &month).await?;
        tx.commit().await?;
        if let Some(s) = stored
            && s.sha256 != sha
        {
            let (meals, total) = totals_of(&s.csv);
            return Ok(Act {
                supplier_bin: supplier_bin.to_string(),
                month,
                closed: true,
                from_storage: true,
                meals,
                total_tiyn: total,
                sha256: hex::encode(&s.sha256),
                ledger_seq: s.ledger_seq,
                csv: s.csv,
                html: s.html,
            });
        }
    } else {
        tx.rollback().await?;
    }
    Ok(Act {
        supplier_bin: supplier_bin.to_string(),
        month,
        closed,
        from_storage: false,
        meals,
        total_tiyn: total,
        sha256: hex::encode(&sha),
        ledger_seq: check.head_seq,
        csv,
        html,
    })
}

/// Meals and total from an act's CSV (its last line).
fn totals_of(csv: &str) -> (i64, i64) {
    let last = csv.lines().last().unwrap_or_default();
    let cells: Vec<&str> = last.split(',').collect();
    let meals = cells.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let total = cells
        .get(5)
        .and_then(|s| {
            let (a, b) = s.split_once('.')?;
            Some(a.parse::<i64>().ok()? * 100 + b.parse::<i64>().ok()?)
        })
        .unwrap_or(0);
    (meals, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_lines_cover_every_column_and_hashes_chain() {
        let row = LedgerRow {
            seq: 3,
            at: 1000,
            kind: "redemption".into(),
            voucher_id: Some(7),
            meal_id: Some(9),
            school_bin: Some("210540012341".into()),
            day: Some("2026-11-23".into()),
            ..Default::default()
        };
        assert_eq!(
            canonical(&row),
            "v1|3|1000|redemption|7|||9|210540012341||2026-11-23"
        );
        let a = hash_of(&[0u8; 32], &row);
        assert_ne!(a, hash_of(&[1u8; 32], &row));
        let edited = LedgerRow {
            meal_id: Some(10),
            ..row.clone()
        };
        assert_ne!(a, hash_of(&[0u8; 32], &edited));
    }

    #[test]
    fn months_parse_strictly_and_money_prints_tenge() {
        assert_eq!(parse_month("2026-11"), NaiveDate::from_ymd_opt(2026, 11, 1));
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("2026-1").is_none());
        assert_eq!(money(85_050), "850.50");
        assert_eq!(
            totals_of("a\nTOTAL,,,12,850.00,10200.00\n"),
            (12, 1_020_000)
        );
        assert_eq!(csv_field("Школа №5, Алматы"), "\"Школа №5, Алматы\"");
    }
}
