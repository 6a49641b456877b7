//! Social Wallet: school-meal vouchers (shared/domain.md, "Social Wallet").
//!
//! - [`eligibility`]: the state lists (CSV and HTTP) and the rule that decides.
//! - [`campaign`]: offers through the durable outbox, to the parent's chat or by SMS.
//! - here: answers `N#1` / `N#2`, `/wallet` (activation, the child's daily QR, reissue),
//!   canteen operators (invites, redemption by photo or short code, `/menu`), the parents'
//!   meal notices with ratings, `/meals`.
//! - [`ledger`]: the hash-chained ledger every change appends to, its verification and the
//!   monthly acts.
//!
//! The conversation calls [`intercept`] before the check-in; everything wallet is decided
//! here. The redemption path is one function, [`redeem`] (benchmarks call it directly).

pub mod campaign;
pub mod eligibility;
pub mod ledger;
pub mod token;

use super::context::Ctx;
use super::shared::callback::WalletButton;
use super::shared::mask::mask_iins;
use super::shared::routes::WalletRoute;
use super::{
    AttachmentKind, Button, Conversation, Core, CoreError, Keyboard, Label, Outbound, State,
};
use crate::clock::{local_date, local_time};
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::storage::wallet::{self as store, Audit, VoucherRow};
use crate::storage::{ChatRef, StoreError, Tx, people};
use chrono::NaiveDate;
use ledger::{Entry, Kind};
use token::{MealKeys, MealToken};

/// The channel of SMS parents; the chat id is the hex keyed hash of the number.
pub const SMS: &str = "sms";
/// Prefix of a canteen invitation's `start` parameter.
pub const INVITE_PREFIX: &str = crate::core::shared::command::CANTEEN_INVITE_PREFIX;
/// How long a canteen invitation stays usable.
pub use crate::core::shared::invite::INVITE_TTL_MS;
/// Default time a parent has to answer an offer.
pub const DEFAULT_OFFER_DAYS: i64 = 14;
/// Longest menu and rating comment kept.
pub const MAX_MENU_CHARS: usize = 500;

/// Settings of the wallet (from the environment, see `config.rs`).
#[derive(Debug, Clone)]
pub struct WalletSettings {
    /// Days without meals besides weekends and summer (`WALLET_HOLIDAYS`).
    pub holidays: Vec<NaiveDate>,
    /// Days an offer stays open (`WALLET_OFFER_DAYS`).
    pub offer_days: i64,
    /// The SMS gateway's webhook (`SMS_WEBHOOK_URL`); `None`: a gateway that only logs.
    pub sms_webhook_url: Option<String>,
    /// The shared secret of the SMS gateway, both ways (`SMS_WEBHOOK_SECRET`).
    pub sms_webhook_secret: Option<String>,
}

impl Default for WalletSettings {
    fn default() -> Self {
        Self {
            holidays: Vec::new(),
            offer_days: DEFAULT_OFFER_DAYS,
            sms_webhook_url: None,
            sms_webhook_secret: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("import: {0}")]
    Import(String),
    #[error("the month must be YYYY-MM")]
    BadMonth,
    #[error("invalid BIN: {0}")]
    BadBin(String),
    #[error("the price must be tenge like 850 or 850.50")]
    BadPrice,
    #[error("no school with BIN {0}")]
    NoSchool(String),
    #[error("no supplier with BIN {0} (set it with `ashyq supplier set`)")]
    NoSupplier(String),
    #[error("no voucher {0}")]
    NoVoucher(i64),
    #[error("the ledger does not verify: {0}")]
    LedgerBroken(ledger::Problem),
    #[error("the stored act no longer matches its hash: it was altered in the database")]
    ActAltered,
}

/// Today in Almaty.
pub fn today(core: &Core) -> NaiveDate {
    core.clock
        .now()
        .with_timezone(&crate::clock::almaty())
        .date_naive()
}

fn day_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn local_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(crate::clock::almaty())
        .single()
        .expect("a fixed offset")
        .timestamp_millis()
}

/// The child as shown to parents and canteens: the masked IIN.
fn child(core: &Core, pupil_enc: &[u8]) -> Result<String, CoreError> {
    let plain = core.vault.open(Field::Iin, pupil_enc)?;
    Ok(Iin::parse(&plain).map(|i| i.masked()).unwrap_or_default())
}

fn reply(lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg)]
}

