//! Social Wallet benchmarks (docs/PERFORMANCE.md, "Social Wallet").
//!
//! 1. **Redemptions per second** through the one redemption path,
//!    `wallet::redeem(core, operator_chat, code)`: N pupils at S schools with activated
//!    vouchers, C canteen operators (C / S per school) redeeming concurrently. Every call is
//!    a different child (granted) except a share of repeats of a code that operator already
//!    redeemed ("already received today"). Counts are checked afterwards (granted = rows in
//!    `wallet_meals` = redemption entries in the ledger = meal notices in the outbox, repeats =
//!    `already_today` audit lines) and the ledger is verified with `ledger::verify`.
//!    On SQLite (reference) and on PostgreSQL.
//! 2. **Campaign sending rate**: P registered parents (Telegram chats), one eligible child
//!    each; `campaign::offer` (what `ashyq vouchers offer --all` calls) creates the offers
//!    and their outbox messages, then the real outbox worker `telegram::run_outbox` with the
//!    Throttle adaptor (Telegram's default limits, as `bot_from_env` builds it) delivers
//!    them to a fake Bot API. The worker is stopped (graceful) at half the campaign and
//!    restarted, killed (task aborted: a crash) at three quarters and restarted; afterwards
//!    every chat must have received its offer exactly once.
//!
//! Set-up is not measured: pupils come in through the real import (`import_csv`), offers and
//! activated vouchers for part 1 are bulk SQL (`INSERT … SELECT`), operators join by the real
//! invite, parents of part 2 are written straight into `people` / `conversations`.
//!
//! `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) names a server where scratch databases are
//! created and dropped; without it only SQLite runs. Environment: `BENCH_PUPILS` (N, default
//! 6 000), `BENCH_SCHOOLS` (4), `BENCH_CLIENTS` (8 operators), `BENCH_REPEAT_PERCENT` (10),
//! `BENCH_SECS` (cap of the redemption run, 120), `BENCH_PARENTS` (P, 300),
//! `BENCH_SQLITE=0` (skip SQLite's redemption run).
//! Under `cargo test --all-targets` (no `--bench`) it runs a small smoke set (60 pupils, 12
//! parents) on SQLite, and on PostgreSQL too when the URL is set.
//!
//! Run: `BENCH_POSTGRES_URL=postgres://… cargo bench --bench wallet -- --bench`

#[allow(dead_code)]
#[path = "../tests/it/support/fake_telegram.rs"]
mod fake_telegram;

mod common;
use common::{drop_db, env_num, load_average, machine, percentile, scratch_db};

