//! Pharmacies (the voucher engine's providers of kind `pharmacy`; pharmacists are their
//! operators, invited by `ashyq pharmacy invite`): the scan, the dispensing, the act.

use super::token::{BUTTON_TTL_MINUTES, RxKeys, minute_of};
use super::{PrescriptionError, reply, today};
use crate::core::shared::callback::RxButton;
use crate::core::shared::menu::button_with;
use crate::core::vouchers::ledger::{self, Action, EntryV2};
use crate::core::vouchers::qr::QrKeys;
use crate::core::vouchers::{ProviderKind, VoucherKind, providers};
use crate::core::{Button, Core, CoreError, Keyboard, Label, Outbound};
use crate::crypto::Field;
use crate::domain::{Bin, Iin, Lang, RxKind};
use crate::i18n::Msg;
use crate::storage::prescriptions::{self as store, DispensingRow, ItemRow, PrescriptionRow};
use crate::storage::vouchers::ProviderRow;
use crate::storage::{ChatRef, Conn, StoreError, Tx};
use chrono::NaiveDate;

fn bin(s: &str) -> Result<String, PrescriptionError> {
    Bin::parse(s)
        .map(|b| b.as_string())
        .map_err(|e| PrescriptionError::BadBin(e.to_string()))
}

/// The pharmacy a chat works for (the most recently joined one), or `None`.
pub async fn pharmacy_of(
    conn: &mut Conn,
    chat: &ChatRef,
) -> Result<Option<ProviderRow>, StoreError> {
    Ok(providers::of_operator(conn, ProviderKind::Pharmacy, chat)
        .await?
        .into_iter()
        .next())
}

/// One medicine as a line of text in `lang` (`left`: what is left of it, when shown).
pub(super) fn item_line(
    core: &Core,
    lang: Lang,
    inn: &str,
    form: &str,
    quantity: i64,
    unit: &str,
    left: Option<i64>,
) -> String {
    let msg = match left {
        None => Msg::new("rx-item"),
        Some(left) => Msg::new("rx-item-left").num("left", left),
    }
    .arg("inn", inn.to_string())
    .arg("form", form.to_string())
    .num("quantity", quantity)
    .arg("unit", unit.to_string());
    format!("• {}", core.texts.render(lang, &msg))
}

pub(super) fn masked_patient(core: &Core, enc: &[u8]) -> Result<String, CoreError> {
    let plain = core.vault.open(Field::Iin, enc)?;
    Ok(Iin::parse(&plain).map(|i| i.masked()).unwrap_or_default())
}

/// The state of a prescription for a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxState {
    Active,
    Partly,
    Used,
    Expired,
    Withdrawn,
}

impl RxState {
    pub fn of(p: &PrescriptionRow, items: &[ItemRow], today: NaiveDate) -> Self {
        let left: i64 = items.iter().map(ItemRow::left).sum();
        let given: i64 = items.iter().map(|i| i.dispensed).sum();
        if p.withdrawn_at.is_some() {
            RxState::Withdrawn
        } else if left == 0 {
            RxState::Used
        } else if p.expires_on.as_str() < today.format("%Y-%m-%d").to_string().as_str() {
            RxState::Expired
        } else if given > 0 {
            RxState::Partly
        } else {
            RxState::Active
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            RxState::Active => "active",
            RxState::Partly => "partly",
            RxState::Used => "used",
            RxState::Expired => "expired",
            RxState::Withdrawn => "withdrawn",
        }
    }
}

/// The generation of every prescription's code (a prescription has no reissue: its code
/// is short-lived anyway).
pub const GENERATION: i64 = 1;

/// The prescription a code names (the engine's token of kind `Medicine`), or the refusal
/// for a code that does not work now: expired, another kind's (a meal QR), not genuine.
fn code_of(core: &Core, text: &str) -> Result<i64, Msg> {
    let keys = QrKeys::new(core.vault.signing_key());
    keys.check(text, VoucherKind::Medicine, core.now_ms(), |k, _| {
        (k == VoucherKind::Medicine).then_some(GENERATION)
    })
    .map(|t| t.voucher_id)
    .map_err(|r| r.msg())
}