fn button(label: Label, data: WalletButton) -> Button {
    crate::core::shared::menu::button_with(label, data)
}

async fn audit(
    core: &Core,
    tx: &mut Tx,
    action: &str,
    outcome: &str,
    chat: &ChatRef,
    ids: (Option<i64>, Option<i64>, Option<i64>),
) -> Result<(), CoreError> {
    store::audit(
        tx,
        &Audit {
            action,
            outcome,
            chat: Some(chat),
            offer_id: ids.0,
            voucher_id: ids.1,
            school_id: ids.2,
        },
        core.now_ms(),
    )
    .await?;
    Ok(())
}

/// A parent's answer to an offer: `Some(Ok((number, accept)))`, `Some(Err(()))` for
/// something that looks like an answer but is not one, `None` for other text.
pub fn parse_answer(text: &str) -> Option<Result<(i64, bool), ()>> {
    let norm: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '＃' => '#',
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect();
    let (n, a) = norm.split_once('#')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match (n.parse::<i64>(), a) {
        (Ok(n), "1") if n > 0 => Some(Ok((n, true))),
        (Ok(n), "2") if n > 0 => Some(Ok((n, false))),
        _ => Some(Err(())),
    }
}

fn resume(conv: &Conversation) -> State {
    if conv.person_id.is_some() {
        State::Menu
    } else {
        State::Idle
    }
}

/// The wallet's entry point. On a channel that only answers offers (SMS) the dispatcher
/// sends every reply through the outbox.
pub async fn handle(ctx: &mut Ctx<'_>, route: WalletRoute) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang, chat) = (ctx.core, ctx.lang, ctx.chat);
    let Ctx { tx, conv, .. } = ctx;
    match route {
        WalletRoute::Comment { meal_id, text } => {
            let comment: String = mask_iins(text.trim())
                .chars()
                .take(MAX_MENU_CHARS)
                .collect();
            store::comment_meal(tx, meal_id, &comment).await?;
            conv.state = resume(conv);
            Ok(reply(lang, Msg::new("wallet-comment-saved")))
        }
        WalletRoute::SkipComment => {
            conv.state = resume(conv);
            Ok(reply(lang, Msg::new("wallet-comment-skipped")))
        }
        WalletRoute::JoinCanteen(secret) => join_canteen(core, tx, chat, lang, &secret).await,
        WalletRoute::List => wallet_list(core, tx, conv, chat, lang).await,
        WalletRoute::TodaysCodes => todays_codes(core, tx, conv, chat, lang).await,
        WalletRoute::Meals => meals(core, tx, chat, lang).await,
        WalletRoute::Menu(arg) => menu(core, tx, chat, lang, &arg).await,
        WalletRoute::Button(b) => on_button(core, tx, conv, chat, lang, b).await,
        WalletRoute::StaleButton => Ok(reply(lang, Msg::new("hint-stale-button"))),
        WalletRoute::Answer { number, accept } => {
            answer_offer(core, tx, chat, lang, number, accept).await
        }
        WalletRoute::AnswerHelp => Ok(reply(lang, Msg::new("wallet-answer-help"))),
        WalletRoute::Redeem(code) => {
            let r = redeem_in(core, tx, chat, &code).await?;
            Ok(reply(lang, r.msg()))
        }
    }
}

/// What the bot asks for at the wallet's own step.
pub(super) fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::WalletComment { .. } => comment_prompt(lang),
        _ => Outbound::reply(lang, Msg::new("wallet-answer-help")),
    }
}

fn comment_prompt(lang: Lang) -> Outbound {
    Outbound::reply(lang, Msg::new("wallet-comment-prompt")).with_keyboard(Keyboard::Inline(vec![
        vec![button(
            Label::Text(Msg::new("wallet-comment-skip")),
            WalletButton::SkipComment,
        )],
    ]))
}

// ---------------------------------------------------------------- consent

