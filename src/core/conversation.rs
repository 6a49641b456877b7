//! The conversation: registration, the main menu, `/me`, `/lang`, `/forget`, and a hint for
//! every unexpected input. Plain Rust over the storage module; no messenger in sight.

use super::{
    Button, Conversation, Core, CoreError, Event, Keyboard, Label, MAX_TEXT_CHARS, MediaKind,
    Outbound, ReplyButton, State,
};
use crate::crypto::Field;
use crate::domain::{Iin, IinError, Lang, Phone};
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx, people};

/// Age from which a person may register (domain.md).
pub const MIN_AGE: u32 = 18;

const MENU: &[&[&str]] = &[
    &["menu-status", "menu-checkin"],
    &["menu-me", "menu-lang", "menu-support"],
    &["menu-help", "menu-forget"],
];

pub(super) async fn step(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    event: &Event,
    lang_hint: Option<&str>,
    chat: &ChatRef,
    scan: Option<&super::checkin::Scan>,
) -> Result<Vec<Outbound>, CoreError> {
    // A person deleted through another chat leaves this one unregistered.
    if matches!(conv.state, State::Menu | State::ConfirmForget) && conv.person_id.is_none() {
        conv.state = State::Idle;
    }
    let lang = conv
        .lang
        .or_else(|| lang_hint.and_then(Lang::guess_from_hint))
        .unwrap_or(Lang::FALLBACK);
    // A relayable message that arrived when the conversation does not relay (adapters send
    // every message as relayable: the core owns the conversation and picks).
    let plain;
    let event = match event {
        Event::Relay(r) if !conv.state.relays() => {
            plain = r.plain_event();
            &plain
        }
        _ => event,
    };
    if let Some(out) = super::support::step(core, tx, conv, event, lang).await? {
        return Ok(out);
    }
    let mut out = Vec::new();

    // Businesses: applications, review, owner tools, monitoring (src/core/business).
    if let Some(replies) = super::business::intercept(core, tx, conv, chat, event, lang).await? {
        return Ok(replies);
    }

    // Social Wallet: answers to offers, vouchers, canteens (src/core/wallet).
    if let Some(replies) = super::wallet::intercept(core, tx, conv, chat, event, scan, lang).await?
    {
        return Ok(replies);
    }

    // Venue check-in, staff and guard mode (src/core/checkin).
    if let Some(replies) =
        super::checkin::intercept(core, tx, conv, chat, event, scan, lang).await?
    {
        return Ok(replies);
    }

    // Dependants from authoritative data (`/family`).
    if let Some(replies) = super::family::intercept(core, tx, conv, event, lang).await? {
        return Ok(replies);
    }

    // Inputs that mean the same at every step.
    match event {
        Event::Edited => return Ok(hint(conv, lang, Msg::new("hint-edited"))),
        Event::Forwarded => return Ok(hint(conv, lang, Msg::new("hint-forwarded"))),
        Event::Text(t) if t.chars().count() > MAX_TEXT_CHARS => {
            return Ok(hint(
                conv,
                lang,
                Msg::new("hint-too-long").num("max", MAX_TEXT_CHARS as i64),
            ));
        }
        Event::Button(data) if data.starts_with("lang:") => {
            let Some(chosen) = Lang::from_code(&data[5..]) else {
                return Ok(hint(conv, lang, Msg::new("hint-stale-button")));
            };
            return Ok(choose_language(conv, chosen));
        }
        Event::Text(t) if conv.state == State::ChoosingLanguage => {
            if let Some(chosen) = Lang::from_choice(t) {
                return Ok(choose_language(conv, chosen));
            }
        }
        Event::Command { name, arg: _ } => match name.as_str() {
            "start" => return Ok(start(conv, lang)),
            "lang" | "language" => {
                out.push(language_prompt(lang));
                return Ok(out);
            }
            "help" => {
                out.push(Outbound::reply(lang, Msg::new("help")));
                out.push(prompt(&conv.state, lang));
                return Ok(out);
            }
            "me" | "forget" | "status" if !is_registered(conv) => {
                return Ok(hint(conv, lang, Msg::new("hint-register-first")));
            }
            "me" => return Ok(vec![me(core, tx, conv, lang).await?]),
            "status" => return status_reply(core, tx, conv, lang, chat).await,
            "forget" => {
                conv.state = State::ConfirmForget;
                return Ok(vec![prompt(&conv.state, lang)]);
            }
            _ => return Ok(hint(conv, lang, Msg::new("hint-unknown-command"))),
        },
        _ => {}
    }

    match (conv.state.clone(), event) {
        (State::Idle, _) => out.push(prompt(&State::Idle, lang)),

        (State::ChoosingLanguage, Event::Text(_)) => {
            return Ok(hint(conv, lang, Msg::new("hint-choose-language")));
        }

        (State::Consent, Event::Button(b)) if b == "consent:yes" => {
            conv.state = State::Phone {
                consent_at_ms: core.now_ms(),
            };
            out.push(prompt(&conv.state, lang));
        }
        (State::Consent, Event::Button(b)) if b == "consent:no" => {
            conv.state = State::Idle;
            out.push(
                Outbound::reply(lang, Msg::new("consent-declined")).with_keyboard(Keyboard::Remove),
            );
        }

        (State::Phone { consent_at_ms }, Event::Contact { phone, own: true }) => {
            match Phone::parse(phone) {
                Err(_) => return Ok(hint(conv, lang, Msg::new("phone-invalid"))),
                Ok(phone) => {
                    if let Some(stale) = conv.person_id.take() {
                        people::delete(tx, stale).await?;
                    }
                    let id = people::insert(
                        tx,
                        &core.vault.lookup_hash(Field::Phone, phone.expose()),
                        &core.vault.seal(Field::Phone, phone.expose()),
                        consent_at_ms,
                        core.now_ms(),
                    )
                    .await?;
                    conv.person_id = Some(id);
                    conv.state = State::Iin;
                    out.push(Outbound::reply(lang, Msg::new("phone-saved")));
                    out.push(prompt(&conv.state, lang));
                }
            }
        }
        (State::Phone { .. }, Event::Contact { own: false, .. }) => {
            return Ok(hint(conv, lang, Msg::new("phone-not-yours")));
        }
        (State::Phone { .. }, Event::Text(_)) => {
            return Ok(hint(conv, lang, Msg::new("phone-use-button")));
        }

        (State::Iin, Event::Text(text)) => return iin(core, tx, conv, lang, text, chat).await,
        // While the registry is asked again: a (corrected) IIN starts over.
        (State::IdentityPending, Event::Text(text)) if Iin::parse(text).is_ok() => {
            return iin(core, tx, conv, lang, text, chat).await;
        }

        (State::Menu, Event::Text(text)) => match menu_choice(core, lang, text) {
            Some("menu-checkin") => out.push(super::checkin::instructions(lang)),
            Some("menu-status") => out.extend(status_reply(core, tx, conv, lang, chat).await?),
            Some("menu-me") => out.push(me(core, tx, conv, lang).await?),
            Some("menu-lang") => out.push(language_prompt(lang)),
            Some("menu-help") => {
                out.push(Outbound::reply(lang, Msg::new("help")).with_keyboard(menu_keyboard()))
            }
            Some("menu-forget") => {
                conv.state = State::ConfirmForget;
                out.push(prompt(&conv.state, lang));
            }
            _ => return Ok(hint(conv, lang, Msg::new("hint-use-menu"))),
        },

        (State::ConfirmForget, Event::Button(b)) if b == "forget:yes" => {
            if let Some(id) = conv.person_id.take() {
                people::delete(tx, id).await?;
            }
            conv.state = State::Idle;
            out.push(
                Outbound::reply(lang, Msg::new("forget-done")).with_keyboard(Keyboard::Remove),
            );
        }
        (State::ConfirmForget, Event::Button(b)) if b == "forget:no" => {
            conv.state = State::Menu;
            out.push(
                Outbound::reply(lang, Msg::new("forget-cancelled")).with_keyboard(menu_keyboard()),
            );
        }

        (_, Event::Button(_)) => return Ok(hint(conv, lang, Msg::new("hint-stale-button"))),
        (_, Event::Unsupported(kind)) => {
            return Ok(hint(conv, lang, unsupported(*kind)));
        }
        (_, Event::Image(_)) => return Ok(hint(conv, lang, unsupported(MediaKind::Photo))),
        (_, Event::Contact { .. }) => {
            return Ok(hint(conv, lang, Msg::new("hint-contact-not-needed")));
        }
        (_, Event::Text(_)) => return Ok(hint(conv, lang, Msg::new("hint-not-understood"))),
        (_, Event::Location { .. }) => {
            return Ok(hint(conv, lang, unsupported(MediaKind::Location)));
        }
        (_, Event::Command { .. } | Event::Edited | Event::Forwarded | Event::Relay(_)) => {
            return Ok(hint(conv, lang, Msg::new("hint-not-understood")));
        }
    }
    Ok(out)
}

