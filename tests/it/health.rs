//! Issue 3: health records, the HTTP feeds, CSV import, `/status` replies, change notices
//! and the notifier, on SQLite and PostgreSQL.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::feeds;
use ashyq::core::import::{self, Kind};
use ashyq::core::{Core, Event, Outbound, Recipient};
use ashyq::crypto::Field;
use ashyq::domain::{Iin, Lang, Sex};
use ashyq::http::{HttpState, app};
use ashyq::storage::health;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Chat, TestDb, at, core, count};
use tower::ServiceExt;

const PHONE: &str = "+77011234567";
const IIN: &str = "900101300017";

/// 5 November 2026, 10:00 in Almaty.
const NOW: &str = "2026-11-05T10:00:00+05:00";

fn other_iin(serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
        Sex::Male,
        serial,
    )
    .expose()
}

async fn register(chat: &Chat, iin: &str) {
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: PHONE.into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(&chat.core, iin, PHONE).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
}

fn router(core: &Arc<Core>) -> Router {
    app(HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    })
}

async fn post(router: &Router, path: &str, key: Option<&str>, body: String) -> (StatusCode, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("JSON body, got {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

fn pcr(iin: &str, taken: &str, result_at: &str, result: &str, ext: &str) -> Value {
    json!({"iin": iin, "taken_at": taken, "result_at": result_at, "result": result,
           "lab": "Central Lab No. 7", "external_id": ext})
}

fn batch(items: Vec<Value>) -> String {
    json!({ "items": items }).to_string()
}

fn positive(ext: &str) -> Value {
    pcr(
        IIN,
        "2026-11-01T09:00:00+05:00",
        "2026-11-02T12:00:00+05:00",
        "positive",
        ext,
    )
}

async fn outbox(core: &Core) -> Vec<(String, Outbound)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT chat_id, payload FROM outbox ORDER BY id")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(c, p)| (c, serde_json::from_str(&p).unwrap()))
        .collect()
}

fn arg<'a>(out: &'a Outbound, name: &str) -> Option<&'a str> {
    out.text
        .args
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| match a {
            ashyq::i18n::Arg::Str(s) => s.as_str(),
            _ => "",
        })
}

// ---------- storage conformance ----------