async fn answer_offer(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    number: i64,
    accept: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let Some(offer) = store::offer_by_number(tx, chat, number).await? else {
        audit(
            core,
            tx,
            "answer",
            "unknown_offer",
            chat,
            (None, None, None),
        )
        .await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-unknown").num("number", number),
        ));
    };
    let ids = (Some(offer.id), None, None);
    if offer.answer.is_some() {
        audit(core, tx, "answer", "already_answered", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-answered")
                .num("number", number)
                .arg("answer", offer.answer.clone().unwrap_or_default()),
        ));
    }
    if offer.expires_at <= now {
        audit(core, tx, "answer", "expired", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-expired")
                .num("number", number)
                .arg("date", local_date(offer.expires_at)),
        ));
    }
    let answer = if accept { "accepted" } else { "declined" };
    if !store::answer_offer(tx, offer.id, answer, now).await? {
        audit(core, tx, "answer", "already_answered", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-answered")
                .num("number", number)
                .arg("answer", answer),
        ));
    }
    let pupil = store::pupil(tx, offer.pupil_id)
        .await?
        .ok_or_else(|| CoreError::internal("offer answer", "the offer's pupil is missing"))?;
    let school = store::school(tx, pupil.school_id)
        .await?
        .ok_or_else(|| CoreError::internal("offer answer", "the pupil's school is missing"))?;
    let child = child(core, &pupil.pupil_enc)?;
    if !accept {
        ledger::append(
            tx,
            Kind::Refusal,
            &Entry {
                offer_id: Some(offer.id),
                pupil_id: Some(pupil.id),
                school_bin: Some(&school.bin),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-consent-declined")
                .num("number", number)
                .arg("child", child),
        ));
    }
    let until = local_ms(token::school_year_end(pupil.school_year));
    let voucher_id = store::insert_voucher(tx, &offer, school.id, now, until).await?;
    ledger::append(
        tx,
        Kind::Consent,
        &Entry {
            offer_id: Some(offer.id),
            voucher_id: Some(voucher_id),
            pupil_id: Some(pupil.id),
            school_bin: Some(&school.bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    let key = if chat.channel == SMS {
        "wallet-consent-accepted-sms"
    } else {
        "wallet-consent-accepted"
    };
    Ok(reply(
        lang,
        Msg::new(key)
            .num("number", number)
            .arg("child", child)
            .arg("school", school.name)
            .arg("until", local_date(until - 1)),
    ))
}

// ---------------------------------------------------------------- parents: vouchers and QR

/// The registered person of the chat and their `(phone hash, IIN hash)`.
async fn parent_of(
    tx: &mut Tx,
    conv: &Conversation,
) -> Result<Option<(Vec<u8>, Vec<u8>)>, CoreError> {
    let Some(id) = conv.person_id else {
        return Ok(None);
    };
    Ok(people::get(tx, id)
        .await?
        .filter(|p| p.registered_at.is_some())
        .map(|p| (p.phone_hash, p.iin_hash.unwrap_or_default())))
}

async fn parent_vouchers(
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
) -> Result<Option<Vec<VoucherRow>>, CoreError> {
    let Some((phone, iin)) = parent_of(tx, conv).await? else {
        return Ok(None);
    };
    Ok(Some(
        store::vouchers_of_parent(tx, &phone, &iin, chat).await?,
    ))
}

fn status_of(v: &VoucherRow, now: i64) -> &'static str {
    if v.revoked_at.is_some() {
        "revoked"
    } else if now >= v.valid_until {
        "expired"
    } else if v.activated_at.is_some() {
        "active"
    } else {
        "inactive"
    }
}

async fn wallet_list(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    if vouchers.is_empty() {
        return Ok(reply(lang, Msg::new("wallet-none")));
    }
    let now = core.now_ms();
    let mut out = Vec::new();
    for v in &vouchers {
        let status = status_of(v, now);
        let buttons = match status {
            "inactive" => vec![button(
                Label::Text(Msg::new("wallet-activate-button")),
                WalletButton::Activate(v.id),
            )],
            "active" => vec![
                button(
                    Label::Text(Msg::new("wallet-qr-button")),
                    WalletButton::Qr(v.id),
                ),
                button(
                    Label::Text(Msg::new("wallet-reissue-button")),
                    WalletButton::Reissue(v.id),
                ),
            ],
            _ => Vec::new(),
        };
        let msg = Msg::new("wallet-voucher")
            .arg("child", child(core, &v.pupil_enc)?)
            .num("grade", v.grade)
            .arg("school", v.school_name.clone())
            .arg("until", local_date(v.valid_until - 1))
            .arg("status", status);
        let o = Outbound::reply(lang, msg);
        out.push(if buttons.is_empty() {
            o
        } else {
            o.with_keyboard(Keyboard::Inline(vec![buttons]))
        });
    }
    Ok(out)
}

/// The QR picture of a text, drawn on the blocking pool: 8 pixels a module, quiet zone 4.
pub async fn qr_png(text: String) -> Result<Vec<u8>, CoreError> {
    tokio::task::spawn_blocking(move || render_qr_png(&text))
        .await
        .map_err(|e| CoreError::internal("QR rendering", e))?
}

fn render_qr_png(text: &str) -> Result<Vec<u8>, CoreError> {
    let fail = |e: String| CoreError::internal("QR rendering", e);
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| fail(e.to_string()))?;
    let n = code.width();
    let colors = code.to_colors();
    let (px, quiet) = (8usize, 4usize);
    let side = (n + 2 * quiet) * px;
    let mut pixels = vec![255u8; side * side];
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                for dy in 0..px {
                    let row = ((y + quiet) * px + dy) * side;
                    let start = row + (x + quiet) * px;
                    pixels[start..start + px].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(out)
}

/// Today's code of a voucher: the QR text and the short code.
pub fn todays_code(core: &Core, voucher_id: i64, generation: i64) -> (String, String) {
    let keys = MealKeys::new(core.vault.signing_key());
    let t = MealToken {
        voucher_id,
        generation,
        day: today(core),
    };
    (keys.sign(&t), keys.short_code(&t))
}

async fn qr_message(
    core: &Core,
    v: &VoucherRow,
    generation: i64,
    lang: Lang,
    key: &'static str,
) -> Result<Outbound, CoreError> {
    let (text, code) = todays_code(core, v.id, generation);
    let png = qr_png(text).await?;
    Ok(Outbound::reply(
        lang,
        Msg::new(key)
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("school", v.school_name.clone())
            .arg("date", local_date(core.now_ms()))
            .arg("code", code),
    )
    .with_attachment(AttachmentKind::Photo, "meal-qr.png", png))
}

async fn todays_codes(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let now = core.now_ms();
    let mut out = Vec::new();
    for v in vouchers.iter().filter(|v| status_of(v, now) == "active") {
        out.push(qr_message(core, v, v.generation, lang, "wallet-qr").await?);
    }
    if out.is_empty() {
        out = reply(lang, Msg::new("wallet-no-active"));
    }
    Ok(out)
}

async fn on_button(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    button: WalletButton,
) -> Result<Vec<Outbound>, CoreError> {
    match button {
        WalletButton::Rate { meal, rating } => rate(core, tx, conv, chat, lang, meal, rating).await,
        WalletButton::Answer { number, accept } => {
            answer_offer(core, tx, chat, lang, number, accept).await
        }
        WalletButton::Activate(id) => voucher_action(core, tx, conv, chat, lang, "act", id).await,
        WalletButton::Qr(id) => voucher_action(core, tx, conv, chat, lang, "qr", id).await,
        WalletButton::Reissue(id) => voucher_action(core, tx, conv, chat, lang, "new", id).await,
        // Outside the comment step.
        WalletButton::SkipComment => Ok(reply(lang, Msg::new("hint-stale-button"))),
    }
}

async fn voucher_action(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
    action: &str,
    id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let now = core.now_ms();
    let Some(v) = vouchers.into_iter().find(|v| v.id == id) else {
        audit(core, tx, action, "not_parent", chat, (None, Some(id), None)).await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    };
    let status = status_of(&v, now);
    if status == "revoked" || status == "expired" {
        audit(core, tx, action, status, chat, (None, Some(id), None)).await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    }
    let entry = |kind| (kind, v.pupil_id, v.school_bin.clone());
    match (action, status) {
        ("act", "inactive") => {
            if store::activate_voucher(tx, v.id, chat, now).await? {
                let (kind, pupil, school) = entry(Kind::Activation);
                ledger::append(
                    tx,
                    kind,
                    &Entry {
                        voucher_id: Some(v.id),
                        pupil_id: Some(pupil),
                        school_bin: Some(&school),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            }
            Ok(vec![
                qr_message(core, &v, v.generation, lang, "wallet-activated").await?,
            ])
        }
        ("act" | "qr", _) if status == "active" => Ok(vec![
            qr_message(core, &v, v.generation, lang, "wallet-qr").await?,
        ]),
        ("new", "active") => {
            let generation = store::reissue_voucher(tx, v.id).await?;
            let (kind, pupil, school) = entry(Kind::Revocation);
            ledger::append(
                tx,
                kind,
                &Entry {
                    voucher_id: Some(v.id),
                    pupil_id: Some(pupil),
                    school_bin: Some(&school),
                    ..Default::default()
                },
                now,
            )
            .await?;
            Ok(vec![
                qr_message(core, &v, generation, lang, "wallet-reissued").await?,
            ])
        }
        _ => Ok(reply(lang, Msg::new("wallet-voucher-unavailable"))),
    }
}

// ---------------------------------------------------------------- canteen

/// What a redemption attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    Granted {
        meal_id: i64,
        grade: i64,
        child: String,
        school: String,
    },
    /// The child already ate today (at `at_ms`).
    AlreadyToday { at_ms: i64 },
    /// Not activated, or the school year is over.
    NotEligible,
    /// The voucher or this code of it was revoked.
    Revoked,
    /// A code of a pupil of another school.
    AnotherSchool { school: String },
    /// A code of an earlier day (a screenshot).
    Stale,
    /// Not a valid meal code.
    Invalid,
    /// Weekend, holiday or vacation.
    NotSchoolDay,
    /// The chat is not a canteen operator.
    NotOperator,
}

impl Redemption {
    pub fn outcome(&self) -> &'static str {
        match self {
            Redemption::Granted { .. } => "granted",
            Redemption::AlreadyToday { .. } => "already_today",
            Redemption::NotEligible => "not_eligible",
            Redemption::Revoked => "revoked",
            Redemption::AnotherSchool { .. } => "another_school",
            Redemption::Stale => "stale",
            Redemption::Invalid => "invalid",
            Redemption::NotSchoolDay => "not_school_day",
            Redemption::NotOperator => "not_operator",
        }
    }

    /// The canteen's answer.
    pub fn msg(&self) -> Msg {
        match self {
            Redemption::Granted {
                grade,
                child,
                school,
                ..
            } => Msg::new("wallet-redeem-granted")
                .num("grade", *grade)
                .arg("child", child.clone())
                .arg("school", school.clone()),
            Redemption::AlreadyToday { at_ms } => {
                Msg::new("wallet-redeem-already").arg("time", local_time(*at_ms))
            }
            Redemption::NotEligible => Msg::new("wallet-redeem-not-eligible"),
            Redemption::Revoked => Msg::new("wallet-redeem-revoked"),
            Redemption::AnotherSchool { school } => {
                Msg::new("wallet-redeem-other-school").arg("school", school.clone())
            }
            Redemption::Stale => Msg::new("wallet-redeem-stale"),
            Redemption::Invalid => Msg::new("wallet-redeem-invalid"),
            Redemption::NotSchoolDay => Msg::new("wallet-redeem-no-school-day"),
            Redemption::NotOperator => Msg::new("wallet-redeem-not-operator"),
        }
    }
}

