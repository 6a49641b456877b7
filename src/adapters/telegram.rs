//! Telegram through teloxide + dptree. One [`schema`] builds the handler tree, used by
//! `ashyq serve` and by the tests; dependencies are injected with `dptree::deps!`.

use crate::core::shared::channel::ChannelProfile;
use crate::core::{
    AttachmentKind, Core, Event, Inbound, Keyboard, Label, MediaKind, MessageRef, Outbound,
    Recipient, Relay, Relayed, Topic,
};
use crate::delivery::{Envelope, Sent, Worker};
use crate::domain::Lang;
use crate::i18n::Texts;
use crate::storage::{ChatRef, relay};
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::{DefaultKey, Dispatcher, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ButtonRequest, ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    KeyboardButton, KeyboardMarkup, KeyboardRemove, MessageId, ReplyMarkup, ThreadId,
};

pub const CHANNEL: &str = "telegram";

/// Telegram's deep link (`{bot}`: `ASHYQ_BOT_USERNAME`, `{payload}`: the start parameter).
pub const DEEP_LINK: &str = "https://t.me/{bot}?start={payload}";

/// What the core asks of a Telegram chat: its deep link and Bot API limits (4096 characters
/// a message, 8 buttons a row), copies and forum topics (the support desk).
pub fn profile() -> ChannelProfile {
    ChannelProfile {
        display_name: "Telegram".into(),
        deep_link: Some(DEEP_LINK.into()),
        max_text_chars: 4096,
        relay_part_chars: 3500,
        buttons_per_row: 8,
        can_copy: true,
        has_topics: true,
        replies_through_outbox: false,
        keywords: false,
        typed_phone_by_code: false,
    }
}

/// The bot as handlers see it. Messages are sent through the inner bot, under the bot's
/// shared pace and the per-chat limits of `crate::pace` (`send_raw`); the Throttle adaptor
/// still paces whatever else a handler sends.
pub type TgBot = Throttle<Bot>;

/// Builds the client from `TELOXIDE_TOKEN` and `TELOXIDE_API_URL` (a local Bot API server or
/// a test server may stand in for Telegram), throttled.
pub fn bot_from_env() -> TgBot {
    Throttle::new_spawn(Bot::from_env(), limits())
}

/// The Throttle keeps Telegram's per-chat limits; the overall rate is the bot's pace shared
/// by the replicas (`crate::pace`), so the Throttle's overall limit is only the ceiling of a
/// paid broadcast.
pub fn limits() -> Limits {
    Limits {
        messages_per_sec_overall: 1000,
        ..Limits::default()
    }
}

fn chat_ref(chat_id: ChatId) -> ChatRef {
    ChatRef::new(CHANNEL, chat_id.0.to_string())
}

/// The whole handler tree. Messages in the operators' chat (`SUPPORT_CHAT_ID`) go to the
/// support desk; everything else is a user's conversation. The adapter reads no state: the
/// core loads the conversation in its transaction and decides (see [`on_message`]).
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(
            Update::filter_message()
                .filter(|msg: Message, core: Arc<Core>| is_support_chat(&core, msg.chat.id))
                .endpoint(on_staff),
        )
        .branch(
            Update::filter_edited_message()
                .filter(|msg: Message, core: Arc<Core>| is_support_chat(&core, msg.chat.id))
                .endpoint(|| async { anyhow::Ok(()) }),
        )
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_edited_message().endpoint(on_edited))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

fn is_support_chat(core: &Core, chat: ChatId) -> bool {
    core.support
        .chat
        .as_ref()
        .is_some_and(|c| c.channel == CHANNEL && c.chat_id == chat.0.to_string())
}

/// The dispatcher `serve` runs and the tests drive.
pub fn dispatcher(bot: TgBot, core: Arc<Core>) -> Dispatcher<TgBot, anyhow::Error, DefaultKey> {
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![core])
        .default_handler(|_| async {})
        .build()
}

