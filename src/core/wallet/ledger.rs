//! The meal kind's acts, built from the one ledger of the voucher engine.
//!
//! The ledger itself (appends, both line versions, verification) is the engine's:
//! `core::vouchers::ledger`, re-exported here so the wallet's callers keep their names
//! (`ledger::append`, `ledger::Kind` = the engine's `Action`). Meal entries keep the
//! version-1 line they always had.

use super::WalletError;
use crate::core::Core;
pub use crate::core::vouchers::ledger::{
    Action as Kind, Entry, Problem, Verification, append, canonical, hash_of, verify,
};
use crate::domain::Lang;
use crate::i18n::{Msg, tenge};
use crate::storage::wallet::{self as store, ActRow};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

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
