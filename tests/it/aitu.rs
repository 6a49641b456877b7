//! Aitu end to end: the real adapter (client, polling, webhook, outbox worker) against the
//! fake Aitu Bot API in `support::fake_aitu`, on SQLite and PostgreSQL.

use crate::support;

use ashyq::adapters::aitu;
use ashyq::clock::ManualClock;
use ashyq::core::checkin::admin;
use ashyq::core::shared::channel::StartLink;
use serde_json::json;
use support::fake_aitu::{FakeAitu, RunningAitu};
use support::images::qr_png;
use support::{SECRET, TestDb, at, count};

const USER: &str = "0d6c3a52-7b1e-4f8a-9c2d-1e2f3a4b5c6d";
const OTHER: &str = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";
const IIN: &str = "900101300017";
const PHONE: &str = "+77011234567";

/// Registers `user` through the fake: language, consent, contacts (someone else's first),
/// IIN. Returns the number of messages sent to the user so far.
async fn register(fake: &FakeAitu, user: &str, store: &ashyq::storage::Store) -> usize {
    fake.text(user, "/start");
    let texts = fake.wait_sent(user, 1).await;
    let prompt = fake.sent_to(user)[0].clone();
    assert_eq!(
        prompt["inlineCommandRows"][0].as_array().map(Vec::len),
        Some(3),
        "{texts:?}"
    );

    fake.press(user, "lang:ru");
    let texts = fake.wait_sent(user, 3).await;
    assert!(texts[2].contains("персональных данных"), "{texts:?}");

    fake.press(user, "consent:yes");
    let texts = fake.wait_sent(user, 5).await;
    let phone_prompt = fake.sent_to(user)[3].clone();
    // Aitu's sharing is legacy: the number can also be typed (a code by SMS).
    assert!(texts[4].contains("+7 701 123 45 67"), "{texts:?}");
    let ui = &phone_prompt["uiState"];
    assert_eq!(ui["showShareContactButton"], json!(true), "{phone_prompt}");
    assert!(
        ui["quickButtonCommands"][0]["metadata"]
            .as_str()
            .unwrap()
            .contains("send_private_data")
    );

    // Someone else's Aitu contact, and a phone-book entry, are refused politely.
    fake.registered_contact(user, OTHER, "+77029999999");
    let texts = fake.wait_sent(user, 7).await;
    assert!(texts[5].contains("чужой контакт"), "{texts:?}");
    fake.unregistered_contact(user, "+77017654321");
    let texts = fake.wait_sent(user, 9).await;
    assert!(texts[7].contains("чужой контакт"), "{texts:?}");
    assert_eq!(count(store, "people").await, 0, "nothing written for them");

    fake.registered_contact(user, user, PHONE);
    let texts = fake.wait_sent(user, 11).await;
    assert!(texts[9].contains("номер подтверждён"), "{texts:?}");
    assert!(texts[10].contains("ИИН"), "{texts:?}");

    fake.text(user, IIN);
    let texts = fake.wait_sent(user, 12).await;
    assert!(texts[11].contains("Регистрация завершена"), "{texts:?}");
    let menu = fake.sent_to(user)[11].clone();
    assert!(
        menu["uiState"]["replyKeyboard"]
            .as_array()
            .is_some_and(|k| k.len() >= 5),
        "{menu}"
    );
    12
}

async fn registration_and_status(db: &TestDb) {
    let logs = support::captured_logs();
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;

    let mut n = register(&fake, USER, &core.store).await;
    assert_eq!(count(&core.store, "people").await, 1);

    // /status and /me, in Russian, with nothing personal in clear.
    fake.text(USER, "/status");
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 1].contains("СИНИЙ"), "{texts:?}");
    let me = fake.text(USER, "/me");
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 1].contains("•••• •••• 0017"), "{texts:?}");
    assert!(
        !texts
            .iter()
            .any(|t| t.contains(IIN) || t.contains("7011234567"))
    );

    // A tap on the reply keyboard arrives as its caption: the menu understands it (no
    // caption was cut to Aitu's 32 characters).
    let captions: Vec<String> = fake.sent_to(USER)[11]["uiState"]["replyKeyboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["caption"].as_str().unwrap().to_string())
        .collect();
    assert!(captions.iter().all(|c| !c.ends_with('…')), "{captions:?}");
    let status = core.texts.get(ashyq::domain::Lang::Ru, "menu-status");
    assert!(captions.contains(&status), "{captions:?}");
    fake.text(USER, &status);
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 1].contains("СИНИЙ"), "{texts:?}");

    // A replayed update is answered once, also by a restarted adapter (which forgot the
    // ids it saw: the core's processed_updates remembers).
    fake.push_raw(me.clone());
    fake.text(USER, "/help");
    n += 2; // the help and the menu prompt
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 2].contains("/forget"), "{texts:?}");
    fake.settle().await;
    assert_eq!(fake.texts_to(USER).len(), n);
    bot.stop().await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    fake.push_raw(me);
    fake.settle().await;
    assert_eq!(fake.texts_to(USER).len(), n, "the replay was answered");

    // Polls carried the last update id seen.
    assert!(fake.poll_ids().iter().any(Option::is_some));
    // Nothing personal reached the logs (TRACE, this whole test binary so far).
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(!logged.is_empty());
    for secret in [IIN, "7011234567", "7029999999", "7017654321"] {
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
    bot.stop().await;
    core.store.close().await;
}