/// Sets the command menu in every language (and Russian for clients in other languages).
pub async fn set_commands(bot: &TgBot, texts: &Texts) -> anyhow::Result<()> {
    let commands = |lang: Lang| -> Vec<BotCommand> {
        Core::commands()
            .iter()
            .map(|(cmd, key)| BotCommand::new(*cmd, texts.get(lang, key)))
            .collect()
    };
    for lang in Lang::ALL {
        bot.set_my_commands(commands(lang))
            .language_code(lang.code())
            .await?;
    }
    // Clients in any other language see the state language.
    bot.set_my_commands(commands(Lang::FALLBACK)).await?;
    Ok(())
}

fn command_of(text: &str) -> Option<Event> {
    let rest = text.strip_prefix('/')?;
    let (head, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or(head).to_lowercase();
    if name.is_empty() {
        return None;
    }
    Some(Event::Command {
        name,
        arg: arg.trim().to_string(),
    })
}

fn event_of(msg: &Message) -> Event {
    if msg.forward_origin().is_some() {
        return Event::Forwarded;
    }
    if let Some(contact) = msg.contact() {
        let own = match (contact.user_id, msg.from.as_ref()) {
            (Some(owner), Some(sender)) => owner == sender.id,
            _ => false,
        };
        return Event::Contact {
            phone: contact.phone_number.clone(),
            own,
        };
    }
    if let Some(loc) = msg.location()
        && msg.venue().is_none()
    {
        return Event::Location {
            lat: loc.latitude,
            lon: loc.longitude,
        };
    }
    if let Some(text) = msg.text() {
        return command_of(text).unwrap_or_else(|| Event::Text(text.to_string()));
    }
    Event::Unsupported(media_kind(msg))
}

fn media_kind(msg: &Message) -> MediaKind {
    if msg.sticker().is_some() {
        MediaKind::Sticker
    } else if msg.photo().is_some() {
        MediaKind::Photo
    } else if msg.voice().is_some() {
        MediaKind::Voice
    } else if msg.video().is_some() || msg.video_note().is_some() || msg.animation().is_some() {
        MediaKind::Video
    } else if msg.audio().is_some() {
        MediaKind::Audio
    } else if msg.location().is_some() || msg.venue().is_some() {
        MediaKind::Location
    } else if msg.document().is_some() {
        MediaKind::Document
    } else if msg.poll().is_some() {
        MediaKind::Poll
    } else {
        MediaKind::Other
    }
}

/// A message as the support relay sees it: a reference to copy it, its text or caption,
/// its kind, whether it was forwarded.
fn relayed_of(msg: &Message, topic: Option<String>) -> Relayed {
    Relayed {
        source: Some(MessageRef {
            chat: chat_ref(msg.chat.id),
            message_id: msg.id.0.to_string(),
        }),
        text: msg.text().or(msg.caption()).map(str::to_string),
        kind: if msg.text().is_some() {
            None
        } else {
            Some(media_kind(msg))
        },
        forwarded: msg.forward_origin().is_some(),
        topic,
        author: msg.from.as_ref().map(|u| u.id.0.to_string()),
        plain: None,
    }
}

fn inbound(update: &Update, chat_id: ChatId, lang_hint: Option<String>, event: Event) -> Inbound {
    Inbound {
        chat: chat_ref(chat_id),
        update_key: Some(update.id.0.to_string()),
        lang_hint,
        event,
    }
}

/// An image in a message: a photo (the largest size within the limit) or an image document.
#[derive(Debug, Clone, PartialEq)]
enum ImageRef {
    Fetch(teloxide::types::FileId),
    /// Every size is over the limit: refused without downloading.
    Oversized,
}

/// Telegram reports `u32::MAX` when it did not give a size.
fn within_limit(size: u32) -> bool {
    size == u32::MAX || (size as usize) <= crate::core::checkin::MAX_IMAGE_BYTES
}

fn image_of(msg: &Message) -> Option<ImageRef> {
    if msg.forward_origin().is_some() {
        return None;
    }
    if let Some(sizes) = msg.photo() {
        return Some(
            sizes
                .iter()
                .filter(|p| within_limit(p.file.size))
                .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
                .map(|p| ImageRef::Fetch(p.file.id.clone()))
                .unwrap_or(ImageRef::Oversized),
        );
    }
    let doc = msg.document()?;
    let is_image = doc.mime_type.as_ref().is_some_and(|m| m.type_() == "image")
        || doc.file_name.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            [".jpg", ".jpeg", ".png", ".webp"]
                .iter()
                .any(|e| n.ends_with(e))
        });
    if !is_image {
        return None;
    }
    Some(if within_limit(doc.file.size) {
        ImageRef::Fetch(doc.file.id.clone())
    } else {
        ImageRef::Oversized
    })
}

