//! Registration and the person's own data: `/start`, the language, consent, the phone by
//! contact button, the IIN, the main menu's `/me`, `/help`, `/forget`.
//!
//! A feature (docs/ARCHITECTURE.md): it uses shared modules and storage, never another
//! feature. A completed registration is announced as [`Happened::Registered`]; whoever
//! cares (the status watch, a check-in waiting for it) is called by the dispatcher.

use crate::core::context::Ctx;
use crate::core::shared::callback::Callback;
use crate::core::shared::menu::{language_prompt, menu_keyboard};
use crate::core::shared::otp;
use crate::core::shared::routes::RegistrationRoute;
use crate::core::{Button, CoreError, Keyboard, Label, Outbound, ReplyButton, State};
use crate::crypto::Field;
use crate::domain::{Iin, IinError, Lang, Phone};
use crate::i18n::Msg;
use crate::storage::people;

/// Age from which a person may register (domain.md).
pub use crate::core::shared::identity::MIN_AGE;

/// The registration's entry point.
pub async fn handle(
    ctx: &mut Ctx<'_>,
    route: RegistrationRoute,
) -> Result<Vec<Outbound>, CoreError> {
    use RegistrationRoute as R;
    let lang = ctx.lang;
    let out = match route {
        R::Start => start(ctx),
        R::ChooseLanguage(chosen) => choose_language(ctx, chosen),
        R::LanguagePrompt => vec![language_prompt(lang)],
        R::Help => vec![Outbound::reply(lang, Msg::new("help")), ctx.prompt()],
        R::MenuHelp => {
            vec![Outbound::reply(lang, Msg::new("help")).with_keyboard(menu_keyboard())]
        }
        R::Me => vec![me(ctx).await?],
        R::Forget => {
            ctx.conv.state = State::ConfirmForget;
            vec![ctx.prompt()]
        }
        R::ForgetConfirmed(true) => {
            if let Some(id) = ctx.conv.person_id.take() {
                // Consent to share with relatives ends with the account.
                if let Some(hash) = people::get(ctx.tx, id).await?.and_then(|p| p.iin_hash) {
                    crate::storage::family::forget_consents(ctx.tx, &hash, ctx.core.now_ms())
                        .await?;
                }
                people::delete(ctx.tx, id).await?;
            }
            ctx.conv.state = State::Idle;
            vec![Outbound::reply(lang, Msg::new("forget-done")).with_keyboard(Keyboard::Remove)]
        }
        R::ForgetConfirmed(false) => {
            ctx.conv.state = State::Menu;
            vec![Outbound::reply(lang, Msg::new("forget-cancelled")).with_keyboard(menu_keyboard())]
        }
        R::Consent(true) => {
            ctx.conv.state = State::Phone {
                consent_at_ms: ctx.now_ms(),
            };
            let mut out = vec![ctx.prompt()];
            if ctx.core.channels.typed_phone_by_code(&ctx.chat.channel) {
                // Sharing may not work on this channel: the number can be typed instead.
                out.push(otp::ask_number(lang));
            }
            out
        }
        R::Consent(false) => {
            ctx.conv.state = State::Idle;
            vec![
                Outbound::reply(lang, Msg::new("consent-declined")).with_keyboard(Keyboard::Remove),
            ]
        }
        R::Contact { phone, own: _ } => contact(ctx, &phone).await?,
        R::PhoneTyped => ctx.refuse(Msg::new("phone-use-button")),
        R::PhoneNumber(text) => phone_number(ctx, &text).await?,
        R::PhoneCode(text) => phone_code(ctx, &text).await?,
        R::Iin(text) => iin(ctx, &text).await?,
        R::Idle => vec![ctx.prompt()],
    };
    Ok(out)
}

fn is_registered(ctx: &Ctx<'_>) -> bool {
    ctx.conv.person_id.is_some() && matches!(ctx.conv.state, State::Menu | State::ConfirmForget)
}

/// `/start`, or a feature that needs the chat registered.
pub fn start(ctx: &mut Ctx<'_>) -> Vec<Outbound> {
    let lang = ctx.lang;
    if is_registered(ctx) {
        ctx.conv.state = State::Menu;
        return vec![
            Outbound::reply(lang, Msg::new("welcome-back")).with_keyboard(menu_keyboard()),
        ];
    }
    if ctx.conv.state.is_registering() {
        return ctx.refuse(Msg::new("hint-registration-in-progress"));
    }
    ctx.conv.state = if ctx.conv.lang.is_none() {
        State::ChoosingLanguage
    } else {
        State::Consent
    };
    vec![ctx.prompt()]
}

