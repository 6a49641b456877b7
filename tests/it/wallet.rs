//! Social Wallet through the core on SQLite and PostgreSQL: eligibility import (CSV and
//! HTTP), the offer campaign (chat and SMS, resumable), consent `N#1`/`N#2` (chat and
//! inbound SMS), vouchers with the daily QR, canteen redemption and its refusals, 100
//! simultaneous redemptions of one code, meal notices, ratings, `/meals`, the ledger's
//! verification against edits, inserts and deletes, and frozen monthly acts.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::wallet::{self, Redemption, campaign, eligibility, ledger};
use ashyq::core::{Core, Event, Outbound};
use ashyq::crypto::{Field, Vault};
use ashyq::domain::{Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store, outbox};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::{Chat, SECRET, TestDb, arg, at, buttons, command, count, keys};
use tower::ServiceExt;

pub(crate) const SCHOOL: &str = "210540012341";
pub(crate) const SCHOOL2: &str = "190940001116";
pub(crate) const SUPPLIER: &str = "051040001237";
pub(crate) const PHONE_A: &str = "+77011110001";
pub(crate) const PHONE_B: &str = "+77011110002";
const PHONE_C: &str = "+77011110003";
pub(crate) const SMS_SECRET: &str = "gateway-secret-7";
/// Monday.
pub(crate) const MONDAY: &str = "2026-11-23T10:00:00+05:00";

fn iin(y: i32, m: u32, d: u32, serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        if serial.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        serial,
    )
    .expose()
}

pub(crate) fn parent(n: u16) -> String {
    iin(1985, 4, 10, 100 + n)
}

pub(crate) fn pupil(n: u16) -> String {
    iin(2016, 2, 1 + u32::from(n % 27), 200 + n)
}

pub(crate) fn row(
    pupil: &str,
    grade: u8,
    school: &str,
    parent: &str,
    phone: &str,
    aid: &str,
) -> String {
    format!("{pupil},{grade},{school},{parent},{phone},{aid}\n")
}

pub(crate) const HEADER: &str =
    "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n";

pub(crate) async fn wallet_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).unwrap(),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_wallet(wallet::WalletSettings {
            sms_webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        }),
    )
}

pub(crate) async fn import(core: &Core, csv: &str) -> eligibility::ImportReport {
    eligibility::import_csv(
        core,
        std::io::Cursor::new(csv.to_string().into_bytes()),
        &|_| {},
    )
    .await
    .expect("import")
}

pub(crate) async fn register(core: &Arc<Core>, id: &str, phone: &str, iin: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: phone.into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(core, iin, phone).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
    chat
}

pub(crate) async fn queued_for(store: &Store, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

pub(crate) fn sms_chat(core: &Core, phone: &str) -> ChatRef {
    ChatRef::new(
        ashyq::adapters::sms::CHANNEL,
        hex::encode(core.vault.lookup_hash(Field::Phone, phone)),
    )
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

async fn ids(store: &Store, table: &str) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} ORDER BY id"
    )))
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// Rows that a refused action must not change.
async fn effects(store: &Store) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "wallet_vouchers",
        "wallet_meals",
        "wallet_ledger",
        "outbox",
        "wallet_ratings",
        "provider_staff",
    ] {
        out.push(count(store, t).await);
    }
    out.push(
        scalar(
            store,
            "SELECT COUNT(*) FROM wallet_offers WHERE answer IS NOT NULL",
        )
        .await,
    );
    out.push(
        scalar(
            store,
            "SELECT CAST(COALESCE(SUM(generation), 0) AS BIGINT) FROM wallet_vouchers",
        )
        .await,
    );
    out
}