/// Redeems one meal code (the QR's text or the typed short code) for a canteen operator's
/// chat, in its own transaction: the one redemption path, also for benchmarks.
pub async fn redeem(core: &Core, operator: &ChatRef, code: &str) -> Result<Redemption, CoreError> {
    let mut tx = core.store.begin().await?;
    let r = redeem_in(core, &mut tx, operator, code).await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(r)
}

/// How a presented code relates to its voucher.
enum Check {
    Current,
    Revoked,
    Stale,
    Invalid,
}

/// The redemption inside the caller's transaction. A refusal writes only its audit line; a
/// meal writes the meal (UNIQUE per pupil and day), its ledger entry and the parent's notice.
pub async fn redeem_in(
    core: &Core,
    tx: &mut Tx,
    operator: &ChatRef,
    code: &str,
) -> Result<Redemption, CoreError> {
    let now = core.now_ms();
    let today = today(core);
    let keys = MealKeys::new(core.vault.signing_key());
    let refuse = |r: Redemption, voucher: Option<i64>, school: Option<i64>| (r, voucher, school);
    let result = 'decide: {
        let schools = store::canteen_schools(tx, operator).await?;
        if schools.is_empty() {
            break 'decide refuse(Redemption::NotOperator, None, None);
        }
        let token = keys.verify(code);
        let short = token::parse_short_code(code);
        let voucher_id = match (&token, &short) {
            (Some(t), _) => t.voucher_id,
            (None, Some((_, id))) => *id,
            _ => break 'decide refuse(Redemption::Invalid, None, None),
        };
        let Some(v) = store::voucher(tx, voucher_id).await? else {
            break 'decide refuse(Redemption::Invalid, None, None);
        };
        let check = match (&token, &short) {
            (Some(t), _) if t.generation != v.generation => Check::Revoked,
            (Some(t), _) if t.day < today => Check::Stale,
            (Some(t), _) if t.day > today => Check::Invalid,
            (Some(_), _) => Check::Current,
            (None, Some((canonical, _))) => {
                let at = |generation, day| MealToken {
                    voucher_id,
                    generation,
                    day,
                };
                if keys.short_code_matches(canonical, &at(v.generation, today)) {
                    Check::Current
                } else if (1..v.generation)
                    .any(|g| keys.short_code_matches(canonical, &at(g, today)))
                {
                    Check::Revoked
                } else if (1..=7)
                    .filter_map(|d| today.checked_sub_days(chrono::Days::new(d)))
                    .any(|d| keys.short_code_matches(canonical, &at(v.generation, d)))
                {
                    Check::Stale
                } else {
                    Check::Invalid
                }
            }
            (None, None) => Check::Invalid,
        };
        if matches!(check, Check::Invalid) {
            break 'decide refuse(Redemption::Invalid, Some(v.id), None);
        }
        let ids = (Some(v.id), Some(v.school_id));
        if !schools.iter().any(|s| s.id == v.school_id) {
            break 'decide refuse(
                Redemption::AnotherSchool {
                    school: v.school_name.clone(),
                },
                ids.0,
                ids.1,
            );
        }
        if v.revoked_at.is_some() || matches!(check, Check::Revoked) {
            break 'decide refuse(Redemption::Revoked, ids.0, ids.1);
        }
        if matches!(check, Check::Stale) {
            break 'decide refuse(Redemption::Stale, ids.0, ids.1);
        }
        if v.activated_at.is_none() || now >= v.valid_until {
            break 'decide refuse(Redemption::NotEligible, ids.0, ids.1);
        }
        if !token::is_school_day(today, &core.wallet.holidays) {
            break 'decide refuse(Redemption::NotSchoolDay, ids.0, ids.1);
        }
        let day = day_str(today);
        let Some(meal_id) =
            store::insert_meal(tx, v.id, v.pupil_id, v.school_id, &day, operator, now).await?
        else {
            let at_ms = store::meal_time(tx, v.pupil_id, &day).await?.unwrap_or(now);
            break 'decide refuse(Redemption::AlreadyToday { at_ms }, ids.0, ids.1);
        };
        notify_parent(core, tx, &v, meal_id, &day, now).await?;
        // The ledger append locks the ledger's head row until commit (appends are serial):
        // it comes last, so that lock is held as briefly as possible.
        ledger::append(
            tx,
            Kind::Redemption,
            &Entry {
                voucher_id: Some(v.id),
                pupil_id: Some(v.pupil_id),
                meal_id: Some(meal_id),
                school_bin: Some(&v.school_bin),
                supplier_bin: v.supplier_bin.as_deref(),
                day: Some(&day),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(Redemption::Granted {
            meal_id,
            grade: v.grade,
            child: child(core, &v.pupil_enc)?,
            school: v.school_name,
        });
    };
    let (r, voucher, school) = result;
    audit(
        core,
        tx,
        "redeem",
        r.outcome(),
        operator,
        (None, voucher, school),
    )
    .await?;
    Ok(r)
}

