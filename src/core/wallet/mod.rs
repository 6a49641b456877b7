//! Social Wallet: school-meal vouchers (shared/domain.md, "Social Wallet").
//!
//! - [`eligibility`]: the state lists (CSV and HTTP) and the rule that decides.
//! - [`campaign`]: offers through the durable outbox, to the parent's chat or by SMS.
//! - here: answers `N#1` / `N#2`, `/wallet` (activation, the child's daily QR, reissue),
//!   canteen operators (invites, redemption by photo or short code, `/menu`), the parents'
//!   meal notices with ratings, `/meals`.
//! - [`ledger`]: the meal kind's monthly acts over the voucher engine's one ledger
//!   (`core::vouchers::ledger`, re-exported).
//! - `club`: club vouchers, the second kind on the engine (lists, acceptance, the child's
//!   short-lived QR, attendance, the monthly act).
//! - `morning`: the child's QR each school morning for parents who opted in ([`MorningQr`]).
//!
//! School meals are the first kind of the voucher engine (`core::vouchers`): schools'
//! canteens are its providers (kind `canteen`), their operators join through its invites,
//! the ledger is its ledger (meal entries keep their version-1 line).
//!
//! The conversation calls [`intercept`] before the check-in; everything wallet is decided
//! here. The redemption path is one function, [`redeem`] (benchmarks call it directly).

pub mod campaign;
pub mod eligibility;
pub mod ledger;
pub mod token;

mod admin;
mod canteen;
mod club;
mod consent;
mod morning;
mod parent;
mod rating;
pub use admin::*;
pub use canteen::*;
pub use club::{
    Attendance, CLUB_COLUMNS, ClubAct, ClubImportReport, club_act, club_attend, club_attend_once,
    import_club_json, import_clubs, looks_like_voucher_code,
};
use club::{club_answer, club_list, club_qr};
use consent::*;
pub use morning::{MORNING_AT, MorningQr, send_morning_codes};
pub use parent::*;
use rating::*;

use super::context::Ctx;
use super::shared::callback::WalletButton;
use super::shared::mask::mask_iins;
use super::shared::routes::WalletRoute;
use super::{
    AttachmentKind, Button, Conversation, Core, CoreError, Keyboard, Label, Outbound, State,
};
use crate::clock::local_time;
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::storage::wallet::{self as store, Audit, VoucherRow};
use crate::storage::{ChatRef, StoreError, Tx, people};
use chrono::NaiveDate;
use ledger::{Entry, Kind};
use token::{MealKeys, MealToken};

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
    /// The database or another internal failure (one variant: no duplicate of
    /// `CoreError::Store`).
    #[error(transparent)]
    Core(#[from] CoreError),
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

impl From<StoreError> for WalletError {
    fn from(e: StoreError) -> Self {
        WalletError::Core(e.into())
    }
}

impl From<sqlx::Error> for WalletError {
    fn from(e: sqlx::Error) -> Self {
        WalletError::Core(e.into())
    }
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
        WalletRoute::JoinCanteen(secret) => {
            join_provider(core, tx, chat, lang, &secret, true).await
        }
        WalletRoute::JoinProvider(secret) => {
            join_provider(core, tx, chat, lang, &secret, false).await
        }
        WalletRoute::List => {
            let mut out = wallet_list(core, tx, conv, chat, lang).await?;
            with_prescriptions_button(&mut out);
            Ok(out)
        }
        WalletRoute::TodaysCodes => todays_codes(core, tx, conv, chat, lang).await,
        WalletRoute::Meals => meals(core, tx, chat, lang).await,
        WalletRoute::Menu(arg) => menu(core, tx, chat, lang, &arg).await,
        WalletRoute::Button(b) => on_button(core, tx, conv, chat, lang, b).await,
        WalletRoute::StaleButton => Ok(reply(lang, Msg::new("hint-stale-button"))),
        WalletRoute::Answer { number, accept } => {
            answer_offer(core, tx, chat, lang, number, accept).await
        }
        WalletRoute::AnswerHelp => Ok(reply(lang, Msg::new("wallet-answer-help"))),
        WalletRoute::ClubAttend(code) => {
            let r = club_attend(core, tx, chat, &code).await?;
            Ok(reply(lang, r.msg()))
        }
        WalletRoute::Redeem(code) => {
            let r = redeem_in(core, tx, chat, &code).await?;
            Ok(reply(lang, r.msg()))
        }
    }
}

/// The wallet's way to the patient's prescriptions (`core::prescriptions`, by its button):
/// a row under the last message of `/wallet`.
fn with_prescriptions_button(out: &mut [Outbound]) {
    let Some(last) = out.last_mut() else {
        return;
    };
    let row = vec![crate::core::shared::menu::button_with(
        Label::Text(Msg::new("rx-wallet-button")),
        crate::core::shared::callback::RxButton::List,
    )];
    match &mut last.keyboard {
        Keyboard::Inline(rows) => rows.push(row),
        k @ (Keyboard::Keep | Keyboard::Remove) => *k = Keyboard::Inline(vec![row]),
        Keyboard::Reply(_) => {}
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