async fn storage_conformance(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = core(db, &clock).await;
    let mut tx = core.store.begin().await.unwrap();
    let hash = core.vault.lookup_hash(Field::Iin, IIN);
    let item = health::NewPcr {
        iin_hash: hash.clone(),
        taken_at: 1,
        result_at: 2,
        positive: true,
        lab: "lab".into(),
        external_id: "e1".into(),
        content_hash: vec![1, 2, 3],
        withdrawn: false,
    };
    let id = health::insert_pcr(&mut tx, &item, None, 10).await.unwrap();
    assert!(id.is_some());
    assert_eq!(
        health::insert_pcr(&mut tx, &item, None, 10).await.unwrap(),
        None
    );
    let mut many = Vec::new();
    for i in 0..2500 {
        let mut it = item.clone();
        it.external_id = format!("m{i}");
        many.push(it);
    }
    many.push(item.clone()); // already stored: skipped
    let inserted = health::insert_pcr_many(&mut tx, &many, None, 10)
        .await
        .unwrap();
    assert_eq!(inserted.len(), 2500);
    let existing = health::pcr_by_external_ids(&mut tx, &["e1".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(existing.len(), 1);
    assert_eq!(existing[0].content_hash, vec![1, 2, 3]);
    assert_eq!(existing[0].withdrawn_at, None);
    health::withdraw_pcr(&mut tx, id.unwrap(), 20)
        .await
        .unwrap();
    let rows = health::pcr_for(&mut tx, &hash).await.unwrap();
    assert_eq!(rows.len(), 2501);
    assert_eq!(rows[0].withdrawn_at, Some(20));
    assert_eq!(rows[0].positive, 1);

    let contact = health::NewContact {
        iin_hash: hash.clone(),
        contact_date: "2026-11-01".into(),
        case_id: "case".into(),
        external_id: "c1".into(),
        content_hash: vec![9],
    };
    assert!(
        health::insert_contact(&mut tx, &contact, None, 10)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        health::insert_contacts_many(&mut tx, std::slice::from_ref(&contact), None, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    let found = health::contacts_by_external_ids(&mut tx, &["c1".into()])
        .await
        .unwrap();
    assert_eq!(found[0].content_hash, vec![9]);
    assert_eq!(found[0].withdrawn_at, None);
    assert!(
        health::contact_by_external_id(&mut tx, "c1")
            .await
            .unwrap()
            .is_some()
    );
    let contacts = health::contacts_for(&mut tx, &hash).await.unwrap();
    assert_eq!(contacts[0].contact_date, "2026-11-01");
    let (p, c) = health::records_for(&mut tx, &hash).await.unwrap();
    assert_eq!(p, health::pcr_for(&mut tx, &hash).await.unwrap());
    assert_eq!(c, contacts);

    let key = health::create_api_key(&mut tx, "lab-1", &[7; 32], "pcr,contacts", 5)
        .await
        .unwrap();
    let row = health::api_key_by_hash(&mut tx, &[7; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, key);
    assert!(row.has_scope("pcr") && row.has_scope("contacts") && !row.has_scope("admin"));
    assert!(health::revoke_api_key(&mut tx, "lab-1", 6).await.unwrap());
    assert!(
        health::api_key_by_hash(&mut tx, &[7; 32])
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
    core.store.close().await;
}

mod storage {
    ashyq_on_both!(super::storage_conformance);
}

// ---------- HTTP feeds ----------

async fn feeds_flow(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = core(db, &clock).await;
    let r = router(&core);
    let pcr_key = feeds::create_api_key(&core, "lab-1", &["pcr".into()])
        .await
        .unwrap()
        .secret;
    let both_key = feeds::create_api_key(&core, "epi", &["contacts,pcr".into()])
        .await
        .unwrap()
        .secret;
    assert!(matches!(
        feeds::create_api_key(&core, "lab-1", &["pcr".into()]).await,
        Err(feeds::ApiKeyError::NameTaken(_))
    ));
    assert!(matches!(
        feeds::create_api_key(&core, "x", &["admin".into()]).await,
        Err(feeds::ApiKeyError::UnknownScope(_))
    ));
    let (_, stored_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT id, key_hash FROM api_keys WHERE name = 'lab-1'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_ne!(stored_hash, pcr_key.as_bytes(), "only a hash is stored");

    let good = batch(vec![positive("p-1")]);
    // 401 without or with a wrong key, 403 without the scope.
    let (s, body) = post(&r, "/api/v1/pcr-results", None, good.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("API key"));
    let (s, _) = post(&r, "/api/v1/pcr-results", Some("ashyq_wrong"), good.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let contact_body = batch(vec![json!({"iin": IIN, "contact_date": "2026-11-03",
        "case_id": "case-9", "external_id": "c-1"})]);
    let (s, body) = post(&r, "/api/v1/contacts", Some(&pcr_key), contact_body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body["error"].as_str().unwrap().contains("contacts"));
    assert_eq!(count(&core.store, "contacts").await, 0);

    // Accepted, then idempotent.
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), good.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&both_key), good.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (body["accepted"].clone(), body["duplicates"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(count(&core.store, "pcr_results").await, 1);
    let (s, body) = post(&r, "/api/v1/contacts", Some(&both_key), contact_body).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(count(&core.store, "contacts").await, 1);

    // Malformed JSON, unknown top-level field, empty batch: nothing written.
    let (s, body) = post(
        &r,
        "/api/v1/pcr-results",
        Some(&pcr_key),
        "{\"items\": [".into(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON")
    );
    let (s, _) = post(
        &r,
        "/api/v1/pcr-results",
        Some(&pcr_key),
        json!({"items": [positive("p-9")], "extra": 1}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), batch(vec![])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("empty"));

    // Every bad item named by index and reason; the good item of the batch is written.
    let mut unknown = positive("p-unknown");
    unknown["colour"] = json!("red");
    let mut bad_iin = positive("p-bad-iin");
    bad_iin["iin"] = json!("900101300018");
    let items = vec![
        unknown,
        bad_iin,
        pcr(
            IIN,
            "2026-11-06T09:00:00+05:00",
            "2026-11-06T10:00:00+05:00",
            "negative",
            "p-future",
        ),
        pcr(
            IIN,
            "2026-11-03T09:00:00+05:00",
            "2026-11-02T10:00:00+05:00",
            "negative",
            "p-before",
        ),
        pcr(
            IIN,
            "2026-11-03T09:00:00+05:00",
            "2026-11-04T10:00:00+05:00",
            "negative",
            "p-1",
        ),
        pcr(
            IIN,
            "2026-11-03T09:00:00+05:00",
            "2026-11-04T10:00:00+05:00",
            "unclear",
            "p-result",
        ),
        pcr(
            IIN,
            "yesterday",
            "2026-11-04T10:00:00+05:00",
            "negative",
            "p-time",
        ),
        pcr(
            &other_iin(5),
            "2026-11-03T09:00:00+05:00",
            "2026-11-04T10:00:00+05:00",
            "negative",
            "p-ok",
        ),
        pcr(
            &other_iin(5),
            "2026-11-03T09:00:00+05:00",
            "2026-11-04T11:00:00+05:00",
            "negative",
            "p-ok",
        ),
        json!({"iin": IIN}),
    ];
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), batch(items)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");
    let rejected = body["items"].as_array().unwrap();
    let reason = |i: usize| -> String {
        rejected
            .iter()
            .find(|r| r["index"] == i)
            .unwrap_or_else(|| panic!("item {i} not reported: {body}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason(0).contains("unknown field `colour`"),
        "{}",
        reason(0)
    );
    assert!(reason(1).contains("invalid IIN"), "{}", reason(1));
    assert!(!reason(1).contains("900101300018"), "IIN never echoed");
    assert!(
        reason(2).contains("taken_at is in the future"),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).contains("result_at is before taken_at"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("different content"), "{}", reason(4));
    assert!(reason(5).contains("positive"), "{}", reason(5));
    assert!(reason(6).contains("RFC 3339"), "{}", reason(6));
    assert!(reason(8).contains("repeats item 7"), "{}", reason(8));
    assert!(reason(9).contains("missing field"), "{}", reason(9));
    assert_eq!(rejected.len(), 9);
    assert_eq!(rejected[1]["external_id"], "p-bad-iin");
    assert_eq!(count(&core.store, "pcr_results").await, 2);

    // Contacts: future date, bad date.
    let (s, body) = post(
        &r,
        "/api/v1/contacts",
        Some(&both_key),
        batch(vec![
            json!({"iin": IIN, "contact_date": "2026-11-06", "case_id": "k", "external_id": "c-f"}),
            json!({"iin": IIN, "contact_date": "06.11.2026", "case_id": "k", "external_id": "c-d"}),
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("future")
    );
    assert!(
        body["items"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD")
    );
    assert_eq!(count(&core.store, "contacts").await, 1);

    // Withdrawal with the same content; reinstating is refused.
    let mut w = positive("p-1");
    w["withdrawn"] = json!(true);
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), batch(vec![w])).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["withdrawn"], 1);
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), good).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("withdrawn")
    );

    // 413: more than 10 000 items.
    let many: Vec<Value> = (0..10_001).map(|i| positive(&format!("big-{i}"))).collect();
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), batch(many)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["error"].as_str().unwrap().contains("10000"));
    // Exactly 10 000 fit in the body limit and are written.
    let many: Vec<Value> = (0..10_000)
        .map(|i| {
            pcr(
                &other_iin(i as u16 % 900 + 10),
                "2026-11-03T09:00:00+05:00",
                "2026-11-04T10:00:00+05:00",
                "negative",
                &format!("big-{i}"),
            )
        })
        .collect();
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&pcr_key), batch(many)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 10_000);

    // The OpenAPI document describes both feeds.
    let res = r
        .clone()
        .oneshot(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/pcr-results"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/contacts"]["post"].is_object());
    core.store.close().await;
}

mod feeds_http {
    ashyq_on_both!(super::feeds_flow);
}

/// Every `$ref` in `v` (recursively).
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn property_names(doc: &Value, schema: &str) -> Vec<String> {
    let mut names: Vec<String> = doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema} has properties"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

/// The OpenAPI document describes every POST feed (issue 17 adds prescriptions and club
/// lists) with its scope, body and answers; every `$ref` resolves; the described fields are
/// the ones the feeds read.
#[test]
fn openapi_describes_every_feed() {
    let doc = ashyq::http::feeds::openapi_document();
    for (path, scope) in [
        ("/api/v1/pcr-results", "pcr"),
        ("/api/v1/contacts", "contacts"),
        ("/api/v1/identity", "identity"),
        ("/api/v1/prescriptions", "prescriptions"),
        ("/api/v1/clubs", "clubs"),
    ] {
        let op = &doc["paths"][path]["post"];
        assert!(op.is_object(), "{path} is described");
        let summary = op["summary"].as_str().unwrap();
        assert!(
            summary.contains(&format!("scope `{scope}`")),
            "{path}: {summary}"
        );
        assert_eq!(op["requestBody"]["required"], true, "{path}");
        let body = &op["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["required"], json!(["items"]), "{path}");
        for status in ["200", "400", "401", "403", "413", "422", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{path} answers {status}"
            );
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 10);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("local ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} resolves"
        );
    }
    // The prescription schemas name exactly the feed's fields (the CSV header is the same
    // set, flattened: one row per medicine).
    let mut rx = property_names(&doc, "Prescription");
    rx.retain(|n| n != "items");
    rx.extend(property_names(&doc, "Medicine"));
    rx.sort();
    let mut columns: Vec<String> = ashyq::core::prescriptions::feed::COLUMNS
        .iter()
        .map(|c| c.to_string())
        .collect();
    columns.sort();
    assert_eq!(rx, columns);
    assert_eq!(
        doc["components"]["schemas"]["Medicine"]["properties"]["unit"]["enum"],
        json!(["pieces", "packs", "ml", "g"])
    );
    let mut club: Vec<String> = ashyq::core::wallet::CLUB_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .collect();
    club.sort();
    assert_eq!(property_names(&doc, "ClubListItem"), club);
}

#[tokio::test]
async fn feeds_answer_503_without_a_core_and_a_huge_body_413() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at(NOW));
    let core = core(&db, &clock).await;
    let r = app(HttpState {
        store: core.store.clone(),
        telegram: false,
        core: None,
    });
    let (s, _) = post(&r, "/api/v1/pcr-results", Some("k"), batch(vec![])).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let r = router(&core);
    let key = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap()
        .secret;
    let huge = format!("{{\"items\": [\"{}\"]}}", "x".repeat(17 * 1024 * 1024));
    let (s, body) = post(&r, "/api/v1/pcr-results", Some(&key), huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("at most 10000 items")
    );
}

