//! The messenger-neutral core: an inbound event in, state and outbound messages out.
//!
//! Nothing here knows Telegram, a terminal or SMS. Adapters build an [`Inbound`], call
//! [`Core::handle`], and render the returned [`Outbound`]s (text keys with arguments,
//! buttons, images) in the recipient's language. Every write of one inbound event happens
//! in one transaction, and the replies are returned only after it committed.

mod conversation;
pub mod feeds;
pub mod import;
mod state;
pub mod status;

pub use state::State;

use crate::clock::Clock;
use crate::crypto::Vault;
use crate::domain::Lang;
use crate::i18n::{Msg, Texts};
use crate::storage::{self, ChatRef, ConversationRow, Store, StoreError};
use std::fmt;
use std::sync::Arc;

/// What kind of unsupported message arrived, for a precise hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Sticker,
    Photo,
    Voice,
    Video,
    Audio,
    Location,
    Document,
    Poll,
    Other,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Sticker => "sticker",
            MediaKind::Photo => "photo",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Location => "location",
            MediaKind::Document => "document",
            MediaKind::Poll => "poll",
            MediaKind::Other => "other",
        }
    }
}

/// One thing a user did.
#[derive(Clone, PartialEq)]
pub enum Event {
    /// `/name arg` (the bot's @username already removed by the adapter).
    Command {
        name: String,
        arg: String,
    },
    Text(String),
    /// An inline button's data.
    Button(String),
    /// A shared contact; `own` is true only when the contact's user is the sender.
    Contact {
        phone: String,
        own: bool,
    },
    /// An image (photo or image document), already downloaded.
    Image(Vec<u8>),
    Unsupported(MediaKind),
    /// A message forwarded from somewhere else.
    Forwarded,
    /// An edit of an earlier message.
    Edited,
}

impl fmt::Debug for Event {
    // Texts and contacts may carry an IIN or a phone number: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Command { name, .. } => write!(f, "Command(/{name})"),
            Event::Text(t) => write!(f, "Text({} chars)", t.chars().count()),
            Event::Button(d) => write!(f, "Button({d})"),
            Event::Contact { own, .. } => write!(f, "Contact(own: {own})"),
            Event::Image(b) => write!(f, "Image({} bytes)", b.len()),
            Event::Unsupported(k) => write!(f, "Unsupported({})", k.as_str()),
            Event::Forwarded => f.write_str("Forwarded"),
            Event::Edited => f.write_str("Edited"),
        }
    }
}

/// An inbound event with where it came from.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub chat: ChatRef,
    /// The messenger's id of this delivery (Telegram's update id), for idempotency.
    pub update_key: Option<String>,
    /// The messenger's idea of the user's language (`language_code`).
    pub lang_hint: Option<String>,
    pub event: Event,
}

/// A button label: a text key, or a literal that is the same in every language
/// (a language's own name).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Label {
    Text(Msg),
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub label: Label,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplyButton {
    pub label: Label,
    /// Asks the messenger to share the user's own contact.
    pub request_contact: bool,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Keyboard {
    /// Leave whatever keyboard the chat shows.
    #[default]
    Keep,
    /// Remove a reply keyboard.
    Remove,
    /// Buttons under the message that send back their data.
    Inline(Vec<Vec<Button>>),
    /// A keyboard in place of the typing area that sends its label as text.
    Reply(Vec<Vec<ReplyButton>>),
}

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Recipient {
    /// The chat the inbound event came from.
    Sender,
    Chat(ChatRef),
}

/// A message to send, to be rendered by an adapter in `lang`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outbound {
    pub to: Recipient,
    pub lang: Lang,
    pub text: Msg,
    pub keyboard: Keyboard,
}

impl Outbound {
    pub fn reply(lang: Lang, text: Msg) -> Self {
        Self {
            to: Recipient::Sender,
            lang,
            text,
            keyboard: Keyboard::Keep,
        }
    }

