//! Club vouchers, the second kind on the voucher engine, on SQLite and PostgreSQL: the list
//! (CSV, bad rows by line, idempotent), the parent's offer and answer, the child's
//! short-lived QR, attendance by photo and typed code at the club, the parent's notice with
//! what is left, refusals (not accepted, another club, twice a day, none left, expired, a
//! meal QR at a club), no carry-over into the next month, the monthly act from the ledger,
//! and 20 simultaneous scans of one code.

use crate::support;
use crate::wallet::{
    HEADER, MONDAY, PHONE_A, PHONE_B, SCHOOL, SMS_SECRET, parent, pupil, qr_text, queued_for,
    register, row, sms_chat, wallet_core,
};

use ashyq::clock::{Clock, ManualClock};
use ashyq::core::vouchers::qr::{QrKeys, VoucherToken};
use ashyq::core::vouchers::{ProviderKind, VoucherKind, ledger, providers};
use ashyq::core::wallet::{self, Attendance};
use ashyq::core::{Core, Event};
use ashyq::storage::ChatRef;
use std::sync::Arc;
use support::{Chat, TestDb, arg, at, buttons, command, keys};

const CLUB: &str = "051040001237";
const CLUB2: &str = "190940001116";

async fn club_operator(core: &Arc<Core>, id: &str, bin: &str) -> Chat {
    let link = providers::invite(core, ProviderKind::Club, bin, "ashyq_bot")
        .await
        .unwrap();
    let payload = link.split("start=").nth(1).unwrap().to_string();
    let op = Chat::new(core, id, Some("ru"));
    assert_eq!(
        keys(&op.send(command("start", &payload)).await),
        ["voucher-provider-joined"]
    );
    op
}

async fn import(core: &Core, csv: &str) -> wallet::ClubImportReport {
    wallet::import_clubs(core, std::io::Cursor::new(csv.to_string().into_bytes()))
        .await
        .unwrap()
}

fn list(rows: &[(String, &str, &str, String, &str)]) -> String {
    let mut csv = "pupil_iin,club_bin,sessions_per_month,parent_iin,parent_phone\n".to_string();
    for (p, club, n, par, phone) in rows {
        csv += &format!("{p},{club},{n},{par},{phone}\n");
    }
    csv
}

async fn photo(op: &Chat, text: &str) -> Vec<String> {
    keys(&op.send(Event::Image(support::images::qr_png(text))).await)
}