fn choose_language(ctx: &mut Ctx<'_>, chosen: Lang) -> Vec<Outbound> {
    ctx.conv.lang = Some(chosen);
    let mut out = vec![Outbound::reply(chosen, Msg::new("language-set"))];
    if ctx.conv.state == State::ChoosingLanguage {
        ctx.conv.state = State::Consent;
    }
    out.push((ctx.prompt)(&ctx.conv.state, chosen));
    out
}

async fn contact(ctx: &mut Ctx<'_>, phone: &str) -> Result<Vec<Outbound>, CoreError> {
    let (State::Phone { consent_at_ms } | State::PhoneCode { consent_at_ms, .. }) = ctx.conv.state
    else {
        return Ok(ctx.refuse(Msg::new("hint-contact-not-needed")));
    };
    let Ok(phone) = Phone::parse(phone) else {
        return Ok(ctx.refuse(Msg::new("phone-invalid")));
    };
    save_phone(ctx, &phone, consent_at_ms, "phone-saved").await
}

/// The number is the person's own (a contact of the sender, or a one-time code answered):
/// the person is stored with its keyed hash and sealed value; the IIN comes next.
async fn save_phone(
    ctx: &mut Ctx<'_>,
    phone: &Phone,
    consent_at_ms: i64,
    saved: &'static str,
) -> Result<Vec<Outbound>, CoreError> {
    let core = ctx.core;
    if let Some(stale) = ctx.conv.person_id.take() {
        people::delete(ctx.tx, stale).await?;
    }
    crate::security::keys::settle(ctx.tx, &core.vault, Field::Phone, phone.expose()).await?;
    let id = people::insert(
        ctx.tx,
        &core.vault.lookup_hash(Field::Phone, phone.expose()),
        &core.vault.seal(Field::Phone, phone.expose()),
        consent_at_ms,
        core.now_ms(),
    )
    .await?;
    ctx.conv.person_id = Some(id);
    ctx.conv.state = State::Iin;
    Ok(vec![
        Outbound::reply(ctx.lang, Msg::new(saved)),
        ctx.prompt(),
    ])
}

/// A number typed at the phone step on a channel that proves it by a one-time code: within
/// the limits per chat and per number, a code goes to it by SMS (queued in this
/// transaction) and the conversation waits for it. Nothing else is stored.
async fn phone_number(ctx: &mut Ctx<'_>, text: &str) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let consent_at_ms = match ctx.conv.state {
        State::Phone { consent_at_ms } | State::PhoneCode { consent_at_ms, .. } => consent_at_ms,
        _ => return Ok(vec![ctx.prompt()]),
    };
    let Ok(phone) = Phone::parse(text) else {
        return Ok(vec![Outbound::reply(
            lang,
            Msg::new("aitu-otp-not-a-number"),
        )]);
    };
    let now = core.now_ms();
    let number_chat = crate::storage::ChatRef::new(
        &core.channels.phone_channel,
        hex::encode(core.vault.lookup_hash(Field::Phone, phone.expose())),
    );
    let allowed = crate::security::throttle::otp_code(
        ctx.tx,
        &[ctx.chat, &number_chat],
        otp::CODES_PER_HOUR,
        otp::CODES_PER_DAY,
        now,
    )
    .await?;
    if !allowed {
        return Ok(vec![Outbound::reply(lang, Msg::new("aitu-otp-too-many"))]);
    }
    let (pending, code) = otp::issue(&core.vault, &phone, now);
    otp::queue_sms(core, ctx.tx, &phone, &code, &pending).await?;
    ctx.conv.state = State::PhoneCode {
        consent_at_ms,
        pending,
        phone_enc: hex::encode(core.vault.seal(Field::Phone, phone.expose())),
    };
    Ok(vec![otp::code_sent(lang)])
}

/// Text while a one-time code is awaited: the code (an attempt), or another number (a new
/// code). Only a verified code makes the number the person's.
async fn phone_code(ctx: &mut Ctx<'_>, text: &str) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let State::PhoneCode {
        consent_at_ms,
        mut pending,
        phone_enc,
    } = ctx.conv.state.clone()
    else {
        return Ok(vec![ctx.prompt()]);
    };
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if digits > otp::CODE_DIGITS && Phone::parse(text).is_ok() {
        return phone_number(ctx, text).await;
    }
    let sealed = hex::decode(&phone_enc)
        .map_err(|e| CoreError::internal("one-time code", format!("sealed number: {e}")))?;
    let plain = core.vault.open(Field::Phone, &sealed)?;
    let phone = Phone::parse(&plain)
        .map_err(|_| CoreError::internal("one-time code", "the sealed number does not parse"))?;
    let result = otp::check(&core.vault, &mut pending, &phone, text, core.now_ms());
    match result {
        otp::Check::Verified => {
            return save_phone(ctx, &phone, consent_at_ms, "aitu-otp-verified").await;
        }
        otp::Check::Wrong { attempts_left } if attempts_left > 0 => {
            ctx.conv.state = State::PhoneCode {
                consent_at_ms,
                pending,
                phone_enc,
            };
        }
        otp::Check::NotACode => {}
        otp::Check::Wrong { .. } | otp::Check::Expired | otp::Check::Exhausted => {
            ctx.conv.state = State::Phone { consent_at_ms };
        }
    }
    Ok(vec![otp::reply_for(result, lang)])
}