use ashyq::adapters::telegram;
use ashyq::clock::{Clock, SystemClock};
use ashyq::core::wallet::{self, Redemption, campaign, eligibility, ledger, token};
use ashyq::core::{Core, Event, Inbound};
use ashyq::crypto::{Field, Vault};
use ashyq::domain::{Bin, Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::storage::{Backend, ChatRef, ConversationRow, Store, conversations, people};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SUPPLIER: &str = "051040001237";
/// Redemptions run on this Monday (a school day) from 10:00 Almaty, the clock moving on.
const MONDAY: &str = "2026-11-23T10:00:00+05:00";
const HEADER: &str = "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n";

/// Real time, shifted so that the run starts at `MONDAY`.
struct ShiftedClock {
    base: DateTime<Utc>,
    start: Instant,
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

/// A database on one backend: a temp SQLite file or a scratch PostgreSQL database.
enum Db {
    /// The temp dir lives as long as the database.
    Sqlite(#[allow(dead_code)] tempfile::TempDir, String),
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl Db {
    async fn new(pg_admin: Option<&str>) -> Self {
        match pg_admin {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Db::Sqlite(dir, url)
            }
            Some(admin) => {
                let (name, url) = scratch_db(admin, "ashyq_bench_w").await;
                Db::Postgres {
                    admin: admin.to_string(),
                    name,
                    url,
                }
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Db::Sqlite(_, url) => url,
            Db::Postgres { url, .. } => url,
        }
    }

    async fn cleanup(self) {
        if let Db::Postgres { admin, name, .. } = self {
            drop_db(&admin, &name).await;
        }
    }
}

async fn open_core(url: &str, clock: Arc<dyn Clock>) -> Arc<Core> {
    let store = Store::open(url).await.expect("open store");
    Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).expect("secret"),
            clock,
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels()),
    )
}

/// The `i`-th valid BIN of a series (check digit found by trying all ten).
fn bin_of(i: usize) -> String {
    let mut serial = i * 3;
    loop {
        let stem = format!("2105400{:04}", serial % 10_000);
        if let Some(b) = (0..10)
            .map(|d| format!("{stem}{d}"))
            .find(|b| Bin::parse(b).is_ok())
        {
            return b;
        }
        serial += 1;
    }
}

/// Distinct valid IINs: 900 per birth date, serials ten apart.
fn iin_of(first_birth: NaiveDate, i: usize) -> String {
    let birth = first_birth + chrono::Duration::days((i / 900) as i64);
    let sex = if i.is_multiple_of(2) {
        Sex::Female
    } else {
        Sex::Male
    };
    Iin::synthetic(birth, sex, ((i % 900) * 10) as u16).expose()
}

fn pupil_iin(i: usize) -> String {
    iin_of(NaiveDate::from_ymd_opt(2017, 1, 1).unwrap(), i)
}

fn parent_iin(i: usize) -> String {
    iin_of(NaiveDate::from_ymd_opt(1984, 1, 1).unwrap(), i)
}

fn parent_phone(i: usize) -> String {
    format!("+7702{i:07}")
}

/// Imports `n` pupils (grades 1-4, so all eligible) through `import_csv`; pupil `i` goes
/// to `schools[i % len]` and has parent `i`.
async fn import_pupils(core: &Core, n: usize, schools: &[String]) -> Duration {
    let mut csv = HEADER.to_string();
    for i in 0..n {
        csv += &format!(
            "{},{},{},{},{},0\n",
            pupil_iin(i),
            1 + i % 4,
            schools[i % schools.len()],
            parent_iin(i),
            parent_phone(i)
        );
    }
    let t = Instant::now();
    let report = eligibility::import_csv(core, std::io::Cursor::new(csv.into_bytes()), &|_| {})
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.eligible, n as u64);
    t.elapsed()
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .expect(sql);
    n
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .expect(sql);
}

async fn verify_ledger(core: &Core) -> (i64, Duration) {
    let t = Instant::now();
    let mut conn = core.store.pool().acquire().await.expect("connection");
    let v = ledger::verify(&mut conn).await.expect("verify");
    assert_eq!(v.first_problem, None, "the ledger verifies");
    (v.entries, t.elapsed())
}

// ---------------------------------------------------------------- 1. redemptions

struct RedeemParams {
    pupils: usize,
    schools: usize,
    clients: usize,
    repeat_percent: u64,
    secs: u64,
}

#[derive(Default)]
struct ClientResult {
    granted: Vec<f64>,
    repeats: Vec<f64>,
}