/// A pharmacist's scan (a photo or a typed code): the prescription's items and what is
/// left of each, with the dispensing buttons; or a clear refusal.
pub(super) async fn scan(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    code: &str,
) -> Result<Vec<Outbound>, CoreError> {
    if pharmacy_of(tx, chat).await?.is_none() {
        return Ok(reply(lang, Msg::new("rx-not-pharmacist")));
    }
    let id = match code_of(core, code) {
        Ok(id) => id,
        Err(msg) => return Ok(reply(lang, msg)),
    };
    let Some(p) = store::get(tx, id).await? else {
        return Ok(reply(lang, Msg::new("rx-code-invalid")));
    };
    let items = store::items(tx, id).await?;
    let state = RxState::of(&p, &items, today(core));
    let refusal = match state {
        RxState::Withdrawn => Some("rx-withdrawn"),
        RxState::Used => Some("rx-used"),
        RxState::Expired => Some("rx-expired"),
        RxState::Active | RxState::Partly => None,
    };
    if let Some(key) = refusal {
        return Ok(reply(lang, Msg::new(key).arg("rx", p.external_id.clone())));
    }
    Ok(vec![card(core, chat, lang, &p, &items)?])
}

/// The pharmacist's card of a prescription: items, what is left, the buttons.
fn card(
    core: &Core,
    chat: &ChatRef,
    lang: Lang,
    p: &PrescriptionRow,
    items: &[ItemRow],
) -> Result<Outbound, CoreError> {
    let keys = RxKeys::new(core.vault.signing_key());
    let until = minute_of(core.now_ms()) + BUTTON_TTL_MINUTES;
    let press = |item: i64, quantity: i64| {
        let mac = keys.button_mac(chat, p.id, p.seq, item, quantity, until);
        RxButton::Dispense {
            prescription: p.id,
            seq: p.seq,
            item,
            quantity,
            until,
            mac,
        }
    };
    let mut rows: Vec<Vec<Button>> = vec![vec![button_with(
        Label::Text(Msg::new("rx-give-all")),
        press(0, 0),
    )]];
    let mut lines = Vec::with_capacity(items.len());
    for i in items {
        lines.push(item_line(
            core,
            lang,
            &i.inn,
            &i.form,
            i.quantity,
            &i.unit,
            Some(i.left()),
        ));
        if i.left() == 0 {
            continue;
        }
        let give = |q: i64| {
            button_with(
                Label::Text(
                    Msg::new("rx-give-item")
                        .arg("inn", i.inn.clone())
                        .num("quantity", q)
                        .arg("unit", i.unit.clone()),
                ),
                press(i.id, q),
            )
        };
        let mut row = vec![give(i.left())];
        if i.left() > 1 {
            row.push(give(1));
        }
        rows.push(row);
    }
    let kind = RxKind::from_stored(&p.kind, p.patient_share).unwrap_or(RxKind::Free);
    Ok(Outbound::reply(
        lang,
        Msg::new("rx-card")
            .arg("rx", p.external_id.clone())
            .arg("patient", masked_patient(core, &p.patient_enc)?)
            .arg("kind", kind.as_str())
            .num("share", i64::from(kind.patient_share()))
            .date("expires", super::day_of(&p.expires_on))
            .arg("items", lines.join("\n")),
    )
    .with_keyboard(Keyboard::Inline(rows)))
}

/// A dispensing button as pressed.
#[derive(Debug, Clone)]
pub struct ButtonPress {
    pub prescription: i64,
    pub seq: i64,
    pub item: i64,
    pub quantity: i64,
    pub until: i64,
    pub mac: String,
}

