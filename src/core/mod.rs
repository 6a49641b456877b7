//! The messenger-neutral core: an inbound event in, state and outbound messages out.
//!
//! Nothing here knows Telegram, a terminal or SMS. Adapters build an [`Inbound`], call
//! [`Core::handle`], and render the returned [`Outbound`]s (text keys with arguments,
//! buttons, images) in the recipient's language. Every write of one inbound event happens
//! in one transaction, and the replies are returned only after it committed.

pub mod business;
pub mod checkin;
pub mod context;
mod dispatch;
pub mod feeds;
pub mod import;
pub mod job;
#[cfg(test)]
mod layout_tests;
pub mod registration;
pub mod route;
pub mod shared;
mod state;
pub mod status;
pub mod status_cache;
pub mod support;
pub mod venues;
pub mod wallet;

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
    /// A photo or image document larger than the check-in limit (not downloaded).
    OversizedImage,
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
            MediaKind::OversizedImage => "oversized_image",
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
    /// A shared location pin (degrees).
    Location {
        lat: f64,
        lon: f64,
    },
    /// A message the channel can relay as-is (support conversations, staff chats).
    Relay(Relayed),
}

/// An opaque, channel-scoped reference to one message, so an adapter can copy it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageRef {
    pub chat: ChatRef,
    pub message_id: String,
}

/// A message as a relay sees it: where it is, its text or caption, its kind.
#[derive(Clone, PartialEq)]
pub struct Relayed {
    /// The message itself, to copy it; `None` when the channel cannot copy (terminal).
    pub source: Option<MessageRef>,
    /// The text, or a media message's caption.
    pub text: Option<String>,
    /// `None` for a plain text message.
    pub kind: Option<MediaKind>,
    /// Forwarded from another chat (relayed without its forward metadata).
    pub forwarded: bool,
    /// In a staff chat: the key of the topic it was posted in (or replied to), as the core
    /// named it in [`Relay::topic`].
    pub topic: Option<String>,
    /// In a staff chat: an opaque id of the staff member who wrote it.
    pub author: Option<String>,
}

impl Relayed {
    /// The ordinary event this message would be outside a relayed conversation.
    pub fn plain_event(&self) -> Event {
        if self.forwarded {
            return Event::Forwarded;
        }
        match (self.kind, &self.text) {
            (None, Some(t)) => Event::Text(t.clone()),
            (Some(k), _) => Event::Unsupported(k),
            (None, None) => Event::Unsupported(MediaKind::Other),
        }
    }
}

impl fmt::Debug for Relayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Relayed(kind: {}, {} chars, forwarded: {}, topic: {:?})",
            self.kind.map_or("text", MediaKind::as_str),
            self.text.as_deref().map_or(0, |t| t.chars().count()),
            self.forwarded,
            self.topic
        )
    }
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
            Event::Location { .. } => f.write_str("Location"),
            Event::Relay(r) => write!(f, "{r:?}"),
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
    /// Relay details (topic, copy, failure notice); `None` for an ordinary message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<Box<Relay>>,
    /// An image or a file sent with the text as its caption; `None` for a plain message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<Attachment>>,
}

/// How an attachment is shown: a photo inline, or a file to download or print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Photo,
    Document,
}

/// A file sent with a message (a child's QR, a venue's posters). The bytes travel with the
/// message, through the outbox too, so a queued message needs nothing else to be sent.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    /// The file's name as the recipient sees it (`qr.png`, `poster-entry.pdf`).
    pub file_name: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Attachment({:?}, {}, {} bytes)",
            self.kind,
            self.file_name,
            self.bytes.len()
        )
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// How a relayed message is delivered. Adapters that cannot do a part fall back: no topics
/// means the plain chat, no copy means `text`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Relay {
    /// Post in this topic of the recipient chat, creating it when it does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// Copy this message as-is; `text` is sent instead when it cannot be copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<MessageRef>,
    /// The caption a copy gets instead of its own (where the kind of message has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Msg>,
    /// Queued when this message cannot be delivered for good (e.g. the bot was blocked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<Outbound>,
}

/// A topic (forum thread) of a chat, named by the core; adapters map the key to their own
/// thread id and remember the messages they post in it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Topic {
    pub key: String,
    pub title: Msg,
}