mod registration {
    ashyq_on_both!(super::registration_and_status);
}

async fn photo_check_in(db: &TestDb) {
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    let venue = admin::add_venue(
        &core,
        &admin::AddVenue {
            name: "Kinopark".into(),
            bin: "210540012341".into(),
            address: "Almaty".into(),
            region: "almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "ashyq_bot",
    )
    .await
    .unwrap();
    let mut n = register(&fake, USER, &core.store).await;

    // A photo of the entry code: downloaded by file id, decoded, checked in.
    let e = &venue.entrances[0];
    fake.photo(USER, qr_png(&e.entry_link));
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    let result = &texts[n - 1];
    assert!(
        result.contains("СИНИЙ") && result.contains("ВПУСКАТЬ") && result.contains("Kinopark"),
        "{result}"
    );
    let buttons = &fake.sent_to(USER)[n - 1]["inlineCommandRows"];
    assert!(
        buttons[0][0]["metadata"]
            .as_str()
            .is_some_and(|m| m.starts_with("ci:r:")),
        "{buttons}"
    );
    assert_eq!(count(&core.store, "checkins").await, 1);

    // A file declared over 10 MiB is refused without downloading it.
    let downloads = |fake: &FakeAitu| fake.calls().iter().filter(|(_, p)| p == "download").count();
    let before = downloads(&fake);
    fake.document(USER, vec![0; 16], "scan.jpg", Some(20 * 1024 * 1024));
    n += 2;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 2].contains("слишком большое"), "{texts:?}");
    assert_eq!(downloads(&fake), before);
    // A photo that does not declare its size and is over 10 MiB: the download is cut.
    let big = fake.add_file(vec![7; 11 * 1024 * 1024]);
    fake.message(
        USER,
        "",
        json!([{"type": "Image", "fileId": big, "mimeType": "JPEG"}]),
    );
    n += 2;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 2].contains("слишком большое"), "{texts:?}");
    assert_eq!(downloads(&fake), before + 1);

    // The exit code as an image file (a document named .png) closes the visit.
    fake.document(USER, qr_png(&e.exit_link), "exit.png", None);
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    assert!(
        texts[n - 1].contains("Выход с объекта «Kinopark» отмечен"),
        "{texts:?}"
    );
    assert_eq!(count(&core.store, "checkins").await, 1);

    // Aitu opens no Telegram deep link, but the link's start command typed works too.
    let token = e.entry_link.split("start=").nth(1).unwrap();
    fake.text(USER, &format!("/start {token}"));
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    assert!(texts[n - 1].contains("ВПУСКАТЬ"), "{texts:?}");
    assert_eq!(count(&core.store, "checkins").await, 2);

    // Invitations shown on Aitu (no AITU_DEEP_LINK): the message to send, not a Telegram link.
    let shown = admin::invite_in(&core, venue.venue_id, "staff", "ashyq_bot", aitu::CHANNEL)
        .await
        .unwrap();
    let StartLink::Command(typed) = &shown else {
        panic!("Aitu has no deep link: {shown:?}");
    };
    assert!(typed.starts_with("/start inv_"), "{typed}");
    fake.text(OTHER, typed);
    let texts = fake.wait_sent(OTHER, 1).await;
    // A new Aitu user without a chosen language: the welcome in Kazakh.
    assert!(
        texts[0].contains("қызметкерісіз") && texts[0].contains("/occupancy"),
        "{texts:?}"
    );
    assert_eq!(
        admin::invite_in(&core, venue.venue_id, "staff", "ashyq_bot", "telegram")
            .await
            .unwrap()
            .as_str()
            .split("?start=")
            .next(),
        Some("https://t.me/ashyq_bot"),
        "a Telegram chat still gets Telegram's deep link"
    );
    // A relative's invitation asked for in Aitu: the code to type, no link.
    fake.text(USER, "/family invite");
    n += 1;
    let texts = fake.wait_sent(USER, n).await;
    let invitation = &texts[n - 1];
    assert!(
        invitation.contains("отправит боту") && invitation.contains("/family "),
        "{invitation}"
    );
    assert!(
        !invitation.contains("t.me") && !invitation.contains("start="),
        "{invitation}"
    );
    bot.stop().await;
    core.store.close().await;
}

mod photo {
    ashyq_on_both!(super::photo_check_in);
}

