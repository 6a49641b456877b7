//! Check-in benchmark (docs/PERFORMANCE.md, "Venue check-in").
//!
//! 1. Check-ins per second through the core (`Core::handle` of `/start <token>`, the deep-link
//!    path, every one a new visit that closes the visitor's previous one; with the lanes of
//!    `ASHYQ_CHECKIN_LANES`, default 4, as `ashyq serve` runs) on PostgreSQL, against
//!    `pgbench -N` on the same server in the same run: for each number of concurrent clients
//!    in `BENCH_CLIENTS` (default `8,64`), core and pgbench alternate `BENCH_ROUNDS` times
//!    (default 3) for `BENCH_SECS` each (default 5), and medians are compared; last, the best
//!    median of each side against the other's ("peak against peak"). Before each core run
//!    the core's database gets `VACUUM ANALYZE`, as pgbench vacuums its tables before each
//!    of its runs (the test server runs with autovacuum off).
//! 2. p50/p99 latency of a photo check-in (download excluded): decode of a 1280x960 JPEG
//!    photo of a poster + database + reply built (`BENCH_PHOTOS` photos, default 60).
//!
//! `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) names a server where scratch databases are
//! created and dropped (`BENCH_KEEP_DB=1` keeps the core's for inspection); without it the
//! benchmark prints a notice and exits.
//!
//! Run: `cargo bench --bench checkin -- --bench`

mod common;
/// The synthetic poster photos (benchmark-only, not in the library).
#[path = "common/synthetic_poster.rs"]
mod poster;
/// The QR benchmark's helpers (the posters' `Case`).
#[path = "common/qr_bench.rs"]
mod qr_bench;
use common::{drop_db, env_num, machine, percentile, scratch_db};

use ashyq::clock::SystemClock;
use ashyq::core::checkin::admin;
use ashyq::core::{Core, Event, Inbound};
use ashyq::crypto::{Field, Vault};
use ashyq::domain::{Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, ConversationRow, Store, conversations, people, venues};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A scratch database initialised for pgbench (`pgbench -i -s 4`): its name and URL, or
/// `None` when pgbench is not available.
async fn pgbench_db(admin: &str) -> Option<(String, String)> {
    let (name, url) = scratch_db(admin, "ashyq_pgbench").await;
    match Command::new("pgbench")
        .args(["-i", "-q", "-s", "4", &url])
        .output()
    {
        Ok(o) if o.status.success() => Some((name, url)),
        Ok(o) => {
            eprintln!("pgbench -i failed: {}", String::from_utf8_lossy(&o.stderr));
            drop_db(admin, &name).await;
            None
        }
        Err(e) => {
            eprintln!("pgbench is not available: {e}");
            drop_db(admin, &name).await;
            None
        }
    }
}

/// One `pgbench -N` run; its TPS.
fn pgbench(url: &str, clients: usize, secs: u64) -> Option<f64> {
    let run = Command::new("pgbench")
        .args([
            "-N",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &secs.to_string(),
            url,
        ])
        .output()
        .ok()?;
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    out.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
}

/// Registered visitors straight in the tables (registration is not what is measured).
async fn visitors(core: &Core, n: usize) -> Vec<ChatRef> {
    let now = core.now_ms();
    let mut tx = core.store.begin().await.unwrap();
    let mut chats = Vec::new();
    for i in 0..n {
        let phone = format!("+7701{:07}", i);
        // Serials three apart: a skipped serial (bad check digit) never meets the next one.
        let birth = chrono::NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
            + chrono::Days::new((i / 1000) as u64);
        let iin = Iin::synthetic(birth, Sex::Female, (i % 1000 * 3) as u16);
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
            &core.vault.lookup_hash(Field::Iin, &iin.expose()),
            &core.vault.seal(Field::Iin, &iin.expose()),
            now,
        )
        .await
        .unwrap()
        .expect("unique IIN");
        // Seeded people stand for registrations the identity registry confirmed.
        ashyq::storage::identity::set_verified(&mut tx, id, now)
            .await
            .unwrap();
        let chat = ChatRef::new("bench", format!("v{i}"));
        conversations::save(
            &mut tx,
            &chat,
            &ConversationRow {
                lang: Some("ru".into()),
                state: r#"{"step":"menu"}"#.into(),
                person_id: Some(id),
            },
            now,
        )
        .await
        .unwrap();
        chats.push(chat);
    }
    tx.commit().await.unwrap();
    chats
}

