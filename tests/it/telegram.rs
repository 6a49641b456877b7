//! Telegram end to end: the real teloxide client and dispatcher against a fake Bot API.

use crate::support;

use ashyq::clock::ManualClock;
use serde_json::json;
use std::time::Duration;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::{FakeTelegram, RunningBot};
use support::{SECRET, TestDb, at, count};

const USER: i64 = 424_242;
const IIN: &str = "900101300017";
const PHONE: &str = "77011234567";

/// Registers USER through the fake server and checks each reply's text.
async fn registration_through(fake: &FakeTelegram) {
    fake.text(USER, Some("ru"), "/start");
    let texts = fake.wait_messages(USER, 1).await;
    assert!(texts[0].contains("персональных данных"), "{texts:?}");
    let consent = fake.last_message(USER).unwrap();
    assert_eq!(
        consent["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        json!("consent:yes")
    );

    fake.callback(USER, Some("ru"), "consent:yes");
    fake.wait_messages(USER, 2).await;
    let phone_prompt = fake.last_message(USER).unwrap();
    assert_eq!(
        phone_prompt["reply_markup"]["keyboard"][0][0]["request_contact"],
        json!(true)
    );

    // Someone else's contact is refused.
    fake.contact(USER, Some("ru"), "77029999999", Some(USER + 1));
    let texts = fake.wait_messages(USER, 4).await;
    assert!(texts[2].contains("чужой контакт"), "{texts:?}");

    fake.contact(USER, Some("ru"), PHONE, Some(USER));
    let texts = fake.wait_messages(USER, 6).await;
    assert!(texts[4].contains("номер подтверждён"), "{texts:?}");
    assert!(texts[5].contains("ИИН"), "{texts:?}");

    fake.sticker(USER, Some("ru"));
    let texts = fake.wait_messages(USER, 8).await;
    assert!(texts[6].contains("Стикер"), "{texts:?}");

    fake.text(USER, Some("ru"), "900101300018");
    let texts = fake.wait_messages(USER, 9).await;
    assert!(texts[8].contains("последняя цифра"), "{texts:?}");

    fake.text(USER, Some("ru"), IIN);
    let texts = fake.wait_messages(USER, 10).await;
    assert!(texts[9].contains("Регистрация завершена"), "{texts:?}");
    let menu = fake.last_message(USER).unwrap();
    assert!(
        menu["reply_markup"]["keyboard"]
            .as_array()
            .is_some_and(|rows| rows.len() == 3)
    );

    fake.text(USER, Some("ru"), "/me");
    let texts = fake.wait_messages(USER, 11).await;
    assert!(texts[10].contains("•••• •••• 0017"), "{texts:?}");
    assert!(!texts[10].contains(IIN));
}

/// The binary itself: `ashyq serve` with TELOXIDE_TOKEN and TELOXIDE_API_URL pointing at the
/// fake server, on a fresh SQLite database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_registers_a_user_through_the_bot_api() {
    let (fake, url) = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    {
        // The identity table holds the user's pair (issue 15).
        let pre = ashyq::core::Core::new(
            ashyq::storage::Store::open(&db).await.unwrap(),
            ashyq::crypto::Vault::from_secret(SECRET).unwrap(),
            std::sync::Arc::new(ashyq::clock::SystemClock),
            std::sync::Arc::new(ashyq::i18n::Texts::load()),
        )
        .with_channels(ashyq::adapters::channels());
        crate::support::identity_pair(&pre, IIN, PHONE).await;
        pre.store.close().await;
    }
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["serve", "--http", "127.0.0.1:0"])
        .env("TELOXIDE_TOKEN", "123456:TEST")
        .env("TELOXIDE_API_URL", &url)
        .env("DATABASE_URL", &db)
        .env("ASHYQ_SECRET_KEY", SECRET)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ashyq serve");

    registration_through(&fake).await;

    // The command menu was set in every language.
    let langs: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "setMyCommands")
        .map(|c| c.body["language_code"].clone())
        .collect();
    for l in ["kk", "ru", "en"] {
        assert!(langs.contains(&json!(l)), "{langs:?}");
    }
    // Any other client language gets the Kazakh menu (the state language).
    let default = fake
        .calls()
        .into_iter()
        .find(|c| c.method == "setMyCommands" && c.body.get("language_code").is_none())
        .expect("a default command menu");
    assert!(
        default
            .body
            .to_string()
            .contains("Бастау немесе басты мәзірге оралу"),
        "{}",
        default.body
    );
    child.kill().await.unwrap();
}

