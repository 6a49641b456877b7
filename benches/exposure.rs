//! Exposure benchmark (docs/PERFORMANCE.md, "Exposure warnings").
//!
//! On a scratch PostgreSQL database with `BENCH_CHECKINS` check-ins on file (default
//! 10 000 000) over 28 days, `BENCH_PEOPLE` registered people with a chat each (default
//! 1 000 000) and `BENCH_VENUES` venues (default 7 000, the documents' number of
//! businesses), all generated with set-based SQL (`generate_series`; the check-in indexes of
//! the migrations are dropped during the load and created again from their own definitions):
//!
//! 1. latency of finding the co-visitors of one positive case (`find_co_visitors`: the
//!    person's visits in the infectious window, then one indexed range query per visit),
//!    for `BENCH_CASES` people with visits in the window (default 300): p50, p99, max;
//! 2. a day with `BENCH_POSITIVES` positive results (default 1 000): the feed's write
//!    (`feeds::write_pcr`, which queues the jobs) and then `exposure::run_jobs` until every
//!    job is done (warnings, summaries and owner counts queued in the outbox);
//! 3. retention: deleting the oldest day of visits once it passes the 28-day limit.
//!
//! Visits: entry times spread evenly over the 28 days, 30 to 150 minutes long, one in ten
//! without an exit (counted until the automatic check-out after 3 hours); the venue drawn
//! with a skew (`venue = 1 + V·u²`, so the busiest 1 % of venues get 10 % of the visits),
//! the person uniformly.
//!
//! `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) names the server; without it the benchmark
//! prints a notice and exits. `BENCH_KEEP_DB=1` keeps the database. Without `--bench`
//! (`cargo test --all-targets`) a small smoke run only.
//!
//! Run: `nice cargo bench --bench exposure -- --bench`

mod common;
use common::{drop_db, env_num, load_average, machine, percentile, scratch_db};

use ashyq::clock::SystemClock;
use ashyq::core::exposure::{self, ExposureSettings};
use ashyq::core::{Core, feeds};
use ashyq::crypto::Vault;
use ashyq::i18n::Texts;
use ashyq::storage::Store;
use ashyq::storage::exposure::CaseRow;
use ashyq::storage::health::NewPcr;
use std::sync::Arc;
use std::time::Instant;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// Loads venues, people with chats, and check-ins; returns the end of the period (ms).
async fn load(store: &Store, venues: u64, people: u64, checkins: u64) -> i64 {
    let end = chrono::Utc::now().timestamp_millis() - HOUR;
    let start = end - 28 * DAY;
    let t = Instant::now();
    exec(
        store,
        &format!(
            "INSERT INTO venues (name, bin, address, region, category, max_stay_ms, created_at)
             SELECT 'Venue ' || g, '210540012341', 'Street ' || g, 'region' || (g % 17),
                    'ordinary', {stay}, 0
             FROM generate_series(1, {venues}) g",
            stay = 3 * HOUR
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO people (phone_hash, phone_enc, iin_hash, consent_at, registered_at, created_at)
             SELECT sha256(('phone' || g)::bytea), '\\x00'::bytea, sha256(('iin' || g)::bytea), 0, 0, 0
             FROM generate_series(1, {people}) g"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO conversations (channel, chat_id, lang, state, person_id, updated_at)
             SELECT 'bench', 'c' || g, 'ru', '{{\"step\":\"menu\"}}', g, 0
             FROM generate_series(1, {people}) g"
        ),
    )
    .await;
    println!(
        "loaded {venues} venues, {people} people with chats in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The check-in indexes of the migrations, dropped for the load and created again.
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef::text FROM pg_indexes
         WHERE tablename = 'checkins' AND indexname <> 'checkins_pkey'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for (name, _) in &defs {
        exec(store, &format!("DROP INDEX {name}")).await;
    }
    let t = Instant::now();
    let chunk = 1_000_000u64.min(checkins.max(1));
    let mut from = 0u64;
    while from < checkins {
        let to = (from + chunk).min(checkins);
        exec(
            store,
            &format!(
                "INSERT INTO checkins (venue_id, person_id, channel, chat_id, via, colour, admitted,
                     check_code, entered_at, closes_at, left_at, left_how)
                 SELECT s.v, s.p, 'bench', 'c' || s.p, 'link', 'blue', 1,
                        lpad((s.g % 10000)::text, 4, '0'), s.t, s.t + {stay},
                        CASE WHEN s.g % 10 = 0 THEN NULL ELSE s.t + s.d END,
                        CASE WHEN s.g % 10 = 0 THEN NULL ELSE 'exit' END
                 FROM (SELECT g,
                              1 + floor({venues} * power(random(), 2))::bigint AS v,
                              1 + floor({people} * random())::bigint AS p,
                              {start} + (g * {span} / {checkins}) AS t,
                              (1800000 + floor(random() * 7200000))::bigint AS d
                       FROM generate_series({first}, {last}) g) s",
                stay = 3 * HOUR,
                span = 28 * DAY,
                first = from,
                last = to - 1,
            ),
        )
        .await;
        from = to;
        println!(
            "  {to} check-ins in {:.0} s (load {})",
            t.elapsed().as_secs_f64(),
            load_average()
        );
    }
    let t = Instant::now();
    for (_, def) in &defs {
        exec(store, def).await;
    }
    exec(store, "VACUUM ANALYZE").await;
    println!(
        "indexes ({}) created again and VACUUM ANALYZE in {:.0} s",
        defs.len(),
        t.elapsed().as_secs_f64()
    );
    end
}