/// The parent's notice of a meal, with the rating buttons, queued in the meal's transaction.
async fn notify_parent(
    core: &Core,
    tx: &mut Tx,
    v: &VoucherRow,
    meal_id: i64,
    day: &str,
    now: i64,
) -> Result<(), CoreError> {
    let to = ChatRef::new(&v.channel, v.chat_id.clone());
    let lang = super::chat_lang(tx, &to).await?;
    let menu = store::menu(tx, v.school_id, day)
        .await?
        .unwrap_or_else(|| "—".into());
    let stars = (1..=5)
        .map(|n| {
            button(
                Label::Literal(format!("{n}⭐")),
                WalletButton::Rate {
                    meal: meal_id,
                    rating: n as i64,
                },
            )
        })
        .collect();
    let notice = Outbound::to_chat(
        to.clone(),
        lang,
        Msg::new("wallet-meal-notice")
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("time", local_time(now))
            .arg("school", v.school_name.clone())
            .arg("menu", menu),
    )
    .with_keyboard(Keyboard::Inline(vec![stars]));
    core.enqueue(
        tx,
        &to,
        &notice,
        Some(&format!("wallet-meal:{meal_id}")),
        None,
    )
    .await?;
    Ok(())
}

async fn join_canteen(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    secret: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let hash = crate::core::shared::invite::invite_hash(secret);
    let Some(school_id) = store::take_canteen_invite(tx, &hash, chat, now).await? else {
        audit(
            core,
            tx,
            "canteen_join",
            "invalid_invite",
            chat,
            (None, None, None),
        )
        .await?;
        return Ok(reply(lang, Msg::new("canteen-invite-invalid")));
    };
    store::add_canteen_staff(tx, school_id, chat, now).await?;
    let name = store::school(tx, school_id)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    Ok(reply(
        lang,
        Msg::new("canteen-invite-accepted").arg("school", name),
    ))
}