// ---------- CSV import ----------

async fn import_flow(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = core(db, &clock).await;
    let csv = format!(
        "iin,taken_at,result_at,result,lab,external_id\n\
         {IIN},2026-11-01T09:00:00+05:00,2026-11-02T12:00:00+05:00,positive,Lab A,r-1\n\
         900101300018,2026-11-01T09:00:00+05:00,2026-11-02T12:00:00+05:00,positive,Lab A,r-2\n\
         {o},2026-11-01T09:00:00+05:00,2026-11-02T12:00:00+05:00,negative,\"Lab, B\",r-3\n\
         {o},2026-11-01T09:00:00+05:00,2026-10-30T12:00:00+05:00,negative,Lab B,r-4\n\
         {o},2026-11-01T09:00:00+05:00\n\
         {o},2026-11-01T09:00:00+05:00,2026-11-02T12:00:00+05:00,negative,Lab C,r-3\n",
        o = other_iin(3)
    );
    let report = import::import_csv(
        &core,
        Kind::Pcr,
        std::io::Cursor::new(csv.clone().into_bytes()),
        &(),
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 2);
    let lines: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0].0, 3);
    assert!(lines[0].1.contains("invalid IIN"));
    assert_eq!(lines[1].0, 5);
    assert!(lines[1].1.contains("before taken_at"));
    assert_eq!(lines[2].0, 6);
    assert!(lines[2].1.contains("2 columns"));
    assert_eq!(lines[3].0, 7);
    assert!(lines[3].1.contains("different content"), "{}", lines[3].1);
    assert_eq!(count(&core.store, "pcr_results").await, 2);

    // A re-run imports nothing twice.
    let again = import::import_csv(
        &core,
        Kind::Pcr,
        std::io::Cursor::new(csv.clone().into_bytes()),
        &(),
    )
    .await
    .unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 2));
    assert_eq!(count(&core.store, "pcr_results").await, 2);

    // More rows than one transaction; a "crash" after the first batch (simulated by
    // importing only the first part) and a re-run of the whole file.
    let mut big = String::from("iin,taken_at,result_at,result,lab,external_id\n");
    for i in 0..(import::BATCH_ROWS + 1200) {
        big.push_str(&format!(
            "{},2026-11-01T09:00:00+05:00,2026-11-02T12:00:00+05:00,negative,Lab,b-{i}\n",
            other_iin((i % 900) as u16 + 10)
        ));
    }
    let cut = big.lines().take(3001).collect::<Vec<_>>().join("\n") + "\n";
    let part = import::import_csv(
        &core,
        Kind::Pcr,
        std::io::Cursor::new(cut.clone().into_bytes()),
        &(),
    )
    .await
    .unwrap();
    assert_eq!(part.accepted, 3000);
    let full = import::import_csv(
        &core,
        Kind::Pcr,
        std::io::Cursor::new(big.clone().into_bytes()),
        &(),
    )
    .await
    .unwrap();
    assert_eq!(
        (full.accepted, full.duplicates),
        (import::BATCH_ROWS + 1200 - 3000, 3000)
    );
    assert_eq!(
        count(&core.store, "pcr_results").await,
        2 + (import::BATCH_ROWS + 1200) as i64
    );

    // Contacts, and a wrong header.
    let contacts = format!(
        "iin,contact_date,case_id,external_id\n{IIN},2026-11-03,case-1,k-1\n{IIN},2026-12-01,case-1,k-2\n"
    );
    let report = import::import_csv(
        &core,
        Kind::Contacts,
        std::io::Cursor::new(contacts.clone().into_bytes()),
        &(),
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(report.rejected[0].index, 3);
    assert!(report.rejected[0].reason.contains("future"));
    let err = import::import_csv(
        &core,
        Kind::Contacts,
        std::io::Cursor::new(b"iin,date\n".to_vec()),
        &(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("iin,contact_date,case_id,external_id")
    );
    core.store.close().await;
}

mod csv_import {
    ashyq_on_both!(super::import_flow);
}

// ---------- /status replies ----------

async fn status_out(chat: &Chat) -> Outbound {
    let out = chat
        .send(Event::Command {
            name: "status".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].text.key(), "status-reply");
    out.into_iter().next().unwrap()
}

async fn status_replies(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = core(db, &clock).await;
    let chat = Chat::new(&core, "s1", Some("ru"));
    // Not registered: the register-first hint.
    assert_eq!(
        chat.command("status").await,
        ["hint-register-first", "idle-prompt"]
    );
    register(&chat, IIN).await;
    // Blue: no records.
    let out = status_out(&chat).await;
    assert_eq!(arg(&out, "colour"), Some("blue"));
    assert_eq!(arg(&out, "has_until"), Some("no"));
    let text = core.texts.render(Lang::Ru, &out.text);
    assert!(text.contains("🟦 СИНИЙ"), "{text}");
    // The menu button works too.
    assert_eq!(chat.text("🚦 Мой статус").await, ["status-reply"]);

    // Green: a negative result yesterday.
    let neg = pcr(
        IIN,
        "2026-11-03T09:00:00+05:00",
        "2026-11-04T10:00:00+05:00",
        "negative",
        "n-1",
    );
    feeds::ingest_pcr(&core, vec![neg], None).await.unwrap();
    let out = status_out(&chat).await;
    assert_eq!(arg(&out, "colour"), Some("green"));
    let text = core.texts.render(Lang::Ru, &out.text);
    assert!(text.contains("до 7 ноября 2026 г., 10:00"), "{text}");
    assert!(text.contains("осталось 2 дня"), "{text}");
    assert!(
        text.contains("отрицательный ПЦР-тест от 3 ноября 2026 г."),
        "{text}"
    );

    // Yellow: a contact on 4 November.
    let c = json!({"iin": IIN, "contact_date": "2026-11-04", "case_id": "k", "external_id": "k-1"});
    feeds::ingest_contacts(&core, vec![c], None).await.unwrap();
    let out = status_out(&chat).await;
    assert_eq!(arg(&out, "colour"), Some("yellow"));
    let text = core.texts.render(out.lang, &out.text);
    assert!(text.contains("🟨 ЖЁЛТЫЙ"), "{text}");
    assert!(
        text.contains("до 18 ноября 2026 г., 00:00 (осталось 13 дней)"),
        "{text}"
    );
    assert!(
        text.contains("контакт с заболевшим 4 ноября 2026 г."),
        "{text}"
    );

    // Red: a positive of 1 November; never the laboratory.
    feeds::ingest_pcr(&core, vec![positive("p-1")], None)
        .await
        .unwrap();
    let out = status_out(&chat).await;
    assert_eq!(arg(&out, "colour"), Some("red"));
    let ru = core.texts.render(Lang::Ru, &out.text);
    assert!(!ru.contains("Lab"), "{ru}");
    assert!(ru.contains("🟥 КРАСНЫЙ"), "{ru}");
    assert!(ru.contains("до 15 ноября 2026 г., 00:00"), "{ru}");
    assert!(ru.contains("осталось 10 дней"), "{ru}");
    assert!(
        ru.contains("положительный ПЦР-тест от 1 ноября 2026 г."),
        "{ru}"
    );
    assert_eq!(
        chat.button("lang:kk").await,
        ["language-set", "menu-prompt"]
    );
    let out = status_out(&chat).await;
    assert_eq!(out.lang, Lang::Kk);
    let kk = core.texts.render(out.lang, &out.text);
    assert!(kk.contains("🟥 ҚЫЗЫЛ"), "{kk}");
    assert!(!kk.contains("Lab"), "{kk}");
    assert!(
        kk.contains("Мерзімі аяқталады: 2026 жылғы 15 қараша, сағат 00:00"),
        "{kk}"
    );
    assert!(
        kk.contains("сынама алынған күн: 2026 жылғы 1 қараша"),
        "{kk}"
    );
    assert!(!kk.contains("November") && !kk.contains("ноября"), "{kk}");
    // One day before the end: singular.
    clock.set(at("2026-11-14T10:00:00+05:00"));
    assert_eq!(
        chat.button("lang:en").await,
        ["language-set", "menu-prompt"]
    );
    let out = status_out(&chat).await;
    let en = core.texts.render(out.lang, &out.text);
    assert!(en.contains("🟥 RED"), "{en}");
    assert!(
        en.contains("Until 15 November 2026, 00:00 (1 day left)"),
        "{en}"
    );
    assert!(
        en.contains("positive PCR test, sample taken on 1 November 2026"),
        "{en}"
    );
    assert_eq!(
        chat.button("lang:ru").await,
        ["language-set", "menu-prompt"]
    );
    let out = status_out(&chat).await;
    let ru = core.texts.render(out.lang, &out.text);
    assert!(ru.contains("остался 1 день"), "{ru}");
    core.store.close().await;
}

mod status_reply {
    ashyq_on_both!(super::status_replies);
}

// ---------- change notices and the notifier ----------

async fn notices_flow(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = core(db, &clock).await;
    let chat = Chat::new(&core, "n1", Some("kk"));
    register(&chat, IIN).await;
    let before = count(&core.store, "outbox").await;

    let r = router(&core);
    let key = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap()
        .secret;
    let body = batch(vec![positive("p-1")]);
    let (s, _) = post(&r, "/api/v1/pcr-results", Some(&key), body.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let queued = outbox(&core).await;
    assert_eq!(queued.len() as i64, before + 1);
    let (chat_id, notice) = queued.last().unwrap();
    assert_eq!(chat_id, "n1");
    assert_eq!(notice.to, Recipient::Chat(chat.chat.clone()));
    assert_eq!(notice.lang, Lang::Kk);
    assert_eq!(notice.text.key(), "status-changed");
    assert_eq!(arg(notice, "colour"), Some("red"));
    let text = core.texts.render(notice.lang, &notice.text);
    assert!(
        text.contains("қызыл") && text.contains("2026 жылғы 15 қараша, сағат 00:00"),
        "{text}"
    );

    // The same batch again queues nothing; a negative result (red stays) neither.
    let (s, _) = post(&r, "/api/v1/pcr-results", Some(&key), body).await;
    assert_eq!(s, StatusCode::OK);
    let neg = pcr(
        IIN,
        "2026-11-04T09:00:00+05:00",
        "2026-11-05T09:00:00+05:00",
        "negative",
        "n-1",
    );
    let (s, _) = post(&r, "/api/v1/pcr-results", Some(&key), batch(vec![neg])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(count(&core.store, "outbox").await, before + 1);

    // Nothing is due before 00:00 on 15 November.
    clock.set(at("2026-11-14T23:59:59+05:00"));
    assert_eq!(ashyq::core::status::run_due(&core).await.unwrap(), 0);
    clock.set(at("2026-11-15T00:00:00+05:00"));
    assert_eq!(ashyq::core::status::run_due(&core).await.unwrap(), 1);
    assert_eq!(ashyq::core::status::run_due(&core).await.unwrap(), 0);
    let queued = outbox(&core).await;
    assert_eq!(queued.len() as i64, before + 2);
    let (_, notice) = queued.last().unwrap();
    assert_eq!(arg(notice, "colour"), Some("blue"));
    assert_eq!(arg(notice, "has_until"), Some("no"));
    let text = core.texts.render(notice.lang, &notice.text);
    assert!(text.contains("көк"), "{text}");

    // A restart (a new core on the same database) and another pass: nothing twice.
    let again = support::core(db, &clock).await;
    assert_eq!(ashyq::core::status::run_due(&again).await.unwrap(), 0);
    // Even if the watch were lost, the dedupe key keeps the notice single.
    sqlx::query("DELETE FROM status_watch")
        .execute(again.store.pool())
        .await
        .unwrap();
    let mut tx = again.store.begin().await.unwrap();
    health::watch_put(
        &mut tx,
        &health::WatchRow {
            person_id: 1,
            colour: "red".into(),
            since_at: None,
            next_change_at: Some(0),
        },
        0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ashyq::core::status::run_due(&again).await.unwrap(), 0);
    assert_eq!(count(&again.store, "outbox").await, before + 2);
    again.store.close().await;
    core.store.close().await;
}

mod notices {
    ashyq_on_both!(super::notices_flow);
}

#[tokio::test]
async fn a_contact_turns_a_registered_person_yellow_and_unregistered_people_get_nothing() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at(NOW));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "y1", Some("ru"));
    register(&chat, IIN).await;
    let before = count(&core.store, "outbox").await;
    let report = feeds::ingest_contacts(
        &core,
        vec![
            json!({"iin": IIN, "contact_date": "2026-11-04", "case_id": "k", "external_id": "k-1"}),
            json!({"iin": other_iin(4), "contact_date": "2026-11-04", "case_id": "k", "external_id": "k-2"}),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!((report.accepted, report.notices), (2, 1));
    let queued = outbox(&core).await;
    assert_eq!(queued.len() as i64, before + 1);
    let (_, notice) = queued.last().unwrap();
    assert_eq!(notice.lang, Lang::Ru);
    let text = core.texts.render(notice.lang, &notice.text);
    assert!(
        text.contains("жёлтый до 18 ноября 2026 г., 00:00"),
        "{text}"
    );
    // Withdrawal of a result is a change too: positive then withdrawn -> back to yellow.
    feeds::ingest_pcr(&core, vec![positive("p-1")], None)
        .await
        .unwrap();
    let mut w = positive("p-1");
    w["withdrawn"] = json!(true);
    let report = feeds::ingest_pcr(&core, vec![w], None).await.unwrap();
    assert_eq!((report.withdrawn, report.notices), (1, 1));
    let queued = outbox(&core).await;
    assert_eq!(arg(&queued.last().unwrap().1, "colour"), Some("yellow"));
}

#[tokio::test]
async fn records_sent_before_registration_count_and_are_watched() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at(NOW));
    let core = core(&db, &clock).await;
    feeds::ingest_pcr(&core, vec![positive("p-1")], None)
        .await
        .unwrap();
    let chat = Chat::new(&core, "late", Some("ru"));
    register(&chat, IIN).await;
    assert_eq!(count(&core.store, "outbox").await, 0);
    let out = chat
        .send(Event::Command {
            name: "status".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(arg(&out[0], "colour"), Some("red"));
    clock.set(at("2026-11-15T00:00:00+05:00"));
    assert_eq!(ashyq::core::status::run_due(&core).await.unwrap(), 1);
    let queued = outbox(&core).await;
    let text = core.texts.render(queued[0].1.lang, &queued[0].1.text);
    assert!(text.contains("теперь 🟦 синий."), "{text}");
}

// ---------- `ashyq status --iin` ----------

#[tokio::test]
async fn status_json_has_the_documented_shape() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at(NOW));
    let core = core(&db, &clock).await;
    let iin = Iin::parse(IIN).unwrap();
    let st = ashyq::core::status::status_of_iin(&core, &iin, ashyq::clock::Clock::now(&clock))
        .await
        .unwrap();
    let v = ashyq::core::status::status_json(&st);
    assert_eq!(
        v,
        json!({"colour": "blue", "since": null, "until": null, "cause": {"kind": "none", "date": null}})
    );
    feeds::ingest_pcr(&core, vec![positive("p-1")], None)
        .await
        .unwrap();
    let st = ashyq::core::status::status_of_iin(&core, &iin, at("2026-11-05T10:00:00+05:00"))
        .await
        .unwrap();
    let v = ashyq::core::status::status_json(&st);
    assert_eq!(
        v,
        json!({"colour": "red", "since": "2026-11-02T07:00:00Z", "until": "2026-11-14T19:00:00Z",
               "cause": {"kind": "pcr_positive", "date": "2026-11-01"}})
    );
    let st = ashyq::core::status::status_of_iin(&core, &iin, at("2026-11-15T00:00:00+05:00"))
        .await
        .unwrap();
    let v = ashyq::core::status::status_json(&st);
    assert_eq!(v["colour"], "blue");
    assert_eq!(v["since"], "2026-11-14T19:00:00Z");
    assert_eq!(v["until"], Value::Null);
    assert_eq!(v["cause"]["kind"], "none");
    assert_eq!(
        ashyq::core::status::status_json_line(&st),
        r#"{"colour":"blue","since":"2026-11-14T19:00:00Z","until":null,"cause":{"kind":"none","date":null}}"#
    );
}