impl Outbound {
    pub fn reply(lang: Lang, text: Msg) -> Self {
        Self {
            to: Recipient::Sender,
            lang,
            text,
            keyboard: Keyboard::Keep,
            relay: None,
            attachment: None,
        }
    }

    /// A message to another chat (queued in the durable outbox by [`Core::handle`]).
    pub fn to_chat(chat: ChatRef, lang: Lang, text: Msg) -> Self {
        Self {
            to: Recipient::Chat(chat),
            ..Self::reply(lang, text)
        }
    }

    pub fn with_keyboard(mut self, keyboard: Keyboard) -> Self {
        self.keyboard = keyboard;
        self
    }

    /// Sends `file` with this message, the text becoming its caption.
    pub fn with_attachment(
        mut self,
        kind: AttachmentKind,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Self {
        self.attachment = Some(Box::new(Attachment {
            kind,
            file_name: file_name.to_string(),
            bytes,
        }));
        self
    }

    pub fn with_relay(mut self, relay: Relay) -> Self {
        self.relay = Some(Box::new(relay));
        self
    }

    /// The relay details, or none.
    pub fn relay(&self) -> Relay {
        self.relay.as_deref().cloned().unwrap_or_default()
    }
}

/// Why handling failed. Two kinds, both roll the event's transaction back:
///
/// - a **refusal** ([`CoreError::Refused`]): the user is told why in their language
///   ([`Core::handle`] answers the text; nothing the handler wrote before is kept);
/// - an **internal error** (every other variant): logged with its context, the user gets
///   `error-generic` (adapters answer it through [`Core::error_reply`]).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A refusal for the user; the transaction rolls back.
    #[error("refused: {}", .0.key())]
    Refused(Msg),
    /// The database (a query, a connection, a row that should exist and does not).
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Anything else that went wrong inside (rendering, a panicked worker): what was being
    /// done and why it failed.
    #[error("{context}: {detail}")]
    Internal {
        context: &'static str,
        detail: String,
    },
}

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        CoreError::Store(StoreError::Db(e))
    }
}

impl CoreError {
    /// An internal error: `context` says what was being done.
    pub fn internal(context: &'static str, detail: impl fmt::Display) -> Self {
        CoreError::Internal {
            context,
            detail: detail.to_string(),
        }
    }

    /// Whether this is a refusal (a text for the user) rather than an internal error.
    pub fn is_refusal(&self) -> bool {
        matches!(self, CoreError::Refused(_))
    }
}

