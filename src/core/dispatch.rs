//! One event of a user's chat: route it once ([`crate::core::route`]), call the one feature
//! the route names, let listeners act on what it did ([`Happened`]), and answer.
//!
//! This module and the router are the only places that name every feature; features know
//! none of each other (docs/ARCHITECTURE.md, "The dependency rule").

use super::context::Ctx;
use super::route::{self, Hint, Route};
use super::shared::events::Happened;
use super::{
    Conversation, Core, CoreError, Event, Keyboard, MAX_TEXT_CHARS, MediaKind, Outbound, Recipient,
    State, business, checkin, family, keywords, prescriptions, registration, status, support,
    wallet,
};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx};

pub(super) async fn step(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    event: &Event,
    lang_hint: Option<&str>,
    chat: &ChatRef,
    scan: Option<&super::shared::scan::Scan>,
) -> Result<Vec<Outbound>, CoreError> {
    let keywords = core.channels.keywords(&chat.channel);
    // A number's chat (SMS) without a language of its own speaks its person's chat language.
    let known = match (keywords, conv.lang) {
        (true, None) => number_lang(tx, chat).await?,
        _ => None,
    };
    let lang = conv
        .lang
        .or(known)
        .or_else(|| lang_hint.and_then(Lang::guess_from_hint))
        .unwrap_or(Lang::FALLBACK);
    let at = route::Chat {
        chat,
        is_support_desk: false,
        keywords,
        phone_by_code: core.channels.typed_phone_by_code(&chat.channel),
    };
    if keywords {
        // Limits per number: over them one short notice, then silence.
        use crate::security::throttle::{Quota, keyword_message};
        match keyword_message(tx, chat, core.now_ms()).await? {
            Quota::Answer => {}
            Quota::Notice => {
                let notice = Outbound::reply(lang, Msg::new("sms-too-many"));
                return Ok(through_outbox(vec![notice], chat));
            }
            Quota::Silent => return Ok(Vec::new()),
        }
    }
    let route = route::route(core, tx, conv, &at, event, scan, lang).await?;
    tracing::debug!(feature = ?route.feature(), "routed");
    let mut ctx = Ctx {
        core,
        tx,
        conv,
        chat,
        lang,
        event,
        scan,
        prompt,
        happened: Vec::new(),
    };
    let mut out = match route {
        Route::Registration(r) => registration::handle(&mut ctx, r).await?,
        Route::Status => status::handle(&mut ctx).await?,
        Route::CheckIn(r) => checkin::handle(&mut ctx, r).await?,
        Route::Guard(r) => checkin::guard::handle(&mut ctx, r).await?,
        Route::Staff(r) => checkin::staff::handle(&mut ctx, r).await?,
        Route::Business(r) => business::handle(&mut ctx, r).await?,
        Route::Wallet(r) => wallet::handle(&mut ctx, r).await?,
        Route::Support(r) => support::handle(&mut ctx, r).await?,
        Route::Family(r) => family::handle(&mut ctx, r).await?,
        Route::Keyword(r) => keywords::handle(&mut ctx, r).await?,
        Route::Prescriptions(r) => prescriptions::handle(&mut ctx, r).await?,
        Route::Hint(h) => ctx.refuse(hint(h)),
    };
    while !ctx.happened.is_empty() {
        let happened = std::mem::take(&mut ctx.happened);
        for h in happened {
            out.extend(listen(&mut ctx, h).await?);
        }
    }
    if core.channels.replies_through_outbox(&chat.channel) {
        out = through_outbox(out, chat);
    }
    Ok(out)
}

/// Nobody waits for an answer on this channel: every reply goes through the outbox.
fn through_outbox(mut out: Vec<Outbound>, chat: &ChatRef) -> Vec<Outbound> {
    for o in &mut out {
        if o.to == Recipient::Sender {
            o.to = Recipient::Chat(chat.clone());
        }
        o.keyboard = Keyboard::Keep;
    }
    out
}

/// The chat language of the person registered with this number (the chat id of a number's
/// chat is the keyed hash of the number), when there is one.
async fn number_lang(tx: &mut Tx, chat: &ChatRef) -> Result<Option<Lang>, CoreError> {
    let Ok(phone_hash) = hex::decode(&chat.chat_id) else {
        return Ok(None);
    };
    Ok(crate::storage::wallet::chat_of_phone(tx, &phone_hash)
        .await?
        .and_then(|(_, lang)| lang)
        .and_then(|l| Lang::from_code(&l)))
}

/// The listeners of what features did.
async fn listen(ctx: &mut Ctx<'_>, happened: Happened) -> Result<Vec<Outbound>, CoreError> {
    match happened {
        Happened::Registered {
            person_id,
            iin_hash,
        } => {
            status::on_registered(ctx.core, ctx.tx, person_id, &iin_hash).await?;
            // A check-in that was waiting for the registration completes now.
            checkin::after_registration(ctx).await
        }
        Happened::RegistrationNeeded => Ok(registration::start(ctx)),
        Happened::Complaint {
            user,
            lang,
            summary,
        } => support::complaint_ticket(ctx.core, ctx.tx, &user, lang, summary).await,
    }
}

/// The text of a hint.
fn hint(h: Hint) -> Msg {
    let unsupported = |kind: MediaKind| Msg::new("hint-unsupported").arg("kind", kind.as_str());
    match h {
        Hint::Edited => Msg::new("hint-edited"),
        Hint::Forwarded => Msg::new("hint-forwarded"),
        Hint::TooLong => Msg::new("hint-too-long").num("max", MAX_TEXT_CHARS as i64),
        Hint::StaleButton => Msg::new("hint-stale-button"),
        Hint::RegisterFirst => Msg::new("hint-register-first"),
        Hint::UnknownCommand => Msg::new("hint-unknown-command"),
        Hint::ChooseLanguage => Msg::new("hint-choose-language"),
        Hint::PhoneNotYours => Msg::new("phone-not-yours"),
        Hint::UseMenu => Msg::new("hint-use-menu"),
        Hint::Unsupported(kind) => unsupported(kind),
        Hint::ContactNotNeeded => Msg::new("hint-contact-not-needed"),
        Hint::NotUnderstood => Msg::new("hint-not-understood"),
    }
}

/// What the bot says to ask for the current step's input, whichever feature owns it.
pub fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::Idle
        | State::ChoosingLanguage
        | State::Consent
        | State::Phone { .. }
        | State::PhoneCode { .. }
        | State::Iin
        | State::IdentityPending
        | State::Menu
        | State::ConfirmForget => registration::prompt(state, lang),
        State::GuardIin { .. } | State::GuardConfirm { .. } => checkin::guard::prompt(state, lang),
        State::GroupCheckIn(_) => checkin::group::prompt(state, lang),
        State::SupportCategory
        | State::SupportQuestion { .. }
        | State::SupportFaq { .. }
        | State::Support { .. } => support::prompt(state, lang),
        State::Business { .. } | State::BizRejectReason { .. } => business::prompt(state, lang),
        State::WalletComment { .. } => wallet::prompt(state, lang),
    }
}