/// The keyed hash stand-in of person `id`'s IIN (the load's `sha256('iin' || id)`).
fn iin_hash(id: i64) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(format!("iin{id}").as_bytes()).to_vec()
}

/// People with at least one visit in the last three days, in random order.
async fn people_with_visits(store: &Store, end: i64, n: u64) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT p FROM (SELECT DISTINCT person_id AS p FROM checkins
                        WHERE entered_at >= {from} AND entered_at < {end}) d
         ORDER BY random() LIMIT {n}",
        from = end - 3 * DAY
    )))
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

fn main() {
    let Some(admin_url) = std::env::var("BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("TEST_POSTGRES_URL").ok())
    else {
        eprintln!(
            "notice: set BENCH_POSTGRES_URL or TEST_POSTGRES_URL to run the exposure benchmark"
        );
        return;
    };
    let full = std::env::args().any(|a| a == "--bench");
    let (checkins, people, venues, cases, positives) = if full {
        (
            env_num("BENCH_CHECKINS", 10_000_000),
            env_num("BENCH_PEOPLE", 1_000_000),
            env_num("BENCH_VENUES", 7_000),
            env_num("BENCH_CASES", 300),
            env_num("BENCH_POSITIVES", 1_000),
        )
    } else {
        (20_000, 2_000, 50, 20, 20)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        println!("machine: {}", machine());
        println!("load average at start: {}", load_average());
        let (name, url) = scratch_db(&admin_url, "ashyq_exposure").await;
        let store = Store::open(&url).await.expect("open");
        let end = load(&store, venues, people, checkins).await;
        let core = Core::new(
            store.clone(),
            Vault::from_secret(SECRET).unwrap(),
            Arc::new(SystemClock),
            Arc::new(Texts::load()),
        )
.with_channels(ashyq::adapters::channels());
        let settings = ExposureSettings::default();

        // 1. Co-visitors of one case.
        let sample = people_with_visits(&store, end, cases + positives).await;
        let (lookups, day) = sample.split_at((cases as usize).min(sample.len()));
        let mut times = Vec::new();
        let (mut visits_found, mut found) = (0usize, 0usize);
        let mut conn = store.pool().acquire().await.unwrap();
        for &p in lookups {
            let case = CaseRow {
                id: 0,
                iin_hash: iin_hash(p),
                taken_at: end - DAY,
                result_at: end,
                positive: 1,
                withdrawn_at: None,
                external_id: String::new(),
            };
            let t = Instant::now();
            let (stays, co) = exposure::find_co_visitors(&mut conn, &settings, &case)
                .await
                .unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            visits_found += stays.len();
            found += co.len();
        }
        drop(conn);
        times.sort_by(f64::total_cmp);
        let n = lookups.len().max(1);
        println!(
            "co-visitors of one case ({} cases, {checkins} check-ins on file): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; per case {:.1} venues, {:.1} co-visitors (load {})",
            lookups.len(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(f64::NAN),
            visits_found as f64 / n as f64,
            found as f64 / n as f64,
            load_average()
        );

        // 2. A day of positive results.
        let items: Vec<(usize, NewPcr)> = day
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                (
                    i,
                    NewPcr {
                        iin_hash: iin_hash(p),
                        taken_at: end - DAY,
                        result_at: end - HOUR + i as i64,
                        positive: true,
                        lab: "bench".into(),
                        external_id: format!("bench-{i}"),
                        content_hash: vec![i as u8],
                        withdrawn: false,
                    },
                )
            })
            .collect();
        let t = Instant::now();
        let report = feeds::write_pcr(&core, items, None).await.unwrap();
        let feed_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = exposure::run_jobs(&core).await.unwrap();
        let job_secs = t.elapsed().as_secs_f64();
        let (outbox,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
            .fetch_one(store.pool())
            .await
            .unwrap();
        println!(
            "a day of {} positive results: feed write {:.1} s ({} accepted), jobs {:.1} s ({} jobs, {} failed, {} co-visitors, {} warnings queued, {} outbox rows in all) (load {})",
            day.len(),
            feed_secs,
            report.accepted,
            job_secs,
            r.jobs,
            r.failed,
            r.co_visitors,
            r.warned,
            outbox,
            load_average()
        );
        // 3. Retention: the oldest day of visits passes the 28-day limit.
        let t = Instant::now();
        let now = chrono::DateTime::from_timestamp_millis(end + DAY).unwrap();
        let purged = exposure::retention::run_due(&core, now).await.unwrap();
        println!(
            "retention: {} visits, {} warnings, {} audit lines deleted in {:.1} s (load {})",
            purged.visits,
            purged.warnings,
            purged.audit_lines,
            t.elapsed().as_secs_f64(),
            load_average()
        );
        store.close().await;
        if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") {
            println!("kept database {name}");
        } else {
            drop_db(&admin_url, &name).await;
        }
    });
}