async fn menu(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    arg: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let schools = store::canteen_schools(tx, chat).await?;
    let Some(school) = schools.first() else {
        audit(core, tx, "menu", "not_operator", chat, (None, None, None)).await?;
        return Ok(reply(lang, Msg::new("canteen-only")));
    };
    let day = day_str(today(core));
    let text = arg.trim();
    if text.is_empty() {
        return Ok(reply(
            lang,
            match store::menu(tx, school.id, &day).await? {
                Some(m) => Msg::new("wallet-menu-today")
                    .arg("school", school.name.clone())
                    .arg("menu", m),
                None => Msg::new("wallet-menu-none").arg("school", school.name.clone()),
            },
        ));
    }
    if text.chars().count() > MAX_MENU_CHARS {
        return Ok(reply(
            lang,
            Msg::new("hint-too-long").num("max", MAX_MENU_CHARS as i64),
        ));
    }
    store::set_menu(tx, school.id, &day, text, core.now_ms()).await?;
    Ok(reply(
        lang,
        Msg::new("wallet-menu-set")
            .arg("school", school.name.clone())
            .arg("date", local_date(core.now_ms()))
            .arg("menu", text),
    ))
}

// ---------------------------------------------------------------- ratings and history

async fn rate(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    meal_id: i64,
    rating: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let meal = store::meal(tx, meal_id).await?;
    let ours = meal
        .as_ref()
        .is_some_and(|m| m.channel == chat.channel && m.chat_id == chat.chat_id);
    if !ours || !(1..=5).contains(&rating) {
        audit(core, tx, "rate", "refused", chat, (None, None, None)).await?;
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    }
    if !store::rate_meal(tx, meal_id, rating, core.now_ms()).await? {
        return Ok(reply(lang, Msg::new("wallet-rate-already")));
    }
    conv.state = State::WalletComment { meal_id };
    Ok(vec![
        Outbound::reply(lang, Msg::new("wallet-rate-thanks").num("rating", rating)),
        comment_prompt(lang),
    ])
}

