//! Several replicas on one PostgreSQL: outbox claims with leases, one leader per loop (and
//! takeover when the leader's session dies), and SQLite's one-process rule.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::{Core, Outbound};
use ashyq::delivery::{Deliver, Envelope, Sent, Worker, WorkerOptions};
use ashyq::domain::Lang;
use ashyq::i18n::Msg;
use ashyq::leader::{Leadership, run_as_leader};
use ashyq::storage::{ChatRef, outbox};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::FakeTelegram;
use support::{TestDb, at};
use tokio_util::sync::CancellationToken;

/// A channel that records which worker "sent" which row, slowly enough for two workers to
/// interleave.
struct Recording {
    worker: &'static str,
    sent: Arc<Mutex<Vec<(&'static str, i64)>>>,
}

impl Deliver for Recording {
    fn channel(&self) -> &str {
        "test-channel"
    }

    async fn deliver(&self, _core: &Core, envelope: Envelope<'_>) -> Sent {
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.sent.lock().unwrap().push((self.worker, envelope.id));
        Sent::Delivered
    }
}

async fn queue(core: &Core, rows: usize, chats: usize) {
    let mut tx = core.store.begin().await.unwrap();
    for i in 0..rows {
        let to = ChatRef::new("test-channel", format!("chat-{}", i % chats));
        let m = Outbound::reply(Lang::En, Msg::new("hint-too-long").num("max", i as i64));
        core.enqueue(&mut tx, &to, &m, None, None).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn options() -> WorkerOptions {
    WorkerOptions {
        batch: 40,
        chats_at_once: 8,
        idle: Duration::from_millis(20),
        ..WorkerOptions::default()
    }
}

/// Two workers of two replicas (two pools) on one PostgreSQL deliver 400 rows: every row
/// exactly once, and both took part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_send_the_same_row() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    queue(&a, 400, 25).await;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let worker = |name, core: &Arc<Core>| {
        let w = Worker::new(Recording {
            worker: name,
            sent: sent.clone(),
        })
        .with_options(options());
        let (core, stop) = (core.clone(), stop.clone());
        tokio::spawn(async move { w.run(core, stop).await })
    };
    let tasks = [worker("a", &a), worker("b", &b)];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = a.store.pool().acquire().await.unwrap();
        let (pending, done, failed) = outbox::counts(&mut conn).await.unwrap();
        if pending == 0 {
            assert_eq!((done, failed), (400, 0));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} still pending"
        );
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let sent = sent.lock().unwrap().clone();
    let mut per_row: HashMap<i64, usize> = HashMap::new();
    for (_, id) in &sent {
        *per_row.entry(*id).or_default() += 1;
    }
    assert_eq!(per_row.len(), 400);
    assert!(
        per_row.values().all(|&n| n == 1),
        "a row sent twice: {:?}",
        per_row.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let by_a = sent.iter().filter(|(w, _)| *w == "a").count();
    assert!(by_a > 0 && by_a < 400, "both workers sent (a: {by_a})");
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// Rows claimed by a worker that died are invisible until the lease runs out, then another
/// worker sends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_claimers_rows_are_sent_after_the_lease() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    queue(&core, 5, 2).await;
    let lease = WorkerOptions::default().lease.as_millis() as i64;
    // The claimer claims and dies before sending anything.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let claimed = outbox::claim(
        &mut conn,
        core.store.backend(),
        "test-channel",
        core.now_ms(),
        lease,
        100,
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 5);
    drop(conn);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let w = Worker::new(Recording {
        worker: "b",
        sent: sent.clone(),
    });
    assert_eq!(w.send_due(&core).await.unwrap(), 0, "leased: not due");
    clock.advance(chrono::Duration::milliseconds(lease + 1));
    assert_eq!(w.send_due(&core).await.unwrap(), 5, "the lease ran out");
    assert_eq!(sent.lock().unwrap().len(), 5);
    core.store.close().await;
    db.cleanup().await;
}

/// A loop under a leader lock on two replicas: one leader at a time; when the leader's
/// database session dies (as when its process is killed), the other takes over within
/// seconds and the old leader stops its loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_and_a_takeover_within_seconds() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let replica = |core: &Arc<Core>, leadership: Leadership| {
        let (store, stop) = (core.store.clone(), stop.clone());
        let (running, most) = (running.clone(), most.clone());
        tokio::spawn(async move {
            run_as_leader("test-job", &store, stop, leadership, move |token| {
                let (running, most) = (running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    token.cancelled().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .await;
        })
    };
    let (la, lb) = (Leadership::default(), Leadership::default());
    let ta = replica(&a, la.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tb = replica(&b, lb.clone());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(la.is_leader() && !lb.is_leader());
    assert_eq!(running.load(Ordering::SeqCst), 1);

    // The leader's session dies (the server ends it, as it does when a process is killed).
    let mut admin = a.store.pool().acquire().await.unwrap();
    let (killed,): (i64,) = sqlx::query_as(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut *admin)
    .await
    .unwrap();
    assert_eq!(killed, 1);
    drop(admin);
    let started = std::time::Instant::now();
    while !lb.is_leader() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no takeover within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The old leader noticed and stopped its loop.
    let started = std::time::Instant::now();
    while la.is_leader() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "old leader kept running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.load(Ordering::SeqCst), 1);
    assert_eq!(most.load(Ordering::SeqCst), 1, "never two leaders at once");

    stop.cancel();
    ta.await.unwrap();
    tb.await.unwrap();
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// Two applications (as two `serve` replicas) on one PostgreSQL: each loop has exactly one
/// leader, and a message queued once is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applications_share_the_loops() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = TestApp::start(
        support::core(&db, &clock).await,
        &url,
        TestOptions::default(),
    )
    .await;
    let b = TestApp::start(
        support::core(&db, &clock).await,
        &url,
        TestOptions::default(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for name in [
        "checkout",
        "identity",
        "exposure",
        "keys",
        "retention",
        "status-notifier",
        "outbox:sms",
        "outbox:telegram",
        "telegram-polling",
    ] {
        assert!(
            a.leads(name) ^ b.leads(name),
            "{name}: a {} b {}",
            a.leads(name),
            b.leads(name)
        );
    }
    let to = ChatRef::new("telegram", "779");
    let mut tx = a.core.store.begin().await.unwrap();
    for i in 0..5 {
        let m = Outbound::reply(Lang::En, Msg::new("hint-too-long").num("max", i));
        a.core.enqueue(&mut tx, &to, &m, None, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    fake.wait_messages(779, 5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.sent_texts(779).len(), 5, "each message once");
    let core = a.core.clone();
    a.stop().await;
    b.stop().await;
    core.store.close().await;
    db.cleanup().await;
}

/// `serve` refuses a second process on the same SQLite file, with a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_one_sqlite_file_is_refused() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("one.db").display());
    let serve = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"));
        cmd.args(["serve", "--http", "127.0.0.1:0"])
            .env_remove("TELOXIDE_TOKEN")
            .env("DATABASE_URL", &db)
            .env("ASHYQ_SECRET_KEY", support::SECRET)
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    };
    let mut first = serve().spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(first.stderr.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Telegram is off") {
                return;
            }
        }
        panic!("the first serve did not start");
    })
    .await
    .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(30), serve().output())
        .await
        .unwrap()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another `ashyq serve`"), "{err}");
    first.kill().await.unwrap();
}