async fn club_sessions(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    providers::set(&core, ProviderKind::Club, CLUB, "Chess club")
        .await
        .unwrap();
    providers::set(&core, ProviderKind::Club, CLUB2, "Dombra club")
        .await
        .unwrap();
    let op = club_operator(&core, "club-op", CLUB).await;
    let op2 = club_operator(&core, "club2-op", CLUB2).await;
    let a = register(&core, "parent-a", PHONE_A, &parent(1)).await;

    // The list: one good row, a bad count, a repeated child, a bad phone.
    let good = (pupil(1), CLUB, "3", parent(1), PHONE_A);
    let csv = list(&[
        good.clone(),
        (pupil(2), CLUB, "0", parent(1), PHONE_A),
        good.clone(),
        (pupil(3), CLUB, "4", parent(1), "12345"),
    ]);
    let report = import(&core, &csv).await;
    assert_eq!(
        (report.accepted, report.offered, report.duplicates),
        (1, 1, 0)
    );
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, [3, 4, 5], "{:?}", report.rejected);
    let again = import(&core, &list(std::slice::from_ref(&good))).await;
    assert_eq!((again.accepted, again.duplicates), (0, 1));
    let changed = import(&core, &list(&[(pupil(1), CLUB, "8", parent(1), PHONE_A)])).await;
    assert_eq!(changed.rejected.len(), 1, "a changed row is refused");
    // The offer reached the registered parent, with its two buttons.
    let offers: Vec<_> = queued_for(&core.store, &a.chat)
        .await
        .into_iter()
        .filter(|o| o.text.key() == "club-voucher")
        .collect();
    assert_eq!(offers.len(), 1);
    let id: i64 = {
        let (id,): (i64,) = sqlx::query_as("SELECT id FROM club_vouchers")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
        id
    };
    assert_eq!(
        buttons(&offers[0]),
        [format!("wl:cl:{id}:1"), format!("wl:cl:{id}:0")]
    );

    // Not accepted yet: the club refuses a code (made here with the wallet's keys).
    let keys_ = QrKeys::new(core.vault.signing_key());
    let early = keys_.sign(&VoucherToken::new(VoucherKind::Club, id, 1, core.now_ms()));
    assert_eq!(photo(&op, &early).await, ["club-not-accepted"]);
    // Only the parent answers; once.
    let b = register(&core, "parent-b", PHONE_B, &parent(2)).await;
    assert_eq!(
        b.button(&format!("wl:cl:{id}:1")).await,
        ["wallet-voucher-unavailable"]
    );
    assert_eq!(
        b.button(&format!("wl:cq:{id}")).await,
        ["wallet-voucher-unavailable"]
    );
    let listed = a.send(command("wallet", "")).await;
    assert_eq!(keys(&listed), ["club-voucher"]);
    assert_eq!(arg(&listed[0], "status"), "offered");
    assert_eq!(a.button(&format!("wl:cl:{id}:1")).await, ["club-accepted"]);
    assert_eq!(
        a.button(&format!("wl:cl:{id}:0")).await,
        ["club-already-answered"]
    );

    // The child's QR: a photo of it at the club marks session 1 of 3; the parent is told.
    let qr_reply = a.send(Event::Button(format!("wl:cq:{id}"))).await;
    assert_eq!(keys(&qr_reply), ["club-qr"]);
    let qr = qr_text(&qr_reply[0]);
    assert!(qr.starts_with("SV"), "{qr}");
    let marked = op.send(Event::Image(support::images::qr_png(&qr))).await;
    assert_eq!(keys(&marked), ["club-session-marked"]);
    assert_eq!(
        (arg(&marked[0], "number"), arg(&marked[0], "left")),
        ("1".into(), "2".into())
    );
    let notices: Vec<_> = queued_for(&core.store, &a.chat)
        .await
        .into_iter()
        .filter(|o| o.text.key() == "club-session-notice")
        .collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (arg(&notices[0], "left"), arg(&notices[0], "club")),
        ("2".into(), "Chess club".into())
    );
    // Twice a day, another club, a meal QR at a club: clear answers.
    assert_eq!(photo(&op, &qr).await, ["club-already-today"]);
    assert_eq!(photo(&op2, &qr).await, ["club-another-club"]);
    let meal = ashyq::core::wallet::token::MealKeys::new(core.vault.signing_key()).sign(
        &ashyq::core::wallet::token::MealToken {
            voucher_id: 1,
            generation: 1,
            day: clock.now().date_naive(),
        },
    );
    let wrong = op.send(Event::Image(support::images::qr_png(&meal))).await;
    assert_eq!(keys(&wrong), ["voucher-qr-wrong-kind"]);
    assert_eq!(arg(&wrong[0], "shown"), "meal");
    // Tuesday: yesterday's QR has expired; a fresh one, typed, marks session 2.
    clock.set(at("2026-11-24T15:00:00+05:00"));
    assert_eq!(photo(&op, &qr).await, ["voucher-qr-expired"]);
    let fresh = a.send(Event::Button(format!("wl:cq:{id}"))).await;
    let typed = arg(&fresh[0], "code");
    assert_eq!(
        op.text(&typed.to_lowercase()).await,
        ["club-session-marked"]
    );
    clock.set(at("2026-11-25T15:00:00+05:00"));
    let code = arg(
        &a.send(Event::Button(format!("wl:cq:{id}"))).await[0],
        "code",
    );
    assert_eq!(op.text(&code).await, ["club-session-marked"]);
    // Thursday: the month's three are used.
    clock.set(at("2026-11-26T15:00:00+05:00"));
    let code = arg(
        &a.send(Event::Button(format!("wl:cq:{id}"))).await[0],
        "code",
    );
    assert_eq!(op.text(&code).await, ["club-none-left"]);
    let listed = a.send(command("wallet", "")).await;
    assert_eq!(arg(&listed[0], "left"), "0");
    // December: three new sessions, nothing carried over.
    clock.set(at("2026-12-01T15:00:00+05:00"));
    let listed = a.send(command("wallet", "")).await;
    assert_eq!(arg(&listed[0], "left"), "3");
    let code = arg(
        &a.send(Event::Button(format!("wl:cq:{id}"))).await[0],
        "code",
    );
    let marked = op.send(Event::Text(code)).await;
    assert_eq!(arg(&marked[0], "left"), "2");

    // The acts count sessions from the ledger; the ledger verifies with every kind.
    let nov = wallet::club_act(&core, CLUB, "2026-11").await.unwrap();
    assert_eq!(nov.sessions, 3);
    assert!(
        nov.csv.contains(&format!("{id},")) && nov.csv.ends_with("TOTAL,,3\n"),
        "{}",
        nov.csv
    );
    assert!(!nov.csv.contains(&pupil(1)), "the child's IIN is masked");
    assert_eq!(
        wallet::club_act(&core, CLUB, "2026-12")
            .await
            .unwrap()
            .sessions,
        1
    );
    assert_eq!(
        wallet::club_act(&core, CLUB2, "2026-11")
            .await
            .unwrap()
            .sessions,
        0
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ledger::verify(&mut conn).await.unwrap();
    assert_eq!(v.first_problem, None);
    // Offer, consent, four sessions.
    assert_eq!(v.by_kind.get("club"), Some(&6), "{v:?}");
    drop(conn);
    core.store.close().await;
}