async fn venue(core: &Core, name: &str, bin: &str) -> admin::EntranceCodes {
    let added = admin::add_venue(
        core,
        &admin::AddVenue {
            name: name.into(),
            bin: bin.into(),
            address: "Almaty".into(),
            region: "almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "ashyq_bench_bot",
    )
    .await
    .unwrap();
    let mut tx = core.store.begin().await.unwrap();
    let staff = ChatRef::new("bench", format!("staff-{}", added.venue_id));
    venues::add_staff(&mut tx, added.venue_id, &staff, None, "staff", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    added.entrances.into_iter().next().unwrap()
}

static UPDATE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn check_in(core: &Core, chat: &ChatRef, event: Event) -> Duration {
    let t = Instant::now();
    let out = core
        .handle(Inbound {
            chat: chat.clone(),
            update_key: Some(
                UPDATE
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .to_string(),
            ),
            lang_hint: None,
            event,
        })
        .await
        .expect("handled");
    let took = t.elapsed();
    assert_eq!(
        out.first().map(|o| o.text.key()),
        Some("checkin-result"),
        "a real check-in was measured"
    );
    took
}

/// `clients` concurrent tasks, each cycling through its own share of the visitors, each
/// check-in at the venue the visitor was not at last (so every one is a new visit); until
/// `deadline`, or one check-in per visitor without one. Returns every latency in ms.
async fn drive(
    core: &Arc<Core>,
    chats: &Arc<Vec<ChatRef>>,
    last: &Arc<Vec<AtomicUsize>>,
    tokens: &Arc<Vec<String>>,
    clients: usize,
    deadline: Option<Instant>,
) -> Vec<f64> {
    let per_client = chats.len() / clients;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (core, chats, last, tokens) =
            (core.clone(), chats.clone(), last.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while deadline.map_or(i < per_client, |d| Instant::now() < d) {
                let v = c * per_client + i % per_client;
                // Each visitor alternates between two neighbouring venues.
                let side = 1 - last[v].load(Ordering::Relaxed);
                let event = Event::Command {
                    name: "start".into(),
                    arg: tokens[(v + side) % tokens.len()].clone(),
                };
                lat.push(check_in(&core, &chats[v], event).await.as_secs_f64() * 1000.0);
                last[v].store(side, Ordering::Relaxed);
                i += 1;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat
}

/// `n` valid, distinct BINs.
fn bins(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut serial = 0;
    while out.len() < n {
        if let Some(bin) = (0..10)
            .map(|last| format!("2105400{serial:04}{last}"))
            .find(|b| ashyq::domain::Bin::parse(b).is_ok())
        {
            out.push(bin);
        }
        serial += 1;
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}

fn fmt_runs(v: &[f64]) -> String {
    let runs: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
    runs.join(", ")
}

/// CPU seconds (user + system) this process used so far, from /proc (Linux only).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

fn main() {
    let Some(admin_url) = std::env::var("BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("TEST_POSTGRES_URL").ok())
    else {
        eprintln!(
            "notice: set BENCH_POSTGRES_URL or TEST_POSTGRES_URL to run the check-in benchmark"
        );
        return;
    };
    // `cargo test --all-targets` runs this without `--bench`: a short smoke run only.
    let full = std::env::args().any(|a| a == "--bench");
    let secs = if full { env_num("BENCH_SECS", 5) } else { 1 };
    let sweep: Vec<usize> = if full {
        std::env::var("BENCH_CLIENTS")
            .unwrap_or_else(|_| "8,64".into())
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .filter(|&c| c > 0)
            .collect()
    } else {
        vec![2]
    };
    let rounds = if full { env_num("BENCH_ROUNDS", 3) } else { 1 };
    let photo_count = if full {
        env_num("BENCH_PHOTOS", 60) as usize
    } else {
        4
    };
    let lanes = env_num(
        "ASHYQ_CHECKIN_LANES",
        ashyq::core::checkin::lane::DEFAULT_LANES as u64,
    ) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        println!("machine: {}", machine());
        let (name, url) = scratch_db(&admin_url, "ashyq_bench").await;
        let store = Store::open(&url).await.expect("open");
        // As `ashyq serve` runs it: with the status cache, following the change log.
        let cache = Arc::new(ashyq::core::status_cache::StatusCache::new(Default::default()));
        let core = Arc::new(
            Core::new(
                store,
                Vault::from_secret(SECRET).unwrap(),
                Arc::new(SystemClock),
                Arc::new(Texts::load()),
            )
.with_channels(ashyq::adapters::channels())
            .with_status_cache(cache.clone())
            .with_checkin_lanes(lanes),
        );
        let stop_cache = tokio_util::sync::CancellationToken::new();
        let _follower = ashyq::app::start_status_cache(&core, stop_cache.clone())
            .await
            .expect("status cache");
        // Check-ins spread over `BENCH_VENUES` venues (default 32), as over a city's: a
        // venue's check codes (31^4 of them a day) are not exhausted by the run.
        let n_venues = env_num("BENCH_VENUES", 32).max(2) as usize;
        let mut doors = Vec::new();
        for (i, bin) in bins(n_venues).into_iter().enumerate() {
            doors.push(venue(&core, &format!("Venue {i}"), &bin).await);
        }
        let (a, b) = (doors[0].clone(), doors[1].clone());
        let max_clients = *sweep.iter().max().unwrap();
        let n_visitors = if full { 4096 } else { 64 };
        let chats = visitors(&core, n_visitors).await;
        let all = Arc::new(chats.clone());
        let last: Arc<Vec<AtomicUsize>> = Arc::new((0..n_visitors).map(|_| AtomicUsize::new(1)).collect());
        let tokens: Arc<Vec<String>> = Arc::new(doors.iter().map(|d| d.entry_token.clone()).collect());

        // 1. Link check-ins. A warm-up round first (every visitor enters venue A once), so
        // that the planner's statistics (VACUUM ANALYZE before each run) are those of a
        // table with visits in it, as autovacuum keeps them in production.
        drive(&core, &all, &last, &tokens, max_clients, None).await;
        let pg = if full { pgbench_db(&admin_url).await } else { None };
        // Core and pgbench alternate, `rounds` times per client count, so that a change in
        // the machine's load (a shared VM) falls on both sides alike; medians are compared.
        let mut best = (0.0f64, 0.0f64);
        for &clients in &sweep {
            let per = n_visitors / clients;
            let mine = Arc::new(all[..per * clients].to_vec());
            let (mut ours_runs, mut theirs_runs, mut lat, mut cpu) =
                (Vec::new(), Vec::new(), Vec::new(), 0.0);
            let before = core.checkin_lanes.stats();
            for _ in 0..rounds {
                // pgbench vacuums its tables before each run (its default); the server here
                // runs with autovacuum off, so the core's tables get the same.
                sqlx::query("VACUUM ANALYZE").execute(core.store.pool()).await.expect("vacuum");
                let started = Instant::now();
                let cpu_before = cpu_seconds();
                let deadline = started + Duration::from_secs(secs);
                let run = drive(&core, &mine, &last, &tokens, clients, Some(deadline)).await;
                let took = started.elapsed().as_secs_f64();
                cpu += cpu_seconds().zip(cpu_before).map_or(0.0, |(a, b)| a - b);
                ours_runs.push(run.len() as f64 / took);
                lat.extend(run);
                if let Some((_, url)) = &pg
                    && let Some(tps) = pgbench(url, clients, secs)
                {
                    theirs_runs.push(tps);
                }
            }
            let after = core.checkin_lanes.stats();
            lat.sort_by(f64::total_cmp);
            let ours = median(&mut ours_runs);
            println!(
                "core check-ins (link, {clients} clients, {rounds} x {secs} s): {ours:.0}/s median of {}; latency p50 {:.2} ms, p99 {:.2} ms",
                fmt_runs(&ours_runs),
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            );
            let (batches, written) = (after.batches - before.batches, after.checkins - before.checkins);
            println!(
                "  lanes: {lanes}; {written} of {} written in {batches} batches ({:.1} per batch); this process used {:.0} µs of CPU per check-in",
                lat.len(),
                written as f64 / batches.max(1) as f64,
                cpu / lat.len().max(1) as f64 * 1e6
            );
            if theirs_runs.is_empty() {
                println!("  pgbench -N: not run (smoke run, or pgbench unavailable)");
                continue;
            }
            let theirs = median(&mut theirs_runs);
            println!(
                "  pgbench -N ({clients} clients, 2 threads, scale 4): {theirs:.0} tps median of {}; ratio core/pgbench = {:.2}",
                fmt_runs(&theirs_runs),
                ours / theirs
            );
            best = (best.0.max(ours), best.1.max(theirs));
        }
        if best.1 > 0.0 {
            println!(
                "peak against peak: core {:.0}/s, pgbench {:.0} tps; ratio = {:.2}",
                best.0,
                best.1,
                best.0 / best.1
            );
        }
        if let Some((name, _)) = &pg {
            drop_db(&admin_url, name).await;
        }

        // 2. Photo check-ins: 1280x960 JPEG photos of posters, decode + database + reply.
        let mut photos: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        let mut tried = 0;
        for i in 0..photo_count {
            let side = i % 2;
            let link = if side == 0 { &a.entry_link } else { &b.entry_link };
            let (rgb, _, _) =
                poster::render_text(poster::SEED, i, Some(link));
            let jpeg = ashyq::core::venues::poster::jpeg(
                &rgb,
                poster::WIDTH as u32,
                poster::HEIGHT as u32,
                80,
            );
            tried += 1;
            if ashyq::qr::decode(&jpeg, &ashyq::core::checkin::limits())
                .is_ok_and(|t| t.contains(link))
            {
                photos[side].push(jpeg);
            }
        }
        // Alternate venues so that every photo is a new visit, not a repeat.
        let visitor = &chats[0];
        let mut photo_lat = Vec::new();
        for _round in 0..3 {
            for (first, second) in photos[0].iter().zip(&photos[1]) {
                for jpeg in [first, second] {
                    let took = check_in(&core, visitor, Event::Image(jpeg.clone())).await;
                    photo_lat.push(took.as_secs_f64() * 1000.0);
                }
            }
        }
        let decodable = photos[0].len() + photos[1].len();
        photo_lat.sort_by(f64::total_cmp);
        println!(
            "photo check-in (1280x960 JPEG q80 poster photos, {decodable} decodable of {tried}, {} check-ins): p50 {:.1} ms, p99 {:.1} ms",
            photo_lat.len(),
            percentile(&photo_lat, 0.5),
            percentile(&photo_lat, 0.99)
        );
        core.store.close().await;
        if std::env::var_os("BENCH_KEEP_DB").is_some() {
            println!("kept the database for inspection: {url}");
        } else {
            drop_db(&admin_url, &name).await;
        }
    });
}
