//! Parse once, route once.
//!
//! Every inbound event of a user's chat becomes exactly one [`Route`] here, from the event
//! and the conversation's state: commands are parsed into [`Command`], `start` payloads
//! into [`StartPayload`], button data into typed [`Callback`]s. The route names the one
//! feature that handles the event ([`Route::feature`]); no feature reads another's input.
//! `dispatch` (in `core::dispatch`) then calls that feature's entry point.
//!
//! Routing also ends a feature's step when the input is not for it (a guard waiting for an
//! IIN gets `/status`: guard mode ends, then `/status` is routed): these "settle" rules are
//! listed in [`route`] in the order the features claim input, so the precedence between
//! features is written down in one place. docs/ARCHITECTURE.md holds the route → handler
//! table; `tests::every_route_is_in_the_architecture_table` keeps it complete.

pub use super::shared::callback::{
    BusinessButton, Callback, CheckInButton, FamilyButton, ItemTool, Namespace, ReviewAction,
    SupportButton, UnknownButton, VenueTool, WalletButton,
};
pub use super::shared::command::{Command, StartPayload};
pub use super::shared::routes::*;

use super::shared::scan::Scan;
use super::{Conversation, Core, CoreError, Event, MAX_TEXT_CHARS, MediaKind, State};
use crate::domain::Lang;
use crate::storage::{ChatRef, Tx};

/// The quick route of an event: a venue code by link or in a photo. `None` for anything
/// else, including a photo with a meal code in it (the wallet's).
pub fn quick_check_in(core: &Core, event: &Event, scan: Option<&Scan>) -> Option<QuickCheckIn> {
    use super::venues::token::{Payload, payload_of};
    match event.unrelayed() {
        Event::Command { name, arg } => match Command::parse(name, arg) {
            Command::Start(StartPayload::VenueToken(token)) => Some(QuickCheckIn::Link(token)),
            _ => None,
        },
        Event::Image(_) => {
            let texts = scan?.as_ref().ok()?;
            let meals = super::wallet::token::MealKeys::new(core.vault.signing_key());
            if texts.iter().any(|t| {
                meals.verify(t).is_some() || t.trim().starts_with(super::vouchers::qr::PREFIX)
            }) {
                return None;
            }
            let raws: Vec<String> = texts
                .iter()
                .filter_map(|t| match payload_of(t) {
                    Payload::Token(raw) => Some(raw.to_string()),
                    Payload::Foreign => None,
                })
                .collect();
            (!raws.is_empty()).then_some(QuickCheckIn::Photo(raws))
        }
        _ => None,
    }
}

/// Facts about the chat the router needs beyond the event and the state.
pub struct Chat<'a> {
    pub chat: &'a ChatRef,
    /// The operators' chat of the support desk.
    pub is_support_desk: bool,
    /// A chat without a dialogue (SMS): offer answers, then keywords, nothing else.
    pub keywords: bool,
    /// A number typed at the phone step is proven by a one-time code (Aitu).
    pub phone_by_code: bool,
}

fn is_label(core: &Core, text: &str, key: &'static str) -> bool {
    let text = text.trim();
    Lang::ALL
        .iter()
        .any(|l| core.texts.get(*l, key).trim() == text)
}

use super::shared::menu::MENU;

fn menu_choice(core: &Core, lang: Lang, text: &str) -> Option<&'static str> {
    let text = text.trim();
    MENU.iter().flat_map(|row| row.iter()).copied().find(|key| {
        // The user's language first; a keyboard left from before a language change too.
        std::iter::once(lang)
            .chain(Lang::ALL)
            .any(|l| core.texts.get(l, key).trim() == text)
    })
}

fn is_registered(conv: &Conversation) -> bool {
    conv.person_id.is_some() && matches!(conv.state, State::Menu | State::ConfirmForget)
}

fn resume(menu: bool) -> State {
    if menu { State::Menu } else { State::Idle }
}