fn is_registered(conv: &Conversation) -> bool {
    conv.person_id.is_some() && matches!(conv.state, State::Menu | State::ConfirmForget)
}

fn unsupported(kind: MediaKind) -> Msg {
    Msg::new("hint-unsupported").arg("kind", kind.as_str())
}

/// A short hint, then the current step's prompt again; the state is left as it was.
fn hint(conv: &Conversation, lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg), prompt(&conv.state, lang)]
}

pub(super) fn start(conv: &mut Conversation, lang: Lang) -> Vec<Outbound> {
    if is_registered(conv) {
        conv.state = State::Menu;
        return vec![
            Outbound::reply(lang, Msg::new("welcome-back")).with_keyboard(menu_keyboard()),
        ];
    }
    if conv.state.is_registering() {
        return hint(conv, lang, Msg::new("hint-registration-in-progress"));
    }
    conv.state = if conv.lang.is_none() {
        State::ChoosingLanguage
    } else {
        State::Consent
    };
    vec![prompt(&conv.state, lang)]
}

fn choose_language(conv: &mut Conversation, chosen: Lang) -> Vec<Outbound> {
    conv.lang = Some(chosen);
    let mut out = vec![Outbound::reply(chosen, Msg::new("language-set"))];
    if conv.state == State::ChoosingLanguage {
        conv.state = State::Consent;
    }
    out.push(prompt(&conv.state, chosen));
    out
}

