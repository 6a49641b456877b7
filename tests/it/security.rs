//! Security controls through the core on SQLite and PostgreSQL (docs/SECURITY.md): a panic in
//! one update is caught and answered, over-long ban durations, check codes unique per venue per
//! local date under concurrent inserts, throttled and audited code guessing, Cyrillic short
//! codes, the retention job.

use crate::support;

use ashyq::adapters::terminal::{self, TerminalOptions};
use ashyq::clock::{Clock, ManualClock};
use ashyq::core::checkin::admin;
use ashyq::core::support::SupportSettings;
use ashyq::core::{Core, CoreError, Event, Inbound, Relayed, wallet};
use ashyq::crypto::Vault;
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store, venues};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::{Chat, TestDb, at, command, count, keys};

const BOT: &str = "ashyq_test_bot";
const PHONE: &str = "+77011234567";
const IIN: &str = "900101300017";

/// A clock that panics once, on its first reading after being armed: a stand-in for any bug
/// on the path of one update.
#[derive(Clone)]
struct TrapClock {
    inner: ManualClock,
    armed: Arc<AtomicBool>,
}

impl Clock for TrapClock {
    fn now(&self) -> DateTime<Utc> {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("trap clock sprung");
        }
        self.inner.now()
    }
}

async fn trap_core(db: &TestDb) -> (Arc<Core>, Arc<AtomicBool>) {
    let armed = Arc::new(AtomicBool::new(false));
    let clock = TrapClock {
        inner: ManualClock::new(at("2026-11-21T10:00:00+05:00")),
        armed: armed.clone(),
    };
    let store = Store::open(&db.url).await.expect("open store");
    let core = Core::new(
        store,
        Vault::from_secret(support::SECRET).unwrap(),
        Arc::new(clock),
        Arc::new(Texts::load()),
    )
    .with_channels(ashyq::adapters::channels());
    (Arc::new(core), armed)
}

async fn a_panic_is_caught(db: &TestDb) {
    let (core, armed) = trap_core(db).await;
    let chat = ChatRef::new("test", "p1");
    let inbound = |key: &str| Inbound {
        chat: chat.clone(),
        update_key: Some(key.into()),
        lang_hint: Some("ru".into()),
        event: command("start", ""),
    };
    // The panic becomes an error; the update's transaction is rolled back, so its id was not
    // recorded and a redelivery is handled.
    armed.store(true, Ordering::SeqCst);
    let err = core.handle(inbound("u1")).await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Panicked(m) if m.contains("trap clock")),
        "{err}"
    );
    assert_eq!(count(&core.store, "processed_updates").await, 0);
    let again = core.handle(inbound("u1")).await.unwrap();
    assert_eq!(keys(&again), ["consent-text"]);

    // Through an adapter (the terminal): the user gets the apology and the chat goes on.
    armed.store(true, Ordering::SeqCst);
    let mut out = Vec::new();
    terminal::run(
        &core,
        "/start\n/start\n".as_bytes(),
        &mut out,
        &TerminalOptions {
            user: "local".into(),
            phone: PHONE.into(),
            lang_hint: Some("en".into()),
            echo: true,
        },
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let apologies: Vec<String> = [
        ashyq::domain::Lang::Kk,
        ashyq::domain::Lang::Ru,
        ashyq::domain::Lang::En,
    ]
    .into_iter()
    .map(|l| {
        core.texts
            .render(l, &ashyq::i18n::Msg::new("error-generic"))
    })
    .collect();
    let first = apologies
        .iter()
        .find_map(|a| out.find(a.as_str()))
        .unwrap_or_else(|| panic!("no apology in {out}"));
    // The second /start is answered as usual (the first question, with buttons).
    let rest = &out[first..];
    let second = rest.find("> /start").expect("the second line was read");
    assert!(
        rest[second..].contains("[1]"),
        "served after the panic: {out}"
    );
}

mod panic_in_one_update {
    ashyq_on_both!(super::a_panic_is_caught);
}

async fn ban_durations(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let staff = ChatRef::new("telegram", "-1001");
    let core = support::core_with_support(
        db,
        &clock,
        SupportSettings {
            chat: Some(staff.clone()),
            ..SupportSettings::default()
        },
    )
    .await;
    let user = Chat::new(&core, "u-ban", Some("ru"));
    user.command("support").await;
    user.button("support:cat:citizen").await;
    user.text("Я переболел, почему я красный?").await;
    assert_eq!(
        user.button("support:faq:no").await,
        ["support-ticket-opened"]
    );
    let op = |text: &str| {
        core.handle(Inbound {
            chat: staff.clone(),
            update_key: None,
            lang_hint: None,
            event: Event::Relay(Relayed {
                source: None,
                text: Some(text.into()),
                kind: None,
                forwarded: false,
                topic: Some("support:1".into()),
                author: Some("77".into()),
                plain: None,
            }),
        })
    };
    // Once a worker's panic: now the usage, and the desk keeps working.
    for long in [
        "/ban 99999999999999999m",
        "/ban 9223372036854775807w",
        "/ban 400d",
    ] {
        assert_eq!(
            keys(&op(long).await.unwrap()),
            ["support-op-ban-usage"],
            "{long}"
        );
    }
    assert_eq!(keys(&op("/ban 2h").await.unwrap()), ["support-op-banned"]);
}

