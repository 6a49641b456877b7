//! The support desk end to end through the real teloxide client, dispatcher and outbox worker
//! against the fake Bot API with a forum supergroup: topic creation, copies both ways,
//! close / rate / reopen, ban, a user who blocked the bot, a deleted topic, and a group
//! without topics (reply-to mapping).

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::Core;
use ashyq::core::support::SupportSettings;
use ashyq::storage::ChatRef;
use serde_json::{Value, json};
use std::sync::Arc;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::FakeTelegram;
use support::{TestDb, at};

const GROUP: i64 = -100_555_000;
const USER: i64 = 515_151;
const OPERATOR: i64 = 900_001;

struct Running {
    fake: FakeTelegram,
    core: Arc<Core>,
    app: TestApp,
}

async fn start(db: &TestDb, forum: bool) -> Running {
    let (fake, url) = FakeTelegram::start().await;
    if forum {
        fake.set_forum(GROUP);
    }
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let settings = SupportSettings {
        chat: Some(ChatRef::new("telegram", GROUP.to_string())),
        ..SupportSettings::default()
    };
    let core = support::core_with_support(db, &clock, settings).await;
    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;
    Running { fake, core, app }
}

impl Running {
    async fn stop(self) {
        self.app.stop().await;
        self.core.store.close().await;
    }
}

fn text(v: &Value) -> &str {
    v["text"].as_str().unwrap_or_default()
}

/// The user opens a ticket: `/support`, the category, a question the FAQ answers, "that
/// didn't help".
async fn open_ticket(fake: &FakeTelegram) {
    fake.text(USER, Some("ru"), "/support");
    fake.wait_messages(USER, 2).await;
    let categories = fake.last_message(USER).unwrap();
    assert_eq!(
        categories["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        json!("support:cat:citizen")
    );
    fake.callback(USER, Some("ru"), "support:cat:citizen");
    fake.wait_messages(USER, 3).await;
    fake.text(USER, Some("ru"), "Я переболел, почему я красный?");
    let texts = fake.wait_messages(USER, 5).await;
    assert!(texts[3].contains("14 дней"), "{texts:?}");
    fake.callback(USER, Some("ru"), "support:faq:no");
    let texts = fake.wait_messages(USER, 6).await;
    assert!(
        texts.last().unwrap().contains("Обращение №1 создано"),
        "{texts:?}"
    );
}

async fn forum(db: &TestDb) {
    let run = start(db, true).await;
    let fake = &run.fake;
    open_ticket(fake).await;

    // The topic is named by ticket number and category, never by phone or IIN.
    let topics = fake.wait_calls("createForumTopic", GROUP, 1).await;
    assert_eq!(topics[0]["name"], json!("№1 · граждане (1414)"));
    let sent = fake.wait_calls("sendMessage", GROUP, 2).await;
    let thread = sent[0]["message_thread_id"].as_i64().expect("in the topic");
    assert!(text(&sent[0]).contains("Обращение №1"), "{sent:?}");
    assert_eq!(sent[1]["message_thread_id"], json!(thread));
    assert!(text(&sent[1]).contains("Я переболел, почему я красный?"));

    // A photo with a caption is copied into the topic.
    fake.message(
        USER,
        Some("ru"),
        FakeTelegram::photo("ph1", Some("справка")),
    );
    let copies = fake.wait_calls("copyMessage", GROUP, 1).await;
    assert_eq!(copies[0]["from_chat_id"], json!(USER));
    assert_eq!(copies[0]["message_thread_id"], json!(thread));
    assert_eq!(copies[0]["caption"], json!("👤 №1: справка"));

    // A sticker is described to the operators; the user is told it was not passed on.
    fake.sticker(USER, Some("ru"));
    let sent = fake.wait_calls("sendMessage", GROUP, 3).await;
    assert!(text(&sent[2]).contains("Стикер"), "{sent:?}");
    let texts = fake.wait_messages(USER, 7).await;
    assert!(texts[6].contains("нельзя передать"), "{texts:?}");

    // A forwarded message arrives as quoted text, without its forward metadata.
    fake.message(
        USER,
        Some("ru"),
        json!({"text": "Результат ПЦР: отрицательный", "forward_origin": {"type": "hidden_user", "sender_user_name": "Лаборатория", "date": 1_790_000_000}}),
    );
    let sent = fake.wait_calls("sendMessage", GROUP, 4).await;
    assert!(
        text(&sent[3]).contains("» Результат ПЦР: отрицательный"),
        "{sent:?}"
    );
    assert!(!text(&sent[3]).contains("Лаборатория"));

    // The operator answers in the topic: the user gets it from "Support".
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "Здравствуйте! Проверим запись."}),
    );
    let texts = fake.wait_messages(USER, 8).await;
    assert_eq!(texts[7], "💬 Поддержка:\nЗдравствуйте! Проверим запись.");
    // An internal note stays in the group; an operator's photo is copied to the user.
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "#note лаборатория №3"}),
    );
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        FakeTelegram::photo("ph2", None),
    );
    let copies = fake.wait_calls("copyMessage", USER, 1).await;
    assert_eq!(copies[0]["from_chat_id"], json!(GROUP));
    assert_eq!(copies[0]["caption"], json!("💬 Поддержка"));
    fake.settle().await;
    assert_eq!(fake.sent_texts(USER).len(), 8, "the #note was not relayed");

    // /info in the topic: no IIN, no phone (not registered).
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "/info"}),
    );
    let sent = fake.wait_calls("sendMessage", GROUP, 5).await;
    assert_eq!(sent[4]["message_thread_id"], json!(thread));
    assert!(text(&sent[4]).contains("Регистрация: нет"), "{sent:?}");
    // An operator's command outside any ticket topic.
    fake.group_message(GROUP, OPERATOR, None, None, json!({"text": "/close"}));
    let sent = fake.wait_calls("sendMessage", GROUP, 6).await;
    assert!(
        text(&sent[5]).contains("только в теме обращения"),
        "{sent:?}"
    );
    assert!(sent[5].get("message_thread_id").is_none());

    // /close: the user is asked for a rating, rates, and the operators see it.
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "/close"}),
    );
    let texts = fake.wait_messages(USER, 9).await;
    assert!(texts[8].contains("закрыто"), "{texts:?}");
    let rating = fake.last_message(USER).unwrap();
    assert_eq!(
        rating["reply_markup"]["inline_keyboard"][0][4]["callback_data"],
        json!("support:rate:1:5")
    );
    fake.callback(USER, Some("ru"), "support:rate:1:4");
    let texts = fake.wait_messages(USER, 10).await;
    assert!(texts[9].contains("Спасибо за оценку"), "{texts:?}");
    let sent = fake.wait_calls("sendMessage", GROUP, 8).await;
    // The direct reply and the outbox race: either order.
    assert!(
        sent[6..]
            .iter()
            .any(|m| text(m).contains("оценено на 4 из 5")),
        "{sent:?}"
    );
    assert!(sent[6..].iter().any(|m| text(m).contains("закрыто")));

    // A new message within 48 hours reopens the ticket in the same topic.
    fake.text(USER, Some("ru"), "Всё ещё красный");
    let texts = fake.wait_messages(USER, 11).await;
    assert!(texts[10].contains("снова открыто"), "{texts:?}");
    let sent = fake.wait_calls("sendMessage", GROUP, 10).await;
    assert!(text(&sent[8]).contains("снова открыто"));
    assert!(text(&sent[9]).contains("Всё ещё красный"));
    assert_eq!(sent[9]["message_thread_id"], json!(thread));

    // /ban: the user is told until when; their next message is not relayed.
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "/ban 1d"}),
    );
    let texts = fake.wait_messages(USER, 12).await;
    assert!(
        texts[11].contains("до 24 ноября 2026 г., 10:00 (время Астаны)"),
        "{texts:?}"
    );
    fake.text(USER, Some("ru"), "Почему?");
    let texts = fake.wait_messages(USER, 13).await;
    assert!(texts[12].contains("не можете писать"), "{texts:?}");
    fake.settle().await;
    let relayed = fake.calls_to("sendMessage", GROUP).len();
    assert_eq!(relayed, 11, "only the ban notice was added");

    // The user blocked the bot: the operators see that delivery failed.
    fake.block(USER);
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "Вы здесь?"}),
    );
    let sent = fake.wait_calls("sendMessage", GROUP, 12).await;
    assert!(text(&sent[11]).contains("не доставлено"), "{sent:?}");
    assert_eq!(sent[11]["message_thread_id"], json!(thread));

    // A deleted topic: the next relay opens a new topic for the ticket.
    fake.delete_topic(GROUP, thread);
    fake.group_message(
        GROUP,
        OPERATOR,
        Some(thread),
        None,
        json!({"text": "/unban"}),
    );
    let topics = fake.wait_calls("createForumTopic", GROUP, 2).await;
    assert_eq!(topics[1]["name"], json!("№1 · граждане (1414)"));
    let sent = fake.wait_calls("sendMessage", GROUP, 14).await;
    let new_thread = sent.last().unwrap()["message_thread_id"].as_i64().unwrap();
    assert_ne!(new_thread, thread);
    assert!(text(sent.last().unwrap()).contains("снова может писать"));
    run.stop().await;
}

