//! Pharmacy benchmarks (docs/PERFORMANCE.md, "Prescriptions at pharmacies"; issue 17 item 8).
//!
//! 1. **Dispensings per second** through the one dispensing path,
//!    `prescriptions::dispense(core, pharmacist_chat, request)`: N prescriptions (one
//!    medicine each, quantity 10) fed through the real feed (`feed::ingest`), P pharmacies,
//!    C pharmacists dispensing concurrently, each call "everything left" of the next
//!    prescription. Then the ledger's copy (`prescriptions::chain_all`, what the `rx-ledger`
//!    job does every second) is timed. Counted afterwards: dispensings = N, every item fully
//!    dispensed, one ledger redemption line per dispensing, and the ledger verifies.
//! 2. **Latency of a QR photo to the pharmacist's answer**: M patients' QR codes (the
//!    engine's `SV…` token) drawn as PNG (the wallet's own drawing, 8 pixels a module) are
//!    sent as `Event::Image` from a pharmacist's chat through `Core::handle` (decode on the
//!    blocking pool, route, scan, card with buttons); the time from the call to the answer is
//!    measured (the download from the messenger is excluded), sequentially and with K
//!    pharmacists at once.
//!
//! `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) names a server where a scratch database is
//! created and dropped; without it SQLite runs alone. Environment: `BENCH_RX` (N, 4 000),
//! `BENCH_PHARMACIES` (P, 4), `BENCH_CLIENTS` (C, 16), `BENCH_PHOTOS` (M, 300),
//! `BENCH_PHOTO_CLIENTS` (K, 4), `BENCH_SQLITE=0` (PostgreSQL only). Under `cargo test --all-targets` a smoke run (N = 60, M = 10).
//!
//! Run: `BENCH_POSTGRES_URL=postgres://… cargo bench --bench pharmacy -- --bench`

mod common;
use common::{drop_db, env_num, load_average, machine, percentile, scratch_db};

use ashyq::clock::ManualClock;
use ashyq::core::prescriptions::{self, Request, feed};
use ashyq::core::vouchers::qr::{QrKeys, VoucherToken};
use ashyq::core::vouchers::{ProviderKind, VoucherKind, providers};
use ashyq::core::{Core, Event, Inbound};
use ashyq::crypto::Vault;
use ashyq::domain::{Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store};
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const NOW: &str = "2026-11-23T10:00:00+05:00";

fn patient(n: usize) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(
            1960 + (n % 40) as i32,
            1 + (n % 12) as u32,
            1 + (n % 27) as u32,
        )
        .unwrap(),
        if n.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        (n % 9000) as u16 + 1,
    )
    .expose()
}

fn bin(n: usize) -> String {
    // 12-digit BINs with a valid check digit, as the tests' fixtures: derived by Bin::parse.
    for tail in 0..10_000u32 {
        let candidate = format!("2105400{:01}{:04}", n % 10, tail);
        if let Ok(b) = ashyq::domain::Bin::parse(&candidate) {
            return b.as_string();
        }
    }
    unreachable!("a valid BIN exists")
}

async fn core_on(url: &str) -> Arc<Core> {
    let store = Store::open(url).await.expect("open store");
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    Arc::new(Core::new(
        store,
        Vault::from_secret(SECRET).unwrap(),
        Arc::new(ManualClock::new(at)),
        Arc::new(Texts::load()),
    ))
}

/// N prescriptions through the feed; their ids in order.
async fn feed_prescriptions(core: &Core, n: usize) -> Vec<i64> {
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        items.push(serde_json::json!({
            "external_id": format!("B-{i}"),
            "patient_iin": patient(i),
            "prescriber": "Dr Bench",
            "issued_on": "2026-11-20",
            "expires_on": "2026-12-20",
            "kind": "free",
            "items": [{"inn": "Metformin", "form": "tablets 500 mg", "quantity": 10, "unit": "pieces"}],
        }));
    }
    for chunk in items.chunks(feed::BATCH) {
        let r = feed::ingest(core, chunk.to_vec(), None)
            .await
            .expect("feed");
        assert!(r.rejected.is_empty(), "{:?}", r.rejected.first());
    }
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM prescriptions ORDER BY id")
        .fetch_all(core.store.pool())
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// P pharmacies, C pharmacist chats spread over them (joined by the real invite).
async fn pharmacists(core: &Arc<Core>, pharmacies: usize, clients: usize) -> Vec<ChatRef> {
    for p in 0..pharmacies {
        providers::set(
            core,
            ProviderKind::Pharmacy,
            &bin(p),
            &format!("Pharmacy {p}"),
        )
        .await
        .expect("pharmacy");
    }
    let mut chats = Vec::new();
    for c in 0..clients {
        let link = providers::invite(core, ProviderKind::Pharmacy, &bin(c % pharmacies), "bench")
            .await
            .unwrap();
        let payload = link.rsplit("start=").next().unwrap().to_string();
        let chat = ChatRef::new("bench", format!("pharmacist-{c}"));
        core.handle(Inbound {
            chat: chat.clone(),
            update_key: Some(format!("join-{c}")),
            lang_hint: Some("ru".into()),
            event: Event::Command {
                name: "start".into(),
                arg: payload,
            },
        })
        .await
        .expect("join");
        chats.push(chat);
    }
    chats
}