pub(super) async fn on_dispense_button(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    b: ButtonPress,
) -> Result<Vec<Outbound>, CoreError> {
    let keys = RxKeys::new(core.vault.signing_key());
    if !keys.button_ok(
        chat,
        b.prescription,
        b.seq,
        b.item,
        b.quantity,
        b.until,
        &b.mac,
    ) {
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    }
    if minute_of(core.now_ms()) > b.until {
        return Ok(reply(lang, Msg::new("rx-scan-again")));
    }
    let request = Request {
        prescription: b.prescription,
        expected_seq: Some(b.seq),
        item: (b.item != 0).then_some(b.item),
        quantity: b.quantity,
    };
    match dispense_in(core, tx, chat, &request).await? {
        Ok(done) => {
            let mut lines = Vec::new();
            for (inn, form, unit, q) in &done.given {
                lines.push(item_line(core, lang, inn, form, *q, unit, None));
            }
            let items = store::items(tx, b.prescription).await?;
            let left: Vec<String> = items
                .iter()
                .filter(|i| i.left() > 0)
                .map(|i| item_line(core, lang, &i.inn, &i.form, i.left(), &i.unit, None))
                .collect();
            Ok(reply(
                lang,
                Msg::new("rx-dispensed")
                    .arg("given", lines.join("\n"))
                    .arg("rest", left.join("\n"))
                    .num("remaining", left.len() as i64),
            ))
        }
        // Nothing written before a refusal is kept.
        Err(msg) => Err(CoreError::Refused(msg)),
    }
}

/// What to dispense.
#[derive(Debug, Clone)]
pub struct Request {
    pub prescription: i64,
    /// The prescription's sequence number the pharmacist saw (a button's); `None` for a
    /// caller that checks nothing more than the quantities (tests, benchmarks).
    pub expected_seq: Option<i64>,
    /// One item, or `None` for everything left.
    pub item: Option<i64>,
    /// How much of the item (ignored for everything left).
    pub quantity: i64,
}

/// A dispensing done.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispensed {
    pub dispensing_id: i64,
    pub seq: i64,
    /// `(inn, form, unit, quantity)`.
    pub given: Vec<(String, String, String, i64)>,
    /// Notices queued for the patient's chats.
    pub notices: usize,
}

