//! Issue 15 items 1–3 on SQLite and PostgreSQL: registration through the identity registry
//! (match, mismatch, unknown with background retries, the limits), the binding that moves
//! to the registry-confirmed owner, the re-check of people registered before the registry,
//! notices only to verified people, vouchers only for the verified parent (with the SMS to
//! the list's phone), the table fed by CSV and HTTP, and the `http` registry against a fake
//! gateway (timeout, retries, circuit breaker).

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::identity::run_due;
use ashyq::core::wallet::{self, campaign, eligibility};
use ashyq::core::{Core, Event, Outbound, feeds};
use ashyq::crypto::Field;
use ashyq::domain::{Iin, Phone, Sex};
use ashyq::identity::http::{HttpOptions, HttpRegistry};
use ashyq::identity::{IdentityRegistry, RegistryError, Verdict, table};
use ashyq::storage::{ChatRef, ConversationRow, Store, conversations, outbox, people};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Chat, TestDb, arg, at, count, keys};
use tower::ServiceExt;

const NOW: &str = "2026-11-23T10:00:00+05:00";

fn iin(serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
        Sex::Female,
        serial * 3,
    )
    .expose()
}

fn phone(n: u32) -> String {
    format!("+7701{n:07}")
}

/// Start, consent, own contact: the chat waits for the IIN.
async fn up_to_iin(core: &Arc<Core>, id: &str, phone: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    let out = chat
        .send(Event::Contact {
            phone: phone.into(),
            own: true,
        })
        .await;
    assert_eq!(keys(&out), ["phone-saved", "iin-prompt"]);
    chat
}