/// Everything the core needs, injected once at start-up.
pub struct Core {
    pub store: Store,
    pub vault: Vault,
    pub clock: Arc<dyn Clock>,
    pub texts: Arc<Texts>,
    /// Woken whenever a transaction queued messages in the outbox.
    pub outbox_ready: Arc<tokio::sync::Notify>,
    /// The support desk: the operators' chat, working hours, limits.
    pub support: support::SupportSettings,
    /// Evaluated statuses by IIN hash (`None`: every look-up reads the database).
    pub status_cache: Option<Arc<status_cache::StatusCache>>,
    /// Businesses: review chats, eligible activity codes, the bot's username.
    pub business: business::BusinessSettings,
    /// Social Wallet: holidays, offer lifetime, SMS gateway.
    pub wallet: wallet::WalletSettings,
    /// Batched check-ins (see [`checkin::lane`]).
    pub checkin_lanes: checkin::lane::Lanes,
    /// The channels' links and limits (the core never decides by a channel's name).
    pub channels: shared::channel::Channels,
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
            support: support::SupportSettings::default(),
            business: business::BusinessSettings::default(),
            wallet: wallet::WalletSettings::default(),
            status_cache: None,
            checkin_lanes: checkin::lane::Lanes::default(),
            channels: shared::channel::Channels::default(),
        }
    }

    /// Check-ins that arrive together are written in batches over this many lanes
    /// (0: each one alone; see [`checkin::lane`]).
    pub fn with_checkin_lanes(mut self, lanes: usize) -> Self {
        self.checkin_lanes = checkin::lane::Lanes::new(lanes);
        self
    }

    /// Look-ups go through this cache (which serves once started; see
    /// [`status_cache::StatusCache::run`]).
    pub fn with_status_cache(mut self, cache: Arc<status_cache::StatusCache>) -> Self {
        self.status_cache = Some(cache);
        self
    }

    /// The status of whoever holds the IIN with this keyed hash, at `at`: from the cache
    /// when it has it, else from the records (and then cached).
    pub async fn status_of(
        &self,
        conn: &mut storage::Conn,
        iin_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::status::Status, CoreError> {
        let Some(cache) = &self.status_cache else {
            return status::status_of_hash(conn, iin_hash, at).await;
        };
        if let Some(st) = cache.get(iin_hash, at) {
            return Ok(st);
        }
        let ticket = cache.ticket(iin_hash);
        let (pcr, contacts) = status::records_of(conn, iin_hash).await?;
        let (pcr, contacts) = status::engine_records(&pcr, &contacts);
        let st = crate::status::evaluate(&pcr, &contacts, at);
        if let Some(ticket) = ticket {
            cache.put(ticket, iin_hash, at, &pcr, &contacts, st);
        }
        Ok(st)
    }

    /// Like [`Core::status_of`] outside a transaction: a cached status costs no database
    /// connection; a miss borrows one from the pool.
    pub async fn lookup_status(
        &self,
        iin_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::status::Status, CoreError> {
        if let Some(st) = self.status_cache.as_ref().and_then(|c| c.get(iin_hash, at)) {
            return Ok(st);
        }
        let mut conn = self.store.pool().acquire().await?;
        self.status_of(&mut conn, iin_hash, at).await
    }

    /// Forgets the cached statuses of these IIN hashes (after their records changed).
    pub fn invalidate_statuses(&self, hashes: &[Vec<u8>]) {
        if let Some(cache) = &self.status_cache {
            cache.invalidate(hashes.iter().map(Vec::as_slice));
        }
    }

    pub fn with_business(mut self, business: business::BusinessSettings) -> Self {
        self.channels = self.channels.with_bot_username(&business.bot_username);
        self.business = business;
        self
    }

    pub fn with_wallet(mut self, wallet: wallet::WalletSettings) -> Self {
        self.wallet = wallet;
        self
    }

    pub fn with_support(mut self, support: support::SupportSettings) -> Self {
        self.support = support;
        self
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
        // Images are decoded before the transaction, on the blocking pool, so no lock is
        // held while the decoder runs.
        let scan = match &inbound.event {
            Event::Image(bytes) => Some(shared::scan::scan(bytes.clone()).await),
            _ => None,
        };
        // The common check-in is written in a batch with those arriving at the same time.
        let quick = route::quick_check_in(self, &inbound.event, scan.as_ref());
        if let Some(candidate) = checkin::lane::candidate(self, &inbound, quick) {
            use checkin::lane::Outcome;
            match self.checkin_lanes.submit(self, candidate).await {
                Outcome::Done(replies) => return Ok(replies),
                Outcome::Duplicate => return Ok(Vec::new()),
                Outcome::Fallback => {}
            }
        }
        let now_ms = self.now_ms();
        let mut tx = self.store.begin().await?;
        if let Some(key) = &inbound.update_key
            && !storage::mark_update(&mut tx, &inbound.chat.channel, key, now_ms).await?
        {
            tracing::info!(channel = %inbound.chat.channel, update = %key, "duplicate update ignored");
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        if self.support.chat.as_ref() == Some(&inbound.chat) {
            let out = match support::staff(self, &mut tx, &inbound.event).await {
                Err(CoreError::Refused(msg)) => {
                    tx.rollback().await?;
                    return Ok(vec![Outbound::reply(self.support.staff_lang, msg)]);
                }
                other => other?,
            };
            return self.finish(tx, out).await;
        }
        let row = storage::conversations::load_with_iin(&mut tx, &inbound.chat).await?;
        let mut conv = Conversation::from_row(row, &inbound.chat)?;
        let hinted = inbound
            .lang_hint
            .as_deref()
            .and_then(Lang::from_messenger_hint);
        if conv.lang.is_none() {
            conv.lang = hinted;
        }
        let before = conv.clone();
        let hint = inbound.lang_hint.as_deref();
        let out = match dispatch::step(
            self,
            &mut tx,
            &mut conv,
            &inbound.event,
            hint,
            &inbound.chat,
            scan.as_ref(),
        )
        .await
        {
            Ok(out) => out,
            Err(CoreError::Refused(msg)) => {
                // Nothing the handler wrote is kept; the user is told why. Only the place
                // in the dialogue moves on (a reviewer's reason step ends), with the update
                // id, in a transaction of its own.
                tx.rollback().await?;
                if conv != before || before.is_new {
                    let mut tx = self.store.begin().await?;
                    if let Some(key) = &inbound.update_key {
                        storage::mark_update(&mut tx, &inbound.chat.channel, key, now_ms).await?;
                    }
                    storage::conversations::save(&mut tx, &inbound.chat, &conv.to_row()?, now_ms)
                        .await?;
                    tx.commit().await?;
                }
                let lang = before
                    .lang
                    .or_else(|| hint.and_then(Lang::guess_from_hint))
                    .unwrap_or(Lang::Ru);
                tracing::info!(refused = msg.key(), "refused, rolled back");
                let mut reply = Outbound::reply(lang, msg);
                if self.channels.replies_through_outbox(&inbound.chat.channel) {
                    reply.to = Recipient::Chat(inbound.chat.clone());
                    let tx = self.store.begin().await?;
                    return self.finish(tx, vec![reply]).await;
                }
                return Ok(vec![reply]);
            }
            Err(e) => return Err(e),
        };
        if conv != before || before.is_new {
            storage::conversations::save(&mut tx, &inbound.chat, &conv.to_row()?, now_ms).await?;
        }
        tracing::debug!(chat = %inbound.chat.channel, event = ?inbound.event, replies = out.len(), "handled");
        self.finish(tx, out).await
    }

    /// Queues the messages for other chats in the outbox, commits, and returns the replies.
    async fn finish(
        &self,
        mut tx: storage::Tx,
        out: Vec<Outbound>,
    ) -> Result<Vec<Outbound>, CoreError> {
        let mut replies = Vec::with_capacity(out.len());
        for message in out {
            match &message.to {
                Recipient::Sender => replies.push(message),
                Recipient::Chat(chat) => {
                    self.enqueue(&mut tx, chat, &message, None, None).await?;
                }
            }
        }
        tx.commit().await?;
        // Messages may have been queued here or by a feature (feeds, alerts): wake the worker.
        self.outbox_ready.notify_waiters();
        Ok(replies)
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
            ("left", "cmd-left"),
            ("occupancy", "cmd-occupancy"),
            ("guard", "cmd-guard"),
            ("wallet", "cmd-wallet"),
            ("qr", "cmd-qr"),
            ("meals", "cmd-meals"),
            ("menu", "cmd-menu"),
            ("lang", "cmd-lang"),
            ("forget", "cmd-forget"),
            ("support", "cmd-support"),
            ("business", "cmd-business"),
            ("help", "cmd-help"),
        ]
    }
}

/// The language a chat talks in (Russian when it never chose), for messages the core
/// sends it on its own: notices, staff lines, reminders.
pub(crate) async fn chat_lang(
    conn: &mut storage::Conn,
    chat: &ChatRef,
) -> Result<Lang, StoreError> {
    Ok(storage::conversations::load(conn, chat)
        .await?
        .and_then(|r| r.lang)
        .and_then(|l| Lang::from_code(&l))
        .unwrap_or(Lang::Ru))
}

/// A conversation as the core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The chat this conversation is in.
    pub chat: ChatRef,
    pub lang: Option<Lang>,
    pub state: State,
    pub person_id: Option<i64>,
    /// The keyed hash of the person's IIN as loaded with the conversation (`None` before
    /// registration completed, and not updated by a registration in this event).
    pub(crate) iin_hash: Option<Vec<u8>>,
    is_new: bool,
}

impl Conversation {
    fn from_row(
        row: Option<(ConversationRow, Option<Vec<u8>>)>,
        chat: &ChatRef,
    ) -> Result<Self, StoreError> {
        Ok(match row {
            None => Self {
                chat: chat.clone(),
                lang: None,
                state: State::default(),
                person_id: None,
                iin_hash: None,
                is_new: true,
            },
            Some((r, iin_hash)) => Self {
                chat: chat.clone(),
                lang: r.lang.as_deref().and_then(Lang::from_code),
                state: serde_json::from_str(&r.state)?,
                person_id: r.person_id,
                iin_hash: iin_hash.filter(|_| r.person_id.is_some()),
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