/// The one dispensing path, inside the caller's transaction: `Err(msg)` is a refusal, and
/// the caller must roll back what this wrote (the handler does by refusing; [`dispense`]
/// drops its transaction). The prescription's row is taken first (locked until commit on
/// PostgreSQL), then each item moves only within what is left
/// (`UPDATE … WHERE dispensed + q <= quantity`, and a CHECK in the table): no item is ever
/// dispensed beyond its quantity, whatever runs at the same time.
pub async fn dispense_in(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    r: &Request,
) -> Result<Result<Dispensed, Msg>, CoreError> {
    let Some(pharmacy) = pharmacy_of(tx, chat).await? else {
        return Ok(Err(Msg::new("rx-not-pharmacist")));
    };
    let Some(seq) = store::reserve(tx, r.prescription).await? else {
        return Ok(Err(match store::get(tx, r.prescription).await? {
            Some(p) => Msg::new("rx-withdrawn").arg("rx", p.external_id),
            None => Msg::new("rx-code-invalid"),
        }));
    };
    if r.expected_seq.is_some_and(|s| s + 1 != seq) {
        return Ok(Err(Msg::new("rx-changed")));
    }
    let p = store::get(tx, r.prescription)
        .await?
        .ok_or_else(|| CoreError::internal("dispensing", "the reserved prescription is gone"))?;
    let today = today(core);
    if p.expires_on.as_str() < today.format("%Y-%m-%d").to_string().as_str() {
        return Ok(Err(Msg::new("rx-expired").arg("rx", p.external_id)));
    }
    let items = store::items(tx, r.prescription).await?;
    let wanted: Vec<(&ItemRow, i64)> = match r.item {
        None => items
            .iter()
            .filter(|i| i.left() > 0)
            .map(|i| (i, i.left()))
            .collect(),
        Some(id) => match items.iter().find(|i| i.id == id) {
            Some(i) if r.quantity > 0 => vec![(i, r.quantity)],
            _ => return Ok(Err(Msg::new("rx-code-invalid"))),
        },
    };
    if wanted.is_empty() {
        return Ok(Err(Msg::new("rx-used").arg("rx", p.external_id)));
    }
    for (i, q) in &wanted {
        if !store::take_item(tx, r.prescription, i.id, *q).await? {
            return Ok(Err(Msg::new("rx-beyond")
                .arg("inn", i.inn.clone())
                .num("left", i.left())));
        }
    }
    let now = core.now_ms();
    let lines: Vec<(i64, i64)> = wanted.iter().map(|(i, q)| (i.id, *q)).collect();
    let day = today.format("%Y-%m-%d").to_string();
    let row = DispensingRow {
        id: 0,
        prescription_id: r.prescription,
        seq,
        provider_id: pharmacy.id,
        pharmacy_bin: pharmacy.bin.clone(),
        channel: chat.channel.clone(),
        chat_id: chat.chat_id.clone(),
        at: now,
        day: day.clone(),
    };
    let id = store::insert_dispensing(tx, &row, &lines).await?;
    let given: Vec<(String, String, String, i64)> = wanted
        .iter()
        .map(|(i, q)| (i.inn.clone(), i.form.clone(), i.unit.clone(), *q))
        .collect();
    // The patient (and a child's representative) is told at once, through the outbox, in
    // this transaction.
    let mut chats = store::verified_chats(tx, &p.patient_hash).await?;
    if let Some(rep) = &p.representative_hash {
        chats.extend(store::verified_chats(tx, rep).await?);
    }
    let mut notices = 0;
    for (to, lang) in chats {
        let lang = lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::FALLBACK);
        let lines: Vec<String> = given
            .iter()
            .map(|(inn, form, unit, q)| item_line(core, lang, inn, form, *q, unit, None))
            .collect();
        let notice = Outbound::to_chat(
            to.clone(),
            lang,
            Msg::new("rx-dispensed-notice")
                .arg("pharmacy", pharmacy.name.clone())
                .arg("rx", p.external_id.clone())
                .date_time("at", now)
                .arg("items", lines.join("\n")),
        )
        .with_keyboard(Keyboard::Inline(vec![vec![button_with(
            Label::Text(Msg::new("rx-dispute-button")),
            RxButton::Dispute(id),
        )]]));
        let key = format!("rx-dispensed:{id}:{}:{}", to.channel, to.chat_id);
        if core.enqueue(tx, &to, &notice, Some(&key), None).await? {
            notices += 1;
        }
    }
    Ok(Ok(Dispensed {
        dispensing_id: id,
        seq,
        given,
        notices,
    }))
}

/// Appends the ledger lines of the dispensings claimed in this transaction (one version-2
/// redemption line per medicine, with the dispensing's id) and marks them chained.
async fn chain_claimed(conn: &mut Conn) -> Result<(), CoreError> {
    let mut last = 0;
    for (dispensing, prescription, bin, day, at, inn, form, unit, q) in
        store::claimed_lines(conn).await?
    {
        let item = format!("{inn}, {form}");
        last = ledger::append_v2(
            conn,
            VoucherKind::Medicine,
            Action::Redemption,
            &EntryV2 {
                voucher_id: Some(prescription),
                redemption_id: Some(dispensing),
                provider_bin: Some(&bin),
                day: Some(&day),
                item: Some(&item),
                quantity: Some(q),
                detail: Some(&unit),
                ..Default::default()
            },
            at,
        )
        .await?;
    }
    store::set_claimed_chained(conn, last).await?;
    Ok(())
}

/// Chains one dispensing in the caller's transaction, unless it is chained already (a
/// complaint about it is appended after its own lines).
pub async fn chain_one(conn: &mut Conn, d: &DispensingRow) -> Result<bool, CoreError> {
    if !store::claim_chain(conn, d.id).await? {
        return Ok(false);
    }
    chain_claimed(conn).await?;
    Ok(true)
}

