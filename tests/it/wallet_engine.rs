//! School meals on the voucher engine, on SQLite and PostgreSQL: the migration that moves
//! canteens onto providers keeps vouchers, operators, invites and the ledger's chain; the
//! wallet's main-menu button; the parents' morning QR (opt-in, the leader-run job, the
//! outbox, once a school day); the audit export of every action with masked personal data.

use crate::support;
use crate::wallet::{
    MONDAY, PHONE_A, PHONE_B, SCHOOL, families, operator, parent, press, qr_text, queued_for,
    redeem_photo, register, wallet_core,
};

use ashyq::clock::{Clock, ManualClock};
use ashyq::core::vouchers::ledger::{self, Action, EntryV2};
use ashyq::core::vouchers::{VoucherKind, audit};
use ashyq::core::wallet;
use ashyq::core::{Core, Event};
use ashyq::storage::wallet::LedgerRow;
use ashyq::storage::{ChatRef, Store};
use chrono::NaiveDate;
use std::sync::Arc;
use support::{Chat, TestDb, at, buttons, command, keys};

fn morning(day: &str, time: &str) -> chrono::DateTime<chrono::Utc> {
    at(&format!("{day}T{time}:00+05:00"))
}

async fn morning_codes(core: &Core, chat: &ChatRef) -> Vec<ashyq::core::Outbound> {
    queued_for(&core.store, chat)
        .await
        .into_iter()
        .filter(|o| o.text.key() == "wallet-morning-qr")
        .collect()
}

