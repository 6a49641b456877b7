//! Telegram through teloxide + dptree. One [`schema`] builds the handler tree, used by
//! `ashyq serve` and by the tests; dependencies are injected with `dptree::deps!`.

use crate::core::{Core, Event, Inbound, Keyboard, Label, MediaKind, Outbound, Recipient, State};
use crate::domain::Lang;
use crate::i18n::Texts;
use crate::storage::{ChatRef, ConversationRow, Store, StoreError};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::dialogue::{self, Storage};
use teloxide::dispatching::{DefaultKey, Dispatcher, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ButtonRequest, ChatAction, InlineKeyboardButton, InlineKeyboardMarkup,
    KeyboardButton, KeyboardMarkup, KeyboardRemove, ReplyMarkup,
};

pub const CHANNEL: &str = "telegram";

/// The bot as handlers see it: Telegram's limits respected by the Throttle adaptor.
pub type TgBot = Throttle<Bot>;

/// Builds the client from `TELOXIDE_TOKEN` and `TELOXIDE_API_URL` (a local Bot API server or
/// a test server may stand in for Telegram), throttled.
pub fn bot_from_env() -> TgBot {
    Throttle::new_spawn(Bot::from_env(), Limits::default())
}

/// teloxide's dialogue storage over our own `conversations` table, so the state teloxide
/// sees is the one the core persisted, and a restart resumes where the user was.
#[derive(Debug, Clone)]
pub struct DialogueStore(pub Store);

fn chat_ref(chat_id: ChatId) -> ChatRef {
    ChatRef::new(CHANNEL, chat_id.0.to_string())
}

impl Storage<State> for DialogueStore {
    type Error = StoreError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let mut conn = self.0.pool().acquire().await?;
            crate::storage::conversations::delete(&mut conn, &chat_ref(chat_id)).await
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        state: State,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let chat = chat_ref(chat_id);
            let mut tx = self.0.begin().await?;
            let mut row = crate::storage::conversations::load(&mut tx, &chat)
                .await?
                .unwrap_or(ConversationRow {
                    lang: None,
                    state: String::new(),
                    person_id: None,
                });
            row.state = serde_json::to_string(&state)?;
            let now = chrono::Utc::now().timestamp_millis();
            crate::storage::conversations::save(&mut tx, &chat, &row, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<State>, Self::Error>> {
        Box::pin(async move {
            match self.0.conversation(&chat_ref(chat_id)).await? {
                Some(row) => Ok(Some(serde_json::from_str(&row.state)?)),
                None => Ok(None),
            }
        })
    }
}

/// The whole handler tree.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dialogue::enter::<Update, DialogueStore, State, _>()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_edited_message().endpoint(on_edited))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

/// The dispatcher `serve` runs and the tests drive.
pub fn dispatcher(bot: TgBot, core: Arc<Core>) -> Dispatcher<TgBot, anyhow::Error, DefaultKey> {
    let dialogues = Arc::new(DialogueStore(core.store.clone()));
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![core, dialogues])
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
    bot.set_my_commands(commands(Lang::Ru)).await?;
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
    if let Some(text) = msg.text() {
        return command_of(text).unwrap_or_else(|| Event::Text(text.to_string()));
    }
    let kind = if msg.sticker().is_some() {
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
    };
    Event::Unsupported(kind)
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

async fn on_message(
    bot: TgBot,
    core: Arc<Core>,
    update: Update,
    state: State,
    msg: Message,
) -> anyhow::Result<()> {
    let hint = msg.from.as_ref().and_then(|u| u.language_code.clone());
    let event = match image_of(&msg) {
        None => event_of(&msg),
        Some(ImageRef::Oversized) => Event::Unsupported(MediaKind::OversizedImage),
        Some(ImageRef::Fetch(id)) => match download_image(&bot, id).await {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "image download failed");
                let chat = chat_ref(msg.chat.id);
                let lang = core.language_of(&chat, hint.as_deref()).await;
                return deliver(
                    &bot,
                    &core.texts,
                    msg.chat.id,
                    vec![Core::error_reply(lang)],
                )
                .await;
            }
        },
    };
    tracing::debug!(update = update.id.0, step = ?state, event = ?event, "telegram message");
    process(&bot, &core, inbound(&update, msg.chat.id, hint, event)).await
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
    let replies = match result {
        Ok(replies) => replies,
        Err(e) => {
            tracing::error!(error = %e, channel = CHANNEL, event = ?inbound.event, "handling failed");
            let lang = core
                .language_of(&inbound.chat, inbound.lang_hint.as_deref())
                .await;
            vec![Core::error_reply(lang)]
        }
    };
    deliver(bot, &core.texts, chat_id, replies).await
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

