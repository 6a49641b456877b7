//! SMS as a channel (issue 16 item 2), through `POST /api/v1/sms/inbound` and the core, on
//! SQLite and PostgreSQL: `STATUS` with and without an IIN (only over a binding the identity
//! registry confirms for the sending number, else one neutral text), `HELP`, the language
//! keywords, unknown and 1 000-character texts, redelivered messages, the limits per
//! number, and every SMS text in every language within two segments.

use crate::support;

use ashyq::adapters::sms::{Encoding, MAX_SEGMENTS, encode, measure};
use ashyq::clock::ManualClock;
use ashyq::core::{Core, Outbound, feeds, wallet};
use ashyq::crypto::Field;
use ashyq::domain::Lang;
use ashyq::i18n::{Msg, Texts};
use ashyq::storage::{ChatRef, outbox};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Chat, TestDb, arg, at, count, keys};
use tower::ServiceExt;

const SMS_SECRET: &str = "gateway-secret-16";
const NOW: &str = "2026-11-23T10:00:00+05:00";
/// Registered in the bot (Russian) with this number; the registry confirms the pair.
const IIN_A: &str = "900101300017";
const PHONE_A: &str = "+77011112201";
/// Nobody: not in the registry, not registered.
const PHONE_B: &str = "+77011112202";
/// In the registry with `iin_c()`, never registered in the bot.
const PHONE_C: &str = "+77011112203";

fn iin_c() -> String {
    ashyq::domain::Iin::synthetic(
        chrono::NaiveDate::from_ymd_opt(1985, 4, 15).unwrap(),
        ashyq::domain::Sex::Female,
        21,
    )
    .expose()
}

async fn sms_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    support::core_built(db, clock, |c| {
        c.with_wallet(wallet::WalletSettings {
            sms_webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        })
    })
    .await
}

fn router(core: &Arc<Core>) -> Router {
    ashyq::http::app(ashyq::http::HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    })
}

fn number_chat(core: &Core, phone: &str) -> ChatRef {
    let phone = ashyq::domain::Phone::parse(phone).unwrap();
    ChatRef::new(
        &core.channels.phone_channel,
        hex::encode(core.vault.lookup_hash(Field::Phone, phone.expose())),
    )
}

async fn queued(core: &Core, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = core.store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

/// A gateway that posts inbound SMS and reads what was queued for each number.
struct Gateway {
    core: Arc<Core>,
    app: Router,
}

impl Gateway {
    async fn post(&self, body: Value) -> StatusCode {
        let req = Request::post("/api/v1/sms/inbound")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {SMS_SECRET}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        self.app.clone().oneshot(req).await.unwrap().status()
    }

    /// Sends `text` from `from` with the gateway id `id`; returns the replies it queued.
    async fn sms(&self, from: &str, text: &str, id: &str) -> Vec<Outbound> {
        let chat = number_chat(&self.core, from);
        let before = queued(&self.core, &chat).await.len();
        let status = self
            .post(json!({"from": from, "text": text, "id": id}))
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        queued(&self.core, &chat).await.split_off(before)
    }

    async fn one(&self, from: &str, text: &str, id: &str) -> Outbound {
        let mut out = self.sms(from, text, id).await;
        assert_eq!(out.len(), 1, "{text}: {:?}", keys(&out));
        out.remove(0)
    }
}

fn positive(iin: &str) -> Value {
    json!({"iin": iin, "taken_at": "2026-11-21T09:00:00+05:00",
           "result_at": "2026-11-22T09:00:00+05:00", "result": "positive",
           "lab": "Central Lab No. 7", "external_id": "sms-1"})
}

/// Registers a chat in Russian with `phone` and `iin` (the registry confirms the pair).
async fn register(core: &Arc<Core>, id: &str, phone: &str, iin: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(ashyq::core::Event::Contact {
        phone: phone.into(),
        own: true,
    })
    .await;
    support::identity_pair(core, iin, phone).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
    chat
}

/// What a status request must never change.
async fn effects(core: &Core) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "people",
        "identity_pairs",
        "identity_pending",
        "identity_attempts",
        "status_watch",
        "pcr_results",
    ] {
        out.push(count(&core.store, t).await);
    }
    out
}