mod forum_supergroup {
    ashyq_on_both!(super::forum);
}

/// A group without topics: messages go to the group itself and operators answer by replying
/// to the bot's message of the ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_without_topics_maps_replies() {
    let db = TestDb::sqlite().await;
    let run = start(&db, false).await;
    let fake = &run.fake;
    open_ticket(fake).await;
    fake.wait_calls("createForumTopic", GROUP, 1).await;
    let sent = fake.wait_calls("sendMessage", GROUP, 2).await;
    assert!(sent[1].get("message_thread_id").is_none());
    assert!(
        text(&sent[1]).contains("№1"),
        "the ticket number heads the message"
    );
    let replied = fake.last_sent_id(GROUP).expect("the relayed question");
    // The worker links a message to its ticket right after Telegram accepted it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while support::count(&run.core.store, "relay_links").await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "links recorded");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    fake.group_message(
        GROUP,
        OPERATOR,
        None,
        Some(replied),
        json!({"text": "Ответ по обращению"}),
    );
    let texts = fake.wait_messages(USER, 7).await;
    assert_eq!(texts[6], "💬 Поддержка:\nОтвет по обращению");
    // A reply to something else is operators' chatter: nothing is sent to anyone.
    fake.group_message(
        GROUP,
        OPERATOR,
        None,
        Some(1),
        json!({"text": "коллеги, кто на смене?"}),
    );
    fake.settle().await;
    assert_eq!(fake.sent_texts(USER).len(), 7);
    assert_eq!(
        fake.calls_to("createForumTopic", GROUP).len(),
        1,
        "tried once"
    );
    run.stop().await;
}