/// Downloads an image, stopping (and refusing) as soon as it exceeds the limit.
async fn download_image(bot: &TgBot, id: teloxide::types::FileId) -> anyhow::Result<Event> {
    use futures::StreamExt;
    use teloxide::net::Download;
    let file = bot.get_file(id).await?;
    if !within_limit(file.size) {
        return Ok(Event::Unsupported(MediaKind::OversizedImage));
    }
    let mut stream = bot.inner().download_file_stream(&file.path);
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > crate::core::checkin::MAX_IMAGE_BYTES {
            return Ok(Event::Unsupported(MediaKind::OversizedImage));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Event::Image(bytes))
}

/// A user's message. Whether it is relayed (a support conversation) or read (a text, a
/// photo for check-in, a location…) is the core's decision on the conversation it loads in
/// its transaction: every message but a command or a contact goes as relayable, carrying the
/// plain event (an image already downloaded) for the core to use otherwise.
async fn on_message(
    bot: TgBot,
    core: Arc<Core>,
    update: Update,
    msg: Message,
) -> anyhow::Result<()> {
    let hint = msg.from.as_ref().and_then(|u| u.language_code.clone());
    let is_command = msg.text().is_some_and(|t| command_of(t).is_some());
    let plain = match image_of(&msg) {
        None => Some(event_of(&msg)),
        Some(ImageRef::Oversized) => Some(Event::Unsupported(MediaKind::OversizedImage)),
        Some(ImageRef::Fetch(id)) => match download_image(&bot, id).await {
            Ok(event) => Some(event),
            Err(e) => {
                // Still relayable (copied by reference); elsewhere the core reads it as
                // a photo it cannot use.
                tracing::warn!(error = %e, "image download failed");
                None
            }
        },
    };
    let event = match plain {
        Some(plain) if is_command || msg.contact().is_some() => plain,
        plain => Event::Relay(Relayed {
            plain: plain.map(Box::new),
            ..relayed_of(&msg, None)
        }),
    };
    tracing::debug!(update = update.id.0, event = ?event, "telegram message");
    process(&bot, &core, inbound(&update, msg.chat.id, hint, event)).await
}

/// A message in the operators' chat: its topic is found from the forum thread, or from the
/// bot's message it replies to (a group without topics).
async fn on_staff(bot: TgBot, core: Arc<Core>, update: Update, msg: Message) -> anyhow::Result<()> {
    // Other bots are ignored; an anonymous admin writes as the group (`sender_chat`).
    if msg.from.as_ref().is_some_and(|u| u.is_bot) && msg.sender_chat.is_none() {
        return Ok(());
    }
    let relayed = relayed_of(&msg, None);
    if relayed.text.is_none() && relayed.kind == Some(MediaKind::Other) {
        // Service messages (members joining, topics edited) are not for anyone.
        return Ok(());
    }
    let chat = chat_ref(msg.chat.id);
    let mut conn = core.store.pool().acquire().await?;
    let mut topic = None;
    if let Some(thread) = msg.thread_id.filter(|_| msg.is_topic_message) {
        topic = relay::topic_of_thread(&mut conn, &chat, &thread.0.0.to_string()).await?;
    }
    if topic.is_none()
        && let Some(reply) = msg.reply_to_message()
    {
        topic = relay::topic_of_message(&mut conn, &chat, &reply.id.0.to_string()).await?;
    }
    drop(conn);
    let event = Event::Relay(Relayed { topic, ..relayed });
    tracing::debug!(update = update.id.0, event = ?event, "telegram staff message");
    process(&bot, &core, inbound(&update, msg.chat.id, None, event)).await
}

async fn on_edited(
    bot: TgBot,
    core: Arc<Core>,
    update: Update,
    msg: Message,
) -> anyhow::Result<()> {
    let hint = msg.from.as_ref().and_then(|u| u.language_code.clone());
    process(
        &bot,
        &core,
        inbound(&update, msg.chat.id, hint, Event::Edited),
    )
    .await
}