async fn redemptions(label: &str, pg_admin: Option<&str>, p: &RedeemParams) {
    println!("\n== 1. redemptions, {label} ==");
    let db = Db::new(pg_admin).await;
    let clock = Arc::new(ShiftedClock {
        base: DateTime::parse_from_rfc3339(MONDAY).unwrap().to_utc(),
        start: Instant::now(),
    });
    let core = open_core(db.url(), clock).await;
    let t = Instant::now();
    wallet::set_supplier(&core, SUPPLIER, "Taza Tagam LLP", "850.00")
        .await
        .unwrap();
    let schools: Vec<String> = (0..p.schools).map(bin_of).collect();
    for (i, bin) in schools.iter().enumerate() {
        wallet::set_school(&core, bin, &format!("School No. {}", i + 1), Some(SUPPLIER))
            .await
            .unwrap();
    }
    let import = import_pupils(&core, p.pupils, &schools).await;
    // Offers accepted and vouchers activated, in bulk (not what is measured).
    let now = core.now_ms();
    let year = token::school_year_of(wallet::today(&core));
    let until = token::school_year_end(year)
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(ashyq::clock::almaty())
        .single()
        .unwrap()
        .timestamp_millis();
    exec(
        &core.store,
        &format!(
            "INSERT INTO wallet_offers (pupil_id, number, channel, chat_id, created_at, expires_at, answer, answered_at)
             SELECT id, 1, 'bench', 'parent-' || CAST(id AS TEXT), {now}, {}, 'accepted', {now}
             FROM wallet_pupils",
            now + 14 * 86_400_000
        ),
    )
    .await;
    exec(
        &core.store,
        &format!(
            "INSERT INTO wallet_vouchers (pupil_id, offer_id, school_id, channel, chat_id, opened_at, valid_until, activated_at)
             SELECT o.pupil_id, o.id, p.school_id, o.channel, o.chat_id, {now}, {until}, {now}
             FROM wallet_offers o JOIN wallet_pupils p ON p.id = o.pupil_id"
        ),
    )
    .await;
    // The parents' chats belong to registered people with the list's phone (issue 15: a
    // meal notice goes only to a chat that is still the parent's).
    exec(
        &core.store,
        &format!(
            "INSERT INTO people (phone_hash, phone_enc, consent_at, registered_at, created_at)
             SELECT parent_phone_hash, parent_phone_enc, {now}, {now}, {now} FROM wallet_pupils"
        ),
    )
    .await;
    exec(
        &core.store,
        &format!(
            "INSERT INTO conversations (channel, chat_id, lang, state, person_id, updated_at)
             SELECT 'bench', 'parent-' || CAST(w.id AS TEXT), 'ru', '{{\"step\":\"menu\"}}', p.id, {now}
             FROM wallet_pupils w JOIN people p ON p.phone_hash = w.parent_phone_hash"
        ),
    )
    .await;
    // Operators join by invite, `clients / schools` per school.
    let mut operators = Vec::new();
    for c in 0..p.clients {
        let school = &schools[c % p.schools];
        let link = wallet::canteen_invite(&core, school, "ashyq_bench_bot")
            .await
            .unwrap();
        let chat = ChatRef::new("bench", format!("op-{c}"));
        let out = core
            .handle(Inbound {
                chat: chat.clone(),
                update_key: None,
                lang_hint: Some("ru".into()),
                event: Event::Command {
                    name: "start".into(),
                    arg: link.split("start=").nth(1).unwrap().into(),
                },
            })
            .await
            .unwrap();
        assert_eq!(out[0].text.key(), "canteen-invite-accepted");
        operators.push(chat);
    }
    // Each operator gets its school's vouchers round-robin among that school's operators.
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT v.id, s.bin FROM wallet_vouchers v JOIN wallet_schools s ON s.id = v.school_id
         ORDER BY v.id",
    )
    .fetch_all(core.store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), p.pupils);
    let mut per_school: HashMap<String, usize> = HashMap::new();
    let mut codes: Vec<Vec<String>> = vec![Vec::new(); p.clients];
    for (id, bin) in rows {
        let s = schools.iter().position(|b| *b == bin).unwrap();
        let ops: Vec<usize> = (0..p.clients).filter(|c| c % p.schools == s).collect();
        let k = per_school.entry(bin).or_default();
        codes[ops[*k % ops.len()]].push(wallet::todays_code(&core, id, 1).0);
        *k += 1;
    }
    if core.store.backend() == Backend::Postgres {
        exec(&core.store, "ANALYZE").await;
    }
    println!(
        "set-up: {} pupils at {} schools imported in {:.1} s (import_csv), offers + activated vouchers in bulk, {} operators; total {:.1} s",
        p.pupils,
        p.schools,
        import.as_secs_f64(),
        p.clients,
        t.elapsed().as_secs_f64()
    );

    // The run: every call a new child, every `repeat_every`-th call a repeat.
    let repeat_every = if p.repeat_percent == 0 {
        usize::MAX
    } else {
        (100 / p.repeat_percent.min(100)) as usize
    };
    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (chat, mine) in operators.iter().cloned().zip(codes) {
        let core = core.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = ClientResult::default();
            let mut next = 0usize;
            let mut call = 0usize;
            while next < mine.len() && Instant::now() < deadline {
                call += 1;
                let repeat = call.is_multiple_of(repeat_every) && next > 0;
                let code = if repeat {
                    &mine[(call * 7919) % next]
                } else {
                    next += 1;
                    &mine[next - 1]
                };
                let t = Instant::now();
                let out = wallet::redeem(&core, &chat, code).await.expect("redeem");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                match (repeat, &out) {
                    (false, Redemption::Granted { .. }) => r.granted.push(ms),
                    (true, Redemption::AlreadyToday { .. }) => r.repeats.push(ms),
                    _ => panic!("unexpected {out:?} (repeat: {repeat})"),
                }
            }
            r
        }));
    }
    let mut granted = Vec::new();
    let mut repeats = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        granted.extend(r.granted);
        repeats.extend(r.repeats);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<f64> = granted.iter().chain(&repeats).copied().collect();
    all.sort_by(f64::total_cmp);
    granted.sort_by(f64::total_cmp);
    repeats.sort_by(f64::total_cmp);
    let calls = all.len();
    println!(
        "{} clients, {} calls in {elapsed:.1} s{}: {:.0} redemptions/s ({} granted = {:.0}/s, {} repeats = {:.1} %)",
        p.clients,
        calls,
        if granted.len() < p.pupils {
            " (stopped by BENCH_SECS)"
        } else {
            ""
        },
        calls as f64 / elapsed,
        granted.len(),
        granted.len() as f64 / elapsed,
        repeats.len(),
        100.0 * repeats.len() as f64 / calls.max(1) as f64
    );
    println!(
        "latency all p50 {:.2} ms, p99 {:.2} ms; granted p50 {:.2} / p99 {:.2} ms; repeats p50 {:.2} / p99 {:.2} ms",
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&granted, 0.5),
        percentile(&granted, 0.99),
        percentile(&repeats, 0.5),
        percentile(&repeats, 0.99)
    );
    // The counts.
    let meals = scalar(&core.store, "SELECT COUNT(*) FROM wallet_meals").await;
    let entries = scalar(
        &core.store,
        "SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'redemption'",
    )
    .await;
    let notices = scalar(
        &core.store,
        "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'wallet-meal:%'",
    )
    .await;
    let already = scalar(
        &core.store,
        "SELECT COUNT(*) FROM wallet_audit WHERE outcome = 'already_today'",
    )
    .await;
    let others = scalar(
        &core.store,
        "SELECT COUNT(*) FROM wallet_audit WHERE outcome <> 'already_today'",
    )
    .await;
    assert_eq!(
        meals,
        granted.len() as i64,
        "granted = rows in wallet_meals"
    );
    assert_eq!(entries, meals, "one ledger entry per meal");
    assert_eq!(notices, meals, "one parent's notice per meal");
    assert_eq!(already, repeats.len() as i64, "one audit line per repeat");
    assert_eq!(others, 0, "no other refusal");
    let (ledger_entries, took) = verify_ledger(&core).await;
    println!(
        "checked: wallet_meals {meals} = granted = ledger redemptions {entries} = meal notices {notices}; already_today audit {already} = repeats; ledger::verify of {ledger_entries} entries: no problem ({:.2} s)",
        took.as_secs_f64()
    );
    core.store.close().await;
    db.cleanup().await;
}