/// The ledger's copy of the dispensings: claims up to `limit` dispensings not chained yet
/// (one statement), appends their lines and marks them, in one transaction, so the ledger
/// head's lock and the WAL flush are shared by the batch instead of taken by every
/// dispensing. Run by the [`ChainDispensings`] job every second, and before an act.
pub async fn chain(core: &Core, limit: i64) -> Result<usize, CoreError> {
    let mut tx = core.store.begin().await?;
    let n = store::claim_unchained(&mut tx, limit).await?;
    if n > 0 {
        chain_claimed(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(n as usize)
}

/// Chains every dispensing not chained yet.
pub async fn chain_all(core: &Core) -> Result<usize, CoreError> {
    let mut total = 0;
    loop {
        let n = chain(core, CHAIN_BATCH).await?;
        total += n;
        if n < CHAIN_BATCH as usize {
            return Ok(total);
        }
    }
}

/// Dispensings chained per transaction.
pub const CHAIN_BATCH: i64 = 500;

/// The job that keeps the ledger's copy of the dispensings up to date (leader-run with the
/// status notifier's group).
#[derive(Debug, Clone, Copy)]
pub struct ChainDispensings;

impl crate::core::job::Job for ChainDispensings {
    fn name(&self) -> &'static str {
        "rx-ledger"
    }

    fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> crate::core::job::JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(chain_all(core))
    }
}

/// [`dispense_in`] in its own transaction: committed when done, rolled back on a refusal.
pub async fn dispense(
    core: &Core,
    chat: &ChatRef,
    r: &Request,
) -> Result<Result<Dispensed, Msg>, CoreError> {
    let mut tx = core.store.begin().await?;
    let out = dispense_in(core, &mut tx, chat, r).await?;
    if out.is_ok() {
        tx.commit().await?;
        core.outbox_ready.notify_one();
    }
    Ok(out)
}

/// `ashyq act --pharmacy BIN --month YYYY-MM`: the month's dispensings of a pharmacy, one
/// CSV line per medicine given, with the prescription's kind and the patient's share.
pub async fn act(core: &Core, bin_s: &str, month: &str) -> Result<String, PrescriptionError> {
    let bin = bin(bin_s)?;
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| PrescriptionError::BadMonth)?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .ok_or(PrescriptionError::BadMonth)?;
    // Every dispensing in the ledger first.
    chain_all(core).await?;
    let mut conn = core.store.pool().acquire().await?;
    let pharmacy = providers::by_bin(&mut conn, ProviderKind::Pharmacy, &bin)
        .await?
        .ok_or_else(|| PrescriptionError::NoPharmacy(bin.clone()))?;
    // No act from a broken ledger.
    let verification = ledger::verify(&mut conn).await?;
    if let Some(p) = verification.first_problem {
        return Err(PrescriptionError::LedgerBroken(p.to_string()));
    }
    let rows = store::act_lines(
        &mut conn,
        &bin,
        &first.format("%Y-%m-%d").to_string(),
        &last.format("%Y-%m-%d").to_string(),
    )
    .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| PrescriptionError::Import(e.to_string());
    w.write_record([
        "pharmacy_bin",
        "pharmacy",
        "ledger_seq",
        "time",
        "day",
        "prescription",
        "kind",
        "patient_share",
        "item",
        "quantity",
        "unit",
    ])
    .map_err(io)?;
    for (seq, at, day, external_id, kind, share, item, quantity, unit) in rows {
        let time = chrono::DateTime::from_timestamp_millis(at)
            .map(|t| {
                t.with_timezone(&crate::clock::almaty())
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .unwrap_or_default();
        w.write_record([
            bin.as_str(),
            pharmacy.name.as_str(),
            seq.to_string().as_str(),
            time.as_str(),
            day.as_str(),
            external_id.as_str(),
            kind.as_str(),
            share.to_string().as_str(),
            item.as_str(),
            quantity.to_string().as_str(),
            unit.as_str(),
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PrescriptionError::Import(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