pub(crate) async fn post(
    router: &Router,
    path: &str,
    auth: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(k) = auth {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(crate) fn router(core: &Arc<Core>) -> Router {
    ashyq::http::app(ashyq::http::HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    })
}

// ---------------------------------------------------------------- 1. eligibility

async fn eligibility_import(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (p1, p2, p3) = (pupil(1), pupil(2), pupil(3));
    let mut csv = HEADER.to_string();
    csv += &row(&p1, 2, SCHOOL, &parent(1), PHONE_A, "0"); // line 2: grades 1-4
    csv += &row(&p2, 8, SCHOOL, &parent(2), PHONE_B, "1"); // line 3: 5-11 with assistance
    csv += &row(&p3, 8, SCHOOL, &parent(3), PHONE_C, "0"); // line 4: not eligible
    csv += &row("900101300018", 3, SCHOOL, &parent(1), PHONE_A, "0"); // 5: bad IIN
    csv += &row(&pupil(4), 12, SCHOOL, &parent(1), PHONE_A, "0"); // 6: grade
    csv += &row(&p1, 2, SCHOOL, &parent(1), PHONE_A, "0"); // 7: duplicate pupil
    csv += &format!("{},3,{SCHOOL}\n", pupil(5)); // 8: columns
    csv += &row(&pupil(6), 3, SCHOOL, &parent(1), "12345", "0"); // 9: phone
    csv += &row(&pupil(7), 3, "210540012342", &parent(1), PHONE_A, "0"); // 10: BIN
    csv += &row(&pupil(8), 3, SCHOOL, &parent(1), PHONE_A, "maybe"); // 11: flag
    let report = import(&core, &csv).await;
    assert_eq!(
        (report.accepted, report.eligible, report.duplicates),
        (3, 2, 0)
    );
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11], "{:?}", report.rejected);
    assert!(report.rejected[2].reason.contains("duplicate pupil"));
    let rules: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT rule, eligible, grade FROM wallet_pupils ORDER BY id")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        rules,
        [
            ("grades_1_4".to_string(), 1, 2),
            ("grades_5_11_social_assistance".to_string(), 1, 8),
            ("grades_5_11_no_assistance".to_string(), 0, 8),
        ]
    );
    // Personal data only as keyed hash and sealed value.
    let (hash, enc): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT pupil_hash, pupil_enc FROM wallet_pupils ORDER BY id LIMIT 1")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(hash, core.vault.lookup_hash(Field::Iin, &p1));
    assert_eq!(core.vault.open(Field::Iin, &enc).unwrap().as_str(), p1);
    assert!(!enc.windows(12).any(|w| w == p1.as_bytes()));

    // A re-run imports nothing twice; a changed row for a stored pupil is refused.
    let again = import(&core, &csv).await;
    assert_eq!((again.accepted, again.duplicates), (0, 3));
    assert_eq!(again.rejected.len(), 7);
    let changed = format!("{HEADER}{}", row(&p3, 8, SCHOOL, &parent(3), PHONE_C, "1"));
    let r = import(&core, &changed).await;
    assert_eq!((r.accepted, r.rejected.len()), (0, 1));
    assert_eq!(r.rejected[0].index, 2);
    assert_eq!(count(&core.store, "wallet_pupils").await, 3);
    let bad_header = eligibility::import_csv(
        &core,
        std::io::Cursor::new(b"iin,grade\n1,2\n".to_vec()),
        &|_| {},
    )
    .await;
    assert!(bad_header.is_err());

    // HTTP with an API key of scope `pupils`.
    let key = ashyq::core::feeds::create_api_key(&core, "edu-ministry", &["pupils".into()])
        .await
        .unwrap();
    let lab = ashyq::core::feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();
    let app = router(&core);
    let items = json!({"items": [
        {"pupil_iin": pupil(10), "grade": 1, "school_bin": SCHOOL2, "parent_iin": parent(10),
         "parent_phone": PHONE_A, "social_assistance": false},
        {"pupil_iin": pupil(11), "grade": "9", "school_bin": SCHOOL2, "parent_iin": parent(11),
         "parent_phone": PHONE_B, "social_assistance": true},
        {"pupil_iin": pupil(12), "grade": 0, "school_bin": SCHOOL2, "parent_iin": parent(11),
         "parent_phone": PHONE_B, "social_assistance": true},
        {"pupil_iin": p1, "grade": 2, "school_bin": SCHOOL, "parent_iin": parent(1),
         "parent_phone": PHONE_A, "social_assistance": 0},
        {"pupil": "x"}
    ]});
    let (status, _) = post(&app, "/api/v1/pupils", None, items.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, "/api/v1/pupils", Some(&lab.secret), items.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = post(&app, "/api/v1/pupils", Some(&key.secret), items).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["eligible"], 2);
    assert_eq!(body["duplicates"], 1);
    let rejected: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index"].as_i64().unwrap())
        .collect();
    assert_eq!(rejected, [2, 4]);
    assert_eq!(count(&core.store, "wallet_pupils").await, 5);
    core.store.close().await;
}

mod eligibility_tests {
    ashyq_on_both!(super::eligibility_import);
}

// ---------------------------------------------------------------- 2-3. offers and consent

/// A fake SMS gateway: records `(authorization, body)` of every POST.
async fn fake_gateway() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = Router::new().route(
        "/send",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let s = s.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    s.lock()
                        .unwrap()
                        .push((auth, serde_json::from_slice(&body).unwrap()));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/send"), seen)
}

