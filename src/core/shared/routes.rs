//! The routes: where one inbound event goes (built by `core::route`, handled by the one
//! feature each names). A vocabulary features share: each feature's entry point takes its
//! own route enum.

use super::callback::{BusinessButton, RxButton, SupportButton, WalletButton};
use crate::core::{Conversation, MediaKind, State};
use crate::domain::Lang;

/// The features, each a module that knows no other (docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Registration,
    Status,
    CheckIn,
    Guard,
    Staff,
    Business,
    Wallet,
    Support,
    Family,
    Keywords,
    Prescriptions,
    /// Not a feature: a hint and the current step's prompt again (`core::prompt`).
    Hint,
}

/// Where one inbound event goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Registration(RegistrationRoute),
    /// `/status` or the menu's status button.
    Status,
    CheckIn(CheckInRoute),
    Guard(GuardRoute),
    Staff(StaffRoute),
    Business(BusinessRoute),
    Wallet(WalletRoute),
    Support(SupportRoute),
    /// `/family` and its buttons: dependants and adult relatives by consent.
    Family(FamilyRoute),
    /// A keyword on a channel without a dialogue (SMS): `STATUS`, `HELP`, a language.
    Keyword(KeywordRoute),
    Prescriptions(PrescriptionsRoute),
    /// Input nobody takes at this step: a hint, then the step's prompt again.
    Hint(Hint),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RegistrationRoute {
    /// `/start` without a payload.
    Start,
    /// A language chosen by button or typed at the language step.
    ChooseLanguage(Lang),
    /// `/lang` or the menu's language button.
    LanguagePrompt,
    /// `/help`.
    Help,
    /// The menu's help button.
    MenuHelp,
    /// `/me` or the menu's button.
    Me,
    /// `/forget` or the menu's button: asks to confirm.
    Forget,
    /// The confirmation's buttons.
    ForgetConfirmed(bool),
    /// The consent's buttons.
    Consent(bool),
    /// A shared contact at the phone step (`own`: the sender's own).
    Contact { phone: String, own: bool },
    /// Text at the phone step (the button is needed).
    PhoneTyped,
    /// A number typed at the phone step on a channel that proves it by a one-time code
    /// (`ChannelProfile::typed_phone_by_code`): the code is sent by SMS.
    PhoneNumber(String),
    /// Text while the one-time code is awaited (`State::PhoneCode`).
    PhoneCode(String),
    /// Text at the IIN step.
    Iin(String),
    /// Anything while idle: the idle prompt.
    Idle,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckInRoute {
    /// `/start <token>`: a venue code by link.
    Token(String),
    /// A photo or image document (decoded before the transaction).
    Scan,
    /// A typed short code at the menu.
    ShortCode(String),
    ImageTooLarge,
    NotAnImage,
    Refresh(i64),
    Left(i64),
    /// `/left`: leave the latest open visit.
    LeftLatest,
    /// A `ci:` button this version cannot read.
    StaleButton,
    /// The menu's check-in button: how to check in.
    Instructions,
    /// "Who is with you?": dependant N (in the order asked) toggled.
    GroupToggle(u8),
    /// "Who is with you?" answered: `true` with the dependants chosen, `false` only me.
    GroupDone(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FamilyRoute {
    /// `/family`: the dependants, and the adults who see this person by consent.
    List,
    /// `/family invite`: a one-time code for an adult relative to confirm.
    Invite,
    /// `/start fam_CODE` (or `/family CODE`): the relative opens an invitation.
    Join(String),
    /// The relative confirms (`fam:yes:CODE`).
    Accept(String),
    /// The relative declines (`fam:no`).
    Decline,
    /// `fam:rm:ID`: a link removed by its adult or withdrawn by its dependant.
    Remove(i64),
    /// `/family IIN`: an IIN typed to add someone (refused: children come from official
    /// records, adults confirm themselves).
    Typed(String),
    /// A `fam:` button this version cannot read.
    StaleButton,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GuardRoute {
    /// `/guard [IIN]`.
    Start(String),
    /// The visitor's IIN typed at the guard step.
    Iin(String),
    Consent,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StaffRoute {
    /// `/start inv_…`.
    JoinVenue(String),
    /// `/occupancy`.
    Occupancy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BusinessRoute {
    /// `/business`: the owner panel, or a new application.
    Open,
    /// `/cancel` during the application.
    Cancel,
    /// Any other input during the application (the dialogue's step reads it).
    Dialogue(DialogueInput),
    /// A `biz:` button.
    Button(BusinessButton),
    StaleButton,
    /// A reviewer typed the rejection reason.
    RejectReason {
        application_id: i64,
        reason: String,
    },
    /// `/cancel` instead of a reason.
    RejectCancelled,
    /// `/violation …` (monitoring group).
    Violation(String),
    /// `/venues` (authorities).
    Venues,
}

/// What the application dialogue reads at its step.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogueInput {
    Text(String),
    Location {
        lat: f64,
        lon: f64,
    },
    Button(BusinessButton),
    /// A button of another feature (stale here).
    OtherButton,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WalletRoute {
    /// `/start cnt_…`.
    JoinCanteen(String),
    /// `/start prv_…`: an operator of a voucher provider (pharmacy, club) joins.
    JoinProvider(String),
    /// `/wallet`.
    List,
    /// `/qr`.
    TodaysCodes,
    /// `/meals`.
    Meals,
    /// `/menu text` (canteen operators).
    Menu(String),
    Button(WalletButton),
    StaleButton,
    /// `N#1` / `N#2`.
    Answer {
        number: i64,
        accept: bool,
    },
    /// Something like an answer that is not one (or, by SMS, anything else).
    AnswerHelp,
    /// A meal code in a photo (verified) or typed by a canteen operator.
    Redeem(String),
    /// A voucher code (engine QR or typed) from a club's operator: a session attended.
    ClubAttend(String),
    /// The comment after a rating.
    Comment {
        meal_id: i64,
        text: String,
    },
    SkipComment,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SupportRoute {
    /// An event in the operators' chat.
    Staff,
    /// `/support` or the menu's button.
    Open,
    /// Leave support (`/cancel`, `/menu`, `/stop`, the exit button or its label).
    Exit,
    Button(SupportButton),
    StaleButton,
    /// A message while in support (category, question, ticket).
    Message,
}

/// A keyword message (`core::shared::keyword`) on a channel whose profile says it has no
/// dialogue (`ChannelProfile::keywords`, the SMS gateway).
#[derive(Debug, Clone, PartialEq)]
pub enum KeywordRoute {
    /// `STATUS` (`СТАТУС`, `МӘРТЕБЕ`), alone or with an IIN.
    Status(Option<crate::domain::Iin>),
    /// `STATUS` followed by something that is not a valid IIN.
    StatusBadIin,
    /// `HELP` (`КӨМЕК`, `ПОМОЩЬ`).
    Help,
    /// `RU`, `KZ`, `EN` (`РУ`, `ҚЗ`).
    Language(Lang),
    /// Anything else (an unknown word, 1 000 characters).
    Unknown,
}

/// Hints (text keys) for input nobody takes at the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Edited,
    Forwarded,
    TooLong,
    StaleButton,
    RegisterFirst,
    UnknownCommand,
    ChooseLanguage,
    PhoneNotYours,
    UseMenu,
    Unsupported(MediaKind),
    ContactNotNeeded,
    NotUnderstood,
}

impl Route {
    /// The one feature this route is handled by.
    pub fn feature(&self) -> Feature {
        match self {
            Route::Registration(_) => Feature::Registration,
            Route::Status => Feature::Status,
            Route::CheckIn(_) => Feature::CheckIn,
            Route::Guard(_) => Feature::Guard,
            Route::Staff(_) => Feature::Staff,
            Route::Business(_) => Feature::Business,
            Route::Wallet(_) => Feature::Wallet,
            Route::Support(_) => Feature::Support,
            Route::Family(_) => Feature::Family,
            Route::Keyword(_) => Feature::Keywords,
            Route::Prescriptions(_) => Feature::Prescriptions,
            Route::Hint(_) => Feature::Hint,
        }
    }
}

/// Prescriptions: the patient's list, pharmacists' invites, codes and buttons, disputes.
#[derive(Debug, Clone, PartialEq)]
pub enum PrescriptionsRoute {
    /// `/prescriptions`.
    List,
    /// A voucher code shown to a pharmacist, in a photo or typed (a prescription's, or
    /// another kind's: a meal QR at a pharmacy gets its answer).
    Code(String),
    /// `rx:…` buttons.
    Button(RxButton),
    /// An unreadable `rx:` button.
    StaleButton,
}

/// A check-in recognised from the event alone, before any conversation is read (the
/// batched path, `checkin::lane`): the raw venue token(s), not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuickCheckIn {
    /// `/start <token>`.
    Link(String),
    /// The venue tokens in a photo (in order), when it holds no meal code.
    Photo(Vec<String>),
}

fn resume(menu: bool) -> State {
    if menu { State::Menu } else { State::Idle }
}

/// Leaves the application dialogue (nothing was written yet).
pub(crate) fn leave_application(conv: &mut Conversation) {
    if let State::Business { menu, .. } = conv.state {
        conv.state = resume(menu);
    }
}

/// Leaves guard mode.
pub(crate) fn leave_guard(conv: &mut Conversation) {
    if let State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } = conv.state {
        conv.state = resume(menu);
    }
}