async fn in_process(db: &TestDb) {
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    crate::support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningBot::spawn(&url, core.clone());

    registration_through(&fake).await;
    assert_eq!(count(&core.store, "people").await, 1);

    // A redelivered update (same update_id) is processed once.
    let before = fake.sent_texts(USER).len();
    let update = json!({"update_id": 1, "message": {
        "message_id": 5, "date": 1_790_000_000,
        "chat": {"id": USER, "type": "private", "first_name": "T"},
        "from": {"id": USER, "is_bot": false, "first_name": "T", "language_code": "ru"},
        "text": "/me"
    }});
    fake.push_raw(update.clone());
    fake.text(USER, Some("ru"), "/help");
    fake.wait_messages(USER, before + 1).await;
    fake.settle().await;
    let after = fake.sent_texts(USER);
    assert_eq!(after.len(), before + 1, "{:?}", &after[before..]);
    assert!(
        after[before].contains("/forget"),
        "only /help answered: {:?}",
        &after[before..]
    );

    // The conversation lives in the core's table only (the adapter reads no state): the
    // core wrote it, keyed by the Telegram chat.
    let row = core
        .store
        .conversation(&ashyq::storage::ChatRef::new("telegram", USER.to_string()))
        .await
        .unwrap()
        .expect("the core saved the conversation");
    let state: ashyq::core::State = serde_json::from_str(&row.state).unwrap();
    assert_eq!(state, ashyq::core::State::Menu);

    bot.stop().await;
    core.store.close().await;
}

