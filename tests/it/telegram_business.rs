//! A business application through Telegram end to end (the real dispatcher and outbox worker
//! against the fake Bot API): the dialogue, the admin chat's approve button, and the posters
//! arriving in the owner's chat as uploaded documents.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::Core;
use ashyq::core::business::BusinessSettings;
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store};
use std::sync::Arc;
use std::time::Duration;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::FakeTelegram;
use support::{TestDb, at, count};

const OWNER: i64 = 717_171;
const ADMINS: i64 = 818_181;
const IIN: &str = "900101300017";

async fn approval_sends_posters(db: &TestDb) {
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let store = Store::open(&db.url).await.unwrap();
    let core = Arc::new(
        Core::new(
            store,
            ashyq::crypto::Vault::from_secret(support::SECRET).unwrap(),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_business(BusinessSettings {
            admin_chat: Some(ChatRef::new("telegram", ADMINS.to_string())),
            bot_username: support::fake_telegram::BOT_USERNAME.into(),
            ..BusinessSettings::default()
        }),
    );
    crate::support::identity_pair(&core, IIN, "77011234567").await;
    // The application as `serve` runs it: long polling, the outbox worker, the jobs.
    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;

    fake.text(OWNER, Some("ru"), "/start");
    fake.wait_messages(OWNER, 1).await;
    fake.callback(OWNER, Some("ru"), "consent:yes");
    fake.wait_messages(OWNER, 2).await;
    fake.contact(OWNER, Some("ru"), "77011234567", Some(OWNER));
    fake.wait_messages(OWNER, 4).await;
    fake.text(OWNER, Some("ru"), IIN);
    let mut n = fake.wait_messages(OWNER, 5).await.len();

    fake.text(OWNER, Some("ru"), "/business");
    n += 2;
    fake.wait_messages(OWNER, n).await;
    for answer in ["210540012341", "ТОО Фитнес Алма", "Алматы, ул. Сатпаева 5"]
    {
        fake.text(OWNER, Some("ru"), answer);
        n += 1;
        fake.wait_messages(OWNER, n).await;
    }
    fake.callback(OWNER, Some("ru"), "biz:skip");
    n += 1;
    fake.wait_messages(OWNER, n).await;
    fake.text(OWNER, Some("ru"), "Almaty");
    n += 1;
    fake.wait_messages(OWNER, n).await;
    fake.text(OWNER, Some("ru"), "93130");
    n += 1;
    fake.wait_messages(OWNER, n).await;
    fake.callback(OWNER, Some("ru"), "biz:cat:fitness");
    n += 1;
    fake.wait_messages(OWNER, n).await;
    fake.text(OWNER, Some("ru"), "1");
    n += 1;
    fake.wait_messages(OWNER, n).await;
    fake.text(OWNER, Some("ru"), "3h");
    n += 1;
    let texts = fake.wait_messages(OWNER, n).await;
    assert!(
        texts.last().unwrap().contains("БИН: 210540012341"),
        "{texts:#?}"
    );
    fake.callback(OWNER, Some("ru"), "biz:submit");
    n += 1;
    let texts = fake.wait_messages(OWNER, n).await;
    assert!(
        texts.last().unwrap().contains("Заявка №1 подана"),
        "{texts:#?}"
    );

    // The admin chat gets the card with its buttons and approves.
    let card = fake.wait_messages(ADMINS, 1).await;
    assert!(card[0].contains("ТОО Фитнес Алма"), "{card:?}");
    let markup = fake.last_message(ADMINS).unwrap()["reply_markup"]["inline_keyboard"][0].clone();
    assert_eq!(markup[0]["callback_data"], "biz:ok:1");
    fake.callback(ADMINS, Some("ru"), "biz:ok:1");
    let admin = fake.wait_messages(ADMINS, 2).await;
    assert!(admin[1].contains("одобрена"), "{admin:?}");

    // The owner is told and receives the entry and exit posters as documents.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let files = loop {
        let files = fake.sent_files(OWNER);
        if files.len() >= 2 {
            break files;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "posters not sent: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(files.len(), 2);
    for (method, caption, file) in &files {
        assert_eq!(method, "sendDocument");
        assert!(
            caption
                .as_deref()
                .unwrap_or_default()
                .contains("ТОО Фитнес Алма")
        );
        assert!(
            file.bytes.starts_with(b"%PDF") || file.bytes.starts_with(b"<?xml"),
            "{}",
            file.file_name
        );
    }
    let texts = fake.sent_texts(OWNER);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("тестовом режиме до 28 ноября 2026 г.")),
        "{texts:#?}"
    );
    assert_eq!(count(&core.store, "venues").await, 1);

    app.stop().await;
    core.store.close().await;
}

mod approval {
    ashyq_on_both!(super::approval_sends_posters);
}