async fn on_callback(
    bot: TgBot,
    core: Arc<Core>,
    update: Update,
    q: CallbackQuery,
) -> anyhow::Result<()> {
    // Answer at once so the client stops its spinner, whatever happens next.
    if let Err(e) = bot.answer_callback_query(q.id.clone()).await {
        tracing::warn!(error = %e, "answerCallbackQuery failed");
    }
    let (Some(chat_id), Some(data)) = (q.message.as_ref().map(|m| m.chat().id), q.data.clone())
    else {
        return Ok(());
    };
    let hint = q.from.language_code.clone();
    process(
        &bot,
        &core,
        inbound(&update, chat_id, hint, Event::Button(data)),
    )
    .await
}

/// Runs the core, shows "typing…" when it takes a moment, and delivers the replies. An error
/// is logged with its context; the user gets only the localised apology.
async fn process(bot: &TgBot, core: &Core, inbound: Inbound) -> anyhow::Result<()> {
    let chat_id: ChatId = ChatId(inbound.chat.chat_id.parse()?);
    let handling = core.handle(inbound.clone());
    tokio::pin!(handling);
    let result = tokio::select! {
        r = &mut handling => r,
        () = tokio::time::sleep(Duration::from_millis(400)) => {
            let _ = bot.send_chat_action(chat_id, ChatAction::Typing).await;
            handling.await
        }
    };
    let (replies, handled) = match result {
        Ok(replies) => (replies, true),
        Err(e) => {
            tracing::error!(error = %e, channel = CHANNEL, event = ?inbound.event, "handling failed");
            let lang = core
                .language_of(&inbound.chat, inbound.lang_hint.as_deref())
                .await;
            (vec![Core::error_reply(lang)], false)
        }
    };
    let any = !replies.is_empty();
    deliver(bot, core, chat_id, replies).await?;
    if !handled {
        return Err(NotHandled.into());
    }
    // Sent: a later redelivery of this update answers nothing. (Until here, one gets the
    // kept replies again.)
    if any
        && let Some(key) = &inbound.update_key
        && let Err(e) = core.replies_sent(&inbound.chat, key).await
    {
        // Sent all the same: acknowledged (a redelivery would repeat them).
        tracing::warn!(error = %e, "cannot forget sent replies");
    }
    Ok(())
}

/// The core did not handle an update (its transaction rolled back): a webhook answers 500,
/// so Telegram delivers the update again.
#[derive(Debug, thiserror::Error)]
#[error("the core did not handle the update")]
pub struct NotHandled;

/// The header in which Telegram sends the webhook's secret token.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Telegram's webhook: `TELEGRAM_WEBHOOK_URL` and `TELEGRAM_WEBHOOK_SECRET`.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: url::Url,
    pub secret: String,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookConfig({})", self.url)
    }
}

impl WebhookConfig {
    /// Checks the URL (https or, for tests and local Bot API servers, http) and the secret
    /// (1-256 characters of `A-Z a-z 0-9 _ -`, as Telegram requires).
    pub fn new(url: &str, secret: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(url.trim())
            .map_err(|e| anyhow::anyhow!("TELEGRAM_WEBHOOK_URL is not a URL: {e}"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "https" | "http"),
            "TELEGRAM_WEBHOOK_URL must be an https:// URL"
        );
        let secret = secret.trim();
        anyhow::ensure!(
            (1..=256).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        );
        Ok(Self {
            url,
            secret: secret.to_string(),
        })
    }

    /// The path our HTTP server serves the webhook at (the URL's path).
    pub fn path(&self) -> String {
        match self.url.path() {
            "" => "/".to_string(),
            p => p.to_string(),
        }
    }
}

/// Registers the webhook with Telegram (`setWebhook` with the secret token).
pub async fn set_webhook(bot: &TgBot, config: &WebhookConfig) -> Result<(), RequestError> {
    bot.set_webhook(config.url.clone())
        .secret_token(config.secret.clone())
        .await?;
    Ok(())
}

#[derive(Clone)]
struct Webhook {
    bot: TgBot,
    core: Arc<Core>,
    secret: Arc<str>,
    handler: UpdateHandler<anyhow::Error>,
    chats: ChatQueues,
}

