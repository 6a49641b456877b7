//! Prescriptions at pharmacies on SQLite and PostgreSQL (issue 17 items 2-4): the feed (HTTP
//! and CSV) with its bad input, the patient's list and short-lived QR, the pharmacist's scan
//! and partial dispensing with the patient's notice, the refusals (expired QR, meal QR at a
//! pharmacy, withdrawn, used, someone else's), 100 concurrent dispensings at two pharmacies,
//! disputes through the health authority's chat and the support desk, and the act.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::prescriptions::{self, PrescriptionSettings, Request, feed};
use ashyq::core::support::SupportSettings;
use ashyq::core::vouchers::{ProviderKind, providers};
use ashyq::core::{Core, Event, Outbound};
use ashyq::domain::{Iin, Sex};
use ashyq::storage::{ChatRef, Store, outbox};
use chrono::NaiveDate;
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Chat, TestDb, arg, at, buttons, command, count, keys};

const PHARMACY_A: &str = "210540012341";
const PHARMACY_B: &str = "190940001116";
const NOW: &str = "2026-11-23T10:00:00+05:00";
const PHONE_P: &str = "+77011110001";
const PHONE_Q: &str = "+77011110002";

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

fn adult(n: u16) -> String {
    iin(1980, 3, 1 + u32::from(n % 27), 300 + n)
}

fn child(n: u16) -> String {
    iin(2015, 5, 1 + u32::from(n % 27), 400 + n)
}

fn item(id: &str, patient: &str, rep: Option<&str>, items: Value) -> Value {
    let mut v = json!({
        "external_id": id,
        "patient_iin": patient,
        "prescriber": "Иванова А. Б.",
        "issued_on": "2026-11-20",
        "expires_on": "2026-12-20",
        "kind": "discounted",
        "patient_share": 30,
        "items": items,
    });
    if let Some(r) = rep {
        v["representative_iin"] = json!(r);
    }
    v
}

fn metformin(q: i64) -> Value {
    json!([{"inn": "Metformin", "form": "tablets 500 mg", "quantity": q, "unit": "pieces"}])
}

async fn rx_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    support::core_built(db, clock, |c| {
        c.with_support(SupportSettings {
            chat: Some(ChatRef::new("test", "support-desk")),
            ..Default::default()
        })
        .with_prescriptions(PrescriptionSettings {
            authority_chat: Some(ChatRef::new("test", "health-authority")),
            ..Default::default()
        })
    })
    .await
}

async fn register(core: &Arc<Core>, id: &str, phone: &str, iin: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: phone.into(),
        own: true,
    })
    .await;
    support::identity_pair(core, iin, phone).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
    chat
}

/// A pharmacy with one pharmacist chat joined by its invitation.
async fn pharmacist(core: &Arc<Core>, bin: &str, name: &str, chat_id: &str) -> Chat {
    providers::set(core, ProviderKind::Pharmacy, bin, name)
        .await
        .unwrap();
    let link = providers::invite(core, ProviderKind::Pharmacy, bin, "ashyq_bot")
        .await
        .unwrap();
    let payload = link.rsplit("start=").next().unwrap().to_string();
    let chat = Chat::new(core, chat_id, Some("ru"));
    let out = chat.send(command("start", &payload)).await;
    assert_eq!(keys(&out), ["voucher-provider-joined"]);
    chat
}