async fn meals(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let today = today(core);
    let month = today.format("%Y-%m").to_string();
    let rows =
        store::meals_of_chat(tx, chat, &format!("{month}-01"), &format!("{month}-31")).await?;
    if rows.is_empty() {
        return Ok(reply(
            lang,
            Msg::new("wallet-meals-none").arg("month", today.format("%m.%Y").to_string()),
        ));
    }
    let mut lines = Vec::with_capacity(rows.len());
    for m in &rows {
        lines.push(format!(
            "{} {} · {} · {}{}",
            local_date(m.served_at),
            local_time(m.served_at),
            m.school_name,
            m.menu.clone().unwrap_or_else(|| "—".into()),
            m.rating.map_or(String::new(), |r| format!(" · {r}⭐")),
        ));
    }
    Ok(reply(
        lang,
        Msg::new("wallet-meals")
            .arg("month", today.format("%m.%Y").to_string())
            .num("count", rows.len() as i64)
            .arg("lines", lines.join("\n")),
    ))
}

// ---------------------------------------------------------------- administration

fn bin(text: &str) -> Result<String, WalletError> {
    crate::domain::Bin::parse(text)
        .map(|b| b.as_string())
        .map_err(|e| WalletError::BadBin(e.to_string()))
}

/// Parses a price in tenge (`850`, `850.5`, `850.50`) into tiyn.
pub fn parse_price(text: &str) -> Result<i64, WalletError> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(WalletError::BadPrice);
    }
    let whole: i64 = whole.parse().map_err(|_| WalletError::BadPrice)?;
    let frac: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| WalletError::BadPrice)?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|p| *p > 0)
        .ok_or(WalletError::BadPrice)
}