/// One update at a time per chat in this process, in arrival order, as long polling's
/// dispatcher does (Telegram may post a chat's updates over several connections at once).
#[derive(Clone, Default)]
struct ChatQueues(
    Arc<std::sync::Mutex<std::collections::HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
);

impl ChatQueues {
    async fn run<T>(&self, chat: Option<i64>, work: impl std::future::Future<Output = T>) -> T {
        let Some(chat) = chat else {
            return work.await;
        };
        let lock = self.0.lock().unwrap().entry(chat).or_default().clone();
        let out = {
            let _turn = lock.lock().await;
            work.await
        };
        // Forget the chat's queue when nobody else waits on it.
        let mut map = self.0.lock().unwrap();
        if Arc::strong_count(&lock) == 2 {
            map.remove(&chat);
        }
        out
    }
}

/// The webhook's route for our HTTP server: each update is checked (the secret token, in
/// constant time), run through the same [`schema`] as long polling, and acknowledged only
/// when the core committed it (a repeat is answered 200 and changes nothing).
pub fn webhook_router(bot: TgBot, core: Arc<Core>, config: &WebhookConfig) -> axum::Router {
    let hook = Webhook {
        bot,
        core,
        secret: Arc::from(config.secret.as_str()),
        handler: schema(),
        chats: ChatQueues::default(),
    };
    axum::Router::new()
        .route(&config.path(), axum::routing::post(on_webhook))
        .with_state(hook)
}

