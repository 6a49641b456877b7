//! The audit export (issue 17 item 7): every Social Wallet action of every actor in a
//! period, as CSV — `ashyq audit export --from YYYY-MM-DD --to YYYY-MM-DD`.
//!
//! Two sources, merged in time order:
//! - the ledger (`source = ledger`): every change of every kind (offers, consents,
//!   activations, redemptions, revocations, prescriptions issued and dispensed, sessions, …)
//!   with its sequence number; the actor is the chat that acted where the kind records it
//!   (meals: the canteen operator of a redemption, the recipient of an offer and its
//!   answer, the chat that activated a voucher) or the provider's BIN (other kinds);
//! - the refusals and other audited attempts (`source = audit`, `wallet_audit`): refused
//!   redemptions, invalid invites, a voucher asked for by someone else, … with the chat.
//!
//! Personal data is masked: chats as `channel:…last 4` (an SMS chat id is a keyed hash of
//! the number, never the number), IINs and phones in any text through
//! `domain::mask_personal`; no IIN, phone or name is in either source in the first place.
//! Columns: `at,source,ref,voucher_kind,action,outcome,actor,voucher_id,subject_id,
//! redemption_id,provider_bin,supplier_bin,day,item,quantity,amount` (`at` in Astana time,
//! ISO 8601; `ref` the ledger seq or audit id).

use super::VoucherError;
use crate::core::Core;
use crate::storage::wallet::{self as store, AuditRow, LedgerActorRow};
use chrono::NaiveDate;
use std::fmt::Write as _;

/// The CSV header.
pub const HEADER: &str = "at,source,ref,voucher_kind,action,outcome,actor,voucher_id,subject_id,redemption_id,provider_bin,supplier_bin,day,item,quantity,amount";

const PAGE: i64 = 5_000;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub ledger_rows: usize,
    pub audit_rows: usize,
}

/// A chat shown in the export: its channel and the last 4 characters of its id.
pub fn mask_chat(channel: &str, chat_id: &str) -> String {
    let tail: String = {
        let chars: Vec<char> = chat_id.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    if chat_id.chars().count() <= 4 {
        format!("{channel}:…")
    } else {
        format!("{channel}:…{tail}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Free text (an item's name): IINs and phones masked first. Not for BINs, which share the
/// IIN's shape and are not personal.
fn csv_text(s: &str) -> String {
    csv_field(&crate::domain::mask_personal(s))
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or(String::new(), ToString::to_string)
}

fn at_text(ms: i64) -> String {
    crate::clock::local_text(ms, "%Y-%m-%dT%H:%M:%S+05:00")
}

fn actor_of(r: &LedgerActorRow) -> String {
    let chat = |c: &Option<String>, id: &Option<String>| match (c, id) {
        (Some(c), Some(id)) => Some(mask_chat(c, id)),
        _ => None,
    };
    let by_action = match r.kind.as_str() {
        "redemption" => chat(&r.meal_channel, &r.meal_chat),
        "offer" | "consent" | "refusal" => chat(&r.offer_channel, &r.offer_chat),
        "activation" => chat(&r.voucher_channel, &r.voucher_chat),
        _ => None,
    };
    match (by_action, r.version) {
        (Some(a), _) => a,
        (None, 2) => r
            .provider_bin
            .as_ref()
            .map_or(String::new(), |b| format!("provider:{b}")),
        (None, _) => String::new(),
    }
}

fn ledger_line(r: &LedgerActorRow) -> String {
    let kind = if r.version == 1 {
        "meal".to_string()
    } else {
        r.voucher_kind.clone().unwrap_or_default()
    };
    let mut line = String::new();
    let _ = write!(
        line,
        "{},ledger,{},{},{},,{},{},{},{},{},{},{},{},{},{}",
        at_text(r.at),
        r.seq,
        csv_field(&kind),
        csv_field(&r.kind),
        csv_field(&actor_of(r)),
        opt(&r.voucher_id),
        opt(&r.subject_id),
        opt(&r.redemption_id),
        csv_field(&opt(&r.provider_bin)),
        csv_field(&opt(&r.supplier_bin)),
        csv_field(&opt(&r.day)),
        csv_text(&opt(&r.item)),
        opt(&r.quantity),
        opt(&r.amount),
    );
    line
}

fn audit_line(r: &AuditRow) -> String {
    let actor = match (&r.channel, &r.chat_id) {
        (Some(c), Some(id)) => mask_chat(c, id),
        _ => String::new(),
    };
    format!(
        "{},audit,{},,{},{},{},{},,,{},,,,,",
        at_text(r.at),
        r.id,
        csv_field(&r.action),
        csv_field(&r.outcome),
        csv_field(&actor),
        opt(&r.voucher_id),
        csv_field(&opt(&r.school_bin)),
    )
}

/// `YYYY-MM-DD` → the date.
pub fn parse_day(s: &str) -> Result<NaiveDate, VoucherError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| VoucherError::BadDate(s.to_string()))
}

fn local_midnight_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(crate::clock::almaty())
        .single()
        .expect("a fixed offset")
        .timestamp_millis()
}

/// Writes the CSV of every action from `from` to `to` (local days, both included) to `out`.
/// Read in one transaction, in pages; the two sources are merged by time (ties: ledger
/// first, then by number).
pub async fn export(
    core: &Core,
    from: NaiveDate,
    to: NaiveDate,
    out: &mut (dyn std::io::Write + Send),
) -> Result<Summary, VoucherError> {
    if to < from {
        return Err(VoucherError::BadDate(format!("{to} is before {from}")));
    }
    let from_ms = local_midnight_ms(from);
    let to_ms = local_midnight_ms(to.succ_opt().unwrap_or(to));
    let mut tx = core.store.begin().await?;
    let mut lines: Vec<(i64, u8, i64, String)> = Vec::new();
    let mut summary = Summary {
        from: from.to_string(),
        to: to.to_string(),
        ..Default::default()
    };
    let mut after = 0;
    loop {
        let page = store::ledger_actors_between(&mut tx, from_ms, to_ms, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            lines.push((r.at, 0, r.seq, ledger_line(r)));
        }
        summary.ledger_rows += page.len();
    }
    let mut after = 0;
    loop {
        let page = store::audit_between(&mut tx, from_ms, to_ms, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            lines.push((r.at, 1, r.id, audit_line(r)));
        }
        summary.audit_rows += page.len();
    }
    tx.rollback().await?;
    lines.sort_by_key(|l| (l.0, l.1, l.2));
    let io = |e: std::io::Error| VoucherError::Io(e.to_string());
    writeln!(out, "{HEADER}").map_err(io)?;
    for (_, _, _, line) in &lines {
        writeln!(out, "{line}").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_and_texts_are_masked() {
        assert_eq!(mask_chat("telegram", "123456789"), "telegram:…6789");
        assert_eq!(mask_chat("sms", "abc"), "sms:…");
        assert_eq!(
            csv_text("ИИН 900101300017, тел"),
            "\"ИИН •••• •••• ••••, тел\""
        );
        assert_eq!(csv_field("210540012341"), "210540012341");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(HEADER.split(',').count(), 16);
        let r = AuditRow {
            id: 3,
            at: 0,
            action: "redeem".into(),
            outcome: "invalid".into(),
            channel: Some("telegram".into()),
            chat_id: Some("55501234".into()),
            offer_id: None,
            voucher_id: Some(9),
            school_bin: Some("210540012341".into()),
        };
        let line = audit_line(&r);
        assert_eq!(line.split(',').count(), 16, "{line}");
        assert!(line.contains("telegram:…1234") && !line.contains("55501234"));
    }
}
