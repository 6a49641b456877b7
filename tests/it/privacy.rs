//! The whole registration, through Telegram (fake Bot API) and through the core, with logging
//! at TRACE: neither the IIN nor the phone number may appear in the logs or anywhere in the
//! database files.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::Event;
use support::fake_telegram::{FakeTelegram, RunningBot};
use support::{Chat, TestDb, at};

const IIN: &str = "880315400042";
const PHONE_DIGITS: &str = "7017654321";

fn valid_iin() -> String {
    // Find the check digit for the first eleven digits of IIN, so the number is real.
    (0..10)
        .map(|d| format!("{}{d}", &IIN[..11]))
        .find(|s| ashyq::domain::Iin::parse(s).is_ok())
        .expect("a check digit exists for this prefix")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_iin_nor_phone_reach_logs_or_database() {
    let logs = support::captured_logs();
    let iin = valid_iin();
    let phone = format!("+7{PHONE_DIGITS}");

    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    support::identity_pair(&core, &iin, &phone).await;

    // Through Telegram.
    let (fake, url) = FakeTelegram::start().await;
    let bot = RunningBot::spawn(&url, core.clone());
    let user = 5150;
    fake.text(user, Some("ru"), "/start");
    fake.wait_messages(user, 1).await;
    fake.callback(user, Some("ru"), "consent:yes");
    fake.wait_messages(user, 2).await;
    fake.contact(user, Some("ru"), &phone, Some(user));
    fake.wait_messages(user, 4).await;
    fake.text(user, Some("ru"), &iin);
    let texts = fake.wait_messages(user, 5).await;
    assert!(texts[4].contains("Регистрация завершена"), "{texts:?}");
    fake.text(user, Some("ru"), "/me");
    fake.wait_messages(user, 6).await;
    bot.stop().await;

    // Through the core (a second person, typing errors included).
    let chat = Chat::new(&core, "p2", Some("kk"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    chat.send(Event::Contact {
        phone: "+77770001122".into(),
        own: true,
    })
    .await;
    chat.text("777000112233").await;
    chat.text(&iin).await; // taken by the first person: refused
    assert_eq!(support::count(&core.store, "people").await, 2);
    core.store.close().await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // Capture worked across threads: the core's own debug line and sqlx's statements are there.
    assert!(logs.contains("handled"), "core debug lines captured");
    assert!(
        logs.contains("INSERT INTO people"),
        "sqlx statements captured"
    );
    for secret in [iin.as_str(), PHONE_DIGITS, "7770001122", "777000112233"] {
        assert!(!logs.contains(secret), "{secret} found in the logs");
    }

    // Every byte of every database file (the WAL too).
    let dir = std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        for secret in [iin.as_str(), PHONE_DIGITS, "7770001122"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} found in the database files"
            );
        }
    }
    assert!(files >= 1);
}