async fn conversation(db: &TestDb) {
    let logs = support::captured_logs();
    let clock = ManualClock::new(at(NOW));
    let core = sms_core(db, &clock).await;
    let gw = Gateway {
        core: core.clone(),
        app: router(&core),
    };
    register(&core, "a", PHONE_A, IIN_A).await;
    support::identity_pair(&core, &iin_c(), PHONE_C).await;
    feeds::ingest_pcr(&core, vec![positive(IIN_A)], None)
        .await
        .unwrap();
    let iin_c = iin_c();
    let before = effects(&core).await;

    // STATUS alone: the IIN registered with this number through the registry, in the
    // person's chat language (Russian), with until when.
    let out = gw.one(PHONE_A, "status", "a1").await;
    assert_eq!(out.text.key(), "sms-status");
    assert_eq!(out.lang, Lang::Ru);
    assert_eq!(arg(&out, "colour"), "red");
    assert_eq!(arg(&out, "has_until"), "yes");
    let text = core.texts.render(out.lang, &out.text);
    assert!(text.contains("КРАСНЫЙ"), "{text}");
    // With the IIN, any case, in each language's word.
    for (i, word) in ["СТАТУС", "мәртебе", "Status"].iter().enumerate() {
        let out = gw
            .one(PHONE_A, &format!("{word} {IIN_A}"), &format!("a2-{i}"))
            .await;
        assert_eq!(out.text.key(), "sms-status", "{word}");
        assert_eq!(arg(&out, "colour"), "red");
    }

    // The registry pairs C's number with C's IIN: C gets the status by IIN (blue, no end)
    // even without registering in the bot, in Kazakh (no chat language known).
    let out = gw.one(PHONE_C, &format!("МӘРТЕБЕ {iin_c}"), "c1").await;
    assert_eq!(
        (out.text.key(), out.lang, arg(&out, "colour")),
        ("sms-status", Lang::Kk, "blue".to_string())
    );
    assert_eq!(arg(&out, "has_until"), "no");

    // Everyone else gets the same neutral text: another person's IIN from a known number,
    // an IIN from an unknown number, STATUS alone from a number with no verified binding.
    let neutral = [
        (PHONE_C, format!("status {IIN_A}")),
        (PHONE_B, format!("status {IIN_A}")),
        (PHONE_B, format!("STATUS {iin_c}")),
        (PHONE_B, "СТАТУС".to_string()),
        (PHONE_C, "status".to_string()),
    ];
    for (i, (from, text)) in neutral.iter().enumerate() {
        let out = gw.one(from, text, &format!("n{i}")).await;
        assert_eq!(out.text.key(), "sms-status-unavailable", "{from} {text}");
        assert!(out.text.args.is_empty(), "nothing about anyone");
    }
    assert_eq!(
        gw.one(PHONE_B, "status 12345", "n9").await.text.key(),
        "sms-status-bad-iin"
    );

    // (A new hour: B has used its limit.)
    clock.advance(chrono::Duration::minutes(61));
    // HELP, unknown words, 1 000 characters: clear answers, in Kazakh for an unknown number.
    for (i, word) in ["HELP", "көмек", "Помощь"].iter().enumerate() {
        let out = gw.one(PHONE_B, word, &format!("h{i}")).await;
        assert_eq!((out.text.key(), out.lang), ("sms-help", Lang::Kk));
    }
    assert_eq!(
        gw.one(PHONE_B, "hello", "u1").await.text.key(),
        "sms-unknown"
    );
    let long = "Сәлеметсіз бе! ".repeat(70);
    assert_eq!(gw.one(PHONE_B, &long, "u2").await.text.key(), "sms-unknown");
    assert_eq!(effects(&core).await, before, "nothing written");

    clock.advance(chrono::Duration::minutes(61));
    // RU / KZ / EN switch the replies' language for this number.
    let out = gw.one(PHONE_B, "ru", "l1").await;
    assert_eq!((out.text.key(), out.lang), ("sms-language-set", Lang::Ru));
    assert_eq!(gw.one(PHONE_B, "help", "l2").await.lang, Lang::Ru);
    assert_eq!(gw.one(PHONE_B, "ҚЗ", "l3").await.lang, Lang::Kk);
    assert_eq!(gw.one(PHONE_B, "EN", "l4").await.lang, Lang::En);
    let out = gw.one(PHONE_B, "?", "l5").await;
    assert_eq!(out.lang, Lang::En);
    let text = core.texts.render(out.lang, &out.text);
    assert_eq!(encode(&text).encoding, Encoding::Gsm7, "{text}");

    // A redelivered SMS (same gateway id) is answered once.
    assert_eq!(gw.sms(PHONE_B, "help", "l5").await.len(), 0);
    assert_eq!(gw.sms(PHONE_A, "status", "a1").await.len(), 0);

    // Machines: a wrong secret, a body that is not an SMS, a sender that is not a number.
    let req = Request::post("/api/v1/sms/inbound")
        .header("authorization", "Bearer wrong")
        .body(Body::from(
            json!({"from": PHONE_B, "text": "help", "id": "x"}).to_string(),
        ))
        .unwrap();
    let res = gw.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        gw.post(json!({"text": "help"})).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        gw.post(json!({"from": "hello", "text": "help", "id": "y"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // No IIN, no number in clear in anything queued, rendered or not.
    let payloads: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox")
        .fetch_all(core.store.pool())
        .await
        .unwrap();
    for (p,) in &payloads {
        for secret in [
            IIN_A,
            iin_c.as_str(),
            "7011112201",
            "7011112202",
            "7011112203",
        ] {
            assert!(!p.contains(secret), "{secret} in {p}");
        }
        let message: Outbound = serde_json::from_str(p).unwrap();
        let text = core.texts.render(message.lang, &message.text);
        assert!(!text.contains(IIN_A) && !text.contains(&iin_c), "{text}");
    }
    // Nor in the logs (TRACE, this test binary so far).
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    for secret in [
        IIN_A,
        iin_c.as_str(),
        "7011112201",
        "7011112202",
        "7011112203",
    ] {
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
    core.store.close().await;
}

mod conversation {
    ashyq_on_both!(super::conversation);
}

/// 10 an hour and 30 a day per number: over a limit one short notice, then silence; other
/// numbers are not affected.
async fn limits(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = sms_core(db, &clock).await;
    let gw = Gateway {
        core: core.clone(),
        app: router(&core),
    };
    let mut id = 0;
    let mut send = async |from: &str| {
        id += 1;
        keys(&gw.sms(from, "help", &format!("m{id}")).await)
    };
    let hour = chrono::Duration::minutes(61);
    for _ in 0..10 {
        assert_eq!(send(PHONE_B).await, ["sms-help"]);
    }
    assert_eq!(send(PHONE_B).await, ["sms-too-many"]);
    assert!(send(PHONE_B).await.is_empty(), "silence after the notice");
    assert_eq!(send(PHONE_C).await, ["sms-help"], "another number");
    // The next hour answers again, up to 30 in a day.
    for _ in 0..2 {
        clock.advance(hour);
        for _ in 0..10 {
            assert_eq!(send(PHONE_B).await, ["sms-help"]);
        }
    }
    clock.advance(hour);
    assert_eq!(send(PHONE_B).await, ["sms-too-many"], "the day's limit");
    assert!(send(PHONE_B).await.is_empty());
    clock.advance(hour);
    assert!(send(PHONE_B).await.is_empty(), "one notice a day");
    clock.advance(chrono::Duration::hours(24));
    assert_eq!(send(PHONE_B).await, ["sms-help"]);
    core.store.close().await;
}

mod limits {
    ashyq_on_both!(super::limits);
}

/// A remote registry (like `http`) that counts its calls.
#[derive(Debug)]
struct Remote {
    calls: std::sync::atomic::AtomicUsize,
    answer: std::sync::Mutex<ashyq::identity::Verdict>,
}

impl ashyq::identity::IdentityRegistry for Remote {
    fn check<'a>(
        &'a self,
        _iin: &'a ashyq::domain::Iin,
        _phone: &'a ashyq::domain::Phone,
    ) -> futures::future::BoxFuture<
        'a,
        Result<ashyq::identity::Verdict, ashyq::identity::RegistryError>,
    > {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let v = *self.answer.lock().unwrap();
        Box::pin(async move { Ok(v) })
    }

    fn kind(&self) -> &'static str {
        "http"
    }
}

/// With a remote registry, `STATUS <IIN>` asks it once, before the event's transaction
/// (the prefetched answer is used), and a registry that does not know gets the neutral text.
async fn remote_registry(db: &TestDb) {
    use ashyq::identity::Verdict;
    let clock = ManualClock::new(at(NOW));
    let remote = Arc::new(Remote {
        calls: Default::default(),
        answer: std::sync::Mutex::new(Verdict::Match),
    });
    let registry: Arc<dyn ashyq::identity::IdentityRegistry> = remote.clone();
    let core = support::core_built(db, &clock, |c| {
        c.with_identity(registry)
            .with_wallet(wallet::WalletSettings {
                sms_webhook_secret: Some(SMS_SECRET.into()),
                ..Default::default()
            })
    })
    .await;
    let gw = Gateway {
        core: core.clone(),
        app: router(&core),
    };
    let calls = || remote.calls.load(std::sync::atomic::Ordering::SeqCst);
    let out = gw.one(PHONE_B, &format!("status {IIN_A}"), "r1").await;
    assert_eq!(
        (out.text.key(), arg(&out, "colour")),
        ("sms-status", "blue".to_string())
    );
    assert_eq!(calls(), 1, "asked once, before the transaction");
    *remote.answer.lock().unwrap() = Verdict::Unknown;
    let out = gw.one(PHONE_B, &format!("status {IIN_A}"), "r2").await;
    assert_eq!(out.text.key(), "sms-status-unavailable");
    assert_eq!(calls(), 2);
    // STATUS alone asks nobody: the number's verified registration decides.
    let out = gw.one(PHONE_B, "status", "r3").await;
    assert_eq!(out.text.key(), "sms-status-unavailable");
    assert_eq!(calls(), 2);
    core.store.close().await;
}

mod remote_registry {
    ashyq_on_both!(super::remote_registry);
}

/// Every text the SMS channel sends, with the longest realistic arguments.
fn sms_texts() -> Vec<Msg> {
    let until = at("2026-12-31T23:59:00+05:00").timestamp_millis();
    let mut out = Vec::new();
    for colour in ["red", "yellow", "green", "blue"] {
        out.push(
            Msg::new("sms-status")
                .arg("colour", colour)
                .arg("has_until", "yes")
                .date_time("until", until),
        );
        out.push(
            Msg::new("sms-status")
                .arg("colour", colour)
                .arg("has_until", "no")
                .arg("until", ""),
        );
    }
    for key in [
        "sms-status-unavailable",
        "sms-status-bad-iin",
        "sms-help",
        "sms-language-set",
        "sms-unknown",
        "sms-too-many",
        "wallet-answer-help",
    ] {
        out.push(Msg::new(key));
    }
    // Answers to offers by SMS (the wallet's replies on this channel).
    let child = "•••• •••• 0017";
    let school = "№125 мектеп-гимназиясы";
    out.push(Msg::new("wallet-offer-unknown").num("number", 12));
    for answer in ["accepted", "declined"] {
        out.push(
            Msg::new("wallet-offer-answered")
                .num("number", 12)
                .arg("answer", answer),
        );
    }
    out.push(
        Msg::new("wallet-offer-expired")
            .num("number", 12)
            .date_of("date", until),
    );
    out.push(
        Msg::new("wallet-consent-declined")
            .num("number", 12)
            .arg("child", child),
    );
    // Club offers answered by SMS.
    for key in ["club-accepted-sms", "club-declined-sms"] {
        out.push(Msg::new(key).num("number", 12));
    }
    out.push(
        Msg::new("wallet-consent-accepted-sms")
            .num("number", 12)
            .arg("child", child)
            .arg("school", school)
            .date_of("until", until),
    );
    // The one-time code of a registration (Aitu).
    out.push(
        Msg::new("aitu-otp-sms")
            .arg("code", "042917")
            .num("minutes", 10),
    );
    out
}

#[test]
fn every_sms_reply_fits_two_segments_in_every_language() {
    let texts = Texts::load();
    let mut report = Vec::new();
    let mut over = Vec::new();
    for msg in sms_texts() {
        for lang in Lang::ALL {
            let text = texts
                .try_render(lang, &msg)
                .unwrap_or_else(|(_, e)| panic!("{} {lang:?}: {e:?}", msg.key()));
            let sms = encode(&text);
            let (_, uncut) = measure(&sms.text);
            report.push(format!(
                "{} {}: {} chars, {}, {} segment(s)",
                msg.key(),
                lang.code(),
                sms.text.chars().count(),
                sms.encoding.as_str(),
                uncut
            ));
            if uncut > MAX_SEGMENTS {
                over.push(format!("{} {}: {text}", msg.key(), lang.code()));
            }
            if lang == Lang::En && msg.key().starts_with("sms-") {
                assert_eq!(sms.encoding, Encoding::Gsm7, "{}: {text}", msg.key());
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(report.len() >= 60, "every text in every language");
    assert!(
        over.is_empty(),
        "over {MAX_SEGMENTS} segments:\n{}",
        over.join("\n")
    );
}