async fn on_webhook(
    axum::extract::State(hook): axum::extract::State<Webhook>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    use subtle::ConstantTimeEq;
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if given.is_empty() || !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        tracing::warn!("telegram webhook: missing or wrong secret token");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(e) => {
            tracing::warn!(error = %e, "telegram webhook: not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    let chat = update.chat().map(|c| c.id.0);
    let deps = dptree::deps![hook.bot.clone(), hook.core.clone(), update];
    match hook.chats.run(chat, hook.handler.dispatch(deps)).await {
        std::ops::ControlFlow::Break(Ok(())) | std::ops::ControlFlow::Continue(_) => StatusCode::OK,
        std::ops::ControlFlow::Break(Err(e)) if e.is::<NotHandled>() => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        std::ops::ControlFlow::Break(Err(e)) => {
            // Committed, but a reply could not be sent: Telegram delivers the update again
            // and the core answers it with the replies it kept (nothing is done twice).
            tracing::warn!(error = %e, "telegram webhook: handled, reply failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

fn label(texts: &Texts, lang: Lang, label: &Label) -> String {
    match label {
        Label::Text(msg) => texts.render(lang, msg),
        Label::Literal(s) => s.clone(),
    }
}

/// The Telegram form of a keyboard.
pub fn markup(texts: &Texts, lang: Lang, keyboard: &Keyboard) -> Option<ReplyMarkup> {
    match keyboard {
        Keyboard::Keep => None,
        Keyboard::Remove => Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new())),
        Keyboard::Inline(rows) => Some(ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(
            rows.iter().map(|row| {
                row.iter()
                    .map(|b| {
                        InlineKeyboardButton::callback(label(texts, lang, &b.label), b.data.clone())
                    })
                    .collect::<Vec<_>>()
            }),
        ))),
        Keyboard::Reply(rows) => Some(ReplyMarkup::Keyboard(
            KeyboardMarkup::new(rows.iter().map(|row| {
                row.iter()
                    .map(|b| {
                        let button = KeyboardButton::new(label(texts, lang, &b.label));
                        if b.request_contact {
                            button.request(ButtonRequest::Contact)
                        } else {
                            button
                        }
                    })
                    .collect::<Vec<_>>()
            }))
            .resize_keyboard(),
        )),
    }
}

/// Sends one message in its language: in its topic (created on first use; a chat without
/// topics gets the message itself), copied when it is a relayed message, and remembered
/// for reply-to mapping.
pub async fn send_outbound(
    bot: &TgBot,
    core: &Core,
    chat: ChatId,
    message: &Outbound,
) -> Result<(), RequestError> {
    send_outbound_as(bot, core, chat, message, false).await
}

/// [`send_outbound`], as a paid broadcast when `paid` (`allow_paid_broadcast`: Telegram
/// lets such messages past 30 a second, up to 1 000, for a fee in Stars), paced by
/// `crate::pace::TELEGRAM_PAID` instead of `crate::pace::TELEGRAM`.
pub async fn send_outbound_as(
    bot: &TgBot,
    core: &Core,
    chat: ChatId,
    message: &Outbound,
    paid: bool,
) -> Result<(), RequestError> {
    let relay = message.relay();
    let here = chat_ref(chat);
    let mut thread = match &relay.topic {
        Some(topic) => ensure_topic(bot, core, chat, topic, message.lang).await?,
        None => None,
    };
    let mut retried = false;
    loop {
        match send_raw(bot, core, chat, message, &relay, thread, paid).await {
            Ok(id) => {
                if let Some(topic) = &relay.topic {
                    let mut conn = core.store.pool().acquire().await.map_err(db_error)?;
                    relay::link(
                        &mut conn,
                        &here,
                        &id.0.to_string(),
                        &topic.key,
                        core.now_ms(),
                    )
                    .await
                    .map_err(db_error)?;
                }
                return Ok(());
            }
            Err(e) if !retried && thread.is_some() && thread_gone(&e) => {
                // The topic was deleted in Telegram: open a new one and post there.
                retried = true;
                let topic = relay.topic.as_ref().expect("a thread comes from a topic");
                tracing::warn!(topic = %topic.key, "topic deleted: creating it again");
                let mut conn = core.store.pool().acquire().await.map_err(db_error)?;
                relay::forget_thread(&mut conn, &here, &topic.key)
                    .await
                    .map_err(db_error)?;
                drop(conn);
                thread = ensure_topic(bot, core, chat, topic, message.lang).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

fn db_error(e: impl std::fmt::Display) -> RequestError {
    RequestError::Io(std::sync::Arc::new(std::io::Error::other(e.to_string())))
}

fn thread_gone(e: &RequestError) -> bool {
    matches!(e, RequestError::Api(api) if api.to_string().contains("thread not found"))
}

async fn ensure_topic(
    bot: &TgBot,
    core: &Core,
    chat: ChatId,
    topic: &Topic,
    lang: Lang,
) -> Result<Option<ThreadId>, RequestError> {
    let here = chat_ref(chat);
    let mut conn = core.store.pool().acquire().await.map_err(db_error)?;
    let stored = relay::thread_of(&mut conn, &here, &topic.key)
        .await
        .map_err(db_error)?;
    drop(conn);
    let thread = match stored {
        Some(Some(t)) => return Ok(t.parse().ok().map(|t| ThreadId(MessageId(t)))),
        Some(None) => return Ok(None),
        None => match bot
            .create_forum_topic(chat, core.texts.render(lang, &topic.title))
            .await
        {
            Ok(created) => Some(created.thread_id),
            Err(RequestError::Api(e)) => {
                tracing::warn!(error = %e, "no forum topics in this chat: replies are mapped by reply-to");
                None
            }
            Err(e) => return Err(e),
        },
    };
    let mut conn = core.store.pool().acquire().await.map_err(db_error)?;
    let id = thread.map(|t| t.0.0.to_string());
    relay::set_thread(&mut conn, &here, &topic.key, id.as_deref(), core.now_ms())
        .await
        .map_err(db_error)?;
    Ok(thread)
}

/// One message out: every request first waits for a slot of the bot's pace, shared by
/// the replicas (`crate::pace`).
async fn send_raw(
    bot: &TgBot,
    core: &Core,
    chat: ChatId,
    message: &Outbound,
    relay: &Relay,
    thread: Option<ThreadId>,
    paid: bool,
) -> Result<MessageId, RequestError> {
    let texts: &Texts = &core.texts;
    let pace = if paid {
        crate::pace::TELEGRAM_PAID
    } else {
        crate::pace::TELEGRAM
    };
    let markup = markup(texts, message.lang, &message.keyboard);
    // Telegram's limits per chat first (one a second, twenty a minute in a group), then the
    // bot's shared pace. The requests go to the inner bot: the Throttle adaptor releases its
    // queue every 250 ms, in bunches that no pace could smooth (docs/OPERATIONS.md).
    let spacing = core.pace.chats();
    let chat_key = chat.0.to_string();
    spacing.wait(&chat_key, !chat.is_user()).await;
    let bot = bot.inner();
    if let Some(source) = relay.copy.as_ref().filter(|s| s.chat.channel == CHANNEL)
        && let (Ok(from), Ok(id)) = (
            source.chat.chat_id.parse::<i64>(),
            source.message_id.parse::<i32>(),
        )
    {
        let mut request = bot.copy_message(chat, ChatId(from), MessageId(id));
        if let Some(t) = thread {
            request = request.message_thread_id(t);
        }
        if let Some(m) = markup.clone() {
            request = request.reply_markup(m);
        }
        if let Some(caption) = &relay.caption {
            request = request.caption(texts.render(message.lang, caption));
        }
        if paid {
            request = request.allow_paid_broadcast(true);
        }
        let permit = core.pace.wait(pace).await;
        let copied = request.await;
        drop(permit);
        match copied {
            Ok(id) => return Ok(id),
            Err(e @ RequestError::Api(_)) if !thread_gone(&e) => {
                // The original is gone or cannot be copied: the text says what it was.
                tracing::warn!(error = %e, "copyMessage failed: sending the text instead");
            }
            Err(e) => return Err(e),
        }
    }
    let text = texts.render(message.lang, &message.text);
    if let Some(file) = &message.attachment {
        // Telegram's captions are shorter than its messages: a long text follows the file.
        let fits = text.chars().count() <= MAX_CAPTION_CHARS;
        let input = InputFile::memory(file.bytes.clone()).file_name(file.file_name.clone());
        let sent = match file.kind {
            AttachmentKind::Photo => {
                let mut request = bot.send_photo(chat, input);
                if let Some(t) = thread {
                    request = request.message_thread_id(t);
                }
                if fits {
                    request = request.caption(text.clone());
                    if let Some(m) = markup.clone() {
                        request = request.reply_markup(m);
                    }
                }
                if paid {
                    request = request.allow_paid_broadcast(true);
                }
                let _permit = core.pace.wait(pace).await;
                request.await?
            }
            AttachmentKind::Document => {
                let mut request = bot.send_document(chat, input);
                if let Some(t) = thread {
                    request = request.message_thread_id(t);
                }
                if fits {
                    request = request.caption(text.clone());
                    if let Some(m) = markup.clone() {
                        request = request.reply_markup(m);
                    }
                }
                if paid {
                    request = request.allow_paid_broadcast(true);
                }
                let _permit = core.pace.wait(pace).await;
                request.await?
            }
        };
        if fits {
            return Ok(sent.id);
        }
        spacing.wait(&chat_key, !chat.is_user()).await;
    }
    let mut request = bot.send_message(chat, text);
    if let Some(t) = thread {
        request = request.message_thread_id(t);
    }
    if let Some(m) = markup {
        request = request.reply_markup(m);
    }
    if paid {
        request = request.allow_paid_broadcast(true);
    }
    let _permit = core.pace.wait(pace).await;
    request.await.map(|m| m.id)
}

/// Telegram's limit for a photo's or a document's caption.
const MAX_CAPTION_CHARS: usize = 1024;

async fn deliver(
    bot: &TgBot,
    core: &Core,
    sender: ChatId,
    replies: Vec<Outbound>,
) -> anyhow::Result<()> {
    for reply in replies {
        let chat = match &reply.to {
            Recipient::Sender => sender,
            Recipient::Chat(c) if c.channel == CHANNEL => ChatId(c.chat_id.parse()?),
            Recipient::Chat(c) => {
                tracing::warn!(channel = %c.channel, "message for another channel dropped by the Telegram adapter");
                continue;
            }
        };
        send_outbound(bot, core, chat, &reply).await?;
    }
    Ok(())
}

/// The Telegram channel's half of the outbox worker: one message through the throttled bot
/// (one a second per chat) at the bot's shared pace (`crate::pace`: 29 a second by default);
/// with `paid_broadcast` (national alerts) every outbox message is sent with
/// `allow_paid_broadcast` at the paid pace (up to 1 000 a second).
#[derive(Clone)]
pub struct TelegramDeliver {
    pub bot: TgBot,
    pub paid_broadcast: bool,
}

impl crate::delivery::Deliver for TelegramDeliver {
    fn channel(&self) -> &str {
        CHANNEL
    }

    async fn deliver(&self, core: &Core, envelope: Envelope<'_>) -> Sent {
        let Ok(chat) = envelope.chat_id.parse::<i64>() else {
            return Sent::Gone {
                error: "not a Telegram chat id".into(),
            };
        };
        let sent = send_outbound_as(
            &self.bot,
            core,
            ChatId(chat),
            envelope.message,
            self.paid_broadcast,
        );
        match sent.await {
            Ok(()) => Sent::Delivered,
            Err(RequestError::RetryAfter(after)) => Sent::RetryLater {
                after: Some(after.duration()),
                error: format!("retry after {}s", after.seconds()),
            },
            Err(e @ (RequestError::Network(_) | RequestError::Io(_))) => Sent::RetryLater {
                after: None,
                error: e.to_string(),
            },
            // Blocked, chat not found, deactivated, a message Telegram refuses.
            Err(e) => Sent::Gone {
                error: e.to_string(),
            },
        }
    }
}

/// The outbox worker of the Telegram channel: each batch of due rows sent concurrently
/// (64 chats at once, the throttle queues beyond its limits), one sequence per chat.
pub fn worker(bot: TgBot) -> Worker<TelegramDeliver> {
    Worker::new(TelegramDeliver {
        bot,
        paid_broadcast: false,
    })
}

/// [`worker`] sending every message as a paid broadcast (`TELEGRAM_PAID_BROADCAST`).
pub fn paid_worker(bot: TgBot) -> Worker<TelegramDeliver> {
    Worker::new(TelegramDeliver {
        bot,
        paid_broadcast: true,
    })
}

/// Delivers the durable outbox of the Telegram channel until `stop` fires (see
/// [`crate::delivery`]).
pub async fn run_outbox(bot: TgBot, core: Arc<Core>, stop: tokio_util::sync::CancellationToken) {
    worker(bot).run(core, stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_split_from_bot_name_and_argument() {
        assert_eq!(
            command_of("/start@AshyqBot abc_12"),
            Some(Event::Command {
                name: "start".into(),
                arg: "abc_12".into()
            })
        );
        assert_eq!(
            command_of("/ME"),
            Some(Event::Command {
                name: "me".into(),
                arg: String::new()
            })
        );
        assert_eq!(command_of("/"), None);
        assert_eq!(command_of("hello"), None);
    }

    #[tokio::test]
    async fn a_chats_webhook_updates_run_one_at_a_time() {
        let queues = ChatQueues::default();
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let q = queues.clone();
        let first = tokio::spawn(async move {
            q.run(Some(1), async move {
                held.await.unwrap();
                "first"
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let same_chat = tokio::time::timeout(
            Duration::from_millis(100),
            queues.run(Some(1), async { "second" }),
        )
        .await;
        assert!(same_chat.is_err(), "waits for the chat's earlier update");
        assert_eq!(queues.run(Some(2), async { "other" }).await, "other");
        assert_eq!(queues.run(None, async { "no chat" }).await, "no chat");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), "first");
        assert_eq!(queues.run(Some(1), async { "after" }).await, "after");
        assert!(queues.0.lock().unwrap().is_empty(), "no queue left behind");
    }

    #[test]
    fn webhook_settings_are_checked() {
        let ok = WebhookConfig::new("https://bot.example.kz/tg/hook?x=1", "abc_DEF-123").unwrap();
        assert_eq!(ok.path(), "/tg/hook");
        assert_eq!(
            WebhookConfig::new("https://bot.example.kz", "s")
                .unwrap()
                .path(),
            "/"
        );
        assert!(WebhookConfig::new("ftp://bot.example.kz/x", "s").is_err());
        assert!(WebhookConfig::new("not a url", "s").is_err());
        assert!(WebhookConfig::new("https://bot.example.kz/x", "").is_err());
        assert!(WebhookConfig::new("https://bot.example.kz/x", "with space").is_err());
        assert!(WebhookConfig::new("https://bot.example.kz/x", &"a".repeat(257)).is_err());
        assert!(
            !format!("{ok:?}").contains("abc_DEF"),
            "Debug hides the secret"
        );
    }
}
