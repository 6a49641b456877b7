//! Social Wallet through Telegram end to end (fake Bot API): the offer arrives through the
//! outbox worker, the parent answers `1#1`, activates in /wallet and receives the child's
//! QR as a photo whose code redeems at the canteen.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::wallet::{self, Redemption, campaign, eligibility};
use ashyq::domain::{Iin, Sex};
use ashyq::storage::ChatRef;
use chrono::NaiveDate;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::FakeTelegram;
use support::{TestDb, at};

const USER: i64 = 717_171;
const SCHOOL: &str = "210540012341";

fn iin(y: i32, serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(y, 3, 9).unwrap(),
        Sex::Female,
        serial,
    )
    .expose()
}

async fn consent_and_qr(db: &TestDb) {
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-23T09:00:00+05:00"));
    let core = support::core(db, &clock).await;
    // The application as `serve` runs it: long polling, the outbox worker, the jobs.
    let app = TestApp::start(core.clone(), &url, TestOptions::default()).await;

    // The parent registers with the phone the school list has.
    let parent = iin(1984, 77);
    crate::support::identity_pair(&core, &parent, "+77012223344").await;
    fake.text(USER, Some("ru"), "/start");
    fake.wait_messages(USER, 1).await;
    fake.callback(USER, Some("ru"), "consent:yes");
    fake.wait_messages(USER, 2).await;
    fake.contact(USER, Some("ru"), "+77012223344", Some(USER));
    fake.wait_messages(USER, 4).await;
    fake.text(USER, Some("ru"), &parent);
    fake.wait_messages(USER, 5).await;

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

    // The offer through the outbox worker, with its buttons.
    let texts = fake.wait_messages(USER, 6).await;
    assert!(
        texts[5].contains("1#1") && texts[5].contains("1#2"),
        "{}",
        texts[5]
    );
    let last = fake.last_message(USER).unwrap();
    assert_eq!(
        last["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "wl:ans:1:1"
    );

    // `1＃1` with a full-width sign; the confirmation comes after the commit.
    fake.text(USER, Some("ru"), "1 ＃ 1");
    let texts = fake.wait_messages(USER, 7).await;
    assert!(
        texts[6].contains("Спасибо") && texts[6].contains("/wallet"),
        "{}",
        texts[6]
    );

    // /wallet, "Activate": the child's QR arrives as a photo with the code in the caption.
    fake.text(USER, Some("ru"), "/wallet");
    let texts = fake.wait_messages(USER, 8).await;
    assert!(texts[7].contains("ещё не активирован"), "{}", texts[7]);
    let data =
        fake.last_message(USER).unwrap()["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(data.starts_with("wl:act:"));
    fake.callback(USER, Some("ru"), &data);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let files = loop {
        let files = fake.sent_files(USER);
        if !files.is_empty() || tokio::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(files.len(), 1, "one photo");
    let (method, caption, file) = &files[0];
    assert_eq!(method, "sendPhoto");
    let caption = caption.clone().unwrap_or_default();
    assert!(caption.contains("Ваучер активирован"), "{caption}");
    let texts = ashyq::qr::decode(&file.bytes, &ashyq::qr::Limits::default()).unwrap();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with("SW"));

    // That picture's code is the child's meal today.
    let link = wallet::canteen_invite(&core, SCHOOL, "ashyq_bot")
        .await
        .unwrap();
    let op = ChatRef::new("test", "canteen");
    let token = link.split("start=").nth(1).unwrap();
    let joined = core
        .handle(ashyq::core::Inbound {
            chat: op.clone(),
            update_key: None,
            lang_hint: Some("ru".into()),
            event: ashyq::core::Event::Command {
                name: "start".into(),
                arg: token.into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(joined[0].text.key(), "canteen-invite-accepted");
    let r = wallet::redeem(&core, &op, &texts[0]).await.unwrap();
    assert!(matches!(r, Redemption::Granted { grade: 3, .. }), "{r:?}");
    // The parent's meal notice with the rating row, through the outbox worker.
    let texts = fake.wait_messages(USER, 9).await;
    assert!(texts[8].contains("пообедал"), "{}", texts[8]);
    let stars = &fake.last_message(USER).unwrap()["reply_markup"]["inline_keyboard"][0];
    assert_eq!(stars.as_array().unwrap().len(), 5);

    app.stop().await;
    core.store.close().await;
}

mod telegram_wallet {
    ashyq_on_both!(super::consent_and_qr);
}