async fn offers_and_consent(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let mut csv = HEADER.to_string();
    csv += &row(&pupil(1), 2, SCHOOL, &parent(1), PHONE_A, "0");
    csv += &row(&pupil(2), 4, SCHOOL, &parent(1), PHONE_A, "0");
    csv += &row(&pupil(3), 9, SCHOOL, &parent(2), PHONE_B, "1");
    csv += &row(&pupil(4), 9, SCHOOL, &parent(3), PHONE_C, "0"); // not eligible
    csv += &row(&pupil(5), 1, SCHOOL2, &parent(3), PHONE_C, "0"); // other school
    import(&core, &csv).await;
    let a = register(&core, "parent-a", PHONE_A, &parent(1)).await;

    let progress = Mutex::new(Vec::new());
    let report = campaign::offer(&core, Some(SCHOOL), &|done, total| {
        progress.lock().unwrap().push((done, total))
    })
    .await
    .unwrap();
    assert_eq!((report.offered, report.chat, report.sms), (3, 2, 1));
    assert_eq!(progress.lock().unwrap().last(), Some(&(3, 3)));
    let to_a = queued_for(&core.store, &a.chat).await;
    assert_eq!(keys(&to_a), ["wallet-offer", "wallet-offer"]);
    assert_eq!(arg(&to_a[0], "number"), "1");
    assert_eq!(arg(&to_a[1], "number"), "2");
    assert_eq!(buttons(&to_a[1]), ["wl:ans:2:1", "wl:ans:2:2"]);
    let b_sms = sms_chat(&core, PHONE_B);
    let to_b = queued_for(&core.store, &b_sms).await;
    assert_eq!(keys(&to_b), ["wallet-offer"]);
    assert_eq!(arg(&to_b[0], "number"), "1");
    // Re-running (or resuming after a crash) offers and sends nothing twice.
    let outbox_rows = count(&core.store, "outbox").await;
    let again = campaign::offer(&core, Some(SCHOOL), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(again.offered, 0);
    assert_eq!(count(&core.store, "outbox").await, outbox_rows);
    let all = campaign::offer(&core, None, &|_, _| {}).await.unwrap();
    assert_eq!((all.offered, all.sms), (1, 1), "the other school's pupil");

    // The SMS gateway adapter: the number only in the POST to the gateway, once.
    let (url, seen) = fake_gateway().await;
    let gateway = ashyq::adapters::sms::Gateway::Webhook {
        url,
        secret: SMS_SECRET.into(),
        client: Default::default(),
    };
    assert_eq!(
        ashyq::adapters::sms::send_due(&core, &gateway)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        ashyq::adapters::sms::send_due(&core, &gateway)
            .await
            .unwrap(),
        0
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let to_b = seen
            .iter()
            .find(|(_, b)| b["to"] == PHONE_B)
            .expect("B's SMS");
        assert_eq!(to_b.0, format!("Bearer {SMS_SECRET}"));
        let text = to_b.1["text"].as_str().unwrap();
        assert!(text.contains("1#1") && text.contains("1#2"), "{text}");
        // One language per SMS: the parent has no chat, so Kazakh; Cyrillic SMS are UCS-2,
        // 67 characters per segment of a long message.
        assert!(
            text.contains("Әлеуметтік әмиян") && !text.contains("Социальный кошелёк"),
            "{text}"
        );
        assert!(
            text.chars().count() <= 4 * 67,
            "{} chars",
            text.chars().count()
        );
    }

    // Consent from the chat the offer went to, spaces and full-width sign tolerated.
    let out = a.send(Event::Text(" 2 ＃ 1 ".into())).await;
    assert_eq!(keys(&out), ["wallet-consent-accepted"]);
    assert_eq!(arg(&out[0], "number"), "2");
    assert_eq!(count(&core.store, "wallet_vouchers").await, 1);
    // Refusals write only their audit line.
    let before = effects(&core.store).await;
    let audits = count(&core.store, "wallet_audit").await;
    assert_eq!(a.text("2#1").await, ["wallet-offer-answered"]);
    assert_eq!(a.text("2#2").await, ["wallet-offer-answered"]);
    assert_eq!(a.text("7#1").await, ["wallet-offer-unknown"]);
    assert_eq!(a.text("1#3").await, ["wallet-answer-help"]);
    let stranger = Chat::new(&core, "stranger", Some("ru"));
    assert_eq!(stranger.text("1#1").await, ["wallet-offer-unknown"]);
    assert_eq!(effects(&core.store).await, before);
    assert_eq!(count(&core.store, "wallet_audit").await, audits + 4);
    // Declining by the button.
    let out = a.send(Event::Button("wl:ans:1:2".into())).await;
    assert_eq!(keys(&out), ["wallet-consent-declined"]);
    assert_eq!(count(&core.store, "wallet_vouchers").await, 1);

    // Inbound SMS: only with the gateway's secret, only from the number the offer went to.
    let app = router(&core);
    let sms = |from: &str, text: &str, id: &str| json!({"from": from, "text": text, "id": id});
    let (status, _) = post(&app, "/api/v1/sms/inbound", None, sms(PHONE_B, "1#1", "g1")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        &app,
        "/api/v1/sms/inbound",
        Some("wrong"),
        sms(PHONE_B, "1#1", "g1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&core.store, "wallet_vouchers").await, 1);
    // Another phone answering B's offer 1: unknown, nothing written but the audit line.
    let before = effects(&core.store).await;
    let (status, _) = post(
        &app,
        "/api/v1/sms/inbound",
        Some(SMS_SECRET),
        sms("+77019999999", "1#1", "g0"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut after = effects(&core.store).await;
    after[3] -= 1; // the reply queued for the other phone
    assert_eq!(after, before);
    let other = queued_for(&core.store, &sms_chat(&core, "+77019999999")).await;
    assert_eq!(keys(&other), ["wallet-offer-unknown"]);
    for _ in 0..2 {
        let (status, _) = post(
            &app,
            "/api/v1/sms/inbound",
            Some(SMS_SECRET),
            sms(PHONE_B, "1 # 1", "g1"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(count(&core.store, "wallet_vouchers").await, 2);
    let to_b = queued_for(&core.store, &b_sms).await;
    assert_eq!(
        keys(&to_b),
        ["wallet-consent-accepted-sms"],
        "once, after the offer was sent"
    );
    let (status, _) = post(
        &app,
        "/api/v1/sms/inbound",
        Some(SMS_SECRET),
        sms(PHONE_B, "hello", "g2"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&queued_for(&core.store, &b_sms).await),
        ["wallet-consent-accepted-sms", "sms-unknown"]
    );

    // An answer after expiry changes nothing.
    clock.advance(chrono::Duration::days(15));
    let c_sms = sms_chat(&core, PHONE_C);
    let before = effects(&core.store).await;
    let (status, _) = post(
        &app,
        "/api/v1/sms/inbound",
        Some(SMS_SECRET),
        sms(PHONE_C, "1#1", "g3"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut after = effects(&core.store).await;
    after[3] -= 1;
    assert_eq!(after, before);
    let to_c = queued_for(&core.store, &c_sms).await;
    assert_eq!(
        keys(&to_c).last().map(String::as_str),
        Some("wallet-offer-expired")
    );

    // The ledger has every change: 4 offers, 2 consents, 1 refusal.
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM wallet_ledger GROUP BY kind ORDER BY kind")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        kinds,
        [
            ("consent".to_string(), 2),
            ("offer".to_string(), 4),
            ("refusal".to_string(), 1)
        ]
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    assert_eq!(ledger::verify(&mut conn).await.unwrap().first_problem, None);
    drop(conn);
    core.store.close().await;
}

mod offers {
    ashyq_on_both!(super::offers_and_consent);
}

// ---------------------------------------------------------------- 4-6. vouchers, canteen, parents

/// Imports, offers and accepts: parent A has pupils 1 (school), 2 (school 2), 3 (school);
/// returns A's chat and the voucher ids in pupil order.
pub(crate) async fn families(core: &Arc<Core>) -> (Chat, Vec<i64>) {
    wallet::set_supplier(core, SUPPLIER, "Taza Tagam LLP", "850.00")
        .await
        .unwrap();
    wallet::set_school(core, SCHOOL, "School-lyceum No. 5", Some(SUPPLIER))
        .await
        .unwrap();
    wallet::set_school(core, SCHOOL2, "Gymnasium No. 12", Some(SUPPLIER))
        .await
        .unwrap();
    let mut csv = HEADER.to_string();
    csv += &row(&pupil(1), 2, SCHOOL, &parent(1), PHONE_A, "0");
    csv += &row(&pupil(2), 3, SCHOOL2, &parent(1), PHONE_A, "0");
    csv += &row(&pupil(3), 7, SCHOOL, &parent(1), PHONE_A, "1");
    import(core, &csv).await;
    let a = register(core, "parent-a", PHONE_A, &parent(1)).await;
    campaign::offer(core, None, &|_, _| {}).await.unwrap();
    for n in 1..=3 {
        assert_eq!(a.text(&format!("{n}#1")).await, ["wallet-consent-accepted"]);
    }
    (a, ids(&core.store, "wallet_vouchers").await)
}

/// Presses "Activate" (or another voucher button) and returns the reply with the QR.
pub(crate) async fn press(chat: &Chat, data: &str) -> Outbound {
    let out = chat.send(Event::Button(data.into())).await;
    assert_eq!(out.len(), 1, "{:?}", keys(&out));
    out.into_iter().next().unwrap()
}

pub(crate) fn qr_text(o: &Outbound) -> String {
    let a = o.attachment.as_ref().expect("a QR picture");
    assert_eq!(a.kind, ashyq::core::AttachmentKind::Photo);
    let texts = ashyq::qr::decode(&a.bytes, &ashyq::qr::Limits::default()).unwrap();
    assert_eq!(texts.len(), 1);
    texts[0].clone()
}

pub(crate) async fn operator(core: &Arc<Core>, id: &str, school: &str) -> Chat {
    let link = wallet::canteen_invite(core, school, "ashyq_bot")
        .await
        .unwrap();
    let token = link.split("start=").nth(1).unwrap().to_string();
    assert!(token.starts_with("cnt_") && token.len() <= 64);
    let op = Chat::new(core, id, Some("ru"));
    assert_eq!(
        keys(&op.send(command("start", &token)).await),
        ["canteen-invite-accepted"]
    );
    let late = Chat::new(core, &format!("{id}-late"), Some("ru"));
    assert_eq!(
        keys(&late.send(command("start", &token)).await),
        ["canteen-invite-invalid"],
        "one-time"
    );
    op
}

pub(crate) async fn redeem_photo(op: &Chat, qr: &str) -> Outbound {
    let out = op.send(Event::Image(support::images::qr_png(qr))).await;
    assert_eq!(out.len(), 1, "{:?}", keys(&out));
    out.into_iter().next().unwrap()
}

async fn vouchers_and_canteen(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;

    // /wallet lists the three children with "Activate".
    let list = a.send(command("wallet", "")).await;
    assert_eq!(keys(&list), ["wallet-voucher"; 3]);
    assert_eq!(arg(&list[0], "status"), "inactive");
    assert_eq!(buttons(&list[0]), [format!("wl:act:{}", v[0])]);
    // Somebody else cannot activate A's voucher.
    let b = register(&core, "parent-b", PHONE_B, &parent(2)).await;
    let before = effects(&core.store).await;
    assert_eq!(
        b.button(&format!("wl:act:{}", v[0])).await,
        ["wallet-voucher-unavailable"]
    );
    assert_eq!(b.command("wallet").await, ["wallet-none"]);
    assert_eq!(effects(&core.store).await, before);

    let activated = press(&a, &format!("wl:act:{}", v[0])).await;
    assert_eq!(activated.text.key(), "wallet-activated");
    let qr1 = qr_text(&activated);
    assert!(qr1.starts_with("SW"));
    let code1 = arg(&activated, "code");
    let qr2 = qr_text(&press(&a, &format!("wl:act:{}", v[1])).await);

    // A canteen operator of the school, the day's menu.
    let op = operator(&core, "canteen-5", SCHOOL).await;
    let out = op.send(command("menu", "Борщ, плов, компот")).await;
    assert_eq!(keys(&out), ["wallet-menu-set"]);
    assert_eq!(
        keys(&op.send(command("menu", "")).await),
        ["wallet-menu-today"]
    );
    let notop = Chat::new(&core, "not-operator", Some("ru"));
    assert_eq!(
        keys(&notop.send(command("menu", "x")).await),
        ["canteen-only"]
    );

    // A photo of the QR: meal granted, the parent is told (time, school, menu, rating).
    let granted = redeem_photo(&op, &qr1).await;
    assert_eq!(granted.text.key(), "wallet-redeem-granted");
    assert_eq!(arg(&granted, "grade"), "2");
    let notices = queued_for(&core.store, &a.chat).await;
    let notice = notices
        .iter()
        .find(|o| o.text.key() == "wallet-meal-notice")
        .expect("meal notice");
    assert_eq!(arg(notice, "menu"), "Борщ, плов, компот");
    assert_eq!(arg(notice, "time"), "10:00");
    assert_eq!(arg(notice, "school"), "School-lyceum No. 5");
    let meal = ids(&core.store, "wallet_meals").await[0];
    assert_eq!(
        buttons(notice),
        (1..=5)
            .map(|n| format!("wl:rate:{meal}:{n}"))
            .collect::<Vec<_>>()
    );

    // Refusals, each writing only its audit line.
    let before = effects(&core.store).await;
    let audits = count(&core.store, "wallet_audit").await;
    assert_eq!(
        redeem_photo(&op, &qr1).await.text.key(),
        "wallet-redeem-already"
    );
    assert_eq!(
        op.text(&code1.to_lowercase()).await,
        ["wallet-redeem-already"]
    );
    let other = redeem_photo(&op, &qr2).await;
    assert_eq!(other.text.key(), "wallet-redeem-other-school");
    assert_eq!(arg(&other, "school"), "Gymnasium No. 12");
    assert_eq!(
        redeem_photo(&notop, &qr1).await.text.key(),
        "wallet-redeem-not-operator"
    );
    // Not activated: a correctly signed code of voucher 3 still does not feed.
    let (qr3, _) = wallet::todays_code(&core, v[2], 1);
    assert_eq!(
        redeem_photo(&op, &qr3).await.text.key(),
        "wallet-redeem-not-eligible"
    );
    assert_eq!(op.text("ZZZZZ-ZZZZZZ").await, ["wallet-redeem-invalid"]);
    // An operator of another school.
    let op12 = operator(&core, "canteen-12", SCHOOL2).await;
    let before2 = effects(&core.store).await;
    assert_eq!(
        redeem_photo(&op12, &qr1).await.text.key(),
        "wallet-redeem-other-school"
    );
    assert_eq!(effects(&core.store).await, before2);
    let mut now = effects(&core.store).await;
    now[5] -= 1; // the second operator joined meanwhile
    assert_eq!(now, before);
    assert_eq!(count(&core.store, "wallet_audit").await, audits + 8);

    // The parent rates the meal and comments (an IIN in the comment is masked).
    let out = a.send(Event::Button(format!("wl:rate:{meal}:4"))).await;
    assert_eq!(keys(&out), ["wallet-rate-thanks", "wallet-comment-prompt"]);
    assert_eq!(
        a.text(&format!("Вкусно, спасибо {}", parent(1))).await,
        ["wallet-comment-saved"]
    );
    let (rating, comment): (i64, Option<String>) =
        sqlx::query_as("SELECT rating, comment FROM wallet_ratings")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(rating, 4);
    let comment = comment.unwrap();
    assert!(
        comment.starts_with("Вкусно") && !comment.contains(&parent(1)),
        "{comment}"
    );
    assert_eq!(
        a.button(&format!("wl:rate:{meal}:5")).await,
        ["wallet-rate-already"]
    );
    assert_eq!(
        b.button(&format!("wl:rate:{meal}:1")).await,
        ["hint-stale-button"]
    );

    // The next day yesterday's screenshot is stale; /qr gives today's.
    clock.advance(chrono::Duration::days(1));
    assert_eq!(
        redeem_photo(&op, &qr1).await.text.key(),
        "wallet-redeem-stale"
    );
    assert_eq!(op.text(&code1).await, ["wallet-redeem-stale"]);
    let todays = a.send(command("qr", "")).await;
    assert_eq!(keys(&todays), ["wallet-qr", "wallet-qr"]);
    let qr1b = qr_text(&todays[0]);
    assert_ne!(qr1b, qr1);
    let code1b = arg(&todays[0], "code");
    assert_eq!(
        op.text(&code1b).await,
        ["wallet-redeem-granted"],
        "typed code"
    );

    // Lost: reissue. Today's earlier code says revoked; the new one works tomorrow.
    let reissued = press(&a, &format!("wl:new:{}", v[0])).await;
    assert_eq!(reissued.text.key(), "wallet-reissued");
    let qr1c = qr_text(&reissued);
    assert_eq!(
        redeem_photo(&op, &qr1b).await.text.key(),
        "wallet-redeem-revoked"
    );
    assert_eq!(op.text(&code1b).await, ["wallet-redeem-revoked"]);
    assert_eq!(
        redeem_photo(&op, &qr1c).await.text.key(),
        "wallet-redeem-already"
    );
    clock.advance(chrono::Duration::days(1));
    let qr1d = qr_text(&a.send(command("qr", "")).await[0]);
    assert_eq!(
        redeem_photo(&op, &qr1d).await.text.key(),
        "wallet-redeem-granted"
    );

    // /meals: this month's history with the rating.
    let meals = a.send(command("meals", "")).await;
    assert_eq!(keys(&meals), ["wallet-meals"]);
    assert_eq!(arg(&meals[0], "count"), "3");
    assert!(arg(&meals[0], "lines").contains(" · 4 ⭐"));

    // Saturday: no school meals (the calendar); voucher 3 activated meanwhile.
    let qr3 = qr_text(&press(&a, &format!("wl:act:{}", v[2])).await);
    clock.advance(chrono::Duration::days(3));
    let qr3 = {
        let _ = qr3;
        qr_text(&a.send(command("qr", "")).await[2])
    };
    assert_eq!(
        redeem_photo(&op, &qr3).await.text.key(),
        "wallet-redeem-no-school-day"
    );

    // Revoked for good by the administration.
    clock.advance(chrono::Duration::days(2)); // Monday
    assert!(wallet::revoke_voucher(&core, v[0]).await.unwrap());
    let (qr_rev, _) = wallet::todays_code(&core, v[0], 2);
    assert_eq!(
        redeem_photo(&op, &qr_rev).await.text.key(),
        "wallet-redeem-revoked"
    );
    assert_eq!(
        redeem_photo(&op, &qr3).await.text.key(),
        "wallet-redeem-stale"
    );

    let mut conn = core.store.pool().acquire().await.unwrap();
    assert_eq!(ledger::verify(&mut conn).await.unwrap().first_problem, None);
    drop(conn);
    core.store.close().await;
}

mod canteen {
    ashyq_on_both!(super::vouchers_and_canteen);
}

async fn hundred_redemptions(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;
    let qr = qr_text(&press(&a, &format!("wl:act:{}", v[0])).await);
    let op = operator(&core, "canteen", SCHOOL).await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let core = core.clone();
            let chat = op.chat.clone();
            let qr = qr.clone();
            tokio::spawn(async move { wallet::redeem(&core, &chat, &qr).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    let mut already = 0;
    for t in tasks {
        match t.await.unwrap() {
            Redemption::Granted { .. } => granted += 1,
            Redemption::AlreadyToday { .. } => already += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((granted, already), (1, 99));
    assert_eq!(count(&core.store, "wallet_meals").await, 1);
    assert_eq!(
        scalar(
            &core.store,
            "SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'redemption'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &core.store,
            "SELECT COUNT(*) FROM wallet_audit WHERE outcome = 'already_today'"
        )
        .await,
        99
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    assert_eq!(ledger::verify(&mut conn).await.unwrap().first_problem, None);
    drop(conn);
    core.store.close().await;
}

mod simultaneous {
    ashyq_on_both!(super::hundred_redemptions);
}

// ---------------------------------------------------------------- 7. ledger and acts

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .unwrap();
}

async fn problem(store: &Store) -> Option<ledger::Problem> {
    let mut conn = store.pool().acquire().await.unwrap();
    ledger::verify(&mut conn).await.unwrap().first_problem
}

async fn ledger_and_acts(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;
    let qr1 = qr_text(&press(&a, &format!("wl:act:{}", v[0])).await);
    let qr3 = qr_text(&press(&a, &format!("wl:act:{}", v[2])).await);
    let op = operator(&core, "canteen", SCHOOL).await;
    for qr in [&qr1, &qr3] {
        assert_eq!(
            redeem_photo(&op, qr).await.text.key(),
            "wallet-redeem-granted"
        );
    }
    clock.advance(chrono::Duration::days(1));
    let qrs = a.send(command("qr", "")).await;
    assert_eq!(
        redeem_photo(&op, &qr_text(&qrs[0])).await.text.key(),
        "wallet-redeem-granted"
    );
    // 3 offers, 3 consents, 2 activations, 3 redemptions.
    let head = scalar(&core.store, "SELECT seq FROM wallet_ledger_head").await;
    assert_eq!(head, 11);
    assert_eq!(problem(&core.store).await, None);

    // The open month's act is a draft, not stored.
    let draft = ledger::act(&core, SUPPLIER, "2026-11").await.unwrap();
    assert!(!draft.closed && !draft.from_storage);
    assert_eq!((draft.meals, draft.total_tiyn), (3, 255_000));
    assert_eq!(count(&core.store, "wallet_acts").await, 0);
    assert!(draft.csv.contains(&format!(
        "{SCHOOL},School-lyceum No. 5,2026-11-23,2,850.00,1700.00"
    )));
    assert!(draft.csv.contains(&format!(
        "{SCHOOL},School-lyceum No. 5,2026-11-24,1,850.00,850.00"
    )));
    // The document is in Kazakh and Russian, days with month names, money as tenge.
    for part in [
        "Орындалған жұмыстар актісі",
        "Акт выполненных работ",
        "2026 жылғы қараша",
        "ноябрь 2026 г.",
        "2026 жылғы 24 қараша<br>24 ноября 2026 г.",
        "<td>1\u{a0}700,00\u{a0}₸</td>",
        "<th>2\u{a0}550,00\u{a0}₸</th>",
        "Жоба: ай әлі аяқталған жоқ",
    ] {
        assert!(draft.html.contains(part), "{part} in {}", draft.html);
    }
    assert!(!draft.html.contains("Act of") && !draft.html.contains("1700.00"));

    // December: November is closed, its act is stored with its hash and never changes.
    clock.set(at("2026-12-01T09:00:00+05:00"));
    let first = ledger::act(&core, SUPPLIER, "2026-11").await.unwrap();
    assert!(first.closed && !first.from_storage);
    assert_eq!((first.meals, first.total_tiyn), (3, 255_000));
    assert_eq!(count(&core.store, "wallet_acts").await, 1);
    wallet::set_supplier(&core, SUPPLIER, "Taza Tagam LLP", "990.00")
        .await
        .unwrap();
    wallet::set_school(&core, SCHOOL, "Renamed school", None)
        .await
        .unwrap();
    let second = ledger::act(&core, SUPPLIER, "2026-11").await.unwrap();
    assert!(second.from_storage);
    assert_eq!(
        (&second.csv, &second.html, &second.sha256),
        (&first.csv, &first.html, &first.sha256)
    );
    assert!(ledger::act(&core, SUPPLIER, "2026-13").await.is_err());
    assert!(
        ledger::act(&core, "030840004561", "2026-10").await.is_err(),
        "no supplier"
    );

    // Editing a row is named.
    exec(
        &core.store,
        "UPDATE wallet_ledger SET day = '2026-11-25' WHERE seq = 9",
    )
    .await;
    assert_eq!(problem(&core.store).await, Some(ledger::Problem::Edited(9)));
    exec(
        &core.store,
        "UPDATE wallet_ledger SET day = '2026-11-23' WHERE seq = 9",
    )
    .await;
    assert_eq!(problem(&core.store).await, None);
    // Editing and re-hashing a row: the next one no longer links to it.
    let (h5,): (Vec<u8>,) = sqlx::query_as("SELECT hash FROM wallet_ledger WHERE seq = 5")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    let mut conn = core.store.pool().acquire().await.unwrap();
    let page = ashyq::storage::wallet::ledger_page(&mut conn, 4, 1)
        .await
        .unwrap();
    drop(conn);
    let mut forged = page[0].clone();
    forged.at += 1;
    let rehash = ledger::hash_of(&forged.prev_hash, &forged);
    sqlx::query("UPDATE wallet_ledger SET at = $1, hash = $2 WHERE seq = 5")
        .bind(forged.at)
        .bind(&rehash)
        .execute(core.store.pool())
        .await
        .unwrap();
    assert_eq!(problem(&core.store).await, Some(ledger::Problem::Edited(5)));
    sqlx::query("UPDATE wallet_ledger SET at = $1, hash = $2 WHERE seq = 5")
        .bind(forged.at - 1)
        .bind(&h5)
        .execute(core.store.pool())
        .await
        .unwrap();
    assert_eq!(problem(&core.store).await, None);
    // Deleting a row in the middle, and the last one.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let saved = ashyq::storage::wallet::ledger_page(&mut conn, 0, 100)
        .await
        .unwrap();
    drop(conn);
    exec(&core.store, "DELETE FROM wallet_ledger WHERE seq = 4").await;
    assert_eq!(
        problem(&core.store).await,
        Some(ledger::Problem::Deleted(4))
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    ashyq::storage::wallet::ledger_insert(&mut conn, &saved[3])
        .await
        .unwrap();
    // (ledger_insert also moved the head's hash: put it back.)
    sqlx::query("UPDATE wallet_ledger_head SET hash = $1")
        .bind(&saved[10].hash)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(problem(&core.store).await, None);
    exec(&core.store, "DELETE FROM wallet_ledger WHERE seq = 11").await;
    assert_eq!(
        problem(&core.store).await,
        Some(ledger::Problem::Deleted(11))
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    ashyq::storage::wallet::ledger_insert(&mut conn, &saved[10])
        .await
        .unwrap();
    drop(conn);
    assert_eq!(problem(&core.store).await, None);
    // Inserting a forged redemption that chains correctly but bypassed the head.
    let mut fake = saved[10].clone();
    fake.seq = 12;
    fake.meal_id = Some(999);
    fake.prev_hash = saved[10].hash.clone();
    fake.hash = ledger::hash_of(&fake.prev_hash, &fake);
    sqlx::query(
        "INSERT INTO wallet_ledger (seq, at, kind, voucher_id, offer_id, pupil_id, meal_id,
            school_bin, supplier_bin, day, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(fake.seq)
    .bind(fake.at)
    .bind(&fake.kind)
    .bind(fake.voucher_id)
    .bind(fake.offer_id)
    .bind(fake.pupil_id)
    .bind(fake.meal_id)
    .bind(&fake.school_bin)
    .bind(&fake.supplier_bin)
    .bind(&fake.day)
    .bind(&fake.prev_hash)
    .bind(&fake.hash)
    .execute(core.store.pool())
    .await
    .unwrap();
    assert_eq!(
        problem(&core.store).await,
        Some(ledger::Problem::Inserted(12))
    );
    // The stored act still reads the same; a new act refuses a broken ledger.
    let third = ledger::act(&core, SUPPLIER, "2026-11").await.unwrap();
    assert_eq!(third.sha256, first.sha256);
    assert!(matches!(
        ledger::act(&core, SUPPLIER, "2026-12").await,
        Err(wallet::WalletError::LedgerBroken(
            ledger::Problem::Inserted(12)
        ))
    ));
    exec(&core.store, "DELETE FROM wallet_ledger WHERE seq = 12").await;
    // A stored act altered in the database is refused, not served.
    exec(
        &core.store,
        "UPDATE wallet_acts SET csv = REPLACE(csv, '1700.00', '9700.00')",
    )
    .await;
    assert!(matches!(
        ledger::act(&core, SUPPLIER, "2026-11").await,
        Err(wallet::WalletError::ActAltered)
    ));
    core.store.close().await;
}

mod ledger_acts {
    ashyq_on_both!(super::ledger_and_acts);
}

/// Issue 15: another chat's voucher and meal ids in crafted button data change nothing and
/// get the same neutral answer as ids that do not exist.
async fn forged_voucher_buttons(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;
    let qr = qr_text(&press(&a, &format!("wl:act:{}", v[0])).await);
    let op = operator(&core, "canteen-5", SCHOOL).await;
    assert_eq!(
        redeem_photo(&op, &qr).await.text.key(),
        "wallet-redeem-granted"
    );
    let meal = ids(&core.store, "wallet_meals").await[0];
    let b = register(&core, "parent-b", PHONE_B, &parent(2)).await;
    let chats = || async {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, channel, chat_id, generation FROM wallet_vouchers ORDER BY id",
        )
        .fetch_all(core.store.pool())
        .await
        .unwrap();
        rows
    };
    let before = (effects(&core.store).await, chats().await);
    let missing = v.iter().max().unwrap() + 1000;
    // Active (v[0]) and inactive (v[1]) vouchers of A, and one that does not exist.
    for id in [v[0], v[1], missing] {
        for action in ["act", "qr", "new"] {
            assert_eq!(
                b.button(&format!("wl:{action}:{id}")).await,
                ["wallet-voucher-unavailable"],
                "{action}:{id}"
            );
        }
    }
    for m in [meal, meal + 1000] {
        assert_eq!(
            b.button(&format!("wl:rate:{m}:5")).await,
            ["hint-stale-button"],
            "rate {m}"
        );
    }
    assert_eq!((effects(&core.store).await, chats().await), before);
    // A still has them.
    assert_eq!(
        press(&a, &format!("wl:qr:{}", v[0])).await.text.key(),
        "wallet-qr"
    );
    core.store.close().await;
}

mod forged_buttons {
    ashyq_on_both!(super::forged_voucher_buttons);
}
