//! Status benchmarks (`cargo bench --bench status`), figures in docs/PERFORMANCE.md.
//!
//! 1. Status look-ups per second with N people on file (default 1 000 000): each person
//!    registered, with one PCR result, every tenth with a contact. One look-up is what a
//!    guard or `/status` does: keyed hash of the IIN, the person's records, the rules
//!    engine. C concurrent tasks for a fixed time. SQLite always; PostgreSQL when
//!    `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) is set.
//! 2. Bulk import of N PCR CSV rows (`ashyq import pcr`), on each backend, and the re-run
//!    (everything already stored).
//!
//! Environment: `BENCH_N` (people and CSV rows), `BENCH_SECS` (look-up duration),
//! `BENCH_CONCURRENCY`, `BENCH_SQLITE_IMPORT=0` (skip the import on SQLite), `BENCH_SQLITE=0` (PostgreSQL only). Under `cargo test --all-targets` (no `--bench`) it runs a smoke
//! check with 2 000 people.

mod common;
use common::{cores, cpu_model, drop_db, env_num, scratch_db};

use ashyq::clock::SystemClock;
use ashyq::core::Core;
use ashyq::core::import::{self, Kind};
use ashyq::crypto::{Field, Vault};
use ashyq::domain::{Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::status::Colour;
use ashyq::storage::health::{self, NewContact, NewPcr};
use ashyq::storage::{Backend, Store};
use chrono::{Duration, NaiveDate, Utc};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = env_num("BENCH_N", if full { 1_000_000 } else { 2_000 }) as usize;
    let secs = env_num("BENCH_SECS", if full { 15 } else { 1 }) as usize;
    let concurrency = env_num("BENCH_CONCURRENCY", 32) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        println!("machine: {} cores, {}", cores(), cpu_model());
        println!("N = {n}, look-ups for {secs} s with {concurrency} concurrent tasks");
        let t = Instant::now();
        let iins: Arc<Vec<String>> = Arc::new((0..n).map(iin_of).collect());
        println!("generated {n} IINs in {:.1} s", t.elapsed().as_secs_f64());

        let dir = tempfile::tempdir().expect("temp dir");
        if std::env::var("BENCH_SQLITE").is_ok_and(|v| v == "0") {
            println!("\nSQLite: skipped (BENCH_SQLITE=0)");
        } else {
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run_backend("SQLite", &url, &iins, secs, concurrency, full).await;
        }

        let pg = std::env::var("BENCH_POSTGRES_URL")
            .or_else(|_| std::env::var("TEST_POSTGRES_URL"))
            .ok();
        match pg {
            Some(admin) => {
                let (db, url) = scratch_db(&admin, "ashyq_bench").await;
                run_backend("PostgreSQL", &url, &iins, secs, concurrency, full).await;
                drop_db(&admin, &db).await;
            }
            None => {
                println!("\nPostgreSQL: BENCH_POSTGRES_URL / TEST_POSTGRES_URL not set, skipped")
            }
        }
    });
}

/// A distinct valid IIN per index (birth dates from 1940, serials spaced by 10).
fn iin_of(i: usize) -> String {
    let birth = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + Duration::days((i / 500) as i64);
    let sex = if i.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    Iin::synthetic(birth, sex, ((i % 500) * 20) as u16).expose()
}

async fn open_core(url: &str) -> Arc<Core> {
    let store = Store::open(url).await.expect("open store");
    Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).expect("secret"),
            Arc::new(SystemClock),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels()),
    )
}

async fn run_backend(
    name: &str,
    url: &str,
    iins: &Arc<Vec<String>>,
    secs: usize,
    concurrency: usize,
    full: bool,
) {
    println!("\n== {name} ==");
    let core = open_core(url).await;
    let t = Instant::now();
    seed(&core, iins).await;
    println!(
        "seeded {} people, {} PCR results, {} contacts in {:.1} s",
        iins.len(),
        iins.len(),
        iins.len().div_ceil(10),
        t.elapsed().as_secs_f64()
    );
    if core.store.backend() == Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(core.store.pool())
            .await
            .expect("analyze");
    }
    println!("-- without the status cache (every look-up reads the database) --");
    lookups(&core, iins, secs, concurrency).await;
    cached_lookups(url, iins, secs, concurrency).await;
    let skip = core.store.backend() == Backend::Sqlite
        && std::env::var("BENCH_SQLITE_IMPORT").is_ok_and(|v| v == "0");
    if skip {
        println!("CSV import on SQLite skipped (BENCH_SQLITE_IMPORT=0)");
    } else {
        import_bench(&core, iins, full).await;
    }
    core.store.close().await;
}