async fn queued_for(store: &Store, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

async fn ingest(core: &Core, items: Vec<Value>) -> ashyq::core::feeds::Report {
    feed::ingest(core, items, None).await.expect("ingest")
}

async fn the_feed_takes_good_prescriptions_and_reports_bad_ones(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = rx_core(db, &clock).await;
    let good = item("RX-1", &adult(1), None, metformin(60));
    let minor = item("RX-2", &child(1), None, metformin(10));
    let minor_ok = item("RX-3", &child(2), Some(&adult(2)), metformin(10));
    let bad_unit = item(
        "RX-4",
        &adult(3),
        None,
        json!([{"inn": "A", "form": "B", "quantity": 1, "unit": "pieces"},
               {"inn": "Insulin", "form": "vial", "quantity": 2, "unit": "doses"}]),
    );
    let zero = item("RX-5", &adult(3), None, metformin(0));
    let negative = item("RX-6", &adult(3), None, metformin(-3));
    let mut free_with_share = item("RX-7", &adult(3), None, metformin(1));
    free_with_share["kind"] = json!("free");
    let report = ingest(
        &core,
        vec![
            good.clone(),
            minor,
            minor_ok,
            bad_unit,
            zero,
            negative,
            free_with_share,
            good.clone(),
        ],
    )
    .await;
    assert_eq!(report.accepted, 2, "{report:?}");
    assert_eq!(report.duplicates, 1, "{report:?}");
    let reasons: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons[0].1.contains("representative_iin"), "{reasons:?}");
    assert!(reasons[1].1.contains("unit"), "{reasons:?}");
    assert!(reasons[2].1.contains("quantity"), "{reasons:?}");
    assert!(reasons[3].1.contains("quantity"), "{reasons:?}");
    assert!(reasons[4].1.contains("patient_share"), "{reasons:?}");
    // Nothing half-written: only the two good prescriptions and their items.
    assert_eq!(count(&core.store, "prescriptions").await, 2);
    assert_eq!(count(&core.store, "prescription_items").await, 2);
    // Nothing in plain text.
    let stored: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT patient_hash, patient_enc FROM prescriptions")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    for (h, e) in stored {
        for bytes in [h, e] {
            assert!(!String::from_utf8_lossy(&bytes).contains(&adult(1)));
        }
    }
    // The same external id with other content is refused; a withdrawal works once.
    let report = ingest(&core, vec![item("RX-1", &adult(1), None, metformin(90))]).await;
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(report.rejected[0].reason.contains("different content"));
    let report = ingest(
        &core,
        vec![
            json!({"external_id": "RX-3", "withdrawn": true}),
            json!({"external_id": "RX-404", "withdrawn": true}),
        ],
    )
    .await;
    assert_eq!(report.withdrawn, 1, "{report:?}");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let report = ingest(
        &core,
        vec![item("RX-3", &child(2), Some(&adult(2)), metformin(10))],
    )
    .await;
    assert!(
        report.rejected[0].reason.contains("withdrawn"),
        "{report:?}"
    );
    // Issues and withdrawals are in the one ledger, which verifies.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ashyq::core::vouchers::ledger::verify(&mut conn)
        .await
        .unwrap();
    assert_eq!(v.first_problem, None);
    assert_eq!(v.by_kind.get("medicine"), Some(&3), "{v:?}");

    // The CSV import: one row per medicine, the rows of one prescription together.
    let csv = format!(
        "{}\n\
         RX-10,{p},,Dr A,2026-11-20,2026-12-20,free,,Amoxicillin,capsules 250 mg,20,pieces,0\n\
         RX-10,{p},,Dr A,2026-11-20,2026-12-20,free,,Paracetamol,syrup 120 mg/5 ml,100,ml,0\n\
         RX-11,{c},,Dr B,2026-11-20,2026-12-20,free,,Ibuprofen,tablets,10,pieces,0\n\
         RX-12,{p},,Dr A,2026-11-20,2026-12-20,free,,Good,x,1,packs,0\n\
         RX-12,{p},,Dr A,2026-11-20,2026-12-20,free,,Bad,x,1,litres,0\n\
         RX-1,,,,,,,,,,,,1\n",
        feed::COLUMNS.join(","),
        p = adult(5),
        c = child(5),
    );
    let report = feed::import_csv(&core, std::io::Cursor::new(csv.into_bytes()))
        .await
        .unwrap();
    assert_eq!(report.accepted, 1, "{report:?}");
    assert_eq!(report.withdrawn, 1, "{report:?}");
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, [4, 5], "{report:?}");
    assert_eq!(count(&core.store, "prescriptions").await, 3);
    assert_eq!(count(&core.store, "prescription_items").await, 4);
}

mod feed_input {
    ashyq_on_both!(super::the_feed_takes_good_prescriptions_and_reports_bad_ones);
}