/// Updates of unknown types, malformed ones and ones with nothing for the core are ignored:
/// nothing written, nothing sent, the loop goes on.
async fn odd_updates(db: &TestDb) {
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    fake.push_raw(json!({"type": "HologramSent", "updateId": "h1",
        "dialog": {"type": "USER", "id": USER}, "hologram": {"depth": 3}}));
    fake.push_raw(json!({"type": "Message", "updateId": "h2", "content": "no dialog"}));
    fake.push_raw(
        json!({"type": "MessageIdAssigned", "updateId": "h3", "localId": "x",
        "dialog": {"type": "USER", "id": USER}, "id": "0718293a-1b2c-11ee-9f3b-0242ac120002"}),
    );
    fake.push_raw(json!({"updateId": "h4"}));
    fake.settle().await;
    assert!(fake.texts_to(USER).is_empty());
    assert_eq!(count(&core.store, "conversations").await, 0);
    assert_eq!(count(&core.store, "processed_updates").await, 0);

    // Still running: the next message is answered.
    fake.text(USER, "/start");
    fake.wait_sent(USER, 1).await;
    assert_eq!(count(&core.store, "conversations").await, 1);
    bot.stop().await;
    core.store.close().await;
}

mod unknown_updates {
    ashyq_on_both!(super::odd_updates);
}