mod dispatcher_in_process {
    ashyq_on_both!(super::in_process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_message_and_a_forward_get_hints() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let bot = RunningBot::spawn(&url, core.clone());

    fake.text(USER, Some("en"), "/start");
    fake.wait_messages(USER, 1).await;
    fake.message(
        USER,
        Some("en"),
        json!({"text": "hi", "forward_origin": {"type": "hidden_user", "sender_user_name": "X", "date": 1_790_000_000}}),
    );
    let texts = fake.wait_messages(USER, 3).await;
    assert!(texts[1].contains("Forwarded messages"), "{texts:?}");
    fake.push_raw(json!({"update_id": 900, "edited_message": {
        "message_id": 7, "date": 1_790_000_000, "edit_date": 1_790_000_100,
        "chat": {"id": USER, "type": "private", "first_name": "T"},
        "from": {"id": USER, "is_bot": false, "first_name": "T", "language_code": "en"},
        "text": "edited"
    }}));
    let texts = fake.wait_messages(USER, 5).await;
    assert!(texts[3].contains("reads only new messages"), "{texts:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    bot.stop().await;
}

/// Messages for other chats go through the durable outbox: delivered once, and not again
/// after the worker restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_delivers_once_across_restarts() {
    use ashyq::core::Outbound;
    use ashyq::domain::Lang;
    use ashyq::i18n::Msg;
    use ashyq::storage::{ChatRef, outbox};
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let to = ChatRef::new("telegram", "777");
    let mut tx = core.store.begin().await.unwrap();
    for i in 0..3 {
        let m = Outbound::reply(Lang::En, Msg::new("hint-too-long").num("max", i));
        let key = format!("k{i}");
        assert!(
            core.enqueue(&mut tx, &to, &m, Some(&key), None)
                .await
                .unwrap()
        );
    }
    tx.commit().await.unwrap();
    // The application as `serve` runs it, started twice.
    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;
    let texts = fake.wait_messages(777, 3).await;
    assert_eq!(texts[0], "This message is too long: at most 0 characters.");
    assert!(texts[2].contains("at most 2"));
    app.stop().await;

    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.stop().await;
    assert_eq!(fake.sent_texts(777).len(), 3, "nothing sent twice");
    let mut conn = core.store.pool().acquire().await.unwrap();
    assert_eq!(outbox::counts(&mut conn).await.unwrap(), (0, 3, 0));
}

/// A photo and a document queued in the outbox arrive as uploads with their caption and
/// bytes; a text longer than a caption follows its file as a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_uploaded_with_their_caption() {
    use ashyq::core::{AttachmentKind, Outbound};
    use ashyq::domain::Lang;
    use ashyq::i18n::Msg;
    use ashyq::storage::ChatRef;
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let to = ChatRef::new("telegram", "778");
    let png: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let photo = Outbound::reply(Lang::En, Msg::new("hint-too-long").num("max", 7)).with_attachment(
        AttachmentKind::Photo,
        "qr.png",
        png.clone(),
    );
    let document = Outbound::reply(Lang::Ru, Msg::new("hint-too-long").num("max", 8))
        .with_attachment(
            AttachmentKind::Document,
            "../poster.pdf",
            b"%PDF-1.4".to_vec(),
        );
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(&mut tx, &to, &photo, Some("p"), None)
        .await
        .unwrap();
    core.enqueue(&mut tx, &to, &document, Some("d"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.sent_files(778).len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "files not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
    let files = fake.sent_files(778);
    assert_eq!(files[0].0, "sendPhoto");
    assert_eq!(files[0].2.file_name, "qr.png");
    assert_eq!(files[0].2.bytes, png, "the bytes survive the outbox");
    assert_eq!(
        files[0].1.as_deref(),
        Some("This message is too long: at most 7 characters.")
    );
    assert_eq!(files[1].0, "sendDocument");
    assert_eq!(files[1].2.bytes, b"%PDF-1.4");
    assert!(files[1].1.as_deref().unwrap().contains('8'));
    assert!(
        fake.sent_texts(778).is_empty(),
        "short texts are captions only"
    );
}

/// Without TELOXIDE_TOKEN, `serve` says Telegram is off and keeps serving HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_a_token_keeps_http_running() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["serve", "--http", &format!("127.0.0.1:{port}")])
        .env_remove("TELOXIDE_TOKEN")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("x.db").display()),
        )
        .env_remove("ASHYQ_SECRET_KEY")
        .env("ASHYQ_KEY_FILE", dir.path().join("k"))
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let said_off = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Telegram is off") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(said_off, "serve must say that Telegram is off");
    assert!(
        dir.path().join("k").exists(),
        "a key file was generated for SQLite"
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"telegram\":false"), "{response}");
    child.kill().await.unwrap();
}

/// PostgreSQL without ASHYQ_SECRET_KEY refuses to start.
#[tokio::test]
async fn postgres_without_a_secret_refuses_to_start() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["serve", "--http", "127.0.0.1:0"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env_remove("ASHYQ_SECRET_KEY")
        .env_remove("TELOXIDE_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ASHYQ_SECRET_KEY is required"), "{stderr}");
}

/// A failure inside the core reaches the user only as the localised apology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_error_gets_the_localised_apology_only() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let bot = RunningBot::spawn(&url, core.clone());
    fake.text(USER, Some("kk"), "/start");
    fake.wait_messages(USER, 1).await;
    // Break the database under the running bot.
    sqlx::query("DROP TABLE processed_updates")
        .execute(core.store.pool())
        .await
        .unwrap();
    fake.text(USER, Some("kk"), "/help");
    let texts = fake.wait_messages(USER, 2).await;
    assert_eq!(
        texts[1],
        "Кешіріңіз, сервисте ақау болды. Бір минуттан кейін қайталап көріңіз."
    );
    bot.stop().await;
}