mod ban_duration_overflow {
    ashyq_on_both!(super::ban_durations);
}

async fn add_venue(core: &Core, bin: &str) -> admin::AddedVenue {
    admin::add_venue(
        core,
        &admin::AddVenue {
            name: "Cafe Alma".into(),
            bin: bin.into(),
            address: "Almaty, Abai 10".into(),
            region: "Almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        BOT,
    )
    .await
    .expect("venue added")
}

async fn codes_unique_per_day(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T23:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = add_venue(&core, "210540012341").await;
    let now = clock.now().timestamp_millis();
    // Sixteen transactions insert the same code at once: exactly one wins, none fails.
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = core.store.clone();
        let barrier = barrier.clone();
        let venue_id = cafe.venue_id;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = store.begin().await.unwrap();
            let row = venues::NewCheckin {
                venue_id,
                entrance_id: None,
                person_id: None,
                iin_hash: None,
                chat: None,
                via: "code",
                colour: "blue",
                admitted: true,
                check_code: "K7P2",
                entered_at: now,
                closes_at: now + 3_600_000,
            };
            let id = venues::insert_checkin(&mut tx, &row).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            tx.commit().await.unwrap();
            id
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(won, 1, "one check-in holds the code at the venue that day");
    // Two hours later it is the next local date (01:00 on 22 November): the code is free again.
    let next_day = now + 2 * 3_600_000;
    let mut tx = core.store.begin().await.unwrap();
    let row = venues::NewCheckin {
        venue_id: cafe.venue_id,
        entrance_id: None,
        person_id: None,
        iin_hash: None,
        chat: None,
        via: "code",
        colour: "blue",
        admitted: true,
        check_code: "K7P2",
        entered_at: next_day,
        closes_at: next_day + 3_600_000,
    };
    assert!(
        venues::insert_checkin(&mut tx, &row)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        venues::insert_checkin(&mut tx, &row)
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
    assert_eq!(count(&core.store, "checkins").await, 2);
}

mod check_codes_unique_per_venue_and_date {
    ashyq_on_both!(super::codes_unique_per_day);
}

async fn register(chat: &Chat, iin: &str) {
    support::identity_pair(&chat.core, iin, PHONE).await;
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: PHONE.into(),
        own: true,
    })
    .await;
    assert_eq!(chat.text(iin).await, ["registered"]);
}

async fn venue_code_guessing(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = add_venue(&core, "210540012341").await;
    // A code made of letters that have Cyrillic twins, typed on a Russian keyboard.
    sqlx::query("UPDATE entrances SET entry_code = 'K7P-2XA9' WHERE entry_code = $1")
        .bind(&cafe.entrances[0].entry_code)
        .execute(core.store.pool())
        .await
        .unwrap();
    let v = Chat::new(&core, "guesser", Some("ru"));
    register(&v, IIN).await;
    for i in 0..10 {
        let out = v.text(&format!("ZZZ-ZZZ{}", 2 + i % 8)).await;
        assert_eq!(out[0], "checkin-code-unknown", "{i}");
    }
    // Counted per scope: the registration's IIN attempt is a row of its own scope.
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM attempt_failures WHERE scope = 'venue_code'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(n, 10);
    // The eleventh attempt is refused without looking the code up, even a right one.
    assert_eq!(v.text("К7Р-2ХА9").await[0], "security-code-attempts");
    // Another chat is not affected, and reads Cyrillic look-alikes as Latin.
    let w = Chat::new(&core, "typist", Some("ru"));
    register(&w, "900517412346").await;
    assert_eq!(w.text("к7р 2ха9").await, ["checkin-result"]);
    // An hour later the guesser may try again.
    clock.advance(chrono::Duration::minutes(61));
    assert_eq!(v.text("К7Р-2ХА9").await, ["checkin-result"]);
}

mod venue_code_attempts {
    ashyq_on_both!(super::venue_code_guessing);
}