/// The webhook: Aitu POSTs to the secret path; a wrong path is 404; a repeat is answered
/// once; polling is off while the webhook is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_takes_updates_on_its_secret_path_only() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let secret = "Zq3vT8kLm2Xw9Rb4Nc7Hd1Fp6Gs5Jy0A";
    let hook = format!("http://{addr}/aitu/{secret}");
    let mut settings = support::fake_aitu::settings(&url);
    settings.webhook_url = Some(hook.clone());

    let weak = {
        let mut s = settings.clone();
        s.webhook_url = Some(format!("http://{addr}/aitu/short"));
        aitu::Aitu::new(core.clone(), s).unwrap()
    };
    assert!(weak.router().is_err(), "a short secret is refused");

    let adapter = aitu::Aitu::new(core.clone(), settings).unwrap();
    let router = adapter.router().unwrap().expect("a webhook router");
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let stop = tokio_util::sync::CancellationToken::new();
    let tasks = adapter.start(stop.clone()).await.unwrap();
    assert_eq!(fake.webhook(), hook);

    let start = fake.text(USER, "/start");
    assert_eq!(fake.deliver_webhook().await, [200]);
    assert_eq!(
        fake.texts_to(USER).len(),
        1,
        "answered before the webhook call returned"
    );
    fake.push_raw(start);
    assert_eq!(fake.deliver_webhook().await, [200]);
    assert_eq!(
        fake.texts_to(USER).len(),
        1,
        "a repeat is not answered again"
    );

    let client = reqwest::Client::new();
    let wrong = client
        .post(format!(
            "http://{addr}/aitu/Zq3vT8kLm2Xw9Rb4Nc7Hd1Fp6Gs5JyXX"
        ))
        .json(
            &json!({"updates": [{"type": "Message", "updateId": "w1", "messageId": "m",
            "author": {"type": "USER", "id": USER}, "dialog": {"type": "USER", "id": USER},
            "content": "/help", "media": []}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 404);
    assert_eq!(
        count(&core.store, "processed_updates").await,
        1,
        "nothing written"
    );
    let garbage = client.post(&hook).body("not json").send().await.unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
    assert_eq!(fake.texts_to(USER).len(), 1);
    assert!(
        !fake
            .calls()
            .iter()
            .any(|(m, p)| m == "GET" && p == "updates"),
        "no polling while the webhook is set"
    );

    // The database goes away: the update is not acknowledged (500), so Aitu may deliver it
    // again; a replica with a working database then processes it.
    core.store.close().await;
    let lost = fake.text(USER, "/help");
    assert_eq!(fake.deliver_webhook().await, [500]);
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    server.abort();
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = support::fake_aitu::settings(&url);
    settings.webhook_url = Some(format!("http://{addr}/aitu/{secret}"));
    let replica = aitu::Aitu::new(core.clone(), settings).unwrap();
    let router = replica.router().unwrap().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let stop = tokio_util::sync::CancellationToken::new();
    let tasks = replica.start(stop.clone()).await.unwrap();
    let before = fake.texts_to(USER).len();
    fake.push_raw(lost);
    assert_eq!(fake.deliver_webhook().await, [200]);
    let texts = fake.texts_to(USER);
    assert!(
        texts[before..].iter().any(|t| t.contains("/forget")),
        "{:?}",
        &texts[before..]
    );
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    server.abort();
    core.store.close().await;
}

/// Messages queued for an Aitu chat go out through the worker: an image by upload with the
/// buttons in a message of their own, retried after a 500, given up after a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_sends_files_and_retries() {
    use ashyq::core::{AttachmentKind, Button, Keyboard, Label, Outbound};
    use ashyq::domain::Lang;
    use ashyq::i18n::Msg;
    use ashyq::storage::ChatRef;
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let to = ChatRef::new("aitu", USER);
    let png = qr_png("SW-test");
    let message = Outbound::to_chat(to.clone(), Lang::Kk, Msg::new("help"))
        .with_keyboard(Keyboard::Inline(vec![vec![Button {
            label: Label::Literal("OK".into()),
            data: "x:1".into(),
        }]]))
        .with_attachment(AttachmentKind::Photo, "qr.png", png.clone());
    fake.fail_next("getMe", 1, 500);
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(&mut tx, &to, &message, Some("a1"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    // getMe answered 500: the adapter starts anyway.
    let sent = fake.wait_sent(USER, 2).await;
    let cmds = fake.sent_to(USER);
    assert_eq!(cmds[0]["mediaList"][0]["mediaType"], json!("IMAGE"));
    assert_eq!(sent[0], "");
    assert!(cmds[0].get("inlineCommandRows").is_none());
    assert_eq!(cmds[1]["inlineCommandRows"][0][0]["metadata"], json!("x:1"));
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].1, "qr.png");
    assert_eq!(uploads[0].2, png, "the bytes arrived whole");
    assert_eq!(cmds[0]["mediaList"][0]["fileId"], json!(uploads[0].0));

    // A 500 on the send: retried once the back-off is over.
    let again = Outbound::to_chat(to.clone(), Lang::En, Msg::new("help"));
    fake.fail_next("POST updates", 1, 500);
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(&mut tx, &to, &again, Some("a2"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    core.outbox_ready.notify_waiters();
    fake.settle().await;
    assert_eq!(
        fake.sent_to(USER).len(),
        2,
        "not sent while the 500 backs off"
    );
    clock.advance(chrono::Duration::seconds(10));
    fake.wait_sent(USER, 3).await;

    // A 400 (blocked, unknown dialog): given up, not retried.
    fake.fail_next("POST updates", 1, 400);
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(&mut tx, &to, &again, Some("a3"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    core.outbox_ready.notify_waiters();
    fake.settle().await;
    clock.advance(chrono::Duration::seconds(600));
    core.outbox_ready.notify_waiters();
    fake.settle().await;
    assert_eq!(fake.sent_to(USER).len(), 3);
    let mut conn = core.store.pool().acquire().await.unwrap();
    let (pending, sent, failed) = ashyq::storage::outbox::counts(&mut conn).await.unwrap();
    assert_eq!((pending, sent, failed), (0, 2, 1));
    drop(conn);

    // An operator's answer of 9 000 characters arrives in parts within Aitu's 4 096 (the
    // fake refuses longer ones), all of it.
    let line = "ы".repeat(89);
    let long = vec![line.as_str(); 100].join("\n");
    let answer = Outbound::to_chat(
        to.clone(),
        Lang::Ru,
        Msg::new("support-reply").arg("text", &long),
    );
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(&mut tx, &to, &answer, Some("a4"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    core.outbox_ready.notify_waiters();
    let texts = fake.wait_sent(USER, 6).await;
    let parts = &texts[3..];
    assert!(
        parts.iter().all(|p| p.chars().count() <= 4096),
        "{:?}",
        parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>()
    );
    assert_eq!(
        parts.concat().matches(line.as_str()).count(),
        100,
        "every line arrived"
    );
    bot.stop().await;
    core.store.close().await;
}

/// The binary: `ashyq serve` with AITU_TOKEN and AITU_API_URL pointing at the fake, no
/// Telegram token: the Aitu channel answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_aitu_when_its_token_is_set() {
    let (fake, url) = FakeAitu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["serve", "--http", "127.0.0.1:0"])
        .env_remove("TELOXIDE_TOKEN")
        .env("AITU_TOKEN", support::fake_aitu::TOKEN)
        .env("AITU_API_URL", &url)
        .env("DATABASE_URL", &db)
        .env("ASHYQ_SECRET_KEY", SECRET)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ashyq serve");
    fake.text(USER, "/start");
    fake.wait_sent(USER, 1).await;
    fake.press(USER, "lang:kk");
    let texts = fake.wait_sent(USER, 3).await;
    assert!(!texts[2].is_empty());
    // Resident memory of the idle process with Aitu polling (printed for docs/PERFORMANCE.md).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    if let Some(pid) = child.id()
        && let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
        && let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS"))
    {
        eprintln!("ashyq serve, Aitu polling, idle: {rss}");
    }
    child.kill().await.unwrap();
}

/// The support desk stays in the operators' Telegram chat: an Aitu user's ticket is a topic
/// there (the user's messages relayed with a reference to the Aitu message, which Telegram
/// cannot copy, so the text goes), and an operator's reply comes back to Aitu.
async fn support_ticket(db: &TestDb) {
    use ashyq::core::support::SupportSettings;
    use ashyq::core::{Event, Inbound, Outbound, Relayed};
    use ashyq::storage::ChatRef;
    const STAFF: &str = "-1001";
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core_with_support(
        db,
        &clock,
        SupportSettings {
            chat: Some(ChatRef::new("telegram", STAFF)),
            ..SupportSettings::default()
        },
    )
    .await;
    support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    let staff_rows = || async {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT channel, chat_id, payload FROM outbox ORDER BY id")
                .fetch_all(core.store.pool())
                .await
                .unwrap();
        rows.into_iter()
            .filter(|(ch, c, _)| ch == "telegram" && c == STAFF)
            .map(|(_, _, p)| serde_json::from_str::<Outbound>(&p).unwrap())
            .collect::<Vec<_>>()
    };

    fake.text(USER, "/support");
    fake.wait_sent(USER, 2).await;
    fake.press(USER, "support:cat:citizen");
    fake.wait_sent(USER, 3).await;
    fake.text(USER, "Я переболел, почему я красный?");
    let n = fake.texts_to(USER).len();
    fake.settle().await;
    let n = fake.texts_to(USER).len().max(n);
    fake.press(USER, "support:faq:no");
    fake.wait_sent(USER, n + 1).await;
    let staff = staff_rows().await;
    assert_eq!(staff.len(), 2, "{staff:?}");
    assert_eq!(staff[0].relay().topic.unwrap().key, "support:1");

    // A detail in the open ticket is relayed as text. A photo cannot be copied from Aitu to
    // Telegram: the operators are told one came, the user is asked for words, and nothing
    // is downloaded.
    fake.text(USER, "Тест сдавал 1 ноября");
    fake.settle().await;
    let staff = staff_rows().await;
    assert_eq!(staff.len(), 3, "{staff:?}");
    let shown = core.texts.render(staff[2].lang, &staff[2].text);
    assert!(shown.contains("Тест сдавал 1 ноября"), "{shown}");
    let asked = fake.texts_to(USER).len();
    fake.photo(USER, qr_png("a screenshot"));
    fake.settle().await;
    let staff = staff_rows().await;
    assert_eq!(staff.len(), 4, "{staff:?}");
    assert_eq!(staff[3].text.key(), "support-op-user-uncopyable");
    assert_eq!(staff[3].relay().copy, None);
    let texts = fake.wait_sent(USER, asked + 1).await;
    assert!(texts[asked].contains("Сөзбен"), "{texts:?}");
    assert!(!fake.calls().iter().any(|(_, p)| p == "download"));

    // The operator answers in the topic: the answer reaches the Aitu user.
    let before = fake.texts_to(USER).len();
    let replies = core
        .handle(Inbound {
            chat: ChatRef::new("telegram", STAFF),
            update_key: None,
            lang_hint: None,
            event: Event::Relay(Relayed {
                source: None,
                text: Some("Здравствуйте! Проверяем.".into()),
                kind: None,
                forwarded: false,
                topic: Some("support:1".into()),
                author: Some("77".into()),
                plain: None,
            }),
        })
        .await
        .unwrap();
    assert!(replies.is_empty());
    let texts = fake.wait_sent(USER, before + 1).await;
    assert!(
        texts[before].contains("Здравствуйте! Проверяем."),
        "{texts:?}"
    );
    bot.stop().await;
    core.store.close().await;
}

mod support_desk {
    ashyq_on_both!(super::support_ticket);
}

/// Polling goes on after 5xx and 409, deletes a webhook that blocks it, and stops for good
/// on 401; a token refused at start fails the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_recovers_from_errors_and_stops_on_401() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;

    let wrong = aitu::Aitu::new(core.clone(), aitu::Settings::new(&url, "not-the-token")).unwrap();
    let refused = wrong
        .start(tokio_util::sync::CancellationToken::new())
        .await;
    assert!(refused.is_err(), "a refused token fails the start");

    let adapter = aitu::Aitu::new(core.clone(), support::fake_aitu::settings(&url)).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    fake.fail_next("GET updates", 1, 500);
    fake.fail_next("GET updates", 1, 409);
    let poller = tokio::spawn(aitu::run_polling(adapter.clone(), stop.clone()));
    fake.text(USER, "/start");
    fake.wait_sent(USER, 1).await;

    // Someone set a webhook: polling answers 400; the poller deletes it and goes on.
    reqwest::Client::new()
        .post(format!("{url}webhook"))
        .header("X-BOT-TOKEN", support::fake_aitu::TOKEN)
        .json(&json!({"url": "https://example.kz/aitu/x"}))
        .send()
        .await
        .unwrap();
    // The poll held at that moment still answers; the next one meets the webhook.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !fake.webhook().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the webhook stayed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    fake.press(USER, "lang:en");
    fake.wait_sent(USER, 3).await;
    assert!(
        fake.calls()
            .iter()
            .any(|(m, p)| m == "DELETE" && p == "webhook")
    );

    // 401: the poller ends by itself.
    fake.fail_next("GET updates", 1, 401);
    tokio::time::timeout(std::time::Duration::from_secs(10), poller)
        .await
        .expect("polling stopped on 401")
        .unwrap();
    stop.cancel();
    core.store.close().await;
}

/// Updates that arrive in one batch are handled dialog by dialog side by side, each
/// dialog's in its order; the fake takes paths with and without a trailing slash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_each_dialogs_order() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let users: Vec<String> = (0..6)
        .map(|i| format!("0d6c3a52-7b1e-4f8a-9c2d-1e2f3a4b5c{i:02x}"))
        .collect();
    for u in &users {
        fake.text(u, "/help");
        fake.text(u, "/lang");
    }
    // A group dialog: the reply echoes the GROUP peer type, the chat id keeps it.
    let group = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d";
    fake.push_raw(json!({"type": "Message", "updateId": "g1", "messageId": "m-g1",
        "author": {"type": "USER", "id": USER}, "dialog": {"type": "GROUP", "id": group, "name": "Staff"},
        "content": "/help", "media": []}));
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    fake.wait_sent(group, 1).await;
    assert_eq!(fake.sent_to(group)[0]["recipient"]["type"], json!("GROUP"));
    let chat = ashyq::storage::ChatRef::new("aitu", format!("GROUP:{group}"));
    assert!(core.store.conversation(&chat).await.unwrap().is_some());
    for u in &users {
        let texts = fake.wait_sent(u, 3).await;
        assert!(texts[0].contains("/forget"), "{texts:?}");
        let langs = &fake.sent_to(u)[2]["inlineCommandRows"][0];
        assert_eq!(langs[0]["metadata"], json!("lang:kk"), "{texts:?}");
    }
    bot.stop().await;

    let client = reqwest::Client::new();
    for path in ["getMe", "getMe/", "webhook", "webhook/"] {
        let status = client
            .get(format!("{url}{path}"))
            .header("x-bot-token", support::fake_aitu::TOKEN)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "{path}");
    }
    let unauthorised = client.get(format!("{url}getMe")).send().await.unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
    core.store.close().await;
}

/// Throughput of the adapter against the fake (run by hand, prints its figures):
/// `cargo test --test it aitu::throughput -- --ignored --nocapture`. N users each send a
/// photo of a venue's entry code at once (registered beforehand through the core); the time
/// until every check-in is answered through polling, download, decoding and sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn throughput() {
    use ashyq::core::{Event, Inbound};
    use ashyq::storage::ChatRef;
    const N: usize = 200;
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let venue = admin::add_venue(
        &core,
        &admin::AddVenue {
            name: "Kinopark".into(),
            bin: "210540012341".into(),
            address: "Almaty".into(),
            region: "almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "ashyq_bot",
    )
    .await
    .unwrap();
    let users: Vec<String> = (0..N)
        .map(|i| format!("0d6c3a52-7b1e-4f8a-9c2d-{i:012x}"))
        .collect();
    // Registration through the core directly (the flow itself is tested above).
    let iins = support_iins(N);
    for (i, u) in users.iter().enumerate() {
        let chat = ChatRef::new("aitu", u.as_str());
        let send = |event: Event| {
            core.handle(Inbound {
                chat: chat.clone(),
                update_key: None,
                lang_hint: None,
                event,
            })
        };
        send(Event::Command {
            name: "start".into(),
            arg: String::new(),
        })
        .await
        .unwrap();
        send(Event::Button("lang:ru".into())).await.unwrap();
        send(Event::Button("consent:yes".into())).await.unwrap();
        send(Event::Contact {
            phone: format!("+7701{:07}", i),
            own: true,
        })
        .await
        .unwrap();
        let out = send(Event::Text(iins[i].clone())).await.unwrap();
        assert_eq!(support::keys(&out), ["registered"], "{i}");
    }
    let png = qr_png(&venue.entrances[0].entry_link);
    for u in &users {
        fake.photo(u, png.clone());
    }
    let started = std::time::Instant::now();
    let bot = RunningAitu::spawn(&url, core.clone()).await;
    for u in &users {
        fake.wait_sent(u, 1).await;
    }
    let took = started.elapsed();
    assert_eq!(count(&core.store, "checkins").await, N as i64);
    eprintln!(
        "aitu throughput: {N} photo check-ins answered in {:.2} s = {:.1}/s (SQLite, fake Aitu, pacer 1000/s)",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64()
    );
    bot.stop().await;
    core.store.close().await;
}

/// `n` valid IINs of adults (born 1990), distinct.
fn support_iins(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut serial = 0u32;
    while out.len() < n {
        serial += 1;
        let body = format!("9001013{serial:04}");
        if let Some(iin) =
            (0..10).find_map(|check| ashyq::domain::Iin::parse(&format!("{body}{check}")).ok())
        {
            out.push(iin.expose());
        }
    }
    out
}

/// Social Wallet on Aitu: the offer through the outbox worker, `1＃1`, /wallet, the child's QR
/// uploaded as a photo; a canteen operator on Aitu joins by typing the invite and redeems
/// by sending a photo of that very picture; the parent's meal notice arrives with its stars.
async fn wallet_on_aitu(db: &TestDb) {
    use ashyq::core::wallet::{self, campaign, eligibility};
    use ashyq::domain::{Iin, Sex};
    use chrono::NaiveDate;
    const SCHOOL: &str = "210540012341";
    const OPERATOR: &str = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
    let iin = |y: i32, serial: u16| {
        Iin::synthetic(
            NaiveDate::from_ymd_opt(y, 3, 9).unwrap(),
            Sex::Female,
            serial,
        )
        .expose()
    };
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-23T09:00:00+05:00"));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;

    let parent = iin(1984, 77);
    support::identity_pair(&core, &parent, "+77012223344").await;
    fake.text(USER, "/start");
    fake.wait_sent(USER, 1).await;
    fake.press(USER, "lang:ru");
    fake.wait_sent(USER, 3).await;
    fake.press(USER, "consent:yes");
    fake.wait_sent(USER, 5).await;
    fake.registered_contact(USER, USER, "+77012223344");
    fake.wait_sent(USER, 7).await;
    fake.text(USER, &parent);
    fake.wait_sent(USER, 8).await;

    let csv = format!(
        "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n{},3,{SCHOOL},{parent},+77012223344,0\n",
        iin(2017, 8)
    );
    let report = eligibility::import_csv(&core, std::io::Cursor::new(csv.into_bytes()), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.eligible, 1);
    let offered = campaign::offer(&core, None, &|_, _| {}).await.unwrap();
    assert_eq!((offered.chat, offered.sms), (1, 0));

    // The offer reaches the Aitu chat through the outbox worker, with its buttons.
    let texts = fake.wait_sent(USER, 9).await;
    assert!(
        texts[8].contains("1#1") && texts[8].contains("1#2"),
        "{}",
        texts[8]
    );
    assert_eq!(
        fake.sent_to(USER)[8]["inlineCommandRows"][0][0]["metadata"],
        json!("wl:ans:1:1")
    );
    fake.text(USER, "1 ＃ 1");
    let texts = fake.wait_sent(USER, 10).await;
    assert!(texts[9].contains("Спасибо"), "{}", texts[9]);

    fake.text(USER, "/wallet");
    let texts = fake.wait_sent(USER, 11).await;
    assert!(texts[10].contains("ещё не активирован"), "{}", texts[10]);
    let data = fake.sent_to(USER)[10]["inlineCommandRows"][0][0]["metadata"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(data.starts_with("wl:act:"), "{data}");
    fake.press(USER, &data);
    fake.wait_sent(USER, 12).await;
    fake.settle().await;
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1, "one picture");
    let sent = fake.sent_to(USER);
    let with_file = sent
        .iter()
        .find(|c| c["mediaList"][0]["fileId"] == json!(uploads[0].0))
        .expect("the QR was sent by its file id");
    assert_eq!(with_file["mediaList"][0]["mediaType"], json!("IMAGE"));
    let all = fake.texts_to(USER).concat();
    assert!(all.contains("Ваучер активирован"), "{all}");
    let codes = ashyq::qr::decode(&uploads[0].2, &ashyq::qr::Limits::default()).unwrap();
    assert!(codes[0].starts_with("SW"), "{codes:?}");

    // A canteen operator on Aitu: the invite typed, then a photo of the child's QR.
    let shown = wallet::canteen_invite_in(&core, SCHOOL, "ashyq_bot", aitu::CHANNEL)
        .await
        .unwrap();
    let StartLink::Command(typed) = &shown else {
        panic!("Aitu has no deep link: {shown:?}");
    };
    assert!(typed.starts_with("/start cnt_"), "{typed}");
    fake.text(OPERATOR, typed);
    fake.wait_sent(OPERATOR, 1).await;
    let before = fake.texts_to(USER).len();
    fake.photo(OPERATOR, uploads[0].2.clone());
    let op = fake.wait_sent(OPERATOR, 2).await;
    assert_eq!(count(&core.store, "wallet_meals").await, 1, "{op:?}");
    let texts = fake.wait_sent(USER, before + 1).await;
    assert!(texts[before].contains("пообедал"), "{}", texts[before]);
    let stars = &fake.sent_to(USER)[before]["inlineCommandRows"][0];
    assert_eq!(stars.as_array().unwrap().len(), 5);

    bot.stop().await;
    core.store.close().await;
}

mod wallet {
    ashyq_on_both!(super::wallet_on_aitu);
}

/// The SMS fallback's code: queued for the SMS gateway in the caller's transaction, once per
/// code, to the number's SMS chat (sealed number, hashed chat id), never the number in the
/// outbox; the code verifies.
async fn otp_by_sms(db: &TestDb) {
    use ashyq::core::shared::otp;
    use ashyq::domain::Phone;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, IIN, PHONE).await;
    let phone = Phone::parse("+7 701 555 44 33").unwrap();
    let (mut pending, code) = otp::issue(&core.vault, &phone, core.now_ms());
    for _ in 0..2 {
        let mut tx = core.store.begin().await.unwrap();
        otp::queue_sms(&core, &mut tx, &phone, &code, &pending)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT channel, chat_id, payload FROM outbox")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "one SMS per code");
    let (channel, chat_id, payload) = &rows[0];
    assert_eq!(channel, "sms");
    assert_eq!(chat_id, &pending.phone_hash);
    assert!(!payload.contains("7015554433"), "{payload}");
    let message: ashyq::core::Outbound = serde_json::from_str(payload).unwrap();
    let sms = ashyq::adapters::sms::render(&core, &message);
    assert!(sms.contains(code.expose()), "{sms}");
    assert_eq!(count(&core.store, "sms_numbers").await, 1);
    assert_eq!(
        otp::check(
            &core.vault,
            &mut pending,
            &phone,
            code.expose(),
            core.now_ms()
        ),
        otp::Check::Verified
    );
    core.store.close().await;
}

mod otp_sms {
    ashyq_on_both!(super::otp_by_sms);
}

/// The code queued for the SMS chat of `phone` most recently (read from the outbox, as the
/// SMS gateway would send it).
async fn last_code(core: &ashyq::core::Core, phone: &str) -> String {
    let phone = ashyq::domain::Phone::parse(phone).unwrap();
    let chat = hex::encode(
        core.vault
            .lookup_hash(ashyq::crypto::Field::Phone, phone.expose()),
    );
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM outbox WHERE channel = 'sms' AND chat_id = $1 ORDER BY id DESC",
    )
    .bind(chat)
    .fetch_all(core.store.pool())
    .await
    .unwrap();
    let message: ashyq::core::Outbound = serde_json::from_str(&rows[0].0).unwrap();
    assert_eq!(message.text.key(), "aitu-otp-sms");
    support::arg(&message, "code")
}

/// Registration on Aitu when no contact arrives: the person types the number, gets a code
/// by SMS, types it back, and only then the number is theirs; wrong codes, expiry and the
/// limit of codes per chat; no plain number stored anywhere.
async fn registration_by_sms_code(db: &TestDb) {
    let (fake, url) = FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    const TYPED: &str = "+7 701 555 44 33";
    support::identity_pair(&core, IIN, TYPED).await;
    let bot = RunningAitu::spawn(&url, core.clone()).await;

    fake.text(USER, "/start");
    fake.wait_sent(USER, 1).await;
    fake.press(USER, "lang:ru");
    fake.wait_sent(USER, 3).await;
    fake.press(USER, "consent:yes");
    let texts = fake.wait_sent(USER, 5).await;
    assert!(texts[4].contains("напишите номер"), "{texts:?}");

    fake.text(USER, "мой номер");
    let texts = fake.wait_sent(USER, 6).await;
    assert!(texts[5].contains("не номер"), "{texts:?}");
    fake.text(USER, TYPED);
    let texts = fake.wait_sent(USER, 7).await;
    assert!(texts[6].contains("отправлено SMS"), "{texts:?}");
    assert_eq!(count(&core.store, "people").await, 0, "not yet");
    let code = last_code(&core, TYPED).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    fake.text(USER, wrong);
    let texts = fake.wait_sent(USER, 8).await;
    assert!(texts[7].contains("Осталось попыток: 4"), "{texts:?}");
    assert_eq!(count(&core.store, "people").await, 0);
    fake.text(USER, &code);
    let texts = fake.wait_sent(USER, 10).await;
    assert!(texts[8].contains("подтверждён"), "{texts:?}");
    assert!(texts[9].contains("ИИН"), "{texts:?}");
    fake.text(USER, IIN);
    let texts = fake.wait_sent(USER, 11).await;
    assert!(texts[10].contains("Регистрация завершена"), "{texts:?}");
    fake.text(USER, "/status");
    let texts = fake.wait_sent(USER, 12).await;
    assert!(texts[11].contains("СИНИЙ"), "{texts:?}");

    // Another user: the account's number posted by the legacy `send_private_data` proves
    // nothing by itself: it is taken as typed, and a code goes to it by SMS. The code
    // expires after 10 minutes; three codes an hour, then a refusal.
    fake.text(OTHER, "/start");
    fake.wait_sent(OTHER, 1).await;
    fake.press(OTHER, "lang:ru");
    fake.wait_sent(OTHER, 3).await;
    fake.press(OTHER, "consent:yes");
    fake.wait_sent(OTHER, 5).await;
    fake.private_phone(OTHER, "+77017776655");
    let texts = fake.wait_sent(OTHER, 6).await;
    assert!(texts[5].contains("отправлено SMS"), "{texts:?}");
    assert_eq!(
        count(&core.store, "people").await,
        1,
        "no one added by the form"
    );
    let code = last_code(&core, "87017776655").await;
    clock.advance(chrono::Duration::minutes(11));
    fake.text(OTHER, &code);
    let texts = fake.wait_sent(OTHER, 7).await;
    assert!(texts[6].contains("истёк"), "{texts:?}");
    for n in [8, 9] {
        fake.text(OTHER, "87017776655");
        let texts = fake.wait_sent(OTHER, n).await;
        assert!(texts[n - 1].contains("отправлено SMS"), "{texts:?}");
    }
    fake.text(OTHER, "+77017776656");
    let texts = fake.wait_sent(OTHER, 10).await;
    assert!(texts[9].contains("слишком много"), "{texts:?}");
    assert_eq!(count(&core.store, "people").await, 1);

    // No number in clear: not in the conversations, not in the outbox.
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT state FROM conversations UNION ALL SELECT payload FROM outbox")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    for (r,) in &rows {
        for digits in ["7015554433", "7017776655", "7017776656"] {
            assert!(!r.contains(digits), "{digits} in {r}");
        }
    }
    bot.stop().await;
    core.store.close().await;
}

mod registration_by_code {
    ashyq_on_both!(super::registration_by_sms_code);
}