/// The route of one event of a user's chat. May settle the conversation's state (a step
/// the input is not for ends) before the route is chosen; see the module's comment.
/// `scan` is what the decoder found in an image event.
pub async fn route(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    at: &Chat<'_>,
    event: &Event,
    scan: Option<&Scan>,
    lang: Lang,
) -> Result<Route, CoreError> {
    use BusinessRoute as B;
    use CheckInRoute as C;
    use RegistrationRoute as R;
    use SupportRoute as S;

    if at.is_support_desk {
        return Ok(Route::Support(S::Staff));
    }
    // A person deleted through another chat leaves this one unregistered.
    if matches!(conv.state, State::Menu | State::ConfirmForget) && conv.person_id.is_none() {
        conv.state = State::Idle;
    }
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
    let command = match event {
        Event::Command { name, arg } => Some(Command::parse(name, arg)),
        _ => None,
    };
    let button = match event {
        Event::Button(data) => Some(data.parse::<Callback>()),
        _ => None,
    };

    // 0. A group check-in's question ("who is with you?") takes only its own buttons; any
    // other input ends it (no visit) and is routed as at the menu.
    if matches!(conv.state, State::GroupCheckIn(_)) {
        let ours = matches!(
            &button,
            Some(Ok(Callback::CheckIn(
                CheckInButton::GroupToggle(_)
                    | CheckInButton::GroupOnlyMe
                    | CheckInButton::GroupDone
            )))
        );
        if !ours {
            conv.state = State::Menu;
        }
    }

    // 1. Support: its buttons anywhere, `/support`, the menu's button; its steps.
    if let Some(Ok(Callback::Support(b))) = &button {
        return Ok(Route::Support(S::Button(b.clone())));
    }
    if let Some(Err(UnknownButton {
        namespace: Some(Namespace::Support),
    })) = &button
    {
        return Ok(Route::Support(S::StaleButton));
    }
    if command == Some(Command::Support) {
        return Ok(Route::Support(S::Open));
    }
    if conv.state == State::Menu
        && let Event::Text(t) = event
        && is_label(core, t, "menu-support")
    {
        return Ok(Route::Support(S::Open));
    }
    if conv.state.is_support() {
        match (&command, event) {
            (Some(Command::Cancel | Command::Menu(_) | Command::Stop), _) => {
                return Ok(Route::Support(S::Exit));
            }
            (Some(Command::Start(_)), _) => {
                conv.state = super::support::back_state(tx, conv).await?
            }
            (_, Event::Text(t)) if is_label(core, t, "support-exit") => {
                return Ok(Route::Support(S::Exit));
            }
            (_, Event::Relay(r))
                if r.kind.is_none()
                    && is_label(core, r.text.as_deref().unwrap_or(""), "support-exit") =>
            {
                return Ok(Route::Support(S::Exit));
            }
            (_, Event::Text(_) | Event::Relay(_) | Event::Unsupported(_) | Event::Image(_)) => {
                return Ok(Route::Support(S::Message));
            }
            _ => {}
        }
    }

    // 2. Businesses: a reviewer's reason, `biz:` buttons, its commands, the application.
    if let State::BizRejectReason { application_id } = conv.state {
        match (&command, event) {
            (_, Event::Text(reason)) => {
                conv.state = State::Idle;
                return Ok(Route::Business(B::RejectReason {
                    application_id,
                    reason: reason.trim().to_string(),
                }));
            }
            (Some(Command::Cancel), _) => {
                conv.state = State::Idle;
                return Ok(Route::Business(B::RejectCancelled));
            }
            _ => conv.state = State::Idle,
        }
    }
    let applying = matches!(conv.state, State::Business { .. });
    match &button {
        Some(Ok(Callback::Business(b))) => {
            let step = matches!(
                b,
                BusinessButton::Cancel
                    | BusinessButton::Skip
                    | BusinessButton::Category(_)
                    | BusinessButton::Submit
            );
            return Ok(Route::Business(match (step, applying) {
                (true, true) => B::Dialogue(DialogueInput::Button(b.clone())),
                (true, false) => B::StaleButton,
                (false, _) => B::Button(b.clone()),
            }));
        }
        Some(Err(UnknownButton {
            namespace: Some(Namespace::Business),
        })) => {
            return Ok(Route::Business(if applying {
                B::Dialogue(DialogueInput::OtherButton)
            } else {
                B::StaleButton
            }));
        }
        _ => {}
    }
    if let Some(c) = &command {
        match c {
            Command::Business => return Ok(Route::Business(B::Open)),
            Command::Cancel if applying => return Ok(Route::Business(B::Cancel)),
            Command::Violation(arg) => {
                leave_application(conv);
                return Ok(Route::Business(B::Violation(arg.clone())));
            }
            Command::Venues => {
                leave_application(conv);
                return Ok(Route::Business(B::Venues));
            }
            _ => leave_application(conv),
        }
    }
    if matches!(conv.state, State::Business { .. }) {
        let input = match event {
            Event::Text(t) => DialogueInput::Text(t.trim().to_string()),
            Event::Location { lat, lon } => DialogueInput::Location {
                lat: *lat,
                lon: *lon,
            },
            Event::Button(_) => DialogueInput::OtherButton,
            _ => DialogueInput::Other,
        };
        return Ok(Route::Business(B::Dialogue(input)));
    }

    // 3a. Prescriptions: `/prescriptions`, pharmacy invites, `rx:` buttons, prescription
    // codes (photo or typed), and a meal code shown to a pharmacist.
    if let Some(r) = prescription_route(tx, conv, at.chat, &command, &button, event, scan).await? {
        return Ok(Route::Prescriptions(r));
    }

    // 3. Social Wallet: the comment step, canteen invites, its commands and buttons, meal
    // codes, answers to offers. A chat without a dialogue (SMS) ends here with a keyword.
    let wallet = wallet_route(core, tx, conv, at.chat, &command, &button, event, scan).await?;
    if let Some(w) = wallet {
        return Ok(Route::Wallet(w));
    }
    if at.keywords {
        return Ok(Route::Keyword(keyword_route(event)));
    }

    // 4. Venues: guard mode's steps, codes by link, photo or typing, staff invites.
    if let State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } = conv.state {
        let ours = matches!(
            (&conv.state, event),
            (State::GuardIin { .. }, Event::Text(_))
                | (_, Event::Button(_))
                | (_, Event::Command { .. })
        );
        if !ours {
            conv.state = resume(menu);
        }
    }
    match &button {
        Some(Ok(Callback::CheckIn(b))) => {
            return Ok(match b {
                CheckInButton::GuardConsent => Route::Guard(GuardRoute::Consent),
                CheckInButton::GuardCancel => Route::Guard(GuardRoute::Cancel),
                CheckInButton::Refresh(id) => {
                    leave_guard(conv);
                    Route::CheckIn(C::Refresh(*id))
                }
                CheckInButton::Left(id) => {
                    leave_guard(conv);
                    Route::CheckIn(C::Left(*id))
                }
                CheckInButton::GroupToggle(n) => Route::CheckIn(C::GroupToggle(*n)),
                CheckInButton::GroupOnlyMe => Route::CheckIn(C::GroupDone(false)),
                CheckInButton::GroupDone => Route::CheckIn(C::GroupDone(true)),
            });
        }
        Some(Err(UnknownButton {
            namespace: Some(Namespace::CheckIn),
        })) => {
            leave_guard(conv);
            return Ok(Route::CheckIn(C::StaleButton));
        }
        _ => {}
    }
    if let Some(c) = &command {
        match c {
            Command::Start(StartPayload::VenueInvite(secret)) => {
                return Ok(Route::Staff(StaffRoute::JoinVenue(secret.clone())));
            }
            Command::Start(StartPayload::VenueToken(token)) => {
                leave_guard(conv);
                return Ok(Route::CheckIn(C::Token(token.clone())));
            }
            Command::Guard(arg) => return Ok(Route::Guard(GuardRoute::Start(arg.clone()))),
            Command::Occupancy => {
                leave_guard(conv);
                return Ok(Route::Staff(StaffRoute::Occupancy));
            }
            Command::Left => {
                leave_guard(conv);
                return Ok(Route::CheckIn(C::LeftLatest));
            }
            _ => leave_guard(conv),
        }
    }
    match event {
        Event::Image(_) if scan.is_some() => return Ok(Route::CheckIn(C::Scan)),
        Event::Unsupported(MediaKind::OversizedImage) => {
            return Ok(Route::CheckIn(C::ImageTooLarge));
        }
        Event::Unsupported(MediaKind::Document)
            if matches!(conv.state, State::Menu | State::Idle) =>
        {
            return Ok(Route::CheckIn(C::NotAnImage));
        }
        Event::Text(text) if matches!(conv.state, State::GuardIin { .. }) => {
            return Ok(Route::Guard(GuardRoute::Iin(text.clone())));
        }
        Event::Text(text)
            if matches!(conv.state, State::Menu | State::Idle)
                && super::venues::token::parse_short_code(text).is_some() =>
        {
            return Ok(Route::CheckIn(C::ShortCode(text.clone())));
        }
        _ => {}
    }

    // 4b. Dependants: `fam:` buttons, `/start fam_…`, `/family …`.
    match &button {
        Some(Ok(Callback::Family(b))) => {
            return Ok(Route::Family(match b {
                FamilyButton::Accept(code) => FamilyRoute::Accept(code.clone()),
                FamilyButton::Decline => FamilyRoute::Decline,
                FamilyButton::Remove(id) => FamilyRoute::Remove(*id),
            }));
        }
        Some(Err(UnknownButton {
            namespace: Some(Namespace::Family),
        })) => return Ok(Route::Family(FamilyRoute::StaleButton)),
        _ => {}
    }
    match &command {
        Some(Command::Start(StartPayload::FamilyInvite(code))) => {
            return Ok(Route::Family(FamilyRoute::Join(code.clone())));
        }
        Some(Command::Family(arg)) => {
            return Ok(Route::Family(match arg.as_str() {
                "" => FamilyRoute::List,
                a if a.eq_ignore_ascii_case("invite") => FamilyRoute::Invite,
                a if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => {
                    FamilyRoute::Typed(a.to_string())
                }
                a => FamilyRoute::Join(a.to_string()),
            }));
        }
        _ => {}
    }

    // 5. The conversation: inputs that mean the same at every step, then the registration
    // and the main menu.
    let hint = |h| Ok(Route::Hint(h));
    match event {
        Event::Edited => return hint(Hint::Edited),
        Event::Forwarded => return hint(Hint::Forwarded),
        Event::Text(t) if t.chars().count() > MAX_TEXT_CHARS => return hint(Hint::TooLong),
        _ => {}
    }
    match &button {
        Some(Ok(Callback::Lang(l))) => return Ok(Route::Registration(R::ChooseLanguage(*l))),
        Some(Err(UnknownButton {
            namespace: Some(Namespace::Conversation),
        })) if matches!(event, Event::Button(d) if d.starts_with("lang:")) => {
            return hint(Hint::StaleButton);
        }
        _ => {}
    }
    if conv.state == State::ChoosingLanguage
        && let Event::Text(t) = event
        && let Some(chosen) = Lang::from_choice(t)
    {
        return Ok(Route::Registration(R::ChooseLanguage(chosen)));
    }
    if let Some(c) = &command {
        return match c {
            Command::Start(_) => Ok(Route::Registration(R::Start)),
            Command::Lang => Ok(Route::Registration(R::LanguagePrompt)),
            Command::Help => Ok(Route::Registration(R::Help)),
            Command::Me | Command::Forget | Command::Status if !is_registered(conv) => {
                hint(Hint::RegisterFirst)
            }
            Command::Me => Ok(Route::Registration(R::Me)),
            Command::Status => Ok(Route::Status),
            Command::Forget => Ok(Route::Registration(R::Forget)),
            _ => hint(Hint::UnknownCommand),
        };
    }
    let route = match (&conv.state, event, &button) {
        (State::Idle, _, _) => Route::Registration(R::Idle),
        (State::ChoosingLanguage, Event::Text(_), _) => Route::Hint(Hint::ChooseLanguage),
        (State::Consent, _, Some(Ok(Callback::Consent(yes)))) => {
            Route::Registration(R::Consent(*yes))
        }
        (State::Phone { .. }, Event::Contact { phone, own: true }, _) => {
            Route::Registration(R::Contact {
                phone: phone.clone(),
                own: true,
            })
        }
        (State::Phone { .. }, Event::Contact { own: false, .. }, _) => {
            Route::Hint(Hint::PhoneNotYours)
        }
        (State::Phone { .. }, Event::Text(t), _) if at.phone_by_code => {
            Route::Registration(R::PhoneNumber(t.clone()))
        }
        (State::Phone { .. }, Event::Text(_), _) => Route::Registration(R::PhoneTyped),
        (State::PhoneCode { .. }, Event::Contact { phone, own: true }, _) => {
            Route::Registration(R::Contact {
                phone: phone.clone(),
                own: true,
            })
        }
        (State::PhoneCode { .. }, Event::Contact { own: false, .. }, _) => {
            Route::Hint(Hint::PhoneNotYours)
        }
        (State::PhoneCode { .. }, Event::Text(t), _) => {
            Route::Registration(R::PhoneCode(t.clone()))
        }
        (State::Iin, Event::Text(text), _) => Route::Registration(R::Iin(text.clone())),
        // While the registry is asked again: a (corrected) IIN starts over.
        (State::IdentityPending, Event::Text(text), _)
            if crate::domain::Iin::parse(text).is_ok() =>
        {
            Route::Registration(R::Iin(text.clone()))
        }
        (State::Menu, Event::Text(text), _) => match menu_choice(core, lang, text) {
            Some("menu-checkin") => Route::CheckIn(C::Instructions),
            Some("menu-status") => Route::Status,
            Some("menu-wallet") => Route::Wallet(WalletRoute::List),
            Some("menu-me") => Route::Registration(R::Me),
            Some("menu-lang") => Route::Registration(R::LanguagePrompt),
            Some("menu-help") => Route::Registration(R::MenuHelp),
            Some("menu-forget") => Route::Registration(R::Forget),
            _ => Route::Hint(Hint::UseMenu),
        },
        (State::ConfirmForget, _, Some(Ok(Callback::Forget(yes)))) => {
            Route::Registration(R::ForgetConfirmed(*yes))
        }
        (_, Event::Button(_), _) => Route::Hint(Hint::StaleButton),
        (_, Event::Unsupported(kind), _) => Route::Hint(Hint::Unsupported(*kind)),
        (_, Event::Image(_), _) => Route::Hint(Hint::Unsupported(MediaKind::Photo)),
        (_, Event::Contact { .. }, _) => Route::Hint(Hint::ContactNotNeeded),
        (_, Event::Location { .. }, _) => Route::Hint(Hint::Unsupported(MediaKind::Location)),
        _ => Route::Hint(Hint::NotUnderstood),
    };
    Ok(route)
}

