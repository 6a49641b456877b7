//! Exposure warnings (issue 18) on a fixture of hand-computed overlaps, on both backends.
//!
//! All times are Astana time (UTC+5). The positive person P gave a sample on 11.11.2026 at
//! 09:00 (result 11.11 18:00), so the infectious window is 09.11 00:00 – 11.11 18:00.
//!
//! | who | venue | visit | overlap with P | warned |
//! | --- | --- | --- | --- | --- |
//! | P | Cafe (A) | 10.11 12:00–14:00 | | |
//! | c1 | A | 11:00–12:15 | exactly 15 min | yes |
//! | c2 | A | 13:46–15:00 | 14 min | no |
//! | c3 | A | 13:45, no exit (auto check-out 16:45) | 15 min | yes |
//! | c4 | A | 14:00–15:00 | 0 | no |
//! | c5 | A | 12:00–12:20 and 13:00–13:30 | 20 + 30 min | one warning |
//! | c6 | A | "12:30–12:00" (ends before it starts) | none | no |
//! | c7 | A | 12:00–14:00, refused at the door | | no |
//! | guard | A | 12:00–13:00, guard mode, no account | 60 min | counted, no chat |
//! | P | Cinema (B) | 10.11 13:00–15:00 (overlaps P's visit at A) | | |
//! | c8 | B | 13:30–14:30 | 60 min | yes |
//! | P | B | 08.11 23:00 – 09.11 01:00 (crosses the window start) | | |
//! | c11 | B | 08.11 23:00 – 09.11 00:10 | 10 min inside the window | no |
//! | c12 | B | 08.11 23:30 – 09.11 00:30 | 30 min inside the window | yes |
//! | P | Pharmacy (C, warnings off) | 10.11 15:00–15:30 | | |
//! | c9 | C | 15:00–15:30 | 30 min | no (venue excluded) |

use crate::support::{self, TestDb, at};
use ashyq::clock::ManualClock;
use ashyq::core::checkin::admin;
use ashyq::core::exposure::{self, export::ExportError};
use ashyq::core::{Core, Outbound, feeds};
use ashyq::crypto::Field;
use ashyq::domain::{Iin, Sex};
use ashyq::storage::{self, ChatRef, ConversationRow, conversations, people, venues};
use std::collections::BTreeMap;
use std::sync::Arc;

const MIN: i64 = 60_000;

fn ms(local: &str) -> i64 {
    at(&format!("{local}:00+05:00")).timestamp_millis()
}

struct Person {
    id: i64,
    chat: ChatRef,
    iin: Iin,
}