async fn queued(store: &Store, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

fn queued_keys(out: &[Outbound]) -> Vec<String> {
    keys(out)
}

async fn state(chat: &Chat) -> String {
    chat.stored_state().await.unwrap()
}

fn positive(iin: &str, ext: &str) -> Value {
    json!({"iin": iin, "taken_at": "2026-11-21T09:00:00+05:00",
           "result_at": "2026-11-22T09:00:00+05:00", "result": "positive",
           "lab": "Central Lab No. 7", "external_id": ext})
}

async fn bound_people(store: &Store) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM people WHERE iin_hash IS NOT NULL")
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

/// A person registered before the registry existed: IIN stored, never verified.
async fn legacy(core: &Arc<Core>, id: &str, phone: &str, iin: &str) -> Chat {
    let mut tx = core.store.begin().await.unwrap();
    let person = people::insert(
        &mut tx,
        &core.vault.lookup_hash(Field::Phone, phone),
        &core.vault.seal(Field::Phone, phone),
        1,
        1,
    )
    .await
    .unwrap();
    people::set_iin(
        &mut tx,
        person,
        &core.vault.lookup_hash(Field::Iin, iin),
        &core.vault.seal(Field::Iin, iin),
        2,
    )
    .await
    .unwrap()
    .unwrap();
    let chat = ChatRef::new("test", id);
    conversations::save(
        &mut tx,
        &chat,
        &ConversationRow {
            lang: Some("ru".into()),
            state: r#"{"step":"menu"}"#.into(),
            person_id: Some(person),
        },
        3,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Chat::new(core, id, Some("ru"))
}

// ---------------------------------------------------------------- registration

async fn registration(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    let owner_iin = iin(1);
    support::identity_pair(&core, &owner_iin, &phone(1)).await;
    // A positive result is on file before anyone registers.
    feeds::ingest_pcr(&core, vec![positive(&owner_iin, "p-1")], None)
        .await
        .unwrap();

    // Someone else's IIN: refused with how to fix it, nothing stored, no status.
    let intruder = up_to_iin(&core, "intruder", &phone(2)).await;
    assert_eq!(intruder.text(&owner_iin).await, ["identity-mismatch"]);
    assert_eq!(state(&intruder).await, r#"{"step":"iin"}"#);
    assert_eq!(bound_people(&core.store).await, 0);
    assert_eq!(
        intruder.command("status").await,
        ["hint-register-first", "iin-prompt"]
    );
    let text = core.texts.render(
        ashyq::domain::Lang::Ru,
        &ashyq::i18n::Msg::new("identity-mismatch"),
    );
    assert!(text.contains("egov.kz") && text.contains("ЦОН"), "{text}");
    // A later result notifies nobody in the intruder's chat.
    feeds::ingest_pcr(&core, vec![positive(&owner_iin, "p-2")], None)
        .await
        .unwrap();
    assert!(queued(&core.store, &intruder.chat).await.is_empty());

    // The real owner registers afterwards and sees the status.
    let owner = up_to_iin(&core, "owner", &phone(1)).await;
    assert_eq!(owner.text(&owner_iin).await, ["registered"]);
    let out = owner.send(support::command("status", "")).await;
    assert_eq!(keys(&out), ["status-reply"]);
    assert_eq!(arg(&out[0], "colour"), "red");

    // Unknown to the registry: told, no status, retried with back-off, settled later.
    let waiting_iin = iin(2);
    let waiting = up_to_iin(&core, "waiting", &phone(3)).await;
    assert_eq!(waiting.text(&waiting_iin).await, ["identity-pending"]);
    assert_eq!(state(&waiting).await, r#"{"step":"identity_pending"}"#);
    assert_eq!(
        waiting.text("when?").await,
        ["hint-not-understood", "identity-pending-wait"]
    );
    assert_eq!(
        waiting.command("status").await,
        ["hint-register-first", "identity-pending-wait"]
    );
    assert_eq!(count(&core.store, "identity_pending").await, 1);
    assert_eq!(
        run_due(&core, core.now_ms()).await.unwrap(),
        0,
        "not due yet"
    );
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(
        run_due(&core, core.now_ms()).await.unwrap(),
        0,
        "still unknown"
    );
    support::identity_pair(&core, &waiting_iin, &phone(3)).await;
    assert_eq!(
        run_due(&core, core.now_ms()).await.unwrap(),
        0,
        "backed off"
    );
    clock.advance(chrono::Duration::minutes(3));
    assert_eq!(run_due(&core, core.now_ms()).await.unwrap(), 1);
    assert_eq!(
        run_due(&core, core.now_ms()).await.unwrap(),
        0,
        "settled once"
    );
    assert_eq!(
        queued_keys(&queued(&core.store, &waiting.chat).await),
        ["identity-confirmed"]
    );
    assert_eq!(state(&waiting).await, r#"{"step":"menu"}"#);
    assert_eq!(waiting.command("status").await, ["status-reply"]);
    // Verified people get change notices.
    feeds::ingest_pcr(&core, vec![positive(&waiting_iin, "p-3")], None)
        .await
        .unwrap();
    assert_eq!(
        queued_keys(&queued(&core.store, &waiting.chat).await),
        ["identity-confirmed", "status-changed"]
    );

    // Unknown, then the registry pairs the IIN with another number: refused by the job.
    let later = up_to_iin(&core, "later", &phone(4)).await;
    assert_eq!(later.text(&iin(3)).await, ["identity-pending"]);
    support::identity_pair(&core, &iin(3), &phone(5)).await;
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(run_due(&core, core.now_ms()).await.unwrap(), 1);
    assert_eq!(
        queued_keys(&queued(&core.store, &later.chat).await),
        ["identity-mismatch"]
    );
    assert_eq!(state(&later).await, r#"{"step":"iin"}"#);

    // Never answered: given up after a day, the person is asked to send the IIN again.
    let never = up_to_iin(&core, "never", &phone(6)).await;
    assert_eq!(never.text(&iin(4)).await, ["identity-pending"]);
    for _ in 0..30 {
        clock.advance(chrono::Duration::hours(1));
        run_due(&core, core.now_ms()).await.unwrap();
    }
    assert_eq!(
        queued_keys(&queued(&core.store, &never.chat).await),
        ["identity-gave-up"]
    );
    assert_eq!(state(&never).await, r#"{"step":"iin"}"#);
    assert_eq!(count(&core.store, "identity_pending").await, 0);

    // The binding moves when the registry confirms a new owner (a recycled number).
    let owner_old = table::parse_pair(&owner_iin, &phone(1)).unwrap();
    assert!(
        table::remove(&core, &owner_old.0, &owner_old.1)
            .await
            .unwrap()
    );
    support::identity_pair(&core, &owner_iin, &phone(7)).await;
    let new_owner = up_to_iin(&core, "new-owner", &phone(7)).await;
    assert_eq!(new_owner.text(&owner_iin).await, ["registered"]);
    let moved = queued(&core.store, &owner.chat).await;
    assert_eq!(queued_keys(&moved), ["identity-binding-moved"]);
    assert_eq!(state(&owner).await, r#"{"step":"iin"}"#);
    assert_eq!(
        owner.command("status").await,
        ["hint-register-first", "iin-prompt"]
    );
    // The records stayed with the IIN.
    let out = new_owner.send(support::command("status", "")).await;
    assert_eq!(arg(&out[0], "colour"), "red");

    core.store.close().await;
}

mod registration {
    ashyq_on_both!(super::registration);
}

async fn limits(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    support::identity_pair(&core, &iin(9), &phone(90)).await;
    let chat = up_to_iin(&core, "guesser", &phone(91)).await;
    // 5 an hour.
    for n in 0..5 {
        assert_eq!(chat.text(&iin(9)).await, ["identity-mismatch"], "try {n}");
    }
    let out = chat.send(Event::Text(iin(9))).await;
    assert_eq!(keys(&out), ["identity-too-many"]);
    assert_eq!(arg(&out[0], "period"), "hour");
    // 20 a day.
    for hour in 1..4 {
        clock.advance(chrono::Duration::minutes(61));
        for _ in 0..5 {
            assert_eq!(
                chat.text(&iin(9)).await,
                ["identity-mismatch"],
                "hour {hour}"
            );
        }
    }
    clock.advance(chrono::Duration::minutes(61));
    let out = chat.send(Event::Text(iin(9))).await;
    assert_eq!(keys(&out), ["identity-too-many"]);
    assert_eq!(arg(&out[0], "period"), "day");
    // A day after the first attempts, the chat may try again.
    clock.advance(chrono::Duration::hours(20));
    assert_eq!(chat.text(&iin(9)).await, ["identity-mismatch"]);
    core.store.close().await;
}

mod limits {
    ashyq_on_both!(super::limits);
}

// ---------------------------------------------------------------- re-check of older registrations

async fn recheck(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    // Registered before the registry with someone else's IIN.
    support::identity_pair(&core, &iin(20), &phone(20)).await;
    let squatter = legacy(&core, "squatter", &phone(21), &iin(20)).await;
    feeds::ingest_pcr(&core, vec![positive(&iin(20), "r-1")], None)
        .await
        .unwrap();
    assert!(
        queued(&core.store, &squatter.chat).await.is_empty(),
        "no notice before the re-check"
    );
    assert_eq!(
        squatter.command("status").await,
        ["identity-recheck-mismatch", "iin-prompt"]
    );
    assert_eq!(bound_people(&core.store).await, 0);
    assert_eq!(
        squatter.command("status").await,
        ["hint-register-first", "iin-prompt"]
    );

    // Registered before with their own IIN: confirmed on the next status, silently.
    support::identity_pair(&core, &iin(21), &phone(22)).await;
    let honest = legacy(&core, "honest", &phone(22), &iin(21)).await;
    assert_eq!(honest.command("status").await, ["status-reply"]);
    let mut conn = core.store.pool().acquire().await.unwrap();
    let person = conversations::load(&mut conn, &honest.chat)
        .await
        .unwrap()
        .unwrap()
        .person_id
        .unwrap();
    assert!(
        ashyq::storage::identity::verified_at(&mut conn, person)
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);

    // Registered before, registry silent: waits like a new registration.
    let unsure = legacy(&core, "unsure", &phone(23), &iin(22)).await;
    assert_eq!(
        unsure.command("status").await,
        ["identity-recheck", "identity-pending"]
    );
    assert_eq!(state(&unsure).await, r#"{"step":"identity_pending"}"#);
    support::identity_pair(&core, &iin(22), &phone(23)).await;
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(run_due(&core, core.now_ms()).await.unwrap(), 1);
    assert_eq!(unsure.command("status").await, ["status-reply"]);
    core.store.close().await;
}

mod recheck {
    ashyq_on_both!(super::recheck);
}

// ---------------------------------------------------------------- check-in verdicts

async fn checkin_needs_a_verified_binding(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    let cafe = ashyq::core::checkin::admin::add_venue(
        &core,
        &ashyq::core::checkin::admin::AddVenue {
            name: "Cafe Alma".into(),
            bin: "051040001237".into(),
            address: "Almaty, Abai 10".into(),
            region: "Almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "ashyq_bot",
    )
    .await
    .expect("venue");
    support::identity_pair(&core, &iin(30), &phone(30)).await;
    let squatter = legacy(&core, "squatter", &phone(31), &iin(30)).await;
    let token = cafe.entrances[0].entry_token.clone();
    let out = squatter.send(support::command("start", &token)).await;
    assert_eq!(keys(&out), ["identity-recheck-mismatch", "iin-prompt"]);
    assert_eq!(count(&core.store, "checkins").await, 0);
    // A verified person checks in with a colour.
    let honest = up_to_iin(&core, "honest", &phone(30)).await;
    assert_eq!(honest.text(&iin(30)).await, ["registered"]);
    let out = honest.send(support::command("start", &token)).await;
    assert_eq!(keys(&out), ["checkin-result"]);
    assert_eq!(arg(&out[0], "colour"), "blue");
    core.store.close().await;
}

mod checkin_gate {
    ashyq_on_both!(super::checkin_needs_a_verified_binding);
}

// ---------------------------------------------------------------- vouchers

const SCHOOL: &str = "210540012341";

async fn vouchers(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    wallet::set_school(&core, SCHOOL, "School-lyceum No. 5", None)
        .await
        .unwrap();
    let parent_iin = iin(40);
    let list_phone = phone(40);
    let pupil = Iin::synthetic(NaiveDate::from_ymd_opt(2017, 2, 1).unwrap(), Sex::Male, 7).expose();
    let csv = format!(
        "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n{pupil},2,{SCHOOL},{parent_iin},{list_phone},0\n"
    );
    eligibility::import_csv(&core, std::io::Cursor::new(csv.into_bytes()), &|_| {})
        .await
        .unwrap();
    // Someone registered before the registry with the parent's IIN (and another phone).
    let squatter = legacy(&core, "squatter", &phone(41), &parent_iin).await;
    // The offer goes to the list's phone by SMS (no chat has that phone); the parent accepts.
    campaign::offer(&core, None, &|_, _| {}).await.unwrap();
    let sms = ChatRef::new(
        ashyq::adapters::sms::CHANNEL,
        hex::encode(core.vault.lookup_hash(Field::Phone, &list_phone)),
    );
    let by_sms = Chat {
        core: core.clone(),
        chat: sms.clone(),
        hint: None,
    };
    by_sms.send(Event::Text("1#1".into())).await;
    let (voucher,): (i64,) = sqlx::query_as("SELECT id FROM wallet_vouchers")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    // The unverified IIN gives the squatter no voucher.
    assert_eq!(squatter.command("wallet").await, ["wallet-none"]);
    assert_eq!(
        squatter.button(&format!("wl:act:{voucher}")).await,
        ["wallet-voucher-unavailable"]
    );
    // Someone whose IIN the registry refused: not registered, no voucher.
    support::identity_pair(&core, &parent_iin, &list_phone).await;
    let intruder = up_to_iin(&core, "intruder", &phone(42)).await;
    assert_eq!(intruder.text(&parent_iin).await, ["identity-mismatch"]);
    assert_eq!(
        intruder.button(&format!("wl:act:{voucher}")).await,
        ["wallet-register-first"]
    );
    let (activated,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM wallet_vouchers WHERE activated_at IS NOT NULL")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(activated, 0);
    // The parent registers with the list's phone: the IIN moves from the squatter.
    let parent = up_to_iin(&core, "parent", &list_phone).await;
    assert_eq!(parent.text(&parent_iin).await, ["registered"]);
    assert_eq!(
        queued_keys(&queued(&core.store, &squatter.chat).await),
        ["identity-binding-moved"]
    );
    let before_sms = queued(&core.store, &sms).await.len();

    // The parent activates: told by SMS on the list's phone too.
    let out = parent
        .send(Event::Button(format!("wl:act:{voucher}")))
        .await;
    assert_eq!(keys(&out), ["wallet-activated"]);
    let told = queued(&core.store, &sms).await;
    assert_eq!(
        queued_keys(&told[before_sms..]),
        ["identity-sms-voucher-activated"]
    );

    // The parent's IIN confirmed for another number (the parent's second phone): that chat
    // acts by the verified IIN, not the list's phone; a reissue is told by SMS as well.
    support::identity_pair(&core, &parent_iin, &phone(43)).await;
    let second = up_to_iin(&core, "second", &phone(43)).await;
    assert_eq!(second.text(&parent_iin).await, ["registered"]);
    let out = second
        .send(Event::Button(format!("wl:new:{voucher}")))
        .await;
    assert_eq!(keys(&out), ["wallet-reissued"]);
    let code = arg(&out[0], "code");
    let told = queued(&core.store, &sms).await;
    assert_eq!(
        queued_keys(&told[before_sms..]),
        [
            "identity-sms-voucher-activated",
            "identity-sms-voucher-reissued"
        ]
    );
    // One binding per IIN: the first chat was told it moved, and neither it nor the
    // squatter reaches the voucher any more.
    assert_eq!(
        queued_keys(&queued(&core.store, &parent.chat).await),
        ["identity-binding-moved"]
    );
    assert_ne!(parent.command("wallet").await, ["wallet-voucher"]);
    assert_ne!(squatter.command("wallet").await, ["wallet-voucher"]);
    assert_eq!(second.command("wallet").await, ["wallet-voucher"]);
    // A meal is no longer announced in the chat that lost the binding, but in the chat of
    // the verified parent who acted on the voucher since.
    let link = wallet::canteen_invite(&core, SCHOOL, "ashyq_bot")
        .await
        .unwrap();
    let op = Chat::new(&core, "canteen", Some("ru"));
    let token = link.split("start=").nth(1).unwrap().to_string();
    assert_eq!(
        keys(&op.send(support::command("start", &token)).await),
        ["canteen-invite-accepted"]
    );
    let granted = wallet::redeem(&core, &op.chat, &code).await.unwrap();
    assert!(
        matches!(granted, wallet::Redemption::Granted { .. }),
        "{granted:?}"
    );
    assert_eq!(
        queued_keys(&queued(&core.store, &parent.chat).await),
        ["identity-binding-moved"]
    );
    // The verified parent's action (the reissue) took the notices over.
    assert_eq!(
        queued_keys(&queued(&core.store, &second.chat).await),
        ["wallet-meal-notice"]
    );
    core.store.close().await;
}

mod vouchers {
    ashyq_on_both!(super::vouchers);
}

// ---------------------------------------------------------------- feeding the table

async fn post(router: &Router, auth: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::post("/api/v1/identity")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {auth}"));
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

async fn feeding(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    let router = ashyq::http::app(ashyq::http::HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    });
    let key = feeds::create_api_key(&core, "mcdb", &["identity".into()])
        .await
        .unwrap()
        .secret;
    let other = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap()
        .secret;
    let body = json!({"items": [
        {"iin": iin(50), "phone": "8 (701) 000-00-50"},
        {"iin": "900101300018", "phone": "+77010000051"},
        {"iin": iin(51), "phone": "call me"},
        {"iin": iin(52), "phone": "7010000052", "remove": false},
    ]});
    let (s, _) = post(&router, &other, body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = post(&router, &key, body.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["added"], 2);
    assert_eq!(v["items"][0]["index"], 1);
    assert_eq!(v["items"][1]["index"], 2);
    let (_, v) = post(&router, &key, body).await;
    assert_eq!(v["added"], 0);
    assert_eq!(v["duplicates"], 2);
    // Only keyed hashes are stored.
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM identity_pairs")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 2);
    // The phone in any written form matches the contact the messenger shares.
    let chat = up_to_iin(&core, "fed", "77010000050").await;
    assert_eq!(chat.text(&iin(50)).await, ["registered"]);
    // A pair removed (the number recycled).
    let (s, v) = post(
        &router,
        &key,
        json!({"items": [{"iin": iin(52), "phone": "+7 701 000 00 52", "remove": true}]}),
    )
    .await;
    assert_eq!((s, v["removed"].clone()), (StatusCode::OK, json!(1)));

    // CSV import: any phone form, bad rows by line, idempotent.
    let csv = format!(
        "iin,phone\n{},+7 701 000 00 60\n{},87010000061\nnot-an-iin,+77010000062\n{},12\n",
        iin(60),
        iin(61),
        iin(62)
    );
    let report = table::import_csv(&core, std::io::Cursor::new(csv.clone()), false, &())
        .await
        .unwrap();
    assert_eq!(report.added, 2);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, [4, 5]);
    let again = table::import_csv(&core, std::io::Cursor::new(csv), false, &())
        .await
        .unwrap();
    assert_eq!((again.added, again.duplicates), (0, 2));
    let bad = table::import_csv(&core, std::io::Cursor::new("a,b\n1,2\n"), false, &()).await;
    assert!(bad.is_err());
    // The OpenAPI document describes the feed and the registry protocol.
    let doc = ashyq::http::feeds::openapi_document();
    assert!(doc["paths"]["/api/v1/identity"]["post"].is_object());
    assert_eq!(
        doc["components"]["schemas"]["IdentityCheck"]["required"],
        json!(["iin", "phone"])
    );
    core.store.close().await;
}

mod feeding {
    ashyq_on_both!(super::feeding);
}

// ---------------------------------------------------------------- the http registry

#[derive(Default)]
struct Gateway {
    /// Scripted answers `(status, body, delay ms)`; empty: 200 match.
    script: VecDeque<(u16, &'static str, u64)>,
    /// Every request: `(authorization, body)`.
    seen: Vec<(String, Value)>,
}

async fn fake_gateway() -> (String, Arc<Mutex<Gateway>>) {
    let state = Arc::new(Mutex::new(Gateway::default()));
    let shared = state.clone();
    let app = Router::new().route(
        "/check",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let shared = shared.clone();
                async move {
                    let (status, text, delay) = {
                        let mut g = shared.lock().unwrap();
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        g.seen
                            .push((auth, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                        g.script
                            .pop_front()
                            .unwrap_or((200, r#"{"result":"match"}"#, 0))
                    };
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    (StatusCode::from_u16(status).unwrap(), text.to_string())
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/check"), state)
}

fn options() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_millis(300),
        retries: 2,
        backoff: Duration::from_millis(5),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(300),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_registry_retries_times_out_and_breaks_the_circuit() {
    let (url, gw) = fake_gateway().await;
    let registry = HttpRegistry::new(&url, "secret-key", options());
    let i = Iin::parse(&iin(70)).unwrap();
    let p = Phone::parse("+7 701 000 00 70").unwrap();

    // The answer, with only the two numbers sent and the key as bearer.
    assert_eq!(registry.check(&i, &p).await.unwrap(), Verdict::Match);
    {
        let g = gw.lock().unwrap();
        assert_eq!(g.seen.len(), 1);
        assert_eq!(g.seen[0].0, "Bearer secret-key");
        assert_eq!(
            g.seen[0].1,
            json!({"iin": iin(70), "phone": "+77010000070"})
        );
    }
    for (body, verdict) in [
        (r#"{"result":"mismatch"}"#, Verdict::Mismatch),
        (r#"{"result":"unknown"}"#, Verdict::Unknown),
    ] {
        gw.lock().unwrap().script.push_back((200, body, 0));
        assert_eq!(registry.check(&i, &p).await.unwrap(), verdict);
    }

    // 503 twice, then an answer: retried.
    gw.lock().unwrap().seen.clear();
    gw.lock()
        .unwrap()
        .script
        .extend([(503, "", 0), (429, "", 0)]);
    assert_eq!(registry.check(&i, &p).await.unwrap(), Verdict::Match);
    assert_eq!(gw.lock().unwrap().seen.len(), 3);

    // A 400 is not retried; an unreadable answer is an error, not a verdict.
    gw.lock().unwrap().seen.clear();
    gw.lock().unwrap().script.push_back((400, "", 0));
    assert!(matches!(
        registry.check(&i, &p).await,
        Err(RegistryError::Unavailable(_))
    ));
    assert_eq!(gw.lock().unwrap().seen.len(), 1);
    gw.lock()
        .unwrap()
        .script
        .push_back((200, r#"{"result":"perhaps"}"#, 0));
    assert!(registry.check(&i, &p).await.is_err());

    // A slow gateway times out (and is retried, then given up).
    gw.lock().unwrap().seen.clear();
    gw.lock()
        .unwrap()
        .script
        .extend([(200, r#"{"result":"match"}"#, 1000); 3]);
    let started = std::time::Instant::now();
    assert!(registry.check(&i, &p).await.is_err());
    assert!(started.elapsed() < Duration::from_millis(2000));
    assert_eq!(gw.lock().unwrap().seen.len(), 3);

    // Three failed look-ups in a row (the 400, the unreadable answer, the timeout) open the
    // circuit: the next look-up fails at once, without a request.
    assert!(registry.circuit_open());
    gw.lock().unwrap().seen.clear();
    assert!(matches!(
        registry.check(&i, &p).await,
        Err(RegistryError::CircuitOpen)
    ));
    assert!(gw.lock().unwrap().seen.is_empty());
    // After the cool-down one trial goes through; when it fails the circuit reopens at once.
    tokio::time::sleep(Duration::from_millis(350)).await;
    gw.lock().unwrap().script.extend([(500, "", 0); 3]);
    assert!(registry.check(&i, &p).await.is_err());
    assert_eq!(gw.lock().unwrap().seen.len(), 3);
    assert!(registry.circuit_open());
    // After the cool-down a trial goes through and closes it.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(registry.check(&i, &p).await.unwrap(), Verdict::Match);
    assert!(!registry.circuit_open());
}

/// Registration with the `http` registry: a live match registers, a gateway that is down
/// leaves the person waiting (and the job settles it when the gateway answers).
async fn http_registration(db: &TestDb) {
    let (url, gw) = fake_gateway().await;
    let clock = ManualClock::new(at(NOW));
    let registry: Arc<dyn IdentityRegistry> = Arc::new(HttpRegistry::new(&url, "k", options()));
    let core = support::core_built(db, &clock, |c| c.with_identity(registry)).await;
    let a = up_to_iin(&core, "a", &phone(80)).await;
    assert_eq!(a.text(&iin(80)).await, ["registered"]);
    // Asked once, before the event's transaction (core::identity::prefetch).
    assert_eq!(gw.lock().unwrap().seen.len(), 1);
    gw.lock().unwrap().script.extend([(503, "", 0); 3]);
    let b = up_to_iin(&core, "b", &phone(81)).await;
    assert_eq!(b.text(&iin(81)).await, ["identity-pending"]);
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(run_due(&core, core.now_ms()).await.unwrap(), 1);
    assert_eq!(
        queued_keys(&queued(&core.store, &b.chat).await),
        ["identity-confirmed"]
    );
    // Registered before the registry: the gateway is not called inside the status event;
    // the job asks it and settles.
    let old = legacy(&core, "old", &phone(82), &iin(82)).await;
    gw.lock().unwrap().seen.clear();
    assert_eq!(
        old.command("status").await,
        ["identity-recheck", "identity-pending"]
    );
    assert!(gw.lock().unwrap().seen.is_empty());
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(run_due(&core, core.now_ms()).await.unwrap(), 1);
    assert_eq!(gw.lock().unwrap().seen.len(), 1);
    assert_eq!(old.command("status").await, ["status-reply"]);
    core.store.close().await;
}

mod http_registration {
    ashyq_on_both!(super::http_registration);
}

// ---------------------------------------------------------------- no set-up needed

/// `ashyq chat` feeds its demo pair, so the README's piped script registers with no set-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_chat_registers_its_demo_person_without_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Iin::synthetic(
        NaiveDate::from_ymd_opt(1990, 5, 17).unwrap(),
        Sex::Female,
        1234,
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["chat", "--lang", "ru"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("c.db").display()),
        )
        .env("ASHYQ_SECRET_KEY", support::SECRET)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ashyq chat");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        let script = format!("/start\n1\n/contact\n{}\n/status\n/quit\n", demo.expose());
        stdin.write_all(script.as_bytes()).await.unwrap();
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("chat finished")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Регистрация завершена"), "{text}");
    assert!(!text.contains("базе мобильных граждан"), "{text}");
}

/// `serve` warns at start while the table registry has no pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_table_is_warned_about() {
    let logs = support::captured_logs();
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at(NOW));
    let core = support::core(&db, &clock).await;
    let warnings = || {
        String::from_utf8_lossy(&logs.0.lock().unwrap())
            .matches("the identity table is empty")
            .count()
    };
    let before = warnings();
    assert!(ashyq::core::identity::warn_if_empty(&core).await);
    assert!(warnings() > before);
    support::identity_pair(&core, &iin(99), &phone(99)).await;
    assert!(!ashyq::core::identity::warn_if_empty(&core).await);
    core.store.close().await;
}
