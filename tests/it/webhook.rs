//! Telegram by webhook: `setWebhook` with the secret token at start, updates served by our
//! HTTP server at the URL's path, the secret checked on every request, each update
//! acknowledged only after the core committed it, a replay changing nothing.

use crate::support;

use ashyq::adapters::telegram::SECRET_HEADER;
use ashyq::clock::ManualClock;
use serde_json::{Value, json};
use std::time::Duration;
use support::app::{TestApp, TestOptions, WEBHOOK_URL};
use support::fake_telegram::FakeTelegram;
use support::{TestDb, at, count};

const USER: i64 = 434_343;
const TOKEN: &str = "webhook-Secret_0123456789";

fn start_update(update_id: i64) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": 10 + update_id, "date": 1_790_000_000,
        "chat": {"id": USER, "type": "private", "first_name": "T"},
        "from": {"id": USER, "is_bot": false, "first_name": "T", "language_code": "ru"},
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]
    }})
}

async fn post(app: &TestApp, secret: Option<&str>, body: String) -> u16 {
    let mut request = reqwest::Client::new()
        .post(app.url("/telegram/webhook"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = secret {
        request = request.header(SECRET_HEADER, s);
    }
    request
        .send()
        .await
        .expect("the app answers")
        .status()
        .as_u16()
}

async fn webhook(db: &TestDb) {
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let app = TestApp::start(
        core.clone(),
        &url,
        TestOptions {
            webhook: Some(TOKEN.into()),
            ..TestOptions::default()
        },
    )
    .await;

    // At start: setWebhook with the URL and the secret token.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let set = loop {
        if let Some(c) = fake.calls().into_iter().find(|c| c.method == "setWebhook") {
            break c.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no setWebhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(set["url"], json!(WEBHOOK_URL));
    assert_eq!(set["secret_token"], json!(TOKEN));

    // Without the secret, with a wrong one, with one of the same length: 401, nothing written.
    let update = start_update(1).to_string();
    assert_eq!(post(&app, None, update.clone()).await, 401);
    assert_eq!(post(&app, Some("wrong"), update.clone()).await, 401);
    let same_length = "x".repeat(TOKEN.len());
    assert_eq!(post(&app, Some(&same_length), update.clone()).await, 401);
    assert_eq!(post(&app, Some(""), update.clone()).await, 401);
    assert_eq!(count(&core.store, "processed_updates").await, 0);
    assert_eq!(count(&core.store, "conversations").await, 0);
    assert!(fake.sent_texts(USER).is_empty());

    // With the secret: acknowledged after the core committed (and the reply was sent).
    assert_eq!(post(&app, Some(TOKEN), update.clone()).await, 200);
    assert_eq!(count(&core.store, "processed_updates").await, 1);
    assert_eq!(count(&core.store, "conversations").await, 1);
    let texts = fake.sent_texts(USER);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("персональных данных"), "{texts:?}");

    // A replay (Telegram redelivers): acknowledged, its effect once.
    assert_eq!(post(&app, Some(TOKEN), update.clone()).await, 200);
    assert_eq!(count(&core.store, "processed_updates").await, 1);
    assert_eq!(fake.sent_texts(USER).len(), 1);

    // Not an update: 400.
    assert_eq!(post(&app, Some(TOKEN), "{not json".into()).await, 400);

    // The conversation goes on by webhook: the consent button.
    let callback = json!({"update_id": 2, "callback_query": {
        "id": "cb2", "chat_instance": "ci",
        "from": {"id": USER, "is_bot": false, "first_name": "T", "language_code": "ru"},
        "message": {"message_id": 1001, "date": 1_790_000_000,
                    "chat": {"id": USER, "type": "private", "first_name": "T"},
                    "text": "…"},
        "data": "consent:yes"
    }});
    assert_eq!(post(&app, Some(TOKEN), callback.to_string()).await, 200);
    assert_eq!(fake.sent_texts(USER).len(), 2);

    // No long polling alongside the webhook.
    assert!(!fake.calls().iter().any(|c| c.method == "getUpdates"));
    app.stop().await;
    core.store.close().await;
}

mod telegram_webhook {
    ashyq_on_both!(super::webhook);
}

/// Issue 16: the update committed but its reply never left (here Telegram refused the send;
/// a process killed between the commit and the send is the same to the database). The
/// webhook answers 500, Telegram delivers the update again, and the redelivery gets the kept
/// reply — once, with nothing done twice. Once sent, a further redelivery answers nothing.
async fn unsent_reply_on_redelivery(db: &TestDb) {
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let app = TestApp::start(
        core.clone(),
        &url,
        TestOptions {
            webhook: Some(TOKEN.into()),
            jobs: false,
            ..TestOptions::default()
        },
    )
    .await;
    let update = start_update(1).to_string();
    fake.block(USER);
    assert_eq!(post(&app, Some(TOKEN), update.clone()).await, 500);
    assert_eq!(count(&core.store, "processed_updates").await, 1);
    // One attempt, refused by Telegram (the fake records it).
    assert_eq!(fake.sent_texts(USER).len(), 1);

    fake.unblock(USER);
    assert_eq!(post(&app, Some(TOKEN), update.clone()).await, 200);
    let texts = fake.sent_texts(USER);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[0], texts[1], "the same reply");
    assert!(texts[1].contains("персональных данных"), "{texts:?}");
    assert_eq!(count(&core.store, "processed_updates").await, 1);
    assert_eq!(count(&core.store, "conversations").await, 1);

    // Sent now: another redelivery is acknowledged and answers nothing.
    assert_eq!(post(&app, Some(TOKEN), update).await, 200);
    assert_eq!(fake.sent_texts(USER).len(), 2);
    app.stop().await;
    core.store.close().await;
}

mod a_redelivery_gets_the_reply_that_never_left {
    ashyq_on_both!(super::unsent_reply_on_redelivery);
}

/// An update the core could not handle (its transaction rolled back) is not acknowledged:
/// 500, so Telegram delivers it again; the user got the apology meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_update_is_not_acknowledged() {
    let db = TestDb::sqlite().await;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let app = TestApp::start(
        core.clone(),
        &url,
        TestOptions {
            webhook: Some(TOKEN.into()),
            jobs: false,
            ..TestOptions::default()
        },
    )
    .await;
    assert_eq!(
        post(&app, Some(TOKEN), start_update(1).to_string()).await,
        200
    );
    // Break the database under the running app.
    sqlx::query("DROP TABLE processed_updates")
        .execute(core.store.pool())
        .await
        .unwrap();
    assert_eq!(
        post(&app, Some(TOKEN), start_update(2).to_string()).await,
        500
    );
    let texts = fake.sent_texts(USER);
    assert_eq!(texts.len(), 2, "{texts:?}");
    let apology = core.texts.render(
        ashyq::domain::Lang::Ru,
        &ashyq::i18n::Msg::new("error-generic"),
    );
    assert_eq!(texts[1], apology);
    app.stop().await;
    core.store.close().await;
}