/// Sends one message in its language.
async fn send_one(
    bot: &TgBot,
    texts: &Texts,
    chat: ChatId,
    message: &Outbound,
) -> Result<(), RequestError> {
    let mut request = bot.send_message(chat, texts.render(message.lang, &message.text));
    if let Some(markup) = markup(texts, message.lang, &message.keyboard) {
        request = request.reply_markup(markup);
    }
    request.await.map(|_| ())
}

async fn deliver(
    bot: &TgBot,
    texts: &Texts,
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
        send_one(bot, texts, chat, &reply).await?;
    }
    Ok(())
}

/// Delivers the durable outbox of the Telegram channel until `stop` fires: oldest first,
/// through the throttled bot (Telegram's limits), marking each message sent right after
/// Telegram accepted it. Retries on network errors and `RetryAfter`; gives up on a chat
/// that blocked the bot or does not exist. A crash between Telegram's answer and the mark
/// can repeat that one message; nothing is lost.
pub async fn run_outbox(bot: TgBot, core: Arc<Core>, stop: tokio_util::sync::CancellationToken) {
    use crate::storage::outbox;
    loop {
        let now = core.now_ms();
        let due = match core.store.pool().acquire().await {
            Ok(mut conn) => outbox::due(&mut conn, CHANNEL, now, 100).await,
            Err(e) => Err(e.into()),
        };
        let rows = due.unwrap_or_else(|e| {
            tracing::error!(error = %e, "outbox: cannot read");
            Vec::new()
        });
        if rows.is_empty() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = core.outbox_ready.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        for row in rows {
            if stop.is_cancelled() {
                return;
            }
            let parsed = serde_json::from_str::<Outbound>(&row.payload)
                .ok()
                .zip(row.chat_id.parse::<i64>().ok());
            let result = match parsed {
                Some((message, chat)) => send_one(&bot, &core.texts, ChatId(chat), &message)
                    .await
                    .map_err(Some),
                None => Err(None),
            };
            let now = core.now_ms();
            let marked = match core.store.pool().acquire().await {
                Err(e) => Err(e.into()),
                Ok(mut conn) => match result {
                    Ok(()) => outbox::mark_sent(&mut conn, row.id, now).await,
                    Err(None) => {
                        outbox::mark_failed(&mut conn, row.id, now, "unreadable message", None)
                            .await
                    }
                    Err(Some(e)) => {
                        let retry = match &e {
                            RequestError::RetryAfter(after) => {
                                Some(now + after.duration().as_millis() as i64)
                            }
                            RequestError::Network(_) | RequestError::Io(_) => {
                                Some(now + 2_000 * (1 << row.attempts.min(6)))
                            }
                            _ => None,
                        };
                        tracing::warn!(id = row.id, error = %e, retry = retry.is_some(), "outbox: delivery failed");
                        outbox::mark_failed(&mut conn, row.id, now, &e.to_string(), retry).await
                    }
                },
            };
            if let Err(e) = marked {
                tracing::error!(id = row.id, error = %e, "outbox: cannot record the attempt");
            }
        }
    }
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
}