async fn prescription_id(store: &Store, external: &str) -> i64 {
    scalar(
        store,
        &format!("SELECT id FROM prescriptions WHERE external_id = '{external}'"),
    )
    .await
}

async fn a_patient_shows_a_qr_and_a_pharmacist_dispenses_in_parts(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = rx_core(db, &clock).await;
    let report = ingest(
        &core,
        vec![
            item(
                "RX-1",
                &adult(1),
                None,
                json!([{"inn": "Metformin", "form": "tablets 500 mg", "quantity": 3, "unit": "pieces"},
                       {"inn": "Insulin", "form": "vial 10 ml", "quantity": 2, "unit": "packs"}]),
            ),
            item("RX-2", &child(1), Some(&adult(2)), metformin(5)),
        ],
    )
    .await;
    assert_eq!(report.accepted, 2);
    let patient = register(&core, "patient", PHONE_P, &adult(1)).await;
    let parent = register(&core, "parent", PHONE_Q, &adult(2)).await;
    let pharmacist = pharmacist(&core, PHARMACY_A, "Дәрі-дәрмек", "pharmacist").await;
    let rx1 = prescription_id(&core.store, "RX-1").await;
    let rx2 = prescription_id(&core.store, "RX-2").await;

    // The patient sees the prescription (the parent sees the child's), with "show QR".
    let out = patient.send(command("prescriptions", "")).await;
    assert_eq!(keys(&out), ["rx-list-entry"]);
    assert_eq!(arg(&out[0], "state"), "active");
    assert_eq!(buttons(&out[0]), [format!("rx:qr:{rx1}")]);
    let out = parent.send(command("prescriptions", "")).await;
    assert_eq!(keys(&out), ["rx-list-entry"]);
    assert_eq!(buttons(&out[0]), [format!("rx:qr:{rx2}")]);
    // Someone else's prescription gets no QR.
    assert_eq!(
        parent.button(&format!("rx:qr:{rx1}")).await,
        ["rx-not-yours"]
    );

    let out = patient.send(Event::Button(format!("rx:qr:{rx1}"))).await;
    assert_eq!(keys(&out), ["rx-qr"]);
    assert!(out[0].attachment.is_some());
    let code = arg(&out[0], "code");

    // The pharmacist types the code: items, what is left, buttons.
    let out = pharmacist.send(Event::Text(code.clone())).await;
    assert_eq!(keys(&out), ["rx-card"], "{out:?}");
    let card_buttons = buttons(&out[0]);
    // Everything, then per item "all of it" and "one".
    assert_eq!(card_buttons.len(), 5, "{card_buttons:?}");
    let one_metformin = card_buttons[2].clone();
    assert_eq!(pharmacist.button(&one_metformin).await, ["rx-dispensed"]);
    // The patient is told at once (in the outbox), with the pharmacy's name.
    let notices = queued_for(&core.store, &patient.chat).await;
    let notice = notices
        .iter()
        .find(|o| o.text.key() == "rx-dispensed-notice")
        .expect("notice");
    assert_eq!(arg(notice, "pharmacy"), "Дәрі-дәрмек");
    assert!(arg(notice, "items").contains("Metformin"));
    // The same button again (or any button of that scan): the prescription changed.
    let before = count(&core.store, "dispensings").await;
    assert_eq!(pharmacist.button(&one_metformin).await, ["rx-changed"]);
    assert_eq!(pharmacist.button(&card_buttons[0]).await, ["rx-changed"]);
    assert_eq!(count(&core.store, "dispensings").await, before);
    // A forged button (another prescription, same MAC) is stale.
    let forged = one_metformin.replacen(&format!("rx:d:{rx1}:"), &format!("rx:d:{rx2}:"), 1);
    assert_eq!(pharmacist.button(&forged).await, ["hint-stale-button"]);

    // A new scan, everything left.
    let out = pharmacist.send(Event::Text(code.clone())).await;
    assert_eq!(keys(&out), ["rx-card"]);
    assert_eq!(
        pharmacist.button(&buttons(&out[0])[0]).await,
        ["rx-dispensed"]
    );
    let dispensed = scalar(
        &core.store,
        &format!("SELECT CAST(SUM(dispensed) AS BIGINT) FROM prescription_items WHERE prescription_id = {rx1}"),
    )
    .await;
    assert_eq!(dispensed, 5);
    // Used now.
    assert_eq!(pharmacist.text(&code).await, ["rx-used"]);
    let out = patient.send(command("prescriptions", "")).await;
    assert_eq!(arg(&out[0], "state"), "used");
    assert_eq!(arg(&out[0], "dispensings"), "2");
    // No QR any more, a dispute button per dispensing.
    assert!(buttons(&out[0]).iter().all(|b| b.starts_with("rx:x:")));
    assert_eq!(buttons(&out[0]).len(), 2);

    // Yesterday's (or any older than its minutes) code: expired.
    let out = parent.send(Event::Button(format!("rx:qr:{rx2}"))).await;
    let old = arg(&out[0], "code");
    clock.advance(chrono::Duration::minutes(6));
    assert_eq!(pharmacist.text(&old).await, ["voucher-qr-expired"]);
    // Yesterday's QR (a forwarded screenshot).
    use ashyq::core::vouchers::qr::{QrKeys, VoucherToken};
    let yesterday = QrKeys::new(core.vault.signing_key()).sign(&VoucherToken::new(
        ashyq::core::vouchers::VoucherKind::Medicine,
        rx2,
        1,
        core.now_ms() - 86_400_000,
    ));
    assert_eq!(pharmacist.text(&yesterday).await, ["voucher-qr-expired"]);
    // A meal QR at a pharmacy.
    let meal = ashyq::core::wallet::token::MealKeys::new(core.vault.signing_key()).sign(
        &ashyq::core::wallet::token::MealToken {
            voucher_id: 7,
            generation: 0,
            day: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        },
    );
    assert_eq!(pharmacist.text(&meal).await, ["voucher-qr-wrong-kind"]);
    // Withdrawn: a fresh code answers so.
    let out = parent.send(Event::Button(format!("rx:qr:{rx2}"))).await;
    let fresh = arg(&out[0], "code");
    ingest(
        &core,
        vec![json!({"external_id": "RX-2", "withdrawn": true})],
    )
    .await;
    assert_eq!(pharmacist.text(&fresh).await, ["rx-withdrawn"]);
    // Someone who is not a pharmacist typing a code is not taken for one.
    assert_ne!(patient.text(&fresh).await, ["rx-card"]);

    // Every dispensing line is in the ledger, which verifies, and the act lists them.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ashyq::core::vouchers::ledger::verify(&mut conn)
        .await
        .unwrap();
    assert_eq!(v.first_problem, None);
    drop(conn);
    let act = prescriptions::act(&core, PHARMACY_A, "2026-11")
        .await
        .unwrap();
    let lines: Vec<&str> = act.lines().collect();
    // Header, Metformin 1, then Metformin 2 and Insulin 2.
    assert_eq!(lines.len(), 4, "{act}");
    assert!(
        lines[1].contains(",RX-1,discounted,30,\"Metformin, tablets 500 mg\",1,pieces"),
        "{act}"
    );
    assert!(lines[3].contains("Insulin"), "{act}");
    assert!(!act.contains(&adult(1)));
    core.store.close().await;
}