async fn dispensings(label: &str, url: &str, n: usize, pharmacies: usize, clients: usize) {
    let core = core_on(url).await;
    let t = Instant::now();
    let ids = Arc::new(feed_prescriptions(&core, n).await);
    let chats = pharmacists(&core, pharmacies, clients).await;
    println!(
        "\n{label}: {n} prescriptions fed in {:.1} s; {pharmacies} pharmacies, {clients} pharmacists",
        t.elapsed().as_secs_f64()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = chats
        .into_iter()
        .map(|chat| {
            let (core, ids, next) = (core.clone(), ids.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let t = Instant::now();
                    let r = prescriptions::dispense(
                        &core,
                        &chat,
                        &Request {
                            prescription: *id,
                            expected_seq: None,
                            item: None,
                            quantity: 0,
                        },
                    )
                    .await
                    .expect("dispense");
                    assert!(r.is_ok(), "refused: {:?}", r.err());
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    println!(
        "{label}: {} dispensings in {secs:.2} s = {:.0}/s; latency ms p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1} (load {})",
        lat.len(),
        lat.len() as f64 / secs,
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default(),
        load_average()
    );
    let count = |sql: &'static str| {
        let core = core.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sql)
                .fetch_one(core.store.pool())
                .await
                .unwrap();
            n
        }
    };
    // The ledger's copy: what the chaining job does every second, here all at once.
    let t = Instant::now();
    let chained = prescriptions::chain_all(&core).await.expect("chain");
    let chain_secs = t.elapsed().as_secs_f64();
    println!(
        "{label}: ledger chaining of {chained} dispensings in {chain_secs:.2} s = {:.0}/s ({} per transaction; load {})",
        chained as f64 / chain_secs,
        prescriptions::CHAIN_BATCH,
        load_average()
    );
    let d = count("SELECT COUNT(*) FROM dispensings").await;
    let open = count("SELECT COUNT(*) FROM prescription_items WHERE dispensed <> quantity").await;
    let lines = count(
        "SELECT COUNT(*) FROM wallet_ledger WHERE voucher_kind = 'medicine' AND kind = 'redemption'",
    )
    .await;
    assert_eq!((d, open, lines), (n as i64, 0, n as i64));
    let mut conn = core.store.pool().acquire().await.unwrap();
    let v = ashyq::core::vouchers::ledger::verify(&mut conn)
        .await
        .unwrap();
    assert_eq!(v.first_problem, None);
    println!(
        "{label}: checked: {d} dispensings, every item fully dispensed, {lines} ledger lines, ledger verifies ({} entries)",
        v.entries
    );
    drop(conn);
    core.store.close().await;
}

async fn photos(label: &str, url: &str, m: usize, clients: usize) {
    let core = core_on(url).await;
    let ids = feed_prescriptions(&core, m).await;
    let chats = pharmacists(&core, 1, clients).await;
    let keys = QrKeys::new(core.vault.signing_key());
    let now = core.now_ms();
    let pngs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| {
            let text = keys.sign(&VoucherToken::new(VoucherKind::Medicine, *id, 1, now));
            ashyq::core::shared::qr_image::render_png(&text).expect("png")
        })
        .collect();
    let avg_kib = pngs.iter().map(Vec::len).sum::<usize>() as f64 / pngs.len() as f64 / 1024.0;
    let pngs = Arc::new(pngs);
    for concurrent in [1, clients] {
        let next = Arc::new(AtomicUsize::new(0));
        let serial = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = chats[..concurrent]
            .iter()
            .cloned()
            .map(|chat| {
                let (core, pngs, next, serial) =
                    (core.clone(), pngs.clone(), next.clone(), serial.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(png) = pngs.get(i) else { break };
                        let key = serial.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        let out = core
                            .handle(Inbound {
                                chat: chat.clone(),
                                update_key: Some(format!("photo-{concurrent}-{key}")),
                                lang_hint: Some("ru".into()),
                                event: Event::Image(png.clone()),
                            })
                            .await
                            .expect("handled");
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        assert_eq!(
                            out.first().map(|o| o.text.key().to_string()).as_deref(),
                            Some("rx-card")
                        );
                    }
                    lat
                })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let secs = start.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        println!(
            "{label}: QR photo → pharmacist's card, {concurrent} at once: {} photos ({avg_kib:.1} KiB PNG), ms p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}; {:.0}/s (load {})",
            lat.len(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or_default(),
            lat.len() as f64 / secs,
            load_average()
        );
    }
    core.store.close().await;
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let pg = std::env::var("BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("TEST_POSTGRES_URL").ok());
    let n = env_num("BENCH_RX", if full { 4_000 } else { 60 }) as usize;
    let pharmacies = env_num("BENCH_PHARMACIES", if full { 4 } else { 2 }).max(1) as usize;
    let clients = env_num("BENCH_CLIENTS", if full { 16 } else { 2 }).max(1) as usize;
    let m = env_num("BENCH_PHOTOS", if full { 300 } else { 10 }) as usize;
    let photo_clients = env_num("BENCH_PHOTO_CLIENTS", if full { 4 } else { 2 }).max(1) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        println!("machine: {}, load average {}", machine(), load_average());
        if !full {
            println!("(smoke run: `cargo bench --bench pharmacy -- --bench` runs the full set)");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        if std::env::var("BENCH_SQLITE").is_ok_and(|v| v == "0") {
            println!("\nSQLite: skipped (BENCH_SQLITE=0)");
        } else {
            dispensings("SQLite", &sqlite("d.db"), n, pharmacies, clients).await;
            photos("SQLite", &sqlite("p.db"), m, photo_clients).await;
        }
        match pg.as_deref() {
            Some(admin) => {
                let (name, url) = scratch_db(admin, "rx_bench").await;
                dispensings("PostgreSQL", &url, n, pharmacies, clients).await;
                drop_db(admin, &name).await;
                let (name, url) = scratch_db(admin, "rx_bench").await;
                photos("PostgreSQL", &url, m, photo_clients).await;
                drop_db(admin, &name).await;
            }
            None => {
                println!("\nPostgreSQL: BENCH_POSTGRES_URL / TEST_POSTGRES_URL not set, skipped")
            }
        }
    });
}