/// The server sessions (backend pids) holding the advisory locks of the test database, one
/// entry per lock.
async fn leader_locks(url: &str) -> Vec<i64> {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT CAST(pid AS BIGINT) FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|(p,)| p).collect()
}

/// Two `ashyq serve` processes on one PostgreSQL: the first leads every loop; `kill -9` of
/// it, and the second takes them over within seconds and answers the bot's users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_leader_process_and_the_other_takes_over() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    sqlx::any::install_default_drivers();
    // Migrate once before the two processes start.
    ashyq::storage::Store::open(&db.url)
        .await
        .unwrap()
        .close()
        .await;
    let (fake, url) = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let serve = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ashyq"));
        cmd.args(["serve", "--http", "127.0.0.1:0"])
            .env("TELOXIDE_TOKEN", "123456:TEST")
            .env("TELOXIDE_API_URL", &url)
            .env("DATABASE_URL", &db.url)
            .env("ASHYQ_SECRET_KEY", support::SECRET)
            .env("ASHYQ_STATUS_CACHE", "0")
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .kill_on_drop(true);
        cmd
    };
    // All five locks held, by none of `old` (sessions of a killed process).
    let wait_locks = |old: Vec<i64>, within: Duration| {
        let url = db.url.clone();
        async move {
            let deadline = tokio::time::Instant::now() + within;
            loop {
                let held = leader_locks(&url).await;
                if held.len() == LOOPS && !held.iter().any(|p| old.contains(p)) {
                    return held;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "leader locks held by {held:?}, old sessions {old:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // checkout, status-notifier, identity, keys, retention, exposure, outbox:sms,
    // outbox:telegram, telegram-polling.
    const LOOPS: usize = 9;
    let mut first = serve().spawn().unwrap();
    let firsts = wait_locks(Vec::new(), Duration::from_secs(30)).await;
    let mut second = serve().spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        leader_locks(&db.url).await,
        firsts,
        "the second only follows"
    );

    first.kill().await.unwrap(); // SIGKILL
    let killed = std::time::Instant::now();
    wait_locks(firsts, Duration::from_secs(10)).await;
    let took = killed.elapsed();
    eprintln!(
        "takeover of 5 loops after kill -9: {:.1} s",
        took.as_secs_f64()
    );

    // The second replica now polls and answers.
    fake.text(424_243, Some("ru"), "/start");
    let texts = fake.wait_messages(424_243, 1).await;
    assert!(texts[0].contains("персональных данных"), "{texts:?}");
    second.kill().await.unwrap();
    db.cleanup().await;
}

/// The application runs Aitu as it runs Telegram: its outbox through the one worker and its
/// long polling, each under a leader lock.
async fn aitu_in_the_application(db: &TestDb) {
    const PEER: &str = "0d6c3a52-7b1e-4f8a-9c2d-1e2f3a4b5c6e";
    let (fake, url) = support::fake_aitu::FakeAitu::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let app = TestApp::start(
        core.clone(),
        "http://127.0.0.1:9/",
        TestOptions {
            telegram: false,
            jobs: false,
            aitu: Some(support::fake_aitu::settings(&url)),
            ..TestOptions::default()
        },
    )
    .await;
    let to = ChatRef::new("aitu", PEER);
    let mut tx = core.store.begin().await.unwrap();
    for i in 0..3 {
        let m = Outbound::reply(Lang::En, Msg::new("hint-too-long").num("max", i));
        core.enqueue(&mut tx, &to, &m, None, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    let texts = fake.wait_sent(PEER, 3).await;
    assert!(texts[0].contains("at most 0"), "{texts:?}");
    assert!(texts[2].contains("at most 2"), "{texts:?}");
    assert!(app.leads("outbox:aitu") && app.leads("aitu-polling"));
    // Each row is marked right after Aitu's answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut conn = core.store.pool().acquire().await.unwrap();
        let counts = outbox::counts(&mut conn).await.unwrap();
        if counts == (0, 3, 0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts:?}");
        drop(conn);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
    core.store.close().await;
}

mod aitu_app {
    ashyq_on_both!(super::aitu_in_the_application);
}
