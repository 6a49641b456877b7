//! Check-in through Telegram end to end: the real teloxide client and dispatcher against the
//! fake Bot API, which serves real photo bytes; the staff feed through the outbox worker; all
//! started as `serve` starts them (`TestApp`).

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::checkin::admin;
use serde_json::json;
use support::app::TestApp;
use support::images::qr_png;
use support::{TestDb, at, count};

const USER: i64 = 515_151;
const STAFF: i64 = 626_262;
const IIN: &str = "900101300017";

/// The check code in a result message ("Код проверки: 7KQ2").
fn check_code(text: &str) -> String {
    let rest = text
        .split("Код проверки: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no check code in {text}"));
    rest.chars().take(4).collect()
}

async fn photo_check_in(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    // The application as `serve` runs it: long polling, the outbox worker, the jobs.
    let (app, fake) = TestApp::spawn(db, &clock).await;
    let core = app.core.clone();
    crate::support::identity_pair(&core, IIN, "77011234567").await;

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
        support::fake_telegram::BOT_USERNAME,
    )
    .await
    .unwrap();
    let link = admin::invite(
        &core,
        venue.venue_id,
        "staff",
        support::fake_telegram::BOT_USERNAME,
    )
    .await
    .unwrap();
    let invite = link.split("start=").nth(1).unwrap();
    fake.text(STAFF, Some("ru"), &format!("/start {invite}"));
    let texts = fake.wait_messages(STAFF, 1).await;
    assert!(
        texts[0].contains("сотрудник объекта «Kinopark»"),
        "{texts:?}"
    );

    // Registration.
    fake.text(USER, Some("ru"), "/start");
    fake.wait_messages(USER, 1).await;
    fake.callback(USER, Some("ru"), "consent:yes");
    fake.wait_messages(USER, 2).await;
    fake.contact(USER, Some("ru"), "77011234567", Some(USER));
    fake.wait_messages(USER, 4).await;
    fake.text(USER, Some("ru"), IIN);
    fake.wait_messages(USER, 5).await;

    // A photo of the entry code: the largest size is downloaded and decoded.
    let e = &venue.entrances[0];
    fake.add_file("qr-big", qr_png(&e.entry_link));
    fake.photo_sizes(
        USER,
        Some("ru"),
        &[("qr-small", 90, 90, 1_000), ("qr-big", 800, 800, 40_000)],
    );
    let texts = fake.wait_messages(USER, 6).await;
    let result = &texts[5];
    assert!(
        result.contains("🟦 СИНИЙ") && result.contains("ВПУСКАТЬ") && result.contains("Kinopark"),
        "{result}"
    );
    let code = check_code(result);
    let buttons = fake.last_message(USER).unwrap()["reply_markup"]["inline_keyboard"][0].clone();
    assert!(
        buttons[0]["callback_data"]
            .as_str()
            .unwrap()
            .starts_with("ci:r:")
    );
    let files: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "getFile")
        .map(|c| c.body["file_id"].clone())
        .collect();
    assert_eq!(files, [json!("qr-big")]);

    // The staff chat sees the same check code, and nothing personal.
    let staff = fake.wait_messages(STAFF, 2).await;
    assert!(staff[1].contains(&code), "{staff:?}");
    assert!(staff[1].contains("впускать"), "{staff:?}");
    assert!(!staff[1].contains(IIN) && !staff[1].contains("7011234567"));

    // A 20 MB photo is refused without downloading it.
    fake.photo_sizes(USER, Some("ru"), &[("huge", 4000, 3000, 20 * 1024 * 1024)]);
    let texts = fake.wait_messages(USER, 8).await;
    assert!(texts[6].contains("слишком большое"), "{texts:?}");
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method == "getFile" && c.body["file_id"] == json!("huge"))
    );

    // A document that is not an image, and an image document of something else.
    fake.document(
        USER,
        Some("ru"),
        "doc1",
        "menu.pdf",
        "application/pdf",
        5_000,
    );
    let texts = fake.wait_messages(USER, 10).await;
    assert!(texts[8].contains("не изображение"), "{texts:?}");
    fake.add_file("doc2", qr_png("https://example.com/menu"));
    fake.document(USER, Some("ru"), "doc2", "qr.png", "image/png", 3_000);
    let texts = fake.wait_messages(USER, 12).await;
    assert!(texts[10].contains("Это не QR-код Ashyq"), "{texts:?}");

    // The exit code as an image document closes the visit.
    fake.add_file("exit", qr_png(&e.exit_link));
    fake.document(USER, Some("ru"), "exit", "exit.png", "image/png", 3_000);
    let texts = fake.wait_messages(USER, 13).await;
    assert!(
        texts[12].contains("Выход с объекта «Kinopark» отмечен"),
        "{texts:?}"
    );

    assert_eq!(count(&core.store, "checkins").await, 1);

    // A relative's invitation asked for in Telegram carries Telegram's deep link.
    fake.text(USER, Some("ru"), "/family invite");
    let texts = fake.wait_messages(USER, 14).await;
    assert!(
        texts[13].contains("https://t.me/") && texts[13].contains("?start=fam_"),
        "{texts:?}"
    );
    app.stop().await;
    core.store.close().await;
}

mod photo {
    ashyq_on_both!(super::photo_check_in);
}