    pub fn with_keyboard(mut self, keyboard: Keyboard) -> Self {
        self.keyboard = keyboard;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// Everything the core needs, injected once at start-up.
pub struct Core {
    pub store: Store,
    pub vault: Vault,
    pub clock: Arc<dyn Clock>,
    pub texts: Arc<Texts>,
    /// Woken whenever a transaction queued messages in the outbox.
    pub outbox_ready: Arc<tokio::sync::Notify>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Core")
    }
}

/// Texts longer than this are answered with a hint instead of being read.
pub const MAX_TEXT_CHARS: usize = 1000;

impl Core {
    pub fn new(store: Store, vault: Vault, clock: Arc<dyn Clock>, texts: Arc<Texts>) -> Self {
        Self {
            store,
            vault,
            clock,
            texts,
            outbox_ready: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Queues a message for another chat in the caller's transaction. With a `dedupe_key`
    /// the same notice is queued once, however often its cause is processed.
    pub async fn enqueue(
        &self,
        conn: &mut storage::Conn,
        to: &ChatRef,
        message: &Outbound,
        dedupe_key: Option<&str>,
        not_before_ms: Option<i64>,
    ) -> Result<bool, CoreError> {
        let now = self.now_ms();
        let payload = serde_json::to_string(message).map_err(StoreError::from)?;
        Ok(storage::outbox::enqueue(
            conn,
            to,
            &payload,
            dedupe_key,
            not_before_ms.unwrap_or(now),
            now,
        )
        .await?)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Handles one inbound event: loads the conversation, decides, writes everything in one
    /// transaction and returns the replies after it committed. A repeated delivery of the
    /// same update returns no replies and writes nothing.
    pub async fn handle(&self, inbound: Inbound) -> Result<Vec<Outbound>, CoreError> {
        let now_ms = self.now_ms();
        let mut tx = self.store.begin().await?;
        if let Some(key) = &inbound.update_key
            && !storage::mark_update(&mut tx, &inbound.chat.channel, key, now_ms).await?
        {
            tracing::info!(channel = %inbound.chat.channel, update = %key, "duplicate update ignored");
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let row = storage::conversations::load(&mut tx, &inbound.chat).await?;
        let mut conv = Conversation::from_row(row)?;
        let hinted = inbound
            .lang_hint
            .as_deref()
            .and_then(Lang::from_messenger_hint);
        if conv.lang.is_none() {
            conv.lang = hinted;
        }
        let before = conv.clone();
        let hint = inbound.lang_hint.as_deref();
        let out = conversation::step(self, &mut tx, &mut conv, &inbound.event, hint).await?;
        if conv != before || before.is_new {
            storage::conversations::save(&mut tx, &inbound.chat, &conv.to_row()?, now_ms).await?;
        }
        tx.commit().await?;
        tracing::debug!(chat = %inbound.chat.channel, event = ?inbound.event, replies = out.len(), "handled");
        Ok(out)
    }

    /// The language to apologise in when handling failed.
    pub async fn language_of(&self, chat: &ChatRef, hint: Option<&str>) -> Lang {
        let stored = self
            .store
            .conversation(chat)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.lang)
            .and_then(|l| Lang::from_code(&l));
        stored
            .or_else(|| hint.and_then(Lang::from_messenger_hint))
            .unwrap_or(Lang::Ru)
    }

    /// The localised "something went wrong" reply adapters send on an error.
    pub fn error_reply(lang: Lang) -> Outbound {
        Outbound::reply(lang, Msg::new("error-generic"))
    }

    /// The bot's command menu for one language: `(command, description key)`.
    pub fn commands() -> &'static [(&'static str, &'static str)] {
        &[
            ("start", "cmd-start"),
            ("status", "cmd-status"),
            ("me", "cmd-me"),
            ("lang", "cmd-lang"),
            ("forget", "cmd-forget"),
            ("help", "cmd-help"),
        ]
    }
}

/// A conversation as the core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub lang: Option<Lang>,
    pub state: State,
    pub person_id: Option<i64>,
    is_new: bool,
}

impl Conversation {
    fn from_row(row: Option<ConversationRow>) -> Result<Self, StoreError> {
        Ok(match row {
            None => Self {
                lang: None,
                state: State::default(),
                person_id: None,
                is_new: true,
            },
            Some(r) => Self {
                lang: r.lang.as_deref().and_then(Lang::from_code),
                state: serde_json::from_str(&r.state)?,
                person_id: r.person_id,
                is_new: false,
            },
        })
    }

    fn to_row(&self) -> Result<ConversationRow, StoreError> {
        Ok(ConversationRow {
            lang: self.lang.map(|l| l.code().to_string()),
            state: serde_json::to_string(&self.state)?,
            person_id: self.person_id,
        })
    }
}