/// The route of a message on a channel without a dialogue.
fn keyword_route(event: &Event) -> KeywordRoute {
    use super::shared::keyword::Keyword;
    let Event::Text(text) = event else {
        return KeywordRoute::Unknown;
    };
    match Keyword::parse(text) {
        Keyword::Status(iin) => KeywordRoute::Status(iin),
        Keyword::StatusBadIin => KeywordRoute::StatusBadIin,
        Keyword::Help => KeywordRoute::Help,
        Keyword::Language(l) => KeywordRoute::Language(l),
        Keyword::Unknown => KeywordRoute::Unknown,
    }
}

async fn prescription_route(
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    command: &Option<Command>,
    button: &Option<Result<Callback, UnknownButton>>,
    event: &Event,
    scan: Option<&Scan>,
) -> Result<Option<PrescriptionsRoute>, CoreError> {
    use super::vouchers::qr;
    use PrescriptionsRoute as P;
    if let Some(Command::Prescriptions) = command {
        return Ok(Some(P::List));
    }
    match button {
        Some(Ok(Callback::Rx(b))) => return Ok(Some(P::Button(b.clone()))),
        Some(Err(UnknownButton {
            namespace: Some(Namespace::Prescriptions),
        })) => return Ok(Some(P::StaleButton)),
        _ => {}
    }
    // A voucher code (an engine token, typed or not, or a meal code) shown to a pharmacist.
    let is_code = |t: &str| {
        t.trim().starts_with(qr::PREFIX)
            || qr::parse_short_code(t).is_some()
            || qr::looks_like_meal_code(t)
    };
    let candidate = match event {
        Event::Image(_) => match scan {
            Some(Ok(texts)) => texts.iter().find(|t| is_code(t)).cloned(),
            _ => None,
        },
        Event::Text(text) if matches!(conv.state, State::Menu | State::Idle) && is_code(text) => {
            Some(text.clone())
        }
        _ => None,
    };
    let Some(code) = candidate else {
        return Ok(None);
    };
    let pharmacist = super::prescriptions::pharmacy_of(tx, chat).await?.is_some();
    Ok(pharmacist.then_some(P::Code(code)))
}

