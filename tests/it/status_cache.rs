//! The status cache (issue 3's look-up rate): a cached status is never older than the
//! records it was computed from — feeds in this process invalidate at once, feeds in
//! another process after one read of the change log, the clock expires it — on SQLite and
//! PostgreSQL.

use crate::support;

use ashyq::clock::{Clock, ManualClock};
use ashyq::core::Core;
use ashyq::core::feeds;
use ashyq::core::status_cache::{CacheSettings, StatusCache};
use ashyq::crypto::{Field, Vault};
use ashyq::i18n::Texts;
use ashyq::status::Colour;
use ashyq::storage::{Store, health};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{SECRET, TestDb, at};

const IIN: &str = "900101300017";
const NOW: &str = "2026-11-05T10:00:00+05:00";

async fn cached_core(db: &TestDb, clock: &ManualClock, settings: CacheSettings) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    let cache = Arc::new(StatusCache::new(settings));
    let core = Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).expect("secret"),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_status_cache(cache.clone()),
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    cache.start(&mut conn).await.unwrap();
    core
}

fn pcr(taken: &str, result_at: &str, result: &str, ext: &str) -> Value {
    json!({"iin": IIN, "taken_at": taken, "result_at": result_at, "result": result,
           "lab": "Lab", "external_id": ext})
}

async fn colour(core: &Core) -> Colour {
    let hash = core.vault.lookup_hash(Field::Iin, IIN);
    let mut conn = core.store.pool().acquire().await.unwrap();
    core.status_of(&mut conn, &hash, core.clock.now())
        .await
        .unwrap()
        .colour
}

fn cache(core: &Core) -> &StatusCache {
    core.status_cache.as_deref().unwrap()
}

async fn in_process(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = cached_core(db, &clock, CacheSettings::default()).await;
    assert_eq!(colour(&core).await, Colour::Blue);
    assert_eq!(colour(&core).await, Colour::Blue);
    let stats = cache(&core).stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 1, 1));

    // A positive result through the feed: the very next look-up sees it.
    let report = feeds::ingest_pcr(
        &core,
        vec![pcr(
            "2026-11-04T09:00:00+05:00",
            "2026-11-05T08:00:00+05:00",
            "positive",
            "p1",
        )],
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(colour(&core).await, Colour::Red);
    assert_eq!(colour(&core).await, Colour::Red);
    let stats = cache(&core).stats();
    assert_eq!((stats.misses, stats.hits), (2, 2), "{stats:?}");

    // The clock ends the red period (14 days from the sample's date): the cached red
    // is not served past its end.
    clock.set(at("2026-11-18T00:00:00+05:00"));
    assert_eq!(colour(&core).await, Colour::Blue);
    assert_eq!(cache(&core).stats().misses, 3);
    // A look-up at an earlier instant than the cached one is not answered from it.
    clock.set(at("2026-11-06T00:00:00+05:00"));
    assert_eq!(colour(&core).await, Colour::Red);

    // A withdrawn result is a change too.
    feeds::ingest_pcr(
        &core,
        vec![{
            let mut p = pcr(
                "2026-11-04T09:00:00+05:00",
                "2026-11-05T08:00:00+05:00",
                "positive",
                "p1",
            );
            p["withdrawn"] = json!(true);
            p
        }],
        None,
    )
    .await
    .unwrap();
    assert_eq!(colour(&core).await, Colour::Blue);
}

mod invalidated_in_process {
    ashyq_on_both!(super::in_process);
}