mod dispensing {
    ashyq_on_both!(super::a_patient_shows_a_qr_and_a_pharmacist_dispenses_in_parts);
}

async fn a_dispute_reaches_the_authority_and_the_desk_and_its_decisions_the_patient(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = rx_core(db, &clock).await;
    ingest(&core, vec![item("RX-1", &adult(1), None, metformin(2))]).await;
    let patient = register(&core, "patient", PHONE_P, &adult(1)).await;
    let other = register(&core, "other", PHONE_Q, &adult(2)).await;
    let pharmacist = pharmacist(&core, PHARMACY_A, "Дәрі-дәрмек", "pharmacist").await;
    let rx1 = prescription_id(&core.store, "RX-1").await;
    let pharmacy_chat = ChatRef::new("test", "pharmacist");
    let done = prescriptions::dispense(
        &core,
        &pharmacy_chat,
        &Request {
            prescription: rx1,
            expected_seq: None,
            item: None,
            quantity: 0,
        },
    )
    .await
    .unwrap()
    .expect("dispensed");
    let d = done.dispensing_id;

    // Someone else's dispensing: refused, nothing written.
    assert_eq!(
        other.button(&format!("rx:x:{d}")).await,
        ["rx-dispute-not-yours"]
    );
    assert_eq!(count(&core.store, "prescription_disputes").await, 0);

    let out = patient.send(Event::Button(format!("rx:x:{d}"))).await;
    assert_eq!(keys(&out), ["rx-dispute-opened"]);
    let dispute = arg(&out[0], "dispute");
    assert_eq!(
        patient.button(&format!("rx:x:{d}")).await,
        ["rx-dispute-exists"]
    );
    // The authority's chat: pharmacy, time, items, no IIN; decision buttons.
    let authority = ChatRef::new("test", "health-authority");
    let queued = queued_for(&core.store, &authority).await;
    assert_eq!(keys(&queued), ["rx-dispute-summary"]);
    assert_eq!(arg(&queued[0], "pharmacy"), "Дәрі-дәрмек");
    assert_eq!(arg(&queued[0], "bin"), PHARMACY_A);
    assert!(arg(&queued[0], "items").contains("Metformin"));
    let payload = serde_json::to_string(&queued[0]).unwrap();
    assert!(!payload.contains(&adult(1)));
    assert_eq!(buttons(&queued[0]).len(), 3);
    // The support desk got a ticket with the same summary.
    assert_eq!(count(&core.store, "support_tickets").await, 1);
    let desk = queued_for(&core.store, &ChatRef::new("test", "support-desk")).await;
    assert_eq!(keys(&desk), ["support-op-new-ticket", "rx-dispute-summary"]);
    assert!(!serde_json::to_string(&desk).unwrap().contains(&adult(1)));

    // Only the authority's chat decides.
    assert_eq!(
        pharmacist.button(&format!("rx:v:{dispute}:u")).await,
        ["rx-not-authority"]
    );
    let authority_chat = Chat::new(&core, "health-authority", Some("ru"));
    assert_eq!(
        authority_chat.button(&format!("rx:v:{dispute}:r")).await,
        ["rx-dispute-decided"]
    );
    assert_eq!(
        authority_chat.button(&format!("rx:v:{dispute}:r")).await,
        ["rx-dispute-already"]
    );
    assert_eq!(
        authority_chat.button(&format!("rx:v:{dispute}:u")).await,
        ["rx-dispute-decided"]
    );
    // The CLI path refuses a move from a final status.
    let id: i64 = dispute.parse().unwrap();
    assert!(prescriptions::decide(&core, id, "rejected").await.is_err());
    assert!(prescriptions::decide(&core, id, "nonsense").await.is_err());
    let told: Vec<String> = queued_for(&core.store, &patient.chat)
        .await
        .iter()
        .filter(|o| o.text.key() == "rx-dispute-status")
        .map(|o| arg(o, "status"))
        .collect();
    assert_eq!(told, ["review", "upheld"]);
    // The history shows the complaint's state and no longer offers the button.
    let out = patient.send(command("prescriptions", "")).await;
    assert!(buttons(&out[0]).is_empty(), "{:?}", buttons(&out[0]));
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ashyq::core::vouchers::ledger::verify(&mut conn)
        .await
        .unwrap();
    assert_eq!(v.first_problem, None);
    // issue, redemption, complaint, review, upheld.
    assert_eq!(v.by_kind.get("medicine"), Some(&5), "{v:?}");
}