#[allow(clippy::too_many_arguments)]
async fn wallet_route(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    command: &Option<Command>,
    button: &Option<Result<Callback, UnknownButton>>,
    event: &Event,
    scan: Option<&Scan>,
) -> Result<Option<WalletRoute>, CoreError> {
    use super::wallet::token::{MealKeys, parse_short_code};
    use WalletRoute as W;
    if let State::WalletComment { meal_id } = conv.state {
        match (event, button) {
            (Event::Text(text), _) => {
                return Ok(Some(W::Comment {
                    meal_id,
                    text: text.clone(),
                }));
            }
            (_, Some(Ok(Callback::Wallet(WalletButton::SkipComment)))) => {
                return Ok(Some(W::SkipComment));
            }
            _ => {
                conv.state = if conv.person_id.is_some() {
                    State::Menu
                } else {
                    State::Idle
                };
            }
        }
    }
    match command {
        Some(Command::Start(StartPayload::CanteenInvite(secret))) => {
            return Ok(Some(W::JoinCanteen(secret.clone())));
        }
        Some(Command::Start(StartPayload::ProviderInvite(secret))) => {
            return Ok(Some(W::JoinProvider(secret.clone())));
        }
        Some(Command::Wallet) => return Ok(Some(W::List)),
        Some(Command::Qr) => return Ok(Some(W::TodaysCodes)),
        Some(Command::Meals) => return Ok(Some(W::Meals)),
        Some(Command::Menu(arg)) => return Ok(Some(W::Menu(arg.clone()))),
        _ => {}
    }
    match button {
        Some(Ok(Callback::Wallet(b))) => return Ok(Some(W::Button(*b))),
        Some(Err(UnknownButton {
            namespace: Some(Namespace::Wallet),
        })) => return Ok(Some(W::StaleButton)),
        _ => {}
    }
    match event {
        Event::Image(_) => {
            let keys = MealKeys::new(core.vault.signing_key());
            let Some(Ok(texts)) = scan else {
                return Ok(None);
            };
            if let Some(code) = texts.iter().find(|t| keys.verify(t).is_some()) {
                // A canteen's operator redeems; anybody who operates for no provider is told
                // so by the canteen's path. A club's operator is told by the club's path that
                // it is a meal code; another provider's operator (a pharmacy's) is left to
                // that kind's route, which answers the same (`voucher-qr-wrong-kind`).
                let kinds = crate::storage::vouchers::kinds_of_chat(tx, chat).await?;
                let has = |k: &str| kinds.iter().any(|x| x == k);
                return Ok(if kinds.is_empty() || has("canteen") {
                    Some(W::Redeem(code.clone()))
                } else if has("club") {
                    Some(W::ClubAttend(code.clone()))
                } else {
                    None
                });
            }
            if let Some(code) = texts
                .iter()
                .find(|t| super::wallet::looks_like_voucher_code(t))
                && club_operator(tx, chat).await?
            {
                return Ok(Some(W::ClubAttend(code.clone())));
            }
            Ok(None)
        }
        Event::Text(text) => {
            if let Some(answer) = super::wallet::parse_answer(text) {
                return Ok(Some(match answer {
                    Ok((number, accept)) => W::Answer { number, accept },
                    Err(()) => W::AnswerHelp,
                }));
            }
            let keys = MealKeys::new(core.vault.signing_key());
            let typed = keys.verify(text).is_some() || parse_short_code(text).is_some();
            if typed
                && matches!(conv.state, State::Menu | State::Idle)
                && !crate::storage::wallet::canteen_schools(tx, chat)
                    .await?
                    .is_empty()
            {
                return Ok(Some(W::Redeem(text.clone())));
            }
            if (typed || super::wallet::looks_like_voucher_code(text))
                && matches!(conv.state, State::Menu | State::Idle)
                && club_operator(tx, chat).await?
            {
                return Ok(Some(W::ClubAttend(text.clone())));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Whether the chat operates for a club (voucher engine providers).
async fn club_operator(tx: &mut Tx, chat: &ChatRef) -> Result<bool, CoreError> {
    use crate::core::vouchers::{ProviderKind, providers};
    Ok(!providers::of_operator(tx, ProviderKind::Club, chat)
        .await?
        .is_empty())
}

#[cfg(test)]
mod tests;
