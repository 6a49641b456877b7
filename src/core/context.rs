//! What a feature's entry point gets: the one [`Ctx`] per inbound event.

use super::shared::events::Happened;
use super::shared::scan::Scan;
use super::{Conversation, Core, Event, Outbound, State};
use crate::domain::Lang;
use crate::storage::{ChatRef, Tx};

/// The prompt of any conversation step (see [`Ctx::prompt`]).
pub type Prompt = fn(&State, Lang) -> Outbound;

/// Everything one event's handling may use: the core (clock, vault, texts, settings), the
/// event's transaction, the conversation (state, language, person), the reply language,
/// the event as it arrived and what a picture held. Features get nothing else.
pub struct Ctx<'a> {
    pub core: &'a Core,
    pub tx: &'a mut Tx,
    pub conv: &'a mut Conversation,
    pub chat: &'a ChatRef,
    pub lang: Lang,
    pub event: &'a Event,
    pub scan: Option<&'a Scan>,
    /// The prompt of a conversation step, whichever feature owns the step (injected by the
    /// dispatcher, so a feature can re-ask another's step without knowing it).
    pub prompt: Prompt,
    /// What the feature did that others may act on (see [`Happened`]).
    pub happened: Vec<Happened>,
}

impl Ctx<'_> {
    /// The current step's prompt.
    pub fn prompt(&self) -> Outbound {
        (self.prompt)(&self.conv.state, self.lang)
    }

    /// A message, then the current step's prompt again (the conversation stays where it was).
    pub fn refuse(&self, msg: crate::i18n::Msg) -> Vec<Outbound> {
        vec![Outbound::reply(self.lang, msg), self.prompt()]
    }

    pub fn now_ms(&self) -> i64 {
        self.core.now_ms()
    }
}