async fn meal_code_guessing(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    wallet::set_school(&core, "210540012341", "School 5", None)
        .await
        .unwrap();
    let link = wallet::canteen_invite(&core, "210540012341", BOT)
        .await
        .unwrap();
    let token = link.split("start=").nth(1).unwrap().to_string();
    let op = ChatRef::new("test", "canteen");
    let opc = Chat::new(&core, "canteen", Some("ru"));
    assert_eq!(
        keys(&opc.send(command("start", &token)).await),
        ["canteen-invite-accepted"]
    );
    for i in 0..10 {
        let r = wallet::redeem(&core, &op, &format!("22222-ZZZZZ{}", 2 + i % 8))
            .await
            .unwrap();
        assert_eq!(r.outcome(), "invalid", "{i}");
    }
    let r = wallet::redeem(&core, &op, "22222-ZZZZZZ").await.unwrap();
    assert_eq!(r.outcome(), "throttled");
    assert_eq!(r.msg().key(), "security-code-attempts");
    let (throttled,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM wallet_audit WHERE outcome = 'throttled'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(throttled, 1, "the refusal is audited");
    let (failures,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM attempt_failures WHERE scope = 'meal_code'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(failures, 10);
}

mod meal_code_attempts {
    ashyq_on_both!(super::meal_code_guessing);
}

async fn retention(db: &TestDb) {
    use ashyq::security::retention::{Pruned, run_due};
    let clock = ManualClock::new(at("2026-11-01T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let chat = Chat::new(&core, "r1", Some("ru"));
    chat.send_keyed(command("start", ""), Some("k1".into()))
        .await;
    let to = ChatRef::new("test", "other");
    let msg = ashyq::core::Outbound::reply(
        ashyq::domain::Lang::Ru,
        ashyq::i18n::Msg::new("error-generic"),
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    core.enqueue(&mut conn, &to, &msg, Some("a"), None)
        .await
        .unwrap();
    core.enqueue(&mut conn, &to, &msg, Some("b"), None)
        .await
        .unwrap();
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM outbox ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let (sent, waiting) = (ids[0].0, ids[1].0);
    let now = clock.now().timestamp_millis();
    ashyq::storage::outbox::mark_sent(&mut conn, sent, now)
        .await
        .unwrap();
    drop(conn);
    let day = 86_400_000;
    assert_eq!(
        run_due(&core, now + 6 * day).await.unwrap(),
        Pruned::default()
    );
    assert_eq!(
        run_due(&core, now + 8 * day).await.unwrap(),
        Pruned {
            outbox: 0,
            update_ids: 1,
            attempts: 0
        }
    );
    assert_eq!(
        run_due(&core, now + 31 * day).await.unwrap(),
        Pruned {
            outbox: 1,
            update_ids: 0,
            attempts: 0
        }
    );
    let (left,): (i64,) = sqlx::query_as("SELECT id FROM outbox")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(left, waiting, "a message still waiting is never pruned");
}

mod retention_job {
    ashyq_on_both!(super::retention);
}

/// `n` earlier guard look-ups of a venue, as audit lines at `at_ms`.
async fn insert_audit(core: &Core, venue_id: i64, n: usize, at_ms: i64) {
    let mut left = n;
    while left > 0 {
        let k = left.min(200);
        let values =
            vec![
                format!("({at_ms}, 'guard_lookup', 'admit', {venue_id}, 'test', 'earlier-guard')");
                k
            ]
            .join(", ");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO checkin_audit (at, action, outcome, venue_id, channel, chat_id) VALUES {values}"
        )))
        .execute(core.store.pool())
        .await
        .unwrap();
        left -= k;
    }
}

async fn join(core: &Arc<Core>, venue: i64, chat: &Chat, role: &str) -> Vec<String> {
    let link = admin::invite(core, venue, role, BOT).await.unwrap();
    let token = link.split("start=").nth(1).unwrap().to_string();
    keys(&chat.send(command("start", &token)).await)
}

async fn guard_lookup(guard: &Chat, iin: &str) -> Vec<String> {
    let first = keys(&guard.send(command("guard", iin)).await);
    if first != ["guard-confirm-consent"] {
        return first;
    }
    guard.button("ci:gy").await
}

async fn outbox_with(core: &Core, key: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%' || $1 || '%'")
            .bind(key)
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    n
}

async fn guard_quotas(db: &TestDb) {
    use ashyq::security::guard_quota::{
        SPIKE_PER_HOUR, STAFF_SEATS, VENUE_PER_DAY, VENUE_PER_HOUR,
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let cafe = add_venue(&core, "210540012341").await;
    let venue = cafe.venue_id;
    let sanitary = ChatRef::new("test", "sanitary");
    admin::set_alert_chat(&core, "Almaty", &sanitary)
        .await
        .unwrap();
    let owner = Chat::new(&core, "owner", Some("ru"));
    assert_eq!(
        join(&core, venue, &owner, "owner").await,
        ["invite-accepted"]
    );
    let guard = Chat::new(&core, "guard", Some("ru"));
    assert_eq!(
        join(&core, venue, &guard, "staff").await,
        ["invite-accepted"]
    );
    let lookup = |iin: &'static str| guard_lookup(&guard, iin);
    let now = clock.now().timestamp_millis();
    let queued = |key: &'static str| outbox_with(&core, key);

    // The spike alert: the look-up that reaches the threshold in an hour tells the owner and
    // sanitary control, once.
    insert_audit(&core, venue, (SPIKE_PER_HOUR - 2) as usize, now - 60_000).await;
    assert_eq!(lookup(IIN).await, ["guard-result"]);
    assert_eq!(queued("security-guard-spike").await, 0);
    assert_eq!(lookup(IIN).await, ["guard-result"]);
    assert_eq!(
        queued("security-guard-spike").await,
        2,
        "owner and sanitary control"
    );
    assert_eq!(lookup(IIN).await, ["guard-result"]);
    assert_eq!(queued("security-guard-spike").await, 2, "once an hour");

    // The venue's hourly cap, whatever the staff chat: the look-up is refused and audited.
    insert_audit(
        &core,
        venue,
        (VENUE_PER_HOUR - SPIKE_PER_HOUR - 1) as usize,
        now - 60_000,
    )
    .await;
    assert_eq!(lookup(IIN).await, ["security-guard-venue-limit"]);
    let (refused,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkin_audit WHERE action = 'guard_refused' AND outcome = 'venue_limit'",
    )
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(refused, 1);
    // Two hours later the hour is free again, but the day's cap still counts.
    clock.advance(chrono::Duration::hours(2));
    let later = clock.now().timestamp_millis();
    assert_eq!(lookup(IIN).await, ["guard-result"]);
    insert_audit(
        &core,
        venue,
        (VENUE_PER_DAY - VENUE_PER_HOUR - 1) as usize,
        later - 3 * 3_600_000,
    )
    .await;
    assert_eq!(lookup(IIN).await, ["security-guard-venue-day-limit"]);

    // Staff seats: with every seat taken an invite is refused and stays usable.
    for i in 2..STAFF_SEATS {
        sqlx::query(
            "INSERT INTO venue_staff (venue_id, channel, chat_id, role, added_at)
             VALUES ($1, 'test', $2, 'staff', $3)",
        )
        .bind(venue)
        .bind(format!("seat-{i}"))
        .bind(later)
        .execute(core.store.pool())
        .await
        .unwrap();
    }
    let link = admin::invite(&core, venue, "staff", BOT).await.unwrap();
    let token = link.split("start=").nth(1).unwrap().to_string();
    let late = Chat::new(&core, "late", Some("ru"));
    assert_eq!(
        keys(&late.send(command("start", &token)).await),
        ["security-staff-seats"]
    );
    sqlx::query("UPDATE venue_staff SET removed_at = $1 WHERE chat_id = 'seat-2'")
        .bind(later)
        .execute(core.store.pool())
        .await
        .unwrap();
    assert_eq!(
        keys(&late.send(command("start", &token)).await),
        ["invite-accepted"]
    );
}

mod guard_mode_quotas {
    ashyq_on_both!(super::guard_quotas);
}

/// Migration 0025 moves the IIN attempts of the former `identity_attempts` into the one
/// per-chat attempt counter, where they keep counting against the limits.
async fn attempts_move_to_one_counter(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let now = core.now_ms();
    // A database of the previous version: 0025 not applied, five IINs sent in the last hour.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 25")
        .execute(core.store.pool())
        .await
        .unwrap();
    for i in 0..5 {
        sqlx::query(
            "INSERT INTO identity_attempts (channel, chat_id, at) VALUES ('test', 'old', $1)",
        )
        .bind(now - 60_000 * (i + 1))
        .execute(core.store.pool())
        .await
        .unwrap();
    }
    core.store.migrate().await.unwrap();
    assert_eq!(count(&core.store, "identity_attempts").await, 0);
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM attempt_failures WHERE scope = 'iin' AND chat_id = 'old'",
    )
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(n, 5);
    use ashyq::security::throttle::{self, Scope};
    let mut conn = core.store.pool().acquire().await.unwrap();
    let limit = throttle::exceeded(&mut conn, Scope::Iin, &ChatRef::new("test", "old"), now)
        .await
        .unwrap()
        .expect("the moved attempts count");
    assert_eq!((limit.max, limit.period), (5, "hour"));
    assert!(
        throttle::exceeded(&mut conn, Scope::Iin, &ChatRef::new("test", "new"), now)
            .await
            .unwrap()
            .is_none()
    );
}

mod attempts_one_counter {
    ashyq_on_both!(super::attempts_move_to_one_counter);
}
