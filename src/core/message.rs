//! The core's vocabulary with adapters: an [`Inbound`] event in, [`Outbound`] messages out
//! (text keys, keyboards, attachments, relays). No messenger's types.

use crate::domain::Lang;
use crate::i18n::Msg;
use std::fmt;

/// A chat in one channel (defined in `crate::domain`, neutral to core and storage alike;
/// re-exported here as `core::ChatRef`).
pub use crate::domain::ChatRef;

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

impl Event {
    /// The event itself, or the plain event a relayable message carries.
    pub fn unrelayed(&self) -> &Event {
        match self {
            Event::Relay(r) => r.plain.as_deref().unwrap_or(self),
            _ => self,
        }
    }
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
    /// The event this message is outside a relayed conversation, as the channel read it (a
    /// location, a downloaded image…); `None`: derived from `kind` and `text`. Adapters relay
    /// every message and the core, which owns the conversation, picks (see
    /// [`Relayed::plain_event`]).
    pub plain: Option<Box<Event>>,
}

impl Relayed {
    /// The ordinary event this message would be outside a relayed conversation.
    pub fn plain_event(&self) -> Event {
        if let Some(plain) = &self.plain {
            return (**plain).clone();
        }
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
            // A family invitation's code is a one-time secret: never in a log line.
            Event::Button(d) if d.starts_with("fam:yes:") => f.write_str("Button(fam:yes:…)"),
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