// ---------------------------------------------------------------- 2. campaign

/// P registered parents with Telegram chats `10_000_000 + i` and the phone of parent `i`.
async fn register_parents(core: &Core, n: usize) {
    let now = core.now_ms();
    let mut tx = core.store.begin().await.unwrap();
    for i in 0..n {
        let phone = parent_phone(i);
        let iin = parent_iin(i);
        let id = people::insert(
            &mut tx,
            &core.vault.lookup_hash(Field::Phone, &phone),
            &core.vault.seal(Field::Phone, &phone),
            now,
            now,
        )
        .await
        .unwrap();
        people::set_iin(
            &mut tx,
            id,
            &core.vault.lookup_hash(Field::Iin, &iin),
            &core.vault.seal(Field::Iin, &iin),
            now,
        )
        .await
        .unwrap()
        .expect("unique IIN");
        ashyq::storage::identity::set_verified(&mut tx, id, now)
            .await
            .unwrap();
        conversations::save(
            &mut tx,
            &ChatRef::new(telegram::CHANNEL, (10_000_000 + i).to_string()),
            &ConversationRow {
                lang: Some(if i % 2 == 0 { "kk" } else { "ru" }.into()),
                state: r#"{"step":"menu"}"#.into(),
                person_id: Some(id),
            },
            now,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The bot as `telegram::bot_from_env` builds it (Throttle with Telegram's default limits),
/// pointed at the fake Bot API.
fn throttled_bot(url: &str) -> telegram::TgBot {
    teloxide::adaptors::Throttle::new_spawn(
        teloxide::Bot::new("123456:BENCH").set_api_url(url.parse().expect("fake server URL")),
        teloxide::adaptors::throttle::Limits::default(),
    )
}

fn offers_sent(fake: &fake_telegram::FakeTelegram) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.method == "sendMessage")
        .count()
}

async fn campaign_bench(label: &str, pg_admin: Option<&str>, parents: usize) {
    println!("\n== 2. offer campaign through a fake Telegram Bot API, {label} ==");
    let db = Db::new(pg_admin).await;
    let core = open_core(db.url(), Arc::new(SystemClock)).await;
    let t = Instant::now();
    register_parents(&core, parents).await;
    let schools: Vec<String> = (0..4).map(bin_of).collect();
    for (i, bin) in schools.iter().enumerate() {
        wallet::set_school(&core, bin, &format!("School No. {}", i + 1), None)
            .await
            .unwrap();
    }
    import_pupils(&core, parents, &schools).await;
    println!(
        "set-up: {parents} registered parents (Telegram chats), {parents} eligible pupils imported: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Offers: the campaign path.
    let t = Instant::now();
    let report = campaign::offer(&core, None, &|_, _| {}).await.unwrap();
    let took = t.elapsed().as_secs_f64();
    assert_eq!(
        (report.offered, report.chat, report.sms),
        (parents as u64, parents as u64, 0)
    );
    println!(
        "campaign::offer: {} offers (offer row, ledger entry, outbox message) in {took:.2} s = {:.0} offers/s",
        report.offered,
        report.offered as f64 / took
    );
    let again = campaign::offer(&core, None, &|_, _| {}).await.unwrap();
    assert_eq!(again.offered, 0, "a re-run offers nobody twice");

    // Delivery: the outbox worker through the Throttle, stopped and killed on the way.
    let (fake, url) = fake_telegram::FakeTelegram::start().await;
    let spawn = |core: &Arc<Core>| {
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(telegram::run_outbox(
            throttled_bot(&url),
            core.clone(),
            stop.clone(),
        ));
        (stop, task)
    };
    let wait_for = |n: usize, limit: Duration| {
        let fake = fake.clone();
        async move {
            let deadline = Instant::now() + limit;
            loop {
                let sent = offers_sent(&fake);
                if sent >= n || Instant::now() > deadline {
                    return sent;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let limit = Duration::from_secs(30 + parents as u64 / 2);
    let started = Instant::now();
    let (stop, task) = spawn(&core);
    let half = wait_for(parents / 2, limit).await;
    let t_half = started.elapsed().as_secs_f64();
    stop.cancel();
    task.await.unwrap();
    let at_stop = offers_sent(&fake);
    let t_restart = started.elapsed().as_secs_f64();
    let (stop, task) = spawn(&core);
    wait_for(parents * 3 / 4, limit).await;
    task.abort();
    let _ = task.await;
    drop(stop);
    // The window of the kill: messages the fake Bot API answered whose rows were not marked
    // sent when the task died (a request already on the wire is answered a moment later).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = offers_sent(&fake);
    let marked_at_kill = scalar(
        &core.store,
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL",
    )
    .await as usize;
    let window = at_kill.saturating_sub(marked_at_kill);
    let (stop, task) = spawn(&core);
    let all = loop {
        let sent = scalar(
            &core.store,
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL",
        )
        .await as usize;
        if sent >= parents || started.elapsed() > limit * 2 {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let total = started.elapsed().as_secs_f64();
    // A moment more so that a duplicate would show up too.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(all, parents, "every offer marked sent");
    let failed = scalar(
        &core.store,
        "SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL",
    )
    .await;
    assert_eq!(failed, 0, "none failed");

    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    let calls = fake.calls();
    for c in calls.iter().filter(|c| c.method == "sendMessage") {
        *per_chat
            .entry(c.body["chat_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    let twice = per_chat.values().filter(|&&n| n > 1).count();
    let missing = (0..parents)
        .filter(|i| !per_chat.contains_key(&(10_000_000 + *i as i64)))
        .count();
    println!(
        "delivery of {parents} offers by telegram::run_outbox (Throttle, Limits::default()): {:.1} s = {:.1} messages/s overall, \
         {:.1}/s in the first stretch ({half} in {t_half:.1} s); stopped at {at_stop} and restarted ({:.2} s), killed at {at_kill} and restarted",
        total,
        parents as f64 / total,
        half as f64 / t_half,
        t_restart - t_half
    );
    println!(
        "checked: {} chats got their offer, {missing} missing, {twice} got it twice ({} sendMessage calls in all); \
         window of the kill: {window} answered but not marked ({at_kill} answered, {marked_at_kill} marked)",
        per_chat.len(),
        per_chat.values().sum::<usize>()
    );
    assert_eq!(missing, 0, "every chat got its offer");
    // A kill between the messenger's answer and the mark repeats exactly those messages
    // (the documented window); none outside it.
    assert!(
        twice <= window,
        "{twice} chats got their offer twice, beyond the window of {window}"
    );
    verify_ledger(&core).await;

    // Diagnostic: what the Throttle itself allows when the requests are queued concurrently
    // (the outbox worker awaits one message before it queues the next).
    let bot = throttled_bot(&url);
    let before = offers_sent(&fake);
    let t = Instant::now();
    let sends: Vec<_> = (0..parents)
        .map(|i| {
            let bot = bot.clone();
            tokio::spawn(async move {
                use teloxide::prelude::Requester;
                bot.send_message(teloxide::types::ChatId(20_000_000 + i as i64), "ceiling")
                    .await
                    .expect("sent")
            })
        })
        .collect();
    for s in sends {
        s.await.unwrap();
    }
    let took = t.elapsed().as_secs_f64();
    assert_eq!(offers_sent(&fake) - before, parents);
    println!(
        "diagnostic, not the outbox: {parents} sendMessage calls queued at once on one throttled bot: {took:.1} s = {:.1} messages/s",
        parents as f64 / took
    );
    core.store.close().await;
    db.cleanup().await;
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a short smoke run only.
    let full = std::env::args().any(|a| a == "--bench");
    let pg = std::env::var("BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("TEST_POSTGRES_URL").ok());
    let params = RedeemParams {
        pupils: env_num("BENCH_PUPILS", if full { 6_000 } else { 60 }) as usize,
        schools: env_num("BENCH_SCHOOLS", if full { 4 } else { 2 }).max(1) as usize,
        clients: env_num("BENCH_CLIENTS", if full { 8 } else { 2 }).max(1) as usize,
        repeat_percent: env_num("BENCH_REPEAT_PERCENT", 10),
        secs: env_num("BENCH_SECS", if full { 120 } else { 20 }),
    };
    assert!(
        params.clients >= params.schools,
        "at least one operator per school"
    );
    let parents = env_num("BENCH_PARENTS", if full { 300 } else { 12 }) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        println!("machine: {}, load average {}", machine(), load_average());
        if !full {
            println!("(smoke run: `cargo bench --bench wallet -- --bench` runs the full set)");
        }
        if std::env::var("BENCH_SQLITE").is_ok_and(|v| v == "0") {
            println!("\nSQLite redemptions: skipped (BENCH_SQLITE=0)");
        } else {
            redemptions("SQLite", None, &params).await;
        }
        match pg.as_deref() {
            Some(admin) => {
                redemptions("PostgreSQL", Some(admin), &params).await;
                campaign_bench("PostgreSQL", Some(admin), parents).await;
            }
            None => {
                if full {
                    println!(
                        "\nPostgreSQL: BENCH_POSTGRES_URL / TEST_POSTGRES_URL not set, skipped"
                    );
                }
                campaign_bench("SQLite", None, parents).await;
            }
        }
        println!("\nload average at the end: {}", load_average());
    });
}