async fn person(core: &Core, n: u16) -> Person {
    let iin = Iin::synthetic(
        chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
        Sex::Male,
        n * 3,
    );
    let phone = format!("+7701{:07}", n);
    let mut tx = core.store.begin().await.unwrap();
    let id = people::insert(
        &mut tx,
        &core.vault.lookup_hash(Field::Phone, &phone),
        &core.vault.seal(Field::Phone, &phone),
        0,
        0,
    )
    .await
    .unwrap();
    people::set_iin(
        &mut tx,
        id,
        &core.vault.lookup_hash(Field::Iin, &iin.expose()),
        &core.vault.seal(Field::Iin, &iin.expose()),
        0,
    )
    .await
    .unwrap()
    .unwrap();
    let chat = ChatRef::new("test", format!("p{n}"));
    conversations::save(
        &mut tx,
        &chat,
        &ConversationRow {
            lang: Some("en".into()),
            state: r#"{"step":"menu"}"#.into(),
            person_id: Some(id),
        },
        0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Person { id, chat, iin }
}

async fn venue(core: &Core, name: &str, bin: &str) -> i64 {
    let added = admin::add_venue(
        core,
        &admin::AddVenue {
            name: name.into(),
            bin: bin.into(),
            address: "Almaty, Abay 1".into(),
            region: "almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: Some(180 * MIN),
        },
        "ashyq_test_bot",
    )
    .await
    .unwrap();
    let mut tx = core.store.begin().await.unwrap();
    let owner = ChatRef::new("test", format!("owner-{}", added.venue_id));
    venues::add_staff(&mut tx, added.venue_id, &owner, None, "owner", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    added.venue_id
}

/// A visit written straight into `checkins`: `left` None means no exit (open until the
/// automatic check-out three hours after entry).
async fn visit(
    core: &Core,
    venue_id: i64,
    who: Option<&Person>,
    entered: i64,
    left: Option<i64>,
    admitted: bool,
) -> i64 {
    let mut tx = core.store.begin().await.unwrap();
    // Distinct per visit: codes are unique per venue and local date (a random one collided).
    let code = format!(
        "{:04}",
        NEXT_CODE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10_000
    );
    let hash;
    let (person_id, iin_hash) = match who {
        Some(p) => (Some(p.id), None),
        None => {
            // A guard-mode visitor without an account: only the IIN's keyed hash.
            hash = core.vault.lookup_hash(Field::Iin, "guard-visitor");
            (None, Some(hash.as_slice()))
        }
    };
    let id = venues::insert_checkin(
        &mut tx,
        &venues::NewCheckin {
            venue_id,
            entrance_id: None,
            person_id,
            iin_hash,
            chat: who.map(|p| &p.chat),
            via: if who.is_some() { "link" } else { "guard" },
            colour: if admitted { "blue" } else { "red" },
            admitted,
            check_code: &code,
            entered_at: entered,
            closes_at: entered + 180 * MIN,
        },
    )
    .await
    .unwrap()
    .expect("a free code");
    if let Some(left) = left {
        sqlx::query("UPDATE checkins SET left_at = $1, left_how = 'exit' WHERE id = $2")
            .bind(left)
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

async fn pcr(core: &Core, iin: &Iin, external_id: &str, withdrawn: bool) -> feeds::Report {
    feeds::ingest_pcr(
        core,
        vec![serde_json::json!({
            "iin": iin.expose(),
            "taken_at": "2026-11-11T09:00:00+05:00",
            "result_at": "2026-11-11T18:00:00+05:00",
            "result": "positive",
            "lab": "KDL",
            "external_id": external_id,
            "withdrawn": withdrawn,
        })],
        None,
    )
    .await
    .unwrap()
}

/// Every queued message: (chat id, payload).
async fn outbox(core: &Core) -> Vec<(String, Outbound)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT chat_id, payload FROM outbox ORDER BY id")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(chat, p)| (chat, serde_json::from_str(&p).unwrap()))
        .collect()
}

async fn chats_with(core: &Core, key: &str) -> Vec<String> {
    let mut v: Vec<String> = outbox(core)
        .await
        .into_iter()
        .filter(|(_, o)| o.text.key() == key)
        .map(|(c, _)| c)
        .collect();
    v.sort();
    v
}

struct Fixture {
    core: Arc<Core>,
    p: Person,
    c: BTreeMap<&'static str, Person>,
    cafe: i64,
    cinema: i64,
}

async fn fixture(db: &TestDb) -> Fixture {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = venue(&core, "Cafe Dastarkhan", "210540012341").await;
    let cinema = venue(&core, "Cinema Arman", "210540012341").await;
    let pharmacy = venue(&core, "Pharmacy counter", "210540012341").await;
    admin::set_alert_chat(&core, "almaty", &ChatRef::new("test", "sanitary"))
        .await
        .unwrap();
    let mut tx = core.store.begin().await.unwrap();
    assert!(
        storage::exposure::set_venue_exposure_off(&mut tx, pharmacy, Some(0))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let p = person(&core, 1).await;
    let mut c = BTreeMap::new();
    for (i, name) in [
        "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c11", "c12",
    ]
    .into_iter()
    .enumerate()
    {
        c.insert(name, person(&core, 10 + i as u16).await);
    }
    let d = "2026-11-10T";
    // Cafe.
    visit(
        &core,
        cafe,
        Some(&p),
        ms(&format!("{d}12:00")),
        Some(ms(&format!("{d}14:00"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c1"]),
        ms(&format!("{d}11:00")),
        Some(ms(&format!("{d}12:15"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c2"]),
        ms(&format!("{d}13:46")),
        Some(ms(&format!("{d}15:00"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c3"]),
        ms(&format!("{d}13:45")),
        None,
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c4"]),
        ms(&format!("{d}14:00")),
        Some(ms(&format!("{d}15:00"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c5"]),
        ms(&format!("{d}12:00")),
        Some(ms(&format!("{d}12:20"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c5"]),
        ms(&format!("{d}13:00")),
        Some(ms(&format!("{d}13:30"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c6"]),
        ms(&format!("{d}12:30")),
        Some(ms(&format!("{d}12:00"))),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&c["c7"]),
        ms(&format!("{d}12:00")),
        Some(ms(&format!("{d}14:00"))),
        false,
    )
    .await;
    visit(
        &core,
        cafe,
        None,
        ms(&format!("{d}12:00")),
        Some(ms(&format!("{d}13:00"))),
        true,
    )
    .await;
    // Cinema, overlapping P's cafe visit (bad data: two places at once), and across the
    // window's start.
    visit(
        &core,
        cinema,
        Some(&p),
        ms(&format!("{d}13:00")),
        Some(ms(&format!("{d}15:00"))),
        true,
    )
    .await;
    visit(
        &core,
        cinema,
        Some(&c["c8"]),
        ms(&format!("{d}13:30")),
        Some(ms(&format!("{d}14:30"))),
        true,
    )
    .await;
    visit(
        &core,
        cinema,
        Some(&p),
        ms("2026-11-08T23:00"),
        Some(ms("2026-11-09T01:00")),
        true,
    )
    .await;
    visit(
        &core,
        cinema,
        Some(&c["c11"]),
        ms("2026-11-08T23:00"),
        Some(ms("2026-11-09T00:10")),
        true,
    )
    .await;
    visit(
        &core,
        cinema,
        Some(&c["c12"]),
        ms("2026-11-08T23:30"),
        Some(ms("2026-11-09T00:30")),
        true,
    )
    .await;
    // Pharmacy counter: warnings off.
    visit(
        &core,
        pharmacy,
        Some(&p),
        ms(&format!("{d}15:00")),
        Some(ms(&format!("{d}15:30"))),
        true,
    )
    .await;
    visit(
        &core,
        pharmacy,
        Some(&c["c9"]),
        ms(&format!("{d}15:00")),
        Some(ms(&format!("{d}15:30"))),
        true,
    )
    .await;
    Fixture {
        core,
        p,
        c,
        cafe,
        cinema,
    }
}

fn chat_ids(f: &Fixture, names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| f.c[n].chat.chat_id.clone()).collect();
    v.sort();
    v
}

async fn warnings_corrections_and_summaries(db: &TestDb) {
    let f = fixture(db).await;
    let core = &f.core;
    let report = pcr(core, &f.p.iin, "LAB-P", false).await;
    assert_eq!(report.accepted, 1);
    // The feed only queued the job: nothing is sent before it runs.
    assert_eq!(
        chats_with(core, "exposure-warning").await,
        Vec::<String>::new()
    );
    let r = exposure::run_jobs(core).await.unwrap();
    assert_eq!(r.jobs, 1);
    assert_eq!(r.co_visitors, 6, "c1, c3, c5, guard visitor, c8, c12");
    assert_eq!(r.warned, 5, "the guard-mode visitor has no chat");
    assert_eq!(
        chats_with(core, "exposure-warning").await,
        chat_ids(&f, &["c1", "c3", "c5", "c8", "c12"])
    );
    let out = outbox(core).await;
    let c3 = out
        .iter()
        .find(|(c, o)| *c == f.c["c3"].chat.chat_id && o.text.key() == "exposure-warning")
        .map(|(_, o)| o)
        .unwrap();
    assert_eq!(support::arg(c3, "venue"), "Cafe Dastarkhan");
    assert_eq!(support::arg(c3, "date"), "2026-11-10");
    assert_eq!(support::arg(c3, "from"), "13:45");
    assert_eq!(
        support::arg(c3, "to"),
        "16:45",
        "no exit: until the automatic check-out"
    );
    let c5 = out
        .iter()
        .find(|(c, o)| *c == f.c["c5"].chat.chat_id && o.text.key() == "exposure-warning")
        .map(|(_, o)| o)
        .unwrap();
    assert_eq!(
        (support::arg(c5, "from"), support::arg(c5, "to")),
        ("12:00".to_string(), "13:30".to_string())
    );
    // Never who, never a colour.
    for (_, o) in out
        .iter()
        .filter(|(_, o)| o.text.key() == "exposure-warning")
    {
        let names: Vec<&str> = o.text.args.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["venue", "date", "from", "to"]);
    }
    // No IIN in plain text in any queued message or exposure table.
    let payloads: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM outbox UNION ALL SELECT person_key FROM exposure_warnings",
    )
    .fetch_all(core.store.pool())
    .await
    .unwrap();
    for who in f.c.values().chain([&f.p]) {
        let iin = who.iin.expose();
        assert!(
            payloads.iter().all(|(p,)| !p.contains(&iin)),
            "IIN in plain text"
        );
    }
    let rendered = core.texts.render(ashyq::domain::Lang::En, &c3.text);
    assert!(
        rendered.contains("1414") && rendered.contains("PCR test"),
        "{rendered}"
    );
    // Sanitary summaries per venue with the number of co-visitors and the case.
    let summaries: Vec<&Outbound> = out
        .iter()
        .filter(|(c, o)| c == "sanitary" && o.text.key() == "exposure-sanitary-summary")
        .map(|(_, o)| o)
        .collect();
    let mut counts: Vec<(String, String)> = summaries
        .iter()
        .map(|o| (support::arg(o, "venue_id"), support::arg(o, "count")))
        .collect();
    counts.sort();
    let mut want = vec![
        (f.cafe.to_string(), "4".to_string()),
        (f.cinema.to_string(), "2".to_string()),
    ];
    want.sort();
    assert_eq!(counts, want);
    assert!(summaries.iter().all(|o| support::arg(o, "case") == "LAB-P"));
    // The owner of the cafe learns how many were advised (3: the guard-mode visitor has no
    // chat); the cinema's (2) learns nothing.
    let owners = chats_with(core, "exposure-owner-count").await;
    assert_eq!(owners, vec![format!("owner-{}", f.cafe)]);
    let owner = out
        .iter()
        .find(|(_, o)| o.text.key() == "exposure-owner-count")
        .unwrap();
    assert_eq!(support::arg(&owner.1, "count"), "3");

    // The same result fed again, and the jobs run again: nothing more.
    let again = pcr(core, &f.p.iin, "LAB-P", false).await;
    assert_eq!(again.duplicates, 1);
    assert_eq!(exposure::run_jobs(core).await.unwrap().jobs, 0);
    let before = support::count(&core.store, "outbox").await;

    // A second case Q at the cafe, 11:30–12:30: c1 (45 min), c5 (20 min), the guard visitor
    // (30 min) and P (30 min). c1, c5 and the guard visitor were warned for that venue and
    // day already; only P is new.
    let q = person(core, 40).await;
    visit(
        core,
        f.cafe,
        Some(&q),
        ms("2026-11-10T11:30"),
        Some(ms("2026-11-10T12:30")),
        true,
    )
    .await;
    pcr(core, &q.iin, "LAB-Q", false).await;
    let r = exposure::run_jobs(core).await.unwrap();
    assert_eq!((r.co_visitors, r.warned), (4, 1));
    let mut warned = chats_with(core, "exposure-warning").await;
    warned.retain(|c| *c == f.p.chat.chat_id);
    assert_eq!(warned, vec![f.p.chat.chat_id.clone()]);
    assert!(support::count(&core.store, "outbox").await > before);

    // P's result is withdrawn: corrections for every warning only P justified; c1 and c5
    // keep theirs because Q still justifies them.
    let w = pcr(core, &f.p.iin, "LAB-P", true).await;
    assert_eq!(w.withdrawn, 1);
    let r = exposure::run_jobs(core).await.unwrap();
    assert_eq!(r.corrected, 3);
    assert_eq!(
        chats_with(core, "exposure-correction").await,
        chat_ids(&f, &["c3", "c8", "c12"])
    );
    let voided: Vec<(String, String, String)> = outbox(core)
        .await
        .into_iter()
        .filter(|(_, o)| o.text.key() == "exposure-sanitary-withdrawn")
        .map(|(_, o)| {
            (
                support::arg(&o, "venue_id"),
                support::arg(&o, "count"),
                support::arg(&o, "still"),
            )
        })
        .collect();
    let mut want = vec![
        (f.cafe.to_string(), "4".to_string(), "3".to_string()),
        (f.cinema.to_string(), "2".to_string(), "0".to_string()),
    ];
    want.sort();
    let mut voided = voided;
    voided.sort();
    assert_eq!(voided, want);
    // Running again corrects nothing twice.
    assert_eq!(exposure::run_jobs(core).await.unwrap().corrected, 0);

    // The epidemiologists' export of Q: c1, c5, the guard visitor (IIN not recoverable), P.
    let e = exposure::export::export(core, "LAB-Q", "epi-1")
        .await
        .unwrap();
    assert_eq!(e.rows, 4);
    assert!(e.csv.contains(&f.c["c5"].iin.expose()));
    assert_eq!(e.not_recoverable, 1);
    assert!(e.csv.starts_with("iin,venue_id,venue,date,"));
    assert!(e.csv.contains(&f.c["c1"].iin.expose()));
    assert!(e.csv.contains(&f.p.iin.expose()));
    assert!(!e.csv.contains(&f.c["c3"].iin.expose()));
    // A withdrawn case and an unknown one are refused, and audited too.
    assert!(matches!(
        exposure::export::export(core, "LAB-P", "epi-1").await,
        Err(ExportError::Withdrawn(_))
    ));
    assert!(matches!(
        exposure::export::export(core, "NOPE", "epi-1").await,
        Err(ExportError::UnknownCase(_))
    ));
    assert!(matches!(
        exposure::export::export(core, "LAB-Q", " ").await,
        Err(ExportError::NoActor)
    ));
    let audit: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT actor, outcome, rows_listed FROM exposure_exports ORDER BY id")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        audit,
        vec![
            ("epi-1".into(), "listed".into(), 4),
            ("epi-1".into(), "withdrawn".into(), 0),
            ("epi-1".into(), "unknown".into(), 0),
        ]
    );
    // Nobody's colour changed: no contacts were written.
    assert_eq!(support::count(&core.store, "contacts").await, 0);
}

mod warnings {
    ashyq_on_both!(super::warnings_corrections_and_summaries);
}

async fn no_visits_and_negative_results(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let r = person(&core, 2).await;
    pcr(&core, &r.iin, "LAB-R", false).await;
    let report = exposure::run_jobs(&core).await.unwrap();
    assert_eq!((report.jobs, report.co_visitors, report.warned), (1, 0, 0));
    let exposure_messages = outbox(&core)
        .await
        .into_iter()
        .filter(|(_, o)| o.text.key().starts_with("exposure-"))
        .count();
    assert_eq!(exposure_messages, 0, "only the status notice");
    let e = exposure::export::export(&core, "LAB-R", "epi")
        .await
        .unwrap();
    assert_eq!((e.rows, e.not_recoverable), (0, 0));
    // A negative result queues no job.
    feeds::ingest_pcr(
        &core,
        vec![serde_json::json!({
            "iin": r.iin.expose(), "taken_at": "2026-11-11T09:00:00+05:00",
            "result_at": "2026-11-11T18:00:00+05:00", "result": "negative",
            "lab": "KDL", "external_id": "LAB-N",
        })],
        None,
    )
    .await
    .unwrap();
    assert_eq!(support::count(&core.store, "exposure_jobs").await, 1);
    assert!(matches!(
        exposure::export::export(&core, "LAB-N", "epi").await,
        Err(ExportError::NotPositive(_))
    ));
}

mod no_visits {
    ashyq_on_both!(super::no_visits_and_negative_results);
}

/// The positive person entered only in guard mode, without an account (known by the IIN's
/// keyed hash); two workers run the jobs at once: one warning.
async fn guard_visitor_positive_and_two_workers(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = venue(&core, "Cafe", "210540012341").await;
    let guest = Iin::synthetic(
        chrono::NaiveDate::from_ymd_opt(1990, 6, 1).unwrap(),
        Sex::Female,
        300,
    );
    let c = person(&core, 4).await;
    let hash = core.vault.lookup_hash(Field::Iin, &guest.expose());
    let mut tx = core.store.begin().await.unwrap();
    venues::insert_checkin(
        &mut tx,
        &venues::NewCheckin {
            venue_id: cafe,
            entrance_id: None,
            person_id: None,
            iin_hash: Some(&hash),
            chat: None,
            via: "guard",
            colour: "blue",
            admitted: true,
            check_code: "G001",
            entered_at: ms("2026-11-10T18:00"),
            closes_at: ms("2026-11-10T21:00"),
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    visit(&core, cafe, Some(&c), ms("2026-11-10T20:30"), None, true).await;
    pcr(&core, &guest, "LAB-G", false).await;
    let (a, b) = tokio::join!(exposure::run_jobs(&core), exposure::run_jobs(&core));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.jobs + b.jobs, 1, "one worker did the job");
    assert_eq!(a.warned + b.warned, 1);
    assert_eq!(
        chats_with(&core, "exposure-warning").await,
        vec![c.chat.chat_id.clone()]
    );
    let warning = outbox(&core)
        .await
        .into_iter()
        .find(|(_, o)| o.text.key() == "exposure-warning")
        .unwrap()
        .1;
    // 20:30 until the automatic check-out at 23:30; 30 minutes with the guest.
    assert_eq!(support::arg(&warning, "from"), "20:30");
    assert_eq!(support::arg(&warning, "to"), "23:30");
}

mod guard_positive {
    ashyq_on_both!(super::guard_visitor_positive_and_two_workers);
}

async fn retention_deletes_old_visits_and_keeps_audit_lines(db: &TestDb) {
    let clock = ManualClock::new(at("2026-12-20T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = venue(&core, "Cafe", "210540012341").await;
    let a = person(&core, 3).await;
    let now = core.now_ms();
    let day = 86_400_000;
    let old = visit(
        &core,
        cafe,
        Some(&a),
        now - 29 * day,
        Some(now - 29 * day + 60 * MIN),
        true,
    )
    .await;
    let edge = visit(&core, cafe, Some(&a), now - 27 * day, None, true).await;
    let recent = visit(
        &core,
        cafe,
        Some(&a),
        now - day,
        Some(now - day + 30 * MIN),
        true,
    )
    .await;
    let mut tx = core.store.begin().await.unwrap();
    for (age, checkin) in [(29, old), (400, old)] {
        venues::audit(
            &mut tx,
            &venues::AuditLine {
                action: "checkin",
                outcome: "denied",
                venue_id: Some(cafe),
                checkin_id: Some(checkin),
                ..Default::default()
            },
            now - age * day,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let purged = exposure::retention::run_due(&core, clock_now(&core))
        .await
        .unwrap();
    assert_eq!(purged.visits, 1);
    assert_eq!(purged.audit_lines, 1, "the 400-day-old line only");
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM checkins ORDER BY id")
        .fetch_all(core.store.pool())
        .await
        .unwrap();
    assert_eq!(ids, vec![(edge,), (recent,)]);
    let audit: Vec<(i64,)> = sqlx::query_as("SELECT checkin_id FROM checkin_audit")
        .fetch_all(core.store.pool())
        .await
        .unwrap();
    assert_eq!(
        audit,
        vec![(old,)],
        "the alert's reference outlives the visit"
    );
    // Idempotent.
    assert_eq!(
        exposure::retention::run_due(&core, clock_now(&core))
            .await
            .unwrap()
            .total(),
        0
    );
}

fn clock_now(core: &Core) -> chrono::DateTime<chrono::Utc> {
    core.clock.now()
}

mod retention {
    ashyq_on_both!(super::retention_deletes_old_visits_and_keeps_audit_lines);
}

/// `ashyq venue set … --exposure` and `ashyq exposure …` as the real binary on SQLite.
mod cli {
    use std::path::Path;
    use std::process::Command;

    fn ashyq(dir: &Path, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_ashyq"))
            .args(args)
            .current_dir(dir)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("cli.db").display()),
            )
            .env("ASHYQ_SECRET_KEY", crate::support::SECRET)
            .env("ASHYQ_BOT_USERNAME", "ashyq_test_bot")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run ashyq");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn exposure_off(dir: &Path) -> Option<i64> {
        let store =
            ashyq::storage::Store::open(&format!("sqlite://{}", dir.join("cli.db").display()))
                .await
                .unwrap();
        let (off,): (Option<i64>,) =
            sqlx::query_as("SELECT exposure_off_at FROM venues WHERE id = 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        store.close().await;
        off
    }

    #[tokio::test]
    async fn venue_setting_export_and_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ok, _, err) = ashyq(
            d,
            &[
                "venue",
                "add",
                "--name",
                "Дәріхана",
                "--bin",
                "210540012341",
                "--address",
                "Астана, Абай 1",
                "--region",
                "Astana",
                "--category",
                "essential",
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(exposure_off(d).await, None);
        let (ok, out, err) = ashyq(d, &["venue", "set", "1", "--exposure", "off"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "venue 1: exposure warnings off");
        assert!(exposure_off(d).await.is_some());
        let (ok, _, _) = ashyq(d, &["venue", "set", "1", "--exposure", "on"]);
        assert!(ok);
        assert_eq!(exposure_off(d).await, None);
        let (ok, _, err) = ashyq(d, &["venue", "set", "7", "--exposure", "off"]);
        assert!(!ok && err.contains("no venue 7"), "{err}");
        let (ok, _, err) = ashyq(d, &["venue", "set", "1", "--exposure", "maybe"]);
        assert!(!ok && err.contains("maybe"), "{err}");
        let (ok, _, err) = ashyq(d, &["exposure", "export", "--case", "NOPE", "--by", "epi"]);
        assert!(
            !ok && err.contains("no PCR result with external id \"NOPE\""),
            "{err}"
        );
        let (ok, out, err) = ashyq(d, &["exposure", "run"]);
        assert!(ok, "{err}");
        assert!(out.starts_with("jobs 0, failed 0"), "{out}");
        let (ok, out, err) = ashyq(d, &["exposure", "retention"]);
        assert!(ok, "{err}");
        assert!(out.starts_with("deleted visits 0"), "{out}");
    }
}

// ---------------------------------------------------------------- dependants

fn child_iin(serial: u16) -> Iin {
    Iin::synthetic(
        chrono::NaiveDate::from_ymd_opt(2015, 3, 1).unwrap(),
        Sex::Female,
        serial,
    )
}

/// A registry link from `adult` to the child `iin`; the adult's binding verified or not.
async fn link_child(core: &Core, adult: &Person, iin: &Iin, verified: bool) -> Vec<u8> {
    link(core, adult, iin, verified, "child", "registry").await
}

async fn link(
    core: &Core,
    adult: &Person,
    iin: &Iin,
    verified: bool,
    relation: &str,
    source: &str,
) -> Vec<u8> {
    let hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
    let mut tx = core.store.begin().await.unwrap();
    let member = storage::family::upsert_member(
        &mut tx,
        &hash,
        &core.vault.seal(Field::Iin, &iin.expose()),
        0,
    )
    .await
    .unwrap();
    storage::family::insert_link(
        &mut tx,
        &core.vault.lookup_hash(Field::Iin, &adult.iin.expose()),
        member,
        relation,
        source,
        &format!("FAM-{}-{}", adult.id, member),
        &[member as u8],
        None,
        0,
    )
    .await
    .unwrap()
    .expect("a new link");
    if verified {
        sqlx::query("UPDATE people SET verified_at = 1 WHERE id = $1")
            .bind(adult.id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    hash
}

/// A dependant's visit as a group check-in writes it: the IIN hash, no account, no chat,
/// `group_of` the adult's check-in (`None`: a guard-mode entry of the dependant).
async fn dependant_visit(
    core: &Core,
    venue_id: i64,
    hash: &[u8],
    group_of: Option<i64>,
    entered: i64,
    left: Option<i64>,
) -> i64 {
    let mut tx = core.store.begin().await.unwrap();
    // Distinct per visit: codes are unique per venue and local date (a random one collided).
    let code = format!(
        "{:04}",
        NEXT_CODE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10_000
    );
    let id = venues::insert_checkin(
        &mut tx,
        &venues::NewCheckin {
            venue_id,
            entrance_id: None,
            person_id: None,
            iin_hash: Some(hash),
            chat: None,
            via: if group_of.is_some() { "link" } else { "guard" },
            colour: "blue",
            admitted: true,
            check_code: &code,
            entered_at: entered,
            closes_at: entered + 180 * MIN,
        },
    )
    .await
    .unwrap()
    .expect("a free code");
    if let Some(adult) = group_of {
        venues::set_group_of(&mut tx, id, adult).await.unwrap();
    }
    if let Some(left) = left {
        sqlx::query("UPDATE checkins SET left_at = $1, left_how = 'exit' WHERE id = $2")
            .bind(left)
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

/// The messages of `key` queued to `chat`, in order.
async fn to_chat(core: &Core, chat: &ChatRef, key: &str) -> Vec<Outbound> {
    outbox(core)
        .await
        .into_iter()
        .filter(|(c, o)| *c == chat.chat_id && o.text.key() == key)
        .map(|(_, o)| o)
        .collect()
}

/// Hand-computed fixture, all on 10 Nov (Astana time) at the cafe; the positive person P
/// there 18:30–20:00.
/// - Adult A (verified) 18:00–19:00 with child K1 (group, 18:00–18:45: exactly 15 minutes
///   with P) and child K2 (group, 18:00–18:40: 10 minutes, not a co-visit). A second
///   verified parent B of K1 is not told: A checked K1 in.
/// - Child K1 again at 19:30, no exit (until 22:30: 30 minutes): same dependant, venue and
///   day, still one warning, visit 18:00–22:30.
/// - Child K3 in guard mode (no group) 19:00–20:30, linked to A (verified) and C (not
///   verified): told to A only.
/// - Child K4 (group with A) at the cinema, where P never was: nothing.
///
/// A's chat gets its own warning and one per dependant; P's withdrawal corrects all three.
async fn dependants_of_co_visitors(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = venue(&core, "Cafe", "210540012341").await;
    let cinema = venue(&core, "Cinema", "210540012341").await;
    let p = person(&core, 1).await;
    let a = person(&core, 2).await;
    let b = person(&core, 3).await;
    let c = person(&core, 4).await;
    let (k1, k2, k3, k4) = (
        child_iin(110),
        child_iin(130),
        child_iin(150),
        child_iin(170),
    );
    let h1 = link_child(&core, &a, &k1, true).await;
    link_child(&core, &b, &k1, true).await;
    let h2 = link_child(&core, &a, &k2, true).await;
    let h3 = link_child(&core, &a, &k3, true).await;
    link_child(&core, &c, &k3, false).await;
    let h4 = link_child(&core, &a, &k4, true).await;

    visit(
        &core,
        cafe,
        Some(&p),
        ms("2026-11-10T18:30"),
        Some(ms("2026-11-10T20:00")),
        true,
    )
    .await;
    let av = visit(
        &core,
        cafe,
        Some(&a),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T19:00")),
        true,
    )
    .await;
    dependant_visit(
        &core,
        cafe,
        &h1,
        Some(av),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T18:45")),
    )
    .await;
    dependant_visit(
        &core,
        cafe,
        &h2,
        Some(av),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T18:40")),
    )
    .await;
    let av2 = visit(&core, cafe, Some(&a), ms("2026-11-10T19:30"), None, true).await;
    dependant_visit(&core, cafe, &h1, Some(av2), ms("2026-11-10T19:30"), None).await;
    dependant_visit(
        &core,
        cafe,
        &h3,
        None,
        ms("2026-11-10T19:00"),
        Some(ms("2026-11-10T20:30")),
    )
    .await;
    let ac = visit(
        &core,
        cinema,
        Some(&a),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T21:00")),
        true,
    )
    .await;
    dependant_visit(
        &core,
        cinema,
        &h4,
        Some(ac),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T21:00")),
    )
    .await;

    pcr(&core, &p.iin, "LAB-D1", false).await;
    let r = exposure::run_jobs(&core).await.unwrap();
    // Co-visitors: A, K1, K3 (K2 only 10 minutes; K4 elsewhere).
    assert_eq!(r.co_visitors, 3);
    assert_eq!(
        r.warned, 3,
        "A's own warning and one per dependant, in A's chat"
    );
    assert_eq!(to_chat(&core, &a.chat, "exposure-warning").await.len(), 1);
    let dep = to_chat(&core, &a.chat, "exposure-warning-dependant").await;
    assert_eq!(dep.len(), 2);
    let by_who: BTreeMap<String, &Outbound> =
        dep.iter().map(|o| (support::arg(o, "who"), o)).collect();
    let w1 = by_who[&k1.masked()];
    assert_eq!(support::arg(w1, "relation"), "child");
    assert_eq!(support::arg(w1, "venue"), "Cafe");
    assert_eq!(support::arg(w1, "from"), "18:00");
    assert_eq!(support::arg(w1, "to"), "22:30");
    let w3 = by_who[&k3.masked()];
    assert_eq!(
        (support::arg(w3, "from"), support::arg(w3, "to")),
        ("19:00".into(), "20:30".into())
    );
    assert!(!by_who.contains_key(&k2.masked()) && !by_who.contains_key(&k4.masked()));
    for o in &dep {
        for (name, _) in &o.text.args {
            assert!(
                ["relation", "who", "venue", "date", "from", "to"]
                    .iter()
                    .any(|k| *k == *name),
                "nothing about the positive person: {name}"
            );
        }
    }
    assert!(
        to_chat(&core, &b.chat, "exposure-warning-dependant")
            .await
            .is_empty(),
        "A checked K1 in"
    );
    assert!(
        to_chat(&core, &c.chat, "exposure-warning-dependant")
            .await
            .is_empty(),
        "C is not verified"
    );
    assert!(
        to_chat(&core, &p.chat, "exposure-warning-dependant")
            .await
            .is_empty()
    );
    // The sanitary count includes the dependants.
    let n: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM exposure_warnings WHERE person_id IS NULL")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(n.0, 2, "one warning per dependant, venue and day");

    // The official contact list has the dependants' IINs (from the family records).
    let e = exposure::export::export(&core, "LAB-D1", "epi-1")
        .await
        .unwrap();
    assert_eq!((e.rows, e.not_recoverable), (3, 0));
    for iin in [&a.iin, &k1, &k3] {
        assert!(e.csv.contains(&format!("{},", iin.expose())), "{}", e.csv);
    }
    assert!(!e.csv.contains(&k2.expose()) && !e.csv.contains(&k4.expose()));

    // Fed twice, run again: nothing more.
    pcr(&core, &p.iin, "LAB-D1", false).await;
    let r = exposure::run_jobs(&core).await.unwrap();
    assert_eq!(r.warned, 0);
    assert_eq!(
        to_chat(&core, &a.chat, "exposure-warning-dependant")
            .await
            .len(),
        2
    );

    // Withdrawn: a correction each, in A's chat only.
    pcr(&core, &p.iin, "LAB-D1", true).await;
    let r = exposure::run_jobs(&core).await.unwrap();
    assert_eq!(r.corrected, 3);
    let corr = to_chat(&core, &a.chat, "exposure-correction-dependant").await;
    let mut who: Vec<String> = corr.iter().map(|o| support::arg(o, "who")).collect();
    who.sort();
    let mut want = vec![k1.masked(), k3.masked()];
    want.sort();
    assert_eq!(who, want);
    assert!(
        to_chat(&core, &b.chat, "exposure-correction-dependant")
            .await
            .is_empty()
    );
    let _ = h4;
}

mod dependants {
    ashyq_on_both!(super::dependants_of_co_visitors);
}

/// The positive case is a child checked in by adult A (18:00–19:00 at the cafe, no account,
/// found by the IIN hash): A (own visit) and D (18:40–20:00: 20 minutes) are warned; E
/// (18:50–20:00: 10 minutes) is not; the sibling K2 checked in with A (18:00–19:00) is
/// warned to A as "your child"; A's adult relative R (consent link, own verified account)
/// checked in with A (18:00–19:00) is warned in R's own chat and to A as "your relative";
/// the positive child is never named to anyone.
async fn dependant_positive(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = venue(&core, "Cafe", "210540012341").await;
    let a = person(&core, 2).await;
    let d = person(&core, 5).await;
    let e = person(&core, 6).await;
    let (k1, k2) = (child_iin(210), child_iin(250));
    let h1 = link_child(&core, &a, &k1, true).await;
    let h2 = link_child(&core, &a, &k2, true).await;
    let r = person(&core, 7).await;
    let hr = link(&core, &a, &r.iin, true, "relative", "consent").await;
    sqlx::query("UPDATE people SET verified_at = 1 WHERE id = $1")
        .bind(r.id)
        .execute(core.store.pool())
        .await
        .unwrap();
    let av = visit(
        &core,
        cafe,
        Some(&a),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T19:00")),
        true,
    )
    .await;
    dependant_visit(
        &core,
        cafe,
        &h1,
        Some(av),
        ms("2026-11-10T18:00"),
        Some(ms("2026-11-10T19:00")),
    )
    .await;
    for h in [&h2, &hr] {
        dependant_visit(
            &core,
            cafe,
            h,
            Some(av),
            ms("2026-11-10T18:00"),
            Some(ms("2026-11-10T19:00")),
        )
        .await;
    }
    visit(
        &core,
        cafe,
        Some(&d),
        ms("2026-11-10T18:40"),
        Some(ms("2026-11-10T20:00")),
        true,
    )
    .await;
    visit(
        &core,
        cafe,
        Some(&e),
        ms("2026-11-10T18:50"),
        Some(ms("2026-11-10T20:00")),
        true,
    )
    .await;

    pcr(&core, &k1, "LAB-K1", false).await;
    let report = exposure::run_jobs(&core).await.unwrap();
    assert_eq!(report.co_visitors, 4, "A, D, K2 and R");
    assert_eq!(report.warned, 5, "A, D, R, and A about K2 and R");
    let mut warned = chats_with(&core, "exposure-warning").await;
    warned.sort();
    let mut want = vec![
        a.chat.chat_id.clone(),
        d.chat.chat_id.clone(),
        r.chat.chat_id.clone(),
    ];
    want.sort();
    assert_eq!(warned, want);
    let dep = to_chat(&core, &a.chat, "exposure-warning-dependant").await;
    let mut got: Vec<(String, String)> = dep
        .iter()
        .map(|o| (support::arg(o, "who"), support::arg(o, "relation")))
        .collect();
    got.sort();
    let mut want = vec![
        (k2.masked(), "child".to_string()),
        (r.iin.masked(), "relative".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    // (A learns the child's own colour from the status notices, not from the exposure job.)
    for (_, o) in outbox(&core).await {
        if !o.text.key().starts_with("exposure-") {
            continue;
        }
        for (_, v) in &o.text.args {
            if let ashyq::i18n::Arg::Str(s) = v {
                assert_ne!(s, &k1.masked(), "the positive child is never named");
            }
        }
    }
    let w = to_chat(&core, &d.chat, "exposure-warning").await;
    assert_eq!(
        (support::arg(&w[0], "from"), support::arg(&w[0], "to")),
        ("18:40".into(), "20:00".into())
    );

    // Withdrawn: R's own correction, and A's for K2 and R.
    pcr(&core, &k1, "LAB-K1", true).await;
    let report = exposure::run_jobs(&core).await.unwrap();
    assert_eq!(report.corrected, 5);
    assert_eq!(
        to_chat(&core, &r.chat, "exposure-correction").await.len(),
        1
    );
    assert_eq!(
        to_chat(&core, &a.chat, "exposure-correction-dependant")
            .await
            .len(),
        2
    );
}

mod dependant_is_positive {
    ashyq_on_both!(super::dependant_positive);
}

/// Check codes of the fixtures' visits, distinct within a run.
static NEXT_CODE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