async fn iin(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
    text: &str,
    chat: &ChatRef,
) -> Result<Vec<Outbound>, CoreError> {
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
    let Some(person) = conv.person_id else {
        // The phone step was lost (data forgotten elsewhere): ask for it again.
        conv.state = State::Phone {
            consent_at_ms: core.now_ms(),
        };
        return Ok(vec![prompt(&conv.state, lang)]);
    };
    // The identity registry decides (src/core/identity.rs).
    super::identity::submit(core, tx, conv, chat, lang, person, &iin).await
}

async fn me(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    lang: Lang,
) -> Result<Outbound, CoreError> {
    let Some(person) = (match conv.person_id {
        Some(id) => people::get(tx, id).await?,
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

async fn status_reply(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
    chat: &ChatRef,
) -> Result<Vec<Outbound>, CoreError> {
    // Health data only over a binding the identity registry confirmed.
    if let Some(instead) = super::identity::gate(core, tx, conv, chat, lang).await? {
        return Ok(instead);
    }
    match conv.person_id {
        Some(id) => Ok(vec![
            super::status::reply(core, tx, id, lang)
                .await?
                .with_keyboard(menu_keyboard()),
        ]),
        None => Ok(vec![Outbound::reply(lang, Msg::new("hint-register-first"))]),
    }
}

fn menu_choice(core: &Core, lang: Lang, text: &str) -> Option<&'static str> {
    let text = text.trim();
    MENU.iter().flat_map(|row| row.iter()).copied().find(|key| {
        // The user's language first; a keyboard left from before a language change too.
        std::iter::once(lang)
            .chain(Lang::ALL)
            .any(|l| core.texts.get(l, key).trim() == text)
    })
}

pub(super) fn menu_keyboard() -> Keyboard {
    Keyboard::Reply(
        MENU.iter()
            .map(|row| {
                row.iter()
                    .map(|key| ReplyButton {
                        label: Label::Text(Msg::new(key)),
                        request_contact: false,
                    })
                    .collect()
            })
            .collect(),
    )
}

fn language_prompt(lang: Lang) -> Outbound {
    Outbound::reply(lang, Msg::new("choose-language")).with_keyboard(Keyboard::Inline(vec![
        Lang::ALL
            .iter()
            .map(|l| Button {
                label: Label::Literal(l.native_name().to_string()),
                data: format!("lang:{}", l.code()),
            })
            .collect(),
    ]))
}

fn inline(buttons: &[(&'static str, &str)]) -> Keyboard {
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

/// What the bot says to ask for the current step's input.
pub(super) fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::Idle => Outbound::reply(lang, Msg::new("idle-prompt")),
        State::ChoosingLanguage => language_prompt(lang),
        State::Consent => Outbound::reply(lang, Msg::new("consent-text")).with_keyboard(inline(&[
            ("consent-accept", "consent:yes"),
            ("consent-decline", "consent:no"),
        ])),
        State::Phone { .. } => {
            Outbound::reply(lang, Msg::new("phone-prompt")).with_keyboard(Keyboard::Reply(vec![
                vec![ReplyButton {
                    label: Label::Text(Msg::new("phone-share-button")),
                    request_contact: true,
                }],
            ]))
        }
        State::Iin => Outbound::reply(lang, Msg::new("iin-prompt")).with_keyboard(Keyboard::Remove),
        State::IdentityPending => super::identity::prompt(lang),
        State::Menu => {
            Outbound::reply(lang, Msg::new("menu-prompt")).with_keyboard(menu_keyboard())
        }
        State::GuardIin { .. } => Outbound::reply(lang, Msg::new("guard-enter-iin")),
        State::GuardConfirm { .. } => Outbound::reply(lang, Msg::new("guard-confirm-consent")),
        State::ConfirmForget => {
            Outbound::reply(lang, Msg::new("forget-confirm")).with_keyboard(inline(&[
                ("forget-yes", "forget:yes"),
                ("forget-no", "forget:no"),
            ]))
        }
        State::SupportCategory
        | State::SupportQuestion { .. }
        | State::SupportFaq { .. }
        | State::Support { .. } => super::support::prompt(state, lang),
        State::Business { .. } | State::BizRejectReason { .. } => {
            super::business::prompt(state, lang)
        }
        State::WalletComment { .. } => super::wallet::prompt(state, lang),
    }
}