/// Another process (here a second core on the same database, without a cache) writes: this
/// process sees it after reading the change log, and never serves a status older than its
/// last read of the log plus `max_staleness`.
async fn across_processes(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let reader = cached_core(db, &clock, CacheSettings::default()).await;
    let writer = support::core(db, &clock).await;
    assert_eq!(colour(&reader).await, Colour::Blue);

    feeds::ingest_pcr(
        &writer,
        vec![pcr(
            "2026-11-04T09:00:00+05:00",
            "2026-11-05T08:00:00+05:00",
            "positive",
            "p1",
        )],
        None,
    )
    .await
    .unwrap();
    // Not yet read from the log: the cached blue is still served (within the bound).
    assert_eq!(colour(&reader).await, Colour::Blue);
    let mut conn = reader.store.pool().acquire().await.unwrap();
    assert_eq!(cache(&reader).poll(&mut conn).await.unwrap(), 1);
    drop(conn);
    assert_eq!(colour(&reader).await, Colour::Red);
    assert_eq!(cache(&reader).stats().invalidations, 1);

    // A gap in the log (entries pruned before this process read them) empties the cache.
    let mut conn = writer.store.pool().acquire().await.unwrap();
    let mut tx = writer.store.begin().await.unwrap();
    let other = writer.vault.lookup_hash(Field::Iin, "850314300011");
    health::record_changes(&mut tx, std::slice::from_ref(&other), 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    health::prune_changes(&mut conn, 2).await.unwrap();
    let mut tx = writer.store.begin().await.unwrap();
    health::record_changes(&mut tx, &[other], 3).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(cache(&reader).stats().entries, 1);
    let mut conn = reader.store.pool().acquire().await.unwrap();
    cache(&reader).poll(&mut conn).await.unwrap();
    assert_eq!(
        cache(&reader).stats().entries,
        0,
        "started over after a gap"
    );

    // The cache following the log as `serve` runs it: a write elsewhere arrives by itself.
    let stop = tokio_util::sync::CancellationToken::new();
    let follower = tokio::spawn(
        reader
            .status_cache
            .clone()
            .unwrap()
            .run(reader.store.clone(), stop.clone()),
    );
    assert_eq!(colour(&reader).await, Colour::Red);
    feeds::ingest_pcr(
        &writer,
        vec![{
            let mut p = pcr(
                "2026-11-04T09:00:00+05:00",
                "2026-11-05T08:00:00+05:00",
                "positive",
                "p1",
            );
            p["withdrawn"] = json!(true);
            p
        }],
        None,
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while colour(&reader).await != Colour::Blue {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never saw the change"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    follower.await.unwrap();
}

mod invalidated_across_processes {
    ashyq_on_both!(super::across_processes);
}

/// A cache that has not read the change log lately answers nothing: every look-up reads the
/// database, so a stalled follower can never serve an old status.
async fn stale_follower(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = cached_core(
        db,
        &clock,
        CacheSettings {
            max_staleness: Duration::from_millis(100),
            ..CacheSettings::default()
        },
    )
    .await;
    assert_eq!(colour(&core).await, Colour::Blue);
    assert!(cache(&core).serving());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!cache(&core).serving());
    let writer = support::core(db, &clock).await;
    feeds::ingest_pcr(
        &writer,
        vec![pcr(
            "2026-11-04T09:00:00+05:00",
            "2026-11-05T08:00:00+05:00",
            "positive",
            "p1",
        )],
        None,
    )
    .await
    .unwrap();
    assert_eq!(colour(&core).await, Colour::Red, "read from the database");
    assert_eq!(cache(&core).stats().hits, 0);
}

mod stalled_follower {
    ashyq_on_both!(super::stale_follower);
}

/// Warming reads every record page by page (a hash whose results straddle a page boundary
/// included) and stores the same status a look-up computes.
async fn warming(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let writer = support::core(db, &clock).await;
    // 30 people with one to three results each, every third with a contact.
    let iins: Vec<String> = (0..30u16)
        .map(|i| {
            ashyq::domain::Iin::synthetic(
                chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
                ashyq::domain::Sex::Female,
                i * 10,
            )
            .expose()
        })
        .collect();
    let mut items = Vec::new();
    let mut contacts = Vec::new();
    for (i, iin) in iins.iter().enumerate() {
        for k in 0..=(i % 3) {
            let day = 1 + (i + k) % 4;
            items.push(
                json!({"iin": iin, "taken_at": format!("2026-11-0{day}T09:00:00+05:00"),
                "result_at": format!("2026-11-0{day}T18:00:00+05:00"),
                "result": if (i + k) % 4 == 0 { "positive" } else { "negative" },
                "lab": "Lab", "external_id": format!("w{i}-{k}")}),
            );
        }
        if i % 3 == 0 {
            contacts.push(
                json!({"iin": iin, "contact_date": "2026-11-03", "case_id": "c",
                "external_id": format!("c{i}")}),
            );
        }
    }
    feeds::ingest_pcr(&writer, items, None).await.unwrap();
    feeds::ingest_contacts(&writer, contacts, None)
        .await
        .unwrap();

    let reader = cached_core(db, &clock, CacheSettings::default()).await;
    let stored = cache(&reader)
        .warm_with_page(&reader.store, clock.now(), 4)
        .await
        .unwrap();
    assert_eq!(stored, 30);
    let mut conn = writer.store.pool().acquire().await.unwrap();
    for iin in &iins {
        let hash = reader.vault.lookup_hash(Field::Iin, iin);
        let expected = writer
            .status_of(&mut conn, &hash, clock.now())
            .await
            .unwrap();
        assert_eq!(
            cache(&reader).get(&hash, clock.now()),
            Some(expected),
            "warmed status differs for one person"
        );
    }
    assert!(cache(&reader).stats().hits >= 30);
}

mod warmed {
    ashyq_on_both!(super::warming);
}

/// The change log is pruned by a job that `ashyq serve` always runs, so it does not grow in
/// a process without a cache: entries older than a day go.
async fn pruning(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = support::core(db, &clock).await;
    let hash = core.vault.lookup_hash(Field::Iin, IIN);
    for at_ms in [core.now_ms() - 2 * 86_400_000, core.now_ms() - 1_000] {
        let mut tx = core.store.begin().await.unwrap();
        health::record_changes(&mut tx, std::slice::from_ref(&hash), at_ms)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(support::count(&core.store, "health_changes").await, 2);
    let stop = tokio_util::sync::CancellationToken::new();
    let notifier = ashyq::core::job::spawn(
        core.clone(),
        std::sync::Arc::new(ashyq::core::status::PruneChanges),
        stop.clone(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while support::count(&core.store, "health_changes").await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "not pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    notifier.await.unwrap();
}

mod pruned_by_the_notifier {
    ashyq_on_both!(super::pruning);
}