async fn seed(core: &Core, iins: &[String]) {
    let now = Utc::now();
    let now_ms = now.timestamp_millis();
    let today = ashyq::status::local_date(now);
    let vault = &core.vault;
    for (c, chunk) in iins.chunks(20_000).enumerate() {
        let base = c * 20_000;
        let hashes: Vec<Vec<u8>> = chunk
            .iter()
            .map(|i| vault.lookup_hash(Field::Iin, i))
            .collect();
        let mut tx = core.store.begin().await.expect("begin");
        for (p, part) in hashes.chunks(1000).enumerate() {
            let mut sql = String::from(
                "INSERT INTO people (phone_hash, phone_enc, iin_hash, iin_enc, consent_at,
                    registered_at, created_at) VALUES ",
            );
            sql.push_str(&ashyq::storage::values_placeholders(part.len(), 7));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (k, h) in part.iter().enumerate() {
                let i = base + p * 1000 + k;
                q = q
                    .bind(vault.lookup_hash(Field::Phone, &format!("+7701{i:07}")))
                    .bind(vec![0u8; 16])
                    .bind(h.clone())
                    .bind(vec![0u8; 16])
                    .bind(now_ms)
                    .bind(now_ms)
                    .bind(now_ms);
            }
            q.execute(&mut *tx).await.expect("insert people");
        }
        let pcr: Vec<NewPcr> = hashes
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let i = base + k;
                let taken = now - Duration::days((i % 30) as i64) - Duration::hours(2);
                NewPcr {
                    iin_hash: h.clone(),
                    taken_at: taken.timestamp_millis(),
                    result_at: (taken + Duration::hours(1)).timestamp_millis(),
                    positive: i % 7 == 0,
                    lab: "Bench Lab".into(),
                    external_id: format!("seed-{i}"),
                    content_hash: vec![0u8; 32],
                    withdrawn: false,
                }
            })
            .collect();
        health::insert_pcr_many(&mut tx, &pcr, None, now_ms)
            .await
            .expect("insert pcr");
        let contacts: Vec<NewContact> = hashes
            .iter()
            .enumerate()
            .filter(|(k, _)| (base + k) % 10 == 0)
            .map(|(k, h)| NewContact {
                iin_hash: h.clone(),
                contact_date: (today - Duration::days(((base + k) % 20) as i64))
                    .format("%Y-%m-%d")
                    .to_string(),
                case_id: "case".into(),
                external_id: format!("seed-c-{}", base + k),
                content_hash: vec![0u8; 32],
            })
            .collect();
        health::insert_contacts_many(&mut tx, &contacts, None, now_ms)
            .await
            .expect("insert contacts");
        tx.commit().await.expect("commit");
    }
}

async fn lookups(core: &Arc<Core>, iins: &Arc<Vec<String>>, secs: usize, concurrency: usize) {
    lookups_with(core, iins, secs, concurrency, false).await
}