// ---------- the binary ----------

#[test]
fn the_binary_creates_keys_imports_and_prints_a_status() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
            .args(args)
            .current_dir(dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("b.db").display()),
            )
            .env("ASHYQ_SECRET_KEY", support::SECRET)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, key, _) = run(&["apikey", "create", "--name", "lab-1", "--scopes", "pcr"]);
    assert!(
        ok && key.trim().starts_with("ashyq_") && key.trim().len() == 70,
        "{key}"
    );
    let (ok, list, _) = run(&["apikey", "list"]);
    assert!(ok && list.contains("lab-1\tpcr") && !list.contains(key.trim()));
    let csv = dir.path().join("p.csv");
    std::fs::write(
        &csv,
        format!(
            "iin,taken_at,result_at,result,lab,external_id\n\
             {IIN},2025-11-01T09:00:00+05:00,2025-11-02T12:00:00+05:00,positive,Lab A,r-1\n\
             900101300018,2025-11-01T09:00:00+05:00,2025-11-02T12:00:00+05:00,positive,Lab A,r-2\n"
        ),
    )
    .unwrap();
    let path = csv.to_str().unwrap();
    let (ok, out, err) = run(&["import", "pcr", path]);
    assert!(ok, "{err}");
    assert!(
        out.contains("imported 1, already stored 0, rejected 1"),
        "{out}"
    );
    assert!(err.contains("line 3: invalid IIN"), "{err}");
    let (_, out, _) = run(&["import", "pcr", path]);
    assert!(out.contains("imported 0, already stored 1"), "{out}");
    let (ok, out, _) = run(&["status", "--iin", IIN, "--at", "2025-11-05T10:00:00+05:00"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        r#"{"colour":"red","since":"2025-11-02T07:00:00Z","until":"2025-11-14T19:00:00Z","cause":{"kind":"pcr_positive","date":"2025-11-01"}}"#
    );
    let (ok, _, err) = run(&["status", "--iin", "123"]);
    assert!(!ok && err.contains("invalid IIN"), "{err}");
}