mod sessions {
    ashyq_on_both!(super::club_sessions);
}

async fn simultaneous_scans(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    providers::set(&core, ProviderKind::Club, CLUB, "Chess club")
        .await
        .unwrap();
    let _op = club_operator(&core, "club-op", CLUB).await;
    let a = register(&core, "parent-a", PHONE_A, &parent(1)).await;
    import(&core, &list(&[(pupil(1), CLUB, "2", parent(1), PHONE_A)])).await;
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM club_vouchers")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(a.button(&format!("wl:cl:{id}:1")).await, ["club-accepted"]);
    let qr = QrKeys::new(core.vault.signing_key()).sign(&VoucherToken::new(
        VoucherKind::Club,
        id,
        1,
        core.now_ms(),
    ));
    let operator = ChatRef::new("test", "club-op");
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let (core, operator, qr) = (core.clone(), operator.clone(), qr.clone());
            tokio::spawn(async move { wallet::club_attend_once(&core, &operator, &qr).await })
        })
        .collect();
    let mut marked = 0;
    for r in runs {
        match r.await.unwrap().unwrap() {
            Attendance::Marked { .. } => marked += 1,
            Attendance::AlreadyToday { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(marked, 1);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM club_sessions")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    core.store.close().await;
}

async fn club_list_over_http(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let router = crate::wallet::router(&core);
    let key = ashyq::core::feeds::create_api_key(&core, "edu", &["clubs".into()])
        .await
        .unwrap()
        .secret;
    let pupils_only = ashyq::core::feeds::create_api_key(&core, "edu2", &["pupils".into()])
        .await
        .unwrap()
        .secret;
    let item = |p: String, n: &str| {
        serde_json::json!({"pupil_iin": p, "club_bin": CLUB, "sessions_per_month": n,
            "parent_iin": parent(1), "parent_phone": PHONE_A})
    };
    let body = serde_json::json!({"items": [item(pupil(1), "4"), item(pupil(2), "40"),
        {"pupil_iin": pupil(3), "shoe_size": 40}]});
    let (status, _) =
        crate::wallet::post(&router, "/api/v1/clubs", Some(&pupils_only), body.clone()).await;
    assert_eq!(status.as_u16(), 403, "a key without the scope");
    let (status, out) =
        crate::wallet::post(&router, "/api/v1/clubs", Some(&key), body.clone()).await;
    assert_eq!(status.as_u16(), 422, "{out}");
    assert_eq!(
        (out["accepted"].as_i64(), out["rejected"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(out["items"][0]["index"], 1);
    assert_eq!(out["items"][1]["index"], 2);
    // Sent again: stored once.
    let (_, out) = crate::wallet::post(&router, "/api/v1/clubs", Some(&key), body).await;
    assert_eq!(
        (out["accepted"].as_i64(), out["duplicates"].as_i64()),
        (Some(0), Some(1))
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM club_vouchers")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    core.store.close().await;
}

mod http {
    ashyq_on_both!(super::club_list_over_http);
}

mod simultaneous {
    ashyq_on_both!(super::simultaneous_scans);
}

/// A parent without a chat: club offers go by SMS in the one numbering of the recipient's
/// offers (meal offers' too) and are answered `N#1` / `N#2` by SMS, as meal offers are.
async fn club_offers_by_sms(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    providers::set(&core, ProviderKind::Club, CLUB, "Chess club")
        .await
        .unwrap();
    providers::set(&core, ProviderKind::Club, CLUB2, "Dombra club")
        .await
        .unwrap();
    let report = import(
        &core,
        &list(&[
            (pupil(1), CLUB, "3", parent(2), PHONE_B),
            (pupil(2), CLUB2, "4", parent(2), PHONE_B),
        ]),
    )
    .await;
    assert_eq!((report.accepted, report.offered), (2, 2));
    // A meal offer to the same number afterwards takes the next number.
    let mut csv = HEADER.to_string();
    csv += &row(&pupil(3), 2, SCHOOL, &parent(2), PHONE_B, "0");
    crate::wallet::import(&core, &csv).await;
    let meals = wallet::campaign::offer(&core, None, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(meals.sms, 1);
    let b = sms_chat(&core, PHONE_B);
    let queued = queued_for(&core.store, &b).await;
    assert_eq!(
        keys(&queued),
        ["club-offer-sms", "club-offer-sms", "wallet-offer"]
    );
    let numbers: Vec<String> = queued.iter().map(|o| arg(o, "number")).collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert_eq!(arg(&queued[1], "club"), "Dombra club");
    assert!(buttons(&queued[0]).is_empty(), "no buttons by SMS");
    // Re-importing the list offers nothing twice.
    let again = import(&core, &list(&[(pupil(1), CLUB, "3", parent(2), PHONE_B)])).await;
    assert_eq!((again.duplicates, again.offered), (1, 0));
    assert_eq!(queued_for(&core.store, &b).await.len(), 3);

    let app = crate::wallet::router(&core);
    let send = |from: &str, text: &str, id: &str| {
        let (app, body) = (
            app.clone(),
            serde_json::json!({"from": from, "text": text, "id": id}),
        );
        async move {
            let (status, _) =
                crate::wallet::post(&app, "/api/v1/sms/inbound", Some(SMS_SECRET), body).await;
            assert_eq!(status.as_u16(), 200);
        }
    };
    let last = |chat: ChatRef| {
        let core = core.clone();
        async move { queued_for(&core.store, &chat).await.pop().expect("a reply") }
    };
    let answers = || async {
        let rows: Vec<(Option<String>,)> =
            sqlx::query_as("SELECT answer FROM club_vouchers ORDER BY id")
                .fetch_all(core.store.pool())
                .await
                .unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
    };
    // Another number answering B's offer 1: unknown, nothing changes.
    send("+77019999999", "1#1", "s0").await;
    let other = last(sms_chat(&core, "+77019999999")).await;
    assert_eq!(other.text.key(), "wallet-offer-unknown");
    assert_eq!(answers().await, [None, None]);
    // Accepted by SMS, once even when the gateway redelivers.
    for _ in 0..2 {
        send(PHONE_B, "1 # 1", "s1").await;
    }
    let r = last(b.clone()).await;
    assert_eq!(r.text.key(), "club-accepted-sms");
    assert_eq!(arg(&r, "number"), "1");
    assert_eq!(answers().await, [Some("yes".to_string()), None]);
    // A second answer changes nothing.
    send(PHONE_B, "1#2", "s2").await;
    let r = last(b.clone()).await;
    assert_eq!(r.text.key(), "wallet-offer-answered");
    assert_eq!(arg(&r, "answer"), "accepted");
    assert_eq!(answers().await, [Some("yes".to_string()), None]);
    // Declined by SMS.
    send(PHONE_B, "2#2", "s3").await;
    assert_eq!(last(b.clone()).await.text.key(), "club-declined-sms");
    assert_eq!(
        answers().await,
        [Some("yes".to_string()), Some("no".to_string())]
    );
    // The meal offer 3 is still the meal's.
    send(PHONE_B, "3#1", "s4").await;
    assert_eq!(
        last(b.clone()).await.text.key(),
        "wallet-consent-accepted-sms"
    );
    send(PHONE_B, "4#1", "s5").await;
    assert_eq!(last(b.clone()).await.text.key(), "wallet-offer-unknown");
    // The ledger: two club offers, one consent, one refusal.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ledger::verify(&mut conn).await.unwrap();
    assert_eq!(v.first_problem, None);
    assert_eq!(v.by_kind.get("club"), Some(&4), "{v:?}");
    drop(conn);
    core.store.close().await;
}

mod by_sms {
    ashyq_on_both!(super::club_offers_by_sms);
}