/// `cached`: through `Core::lookup_status` (a hit needs no connection); otherwise the
/// database path with a pooled connection per look-up.
async fn lookups_with(
    core: &Arc<Core>,
    iins: &Arc<Vec<String>>,
    secs: usize,
    concurrency: usize,
    cached: bool,
) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let colours = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (core, iins, done, stop, colours) = (
            core.clone(),
            iins.clone(),
            done.clone(),
            stop.clone(),
            colours.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1);
            while !stop.load(Ordering::Relaxed) {
                // xorshift: a different person each time.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let iin = &iins[(x % iins.len() as u64) as usize];
                let hash = core.vault.lookup_hash(Field::Iin, iin);
                let st = if cached {
                    core.lookup_status(&hash, core.clock.now())
                        .await
                        .expect("look-up")
                } else {
                    let mut conn = core.store.pool().acquire().await.expect("connection");
                    ashyq::core::status::status_of_hash(&mut conn, &hash, core.clock.now())
                        .await
                        .expect("look-up")
                };
                colours[st.colour.severity() as usize].fetch_add(1, Ordering::Relaxed);
                if done.fetch_add(1, Ordering::Relaxed) % 256 == 0 {
                    // A cache hit never waits: let the timer and the other tasks run.
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_secs(secs as u64)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    let mix: Vec<String> = Colour::ALL
        .iter()
        .map(|c| {
            format!(
                "{c} {}",
                colours[c.severity() as usize].load(Ordering::Relaxed)
            )
        })
        .collect();
    println!(
        "status look-ups: {total} in {elapsed:.1} s = {:.0}/s ({})",
        total as f64 / elapsed,
        mix.join(", ")
    );
}

/// The same look-ups through a started, warmed status cache (`ASHYQ_STATUS_CACHE`, on in
/// `ashyq serve`), following the change log as the server does.
async fn cached_lookups(url: &str, iins: &Arc<Vec<String>>, secs: usize, concurrency: usize) {
    use ashyq::core::status_cache::{CacheSettings, StatusCache};
    println!("-- with the status cache --");
    let store = Store::open(url).await.expect("open store");
    let cache = Arc::new(StatusCache::new(CacheSettings::default()));
    let core = Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).expect("secret"),
            Arc::new(SystemClock),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_status_cache(cache.clone()),
    );
    let mut conn = core.store.pool().acquire().await.expect("connection");
    cache.start(&mut conn).await.expect("start cache");
    drop(conn);
    let stop = tokio_util::sync::CancellationToken::new();
    let follower = tokio::spawn(cache.clone().run(core.store.clone(), stop.clone()));
    let rss_before = rss_mb();
    let t = Instant::now();
    let warmed = cache.warm(&core.store, Utc::now()).await.expect("warm");
    println!(
        "warmed {warmed} statuses in {:.1} s; resident memory {:.0} MB -> {:.0} MB",
        t.elapsed().as_secs_f64(),
        rss_before,
        rss_mb()
    );
    lookups_with(&core, iins, secs, concurrency, true).await;
    let stats = cache.stats();
    println!(
        "cache: {} hits, {} misses, {} entries",
        stats.hits, stats.misses, stats.entries
    );
    stop.cancel();
    follower.await.expect("follower");
    core.store.close().await;
}

/// Resident memory of this process, from /proc (0 where there is none).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1e6)
}

async fn import_bench(core: &Arc<Core>, iins: &[String], full: bool) {
    let registered_every = std::env::var("BENCH_IMPORT_REGISTERED")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|k| *k > 0);
    if let Some(k) = registered_every {
        println!("import: every {k}th row is a registered person's result");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pcr.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create csv"));
        writeln!(f, "iin,taken_at,result_at,result,lab,external_id").unwrap();
        let base = Utc::now() - Duration::days(40);
        let n = iins.len();
        for (i, registered) in iins.iter().enumerate() {
            // People not on file (results usually arrive for unregistered people); with
            // BENCH_IMPORT_REGISTERED=K, every K-th row is a registered person's result.
            let iin = match registered_every {
                Some(k) if i.is_multiple_of(k) => registered.clone(),
                _ => iin_of(n + i),
            };
            let taken = base + Duration::minutes((i % 50_000) as i64);
            let result = taken + Duration::hours(20);
            writeln!(
                f,
                "{iin},{},{},{},Lab {},imp-{i}",
                taken.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                result.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                if i % 9 == 0 { "positive" } else { "negative" },
                i % 40
            )
            .unwrap();
        }
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for run in ["import", "re-run"] {
        let t = Instant::now();
        let file = std::io::BufReader::new(std::fs::File::open(&path).expect("open csv"));
        let report = import::import_csv(core, Kind::Pcr, file, &())
            .await
            .expect("import");
        let elapsed = t.elapsed().as_secs_f64();
        println!(
            "CSV {run}: {} rows ({:.0} MB): imported {}, already stored {}, rejected {}, notices {} in {elapsed:.1} s = {:.0} rows/s",
            iins.len(),
            bytes as f64 / 1e6,
            report.accepted,
            report.duplicates,
            report.rejected.len(),
            report.notices,
            iins.len() as f64 / elapsed
        );
        if run == "import" {
            assert_eq!(report.accepted, iins.len());
        } else {
            assert_eq!(report.accepted, 0);
        }
        if !full {
            break;
        }
    }
}