/// Sets a school's name and supplier.
pub async fn set_school(
    core: &Core,
    school_bin: &str,
    name: &str,
    supplier_bin: Option<&str>,
) -> Result<i64, WalletError> {
    let school_bin = bin(school_bin)?;
    let supplier = supplier_bin.map(bin).transpose()?;
    let mut tx = core.store.begin().await?;
    let id = store::set_school(
        &mut tx,
        &school_bin,
        name.trim(),
        supplier.as_deref(),
        core.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a supplier's name and unit price (tenge text, e.g. `850.00`).
pub async fn set_supplier(
    core: &Core,
    supplier_bin: &str,
    name: &str,
    price: &str,
) -> Result<i64, WalletError> {
    let supplier_bin = bin(supplier_bin)?;
    let tiyn = parse_price(price)?;
    let mut tx = core.store.begin().await?;
    store::set_supplier(&mut tx, &supplier_bin, name.trim(), tiyn, core.now_ms()).await?;
    tx.commit().await?;
    Ok(tiyn)
}

/// A one-time invitation link that makes a chat a canteen operator of the school.
pub async fn canteen_invite(
    core: &Core,
    school_bin: &str,
    bot: &str,
) -> Result<String, WalletError> {
    use crate::core::shared::invite::{InviteKind, new_invite};
    let school_bin = bin(school_bin)?;
    let now = core.now_ms();
    let invite = new_invite(InviteKind::Canteen, now);
    let mut tx = core.store.begin().await?;
    let school = store::school_by_bin(&mut tx, &school_bin)
        .await?
        .ok_or_else(|| WalletError::NoSchool(school_bin.clone()))?;
    store::insert_canteen_invite(&mut tx, school.id, &invite.hash, now, invite.expires_at_ms)
        .await?;
    tx.commit().await?;
    Ok(crate::core::shared::channel::Channels::default()
        .with_bot_username(bot)
        .deep_link(&invite.payload.encode()))
}

/// Revokes a voucher for good (a ledger entry); `false` when it already was.
pub async fn revoke_voucher(core: &Core, voucher_id: i64) -> Result<bool, WalletError> {
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    let v = store::voucher(&mut tx, voucher_id)
        .await?
        .ok_or(WalletError::NoVoucher(voucher_id))?;
    if !store::revoke_voucher(&mut tx, voucher_id, now).await? {
        return Ok(false);
    }
    ledger::append(
        &mut tx,
        Kind::Revocation,
        &Entry {
            voucher_id: Some(v.id),
            pupil_id: Some(v.pupil_id),
            school_bin: Some(&v.school_bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_tolerate_spaces_and_full_width_signs() {
        assert_eq!(parse_answer("2#1"), Some(Ok((2, true))));
        assert_eq!(parse_answer(" 2 # 2 "), Some(Ok((2, false))));
        assert_eq!(parse_answer("2＃1"), Some(Ok((2, true))));
        assert_eq!(parse_answer("１２＃１"), Some(Ok((12, true))));
        assert_eq!(parse_answer("2#3"), Some(Err(())));
        assert_eq!(parse_answer("2#"), Some(Err(())));
        assert_eq!(parse_answer("0#1"), Some(Err(())));
        assert_eq!(parse_answer("hello"), None);
        assert_eq!(parse_answer("#1"), None);
        assert_eq!(parse_answer("a#1"), None);
    }

    #[test]
    fn prices_are_tenge_with_at_most_two_decimals() {
        assert_eq!(parse_price("850").unwrap(), 85_000);
        assert_eq!(parse_price("850.5").unwrap(), 85_050);
        assert_eq!(parse_price("850.05").unwrap(), 85_005);
        for bad in ["", "0", "-1", "1.234", "1,5", "abc", ".5"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_qr_picture_decodes_to_its_text() {
        let png = render_qr_png("SWhello-world").unwrap();
        let texts = crate::qr::decode(&png, &crate::qr::Limits::default()).unwrap();
        assert_eq!(texts, ["SWhello-world"]);
    }
}