async fn menu_button_and_morning_qr(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;
    assert_eq!(
        press(&a, &format!("wl:act:{}", v[0])).await.text.key(),
        "wallet-activated"
    );

    // The wallet is on the main menu (Russian label here, the parent's language).
    let list = a.send(Event::Text("👛 Социальный кошелёк".into())).await;
    assert_eq!(keys(&list), ["wallet-voucher"; 3]);
    assert_eq!(
        buttons(&list[0]),
        [
            format!("wl:qr:{}", v[0]),
            format!("wl:new:{}", v[0]),
            format!("wl:am:{}:1", v[0]),
        ]
    );
    // Only the parent, only an active voucher.
    let b = register(&core, "parent-b", PHONE_B, &parent(2)).await;
    assert_eq!(
        b.button(&format!("wl:am:{}:1", v[0])).await,
        ["wallet-voucher-unavailable"]
    );
    assert_eq!(
        a.button(&format!("wl:am:{}:1", v[1])).await,
        ["wallet-voucher-unavailable"],
        "not activated"
    );
    assert_eq!(
        a.button(&format!("wl:am:{}:1", v[0])).await,
        ["wallet-morning-on"]
    );
    let list = a.send(command("wallet", "")).await;
    assert!(buttons(&list[0]).contains(&format!("wl:am:{}:0", v[0])));

    // The job runs under a leader lock with the others.
    assert!(
        ashyq::core::job::all()
            .iter()
            .any(|j| j.name() == "wallet-morning-qr")
    );
    // Before 07:00 nothing; at 07:05 on a school day one QR, queued once.
    assert_eq!(
        wallet::send_morning_codes(&core, morning("2026-11-24", "06:55"))
            .await
            .unwrap(),
        0
    );
    clock.set(morning("2026-11-24", "07:05"));
    assert_eq!(
        wallet::send_morning_codes(&core, clock.now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        wallet::send_morning_codes(&core, clock.now())
            .await
            .unwrap(),
        0
    );
    let codes = morning_codes(&core, &a.chat).await;
    assert_eq!(codes.len(), 1);
    let text = ashyq::i18n::Texts::load().render(ashyq::domain::Lang::Ru, &codes[0].text);
    assert!(text.contains("Доброе утро"), "{text}");
    // The QR in it is the day's meal code: the canteen serves it.
    let qr = qr_text(&codes[0]);
    assert!(qr.starts_with("SW"));
    let op = operator(&core, "canteen-am", SCHOOL).await;
    assert_eq!(
        redeem_photo(&op, &qr).await.text.key(),
        "wallet-redeem-granted"
    );
    // Saturday: no school, nothing sent.
    clock.set(morning("2026-11-28", "07:05"));
    assert_eq!(
        wallet::send_morning_codes(&core, clock.now())
            .await
            .unwrap(),
        0
    );
    // Monday again: the next one. After opting out: none.
    clock.set(morning("2026-11-30", "07:30"));
    assert_eq!(
        wallet::send_morning_codes(&core, clock.now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        a.button(&format!("wl:am:{}:0", v[0])).await,
        ["wallet-morning-off"]
    );
    clock.set(morning("2026-12-01", "07:30"));
    assert_eq!(
        wallet::send_morning_codes(&core, clock.now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(morning_codes(&core, &a.chat).await.len(), 2);
    core.store.close().await;
}

mod morning_qr {
    ashyq_on_both!(super::menu_button_and_morning_qr);
}

async fn audit_export(db: &TestDb) {
    let clock = ManualClock::new(at(MONDAY));
    let core = wallet_core(db, &clock).await;
    let (a, v) = families(&core).await;
    let qr = qr_text(&press(&a, &format!("wl:act:{}", v[0])).await);
    let op = operator(&core, "canteen-op-77", SCHOOL).await;
    assert_eq!(
        redeem_photo(&op, &qr).await.text.key(),
        "wallet-redeem-granted"
    );
    // A refused attempt by someone who is not an operator, and an entry of another kind.
    let stranger = Chat::new(&core, "stranger-4242", Some("ru"));
    let _ = stranger.send(command("menu", "x")).await;
    let mut tx = core.store.begin().await.unwrap();
    ledger::append_v2(
        &mut tx,
        VoucherKind::Medicine,
        Action::Redemption,
        &EntryV2 {
            voucher_id: Some(1),
            provider_bin: Some("180340021791"),
            day: Some("2026-11-23"),
            item: Some("Paracetamol 500 mg, ИИН 900101300017"),
            quantity: Some(2),
            ..Default::default()
        },
        core.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut out = Vec::new();
    let summary = audit::export(&core, day, day, &mut out).await.unwrap();
    let csv = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], audit::HEADER);
    assert_eq!(lines.len(), 1 + summary.ledger_rows + summary.audit_rows);
    // 3 offers, 3 consents, 1 activation, 1 meal, 1 dispensing.
    assert_eq!(summary.ledger_rows, 9, "{csv}");
    assert!(summary.audit_rows >= 2, "{csv}"); // the stranger's /menu, the late invite
    let find = |pred: &dyn Fn(&str) -> bool| {
        lines
            .iter()
            .find(|l| pred(l))
            .unwrap_or_else(|| panic!("no such line in\n{csv}"))
            .to_string()
    };
    let meal = find(&|l| l.contains(",ledger,") && l.contains(",meal,redemption,"));
    assert!(meal.contains(",test:…p-77,"), "{meal}");
    assert!(meal.starts_with("2026-11-23T10:00:00+05:00,"), "{meal}");
    let consent = find(&|l| l.contains(",meal,consent,"));
    assert!(consent.contains(",test:…nt-a,"), "{consent}");
    let med = find(&|l| l.contains(",medicine,redemption,"));
    assert!(med.contains(",provider:180340021791,"), "{med}");
    assert!(
        med.contains("Paracetamol 500 mg") && med.contains(",2,"),
        "{med}"
    );
    let refused = find(&|l| l.contains(",audit,") && l.contains(",menu,not_operator,"));
    assert!(refused.contains("test:…4242"), "{refused}");
    // No IIN, phone or whole chat id anywhere.
    for secret in [
        parent(1),
        crate::wallet::pupil(1),
        "900101300017".to_string(),
        PHONE_A.to_string(),
        PHONE_A.trim_start_matches('+').to_string(),
        "parent-a".into(),
        "stranger-4242".into(),
        "canteen-op-77".into(),
    ] {
        assert!(!csv.contains(&secret), "{secret} in\n{csv}");
    }
    // The day before holds nothing; a reversed period is refused.
    let before = day.pred_opt().unwrap();
    let mut out = Vec::new();
    let s = audit::export(&core, before, before, &mut out)
        .await
        .unwrap();
    assert_eq!((s.ledger_rows, s.audit_rows), (0, 0));
    assert!(
        audit::export(&core, day, before, &mut Vec::new())
            .await
            .is_err()
    );
    core.store.close().await;
}

mod audit_csv {
    ashyq_on_both!(super::audit_export);
}

/// A database as it was before the engine (migrations up to 0015), with a school, a canteen
/// operator, an unused invite, a voucher and two ledger entries; then the engine's
/// migrations: the chain verifies, the operator still operates, the invite still works once,
/// the voucher is there.
async fn migration_keeps_meals(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrator().run_to(15, store.pool()).await.unwrap();
    let pool = store.pool();
    let exec = |sql: &'static str| async move {
        sqlx::query(sql).execute(pool).await.unwrap();
    };
    exec("INSERT INTO wallet_schools (bin, name, created_at) VALUES ('210540012341', 'School No. 5', 1)").await;
    exec("INSERT INTO canteen_staff (school_id, channel, chat_id, added_at) VALUES (1, 'test', 'old-op', 2)").await;
    sqlx::query(
        "INSERT INTO canteen_invites (school_id, token_hash, created_at, expires_at)
         VALUES (1, $1, 3, $2)",
    )
    .bind(ashyq::core::shared::invite::invite_hash("oldsecret"))
    .bind(i64::MAX / 2)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO wallet_pupils (school_year, pupil_hash, pupil_enc, school_id, grade,
            parent_iin_hash, parent_iin_enc, parent_phone_hash, parent_phone_enc,
            social_assistance, eligible, rule, source, imported_at)
         VALUES (2026, $1, $1, 1, 2, $1, $1, $1, $1, 0, 1, 'grades_1_4', 'csv', 4)",
    )
    .bind(vec![7u8; 32])
    .execute(pool)
    .await
    .unwrap();
    exec("INSERT INTO wallet_offers (pupil_id, number, channel, chat_id, created_at, expires_at, answer) VALUES (1, 1, 'test', 'p', 5, 6, 'yes')").await;
    exec("INSERT INTO wallet_vouchers (pupil_id, offer_id, school_id, channel, chat_id, opened_at, valid_until) VALUES (1, 1, 1, 'test', 'p', 7, 99999999999999)").await;
    // Two version-1 entries written as before the engine (only the old columns exist).
    let mut prev = vec![0u8; 32];
    for (seq, kind) in [(1i64, "offer"), (2, "consent")] {
        let mut row = LedgerRow {
            seq,
            at: 10 + seq,
            kind: kind.into(),
            voucher_id: (seq == 2).then_some(1),
            offer_id: Some(1),
            pupil_id: Some(1),
            school_bin: Some("210540012341".into()),
            prev_hash: prev.clone(),
            ..Default::default()
        };
        row.hash = ledger::hash_of(&prev, &row);
        sqlx::query(
            "INSERT INTO wallet_ledger (seq, at, kind, voucher_id, offer_id, pupil_id, meal_id,
                school_bin, supplier_bin, day, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL, NULL, $8, $9)",
        )
        .bind(row.seq)
        .bind(row.at)
        .bind(&row.kind)
        .bind(row.voucher_id)
        .bind(row.offer_id)
        .bind(row.pupil_id)
        .bind(&row.school_bin)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("UPDATE wallet_ledger_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&row.hash)
            .execute(pool)
            .await
            .unwrap();
        prev = row.hash;
    }
    store.close().await;

    // The engine's migrations (Store::open applies the rest).
    let clock = ManualClock::new(at(MONDAY));
    let core: Arc<Core> = support::core(db, &clock).await;
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ledger::verify(&mut conn).await.unwrap();
    assert_eq!(v.first_problem, None, "{v:?}");
    assert_eq!((v.entries, v.by_kind.get("meal")), (2, Some(&2)));
    let schools =
        ashyq::storage::wallet::canteen_schools(&mut conn, &ChatRef::new("test", "old-op"))
            .await
            .unwrap();
    assert_eq!(schools.len(), 1);
    assert_eq!(schools[0].name, "School No. 5");
    let voucher = ashyq::storage::wallet::voucher(&mut conn, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (voucher.school_bin.as_str(), voucher.morning_qr),
        (SCHOOL, 0)
    );
    drop(conn);
    // The invite sent before the migration works, once.
    let new_op = Chat::new(&core, "new-op", Some("ru"));
    assert_eq!(
        keys(&new_op.send(command("start", "cnt_oldsecret")).await),
        ["canteen-invite-accepted"]
    );
    assert_eq!(
        keys(
            &Chat::new(&core, "x", None)
                .send(command("start", "cnt_oldsecret"))
                .await
        ),
        ["canteen-invite-invalid"]
    );
    // New entries chain on: the meal kind's line stays version 1.
    let mut tx = core.store.begin().await.unwrap();
    ledger::append(
        &mut tx,
        Action::Activation,
        &Default::default(),
        core.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut conn = core.store.pool().acquire().await.unwrap();
    assert_eq!(ledger::verify(&mut conn).await.unwrap().first_problem, None);
    drop(conn);
    core.store.close().await;
}

mod migration {
    ashyq_on_both!(super::migration_keeps_meals);
}