mod disputes {
    ashyq_on_both!(
        super::a_dispute_reaches_the_authority_and_the_desk_and_its_decisions_the_patient
    );
}

async fn a_hundred_concurrent_dispensings_at_two_pharmacies_never_exceed_the_quantity(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = rx_core(db, &clock).await;
    ingest(&core, vec![item("RX-1", &adult(1), None, metformin(30))]).await;
    pharmacist(&core, PHARMACY_A, "A", "pa").await;
    pharmacist(&core, PHARMACY_B, "B", "pb").await;
    let rx1 = prescription_id(&core.store, "RX-1").await;
    let item_id = scalar(
        &core.store,
        &format!("SELECT id FROM prescription_items WHERE prescription_id = {rx1}"),
    )
    .await;
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let core = core.clone();
            tokio::spawn(async move {
                let chat = ChatRef::new("test", if n % 2 == 0 { "pa" } else { "pb" });
                prescriptions::dispense(
                    &core,
                    &chat,
                    &Request {
                        prescription: rx1,
                        expected_seq: None,
                        item: Some(item_id),
                        quantity: 1,
                    },
                )
                .await
            })
        })
        .collect();
    let mut given = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(_)) => given += 1,
            Ok(Err(msg)) => {
                assert_eq!(msg.key(), "rx-beyond");
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((given, refused), (30, 70));
    let dispensed = scalar(
        &core.store,
        &format!("SELECT dispensed FROM prescription_items WHERE id = {item_id}"),
    )
    .await;
    assert_eq!(dispensed, 30);
    assert_eq!(count(&core.store, "dispensings").await, 30);
    assert_eq!(
        scalar(
            &core.store,
            "SELECT CAST(SUM(quantity) AS BIGINT) FROM dispensing_lines"
        )
        .await,
        30
    );
    // The ledger's copy follows by the chaining job (here called directly): one line each.
    assert_eq!(
        scalar(
            &core.store,
            "SELECT COUNT(*) FROM dispensings WHERE ledger_seq IS NULL"
        )
        .await,
        30
    );
    assert_eq!(prescriptions::chain_all(&core).await.unwrap(), 30);
    assert_eq!(prescriptions::chain_all(&core).await.unwrap(), 0);
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ashyq::core::vouchers::ledger::verify(&mut conn)
        .await
        .unwrap();
    assert_eq!(v.first_problem, None);
    assert_eq!(v.by_kind.get("medicine"), Some(&31), "{v:?}");
}