/// The binary: `ashyq serve` with `TELEGRAM_WEBHOOK_URL` and `TELEGRAM_WEBHOOK_SECRET` sets
/// the webhook, serves its path and answers an update; without the secret it refuses to
/// start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_webhook() {
    use tokio::io::AsyncBufReadExt;
    let (fake, url) = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hook.db").display());
    let serve = |secret: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"));
        cmd.args(["serve", "--http", "127.0.0.1:0"])
            .env("TELOXIDE_TOKEN", "123456:TEST")
            .env("TELOXIDE_API_URL", &url)
            .env("TELEGRAM_WEBHOOK_URL", "https://bot.ashyq.test/tg/hook")
            .env("DATABASE_URL", &db)
            .env("ASHYQ_SECRET_KEY", support::SECRET)
            .env("RUST_LOG", "info")
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        match secret {
            Some(s) => cmd.env("TELEGRAM_WEBHOOK_SECRET", s),
            None => cmd.env_remove("TELEGRAM_WEBHOOK_SECRET"),
        };
        cmd
    };
    let refused = tokio::time::timeout(Duration::from_secs(30), serve(None).output())
        .await
        .unwrap()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("TELEGRAM_WEBHOOK_SECRET"), "{err}");

    let mut child = serve(Some(TOKEN)).spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("HTTP listening")
                && let Some(rest) = line.split("bound=").nth(1)
            {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("serve did not start");
    })
    .await
    .unwrap();
    // Keep reading the logs so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !fake.calls().iter().any(|c| c.method == "setWebhook") {
        assert!(tokio::time::Instant::now() < deadline, "no setWebhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = reqwest::Client::new();
    let send = |secret: &str| {
        client
            .post(format!("http://{address}/tg/hook"))
            .header("content-type", "application/json")
            .header(SECRET_HEADER, secret)
            .body(start_update(7).to_string())
            .send()
    };
    assert_eq!(send("nope").await.unwrap().status().as_u16(), 401);
    assert_eq!(send(TOKEN).await.unwrap().status().as_u16(), 200);
    let texts = fake.sent_texts(USER);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(!fake.calls().iter().any(|c| c.method == "getUpdates"));
    child.kill().await.unwrap();
}
