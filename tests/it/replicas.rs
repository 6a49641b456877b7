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

/// Issue 16: two replicas (two cores, two pools) on one PostgreSQL get two updates of one
/// chat at once — the consent button pressed twice, one press at each replica. Each core
/// holds the conversation row (`FOR UPDATE`) in its transaction, so the second press sees
/// the first one's step and is told its button is stale: per chat exactly one "phone
/// prompt" alone and one hint. Without the lock both read the consent step and both move
/// on (the conversation forks: two prompts, no hint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_one_chat_never_fork() {
    use ashyq::core::{Event, Inbound};
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    const CHATS: usize = 40;
    for i in 0..CHATS {
        let chat = support::Chat::new(&a, &format!("race-{i}"), Some("ru"));
        assert_eq!(chat.command("start").await, ["consent-text"]);
    }
    let press = |core: &Arc<Core>, i: usize, replica: &str| {
        let core = core.clone();
        let inbound = Inbound {
            chat: ChatRef::new("test", format!("race-{i}")),
            update_key: Some(format!("press-{i}-{replica}")),
            lang_hint: Some("ru".into()),
            event: Event::Button("consent:yes".into()),
        };
        tokio::spawn(async move { core.handle(inbound).await.expect("handled") })
    };
    let tasks: Vec<_> = (0..CHATS)
        .map(|i| (press(&a, i, "a"), press(&b, i, "b")))
        .collect();
    let mut forked = Vec::new();
    for (i, (x, y)) in tasks.into_iter().enumerate() {
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        let (kx, ky) = (support::keys(&x), support::keys(&y));
        let moved = [&kx, &ky]
            .iter()
            .filter(|k| k.as_slice() == ["phone-prompt"])
            .count();
        let hinted = [&kx, &ky]
            .iter()
            .filter(|k| k.first().is_some_and(|k| k.starts_with("hint-")))
            .count();
        if (moved, hinted) != (1, 1) {
            forked.push((i, kx, ky));
        }
    }
    assert!(forked.is_empty(), "forked conversations: {forked:?}");
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// The lock itself: while another transaction holds a chat's conversation row, a replica's
/// update of that chat waits (another chat's does not); a chat without a row yet is held by
/// its transaction advisory lock (`conversations::chat_lock_key`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_waits_for_the_conversation_held_by_another_replica() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    let held = support::Chat::new(&a, "held", Some("ru"));
    held.command("start").await;

    let mut tx = a.store.begin().await.unwrap();
    sqlx::query("SELECT state FROM conversations WHERE channel = $1 AND chat_id = $2 FOR UPDATE")
        .bind("test")
        .bind("held")
        .execute(&mut *tx)
        .await
        .unwrap();
    let other = support::Chat::new(&b, "held", Some("ru"));
    let waiting = tokio::spawn(async move { other.button("consent:yes").await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !waiting.is_finished(),
        "the held conversation was not waited for"
    );
    // Another chat goes on meanwhile.
    let free = support::Chat::new(&b, "free", Some("ru"));
    let out = tokio::time::timeout(Duration::from_secs(10), free.command("start"))
        .await
        .expect("another chat is not held up");
    assert_eq!(out, ["consent-text"]);
    tx.commit().await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("released")
        .unwrap();
    assert_eq!(out, ["phone-prompt"]);

    // A new chat: no row to lock, its advisory lock instead.
    let fresh = ChatRef::new("test", "fresh");
    let mut tx = a.store.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ashyq::storage::conversations::chat_lock_key(&fresh))
        .execute(&mut *tx)
        .await
        .unwrap();
    let first = support::Chat::new(&b, "fresh", Some("ru"));
    let waiting = tokio::spawn(async move { first.command("start").await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !waiting.is_finished(),
        "the new chat's lock was not waited for"
    );
    tx.commit().await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("released")
        .unwrap();
    assert_eq!(out, ["consent-text"]);
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// Two replicas' paces share their slots through the database: reserved at once from two
/// pools, every slot is distinct and at least one interval from the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_pace_is_shared_by_the_replicas() {
    use ashyq::pace::SendPace;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    let pa = Arc::new(SendPace::new("t", 50.0, Some(a.store.clone())));
    let pb = Arc::new(SendPace::new("t", 50.0, Some(b.store.clone())));
    assert!(pa.is_shared() && pb.is_shared());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let p = if i % 2 == 0 { pa.clone() } else { pb.clone() };
        tasks.push(tokio::spawn(async move { p.reserve().await }));
    }
    let mut slots = Vec::new();
    for t in tasks {
        slots.push(t.await.unwrap());
    }
    slots.sort_unstable();
    let gaps: Vec<i64> = slots.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|&g| g >= 20_000),
        "slots closer than 20 ms (50/s): {gaps:?}"
    );
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// The cap holds across replicas whatever the senders' delays: two replicas share a window
/// of 3 a second with slots far closer than that; each message "arrives" at a random moment
/// between its permit and its drop (a messenger's clock), and no second-long window of those
/// moments holds more than 3; the window was full at some point (sharing, not idleness).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_window_caps_every_second_across_replicas() {
    use ashyq::pace::SendPace;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let a = support::core(&db, &clock).await;
    let b = support::core(&db, &clock).await;
    let pa = Arc::new(SendPace::new("w", 1000.0, Some(a.store.clone())).with_cap(3));
    let pb = Arc::new(SendPace::new("w", 1000.0, Some(b.store.clone())).with_cap(3));
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..10u64 {
        let p = if i % 2 == 0 { pa.clone() } else { pb.clone() };
        tasks.push(tokio::spawn(async move {
            let permit = p.wait().await;
            let flight = Duration::from_millis(5 + (i * 37) % 60);
            let arrives =
                std::time::Instant::now() + flight.mul_f64(((i * 53) % 100) as f64 / 100.0);
            tokio::time::sleep(flight).await;
            drop(permit);
            arrives
        }));
    }
    let mut arrived = Vec::new();
    for t in tasks {
        arrived.push(t.await.unwrap());
    }
    arrived.sort_unstable();
    let most = arrived
        .iter()
        .map(|&from| {
            arrived
                .iter()
                .filter(|&&x| x >= from && x < from + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert_eq!(most, 3, "most arrivals in one second: {most}");
    // Ten messages at 3 a second: the last not before three windows passed.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}

/// `TELEGRAM_PAID_BROADCAST`: the outbox worker sends with `allow_paid_broadcast`; the
/// ordinary worker does not.
async fn paid_broadcast(db: &TestDb) {
    use ashyq::adapters::telegram;
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let alert = |n: i64| Outbound::reply(Lang::Ru, Msg::new("hint-too-long").num("max", n));
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(
        &mut tx,
        &ChatRef::new("telegram", "5001"),
        &alert(1),
        None,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let paid = telegram::paid_worker(support::fake_telegram::test_bot(&url));
    assert_eq!(paid.send_due(&core).await.unwrap(), 1);
    let mut tx = core.store.begin().await.unwrap();
    core.enqueue(
        &mut tx,
        &ChatRef::new("telegram", "5002"),
        &alert(2),
        None,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ordinary = telegram::worker(support::fake_telegram::test_bot(&url));
    assert_eq!(ordinary.send_due(&core).await.unwrap(), 1);
    let sent = fake.calls_to("sendMessage", 5001);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["allow_paid_broadcast"], serde_json::json!(true));
    let sent = fake.calls_to("sendMessage", 5002);
    assert_eq!(sent.len(), 1);
    assert_ne!(
        sent[0].get("allow_paid_broadcast"),
        Some(&serde_json::json!(true))
    );
    core.store.close().await;
}

mod the_paid_broadcast_parameter_is_sent {
    ashyq_on_both!(super::paid_broadcast);
}

/// Telegram's pace over a long run (issue 16: at least 28 and at most 30 messages a second
/// for 10 minutes): two replicas' outbox workers (two cores, two pools; as if both led, the
/// worst case) send to the fake Bot API, each waiting for slots of the one pace shared
/// through PostgreSQL (29 a second). Prints the messages per second measured at the fake:
/// the mean and the lowest and highest whole second.
/// `PACE_SECS=600 cargo test --test it replicas::telegram_pace_over_a_long_run -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: PACE_SECS (default 600) seconds"]
async fn telegram_pace_over_a_long_run() {
    use ashyq::adapters::telegram;
    use ashyq::pace::{self, SendPace};
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let secs: u64 = std::env::var("PACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let (fake, url) = FakeTelegram::start().await;
    let clock = ManualClock::new(chrono::Utc::now());
    let paced = |store: ashyq::storage::Store| {
        SendPace::new(pace::TELEGRAM, 29.0, Some(store)).with_cap(30)
    };
    let a = support::core_built(&db, &clock, |c| {
        let store = c.store.clone();
        c.with_pace(paced(store))
    })
    .await;
    let b = support::core_built(&db, &clock, |c| {
        let store = c.store.clone();
        c.with_pace(paced(store))
    })
    .await;
    let rows = (secs as usize + 5) * 31;
    let mut tx = a.store.begin().await.unwrap();
    for i in 0..rows {
        let to = ChatRef::new("telegram", (30_000_000 + i as i64).to_string());
        let m = Outbound::reply(Lang::Ru, Msg::new("hint-too-long").num("max", i as i64));
        a.enqueue(&mut tx, &to, &m, None, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    let bot = || {
        teloxide::adaptors::Throttle::new_spawn(
            teloxide::Bot::new("123456:TEST").set_api_url(url.parse().unwrap()),
            telegram::limits(),
        )
    };
    let stop = CancellationToken::new();
    let run = |core: &Arc<Core>| {
        let (w, c, s) = (telegram::worker(bot()), core.clone(), stop.clone());
        tokio::spawn(async move { w.run(c, s).await })
    };
    let started = std::time::Instant::now();
    let tasks = [run(&a), run(&b)];
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let calls: Vec<std::time::Instant> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendMessage")
        .map(|c| c.at)
        .collect();
    let mut per_second = vec![0usize; secs as usize + 2];
    for at in &calls {
        let s = at.duration_since(started).as_secs() as usize;
        if s < per_second.len() {
            per_second[s] += 1;
        }
    }
    // Whole seconds after the first and before the stop.
    let inner = &per_second[1..secs as usize - 1];
    let first = calls.iter().min().unwrap();
    let last = calls.iter().max().unwrap();
    let mean = (calls.len() - 1) as f64 / last.duration_since(*first).as_secs_f64();
    // Ten-second windows.
    let tens: Vec<f64> = inner
        .chunks_exact(10)
        .map(|w| w.iter().sum::<usize>() as f64 / 10.0)
        .collect();
    let (lo, hi) = tens
        .iter()
        .fold((f64::MAX, 0f64), |(l, h), &r| (l.min(r), h.max(r)));
    let over_30 = inner.iter().filter(|&&n| n > 30).count();
    // Any second, not only whole ones: the most calls within one second of a call.
    let mut sorted = calls.clone();
    sorted.sort_unstable();
    let mut sliding = 0;
    let mut j = 0;
    for i in 0..sorted.len() {
        while j < sorted.len() && sorted[j] < sorted[i] + Duration::from_secs(1) {
            j += 1;
        }
        sliding = sliding.max(j - i);
    }
    eprintln!(
        "PACE {} messages in {secs} s by two replicas sharing one pace of 29/s capped at 30 a second: mean {mean:.2}/s; \
         10-second windows min {lo:.1}/s max {hi:.1}/s; whole seconds min {} max {}, {over_30} seconds over 30; \
         most in any one second (sliding) {sliding}; loadavg {}",
        calls.len(),
        inner.iter().min().unwrap(),
        inner.iter().max().unwrap(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    assert!(sliding <= 30, "{sliding} messages within one second");
    assert!(mean >= 28.0, "mean {mean:.2}/s");
    a.store.close().await;
    b.store.close().await;
    db.cleanup().await;
}