async fn iin(ctx: &mut Ctx<'_>, text: &str) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let iin = match Iin::parse(text) {
        Ok(iin) => iin,
        Err(e) => {
            let msg = match e {
                IinError::WrongLength(n) => Msg::new("iin-wrong-length").num("count", n as i64),
                IinError::NotDigits => Msg::new("iin-not-digits"),
                IinError::BadChecksum => Msg::new("iin-bad-checksum"),
                IinError::ImpossibleDate => Msg::new("iin-impossible-date"),
            };
            return Ok(vec![Outbound::reply(lang, msg)]);
        }
    };
    let today = core
        .clock
        .now()
        .with_timezone(&crate::clock::almaty())
        .date_naive();
    if iin.birth_date() > today {
        return Ok(vec![Outbound::reply(lang, Msg::new("iin-impossible-date"))]);
    }
    if iin.age_on(today) < MIN_AGE {
        return Ok(vec![Outbound::reply(
            lang,
            Msg::new("iin-under-age").num("age", i64::from(MIN_AGE)),
        )]);
    }
    let Some(person) = ctx.conv.person_id else {
        // The phone step was lost (data forgotten elsewhere): ask for it again.
        ctx.conv.state = State::Phone {
            consent_at_ms: core.now_ms(),
        };
        return Ok(vec![ctx.prompt()]);
    };
    // The identity registry decides (core::shared::identity); a match raises
    // `Happened::Registered`.
    crate::core::shared::identity::submit(ctx, person, &iin).await
}

async fn me(ctx: &mut Ctx<'_>) -> Result<Outbound, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let Some(person) = (match ctx.conv.person_id {
        Some(id) => people::get(ctx.tx, id).await?,
        None => None,
    }) else {
        return Ok(Outbound::reply(lang, Msg::new("hint-register-first")));
    };
    let phone = core.vault.open(Field::Phone, &person.phone_enc)?;
    let phone = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
    let iin = match &person.iin_enc {
        Some(enc) => {
            let plain = core.vault.open(Field::Iin, enc)?;
            Iin::parse(&plain).map(|i| i.masked()).unwrap_or_default()
        }
        None => String::new(),
    };
    Ok(Outbound::reply(
        lang,
        Msg::new("me-info")
            .arg("phone", phone)
            .arg("iin", iin)
            .arg("language", lang.native_name()),
    )
    .with_keyboard(menu_keyboard()))
}

fn inline(buttons: &[(&'static str, Callback)]) -> Keyboard {
    Keyboard::Inline(vec![
        buttons
            .iter()
            .map(|(key, data)| Button {
                label: Label::Text(Msg::new(key)),
                data: data.to_string(),
            })
            .collect(),
    ])
}

/// The prompts of the registration's and the menu's steps.
pub fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::Idle => Outbound::reply(lang, Msg::new("idle-prompt")),
        State::ChoosingLanguage => language_prompt(lang),
        State::Consent => Outbound::reply(lang, Msg::new("consent-text")).with_keyboard(inline(&[
            ("consent-accept", Callback::Consent(true)),
            ("consent-decline", Callback::Consent(false)),
        ])),
        State::Phone { .. } => {
            Outbound::reply(lang, Msg::new("phone-prompt")).with_keyboard(Keyboard::Reply(vec![
                vec![ReplyButton {
                    label: Label::Text(Msg::new("phone-share-button")),
                    request_contact: true,
                }],
            ]))
        }
        State::PhoneCode { .. } => otp::code_sent(lang),
        State::Iin => Outbound::reply(lang, Msg::new("iin-prompt")).with_keyboard(Keyboard::Remove),
        State::IdentityPending => crate::core::shared::identity::pending_prompt(lang),
        State::Menu => {
            Outbound::reply(lang, Msg::new("menu-prompt")).with_keyboard(menu_keyboard())
        }
        State::ConfirmForget => {
            Outbound::reply(lang, Msg::new("forget-confirm")).with_keyboard(inline(&[
                ("forget-yes", Callback::Forget(true)),
                ("forget-no", Callback::Forget(false)),
            ]))
        }
        _ => Outbound::reply(lang, Msg::new("menu-prompt")),
    }
}