mod concurrency {
    ashyq_on_both!(
        super::a_hundred_concurrent_dispensings_at_two_pharmacies_never_exceed_the_quantity
    );
}

async fn post(
    router: &axum::Router,
    auth: Option<&str>,
    body: Value,
) -> (axum::http::StatusCode, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::post("/api/v1/prescriptions")
        .header("content-type", "application/json");
    if let Some(k) = auth {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn the_http_feed_needs_its_scope_and_answers_per_item(db: &TestDb) {
    use axum::http::StatusCode;
    let clock = ManualClock::new(at(NOW));
    let core = rx_core(db, &clock).await;
    let key = ashyq::core::feeds::create_api_key(&core, "mis", &["prescriptions".into()])
        .await
        .unwrap();
    let lab = ashyq::core::feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();
    let app = ashyq::http::app(ashyq::http::HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    });
    let body = json!({"items": [
        item("RX-1", &adult(1), None, metformin(60)),
        item("RX-2", &child(1), None, metformin(60)),
        {"external_id": "RX-3", "unknown": 1},
    ]});
    assert_eq!(
        post(&app, None, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app, Some(&lab.secret), body.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, answer) = post(&app, Some(&key.secret), body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"], 2);
    let rejected: Vec<i64> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index"].as_i64().unwrap())
        .collect();
    assert_eq!(rejected, [1, 2]);
    // The IIN is never echoed.
    assert!(!answer.to_string().contains(&child(1)));
    // A retry of the good item is a duplicate; a withdrawal answers 200.
    let (status, answer) = post(
        &app,
        Some(&key.secret),
        json!({"items": [item("RX-1", &adult(1), None, metformin(60)),
                         {"external_id": "RX-1", "withdrawn": true}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["duplicates"].clone(), answer["withdrawn"].clone()),
        (json!(1), json!(1))
    );
    core.store.close().await;
}

mod http_feed {
    ashyq_on_both!(super::the_http_feed_needs_its_scope_and_answers_per_item);
}
